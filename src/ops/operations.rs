//! The interface every implementation of the operations gives (a store opened here:
//! [`super::Local`]).

use anyhow::Result;

use super::context::Context;
use super::requests::*;
use super::tokens::{TokenCreated, TokenRequest, TokenRevoked, TokenView};
use super::views::*;
use crate::domain::config::Settings;
use crate::domain::model::TotpRef;
use crate::store::Event;

/// Something that reads a list of enrollments in passes over one snapshot: a table
/// measures its columns in the first pass and prints in the second.
pub trait ListVisitor {
    /// How many passes over the rows it needs.
    fn passes(&self) -> usize {
        1
    }
    /// One row of pass `pass` (0-based).
    fn row(&mut self, pass: usize, t: &TotpRef<'_>) -> Result<()>;
}

/// Something that reads the audit trail in passes over one snapshot.
pub trait EventVisitor {
    fn passes(&self) -> usize {
        1
    }
    fn event(&mut self, pass: usize, e: Event) -> Result<()>;
}

/// The operations, wherever the store is.
pub trait Operations {
    /// The label of the store: its path, or its URL without a password.
    fn label(&self) -> std::path::PathBuf;

    /// Enrolls an account: a fresh secret, shown once.
    fn enroll(&mut self, cx: &Context, req: &EnrollRequest) -> Result<Enrolled>;
    /// Before a code is asked for: whether the account exists and is not locked now
    /// (an unauthenticated look that decides nothing).
    fn verify_precheck(&mut self, cx: &Context, account: &str) -> Result<Precheck>;
    /// Checks a code; a rejected code is `Ok` with `valid` false.
    fn verify(&mut self, cx: &Context, req: &VerifyRequest) -> Result<Verified>;
    /// The enrollments `filter` selects, in account order, in one snapshot.
    fn list(
        &mut self,
        cx: &Context,
        req: &ListRequest,
        visitor: &mut dyn ListVisitor,
    ) -> Result<()>;
    /// One enrollment, by account name or id.
    fn show(&mut self, cx: &Context, account: &str) -> Result<TotpView>;
    /// A fresh set of backup codes, shown once.
    fn backup_codes(
        &mut self,
        cx: &Context,
        account: &str,
        count: Option<u32>,
    ) -> Result<BackupCodesView>;
    fn remove(&mut self, cx: &Context, account: &str) -> Result<RemovedView>;
    fn unlock(&mut self, cx: &Context, account: &str) -> Result<Unlocked>;
    /// Every setting, as stored.
    fn settings(&mut self, cx: &Context) -> Result<Settings>;
    /// One setting.
    fn setting(&mut self, cx: &Context, key: &str) -> Result<ConfigValue>;
    /// Changes one setting.
    fn set_setting(&mut self, cx: &Context, key: &str, value: &str) -> Result<ConfigValue>;
    /// The events `filter` selects, oldest first, in one snapshot.
    fn log(&mut self, cx: &Context, req: &LogRequest, visitor: &mut dyn EventVisitor)
    -> Result<()>;
    /// The log's head, to keep elsewhere.
    fn log_head(&mut self, cx: &Context) -> Result<HeadView>;
    /// Checks the store with its key.
    fn log_check(&mut self, cx: &Context, req: &CheckRequest) -> Result<CheckView>;
    /// Takes a store restored from a backup on purpose.
    fn accept_restore(&mut self, cx: &Context, head: &str) -> Result<AcceptedView>;
    /// Imports `otpauth://` URIs.
    fn import(&mut self, cx: &Context, req: &mut ImportRequest<'_>) -> Result<Imported>;
    /// Imports google-authenticator files.
    fn import_ga(&mut self, cx: &Context, req: &ImportGaRequest) -> Result<ImportedGa>;
    /// Seals every secret again under a new key.
    fn rekey(&mut self, cx: &Context, req: &RekeyRequest<'_>) -> Result<Rekeyed>;
    fn info(&mut self, cx: &Context) -> Result<InfoView>;
    /// Copies the whole store into a new one.
    fn copy(&mut self, cx: &Context, req: &CopyRequest<'_>) -> Result<Copied>;
    /// Authenticates a version 1 store.
    fn upgrade(&mut self, cx: &Context) -> Result<UpgradeView>;
    /// Makes an API token for `serve`, shown once (on the store's own host, with
    /// the key).
    fn token_create(&mut self, cx: &Context, req: &TokenRequest) -> Result<TokenCreated>;
    /// Every API token: never the token itself.
    fn token_list(&mut self, cx: &Context) -> Result<Vec<TokenView>>;
    /// Revokes an API token: refused from the next request on.
    fn token_revoke(&mut self, cx: &Context, name: &str) -> Result<TokenRevoked>;
}
