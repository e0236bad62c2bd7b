//! The file as totpctl understands it: the secret, the parameters, the scratch codes
//! and every option line, with the limits a file is checked against.

use zeroize::Zeroizing;

use crate::domain::otp::Params;

/// The largest file read, as `pam_google_authenticator.so` (64 KiB): a real one is a
/// few hundred bytes.
pub const MAX_FILE_SIZE: u64 = 64 * 1024;

/// The fewest secret bytes accepted (80 bits, what RFC 4226 calls the minimum).
pub const MIN_SECRET_BYTES: usize = 10;

/// The most secret bytes accepted (totpctl's largest secret).
pub const MAX_SECRET_BYTES: usize = 64;

/// The most scratch codes `google-authenticator` writes (`-e 0..10`).
pub const MAX_SCRATCH_CODES: usize = 10;

/// The digits of a scratch code.
pub const SCRATCH_CODE_LEN: usize = 8;

/// One option line of the file, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GaOption {
    /// `" TOTP_AUTH`: time-based codes.
    TotpAuth,
    /// `" WINDOW_SIZE n`: how many codes around now are valid (3 = one either side).
    WindowSize(u32),
    /// `" DISALLOW_REUSE [step…]`: a code works once; the steps used lately follow.
    DisallowReuse { used_steps: Vec<i64> },
    /// `" RATE_LIMIT n m [time…]`: at most n logins every m seconds.
    RateLimit { attempts: u32, seconds: u32 },
    /// `" STEP_SIZE n`: seconds per code (1 to 60).
    StepSize(u32),
    /// `" TIME_SKEW n`: the clock skew, in steps, the module learned for this user.
    TimeSkew(i64),
    /// `" RESETTING_TIME_SKEW …`: the state of an unfinished skew reset.
    ResettingTimeSkew,
    /// An option name the module does not know either (it ignores such lines).
    Unknown(String),
}

/// A google-authenticator file, checked.
pub struct GaFile {
    /// The shared secret.
    pub secret: Zeroizing<Vec<u8>>,
    /// SHA1, 6 digits, the file's STEP_SIZE (30 by default): what the module uses.
    pub params: Params,
    /// The scratch codes, distinct, in file order.
    pub scratch_codes: Vec<Zeroizing<String>>,
    /// Scratch codes that appeared more than once (each kept once).
    pub duplicate_scratch_codes: usize,
    /// Every option line, in file order.
    pub options: Vec<GaOption>,
}

impl std::fmt::Debug for GaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or a scratch code.
        f.debug_struct("GaFile")
            .field("params", &self.params)
            .field("scratch_codes", &self.scratch_codes.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl GaFile {
    /// The highest step the file lists as used lately (DISALLOW_REUSE): codes of that
    /// step and before must not work after the import either.
    pub fn replay_watermark(&self) -> Option<i64> {
        self.options.iter().find_map(|o| match o {
            GaOption::DisallowReuse { used_steps } => used_steps.iter().copied().max(),
            _ => None,
        })
    }

    /// Whether codes may be reused within their step (no DISALLOW_REUSE line).
    pub(super) fn allows_reuse(&self) -> bool {
        !self
            .options
            .iter()
            .any(|o| matches!(o, GaOption::DisallowReuse { .. }))
    }
}
