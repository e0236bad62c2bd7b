//! Issue 18: what a newcomer's first hour tripped over, each as the newcomer met it.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{T0, TestEnv, oathtool, stderr, stdout};

/// A store whose first command failed is not there afterwards: on SQLite no file, on
/// PostgreSQL no schema. A wrong but empty database would otherwise read as "nobody
/// is enrolled".
#[test]
fn a_failed_first_command_leaves_no_store_behind() {
    let env = TestEnv::new();
    // The key file in a directory that does not exist: refused with the way forward.
    let missing = env.dir.path().join("etc-totpctl").join("key");
    let out = env.run(&[
        "--key",
        missing.to_str().unwrap(),
        "enroll",
        "alice",
        "--qr",
        "never",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains("mkdir -m 700"), "{err}");
    assert!(!err.contains("No such file or directory"), "{err}");
    assert!(!env.store_exists(), "the refused enroll left a store");
    assert!(!missing.exists());
    let err = env.json_status(&["list"], 2);
    assert_eq!(err["error"]["code"], "store_not_found", "{err}");
    if let Some(db) = &env.database {
        let schema = common::psql(
            db,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'totpctl'",
        );
        assert_eq!(schema, "0", "the failed enroll left totpctl's schema");
    }
}

/// On a server store, the first enrollment without a key file says where to make one
/// (not "a copy of the one the first enrollment made"), and leaves no schema.
#[test]
fn the_first_enrollment_on_a_server_says_where_to_make_the_key() {
    let env = TestEnv::new();
    let Some(db) = env.database.clone() else {
        println!("skipped on sqlite: a server store has no key file beside it");
        return;
    };
    let out = env
        .cmd()
        .env_remove("TOTPCTL_KEY_FILE")
        .args(["--json", "enroll", "alice", "--qr", "never"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = common::parse_one_json(&out.stdout);
    let msg = v["error"]["message"].as_str().unwrap();
    assert_eq!(v["error"]["code"], "key_error", "{v}");
    assert!(
        msg.contains("TOTPCTL_KEY_FILE") && msg.contains("mkdir -m 700"),
        "{msg}"
    );
    assert!(!msg.contains("a copy of the one"), "{msg}");
    assert_eq!(
        common::psql(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'totpctl'"
        ),
        "0"
    );
}

/// An enroll refused for a directory others can write leaves nothing in it.
#[test]
fn an_enroll_refused_for_its_directory_leaves_nothing() {
    if common::skip_on_postgres("about the store's directory on disk") {
        return;
    }
    let env = TestEnv::new();
    let open = env.dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let store = open.join("totpctl.db");
    let out = env.run(&["--store", store.to_str().unwrap(), "enroll", "alice"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("writable"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(&open).unwrap().count(),
        0,
        "it left a file"
    );
}

/// `info` notices a missing key file, as verify does.
#[test]
fn info_notices_a_missing_key_file() {
    let env = TestEnv::new();
    env.enroll("alice");
    assert_eq!(env.json(&["info"])["keyFileFound"], true);
    let key = env.key_file();
    let moved = env.dir.path().join("key.moved");
    std::fs::rename(&key, &moved).unwrap();
    let out = env.run(&["--json", "info"]);
    assert_eq!(out.status.code(), Some(0));
    let v = common::parse_one_json(&out.stdout);
    assert_eq!(v["keyFileFound"], false, "{v}");
    assert!(stderr(&out).contains("missing"), "{}", stderr(&out));
    let text = stdout(&env.run(&["info"]));
    assert!(text.contains("MISSING"), "{text}");
    std::fs::rename(&moved, &key).unwrap();
}

/// `copy` says what the copy needs (its key) and that the source keeps accepting codes
/// until it is retired.
#[test]
fn copy_says_what_the_copy_needs_and_to_retire_the_source() {
    let env = TestEnv::new();
    env.enroll("alice");
    let dest = env.dir.path().join("snapshot.db");
    let out = env.run(&["copy", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("still accepts codes on its own"), "{text}");
    assert!(text.contains("retire it"), "{text}");
    assert!(text.to_lowercase().contains("key file"), "{text}");
    // The key it names opens the copy.
    let v = env.json(&["--store", dest.to_str().unwrap(), "info"]);
    assert_eq!(v["enrollments"]["total"], 1, "{v}");
}

/// `log` fits an 80-column terminal, as `list` does; into a pipe it is whole.
#[test]
fn log_fits_the_terminal() {
    use common::tmux::Tmux;
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice@example.com", T0);
    let code = oathtool(&alice.secret, T0 + 30, &[]);
    env.json(&[
        "verify",
        &alice.account,
        &code,
        "--at",
        &(T0 + 30).to_string(),
    ]);
    let long = "someone.with.a.rather.long.name@subsidiary.example.com";
    env.enroll(long);
    let t = Tmux::start_sized(&env, &[], "log --color never", 80);
    t.wait_for("EXIT=");
    let screen = t.screen_joined();
    assert!(screen.contains("code_accepted"), "{screen}");
    for line in screen.lines() {
        assert!(
            line.chars().count() <= 80,
            "a line of {} columns:\n{screen}",
            line.chars().count()
        );
    }
    // A short account is whole, a long one cut with an ellipsis.
    assert!(screen.contains(&alice.account), "{screen}");
    assert!(!screen.contains(long) && screen.contains('…'), "{screen}");
    let piped = stdout(&env.run(&["log"]));
    assert!(piped.lines().any(|l| l.chars().count() > 80), "{piped}");
    assert!(
        piped.contains("backupCodes=") || piped.contains("drift="),
        "{piped}"
    );
}

/// A drift of several steps is plural; a code checked at a future --at says it was
/// only checked, not accepted.
#[test]
fn drift_and_future_checks_read_right() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    env.set("window", "5");
    let at = T0 + 600;
    let code = oathtool(&alice.secret, at - 4 * 30, &[]);
    let text = stdout(&env.run(&["verify", "alice", &code, "--at", &at.to_string()]));
    assert!(text.contains("(drift -4 steps)"), "{text}");
    let future = chrono_like_now() + 86_400 * 365;
    let code = oathtool(&alice.secret, future, &[]);
    let out = env.run(&["verify", "alice", &code, "--at", &future.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("accepted"), "{text}");
    assert!(text.contains("checked only"), "{text}");
    let v = env.json(&["verify", "alice", &code, "--at", &future.to_string()]);
    assert!(v["checkedAt"].is_string(), "{v}");
    // Nothing was recorded: the same code checks again.
    assert_eq!(v["valid"], true, "{v}");
}

fn chrono_like_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The commands totpctl suggests run as pasted: `totpctl …` when that is the program
/// on PATH, else the program's own path (as after `cargo run`).
#[test]
fn suggested_commands_name_the_program_as_it_can_be_run() {
    let env = TestEnv::new();
    let bin = assert_cmd::cargo::cargo_bin("totpctl");
    let out = env
        .cmd()
        .env("PATH", "/usr/bin:/bin")
        .args(["enroll", "alice", "--qr", "never"])
        .output()
        .unwrap();
    let text = stdout(&out);
    let hint = text
        .lines()
        .find_map(|l| l.split("confirm it with: ").nth(1))
        .expect("the hint");
    assert!(hint.starts_with(bin.to_str().unwrap()), "{hint}");
    let text = stdout(&env.run(&["enroll", "bob", "--qr", "never"]));
    let hint = text
        .lines()
        .find_map(|l| l.split("confirm it with: ").nth(1))
        .expect("the hint");
    assert!(hint.starts_with("totpctl "), "{hint}");
}

/// `config KEY VALUE` changes an existing store, and nothing else: a mistyped store
/// is `store_not_found`, with no store and no key file made.
#[test]
fn config_changes_only_a_store_that_exists() {
    let env = TestEnv::new();
    let err = env.json_status(&["config", "lockout-attempts", "3"], 2);
    assert_eq!(err["error"]["code"], "store_not_found", "{err}");
    assert!(!env.store_exists());
    assert!(!env.key_file().exists());
    env.enroll("alice");
    assert_eq!(env.json(&["config", "lockout-attempts", "3"])["value"], 3);
    assert_eq!(env.json(&["config", "lockout-attempts"])["value"], 3);
}
