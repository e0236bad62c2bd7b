//! The audit log (SPEC §2, issue 3): every kind of event with its time, account and
//! id, never a code or a secret; filters; and `log --check`, which catches rows
//! edited, deleted, inserted or swapped behind totpctl's back.

mod common;

use common::{T0, TestEnv, oathtool, stderr, stdout};
use serde_json::Value;

/// Everything a log must never hold, collected while the history was made.
struct History {
    env: TestEnv,
    secrets: Vec<String>,
}

/// A store in which every kind of event has happened.
fn full_history() -> History {
    let env = TestEnv::new();
    let mut secrets = Vec::new();
    env.set("lockout-attempts", "2");
    let (alice, backup) = env.enroll_verified("alice", T0);
    secrets.push(alice.secret.clone());
    secrets.push(oathtool(&alice.secret, T0, &[]));
    secrets.extend(backup.iter().cloned());
    // A backup code used, then a fresh set generated.
    env.json(&["verify", "alice", &backup[0], "--at", &T0.to_string()]);
    let fresh = env.json(&["backup-codes", "alice", "--count", "3"]);
    for c in fresh["backupCodes"].as_array().unwrap() {
        secrets.push(c.as_str().unwrap().to_string());
    }
    // A wrong backup code and a wrong TOTP code lock alice; one more try is refused
    // unread; an admin unlocks her.
    let wrong_backup = "zzzzz-yyyyy";
    secrets.push(wrong_backup.to_string());
    env.run(&["verify", "alice", wrong_backup]);
    for wrong in ["999999", "888888"] {
        if oathtool(&alice.secret, T0 + 30, &[]) != wrong {
            secrets.push(wrong.to_string());
        }
        env.run(&["verify", "alice", wrong, "--at", &(T0 + 30).to_string()]);
    }
    env.json(&["unlock", "alice"]);
    // An imported account, a removed one, a rekey.
    let imported = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    secrets.push(imported.to_string());
    env.cmd()
        .args(["--json", "import", "-"])
        .write_stdin(format!(
            "otpauth://totp/Acme:carol?secret={imported}&issuer=Acme\n"
        ))
        .assert()
        .success();
    let bob = env.enroll("bob");
    secrets.push(bob.secret.clone());
    secrets.push(bob.uri.clone());
    env.json(&["remove", "bob", "--yes"]);
    env.json(&["rekey"]);
    History { env, secrets }
}

fn events(env: &TestEnv, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["log"];
    all.extend_from_slice(args);
    env.json(&all).as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

#[test]
fn every_kind_of_event_is_recorded_with_time_account_and_id_and_no_secret() {
    let h = full_history();
    let env = &h.env;
    let all = events(env, &[]);
    let found = kinds(&all);
    for kind in [
        "config_changed",
        "enrolled",
        "code_accepted",
        "verified",
        "backup_codes_generated",
        "backup_code_used",
        "code_rejected",
        "locked",
        "unlocked",
        "imported",
        "removed",
        "rekeyed",
    ] {
        assert!(found.contains(&kind), "no {kind} event in {found:?}");
    }
    // Oldest first, numbered without gaps.
    assert_eq!(seqs(&all), (1..=all.len() as i64).collect::<Vec<_>>());
    for e in &all {
        let at = e["at"].as_str().expect("time");
        chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339 time");
        if !matches!(e["event"].as_str(), Some("config_changed" | "rekeyed")) {
            assert!(e["account"].is_string(), "no account: {e}");
            assert!(e["id"].is_string(), "no id: {e}");
        }
    }
    let rejected: Vec<&Value> = all
        .iter()
        .filter(|e| e["event"] == "code_rejected")
        .collect();
    assert!(
        rejected
            .iter()
            .any(|e| e["detail"]["reason"] == "totp_incorrect_code")
    );
    assert!(
        rejected
            .iter()
            .any(|e| e["detail"]["type"] == "backup_code")
    );
    assert!(
        rejected
            .iter()
            .any(|e| e["detail"]["reason"] == "user_locked")
    );

    // Not one code, secret or backup code, in any output of log.
    let json_text = stdout(&env.run(&["--json", "log"]));
    let human_text = stdout(&env.run(&["log"]));
    let alice_text = stdout(&env.run(&["log", "alice"]));
    for secret in &h.secrets {
        let compact = secret.replace('-', "");
        for (what, text) in [
            ("json", &json_text),
            ("table", &human_text),
            ("alice", &alice_text),
        ] {
            assert!(
                !text.contains(secret.as_str()) && !text.contains(&compact),
                "log ({what}) shows {secret}:\n{text}"
            );
        }
    }
    // Nor does the raw database file hold the secrets in the clear.
    let bytes = env.store_bytes();
    for secret in &h.secrets {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the store file holds {secret}"
        );
    }
    // The table has a header and one line per event.
    assert!(human_text.lines().next().unwrap().contains("EVENT"));
    assert_eq!(human_text.lines().count(), all.len() + 1, "{human_text}");
    env.json(&["log", "--check"]);
}

#[test]
fn log_filters_by_account_since_and_limit() {
    let h = full_history();
    let env = &h.env;
    let all = events(env, &[]);

    let alice = events(env, &["alice"]);
    assert!(!alice.is_empty());
    assert!(alice.iter().all(|e| e["account"] == "alice"), "{alice:?}");
    let id = alice[0]["id"].as_str().unwrap();
    assert_eq!(seqs(&events(env, &[id])), seqs(&alice), "by id = by name");
    // A removed account's history stays readable.
    let bob = events(env, &["bob"]);
    assert_eq!(kinds(&bob), vec!["enrolled", "removed"]);
    let bob_id = bob[0]["id"].as_str().unwrap();
    assert_eq!(seqs(&events(env, &[bob_id])), seqs(&bob), "by a removed id");

    let last3 = events(env, &["--limit", "3"]);
    assert_eq!(seqs(&last3), seqs(&all[all.len() - 3..]));
    let alice2 = events(env, &["alice", "--limit", "2"]);
    assert_eq!(seqs(&alice2), seqs(&alice[alice.len() - 2..]));

    let middle = &all[all.len() / 2];
    let since = middle["at"].as_str().unwrap();
    let expected: Vec<i64> = all
        .iter()
        .filter(|e| e["at"].as_str().unwrap() >= since)
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs(&events(env, &["--since", since])), expected);
    assert!(events(env, &["--since", "2999-01-01T00:00:00Z"]).is_empty());
    assert_eq!(events(env, &["--since", "0"]).len(), all.len());

    let out = env.run(&["log", "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("yesterday"), "{}", stderr(&out));
    assert!(stdout(&env.run(&["log", "nobody"])).contains("no events"));
}

#[test]
fn log_check_passes_on_an_intact_store_and_an_empty_one() {
    let env = TestEnv::new();
    // A store with settings but no enrollment yet.
    env.set("window", "2");
    let c = env.json(&["log", "--check"]);
    assert_eq!(c["intact"], true);
    assert_eq!(c["events"], 1);
    let h = full_history();
    let c = h.env.json(&["log", "--check"]);
    assert_eq!(c["intact"], true, "{c}");
    let out = h.env.run(&["log", "--check"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("intact"), "{}", stdout(&out));
}

/// Runs `log --check` after `tamper` and returns the seq of the event it blames.
#[track_caller]
fn blamed_after(tamper: &str) -> (i64, usize) {
    let h = full_history();
    let env = &h.env;
    let count = events(env, &[]).len();
    env.sql(tamper);
    let e = env.json_status(&["log", "--check"], 2);
    assert_eq!(e["error"]["code"], "log_chain_broken", "{e}");
    let seq = e["error"]["event"].as_i64().expect("the event it blames");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("#{seq}")),
        "{e}"
    );
    // People see the same in one line on stderr.
    let out = env.run(&["log", "--check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("#{seq}")),
        "{}",
        stderr(&out)
    );
    (seq, count)
}

#[test]
fn log_check_catches_an_edited_event() {
    let (seq, _) =
        blamed_after("UPDATE events SET detail = '{\"reason\":\"nothing to see\"}' WHERE seq = 7");
    assert_eq!(seq, 7);
    let (seq, _) = blamed_after("UPDATE events SET account = 'mallory' WHERE seq = 4");
    assert_eq!(seq, 4);
    let (seq, _) = blamed_after("UPDATE events SET at = '2000-01-01T00:00:00.000Z' WHERE seq = 2");
    assert_eq!(seq, 2);
}

#[test]
fn log_check_catches_a_deleted_event() {
    let (seq, _) = blamed_after("DELETE FROM events WHERE seq = 5");
    assert_eq!(seq, 5);
    let (seq, _) = blamed_after("DELETE FROM events WHERE seq = 1");
    assert_eq!(seq, 1);
}

#[test]
fn log_check_catches_events_cut_off_the_end() {
    let h = full_history();
    let env = &h.env;
    let count = events(env, &[]).len() as i64;
    env.sql(&format!("DELETE FROM events WHERE seq >= {}", count - 1));
    let e = env.json_status(&["log", "--check"], 2);
    assert_eq!(e["error"]["event"], count - 1, "{e}");
    // Removing the head too is caught.
    env.sql("DELETE FROM log_head");
    env.json_status(&["log", "--check"], 2);
}

#[test]
fn log_check_catches_an_inserted_event() {
    // Copy event 3 in as a new event 4, renumbering the rest.
    let (seq, _) = blamed_after(
        "UPDATE events SET seq = seq + 1000 WHERE seq >= 4;
         UPDATE events SET seq = seq - 999 WHERE seq >= 1004;
         INSERT INTO events (seq, at, event, account, totp_id, detail, hash)
             SELECT 4, at, event, account, totp_id, detail, hash FROM events WHERE seq = 3;",
    );
    assert_eq!(seq, 4);
    // A forged event appended after the last one.
    let (seq, count) = blamed_after(
        "INSERT INTO events (seq, at, event, account, totp_id, detail, hash)
             SELECT seq + 1, at, 'unlocked', account, totp_id, '{}', hash
             FROM events ORDER BY seq DESC LIMIT 1;",
    );
    assert_eq!(seq as usize, count + 1);
}

#[test]
fn log_check_catches_swapped_events() {
    // Swap events 3 and 4, each keeping its own hash.
    let (seq, _) = blamed_after(
        "UPDATE events SET seq = 1000 WHERE seq = 3;
         UPDATE events SET seq = 3 WHERE seq = 4;
         UPDATE events SET seq = 4 WHERE seq = 1000;",
    );
    assert_eq!(seq, 3);
    // Swap the contents but leave the hashes where they were.
    let (seq, _) = blamed_after(
        "CREATE TEMP TABLE t AS SELECT * FROM events WHERE seq IN (5, 6);
         UPDATE events SET at = (SELECT at FROM t WHERE seq = 6),
                           event = (SELECT event FROM t WHERE seq = 6),
                           account = (SELECT account FROM t WHERE seq = 6),
                           totp_id = (SELECT totp_id FROM t WHERE seq = 6),
                           detail = (SELECT detail FROM t WHERE seq = 6) WHERE seq = 5;
         UPDATE events SET at = (SELECT at FROM t WHERE seq = 5),
                           event = (SELECT event FROM t WHERE seq = 5),
                           account = (SELECT account FROM t WHERE seq = 5),
                           totp_id = (SELECT totp_id FROM t WHERE seq = 5),
                           detail = (SELECT detail FROM t WHERE seq = 5) WHERE seq = 6;",
    );
    assert!(seq == 5 || seq == 6, "{seq}");
}

#[test]
fn a_refused_command_leaves_no_event() {
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let before = events(&env, &[]).len();
    env.json_status(&["enroll", "alice"], 2);
    env.json_status(&["backup-codes", "alice", "--count", "0"], 2);
    env.json_status(&["config", "window", "99"], 2);
    env.json_status(&["verify", "nobody", "123456"], 4);
    assert_eq!(events(&env, &[]).len(), before);
}

#[test]
fn log_check_names_the_first_of_several_bad_events_and_catches_a_forged_head() {
    let (seq, _) = blamed_after(
        "UPDATE events SET detail = '{\"x\":9}' WHERE seq = 9;
         UPDATE events SET detail = '{\"x\":4}' WHERE seq = 4;",
    );
    assert_eq!(seq, 4);
    let zeros = if common::on_postgres() {
        "decode(repeat('00', 32), 'hex')"
    } else {
        "zeroblob(32)"
    };
    let (_, count) = blamed_after(&format!("UPDATE log_head SET hash = {zeros}"));
    assert!(count > 0);
    let (seq, count) = blamed_after("UPDATE log_head SET seq = seq + 1");
    assert_eq!(seq as usize, count + 1);
}

/// Issue 10: `--event` (repeatable), `--until`, relative times for both, and human
/// times to the second (JSON keeps the milliseconds).
#[test]
fn log_filters_by_event_and_until_takes_relative_times_and_shows_seconds() {
    let h = full_history();
    let env = &h.env;
    let all = events(env, &[]);

    let rejected = events(env, &["--event", "code_rejected"]);
    assert!(!rejected.is_empty());
    assert!(kinds(&rejected).iter().all(|k| *k == "code_rejected"));
    let two = events(env, &["--event", "locked", "--event", "unlocked"]);
    let expected: Vec<i64> = all
        .iter()
        .filter(|e| matches!(e["event"].as_str(), Some("locked" | "unlocked")))
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(expected.len() >= 2);
    assert_eq!(seqs(&two), expected);
    let e = env.json_status(&["log", "--event", "nonsense"], 2);
    assert_eq!(e["error"]["code"], "invalid_argument");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("code_rejected"),
        "{e}"
    );

    // Everything happened within the last week, nothing before it.
    assert_eq!(events(env, &["--since", "7d"]).len(), all.len());
    assert_eq!(events(env, &["--since", "168h"]).len(), all.len());
    assert!(events(env, &["--until", "7d"]).is_empty());
    assert!(events(env, &["--until", "10080m"]).is_empty());
    assert_eq!(
        events(env, &["--until", "2999-01-01T00:00:00Z"]).len(),
        all.len()
    );
    let first = all[0]["at"].as_str().unwrap();
    assert_eq!(seqs(&events(env, &["--until", first])), [1]);
    // --limit keeps the newest of the matching events.
    let last = events(env, &["--event", "code_rejected", "--limit", "1"]);
    assert_eq!(seqs(&last), seqs(&rejected[rejected.len() - 1..]));
    for bad in ["7x", "d", "-7d", "7 days"] {
        let e = env.json_status(&["log", "--since", bad], 2);
        assert_eq!(e["error"]["code"], "invalid_argument", "{bad}");
    }

    // JSON keeps milliseconds; the table shows each event's own second.
    let table = stdout(&env.run(&["log"]));
    for (line, e) in table.lines().skip(1).zip(&all) {
        let at = e["at"].as_str().unwrap();
        assert_eq!(at.len(), "2026-11-26T12:00:00.000Z".len(), "{at}");
        let second = format!("{} {} UTC", &at[..10], &at[11..19]);
        assert!(line.contains(&second), "{line:?} lacks {second:?}");
    }
}
