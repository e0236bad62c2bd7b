//! totpctl: the server side of authenticator-app two-factor authentication, as a
//! command-line program on a local SQLite store or a shared PostgreSQL database.
//!
//! The house, from the bottom up; a module uses only its own layer and those below:
//! - `base`: errors and exit codes, times, text made safe for a terminal, file checks;
//! - `domain`: the rules that hold wherever the data lives (TOTP, backup codes, names,
//!   settings, MACs, QR codes, google-authenticator's files, the enrollment);
//! - `store` and `vault`: the engines (SQLite, PostgreSQL), the key, the write
//!   sessions, the audit chain and this host's records;
//! - `ops`: the operations of 2FA (enroll, verify, list, …), one interface;
//! - the front ends: `cli` (the clap types), `commands` (the command line: parse,
//!   prompt, call one operation, print) and `pam` (`verify --pam`).

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
