//! `verify`: RFC 6238 vectors, codes from independent implementations, the window and
//! drift, replay protection, backup codes, code input, and every exit status.

mod common;

use common::{T0, TestEnv, oathtool, stdout};
use serde_json::Value;

fn b32(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(bytes)
}

/// RFC 6238 Appendix B: the test vectors, through import (8 digits) and verify --at.
#[test]
fn rfc6238_appendix_b_vectors() {
    let env = TestEnv::new();
    let seed20 = b"12345678901234567890".to_vec();
    let seed32 = b"12345678901234567890123456789012".to_vec();
    let seed64: Vec<u8> = seed20
        .iter()
        .chain(&seed20)
        .chain(&seed20)
        .chain(&seed20[..4])
        .copied()
        .collect();
    let uris = format!(
        "otpauth://totp/rfc:sha1?secret={}&digits=8&algorithm=SHA1\n\
         otpauth://totp/rfc:sha256?secret={}&digits=8&algorithm=SHA256\n\
         otpauth://totp/rfc:sha512?secret={}&digits=8&algorithm=SHA512\n",
        b32(&seed20),
        b32(&seed32),
        b32(&seed64)
    );
    let out = env
        .cmd()
        .args(["import", "-"])
        .write_stdin(uris)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let vectors: [(i64, [&str; 3]); 6] = [
        (59, ["94287082", "46119246", "90693936"]),
        (1111111109, ["07081804", "68084774", "25091201"]),
        (1111111111, ["14050471", "67062674", "99943326"]),
        (1234567890, ["89005924", "91819424", "93441116"]),
        (2000000000, ["69279037", "90698825", "38618901"]),
        (20000000000, ["65353130", "77737706", "47863826"]),
    ];
    for (time, codes) in vectors {
        for (account, code) in ["sha1", "sha256", "sha512"].iter().zip(codes) {
            let v = env.json(&[
                "verify",
                account,
                code,
                "--at",
                &time.to_string(),
                "--window",
                "0",
            ]);
            assert_eq!(v["valid"], true, "{account} at {time}: {v}");
            assert_eq!(v["drift"], 0);
        }
    }
}

#[test]
fn codes_from_oathtool_for_every_algorithm_digits_and_period() {
    let env = TestEnv::new();
    for (i, (alg, digits, period)) in [
        ("SHA1", "6", "30"),
        ("SHA256", "7", "60"),
        ("SHA512", "8", "45"),
    ]
    .into_iter()
    .enumerate()
    {
        let account = format!("user{i}");
        let e = env.enroll_with(
            &account,
            &["--algorithm", alg, "--digits", digits, "--period", period],
        );
        let flags = [
            format!("--totp={}", alg.to_lowercase()),
            format!("--digits={digits}"),
            format!("--time-step-size={period}s"),
        ];
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let code = oathtool(&e.secret, T0, &flags);
        let v = env.json(&["verify", &account, &code, "--at", &T0.to_string()]);
        assert_eq!(v["valid"], true, "{alg}/{digits}/{period}: {v}");
        assert_eq!(v["codeType"], "totp");
    }
}

#[test]
fn pyotp_reads_the_printed_uri_and_its_codes_are_accepted() {
    let env = TestEnv::new();
    let e = env.enroll_with(
        "pat@example.com",
        &[
            "--issuer",
            "Acme Co",
            "--digits",
            "8",
            "--algorithm",
            "SHA256",
        ],
    );
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, pyotp; t = pyotp.parse_uri(sys.argv[1]); print(t.issuer, t.name, t.at(int(sys.argv[2])))",
            &e.uri,
            &T0.to_string(),
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "pyotp (pip install pyotp): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(fields[..], ["Acme", "Co", "pat@example.com", fields[3]]);
    let v = env.json(&[
        "verify",
        "pat@example.com",
        fields[3],
        "--at",
        &T0.to_string(),
    ]);
    assert_eq!(v["valid"], true, "{v}");
}

#[test]
fn window_and_drift() {
    let env = TestEnv::new();
    let e = env.enroll("a");
    let at = T0.to_string();
    // One step behind and one ahead are accepted with the default window of 1.
    let v = env.json(&[
        "verify",
        "a",
        &oathtool(&e.secret, T0 - 30, &[]),
        "--at",
        &at,
    ]);
    assert_eq!(
        (v["valid"].clone(), v["drift"].clone()),
        (Value::Bool(true), Value::from(-1))
    );
    let v = env.json(&[
        "verify",
        "a",
        &oathtool(&e.secret, T0 + 30, &[]),
        "--at",
        &at,
    ]);
    assert_eq!(v["drift"], 1);
    // Two steps ahead: outside the window, rejected as incorrect.
    let code = oathtool(&e.secret, T0 + 60, &[]);
    let v = env.json_status(&["verify", "a", &code, "--at", &at], 1);
    assert_eq!(v["reason"], "totp_incorrect_code");
    // --window 2 takes it.
    let v = env.json(&["verify", "a", &code, "--at", &at, "--window", "2"]);
    assert_eq!(v["drift"], 2);
    // The store's window setting.
    env.set("window", "0");
    let later = T0 + 300;
    let code = oathtool(&e.secret, later - 30, &[]);
    let v = env.json_status(&["verify", "a", &code, "--at", &later.to_string()], 1);
    assert_eq!(v["reason"], "totp_incorrect_code");
    let err = env.json_status(&["verify", "a", "123456", "--window", "11"], 2);
    assert_eq!(err["error"]["code"], "invalid_argument");
}

#[test]
fn a_code_is_accepted_once_and_older_steps_never_after_a_newer_one() {
    let env = TestEnv::new();
    let e = env.enroll("a");
    let code = oathtool(&e.secret, T0, &[]);
    let at = T0.to_string();
    assert_eq!(
        env.json(&["verify", "a", &code, "--at", &at])["valid"],
        true
    );
    let v = env.json_status(&["verify", "a", &code, "--at", &at], 1);
    assert_eq!(v["reason"], "totp_replayed_code");
    // The previous step's code is inside the window but older than the accepted step.
    let old = oathtool(&e.secret, T0 - 30, &[]);
    let v = env.json_status(&["verify", "a", &old, "--at", &at], 1);
    assert_eq!(v["reason"], "totp_replayed_code");
    // The next step's code is new.
    let next = oathtool(&e.secret, T0 + 30, &[]);
    assert_eq!(
        env.json(&["verify", "a", &next, "--at", &(T0 + 30).to_string()])["valid"],
        true
    );
}

#[test]
fn first_accepted_code_verifies_and_prints_backup_codes_once() {
    let env = TestEnv::new();
    let e = env.enroll("a");
    assert_eq!(e.json["verified"], false);
    assert_eq!(env.json(&["show", "a"])["verified"], false);
    let v = env.json(&[
        "verify",
        "a",
        &oathtool(&e.secret, T0, &[]),
        "--at",
        &T0.to_string(),
    ]);
    assert_eq!(v["verified"], true);
    let codes = v["backupCodes"]
        .as_array()
        .expect("backup codes at verification");
    assert_eq!(codes.len(), 10);
    for code in codes {
        let code = code.as_str().unwrap();
        assert_eq!(code.len(), 11, "abcde-fghij: {code}");
        assert_eq!(&code[5..6], "-");
        assert!(
            code.chars()
                .all(|c| c == '-' || c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert!(
            !code.contains(['0', 'o', '1', 'l', 'i']),
            "look-alike in {code}"
        );
    }
    assert_eq!(v["backupCodesRemaining"], 10);
    // The next accepted code prints none.
    let t = T0 + 30;
    let v = env.json(&[
        "verify",
        "a",
        &oathtool(&e.secret, t, &[]),
        "--at",
        &t.to_string(),
    ]);
    assert!(v.get("backupCodes").is_none(), "{v}");
    let show = env.json(&["show", "a"]);
    assert_eq!(show["verified"], true);
    assert_eq!(show["backupCodesRemaining"], 10);
}

#[test]
fn no_backup_codes_when_the_config_turns_them_off() {
    let env = TestEnv::new();
    env.set("backup-codes", "off");
    let (_, codes) = env.enroll_verified("a", T0);
    assert!(codes.is_empty());
    assert_eq!(env.json(&["show", "a"])["backupCodesRemaining"], 0);
}

#[test]
fn backup_codes_work_once_in_any_case_with_or_without_separators() {
    let env = TestEnv::new();
    let (_, codes) = env.enroll_verified("a", T0);
    let (_, other) = env.enroll_verified("b", T0);
    let first = &codes[0];
    let v = env.json(&["verify", "a", &first.to_uppercase().replace('-', " ")]);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["codeType"], "backup_code");
    assert_eq!(v["backupCodesRemaining"], 9);
    // Used once, it is refused, and said to be used rather than wrong.
    let v = env.json_status(&["verify", "a", first], 1);
    assert_eq!(v["codeType"], "backup_code");
    assert_eq!(v["reason"], "backup_code_used");
    let out = env.run(&["verify", "a", first]);
    assert!(stdout(&out).contains("already used"), "{}", stdout(&out));
    let v = env.json(&["verify", "a", &codes[1].replace('-', "")]);
    assert_eq!(v["valid"], true);
    // Another account's code is not this account's.
    let v = env.json_status(&["verify", "a", &other[0]], 1);
    assert_eq!(v["valid"], false);
    assert_eq!(env.json(&["show", "a"])["backupCodesRemaining"], 8);
}

#[test]
fn codes_may_contain_spaces_and_hyphens_and_come_from_stdin() {
    let env = TestEnv::new();
    let e = env.enroll("a");
    let code = oathtool(&e.secret, T0, &[]);
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(
        env.json(&["verify", "a", &spaced, "--at", &T0.to_string()])["valid"],
        true
    );
    let t = T0 + 30;
    let code = oathtool(&e.secret, t, &[]);
    let hyphen = format!("{}-{}\n", &code[..3], &code[3..]);
    let out = env
        .cmd()
        .args(["--json", "verify", "a", "--at", &t.to_string()])
        .write_stdin(hyphen)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(common::parse_one_json(&out.stdout)["valid"], true);
    // Unquoted words are one code, and never echoed back in an error.
    let t = T0 + 60;
    let code = oathtool(&e.secret, t, &[]);
    let out = env.run(&[
        "verify",
        "a",
        &code[..3],
        &code[3..],
        "--at",
        &t.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    // Nothing on stdin is an error, not a rejected code.
    let out = env
        .cmd()
        .args(["verify", "a"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("no code"));
}

#[test]
fn malformed_codes_are_rejected_with_invalid_length() {
    let env = TestEnv::new();
    env.enroll("a");
    for bad in ["12345", "1234567", "abcdef", "12 34 5x"] {
        let v = env.json_status(&["verify", "a", bad], 1);
        assert_eq!(v["reason"], "totp_invalid_length", "{bad}: {v}");
        assert_eq!(v["valid"], false);
    }
}

#[test]
fn every_exit_status() {
    let env = TestEnv::new();
    let e = env.enroll("a");
    // 0: accepted.
    let ok = env.run(&[
        "verify",
        "a",
        &oathtool(&e.secret, T0, &[]),
        "--at",
        &T0.to_string(),
    ]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(stdout(&ok).contains("accepted"));
    // 1: rejected.
    let rejected = env.run(&["verify", "a", "000000", "--at", &T0.to_string()]);
    assert_eq!(rejected.status.code(), Some(1));
    assert!(stdout(&rejected).contains("rejected"));
    // 2: bad arguments.
    let bad = env.run(&["verify", "a", "123456", "--at", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(common::stderr(&bad).starts_with("totpctl: "));
    assert_eq!(common::stderr(&bad).lines().count(), 1);
    // 3: locked out.
    env.set("lockout-attempts", "2");
    env.json_status(&["verify", "a", "000000"], 1);
    let t = T0 + 30;
    let right = oathtool(&e.secret, t, &[]);
    let locked = env.json_status(&["verify", "a", &right, "--at", &t.to_string()], 3);
    assert_eq!(locked["error"]["code"], "user_locked");
    assert!(locked["error"]["lockedUntil"].is_string());
    // 4: no such account, for people and for scripts.
    let missing = env.run(&["verify", "nobody", "123456"]);
    assert_eq!(missing.status.code(), Some(4));
    let err = env.json_status(&["verify", "nobody", "123456"], 4);
    assert_eq!(err["error"]["code"], "resource_not_found");
}

#[test]
fn verify_by_id_works_like_verify_by_account() {
    let env = TestEnv::new();
    let e = env.enroll("a");
    let v = env.json(&[
        "verify",
        &e.id,
        &oathtool(&e.secret, T0, &[]),
        "--at",
        &T0.to_string(),
    ]);
    assert_eq!(v["account"], "a");
    assert_eq!(v["id"], e.id.as_str());
}
