//! A store this process opens: where it is, how it may be reached, and the
//! sessions every operation begins on it.

use std::path::PathBuf;

use anyhow::Result;

use crate::base::error::Error;
use crate::ops::context::Context;
use crate::store::{self, Access, Location, Session, Store};

/// A store this process opens: where it is, and how it may be reached.
pub struct Local {
    pub location: Location,
    pub access: Access,
}

impl Local {
    pub fn new(location: Location, access: Access) -> Local {
        Local { location, access }
    }

    /// The store as messages name it: its path, or its URL without the password.
    pub fn store_path(&self) -> PathBuf {
        self.location.label()
    }

    /// Opens (creating on first use) the store: for the operations that may create one.
    pub fn open_store(&self) -> Result<Store> {
        Store::open(&self.location, &self.access)
    }

    /// Opens the store, which must exist: a missing store is `store_not_found`, never
    /// an empty store, so that a typo in a path cannot read as "nobody has 2FA".
    pub fn existing_store(&self) -> Result<Store> {
        Store::open_existing(&self.location, &self.access)?.ok_or_else(|| {
            // Not there, where this host saw a store holding events: gone, not mistyped.
            if let Err(e) = store::refuse_vanished(&self.location, &self.access) {
                return e;
            }
            Error::StoreNotFound(format!(
                "no store at {}: check --store or TOTPCTL_STORE (nothing was created; \
                 `totpctl enroll` or `totpctl import` makes a new store)",
                self.store_path().display()
            ))
            .into()
        })
    }

    /// Starts a write session on `store`, with its key (see [`store::Session`]).
    /// `create_keys` lets a store that has no key yet get one.
    pub fn session<'s>(
        &self,
        cx: &Context,
        store: &'s mut Store,
        create_keys: bool,
    ) -> Result<Session<'s>> {
        self.session_with(cx, store, create_keys, cx.interactive)
    }

    /// Like [`Local::session`], saying whether a passphrase may be asked for.
    pub fn session_with<'s>(
        &self,
        cx: &Context,
        store: &'s mut Store,
        create_keys: bool,
        interactive: bool,
    ) -> Result<Session<'s>> {
        self.session_for(cx, store, create_keys, interactive, store::Purpose::Use)
    }

    /// Like [`Local::session_with`], for a purpose other than using the store (see
    /// [`store::Purpose`]).
    pub fn session_for<'s>(
        &self,
        cx: &Context,
        store: &'s mut Store,
        create_keys: bool,
        interactive: bool,
        purpose: store::Purpose,
    ) -> Result<Session<'s>> {
        let now = cx.now_str();
        Session::begin(
            store,
            &store::session::Opening {
                now: &now,
                interactive,
                create_keys,
                purpose,
                actor: &cx.actor,
            },
        )
    }
}
