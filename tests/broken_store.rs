//! Broken and foreign store files: each is refused with exit 2 and one line that says
//! what is wrong and what to do, and not one byte of it changes (SPEC §3, §4).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{T0, TestEnv, assert_refused, oathtool, skip_on_postgres, stderr};

/// Every file in the store's directory, with its bytes, so that a refused command is
/// seen to leave all of them (store, WAL, key file) exactly as they were.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.is_file())
                .map(|p| {
                    let bytes = fs::read(&p).expect("read file");
                    (p, bytes)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The commands a user would run on the store: each must be refused the same way and
/// leave the files as they were.
const COMMANDS: &[&[&str]] = &[
    &["list"],
    &["show", "alice"],
    &["enroll", "mallory", "--qr", "never"],
    &["verify", "alice", "123456", "--at", "1764158400"],
    &["backup-codes", "alice"],
    &["remove", "alice", "--yes"],
    &["config", "issuer", "Evil"],
    &["log"],
    &["rekey"],
];

/// Runs every command of [`COMMANDS`] on the prepared store and checks each refusal.
#[track_caller]
fn refuse_all(env: &TestEnv, what: &str, fix: &str) {
    let dir = env.store.parent().unwrap();
    let before = snapshot(dir);
    for args in COMMANDS {
        let out = env.run(args);
        assert_refused(&out, what, fix);
        // The human form and the JSON form agree on the exit status.
        let json = env
            .cmd()
            .arg("--json")
            .args(*args)
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(json.status.code(), Some(2), "--json {args:?}");
        let v = common::parse_one_json(&json.stdout);
        assert!(v["error"]["code"].is_string(), "{v}");
        assert_eq!(snapshot(dir), before, "{args:?} changed the store's files");
    }
    let mut import = env.cmd();
    let out = import
        .args(["import", "-"])
        .write_stdin("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP\n")
        .output()
        .unwrap();
    assert_refused(&out, what, fix);
    assert_eq!(snapshot(dir), before, "import changed the store's files");
}

/// A real store with two enrollments, alice verified with backup codes; returns
/// alice's secret too.
fn populated() -> (TestEnv, String) {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    env.enroll("bob");
    (env, alice.secret)
}

/// `program` with the environment [`TestEnv::cmd`] gives the binary.
fn plain_cmd(env: &TestEnv, program: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    for var in [
        "TOTPCTL_KEY_FILE",
        "TOTPCTL_PASSPHRASE",
        "TOTPCTL_NEW_PASSPHRASE",
        "NO_COLOR",
        "XDG_DATA_HOME",
        "RUST_BACKTRACE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", env.dir.path().join("home"));
    cmd.env("TOTPCTL_STORE", &env.store);
    cmd
}

#[test]
fn a_directory_is_refused() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let env = TestEnv::new();
    fs::create_dir_all(&env.store).unwrap();
    fs::write(env.store.join("keep"), b"x").unwrap();
    refuse_all(&env, "is a directory", "pass the path of a file");
    assert_eq!(fs::read_dir(&env.store).unwrap().count(), 1);
}

#[test]
fn an_empty_file_is_refused() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let env = TestEnv::new();
    fs::create_dir_all(env.store.parent().unwrap()).unwrap();
    fs::write(&env.store, b"").unwrap();
    refuse_all(&env, "is not a totpctl store", "--store");
    assert_eq!(fs::read(&env.store).unwrap(), b"");
}

#[test]
fn random_bytes_are_refused() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let env = TestEnv::new();
    fs::create_dir_all(env.store.parent().unwrap()).unwrap();
    // Deterministic "random" bytes: a simple LCG, so a failure reproduces.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let bytes: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 56) as u8
        })
        .collect();
    fs::write(&env.store, &bytes).unwrap();
    refuse_all(&env, "is not a totpctl store", "--store");
}

#[test]
fn a_short_text_file_is_refused() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let env = TestEnv::new();
    fs::create_dir_all(env.store.parent().unwrap()).unwrap();
    fs::write(&env.store, b"hello\n").unwrap();
    refuse_all(&env, "is not a totpctl store", "--store");
}

#[test]
fn an_sqlite_file_of_another_application_is_refused() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let env = TestEnv::new();
    fs::create_dir_all(env.store.parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(&env.store).unwrap();
        conn.execute_batch(
            "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT);
             INSERT INTO moz_places (url) VALUES ('https://example.com');",
        )
        .unwrap();
    }
    refuse_all(&env, "is not a totpctl store", "--store");
}

#[test]
fn an_sqlite_file_of_another_application_in_wal_mode_is_refused() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let env = TestEnv::new();
    fs::create_dir_all(env.store.parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(&env.store).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA application_id = 1234;
             CREATE TABLE totps (id TEXT);",
        )
        .unwrap();
    }
    refuse_all(&env, "is not a totpctl store", "--store");
}

#[test]
fn a_store_from_a_newer_schema_is_refused() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let (env, _) = populated();
    env.sqlite()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    refuse_all(&env, "newer totpctl", "upgrade totpctl");
    let version: i64 = env
        .sqlite()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 999);
}

/// A store file cut short, as a copy interrupted by a full disk leaves it.
#[test]
fn a_truncated_store_is_refused() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let (env, _) = populated();
    // Make the store grow beyond a few pages, then fold the WAL into the file.
    let mut lines = String::new();
    for i in 0..300 {
        lines.push_str(&format!(
            "otpauth://totp/user{i}?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n"
        ));
    }
    let out = env
        .cmd()
        .args(["import", "-"])
        .write_stdin(lines)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let full = fs::read(&env.store).unwrap();
    assert!(full.len() > 16 * 4096, "store is {} bytes", full.len());
    for cut in [
        full.len() / 2,
        full.len() - 4096,
        full.len() - 100,
        4096 * 3 + 100,
    ] {
        fs::write(&env.store, &full[..cut]).unwrap();
        refuse_all(&env, "damaged", "restore it from a backup");
        assert_eq!(fs::read(&env.store).unwrap().len(), cut);
    }
    // Cut inside the 100-byte header.
    fs::write(&env.store, &full[..50]).unwrap();
    refuse_all(&env, "damaged", "restore it from a backup");
}

#[test]
fn a_store_whose_key_file_is_missing_is_refused_by_what_needs_the_key() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let (env, secret) = populated();
    fs::rename(env.key_file(), env.dir.path().join("elsewhere.key")).unwrap();
    let dir = env.store.parent().unwrap().to_path_buf();
    let before = snapshot(&dir);
    let code = oathtool(&secret, T0 + 60, &[]);
    for args in [
        &["verify", "alice", &code, "--at", &(T0 + 60).to_string()][..],
        &["verify", "alice", "abcde-fghjk"],
        &["enroll", "carol", "--qr", "never"],
        &["enroll", "bob", "--qr", "never"],
        &["backup-codes", "alice"],
        &["rekey"],
    ] {
        let out = env.run(args);
        assert_refused(&out, "key file", "restore it");
        assert_eq!(snapshot(&dir), before, "{args:?} changed the store");
    }
    let out = env
        .cmd()
        .args(["import", "-"])
        .write_stdin("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP\n")
        .output()
        .unwrap();
    assert_refused(&out, "key file", "restore it");
    assert_eq!(snapshot(&dir), before, "import changed the store");
    // What needs no key still works (SPEC §5).
    assert!(env.run(&["list"]).status.success());
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc_geteuid() == 0 }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// A store on a read-only path. Root writes through permission bits, so as root the
/// directory is made read-only the way an admin would: a read-only bind mount, in a
/// private mount namespace so nothing outside the test sees it.
#[test]
fn a_store_on_a_read_only_path_is_refused_by_what_writes() {
    if skip_on_postgres("about SQLite store files (damaged, foreign, truncated, read-only)") {
        return;
    }
    let (env, _) = populated();
    let dir = env.store.parent().unwrap().to_path_buf();
    let before = snapshot(&dir);
    let run = |args: &[&str]| -> Option<Output> {
        if running_as_root() {
            let bin = assert_cmd::cargo::cargo_bin("totpctl");
            let script = format!(
                "mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec \"$@\"",
                d = shell_quote(&dir)
            );
            let out = plain_cmd(&env, "unshare")
                .args([
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    &script,
                    "sh",
                ])
                .arg(bin)
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run unshare");
            let err = stderr(&out);
            if err.contains("unshare:") || err.contains("mount:") {
                eprintln!("skipped: cannot make a read-only bind mount here: {err}");
                return None;
            }
            Some(out)
        } else {
            Some(env.run(args))
        }
    };
    let mut perms = None;
    if !running_as_root() {
        use std::os::unix::fs::PermissionsExt;
        perms = Some(fs::metadata(&dir).unwrap().permissions());
        fs::set_permissions(&env.store, fs::Permissions::from_mode(0o400)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();
    }
    for args in [
        &["enroll", "carol", "--qr", "never"][..],
        &["verify", "alice", "000000", "--at", "1764158400"],
        &["remove", "bob", "--yes"],
        &["config", "issuer", "Acme"],
    ] {
        let Some(out) = run(args) else { return };
        assert_refused(&out, "is read-only", "permissions");
        assert_eq!(snapshot(&dir), before, "{args:?} changed the store");
    }
    if let Some(p) = perms {
        fs::set_permissions(&dir, p).unwrap();
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}
