//! The operator's commands for personal data: `rekey` (add a key, re-encrypt, retire the old
//! key only once nothing uses it), `audit verify --local`, and `purge` within its retention limit.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_onewindow");

fn run(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("ONEWINDOW_DATA_KEYS")
        .env_remove("ONEWINDOW_DATA_KEY_FILE")
        .env_remove("ONEWINDOW_STORE")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A store with a few sealed rows, its key created as a first start creates it.
fn store_with_data(dir: &Path) -> String {
    let target = format!("sqlite:{}", dir.join("onewindow.db").display());
    let (store, ring, _) = server::keys::open_store(&target, dir, None, true).unwrap();
    for seq in 1..=5 {
        store
            .commit(&store::Batch {
                append: vec![store::JournalRecord {
                    seq,
                    received_at_ms: seq,
                    sender: "admin".into(),
                    kind: "SETTINGS".into(),
                    guid: format!("g{seq}"),
                    body: b"{}".to_vec(),
                }],
                applied: seq,
                state: vec![store::StateRow {
                    namespace: "meta".into(),
                    key: format!("k{seq}"),
                    value: Some(b"1".to_vec()),
                }],
                ..store::Batch::default()
            })
            .unwrap();
    }
    ring.current_id().to_string()
}

#[test]
fn rekey_rotates_the_data_key_and_retires_the_old_one_only_when_unused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let old = store_with_data(data);

    let status = run(data, &["rekey", "--status"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(
        text(&status).contains(&format!("key {old} (current)")),
        "{}",
        text(&status)
    );

    let added = run(data, &["rekey", "--new-key", "k-new"]);
    assert!(added.status.success(), "{}", text(&added));
    let file = std::fs::read_to_string(data.join("data-key")).unwrap();
    assert!(
        file.contains("k-new") && file.contains(" current"),
        "{file}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("data-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let status = run(data, &["rekey", "--status"]);
    assert_eq!(
        status.status.code(),
        Some(1),
        "old rows remain: {}",
        text(&status)
    );
    assert!(
        text(&status).contains(&format!("key {old}: 10 rows, in use")),
        "{}",
        text(&status)
    );
    let refused = run(data, &["rekey", "--retire", &old]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("still seals 10 rows"),
        "{}",
        text(&refused)
    );

    let rekeyed = run(data, &["rekey", "--batch", "2"]);
    assert!(rekeyed.status.success(), "{}", text(&rekeyed));
    assert!(
        text(&rekeyed).contains("5 re-encrypted under k-new"),
        "{}",
        text(&rekeyed)
    );
    let status = run(data, &["rekey", "--status"]);
    assert!(status.status.success(), "{}", text(&status));

    let retired = run(data, &["rekey", "--retire", &old]);
    assert!(retired.status.success(), "{}", text(&retired));
    let file = std::fs::read_to_string(data.join("data-key")).unwrap();
    assert!(!file.contains(&old), "{file}");
    let target = format!("sqlite:{}", data.join("onewindow.db").display());
    let (store, _, _) = server::keys::open_store(&target, data, None, false).unwrap();
    assert_eq!(
        store.journal_after(0, 10).unwrap().len(),
        5,
        "everything still opens"
    );
    drop(store);

    let verified = run(data, &["audit", "verify", "--local"]);
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(
        text(&verified).contains("intact: 3 entries"),
        "key.add, rekey, key.retire: {}",
        text(&verified)
    );
}

#[test]
fn purge_keeps_to_the_retention_period() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    store_with_data(data);
    let refused = run(data, &["purge", "--before", "2099-01-01"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("within the retention period of 3 years"),
        "{}",
        text(&refused)
    );
    let dry = run(data, &["purge", "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(text(&dry).starts_with("dry run: "), "{}", text(&dry));
    let done = run(data, &["purge", "--retention-years", "0"]);
    assert!(done.status.success(), "{}", text(&done));
    let verified = run(data, &["audit", "verify", "--local"]);
    assert!(
        text(&verified).contains("intact: 1 entries"),
        "the purge is audited: {}",
        text(&verified)
    );
}
