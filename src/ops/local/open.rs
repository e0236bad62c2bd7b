//! A store this process opens: where it is, how it may be reached, and the
//! sessions every operation begins on it.

use std::cell::RefCell;
use std::path::PathBuf;

use anyhow::Result;

use crate::base::error::Error;
use crate::ops::context::Context;
use crate::store::{self, Access, Location, Session, Store};

/// A store this process opens: where it is, and how it may be reached.
pub struct Local {
    pub location: Location,
    pub access: Access,
    /// For a long-running process (`serve`): the store kept open between
    /// operations, so that none pays for a connection. `None` for a command, which
    /// opens the store for its one operation.
    kept: Option<RefCell<Option<Store>>>,
}

/// The store an operation works on: opened for it, or lent by the [`Local`] that
/// keeps one open and taken back when the operation is done with it.
pub struct Held<'l> {
    store: Option<Store>,
    home: Option<&'l RefCell<Option<Store>>>,
}

impl std::ops::Deref for Held<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        self.store.as_mut().expect("held until dropped")
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let (Some(home), Some(store)) = (self.home, self.store.take()) {
            *home.borrow_mut() = Some(store);
        }
    }
}

impl Local {
    pub fn new(location: Location, access: Access) -> Local {
        Local {
            location,
            access,
            kept: None,
        }
    }

    /// A `Local` that keeps its store open between operations (see [`Local::forget`]).
    pub fn keeping(location: Location, access: Access) -> Local {
        Local {
            location,
            access,
            kept: Some(RefCell::new(None)),
        }
    }

    /// Closes the store kept open, if any: after a store error, so that the next
    /// operation connects afresh (a PostgreSQL server that restarted, for one).
    pub fn forget(&self) {
        if let Some(kept) = &self.kept {
            kept.borrow_mut().take();
        }
    }

    /// The store kept open, if it is still the one at this location.
    fn take_kept(&self) -> Option<Held<'_>> {
        let kept = self.kept.as_ref()?;
        let store = kept.borrow_mut().take()?;
        store.is_current().then_some(Held {
            store: Some(store),
            home: Some(kept),
        })
    }

    pub(super) fn hold(&self, store: Store) -> Held<'_> {
        Held {
            store: Some(store),
            home: self.kept.as_ref(),
        }
    }

    /// The store as messages name it: its path, or its URL without the password.
    pub fn store_path(&self) -> PathBuf {
        self.location.label()
    }

    /// Opens (creating on first use) the store: for the operations that may create one.
    pub fn open_store(&self) -> Result<Held<'_>> {
        if let Some(held) = self.take_kept() {
            return Ok(held);
        }
        Ok(self.hold(Store::open(&self.location, &self.access)?))
    }

    /// Opens the store, which must exist: a missing store is `store_not_found`, never
    /// an empty store, so that a typo in a path cannot read as "nobody has 2FA".
    pub fn existing_store(&self) -> Result<Held<'_>> {
        if let Some(held) = self.take_kept() {
            return Ok(held);
        }
        let store = Store::open_existing(&self.location, &self.access)?.ok_or_else(|| {
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
        })?;
        Ok(self.hold(store))
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
