//! What does not come over from a google-authenticator file as it was, option by
//! option, and what totpctl does instead.

use super::file::{GaFile, GaOption};

/// An option (or an absence of one) whose behaviour totpctl does not reproduce, and
/// what totpctl does instead.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotCarried {
    /// The option as the file has it, e.g. `WINDOW_SIZE 17`.
    pub option: String,
    /// What totpctl does instead.
    pub instead: String,
}

/// The problem of a counter-based file; the import adds the command that enrolls its
/// account afresh.
pub const HOTP_PROBLEM: &str = "it is counter-based (HOTP_COUNTER): totpctl verifies time-based codes only; \
     enroll this user afresh";

/// The store's settings that stand in for per-user options.
#[derive(Debug, Clone)]
pub struct Policy {
    pub window: u32,
    pub lockout_attempts: u32,
    pub lockout_seconds: u32,
    /// The `--store` of the command line, for the commands the notes suggest (None:
    /// the default store).
    pub store_arg: Option<std::path::PathBuf>,
}

impl GaFile {
    /// Every per-user behaviour that does not come over as it was, with what totpctl
    /// does instead under the store's `policy`. Nothing is dropped without a word.
    pub fn not_carried_over(&self, policy: &Policy) -> Vec<NotCarried> {
        let config = |key: &str| {
            crate::base::text::command_line(policy.store_arg.as_deref(), &["config", key, "N"])
        };
        let store_window = format!(
            "the store's window applies to every account: codes from {w} step{s} before to \
             {w} step{s} after now are accepted (change it with: {})",
            config("window"),
            w = policy.window,
            s = if policy.window == 1 { "" } else { "s" },
        );
        let lockout = if policy.lockout_attempts == 0 {
            format!(
                "totpctl's lockout applies, and is off in this store (lockout-attempts 0): \
                 to limit guesses, set it with: {}",
                config("lockout-attempts")
            )
        } else {
            format!(
                "totpctl's lockout applies: after {} rejected codes in a row the account is \
                 locked for {} seconds (change them with: {}; {})",
                policy.lockout_attempts,
                policy.lockout_seconds,
                config("lockout-attempts"),
                config("lockout-seconds")
            )
        };
        let mut notes = Vec::new();
        let mut note = |option: String, instead: String| {
            notes.push(NotCarried { option, instead });
        };
        for option in &self.options {
            match option {
                GaOption::TotpAuth => {}
                GaOption::WindowSize(n) => {
                    // The module accepts codes from (n-1)/2 steps back to n/2 ahead; the
                    // same window as the store's loses nothing.
                    let (back, ahead) = ((n - 1) / 2, n / 2);
                    if back == policy.window && ahead == policy.window {
                        continue;
                    }
                    note(
                        format!("WINDOW_SIZE {n}"),
                        format!(
                            "per-user window (codes from {back} before to {ahead} after now) \
                             not kept; {store_window}"
                        ),
                    );
                }
                // What totpctl always does, and the steps used lately stay refused (see
                // `replay_watermark`): nothing is lost.
                GaOption::DisallowReuse { .. } => {}
                GaOption::RateLimit { attempts, seconds } => note(
                    format!("RATE_LIMIT {attempts} {seconds}"),
                    format!("no limit on logins per {seconds} seconds; {lockout}"),
                ),
                // Kept: the enrollment's period.
                GaOption::StepSize(_) => {}
                GaOption::TimeSkew(0) => {}
                GaOption::TimeSkew(skew) => note(
                    format!("TIME_SKEW {skew}"),
                    format!(
                        "the clock skew google-authenticator learned for this user is dropped: \
                         codes are checked against this host's clock; {store_window}"
                    ),
                ),
                GaOption::ResettingTimeSkew => note(
                    "RESETTING_TIME_SKEW".to_string(),
                    "an unfinished clock-skew reset is dropped: totpctl does not learn skew"
                        .to_string(),
                ),
                GaOption::Unknown(name) => note(
                    name.clone(),
                    "an option neither google-authenticator nor totpctl knows: ignored, as \
                     google-authenticator ignores it"
                        .to_string(),
                ),
            }
        }
        if self.allows_reuse() {
            note(
                "no DISALLOW_REUSE (a code could be used again within its step)".to_string(),
                "totpctl always refuses a code that was already used: a second login within \
                 one step needs the next code or a backup code"
                    .to_string(),
            );
        }
        if self.duplicate_scratch_codes > 0 {
            note(
                format!(
                    "{} scratch code{} listed twice",
                    self.duplicate_scratch_codes,
                    if self.duplicate_scratch_codes == 1 {
                        ""
                    } else {
                        "s"
                    }
                ),
                "each scratch code is a backup code that works once".to_string(),
            );
        }
        notes
    }
}
