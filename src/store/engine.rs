//! The interface between totpctl's core and a storage engine.
//!
//! A store is one of two engines, chosen once from `--store` (a path: SQLite; a
//! `postgres://` or `postgresql://` URL: PostgreSQL). Everything above this trait (the
//! write session, the integrity checks, the keyed audit chain, the commands) is
//! written once and knows no engine; everything below it is an engine's SQL.
//!
//! Why domain operations rather than a generic SQL connection: the two engines need
//! different SQL for the same guarantee (SQLite takes the whole database's write lock
//! with `BEGIN IMMEDIATE`; PostgreSQL locks the enrollment's row with `SELECT … FOR
//! UPDATE` and serialises log appends with `pg_advisory_xact_lock`), and the core
//! must not be able to forget either. So the core asks for "the enrollment, for
//! update", "save this state if the row still carries that MAC", "append this event",
//! and each engine answers with its own statements. Every method runs inside one
//! transaction ([`Tx`]), opened by [`Engine::write`] (one writer at a time per log)
//! or [`Engine::read`] (one consistent snapshot).
//!
//! Values cross the trait as the core's types: [`Totp`], [`VaultRow`], [`Event`];
//! hashes and MACs are computed above it (src/integrity.rs, src/store/events.rs) and
//! stored below it verbatim, so a store copied from one engine to the other checks
//! out with the same key.

use anyhow::Result;
use serde::Serialize;

use crate::domain::model::{ListFilter, Totp, TotpRef};

/// An event as stored: the event and its chain hash and MAC.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub event: Event,
    pub hash: Vec<u8>,
    pub mac: Option<Vec<u8>>,
}

/// The newest event of an enrollment, or of the settings, with what checking its
/// link in the chain takes: the chain hash of the event before it (`None` when that
/// event is gone), fetched with it in one statement.
#[derive(Debug, Clone)]
pub struct LastEvent {
    pub stored: StoredEvent,
    pub prev_hash: Option<Vec<u8>>,
}

/// Which events `log` shows.
#[derive(Debug, Default)]
pub struct EventFilter {
    /// Events whose account name or enrollment id is this.
    pub account: Option<String>,
    /// Events at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Events at or before this RFC 3339 time.
    pub until: Option<String>,
    /// Only events with one of these names; all when empty.
    pub events: Vec<String>,
    /// Only the newest N.
    pub limit: Option<u64>,
}

/// Counts for `info`: computed by the engine in one snapshot.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total: u64,
    pub verified: u64,
    pub unverified: u64,
    /// Locked at the `now` given to [`Records::stats`].
    pub locked: u64,
    /// Verified enrollments without a live backup code.
    pub without_backup_codes: u64,
    pub events: u64,
    /// The time of the newest event.
    pub last_event_at: Option<String>,
    pub schema_version: i64,
}

/// One row of a whole store, as `copy` moves it: every value verbatim, MACs and
/// hashes included, so that the copy checks out with the same key.
#[derive(Debug, Clone)]
pub enum Record {
    /// The key record.
    Vault(VaultRow),
    /// An enrollment with its sealed secret and MAC.
    Totp {
        totp: Totp,
        sealed: Vec<u8>,
    },
    /// A backup-code hash, used or live.
    BackupCode {
        totp_id: String,
        hash: Vec<u8>,
        used_at: Option<String>,
    },
    Config {
        key: String,
        value: String,
    },
    Meta {
        key: String,
        value: Vec<u8>,
    },
    Event(StoredEvent),
    Head(Head),
    /// An API token's row.
    Token(TokenRow),
}

/// An enrollment as a write left it, read back to confirm the write (and by `log
/// --check`): its row with its sealed secret, every backup code with when it was
/// used, and its skeleton.
#[derive(Debug, Clone)]
pub struct StoredState {
    /// The row; `backup_codes_remaining` counts the live codes of `codes`.
    pub totp: Totp,
    /// `None` when the stored value is not bytes.
    pub sealed: Option<Vec<u8>>,
    /// Every backup code: its hash, and when it was used (`None`: live).
    pub codes: Vec<(Vec<u8>, Option<String>)>,
    pub skeleton: Option<String>,
}

/// What [`Enrollments::insert_totp`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insert {
    Inserted,
    /// The account is enrolled already.
    Taken,
    /// This other account looks like it (the same skeleton).
    LooksLike(String),
}

/// Counts of a whole store's records, for `copy`'s progress bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct Size {
    pub records: u64,
}

/// One transaction on a store: a write transaction from [`Engine::write`], or a
/// read-only snapshot from [`Engine::read`]. Dropping it without [`Tx::commit`]
/// rolls it back. Errors are already `store_error`s naming the store.
///
/// What a transaction can do is five traits, one per concern, which each engine
/// implements in a file of its own (`enrollments.rs`, `records.rs`, `events.rs`,
/// `transfer.rs`, `tokens.rs` in its folder).
pub trait Tx: Enrollments + Records + EventLog + Transfer + Tokens {
    /// Commits the transaction.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// The enrollments: rows of `totps` and their backup codes.
pub trait Enrollments {
    /// An enrollment by account name, else by id. In a write transaction the row is
    /// locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite holds the
    /// write lock already), so the check and the record of a code are one step.
    fn find(&mut self, account_or_id: &str) -> Result<Option<Totp>>;
    /// Like [`Enrollments::find`] in a write transaction: the row with its sealed secret (`None`
    /// if the stored value is not even bytes: [`Enrollments::sealed_secret`] then says what is
    /// wrong, to the commands that need it), and `backup_codes_remaining` left at 0
    /// for the session to count from the hashes it loads. With `by_id` false, only an
    /// account name is looked up (`verify --pam`).
    fn find_sealed(
        &mut self,
        account_or_id: &str,
        by_id: bool,
    ) -> Result<Option<(Totp, Option<Vec<u8>>)>>;
    /// An enrolled account other than `account` whose skeleton (src/names.rs) is
    /// `skeleton`, if any.
    fn account_like(&mut self, skeleton: &str, account: &str) -> Result<Option<String>>;
    /// The enrollments `ids` as they are stored now, in any order; those missing are
    /// left out.
    fn stored_states(
        &mut self,
        ids: &[String],
        f: &mut dyn FnMut(StoredState) -> Result<()>,
    ) -> Result<()>;
    /// Whether `account` (by name, not id) is enrolled.
    fn is_enrolled(&mut self, account: &str) -> Result<bool>;
    /// Every enrollment's id, in id order.
    fn all_totp_ids(&mut self) -> Result<Vec<String>>;
    /// The sealed secret of an enrollment.
    fn sealed_secret(&mut self, id: &str) -> Result<Vec<u8>>;
    /// Inserts an enrollment unless its account is taken, or another account with
    /// the same skeleton (src/names.rs) is enrolled: one step, so that no look-alike
    /// slips in between a check and the insert.
    fn insert_totp(
        &mut self,
        t: &Totp,
        sealed: &[u8],
        mac: &[u8],
        skeleton: &str,
    ) -> Result<Insert>;
    /// Writes an enrollment's state and new MAC only if the row still carries
    /// `old_mac` (compare-and-swap); returns whether it did.
    fn save_state(&mut self, t: &Totp, old_mac: Option<&[u8]>, mac: &[u8]) -> Result<bool>;
    fn set_totp_mac(&mut self, id: &str, mac: &[u8]) -> Result<()>;
    fn reseal(&mut self, id: &str, sealed: &[u8]) -> Result<()>;
    /// Deletes an enrollment and its backup codes.
    fn delete_totp(&mut self, id: &str) -> Result<()>;
    /// Calls `f` for each matching enrollment in account order, one row in memory.
    fn for_each_totp(
        &mut self,
        filter: &ListFilter,
        f: &mut dyn FnMut(Totp) -> Result<()>,
    ) -> Result<()>;
    /// Like [`Enrollments::for_each_totp`], lending each row (streaming `list --json`).
    fn for_each_totp_ref(
        &mut self,
        filter: &ListFilter,
        f: &mut dyn FnMut(&TotpRef<'_>) -> Result<()>,
    ) -> Result<()>;

    /// The hashes of an enrollment's live backup codes.
    fn backup_code_hashes(&mut self, id: &str) -> Result<Vec<Vec<u8>>>;
    /// Marks a live backup code used; returns whether it was live.
    fn use_backup_code(&mut self, id: &str, hash: &[u8], now: &str) -> Result<bool>;
    /// When a code of the current set was used, if it was (a message only).
    fn backup_code_used_at(&mut self, id: &str, hash: &[u8]) -> Result<Option<String>>;
    /// Replaces an enrollment's whole set of backup codes.
    fn replace_backup_codes(&mut self, id: &str, hashes: &[Vec<u8>]) -> Result<()>;
}

/// The store as a whole: settings, meta values, the key record, its counts, and the
/// checks of the engine's own structures.
pub trait Records {
    fn config_pairs(&mut self) -> Result<Vec<(String, String)>>;
    fn set_config(&mut self, key: &str, value: &str) -> Result<()>;
    fn meta(&mut self, key: &str) -> Result<Option<Vec<u8>>>;
    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()>;
    fn vault_row(&mut self) -> Result<Option<VaultRow>>;
    fn put_vault_row(&mut self, row: &VaultRow, now: &str) -> Result<()>;
    /// Whether the store holds an enrollment, event, setting or meta value.
    fn has_content(&mut self) -> Result<bool>;
    /// Whether any integrity data (a MAC, an actor, a meta value) was ever written.
    fn has_integrity_data(&mut self) -> Result<bool>;
    /// Counts for `info`, with `now` deciding what is locked.
    fn stats(&mut self, now: &str) -> Result<Stats>;
    /// Makes every deferred constraint check run now, before a write is read back.
    fn settle(&mut self) -> Result<()>;
    /// Checks the engine's own structures, as far as it can (SQLite: that every index
    /// holds what its table holds); the first problem, if any.
    fn deep_check(&mut self) -> Result<Option<String>>;
}

/// The audit log: its events, its head, and what the checks ask of them.
pub trait EventLog {
    /// Serialises appends to the log until the transaction ends. The engine must
    /// make a second writer wait here, before it reads the head.
    fn lock_log(&mut self) -> Result<()>;
    fn head(&mut self) -> Result<Option<Head>>;
    fn put_head(&mut self, seq: i64, hash: &[u8], mac: &[u8]) -> Result<()>;
    fn has_events(&mut self) -> Result<bool>;
    fn insert_event(&mut self, e: &Event, hash: &[u8], mac: &[u8]) -> Result<()>;
    fn set_event_mac(&mut self, seq: i64, mac: &[u8]) -> Result<()>;
    /// The chain hash of event `seq`.
    fn hash_at(&mut self, seq: i64) -> Result<Option<Vec<u8>>>;
    /// The newest event of enrollment `totp_id`, whose account is `account`.
    fn last_event_of(&mut self, account: &str, totp_id: &str) -> Result<Option<LastEvent>>;
    /// The events after `after`, in seq order, at most `limit` of them, with hash and
    /// MAC (the chain check: 0 and `i64::MAX` for all; the read-back of a write: the
    /// events it appended and one more, which a small limit has the planner read
    /// through the key whatever its statistics say).
    fn for_each_stored_event(
        &mut self,
        after: i64,
        limit: i64,
        f: &mut dyn FnMut(StoredEvent) -> Result<()>,
    ) -> Result<()>;
    /// How many events have a seq of at most `seq`.
    fn events_through(&mut self, seq: i64) -> Result<u64>;
    /// How many events have a seq after `after`.
    fn events_after(&mut self, after: i64) -> Result<u64>;
    /// The seqs of the newest `config_changed` and `restore_accepted` events (0 for
    /// none), through their own indexes.
    fn anchors(&mut self) -> Result<crate::domain::integrity::Anchors>;
    /// The newest event that names `account`: about any of its enrollments
    /// (`enrolled`), or about the name alone, with no enrollment (the attempts on a
    /// name that is not enrolled).
    fn last_event_of_account(&mut self, account: &str, enrolled: bool)
    -> Result<Option<LastEvent>>;
    /// The events `filter` selects, oldest first.
    fn for_each_event(
        &mut self,
        filter: &EventFilter,
        f: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<()>;
    /// The newest event of each enrollment whose row is gone, unless it is its
    /// removal: rows deleted behind totpctl's back.
    fn vanished_enrollments(&mut self) -> Result<Vec<(i64, String)>>;
    /// The newest event of this name (`config_changed`, `restore_accepted`).
    fn last_event_named(&mut self, event: &str) -> Result<Option<LastEvent>>;
    /// The newest change of the API tokens (`token_created` or `token_revoked`).
    fn last_token_change(&mut self) -> Result<Option<LastEvent>>;
}

/// The whole store, record by record (`copy`).
pub trait Transfer {
    /// How many records [`Transfer::export`] will give.
    fn size(&mut self) -> Result<Size>;
    /// Every record of the store, parents before children (vault, settings, meta,
    /// enrollments, backup codes, events, head).
    fn export(&mut self, f: &mut dyn FnMut(Record) -> Result<()>) -> Result<()>;
    /// Writes one record of [`Transfer::export`] verbatim into an empty store.
    fn import(&mut self, r: &Record) -> Result<()>;
}

/// Whether this debug build was told to skip the schema check
/// (`TOTPCTL_TEST_SKIP_SCHEMA_CHECK`), so that the tests can show the read-back
/// catching a trigger the check would have refused first. A release build never
/// skips it.
pub fn schema_check_skipped() -> bool {
    cfg!(debug_assertions) && std::env::var_os("TOTPCTL_TEST_SKIP_SCHEMA_CHECK").is_some()
}

/// An open store of one engine.
///
/// Every transaction starts by checking the store's own definitions against exactly
/// what this version creates (no trigger, rule, policy, view, function, retyped
/// column or index more or less): a database writer could otherwise make the store
/// behave differently without touching a row. A store that differs is refused with
/// an `integrity_error` naming what differs.
pub trait Engine {
    /// Starts a write transaction. Two write transactions on one store never
    /// interleave their log appends (see [`EventLog::lock_log`]).
    fn write(&mut self) -> Result<Box<dyn Tx + '_>>;
    /// Starts a read-only transaction that sees one snapshot.
    fn read(&mut self) -> Result<Box<dyn Tx + '_>>;
    /// The schema version of the store.
    fn schema_version(&mut self) -> Result<i64>;
    /// Whether the store holds no totpctl data at all (a `copy` destination).
    fn is_empty(&mut self) -> Result<bool>;
    /// Whether this command made the store (an SQLite file that was not there): only
    /// its owner could have removed the one before.
    fn is_new(&self) -> bool {
        false
    }
    /// Whether the store opened is still the one at its location (an SQLite file
    /// can be replaced under an open connection).
    fn is_current(&self) -> bool {
        true
    }
}

/// The API tokens of `serve`: rows of `tokens`, as stored (checked by
/// `store::tokens`).
pub trait Tokens {
    /// Every token, in name order.
    fn tokens(&mut self) -> Result<Vec<TokenRow>>;
    /// Adds a token; `false` when one of that name is there already.
    fn insert_token(&mut self, t: &TokenRow) -> Result<bool>;
    /// Deletes a token; `false` when there was none of that name.
    fn delete_token(&mut self, name: &str) -> Result<bool>;
    /// Records a token's last use (to the minute, outside its MAC).
    fn touch_token(&mut self, name: &str, at: &str) -> Result<()>;
}

/// One API token as stored: its name, the keyed hash of its text, its scopes
/// (`verify,read`), its dates, and the MAC of all but its last use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub name: String,
    pub hash: Vec<u8>,
    pub scopes: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub mac: Vec<u8>,
}

/// The row that says how the store's data keys are protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultRow {
    pub protection: String,
    pub kdf: Option<String>,
    pub salt: Option<Vec<u8>>,
    pub wrapped: Vec<u8>,
    /// 1: wrapped before the store was authenticated; 2: bound to the authenticated
    /// schema (see `vault::wrap_aad`).
    pub version: i64,
}

/// One event of the trail.
#[derive(Debug, Clone)]
pub struct Event {
    pub seq: i64,
    pub at: String,
    pub event: String,
    pub account: Option<String>,
    pub totp_id: Option<String>,
    /// A JSON object with the event's particulars (code type, reason, …).
    pub detail: String,
    /// A JSON object naming who wrote the event; `None` on version 1 events.
    pub actor: Option<String>,
    /// The digest of the state the event left behind (an enrollment's, or the
    /// settings'), for the rollback cross-check.
    pub state: Option<Vec<u8>>,
}

/// The head of the chain: the newest event's seq and hash, and their MAC.
#[derive(Debug, Clone)]
pub struct Head {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub mac: Option<Vec<u8>>,
}

/// A position in a store's log: an event's seq and chain hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub seq: i64,
    pub hash: Vec<u8>,
}
