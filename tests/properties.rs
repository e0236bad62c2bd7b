//! Property tests over everything that parses what people and other systems type:
//! codes, backup codes, otpauth:// URIs, account names and times. No input panics, and
//! what is printed reads back as what it was.

use proptest::prelude::*;
use totpctl::base::time::parse_time;
use totpctl::domain::backup_codes;
use totpctl::domain::names::check_name;
use totpctl::domain::otp::{self, Algorithm, Params, build_uri, encode_secret, parse_uri};

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

fn params() -> impl Strategy<Value = Params> {
    (algorithm(), 6u8..=8, 1u32..=3600)
        .prop_map(|(a, d, p)| Params::new(a, d, p).expect("in range"))
}

/// Names as people type them: any printable characters, including the ones an
/// otpauth:// URI must escape, and anything check_name would refuse.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9@._+ -]{0,40}",
        "[&?#%=/:+ éü中😀'\"\\\\]{0,20}",
        any::<String>(),
    ]
}

/// Names that check_name accepts.
fn good_name() -> impl Strategy<Value = String> {
    any_name().prop_filter("a name enroll accepts", |n| {
        check_name("account", n).is_ok() && check_name("issuer", n).is_ok()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn code_normalisation_strips_only_spaces_and_hyphens(input in any::<String>()) {
        let code = otp::normalize_code(&input);
        prop_assert!(!code.contains('-'));
        prop_assert!(!code.chars().any(char::is_whitespace));
        prop_assert_eq!(otp::normalize_code(&code), code.clone());
        let kept: String = input.chars().filter(|c| *c != '-' && !c.is_whitespace()).collect();
        prop_assert_eq!(code, kept);
    }

    #[test]
    fn a_totp_code_reads_back_however_it_is_spaced(
        digits in "[0-9]{6,8}",
        seps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("\t")], 9),
    ) {
        let mut typed = String::new();
        for (i, c) in digits.chars().enumerate() {
            typed.push_str(seps[i]);
            typed.push(c);
        }
        typed.push_str(seps[8]);
        prop_assert_eq!(otp::normalize_code(&typed), digits);
    }

    #[test]
    fn backup_code_parsing_never_panics_and_is_idempotent(input in any::<String>()) {
        if let Some(code) = backup_codes::normalize(&input) {
            prop_assert_eq!(code.len(), backup_codes::LEN);
            prop_assert!(code.bytes().all(|b| backup_codes::ALPHABET.contains(&b)));
            let again = backup_codes::normalize(&backup_codes::display(&code)).map(|c| c.to_string());
            prop_assert_eq!(again, Some(code.to_string()));
        }
    }

    #[test]
    fn a_backup_code_reads_back_in_any_case_and_spacing(
        code in proptest::collection::vec(proptest::sample::select(backup_codes::ALPHABET.to_vec()), 10),
        upper in proptest::collection::vec(any::<bool>(), 10),
        sep in prop_oneof![Just(""), Just("-"), Just(" "), Just(" - ")],
    ) {
        let normal: String = code.iter().map(|&b| b as char).collect();
        let typed: String = normal
            .chars()
            .zip(&upper)
            .enumerate()
            .map(|(i, (c, &up))| {
                let c = if up { c.to_ascii_uppercase() } else { c };
                if i == 5 { format!("{sep}{c}") } else { c.to_string() }
            })
            .collect();
        let read = backup_codes::normalize(&typed).map(|c| c.to_string());
        prop_assert_eq!(read, Some(normal.clone()));
        let shown = backup_codes::normalize(&backup_codes::display(&normal)).map(|c| c.to_string());
        prop_assert_eq!(shown, Some(normal));
    }

    #[test]
    fn uri_parsing_never_panics(input in any::<String>()) {
        let _ = parse_uri(&input);
        let _ = parse_uri(&format!("otpauth://totp/{input}"));
        let _ = parse_uri(&format!("otpauth://totp/a?{input}"));
        let _ = parse_uri(&format!("otpauth://totp/a?secret=JBSWY3DP&{input}"));
    }

    #[test]
    fn uri_parsing_of_uri_shaped_garbage_never_panics(
        kind in prop_oneof![Just("totp".to_string()), Just("TOTP".to_string()), Just("hotp".to_string()), "[a-z]{0,5}"],
        label in "[a-zA-Z0-9%:@ +#?&=/]{0,30}",
        pairs in proptest::collection::vec(
            (prop_oneof![Just("secret".to_string()), Just("issuer".to_string()), Just("algorithm".to_string()), Just("digits".to_string()), Just("period".to_string()), "[a-z]{0,8}"],
             "[a-zA-Z0-9%=+ #:-]{0,20}"),
            0..6),
    ) {
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = parse_uri(&format!("otpauth://{kind}/{label}?{}", query.join("&")));
    }

    #[test]
    fn the_uri_enroll_prints_parses_back_to_the_same_enrollment(
        params in params(),
        issuer in prop_oneof![Just(String::new()), good_name()],
        account in good_name().prop_filter("non-empty", |a| !a.trim().is_empty()),
        secret in proptest::collection::vec(any::<u8>(), 10..=64),
    ) {
        let uri = build_uri(&params, &issuer, &account, &encode_secret(&secret));
        let parsed = parse_uri(&uri).map_err(|e| TestCaseError::fail(format!("{uri}: {e}")))?;
        prop_assert_eq!(&parsed.account, &account);
        prop_assert_eq!(parsed.issuer.as_deref(), (!issuer.is_empty()).then_some(issuer.as_str()));
        prop_assert_eq!(parsed.params, params);
        prop_assert_eq!(parsed.secret.as_slice(), secret.as_slice());
        // What the parser returns, built again, is the same URI.
        let again = build_uri(&parsed.params, parsed.issuer.as_deref().unwrap_or(""), &parsed.account, &encode_secret(&parsed.secret));
        prop_assert_eq!(again, uri);
    }

    #[test]
    fn secrets_round_trip_through_base32_however_they_are_written(
        secret in proptest::collection::vec(any::<u8>(), 1..80),
        lower in any::<bool>(),
        spaced in any::<bool>(),
        padded in any::<bool>(),
    ) {
        let mut text = encode_secret(&secret);
        if padded {
            while text.len() % 8 != 0 {
                text.push('=');
            }
        }
        if lower {
            text = text.to_lowercase();
        }
        if spaced {
            text = text.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ");
        }
        let decoded = otp::decode_secret(&text);
        prop_assert_eq!(decoded.as_deref().map(Vec::as_slice), Some(secret.as_slice()));
    }

    #[test]
    fn account_name_checking_never_panics_and_refuses_what_it_must(name in any_name()) {
        match check_name("account", &name) {
            Ok(()) => {
                prop_assert!(!name.trim().is_empty());
                prop_assert!(!name.contains(':'));
                prop_assert!(!name.chars().any(char::is_control));
                prop_assert!(name.chars().count() <= 256);
                prop_assert_eq!(name.trim(), name.as_str());
            }
            Err(e) => {
                // One line, whatever the name held.
                let msg = e.to_string();
                prop_assert!(!msg.contains('\n') && !msg.contains('\r'), "{:?}", msg);
                prop_assert!(!msg.contains('\u{1b}'), "{:?}", msg);
            }
        }
    }

    #[test]
    fn time_parsing_never_panics(input in any::<String>()) {
        let _ = parse_time(&input);
    }

    #[test]
    fn unix_seconds_round_trip(secs in -62_135_596_800i64..=253_402_300_799) {
        let t = parse_time(&secs.to_string()).expect("an in-range unix time parses");
        prop_assert_eq!(t.timestamp(), secs);
        let rfc = t.to_rfc3339();
        prop_assert_eq!(parse_time(&rfc).expect("RFC 3339 parses").timestamp(), secs);
    }

    #[test]
    fn out_of_range_unix_seconds_are_an_error_not_a_panic(secs in any::<i64>()) {
        let _ = parse_time(&secs.to_string());
        let _ = parse_time(&format!(" {secs} "));
    }

    #[test]
    fn rfc3339_with_any_offset_parses_to_the_same_instant(
        secs in 0i64..4_102_444_800,
        offset_min in -1439i32..=1439,
    ) {
        let offset = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
        let t = chrono::DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&offset);
        prop_assert_eq!(parse_time(&t.to_rfc3339()).unwrap().timestamp(), secs);
    }
}

/// Garbage for the command line: any text without NUL (which argv cannot carry),
/// flags of every command, and values that look almost right.
fn garbage_arg() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\u{0}]{0,24}",
        "-{1,2}[a-z-]{0,14}",
        prop_oneof![
            Just("--json".to_string()),
            Just("--at".to_string()),
            Just("--window".to_string()),
            Just("--count".to_string()),
            Just("--digits".to_string()),
            Just("--period".to_string()),
            Just("--qr-file".to_string()),
            Just("--since".to_string()),
            Just("--limit".to_string()),
            Just("--yes".to_string()),
            Just("--force".to_string()),
            Just("alice".to_string()),
            Just("-".to_string()),
            Just("999999999999999999999".to_string()),
            Just("-1".to_string()),
            Just("otpauth://totp/x?secret=JBSWY3DP".to_string()),
        ],
    ]
}

fn subcommand() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "enroll",
        "verify",
        "list",
        "show",
        "backup-codes",
        "remove",
        "unlock",
        "config",
        "log",
        "import",
        "rekey",
        "completions",
        "",
    ])
}

/// A store with alice verified and bob enrolled, made once for the CLI properties.
fn garbage_store() -> &'static std::path::Path {
    static STORE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = dir.path().join("totpctl.db");
            for args in [
                &["enroll", "alice", "--qr", "never"][..],
                &["enroll", "bob", "--qr", "never"],
            ] {
                let out = assert_cmd::Command::cargo_bin("totpctl")
                    .unwrap()
                    .env("TOTPCTL_STORE", &store)
                    .args(args)
                    .output()
                    .unwrap();
                assert!(out.status.success());
            }
            dir
        })
        .path()
}

proptest! {
    // scripts/reliability.sh raises the count with TOTPCTL_GARBAGE_CASES.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("TOTPCTL_GARBAGE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(160)
    ))]

    /// Generated garbage in every argument and on stdin: a documented exit status,
    /// never a panic, and under --json exactly one JSON value.
    #[test]
    fn garbage_command_lines_never_panic(
        sub in subcommand(),
        args in proptest::collection::vec(garbage_arg(), 0..5),
        stdin in proptest::collection::vec(any::<u8>(), 0..64),
        json in any::<bool>(),
    ) {
        let dir = garbage_store();
        let mut cmd = assert_cmd::Command::cargo_bin("totpctl").unwrap();
        cmd.current_dir(dir)
            .env("TOTPCTL_STORE", dir.join("totpctl.db"))
            .env("HOME", dir)
            .env_remove("TOTPCTL_PASSPHRASE")
            .env_remove("TOTPCTL_KEY_FILE")
            .env_remove("RUST_BACKTRACE");
        if json {
            cmd.arg("--json");
        }
        if !sub.is_empty() {
            cmd.arg(sub);
        }
        let out = cmd.args(&args).write_stdin(stdin).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        prop_assert!(!err.contains("panicked"), "{sub} {args:?}: {err}");
        prop_assert!(matches!(out.status.code(), Some(0..=4)), "{sub} {args:?}: {:?} {err}", out.status);
        // Help and version are text for people whatever the flags; a completion
        // script is a script.
        let text_asked = args.iter().any(|a| {
            a == "--help"
                || a == "--version"
                || (a.starts_with('-') && !a.starts_with("--") && (a.contains('h') || a.contains('V')))
        }) || (sub == "completions" && out.status.success());
        if json && !text_asked {
            let text = String::from_utf8_lossy(&out.stdout);
            let mut values = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
            let first = values.next();
            prop_assert!(matches!(first, Some(Ok(_))), "{sub} {args:?}: stdout {text:?} stderr {err}");
            prop_assert!(values.next().is_none(), "{sub} {args:?}: more than one value: {text:?}");
        }
    }
}
