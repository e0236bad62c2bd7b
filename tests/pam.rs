//! `verify --pam` (issue 12): totpctl as the second factor of a PAM service, through
//! the shipped `contrib/pam/totpctl` (pam_exec with expose_authtok) under
//! `/etc/pam.d`, driven by `pamtester`, with codes from oathtool and scratch codes
//! from files made by `google-authenticator`.
//!
//! Writing under /etc/pam.d needs root: as another user the PAM tests print
//! "skipped: PAM tests need root" and return. The tests of the PAM-facing mode itself
//! (stdin, environment, stdout) run as anyone.

mod common;

#[path = "common/server.rs"]
mod server;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{TestEnv, stderr, stdout};
use serde_json::Value;

/// Whether the PAM tests can run; says so on stderr when they cannot.
fn need_root(test: &str) -> bool {
    // pam_exec runs the binary with PAM's environment only, which carries none of the
    // throwaway server's credentials: the PAM stack is tested on SQLite.
    if common::skip_on_postgres("a PAM stack passes no server credentials to pam_exec") {
        return false;
    }
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: PAM tests need root ({test})");
    false
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The TOTP code of `secret` now, from oathtool.
fn code_now(secret: &str) -> String {
    common::oathtool(secret, now(), &[])
}

/// A user enrolled by importing a file made by `google-authenticator`: its secret
/// and scratch codes.
struct User {
    name: String,
    secret: String,
    scratch: Vec<String>,
}

#[track_caller]
fn enroll(env: &TestEnv, name: &str) -> User {
    let home = env.dir.path().join("ga-home");
    std::fs::create_dir_all(&home).unwrap();
    let file = env.dir.path().join(format!("{name}.google_authenticator"));
    let out = Command::new("google-authenticator")
        .args([
            "-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3", "-q", "-s",
        ])
        .arg(&file)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .output()
        .expect("google-authenticator is installed (Debian package libpam-google-authenticator)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .cmd()
        .args(["import", "--google-authenticator"])
        .arg(&file)
        .args(["--account", name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    User {
        name: name.to_string(),
        secret: lines.next().unwrap().to_string(),
        scratch: lines
            .filter(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
            .collect(),
    }
}

/// A PAM service file under /etc/pam.d made from the shipped contrib/pam/totpctl,
/// with the built binary and `store` put in; removed when dropped, even when the
/// test fails.
struct Service {
    name: String,
    path: PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

static SERVICES: AtomicUsize = AtomicUsize::new(0);

/// The shipped snippet's active lines with the binary and store of this test.
fn snippet(store: &Path) -> String {
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/pam/totpctl"))
            .unwrap();
    let binary = assert_cmd::cargo::cargo_bin("totpctl");
    let lines: Vec<&str> = shipped
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    assert!(
        lines[0].contains("/usr/bin/totpctl verify --pam --store /var/lib/totpctl/totpctl.db"),
        "{lines:?}"
    );
    lines
        .join("\n")
        .replace("/usr/bin/totpctl", binary.to_str().unwrap())
        .replace("/var/lib/totpctl/totpctl.db", store.to_str().unwrap())
}

/// Installs `/etc/pam.d/totpctl-test-<unique>` with `auth` lines then a permissive
/// account stack.
fn service(auth: &str) -> Service {
    let name = format!(
        "totpctl-test-{}-{}",
        std::process::id(),
        SERVICES.fetch_add(1, Ordering::SeqCst)
    );
    let path = Path::new("/etc/pam.d").join(&name);
    let service = Service { name, path };
    std::fs::write(
        &service.path,
        format!("{auth}\naccount required pam_permit.so\n"),
    )
    .unwrap();
    service
}

/// `pamtester -v SERVICE USER authenticate`, the code typed at PAM's prompt (fed on
/// stdin). Returns whether PAM let the user in.
#[track_caller]
fn pamtester(service: &Service, user: &str, code: &str) -> bool {
    let mut child = Command::new("pamtester")
        .args([
            "-v",
            "-I",
            "rhost=203.0.113.7",
            &service.name,
            user,
            "authenticate",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pamtester is installed (Debian package pamtester)");
    // PAM may not ask (a stack that ends before totpctl): then nobody reads it.
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{code}\n").as_bytes());
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", stdout(&out), stderr(&out));
    let ok = out.status.success();
    assert_eq!(ok, said.contains("successfully authenticated"), "{said}");
    // Nothing of totpctl's reaches the user's terminal.
    assert!(!said.contains("totpctl:"), "{said}");
    ok
}

fn last_event(env: &TestEnv, account: &str) -> Value {
    let log = env.json(&["log", account]);
    log.as_array().unwrap().last().unwrap().clone()
}

#[test]
fn an_accepted_code_then_the_same_code_replayed() {
    if !need_root("an_accepted_code_then_the_same_code_replayed") {
        return;
    }
    let env = TestEnv::new();
    let alice = enroll(&env, "alice");
    let svc = service(&snippet(&env.store));
    let code = code_now(&alice.secret);
    assert!(
        pamtester(&svc, &alice.name, &code),
        "the right code was refused"
    );
    let accepted = last_event(&env, "alice");
    assert_eq!(accepted["event"], "code_accepted", "{accepted}");
    assert_eq!(accepted["detail"]["pam"]["service"], svc.name.as_str());
    assert_eq!(accepted["detail"]["pam"]["rhost"], "203.0.113.7");
    assert!(
        !pamtester(&svc, &alice.name, &code),
        "a replayed code let the user in"
    );
    let rejected = last_event(&env, "alice");
    assert_eq!(
        rejected["detail"]["reason"], "totp_replayed_code",
        "{rejected}"
    );
    assert_eq!(rejected["detail"]["pam"]["service"], svc.name.as_str());
}

#[test]
fn a_scratch_code_works_once() {
    if !need_root("a_scratch_code_works_once") {
        return;
    }
    let env = TestEnv::new();
    let bob = enroll(&env, "bob");
    let svc = service(&snippet(&env.store));
    assert!(pamtester(&svc, &bob.name, &bob.scratch[0]));
    assert!(
        !pamtester(&svc, &bob.name, &bob.scratch[0]),
        "a scratch code worked twice"
    );
    assert!(pamtester(&svc, &bob.name, &bob.scratch[1]));
    assert_eq!(env.json(&["show", "bob"])["backupCodesRemaining"], 3);
}

#[test]
fn wrong_codes_and_a_locked_account_are_denied() {
    if !need_root("wrong_codes_and_a_locked_account_are_denied") {
        return;
    }
    let env = TestEnv::new();
    let carol = enroll(&env, "carol");
    env.set("lockout-attempts", "2");
    let svc = service(&snippet(&env.store));
    let right = code_now(&carol.secret);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert!(!pamtester(&svc, &carol.name, &wrong));
    assert!(!pamtester(&svc, &carol.name, "not a code"));
    assert!(env.json(&["show", "carol"])["lockedUntil"].is_string());
    // Locked: even the right code is denied.
    assert!(
        !pamtester(&svc, &carol.name, &right),
        "a locked account let the user in"
    );
    let event = last_event(&env, "carol");
    assert_eq!(event["detail"]["reason"], "user_locked", "{event}");
    // The lock was the reason: once cleared, the right code works.
    env.json(&["unlock", "carol"]);
    assert!(pamtester(&svc, &carol.name, &right));
}

#[test]
fn an_unenrolled_user_and_a_missing_store_are_denied() {
    if !need_root("an_unenrolled_user_and_a_missing_store_are_denied") {
        return;
    }
    let env = TestEnv::new();
    let dave = enroll(&env, "dave");
    let svc = service(&snippet(&env.store));
    assert!(!pamtester(&svc, "nobody-enrolled", &code_now(&dave.secret)));
    assert!(!pamtester(&svc, "nobody-enrolled", &dave.scratch[0]));

    let missing = env.dir.path().join("nowhere").join("totpctl.db");
    let svc = service(&snippet(&missing));
    assert!(
        !pamtester(&svc, &dave.name, &code_now(&dave.secret)),
        "no store, yet let in"
    );
    assert!(!pamtester(&svc, &dave.name, &dave.scratch[0]));
    assert!(!missing.exists() && !missing.parent().unwrap().exists());
}

#[test]
fn a_wrong_key_is_denied() {
    if !need_root("a_wrong_key_is_denied") {
        return;
    }
    let env = TestEnv::new();
    let erin = enroll(&env, "erin");
    let svc = service(&snippet(&env.store));
    let key = std::fs::read(env.key_file()).unwrap();

    // Another store's key, well formed but not this store's.
    let other = TestEnv::new();
    other.enroll("x");
    std::fs::write(env.key_file(), std::fs::read(other.key_file()).unwrap()).unwrap();
    let code = code_now(&erin.secret);
    assert!(
        !pamtester(&svc, &erin.name, &code),
        "another store's key let the user in"
    );
    assert!(!pamtester(&svc, &erin.name, &erin.scratch[0]));
    // A damaged key, and none at all.
    std::fs::write(env.key_file(), b"garbage").unwrap();
    assert!(!pamtester(&svc, &erin.name, &code));
    std::fs::remove_file(env.key_file()).unwrap();
    assert!(!pamtester(&svc, &erin.name, &code));

    // With its key back, the same code works: nothing was consumed meanwhile.
    std::fs::write(env.key_file(), &key).unwrap();
    std::fs::set_permissions(
        env.key_file(),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    assert!(pamtester(&svc, &erin.name, &code));
    assert!(pamtester(&svc, &erin.name, &erin.scratch[0]));
}

#[test]
fn a_gradual_rollout_asks_only_members_of_the_group() {
    if !need_root("a_gradual_rollout_asks_only_members_of_the_group") {
        return;
    }
    // The README's nullok-style rollout: pam_succeed_if skips the totpctl line for
    // users outside the group. "daemon" is in it, "bin" is not.
    struct Group(String);
    impl Drop for Group {
        fn drop(&mut self) {
            let _ = Command::new("groupdel").arg(&self.0).status();
        }
    }
    let group = Group(format!("totp{}", std::process::id()));
    let run = |cmd: &str, args: &[&str]| {
        let s = Command::new(cmd).args(args).status().unwrap();
        assert!(s.success(), "{cmd} {args:?}");
    };
    run("groupadd", &[&group.0]);
    run("gpasswd", &["-a", "daemon", &group.0]);

    let env = TestEnv::new();
    let daemon = enroll(&env, "daemon");
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/pam/totpctl"))
            .unwrap();
    let rollout = shipped
        .lines()
        .find_map(|l| l.strip_prefix("#auth [success=1 default=ignore] pam_succeed_if.so"))
        .expect("the rollout line in contrib/pam/totpctl");
    let rollout = format!(
        "auth [success=1 default=ignore] pam_succeed_if.so{}",
        rollout.replace(" totp", &format!(" {}", group.0))
    );
    let svc = service(&format!("{rollout}\n{}", snippet(&env.store)));
    // A member must give a code.
    assert!(!pamtester(&svc, "daemon", "000000"));
    assert!(pamtester(&svc, "daemon", &code_now(&daemon.secret)));
    // Someone outside the group is not asked (not enrolled yet).
    assert!(pamtester(&svc, "bin", ""));
    // Skipping totpctl does not skip what follows it (a password module, here one
    // that always fails): nobody gets in past a later module.
    let svc = service(&format!(
        "{rollout}\n{}\nauth required pam_deny.so",
        snippet(&env.store)
    ));
    assert!(!pamtester(&svc, "bin", ""));
    assert!(!pamtester(&svc, "daemon", &code_now(&daemon.secret)));
    // The store going missing still denies members.
    let svc = service(&format!(
        "{rollout}\n{}",
        snippet(&env.dir.path().join("gone.db"))
    ));
    assert!(!pamtester(&svc, "daemon", &code_now(&daemon.secret)));
}

// The PAM-facing mode itself, as pam_exec runs it: no root needed.

/// Runs `totpctl verify --pam --store STORE` with pam_exec's environment and
/// `stdin`.
fn verify_pam(env: &TestEnv, user: Option<&str>, stdin: &[u8]) -> std::process::Output {
    let mut cmd = env.cmd();
    cmd.arg("verify")
        .arg("--pam")
        .args(env.pam_args())
        .env("PAM_SERVICE", "sshd")
        .env("PAM_RHOST", "198.51.100.4")
        .env("PAM_TYPE", "auth");
    if let Some(user) = user {
        cmd.env("PAM_USER", user);
    }
    cmd.write_stdin(stdin.to_vec()).output().unwrap()
}

#[test]
fn pam_mode_reads_a_nul_terminated_token_and_prints_nothing() {
    let env = TestEnv::new();
    let (e, codes) = env.enroll_verified("frank", common::T0);
    let code = code_now(&e.secret);
    let out = verify_pam(&env, Some("frank"), format!("{code}\0").as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let event = last_event(&env, "frank");
    assert_eq!(event["detail"]["pam"]["service"], "sshd");
    assert_eq!(event["detail"]["pam"]["rhost"], "198.51.100.4");

    // Replayed, wrong, unenrolled: non-zero, nothing on stdout, no code echoed.
    for (user, input, status) in [
        ("frank", format!("{code}\0"), 1),
        ("frank", "12\0".to_string(), 1),
        ("nobody-here", format!("{code}\0"), 4),
    ] {
        let out = verify_pam(&env, Some(user), input.as_bytes());
        assert_eq!(out.status.code(), Some(status), "{user} {input:?}");
        assert!(out.stdout.is_empty(), "{}", stdout(&out));
        assert!(!stderr(&out).contains(&code), "{}", stderr(&out));
    }
    // A backup code, newline-terminated too.
    let out = verify_pam(&env, Some("frank"), format!("{}\n", codes[0]).as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn pam_mode_refuses_without_pam_user_store_or_code() {
    let env = TestEnv::new();
    env.enroll_verified("gina", common::T0);
    let out = verify_pam(&env, None, b"123456\0");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("PAM_USER"), "{}", stderr(&out));
    let out = verify_pam(&env, Some("gina"), b"\0");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    // The store from the environment (which PAM may take from the user) is refused.
    let out = env
        .cmd()
        .args(["verify", "--pam"])
        .env("PAM_USER", "gina")
        .write_stdin(b"123456\0".to_vec())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--store"), "{}", stderr(&out));
    // An account or a code on the command line makes no sense under PAM.
    let out = env.run(&["verify", "--pam", "gina"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Under PAM nothing comes from the environment (issue 17): variables that would move
/// the store, the key, the state directory, the server or the trust are all ignored,
/// and the PAM line alone decides.
#[test]
fn pam_mode_takes_nothing_from_the_environment() {
    let env = TestEnv::new();
    let (e, _) = env.enroll_verified("hana", common::T0);
    let elsewhere = env.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let code = code_now(&e.secret);
    let out = env
        .cmd()
        .arg("verify")
        .arg("--pam")
        .args(env.pam_args())
        .env("PAM_USER", "hana")
        .env("TOTPCTL_KEY_FILE", elsewhere.join("wrong.key"))
        .env("TOTPCTL_STATE_DIR", elsewhere.join("state"))
        .env("TOTPCTL_TIMEOUT", "0.001")
        .env("PGHOST", "203.0.113.1")
        .env("PGPORT", "1")
        .env("PGPASSWORD", "wrong")
        .env("PGSSLMODE", "verify-full")
        .env("SSL_CERT_FILE", elsewhere.join("ca.pem"))
        .env("https_proxy", "http://203.0.113.1:1")
        .write_stdin(format!("{code}\0"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !elsewhere.join("state").exists(),
        "TOTPCTL_STATE_DIR was used"
    );
}

/// PAM_USER is a user name, never an enrollment id; a passphrase is never read, so
/// a passphrase store is refused; an unknown user is recorded like a rejected code.
#[test]
fn pam_mode_looks_up_names_only_reads_no_passphrase_and_records_unknown_users() {
    let env = TestEnv::new();
    let (e, _) = env.enroll_verified("ivan", common::T0);
    let code = code_now(&e.secret);
    let out = verify_pam(&env, Some(&e.id), format!("{code}\0").as_bytes());
    assert_ne!(out.status.code(), Some(0), "an id logged ivan in");
    let before = env.json(&["log"]).as_array().unwrap().len();
    let out = verify_pam(&env, Some("nobody-here"), format!("{code}\0").as_bytes());
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let log = env.json(&["log", "nobody-here"]);
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log[0]["event"], "code_rejected", "{log}");
    assert_eq!(log[0]["detail"]["reason"], "resource_not_found", "{log}");
    assert_eq!(log[0]["detail"]["pam"]["service"], "sshd", "{log}");
    assert_eq!(env.json(&["log"]).as_array().unwrap().len(), before + 1);
    // A passphrase store: TOTPCTL_PASSPHRASE in the PAM environment is not read.
    env.cmd()
        .args(["rekey", "--passphrase"])
        .env("TOTPCTL_NEW_PASSPHRASE", "correct horse battery")
        .assert()
        .success();
    let out = env
        .cmd()
        .arg("verify")
        .arg("--pam")
        .args(env.pam_args())
        .env("PAM_USER", "ivan")
        .env("TOTPCTL_PASSPHRASE", "correct horse battery")
        .write_stdin(format!("{}\0", code_now(&e.secret)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("passphrase"), "{}", stderr(&out));
}

/// The second shipped snippet, `contrib/pam/totpctl-remote`: the PAM host holds a
/// verify token and the CA, nothing of the store; pamtester logs in through a real
/// `serve` over TLS. A code is accepted once; the event names the host's token and
/// what the host claimed (the service, the remote host); a server that is gone
/// denies within the timeout.
#[test]
fn the_remote_snippet_asks_the_server_over_https() {
    if !need_root("the_remote_snippet_asks_the_server_over_https") {
        return;
    }
    let env = TestEnv::new();
    let alice = enroll(&env, "alice");
    let token = server::token(&env, "bastion", &["verify"]);
    let certs = env.dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    let (ca, cert, key) = server::test_ca(&certs);
    let mut srv = server::Server::start(
        &env,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let token_file = env.dir.path().join("verify.token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/pam/totpctl-remote"),
    )
    .unwrap();
    let lines: Vec<&str> = shipped
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    let binary = assert_cmd::cargo::cargo_bin("totpctl");
    let auth = lines
        .join("\n")
        .replace("/usr/bin/totpctl", binary.to_str().unwrap())
        .replace("https://auth.example.com:8443", &srv.url)
        .replace("/etc/totpctl/verify.token", token_file.to_str().unwrap())
        .replace("/etc/ssl/certs/ca-certificates.crt", ca.to_str().unwrap());
    assert!(
        auth.contains(&srv.url) && auth.contains("--timeout"),
        "{auth}"
    );
    let svc = service(&auth);

    let code = code_now(&alice.secret);
    assert!(
        pamtester(&svc, "alice", &code),
        "the right code was refused"
    );
    assert!(
        !pamtester(&svc, "alice", &code),
        "a replayed code let alice in"
    );
    assert!(
        !pamtester(&svc, "nobody", "123456"),
        "an unknown user got in"
    );
    let accepted = env.json(&["log", "alice", "--event", "code_accepted"]);
    let last = accepted.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"]["token"], "bastion", "{last}");
    assert_eq!(last["actor"]["address"], "127.0.0.1", "{last}");
    assert_eq!(
        last["actor"]["claimed"]["service"],
        svc.name.as_str(),
        "{last}"
    );
    assert_eq!(last["actor"]["claimed"]["rhost"], "203.0.113.7", "{last}");

    // The server gone: denied, and within the snippet's timeout.
    srv.stop_with("KILL", std::time::Duration::from_secs(5));
    let start = std::time::Instant::now();
    assert!(!pamtester(&svc, "alice", &code_now(&alice.secret)));
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}
