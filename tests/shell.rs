//! At home in the shell (issue 4): completions and man pages generated from the one
//! clap definition and kept fresh, clean broken pipes, colour only where wanted, and a
//! `remove` that asks on a terminal and refuses elsewhere.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::tmux::Tmux;
use common::{TestEnv, stderr, stdout};

const SHELLS: &[(&str, &str)] = &[
    ("bash", "totpctl.bash"),
    ("zsh", "_totpctl"),
    ("fish", "totpctl.fish"),
    ("elvish", "totpctl.elv"),
    ("powershell", "_totpctl.ps1"),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("totpctl")
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn completions_print_for_every_shell_and_match_the_committed_ones() {
    let env = TestEnv::new();
    for (shell, file) in SHELLS {
        let out = env.run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for word in ["enroll", "verify", "rekey", "json", "skip-existing"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
        assert!(
            !script.contains("generate-docs"),
            "{shell}: hidden command completed"
        );
        let committed = fs::read(repo().join("completions").join(file)).unwrap();
        assert_eq!(
            out.stdout, committed,
            "completions/{file} differs from `totpctl completions {shell}`"
        );
    }
    let out = env.run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bash"), "{}", stderr(&out));
}

#[test]
fn the_bash_completion_is_valid_bash_and_completes_subcommands() {
    let script = repo().join("completions/totpctl.bash");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(totpctl re); COMP_CWORD=1; COMP_LINE='totpctl re'; \
             COMP_POINT=10; _totpctl totpctl re totpctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .expect("bash");
    assert!(out.status.success(), "{}", stderr(&out));
    let words: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert!(
        words.contains(&"rekey") && words.contains(&"remove"),
        "{words:?}"
    );
    assert!(!words.contains(&"list"), "{words:?}");
}

/// Regenerates completions/ and man/ and fails when the committed files are stale.
/// Fix with: cargo run -- generate-docs .
#[test]
fn committed_completions_and_man_pages_are_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .arg("generate-docs")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for dir in ["completions", "man"] {
        let fresh = files(&tmp.path().join(dir));
        let committed = files(&repo().join(dir));
        assert_eq!(
            fresh.keys().collect::<Vec<_>>(),
            committed.keys().collect::<Vec<_>>(),
            "{dir}/ has different files than generate-docs makes; run `cargo run -- generate-docs .`"
        );
        for (name, bytes) in &fresh {
            assert!(
                committed[name] == *bytes,
                "{dir}/{name} is stale; run `cargo run -- generate-docs .` and commit it"
            );
        }
    }
    let pages = files(&repo().join("man"));
    assert!(pages.contains_key("totpctl.1"));
    for sub in [
        "enroll",
        "verify",
        "list",
        "show",
        "backup-codes",
        "remove",
        "unlock",
        "config",
        "log",
        "import",
        "rekey",
        "completions",
    ] {
        assert!(
            pages.contains_key(&format!("totpctl-{sub}.1")),
            "no man page for {sub}"
        );
    }
}

/// Renders a man page as `man -l` shows it (Debian packages man-db, groff-base).
fn man(page: &Path) -> Output {
    Command::new("man")
        .args(["--warnings", "-l"])
        .arg(page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("man is installed (Debian packages man-db and groff-base)")
}

#[test]
fn man_pages_render_cleanly() {
    for (name, _) in files(&repo().join("man")) {
        let out = man(&repo().join("man").join(&name));
        assert!(out.status.success(), "man -l {name}: {}", stderr(&out));
        assert!(
            stderr(&out).trim().is_empty(),
            "man -l {name} warns: {}",
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{name}:\n{text}"
        );
        assert!(text.contains("EXAMPLES"), "{name} has no examples:\n{text}");
    }
    let top = stdout(&man(&repo().join("man/totpctl.1")));
    for word in [
        "EXIT STATUS",
        "TOTPCTL_STORE",
        "TOTPCTL_PASSPHRASE",
        "enroll",
        "rekey",
    ] {
        assert!(top.contains(word), "totpctl(1) lacks {word}:\n{top}");
    }
}

/// Issue 10: every page has ENVIRONMENT, FILES and EXIT STATUS and no EXTRA heading;
/// every page it refers to exists; a subcommand's synopsis is `totpctl verify …` with
/// the global options.
#[test]
fn man_pages_refer_to_pages_that_exist_and_show_real_synopses() {
    let pages = files(&repo().join("man"));
    for name in pages.keys() {
        let text = stdout(&man(&repo().join("man").join(name)));
        for section in [
            "SYNOPSIS",
            "EXAMPLES",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
        ] {
            assert!(
                text.lines().any(|l| l == section),
                "{name} has no {section} section:\n{text}"
            );
        }
        assert!(!text.contains("EXTRA"), "{name}:\n{text}");
        // Every `totpctl…(1)` reference names a page that is there.
        for (i, _) in text.match_indices("(1)") {
            let start = text[..i]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .map_or(0, |p| p + 1);
            let page = &text[start..i];
            if page.starts_with("totpctl") {
                assert!(
                    pages.contains_key(&format!("{page}.1")),
                    "{name} refers to {page}(1), which does not exist"
                );
            }
        }
        let synopsis: String = text
            .lines()
            .skip_while(|l| *l != "SYNOPSIS")
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        let expected = match name.strip_suffix(".1").unwrap().strip_prefix("totpctl-") {
            Some(sub) => format!("totpctl {sub} "),
            None => "totpctl ".to_string(),
        };
        assert!(synopsis.starts_with(&expected), "{name}: {synopsis}");
        for global in ["--store", "--json"] {
            assert!(synopsis.contains(global), "{name}: {synopsis}");
        }
    }
    let top = stdout(&man(&repo().join("man/totpctl.1")));
    assert!(top.contains("totpctl-verify(1)"), "{top}");
}

/// A store with enough rows that listing them fills any pipe buffer.
fn big_store() -> TestEnv {
    let env = TestEnv::new();
    let lines: String = (0..3000)
        .map(|i| {
            format!("otpauth://totp/Bulk:user{i:05}?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n")
        })
        .collect();
    env.cmd()
        .args(["--json", "import", "-"])
        .write_stdin(lines)
        .assert()
        .success();
    env
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let env = big_store();
    for args in [
        &["list"][..],
        &["--json", "list"],
        &["log"],
        &["--json", "log"],
        &["list", "--issuer", "Bulk"],
        &["completions", "zsh"],
    ] {
        let mut child = Command::new(bin())
            .env_clear()
            .envs(env.server_env())
            .env("TOTPCTL_STORE", &env.store)
            .env("HOME", env.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the first byte is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
}

/// Started with standard input, output or error closed (`cmd >&-`, or a careless
/// daemon), totpctl opens them on /dev/null first: otherwise the key file or a
/// PostgreSQL socket opened later would take the free descriptor (SQLite keeps its
/// own files above 2), and what is printed, a new secret among it, would be written
/// into that. On PostgreSQL, an enroll with stdout closed then failed with EINVAL.
#[test]
fn closed_standard_descriptors_are_never_reused_for_the_store() {
    let env = TestEnv::new();
    let closings = ["<&-", ">&-", "2>&-", "<&- >&- 2>&-"];
    for (i, closed) in closings.iter().enumerate() {
        // The first enroll makes the store and its key file with the descriptor closed.
        let account = format!("fd{i}@example.com");
        let mut sh = Command::new("bash");
        for (var, value) in env.std_cmd().get_envs() {
            match value {
                Some(value) => sh.env(var, value),
                None => sh.env_remove(var),
            };
        }
        let out = sh
            .arg("-c")
            .arg(format!(
                r#""$0" enroll "$1" --qr never {closed}; echo "exit $?""#
            ))
            .arg(bin())
            .arg(&account)
            .output()
            .unwrap();
        assert_eq!(
            stdout(&out).lines().last(),
            Some("exit 0"),
            "enroll with {closed}: {}",
            stderr(&out)
        );
    }
    // Nothing printed went anywhere but /dev/null: the store checks out with its key
    // and holds every enrollment, and no URI is in its bytes.
    let out = env.run(&["log", "--check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.accounts(&[]).len(), closings.len());
    let bytes = env.store_bytes();
    assert!(!bytes.windows(10).any(|w| w == b"otpauth://"));
}

#[test]
fn list_piped_into_head_exits_quietly() {
    let env = big_store();
    for cmd in ["list", "log", "--json list", "list --issuer Bulk"] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; '{}' {cmd} | head -1",
                bin().display()
            ))
            .env("TOTPCTL_STORE", &env.store)
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{cmd}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{cmd}: {}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 1, "{cmd}");
    }
}

/// Runs `totpctl ARGS` on a pseudo-terminal (util-linux `script`), feeding `input`;
/// returns everything the terminal showed and the exit status.
fn on_tty(env: &TestEnv, vars: &[(&str, &str)], args: &str, input: &str) -> (String, Option<i32>) {
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c"])
        .arg(format!("'{}' {args}", bin().display()))
        .arg("/dev/null")
        .envs(env.server_env())
        .env("TOTPCTL_STORE", &env.store)
        .env("HOME", env.dir.path().join("home"))
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("script is installed (Debian package bsdutils)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (stdout(&out), out.status.code())
}

fn accounts(env: &TestEnv) -> Vec<String> {
    env.accounts(&[])
}

#[test]
fn remove_asks_on_a_terminal() {
    let env = TestEnv::new();
    env.enroll("alice");
    env.enroll("bob");
    let (screen, status) = on_tty(&env, &[], "remove alice", "n\n");
    // The terminal echoes the answer wherever it lands, possibly inside the prompt
    // when it was typed ahead, so look for the prompt's pieces.
    assert!(
        screen.contains("Remove the TOTP and backup codes of") && screen.contains("alice?"),
        "{screen}"
    );
    assert!(screen.contains("[y/N]"), "{screen}");
    // No is an answer, not an error (issue 10).
    assert_eq!(status, Some(0), "{screen}");
    assert!(screen.contains("Nothing removed"), "{screen}");
    assert_eq!(accounts(&env), ["alice", "bob"]);
    // Just Enter is no.
    let (_, status) = on_tty(&env, &[], "remove alice", "\n");
    assert_eq!(status, Some(0));
    assert_eq!(accounts(&env), ["alice", "bob"]);
    let (screen, status) = on_tty(&env, &[], "remove alice", "y\n");
    assert_eq!(status, Some(0), "{screen}");
    assert!(screen.contains("Removed alice"), "{screen}");
    assert_eq!(accounts(&env), ["bob"]);
    // --yes does not ask.
    let (screen, status) = on_tty(&env, &[], "remove bob --yes", "");
    assert_eq!(status, Some(0), "{screen}");
    assert!(!screen.contains("[y/N]"), "{screen}");
    assert!(accounts(&env).is_empty());
}

#[test]
fn remove_without_a_terminal_refuses_with_a_hint() {
    let env = TestEnv::new();
    env.enroll("alice");
    let out = env
        .cmd()
        .args(["remove", "alice"])
        .write_stdin("y\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--yes"), "{err}");
    assert!(!err.contains("[y/N]"), "no prompt: {err}");
    assert!(stdout(&out).is_empty());
    let e = env.json_status(&["remove", "alice"], 2);
    assert_eq!(e["error"]["code"], "invalid_argument");
    assert_eq!(accounts(&env), ["alice"]);
    // An unknown account is "not found", not a question.
    let e = env.json_status(&["remove", "nobody"], 4);
    assert_eq!(e["error"]["code"], "resource_not_found");
    env.json(&["remove", "alice", "--yes"]);
    assert!(accounts(&env).is_empty());
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color_or_color_never() {
    let env = TestEnv::new();
    env.enroll("alice");
    // On a terminal, by default, there is colour (so the checks below mean something).
    let (screen, _) = on_tty(&env, &[], "list", "");
    assert!(
        screen.contains('\u{1b}'),
        "no colour on a terminal: {screen:?}"
    );
    for (vars, args) in [
        (&[("NO_COLOR", "1")][..], "list"),
        (&[], "list --color never"),
        (&[], "--color never show alice"),
        (&[("NO_COLOR", "1")], "log"),
        (&[("NO_COLOR", "1")], "enroll bob --qr always"),
        (&[], "enroll carol --color never"),
        (&[], "--json list"),
        (&[], "--json enroll dave"),
    ] {
        let (screen, status) = on_tty(&env, vars, args, "");
        assert_eq!(status, Some(0), "{args}: {screen}");
        assert!(
            !screen.contains('\u{1b}'),
            "{args} {vars:?} printed ESC: {screen:?}"
        );
    }
    // Through a pipe there is no colour unless asked for.
    for args in [
        &["list"][..],
        &["log"],
        &["show", "alice"],
        &["verify", "alice", "000000"],
    ] {
        let out = env.run(args);
        assert!(!out.stdout.contains(&0x1b), "{args:?}: {}", stdout(&out));
        assert!(!out.stderr.contains(&0x1b), "{args:?}: {}", stderr(&out));
    }
    let out = env.run(&["list", "--color", "always"]);
    assert!(
        out.stdout.contains(&0x1b),
        "--color always: {}",
        stdout(&out)
    );
}

#[test]
fn dates_are_readable_in_tables_and_rfc3339_in_json() {
    let env = TestEnv::new();
    env.enroll("alice");
    let table = stdout(&env.run(&["log"]));
    let row = table.lines().nth(1).unwrap();
    assert!(row.contains(" UTC"), "{row}");
    assert!(!row.contains('T') || !row.contains('Z'), "{row}");
    let shown = stdout(&env.run(&["show", "alice"]));
    assert!(shown.contains(" UTC"), "{shown}");
    let j = env.json(&["show", "alice"]);
    chrono::DateTime::parse_from_rfc3339(j["createdAt"].as_str().unwrap()).unwrap();
}

#[test]
fn verify_asks_for_the_code_on_a_terminal_without_echoing_it() {
    let env = TestEnv::new();
    let alice = env.enroll("alice");
    let code = common::oathtool(&alice.secret, common::T0, &[]);
    let t = Tmux::start(&env, &[], &format!("verify alice --at {}", common::T0));
    t.wait_for("Code for alice:");
    t.type_line(&code);
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.contains("accepted"), "{screen}");
    assert!(!screen.contains(&code), "the code was echoed:\n{screen}");
}

#[test]
fn rekey_asks_for_a_new_passphrase_twice_without_echo() {
    let env = TestEnv::new();
    let alice = env.enroll("alice");
    let pass = "tmux typed passphrase";
    let t = Tmux::start(&env, &[], "rekey --passphrase");
    t.wait_for("New passphrase:");
    t.type_line(pass);
    t.wait_for("Repeat");
    t.type_line(pass);
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !screen.contains(pass),
        "the passphrase was echoed:\n{screen}"
    );
    drop(t);
    assert!(!env.key_file().exists());
    let code = common::oathtool(&alice.secret, common::T0, &[]);
    env.cmd()
        .env("TOTPCTL_PASSPHRASE", pass)
        .args(["verify", "alice", &code, "--at", &common::T0.to_string()])
        .assert()
        .success();

    // Now asked for the current one first; two different new ones change nothing.
    let before = env.store_bytes();
    let t = Tmux::start(&env, &[], "rekey --passphrase");
    t.wait_for("Passphrase for");
    t.type_line(pass);
    t.wait_for("New passphrase:");
    t.type_line("first new passphrase");
    t.wait_for("Repeat");
    t.type_line("second new passphrase");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=2") && screen.contains("differ"),
        "{screen}"
    );
    drop(t);
    assert_eq!(env.store_bytes(), before);
    // A wrong current passphrase typed at the prompt is a key error.
    let t = Tmux::start(&env, &[], &format!("verify alice {code}"));
    t.wait_for("Passphrase for");
    t.type_line("not it at all");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=2") && screen.contains("wrong passphrase"),
        "{screen}"
    );
}

#[test]
fn import_shows_a_progress_bar_on_a_terminal_only() {
    let env = TestEnv::new();
    let file = env.dir.path().join("export.txt");
    let lines: String = (0..3000)
        .map(|i| format!("otpauth://totp/user{i:05}?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n"))
        .collect();
    fs::write(&file, lines).unwrap();
    // `script` records every byte the terminal received, the cleared bar included.
    let (screen, status) = on_tty(&env, &[], &format!("import '{}'", file.display()), "");
    assert_eq!(status, Some(0), "{screen}");
    assert!(screen.contains("importing"), "no progress bar: {screen:?}");
    assert!(screen.contains("Imported 3000 accounts"), "{screen:?}");
    for (n, args) in [
        (
            1,
            format!("--json import '{}' --skip-existing", file.display()),
        ),
        (
            2,
            format!("import '{}' --skip-existing 2>/dev/null", file.display()),
        ),
    ] {
        let (screen, status) = on_tty(&env, &[], &args, "");
        assert_eq!(status, Some(0), "{n}: {screen}");
        assert!(!screen.contains("importing"), "{n}: {screen:?}");
    }
}

#[test]
fn verify_does_not_ask_for_a_code_it_would_refuse() {
    let env = TestEnv::new();
    env.set("lockout-attempts", "1");
    env.enroll("alice");
    env.json_status(&["verify", "alice", "aaaaa-bbbbb"], 1);
    // Locked: said at once, without asking for a code.
    let t = Tmux::start(&env, &[], "verify alice");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=3") && screen.contains("locked"),
        "{screen}"
    );
    assert!(!screen.contains("Code for"), "{screen}");
    drop(t);
    // A misspelt account is not found before anyone types a code.
    let t = Tmux::start(&env, &[], "verify alcie");
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=4"), "{screen}");
    assert!(!screen.contains("Code for"), "{screen}");
}

/// Issue 10: at the code prompt an empty Enter asks again (three times in all), and
/// Ctrl-D ends the prompt's line before the error is printed.
#[test]
fn the_code_prompt_asks_again_after_an_empty_enter_and_ends_its_line_on_ctrl_d() {
    let env = TestEnv::new();
    let alice = env.enroll("alice");
    let code = common::oathtool(&alice.secret, common::T0, &[]);
    let t = Tmux::start(&env, &[], &format!("verify alice --at {}", common::T0));
    t.wait_for("Code for alice:");
    t.type_line("");
    t.type_line("");
    t.type_line(&code);
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert_eq!(screen.matches("Code for alice:").count(), 3, "{screen}");
    drop(t);
    // Three empty answers give up.
    let t = Tmux::start(&env, &[], "verify alice");
    t.wait_for("Code for alice:");
    for _ in 0..3 {
        t.type_line("");
    }
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=2") && screen.contains("no code given"),
        "{screen}"
    );
    drop(t);
    // Ctrl-D: the error starts a line of its own.
    let t = Tmux::start(&env, &[], "verify alice");
    t.wait_for("Code for alice:");
    t.send_keys("C-d");
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=2"), "{screen}");
    let error_line = screen
        .lines()
        .find(|l| l.contains("no code given"))
        .unwrap_or_else(|| panic!("no error shown:\n{screen}"));
    assert!(error_line.starts_with("totpctl: "), "{screen}");
    // At remove's question too.
    let t = Tmux::start(&env, &[], "remove alice");
    t.wait_for("[y/N]");
    t.send_keys("C-d");
    let screen = t.wait_for("EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    let line = screen
        .lines()
        .find(|l| l.contains("Nothing removed"))
        .unwrap();
    assert!(line.starts_with("Nothing removed"), "{screen}");
}
