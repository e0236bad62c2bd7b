//! Hostile text (issue 3): names with control or bidi-override characters are refused
//! at the door, and whatever is already in the store reaches a terminal stripped of
//! anything that could rewrite the screen.

mod common;

use common::{T0, TestEnv, oathtool, stderr, stdout};

const HOSTILE: &[&str] = &[
    "evil\u{1b}[2J\u{1b}[Hroot",
    "mallory\u{1b}]0;pwned\u{7}",
    "bell\u{7}",
    "two\nlines",
    "car\rriage",
    "tab\there",
    "del\u{7f}",
    "c1\u{9b}31m",
    "admin\u{202e}gpj.exe",
    "iso\u{2066}late\u{2069}",
    "lrm\u{200e}",
    "nul\u{0}byte",
];

/// Characters that must never reach a terminal raw.
fn assert_clean(what: &str, text: &str) {
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{what} prints raw {:?}:\n{text:?}", c);
    }
}

#[test]
fn hostile_account_names_and_issuers_are_refused_at_enroll() {
    let env = TestEnv::new();
    for name in HOSTILE {
        if name.contains('\0') {
            continue; // cannot be passed in argv
        }
        let e = env.json_status(&["enroll", name], 2);
        assert_eq!(e["error"]["code"], "invalid_argument", "{name:?}: {e}");
        let e = env.json_status(&["enroll", "alice", "--issuer", name], 2);
        assert_eq!(e["error"]["code"], "invalid_argument", "{name:?}: {e}");
        // People get a clear sentence, itself free of the hostile characters.
        let out = env.run(&["enroll", name]);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains("control") || err.contains("bidi"), "{err}");
        assert_clean("enroll's error", &err);
        assert_clean("enroll's stdout", &stdout(&out));
        let e = env.json_status(&["config", "issuer", name], 2);
        assert_eq!(e["error"]["code"], "invalid_argument", "{name:?}: {e}");
    }
    // Refused before anything was made: there is still no store.
    let e = env.json_status(&["list"], 2);
    assert_eq!(e["error"]["code"], "store_not_found", "{e}");
}

#[test]
fn hostile_labels_in_an_import_are_refused_with_their_line() {
    let env = TestEnv::new();
    for label in [
        "evil%1B%5B2Jroot",
        "Acme%E2%80%AE:x",
        "a%0Ab",
        "Evil%07:bob",
    ] {
        let out = env
            .cmd()
            .args(["import", "-"])
            .write_stdin(format!(
                "otpauth://totp/ok?secret=JBSWY3DPEHPK3PXP\notpauth://totp/{label}?secret=JBSWY3DPEHPK3PXP\n"
            ))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{label}");
        let err = stderr(&out);
        assert!(err.contains("line 2"), "{err}");
        assert_clean("import's error", &err);
    }
    let out = env
        .cmd()
        .args(["import", "-"])
        .write_stdin("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&issuer=Bad%1B%5D0%3Bx%07\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_clean("import's error", &stderr(&out));
    // Refused before a store was made.
    let e = env.json_status(&["list"], 2);
    assert_eq!(e["error"]["code"], "store_not_found", "{e}");
}

/// A store in which the names were made hostile behind totpctl's back.
fn planted() -> (TestEnv, Vec<(String, String)>) {
    let env = TestEnv::new();
    let mut ids = Vec::new();
    let enrolled: Vec<_> = (0..HOSTILE.len())
        .map(|i| env.enroll(&format!("plain{i:02}")))
        .collect();
    if env.database.is_some() {
        // PostgreSQL text holds no NUL: that one plants a SOH instead.
        for (name, e) in HOSTILE.iter().zip(&enrolled) {
            let name = name.replace('\0', "\u{1}");
            let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
            let lit = format!("convert_from(decode('{hex}', 'hex'), 'UTF8')");
            env.sql(&format!(
                "UPDATE totps SET account = {lit}, issuer = {lit}, \
                     locked_until = '2999-01-01T00:00:00.000Z', last_used_at = {lit} \
                 WHERE id = '{id}'; \
                 UPDATE events SET account = {lit}, event = {lit}, \
                     detail = json_build_object({lit}, {lit}, 'issuer', {lit})::text \
                 WHERE totp_id = '{id}'",
                id = e.id
            ));
            ids.push((e.id.clone(), name));
        }
        return (env, ids);
    }
    let db = env.sqlite();
    for (name, e) in HOSTILE.iter().zip(&enrolled) {
        db.execute(
            "UPDATE totps SET account = ?1, issuer = ?1, locked_until = '2999-01-01T00:00:00.000Z', \
                 last_used_at = ?1 WHERE id = ?2",
            [name, &e.id.as_str()],
        )
        .unwrap();
        db.execute(
            "UPDATE events SET account = ?1, event = ?1, \
                 detail = json_object(?1, ?1, 'issuer', ?1) WHERE totp_id = ?2",
            [name, &e.id.as_str()],
        )
        .unwrap();
        ids.push((e.id.clone(), name.to_string()));
    }
    drop(db);
    (env, ids)
}

#[test]
fn list_show_and_log_strip_what_was_planted_in_the_store() {
    let (env, ids) = planted();
    for args in [
        &["list"][..],
        &["list", "--locked"],
        &["list", "--color", "never"],
        &["log"],
        &["config"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_clean(&format!("{args:?}"), &stdout(&out));
        assert_clean(&format!("{args:?} stderr"), &stderr(&out));
    }
    let table = stdout(&env.run(&["list"]));
    // Escaped, not dropped: an admin can still see what is there.
    assert!(table.contains("evil\\u{1b}[2J"), "{table}");
    assert!(table.contains("admin\\u{202e}gpj.exe"), "{table}");
    for (id, name) in &ids {
        for args in [&["show", id][..], &["log", id]] {
            let out = env.run(args);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            assert_clean(&format!("{args:?} for {name:?}"), &stdout(&out));
        }
        // JSON keeps the exact value, escaped as JSON.
        let j = env.json(&["show", id]);
        assert_eq!(j["account"], name.as_str());
        let raw = stdout(&env.run(&["--json", "show", id]));
        assert!(!raw.contains('\u{1b}'), "{raw:?}");
    }
}

#[test]
fn keyed_commands_refuse_planted_rows_in_clean_words() {
    let (env, ids) = planted();
    for (id, name) in &ids {
        // Rows changed behind totpctl's back are refused by every command that uses
        // the key, and the refusal names the account, escaped.
        for args in [
            &["verify", id, "123456"][..],
            &["verify", id, "12345"],
            &["unlock", id],
            &["backup-codes", id],
            &["remove", id, "--yes"],
        ] {
            let out = env.run(args);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?} {name:?}: {}",
                stderr(&out)
            );
            assert_clean(&format!("{args:?} refusal"), &stderr(&out));
            assert_clean(&format!("{args:?} stdout"), &stdout(&out));
            let e = env.json_status(args, 2);
            assert_eq!(e["error"]["code"], "integrity_error", "{args:?}: {e}");
        }
    }
    // Nothing was written by any of them: the planted rows are still all there is.
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), ids.len());
}

#[test]
fn hostile_arguments_are_not_echoed_raw_in_errors() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    for name in HOSTILE.iter().filter(|n| !n.contains('\0')) {
        for args in [
            &["show", name][..],
            &["verify", name, "123456"],
            &["unlock", name],
            &["log", "--since", name],
            &["config", name],
        ] {
            let out = env.run(args);
            assert!(matches!(out.status.code(), Some(2) | Some(4)), "{args:?}");
            assert_clean(&format!("{args:?}"), &stderr(&out));
            assert_clean(&format!("{args:?}"), &stdout(&out));
        }
    }
    // A hostile code is rejected without being echoed.
    let out = env.run(&[
        "verify",
        "alice",
        "12\u{1b}[2J3456",
        "--at",
        &T0.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_clean("verify", &stdout(&out));
    assert_clean("verify", &stderr(&out));
    // Codes never appear in messages, accepted or not.
    let code = oathtool(&alice.secret, T0 + 30, &[]);
    for out in [
        env.run(&["verify", "alice", &code, "--at", &(T0 + 30).to_string()]),
        env.run(&["verify", "alice", &code, "--at", &(T0 + 30).to_string()]),
        env.run(&["verify", "nobody", &code]),
    ] {
        assert!(!stdout(&out).contains(&code) && !stderr(&out).contains(&code));
    }
}
