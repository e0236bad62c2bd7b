//! Who is asking: the actor every event records.

use serde::Serialize;

/// Who wrote an event: the OS user and host of the process; through `serve`, also
/// the API token and the client's address as the server saw them, and what the
/// client says of itself, recorded as claimed.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user: String,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed: Option<Claimed>,
}

/// What an API client says of itself (`X-Totpctl-Client-*` headers): its user, its
/// host, the PAM service and the remote host it asks for. Nothing vouches for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Claimed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rhost: Option<String>,
}

impl Claimed {
    pub fn is_empty(&self) -> bool {
        *self == Claimed::default()
    }
}

impl Actor {
    /// The actor of this process.
    pub fn current() -> Actor {
        let uid = nix::unistd::geteuid();
        let user = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| format!("uid {uid}"));
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "unknown".into());
        Actor {
            user,
            host,
            token: None,
            address: None,
            claimed: None,
        }
    }

    /// This process answering an API client: the token and address the server saw,
    /// and what the client claims.
    pub fn via_api(&self, token: &str, address: &str, claimed: Claimed) -> Actor {
        Actor {
            token: Some(token.to_string()),
            address: Some(address.to_string()),
            claimed: (!claimed.is_empty()).then_some(claimed),
            ..self.clone()
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}
