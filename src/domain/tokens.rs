//! API tokens: what `serve` accepts as a caller's credentials. A token is 32 random
//! bytes shown once, when it is made; the store keeps only its keyed hash, its name,
//! its scopes and its dates, authenticated under the store's key (see
//! `store::tokens`).

use std::fmt;

use chrono::{DateTime, Utc};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Check TOTP and backup codes: what a PAM host or a login service holds. Its
    /// answers never carry backup codes.
    Verify,
    /// List, show, log and info.
    Read,
    /// Create or replace an unverified enrollment.
    Enroll,
    /// Everything.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Verify, Scope::Read, Scope::Enroll, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Verify => "verify",
            Scope::Read => "read",
            Scope::Enroll => "enroll",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scopes of one token: a set, written as a comma-separated list in scope order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    pub fn of(scopes: &[Scope]) -> Scopes {
        Scopes(scopes.iter().fold(0, |bits, s| bits | s.bit()))
    }

    /// Whether these scopes allow what `needed` allows: `admin` allows everything.
    pub fn allow(self, needed: Scope) -> bool {
        self.0 & (needed.bit() | Scope::Admin.bit()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |s| self.0 & s.bit() != 0)
    }

    /// The stored form: `verify,read`. `None` for text that is not exactly that form
    /// (an unknown scope, a repeat, another order, white space): a stored value is
    /// input too.
    pub fn parse(text: &str) -> Option<Scopes> {
        let mut bits = 0u8;
        let mut last = None;
        for word in text.split(',') {
            let scope = Scope::parse(word)?;
            if last.is_some_and(|l| l >= scope) {
                return None;
            }
            last = Some(scope);
            bits |= scope.bit();
        }
        Some(Scopes(bits))
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&words.join(","))
    }
}

/// The prefix of every token, so that one found in a file or a log is recognisable.
pub const TOKEN_PREFIX: &str = "totpctl_";

/// The most characters of a token name.
pub const MAX_NAME_LEN: usize = 64;

/// A new token's text: the prefix and 32 random bytes, base64url without padding.
pub fn new_token_text(random: &[u8; 32]) -> String {
    format!(
        "{TOKEN_PREFIX}{}",
        data_encoding::BASE64URL_NOPAD.encode(random)
    )
}

/// Whether `text` has the shape of a token (the hash decides whether it is one).
pub fn looks_like_token(text: &str) -> bool {
    text.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Checks a token's name: 1 to 64 of `A-Z a-z 0-9 . _ @ -`, not starting with `-`, so
/// that it reads the same in a log line, a terminal and an argument list.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!(
            "a token name has 1 to {MAX_NAME_LEN} characters, not {}",
            name.chars().count()
        ));
    }
    if name.starts_with('-') {
        return Err("a token name cannot start with '-'".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-')))
    {
        return Err(format!(
            "a token name is made of letters, digits and . _ @ - only, not {:?}",
            c
        ));
    }
    Ok(())
}

/// When a token made at `now` for `text` (`90d`, `12h`, `1y`…) expires.
pub fn expiry(now: DateTime<Utc>, text: &str) -> Result<DateTime<Utc>, String> {
    let d = humantime::parse_duration(text).map_err(|e| {
        format!("--expires {text:?} is not a duration ({e}): give one like 90d, 12h or 30min")
    })?;
    if d.is_zero() {
        return Err("--expires must be longer than zero".into());
    }
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .filter(|t| t.timestamp() < 253_402_300_800) // before year 10000
        .ok_or_else(|| format!("--expires {text:?} is too far in the future"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_stored_forms_are_strict() {
        let s = Scopes::of(&[Scope::Read, Scope::Verify]);
        assert_eq!(s.to_string(), "verify,read");
        assert_eq!(Scopes::parse("verify,read"), Some(s));
        for bad in [
            "",
            "read,verify",
            "verify,verify",
            "verify, read",
            "root",
            "admin,",
        ] {
            assert_eq!(Scopes::parse(bad), None, "{bad:?}");
        }
        assert!(s.allow(Scope::Read) && !s.allow(Scope::Admin) && !s.allow(Scope::Enroll));
        assert!(Scopes::of(&[Scope::Admin]).allow(Scope::Enroll));
    }

    #[test]
    fn names_and_token_shapes() {
        assert!(check_name("pam-bastion-1").is_ok());
        for bad in ["", "-x", "a b", "é", &"x".repeat(65), "a\u{1b}[2J"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let t = new_token_text(&[7; 32]);
        assert!(looks_like_token(&t), "{t}");
        assert!(!looks_like_token(&t[1..]) && !looks_like_token(&format!("{t}x")));
    }

    #[test]
    fn expiry_is_a_duration_from_now() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(expiry(now, "1h").unwrap().timestamp(), 1_800_003_600);
        assert!(expiry(now, "0s").is_err());
        assert!(expiry(now, "soon").is_err());
        assert!(expiry(now, "100000y").is_err());
    }
}
