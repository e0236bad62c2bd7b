//! A store written before the store was authenticated (schema version 1, in
//! tests/fixtures/v1): read as it is by list, show and log, refused by every command
//! that decides anything until `totpctl upgrade` authenticates it (one transaction,
//! its own event), and from then on held to every check a new store is. A host that
//! saw the authenticated store refuses an unauthenticated form of it put back.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{TestEnv, oathtool};
use serde_json::Value;

const T0: i64 = 1_764_158_400;

/// A TestEnv whose store is a copy of the version 1 fixture, with the modes a store
/// and key file have.
fn v1_store() -> (TestEnv, Value, Value) {
    let env = TestEnv::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1");
    let dir = env.store.parent().unwrap();
    fs::create_dir_all(dir).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
    for (from, to) in [
        ("store.db", env.store.clone()),
        ("store.db.key", env.key_file()),
    ] {
        fs::copy(fixtures.join(from), &to).unwrap();
        fs::set_permissions(&to, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let read = |name: &str| -> Value {
        serde_json::from_str(&fs::read_to_string(fixtures.join(name)).unwrap()).unwrap()
    };
    (env, read("alice.json"), read("verify.json"))
}

fn events(env: &TestEnv) -> Vec<Value> {
    env.json(&["log"]).as_array().unwrap().clone()
}

#[test]
fn an_old_store_is_read_as_it_is_and_upgraded_only_by_upgrade() {
    if common::skip_on_postgres("a version 1 store is an SQLite file made by the previous release")
    {
        return;
    }
    let (env, alice, verified) = v1_store();
    // Read without the key, and not upgraded by reading.
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 2);
    let shown = env.json(&["show", "alice"]);
    assert_eq!(shown["verified"], true);
    assert_eq!(shown["backupCodesRemaining"], 10);
    let before = events(&env);
    assert!(before.iter().all(|e| e["actor"].is_null()), "{before:?}");
    let check = env.json(&["log", "--check"]);
    assert_eq!(check["authenticated"], false, "{check}");
    assert_eq!(env.json(&["info"])["schemaVersion"], 5);

    // Every command that decides anything refuses it, naming the command that
    // upgrades it, and changes nothing: not even a code is looked at.
    let secret = alice["secret"].as_str().unwrap();
    let at = (T0 + 30).to_string();
    let code = oathtool(secret, T0 + 30, &[]);
    let bytes = env.store_bytes();
    for args in [
        &["verify", "alice", &code, "--at", &at][..],
        &["config", "window", "5"],
        &["enroll", "carol", "--qr", "never"],
        &["unlock", "alice"],
    ] {
        let e = env.json_status(args, 2);
        assert_eq!(e["error"]["code"], "store_error", "{args:?}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("upgrade"),
            "{args:?}: {e}"
        );
    }
    assert_eq!(env.store_bytes(), bytes);
    assert_eq!(events(&env), before);

    // `upgrade` authenticates it, in one step with its own event.
    let up = env.json(&["upgrade"]);
    assert_eq!(up["upgraded"], true, "{up}");
    let after = events(&env);
    let upgraded: Vec<_> = after
        .iter()
        .filter(|e| e["event"] == "store_upgraded")
        .collect();
    assert_eq!(upgraded.len(), 1, "{after:?}");
    assert_eq!(
        upgraded[0]["detail"],
        serde_json::json!({ "from": 1, "to": 2 })
    );
    // The old events are kept as they were, and the whole chain now carries MACs.
    assert_eq!(&after[..before.len()], &before[..]);
    let check = env.json(&["log", "--check"]);
    assert_eq!(check["authenticated"], true, "{check}");
    assert_eq!(check["enrollments"], 2);
    // A second upgrade has nothing to do.
    assert_eq!(env.json(&["upgrade"])["upgraded"], false);

    // The code is checked as usual now, and everything came over: the replay
    // watermark, a backup code, the settings.
    assert_eq!(
        env.json(&["verify", "alice", &code, "--at", &at])["valid"],
        true
    );
    let replay = env.json_status(
        &[
            "verify",
            "alice",
            &oathtool(secret, T0, &[]),
            "--at",
            &T0.to_string(),
        ],
        1,
    );
    assert_eq!(replay["reason"], "totp_replayed_code", "{replay}");
    let code = verified["backupCodes"][0].as_str().unwrap();
    assert_eq!(env.json(&["verify", "alice", code])["valid"], true);
    assert_eq!(env.json(&["config", "window"])["value"], 2);
    assert_eq!(env.json(&["show", "bob"])["verified"], false);
}

#[test]
fn the_old_form_of_a_store_put_back_is_refused_by_the_host_that_saw_it_authenticated() {
    if common::skip_on_postgres("a version 1 store is an SQLite file made by the previous release")
    {
        return;
    }
    let (env, alice, verified) = v1_store();
    let old_store = fs::read(&env.store).unwrap();
    env.json(&["upgrade"]);
    let backup = verified["backupCodes"][1].as_str().unwrap();
    assert_eq!(env.json(&["verify", "alice", backup])["valid"], true);
    // The attacker puts the version 1 file back: its backup code is live in it.
    for suffix in ["-wal", "-shm"] {
        let mut side = env.store.as_os_str().to_owned();
        side.push(suffix);
        let _ = fs::remove_file(side);
    }
    fs::write(&env.store, &old_store).unwrap();
    let bytes = env.store_bytes();
    for args in [
        &["verify", "alice", backup][..],
        &["upgrade"],
        &["log", "--check"],
    ] {
        let e = env.json_status(args, 2);
        assert_eq!(e["error"]["code"], "integrity_error", "{args:?}: {e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("version 1"),
            "{args:?}: {e}"
        );
    }
    assert_eq!(env.store_bytes(), bytes);
    let _ = alice;
}

#[test]
fn an_upgraded_store_cannot_be_passed_off_as_an_old_one() {
    if common::skip_on_postgres("a version 1 store is an SQLite file made by the previous release")
    {
        return;
    }
    let (env, alice, _) = v1_store();
    let secret = alice["secret"].as_str().unwrap();
    let at = (T0 + 30).to_string();
    env.json(&["upgrade"]);
    env.json(&[
        "verify",
        "alice",
        &oathtool(secret, T0 + 30, &[]),
        "--at",
        &at,
    ]);
    // Taking the version number back is refused, and changes nothing.
    env.sqlite().pragma_update(None, "user_version", 1).unwrap();
    let bytes = env.store_bytes();
    for args in [&["list"][..], &["verify", "alice", "123456"]] {
        let e = env.json_status(args, 2);
        assert_eq!(e["error"]["code"], "integrity_error", "{args:?}: {e}");
    }
    assert_eq!(env.store_bytes(), bytes);
    env.sqlite().pragma_update(None, "user_version", 4).unwrap();
    // Marking the key record as an old one does not make its data unauthenticated.
    env.sqlite()
        .execute("UPDATE vault SET version = 1", [])
        .unwrap();
    let e = env.json_status(&["verify", "alice", "123456"], 2);
    assert!(
        matches!(
            e["error"]["code"].as_str(),
            Some("key_error" | "integrity_error")
        ),
        "{e}"
    );
    // Nor does wiping the MACs, with the record marked old.
    env.sqlite()
        .execute_batch(
            "UPDATE totps SET mac = NULL; UPDATE events SET mac = NULL; \
             UPDATE log_head SET mac = NULL; DELETE FROM meta;",
        )
        .unwrap();
    let e = env.json_status(&["verify", "alice", "123456"], 2);
    assert!(
        matches!(
            e["error"]["code"].as_str(),
            Some("key_error" | "integrity_error")
        ),
        "{e}"
    );
}

/// The indexes of a store's events, by name.
fn event_indexes(env: &TestEnv) -> Vec<String> {
    let db = env.sqlite();
    let mut stmt = db
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' \
             AND sql IS NOT NULL ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_version_2_store_gets_the_one_events_index_and_its_history_stays_found() {
    if common::skip_on_postgres("schema 3 changes the SQLite file's indexes") {
        return;
    }
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    env.enroll("bob");
    env.json(&["remove", "bob", "--yes"]);
    // Put back the version 2 layout: three indexes on the events, no skeletons
    // (version 4) and no API tokens (version 5).
    env.sqlite()
        .execute_batch(
            "DROP INDEX events_tokens;
             DROP TABLE tokens;
             DROP INDEX totps_skeleton;
             DROP INDEX events_restores;
             ALTER TABLE totps DROP COLUMN skeleton;
             DROP INDEX events_enrollment;
             CREATE INDEX events_account ON events (account);
             CREATE INDEX events_totp ON events (totp_id);
             CREATE INDEX events_at ON events (at);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    let bob_before = env.json(&["log", "bob"]);
    // The first command migrated it, even one that only reads.
    let version: i32 = env
        .sqlite()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    assert_eq!(
        event_indexes(&env),
        [
            "events_config_changes",
            "events_enrollment",
            "events_restores",
            "events_tokens"
        ]
    );
    // The history is found by name and by id, removed enrollments' too.
    let bob = env.json(&["log", "bob"]);
    assert_eq!(bob, bob_before);
    let kinds: Vec<&str> = bob
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["enrolled", "removed"]);
    assert_eq!(env.json(&["log", bob[0]["id"].as_str().unwrap()]), bob);
    // Codes are still checked against the enrollment's last event: a new one is
    // accepted once, and the log still checks out.
    let code = oathtool(&alice.secret, T0 + 30, &[]);
    let at = (T0 + 30).to_string();
    assert_eq!(
        env.json(&["verify", "alice", &code, "--at", &at])["valid"],
        true
    );
    env.json_status(&["verify", "alice", &code, "--at", &at], 1);
    assert_eq!(env.json(&["log", "--check"])["intact"], true);
}
