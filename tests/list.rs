//! `list`, `show`, `backup-codes`, `remove` and `config`: what an admin and a script see.

mod common;

use common::{T0, TestEnv, oathtool, stdout};

#[test]
fn list_is_an_aligned_table_for_people_and_an_array_for_scripts() {
    let env = TestEnv::new();
    env.create_store();
    assert_eq!(env.json(&["list"]), serde_json::json!([]));
    assert!(stdout(&env.run(&["list"])).contains("no enrollments"));
    env.enroll_with("zed@example.com", &["--issuer", "Beta"]);
    env.enroll_verified("amy", T0);
    env.enroll_with("bo", &["--issuer", "Beta"]);

    let list = env.json(&["list"]);
    let accounts: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["amy", "bo", "zed@example.com"]);
    let fields = [
        "id",
        "account",
        "issuer",
        "algorithm",
        "digits",
        "period",
        "verified",
        "backupCodesRemaining",
        "lastUsedAt",
        "failedAttempts",
        "lockedUntil",
        "createdAt",
        "updatedAt",
    ];
    for t in list.as_array().unwrap() {
        let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), fields.len(), "{t}");
        for f in fields {
            assert!(t.get(f).is_some(), "missing {f}");
        }
    }
    assert_eq!(list[0]["backupCodesRemaining"], 10);
    assert!(list[0]["lastUsedAt"].is_string());
    assert!(list[1]["lastUsedAt"].is_null());

    let table = stdout(&env.run(&["list"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("ACCOUNT"));
    // Columns line up: ISSUER starts at the same place on every line.
    let col = lines[0].find("ISSUER").unwrap();
    assert_eq!(&lines[1][col..col + 7], "totpctl");
    assert_eq!(&lines[2][col..col + 4], "Beta");
    assert!(lines[1].contains(" UTC"), "readable dates: {}", lines[1]);
}

#[test]
fn list_filters() {
    let env = TestEnv::new();
    env.enroll_verified("v1", T0);
    env.enroll_with("u1", &["--issuer", "Other"]);
    env.enroll("u2");
    let names = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["list"];
        a.extend_from_slice(args);
        env.json(&a)
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["account"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&["--verified"]), ["v1"]);
    assert_eq!(names(&["--unverified"]), ["u1", "u2"]);
    assert_eq!(names(&["--issuer", "Other"]), ["u1"]);
    assert_eq!(names(&["--unverified", "--issuer", "totpctl"]), ["u2"]);
    assert!(names(&["--locked"]).is_empty());
    env.set("lockout-attempts", "1");
    env.json_status(&["verify", "u2", "000000"], 1);
    assert_eq!(names(&["--locked"]), ["u2"]);
    assert_eq!(
        env.run(&["list", "--verified", "--unverified"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn show_by_account_or_id_and_not_found() {
    let env = TestEnv::new();
    let e = env.enroll("a");
    assert_eq!(env.json(&["show", "a"]), env.json(&["show", &e.id]));
    let text = stdout(&env.run(&["show", "a"]));
    assert!(text.contains(&e.id) && text.contains("verified") && !text.contains(&e.secret));
    let err = env.json_status(&["show", "b"], 4);
    assert_eq!(err["error"]["code"], "resource_not_found");
    let out = env.run(&["show", "b"]);
    assert_eq!(common::stderr(&out), "totpctl: no TOTP enrolled for 'b'\n");
}

#[test]
fn backup_codes_need_verification_and_replace_the_whole_set() {
    let env = TestEnv::new();
    env.enroll("a");
    let err = env.json_status(&["backup-codes", "a"], 2);
    assert_eq!(err["error"]["code"], "backup_codes_not_available");
    let (_, old) = {
        let env2 = &env;
        let e = env2.enroll("b");
        let v = env2.json(&[
            "verify",
            "b",
            &oathtool(&e.secret, T0, &[]),
            "--at",
            &T0.to_string(),
        ]);
        let codes: Vec<String> = v["backupCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().into())
            .collect();
        (e, codes)
    };
    let fresh = env.json(&["backup-codes", "b", "--count", "4"]);
    let new: Vec<String> = fresh["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().into())
        .collect();
    assert_eq!(new.len(), 4);
    assert_eq!(fresh["backupCodesRemaining"], 4);
    assert_eq!(env.json(&["show", "b"])["backupCodesRemaining"], 4);
    assert_eq!(
        env.json_status(&["verify", "b", &old[0]], 1)["valid"],
        false
    );
    assert_eq!(env.json(&["verify", "b", &new[0]])["valid"], true);
    assert_eq!(
        env.json_status(&["backup-codes", "b", "--count", "0"], 2)["error"]["code"],
        "invalid_argument"
    );
    assert_eq!(
        env.json_status(&["backup-codes", "nobody"], 4)["error"]["code"],
        "resource_not_found"
    );
}

#[test]
fn remove_deletes_the_totp_and_its_backup_codes() {
    let env = TestEnv::new();
    let (e, codes) = env.enroll_verified("a", T0);
    env.enroll("b");
    let removed = env.json(&["remove", "a", "--yes"]);
    assert_eq!(removed["removed"], true);
    assert_eq!(removed["id"], e.id.as_str());
    assert_eq!(
        env.json_status(&["verify", "a", &codes[0]], 4)["error"]["code"],
        "resource_not_found"
    );
    let rows = env.count("SELECT count(*) FROM backup_codes");
    assert_eq!(rows, 0, "backup codes left behind");
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 1);
    assert_eq!(env.run(&["remove", "a", "--yes"]).status.code(), Some(4));
}

#[test]
fn config_shows_checks_and_sets() {
    let env = TestEnv::new();
    env.create_store();
    let all = env.json(&["config"]);
    assert_eq!(
        all,
        serde_json::json!({
            "issuer": "totpctl", "backup-codes": true, "backup-code-count": 10, "window": 1,
            "lockout-attempts": 10, "lockout-seconds": 3600, "algorithm": "SHA1", "digits": 6, "period": 30
        })
    );
    assert_eq!(
        env.json(&["config", "window"]),
        serde_json::json!({"key": "window", "value": 1})
    );
    // One naming in and out (issue 10): every key printed is a key config takes.
    for (key, value) in all.as_object().unwrap() {
        assert_eq!(env.json(&["config", key])["value"], *value, "{key}");
    }
    assert_eq!(env.set("backup-codes", "off")["value"], false);
    assert_eq!(stdout(&env.run(&["config", "backup-codes"])), "off\n");
    assert_eq!(env.set("algorithm", "sha256")["value"], "SHA256");
    for (key, value) in [
        ("window", "11"),
        ("digits", "9"),
        ("period", "x"),
        ("backup-codes", "maybe"),
        ("lockout-attempts", "-1"),
        ("nope", "1"),
    ] {
        let err = env.json_status(&["config", key, value], 2);
        assert_eq!(err["error"]["code"], "invalid_argument", "{key}={value}");
    }
    assert_eq!(
        env.json(&["config"])["window"],
        1,
        "a refused value changed the setting"
    );
}

/// Issue 10: the table fits the terminal: in 80 columns long names are cut with …,
/// in 40 the less important columns go; into a pipe nothing is cut.
#[test]
fn the_table_fits_the_terminal_width() {
    use common::tmux::Tmux;
    let env = TestEnv::new();
    let long = format!("{}@example.com", "a-very-long-account-name".repeat(4));
    let issuer = "Example Corporation International Holdings";
    env.enroll_with(&long, &["--issuer", issuer]);
    env.enroll_verified("amy", T0);
    env.enroll("bo");
    // Without a limit the table is far wider than 80 columns.
    let piped = stdout(&env.run(&["list"]));
    assert!(piped.lines().any(|l| l.chars().count() > 100), "{piped}");
    assert!(piped.contains(&long) && !piped.contains('…'), "{piped}");

    for (columns, dropped) in [(80u16, &[][..]), (40, &["FAILED", "BACKUP CODES"][..])] {
        let t = Tmux::start_sized(&env, &[], "list --color never", columns);
        t.wait_for("EXIT=");
        let screen = t.screen_joined();
        assert!(screen.contains("EXIT=0"), "{screen}");
        let table: Vec<&str> = screen
            .lines()
            .take_while(|l| !l.starts_with("EXIT="))
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(table.len(), 4, "{columns}: {screen}");
        for line in &table {
            assert!(
                line.chars().count() <= usize::from(columns),
                "{columns} columns, a line of {}:\n{screen}",
                line.chars().count()
            );
        }
        assert!(
            table[0].starts_with("ACCOUNT") && table[0].contains("VERIFIED"),
            "{screen}"
        );
        for column in dropped {
            assert!(!table[0].contains(column), "{columns}: {screen}");
        }
        // The long account is cut with an ellipsis, the short ones are whole.
        let cut = table.iter().find(|l| l.starts_with("a-very-long")).unwrap();
        assert!(cut.contains('…') && !cut.contains(&long), "{screen}");
        assert!(table.iter().any(|l| l.starts_with("amy ")), "{screen}");
    }
}

/// Issue 10: who has no backup codes, who has not signed in since a time, and
/// `--issuer` ignoring case; the same with and without --json.
#[test]
fn list_filters_no_backup_codes_unused_since_and_issuer_case() {
    let env = TestEnv::new();
    env.set("backup-codes", "off");
    env.enroll_verified("nocodes", T0);
    env.set("backup-codes", "on");
    env.enroll_verified("withcodes", T0);
    env.enroll_with("never", &["--issuer", "Acme"]);
    assert_eq!(env.accounts(&["--no-backup-codes"]), ["never", "nocodes"]);
    assert_eq!(
        env.accounts(&["--no-backup-codes", "--verified"]),
        ["nocodes"]
    );
    // The verified ones were used just now; "never" never was.
    assert_eq!(env.accounts(&["--unused-since", "7d"]), ["never"]);
    assert_eq!(
        env.accounts(&["--unused-since", "2999-01-01T00:00:00Z"]),
        ["never", "nocodes", "withcodes"]
    );
    assert_eq!(env.accounts(&["--issuer", "acme"]), ["never"]);
    assert_eq!(env.accounts(&["--issuer", "ACME"]), ["never"]);
    assert!(env.accounts(&["--issuer", "Acm"]).is_empty());
    let table = stdout(&env.run(&["list", "--unused-since", "7d"]));
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(
        table.lines().nth(1).unwrap().starts_with("never"),
        "{table}"
    );
    let table = stdout(&env.run(&[
        "list",
        "--no-backup-codes",
        "--verified",
        "--unused-since",
        "0",
    ]));
    assert!(table.contains("no enrollments match"), "{table}");
    let e = env.json_status(&["list", "--unused-since", "soon"], 2);
    assert_eq!(e["error"]["code"], "invalid_argument");
}
