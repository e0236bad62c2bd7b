//! Files as OpenSSH's StrictModes checks them (issue 17): the store, its journal
//! files, the key file, this host's state, and every directory from the root down to
//! each must be owned by the user or root and writable by no one else (a sticky
//! directory excepted, as /tmp); a symbolic link is resolved and its target checked;
//! and the file SQLite opens is the file that was checked. Each refusal names the
//! file and its fix, and changes nothing. SQLite files only: a server's files are the
//! server's.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use common::{T0, TestEnv, oathtool, skip_on_postgres, stderr};

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The uid of `nobody`, to own a planted file.
const NOBODY: u32 = 65534;

#[track_caller]
fn refused(env: &TestEnv, args: &[&str], names: &[&str]) {
    let out = env.run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    for n in names {
        assert!(err.contains(n), "{args:?}: should name {n:?}: {err}");
    }
}

#[test]
fn a_store_reached_through_a_link_is_checked_where_it_is() {
    if skip_on_postgres("SQLite files and their directories") {
        return;
    }
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    // The real store moves to a directory of its own; the old path becomes a link.
    let real_dir = env.dir.path().join("real");
    fs::create_dir(&real_dir).unwrap();
    chmod(&real_dir, 0o700);
    let real = real_dir.join("totpctl.db");
    fs::rename(&env.store, &real).unwrap();
    symlink(&real, &env.store).unwrap();
    let code = oathtool(&alice.secret, T0 + 30, &[]);
    let t = (T0 + 30).to_string();
    let out = env.run(&["verify", "alice", &code, "--at", &t]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A write-ahead log planted beside the real file by someone else, writable by all:
    // it is the target's directory that counts, not the link's.
    let wal = real_dir.join("totpctl.db-wal");
    let _ = fs::remove_file(&wal);
    fs::write(&wal, b"").unwrap();
    chmod(&wal, 0o666);
    nix::unistd::chown(&wal, Some(nix::unistd::Uid::from_raw(NOBODY)), None).unwrap();
    refused(&env, &["list"], &["totpctl.db-wal"]);
    fs::remove_file(&wal).unwrap();
    // The target's directory open to others: refused, though the link's is private.
    chmod(&real_dir, 0o777);
    refused(&env, &["list"], &["real", "chmod go-w"]);
    chmod(&real_dir, 0o700);
    env.json(&["list"]);
}

#[test]
fn a_world_writable_directory_anywhere_above_is_refused_unless_sticky() {
    if skip_on_postgres("SQLite files and their directories") {
        return;
    }
    let env = TestEnv::new();
    let top = env.dir.path().join("top");
    let store = top.join("mid").join("store").join("totpctl.db");
    fs::create_dir_all(store.parent().unwrap()).unwrap();
    chmod(store.parent().unwrap(), 0o700);
    let s = store.to_str().unwrap();
    env.json(&["--store", s, "enroll", "alice", "--qr", "never"]);
    chmod(&top, 0o777);
    refused(&env, &["--store", s, "list"], &["top", "writable"]);
    refused(
        &env,
        &["--store", s, "enroll", "bob", "--qr", "never"],
        &["top"],
    );
    // Sticky, as /tmp is: no one can replace what another put in it.
    chmod(&top, 0o1777);
    env.json(&["--store", s, "list"]);
    // Not the store's own directory, where SQLite makes its journal files by name.
    chmod(store.parent().unwrap(), 0o1777);
    refused(&env, &["--store", s, "list"], &["store"]);
    chmod(store.parent().unwrap(), 0o700);
    // A store refused before it exists leaves nothing behind.
    chmod(&top, 0o777);
    let new = top.join("mid").join("new").join("totpctl.db");
    refused(
        &env,
        &[
            "--store",
            new.to_str().unwrap(),
            "enroll",
            "carol",
            "--qr",
            "never",
        ],
        &["top"],
    );
    assert!(!new.parent().unwrap().exists());
}

#[test]
fn a_planted_rollback_journal_and_a_loose_key_directory_are_refused() {
    if skip_on_postgres("SQLite files and their directories") {
        return;
    }
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let mut journal = env.store.as_os_str().to_owned();
    journal.push("-journal");
    fs::write(&journal, b"").unwrap();
    chmod(Path::new(&journal), 0o666);
    refused(&env, &["list"], &["-journal"]);
    fs::remove_file(&journal).unwrap();
    // A key file elsewhere, in a directory others can write: they could swap it.
    let keys = env.dir.path().join("keys");
    fs::create_dir(&keys).unwrap();
    fs::copy(env.key_file(), keys.join("k")).unwrap();
    chmod(&keys.join("k"), 0o600);
    chmod(&keys, 0o777);
    let key = keys.join("k");
    refused(
        &env,
        &["--key", key.to_str().unwrap(), "verify", "alice", "123456"],
        &["key file's directory", "chmod go-w"],
    );
    chmod(&keys, 0o700);
    let out = env.run(&["--key", key.to_str().unwrap(), "unlock", "alice"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn the_hosts_state_is_checked_like_the_key_file() {
    if skip_on_postgres("files of this host") {
        return;
    }
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let state = env.store.parent().unwrap().join("totpctl-state");
    assert!(state.is_dir(), "the state directory is beside the key file");
    assert_eq!(
        fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o700
    );
    chmod(&state, 0o777);
    refused(&env, &["unlock", "alice"], &["totpctl-state"]);
    chmod(&state, 0o700);
    env.json(&["unlock", "alice"]);
}
