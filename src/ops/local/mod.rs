//! The operations on a store this process opens itself (SQLite or PostgreSQL): every
//! rule of 2FA lives here, in one file per operation, over the store's write
//! sessions (`store::Session`).

mod admin;
mod check;
mod copy;
mod enroll;
mod import;
mod import_ga;
mod keys;
mod open;
mod read;
mod verify;

pub use import::MAX_WARNINGS;
pub use open::Local;
pub use read::EVENTS;

use std::path::PathBuf;

use anyhow::Result;

use super::context::Context;
use super::operations::{EventVisitor, ListVisitor, Operations};
use super::requests::*;
use super::views::*;
use crate::domain::config::Settings;

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
}
