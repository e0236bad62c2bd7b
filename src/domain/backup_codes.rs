//! Backup codes: generation, and the one normal form they are hashed in.
//!
//! A code is ten characters from a 31-symbol alphabet of lower-case letters and digits
//! without look-alikes (no 0/o, 1/l/i), about 49.5 bits of entropy, printed as two
//! groups of five (`abcde-fghij`).

use anyhow::{Context, Result};
use zeroize::Zeroizing;

/// The alphabet: digits 2-9 and the letters that cannot be mistaken for them.
pub const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// Characters per code.
pub const LEN: usize = 10;
/// The most codes one set may hold.
pub const MAX_COUNT: u32 = 100;

/// Generates `count` distinct codes from the operating system's CSPRNG, in their
/// normal form (no hyphen).
pub fn generate(count: u32) -> Result<Vec<Zeroizing<String>>> {
    let mut codes: Vec<Zeroizing<String>> = Vec::with_capacity(count as usize);
    while codes.len() < count as usize {
        let code = random_code()?;
        if !codes.iter().any(|c| **c == *code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

fn random_code() -> Result<Zeroizing<String>> {
    let mut code = Zeroizing::new(String::with_capacity(LEN));
    // Rejection sampling keeps every symbol equally likely: 248 = 8 × 31.
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut buf = Zeroizing::new([0u8; 32]);
    while code.len() < LEN {
        getrandom::fill(buf.as_mut()).context("the operating system's random source failed")?;
        for &b in buf.iter() {
            if b < limit && code.len() < LEN {
                code.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(code)
}

/// The printed form: `abcde-fghij`.
pub fn display(code: &str) -> String {
    match code.get(..LEN / 2) {
        Some(head) if code.len() == LEN => format!("{head}-{}", &code[LEN / 2..]),
        _ => code.to_string(),
    }
}

/// The normal form of typed input if it has the shape of a backup code (case,
/// spaces and hyphens ignored), else `None`.
pub fn normalize(input: &str) -> Option<Zeroizing<String>> {
    let code: Zeroizing<String> = Zeroizing::new(
        input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    );
    let shaped = code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b));
    shaped.then_some(code)
}

/// Digits of a google-authenticator scratch code, imported as a backup code.
pub const SCRATCH_LEN: usize = 8;

/// The normal form of typed input if it has the shape of a backup code of an
/// enrollment whose TOTP codes have `totp_digits` digits: one of totpctl's own codes
/// (see [`normalize`]) or an eight-digit scratch code imported from
/// google-authenticator. Eight digits are read as a scratch code only when the TOTP
/// codes are shorter; on an eight-digit enrollment they are a TOTP code.
pub fn normalize_for(input: &str, totp_digits: u8) -> Option<Zeroizing<String>> {
    if let Some(code) = normalize(input) {
        return Some(code);
    }
    if usize::from(totp_digits) >= SCRATCH_LEN {
        return None;
    }
    let digits: Zeroizing<String> = Zeroizing::new(
        input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect(),
    );
    let shaped = digits.len() == SCRATCH_LEN && digits.bytes().all(|b| b.is_ascii_digit());
    shaped.then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_distinct_and_well_formed() {
        let codes = generate(50).unwrap();
        assert_eq!(codes.len(), 50);
        for code in &codes {
            assert_eq!(normalize(&display(code)).as_deref(), Some(&**code));
        }
    }

    #[test]
    fn input_is_case_and_separator_insensitive() {
        assert_eq!(
            normalize(" ABCDE-fghjk ").as_deref().map(String::as_str),
            Some("abcdefghjk")
        );
        assert!(normalize("abcde-fghi0").is_none());
        assert!(normalize("123456").is_none());
    }

    #[test]
    fn eight_digits_are_a_scratch_code_only_beside_shorter_totp_codes() {
        let code = |input, digits| normalize_for(input, digits).map(|c| c.to_string());
        assert_eq!(code("1234 5678", 6).as_deref(), Some("12345678"));
        assert_eq!(code("1234-5678", 7).as_deref(), Some("12345678"));
        assert_eq!(code("12345678", 8), None);
        assert_eq!(code("123456", 6), None);
        assert_eq!(code("ABCDE-fghjk", 8).as_deref(), Some("abcdefghjk"));
    }
}
