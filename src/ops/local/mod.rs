//! The operations on a store this process opens itself (SQLite or PostgreSQL): every
//! rule of 2FA lives here, in one file per operation, over the store's write
//! sessions (`store::Session`).

mod admin;
mod batch;
mod check;
mod copy;
mod enroll;
mod import;
mod import_ga;
mod keys;
mod open;
mod read;
mod tokens;
mod verify;

pub use batch::BatchVerify;
pub use import::MAX_WARNINGS;
pub use open::Local;
pub use read::EVENTS;

use std::path::PathBuf;

use anyhow::Result;

use super::context::Context;
use super::operations::{EventVisitor, ListVisitor, Operations};
use super::requests::*;
use super::tokens::{Grant, TokenCreated, TokenRequest, TokenRevoked, TokenView};
use super::views::*;
use crate::domain::config::Settings;
use crate::domain::tokens::Scope;

impl Operations for Local {
    fn label(&self) -> PathBuf {
        self.store_path()
    }

    fn enroll(&mut self, cx: &Context, req: &EnrollRequest) -> Result<Enrolled> {
        enroll::enroll(self, cx, req)
    }

    fn verify_precheck(&mut self, cx: &Context, account: &str) -> Result<Precheck> {
        verify::precheck(self, cx, account)
    }

    fn verify(&mut self, cx: &Context, req: &VerifyRequest) -> Result<Verified> {
        verify::verify(self, cx, req)
    }

    fn list(
        &mut self,
        cx: &Context,
        req: &ListRequest,
        visitor: &mut dyn ListVisitor,
    ) -> Result<()> {
        read::list(self, cx, req, visitor)
    }

    fn show(&mut self, cx: &Context, account: &str) -> Result<TotpView> {
        read::show(self, cx, account)
    }

    fn backup_codes(
        &mut self,
        cx: &Context,
        account: &str,
        count: Option<u32>,
    ) -> Result<BackupCodesView> {
        admin::backup_codes(self, cx, account, count)
    }

    fn remove(&mut self, cx: &Context, account: &str) -> Result<RemovedView> {
        admin::remove(self, cx, account)
    }

    fn unlock(&mut self, cx: &Context, account: &str) -> Result<Unlocked> {
        admin::unlock(self, cx, account)
    }

    fn settings(&mut self, cx: &Context) -> Result<Settings> {
        admin::settings(self, cx)
    }

    fn setting(&mut self, cx: &Context, key: &str) -> Result<ConfigValue> {
        admin::setting(self, cx, key)
    }

    fn set_setting(&mut self, cx: &Context, key: &str, value: &str) -> Result<ConfigValue> {
        admin::set_setting(self, cx, key, value)
    }

    fn log(
        &mut self,
        cx: &Context,
        req: &LogRequest,
        visitor: &mut dyn EventVisitor,
    ) -> Result<()> {
        read::log(self, cx, req, visitor)
    }

    fn log_head(&mut self, cx: &Context) -> Result<HeadView> {
        check::head(self, cx)
    }

    fn log_check(&mut self, cx: &Context, req: &CheckRequest) -> Result<CheckView> {
        check::check(self, cx, req)
    }

    fn accept_restore(&mut self, cx: &Context, head: &str) -> Result<AcceptedView> {
        check::accept_restore(self, cx, head)
    }

    fn import(&mut self, cx: &Context, req: &mut ImportRequest<'_>) -> Result<Imported> {
        import::import(self, cx, req)
    }

    fn import_ga(&mut self, cx: &Context, req: &ImportGaRequest) -> Result<ImportedGa> {
        import_ga::import(self, cx, req)
    }

    fn rekey(&mut self, cx: &Context, req: &RekeyRequest<'_>) -> Result<Rekeyed> {
        keys::rekey(self, cx, req)
    }

    fn info(&mut self, cx: &Context) -> Result<InfoView> {
        read::info(self, cx)
    }

    fn copy(&mut self, cx: &Context, req: &CopyRequest<'_>) -> Result<Copied> {
        copy::copy(self, cx, req)
    }

    fn upgrade(&mut self, cx: &Context) -> Result<UpgradeView> {
        keys::upgrade(self, cx)
    }

    fn token_create(&mut self, cx: &Context, req: &TokenRequest) -> Result<TokenCreated> {
        tokens::create(self, cx, req)
    }

    fn token_list(&mut self, cx: &Context) -> Result<Vec<TokenView>> {
        tokens::list(self, cx)
    }

    fn token_revoke(&mut self, cx: &Context, name: &str) -> Result<TokenRevoked> {
        tokens::revoke(self, cx, name)
    }
}

/// What only a process that holds the store itself does: `serve`'s checks of its
/// callers' tokens, and its batches of verifies.
impl Local {
    /// Checks an API request's token, which must allow `needed`.
    pub fn authorize(&self, cx: &Context, token: &str, needed: Scope) -> Result<Grant> {
        tokens::authorize(self, cx, token, needed)
    }

    /// Opens the store and its key once, checked as every session is, writing
    /// nothing: what a server does before it listens.
    pub fn open_with_key(&self, cx: &Context) -> Result<()> {
        let mut store = self.existing_store()?;
        if store.read()?.vault_row()?.is_none() {
            return Err(crate::base::error::key_error(format!(
                "{} has no key yet: make the first API token with `{}` (which makes the \
                 store's key), then serve it",
                self.store_path().display(),
                cx.command_line(&["token", "create", "NAME", "--scope", "admin"])
            )));
        }
        self.session(cx, &mut store, false).map(drop)
    }

    /// Whether the store answers (`serve`'s health check).
    pub fn ping(&self) -> Result<()> {
        self.existing_store()?.schema_version().map(drop)
    }

    /// Runs several verifies in one write session and one commit (see `batch.rs`).
    pub fn verify_batch(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        items: &[BatchVerify],
    ) -> Vec<Result<(Grant, Verified)>> {
        batch::verify_batch(self, now, items)
    }
}
