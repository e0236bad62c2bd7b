//! totpctl: the server side of authenticator-app two-factor authentication, as a
//! command-line program on a local SQLite store or a shared PostgreSQL database, and
//! as an HTTPS server that holds the key for applications and hosts.
//!
//! The house, from the bottom up; a module uses only its own layer and those below:
//! - `base`: errors and exit codes, times, text made safe for a terminal, file checks;
//! - `domain`: the rules that hold wherever the data lives (TOTP, backup codes, names,
//!   settings, MACs, QR codes, google-authenticator's files, the enrollment);
//! - `store` and `vault`: the engines (SQLite, PostgreSQL), the key, the write
//!   sessions, the audit chain and this host's records;
//! - `ops`: the operations of 2FA (enroll, verify, list, …), one interface with two
//!   implementations: `ops::Local` on a store, holding every rule, and `ops::Remote`,
//!   requests to a `serve` (chosen by an `https://` store, as engines are);
//! - the front ends: `cli` (the clap types), `commands` (the command line: parse,
//!   prompt, call one operation, print), `pam` (`verify --pam`) and `server`
//!   (`serve`: each route one operation, its view the response).

pub mod base;
pub mod cli;
mod commands;
pub mod domain;
pub mod ops;
pub mod pam;
pub mod server;
pub mod store;
pub mod vault;

pub use commands::{generate_docs, report, report_usage, run};
