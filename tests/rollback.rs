//! Rollback is refused by the host that saw the later state (issue 17): an attacker
//! without the key puts back older rows with their valid MACs, cuts the tail or the
//! middle of the log, puts back a whole older store, or empties it. Each host keeps
//! what it saw in its state directory; two hosts are two state directories. Every
//! test runs on SQLite and on PostgreSQL, with the attacker's own tools.

mod common;

use std::path::PathBuf;

use common::{T0, TestEnv, oathtool, on_postgres};
use serde_json::Value;

fn at(t: i64) -> String {
    t.to_string()
}

/// A second host on the same store: its own state directory.
fn host(env: &TestEnv, name: &str) -> Vec<String> {
    let dir: PathBuf = env.dir.path().join(name);
    vec!["--state-dir".into(), dir.display().to_string()]
}

fn args<'a>(host: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    host.iter()
        .map(String::as_str)
        .chain(rest.iter().copied())
        .collect()
}

/// `verify` on `host` (or the default one), in JSON, with its exit status.
fn verify(env: &TestEnv, host: &[String], account: &str, code: &str, t: i64) -> (i32, Value) {
    let t = at(t);
    let out = env
        .cmd()
        .arg("--json")
        .args(args(host, &["verify", account, code, "--at", &t]))
        .write_stdin("")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        common::parse_one_json(&out.stdout),
    )
}

#[track_caller]
fn refused_as(v: &(i32, Value), words: &[&str]) {
    assert_eq!(v.0, 2, "{}", v.1);
    assert_eq!(v.1["error"]["code"], "integrity_error", "{}", v.1);
    let message = v.1["error"]["message"].as_str().unwrap();
    for w in words {
        assert!(message.contains(w), "should say {w:?}: {message}");
    }
}

/// Saves the whole store as the attacker would: `sqlite3 .backup`, or copies of every
/// table in a schema of the attacker's own.
fn save_store(env: &TestEnv, name: &str) {
    match &env.database {
        None => {
            let file = env.dir.path().join(format!("{name}.db"));
            env.attack(&format!(".backup '{}'", file.display()), "");
        }
        Some(_) => {
            let mut sql = format!("CREATE SCHEMA {name};");
            for t in TABLES {
                sql.push_str(&format!(
                    "CREATE TABLE {name}.{t} AS SELECT * FROM totpctl.{t};"
                ));
            }
            env.attack("", &sql);
        }
    }
}

/// Every table but the migrations, parents first.
const TABLES: [&str; 7] = [
    "vault",
    "config",
    "meta",
    "totps",
    "backup_codes",
    "events",
    "log_head",
];

/// Puts the whole store saved as `name` back.
fn restore_store(env: &TestEnv, name: &str) {
    match &env.database {
        None => {
            let file = env.dir.path().join(format!("{name}.db"));
            env.attack(&format!(".restore '{}'", file.display()), "");
        }
        Some(_) => {
            let mut sql = format!(
                "TRUNCATE {};",
                TABLES.map(|t| format!("totpctl.{t}")).join(", ")
            );
            for t in TABLES {
                sql.push_str(&format!(
                    "INSERT INTO totpctl.{t} SELECT * FROM {name}.{t};"
                ));
            }
            env.attack("", &sql);
        }
    }
}

/// Saves one enrollment's rows (its row, its backup codes) and the log's head, as an
/// attacker preparing to put them back.
fn save_enrollment(env: &TestEnv, id: &str, name: &str) {
    let sql = |schema: &str| {
        format!(
            "CREATE TABLE {schema}totps AS SELECT * FROM totps WHERE id = '{id}'; \
             CREATE TABLE {schema}codes AS SELECT * FROM backup_codes WHERE totp_id = '{id}'; \
             CREATE TABLE {schema}head AS SELECT * FROM log_head;"
        )
    };
    match &env.database {
        None => {
            let file = env.dir.path().join(format!("{name}.db"));
            env.attack(
                &format!(
                    "ATTACH '{}' AS {name}; {}",
                    file.display(),
                    sql(&format!("{name}."))
                ),
                "",
            );
        }
        Some(_) => env.attack(
            "",
            &format!(
                "CREATE SCHEMA {name}; SET search_path = totpctl; {}",
                sql(&format!("{name}."))
            ),
        ),
    }
}

/// Puts one enrollment's rows back as saved; with `head`, the log's head too and
/// every event after it is deleted (the tail cut off); else the enrollment's own
/// events after `after` are deleted (a cut from the middle).
fn restore_enrollment(env: &TestEnv, id: &str, name: &str, head: bool, after: i64) {
    let cut = if head {
        format!(
            "DELETE FROM events WHERE seq > (SELECT seq FROM {name}.head); \
             DELETE FROM log_head; INSERT INTO log_head SELECT * FROM {name}.head;"
        )
    } else {
        format!("DELETE FROM events WHERE totp_id = '{id}' AND seq > {after};")
    };
    let sql = format!(
        "DELETE FROM backup_codes WHERE totp_id = '{id}'; DELETE FROM totps WHERE id = '{id}'; \
         INSERT INTO totps SELECT * FROM {name}.totps; \
         INSERT INTO backup_codes SELECT * FROM {name}.codes; {cut}"
    );
    match &env.database {
        None => {
            let file = env.dir.path().join(format!("{name}.db"));
            env.attack(&format!("ATTACH '{}' AS {name}; {sql}", file.display()), "");
        }
        Some(_) => env.attack("", &format!("SET search_path = totpctl; {sql}")),
    }
}

fn max_seq(env: &TestEnv) -> i64 {
    env.count("SELECT coalesce(max(seq), 0) FROM events")
}

/// The finding: four wrong guesses, then the enrollment's rows, its backup
/// codes and the log's head put back and the events since deleted, 25 times over,
/// was 100 guesses with no lockout. Now the first put-back is refused, and no guess
/// is ever looked at again until an admin acts.
#[test]
fn rolling_back_the_tail_to_guess_without_lockout_is_refused() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    env.set("lockout-attempts", "5");
    let kept = env.json(&["log", "--head"])["head"]
        .as_str()
        .unwrap()
        .to_string();
    save_enrollment(&env, &alice.id, "snap");
    for i in 0..4 {
        let (status, v) = verify(&env, &[], "alice", &format!("{:06}", 111_111 + i), T0 + 60);
        assert_eq!(status, 1, "{v}");
    }
    restore_enrollment(&env, &alice.id, "snap", true, 0);
    let before = max_seq(&env);
    for i in 0..10 {
        let v = verify(&env, &[], "alice", &format!("{:06}", 222_222 + i), T0 + 60);
        refused_as(&v, &["rolled back"]);
    }
    assert_eq!(
        max_seq(&env),
        before,
        "no guess was recorded, none looked at"
    );
    // The right code is refused too: the store must be looked at by an admin.
    let code = oathtool(&alice.secret, T0 + 60, &[]);
    refused_as(
        &verify(&env, &[], "alice", &code, T0 + 60),
        &["rolled back"],
    );
    let e = env.json_status(&["log", "--check"], 2);
    assert_eq!(e["error"]["code"], "integrity_error", "{e}");
    // The head kept before the attack: this host's record catches what it cannot.
    let e = env.json_status(&["log", "--check", "--head", &kept], 2);
    assert_eq!(e["error"]["code"], "integrity_error", "{e}");
}

/// An older row put back, and that enrollment's later events deleted from the middle
/// of the log: the host that served the account refuses the replayed code; a host
/// that never served it cannot tell (the README's stated limit), and `log --check`
/// names the cut.
#[test]
fn a_rollback_in_the_middle_is_refused_by_the_host_that_served_the_account() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    env.enroll_verified("bob", T0);
    let other = host(&env, "host-b");
    // Host B has seen the log, but never served alice.
    env.json(&args(&other, &["log", "--check"]));
    let after = max_seq(&env);
    save_enrollment(&env, &alice.id, "snap");
    let t = T0 + 60;
    let code = oathtool(&alice.secret, t, &[]);
    assert_eq!(verify(&env, &[], "alice", &code, t).0, 0);
    env.json(&["unlock", "bob"]);
    restore_enrollment(&env, &alice.id, "snap", false, after);
    refused_as(
        &verify(&env, &[], "alice", &code, t),
        &["alice", "rolled back"],
    );
    let e = env.json_status(&["log", "--check"], 2);
    assert_eq!(e["error"]["code"], "log_chain_broken", "{e}");
    let e = env.json_status(&args(&other, &["log", "--check"]), 2);
    assert_eq!(e["error"]["code"], "log_chain_broken", "{e}");
}

/// A whole older store put back: every host that saw the later one refuses it; an
/// admin who restored it on purpose accepts it once, and every host takes it from
/// then on; the same old copy put back again is refused again.
#[test]
fn a_whole_store_rollback_is_refused_until_an_admin_accepts_the_restore() {
    let env = TestEnv::new();
    let (alice, codes) = env.enroll_verified("alice", T0);
    save_store(&env, "old");
    let b = host(&env, "host-b");
    assert_eq!(env.json(&["verify", "alice", &codes[0]])["valid"], true);
    assert_eq!(
        env.json(&args(&b, &["verify", "alice", &codes[1]]))["valid"],
        true
    );
    restore_store(&env, "old");
    refused_as(
        &verify(
            &env,
            &[],
            "alice",
            &oathtool(&alice.secret, T0 + 90, &[]),
            T0 + 90,
        ),
        &["rolled back", "--accept-restore"],
    );
    for host in [&[][..], &b[..]] {
        let e = env.json_status(&args(host, &["verify", "alice", &codes[0]]), 2);
        assert_eq!(e["error"]["code"], "integrity_error", "{e}");
    }
    // The admin checks the store and accepts it at its head.
    let head = env.json(&["log", "--head"])["head"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = format!("{}:{}", 1, "0".repeat(64));
    let e = env.json_status(&["log", "--accept-restore", &wrong], 2);
    assert_eq!(e["error"]["code"], "invalid_argument", "{e}");
    let accepted = env.json(&["log", "--accept-restore", &head]);
    assert_eq!(accepted["accepted"], true, "{accepted}");
    // Both hosts take it now (the codes used after the copy are live again in it: that
    // was the admin's call), and the log says who accepted what.
    assert_eq!(env.json(&["verify", "alice", &codes[0]])["valid"], true);
    assert_eq!(
        env.json(&args(&b, &["verify", "alice", &codes[1]]))["valid"],
        true
    );
    let log = env.json(&["log", "--event", "restore_accepted"]);
    assert_eq!(log[0]["detail"]["head"], head.as_str(), "{log}");
    // The same old copy again, its restore_accepted event and all: refused.
    restore_store(&env, "old");
    for host in [&[][..], &b[..]] {
        let e = env.json_status(&args(host, &["verify", "alice", &codes[2]]), 2);
        assert_eq!(e["error"]["code"], "integrity_error", "{e}");
    }
}

/// A deleted enrollment is never "not enrolled": its last event is not its removal.
/// Even on a host that never served it.
#[test]
fn a_deleted_enrollment_is_an_integrity_error_not_missing() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    env.enroll("bob");
    env.json(&["remove", "bob", "--yes"]);
    let fresh = host(&env, "never-saw-alice");
    env.attack(
        &format!(
            "DELETE FROM backup_codes WHERE totp_id = '{0}'; DELETE FROM totps WHERE id = '{0}';",
            alice.id
        ),
        &format!("DELETE FROM totpctl.totps WHERE id = '{}'", alice.id),
    );
    let code = oathtool(&alice.secret, T0 + 60, &[]);
    for host in [&[][..], &fresh[..]] {
        let v = verify(&env, host, "alice", &code, T0 + 60);
        refused_as(&v, &["alice", "deleted without the key"]);
    }
    // A removal with totpctl stays "not enrolled".
    let e = env.json_status(&["verify", "bob", "123456"], 4);
    assert_eq!(e["error"]["code"], "resource_not_found", "{e}");
    let e = env.json_status(&["log", "--check", "--full"], 2);
    assert_eq!(e["error"]["code"], "integrity_error", "{e}");
}

/// Every table emptied: the host that saw the store holding events refuses it, for
/// reading, checking, verifying, and enrolling into it as a new store.
#[test]
fn an_emptied_store_is_refused_by_the_host_that_saw_it() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    env.attack(
        "DELETE FROM backup_codes; DELETE FROM events; DELETE FROM log_head; \
         DELETE FROM totps; DELETE FROM config; DELETE FROM meta; DELETE FROM vault;",
        "TRUNCATE totpctl.backup_codes, totpctl.events, totpctl.log_head, totpctl.totps, \
         totpctl.config, totpctl.meta, totpctl.vault, totpctl.migrations",
    );
    let code = oathtool(&alice.secret, T0 + 60, &[]);
    refused_as(&verify(&env, &[], "alice", &code, T0 + 60), &[]);
    for args in [
        &["log", "--check"][..],
        &["enroll", "alice", "--qr", "never"],
    ] {
        let e = env.json_status(args, 2);
        assert_eq!(e["error"]["code"], "integrity_error", "{args:?}: {e}");
    }
    if on_postgres() {
        // Its tables are gone too: still refused, never an empty store.
        env.attack("", "DROP SCHEMA totpctl CASCADE");
        let e = env.json_status(&["verify", "alice", &code, "--at", &at(T0 + 60)], 2);
        assert_eq!(e["error"]["code"], "integrity_error", "{e}");
        let e = env.json_status(&["enroll", "carol", "--qr", "never"], 2);
        assert_eq!(e["error"]["code"], "integrity_error", "{e}");
    }
}

/// Hidden for the length of one command: the newest change of the settings deleted
/// (with the settings and their MAC put back as they were before it), so that older
/// settings would be obeyed. The log's head answers for the newest change: refused.
#[test]
fn hiding_the_newest_settings_change_for_one_command_is_refused() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let side = env.dir.path().join("side.db");
    let keep = "CREATE TABLE side.meta AS SELECT * FROM meta WHERE key = 'config_mac'; \
                CREATE TABLE side.config AS SELECT * FROM config;";
    match &env.database {
        None => env.attack(&format!("ATTACH '{}' AS side; {keep}", side.display()), ""),
        Some(_) => env.attack(
            "",
            &format!("CREATE SCHEMA side; SET search_path = totpctl; {keep}"),
        ),
    }
    env.set("lockout-attempts", "3");
    env.json(&["unlock", "alice"]);
    let hide = "DELETE FROM config; INSERT INTO config SELECT * FROM side.config; \
                UPDATE meta SET value = (SELECT value FROM side.meta) WHERE key = 'config_mac'; \
                DELETE FROM events WHERE event = 'config_changed';";
    match &env.database {
        None => env.attack(&format!("ATTACH '{}' AS side; {hide}", side.display()), ""),
        Some(_) => env.attack("", &format!("SET search_path = totpctl; {hide}")),
    }
    for i in 0..5 {
        let v = verify(&env, &[], "alice", &format!("{:06}", 333_333 + i), T0 + 60);
        refused_as(&v, &[]);
    }
    let _ = alice;
}

/// Hidden for the length of one command: an account's row put back as it was and its
/// later events deleted, to be put back after. Every host that saw the later events
/// refuses it: the one that served the account, and one that only ran `log --check`.
#[test]
fn hiding_an_accounts_events_is_refused_by_every_host_that_checked_the_log() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let t1 = T0 + 60;
    assert_eq!(
        verify(&env, &[], "alice", &oathtool(&alice.secret, t1, &[]), t1).0,
        0
    );
    save_enrollment(&env, &alice.id, "snap");
    let after = max_seq(&env);
    let t2 = T0 + 120;
    let code = oathtool(&alice.secret, t2, &[]);
    assert_eq!(verify(&env, &[], "alice", &code, t2).0, 0);
    let checker = host(&env, "checker");
    env.json(&args(&checker, &["log", "--check"]));
    // Later events of others, so that the head's own event stays where it is.
    env.enroll("bob");
    env.json(&args(&checker, &["log", "--check"]));
    restore_enrollment(&env, &alice.id, "snap", false, after);
    for h in [&[][..], &checker[..]] {
        refused_as(
            &verify(&env, h, "alice", &code, t2),
            &["alice", "rolled back"],
        );
    }
}

/// A restore accepted, then passed by a host: the store put back to a state after
/// the restore but before what that host saw is refused (the restore is not a
/// licence for every later rollback).
#[test]
fn a_restore_a_host_has_passed_lets_no_later_rollback_in() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    save_store(&env, "bk");
    env.json(&["unlock", "alice"]);
    restore_store(&env, "bk");
    let head = env.json(&["log", "--head"])["head"]
        .as_str()
        .unwrap()
        .to_string();
    env.json(&["log", "--accept-restore", &head]);
    save_store(&env, "after_r");
    let b = host(&env, "host-b");
    let t = T0 + 90;
    let code = oathtool(&alice.secret, t, &[]);
    assert_eq!(verify(&env, &b, "alice", &code, t).0, 0);
    assert_eq!(verify(&env, &b, "alice", &code, t).0, 1);
    restore_store(&env, "after_r");
    refused_as(&verify(&env, &b, "alice", &code, t), &["rolled back"]);
}

/// `upgrade` of a store authenticated already is a use of it like any other: it does
/// not reset what this host saw, and `copy` does not carry a rollback into a copy.
#[test]
fn upgrade_and_copy_of_a_rolled_back_store_are_refused() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    save_store(&env, "old");
    let t = T0 + 60;
    let code = oathtool(&alice.secret, t, &[]);
    assert_eq!(verify(&env, &[], "alice", &code, t).0, 0);
    restore_store(&env, "old");
    let e = env.json_status(&["upgrade"], 2);
    assert_eq!(e["error"]["code"], "integrity_error", "{e}");
    refused_as(&verify(&env, &[], "alice", &code, t), &["rolled back"]);
    let dest = env.dir.path().join("copy.db");
    let e = env.json_status(&["copy", dest.to_str().unwrap()], 2);
    assert_eq!(e["error"]["code"], "integrity_error", "{e}");
    assert!(!dest.exists());
}

/// SQLite: an index rebuilt to leave an account's newest events out, its SQL put back
/// as it was (writable_schema), so the schema table is unchanged. A whole check proves
/// every index holds what its table holds.
#[test]
fn an_index_rebuilt_to_hide_events_fails_the_whole_check() {
    if on_postgres() {
        println!("skipped on PostgreSQL: a writable SQLite schema");
        return;
    }
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let keep = max_seq(&env);
    let t = T0 + 60;
    assert_eq!(
        verify(&env, &[], "alice", &oathtool(&alice.secret, t, &[]), t).0,
        0
    );
    let original = env.sql("SELECT sql FROM sqlite_schema WHERE name = 'events_enrollment'");
    env.attack(
        &format!(
            "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = \
             'CREATE INDEX events_enrollment ON events (account, totp_id) WHERE seq <= {keep}' \
             WHERE name = 'events_enrollment';"
        ),
        "",
    );
    env.attack("REINDEX events_enrollment;", "");
    env.attack(
        &format!(
            "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = '{}' \
             WHERE name = 'events_enrollment';",
            original.replace('\'', "''")
        ),
        "",
    );
    let e = env.json_status(&["log", "--check", "--full"], 2);
    assert_eq!(e["error"]["code"], "integrity_error", "{e}");
}

/// PostgreSQL: a table of the attacker's that references totpctl's, with a cascade
/// and a trigger of its own, would run the attacker's code inside totpctl's
/// transactions. Refused, naming the reference.
#[test]
fn a_reference_from_outside_into_totpctls_tables_is_refused() {
    if !on_postgres() {
        println!("skipped on SQLite: a PostgreSQL foreign key");
        return;
    }
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    env.attack(
        "",
        "CREATE TABLE public.shadow (t text, h bytea, \
           FOREIGN KEY (t, h) REFERENCES totpctl.backup_codes ON DELETE CASCADE)",
    );
    let e = env.json_status(&["backup-codes", "alice"], 2);
    assert_eq!(e["error"]["code"], "integrity_error", "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("shadow"),
        "{e}"
    );
}
