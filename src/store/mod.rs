//! The store: one interface ([`engine::Tx`]), two engines (SQLite in `sqlite/`,
//! PostgreSQL in `postgres/`, the only modules that hold SQL), and above them,
//! written once, the write session (`session/`), the keyed audit chain
//! (`events.rs`), the read-back of every write (`confirm.rs`) and this host's
//! records of what it has seen (`rollback.rs`, `position.rs`, `host_accounts/`).
//! The engine is chosen once, from `--store` ([`Location`]): a `postgres://` or
//! `postgresql://` URL is a PostgreSQL store, anything else an SQLite file.
//!
//! Layering inside: `engine` (the interface and the records that cross it) is the
//! bottom; the engines use only it; the session and the checks use it and the
//! engines through [`Store`] (`handle.rs`). This file only names the parts.

pub mod access;
mod audit;
mod confirm;
pub mod engine;
mod events;
mod handle;
mod host_accounts;
pub mod location;
pub mod position;
mod postgres;
mod rollback;
pub mod session;
mod sqlite;
mod tokens;

pub use access::{Access, DEFAULT_WAIT};
pub use audit::{Audit, AuditOptions, audit};
pub use engine::{
    Engine, Event, EventFilter, Head, Record, Stats, StoredEvent, StoredState, Tx, VaultRow,
};
pub use events::ChainProblem;
pub use handle::{Store, is_retryable, refuse_vanished};
pub use location::Location;
pub use postgres::url;
pub use rollback::{Purpose, check_source, head_text};
pub use session::{Enrollment, Session};
pub use tokens::Token;
