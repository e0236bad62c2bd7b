//! The store: the default location, permissions, the schema version, and creation by
//! many processes at once.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::TestEnv;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_default_store_lives_in_the_per_user_data_directory() {
    if common::skip_on_postgres("the default store is an SQLite file in the data directory") {
        return;
    }
    let env = TestEnv::new();
    let home = env.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = env
        .cmd()
        .env_remove("TOTPCTL_STORE")
        .args(["enroll", "dev@example.com", "--qr", "never"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let dir = home.join(".local/share/totpctl");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("totpctl.db")), 0o600);
    assert_eq!(mode(&dir.join("totpctl.db.key")), 0o600);
    // XDG_DATA_HOME moves it, as on any XDG system.
    let xdg = env.dir.path().join("xdg");
    let out = env
        .cmd()
        .env_remove("TOTPCTL_STORE")
        .env("XDG_DATA_HOME", &xdg)
        .args(["--json", "enroll", "dev@example.com"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(xdg.join("totpctl/totpctl.db").exists());
}

#[test]
fn the_store_is_versioned_and_marked_as_a_totpctl_store() {
    if common::skip_on_postgres("SQLite's user_version, application_id and WAL mode") {
        return;
    }
    let env = TestEnv::new();
    env.enroll("a");
    let db = env.sqlite();
    let version: i32 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let app: i32 = db
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    let journal: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    assert_eq!(app, 0x544F_5450);
    assert_eq!(journal, "wal");
}

#[test]
fn a_store_from_a_newer_version_is_refused_untouched() {
    if common::skip_on_postgres(
        "an SQLite file's user_version; tests/postgres.rs edits totpctl.migrations",
    ) {
        return;
    }
    let env = TestEnv::new();
    env.enroll("a");
    env.sqlite()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let before = std::fs::read(&env.store).unwrap();
    let err = env.json_status(&["list"], 2);
    assert_eq!(err["error"]["code"], "store_error");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("newer totpctl")
    );
    assert_eq!(std::fs::read(&env.store).unwrap(), before);
}

#[test]
fn many_processes_creating_one_store_at_once_all_succeed() {
    let env = TestEnv::new();
    let children: Vec<_> = (0..16)
        .map(|i| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("totpctl"))
                .env("TOTPCTL_STORE", &env.store)
                .env_remove("TOTPCTL_KEY_FILE")
                .envs(env.server_env())
                .args(["--json", "enroll", &format!("user{i}"), "--qr", "never"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut enrolled = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        enrolled.push(common::parse_one_json(&out.stdout));
    }
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 16);
    // One key file, and every secret opens with it.
    for e in &enrolled {
        let code = common::oathtool(e["secret"].as_str().unwrap(), common::T0, &[]);
        let account = e["account"].as_str().unwrap();
        let v = env.json(&["verify", account, &code, "--at", &common::T0.to_string()]);
        assert_eq!(v["valid"], true, "{account}");
    }
    assert_eq!(env.json(&["log", "--check"])["intact"], true);
}

#[test]
fn a_missing_store_is_store_not_found_and_is_not_created() {
    let env = TestEnv::new();
    // Never "not enrolled" (exit 4): a script that maps 4 to "no 2FA" must not wave
    // everyone through because of a typo in a path.
    for args in [
        vec!["list"],
        vec!["log"],
        vec!["log", "--check"],
        vec!["log", "--head"],
        vec!["config"],
        vec!["config", "window"],
        // Issue 18: a change to a mistyped store must not read as production's
        // setting changed.
        vec!["config", "lockout-attempts", "3"],
        vec!["show", "a"],
        vec!["verify", "a", "123456"],
        vec!["unlock", "a"],
        vec!["remove", "a", "--yes"],
        vec!["backup-codes", "a"],
        vec!["rekey"],
    ] {
        let err = env.json_status(&args, 2);
        assert_eq!(err["error"]["code"], "store_not_found", "{args:?}");
        let msg = err["error"]["message"].as_str().unwrap();
        assert!(msg.contains(&env.store.display().to_string()), "{msg}");
    }
    // Also when the code comes on stdin, as a login form sends it.
    let out = env
        .cmd()
        .args(["--json", "verify", "a"])
        .write_stdin("123456\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("store_not_found"));
    env.json_status(&["config", "window", "99"], 2);
    assert!(!env.store_exists(), "a read created the store");
    if env.database.is_none() {
        assert!(
            !env.store.parent().unwrap().exists(),
            "a read created its directory"
        );
    }
    assert!(
        !env.key_file().exists(),
        "a refused command made a key file"
    );
    // An enrollment or an import makes it; then settings change.
    env.create_store();
    assert!(env.store_exists());
    assert_eq!(env.json(&["config", "window", "2"])["value"], 2);
}
