//! The PostgreSQL server itself changing under totpctl: stopped and started mid-run,
//! and TLS with a certificate this test makes (sslmode require, verify-ca,
//! verify-full). One test, so that nothing else in this binary runs while the
//! server is down or its certificate changes. Needs the cluster pg_virtualenv made
//! (`pg_ctlcluster $PGVERSION regress`), under `TOTPCTL_TEST_ENGINE=postgres`.

mod common;

#[path = "common/server.rs"]
mod server;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

fn pg_ctlcluster(action: &str) {
    let version = std::env::var("PGVERSION").expect("PGVERSION (set by pg_virtualenv)");
    let out = Command::new("pg_ctlcluster")
        .args([&version, "regress", action])
        .args(if action == "stop" {
            &["-m", "fast"][..]
        } else {
            &[][..]
        })
        .output()
        .expect("pg_ctlcluster");
    assert!(
        out.status.success(),
        "pg_ctlcluster {action}: {}",
        stderr(&out)
    );
}

#[test]
fn the_server_stopped_and_started_and_tls_in_every_mode() {
    if !on_postgres() {
        println!("skipped: needs a server (TOTPCTL_TEST_ENGINE=postgres, see scripts/test.sh)");
        return;
    }
    if std::env::var("PGVERSION").is_err() {
        println!(
            "skipped on postgres: the server is not a pg_virtualenv cluster this test may stop"
        );
        return;
    }
    server_stopped_and_started_mid_run();
    serve_through_a_restart();
    tls_modes();
}

fn server_stopped_and_started_mid_run() {
    let env = Arc::new(TestEnv::new());
    env.set("lockout-attempts", "0");
    let (alice, _) = env.enroll_verified("alice", T0);

    // Wrong codes in a loop while the server goes down and comes back.
    let stop = Arc::new(AtomicBool::new(false));
    let results = Arc::new(Mutex::new(Vec::new()));
    let worker = {
        let (env, stop, results) = (env.clone(), stop.clone(), results.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let out = env
                    .cmd()
                    .args(["--json", "verify", "alice", "000000", "--at"])
                    .arg((T0 + 30).to_string())
                    .output()
                    .unwrap();
                let code = out.status.code();
                if code == Some(2) {
                    let v = parse_one_json(&out.stdout);
                    assert_eq!(v["error"]["code"], "store_error", "{v}");
                    assert!(!stderr(&out).contains("panicked"));
                }
                results.lock().unwrap().push(code);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    pg_ctlcluster("stop");

    // Down: a store_error, at once, one line.
    let start = Instant::now();
    let code = oathtool(&alice.secret, T0 + 60, &[]);
    let out = env.run(&["verify", "alice", &code, "--at", &(T0 + 60).to_string()]);
    assert_refused(&out, "cannot connect to PostgreSQL", "");
    assert!(start.elapsed() < Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));

    pg_ctlcluster("start");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    worker.join().unwrap();

    // Up again: the same code works now, once.
    let out = env.run(&["verify", "alice", &code, "--at", &(T0 + 60).to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results = results.lock().unwrap();
    let rejected = results.iter().filter(|c| **c == Some(1)).count() as i64;
    let failed = env.json(&["show", "alice"])["failedAttempts"]
        .as_i64()
        .unwrap();
    // Counted at least every reported rejection (the last accepted code resets it,
    // so read the log instead).
    let _ = failed;
    let logged = env
        .json(&["log", "--event", "code_rejected"])
        .as_array()
        .unwrap()
        .len() as i64;
    assert!(logged >= rejected, "{logged} logged < {rejected} reported");
    assert!(logged <= results.len() as i64);
    assert!(
        results.iter().all(|c| matches!(c, Some(1) | Some(2))),
        "{results:?}"
    );
    env.json(&["log", "--check"]);
}

/// `totpctl serve` while the database restarts: 503 `store_error` while it is down,
/// never a 200 for a code it could not record, then answers again by itself.
fn serve_through_a_restart() {
    use serde_json::json;
    let env = TestEnv::new();
    env.set("lockout-attempts", "0");
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = server::token(&env, "pam", &["verify"]);
    let srv = server::Server::start(&env, &["--client-timeout", "5"]);
    let c = server::Client::new(&srv.url);
    let wrong = json!({"code": "000000"});
    assert_eq!(
        c.post("/v1/users/alice/verify_totp", &t, &wrong).status,
        422
    );

    pg_ctlcluster("stop");
    let start = Instant::now();
    let a = c.post("/v1/users/alice/verify_totp", &t, &wrong);
    assert_eq!((a.status, a.code()), (503, "store_error"), "{:?}", a.json);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    let h = c.call("GET", "/healthz", None, None);
    assert_eq!(h.status, 503, "{:?}", h.json);

    pg_ctlcluster("start");
    // Back by itself: no restart of the server.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = None;
    while Instant::now() < deadline {
        let code = json!({"code": oathtool(&alice.secret, server::now(), &[])});
        let a = c.post("/v1/users/alice/verify_totp", &t, &code);
        if a.status == 200 {
            last = None;
            break;
        }
        assert_eq!(a.status, 503, "{:?}", a.json);
        last = Some(a.json);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(last, None, "the server did not recover");
    assert_eq!(c.call("GET", "/healthz", None, None).status, 200);
    assert_eq!(env.json(&["log", "--check"])["intact"], true);
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
}

/// A CA and a server certificate for `localhost` (and only that name) signed by it.
fn make_certs(dir: &Path) {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-subj",
                &format!("/CN=totpctl test {ca}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n\
         basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

fn tls_modes() {
    let env = TestEnv::new();
    env.enroll("alice");
    let db = env.database.clone().unwrap();
    let port = std::env::var("PGPORT").unwrap_or_else(|_| "5432".into());
    let certs = env.dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    make_certs(&certs);

    // Install the server certificate in the cluster's data directory, owned as the
    // server needs it, and reload.
    let data = psql("postgres", "SHOW data_directory");
    let data = Path::new(&data);
    let owner = std::fs::metadata(data).unwrap();
    for (from, to, mode) in [
        ("server.pem", "totpctl-test.crt", 0o644),
        ("server.key", "totpctl-test.key", 0o600),
    ] {
        let dest = data.join(to);
        std::fs::copy(certs.join(from), &dest).unwrap();
        std::os::unix::fs::chown(&dest, Some(owner.uid()), Some(owner.gid())).unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let before = psql("postgres", "SHOW ssl_cert_file");
    let before_key = psql("postgres", "SHOW ssl_key_file");
    // ALTER SYSTEM runs outside a transaction: one statement per call.
    psql(
        "postgres",
        "ALTER SYSTEM SET ssl_cert_file = 'totpctl-test.crt'",
    );
    psql(
        "postgres",
        "ALTER SYSTEM SET ssl_key_file = 'totpctl-test.key'",
    );
    psql("postgres", "SELECT pg_reload_conf()");
    std::thread::sleep(Duration::from_millis(500));

    let ca = certs.join("ca.pem");
    let other = certs.join("other-ca.pem");
    let list = |host: &str, query: String| {
        let mut c = env.std_cmd();
        c.env(
            "TOTPCTL_STORE",
            format!("postgresql://{host}:{port}/{db}?{query}"),
        );
        c.args(["--json", "list"]).output().unwrap()
    };
    let ok = |host: &str, query: String| {
        let out = list(host, query.clone());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{host} {query}: {}",
            stdout(&out)
        );
    };
    let refused = |host: &str, query: String| {
        let out = list(host, query.clone());
        let v = parse_one_json(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{host} {query} was accepted");
        assert_eq!(v["error"]["code"], "store_error", "{v}");
    };
    let result = std::panic::catch_unwind(|| {
        ok("localhost", "sslmode=require".into());
        ok("localhost", "sslmode=prefer".into());
        // The name and the chain.
        ok(
            "localhost",
            format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        );
        // The chain, not the name: 127.0.0.1 is not in the certificate.
        refused(
            "127.0.0.1",
            format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        );
        ok(
            "127.0.0.1",
            format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
        );
        // Another CA: neither.
        refused(
            "localhost",
            format!("sslmode=verify-full&sslrootcert={}", other.display()),
        );
        refused(
            "localhost",
            format!("sslmode=verify-ca&sslrootcert={}", other.display()),
        );
        // The system's roots do not know the test CA.
        refused("localhost", "sslmode=verify-full".into());
    });
    psql(
        "postgres",
        &format!("ALTER SYSTEM SET ssl_cert_file = '{before}'"),
    );
    psql(
        "postgres",
        &format!("ALTER SYSTEM SET ssl_key_file = '{before_key}'"),
    );
    psql("postgres", "SELECT pg_reload_conf()");
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
