//! `import --google-authenticator` (issue 12) against files made by the real
//! `google-authenticator` command (Debian's libpam-google-authenticator), with codes
//! from oathtool and the scratch codes read from the files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{T0, TestEnv, parse_one_json, stderr, stdout};
use serde_json::Value;

/// A file written by `google-authenticator FLAGS -s PATH -q`, with HOME in the
/// test's temporary directory.
#[track_caller]
fn ga_file(env: &TestEnv, name: &str, flags: &[&str]) -> PathBuf {
    let home = env.dir.path().join("ga-home");
    std::fs::create_dir_all(&home).unwrap();
    let path = env.dir.path().join(name);
    let out = Command::new("google-authenticator")
        .args(flags)
        .arg("-s")
        .arg(&path)
        .arg("-q")
        .env("HOME", &home)
        .stdin(Stdio::null())
        .output()
        .expect("google-authenticator is installed (Debian package libpam-google-authenticator)");
    assert!(
        out.status.success() && path.exists(),
        "google-authenticator {flags:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// The secret (first line) and the scratch codes (eight-digit lines) of a file.
fn contents(path: &Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let secret = lines.next().unwrap().to_string();
    let scratch = lines
        .filter(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    (secret, scratch)
}

/// The TOTP code of `secret` at `at` with `period`, from oathtool.
fn code(secret: &str, at: i64, period: u32) -> String {
    common::oathtool(secret, at, &[&format!("--time-step-size={period}s")])
}

fn import(env: &TestEnv, files: &[&Path], flags: &[&str]) -> Output {
    env.cmd()
        .arg("import")
        .arg("--google-authenticator")
        .args(files)
        .args(flags)
        .output()
        .unwrap()
}

#[track_caller]
fn import_json(env: &TestEnv, files: &[&Path], flags: &[&str]) -> Value {
    let out = env
        .cmd()
        .args(["--json", "import", "--google-authenticator"])
        .args(files)
        .args(flags)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    parse_one_json(&out.stdout)
}

#[track_caller]
fn verify(env: &TestEnv, account: &str, code: &str, at: i64) -> Value {
    let out = env
        .cmd()
        .args(["--json", "verify", account, code, "--at", &at.to_string()])
        .output()
        .unwrap();
    parse_one_json(&out.stdout)
}

/// The options listed as not carried over for `account` in an import's JSON.
fn not_carried(view: &Value, account: &str) -> Vec<String> {
    view["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == account)
        .unwrap_or_else(|| panic!("{account} in {view}"))["notCarriedOver"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            assert!(!n["instead"].as_str().unwrap().is_empty(), "{n}");
            n["option"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Refuses with exit 2, names every path in `named`, and imports nothing (no store).
#[track_caller]
fn assert_refused_all(env: &TestEnv, out: &Output, named: &[(&Path, &str)]) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}\nstderr: {err}",
        stdout(out)
    );
    assert!(err.contains("nothing was imported"), "{err}");
    for (path, why) in named {
        let line = err
            .lines()
            .find(|l| l.contains(&*path.to_string_lossy()) && l.contains(why))
            .unwrap_or_else(|| panic!("no line names {} with {why:?}: {err}", path.display()));
        assert!(line.starts_with("totpctl: "), "{line}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!env.store_exists(), "a refused import created the store");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    nix::unistd::geteuid().is_root()
}

/// Gives `path` to the OS user `user` (needs root).
fn chown(path: &Path, user: &str) {
    let out = Command::new("id").args(["-u", user]).output().unwrap();
    let uid: u32 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::os::unix::fs::chown(path, Some(uid), None).unwrap();
}

#[test]
fn a_real_file_comes_over_with_its_codes_and_scratch_codes() {
    let env = TestEnv::new();
    let file = ga_file(
        &env,
        "alice",
        &["-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3"],
    );
    let (secret, scratch) = contents(&file);
    assert_eq!(
        scratch.len(),
        5,
        "google-authenticator writes five by default"
    );

    let view = import_json(&env, &[&file], &["--account", "alice"]);
    assert_eq!(view["imported"], 1, "{view}");
    assert_eq!(view["dryRun"], false);
    let account = &view["accounts"][0];
    assert_eq!(account["file"], file.to_str().unwrap());
    assert_eq!(account["backupCodes"], 5);
    // Issue 18: WINDOW_SIZE 3 (one code either side) and DISALLOW_REUSE are what
    // totpctl does with its default window, so only the rate limit is not carried.
    assert_eq!(not_carried(&view, "alice"), ["RATE_LIMIT 3 30"]);

    let show = env.json(&["show", "alice"]);
    assert_eq!(show["verified"], true);
    assert_eq!(show["algorithm"], "SHA1");
    assert_eq!(show["digits"], 6);
    assert_eq!(show["period"], 30);
    assert_eq!(show["backupCodesRemaining"], 5);

    // A TOTP code from oathtool works once.
    let c = code(&secret, T0, 30);
    let v = verify(&env, "alice", &c, T0);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["codeType"], "totp");
    let v = verify(&env, "alice", &c, T0);
    assert_eq!(v["reason"], "totp_replayed_code", "{v}");

    // Each scratch code works once, as a backup code.
    for (used, s) in scratch.iter().enumerate() {
        let v = verify(&env, "alice", s, T0);
        assert_eq!(v["valid"], true, "scratch code {used}: {v}");
        assert_eq!(v["codeType"], "backup_code");
        assert_eq!(v["backupCodesRemaining"], 4 - used);
        let again = verify(&env, "alice", s, T0);
        assert_eq!(
            again["valid"], false,
            "a scratch code worked twice: {again}"
        );
    }
    assert_eq!(env.json(&["show", "alice"])["backupCodesRemaining"], 0);

    // The audit trail says where the account came from.
    let log = env.json(&["log", "alice"]);
    let imported = &log[0];
    assert_eq!(imported["event"], "imported", "{log}");
    assert_eq!(imported["detail"]["source"], "google-authenticator");
    assert_eq!(imported["detail"]["file"], file.to_str().unwrap());
    assert_eq!(imported["detail"]["backupCodes"], 5);

    // Neither the secret nor a scratch code is in the store in the clear.
    let bytes = String::from_utf8_lossy(&env.store_bytes()).into_owned();
    assert!(!bytes.contains(&secret));
    for s in &scratch {
        assert!(!bytes.contains(s.as_str()));
    }
}

#[test]
fn step_size_window_and_reuse_are_kept_or_listed() {
    let env = TestEnv::new();
    let slow = ga_file(
        &env,
        "slow",
        &["-t", "-D", "-f", "-S", "60", "-W", "-u", "-e", "10"],
    );
    let wide = ga_file(
        &env,
        "wide",
        &["-t", "-d", "-f", "-u", "-w", "17", "-e", "3"],
    );
    let (slow_secret, slow_scratch) = contents(&slow);
    assert_eq!(slow_scratch.len(), 10);

    let view = import_json(&env, &[&slow], &["--account", "slow"]);
    // The step is kept (the enrollment's period) and a 3-code window is the store's:
    // neither is listed as lost; reuse allowed is, as totpctl never allows it.
    let notes = not_carried(&view, "slow");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("no DISALLOW_REUSE"), "{notes:?}");
    let view = import_json(&env, &[&wide], &["--account", "wide"]);
    assert_eq!(not_carried(&view, "wide"), ["WINDOW_SIZE 17"]);
    let instead = view["accounts"][0]["notCarriedOver"][0]["instead"]
        .as_str()
        .unwrap();
    assert!(instead.contains("8 before to 8 after"), "{instead}");
    assert!(instead.contains("config window"), "{instead}");

    // STEP_SIZE 60 is the enrollment's period: 60-second codes from oathtool work.
    assert_eq!(env.json(&["show", "slow"])["period"], 60);
    let at = T0 + 600;
    let v = verify(&env, "slow", &code(&slow_secret, at, 60), at);
    assert_eq!(v["valid"], true, "{v}");
    let v = verify(&env, "slow", &code(&slow_secret, at + 60, 30), at + 60);
    assert_eq!(
        v["valid"], false,
        "a 30-second code on a 60-second enrollment: {v}"
    );
    assert_eq!(env.json(&["show", "wide"])["backupCodesRemaining"], 3);

    // People read the same list.
    let env2 = TestEnv::new();
    let out = import(&env2, &[&wide], &["--account", "wide"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Imported 1 account"), "{text}");
    assert!(text.contains("not carried over: WINDOW_SIZE 17"), "{text}");
    assert!(!text.contains("DISALLOW_REUSE"), "{text}");
    // Issue 18: an import that makes the store says where it and its key are.
    assert!(
        text.contains(&format!("New store: {}", env2.store.display())),
        "{text}"
    );
    if env2.database.is_none() {
        assert!(
            text.contains(&format!("New key file: {}", env2.key_file().display())),
            "{text}"
        );
    }
}

#[test]
fn counter_based_files_are_refused() {
    let env = TestEnv::new();
    let hotp = ga_file(&env, "hotp", &["-c", "-f", "-u", "-w", "3"]);
    assert!(
        std::fs::read_to_string(&hotp)
            .unwrap()
            .contains("HOTP_COUNTER")
    );
    let out = import(&env, &[&hotp], &["--account", "h"]);
    assert_refused_all(&env, &out, &[(&hotp, "counter-based")]);
}

#[test]
fn malformed_files_are_refused_each_named_with_every_problem() {
    let env = TestEnv::new();
    let good = ga_file(&env, "good", &["-t", "-d", "-f", "-u", "-w", "3"]);
    let text = std::fs::read_to_string(&good).unwrap();
    let (secret, scratch) = contents(&good);
    let write = |name: &str, body: &str| {
        let p = env.dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let short_scratch = write(
        "short-scratch",
        &text.replace(&scratch[0], &scratch[0][..7]),
    );
    let bad_secret = write("bad-secret", &text.replacen(&secret, "not a secret!", 1));
    let weak = write("weak", &text.replacen(&secret, "JBSWY3DPEHPK3PX", 1));
    let huge = write("huge", &text.replacen(&secret, &"A".repeat(120), 1));
    let garbage = write("garbage", &format!("{text}hello world\n"));
    let empty = write("empty", "");
    let oversized = write(
        "oversized",
        &format!("{text}\" NOTE {}\n", "x".repeat(70_000)),
    );
    let no_totp = write("no-totp", &text.replace("\" TOTP_AUTH\n", ""));
    let directory = env.dir.path().join("a-directory");
    std::fs::create_dir(&directory).unwrap();
    let link = env.dir.path().join("a-link");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    let missing = env.dir.path().join("missing");

    let files = [
        &short_scratch,
        &bad_secret,
        &weak,
        &huge,
        &garbage,
        &empty,
        &oversized,
        &no_totp,
        &directory,
        &link,
        &missing,
    ];
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let out = import(&env, &paths, &[]);
    assert_refused_all(
        &env,
        &out,
        &[
            (&short_scratch, "eight digits"),
            (&bad_secret, "not base32"),
            (&weak, "at least 80"),
            (&huge, "at most 64"),
            (&garbage, "neither an option"),
            (&empty, "empty"),
            (&oversized, "65536 at most"),
            (&no_totp, "no TOTP_AUTH"),
            (&directory, "not a regular file"),
            (&link, "symbolic link"),
            (&missing, "does not exist"),
        ],
    );
    // No secret or scratch code is quoted.
    let err = stderr(&out);
    assert!(!err.contains(&secret[..8]), "{err}");
    assert!(!err.contains(&scratch[0][..7]), "{err}");
    // With --json, the one error carries every problem.
    let out = env
        .cmd()
        .args(["--json", "import", "--google-authenticator"])
        .args(&paths)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = parse_one_json(&out.stdout);
    let message = v["error"]["message"].as_str().unwrap();
    for p in &paths {
        assert!(message.contains(&*p.to_string_lossy()), "{message}");
    }
    assert!(!env.store_exists());
}

#[test]
fn account_flag_is_for_one_file_and_existing_accounts_are_refused() {
    let env = TestEnv::new();
    let a = ga_file(&env, "a", &["-t", "-d", "-f", "-u", "-w", "3"]);
    let b = ga_file(&env, "b", &["-t", "-d", "-f", "-u", "-w", "3"]);
    let out = import(&env, &[&a, &b], &["--account", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--account"), "{}", stderr(&out));
    assert!(!env.store_exists());

    env.enroll("alice");
    let out = import(&env, &[&a], &["--account", "alice"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("already enrolled"),
        "{}",
        stderr(&out)
    );
    let view = import_json(&env, &[&a], &["--account", "alice", "--skip-existing"]);
    assert_eq!(view["skipped"], 1, "{view}");
    assert_eq!(view["imported"], 0);
}

#[test]
fn a_dry_run_checks_everything_and_changes_nothing() {
    let env = TestEnv::new();
    let a = ga_file(
        &env,
        "a",
        &["-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3"],
    );
    // Without a store, a dry run does not create one.
    let view = import_json(&env, &[&a], &["--account", "alice", "--dry-run"]);
    assert_eq!(view["dryRun"], true);
    assert_eq!(view["imported"], 1);
    assert_eq!(view["accounts"][0]["status"], "would_import");
    assert_eq!(not_carried(&view, "alice"), ["RATE_LIMIT 3 30"]);
    assert!(!env.store_exists(), "a dry run created the store");

    env.enroll("bob");
    let before = env.store_bytes();
    let log_before = env.json(&["log"]);
    let out = import(&env, &[&a], &["--account", "alice", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("dry run"), "{}", stdout(&out));
    assert_eq!(env.accounts(&[]), ["bob"]);
    assert_eq!(env.json(&["log"]), log_before);
    assert!(env.store_bytes() == before, "a dry run changed the store");

    // A dry run reports problems as the real run would.
    let hotp = ga_file(&env, "hotp", &["-c", "-f", "-u", "-w", "3"]);
    let out = import(&env, &[&a, &hotp], &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("counter-based"), "{}", stderr(&out));
}

#[test]
fn eight_digit_codes_on_an_eight_digit_enrollment_stay_totp_codes() {
    let env = TestEnv::new();
    let e = env.enroll_with("eight", &["--digits", "8"]);
    let c = common::oathtool(&e.secret, T0, &["--digits=8"]);
    let v = verify(&env, "eight", &c, T0);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["codeType"], "totp");
}

#[test]
fn several_users_files_in_one_run_each_become_their_owner() {
    if !is_root() {
        eprintln!("skipped: importing several owners' files needs root (chown)");
        return;
    }
    let env = TestEnv::new();
    let users = ["daemon", "bin", "sys"];
    let files: Vec<PathBuf> = users
        .iter()
        .map(|u| {
            let f = ga_file(
                &env,
                u,
                &["-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3"],
            );
            chown(&f, u);
            f
        })
        .collect();
    let hotp = ga_file(&env, "hotp", &["-c", "-f", "-u", "-w", "3"]);
    chown(&hotp, "nobody");
    let broken = env.dir.path().join("broken");
    std::fs::write(
        &broken,
        "JBSWY3DPEHPK3PXPJBSWY3DP\n\" TOTP_AUTH\n\" WINDOW_SIZE x\n",
    )
    .unwrap();
    chown(&broken, "games");
    // Two files of one owner.
    let twice = ga_file(&env, "twice", &["-t", "-d", "-f", "-u", "-w", "3"]);
    chown(&twice, "daemon");

    let mut all: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    all.extend([hotp.as_path(), broken.as_path(), twice.as_path()]);
    let out = import(&env, &all, &[]);
    assert_refused_all(
        &env,
        &out,
        &[
            (&hotp, "counter-based"),
            (&broken, "WINDOW_SIZE must be a number"),
            (&twice, "'daemon' comes from"),
        ],
    );
    assert!(
        stderr(&out).contains("3 problems in the 6 files"),
        "{}",
        stderr(&out)
    );

    // Without the bad ones, every user comes over at once.
    let good: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let view = import_json(&env, &good, &[]);
    assert_eq!(view["imported"], 3, "{view}");
    assert_eq!(env.accounts(&[]), ["bin", "daemon", "sys"]);
    for (user, file) in users.iter().zip(&files) {
        let (secret, scratch) = contents(file);
        let v = verify(&env, user, &code(&secret, T0, 30), T0);
        assert_eq!(v["valid"], true, "{user}: {v}");
        let v = verify(&env, user, &scratch[2], T0);
        assert_eq!(v["valid"], true, "{user}: {v}");
        let v = verify(&env, user, &scratch[2], T0);
        assert_eq!(
            v["valid"], false,
            "{user}: a scratch code worked twice: {v}"
        );
    }
}

#[test]
fn codes_the_file_lists_as_used_stay_refused() {
    let env = TestEnv::new();
    let file = ga_file(&env, "used", &["-t", "-d", "-f", "-u", "-w", "3"]);
    let (secret, _) = contents(&file);
    // google-authenticator records the steps of the codes used lately.
    let step = T0 / 30;
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "\" DISALLOW_REUSE\n",
        &format!("\" DISALLOW_REUSE {} {step}\n", step - 1),
    );
    let copy = env.dir.path().join("used-copy");
    std::fs::write(&copy, text).unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let view = import_json(&env, &[&copy], &["--account", "u"]);
    // The copy is readable by others, which is said too.
    assert_eq!(not_carried(&view, "u"), ["file mode 0644"]);
    let v = verify(&env, "u", &code(&secret, T0, 30), T0);
    assert_eq!(
        v["reason"], "totp_replayed_code",
        "a code used before the import worked: {v}"
    );
    let v = verify(&env, "u", &code(&secret, T0 + 30, 30), T0 + 30);
    assert_eq!(v["valid"], true, "{v}");
}

#[test]
fn the_commands_the_import_suggests_paste_as_they_are() {
    // Every suggested command names the store (not the default one here) and the
    // account, quoted for the shell.
    let env = TestEnv::new();
    let prefix = format!("totpctl --store {}", env.store.display());
    let hotp = ga_file(&env, "hotp", &["-c", "-f", "-u", "-w", "3"]);
    let out = import(&env, &[&hotp], &["--account", "o'brien"]);
    let afresh = format!("enroll this user afresh with: {prefix} enroll 'o'\\''brien'");
    assert_refused_all(&env, &out, &[(&hotp, &afresh)]);

    let limited = ga_file(
        &env,
        "limited",
        &[
            "-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "17", "-e", "3",
        ],
    );
    let view = import_json(&env, &[&limited], &["--account", "limited"]);
    let instead: Vec<&str> = view["accounts"][0]["notCarriedOver"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["instead"].as_str().unwrap())
        .collect();
    for key in ["window", "lockout-attempts", "lockout-seconds"] {
        let command = format!("{prefix} config {key} N");
        assert!(
            instead.iter().any(|i| i.contains(&command)),
            "{command:?} in {instead:?}"
        );
    }
    assert!(
        !instead.iter().any(|i| i.contains("'totpctl ")),
        "{instead:?}"
    );
}
