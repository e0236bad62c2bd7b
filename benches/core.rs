//! In-process benchmarks of the work inside one command: checking a code, sealing and
//! unsealing a secret, hashing a backup code, and parsing an otpauth URI.
//!
//! Run with `cargo bench`. The whole-process figures (verify, list, import, enroll
//! against sqlite3 and oathtool) come from `bench/run.sh`; see BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use totpctl::integrity;
use totpctl::otp::{self, Algorithm, Params};
use totpctl::store::{Location, Store, Totp};
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

criterion_group!(benches, code_check, secrets, macs, uri_parsing);
criterion_main!(benches);
