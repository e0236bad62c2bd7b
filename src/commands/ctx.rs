//! What every command gets: the operations on its store, who is asking and when, and
//! how to print.

use std::path::PathBuf;

use super::output::Output;
use crate::ops::{Context, Operations};

/// What every command gets: the operations on its store, who is asking and when,
/// and how to print.
pub struct Ctx {
    /// The store as messages name it: its path, or its URL without the password.
    pub store_path: PathBuf,
    pub out: Output,
    /// Who is asking, when, whether a passphrase may be asked for, and the store as
    /// the user named it (for the commands suggested).
    pub cx: Context,
    /// The operations, on the store `--store` names.
    pub ops: Box<dyn Operations>,
}

impl Ctx {
    /// A `totpctl …` command line to suggest to the user, which pastes as is: with
    /// `--store` when the store is not the default, each word quoted for the shell.
    pub fn command_line(&self, words: &[&str]) -> String {
        self.cx.command_line(words)
    }

    /// The command line of `command` on one account (see [`Context::account_command`]).
    pub fn account_command(&self, command: &str, account: &str) -> String {
        self.cx.account_command(command, account)
    }

    /// Whether prompting is allowed: stdin is a terminal and --json is off.
    pub fn interactive(&self) -> bool {
        self.cx.interactive
    }
}
