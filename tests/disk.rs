//! Disk and permissions: a store directory that cannot be created, a key file that
//! others can read, a QR image aimed at a missing directory, and a full disk. Each is
//! refused with exit 2 and a line that says how to fix it, and leaves nothing behind.
//!
//! A key file readable by group or others is refused, not warned about: it holds the
//! key to every secret in the store, and `chmod 600` is the one-line fix the message
//! gives.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{T0, TestEnv, assert_refused, oathtool, skip_on_postgres, stderr};

#[test]
fn a_store_directory_that_cannot_be_created_is_refused() {
    let env = TestEnv::new();
    // A regular file where a directory of the path should be.
    let blocker = env.dir.path().join("blocker");
    fs::write(&blocker, b"not a directory").unwrap();
    let store = blocker.join("sub").join("totpctl.db");
    let store = store.to_str().unwrap();
    for args in [
        &["--store", store, "enroll", "alice", "--qr", "never"][..],
        &["--store", store, "import", "-"],
    ] {
        let out = env.run(args);
        assert_refused(&out, "cannot create the store's directory", "--store");
    }
    assert_eq!(fs::read(&blocker).unwrap(), b"not a directory");
}

#[test]
fn the_store_directory_and_files_are_private() {
    if skip_on_postgres("about store files on disk (modes, a full disk)") {
        return;
    }
    let env = TestEnv::new();
    env.enroll("alice");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(env.store.parent().unwrap()), 0o700);
    assert_eq!(mode(&env.store), 0o600);
    assert_eq!(mode(&env.key_file()), 0o600);
    // No temporary file of the store's or the key's creation is left beside them.
    let names: Vec<String> = fs::read_dir(env.store.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn a_key_file_others_can_read_is_refused_with_a_chmod_hint() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let key = env.key_file();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        fs::set_permissions(&key, fs::Permissions::from_mode(mode)).unwrap();
        let before = env.store_bytes();
        let code = oathtool(&alice.secret, T0 + 30, &[]);
        for args in [
            &["verify", "alice", &code, "--at", &(T0 + 30).to_string()][..],
            &["enroll", "bob", "--qr", "never"],
            &["backup-codes", "alice"],
            &["rekey"],
        ] {
            let out = env.run(args);
            assert_refused(&out, "readable by other users", "chmod 600");
            let v = env.json_status(args, 2);
            assert_eq!(v["error"]["code"], "key_error", "{v}");
        }
        assert_eq!(
            env.store_bytes(),
            before,
            "mode {mode:o}: the store changed"
        );
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            mode
        );
    }
    // The hint works.
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let code = oathtool(&alice.secret, T0 + 30, &[]);
    env.json(&["verify", "alice", &code, "--at", &(T0 + 30).to_string()]);
}

#[test]
fn a_loose_key_file_named_by_the_environment_is_refused_too() {
    let env = TestEnv::new();
    let key = env.dir.path().join("elsewhere.key");
    let out = env
        .cmd()
        .env("TOTPCTL_KEY_FILE", &key)
        .args(["--json", "enroll", "alice", "--qr", "never"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let out = env
        .cmd()
        .env("TOTPCTL_KEY_FILE", &key)
        .args(["enroll", "bob", "--qr", "never"])
        .output()
        .unwrap();
    assert_refused(&out, "readable by other users", "chmod 600");
}

#[test]
fn a_qr_file_in_a_missing_directory_is_refused_and_nothing_is_enrolled() {
    let env = TestEnv::new();
    env.enroll("alice");
    let before = env.store_bytes();
    let target = env.dir.path().join("no-such-dir").join("alice.png");
    for name in ["bob", "alice"] {
        let out = env.run(&[
            "enroll",
            name,
            "--qr",
            "never",
            "--qr-file",
            target.to_str().unwrap(),
        ]);
        assert_refused(&out, "does not exist", "no-such-dir");
        assert_eq!(env.store_bytes(), before, "the store changed");
    }
    assert!(!target.parent().unwrap().exists());
    env.json_status(&["show", "bob"], 4);
    let log = env.json(&["log"]);
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
}

#[test]
fn a_qr_file_whose_path_is_a_directory_is_refused_and_nothing_is_enrolled() {
    let env = TestEnv::new();
    env.enroll("alice");
    let before = env.store_bytes();
    let dir = env.dir.path().join("images.png");
    fs::create_dir(&dir).unwrap();
    let out = env.run(&[
        "enroll",
        "bob",
        "--qr",
        "never",
        "--qr-file",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("images.png"), "{}", stderr(&out));
    assert_eq!(env.store_bytes(), before);
    env.json_status(&["show", "bob"], 4);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

unsafe extern "C" {
    fn geteuid() -> u32;
}

/// Runs `script` (with `$1`… the totpctl command line) in a private mount namespace,
/// where a root test can mount a small tmpfs without anyone else seeing it. `None`
/// when that is not possible here.
fn in_mount_namespace(env: &TestEnv, script: &str, args: &[&str]) -> Option<Output> {
    if !running_as_root() {
        return None;
    }
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(assert_cmd::cargo::cargo_bin("totpctl"))
        .args(args)
        .env_remove("TOTPCTL_KEY_FILE")
        .env_remove("TOTPCTL_PASSPHRASE")
        .env("HOME", env.dir.path().join("home"))
        .env("TOTPCTL_STORE", &env.store)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let err = stderr(&out);
    if err.contains("unshare:") || err.contains("mount:") {
        eprintln!("skipped: no private mount namespace here: {err}");
        return None;
    }
    Some(out)
}

/// A full disk: the import that does not fit fails with a clear line, and the store
/// is left as it was, still usable.
#[test]
fn a_full_disk_fails_the_import_cleanly() {
    if skip_on_postgres("about store files on disk (modes, a full disk)") {
        return;
    }
    let env = TestEnv::new();
    let dir = env.store.parent().unwrap().to_path_buf();
    fs::create_dir_all(&dir).unwrap();
    let mut lines = String::new();
    for i in 0..20_000 {
        lines.push_str(&format!(
            "otpauth://totp/user{i}?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n"
        ));
    }
    let file = env.dir.path().join("import.txt");
    fs::write(&file, lines).unwrap();
    let d = dir.display();
    // A 1 MiB file system holding the store: enough to enroll, too small for 20,000.
    let script = format!(
        "mount -t tmpfs -o size=1m,mode=0700 tmpfs '{d}' && \
         \"$@\" enroll alice --qr never --json > '{d}/../enrolled.json' && \
         \"$@\" import '{}' ; status=$?; \
         \"$@\" --json list > '{d}/../list.json' && \"$@\" log --check > /dev/null && \
         echo \"list ok\" >&2; exit $status",
        file.display()
    );
    let Some(out) = in_mount_namespace(&env, &script, &[]) else {
        return;
    };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is full"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("list ok"),
        "the store did not work after the failure: {err}"
    );
    let list = fs::read_to_string(env.dir.path().join("store/../list.json")).unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "only alice: {list}");
}

/// A store directory under a read-only mount: root is refused by the file system,
/// not by permission bits, so this is what an admin's read-only path does to root.
#[test]
fn a_store_directory_on_a_read_only_mount_cannot_be_created() {
    let env = TestEnv::new();
    let parent = env.dir.path().join("ro");
    fs::create_dir(&parent).unwrap();
    let store = parent.join("sub").join("totpctl.db");
    let script = format!(
        "mount --bind '{p}' '{p}' && mount -o remount,bind,ro '{p}' && exec \"$@\"",
        p = parent.display()
    );
    let args = [
        "--store",
        store.to_str().unwrap(),
        "enroll",
        "alice",
        "--qr",
        "never",
    ];
    let Some(out) = in_mount_namespace(&env, &script, &args) else {
        return;
    };
    assert_refused(&out, "cannot create the store's directory", "--store");
    assert_eq!(fs::read_dir(&parent).unwrap().count(), 0);
}
