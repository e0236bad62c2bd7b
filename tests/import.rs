//! `import` (SPEC §2, issue 4): otpauth:// URIs one a line, all or nothing, errors
//! that name their line, weak secrets with a warning, parameters honoured.

mod common;

use std::fmt::Write as _;
use std::process::Output;

use common::{T0, TestEnv, parse_one_json, stderr, stdout};
use serde_json::Value;

const S1: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"; // 160 bits
const S2: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // 160 bits
const WEAK: &str = "JBSWY3DPEHPK3PXP"; // 80 bits

fn import(env: &TestEnv, text: &str, flags: &[&str]) -> Output {
    env.cmd()
        .arg("import")
        .arg("-")
        .args(flags)
        .write_stdin(text.to_string())
        .output()
        .unwrap()
}

#[track_caller]
fn import_json(env: &TestEnv, text: &str, flags: &[&str], status: i32) -> Value {
    let out = env
        .cmd()
        .args(["--json", "import", "-"])
        .args(flags)
        .write_stdin(text.to_string())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(status),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    parse_one_json(&out.stdout)
}

/// A TOTP code from oathtool with the given parameters.
fn code(secret: &str, at: i64, algorithm: &str, digits: u8, period: u32) -> String {
    let out = std::process::Command::new("oathtool")
        .arg(format!("--totp={algorithm}"))
        .arg(format!("--digits={digits}"))
        .arg(format!("--time-step-size={period}s"))
        .arg("-b")
        .arg(format!("--now=@{at}"))
        .arg(secret)
        .output()
        .expect("oathtool");
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[track_caller]
fn accepts(env: &TestEnv, account: &str, code: &str, at: i64) {
    let v = env.json(&["verify", account, code, "--at", &at.to_string()]);
    assert_eq!(v["valid"], true, "{v}");
}

fn accounts(env: &TestEnv) -> Vec<String> {
    env.accounts(&[])
}

#[test]
fn a_clean_file_with_comments_and_blank_lines_goes_in() {
    let env = TestEnv::new();
    let file = env.dir.path().join("export.txt");
    std::fs::write(
        &file,
        format!(
            "# exported from elsewhere\n\n\
             otpauth://totp/Acme:alice@example.com?secret={S1}&issuer=Acme\n\
             \t\n\
             otpauth://totp/bob?secret={S2}\r\n\
             # the end\n"
        ),
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["--json", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = parse_one_json(&out.stdout);
    assert_eq!(v["imported"], 2, "{v}");
    assert_eq!(v["skipped"], 0);
    assert_eq!(v["weakSecrets"], 0);
    assert!(stderr(&out).is_empty(), "no warning: {}", stderr(&out));
    assert_eq!(accounts(&env), ["alice@example.com", "bob"]);
    accepts(&env, "alice@example.com", &code(S1, T0, "sha1", 6, 30), T0);
    accepts(&env, "bob", &code(S2, T0, "sha1", 6, 30), T0);
    // Imported TOTPs count as verified.
    assert_eq!(env.json(&["show", "bob"])["verified"], true);
    // People get a one-line summary.
    let env2 = TestEnv::new();
    let out = env2.cmd().arg("import").arg(&file).output().unwrap();
    assert!(
        stdout(&out).contains("Imported 2 accounts"),
        "{}",
        stdout(&out)
    );
    // With no progress bar or stray escapes when stderr is not a terminal.
    assert!(!stderr(&out).contains('\u{1b}') && !stderr(&out).contains('\r'));
}

#[test]
fn a_bad_line_names_its_number_and_nothing_is_imported() {
    let cases = [
        ("otpauth://totp/x?secret=NOT-BASE32!", "base32"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PX1", "base32"),
        (
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
            "algorithm",
        ),
        (
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9",
            "digits",
        ),
        (
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=5",
            "digits",
        ),
        (
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=six",
            "digits",
        ),
        (
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0",
            "period",
        ),
        (
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=86400",
            "period",
        ),
        ("otpauth://totp/?secret=JBSWY3DPEHPK3PXP", "account"),
        ("otpauth://totp/Acme:?secret=JBSWY3DPEHPK3PXP", "account"),
        ("otpauth://totp/x", "secret"),
        ("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1", "HOTP"),
        ("https://example.com/x?secret=JBSWY3DPEHPK3PXP", "otpauth"),
        ("alice JBSWY3DPEHPK3PXP", "otpauth"),
        (
            "otpauth://totp/A:x?secret=JBSWY3DPEHPK3PXP&issuer=B",
            "issuer",
        ),
        ("otpauth://totp/first?secret=JBSWY3DPEHPK3PXP", "twice"),
    ];
    for (bad, reason) in cases {
        let env = TestEnv::new();
        // An existing store: nothing may go into it (into a new store, nothing is
        // even made: see a_refused_import_into_a_new_store_creates_nothing).
        env.create_store();
        let text = format!(
            "# header\n\
             otpauth://totp/first?secret={S1}\n\
             \n\
             otpauth://totp/second?secret={S2}\n\
             {bad}\n\
             otpauth://totp/third?secret={S1}\n"
        );
        let out = import(&env, &text, &[]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("line 5"), "{bad}: {err}");
        assert!(
            err.to_lowercase().contains(&reason.to_lowercase()),
            "{bad}: {err}"
        );
        assert!(err.contains("nothing was imported"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            !err.contains(S1) && !err.contains(S2),
            "no secret in errors: {err}"
        );
        assert!(stdout(&out).is_empty());
        let e = import_json(&env, &text, &[], 2);
        assert_eq!(e["error"]["code"], "invalid_argument", "{e}");
        // Nothing went in, and nothing was logged as imported.
        assert!(accounts(&env).is_empty(), "{bad}");
        let log = env.json(&["log"]);
        assert!(
            !log.as_array()
                .unwrap()
                .iter()
                .any(|e| e["event"] == "imported"),
            "{log}"
        );
    }
}

#[test]
fn an_80_bit_secret_is_accepted_with_a_warning() {
    let env = TestEnv::new();
    let out = import(
        &env,
        &format!("otpauth://totp/GitHub:octocat?secret={WEAK}&issuer=GitHub\n"),
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning") && err.contains("80 bits"), "{err}");
    assert!(err.contains("line 1") && err.contains("octocat"), "{err}");
    assert!(!err.contains(WEAK), "{err}");
    assert!(stdout(&out).contains("weak"), "{}", stdout(&out));
    accepts(&env, "octocat", &code(WEAK, T0, "sha1", 6, 30), T0);

    let env = TestEnv::new();
    let v = import_json(&env, &format!("otpauth://totp/a?secret={WEAK}\n"), &[], 0);
    assert_eq!(v["weakSecrets"], 1, "{v}");
}

#[test]
fn an_existing_account_fails_the_whole_import_unless_skip_existing() {
    let env = TestEnv::new();
    let bob = env.enroll("bob");
    let text = format!(
        "otpauth://totp/alice?secret={S1}\n\
         otpauth://totp/bob?secret={S2}\n\
         otpauth://totp/carol?secret={S1}\n"
    );
    let out = import(&env, &text, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("line 2") && err.contains("--skip-existing"),
        "{err}"
    );
    assert_eq!(accounts(&env), ["bob"]);

    let v = import_json(&env, &text, &["--skip-existing"], 0);
    assert_eq!(
        (v["imported"].clone(), v["skipped"].clone()),
        (2.into(), 1.into()),
        "{v}"
    );
    assert_eq!(accounts(&env), ["alice", "bob", "carol"]);
    // bob kept his own secret and stays unverified.
    assert_eq!(env.json(&["show", "bob"])["verified"], false);
    accepts(&env, "bob", &code(&bob.secret, T0, "sha1", 6, 30), T0);
    // Running it again skips everything.
    let v = import_json(&env, &text, &["--skip-existing"], 0);
    assert_eq!(
        (v["imported"].clone(), v["skipped"].clone()),
        (0.into(), 3.into()),
        "{v}"
    );
}

#[test]
fn unverified_imports_wait_for_their_first_code() {
    let env = TestEnv::new();
    let v = import_json(
        &env,
        &format!("otpauth://totp/a?secret={S1}\n"),
        &["--unverified"],
        0,
    );
    assert_eq!(v["verified"], false);
    let t = env.json(&["show", "a"]);
    assert_eq!(t["verified"], false);
    let e = env.json_status(&["backup-codes", "a"], 2);
    assert_eq!(e["error"]["code"], "backup_codes_not_available");
    let v = env.json(&[
        "verify",
        "a",
        &code(S1, T0, "sha1", 6, 30),
        "--at",
        &T0.to_string(),
    ]);
    assert_eq!(v["verified"], true);
    assert_eq!(v["backupCodes"].as_array().map(Vec::len), Some(10), "{v}");
    assert_eq!(env.json(&["list", "--unverified"]), serde_json::json!([]));
}

#[test]
fn issuer_comes_from_the_parameter_or_the_label_prefix() {
    let env = TestEnv::new();
    env.set("issuer", "Home");
    let text = format!(
        "otpauth://totp/Acme%20Corp:alice%40example.com?secret={S1}\n\
         otpauth://totp/bob?secret={S1}&issuer=Param%20Co\n\
         otpauth://totp/Same:carol?secret={S1}&issuer=Same\n\
         otpauth://totp/dave?secret={S1}\n"
    );
    import_json(&env, &text, &[], 0);
    let issuers: Vec<(String, String)> = env
        .json(&["list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["account"].as_str().unwrap().into(),
                t["issuer"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("alice@example.com", "Acme Corp"),
        ("bob", "Param Co"),
        ("carol", "Same"),
        ("dave", "Home"),
    ];
    assert_eq!(
        issuers,
        want.map(|(a, i)| (a.to_string(), i.to_string())).to_vec()
    );
    assert_eq!(
        env.json(&["list", "--issuer", "Acme Corp"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn algorithm_digits_and_period_are_honoured() {
    let env = TestEnv::new();
    let text = format!(
        "otpauth://totp/a?secret={S1}&algorithm=SHA256&digits=8&period=60\n\
         otpauth://totp/b?secret={S2}&algorithm=sha512&digits=7&period=15\n\
         otpauth://totp/c?secret={S1}&algorithm=SHA1&digits=6&period=30\n\
         otpauth://totp/d?secret={}\n",
        S2.to_lowercase()
    );
    import_json(&env, &text, &[], 0);
    let a = env.json(&["show", "a"]);
    assert_eq!(
        (&a["algorithm"], &a["digits"], &a["period"]),
        (&"SHA256".into(), &8.into(), &60.into())
    );
    let b = env.json(&["show", "b"]);
    assert_eq!(
        (&b["algorithm"], &b["digits"], &b["period"]),
        (&"SHA512".into(), &7.into(), &15.into())
    );
    accepts(&env, "a", &code(S1, T0, "sha256", 8, 60), T0);
    accepts(&env, "b", &code(S2, T0, "sha512", 7, 15), T0);
    accepts(&env, "c", &code(S1, T0, "sha1", 6, 30), T0);
    accepts(&env, "d", &code(S2, T0, "sha1", 6, 30), T0);
    // A SHA-1 code is not a SHA-256 one.
    let v = env.json_status(
        &[
            "verify",
            "a",
            &code(S1, T0 + 120, "sha1", 8, 60),
            "--at",
            &(T0 + 120).to_string(),
        ],
        1,
    );
    assert_eq!(v["reason"], "totp_incorrect_code");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args(["import", "/nonexistent/export.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/export.txt"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_hundred_thousand_lines_import_in_one_go() {
    let env = TestEnv::new();
    let mut text = String::with_capacity(100_000 * 64);
    for i in 0..100_000 {
        let secret = if i % 1000 == 7 { WEAK } else { S1 };
        writeln!(
            text,
            "otpauth://totp/Bulk:user{i:06}@example.com?secret={secret}"
        )
        .unwrap();
    }
    let file = env.dir.path().join("big.txt");
    std::fs::write(&file, &text).unwrap();
    let out = env
        .cmd()
        .args(["--json", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = parse_one_json(&out.stdout);
    assert_eq!(v["imported"], 100_000, "{v}");
    assert_eq!(v["weakSecrets"], 100, "{v}");
    // Ten warnings one by one, then a count, not a hundred lines.
    let err = stderr(&out);
    assert!(err.lines().count() <= 11, "{err}");
    assert!(err.contains("90 more"), "{err}");
    let listed = env.json(&["list", "--issuer", "Bulk"]);
    assert_eq!(listed.as_array().unwrap().len(), 100_000);
    accepts(
        &env,
        "user099999@example.com",
        &code(S1, T0, "sha1", 6, 30),
        T0,
    );
    env.json(&["log", "--check"]);
}

#[test]
fn a_file_saved_on_windows_imports() {
    // A byte-order mark, CRLF line ends, an encoded colon in the label and a
    // lower-case, padded secret: all common in exports from other systems.
    let env = TestEnv::new();
    let file = env.dir.path().join("export.txt");
    std::fs::write(
        &file,
        "\u{feff}otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme\r\n\
         otpauth://totp/Acme%3Abob?secret=jbswy3dpehpk3pxp%3D%3D%3D%3D\r\n",
    )
    .unwrap();
    let out = env
        .cmd()
        .args(["--json", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(parse_one_json(&out.stdout)["imported"], 2);
    assert_eq!(accounts(&env), ["alice", "bob"]);
    assert_eq!(env.json(&["show", "bob"])["issuer"], "Acme");
    accepts(&env, "bob", &code(WEAK, T0, "sha1", 6, 30), T0);
}

#[test]
fn a_plus_in_the_label_is_kept() {
    // Plus-addressed e-mail accounts are common; in the label (a URI path) '+' is a
    // plus, while in a query value it may stand for a space.
    let env = TestEnv::new();
    import_json(
        &env,
        &format!(
            "otpauth://totp/Acme:bob+2fa@example.com?secret={S1}&issuer=Acme\n\
             otpauth://totp/carol%2Bx@example.com?secret={S1}&issuer=Big+Co\n"
        ),
        &[],
        0,
    );
    assert_eq!(
        accounts(&env),
        ["bob+2fa@example.com", "carol+x@example.com"]
    );
    assert_eq!(
        env.json(&["show", "carol+x@example.com"])["issuer"],
        "Big Co"
    );
}

/// Issue 10: every bad line is reported in one run (the first 100, then a count),
/// nothing is imported; --dry-run checks everything and changes nothing; the summary
/// says the imported enrollments have no backup codes and how to make them.
#[test]
fn every_bad_line_in_one_run_a_dry_run_and_the_backup_codes_hint() {
    let env = TestEnv::new();
    env.enroll("taken");
    let mut text = format!("otpauth://totp/good1?secret={S1}\n");
    text.push_str("not a uri\n");
    text.push_str(&format!("otpauth://totp/taken?secret={S1}\n"));
    text.push_str(&format!("otpauth://totp/good1?secret={S2}\n"));
    text.push_str(&format!("otpauth://totp/good2?secret={S2}\n"));
    text.push_str("otpauth://totp/nosecret\n");
    let out = import(&env, &text, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for (line, what) in [
        (2, "otpauth"),
        (3, "already enrolled"),
        (4, "twice"),
        (6, "secret"),
    ] {
        let shown = err
            .lines()
            .find(|l| l.contains(&format!("stdin line {line}:")))
            .unwrap_or_else(|| panic!("line {line} not reported: {err}"));
        assert!(shown.contains(what), "{shown}");
    }
    assert!(err.lines().last().unwrap().contains("4 bad lines"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(accounts(&env), ["taken"]);
    let e = import_json(&env, &text, &[], 2);
    assert_eq!(e["error"]["code"], "invalid_argument");
    assert_eq!(e["error"]["badLines"], 4);
    let lines: Vec<i64> = e["error"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4, 6]);

    // More than 100 bad lines: the first 100, then a count.
    let many: String = (0..150).map(|i| format!("junk {i}\n")).collect();
    let out = import(&env, &many, &[]);
    let err = stderr(&out);
    assert_eq!(
        err.lines().filter(|l| l.contains("stdin line")).count(),
        100,
        "{err}"
    );
    assert!(
        err.contains("50 more bad lines") && err.contains("150 bad lines"),
        "{err}"
    );
    let e = import_json(&env, &many, &[], 2);
    assert_eq!(e["error"]["badLines"], 150);
    assert_eq!(e["error"]["lines"].as_array().unwrap().len(), 100);

    // A dry run of a good file changes nothing, not even the log.
    let good = format!("otpauth://totp/good1?secret={S1}\notpauth://totp/good2?secret={S2}\n");
    let before = env.store_bytes();
    let out = import(&env, &good, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("would import 2 accounts"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.store_bytes(), before);
    let v = import_json(&env, &good, &["--dry-run"], 0);
    assert_eq!(
        (v["imported"].as_u64(), v["dryRun"].as_bool()),
        (Some(2), Some(true))
    );
    // …and reports a bad file as the real import does.
    let e = import_json(&env, &text, &["--dry-run"], 2);
    assert_eq!(e["error"]["badLines"], 4);
    assert_eq!(accounts(&env), ["taken"]);

    // The real import: its summary says none has backup codes, and how to make them.
    let out = import(&env, &good, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(summary.contains("no backup codes"), "{summary}");
    let hint = summary
        .lines()
        .find_map(|l| l.split_once("with: ").map(|(_, c)| c.to_string()))
        .unwrap_or_else(|| panic!("no command in {summary}"));
    assert!(
        hint.contains("--store") && hint.ends_with("backup-codes ACCOUNT"),
        "{hint}"
    );
    assert_eq!(accounts(&env), ["good1", "good2", "taken"]);
    let v = import_json(&env, &format!("otpauth://totp/good3?secret={S1}\n"), &[], 0);
    assert_eq!(v["withoutBackupCodes"], 1);
}

/// A refused import into a store that does not exist yet makes no store and no key
/// file: a later verify at that path must say `store_not_found`, never "not enrolled".
#[test]
fn a_refused_import_into_a_new_store_creates_nothing() {
    let env = TestEnv::new();
    let text = format!("otpauth://totp/good?secret={S1}\nnot a uri\n");
    // From stdin, and from a file.
    let file = env.dir.path().join("uris.txt");
    std::fs::write(&file, &text).unwrap();
    for args in [vec!["import", "-"], vec!["import", file.to_str().unwrap()]] {
        let out = env
            .cmd()
            .args(&args)
            .write_stdin(text.clone())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
        assert!(!env.store_exists(), "{args:?} made a store");
        assert!(!env.key_file().exists(), "{args:?} made a key file");
    }
    let out = env
        .cmd()
        .args(["--json", "verify", "good"])
        .write_stdin("123456\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("store_not_found"), "{}", stdout(&out));
    // The same input without the bad line goes in, from stdin, into a new store.
    let good = format!("otpauth://totp/good?secret={S1}\n");
    let out = env
        .cmd()
        .args(["import", "-"])
        .write_stdin(good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.accounts(&[]), ["good"]);
}
