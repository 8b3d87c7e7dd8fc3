//! One writer per store, and a writer that fell behind never overwrites newer rows (finding 3 of
//! "Close the holes"): a batch names the position it was built on and is refused if the store
//! has moved past it; the writer restores from one snapshot of state and positions; on
//! PostgreSQL a second writer of the same schema refuses to start, naming the cause.

use store::{Batch, Positions, Store, StoreError};

use crate::backends::{keys, on_every_backend, pg_url, postgres, postgres_reachable};
use crate::fixtures::*;

/// A batch of journal entry `seq` that sets the state row `q/k` to `value`.
fn step(seq: i64, base: Option<i64>, value: &[u8]) -> Batch {
    Batch {
        base,
        append: vec![journal(seq)],
        applied: seq,
        state: vec![state("q", "k", Some(value))],
        quotas: vec![quota("bk", 2026, seq * 100)],
        ..Batch::default()
    }
}

#[test]
fn a_batch_built_on_a_position_the_store_moved_past_is_refused_and_writes_nothing() {
    on_every_backend(|s: &dyn Store| {
        s.commit(&step(1, Some(0), b"one")).unwrap();
        // The late commit of a killed writer: built on 1, it lands first.
        s.commit(&step(2, Some(1), b"two")).unwrap();
        let digest = s.projection_digest().unwrap();

        // The successor read its state before that landed and built on 1 too (seq 3, so the
        // journal key would not stop it): refused, nothing written.
        let err = s.commit(&step(3, Some(1), b"stale")).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Stale {
                    built_on: 1,
                    applied: 2
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("moved on under this writer"),
            "{err}"
        );
        assert_eq!(s.projection_digest().unwrap(), digest);
        assert_eq!(
            s.state_value("q", "k").unwrap().as_deref(),
            Some(&b"two"[..])
        );
        assert_eq!(
            s.quota("bk", 2026).unwrap().map(|q| q.used_minor),
            Some(200)
        );
        assert_eq!(s.positions().unwrap().journal, 2);

        // Restored from the store, the same writer builds on 2 and goes on.
        let point = s.restore_point().unwrap();
        assert_eq!(point.positions.applied, 2);
        s.commit(&step(3, Some(point.positions.applied), b"three"))
            .unwrap();
        assert_eq!(
            s.state_value("q", "k").unwrap().as_deref(),
            Some(&b"three"[..])
        );
    });
}

#[test]
fn the_restore_point_is_the_state_at_its_positions() {
    on_every_backend(|s: &dyn Store| {
        assert_eq!(s.restore_point().unwrap().positions, Positions::default());
        s.commit(&full_batch(1)).unwrap();
        s.commit(&step(2, Some(1), b"two")).unwrap();
        let point = s.restore_point().unwrap();
        assert_eq!(point.positions, s.positions().unwrap());
        assert_eq!(point.state, s.load_state().unwrap());
    });
}

#[test]
fn a_second_writer_of_a_postgres_store_is_refused_with_the_cause() {
    if !postgres_reachable() {
        return;
    }
    let Some((schema, first)) = postgres() else {
        return;
    };
    first.claim_writer().unwrap();
    first.claim_writer().unwrap(); // idempotent

    // Another process on the same schema: opens (and reads) fine, but may not write.
    let second = store::open(&pg_url(&schema.name), keys()).unwrap();
    assert_eq!(second.positions().unwrap(), Positions::default());
    let err = second.claim_writer().unwrap_err();
    assert!(matches!(err, StoreError::WriterLocked(_)), "{err}");
    let message = err.to_string();
    for needle in [
        "another OneWindow writer holds this store",
        &schema.name,
        "onewindow writer",
        "pg_terminate_backend",
    ] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }

    // A store in another schema of the same database has its own writer.
    let Some((other_schema, other)) = postgres() else {
        return;
    };
    other.claim_writer().unwrap();

    // The first writer goes away: the second may write.
    first.commit(&step(1, Some(0), b"one")).unwrap();
    drop(first);
    second.claim_writer().unwrap();
    second.commit(&step(2, Some(1), b"two")).unwrap();
    drop(second);
    drop(other);
    drop(schema);
    drop(other_schema);
}

#[test]
fn the_writer_lock_is_taken_again_before_a_commit_after_its_session_was_lost() {
    if !postgres_reachable() {
        return;
    }
    let Some((schema, writer)) = postgres() else {
        return;
    };
    writer.claim_writer().unwrap();
    // The database ends the lock's session (as a restart would); a second claim names it.
    let usurper = store::open(&pg_url(&schema.name), keys()).unwrap();
    let refusal = usurper.claim_writer().unwrap_err().to_string();
    let pid: i32 = refusal
        .split("backend pid ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("the refusal names the holder's pid: {refusal}"));
    let mut admin =
        postgres::Client::connect(&crate::backends::pg_base_url(), postgres::NoTls).unwrap();
    let ended: bool = admin
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap()
        .get(0);
    assert!(ended, "the lock's session was ended");
    // Meanwhile another process took the lock: the old writer's commit is refused.
    let mut claimed = usurper.claim_writer();
    for _ in 0..50 {
        if claimed.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        claimed = usurper.claim_writer();
    }
    claimed.unwrap();
    let err = writer.commit(&step(1, Some(0), b"one")).unwrap_err();
    assert!(matches!(err, StoreError::WriterLocked(_)), "{err}");
    assert_eq!(usurper.positions().unwrap().journal, 0, "nothing written");
    // Once the other one is gone, the writer takes the lock again and commits.
    drop(usurper);
    writer.commit(&step(1, Some(0), b"one")).unwrap();
    drop(writer);
    drop(schema);
}
