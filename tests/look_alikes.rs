//! Names and secrets that pass for others (issue 17): a new account whose name looks
//! like an enrolled one (UTS #39 skeletons) or mixes scripts beyond "Highly
//! Restrictive", and an imported secret of one repeated byte, are refused by enroll
//! and import, naming the account it looks like. On both engines.

mod common;

use common::{TestEnv, stderr};

fn import(env: &TestEnv, text: &str) -> std::process::Output {
    env.cmd()
        .args(["--json", "import", "-"])
        .write_stdin(text.to_string())
        .output()
        .unwrap()
}

const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[test]
fn a_name_that_looks_like_an_enrolled_one_is_refused_naming_it() {
    let env = TestEnv::new();
    env.enroll("alice");
    env.enroll("mary");
    for (name, like) in [
        // Cyrillic а; a digit one for an l; r and n for an m.
        ("\u{430}lice", "alice"),
        ("a1ice", "alice"),
        ("rnary", "mary"),
    ] {
        let e = env.json_status(&["enroll", name, "--qr", "never"], 2);
        assert_eq!(e["error"]["code"], "invalid_argument", "{name}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(like) || message.contains("mixes scripts"),
            "{name}: {message}"
        );
        let out = import(
            &env,
            &format!("otpauth://totp/Acme:{name}?secret={SECRET}\n"),
        );
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let e = common::parse_one_json(&out.stdout);
        assert!(
            e["error"]["lines"][0]["message"]
                .as_str()
                .unwrap()
                .contains(if name.is_ascii() {
                    like
                } else {
                    "mixes scripts"
                })
        );
    }
    // The lookalike of "a1ice" is named, with what makes it differ.
    let e = env.json_status(&["enroll", "a1ice", "--qr", "never"], 2);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("looks like the enrolled account 'alice'"),
        "{e}"
    );
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 2);
    // Re-enrolling the same account is not a look-alike of itself.
    env.json(&["enroll", "alice", "--qr", "never"]);
}

#[test]
fn mixed_scripts_and_full_width_letters_are_refused_and_one_script_is_not() {
    let env = TestEnv::new();
    for bad in [
        "p\u{430}ypal",
        "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}",
        "\u{3b1}dmin",
    ] {
        let e = env.json_status(&["enroll", bad, "--qr", "never"], 2);
        assert_eq!(e["error"]["code"], "invalid_argument", "{bad}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("U+"),
            "names the code points: {e}"
        );
    }
    assert!(!env.store_exists(), "a refused name made no store");
    for good in [
        "jos\u{e9}@example.com",
        "\u{431}\u{43e}\u{440}\u{438}\u{441}",
        "\u{5c71}\u{7530}@example.jp",
    ] {
        env.json(&["enroll", good, "--qr", "never"]);
    }
}

#[test]
fn two_look_alikes_in_one_import_are_refused_and_nothing_goes_in() {
    let env = TestEnv::new();
    env.create_store();
    let out = import(
        &env,
        &format!(
            "otpauth://totp/Acme:alice?secret={SECRET}\notpauth://totp/Acme:a1ice?secret={SECRET}\n"
        ),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = common::parse_one_json(&out.stdout);
    assert_eq!(e["error"]["lines"][0]["line"], 2, "{e}");
    assert!(env.json(&["list"]).as_array().unwrap().is_empty());
}

#[test]
fn a_secret_of_one_repeated_byte_is_refused_by_import() {
    let env = TestEnv::new();
    env.create_store();
    for secret in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "7777777777777777"] {
        let out = import(&env, &format!("otpauth://totp/Acme:bob?secret={secret}\n"));
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let e = common::parse_one_json(&out.stdout);
        let message = e["error"]["lines"][0]["message"].as_str().unwrap();
        assert!(message.contains("all the same"), "{message}");
        assert!(
            !message.contains(secret),
            "never quotes the secret: {message}"
        );
    }
    assert!(env.json(&["list"]).as_array().unwrap().is_empty());
}
