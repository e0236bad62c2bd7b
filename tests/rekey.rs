//! Keys (SPEC §5, issue 3): `rekey` keeps every enrollment and backup code; a
//! passphrase through TOTPCTL_PASSPHRASE; back to a key file; a wrong or missing key
//! is a key_error that changes nothing; an interrupted rekey leaves a usable store.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use common::{T0, TestEnv, oathtool, parse_one_json, stderr};
use serde_json::Value;

const PASS: &str = "correct horse battery staple";

/// Runs `totpctl --json ARGS` with `vars` set.
fn run_env(env: &TestEnv, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = env.cmd();
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.arg("--json")
        .args(args)
        .write_stdin("")
        .output()
        .unwrap()
}

#[track_caller]
fn json_env(env: &TestEnv, vars: &[(&str, &str)], args: &[&str], status: i32) -> Value {
    let out = run_env(env, vars, args);
    assert_eq!(
        out.status.code(),
        Some(status),
        "{args:?} with {vars:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    parse_one_json(&out.stdout)
}

/// Verifies `account` at `at` with its TOTP code.
#[track_caller]
fn verify_totp(env: &TestEnv, vars: &[(&str, &str)], account: &str, secret: &str, at: i64) {
    let code = oathtool(secret, at, &[]);
    let v = json_env(
        env,
        vars,
        &["verify", account, &code, "--at", &at.to_string()],
        0,
    );
    assert_eq!(v["valid"], true, "{v}");
}

/// A store with verified accounts (with backup codes), an unverified one and an
/// imported one.
struct Fixture {
    env: TestEnv,
    /// (account, secret, a backup code if it has one)
    accounts: Vec<(String, String, Option<String>)>,
}

fn fixture() -> Fixture {
    let env = TestEnv::new();
    let mut accounts = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let (e, codes) = env.enroll_verified(name, T0);
        accounts.push((name.to_string(), e.secret, Some(codes[0].clone())));
    }
    let dave = env.enroll_with("dave", &["--algorithm", "SHA256", "--digits", "8"]);
    accounts.push(("dave".into(), dave.secret, None));
    env.cmd()
        .args(["--json", "import", "-"])
        .write_stdin("otpauth://totp/Acme:erin?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n")
        .assert()
        .success();
    accounts.push((
        "erin".into(),
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
        None,
    ));
    Fixture { env, accounts }
}

/// Every account of the fixture still accepts its TOTP code (and, once, a backup code).
#[track_caller]
fn all_work(f: &Fixture, vars: &[(&str, &str)], at: i64) {
    for (account, secret, backup) in &f.accounts {
        if account == "dave" {
            let code = oathtool_sha256_8(secret, at);
            let v = json_env(
                &f.env,
                vars,
                &["verify", account, &code, "--at", &at.to_string()],
                0,
            );
            assert_eq!(v["valid"], true, "{v}");
        } else {
            verify_totp(&f.env, vars, account, secret, at);
        }
        if let Some(code) = backup {
            let v = json_env(&f.env, vars, &["verify", account, code], 0);
            assert_eq!(v["codeType"], "backup_code", "{v}");
        }
    }
}

fn pending(env: &TestEnv) -> PathBuf {
    let mut p = env.key_file().into_os_string();
    p.push(".new");
    PathBuf::from(p)
}

#[test]
fn rekey_keeps_every_enrollment_and_backup_code() {
    let mut f = fixture();
    let old_key = fs::read(f.env.key_file()).unwrap();
    let r = f.env.json(&["rekey"]);
    assert_eq!(r["rekeyed"], true, "{r}");
    assert_eq!(r["protection"], "key-file");
    assert_eq!(r["enrollments"], 5);
    let new_key = fs::read(f.env.key_file()).unwrap();
    assert_ne!(old_key, new_key, "the key file was replaced");
    let mode = fs::metadata(f.env.key_file()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!pending(&f.env).exists());
    all_work(&f, &[], T0 + 60);
    // The backup codes that were used are gone; the others still work after a
    // second rekey.
    f.env.json(&["rekey"]);
    for a in &mut f.accounts {
        a.2 = None;
    }
    all_work(&f, &[], T0 + 120);
    // The old key no longer opens the store.
    let new_key = fs::read(f.env.key_file()).unwrap();
    fs::write(f.env.key_file(), &old_key).unwrap();
    let e = json_env(&f.env, &[], &["verify", "alice", "123456"], 2);
    assert_eq!(e["error"]["code"], "key_error", "{e}");
    // log --check needs the key too, and passes with the new one.
    let e = json_env(&f.env, &[], &["log", "--check"], 2);
    assert_eq!(e["error"]["code"], "key_error", "{e}");
    fs::write(f.env.key_file(), &new_key).unwrap();
    f.env.json(&["log", "--check"]);
}

#[test]
fn a_passphrase_store_needs_its_passphrase_and_fails_closed_without_it() {
    let f = fixture();
    let env = &f.env;
    let pass = [("TOTPCTL_PASSPHRASE", PASS)];
    let r = json_env(env, &pass, &["rekey", "--passphrase"], 0);
    assert_eq!(r["protection"], "passphrase", "{r}");
    assert!(!env.key_file().exists(), "the key file is gone");

    let (_, alice_secret, _) = &f.accounts[0];
    let right = oathtool(alice_secret, T0 + 60, &[]);
    let verify_args = ["verify", "alice", &right, "--at", &(T0 + 60).to_string()];
    for vars in [
        vec![],
        vec![("TOTPCTL_PASSPHRASE", "wrong horse battery staple")],
        vec![("TOTPCTL_PASSPHRASE", "")],
    ] {
        let before = env.store_bytes();
        for args in [
            &verify_args[..],
            &["verify", "alice", "aaaaa-bbbbb"],
            &["enroll", "zed"],
            &["backup-codes", "alice"],
            &["rekey"],
            &["rekey", "--key-file"],
            &["log", "--check"],
        ] {
            let e = json_env(env, &vars, args, 2);
            assert_eq!(e["error"]["code"], "key_error", "{args:?} {vars:?}: {e}");
            let msg = e["error"]["message"].as_str().unwrap();
            assert!(!msg.contains(PASS) && !msg.contains("wrong horse"), "{msg}");
            assert!(!msg.contains(&right), "{msg}");
        }
        let out = env
            .cmd()
            .args(["import", "-"])
            .envs(vars.iter().copied())
            .write_stdin("otpauth://totp/x?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(env.store_bytes(), before, "the store changed with {vars:?}");
    }
    assert!(!env.key_file().exists());
    // Reading needs no key; checking the log does.
    assert_eq!(env.json(&["show", "alice"])["failedAttempts"], 0);
    env.json(&["list"]);
    env.json(&["log"]);
    json_env(env, &[("TOTPCTL_PASSPHRASE", PASS)], &["log", "--check"], 0);
    // The right passphrase opens everything.
    all_work(&f, &pass, T0 + 60);
    let e = json_env(env, &pass, &["enroll", "zed"], 0);
    assert!(e["secret"].is_string());
}

#[test]
fn passphrase_rotation_and_back_to_a_key_file() {
    let f = fixture();
    let env = &f.env;
    json_env(
        env,
        &[("TOTPCTL_PASSPHRASE", PASS)],
        &["rekey", "--passphrase"],
        0,
    );
    // Too short a passphrase is refused and changes nothing.
    let before = env.store_bytes();
    let e = json_env(
        env,
        &[
            ("TOTPCTL_PASSPHRASE", PASS),
            ("TOTPCTL_NEW_PASSPHRASE", "short"),
        ],
        &["rekey", "--passphrase"],
        2,
    );
    assert_eq!(e["error"]["code"], "key_error");
    assert_eq!(env.store_bytes(), before);
    // A new passphrase.
    let second = "a second long passphrase";
    json_env(
        env,
        &[
            ("TOTPCTL_PASSPHRASE", PASS),
            ("TOTPCTL_NEW_PASSPHRASE", second),
        ],
        &["rekey", "--passphrase"],
        0,
    );
    let e = json_env(
        env,
        &[("TOTPCTL_PASSPHRASE", PASS)],
        &["verify", "alice", "123456"],
        2,
    );
    assert_eq!(e["error"]["code"], "key_error");
    all_work(&f, &[("TOTPCTL_PASSPHRASE", second)], T0 + 60);
    // Back to a key file: no passphrase needed any more.
    let r = json_env(
        env,
        &[("TOTPCTL_PASSPHRASE", second)],
        &["rekey", "--key-file"],
        0,
    );
    assert_eq!(r["protection"], "key-file", "{r}");
    assert!(env.key_file().exists());
    let mode = fs::metadata(env.key_file()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (_, bob_secret, _) = &f.accounts[1];
    verify_totp(env, &[], "bob", bob_secret, T0 + 120);
    let kinds: Vec<Value> = env
        .json(&["log"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "rekeyed")
        .map(|e| e["detail"]["to"].clone())
        .collect();
    assert_eq!(kinds, ["passphrase", "passphrase", "key-file"]);
}

#[test]
fn a_wrong_or_missing_key_file_is_a_key_error_and_changes_nothing() {
    let f = fixture();
    let env = &f.env;
    let other = TestEnv::new();
    other.enroll("someone");
    let good_key = fs::read(env.key_file()).unwrap();
    let (_, alice_secret, _) = &f.accounts[0];
    let right = oathtool(alice_secret, T0 + 60, &[]);

    let cases: [(&str, Option<Vec<u8>>); 3] = [
        (
            "another store's key",
            Some(fs::read(other.key_file()).unwrap()),
        ),
        ("not a key file", Some(b"hello\n".to_vec())),
        ("missing", None),
    ];
    for (what, key) in cases {
        let _ = fs::remove_file(env.key_file());
        if let Some(key) = &key {
            fs::write(env.key_file(), key).unwrap();
            fs::set_permissions(env.key_file(), fs::Permissions::from_mode(0o600)).unwrap();
        }
        let before = env.store_bytes();
        for args in [
            &["verify", "alice", &right, "--at", &(T0 + 60).to_string()][..],
            &["verify", "dave", "12345678"],
            &["verify", "alice", "aaaaa-bbbbb"],
            &["enroll", "zed"],
            &["enroll", "alice", "--force"],
            &["backup-codes", "alice"],
            &["rekey"],
            &["rekey", "--passphrase"],
        ] {
            let e = json_env(env, &[("TOTPCTL_PASSPHRASE", PASS)], args, 2);
            assert_eq!(e["error"]["code"], "key_error", "{what}: {args:?}: {e}");
        }
        assert_eq!(env.store_bytes(), before, "{what}: the store changed");
        assert_eq!(env.json(&["show", "alice"])["failedAttempts"], 0, "{what}");
        env.json_status(&["show", "zed"], 4);
    }
    // A key file others can read is refused rather than used.
    fs::write(env.key_file(), &good_key).unwrap();
    fs::set_permissions(env.key_file(), fs::Permissions::from_mode(0o644)).unwrap();
    let e = env.json_status(&["verify", "alice", &right], 2);
    assert_eq!(e["error"]["code"], "key_error");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("chmod"),
        "{e}"
    );
    fs::set_permissions(env.key_file(), fs::Permissions::from_mode(0o600)).unwrap();
    all_work(&f, &[], T0 + 60);
}

#[test]
fn the_key_file_can_live_elsewhere() {
    let env = TestEnv::new();
    let key = env.dir.path().join("elsewhere.key");
    let key_s = key.to_str().unwrap();
    let out = run_env(&env, &[("TOTPCTL_KEY_FILE", key_s)], &["enroll", "alice"]);
    let alice = parse_one_json(&out.stdout);
    assert!(key.exists() && !env.key_file().exists());
    json_env(&env, &[("TOTPCTL_KEY_FILE", key_s)], &["rekey"], 0);
    let code = oathtool(alice["secret"].as_str().unwrap(), T0, &[]);
    let e = env.json_status(&["verify", "alice", &code, "--at", &T0.to_string()], 2);
    assert_eq!(e["error"]["code"], "key_error");
    json_env(
        &env,
        &[("TOTPCTL_KEY_FILE", key_s)],
        &["verify", "alice", &code, "--at", &T0.to_string()],
        0,
    );
}

#[test]
fn a_rekey_committed_but_not_moved_into_place_finishes_on_the_next_command() {
    let f = fixture();
    let env = &f.env;
    let old_key = fs::read(env.key_file()).unwrap();
    env.json(&["rekey"]);
    // Put the store back in the state of a rekey stopped between its commit and the
    // rename: the new key beside the old one, under its pending name.
    fs::rename(env.key_file(), pending(env)).unwrap();
    fs::write(env.key_file(), &old_key).unwrap();
    fs::set_permissions(env.key_file(), fs::Permissions::from_mode(0o600)).unwrap();
    all_work(&f, &[], T0 + 60);
    assert!(
        !pending(env).exists(),
        "the pending key was moved into place"
    );
    assert_ne!(fs::read(env.key_file()).unwrap(), old_key);
}

#[test]
fn a_passphrase_to_key_file_rekey_stopped_before_the_rename_still_opens() {
    let f = fixture();
    let env = &f.env;
    let pass = [("TOTPCTL_PASSPHRASE", PASS)];
    json_env(env, &pass, &["rekey", "--passphrase"], 0);
    json_env(env, &pass, &["rekey", "--key-file"], 0);
    // Stopped after the commit, before the new key file was renamed: only the
    // pending file exists.
    fs::rename(env.key_file(), pending(env)).unwrap();
    all_work(&f, &[], T0 + 60);
    assert!(env.key_file().exists() && !pending(env).exists());
}

#[test]
fn a_rekey_stopped_before_its_commit_leaves_the_old_key_working() {
    let f = fixture();
    let env = &f.env;
    // A stale pending key from a rekey that never committed: it opens nothing.
    let other = TestEnv::new();
    other.enroll("x");
    fs::copy(other.key_file(), pending(env)).unwrap();
    all_work(&f, &[], T0 + 60);
    // The next rekey replaces it and works.
    env.json(&["rekey"]);
    assert!(!pending(env).exists());
    let (_, alice_secret, _) = &f.accounts[0];
    verify_totp(env, &[], "alice", alice_secret, T0 + 120);
}

/// The binary as a plain child process, so that it can be killed mid-flight.
fn spawn(env: &TestEnv, vars: &[(&str, &str)], args: &[&str]) -> std::process::Child {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("totpctl"));
    cmd.env_clear()
        .env("HOME", env.dir.path().join("home"))
        .env("TOTPCTL_STORE", &env.store)
        .envs(vars.iter().copied())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd.spawn().unwrap()
}

#[test]
fn a_rekey_killed_at_any_point_leaves_a_store_that_opens_with_the_old_or_the_new_key() {
    let env = TestEnv::new();
    // Enough enrollments that a rekey takes a while.
    let secrets: Vec<String> = (0..400)
        .map(|i| {
            let bytes: [u8; 20] = std::array::from_fn(|j| (i * 7 + j * 13) as u8);
            data_encoding_base32(&bytes)
        })
        .collect();
    let lines: String = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| format!("otpauth://totp/user{i:03}?secret={s}\n"))
        .collect();
    env.cmd()
        .args(["--json", "import", "-"])
        .write_stdin(lines)
        .assert()
        .success();
    // The same passphrase as the current and the new one, so that every rekey
    // below can run whatever state the previous, killed one left behind.
    let pass = [
        ("TOTPCTL_PASSPHRASE", PASS),
        ("TOTPCTL_NEW_PASSPHRASE", PASS),
    ];
    let mut step = T0;
    for (round, delay_ms) in [0u64, 1, 3, 6, 10, 15, 25, 40, 70, 120, 250]
        .iter()
        .enumerate()
    {
        // Rounds go key file → key file, key file → passphrase, passphrase → key file.
        let (from, to) = match round % 3 {
            0 => ("--key-file", "--key-file"),
            1 => ("--key-file", "--passphrase"),
            _ => ("--passphrase", "--key-file"),
        };
        json_env(&env, &pass, &["rekey", from], 0);
        let args: &[&str] = &["rekey", to];
        let mut child = spawn(&env, &pass, args);
        std::thread::sleep(std::time::Duration::from_millis(*delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever happened, one of the keys opens the store: the key file (or its
        // pending successor), or the passphrase.
        step += 30;
        let account = format!("user{:03}", round * 37 % 400);
        let code = oathtool(&secrets[round * 37 % 400], step, &[]);
        let args = ["verify", &account, &code, "--at", &step.to_string()];
        let with_file = run_env(&env, &[], &args);
        let ok = match with_file.status.code() {
            Some(0) => true,
            Some(2) => run_env(&env, &pass, &args).status.code() == Some(0),
            other => panic!("round {round}: {other:?} {}", stderr(&with_file)),
        };
        assert!(
            ok,
            "round {round} ({delay_ms} ms): neither key opens the store"
        );
        let check = ["log", "--check"];
        if run_env(&env, &[], &check).status.code() != Some(0) {
            json_env(&env, &pass, &check, 0);
        }
    }
    let n = env.json(&["list"]).as_array().unwrap().len();
    assert_eq!(n, 400);
}

/// An 8-digit SHA-256 code, computed by oathtool.
fn oathtool_sha256_8(secret: &str, at: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp=sha256", "--digits=8", "-b"])
        .arg(format!("--now=@{at}"))
        .arg(secret)
        .output()
        .expect("oathtool");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn data_encoding_base32(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(A[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A passphrase refused on a store that does not exist yet leaves no store and no
/// key file behind.
#[test]
fn a_refused_passphrase_on_a_new_store_creates_nothing() {
    let env = TestEnv::new();
    let out = run_env(
        &env,
        &[("TOTPCTL_NEW_PASSPHRASE", "short")],
        &["rekey", "--passphrase"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = parse_one_json(&out.stdout);
    assert_eq!(e["error"]["code"], "key_error", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shorter than 8"),
        "{e}"
    );
    assert!(!env.store_exists(), "the store was made");
    assert!(!env.key_file().exists(), "the key file was made");
    // A good one makes a passphrase store, with no key file.
    json_env(
        &env,
        &[("TOTPCTL_NEW_PASSPHRASE", PASS)],
        &["rekey", "--passphrase"],
        0,
    );
    assert!(env.store_exists() && !env.key_file().exists());
    let info = env.json(&["info"]);
    assert_eq!(info["keyProtection"], "passphrase", "{info}");
}
