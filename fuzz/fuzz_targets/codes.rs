//! Fuzzes the parsers of what people type: TOTP codes, backup codes, secrets and
//! `--at` times. No input may panic; normal forms must be idempotent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use totpctl::{backup_codes, otp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let code = otp::normalize_code(text);
    assert!(!code.contains('-') && !code.chars().any(char::is_whitespace));
    assert_eq!(otp::normalize_code(&code), code);

    if let Some(normal) = backup_codes::normalize(text) {
        assert_eq!(normal.len(), backup_codes::LEN);
        let shown = backup_codes::display(&normal);
        assert_eq!(
            backup_codes::normalize(&shown).as_deref(),
            Some(&*normal),
            "the printed form of a code reads back as the same code"
        );
    }

    if let Some(secret) = otp::decode_secret(text) {
        let b32 = otp::encode_secret(&secret);
        assert_eq!(
            otp::decode_secret(&b32).as_deref().map(Vec::as_slice),
            Some(secret.as_slice())
        );
    }

    let _ = totpctl::parse_time(text);
    let _ = totpctl::output::check_name("account", text);
    let _ = totpctl::output::sanitize(text);
    let _ = otp::printable(text);
});
