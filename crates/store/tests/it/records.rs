//! Supervision records (credit records, alerts, inspection tasks, listings …): upserts, the
//! queue and self-service listings, counts — on every backend.

use store::{Batch, RecordQuery, RecordRow, Store};

use crate::backends::on_every_backend;
use crate::fixtures::*;

fn keys(rows: &[RecordRow]) -> Vec<&str> {
    rows.iter().map(|r| r.key.as_str()).collect()
}

fn commit_records(s: &dyn Store, records: Vec<RecordRow>) {
    s.commit(&Batch {
        records,
        ..Batch::default()
    })
    .unwrap();
}

#[test]
fn a_record_is_upserted_by_kind_and_key() {
    on_every_backend(|s: &dyn Store| {
        let open = record("alert", "A0001", Some("3301960ENT"), "open");
        commit_records(s, vec![open.clone()]);
        assert_eq!(s.record("alert", "A0001").unwrap(), Some(open));

        // The regulator assesses it: same (kind, key), new status, body and time; and the same
        // key under another kind is another record.
        let mut assessed = record("alert", "A0001", Some("3301960ENT"), "assessed");
        assessed.updated_at_ms += 60_000;
        let task = record("inspection", "A0001", None, "open");
        commit_records(s, vec![assessed.clone(), task.clone()]);
        assert_eq!(s.record("alert", "A0001").unwrap(), Some(assessed.clone()));
        assert_eq!(s.record("inspection", "A0001").unwrap(), Some(task));
        assert_eq!(s.count_records("alert", None).unwrap(), 1);
        assert_eq!(s.count_records("alert", Some("open")).unwrap(), 0);
        assert_eq!(s.count_records("alert", Some("assessed")).unwrap(), 1);

        // Within one batch the last write of a key wins; the party can be cleared.
        let mut disposed = record("alert", "A0001", None, "disposed");
        disposed.body = "{\"disposition\":\"confirmed\",\"why\":\"拆单\"}".into();
        commit_records(s, vec![assessed, disposed.clone()]);
        assert_eq!(s.record("alert", "A0001").unwrap(), Some(disposed));
        assert_eq!(s.record("alert", "nope").unwrap(), None);
        assert_eq!(s.record("nope", "A0001").unwrap(), None);
    });
}

#[test]
fn records_are_listed_by_kind_party_and_status_in_key_order() {
    on_every_backend(|s: &dyn Store| {
        // Keys in byte order: digits, upper case, lower case, CJK — on both backends.
        let rows = vec![
            record("alert", "中7", Some("ENT-A"), "open"),
            record("alert", "b6", None, "open"),
            record("alert", "a5", Some("ENT-B"), "assessed"),
            record("alert", "Z4", Some("ENT-A"), "assessed"),
            record("alert", "B3", Some("ENT-A"), "open"),
            record("alert", "A2", Some("ENT-B"), "open"),
            record("alert", "01", Some("ENT-A"), "open"),
            record("credit", "ENT-A", Some("ENT-A"), "AAA"),
            record("credit", "ENT-B", Some("ENT-B"), "BBB"),
        ];
        commit_records(s, rows);

        let all = s.records(&RecordQuery::new("alert", 100)).unwrap();
        assert_eq!(keys(&all), ["01", "A2", "B3", "Z4", "a5", "b6", "中7"]);
        assert!(all.iter().all(|r| r.kind == "alert"));

        let of_a = RecordQuery {
            party: Some("ENT-A"),
            ..RecordQuery::new("alert", 100)
        };
        assert_eq!(keys(&s.records(&of_a).unwrap()), ["01", "B3", "Z4", "中7"]);

        let open = RecordQuery {
            status: Some("open"),
            ..RecordQuery::new("alert", 100)
        };
        assert_eq!(
            keys(&s.records(&open).unwrap()),
            ["01", "A2", "B3", "b6", "中7"]
        );

        let open_of_a = RecordQuery {
            party: Some("ENT-A"),
            status: Some("open"),
            ..RecordQuery::new("alert", 100)
        };
        assert_eq!(keys(&s.records(&open_of_a).unwrap()), ["01", "B3", "中7"]);

        let credit = s.records(&RecordQuery::new("credit", 100)).unwrap();
        assert_eq!(keys(&credit), ["ENT-A", "ENT-B"]);
        let graded_aaa = RecordQuery {
            status: Some("AAA"),
            ..RecordQuery::new("credit", 100)
        };
        assert_eq!(keys(&s.records(&graded_aaa).unwrap()), ["ENT-A"]);

        // Nothing of another kind, party or status leaks in.
        let of_a_in_credit_status = RecordQuery {
            status: Some("AAA"),
            ..RecordQuery::new("alert", 100)
        };
        assert_eq!(s.records(&of_a_in_credit_status).unwrap(), vec![]);
        let nobody = RecordQuery {
            party: Some("ENT-C"),
            ..RecordQuery::new("alert", 100)
        };
        assert_eq!(s.records(&nobody).unwrap(), vec![]);
        assert_eq!(s.records(&RecordQuery::new("recall", 100)).unwrap(), vec![]);
        assert_eq!(s.records(&RecordQuery::new("alert", 0)).unwrap(), vec![]);
    });
}

#[test]
fn record_listings_page_by_key_cursor() {
    on_every_backend(|s: &dyn Store| {
        let mut rows = Vec::new();
        for i in 0..25 {
            let party = if i % 2 == 0 { "EVEN" } else { "ODD" };
            let status = if i % 3 == 0 { "open" } else { "closed" };
            rows.push(record("alert", &format!("{i:04}"), Some(party), status));
        }
        commit_records(s, rows);

        // Page through each combination of filters, 4 at a time, and get exactly what one
        // unlimited listing gives, without repeats or gaps.
        for (party, status) in [
            (None, None),
            (Some("EVEN"), None),
            (None, Some("open")),
            (Some("ODD"), Some("open")),
        ] {
            let whole = RecordQuery {
                party,
                status,
                ..RecordQuery::new("alert", 1_000)
            };
            let expected = s.records(&whole).unwrap();
            let mut paged = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = s
                    .records(&RecordQuery {
                        after: after.as_deref(),
                        limit: 4,
                        ..whole
                    })
                    .unwrap();
                assert!(page.len() <= 4);
                let Some(last) = page.last() else { break };
                after = Some(last.key.clone());
                paged.extend(page);
            }
            assert_eq!(paged, expected, "{party:?} {status:?}");
        }

        // Spot checks a user would notice: the second page of one enterprise's open alerts.
        let second = s
            .records(&RecordQuery {
                party: Some("EVEN"),
                after: Some("0006"),
                limit: 2,
                ..RecordQuery::new("alert", 0)
            })
            .unwrap();
        assert_eq!(keys(&second), ["0008", "0010"]);
        let odd_open = s
            .records(&RecordQuery {
                party: Some("ODD"),
                status: Some("open"),
                ..RecordQuery::new("alert", 100)
            })
            .unwrap();
        assert_eq!(keys(&odd_open), ["0003", "0009", "0015", "0021"]);
        // A cursor past the end, and a cursor that is not itself a key.
        let past = RecordQuery {
            after: Some("9999"),
            ..RecordQuery::new("alert", 10)
        };
        assert_eq!(s.records(&past).unwrap(), vec![]);
        let between = RecordQuery {
            after: Some("0022x"),
            ..RecordQuery::new("alert", 10)
        };
        assert_eq!(keys(&s.records(&between).unwrap()), ["0023", "0024"]);
    });
}

#[test]
fn records_are_counted_per_kind_and_status() {
    on_every_backend(|s: &dyn Store| {
        assert_eq!(s.count_records("alert", None).unwrap(), 0);
        let mut rows = Vec::new();
        for i in 0..7 {
            let status = if i < 5 { "open" } else { "reviewed" };
            rows.push(record("alert", &format!("A{i}"), None, status));
        }
        rows.push(record("listing", "L1", Some("ENT"), "active"));
        commit_records(s, rows);
        assert_eq!(s.count_records("alert", None).unwrap(), 7);
        assert_eq!(s.count_records("alert", Some("open")).unwrap(), 5);
        assert_eq!(s.count_records("alert", Some("reviewed")).unwrap(), 2);
        assert_eq!(s.count_records("alert", Some("active")).unwrap(), 0);
        assert_eq!(s.count_records("listing", None).unwrap(), 1);
        assert_eq!(s.count_records("recall", None).unwrap(), 0);

        // Moving an alert through its lifecycle moves it between the queue counts.
        commit_records(s, vec![record("alert", "A0", None, "reviewed")]);
        assert_eq!(s.count_records("alert", Some("open")).unwrap(), 4);
        assert_eq!(s.count_records("alert", Some("reviewed")).unwrap(), 3);
        assert_eq!(s.count_records("alert", None).unwrap(), 7);
    });
}

#[test]
fn records_commit_with_the_rest_of_the_batch_or_not_at_all() {
    on_every_backend(|s: &dyn Store| {
        s.commit(&full_batch(1)).unwrap();
        // A duplicate journal seq fails the batch: its records must not appear either.
        let mut bad = full_batch(2);
        bad.append.push(journal(1));
        bad.records
            .push(record("alert", "A-lost", Some("E2"), "open"));
        assert!(s.commit(&bad).is_err());
        assert_eq!(s.record("alert", "A-lost").unwrap(), None);
        assert_eq!(s.record("credit", "E2").unwrap(), None);
        assert_eq!(s.count_records("credit", None).unwrap(), 1);
        // A batch without records leaves them alone.
        let mut b = full_batch(2);
        b.records.clear();
        s.commit(&b).unwrap();
        assert_eq!(s.count_records("credit", None).unwrap(), 1);
        assert!(s.record("credit", "E1").unwrap().is_some());
    });
}

#[test]
fn ten_thousand_records_commit_in_one_batch() {
    on_every_backend(|s: &dyn Store| {
        let n = 10_000;
        let mut records: Vec<RecordRow> = (0..n)
            .map(|i| {
                let party = format!("ENT{:03}", i % 100);
                let status = ["AAA", "AA", "A", "BBB", "BB"][i % 5];
                record("credit", &format!("P{i:06}"), Some(&party), status)
            })
            .collect();
        // A few keys twice in the same batch: the later row wins.
        for i in 0..10 {
            records.push(record("credit", &format!("P{i:06}"), None, "dishonest"));
        }
        s.commit(&Batch {
            append: vec![journal(1)],
            applied: 1,
            records,
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(s.positions().unwrap().applied, 1);
        assert_eq!(s.count_records("credit", None).unwrap(), 10_000);
        assert_eq!(s.count_records("credit", Some("dishonest")).unwrap(), 10);
        assert_eq!(s.count_records("credit", Some("AAA")).unwrap(), 2_000 - 2);
        assert_eq!(
            s.record("credit", "P000003").unwrap().unwrap().status,
            "dishonest"
        );
        let last = RecordQuery {
            after: Some("P009997"),
            ..RecordQuery::new("credit", 10)
        };
        assert_eq!(keys(&s.records(&last).unwrap()), ["P009998", "P009999"]);
        let of_one = RecordQuery {
            party: Some("ENT042"),
            ..RecordQuery::new("credit", 1_000)
        };
        assert_eq!(s.records(&of_one).unwrap().len(), 100);
    });
}
