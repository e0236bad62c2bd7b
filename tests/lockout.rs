//! Lockout (SPEC §2, issue 3): consecutive rejected codes lock an account; while it is
//! locked even the right code is refused with exit 3; an accepted code or `unlock`
//! clears the count; counting is exact under concurrency.

mod common;

use common::{T0, TestEnv, oathtool, stderr, stdout};
use serde_json::Value;

/// A six-digit code that is none of the codes accepted at `at` with window 1.
fn wrong_code(secret: &str, at: i64) -> String {
    let near: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|d| oathtool(secret, at + d, &[]))
        .collect();
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap()
        .to_string()
}

/// A well-formed backup code that was never issued.
const WRONG_BACKUP: &str = "aaaaa-bbbbb";

fn set(env: &TestEnv, key: &str, value: &str) {
    env.set(key, value);
}

#[track_caller]
fn verify(env: &TestEnv, account: &str, code: &str, at: i64, status: i32) -> Value {
    env.json_status(&["verify", account, code, "--at", &at.to_string()], status)
}

fn show(env: &TestEnv, account: &str) -> Value {
    env.json(&["show", account])
}

fn locked_accounts(env: &TestEnv) -> Vec<String> {
    env.accounts(&["--locked"])
}

#[test]
fn wrong_totp_and_backup_codes_both_count_and_lock_even_the_right_code_out() {
    let env = TestEnv::new();
    set(&env, "lockout-attempts", "3");
    let (alice, backup) = env.enroll_verified("alice", T0);
    env.enroll_verified("bob", T0);
    let t = T0 + 60;
    let wrong = wrong_code(&alice.secret, t);

    let v = verify(&env, "alice", &wrong, t, 1);
    assert_eq!(v["failedAttempts"], 1, "{v}");
    assert!(v.get("lockedUntil").is_none(), "{v}");
    let v = verify(&env, "alice", WRONG_BACKUP, t, 1);
    assert_eq!(v["codeType"], "backup_code", "{v}");
    assert_eq!(v["failedAttempts"], 2, "{v}");
    assert!(locked_accounts(&env).is_empty());

    // The third rejection locks, and says so.
    let v = verify(&env, "alice", &wrong, t, 1);
    assert_eq!(v["failedAttempts"], 3, "{v}");
    let until = v["lockedUntil"]
        .as_str()
        .expect("lockedUntil on the locking attempt");
    let until_t = chrono::DateTime::parse_from_rfc3339(until).expect("RFC 3339");
    assert!(
        until_t > chrono::Utc::now(),
        "locked until the future: {until}"
    );

    // Locked: the right TOTP code and a right backup code are refused, exit 3.
    let right = oathtool(&alice.secret, t, &[]);
    let e = verify(&env, "alice", &right, t, 3);
    assert_eq!(e["error"]["code"], "user_locked", "{e}");
    assert_eq!(e["error"]["lockedUntil"], until, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("locked"));
    let e = verify(&env, "alice", &backup[0], t, 3);
    assert_eq!(e["error"]["code"], "user_locked", "{e}");

    // People get one clear sentence on stderr, nothing on stdout.
    let out = env.run(&["verify", "alice", &right, "--at", &t.to_string()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("alice") && err.contains("locked") && err.contains("until"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // The lockout did not consume the backup code or count the refused attempts.
    let s = show(&env, "alice");
    assert_eq!(s["backupCodesRemaining"], 10, "{s}");
    assert_eq!(s["failedAttempts"], 3, "{s}");
    assert_eq!(s["lockedUntil"], until, "{s}");
    assert_eq!(locked_accounts(&env), vec!["alice"]);
    let human = stdout(&env.run(&["show", "alice"]));
    assert!(human.contains("until"), "{human}");
    let table = stdout(&env.run(&["list", "--locked"]));
    assert!(table.contains("alice") && !table.contains("bob"), "{table}");

    // Bob is not affected.
    let bob = show(&env, "bob");
    assert_eq!(bob["failedAttempts"], 0);
    assert_eq!(bob["lockedUntil"], Value::Null);

    // unlock clears it, and the right code works again.
    let u = env.json(&["unlock", "alice"]);
    assert_eq!(u["failedAttempts"], 0, "{u}");
    assert_eq!(u["lockedUntil"], Value::Null, "{u}");
    assert!(locked_accounts(&env).is_empty());
    let v = verify(&env, "alice", &right, t, 0);
    assert_eq!(v["valid"], true, "{v}");

    let events: Vec<String> = env
        .json(&["log", "alice"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert!(events.contains(&"locked".to_string()), "{events:?}");
    assert!(events.contains(&"unlocked".to_string()), "{events:?}");
}

#[test]
fn the_default_threshold_is_ten() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = T0 + 60;
    let wrong = wrong_code(&alice.secret, t);
    for n in 1..=9 {
        let v = verify(&env, "alice", &wrong, t, 1);
        assert_eq!(v["failedAttempts"], n);
        assert!(v.get("lockedUntil").is_none(), "{v}");
    }
    // The tenth rejection locks; people read it in the output.
    let out = env.run(&["verify", "alice", &wrong, "--at", &t.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("locked until"), "{}", stdout(&out));
    verify(&env, "alice", &oathtool(&alice.secret, t, &[]), t, 3);
}

#[test]
fn an_accepted_code_resets_the_count() {
    let env = TestEnv::new();
    set(&env, "lockout-attempts", "3");
    let (alice, backup) = env.enroll_verified("alice", T0);
    let t = T0 + 60;
    let wrong = wrong_code(&alice.secret, t + 60);
    verify(&env, "alice", &wrong, t, 1);
    verify(&env, "alice", &wrong, t, 1);
    let v = verify(&env, "alice", &oathtool(&alice.secret, t, &[]), t, 0);
    assert_eq!(v["failedAttempts"], 0, "{v}");
    assert_eq!(show(&env, "alice")["failedAttempts"], 0);

    // Two more wrong ones do not lock: the count started again.
    verify(&env, "alice", &wrong, t + 60, 1);
    let v = verify(&env, "alice", &wrong, t + 60, 1);
    assert_eq!(v["failedAttempts"], 2, "{v}");
    // An accepted backup code resets it too.
    let v = verify(&env, "alice", &backup[0], t + 60, 0);
    assert_eq!(v["codeType"], "backup_code");
    assert_eq!(v["failedAttempts"], 0, "{v}");
    verify(&env, "alice", &wrong, t + 60, 1);
    verify(&env, "alice", &wrong, t + 60, 1);
    assert!(locked_accounts(&env).is_empty());
}

#[test]
fn malformed_and_replayed_codes_count_too() {
    let env = TestEnv::new();
    set(&env, "lockout-attempts", "2");
    let (alice, _) = env.enroll_verified("alice", T0);
    let replay = oathtool(&alice.secret, T0, &[]);
    let v = verify(&env, "alice", &replay, T0, 1);
    assert_eq!(v["reason"], "totp_replayed_code");
    let v = verify(&env, "alice", "12", T0, 1);
    assert_eq!(v["reason"], "totp_invalid_length");
    assert!(v["lockedUntil"].is_string(), "{v}");
    verify(
        &env,
        "alice",
        &oathtool(&alice.secret, T0 + 30, &[]),
        T0 + 30,
        3,
    );
}

#[test]
fn lockout_attempts_zero_never_locks() {
    let env = TestEnv::new();
    set(&env, "lockout-attempts", "0");
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = T0 + 60;
    let wrong = wrong_code(&alice.secret, t);
    for _ in 0..15 {
        let v = verify(&env, "alice", &wrong, t, 1);
        assert!(v.get("lockedUntil").is_none(), "{v}");
    }
    assert_eq!(show(&env, "alice")["lockedUntil"], Value::Null);
    assert!(locked_accounts(&env).is_empty());
    verify(&env, "alice", &oathtool(&alice.secret, t, &[]), t, 0);
}

#[test]
fn an_expired_lockout_lets_the_right_code_in_and_starts_the_count_again() {
    let env = TestEnv::new();
    set(&env, "lockout-attempts", "2");
    set(&env, "lockout-seconds", "1");
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = T0 + 60;
    let wrong = wrong_code(&alice.secret, t);
    verify(&env, "alice", &wrong, t, 1);
    verify(&env, "alice", &wrong, t, 1);
    verify(&env, "alice", &wrong, t, 3);
    // Let the one-second lockout run out on the real clock (the lock is stamped
    // with the real time, and its end is authenticated: it cannot be edited).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert!(locked_accounts(&env).is_empty());
    let v = verify(&env, "alice", &wrong, t, 1);
    assert_eq!(v["failedAttempts"], 1, "{v}");
    verify(&env, "alice", &oathtool(&alice.secret, t, &[]), t, 0);
    // The end of the lockout is on the record.
    let log = env.json(&["log", "alice"]);
    let unlocked: Vec<&serde_json::Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "unlocked")
        .collect();
    assert_eq!(unlocked.len(), 1, "{log}");
    assert_eq!(unlocked[0]["detail"]["expired"], true);
}

#[test]
fn unlock_of_an_unknown_account_is_not_found() {
    let env = TestEnv::new();
    env.enroll("alice");
    let e = env.json_status(&["unlock", "nobody"], 4);
    assert_eq!(e["error"]["code"], "resource_not_found");
}

/// Runs `verify ACCOUNT CODE` in `n` processes at once; returns their exit codes.
fn parallel_wrong(env: &TestEnv, account: &str, code: &str, at: i64, n: usize) -> Vec<i32> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    env.cmd()
                        .args(["--json", "verify", account, code, "--at", &at.to_string()])
                        .write_stdin("")
                        .output()
                        .unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let out = h.join().unwrap();
                assert!(
                    !stdout(&out).contains("database is locked")
                        && !stderr(&out).contains("database is locked"),
                    "{}",
                    stderr(&out)
                );
                out.status.code().unwrap()
            })
            .collect()
    })
}

#[test]
fn parallel_wrong_codes_count_exactly() {
    let env = TestEnv::new();
    set(&env, "lockout-attempts", "1000");
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = T0 + 60;
    let n = 16;
    let codes = parallel_wrong(&env, "alice", &wrong_code(&alice.secret, t), t, n);
    assert!(codes.iter().all(|&c| c == 1), "{codes:?}");
    assert_eq!(show(&env, "alice")["failedAttempts"], n);
    let rejected = env
        .json(&["log", "alice"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "code_rejected")
        .count();
    assert_eq!(rejected, n);
    env.json(&["log", "--check"]);
}

#[test]
fn parallel_wrong_codes_lock_exactly_at_the_threshold() {
    let env = TestEnv::new();
    set(&env, "lockout-attempts", "5");
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = T0 + 60;
    let codes = parallel_wrong(&env, "alice", &wrong_code(&alice.secret, t), t, 12);
    let rejected = codes.iter().filter(|&&c| c == 1).count();
    let locked = codes.iter().filter(|&&c| c == 3).count();
    assert_eq!((rejected, locked), (5, 7), "{codes:?}");
    let s = show(&env, "alice");
    assert_eq!(s["failedAttempts"], 5, "{s}");
    assert!(s["lockedUntil"].is_string(), "{s}");
    assert_eq!(locked_accounts(&env), vec!["alice"]);
    verify(&env, "alice", &oathtool(&alice.secret, t, &[]), t, 3);
}

/// Issue 10: a rejection says how many attempts are left, in words that read right
/// for one and for many, and other counts are plural only when they should be.
#[test]
fn messages_count_the_attempts_left_with_the_right_plural() {
    let env = TestEnv::new();
    set(&env, "lockout-attempts", "3");
    let alice = env.enroll("alice");
    let wrong = wrong_code(&alice.secret, T0);
    let human = |expected_status: i32| {
        let out = env.run(&["verify", "alice", &wrong, "--at", &T0.to_string()]);
        assert_eq!(out.status.code(), Some(expected_status), "{}", stderr(&out));
        stdout(&out)
    };
    let text = human(1);
    assert!(text.contains("2 attempts left before lockout"), "{text}");
    let text = human(1);
    assert!(text.contains("1 attempt left before lockout"), "{text}");
    let text = human(1);
    assert!(
        text.contains("locked until") && text.contains("after 3 rejected codes"),
        "{text}"
    );
    env.json(&["unlock", "alice"]);
    // One enrollment, one event: singular.
    let env = TestEnv::new();
    env.enroll("bob");
    let text = stdout(&env.run(&["rekey"]));
    assert!(text.contains("Rekeyed 1 enrollment "), "{text}");
    let text = stdout(&env.run(&["log", "--check"]));
    assert!(!text.contains("1 events"), "{text}");
}
