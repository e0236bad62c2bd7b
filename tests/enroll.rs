//! `enroll`: what it prints, the parameters it honours, and Clerk's re-enrollment rules.

mod common;

use common::{T0, TestEnv, oathtool, stdout};

#[test]
fn prints_secret_and_uri_once_with_the_defaults() {
    let env = TestEnv::new();
    let e = env.enroll("alice@example.com");
    // 20 bytes of secret: 32 base32 characters, no padding.
    assert_eq!(e.secret.len(), 32);
    assert!(
        e.secret
            .chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    );
    assert_eq!(
        e.uri,
        format!(
            // The issuer once, as the label's prefix (issue 18: the QR code a size
            // smaller), which every authenticator app reads.
            "otpauth://totp/totpctl:alice@example.com?secret={}",
            e.secret
        )
    );
    for field in [
        "id",
        "account",
        "issuer",
        "algorithm",
        "digits",
        "period",
        "verified",
        "createdAt",
        "updatedAt",
    ] {
        assert!(e.json.get(field).is_some(), "missing {field}: {}", e.json);
    }
    assert_eq!(e.json["verified"], false);
    // A time-ordered UUID (version 7).
    assert_eq!(e.id.len(), 36);
    assert_eq!(&e.id[14..15], "7");
    // Never again: show and list have neither secret nor URI.
    for view in [
        env.json(&["show", "alice@example.com"]),
        env.json(&["list"])[0].clone(),
    ] {
        assert!(
            view.get("secret").is_none() && view.get("uri").is_none(),
            "{view}"
        );
    }
}

#[test]
fn human_output_groups_the_secret_and_says_it_is_shown_once() {
    let env = TestEnv::new();
    let out = env.run(&["enroll", "bob", "--issuer", "Acme"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let secret_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("secret"))
        .unwrap();
    let groups: Vec<&str> = secret_line.split_whitespace().skip(1).collect();
    assert_eq!(groups.len(), 8, "{secret_line}");
    assert!(groups.iter().all(|g| g.len() == 4));
    assert!(text.contains("only time"), "{text}");
    assert!(text.contains(" verify bob"), "{text}");
    assert!(!text.contains('\u{1b}'), "colour into a pipe");
    // The grouped secret works in oathtool once the spaces are gone.
    let code = oathtool(&groups.concat(), T0, &[]);
    assert_eq!(
        env.json(&["verify", "bob", &code, "--at", &T0.to_string()])["valid"],
        true
    );
}

#[test]
fn parameters_and_issuer_come_from_flags_or_the_store_config() {
    let env = TestEnv::new();
    let e = env.enroll_with(
        "a",
        &[
            "--issuer",
            "Acme Co",
            "--algorithm",
            "sha512",
            "--digits",
            "8",
            "--period",
            "60",
            "--secret-size",
            "64",
        ],
    );
    assert_eq!(e.json["algorithm"], "SHA512");
    assert_eq!(e.json["digits"], 8);
    assert_eq!(e.json["period"], 60);
    assert_eq!(e.json["issuer"], "Acme Co");
    assert_eq!(
        data_encoding::BASE32_NOPAD
            .decode(e.secret.as_bytes())
            .unwrap()
            .len(),
        64
    );
    assert!(
        e.uri.starts_with("otpauth://totp/Acme%20Co:a?"),
        "{}",
        e.uri
    );
    assert!(e.uri.contains("&algorithm=SHA512&digits=8&period=60"));

    env.set("issuer", "Example");
    env.set("digits", "7");
    env.set("algorithm", "SHA256");
    env.set("period", "45");
    let e = env.enroll("b");
    assert_eq!(
        (
            e.json["issuer"].as_str(),
            e.json["digits"].as_u64(),
            e.json["algorithm"].as_str(),
            e.json["period"].as_u64()
        ),
        (Some("Example"), Some(7), Some("SHA256"), Some(45))
    );
}

#[test]
fn bad_parameters_are_refused_and_change_nothing() {
    let env = TestEnv::new();
    env.enroll("keep");
    let before = env.json(&["list"]);
    for args in [
        vec!["enroll", "x", "--digits", "9"],
        vec!["enroll", "x", "--digits", "5"],
        vec!["enroll", "x", "--period", "0"],
        vec!["enroll", "x", "--secret-size", "15"],
        vec!["enroll", "x", "--secret-size", "65"],
        vec!["enroll", ""],
        vec!["enroll", "a:b"],
        vec!["enroll", "x", "--issuer", "Ac:me"],
        vec!["enroll", "x", "--qr-file", "x.jpg"],
    ] {
        let err = env.json_status(&args, 2);
        assert_eq!(err["error"]["code"], "invalid_argument", "{args:?}: {err}");
        assert!(!err["error"]["message"].as_str().unwrap().is_empty());
    }
    let out = env.run(&["enroll", "x", "--algorithm", "MD5"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(env.json(&["list"]), before);
}

#[test]
fn re_enrolling_an_unverified_account_replaces_its_secret() {
    let env = TestEnv::new();
    let first = env.enroll("a");
    let second = env.enroll("a");
    assert_ne!(first.secret, second.secret);
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 1);
    // The old secret's codes no longer work; the new one's do.
    let old = oathtool(&first.secret, T0, &[]);
    let new = oathtool(&second.secret, T0, &[]);
    if old != new {
        let v = env.json_status(&["verify", "a", &old, "--at", &T0.to_string()], 1);
        assert_eq!(v["reason"], "totp_incorrect_code");
    }
    assert_eq!(
        env.json(&["verify", "a", &new, "--at", &T0.to_string()])["valid"],
        true
    );
}

#[test]
fn re_enrolling_a_verified_account_needs_force_and_drops_backup_codes() {
    let env = TestEnv::new();
    let (first, codes) = env.enroll_verified("a", T0);
    let err = env.json_status(&["enroll", "a"], 2);
    assert_eq!(err["error"]["code"], "totp_already_enabled");
    // Refused means untouched: the old secret still verifies.
    let t = T0 + 30;
    assert_eq!(
        env.json(&[
            "verify",
            "a",
            &oathtool(&first.secret, t, &[]),
            "--at",
            &t.to_string()
        ])["valid"],
        true
    );

    let forced = env.enroll_with("a", &["--force"]);
    assert_eq!(forced.json["verified"], false);
    let show = env.json(&["show", "a"]);
    assert_eq!(show["verified"], false);
    assert_eq!(show["backupCodesRemaining"], 0);
    let v = env.json_status(&["verify", "a", &codes[0]], 1);
    assert_eq!(v["valid"], false);
}

/// Runs a command line printed by totpctl in `sh`, as a user pasting it into a new
/// shell would: no TOTPCTL_STORE, the binary on PATH.
fn paste(env: &TestEnv, line: &str) -> std::process::Output {
    let bin_dir = assert_cmd::cargo::cargo_bin("totpctl");
    let mut sh = std::process::Command::new("sh");
    // On a server store, the host has its key file named in its environment.
    if env.database.is_some() {
        sh.env("TOTPCTL_KEY_FILE", env.key_file());
    }
    sh.arg("-c")
        .arg(line)
        .env_remove("TOTPCTL_STORE")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", env.dir.path().join("home"))
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", bin_dir.parent().unwrap().display()),
        )
        .output()
        .unwrap()
}

/// Issue 10: the commands printed as hints paste as is: they name the store when it is
/// not the default one, and quote the account for the shell.
#[test]
fn hints_paste_as_is_with_the_store_and_a_quoted_account() {
    let env = TestEnv::new();
    env.set("lockout-attempts", "1");
    let account = "O'Brien & Sons";
    // Given with --store (not the default store of this home).
    let out = env
        .cmd()
        .env_remove("TOTPCTL_STORE")
        .arg("--store")
        .arg(&env.store)
        .args(["enroll", account])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = stdout(&out);
    let hint = text
        .lines()
        .find_map(|l| {
            l.split_once("confirm it with: ")
                .map(|(_, c)| c.to_string())
        })
        .unwrap_or_else(|| panic!("no verify hint in:\n{text}"));
    assert!(hint.contains("--store"), "{hint}");
    // Pasted, with a wrong code: it reaches the same store and account (exit 1, not 4).
    let out = paste(&env, &format!("{hint} 000000"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{hint}: {}",
        common::stderr(&out)
    );
    // The account is now locked; the lockout message's unlock command pastes too.
    let out = paste(&env, &format!("{hint} 000000"));
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    let unlock = err
        .split_once("clear it with: ")
        .map(|(_, c)| c.trim().to_string())
        .unwrap_or_else(|| panic!("no unlock hint in {err}"));
    assert!(
        unlock.contains(" unlock ") && unlock.contains("--store"),
        "{unlock}"
    );
    let out = paste(&env, &unlock);
    assert!(out.status.success(), "{unlock}: {}", common::stderr(&out));
    assert!(env.json(&["show", account])["lockedUntil"].is_null());

    // On the default store the hint needs no --store, and pastes as well.
    let out = paste(&env, "totpctl enroll 'bob smith'");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = stdout(&out);
    let hint = text
        .lines()
        .find_map(|l| {
            l.split_once("confirm it with: ")
                .map(|(_, c)| c.to_string())
        })
        .unwrap_or_else(|| panic!("no verify hint in:\n{text}"));
    assert_eq!(hint, "totpctl verify 'bob smith'");
    let out = paste(&env, &format!("{hint} 000000"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{hint}: {}",
        common::stderr(&out)
    );
}

#[test]
fn a_refused_enroll_creates_no_store() {
    // A store created by a command that then failed would answer "not enrolled" (exit
    // 4) where a missing one is store_not_found (exit 2).
    let env = TestEnv::new();
    for flags in [["--digits", "9"], ["--period", "0"]] {
        let out = env
            .cmd()
            .args(["enroll", "alice"])
            .args(flags)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(!common::exists(&env.store), "{flags:?} created the store");
        assert!(
            !common::exists(&env.key_file()),
            "{flags:?} made a key file"
        );
    }
    let v = env.json_status(&["verify", "alice", "123456"], 2);
    assert_eq!(v["error"]["code"], "store_not_found", "{v}");
}
