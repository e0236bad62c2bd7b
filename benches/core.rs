//! In-process benchmarks of the work inside one command: checking a code, sealing and
//! unsealing a secret, hashing a backup code, parsing an otpauth URI, and what each of
//! issue 17's defences adds to a verify (the schema check, the read-back, this host's
//! records), each beside the engine's bare work it rides on.
//!
//! Run with `cargo bench`. The whole-process figures (verify, list, import, enroll
//! against sqlite3 and oathtool) come from `bench/run.sh`; see BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use totpctl::domain::integrity;
use totpctl::domain::model::Totp;
use totpctl::domain::otp::{self, Algorithm, Params};
use totpctl::store::{Location, Store};
use totpctl::vault::Vault;

/// A 20-byte secret (RFC 6238's test secret), the size `enroll` makes by default.
const SECRET: &[u8] = b"12345678901234567890";
const ID: &str = "0192f1a2-7b3c-7def-8a9b-0123456789ab";

fn params(algorithm: Algorithm) -> Params {
    Params::new(algorithm, 6, 30).expect("valid parameters")
}

fn code_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("code_check");
    let now_step = 1_764_158_400 / 30;
    for (name, algorithm) in [
        ("sha1", Algorithm::Sha1),
        ("sha256", Algorithm::Sha256),
        ("sha512", Algorithm::Sha512),
    ] {
        let p = params(algorithm);
        let code = otp::code_at_step(&p, SECRET, now_step);
        // Window 1 (the default): three steps computed and compared, whichever matches.
        group.bench_function(format!("find_step_{name}_window1"), |b| {
            b.iter(|| otp::find_step(&p, black_box(SECRET), black_box(&code), now_step, 1))
        });
    }
    let p = params(Algorithm::Sha1);
    group.bench_function("find_step_sha1_window10_miss", |b| {
        b.iter(|| otp::find_step(&p, black_box(SECRET), black_box("000000"), now_step, 10))
    });
    group.finish();
}

/// A vault with fresh keys, on a temporary store whose key file sits beside it.
fn vault() -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let at = Location::Sqlite(path);
    let mut store = Store::open(&at, &totpctl::store::Access::default()).expect("open store");
    let keys = at.key_source(&totpctl::store::Access::default());
    let mut tx = store.write().expect("write transaction");
    let vault = Vault::init(&mut *tx, &keys, "2026-11-26T12:00:00.000Z").expect("vault");
    tx.commit().expect("commit");
    (dir, vault)
}

/// An enrollment as verify holds it, with a verified TOTP and ten backup codes.
fn totp() -> Totp {
    Totp {
        id: ID.into(),
        account: "alice@example.com".into(),
        issuer: "Example Corp".into(),
        params: params(Algorithm::Sha1),
        verified: true,
        last_step: Some(58_805_280),
        last_used_at: Some("2026-11-26T12:00:00.000Z".into()),
        failed_attempts: 0,
        locked_until: None,
        created_at: "2026-11-26T11:00:00.000Z".into(),
        updated_at: "2026-11-26T12:00:00.000Z".into(),
        backup_codes_remaining: 10,
        mac: None,
    }
}

fn secrets(c: &mut Criterion) {
    let (_dir, vault) = vault();
    let t = totp();
    let sealed = vault.seal(&t, SECRET).expect("seal");
    let mut group = c.benchmark_group("vault");
    group.bench_function("seal_20_bytes", |b| {
        b.iter(|| vault.seal(black_box(&t), black_box(SECRET)))
    });
    group.bench_function("unseal_20_bytes", |b| {
        b.iter(|| vault.open(black_box(&t), black_box(&sealed)))
    });
    group.bench_function("hash_backup_code", |b| {
        b.iter(|| vault.hash_code(black_box(ID), black_box("abcdefghjk")))
    });
    group.finish();
}

/// What issue 9's MACs add to one verify: the enrollment's state is digested and
/// MACed twice (checked when loaded, renewed when saved), its last event's MAC and
/// hash are checked, and each new event gets a hash and a MAC.
fn macs(c: &mut Criterion) {
    let (_dir, vault) = vault();
    let keys = vault.keys();
    let t = totp();
    let hashes: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 32]).collect();
    let mut group = c.benchmark_group("integrity");
    group.bench_function("derive_keys", |b| b.iter(|| black_box(&vault).keys()));
    group.bench_function("enrollment_digest_and_mac", |b| {
        b.iter(|| {
            let set = integrity::backup_set_digest(black_box(&hashes));
            keys.totp_mac(&integrity::totp_digest(black_box(&t), &set))
        })
    });
    group.bench_function("event_mac", |b| {
        b.iter(|| keys.event_mac(black_box(42), black_box(&[7u8; 32])))
    });
    group.finish();
}

fn uri_parsing(c: &mut Criterion) {
    let plain = "otpauth://totp/alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let full = "otpauth://totp/Example%20Corp:alice%40example.com?\
                secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Corp&\
                algorithm=SHA256&digits=8&period=60";
    let mut group = c.benchmark_group("parse_uri");
    group.bench_function("account_and_secret", |b| {
        b.iter(|| otp::parse_uri(black_box(plain)))
    });
    group.bench_function("all_parameters", |b| {
        b.iter(|| otp::parse_uri(black_box(full)))
    });
    group.finish();
}

/// A store of one verified enrollment, made by the real binary; its directory, the
/// store's path and the enrollment's id.
fn one_enrollment() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store").join("bench.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_totpctl"))
        .args(["--json", "--store"])
        .arg(&store)
        .args(["import", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n")?;
            child.wait_with_output()
        })
        .expect("totpctl import");
    assert!(out.status.success());
    let conn = rusqlite::Connection::open(&store).expect("open");
    let id: String = conn
        .query_row("SELECT id FROM totps", [], |r| r.get(0))
        .expect("id");
    (dir, store, id)
}

/// Issue 17's defences, each beside the bare work it is added to.
fn defences(c: &mut Criterion) {
    use totpctl::store::Access;
    let (_dir, path, id) = one_enrollment();
    let at = Location::Sqlite(path.clone());
    let mut store = Store::open(&at, &Access::default()).expect("open store");
    let bare = rusqlite::Connection::open(&path).expect("open");
    let mut group = c.benchmark_group("defences");
    // A transaction as every command starts one: BEGIN, the version, the schema
    // check (its whole schema table read and digested), ROLLBACK.
    group.bench_function("transaction_with_schema_check", |b| {
        b.iter(|| drop(store.read().expect("read")))
    });
    group.bench_function("transaction_bare", |b| {
        b.iter(|| {
            bare.execute_batch("BEGIN").expect("begin");
            let v: i32 = bare
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .expect("version");
            bare.execute_batch("ROLLBACK").expect("rollback");
            black_box(v)
        })
    });
    // The read-back of a verify's writes: the enrollment with its codes, the events
    // appended (here the newest), the head.
    let last: i64 = bare
        .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
        .expect("seq");
    group.bench_function("read_back_of_a_verify", |b| {
        b.iter(|| {
            let mut tx = store.read().expect("read");
            tx.stored_states(std::slice::from_ref(&id), &mut |st| {
                black_box(st);
                Ok(())
            })
            .expect("states");
            tx.for_each_stored_event(last - 1, 2, &mut |e| {
                black_box(e);
                Ok(())
            })
            .expect("events");
            black_box(tx.head().expect("head"));
        })
    });
    // This host's records of the store: what a verify reads (the place, the log's
    // position, the account's) and writes after its commit (the log's record
    // overwritten in place, the account's slot in the accounts' table).
    let state = path.parent().expect("dir").join("bench-state");
    let positions = totpctl::store::position::Positions::new(
        state,
        &at.place(),
        "0123456789abcdef0123456789abcdef",
        zeroize::Zeroizing::new([7u8; 32]),
    );
    let pos = totpctl::store::engine::Position {
        seq: 42,
        hash: vec![9; 32],
    };
    let log = totpctl::store::position::LogPosition {
        at: pos.clone(),
        restore: 0,
    };
    positions.bind(true).expect("bind");
    positions.save_log(&log).expect("log");
    let served: std::collections::HashMap<_, _> =
        [(positions.account_key("alice"), (pos.seq, [9u8; 32]))].into();
    positions.save_accounts(&served).expect("account");
    group.bench_function("host_records_read", |b| {
        b.iter(|| {
            black_box(positions.binding().expect("binding"));
            black_box(positions.log().expect("log"));
            black_box(positions.account("alice").expect("account"));
        })
    });
    group.bench_function("host_records_write", |b| {
        // A newer event each time, as after each verify: an older one is not written.
        let mut seq = pos.seq;
        let key = positions.account_key("alice");
        b.iter(|| {
            seq += 1;
            let at = totpctl::store::engine::Position {
                seq,
                hash: vec![9; 32],
            };
            positions
                .save_log(&totpctl::store::position::LogPosition { at, restore: 0 })
                .expect("log");
            positions
                .save_accounts(&[(key, (seq, [9u8; 32]))].into())
                .expect("account");
        })
    });
    group.finish();
}

criterion_group!(benches, code_check, secrets, macs, uri_parsing, defences);
criterion_main!(benches);
