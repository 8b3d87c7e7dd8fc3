//! What only a file-backed store can show: durability across open/close, and where the file goes.

use store::Batch;

use crate::fixtures::*;

#[test]
fn reopening_a_sqlite_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let target = format!("sqlite:{}/nested/data/ow.db", dir.path().display());
    let (positions, digest) = {
        let s = store::open(&target, crate::backends::keys()).unwrap();
        for seq in 1..=5 {
            s.commit(&full_batch(seq)).unwrap();
        }
        s.put_credential(&credential("k1", "E1", "hash-1", 1))
            .unwrap();
        assert!(s.revoke_credential("k1", 2).unwrap());
        (s.positions().unwrap(), s.projection_digest().unwrap())
    };
    assert!(dir.path().join("nested/data/ow.db").is_file());

    let s = store::open(&target, crate::backends::keys()).unwrap();
    assert_eq!(s.positions().unwrap(), positions);
    assert_eq!(s.projection_digest().unwrap(), digest);
    assert_eq!(
        s.journal_after(0, 10).unwrap(),
        (1..=5).map(journal).collect::<Vec<_>>()
    );
    assert_eq!(
        s.credential_by_hash("hash-1")
            .unwrap()
            .unwrap()
            .revoked_at_ms,
        Some(2)
    );
    // Migrations are not re-applied: writing still works and duplicates are still refused.
    assert!(s.commit(&full_batch(5)).is_err());
    s.commit(&full_batch(6)).unwrap();
    assert_eq!(s.positions().unwrap().journal, 6);
}

#[test]
fn a_directory_target_means_onewindow_db_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = store::open(dir.path().to_str().unwrap(), crate::backends::keys()).unwrap();
    s.commit(&Batch {
        append: vec![journal(1)],
        applied: 1,
        ..Batch::default()
    })
    .unwrap();
    assert!(dir.path().join("onewindow.db").is_file());

    let new_dir = format!("{}/fresh/", dir.path().display());
    let s2 = store::open(&new_dir, crate::backends::keys()).unwrap();
    assert_eq!(s2.positions().unwrap().journal, 0);
    assert!(dir.path().join("fresh/onewindow.db").is_file());
}
