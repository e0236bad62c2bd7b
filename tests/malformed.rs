//! Malformed command lines and inputs, table-driven: each one ends with its documented
//! exit status (SPEC §3) and a message that names the problem, never a panic, and
//! leaves the store as it was.

mod common;

use common::{T0, TestEnv, parse_one_json};

/// Where the message of a case is printed.
#[derive(Clone, Copy, Debug)]
enum Stream {
    /// Errors: stderr.
    Err,
    /// `verify` rejections are results, printed on stdout.
    Out,
}
use Stream::{Err, Out};

/// One malformed invocation: arguments, stdin, expected status and message fragment.
struct Case {
    args: Vec<String>,
    stdin: Vec<u8>,
    env: Vec<(&'static str, &'static str)>,
    status: i32,
    stream: Stream,
    fragment: &'static str,
}

fn case(args: &[&str], status: i32, stream: Stream, fragment: &'static str) -> Case {
    Case {
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: Vec::new(),
        env: Vec::new(),
        status,
        stream,
        fragment,
    }
}

fn owned(args: Vec<String>, status: i32, stream: Stream, fragment: &'static str) -> Case {
    Case {
        args,
        stdin: Vec::new(),
        env: Vec::new(),
        status,
        stream,
        fragment,
    }
}

fn stdin(args: &[&str], input: &[u8], status: i32, fragment: &'static str) -> Case {
    Case {
        stdin: input.to_vec(),
        ..case(args, status, Err, fragment)
    }
}

fn import(line: &str, fragment: &'static str) -> Case {
    stdin(
        &["import", "-"],
        format!("{line}\n").as_bytes(),
        2,
        fragment,
    )
}

fn cases() -> Vec<Case> {
    let long = "x".repeat(257);
    let huge_code = "1".repeat(1 << 16);
    let at = T0.to_string();
    vec![
        // The command line itself.
        case(&[], 2, Err, "totpctl [OPTIONS] <COMMAND>"),
        case(&["frobnicate"], 2, Err, "unrecognized subcommand"),
        case(&["--no-such-flag", "list"], 2, Err, "unexpected argument"),
        case(&["--color", "sometimes", "list"], 2, Err, "invalid value"),
        case(
            &["--store", "", "list"],
            2,
            Err,
            "a value is required for '--store",
        ),
        case(&["completions", "cmd.exe"], 2, Err, "invalid value"),
        // enroll
        case(&["enroll"], 2, Err, "required"),
        case(&["enroll", ""], 2, Err, "account name is empty"),
        case(&["enroll", "   "], 2, Err, "account name is empty"),
        case(&["enroll", "a:b"], 2, Err, "contains ':'"),
        case(&["enroll", "a\x1b[2Jb"], 2, Err, "control"),
        case(&["enroll", "\u{202e}evil"], 2, Err, "bidirectional"),
        case(&["enroll", "a\nb"], 2, Err, "control"),
        case(&["enroll", " lead"], 2, Err, "white space"),
        owned(
            vec!["enroll".into(), long.clone()],
            2,
            Err,
            "longer than 256",
        ),
        case(&["enroll", "x", "--issuer", "a:b"], 2, Err, "issuer"),
        case(&["enroll", "x", "--issuer", "a\tb"], 2, Err, "control"),
        case(
            &["enroll", "x", "--digits", "5"],
            2,
            Err,
            "digits must be 6, 7 or 8",
        ),
        case(
            &["enroll", "x", "--digits", "9"],
            2,
            Err,
            "digits must be 6, 7 or 8",
        ),
        case(&["enroll", "x", "--digits", "six"], 2, Err, "invalid value"),
        case(&["enroll", "x", "--digits", "300"], 2, Err, "invalid value"),
        case(
            &["enroll", "x", "--period", "0"],
            2,
            Err,
            "period must be 1 to 3600",
        ),
        case(
            &["enroll", "x", "--period", "3601"],
            2,
            Err,
            "period must be 1 to 3600",
        ),
        case(
            &["enroll", "x", "--period", "99999999999"],
            2,
            Err,
            "invalid value",
        ),
        case(
            &["enroll", "x", "--algorithm", "MD5"],
            2,
            Err,
            "invalid value",
        ),
        case(
            &["enroll", "x", "--secret-size", "15"],
            2,
            Err,
            "--secret-size must be 16 to 64",
        ),
        case(
            &["enroll", "x", "--secret-size", "65"],
            2,
            Err,
            "--secret-size must be 16 to 64",
        ),
        case(
            &["enroll", "x", "--secret-size", "-1"],
            2,
            Err,
            "unexpected argument",
        ),
        case(
            &["enroll", "x", "--qr", "sometimes"],
            2,
            Err,
            "invalid value",
        ),
        case(
            &["enroll", "x", "--qr-file", "code.gif"],
            2,
            Err,
            "must end in .png or .svg",
        ),
        case(
            &["enroll", "x", "--qr-file", "code"],
            2,
            Err,
            "must end in .png or .svg",
        ),
        case(&["enroll", "alice"], 2, Err, "already has a verified TOTP"),
        // verify
        case(&["verify"], 2, Err, "required"),
        case(
            &["verify", "nobody", "123456"],
            4,
            Err,
            "no TOTP enrolled for 'nobody'",
        ),
        case(
            &["verify", "alice", "123456", "--at", "yesterday"],
            2,
            Err,
            "is not a time",
        ),
        case(
            &["verify", "alice", "123456", "--at", ""],
            2,
            Err,
            "is not a time",
        ),
        case(
            &["verify", "alice", "123456", "--at", "99999999999999999"],
            2,
            Err,
            "out of range",
        ),
        case(
            &["verify", "alice", "123456", "--at", "2026-13-45T99:00:00Z"],
            2,
            Err,
            "is not a time",
        ),
        case(
            &["verify", "alice", "123456", "--window", "11"],
            2,
            Err,
            "--window must be 0 to 10",
        ),
        case(
            &["verify", "alice", "123456", "--window", "-1"],
            2,
            Err,
            "unexpected argument",
        ),
        case(
            &["verify", "alice", "", "--at", &at],
            1,
            Out,
            "neither a TOTP code nor a backup code",
        ),
        case(
            &["verify", "alice", "12345", "--at", &at],
            1,
            Out,
            "neither a TOTP code",
        ),
        case(
            &["verify", "alice", "1234567", "--at", &at],
            1,
            Out,
            "neither a TOTP code",
        ),
        case(
            &["verify", "alice", "abcdef", "--at", &at],
            1,
            Out,
            "neither a TOTP code",
        ),
        case(
            &["verify", "alice", "１２３４５６", "--at", &at],
            1,
            Out,
            "neither a TOTP code",
        ),
        case(
            &["verify", "alice", "12345\u{7}6", "--at", &at],
            1,
            Out,
            "neither a TOTP code",
        ),
        case(
            &["verify", "alice", "abcde-fghjk", "--at", &at],
            1,
            Out,
            "incorrect",
        ),
        owned(
            vec![
                "verify".into(),
                "alice".into(),
                huge_code,
                "--at".into(),
                at.clone(),
            ],
            1,
            Out,
            "neither a TOTP code",
        ),
        stdin(&["verify", "alice"], b"", 2, "no code given"),
        stdin(&["verify", "alice"], b"\n", 2, "no code given"),
        stdin(&["verify", "alice"], b"   \r\n", 2, "no code given"),
        stdin(&["verify", "alice"], b"\xff\xfe12\n", 2, "not valid UTF-8"),
        // list, show, log
        case(
            &["list", "--verified", "--unverified"],
            2,
            Err,
            "cannot be used with",
        ),
        case(&["list", "--bogus"], 2, Err, "unexpected argument"),
        case(&["show"], 2, Err, "required"),
        case(&["show", "nobody"], 4, Err, "no TOTP enrolled"),
        case(&["show", ""], 4, Err, "no TOTP enrolled"),
        case(&["show", "a\x1b]0;pwned\x07"], 4, Err, "\\u{1b}"),
        case(&["log", "--since", "last tuesday"], 2, Err, "is not a time"),
        case(&["log", "--limit", "-5"], 2, Err, "unexpected argument"),
        case(&["log", "--limit", "many"], 2, Err, "invalid value"),
        case(&["log", "--check", "alice"], 2, Err, "cannot be used with"),
        // backup-codes, remove, unlock
        case(
            &["backup-codes", "alice", "--count", "0"],
            2,
            Err,
            "--count must be 1 to 100",
        ),
        case(
            &["backup-codes", "alice", "--count", "101"],
            2,
            Err,
            "--count must be 1 to 100",
        ),
        case(
            &["backup-codes", "alice", "--count", "4294967296"],
            2,
            Err,
            "invalid value",
        ),
        case(&["backup-codes", "bob"], 2, Err, "has no verified TOTP yet"),
        case(&["backup-codes", "nobody"], 4, Err, "no TOTP enrolled"),
        case(&["remove", "alice"], 2, Err, "pass --yes"),
        case(&["remove", "nobody", "--yes"], 4, Err, "no TOTP enrolled"),
        case(&["unlock", "nobody"], 4, Err, "no TOTP enrolled"),
        // config
        case(&["config", "no-such-key"], 2, Err, "no-such-key"),
        case(&["config", "no-such-key", "1"], 2, Err, "no-such-key"),
        case(&["config", "window", "11"], 2, Err, "window"),
        case(&["config", "window", "abc"], 2, Err, "window"),
        case(&["config", "digits", "9"], 2, Err, "digits"),
        case(&["config", "period", "0"], 2, Err, "period"),
        case(&["config", "algorithm", "MD5"], 2, Err, "algorithm"),
        case(&["config", "backup-codes", "maybe"], 2, Err, "backup-codes"),
        case(
            &["config", "backup-code-count", "0"],
            2,
            Err,
            "backup-code-count",
        ),
        case(
            &["config", "lockout-attempts", "-1"],
            2,
            Err,
            "lockout-attempts",
        ),
        case(
            &["config", "lockout-seconds", "x"],
            2,
            Err,
            "lockout-seconds",
        ),
        case(&["config", "issuer", "a:b"], 2, Err, "issuer"),
        // import
        case(
            &["import", "/no/such/file.txt"],
            2,
            Err,
            "cannot read /no/such/file.txt",
        ),
        case(&["import", "/"], 2, Err, "cannot read /: it is a directory"),
        import("not a uri", "line 1: not an otpauth:// URI"),
        import("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1", "HOTP"),
        import("otpauth://totp/x?secret=!!!!", "not valid base32"),
        import("otpauth://totp/?secret=JBSWY3DPEHPK3PXP", "no account name"),
        import("otpauth://totp/x", "no secret"),
        // Issue 9: secrets outside 80 bits to 64 bytes, and repeated parameters.
        import("otpauth://totp/x?secret=AE", "the secret is 8 bits"),
        import("otpauth://totp/x?secret=JBSWY3DP", "the secret is 40 bits"),
        import(
            &format!("otpauth://totp/x?secret={}", "A".repeat(104)),
            "the secret is 520 bits",
        ),
        import(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&secret=GEZDGNBVGY3TQOJQ",
            "'secret' is given twice",
        ),
        import(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=6&DIGITS=8",
            "'digits' is given twice",
        ),
        import(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9",
            "digits must be 6, 7 or 8",
        ),
        import(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0",
            "period must be 1 to 3600",
        ),
        import(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
            "unknown algorithm",
        ),
        import(
            "otpauth://totp/A:x?secret=JBSWY3DPEHPK3PXP&issuer=B",
            "differs",
        ),
        import(
            "otpauth://totp/x%FF?secret=JBSWY3DPEHPK3PXP",
            "not valid UTF-8",
        ),
        import("otpauth://totp/x%0Ay?secret=JBSWY3DPEHPK3PXP", "control"),
        import(
            "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP",
            "already enrolled",
        ),
        import(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP\notpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
            "line 2",
        ),
        import(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP\n\n# c\ngarbage",
            "line 4",
        ),
        stdin(
            &["import", "-"],
            b"otpauth://totp/\xff?secret=JBSWY3DPEHPK3PXP\n",
            2,
            "not valid UTF-8",
        ),
        // rekey
        case(
            &["rekey", "--passphrase", "--key-file"],
            2,
            Err,
            "cannot be used with",
        ),
        case(&["rekey", "--passphrase"], 2, Err, "no new passphrase"),
        Case {
            env: vec![("TOTPCTL_NEW_PASSPHRASE", "short")],
            ..case(&["rekey", "--passphrase"], 2, Err, "shorter than 8")
        },
    ]
}

#[test]
fn malformed_command_lines_and_inputs_are_refused_with_their_status_and_message() {
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    env.enroll("bob");
    // So that 60-odd rejected codes lock no one out half-way through the table.
    env.set("lockout-attempts", "0");
    let table = cases();
    assert!(table.len() >= 50, "{} cases", table.len());
    let mut failures = Vec::new();
    for c in &table {
        let before = env.store_bytes();
        for json in [false, true] {
            let mut cmd = env.cmd();
            if json {
                cmd.arg("--json");
            }
            for (k, v) in &c.env {
                cmd.env(k, v);
            }
            let out = cmd
                .args(&c.args)
                .write_stdin(c.stdin.clone())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let mut problems = Vec::new();
            if out.status.code() != Some(c.status) {
                problems.push(format!(
                    "exit {:?}, expected {}",
                    out.status.code(),
                    c.status
                ));
            }
            if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
                problems.push("panicked".to_string());
            }
            if json {
                // One JSON value on stdout; an error carries its code and message.
                let v = std::panic::catch_unwind(|| parse_one_json(&out.stdout));
                match v {
                    Ok(v) if c.status == 1 => {
                        if v["valid"] != false {
                            problems.push(format!("--json: not a rejection: {v}"));
                        }
                    }
                    Ok(v) => {
                        let message = v["error"]["message"].as_str().unwrap_or_default();
                        if !v["error"]["code"].is_string() || !message.contains(c.fragment) {
                            problems.push(format!("--json: {v}"));
                        }
                    }
                    Result::Err(_) => problems.push(format!("--json stdout: {stdout:?}")),
                }
            } else {
                let text = match c.stream {
                    Err => &stderr,
                    Out => &stdout,
                };
                if !text.contains(c.fragment) {
                    problems.push(format!("no {:?} in {:?}", c.fragment, text));
                }
                // Every error is one line, usage errors included (SPEC §3); only
                // `totpctl` alone answers with the help.
                if matches!(c.stream, Err) && !c.args.is_empty() && stderr.lines().count() != 1 {
                    problems.push(format!("not one line: {stderr:?}"));
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{}{:?} stdin {:?}: {}",
                    if json { "--json " } else { "" },
                    c.args.iter().map(|a| common_short(a)).collect::<Vec<_>>(),
                    String::from_utf8_lossy(&c.stdin),
                    problems.join("; ")
                ));
            }
        }
        // A refused command changes nothing; a rejected code is recorded (a count and
        // an audit event), as it must be.
        if c.status != 1 && env.store_bytes() != before {
            failures.push(format!("{:?} changed the store", c.args));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// An argument shortened for a failure message.
fn common_short(arg: &str) -> String {
    if arg.chars().count() > 40 {
        format!(
            "{}… ({} chars)",
            arg.chars().take(20).collect::<String>(),
            arg.chars().count()
        )
    } else {
        arg.to_string()
    }
}
