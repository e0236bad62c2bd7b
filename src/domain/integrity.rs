//! What decides acceptance, authenticated (issue "the store is untrusted input").
//!
//! Whoever can write the database but does not hold the key must gain nothing. So
//! everything a decision rests on is covered by an HMAC-SHA-256 under keys derived
//! from the store's data key, and checked before it is used:
//!
//! - each enrollment's whole row (parameters, account, the replay watermark, the
//!   failure count and lock, the verified flag) together with the set of its live
//!   backup-code hashes, so that restoring a used code's row revives nothing;
//! - the store's settings, as one set, so that a deleted setting does not fall back
//!   to its default;
//! - each audit event and the log's head (see `store::events`).
//!
//! The MACs are over a *digest* of each state, and the digest (unkeyed) is also what
//! audit events record: `log --check` compares each enrollment's digest with the one
//! its last event recorded, which catches a row restored from an older, once-valid
//! copy. The digests carry nothing secret: every field is in the database already.
//!
//! The keys are derived from the data key, so `rekey` rotates them with it and
//! re-authenticates everything in the same transaction.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::domain::model::Totp;

/// A 32-byte digest or MAC.
pub type Tag = [u8; 32];

/// The MAC keys of a store, derived from its data key.
pub struct Keys {
    state: Zeroizing<[u8; 32]>,
    log: Zeroizing<[u8; 32]>,
}

impl Keys {
    /// Derives the MAC keys from a data key (HMAC as a PRF, one label per key).
    pub fn derive(data_key: &[u8; 32]) -> Keys {
        Keys {
            state: Zeroizing::new(prf(data_key, b"totpctl integrity key v2")),
            log: Zeroizing::new(prf(data_key, b"totpctl log key v2")),
        }
    }

    /// The MAC of an enrollment's state digest.
    pub fn totp_mac(&self, digest: &Tag) -> Tag {
        mac(self.state.as_ref(), &[b"totp\0", digest])
    }

    /// The MAC of an API token's digest ([`token_digest`]).
    pub fn token_mac(&self, digest: &Tag) -> Tag {
        mac(self.state.as_ref(), &[b"token\0", digest])
    }

    /// The MAC of the settings' digest.
    pub fn config_mac(&self, digest: &Tag) -> Tag {
        mac(self.state.as_ref(), &[b"config\0", digest])
    }

    /// The MAC of an audit event, over its sequence number and chain hash.
    pub fn event_mac(&self, seq: i64, hash: &[u8]) -> Tag {
        mac(self.log.as_ref(), &[b"event\0", &seq.to_be_bytes(), hash])
    }

    /// The MAC of the log's head, apart from the events' so one is never the other.
    /// It also binds the seqs of the newest `config_changed` and `restore_accepted`
    /// events ([`Anchors`]): hiding either for the length of one command (deleting it
    /// and putting it back after) changes what a reader finds, and the head no longer
    /// checks out.
    pub fn head_mac(&self, seq: i64, hash: &[u8], anchors: Anchors) -> Tag {
        mac(
            self.log.as_ref(),
            &[
                b"head v3\0",
                &seq.to_be_bytes(),
                hash,
                &anchors.config.to_be_bytes(),
                &anchors.restore.to_be_bytes(),
                // Only once there is one, so that the heads of stores without tokens
                // keep the MAC they were given before tokens were.
                if anchors.tokens > 0 { b"tokens\0" } else { b"" },
                &if anchors.tokens > 0 {
                    anchors.tokens.to_be_bytes().to_vec()
                } else {
                    Vec::new()
                },
            ],
        )
    }

    /// The MAC of a head written before heads bound their anchors: accepted for a head
    /// such a version wrote, the newest until the next write renews it.
    pub fn head_mac_v2(&self, seq: i64, hash: &[u8]) -> Tag {
        mac(self.log.as_ref(), &[b"head\0", &seq.to_be_bytes(), hash])
    }
}

/// The events a head answers for besides the newest: the newest change of the
/// settings, the newest accepted restore and the newest change of the API tokens
/// (their seqs; 0 for none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Anchors {
    pub config: i64,
    pub restore: i64,
    /// The newest change of the API tokens.
    pub tokens: i64,
}

/// Compares a stored MAC with the expected one in constant time; a missing or
/// mis-sized one never matches.
pub fn matches(stored: Option<&[u8]>, expected: &Tag) -> bool {
    stored.is_some_and(|s| s.len() == expected.len() && bool::from(s.ct_eq(expected)))
}

fn prf(key: &[u8], label: &[u8]) -> [u8; 32] {
    mac(key, &[label])
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Tag {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    for part in parts {
        m.update(part);
    }
    m.finalize().into_bytes().into()
}

/// A length-prefixed, typed encoding, so that no two different states encode alike.
struct Encoder(Sha256);

impl Encoder {
    fn new(domain: &[u8]) -> Encoder {
        let mut h = Sha256::new();
        h.update(domain);
        Encoder(h)
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.update((b.len() as u64).to_be_bytes());
        self.0.update(b);
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => {
                self.0.update([1]);
                self.text(s)
            }
            None => {
                self.0.update([0]);
                self
            }
        }
    }

    fn int(&mut self, n: i64) -> &mut Self {
        self.0.update(n.to_be_bytes());
        self
    }

    fn opt_int(&mut self, n: Option<i64>) -> &mut Self {
        match n {
            Some(n) => {
                self.0.update([1]);
                self.int(n)
            }
            None => {
                self.0.update([0]);
                self
            }
        }
    }

    fn finish(self) -> Tag {
        self.0.finalize().into()
    }
}

/// The digest of a set of backup-code hashes: order does not matter, duplicates do.
pub fn backup_set_digest(hashes: &[Vec<u8>]) -> Tag {
    let mut sorted: Vec<&Vec<u8>> = hashes.iter().collect();
    sorted.sort();
    let mut e = Encoder::new(b"totpctl backup set v2\0");
    e.int(sorted.len() as i64);
    for h in sorted {
        e.bytes(h);
    }
    e.finish()
}

/// The digest of an enrollment's whole state: every column but the sealed secret
/// (which its own AEAD binds to the id and parameters), and its live backup codes.
pub fn totp_digest(t: &Totp, backup_set: &Tag) -> Tag {
    let mut e = Encoder::new(b"totpctl totp state v2\0");
    e.text(&t.id)
        .text(&t.account)
        .text(&t.issuer)
        .text(t.params.algorithm.as_str())
        .int(i64::from(t.params.digits))
        .int(i64::from(t.params.period))
        .int(i64::from(t.verified))
        .opt_int(t.last_step)
        .opt_text(t.last_used_at.as_deref())
        .int(i64::from(t.failed_attempts))
        .opt_text(t.locked_until.as_deref())
        .text(&t.created_at)
        .text(&t.updated_at)
        .bytes(backup_set);
    e.finish()
}

/// The digest of the settings: every stored (key, value) pair, in key order.
pub fn config_digest(pairs: &[(String, String)]) -> Tag {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    let mut e = Encoder::new(b"totpctl config v2\0");
    e.int(sorted.len() as i64);
    for (k, v) in sorted {
        e.text(k).text(v);
    }
    e.finish()
}

/// The digest of an API token's row: everything but its last use, which is kept to
/// the minute for people and decides nothing.
pub fn token_digest(
    name: &str,
    hash: &[u8],
    scopes: &str,
    created_at: &str,
    expires_at: Option<&str>,
) -> Tag {
    let mut e = Encoder::new(b"totpctl token v1\0");
    e.text(name)
        .bytes(hash)
        .text(scopes)
        .text(created_at)
        .opt_text(expires_at);
    e.finish()
}

/// The digest of every API token at once (each by its [`token_digest`]), in any
/// order: what each change of the tokens records, so that a token deleted, or one
/// put back after it was revoked, is found.
pub fn token_set_digest(digests: &[Tag]) -> Tag {
    let mut sorted: Vec<&Tag> = digests.iter().collect();
    sorted.sort();
    let mut e = Encoder::new(b"totpctl token set v1\0");
    e.int(sorted.len() as i64);
    for d in sorted {
        e.bytes(d);
    }
    e.finish()
}

/// The associated data that binds a sealed secret to its enrollment: its id, account,
/// issuer and parameters. A sealed secret moved to another row, or left on a row
/// whose account or parameters were edited, does not open.
pub fn secret_aad(t: &Totp) -> Vec<u8> {
    let mut aad = b"totpctl secret v2\0".to_vec();
    for field in [
        t.id.as_str(),
        t.account.as_str(),
        t.issuer.as_str(),
        t.params.algorithm.as_str(),
    ] {
        aad.extend_from_slice(&(field.len() as u64).to_be_bytes());
        aad.extend_from_slice(field.as_bytes());
    }
    aad.push(t.params.digits);
    aad.extend_from_slice(&t.params.period.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::otp::{Algorithm, Params};

    fn totp() -> Totp {
        Totp {
            id: "0190".into(),
            account: "alice".into(),
            issuer: "Acme".into(),
            params: Params::new(Algorithm::Sha1, 6, 30).unwrap(),
            verified: true,
            last_step: Some(5),
            last_used_at: None,
            failed_attempts: 0,
            locked_until: None,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            backup_codes_remaining: 0,
            mac: None,
        }
    }

    #[test]
    fn every_field_changes_the_digest() {
        let set = backup_set_digest(&[]);
        let base = totp_digest(&totp(), &set);
        let edits: &[fn(&mut Totp)] = &[
            |t| t.account = "mallory".into(),
            |t| t.issuer = "Evil".into(),
            |t| t.params.digits = 7,
            |t| t.params.period = 60,
            |t| t.params.algorithm = Algorithm::Sha256,
            |t| t.verified = false,
            |t| t.last_step = None,
            |t| t.last_step = Some(4),
            |t| t.failed_attempts = 1,
            |t| t.locked_until = Some("x".into()),
            |t| t.last_used_at = Some("x".into()),
        ];
        for edit in edits {
            let mut t = totp();
            edit(&mut t);
            assert_ne!(totp_digest(&t, &set), base);
        }
        assert_ne!(totp_digest(&totp(), &backup_set_digest(&[vec![1]])), base);
    }

    #[test]
    fn backup_set_ignores_order_but_not_content() {
        let a = backup_set_digest(&[vec![1], vec![2]]);
        assert_eq!(a, backup_set_digest(&[vec![2], vec![1]]));
        assert_ne!(a, backup_set_digest(&[vec![1]]));
        assert_ne!(a, backup_set_digest(&[vec![1], vec![2], vec![2]]));
    }

    #[test]
    fn a_missing_or_short_mac_never_matches() {
        let keys = Keys::derive(&[7; 32]);
        let tag = keys.config_mac(&[0; 32]);
        assert!(matches(Some(&tag), &tag));
        assert!(!matches(None, &tag));
        assert!(!matches(Some(&tag[..31]), &tag));
        assert_ne!(keys.event_mac(1, &[0; 32]), keys.head_mac_v2(1, &[0; 32]));
        assert_ne!(
            keys.head_mac(1, &[0; 32], Anchors::default()),
            keys.head_mac(
                1,
                &[0; 32],
                Anchors {
                    config: 1,
                    ..Anchors::default()
                }
            )
        );
    }
}
