//! Fuzzes the otpauth:// URI parser: no input may panic, and whatever it accepts must
//! survive a round trip through `build_uri` with the same parameters.

#![no_main]

use libfuzzer_sys::fuzz_target;
use totpctl::otp::{build_uri, encode_secret, parse_uri};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = parse_uri(text) else {
        return;
    };
    // What the parser accepts as names is what enroll and import would store only
    // after check_name; the round trip holds for those.
    if totpctl::output::check_name("account", &parsed.account).is_err()
        || parsed
            .issuer
            .as_deref()
            .is_some_and(|i| totpctl::output::check_name("issuer", i).is_err())
    {
        return;
    }
    let issuer = parsed.issuer.clone().unwrap_or_default();
    let uri = build_uri(
        &parsed.params,
        &issuer,
        &parsed.account,
        &encode_secret(&parsed.secret),
    );
    let again = parse_uri(&uri).expect("a built URI parses");
    assert_eq!(again.account, parsed.account);
    assert_eq!(again.issuer, parsed.issuer);
    assert_eq!(again.params, parsed.params);
    assert_eq!(again.secret.as_slice(), parsed.secret.as_slice());
});
