//! The operations of two-factor authentication, one interface for every front end.
//!
//! Each operation (enroll, verify, list, show, backup codes, remove, unlock, config,
//! log, import, rekey, info, copy, upgrade) takes plain inputs (the account, the
//! code, the time, the options) and a [`Context`] (who is asking, and when), and
//! returns the view it produced (`views.rs`, the documents `--json` prints) or a
//! typed error ([`crate::base::error::Error`]). It knows nothing of clap, terminals,
//! HTTP or PAM: the front ends (`commands/`, the command line; `pam.rs`) parse,
//! prompt, call one operation and print its result.
//!
//! [`Operations`] is the interface; [`Local`] implements it on a store (SQLite or
//! PostgreSQL), holding every rule: lockout, replay protection, backup codes, the
//! audit trail. Layers: this module uses `store`, `vault`, `domain` and `base`;
//! nothing below uses it.

mod context;
mod local;
mod operations;
mod remote;
pub mod requests;
pub mod tokens;
pub mod views;

pub use context::Context;
pub use local::{BatchVerify, EVENTS, Local, MAX_WARNINGS};
pub use operations::{EventVisitor, ListVisitor, Operations};
pub use remote::{Remote, RemoteAccess, is_remote};
pub use requests::*;
pub use tokens::{Grant, TokenCreated, TokenRequest, TokenRevoked, TokenView};
