//! `totpctl serve` against clients that race, stall, flood and die, and against
//! being killed: the real binary on loopback, on SQLite and (with
//! `TOTPCTL_TEST_ENGINE=postgres`) on PostgreSQL.

mod common;

#[path = "common/server.rs"]
mod server;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::json;

use common::*;
use server::*;

/// 64 clients send the same code at once: exactly one is accepted, every other is
/// told it was used (or the account is locked), and the log holds one acceptance.
#[test]
fn sixty_four_clients_with_one_code_get_exactly_one_acceptance() {
    let env = TestEnv::new();
    env.set("lockout-attempts", "0");
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = token(&env, "pam", &["verify"]);
    let srv = Server::start(&env, &[]);
    let code = oathtool(&alice.secret, now(), &[]);
    let barrier = Arc::new(Barrier::new(64));
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let (c, t, code, barrier) = (
                Client::new(&srv.url),
                t.clone(),
                code.clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let a = c.post("/v1/users/alice/verify_totp", &t, &json!({"code": code}));
                (a.status, a.code().to_string())
            })
        })
        .collect();
    let answers: Vec<(u16, String)> = clients.into_iter().map(|h| h.join().unwrap()).collect();
    let accepted = answers.iter().filter(|a| a.0 == 200).count();
    assert_eq!(accepted, 1, "{answers:?}");
    for a in answers.iter().filter(|a| a.0 != 200) {
        assert_eq!(a, &(422, "totp_replayed_code".to_string()));
    }
    let accepted = env.json(&["log", "alice", "--event", "code_accepted"]);
    let through_api: Vec<_> = accepted
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"]["token"] == "pam")
        .collect();
    assert_eq!(through_api.len(), 1, "{accepted}");
    assert_eq!(env.json(&["log", "--check"])["intact"], true);
}

/// A client that sends its headers slowly, or promises a body it never sends, is cut
/// off after --client-timeout; a body over --max-body is refused with 413; none of
/// it writes anything, and the server goes on answering.
#[test]
fn slow_and_oversized_clients_are_cut_off() {
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let t = token(&env, "admin", &["admin"]);
    let srv = Server::start(&env, &["--client-timeout", "1", "--max-body", "4096"]);
    let c = Client::new(&srv.url);
    let before = env.json(&["log"]);
    let addr = srv.url.trim_start_matches("http://").to_string();

    // Headers that never end.
    let start = Instant::now();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "held {:?}",
        start.elapsed()
    );
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A body promised and never sent.
    let start = Instant::now();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /v1/users/alice/verify_totp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"code\""
    )
    .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "held {:?}",
        start.elapsed()
    );
    let answer = String::from_utf8_lossy(&buf);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");

    // Too large, with and without a Content-Length.
    let big = vec![b'x'; 1 << 20];
    // The answer may come before the client has sent it all: then the connection is
    // closed under the client (a broken pipe), which cuts it off as well.
    match c.try_raw("POST", "/v1/import", Some(&t), Some(big.clone()), &[]) {
        Ok(a) => assert_eq!(
            (a.status, a.code()),
            (413, "payload_too_large"),
            "{:?}",
            a.json
        ),
        Err(e) => assert!(e.contains("Broken pipe") || e.contains("reset"), "{e}"),
    }
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
        ])
        .arg(format!("Authorization: Bearer {t}"))
        .args(["--data-binary", "@-", "-w", "\n%{http_code}"])
        .arg(format!("{}/v1/import", srv.url))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(&big);
            drop(stdin);
            child.wait_with_output()
        })
        .expect("curl is installed");
    assert!(stdout(&out).ends_with("413"), "{}", stdout(&out));

    // Malformed: not JSON, the wrong JSON, a header line of garbage.
    for body in [
        &b"{"[..],
        b"[]",
        b"{\"code\": 5}",
        b"{\"code\": \"1\", \"extra\": 1}",
        b"\xff\xfe",
    ] {
        let a = c.raw(
            "POST",
            "/v1/users/alice/verify_totp",
            Some(&t),
            Some(body.to_vec()),
            &[],
        );
        assert_eq!(
            (a.status, a.code()),
            (400, "invalid_argument"),
            "{body:?}: {:?}",
            a.json
        );
    }
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(String::from_utf8_lossy(&buf).is_empty() || buf.starts_with(b"HTTP/1.1 400"));

    assert_eq!(
        env.json(&["log"]),
        before,
        "a cut-off request wrote something"
    );
    assert_eq!(
        c.get("/v1/info", &t).status,
        200,
        "the server stopped answering"
    );
}

/// Killed with SIGKILL in the middle of a load of verifies: what was answered is
/// recorded, nothing is half-written, and a new server carries on. SIGTERM lets the
/// requests in flight finish and exits 0.
#[test]
fn a_kill_under_load_leaves_nothing_partial_and_sigterm_stops_cleanly() {
    let env = TestEnv::new();
    env.set("lockout-attempts", "0");
    let mut secrets = Vec::new();
    for i in 0..8 {
        secrets.push(env.enroll_verified(&format!("user{i}"), T0).0.secret);
    }
    let t = token(&env, "pam", &["verify"]);
    let mut srv = Server::start(&env, &[]);
    let accepted = Arc::new(std::sync::Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let (c, t, accepted) = (Client::new(&srv.url), t.clone(), accepted.clone());
            let secret = secrets[i].clone();
            std::thread::spawn(move || {
                let mut n = 0;
                let deadline = Instant::now() + Duration::from_secs(20);
                while Instant::now() < deadline {
                    let code = if n == 0 {
                        oathtool(&secret, now(), &[])
                    } else {
                        format!("{:06}", n)
                    };
                    n += 1;
                    let body = json!({"code": code}).to_string().into_bytes();
                    let r = c.try_raw(
                        "POST",
                        &format!("/v1/users/user{i}/verify_totp"),
                        Some(&t),
                        Some(body),
                        &[],
                    );
                    match r {
                        Ok(a) if a.status == 200 => accepted.lock().unwrap().push(i),
                        Ok(_) => {}
                        Err(_) => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(srv.stop_with("KILL", Duration::from_secs(5)).is_some());
    for c in clients {
        let _ = c.join();
    }
    // Every answered acceptance is in the log; the log and every row check out.
    assert_eq!(env.json(&["log", "--check"])["intact"], true);
    let list = env.json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 8);
    for i in accepted.lock().unwrap().iter() {
        let verified = env.json(&["log", &format!("user{i}")]);
        assert!(
            verified
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["actor"]["token"] == "pam" && e["event"] == "code_accepted"),
            "user{i}'s acceptance was answered but not recorded: {verified}"
        );
    }

    // A new server over the same store answers at once.
    let mut srv = Server::start(&env, &[]);
    let c = Client::new(&srv.url);
    let a = c.post(
        "/v1/users/user0/verify_totp",
        &t,
        &json!({"code": "000000"}),
    );
    assert_eq!(
        (a.status, a.code()),
        (422, "totp_incorrect_code"),
        "{:?}",
        a.json
    );
    let status = srv.stop_with("TERM", Duration::from_secs(15));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", srv.log());
    assert!(srv.log().contains("stopping"), "{}", srv.log());
}

/// The server and the command line take turns writing the same SQLite store: every
/// write either of them answered is there for the other. (Once, a server's own check
/// of the store file closed a descriptor of it, which dropped the locks of its other
/// connections: a command closing after that took itself for the last user, deleted
/// the write-ahead log, and the server's next answered writes were lost.)
#[test]
fn the_server_and_the_cli_taking_turns_lose_nothing() {
    let env = TestEnv::new();
    env.create_store();
    let t = token(&env, "admin", &["admin"]);
    let srv = Server::start(&env, &["--workers", "4"]);
    let c = Client::new(&srv.url);
    for i in 0..12 {
        // Several requests at once, so that every worker opens the store.
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let (c, t) = (c.clone(), t.clone());
                std::thread::spawn(move || {
                    let a = c.call(
                        "POST",
                        &format!("/v1/users/api{i}-{w}/totp"),
                        Some(&t),
                        None,
                    );
                    assert_eq!(a.status, 200, "{:?}", a.json);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        env.json(&["log", "--check"]);
        env.enroll(&format!("cli{i}"));
    }
    assert_eq!(env.accounts(&[]).len(), 12 * 5);
    assert_eq!(
        c.get("/v1/totps", &t).json.as_array().unwrap().len(),
        12 * 5
    );
    assert_eq!(env.json(&["log", "--check", "--full"])["intact"], true);
}

/// Two servers over one PostgreSQL store, with command-line verifies beside them,
/// all sending the same code at once: exactly one acceptance in the whole fleet.
#[test]
fn two_servers_and_the_cli_over_one_postgres_accept_a_code_once() {
    if !on_postgres() {
        println!("skipped: needs a PostgreSQL store (TOTPCTL_TEST_ENGINE=postgres)");
        return;
    }
    let env = Arc::new(TestEnv::new());
    env.set("lockout-attempts", "0");
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = token(&env, "pam", &["verify"]);
    let (a, b) = (Server::start(&env, &[]), Server::start(&env, &[]));
    let code = oathtool(&alice.secret, now(), &[]);
    let barrier = Arc::new(Barrier::new(40));
    let mut handles = Vec::new();
    for i in 0..32 {
        let url = if i % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let (t, code, barrier) = (t.clone(), code.clone(), barrier.clone());
        handles.push(std::thread::spawn(move || {
            let c = Client::new(&url);
            barrier.wait();
            c.post("/v1/users/alice/verify_totp", &t, &json!({"code": code}))
                .status
                == 200
        }));
    }
    for _ in 0..8 {
        let (env, code, barrier) = (env.clone(), code.clone(), barrier.clone());
        handles.push(std::thread::spawn(move || {
            let mut cmd = env.std_cmd();
            cmd.args(["verify", "alice", &code]);
            barrier.wait();
            cmd.output().unwrap().status.code() == Some(0)
        }));
    }
    let accepted = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert_eq!(accepted, 1);
    let log = env.json(&["log", "alice", "--event", "code_accepted"]);
    // The one at T0 by enroll_verified, and this one.
    assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
    assert_eq!(env.json(&["log", "--check"])["intact"], true);
}
