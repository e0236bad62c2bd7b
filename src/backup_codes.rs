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
}
