//! The table on disk, written, grown, damaged and read back.

use super::*;

fn seen<const N: usize>(items: [(&str, Position); N]) -> HashMap<Key, Seen> {
    items
        .into_iter()
        .map(|(a, p)| (account_key(&KEY, a), (p.seq, p.hash.try_into().unwrap())))
        .collect()
}

const KEY: [u8; 32] = [7; 32];

fn at(seq: i64) -> Position {
    Position {
        seq,
        hash: vec![seq as u8; 32],
    }
}

#[test]
fn records_survive_growth_and_only_move_forward() {
    let dir = tempfile::tempdir().unwrap();
    let t = HostAccounts::new(dir.path(), &KEY, "store-a");
    assert_eq!(t.get("alice").unwrap(), None);
    // One at a time at first, then a batch that makes the table grow several times.
    for i in 0..50 {
        t.save(&seen([(&format!("user{i}"), at(i + 1))])).unwrap();
    }
    let batch: HashMap<Key, Seen> = (50..5000)
        .map(|i| {
            (
                account_key(&KEY, &format!("user{i}")),
                (i + 1, [(i + 1) as u8; 32]),
            )
        })
        .collect();
    t.save(&batch).unwrap();
    for i in 0..5000 {
        assert_eq!(
            t.get(&format!("user{i}")).unwrap(),
            Some(at(i + 1)),
            "user{i}"
        );
    }
    let len = std::fs::metadata(dir.path().join("accounts"))
        .unwrap()
        .len();
    assert!(
        len > HEADER + FIRST_BUCKETS * BUCKET as u64,
        "it grew: {len}"
    );
    // An older event never replaces a newer one; a newer one does.
    t.save(&seen([("user7", at(3))])).unwrap();
    assert_eq!(t.get("user7").unwrap(), Some(at(8)));
    t.save(&seen([("user7", at(9000))])).unwrap();
    assert_eq!(t.get("user7").unwrap(), Some(at(9000)));
    // Another store's key or identity reads nothing of these.
    let other = HostAccounts::new(dir.path(), &KEY, "store-b");
    assert_eq!(other.get("user7").unwrap(), None);
    t.clear().unwrap();
    assert_eq!(t.get("user7").unwrap(), None);
}

#[test]
fn a_damaged_record_or_file_counts_as_absent() {
    let dir = tempfile::tempdir().unwrap();
    let t = HostAccounts::new(dir.path(), &KEY, "s");
    t.save(&seen([("bob", at(5)), ("carol", at(6))])).unwrap();
    // Flip a byte of bob's seq where it lies on disk: its MAC no longer matches.
    let path = dir.path().join("accounts");
    let mut bytes = std::fs::read(&path).unwrap();
    let k = t.account_key("bob");
    let at_slot = bytes.windows(16).position(|w| w == k).unwrap();
    bytes[at_slot + 20] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(t.get("bob").unwrap(), None);
    assert_eq!(t.get("carol").unwrap(), Some(at(6)));
    // A file cut short (a crash as it was made) is no table: replaced on the next
    // write.
    std::fs::write(&path, &bytes[..100]).unwrap();
    assert_eq!(t.get("carol").unwrap(), None);
    t.save(&seen([("dave", at(1))])).unwrap();
    assert_eq!(t.get("dave").unwrap(), Some(at(1)));
}
