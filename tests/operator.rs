//! Issue 10, the operator's path: the first enroll says where the store and key are,
//! `info` answers where and how many, every event names its actor, a locked account's
//! attempts are on the record however the code came, and re-enrolling says what it
//! replaced.

mod common;

use common::tmux::Tmux;
use common::{T0, TestEnv, oathtool, stderr, stdout};
use serde_json::Value;

/// The events of `account` named `name`.
fn events_named(env: &TestEnv, account: &str, name: &str) -> Vec<Value> {
    env.json(&["log", account])
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == name)
        .cloned()
        .collect()
}

#[test]
fn the_first_enroll_says_where_the_store_and_key_are_once_and_not_in_json() {
    let env = TestEnv::new();
    let out = env.run(&["enroll", "alice", "--qr", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("New store: {}", env.store.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("New key file: {}", env.key_file().display())),
        "{text}"
    );
    assert!(
        text.contains("Back up the key file, apart from the store"),
        "{text}"
    );
    assert!(env.key_file().exists());
    // Only the first time.
    let text = stdout(&env.run(&["enroll", "bob", "--qr", "never"]));
    assert!(
        !text.contains("New store") && !text.contains("New key file"),
        "{text}"
    );
    // Never in JSON, where the one value must parse.
    let other = TestEnv::new();
    let out = other
        .cmd()
        .args(["--json", "enroll", "carol"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(!text.contains("New store"), "{text}");
    common::parse_one_json(&out.stdout);
}

#[test]
fn info_says_where_things_are_and_counts_without_the_key() {
    let env = TestEnv::new();
    let e = env.json_status(&["info"], 2);
    assert_eq!(e["error"]["code"], "store_not_found", "{e}");

    env.set("lockout-attempts", "2");
    env.enroll_verified("alice", T0);
    env.enroll("bob");
    // Carol is imported (verified, no backup codes) and then locked out.
    let out = env
        .cmd()
        .args(["--json", "import", "-"])
        .write_stdin("otpauth://totp/carol?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    for _ in 0..2 {
        env.json_status(&["verify", "carol", "000000", "--window", "0"], 1);
    }

    // No key needed: the key file can be away.
    let key = std::fs::read(env.key_file()).unwrap();
    std::fs::remove_file(env.key_file()).unwrap();
    let info = env.json(&["info"]);
    if !common::on_postgres() {
        assert_eq!(info["store"], env.store.display().to_string());
    }
    assert_eq!(info["keyProtection"], "key-file");
    assert_eq!(info["keyFile"], env.key_file().display().to_string());
    // SQLite's user_version; PostgreSQL's own migrations table counts from 1.
    assert_eq!(
        info["schemaVersion"],
        if common::on_postgres() { 3 } else { 5 }
    );
    assert_eq!(
        info["enrollments"],
        serde_json::json!({
            "total": 3, "verified": 2, "unverified": 1, "locked": 1, "withoutBackupCodes": 1
        })
    );
    let events = env.json(&["log"]).as_array().unwrap().len();
    assert_eq!(info["events"], events);
    assert_eq!(info["lastEventAt"], env.json(&["log"])[events - 1]["at"]);
    let text = stdout(&env.run(&["info"]));
    assert!(
        text.contains("3: 2 verified, 1 unverified, 1 locked, 1 verified without backup codes"),
        "{text}"
    );
    assert!(
        text.contains(&env.key_file().display().to_string()),
        "{text}"
    );
    std::fs::write(env.key_file(), key).unwrap();
}

#[test]
fn every_event_names_its_actor_in_json_and_for_people() {
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    let log = env.json(&["log"]);
    assert!(log.as_array().unwrap().len() >= 3);
    for e in log.as_array().unwrap() {
        assert_eq!(
            e["actor"],
            serde_json::json!({ "user": user, "host": host }),
            "{e}"
        );
    }
    let text = stdout(&env.run(&["log"]));
    assert!(text.lines().next().unwrap().contains("BY"), "{text}");
    assert!(text.contains(&format!("{user}@{host}")), "{text}");
    // The actor is covered by the chain: changing it breaks the check.
    env.sql("UPDATE events SET actor = '{\"user\":\"mallory\",\"host\":\"x\"}' WHERE seq = 1");
    let e = env.json_status(&["log", "--check"], 2);
    assert_eq!(e["error"]["code"], "log_chain_broken", "{e}");
    assert_eq!(e["error"]["event"], 1, "{e}");
}

#[test]
fn a_locked_accounts_attempts_are_logged_from_argv_stdin_and_the_prompt() {
    let env = TestEnv::new();
    env.set("lockout-attempts", "1");
    let (alice, _) = env.enroll_verified("alice", T0);
    env.json_status(&["verify", "alice", "000000", "--window", "0"], 1);
    let right = oathtool(&alice.secret, T0 + 60, &[]);
    let at = (T0 + 60).to_string();
    let locked = |env: &TestEnv| {
        events_named(env, "alice", "code_rejected")
            .into_iter()
            .filter(|e| e["detail"]["reason"] == "user_locked")
            .count()
    };
    assert_eq!(locked(&env), 0);

    // In argv.
    let e = env.json_status(&["verify", "alice", &right, "--at", &at], 3);
    assert_eq!(e["error"]["code"], "user_locked", "{e}");
    assert_eq!(locked(&env), 1);
    // On stdin, as a login form sends it.
    let out = env
        .cmd()
        .args(["verify", "alice", "--at", &at])
        .write_stdin(format!("{right}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(locked(&env), 2);
    // At a prompt on a terminal: refused before a code is asked, and on the record.
    let t = Tmux::start(&env, &[], "verify alice");
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=3"), "{screen}");
    assert!(
        !screen.contains("Code for"),
        "it asked for a code: {screen}"
    );
    assert_eq!(locked(&env), 3);
    // The unlock hint carries the account.
    assert!(screen.contains("totpctl"), "{screen}");
    assert!(screen.contains("unlock alice"), "{screen}");
}

#[test]
fn re_enrolling_says_what_it_replaced_and_whether_a_lock_was_cleared() {
    let env = TestEnv::new();
    let first = env.enroll("alice");
    assert_eq!(first.json["replaced"], Value::Null);
    let second = env.enroll("alice");
    assert_eq!(second.json["replaced"], first.id.as_str());
    assert_ne!(second.id, first.id);

    // A verified, locked account replaced with --force: both are said.
    env.set("lockout-attempts", "1");
    let (bob, _) = env.enroll_verified("bob", T0);
    env.json_status(&["verify", "bob", "000000", "--window", "0"], 1);
    assert!(env.json(&["show", "bob"])["lockedUntil"].is_string());
    let out = env.run(&["enroll", "bob", "--force", "--qr", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("replaces   {}", bob.id)), "{text}");
    assert!(text.contains("verified"), "{text}");
    assert!(text.contains("its lockout cleared"), "{text}");
    assert_eq!(env.json(&["show", "bob"])["lockedUntil"], Value::Null);
    // The old enrollment's removal is on the record, naming its successor.
    let removed = events_named(&env, &bob.id, "removed");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["detail"]["lockCleared"], true);
    let new_id = env.json(&["show", "bob"])["id"].clone();
    assert_eq!(removed[0]["detail"]["replacedBy"], new_id);
    env.json(&["log", "--check"]);
}
