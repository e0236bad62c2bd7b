//! Account names that cannot pass for one another (UTS #39, "Unicode Security
//! Mechanisms").
//!
//! Two rules for a new account name, both from the standard and its tables (through
//! the `unicode-security` crate; no table is written here):
//! - its letters meet the "Highly Restrictive" level: one script, or Latin with Han
//!   and Japanese kana, Han and Bopomofo, or Han and Hangul; never Latin mixed with
//!   Cyrillic or Greek, nor a form such as full-width letters that the standard keeps
//!   out of identifiers;
//! - its skeleton (the standard's mapping of every character to a prototype it can be
//!   confused with) is not the skeleton of an account already enrolled: `аlice` with
//!   a Cyrillic `а`, `a1ice` and `alice` have one skeleton. The store keeps each
//!   enrollment's skeleton indexed, so the check is one lookup.

use unicode_security::{RestrictionLevel, RestrictionLevelDetection};

use crate::base::error::invalid;
use crate::base::text::{is_hostile, is_invisible, printable};

/// The UTS #39 skeleton of `name`.
pub fn skeleton(name: &str) -> String {
    unicode_security::skeleton(name).collect()
}

/// Whether `name`'s letters meet UTS #39's "Highly Restrictive" level. ASCII
/// punctuation (`@ . _ - +` of e-mail addresses and user names) belongs to no script
/// and is left out; any other character outside the standard's identifier profile
/// fails.
pub fn highly_restrictive(name: &str) -> bool {
    // ASCII letters are Latin and ASCII digits belong to every script: one script.
    if name.is_ascii() {
        return true;
    }
    let letters: String = name
        .chars()
        .filter(|c| !c.is_ascii() || c.is_ascii_alphanumeric())
        .collect();
    letters
        .as_str()
        .check_restriction_level(RestrictionLevel::HighlyRestrictive)
}

/// Refuses a new account name whose letters mix scripts beyond UTS #39's "Highly
/// Restrictive" level.
pub fn check_new_account(name: &str) -> anyhow::Result<()> {
    if highly_restrictive(name) {
        return Ok(());
    }
    Err(crate::base::error::invalid(format!(
        "the account name '{}' mixes scripts or uses forms (such as full-width letters) that \
         make names look alike{}: totpctl takes names of one script, or Latin with Han, kana or \
         Hangul (UTS #39 \"Highly Restrictive\")",
        crate::base::text::printable(name),
        code_points(name)
    )))
}

/// The error for a new account that looks like `existing`.
pub fn look_alike(new: &str, existing: &str) -> anyhow::Error {
    crate::base::error::invalid(format!(
        "the account name '{}'{} looks like the enrolled account '{}'{}: one could pass for the \
         other; choose a name that cannot be mistaken for it",
        crate::base::text::printable(new),
        code_points(new),
        crate::base::text::printable(existing),
        code_points(existing)
    ))
}

/// ` (with U+0430)`: the characters of `name` outside ASCII, which are what make two
/// names that look alike differ.
fn code_points(name: &str) -> String {
    let points: Vec<String> = name
        .chars()
        .filter(|c| !c.is_ascii())
        .take(8)
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    if points.is_empty() {
        String::new()
    } else {
        format!(" (with {})", points.join(", "))
    }
}

/// Refuses account names and issuers that are empty, too long, or carry characters
/// that could rewrite a terminal or break an otpauth:// label.
pub fn check_name(what: &str, value: &str) -> anyhow::Result<()> {
    let account = what == "account";
    if value.trim().is_empty() && account {
        return Err(invalid("the account name is empty"));
    }
    // An argument names an account or an id: a name that is an id would shadow, or
    // be shadowed by, the enrollment whose id it is.
    if account && uuid::Uuid::try_parse(value.trim()).is_ok() {
        return Err(invalid(format!(
            "the account name '{}' is a UUID, which totpctl reads as an enrollment id; \
             choose another name",
            printable(value)
        )));
    }
    // It would read as an option wherever it is pasted.
    if account && value.starts_with('-') {
        return Err(invalid(format!(
            "the account name '{}' starts with '-', which reads as an option",
            printable(value)
        )));
    }
    if let Some(c) = value.chars().find(|&c| is_invisible(c)) {
        return Err(invalid(format!(
            "the {what} '{}' contains the invisible character U+{:04X}, which would make \
             two names look alike",
            printable(value),
            c as u32
        )));
    }
    if value.chars().count() > 256 {
        return Err(invalid(format!("the {what} is longer than 256 characters")));
    }
    if value.chars().any(is_hostile) {
        return Err(invalid(format!(
            "the {what} '{}' contains control or bidirectional-override characters",
            printable(value)
        )));
    }
    if value.contains(':') {
        return Err(invalid(format!(
            "the {what} '{}' contains ':', which separates issuer and account in otpauth:// \
             labels",
            printable(value)
        )));
    }
    if value != value.trim() {
        return Err(invalid(format!(
            "the {what} '{}' starts or ends with white space",
            printable(value)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_share_a_skeleton() {
        assert_eq!(skeleton("alice"), skeleton("\u{430}lice"));
        assert_eq!(skeleton("alice"), skeleton("a1ice"));
        assert_ne!(skeleton("alice"), skeleton("bob"));
    }

    #[test]
    fn mixed_scripts_and_full_width_letters_are_not_highly_restrictive() {
        for ok in [
            "alice@example.com",
            "bob_smith+2fa",
            "jos\u{e9}@example.com",
            "\u{431}\u{43e}\u{440}\u{438}\u{441}",
            "\u{5c71}\u{7530}@example.jp",
        ] {
            assert!(highly_restrictive(ok), "{ok}");
        }
        for bad in [
            "\u{430}lice",
            "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}",
            "\u{3b1}lice",
        ] {
            assert!(!highly_restrictive(bad), "{bad}");
        }
    }
}
