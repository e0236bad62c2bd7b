//! The API tokens as the operations take and give them: what `token create`,
//! `token list` and `token revoke` are asked and print, and the grant a token gives
//! a request of `serve`.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::domain::tokens::{Scope, Scopes};

/// `token create NAME --scope … [--expires …]`.
#[derive(Debug)]
pub struct TokenRequest {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// How long the token lives (`90d`); `None`: until it is revoked.
    pub expires: Option<String>,
}

/// What `token create` prints: the token, once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenCreated {
    pub name: String,
    /// The token itself, shown this once: the store keeps only its keyed hash.
    #[serde(serialize_with = "reveal")]
    pub token: Zeroizing<String>,
    pub scopes: Vec<&'static str>,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// The store and key this token made, on a new store.
    #[serde(skip)]
    pub created: Option<super::requests::NewStore>,
}

fn reveal<S: serde::Serializer>(t: &Zeroizing<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t)
}

/// One token in `token list`: never the token.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// To the minute.
    pub last_used_at: Option<String>,
    pub expired: bool,
}

/// What `token revoke` prints.
#[derive(Debug, Serialize)]
pub struct TokenRevoked {
    pub name: String,
    pub revoked: bool,
}

/// What a valid token lets a request do: its name (which the request's events
/// record) and its scopes.
#[derive(Debug, Clone)]
pub struct Grant {
    pub token: String,
    pub scopes: Scopes,
}

impl Grant {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.allow(scope)
    }
}

/// The scopes as the documents list them.
pub fn scope_names(scopes: Scopes) -> Vec<&'static str> {
    scopes.iter().map(Scope::as_str).collect()
}
