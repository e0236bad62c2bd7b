//! Secrets at rest (SPEC §5): the database file alone reveals nothing, the key lives
//! apart from it, and a wrong or missing key fails closed.

mod common;

use common::{T0, TestEnv, oathtool};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_database_file_holds_no_secret_and_no_backup_code() {
    let env = TestEnv::new();
    let mut secrets = Vec::new();
    let mut codes = Vec::new();
    for i in 0..5 {
        let (e, c) = env.enroll_verified(&format!("user{i}@example.com"), T0);
        secrets.push(e.secret);
        codes.extend(c);
    }
    let bytes = env.store_bytes();
    assert!(
        contains(&bytes, b"user0@example.com"),
        "the test reads the real file"
    );
    for secret in &secrets {
        let raw = data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .unwrap();
        assert!(!contains(&bytes, &raw), "raw secret in the store");
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "base32 secret in the store"
        );
        assert!(!contains(&bytes, secret.to_lowercase().as_bytes()));
    }
    for code in &codes {
        assert!(
            !contains(&bytes, code.as_bytes()),
            "backup code {code} in the store"
        );
        assert!(!contains(&bytes, code.replace('-', "").as_bytes()));
    }
    // Nor does anything that lists or audits.
    for args in [vec!["list"], vec!["show", "user0@example.com"], vec!["log"]] {
        let out = env.run(&[&["--json"], &args[..]].concat());
        let text = common::stdout(&out);
        for s in secrets.iter().chain(&codes) {
            assert!(!text.contains(s.as_str()), "{args:?} printed a secret");
        }
        assert!(!text.contains("otpauth://"), "{args:?} printed a URI");
    }
}

#[test]
fn the_key_file_is_created_0600_beside_the_store_and_can_be_moved() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.enroll("a");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.key_file()), 0o600);
    if env.database.is_none() {
        assert_eq!(mode(&env.store), 0o600);
        assert_eq!(mode(env.store.parent().unwrap()), 0o700);
    }

    let other = TestEnv::new();
    let key = other.dir.path().join("elsewhere.key");
    let out = other
        .cmd()
        .env("TOTPCTL_KEY_FILE", &key)
        .args(["--json", "enroll", "a"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(key.exists() && !other.key_file().exists());
    let secret = common::parse_one_json(&out.stdout)["secret"]
        .as_str()
        .unwrap()
        .to_string();
    // Without the variable the key is missing: key_error, exit 2.
    let err = other.json_status(
        &[
            "verify",
            "a",
            &oathtool(&secret, T0, &[]),
            "--at",
            &T0.to_string(),
        ],
        2,
    );
    assert_eq!(err["error"]["code"], "key_error");
    let out = other
        .cmd()
        .env("TOTPCTL_KEY_FILE", &key)
        .args([
            "verify",
            "a",
            &oathtool(&secret, T0, &[]),
            "--at",
            &T0.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_missing_or_wrong_key_accepts_nothing_and_changes_nothing() {
    let env = TestEnv::new();
    let (e, codes) = env.enroll_verified("a", T0);
    let key = std::fs::read(env.key_file()).unwrap();
    let t = (T0 + 30).to_string();
    let code = oathtool(&e.secret, T0 + 30, &[]);

    // Missing.
    std::fs::remove_file(env.key_file()).unwrap();
    let before = env.store_bytes();
    for args in [
        vec!["verify", "a", code.as_str(), "--at", t.as_str()],
        vec!["verify", "a", codes[0].as_str()],
        vec!["backup-codes", "a"],
        vec!["enroll", "b"],
        vec!["remove", "a", "--yes"],
        vec!["unlock", "a"],
        vec!["config", "window", "2"],
        vec!["rekey"],
    ] {
        let err = env.json_status(&args, 2);
        assert_eq!(err["error"]["code"], "key_error", "{args:?}: {err}");
        assert!(err["error"]["message"].as_str().unwrap().contains(".key"));
    }
    assert_eq!(
        env.store_bytes(),
        before,
        "a failed command changed the store"
    );
    assert!(
        !env.key_file().exists(),
        "a new key file was made for a store that has one"
    );
    // list and show need no key.
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 1);
    assert_eq!(env.json(&["show", "a"])["failedAttempts"], 0);

    // Wrong: another store's key.
    let other = TestEnv::new();
    other.enroll("x");
    std::fs::copy(other.key_file(), env.key_file()).unwrap();
    let err = env.json_status(&["verify", "a", &code, "--at", &t], 2);
    assert_eq!(err["error"]["code"], "key_error");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not open")
    );
    assert_eq!(env.store_bytes(), before);

    // The right key again: everything works, nothing was counted against the user.
    std::fs::write(env.key_file(), key).unwrap();
    assert_eq!(env.json(&["verify", "a", &code, "--at", &t])["valid"], true);
    assert_eq!(env.json(&["show", "a"])["failedAttempts"], 0);
}

#[test]
fn a_sealed_secret_moved_to_another_row_does_not_open() {
    let env = TestEnv::new();
    let a = env.enroll("a");
    env.enroll("b");
    // An attacker with write access copies a's sealed secret onto b.
    env.sql(
        "UPDATE totps SET secret = (SELECT secret FROM totps WHERE account = 'a') WHERE account = 'b'",
    );
    let code = oathtool(&a.secret, T0, &[]);
    let err = env.json_status(&["verify", "b", &code, "--at", &T0.to_string()], 2);
    assert_eq!(err["error"]["code"], "integrity_error");
}
