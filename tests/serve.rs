//! `totpctl serve`, from the outside: the real binary on loopback, driven by curl
//! and by the tests' own HTTP client, on SQLite and (with
//! `TOTPCTL_TEST_ENGINE=postgres`) on PostgreSQL. This file: the API's answers
//! against the command line's, tokens and their scopes, TLS, the OpenAPI document.
//! `serve_hostile.rs`: races, kills, slow and oversized clients.

mod common;

#[path = "common/server.rs"]
mod server;

use serde_json::{Value, json};

use common::*;
use server::*;

/// Every read endpoint answers the document the command line prints for the same
/// operation, byte for byte once parsed; every write endpoint the same fields.
#[test]
fn each_endpoint_answers_what_the_cli_prints() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice@example.com", T0);
    env.enroll("bob@example.com");
    env.enroll_with("carol@example.com", &["--issuer", "Other"]);
    let admin = token(&env, "admin", &["admin"]);
    let srv = Server::start(&env, &[]);
    let c = Client::new(&srv.url);

    for (path, args) in [
        (
            "/v1/users/alice@example.com/totp",
            vec!["show", "alice@example.com"],
        ),
        (
            &format!("/v1/users/{}/totp", alice.id),
            vec!["show", &alice.id],
        ),
        ("/v1/totps", vec!["list"]),
        ("/v1/totps?verified=false", vec!["list", "--unverified"]),
        ("/v1/totps?issuer=other", vec!["list", "--issuer", "other"]),
        (
            "/v1/totps?noBackupCodes=true",
            vec!["list", "--no-backup-codes"],
        ),
        ("/v1/info", vec!["info"]),
        ("/v1/config", vec!["config"]),
        ("/v1/log/head", vec!["log", "--head"]),
        (
            "/v1/events?account=alice@example.com",
            vec!["log", "alice@example.com"],
        ),
        ("/v1/events?limit=2", vec!["log", "--limit", "2"]),
    ] {
        let a = c.get(path, &admin);
        assert_eq!(a.status, 200, "GET {path}: {:?}", a.json);
        assert_eq!(a.json, env.json(&args), "GET {path} against {args:?}");
    }
    // Reads are not events, so the whole log reads the same both ways too.
    assert_eq!(c.get("/v1/events", &admin).json, env.json(&["log"]));
    let check = c.call("POST", "/v1/log/check?full=true", Some(&admin), None);
    assert_eq!(check.status, 200);
    assert_eq!(check.json, env.json(&["log", "--check", "--full"]));

    // Writes: the same fields, with the values that do not depend on the account.
    let api = c.call(
        "POST",
        "/v1/users/dave@example.com/totp",
        Some(&admin),
        None,
    );
    let cli = env.json(&["enroll", "erin@example.com"]);
    assert_eq!(api.status, 200, "{:?}", api.json);
    assert_eq!(keys(&api.json), keys(&cli));
    assert!(api.json["uri"].as_str().unwrap().contains("secret="));
    for field in [
        "issuer",
        "algorithm",
        "digits",
        "period",
        "verified",
        "replaced",
    ] {
        assert_eq!(api.json[field], cli[field], "{field}");
    }

    let set = c.call(
        "PUT",
        "/v1/config/window",
        Some(&admin),
        Some(&json!({"value": "2"})),
    );
    assert_eq!(set.json, env.json(&["config", "window"]));
    assert_eq!(set.json, json!({"key": "window", "value": 2}));

    let codes = c.call(
        "POST",
        "/v1/users/alice@example.com/backup_codes",
        Some(&admin),
        None,
    );
    assert_eq!(codes.status, 200, "{:?}", codes.json);
    assert_eq!(codes.json["backupCodes"].as_array().unwrap().len(), 10);
    assert_eq!(
        codes.json["backupCodesRemaining"],
        env.json(&["show", "alice@example.com"])["backupCodesRemaining"]
    );

    let removed = c.call(
        "DELETE",
        "/v1/users/bob@example.com/totp",
        Some(&admin),
        None,
    );
    assert_eq!(removed.status, 200);
    let cli_removed = env.json(&["remove", "carol@example.com", "--yes"]);
    assert_eq!(keys(&removed.json), keys(&cli_removed));
    assert_eq!(removed.json["removed"], true);
    assert_eq!(
        env.accounts(&[]),
        ["alice@example.com", "dave@example.com", "erin@example.com"]
    );

    // A verify: the CLI's document, plus Clerk's `code_type`.
    let code = oathtool(&alice.secret, now(), &[]);
    let v = c.post(
        "/v1/users/alice@example.com/verify_totp",
        &admin,
        &json!({"code": code}),
    );
    assert_eq!(v.status, 200, "{:?}", v.json);
    assert_eq!(
        (v.json["valid"].clone(), v.json["verified"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(v.json["code_type"], "totp");
    assert_eq!(v.json["codeType"], "totp");
    let (frank, _) = env.enroll_verified("frank@example.com", T0);
    let cli = env.json(&[
        "verify",
        "frank@example.com",
        &oathtool(&frank.secret, now(), &[]),
    ]);
    assert_eq!(cli["valid"], true, "{cli}");
    let mut expected = keys(&cli);
    expected.push("code_type".into());
    expected.sort();
    assert_eq!(keys(&v.json), expected);

    // The log names the token and the address each API event came from.
    let log = env.json(&["log", "alice@example.com"]);
    let last_api = log
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["actor"]["token"].is_string())
        .expect("an event made through the API");
    assert_eq!(last_api["actor"]["token"], "admin", "{last_api}");
    assert_eq!(last_api["actor"]["address"], "127.0.0.1", "{last_api}");
    assert_eq!(env.json(&["log", "--check"])["intact"], true);
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

/// 401 without a valid token, 403 without the scope, and nothing written by either:
/// not an event, not a failed attempt, not a token's last use.
#[test]
fn every_scope_boundary_holds_and_a_refusal_writes_nothing() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let verify = token(&env, "pam-host", &["verify"]);
    let read = token(&env, "auditor", &["read"]);
    let enroll = token(&env, "signup", &["enroll"]);
    let admin = token(&env, "root", &["admin"]);
    let srv = Server::start(&env, &[]);
    let c = Client::new(&srv.url);
    let before = (
        env.json(&["log"]),
        env.json(&["token", "list"]),
        env.json(&["show", "alice"]),
    );

    let code = json!({"code": oathtool(&alice.secret, now(), &[])});
    let calls: Vec<(&str, &str, Option<Value>, &str)> = vec![
        ("GET", "/v1/totps", None, "read"),
        ("GET", "/v1/users/alice/totp", None, "read"),
        ("GET", "/v1/events", None, "read"),
        ("GET", "/v1/info", None, "read"),
        ("POST", "/v1/users/zed/totp", None, "enroll"),
        ("POST", "/v1/users/alice/totp?force=true", None, "admin"),
        ("DELETE", "/v1/users/alice/totp", None, "admin"),
        ("POST", "/v1/users/alice/backup_codes", None, "admin"),
        ("POST", "/v1/users/alice/unlock", None, "admin"),
        ("GET", "/v1/config", None, "admin"),
        (
            "PUT",
            "/v1/config/window",
            Some(json!({"value": "5"})),
            "admin",
        ),
        ("GET", "/v1/log/head", None, "admin"),
        ("POST", "/v1/log/check", None, "admin"),
        ("POST", "/v1/import", None, "admin"),
        (
            "POST",
            "/v1/users/alice/verify_totp",
            Some(code.clone()),
            "verify",
        ),
    ];
    let allowed = |token: &str, needed: &str| match token {
        "admin" => true,
        t => t == needed,
    };
    for (method, path, body, needed) in &calls {
        // Slowly enough to stay under the limit on refused tokens per address.
        std::thread::sleep(std::time::Duration::from_millis(250));
        // No token, a malformed one, a well-formed one the store never made.
        for bad in [
            None,
            Some("nonsense"),
            Some("totpctl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ] {
            let a = c.call(method, path, bad, body.as_ref());
            assert_eq!(a.status, 401, "{method} {path} with {bad:?}: {:?}", a.json);
            assert_eq!(a.code(), "unauthorized");
        }
        for (name, t) in [("verify", &verify), ("read", &read), ("enroll", &enroll)] {
            if allowed(name, needed) {
                continue;
            }
            let a = c.call(method, path, Some(t), body.as_ref());
            assert_eq!(
                a.status, 403,
                "{method} {path} with a {name} token: {:?}",
                a.json
            );
            assert_eq!(a.code(), "forbidden");
            assert!(
                a.json["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(needed),
                "{:?}",
                a.json
            );
        }
    }
    // A verify token may not move the clock or the window either.
    for extra in [
        json!({"code": "123456", "at": "0"}),
        json!({"code": "123456", "window": 10}),
    ] {
        let a = c.post("/v1/users/alice/verify_totp", &verify, &extra);
        assert_eq!((a.status, a.code()), (403, "forbidden"), "{:?}", a.json);
    }
    // Not even the tokens' last use was written.
    let after = (
        env.json(&["log"]),
        env.json(&["token", "list"]),
        env.json(&["show", "alice"]),
    );
    assert_eq!(before.0, after.0, "a refused request wrote an event");
    assert_eq!(
        before.2, after.2,
        "a refused request changed the enrollment"
    );
    for t in after.1.as_array().unwrap() {
        assert_eq!(t["lastUsedAt"], Value::Null, "{t}");
    }

    // What each scope may do, it may.
    assert_eq!(c.get("/v1/totps", &read).status, 200);
    assert_eq!(
        c.call("POST", "/v1/users/zed/totp", Some(&enroll), None)
            .status,
        200
    );
    // An enroll token may replace an unverified enrollment, never a verified one.
    assert_eq!(
        c.call("POST", "/v1/users/zed/totp", Some(&enroll), None)
            .status,
        200
    );
    let a = c.call("POST", "/v1/users/alice/totp", Some(&enroll), None);
    assert_eq!((a.status, a.code()), (409, "totp_already_enabled"));
    let a = c.post("/v1/users/alice/verify_totp", &verify, &code);
    assert_eq!(a.status, 200, "{:?}", a.json);
    assert!(
        a.json.get("backupCodes").is_none(),
        "a verify token sees no backup code"
    );

    // To a verify token an unknown account is a wrong code; to the others a 404.
    let a = c.post(
        "/v1/users/nobody/verify_totp",
        &verify,
        &json!({"code": "123456"}),
    );
    assert_eq!(
        (a.status, a.code()),
        (422, "totp_incorrect_code"),
        "{:?}",
        a.json
    );
    assert_eq!(a.json["error"]["failedAttempts"], 1);
    let wrong = c.post(
        "/v1/users/alice/verify_totp",
        &verify,
        &json!({"code": "000000"}),
    );
    assert_eq!((wrong.status, wrong.code()), (422, "totp_incorrect_code"));
    let a = c.post(
        "/v1/users/nobody/verify_totp",
        &admin,
        &json!({"code": "123456"}),
    );
    assert_eq!(
        (a.status, a.code()),
        (404, "resource_not_found"),
        "{:?}",
        a.json
    );
    // One line per request, naming the token once it was checked; never the token.
    let log = srv.log();
    assert!(
        log.lines()
            .any(|l| l.contains("/verify_totp 200") && l.contains("token=pam-host")),
        "{log}"
    );
    assert!(!srv.log().contains(&verify), "the log holds a token");
}

/// Revoked at the command line while the server runs: refused at the next request.
/// An expired token is refused the same way.
#[test]
fn revocation_takes_effect_at_the_next_request() {
    let env = TestEnv::new();
    env.create_store();
    let t = token(&env, "app", &["read"]);
    let srv = Server::start(&env, &[]);
    let c = Client::new(&srv.url);
    assert_eq!(c.get("/v1/totps", &t).status, 200);
    let out = env.run(&["token", "revoke", "app"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = c.get("/v1/totps", &t);
    assert_eq!((a.status, a.code()), (401, "unauthorized"));

    let out = env.run(&[
        "token",
        "create",
        "brief",
        "--scope",
        "read",
        "--expires",
        "1s",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let brief = String::from_utf8(out.stdout).unwrap().trim().to_string();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let a = c.get("/v1/totps", &brief);
    assert_eq!((a.status, a.code()), (401, "unauthorized"), "{:?}", a.json);
    assert!(
        a.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

/// A database writer without the key cannot mint a token, widen one's scope, or
/// revive a revoked one: each is refused, never served.
#[test]
fn tokens_made_in_the_database_are_refused() {
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let verify = token(&env, "pam", &["verify"]);
    let doomed = token(&env, "old", &["admin"]);
    let srv = Server::start(&env, &[]);
    let c = Client::new(&srv.url);
    assert_eq!(c.get("/v1/totps", &doomed).status, 200);

    // Widen the verify token's scope.
    env.attack(
        "UPDATE tokens SET scopes = 'admin' WHERE name = 'pam'",
        "UPDATE totpctl.tokens SET scopes = 'admin' WHERE name = 'pam'",
    );
    let a = c.get("/v1/totps", &verify);
    assert_ne!(a.status, 200, "a widened scope was served: {:?}", a.json);
    env.attack(
        "UPDATE tokens SET scopes = 'verify' WHERE name = 'pam'",
        "UPDATE totpctl.tokens SET scopes = 'verify' WHERE name = 'pam'",
    );

    // Revive a revoked token: its row put back as it was, valid MAC and all.
    let hex = if on_postgres() {
        "encode(%, 'hex')"
    } else {
        "hex(%)"
    };
    let saved = env.sql(&format!(
        "SELECT {} || '|' || {} || '|' || created_at || '|' || coalesce(last_used_at, '') \
         FROM tokens WHERE name = 'old'",
        hex.replace('%', "hash"),
        hex.replace('%', "mac")
    ));
    let f: Vec<&str> = saved.trim().split('|').collect();
    assert!(env.run(&["token", "revoke", "old"]).status.success());
    let values = |bytes: &dyn Fn(&str) -> String| {
        format!(
            "('old', {}, 'admin', '{}', NULL, NULLIF('{}', ''), {})",
            bytes(f[0]),
            f[2],
            f[3],
            bytes(f[1])
        )
    };
    env.attack(
        &format!(
            "INSERT INTO tokens VALUES {}",
            values(&|h| format!("X'{h}'"))
        ),
        &format!(
            "INSERT INTO totpctl.tokens VALUES {}",
            values(&|h| format!("decode('{h}', 'hex')"))
        ),
    );
    let a = c.get("/v1/totps", &doomed);
    assert_ne!(a.status, 200, "a revoked token came back: {:?}", a.json);

    // Mint one: a row of the attacker's own, with a hash of a token they chose.
    env.attack(
        "DELETE FROM tokens WHERE name = 'old'",
        "DELETE FROM totpctl.tokens WHERE name = 'old'",
    );
    let forged = "totpctl_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    env.attack(
        "INSERT INTO tokens SELECT 'mint', randomblob(32), 'admin', created_at, NULL, NULL, mac FROM tokens WHERE name = 'pam'",
        "INSERT INTO totpctl.tokens SELECT 'mint', sha256('x'::bytea), 'admin', created_at, NULL, NULL, mac FROM totpctl.tokens WHERE name = 'pam'",
    );
    let a = c.get("/v1/totps", forged);
    assert_ne!(a.status, 200, "{:?}", a.json);
    // Whatever the store held, nothing was answered from it.
    for t in [&verify, forged] {
        let a = c.get("/v1/totps", t);
        assert!(a.json.as_array().is_none(), "{:?}", a.json);
    }
    // The admin mends it with the key: `token revoke` removes the rows it did not make.
    let out = env.run(&["token", "revoke", "mint"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let code = oathtool(&env.enroll("bob").secret, now(), &[]);
    let a = c.post("/v1/users/bob/verify_totp", &verify, &json!({"code": code}));
    assert_eq!(a.status, 200, "{:?}", a.json);
}

/// TLS with a certificate of a test CA: curl and the tests' client trust it through
/// the CA alone; plain HTTP is refused on an address that is not loopback.
#[test]
fn tls_with_a_test_ca_and_no_plain_http_off_loopback() {
    let env = TestEnv::new();
    env.create_store();
    let t = token(&env, "app", &["read"]);
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca(dir.path());
    let srv = Server::start(
        &env,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(srv.url.starts_with("https://127.0.0.1:"), "{}", srv.url);
    let c = Client::with_ca(&srv.url, Some(&std::fs::read(&ca).unwrap()));
    assert_eq!(c.get("/v1/info", &t).status, 200);

    let curl = |extra: &[&str]| {
        std::process::Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "10",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .args(extra)
            .arg(format!("{}/healthz", srv.url))
            .output()
            .expect("curl is installed")
    };
    let out = curl(&["--cacert", ca.to_str().unwrap()]);
    assert_eq!(stdout(&out), "200", "{}", stderr(&out));
    let out = curl(&[]);
    assert!(
        !out.status.success(),
        "curl trusted a certificate of an unknown CA"
    );
    // Plain HTTP to a TLS port is no request.
    let plain = Client::new(&srv.url.replace("https://", "http://"));
    let a = plain.try_raw("GET", "/healthz", None, None, &[]);
    assert!(a.map(|a| a.status != 200).unwrap_or(true));

    // Off loopback without TLS: refused before anything listens.
    let out = env
        .cmd()
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tls-cert"), "{}", stderr(&out));
    // A private key others can read is refused, as the key file is.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let Err(e) = Server::try_start(
        &env,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    ) else {
        panic!("a world-readable TLS key was used");
    };
    assert!(e.contains("--tls-key"), "{e}");
}

/// `/v1/openapi.json` is the committed document; /healthz and /metrics need no token.
#[test]
fn the_api_document_health_and_metrics() {
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let t = token(&env, "pam", &["verify"]);
    let srv = Server::start(&env, &[]);
    let c = Client::new(&srv.url);
    let doc = c.call("GET", "/v1/openapi.json", None, None);
    assert_eq!(doc.status, 200);
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc.json, committed);
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        c.call("GET", "/healthz", None, None).json,
        json!({"status": "ok"})
    );
    c.post(
        "/v1/users/alice/verify_totp",
        &t,
        &json!({"code": "000000"}),
    );
    let metrics = c.raw("GET", "/metrics", None, None, &[]);
    assert_eq!(metrics.status, 200);
    let text = ureq::get(format!("{}/metrics", srv.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(text.contains("outcome=\"rejected\""), "{text}");
    for metric in [
        "totpctl_http_request_duration_seconds_bucket",
        "totpctl_pool_sessions_busy",
        "totpctl_store_errors_total",
        "totpctl_http_requests_total{status=\"422\"}",
    ] {
        assert!(text.contains(metric), "{metric}: {text}");
    }
    // Unknown paths and methods: JSON errors, as everything else.
    let a = c.call("GET", "/v2/nothing", Some(&t), None);
    assert_eq!((a.status, a.code()), (404, "resource_not_found"));
    let a = c.call("PATCH", "/v1/totps", Some(&t), None);
    assert_eq!(a.status, 405);
}

/// Past the per-token rate: 429 with Retry-After, for that token only.
#[test]
fn the_rate_limit_is_per_token() {
    let env = TestEnv::new();
    env.create_store();
    let fast = token(&env, "fast", &["read"]);
    let calm = token(&env, "calm", &["read"]);
    let srv = Server::start(&env, &["--rate-limit", "5"]);
    let c = Client::new(&srv.url);
    let statuses: Vec<u16> = (0..20).map(|_| c.get("/v1/info", &fast).status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    let a = c.get("/v1/info", &fast);
    if a.status == 429 {
        assert_eq!(a.code(), "rate_limited");
        assert!(a.header("retry-after").is_some(), "{:?}", a.headers);
    }
    assert_eq!(c.get("/v1/info", &calm).status, 200);
}

/// To a verify token, an account that is enrolled and one that is not answer alike,
/// wrong code after wrong code, up to the lockout: the same reasons, the same counts,
/// the same 423 at the end (whatever the enrollment's number of digits).
#[test]
fn a_verify_token_cannot_tell_who_is_enrolled() {
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let carol = env.enroll_with("carol", &["--digits", "8"]);
    let code = oathtool(&carol.secret, T0, &["--digits=8"]);
    env.json(&["verify", "carol", &code, "--at", &T0.to_string()]);
    env.set("lockout-attempts", "3");
    let t = token(&env, "bastion", &["verify"]);
    let srv = Server::start(&env, &[]);
    let c = Client::new(&srv.url);
    let answers = |name: &str| -> Vec<(u16, String, Value)> {
        (0..4)
            .map(|_| {
                let a = c.post(
                    &format!("/v1/users/{name}/verify_totp"),
                    &t,
                    &json!({"code": "123456"}),
                );
                let mut e = a.json["error"].clone();
                e.as_object_mut().unwrap().remove("lockedUntil");
                e.as_object_mut().unwrap().remove("message");
                (a.status, a.code().to_string(), e)
            })
            .collect()
    };
    let alice = answers("alice");
    assert_eq!(
        alice.iter().map(|a| a.0).collect::<Vec<_>>(),
        [422, 422, 422, 423],
        "{alice:?}"
    );
    assert_eq!(answers("carol"), alice);
    assert_eq!(answers("nobody"), alice);
}

/// An address that presents token after made-up token is refused (429) before any
/// work, for a moment, however many different tokens it makes up.
#[test]
fn made_up_tokens_are_throttled_per_address() {
    let env = TestEnv::new();
    env.create_store();
    let srv = Server::start(&env, &[]);
    let c = Client::new(&srv.url);
    let statuses: Vec<u16> = (0..60)
        .map(|i| c.get("/v1/info", &format!("totpctl_{:0>43}", i)).status)
        .collect();
    assert!(statuses.iter().take(20).all(|s| *s == 401), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let a = c.get(
        "/v1/info",
        "totpctl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    if a.status == 429 {
        assert_eq!(a.code(), "rate_limited");
        assert!(a.header("retry-after").is_some());
    }
}
