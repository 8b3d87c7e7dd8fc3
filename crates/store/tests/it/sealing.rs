//! Personal data at rest and the audit log, on both backends: what a plain `sqlite3` or `psql`
//! read of the tables shows (ciphertext), key rotation and `rekey`, the purge's journal
//! redaction, credential expiry, and the append-only, hash-chained audit log.

use std::sync::Arc;

use store::audit::{AuditEntry, AuditQuery};
use store::seal::{self, MAGIC};
use store::{Batch, JournalRecord, KeyRing, RowKey, SealedTable, StateRow, Store};

use crate::backends::{self, PgSchema};
use crate::fixtures::*;

/// A value a person would recognise as personal data, and must never find in a database file.
const SECRET: &str = "测试王五 990101199001011234 10012345678";

fn personal_batch(seq: i64) -> Batch {
    let mut batch = full_batch(seq);
    batch.append[0].body = format!("<ceb:buyerName>{SECRET}</ceb:buyerName>").into_bytes();
    batch.state.push(StateRow {
        namespace: "declaration".into(),
        key: format!("D{seq}"),
        value: Some(format!("{{\"buyer_name\":\"{SECRET}\"}}").into_bytes()),
    });
    let mut r = record("recall", &format!("R{seq}"), None, "active");
    r.body = format!("{{\"note\":\"{SECRET}\"}}");
    batch.records.push(r);
    batch
}

fn ring(text: &str) -> Arc<KeyRing> {
    Arc::new(KeyRing::parse(text).unwrap())
}

fn old_ring() -> Arc<KeyRing> {
    ring(&format!("old {}", "01".repeat(32)))
}

fn both_ring() -> Arc<KeyRing> {
    ring(&format!(
        "old {}\nnew {} current",
        "01".repeat(32),
        "02".repeat(32)
    ))
}

fn new_ring() -> Arc<KeyRing> {
    ring(&format!("new {}", "02".repeat(32)))
}

/// Every sealed value as the database holds it, read with a plain client.
fn raw_sqlite(path: &std::path::Path) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT body FROM journal",
        "SELECT value FROM state",
        "SELECT body FROM records",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            out.push(match r.get_ref(0).unwrap() {
                rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => {
                    b.to_vec()
                }
                _ => Vec::new(),
            });
        }
    }
    out
}

fn raw_postgres(schema: &str) -> Vec<Vec<u8>> {
    let mut c = postgres::Client::connect(&backends::pg_base_url(), postgres::NoTls).unwrap();
    c.batch_execute(&format!("SET search_path TO \"{schema}\""))
        .unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT body FROM journal",
        "SELECT value FROM state",
        "SELECT body FROM records",
    ] {
        for row in c.query(sql, &[]).unwrap() {
            out.push(row.get::<_, Vec<u8>>(0));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn assert_sealed(values: &[Vec<u8>]) {
    assert!(values.len() >= 3, "journal, state and records read");
    for v in values {
        assert!(v.starts_with(&MAGIC), "every stored value is sealed");
        for part in SECRET.split(' ') {
            assert!(!contains(v, part), "no clear personal data at rest");
        }
    }
}

/// What the store gives back is the clear value written.
fn assert_reads_back(store: &dyn Store) {
    let journal = store.journal_after(0, 10).unwrap();
    assert!(journal.iter().any(|j| contains(&j.body, SECRET)));
    let state = store.state_value("declaration", "D1").unwrap().unwrap();
    assert!(contains(&state, SECRET));
    let r = store.record("recall", "R1").unwrap().unwrap();
    assert!(r.body.contains(SECRET));
}

#[test]
fn a_plain_sqlite_read_shows_only_ciphertext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onewindow.db");
    let store = store::open(path.to_str().unwrap(), old_ring()).unwrap();
    store.commit(&personal_batch(1)).unwrap();
    assert_reads_back(&*store);
    drop(store);
    assert_sealed(&raw_sqlite(&path));
    // Nor anywhere else in the file (WAL included once checkpointed).
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let file = std::fs::read(&path).unwrap();
    assert!(!contains(&file, "990101199001011234"));
    assert!(!contains(&file, "测试王五"));
}

#[test]
fn a_plain_psql_read_shows_only_ciphertext() {
    if !backends::postgres_reachable() {
        return;
    }
    let schema = PgSchema {
        name: backends::fresh_schema_name(),
    };
    let store = store::open(&backends::pg_url(&schema.name), old_ring()).unwrap();
    store.commit(&personal_batch(1)).unwrap();
    assert_reads_back(&*store);
    assert_sealed(&raw_postgres(&schema.name));
    drop(store);
}

/// Opens the same data with several key rings, on both backends.
fn with_rings(test: impl Fn(&dyn Fn(Arc<KeyRing>) -> Arc<dyn Store>)) {
    {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ow.db").display().to_string();
        test(&|keys| store::open(&target, keys).unwrap());
    }
    if backends::postgres_reachable() {
        let schema = PgSchema {
            name: backends::fresh_schema_name(),
        };
        let url = backends::pg_url(&schema.name);
        test(&|keys| store::open(&url, keys).unwrap());
    }
}

fn usage(store: &dyn Store, key: Option<&str>) -> i64 {
    store
        .key_usage()
        .unwrap()
        .iter()
        .filter(|u| u.key_id.as_deref() == key)
        .map(|u| u.rows)
        .sum()
}

#[test]
fn rotation_seals_new_writes_under_the_new_key_and_rekey_retires_the_old() {
    with_rings(|open| {
        let first = open(old_ring());
        for seq in 1..=3 {
            first.commit(&personal_batch(seq)).unwrap();
        }
        drop(first);

        // The new key is added and made current: new writes use it, old rows still open.
        let rotated = open(both_ring());
        rotated.commit(&personal_batch(4)).unwrap();
        let digest = rotated.projection_digest().unwrap();
        assert!(usage(&*rotated, Some("old")) > 0);
        assert!(usage(&*rotated, Some("new")) > 0);
        assert_eq!(usage(&*rotated, None), 0, "nothing in clear");
        assert_reads_back(&*rotated);

        // Without the old key, the rows it sealed cannot be read, and the error names it.
        let early = open(new_ring());
        let err = early.load_state().unwrap_err().to_string();
        assert!(err.contains("\"old\""), "{err}");
        drop(early);

        // Rekey in small steps, as the command does (resumable: each step is a transaction).
        for table in SealedTable::ALL {
            let mut after: Option<RowKey> = None;
            let mut steps = 0;
            loop {
                let step = rotated.reseal(table, after.as_ref(), 2).unwrap();
                steps += 1;
                assert!(step.looked <= 2);
                match step.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            assert!(steps >= 2, "{table:?} done in several steps");
        }
        assert_eq!(usage(&*rotated, Some("old")), 0, "the old key is unused");
        // A second pass finds nothing to do.
        let again = rotated.reseal(SealedTable::State, None, 1000).unwrap();
        assert_eq!(again.resealed, 0);
        drop(rotated);

        // The old key retired: everything still opens, and the projections are the same.
        let retired = open(new_ring());
        assert_reads_back(&*retired);
        assert_eq!(
            retired.projection_digest().unwrap(),
            digest,
            "re-encryption changes no projection"
        );
        assert_eq!(retired.journal_after(0, 100).unwrap().len(), 4);
    });
}

#[test]
fn the_purge_replaces_journal_bodies_and_nothing_else() {
    backends::on_every_backend(|store| {
        store.commit(&personal_batch(1)).unwrap();
        store.commit(&full_batch(2)).unwrap();
        let before = store.journal_after(0, 10).unwrap();
        let redacted = JournalRecord {
            body: b"{\"redacted\":true}".to_vec(),
            ..before[0].clone()
        };
        store
            .commit(&Batch {
                applied: 2,
                redact: vec![redacted.clone()],
                ..Batch::default()
            })
            .unwrap();
        let after = store.journal_after(0, 10).unwrap();
        assert_eq!(
            after[0], redacted,
            "same seq, time, sender, kind, guid; new body"
        );
        assert_eq!(after[1], before[1]);
        // The old sealed bodies are not kept in free pages: the store vacuums on request.
        store.vacuum().unwrap();
        assert_eq!(store.journal_after(0, 10).unwrap(), after);
        // A redaction of an entry that does not exist fails the whole batch.
        let missing = JournalRecord {
            seq: 99,
            ..redacted
        };
        assert!(
            store
                .commit(&Batch {
                    applied: 2,
                    redact: vec![missing],
                    ..Batch::default()
                })
                .is_err()
        );
    });
}

#[test]
fn credentials_expire_and_are_found_by_key_id() {
    backends::on_every_backend(|store| {
        let mut c = credential("k1", "3301960AAA", "h1", 10);
        c.expires_at_ms = Some(1_000);
        store.put_credential(&c).unwrap();
        let back = store.credential("k1").unwrap().unwrap();
        assert_eq!(back, c);
        assert!(back.live_at(999));
        assert!(!back.live_at(1_000));
        assert_eq!(store.credential("nope").unwrap(), None);
        assert!(store.revoke_credential("k1", 20).unwrap());
        assert!(!store.credential("k1").unwrap().unwrap().live_at(0));
    });
}

fn entry(at: i64, actor: &str, action: &str) -> AuditEntry {
    AuditEntry {
        at_ms: at,
        actor: actor.into(),
        action: action.into(),
        target: format!("t{at}"),
        outcome: "ok".into(),
        source: "127.0.0.1".into(),
        detail: "{}".into(),
    }
}

#[test]
fn the_audit_log_chains_pages_filters_and_verifies() {
    backends::on_every_backend(|store| {
        let first = store
            .append_audit(&[
                entry(100, "admin", "credential.issue"),
                entry(200, "regulator:customs", "personal_data.view"),
            ])
            .unwrap();
        assert_eq!(first[0].seq, 1);
        assert_eq!(first[0].prev_hash, store::audit::GENESIS);
        assert_eq!(first[1].prev_hash, first[0].hash);
        // Entries journaled with a batch chain on.
        store
            .commit(&Batch {
                applied: 0,
                audit: vec![entry(300, "regulator:customs", "regulator.assess_alert")],
                ..Batch::default()
            })
            .unwrap();
        store
            .append_audit(&[entry(400, "admin", "credential.revoke")])
            .unwrap();

        let all = store
            .audit(&AuditQuery {
                limit: 100,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(all[2].prev_hash, all[1].hash);
        assert_eq!(store::audit::verify(&all), Ok(4));
        assert_eq!(store::audit::verify_store(store).unwrap(), Ok(4));

        let by_actor = store
            .audit(&AuditQuery {
                actor: Some("regulator:customs"),
                limit: 100,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(by_actor.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
        let by_action_and_time = store
            .audit(&AuditQuery {
                action: Some("credential.revoke"),
                from_ms: Some(150),
                until_ms: Some(401),
                limit: 100,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(by_action_and_time.len(), 1);
        assert_eq!(by_action_and_time[0].entry.at_ms, 400);
        let page = store
            .audit(&AuditQuery {
                after: 2,
                limit: 1,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [3]);
        // Untouched by a rebuild's reset.
        store.reset_projections().unwrap();
        assert_eq!(store::audit::verify_store(store).unwrap(), Ok(4));
    });
}

#[test]
fn the_database_refuses_to_change_or_delete_audit_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onewindow.db");
    let s = store::open(path.to_str().unwrap(), backends::keys()).unwrap();
    s.append_audit(&[entry(1, "admin", "login")]).unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let update = conn.execute("UPDATE audit_log SET outcome = 'refused'", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM audit_log", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));

    if !backends::postgres_reachable() {
        return;
    }
    let schema = PgSchema {
        name: backends::fresh_schema_name(),
    };
    let s = store::open(&backends::pg_url(&schema.name), backends::keys()).unwrap();
    s.append_audit(&[entry(1, "admin", "login")]).unwrap();
    drop(s);
    let mut c = postgres::Client::connect(&backends::pg_base_url(), postgres::NoTls).unwrap();
    c.batch_execute(&format!("SET search_path TO \"{}\"", schema.name))
        .unwrap();
    for sql in [
        "UPDATE audit_log SET outcome = 'refused'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = c.batch_execute(sql).unwrap_err();
        assert!(format!("{err:?}").contains("append-only"), "{sql}: {err:?}");
    }
}

#[test]
fn a_tampered_row_is_refused_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onewindow.db");
    let s = store::open(path.to_str().unwrap(), backends::keys()).unwrap();
    s.commit(&personal_batch(1)).unwrap();
    drop(s);
    {
        // Move the sealed value of one state row onto another: the seal names its row.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE state SET value = (SELECT value FROM state WHERE key = 'D1') \
             WHERE namespace = 'decl'",
            [],
        )
        .unwrap();
    }
    let s = store::open(path.to_str().unwrap(), backends::keys()).unwrap();
    let err = s.load_state().unwrap_err().to_string();
    assert!(err.contains("tampered"), "{err}");
    assert!(seal::key_id_of(&[0, b'O', b'W', b'E']).is_none());
}

/// `rekey` while a server (not restarted yet, so still sealing under the old key) writes: the
/// writer keeps updating the same rows as the steps re-seal them; in the end every row opens and
/// holds the last value written, nothing older.
#[test]
fn rekey_while_the_writer_writes_loses_no_update() {
    with_rings(|open| {
        let server = open(old_ring());
        server.commit(&personal_batch(1)).unwrap();
        let rekey = open(both_ring());
        let store = &server;
        let value = |round: i64, key: i64| format!("{{\"round\":{round},\"key\":{key}}}");
        std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                for round in 1..=30 {
                    let mut batch = Batch {
                        applied: 1,
                        ..Batch::default()
                    };
                    for key in 0..20 {
                        batch.state.push(StateRow {
                            namespace: "hot".into(),
                            key: format!("k{key:02}"),
                            value: Some(value(round, key).into_bytes()),
                        });
                    }
                    store.commit(&batch).unwrap();
                }
            });
            while !writer.is_finished() {
                let mut after = None;
                loop {
                    let step = rekey.reseal(SealedTable::State, after.as_ref(), 3).unwrap();
                    match step.next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
            }
        });
        let hot: Vec<StateRow> = rekey
            .load_state()
            .unwrap()
            .into_iter()
            .filter(|r| r.namespace == "hot")
            .collect();
        assert_eq!(hot.len(), 20);
        for (key, row) in hot.iter().enumerate() {
            assert_eq!(
                row.value.as_deref(),
                Some(value(30, key as i64).as_bytes()),
                "the last write survives"
            );
        }
    });
}
