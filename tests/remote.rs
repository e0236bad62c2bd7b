//! The command line as a client of `totpctl serve` (`--store https://…`): a real
//! server on loopback with TLS from a test CA, the real CLI with a token file, on
//! SQLite and (with `TOTPCTL_TEST_ENGINE=postgres`) on PostgreSQL. The same
//! commands, the same JSON and exit codes as on the store itself; what a token may
//! not do, it is told, naming the scope.

mod common;

#[path = "common/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;
use server::*;

/// A host that reaches the store only through the server: a token file (0600) and
/// the test CA, nothing else of the store's.
struct Host {
    url: String,
    token_file: PathBuf,
    ca: PathBuf,
    home: tempfile::TempDir,
}

impl Host {
    fn new(srv: &Server, token: &str, ca: &Path) -> Host {
        let home = tempfile::tempdir().unwrap();
        let token_file = home.path().join("token");
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        Host {
            url: srv.url.clone(),
            token_file,
            ca: ca.to_path_buf(),
            home,
        }
    }

    fn cmd(&self) -> std::process::Command {
        self.cmd_trusting(&self.ca)
    }

    fn cmd_trusting(&self, ca: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("totpctl"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .args(["--store", &self.url, "--token-file"])
            .arg(&self.token_file)
            .arg("--ca-file")
            .arg(ca)
            .stdin(std::process::Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    #[track_caller]
    fn json_status(&self, args: &[&str], status: i32) -> Value {
        let out = self.cmd().arg("--json").args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(status),
            "remote {args:?}\nstdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        );
        parse_one_json(&out.stdout)
    }
}

fn served(env: &TestEnv) -> (Server, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca(dir.path());
    let srv = Server::start(
        env,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    (srv, dir, ca)
}

/// Every command of the core flow, through the server, prints what the same command
/// prints on the store itself, and exits the same way.
#[test]
fn the_core_flow_through_a_server_prints_what_the_store_prints() {
    let env = TestEnv::new();
    env.create_store();
    let admin = token(&env, "laptop", &["admin"]);
    let (srv, _dir, ca) = served(&env);
    let host = Host::new(&srv, &admin, &ca);

    let e = host.json_status(&["enroll", "alice@example.com", "--qr", "never"], 0);
    let secret = e["secret"].as_str().unwrap().to_string();
    assert!(e["uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    let code = oathtool(&secret, now(), &[]);
    let v = host.json_status(&["verify", "alice@example.com", &code], 0);
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["backupCodes"].as_array().map(Vec::len), Some(10), "{v}");
    let replay = host.json_status(&["verify", "alice@example.com", &code], 1);
    assert_eq!(replay["reason"], "totp_replayed_code", "{replay}");
    env.enroll("bob@example.com");

    for args in [
        vec!["list"],
        vec!["list", "--verified"],
        vec!["show", "alice@example.com"],
        vec!["info"],
        vec!["config"],
        vec!["config", "window"],
        vec!["log"],
        vec![
            "log",
            "alice@example.com",
            "--event",
            "code_accepted",
            "--event",
            "verified",
        ],
        vec!["log", "--head"],
        vec!["log", "--check", "--full"],
    ] {
        assert_eq!(host.json_status(&args, 0), env.json(&args), "{args:?}");
    }
    // Not found, the same error and exit code.
    assert_eq!(
        host.json_status(&["show", "nobody"], 4),
        env.json_status(&["show", "nobody"], 4)
    );

    let codes = host.json_status(&["backup-codes", "alice@example.com", "--count", "4"], 0);
    assert_eq!(codes["backupCodes"].as_array().unwrap().len(), 4);
    let set = host.json_status(&["config", "lockout-attempts", "3"], 0);
    assert_eq!(
        set,
        serde_json::json!({"key": "lockout-attempts", "value": 3})
    );
    // The replay above was a rejected attempt: start the count again.
    host.json_status(&["unlock", "alice@example.com"], 0);
    for _ in 0..3 {
        host.json_status(&["verify", "alice@example.com", "000000"], 1);
    }
    let locked = host.json_status(&["verify", "alice@example.com", "000000"], 3);
    assert_eq!(locked["error"]["code"], "user_locked", "{locked}");
    let unlocked = host.json_status(&["unlock", "alice@example.com"], 0);
    assert_eq!(unlocked, env.json(&["show", "alice@example.com"]));
    let removed = host.json_status(&["remove", "bob@example.com", "--yes"], 0);
    assert_eq!(removed["removed"], true);

    // Import goes to the server's admin import: all or nothing.
    let uris = env.dir.path().join("uris.txt");
    std::fs::write(
        &uris,
        "otpauth://totp/Acme:carol?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Acme\n",
    )
    .unwrap();
    let imported = host.json_status(&["import", uris.to_str().unwrap()], 0);
    assert_eq!(imported["imported"], 1, "{imported}");
    assert_eq!(env.accounts(&[]), ["alice@example.com", "carol"]);

    // What belongs on the server's host is refused, clearly.
    for args in [
        vec!["rekey"],
        vec!["copy", "/tmp/x.db"],
        vec!["upgrade"],
        vec!["token", "list"],
    ] {
        let out = host.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("server's host"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = host.run(&["import", "--google-authenticator", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("server's host"), "{}", stderr(&out));
    // The log names the laptop's token, its address and what it claimed.
    let last = env.json(&["log", "--limit", "1"]);
    let actor = &last[0]["actor"];
    assert_eq!(actor["token"], "laptop", "{actor}");
    assert_eq!(actor["address"], "127.0.0.1", "{actor}");
    assert!(actor["claimed"]["host"].is_string(), "{actor}");
}

/// A host with a verify token: codes are checked, exactly as the server answers
/// them (an unknown account is a wrong code); nothing else is allowed, and the
/// refusal names the scope needed. A revoked token is refused.
#[test]
fn a_verify_token_checks_codes_and_nothing_else() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = token(&env, "bastion", &["verify"]);
    let (srv, _dir, ca) = served(&env);
    let host = Host::new(&srv, &t, &ca);

    let ok = host.run(&["verify", "alice", &oathtool(&alice.secret, now(), &[])]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let wrong = host.json_status(&["verify", "alice", "000000"], 1);
    assert_eq!(wrong["error"]["code"], "totp_incorrect_code", "{wrong}");
    let unknown = host.json_status(&["verify", "nobody", "000000"], 1);
    assert_eq!(unknown["error"]["code"], "totp_incorrect_code", "{unknown}");
    assert_eq!(unknown["error"]["failedAttempts"], 1, "{unknown}");

    for args in [
        vec!["list"],
        vec!["show", "alice"],
        vec!["remove", "alice", "--yes"],
        vec!["log"],
        vec!["info"],
    ] {
        let e = host.json_status(&args, 2);
        assert_eq!(e["error"]["code"], "forbidden", "{args:?}: {e}");
        let needs = if args[0] == "remove" { "admin" } else { "read" };
        assert!(
            e["error"]["message"].as_str().unwrap().contains(needs),
            "{e}"
        );
    }
    assert_eq!(env.accounts(&[]), ["alice"]);

    assert!(env.run(&["token", "revoke", "bastion"]).status.success());
    let e = host.json_status(&["verify", "alice", "000000"], 2);
    assert_eq!(e["error"]["code"], "unauthorized", "{e}");
}

/// The trust a host puts in the server is its own: a token file others can read is
/// refused, a server whose certificate no CA given vouches for is refused, plain
/// HTTP is refused but to loopback, and a server that is down or silent fails the
/// command within its timeout, closed.
#[test]
fn trust_is_checked_and_a_missing_server_fails_closed_in_time() {
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let t = token(&env, "bastion", &["verify"]);
    let (srv, dir, ca) = served(&env);
    let host = Host::new(&srv, &t, &ca);

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&host.token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = host.run(&["verify", "alice", "000000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("token file"), "{}", stderr(&out));
    std::fs::set_permissions(&host.token_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Another CA's certificate.
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = test_ca(other.path());
    let out = host
        .cmd_trusting(&other_ca)
        .args(["verify", "alice", "000000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));

    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("totpctl"))
        .args(["--store", "http://192.0.2.1:8443", "--token-file"])
        .arg(&host.token_file)
        .args(["verify", "alice", "000000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("plain HTTP"), "{}", stderr(&out));
    // Under PAM not even to loopback: whoever takes the port would be the server.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("totpctl"))
        .args([
            "verify",
            "--pam",
            "--store",
            "http://127.0.0.1:8443",
            "--token-file",
        ])
        .arg(&host.token_file)
        .env("PAM_USER", "alice")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("https://"), "{}", stderr(&out));

    // A server that accepts and never answers: the deadline holds.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("https://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let start = Instant::now();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("totpctl"))
        .args(["--store", &silent_url, "--token-file"])
        .arg(&host.token_file)
        .arg("--ca-file")
        .arg(&ca)
        .args(["--timeout", "2", "verify", "alice", "000000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    drop(silent);
    // A server stopped: refused at once.
    let url = srv.url.clone();
    drop(srv);
    let start = Instant::now();
    let out = host.run(&["verify", "alice", "000000"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&url), "{}", stderr(&out));
    assert!(start.elapsed() < Duration::from_secs(8));
    drop(dir);
}
