//! Help that teaches (issue 4): every subcommand explains itself with a summary, a
//! longer description and real examples; the top-level help lists exit codes and
//! environment variables; typos get suggestions.

mod common;

use clap::CommandFactory;
use common::{TestEnv, stderr, stdout};
use totpctl::cli::Cli;

#[test]
fn the_clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

/// The lines of the "Examples:" section of a help text.
fn examples(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Examples:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn every_subcommand_has_a_summary_a_description_and_examples() {
    let env = TestEnv::new();
    let names = subcommands();
    assert!(names.len() >= 12, "{names:?}");
    for name in &names {
        let out = env.run(&[name, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let help = stdout(&out);
        let mut paragraphs = help.split("\n\n").map(str::trim);
        let summary = paragraphs.next().unwrap();
        assert!(
            !summary.is_empty() && !summary.starts_with("Usage"),
            "{name}: no summary:\n{help}"
        );
        let description = paragraphs.next().unwrap();
        assert!(
            !description.starts_with("Usage") && description.split_whitespace().count() >= 8,
            "{name}: no longer description after the summary:\n{help}"
        );
        assert!(help.contains("Usage: totpctl"), "{name}:\n{help}");
        let ex = examples(&help);
        assert!(ex.len() >= 2, "{name}: fewer than two examples:\n{help}");
        for e in &ex {
            assert!(
                e.starts_with(&format!("totpctl {name}")) || e.contains(&format!("totpctl {name}")),
                "{name}: example that does not run {name}: {e}"
            );
        }
        // -h is the short form: the summary without the long description.
        let short = stdout(&env.run(&[name, "-h"]));
        assert!(
            short.starts_with(summary.trim_end_matches('.')),
            "{name}: -h:\n{short}"
        );
        assert!(short.len() < help.len(), "{name}");
    }
}

#[test]
fn every_example_parses() {
    // Each example's totpctl command line is accepted by the parser (with the parts
    // after a pipe or a redirection dropped).
    let env = TestEnv::new();
    for name in subcommands() {
        let help = stdout(&env.run(&[&name, "--help"]));
        for e in examples(&help) {
            // The part of the pipeline that runs totpctl, without a redirection or
            // a comment.
            let segment = e.split(" | ").find(|p| p.contains("totpctl ")).unwrap();
            let line = segment.split(['>', '#']).next().unwrap().trim();
            let start = line.find("totpctl ").unwrap();
            let words = shell_words(&line[start + "totpctl ".len()..]);
            let mut args = vec!["totpctl".to_string()];
            args.extend(words);
            assert!(
                Cli::command().try_get_matches_from(&args).is_ok(),
                "example does not parse: {e}"
            );
        }
    }
}

/// Splits a command line on spaces, honouring single quotes (enough for examples).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            _ => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

#[test]
fn top_level_help_lists_exit_codes_and_environment() {
    let env = TestEnv::new();
    let help = stdout(&env.run(&["--help"]));
    assert!(help.contains("Exit codes:"), "{help}");
    for (code, word) in [
        ("0", "success"),
        ("1", "rejected"),
        ("2", "error"),
        ("3", "locked"),
        ("4", "not exist"),
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(code) && l.contains(word)),
            "exit code {code} ({word}) missing:\n{help}"
        );
    }
    assert!(help.contains("Environment:"), "{help}");
    for var in [
        "TOTPCTL_STORE",
        "TOTPCTL_KEY_FILE",
        "TOTPCTL_PASSPHRASE",
        "TOTPCTL_NEW_PASSPHRASE",
        "NO_COLOR",
    ] {
        assert!(help.contains(var), "{var} missing:\n{help}");
    }
    for name in subcommands() {
        assert!(
            help.contains(&format!("  {name} ")),
            "{name} not listed:\n{help}"
        );
    }
    assert!(
        !help.contains("generate-docs"),
        "the maintainers' command is hidden"
    );
    let version = stdout(&env.run(&["--version"]));
    assert!(version.starts_with("totpctl "), "{version}");
}

#[test]
fn a_misspelled_subcommand_gets_a_suggestion() {
    let env = TestEnv::new();
    for (typo, meant) in [
        ("enrol", "enroll"),
        ("verfy", "verify"),
        ("lst", "list"),
        ("rekye", "rekey"),
    ] {
        let out = env.run(&[typo, "x"]);
        assert_eq!(out.status.code(), Some(2), "{typo}");
        let err = stderr(&out);
        assert!(err.contains(&format!("'{meant}'")), "{typo}: {err}");
        assert!(stdout(&out).is_empty());
    }
    let out = env.run(&["list", "--verifed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--verified"), "{}", stderr(&out));
    // No subcommand at all is a usage error that shows what there is.
    let out = env.run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("enroll"), "{}", stderr(&out));
}

/// The keys the README's JSON table lists for `command`: the first `{…}` of its row,
/// `?` marking keys that are not always printed. Returns (always, sometimes).
fn documented_keys(command: &str) -> (Vec<String>, Vec<String>) {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let row = readme
        .lines()
        // The JSON table's row: the tour of the commands has rows that start alike.
        .find(|l| l.starts_with(&format!("| `{command}` |")) && l.contains('{'))
        .unwrap_or_else(|| panic!("the README's JSON table has no row for {command}"));
    let braces = row
        .split_once('{')
        .and_then(|(_, rest)| rest.split_once('}'))
        .unwrap_or_else(|| panic!("no {{…}} in the README row for {command}: {row}"))
        .0;
    let (mut always, mut sometimes) = (Vec::new(), Vec::new());
    for key in braces.split(',').map(str::trim) {
        match key.strip_suffix('?') {
            Some(k) => sometimes.push(k.to_string()),
            None => always.push(key.to_string()),
        }
    }
    (always, sometimes)
}

#[track_caller]
fn assert_documented(command: &str, value: &serde_json::Value) {
    let printed: Vec<&String> = value
        .as_object()
        .unwrap_or_else(|| panic!("{command}: {value}"))
        .keys()
        .collect();
    let (always, sometimes) = documented_keys(command);
    for key in &printed {
        assert!(
            always.contains(key) || sometimes.contains(key),
            "{command} prints {key}, which the README does not list"
        );
    }
    for key in &always {
        assert!(
            printed.contains(&key),
            "the README says {command} prints {key}; it does not: {value}"
        );
    }
}

/// Issue 10: the README says exactly which keys each command prints with --json,
/// `config` prints the keys it takes, and `completions --json` is refused as JSON.
#[test]
fn the_readme_documents_the_json_of_every_command() {
    let env = TestEnv::new();
    let e = env.json_status(&["completions", "bash"], 2);
    assert_eq!(e["error"]["code"], "invalid_argument", "{e}");

    assert_documented("enroll", &env.json(&["enroll", "alice"]));
    let (_, codes) = env.enroll_verified("bob", common::T0);
    assert_documented("verify", &env.json(&["verify", "bob", &codes[0]]));
    assert_documented(
        "verify",
        &env.json_status(&["verify", "bob", "aaaaa-bbbbb"], 1),
    );
    let list = env.json(&["list"]);
    assert_documented("list", &list[0]);
    assert_eq!(
        env.json(&["show", "bob"])
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        list[0].as_object().unwrap().keys().collect::<Vec<_>>()
    );
    assert_eq!(
        env.json(&["unlock", "bob"])
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        list[0].as_object().unwrap().keys().collect::<Vec<_>>()
    );
    assert_documented("backup-codes", &env.json(&["backup-codes", "bob"]));
    assert_documented("config", &env.json(&["config"]));
    assert_documented(
        "config KEY`, `config KEY VALUE",
        &env.json(&["config", "window"]),
    );
    assert_documented("config KEY`, `config KEY VALUE", &env.set("window", "2"));
    assert_documented("log", &env.json(&["log"])[0]);
    assert_documented("log --check", &env.json(&["log", "--check"]));
    assert_documented("log --head", &env.json(&["log", "--head"]));
    let head = env.json(&["log", "--head"])["head"]
        .as_str()
        .unwrap()
        .to_string();
    assert_documented(
        "log --accept-restore HEAD",
        &env.json(&["log", "--accept-restore", &head]),
    );
    assert_documented("upgrade", &env.json(&["upgrade"]));
    let out = env
        .cmd()
        .args(["--json", "import", "-"])
        .write_stdin("otpauth://totp/carol?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n")
        .output()
        .unwrap();
    assert_documented("import", &common::parse_one_json(&out.stdout));
    assert_documented("rekey", &env.json(&["rekey"]));
    assert_documented("info", &env.json(&["info"]));
    assert_documented("remove", &env.json(&["remove", "alice", "--yes"]));
}

/// Issue 18: `totpctl --help` gives every command its one line (the first line of the
/// command's own help), and the program's own description names both engines.
#[test]
fn the_top_level_help_describes_every_command() {
    let env = TestEnv::new();
    let top = stdout(&env.run(&["--help"]));
    assert!(!top.contains("all in one local SQLite store"), "{top}");
    assert!(top.contains("PostgreSQL"), "{top}");
    let listed: Vec<(String, String)> = top
        .lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            let (name, rest) = l.trim().split_once(' ').unwrap_or((l.trim(), ""));
            (name.to_string(), rest.trim().to_string())
        })
        .collect();
    let names = subcommands();
    for name in &names {
        let line = listed
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("{name} is not listed:\n{top}"));
        assert!(!line.is_empty(), "{name} has no description:\n{top}");
        let own = stdout(&env.run(&[name, "--help"]));
        let first = own.lines().next().unwrap().trim_end_matches('.');
        assert_eq!(line, first, "{name}: the list and its own help disagree");
    }
}
