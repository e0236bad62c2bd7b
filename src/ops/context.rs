//! Who is asking and when: what every operation of one request shares.

use chrono::{DateTime, Utc};

use crate::domain::actor::Actor;

/// Who is asking and when: what every operation of one request shares.
#[derive(Debug, Clone)]
pub struct Context {
    /// The time the request started; the one clock every record of it uses.
    pub now: DateTime<Utc>,
    /// Who is asking: every event written names it.
    pub actor: Actor,
    /// Whether a passphrase may be asked for on the terminal.
    pub interactive: bool,
    /// The store as the asker named it, when it is not the default one: the command
    /// lines that messages suggest carry it (`totpctl --store … unlock alice`).
    pub store_arg: Option<std::path::PathBuf>,
}

impl Context {
    /// `now` in the stored form.
    pub fn now_str(&self) -> String {
        crate::base::time::timestamp(self.now)
    }

    /// A `totpctl …` command line that pastes as is (see
    /// [`crate::base::text::command_line`]), with `--store` when it is not the default.
    pub fn command_line(&self, words: &[&str]) -> String {
        crate::base::text::command_line(self.store_arg.as_deref(), words)
    }

    /// The command line of `command` on one account; an account that starts with `-`
    /// comes after `--`, so it is not taken for an option.
    pub fn account_command(&self, command: &str, account: &str) -> String {
        if account.starts_with('-') {
            self.command_line(&[command, "--", account])
        } else {
            self.command_line(&[command, account])
        }
    }
}
