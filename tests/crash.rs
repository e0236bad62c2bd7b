//! Crash safety (SPEC §4): a process killed with SIGKILL at any moment leaves a store
//! that opens, passes SQLite's integrity check and an unbroken audit chain, and in
//! which the interrupted operation happened completely or not at all.
//!
//! Two ways to choose the moment: a delay after the start (`Child::kill` is SIGKILL
//! on Unix), and, where strace is installed, the N-th call of a system call that
//! writes (`strace -e inject=SYSCALL:signal=KILL:when=N`), which reaches every write,
//! fsync, link and rename of a command deterministically. The default run samples a
//! few points of each; the reliability suite (scripts/reliability.sh) runs them all.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{T0, TestEnv, oathtool, parse_one_json, skip_on_postgres, stderr};

/// The system calls whose every call is a kill point.
const WRITE_SYSCALLS: &[&str] = &[
    "write",
    "pwrite64",
    "fsync",
    "fdatasync",
    "ftruncate",
    "linkat",
    "link",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "openat",
];

/// The binary with the environment [`TestEnv::cmd`] sets, reading `stdin` from a
/// file if given.
fn command(env: &TestEnv, args: &[&str], stdin: Option<&Path>) -> Command {
    let mut cmd = env.std_cmd();
    cmd.args(args);
    if let Some(p) = stdin {
        cmd.stdin(fs::File::open(p).expect("stdin file"));
    }
    cmd
}

/// A fresh environment holding a copy of `template`'s store directory.
fn copy_of(template: &TestEnv) -> TestEnv {
    let env = TestEnv::new();
    let from = template.store.parent().unwrap();
    let to = env.store.parent().unwrap();
    if from.exists() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let p = entry.unwrap().path();
            if p.is_file() {
                fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    env
}

/// Runs the command and kills it with SIGKILL after `delay`.
fn kill_after(env: &TestEnv, args: &[&str], stdin: Option<&Path>, delay: Duration) -> Output {
    let mut child = command(env, args, stdin).spawn().expect("spawn");
    std::thread::sleep(delay);
    let _ = child.kill();
    child.wait_with_output().expect("wait")
}

fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// How many times the command calls each of [`WRITE_SYSCALLS`], run on a copy.
fn syscall_counts(template: &TestEnv, args: &[&str], stdin: Option<&Path>) -> Vec<(String, usize)> {
    let env = copy_of(template);
    let trace = env.dir.path().join("trace");
    let mut cmd = under_strace(
        &env,
        args,
        stdin,
        &[
            "-o".into(),
            trace.display().to_string(),
            format!("-etrace={}", WRITE_SYSCALLS.join(",")),
        ],
    );
    let status = cmd.status().expect("run strace");
    assert!(status.success(), "{args:?} fails even without a kill");
    let text = fs::read_to_string(&trace).unwrap();
    WRITE_SYSCALLS
        .iter()
        .map(|s| {
            let needle = format!(" {s}(");
            let n = text.lines().filter(|l| l.contains(&needle)).count();
            (s.to_string(), n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Runs the command under strace, which kills it with SIGKILL as it enters the
/// `n`-th call of `syscall`.
fn kill_at_syscall(
    env: &TestEnv,
    args: &[&str],
    stdin: Option<&Path>,
    syscall: &str,
    n: usize,
) -> Output {
    under_strace(
        env,
        args,
        stdin,
        &[
            "-o".into(),
            "/dev/null".into(),
            format!("-etrace={syscall}"),
            format!("-einject={syscall}:signal=KILL:when={n}"),
        ],
    )
    .output()
    .expect("run strace")
}

/// The command of [`command`], run by strace with `options`.
fn under_strace(env: &TestEnv, args: &[&str], stdin: Option<&Path>, options: &[String]) -> Command {
    let inner = command(env, args, stdin);
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq"])
        .args(options)
        .arg(inner.get_program())
        .args(inner.get_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    match stdin {
        Some(p) => cmd.stdin(fs::File::open(p).unwrap()),
        None => cmd.stdin(Stdio::null()),
    };
    cmd
}

/// The kill points of a command: every call of every writing system call when `all`,
/// else about `sample` of them spread over the run.
fn kill_points(counts: &[(String, usize)], all: bool, sample: usize) -> Vec<(String, usize)> {
    let mut points: Vec<(String, usize)> = counts
        .iter()
        .flat_map(|(s, n)| (1..=*n).map(move |i| (s.clone(), i)))
        .collect();
    if !all && points.len() > sample {
        let step = points.len() as f64 / sample as f64;
        points = (0..sample)
            .map(|i| points[(i as f64 * step) as usize].clone())
            .collect();
    }
    points
}

/// What every killed command must leave: a store that the next command opens, that
/// SQLite finds intact, whose audit chain is unbroken and that has no orphan rows.
#[track_caller]
fn assert_store_sound(env: &TestEnv, context: &str) {
    if !env.store.exists() {
        return;
    }
    let out = env.run(&["--json", "list"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{context}: list after the kill: {}{}",
        common::stdout(&out),
        stderr(&out)
    );
    let out = env.run(&["log", "--check"]);
    assert!(
        out.status.success(),
        "{context}: log --check: {}",
        stderr(&out)
    );
    let conn = env.sqlite();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{context}");
    let orphans: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(orphans, 0, "{context}: orphan rows");
}

/// A store with alice verified (her backup codes returned) and bob enrolled.
struct Template {
    env: TestEnv,
    alice: String,
    bob: String,
    backup: Vec<String>,
}

fn template() -> Template {
    let env = TestEnv::new();
    let (alice, backup) = env.enroll_verified("alice", T0);
    let bob = env.enroll("bob");
    Template {
        env,
        alice: alice.secret,
        bob: bob.secret,
        backup,
    }
}

/// Kills `args` at every chosen point, each on a fresh copy of `template`, and runs
/// `check` on what is left.
fn at_every_point(
    template: &TestEnv,
    args: &[&str],
    stdin: Option<&Path>,
    all: bool,
    sample: usize,
    delays: &[u64],
    check: &dyn Fn(&TestEnv, &str),
) {
    for &ms in delays {
        let env = copy_of(template);
        kill_after(&env, args, stdin, Duration::from_millis(ms));
        let context = format!("{args:?} killed after {ms} ms");
        assert_store_sound(&env, &context);
        check(&env, &context);
    }
    if !all && sample == 0 {
        return;
    }
    if !strace_available() {
        eprintln!("strace is not installed: only delay-based kill points were tried");
        return;
    }
    let counts = syscall_counts(template, args, stdin);
    for (syscall, n) in kill_points(&counts, all, sample) {
        let env = copy_of(template);
        let out = kill_at_syscall(&env, args, stdin, &syscall, n);
        let context = format!("{args:?} killed at {syscall} #{n}");
        assert!(!out.status.success(), "{context}: was not killed");
        assert_store_sound(&env, &context);
        check(&env, &context);
    }
}

/// After a killed `enroll carol`: carol is either not there, or there whole, with a
/// secret that opens (a wrong code is rejected as incorrect, not as a key problem).
fn enroll_check(env: &TestEnv, context: &str) {
    let out = env.run(&["--json", "show", "carol"]);
    let events = env.json(&["log", "carol"]);
    let enrolled = events.as_array().unwrap().len();
    match out.status.code() {
        Some(4) => assert_eq!(enrolled, 0, "{context}: an event for a missing enrollment"),
        Some(0) => {
            assert_eq!(enrolled, 1, "{context}");
            let v = env.json_status(&["verify", "carol", "000000", "--at", "1764158400"], 1);
            assert!(
                v["reason"] == "totp_incorrect_code",
                "{context}: the secret of the enrollment does not open: {v}"
            );
        }
        other => panic!("{context}: show exited {other:?}: {}", stderr(&out)),
    }
    // The store goes on working: enrolling (again) succeeds.
    env.enroll("carol");
}

fn enroll_case(all: bool, sample: usize, delays: &[u64]) {
    let t = template();
    at_every_point(
        &t.env,
        &["--json", "enroll", "carol", "--qr", "never"],
        None,
        all,
        sample,
        delays,
        &enroll_check,
    );
}

#[test]
fn a_killed_enroll_leaves_all_or_nothing() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    enroll_case(false, 12, &[0, 5, 15]);
}

#[test]
#[ignore = "reliability suite: scripts/reliability.sh"]
fn a_killed_enroll_leaves_all_or_nothing_at_every_point() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    enroll_case(true, 0, &[0, 2, 4, 6, 8, 10, 15, 20, 30, 50]);
}

/// The first enroll of all also creates the store and its key file: a kill anywhere in
/// it must not leave a store the next enroll cannot use.
fn first_enroll_case(all: bool, sample: usize, delays: &[u64]) {
    let empty = TestEnv::new();
    at_every_point(
        &empty,
        &["--json", "enroll", "carol", "--qr", "never"],
        None,
        all,
        sample,
        delays,
        &|env, context| {
            if env.store.exists() {
                enroll_check(env, context);
            } else {
                env.enroll("carol");
            }
            let v = env.json(&["show", "carol"]);
            assert_eq!(v["account"], "carol", "{context}");
        },
    );
}

#[test]
fn a_killed_first_enroll_leaves_a_usable_store() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    first_enroll_case(false, 16, &[0, 10]);
}

/// Found by this test: a kill between creating the key file and writing its key left
/// an empty key file, and every later enroll failed with "not a totpctl key file".
#[test]
fn a_first_enroll_killed_while_writing_the_key_file_leaves_a_usable_store() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    if !strace_available() {
        eprintln!("skipped: strace is not installed");
        return;
    }
    let empty = TestEnv::new();
    // The first `write` of a first enroll is the key file's.
    let env = copy_of(&empty);
    kill_at_syscall(
        &env,
        &["--json", "enroll", "carol", "--qr", "never"],
        None,
        "write",
        1,
    );
    assert_store_sound(&env, "killed at the key file's write");
    env.enroll("carol");
}

#[test]
#[ignore = "reliability suite: scripts/reliability.sh"]
fn a_killed_first_enroll_leaves_a_usable_store_at_every_point() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    first_enroll_case(true, 0, &[0, 2, 4, 6, 8, 10, 15, 20, 30, 50]);
}

/// After a killed `backup-codes alice --count 4`: either the old set of 10 is whole
/// and an old code works, or the new set of 4 is in place and no old code works.
fn backup_codes_case(all: bool, sample: usize, delays: &[u64]) {
    let t = template();
    let old = t.backup.clone();
    at_every_point(
        &t.env,
        &["--json", "backup-codes", "alice", "--count", "4"],
        None,
        all,
        sample,
        delays,
        &|env, context| {
            let shown = env.json(&["show", "alice"]);
            let remaining = shown["backupCodesRemaining"].as_u64().unwrap();
            let out = env.run(&["--json", "verify", "alice", &old[3]]);
            match remaining {
                10 => assert_eq!(out.status.code(), Some(0), "{context}: old code refused"),
                4 => assert_eq!(out.status.code(), Some(1), "{context}: old code accepted"),
                n => panic!("{context}: {n} backup codes: a half-replaced set"),
            }
        },
    );
}

#[test]
fn a_killed_backup_codes_leaves_the_old_set_or_the_new_one() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    backup_codes_case(false, 10, &[0, 10]);
}

#[test]
#[ignore = "reliability suite: scripts/reliability.sh"]
fn a_killed_backup_codes_leaves_the_old_set_or_the_new_one_at_every_point() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    backup_codes_case(true, 0, &[0, 2, 4, 6, 8, 10, 15, 20, 30, 50]);
}

/// After a killed `rekey`: every account still verifies with its own secret.
fn rekey_case(all: bool, sample: usize, delays: &[u64]) {
    let t = template();
    let (alice, bob) = (t.alice.clone(), t.bob.clone());
    at_every_point(
        &t.env,
        &["--json", "rekey"],
        None,
        all,
        sample,
        delays,
        &|env, context| {
            let at = T0 + 300;
            for (account, secret) in [("alice", &alice), ("bob", &bob)] {
                let code = oathtool(secret, at, &[]);
                let out = env.run(&["--json", "verify", account, &code, "--at", &at.to_string()]);
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{context}: {account} no longer verifies: {}{}",
                    common::stdout(&out),
                    stderr(&out)
                );
            }
            // And the store can be rekeyed again.
            env.json(&["rekey"]);
            let code = oathtool(&alice, at + 30, &[]);
            env.json(&["verify", "alice", &code, "--at", &(at + 30).to_string()]);
        },
    );
}

#[test]
fn a_killed_rekey_loses_no_enrollment() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    rekey_case(false, 12, &[0, 10]);
}

#[test]
#[ignore = "reliability suite: scripts/reliability.sh"]
fn a_killed_rekey_loses_no_enrollment_at_every_point() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    rekey_case(true, 0, &[0, 2, 4, 6, 8, 10, 15, 20, 30, 50]);
}

const IMPORT_LINES: usize = 20_000;

/// Writes the import file: 20,000 accounts, each with its own secret.
fn import_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("import.txt");
    let mut text = String::with_capacity(IMPORT_LINES * 100);
    for i in 0..IMPORT_LINES {
        let secret =
            totpctl::domain::otp::encode_secret(format!("secret-of-user-{i:08}").as_bytes());
        text.push_str(&format!(
            "otpauth://totp/Acme:user{i}@example.com?secret={secret}&issuer=Acme\n"
        ));
    }
    fs::write(&path, text).unwrap();
    path
}

/// After a killed import: none of the 20,000 accounts, or all of them.
fn import_check(env: &TestEnv, context: &str) {
    let conn = env.sqlite();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let imported = count("SELECT count(*) FROM totps WHERE issuer = 'Acme'");
    let events = count("SELECT count(*) FROM events WHERE event = 'imported'");
    assert!(
        imported == 0 || imported == IMPORT_LINES as i64,
        "{context}: {imported} of {IMPORT_LINES} accounts imported"
    );
    assert_eq!(
        events, imported,
        "{context}: events and enrollments disagree"
    );
    assert_eq!(
        count("SELECT count(*) FROM totps WHERE issuer <> 'Acme'"),
        2
    );
    if imported > 0 {
        let secret = totpctl::domain::otp::encode_secret(b"secret-of-user-00012345");
        let code = oathtool(&secret, T0, &[]);
        env.json(&[
            "verify",
            "user12345@example.com",
            &code,
            "--at",
            &T0.to_string(),
        ]);
    }
}

/// How long a whole import takes here, to spread the delays over it (this is no
/// assertion on the time).
fn import_duration(template: &TestEnv, file: &Path) -> Duration {
    let env = copy_of(template);
    let start = Instant::now();
    let out = command(
        &env,
        &["--json", "import", &file.display().to_string()],
        None,
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = parse_one_json(&out.stdout);
    assert_eq!(v["imported"], IMPORT_LINES);
    start.elapsed()
}

fn import_case(delay_points: u32, all: bool, sample: usize) {
    let t = template();
    let file = import_file(t.env.dir.path());
    let full = import_duration(&t.env, &file);
    let delays: Vec<u64> = (0..delay_points)
        .map(|i| (full.as_millis() as u64 * u64::from(i)) / u64::from(delay_points.max(1)) + 1)
        .collect();
    let file_arg = file.display().to_string();
    at_every_point(
        &t.env,
        &["--json", "import", &file_arg],
        None,
        all,
        sample,
        &delays,
        &import_check,
    );
}

#[test]
fn a_killed_import_of_20000_lines_is_all_or_nothing() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    import_case(3, false, 0);
}

#[test]
#[ignore = "reliability suite: scripts/reliability.sh"]
fn a_killed_import_of_20000_lines_is_all_or_nothing_at_many_points() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    import_case(20, false, 40);
}

/// After a killed first `verify` of bob: either the code was accepted whole (bob is
/// verified, has his 10 backup codes, and the code is now a replay) or not at all
/// (bob is unverified, has none, and the code still works once).
fn verify_case(all: bool, sample: usize, delays: &[u64]) {
    let t = template();
    let at = T0 + 60;
    let code = oathtool(&t.bob, at, &[]);
    let at_s = at.to_string();
    at_every_point(
        &t.env,
        &["--json", "verify", "bob", &code, "--at", &at_s],
        None,
        all,
        sample,
        delays,
        &|env, context| {
            let shown = env.json(&["show", "bob"]);
            let retry = env.run(&["--json", "verify", "bob", &code, "--at", &at_s]);
            let v = parse_one_json(&retry.stdout);
            if shown["verified"] == true {
                assert_eq!(shown["backupCodesRemaining"], 10, "{context}: {shown}");
                assert_eq!(v["reason"], "totp_replayed_code", "{context}: {v}");
            } else {
                assert_eq!(shown["backupCodesRemaining"], 0, "{context}: {shown}");
                assert_eq!(v["valid"], true, "{context}: {v}");
                assert_eq!(
                    v["backupCodes"].as_array().map(Vec::len),
                    Some(10),
                    "{context}"
                );
            }
        },
    );
}

#[test]
fn a_killed_verify_accepts_the_code_whole_or_not_at_all() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    verify_case(false, 10, &[0, 10]);
}

#[test]
#[ignore = "reliability suite: scripts/reliability.sh"]
fn a_killed_verify_accepts_the_code_whole_or_not_at_all_at_every_point() {
    if skip_on_postgres(
        "kills at SQLite file system calls; tests/postgres.rs kills a client mid-import",
    ) {
        return;
    }
    verify_case(true, 0, &[0, 2, 4, 6, 8, 10, 15, 20, 30, 50]);
}
