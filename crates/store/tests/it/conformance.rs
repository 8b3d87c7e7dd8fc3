//! Behaviours every backend must show, each run on SQLite and PostgreSQL.

use store::{Batch, Positions, Store};

use crate::backends::{on_every_backend, postgres, sqlite};
use crate::fixtures::*;

fn ids(rows: &[store::DeclarationRow]) -> Vec<&str> {
    rows.iter().map(|d| d.id.as_str()).collect()
}

#[test]
fn a_committed_batch_reads_back_row_for_row() {
    on_every_backend(|s: &dyn Store| {
        let b = full_batch(1);
        s.commit(&b).unwrap();

        assert_eq!(s.journal_after(0, 10).unwrap(), b.append);
        assert_eq!(s.load_state().unwrap(), b.state);
        assert_eq!(
            s.declaration("D0001").unwrap(),
            Some(b.declarations[0].clone())
        );
        assert_eq!(
            s.quota("bk-D0001", 2026).unwrap(),
            Some(b.quotas[0].clone())
        );
        assert_eq!(s.quota("bk-D0001", 2025).unwrap(), None);
        assert_eq!(s.receipts_after(None, 0, 10).unwrap(), b.receipts);
        assert_eq!(s.receipts_of("D0001").unwrap(), b.receipts);
        assert_eq!(s.tax_bill("INVT1").unwrap(), Some(b.tax_bills[0].clone()));
        assert_eq!(s.enterprise("E1").unwrap(), Some(b.enterprises[0].clone()));
        assert_eq!(s.enterprises().unwrap(), b.enterprises);
        assert_eq!(
            s.record("credit", "E1").unwrap(),
            Some(b.records[0].clone())
        );
        assert_eq!(s.declaration("nope").unwrap(), None);
        assert_eq!(s.tax_bill("nope").unwrap(), None);
        assert_eq!(s.enterprise("nope").unwrap(), None);
    });
}

#[test]
fn every_optional_field_survives_both_ways() {
    on_every_backend(|s: &dyn Store| {
        let mut full = declaration("FULL");
        full.pre_no = Some("PRE1".into());
        full.invt_no = Some("INVT-FULL".into());
        full.status = 800;
        full.status_info = "[Code:2600;Desc:放行]".into();
        full.released_at_ms = Some(1_767_312_000_000);
        full.value_minor = i64::MAX;
        full.tax_minor = -1;
        let mut empty = declaration("EMPTY");
        empty.agent_code = None;
        empty.logistics_code = None;
        empty.logistics_no = None;
        empty.pay_code = None;
        empty.cop_no = None;
        empty.buyer_key = None;
        let mut r = receipt(1, "EBP", None);
        r.xml = "<x>\u{0}</x>".replace('\u{0}', "零");
        let e = enterprise("E-NODXP", false);
        let binary: Vec<u8> = (0..=255).collect();
        s.commit(&Batch {
            applied: 0,
            declarations: vec![full.clone(), empty.clone()],
            receipts: vec![r.clone()],
            enterprises: vec![e.clone()],
            state: vec![state("bin", "all-bytes", Some(&binary))],
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(s.declaration("FULL").unwrap(), Some(full));
        assert_eq!(s.declaration("EMPTY").unwrap(), Some(empty));
        assert_eq!(s.receipts_of("x").unwrap(), vec![]);
        assert_eq!(s.receipts_after(Some("EBP"), 0, 5).unwrap(), vec![r]);
        assert_eq!(s.enterprise("E-NODXP").unwrap(), Some(e));
        assert_eq!(
            s.load_state().unwrap()[0].value.as_deref(),
            Some(&binary[..])
        );
    });
}

#[test]
fn rows_are_upserted_by_their_natural_key() {
    on_every_backend(|s: &dyn Store| {
        s.commit(&full_batch(1)).unwrap();

        let mut d = declaration("D0001");
        d.status = 800;
        d.invt_no = Some("INVT1".into());
        d.released_at_ms = Some(1_767_312_000_000);
        let mut t = tax_bill("INVT1", "EBC-D0001", "AGENT");
        t.levy_state = "due".into();
        let mut e = enterprise("E1", true);
        e.active = false;
        s.commit(&Batch {
            applied: 1,
            state: vec![
                state("decl", "D0001", Some(b"v2")),
                state("decl", "other", Some(b"x")),
                // Within one batch, the last write of a key wins.
                state("decl", "other", Some(b"y")),
            ],
            declarations: vec![declaration("D0001"), d.clone()],
            quotas: vec![quota("bk-D0001", 2026, 20_000), quota("bk-D0001", 2027, 5)],
            tax_bills: vec![t.clone()],
            enterprises: vec![e.clone()],
            ..Batch::default()
        })
        .unwrap();

        assert_eq!(s.declaration("D0001").unwrap(), Some(d));
        assert_eq!(s.declarations(None, None, 10).unwrap().len(), 1);
        assert_eq!(
            s.quota("bk-D0001", 2026).unwrap().unwrap().used_minor,
            20_000
        );
        assert_eq!(s.quota("bk-D0001", 2027).unwrap().unwrap().used_minor, 5);
        assert_eq!(s.tax_bill("INVT1").unwrap(), Some(t));
        assert_eq!(s.enterprises().unwrap(), vec![e]);
        assert_eq!(
            s.load_state().unwrap(),
            vec![
                state("decl", "D0001", Some(b"v2")),
                state("decl", "other", Some(b"y")),
            ]
        );

        // `value: None` deletes; deleting a missing key is no error; a set-then-delete in one
        // batch leaves nothing.
        s.commit(&Batch {
            applied: 1,
            state: vec![
                state("decl", "D0001", None),
                state("decl", "never", None),
                state("decl", "brief", Some(b"x")),
                state("decl", "brief", None),
            ],
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(
            s.load_state().unwrap(),
            vec![state("decl", "other", Some(b"y"))]
        );
    });
}

#[test]
fn the_journal_keeps_order_and_pages() {
    on_every_backend(|s: &dyn Store| {
        for start in [1, 4, 7] {
            s.commit(&Batch {
                append: (start..start + 3).map(journal).collect(),
                applied: start + 2,
                ..Batch::default()
            })
            .unwrap();
        }
        let all = s.journal_after(0, 100).unwrap();
        assert_eq!(
            all.iter().map(|j| j.seq).collect::<Vec<_>>(),
            (1..=9).collect::<Vec<_>>()
        );
        assert_eq!(all[4], journal(5));

        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let page = s.journal_after(after, 4).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 4);
            after = page.last().unwrap().seq;
            seen.extend(page.into_iter().map(|j| j.seq));
        }
        assert_eq!(seen, (1..=9).collect::<Vec<_>>());
        assert_eq!(s.journal_after(9, 10).unwrap(), vec![]);
        assert_eq!(s.journal_after(3, 0).unwrap(), vec![]);
    });
}

#[test]
fn positions_follow_commits() {
    on_every_backend(|s: &dyn Store| {
        assert_eq!(s.positions().unwrap(), Positions::default());
        s.commit(&Batch {
            append: vec![journal(1), journal(2)],
            applied: 1,
            receipts: vec![receipt(1, "A", None), receipt(2, "B", None)],
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(
            s.positions().unwrap(),
            Positions {
                journal: 2,
                applied: 1,
                receipt: 2
            }
        );
        s.commit(&Batch {
            applied: 2,
            receipts: vec![receipt(3, "A", None)],
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(
            s.positions().unwrap().to_string(),
            "journal=2 applied=2 receipt=3"
        );
    });
}

#[test]
fn a_duplicate_seq_fails_the_whole_batch_and_leaves_no_trace() {
    on_every_backend(|s: &dyn Store| {
        s.commit(&full_batch(1)).unwrap();
        let before = s.positions().unwrap();
        let digest = s.projection_digest().unwrap();

        // Journal seq 1 again, next to valid rows of every kind.
        let mut dup_journal = full_batch(2);
        dup_journal.append.insert(0, journal(1));
        assert!(s.commit(&dup_journal).is_err());

        // Receipt seq 1 again, after a valid journal entry.
        let mut dup_receipt = full_batch(2);
        dup_receipt.receipts.push(receipt(1, "X", None));
        assert!(s.commit(&dup_receipt).is_err());

        assert_eq!(s.positions().unwrap(), before);
        assert_eq!(s.projection_digest().unwrap(), digest);
        assert_eq!(s.journal_after(0, 10).unwrap().len(), 1);
        assert_eq!(s.declaration("D0002").unwrap(), None);
        assert_eq!(s.enterprise("E2").unwrap(), None);

        // The store is still usable, and the corrected batch goes through.
        s.commit(&full_batch(2)).unwrap();
        assert_eq!(s.positions().unwrap().journal, 2);
        assert!(s.declaration("D0002").unwrap().is_some());
    });
}

#[test]
fn receipts_page_by_recipient() {
    on_every_backend(|s: &dyn Store| {
        let receipts: Vec<_> = (1..=10)
            .map(|seq| {
                let to = if seq % 3 == 0 { "LOGI" } else { "EBP" };
                receipt(seq, to, Some(if seq <= 5 { "DA" } else { "DB" }))
            })
            .collect();
        s.commit(&Batch {
            receipts: receipts.clone(),
            ..Batch::default()
        })
        .unwrap();

        let seqs = |v: Vec<store::ReceiptRow>| v.into_iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(s.receipts_after(Some("LOGI"), 0, 10).unwrap()),
            vec![3, 6, 9]
        );
        assert_eq!(
            seqs(s.receipts_after(Some("EBP"), 0, 3).unwrap()),
            vec![1, 2, 4]
        );
        assert_eq!(
            seqs(s.receipts_after(Some("EBP"), 4, 3).unwrap()),
            vec![5, 7, 8]
        );
        assert_eq!(seqs(s.receipts_after(Some("EBP"), 8, 3).unwrap()), vec![10]);
        assert_eq!(
            seqs(s.receipts_after(Some("EBP"), 10, 3).unwrap()),
            Vec::<i64>::new()
        );
        assert_eq!(
            seqs(s.receipts_after(Some("NOBODY"), 0, 3).unwrap()),
            Vec::<i64>::new()
        );
        assert_eq!(seqs(s.receipts_after(None, 7, 2).unwrap()), vec![8, 9]);
        assert_eq!(s.receipts_after(Some("EBP"), 0, 1).unwrap()[0], receipts[0]);
        assert_eq!(seqs(s.receipts_of("DB").unwrap()), vec![6, 7, 8, 9, 10]);
    });
}

#[test]
fn declarations_are_found_by_each_party_and_paged_by_id() {
    on_every_backend(|s: &dyn Store| {
        // Ids in byte order: upper case before lower case before CJK, on both backends.
        let order = ["B2", "Z1", "a3", "中4"];
        let mut rows = Vec::new();
        for id in order {
            let mut d = declaration(id);
            d.ebp_code = "PLATFORM".into();
            rows.push(d);
        }
        // "PLATFORM" also appears as a payment institution of one more declaration (and as its
        // ebp: listed once).
        let mut both = declaration("b5");
        both.ebp_code = "PLATFORM".into();
        both.pay_code = Some("PLATFORM".into());
        rows.push(both);
        let mut other = declaration("c6");
        other.agent_code = None;
        other.logistics_code = None;
        other.pay_code = None;
        rows.push(other);
        s.commit(&Batch {
            declarations: rows.into_iter().rev().collect(),
            ..Batch::default()
        })
        .unwrap();

        let all = s.declarations(None, None, 100).unwrap();
        assert_eq!(ids(&all), ["B2", "Z1", "a3", "b5", "c6", "中4"]);
        assert_eq!(
            ids(&s.declarations(None, Some("Z1"), 2).unwrap()),
            ["a3", "b5"]
        );

        let p = s.declarations(Some("PLATFORM"), None, 100).unwrap();
        assert_eq!(ids(&p), ["B2", "Z1", "a3", "b5", "中4"]);
        assert_eq!(
            ids(&s.declarations(Some("PLATFORM"), None, 2).unwrap()),
            ["B2", "Z1"]
        );
        assert_eq!(
            ids(&s.declarations(Some("PLATFORM"), Some("Z1"), 2).unwrap()),
            ["a3", "b5"]
        );
        assert_eq!(
            ids(&s.declarations(Some("PLATFORM"), Some("b5"), 2).unwrap()),
            ["中4"]
        );

        for party in ["EBC-a3", "AGENT-a3", "LOG-a3", "PAY-a3"] {
            assert_eq!(
                ids(&s.declarations(Some(party), None, 10).unwrap()),
                ["a3"],
                "{party}"
            );
        }
        assert_eq!(
            ids(&s.declarations(Some("EBP-c6"), None, 10).unwrap()),
            ["c6"]
        );
        assert_eq!(s.declarations(Some("ORDER-a3"), None, 10).unwrap(), vec![]);
        assert_eq!(s.declarations(Some("nobody"), None, 10).unwrap(), vec![]);
    });
}

#[test]
fn tax_bills_are_listed_by_seller_or_agent() {
    on_every_backend(|s: &dyn Store| {
        s.commit(&Batch {
            tax_bills: vec![
                tax_bill("I3", "SELLER", "AGENT-A"),
                tax_bill("I1", "SELLER", "AGENT-B"),
                tax_bill("I2", "OTHER", "SELLER"),
                tax_bill("I4", "OTHER", "AGENT-A"),
            ],
            ..Batch::default()
        })
        .unwrap();
        let invts =
            |v: Vec<store::TaxBillRow>| v.into_iter().map(|t| t.invt_no).collect::<Vec<_>>();
        assert_eq!(
            invts(s.tax_bills(Some("SELLER"), 10).unwrap()),
            ["I1", "I2", "I3"]
        );
        assert_eq!(invts(s.tax_bills(Some("SELLER"), 2).unwrap()), ["I1", "I2"]);
        assert_eq!(
            invts(s.tax_bills(Some("AGENT-A"), 10).unwrap()),
            ["I3", "I4"]
        );
        assert_eq!(invts(s.tax_bills(None, 3).unwrap()), ["I1", "I2", "I3"]);
        assert_eq!(
            invts(s.tax_bills(Some("NOBODY"), 3).unwrap()),
            Vec::<String>::new()
        );
    });
}

#[test]
fn credentials_are_stored_found_and_revoked() {
    on_every_backend(|s: &dyn Store| {
        let a = credential("k1", "3301960TST", "hash-1", 100);
        let b = credential("k2", "3301960TST", "hash-2", 200);
        let admin = credential("k3", "admin", "hash-3", 150);
        for c in [&b, &a, &admin] {
            s.put_credential(c).unwrap();
        }
        assert_eq!(s.credential_by_hash("hash-1").unwrap(), Some(a.clone()));
        assert_eq!(s.credential_by_hash("hash-x").unwrap(), None);
        assert_eq!(
            s.credentials_of("3301960TST").unwrap(),
            vec![a.clone(), b.clone()]
        );
        assert_eq!(s.credentials_of("admin").unwrap(), vec![admin]);
        assert_eq!(s.credentials_of("nobody").unwrap(), vec![]);

        assert!(s.revoke_credential("k1", 500).unwrap());
        // Already revoked, or unknown: nothing live was revoked.
        assert!(!s.revoke_credential("k1", 600).unwrap());
        assert!(!s.revoke_credential("nope", 600).unwrap());
        let revoked = s.credential_by_hash("hash-1").unwrap().unwrap();
        assert_eq!(revoked.revoked_at_ms, Some(500));

        // Putting the same key id again replaces it (e.g. a rotated secret).
        let rotated = credential("k2", "3301960TST", "hash-2b", 700);
        s.put_credential(&rotated).unwrap();
        assert_eq!(s.credential_by_hash("hash-2").unwrap(), None);
        assert_eq!(s.credential_by_hash("hash-2b").unwrap(), Some(rotated));

        // Two keys may not share a secret hash.
        assert!(
            s.put_credential(&credential("k9", "x", "hash-1", 1))
                .is_err()
        );
    });
}

#[test]
fn reset_projections_keeps_journal_and_credentials() {
    on_every_backend(|s: &dyn Store| {
        let empty_digest = s.projection_digest().unwrap();
        s.commit(&full_batch(1)).unwrap();
        s.commit(&full_batch(2)).unwrap();
        let cred = credential("k1", "E1", "hash-1", 1);
        s.put_credential(&cred).unwrap();
        let full_digest = s.projection_digest().unwrap();
        assert_ne!(full_digest, empty_digest);

        s.reset_projections().unwrap();
        assert_eq!(
            s.positions().unwrap(),
            Positions {
                journal: 2,
                applied: 0,
                receipt: 0
            }
        );
        assert_eq!(s.journal_after(0, 10).unwrap().len(), 2);
        assert_eq!(s.credential_by_hash("hash-1").unwrap(), Some(cred));
        assert_eq!(s.load_state().unwrap(), vec![]);
        assert_eq!(s.declarations(None, None, 10).unwrap(), vec![]);
        assert_eq!(s.quota("bk-D0001", 2026).unwrap(), None);
        assert_eq!(s.receipts_after(None, 0, 10).unwrap(), vec![]);
        assert_eq!(s.tax_bills(None, 10).unwrap(), vec![]);
        assert_eq!(s.enterprises().unwrap(), vec![]);
        assert_eq!(s.record("credit", "E1").unwrap(), None);
        assert_eq!(
            s.records(&store::RecordQuery::new("credit", 10)).unwrap(),
            vec![]
        );
        assert_eq!(s.count_records("credit", None).unwrap(), 0);
        assert_eq!(s.projection_digest().unwrap(), empty_digest);

        // Replaying the same projections gives back the same digest.
        for seq in [1, 2] {
            let mut b = full_batch(seq);
            b.append.clear();
            s.commit(&b).unwrap();
        }
        assert_eq!(s.projection_digest().unwrap(), full_digest);
    });
}

#[test]
fn the_digest_sees_every_table_and_ignores_journal_and_credentials() {
    on_every_backend(|s: &dyn Store| {
        s.commit(&full_batch(1)).unwrap();
        let base = s.projection_digest().unwrap();
        assert_eq!(base.len(), 64);
        assert_eq!(s.projection_digest().unwrap(), base);

        s.put_credential(&credential("k", "E1", "h", 1)).unwrap();
        s.commit(&Batch {
            append: vec![journal(2)],
            applied: 1,
            ..Batch::default()
        })
        .unwrap();
        assert_eq!(
            s.projection_digest().unwrap(),
            base,
            "journal or credential changed it"
        );

        let mut seen = vec![base];
        let mut changes: Vec<Batch> = Vec::new();
        let mut d = declaration("D0001");
        d.tax_minor += 1;
        changes.push(Batch {
            applied: 1,
            declarations: vec![d],
            ..Batch::default()
        });
        changes.push(Batch {
            applied: 1,
            quotas: vec![quota("bk-D0001", 2026, 1)],
            ..Batch::default()
        });
        changes.push(Batch {
            applied: 1,
            receipts: vec![receipt(9, "EBP", None)],
            ..Batch::default()
        });
        changes.push(Batch {
            applied: 1,
            tax_bills: vec![tax_bill("INVT1", "X", "Y")],
            ..Batch::default()
        });
        changes.push(Batch {
            applied: 1,
            enterprises: vec![enterprise("E1", true)],
            ..Batch::default()
        });
        changes.push(Batch {
            applied: 1,
            records: vec![record("credit", "E1", Some("E1"), "BBB")],
            ..Batch::default()
        });
        changes.push(Batch {
            applied: 1,
            records: vec![record("alert", "E1", Some("E1"), "BBB")],
            ..Batch::default()
        });
        changes.push(Batch {
            applied: 1,
            records: vec![record("alert", "E1", None, "BBB")],
            ..Batch::default()
        });
        changes.push(Batch {
            applied: 1,
            state: vec![state("decl", "D0001", None)],
            ..Batch::default()
        });
        changes.push(Batch {
            applied: 2,
            ..Batch::default()
        });
        for change in changes {
            s.commit(&change).unwrap();
            let digest = s.projection_digest().unwrap();
            assert!(
                !seen.contains(&digest),
                "{change:?} did not change the digest"
            );
            seen.push(digest);
        }
    });
}

#[test]
fn readers_on_other_threads_never_see_half_a_batch() {
    on_every_backend(|s: &dyn Store| {
        std::thread::scope(|scope| {
            let readers: Vec<_> = (0..12)
                .map(|_| {
                    scope.spawn(|| {
                        // Keep several readers busy while the writer commits.
                        let mut last = 0;
                        for _ in 0..100 {
                            let p = s.positions().unwrap();
                            assert!(p.journal >= last, "positions went backwards");
                            assert_eq!(p.journal, p.applied, "a batch was seen half-written");
                            last = p.journal;
                        }
                    })
                })
                .collect();
            for seq in 1..=50 {
                s.commit(&Batch {
                    append: vec![journal(seq)],
                    applied: seq,
                    ..Batch::default()
                })
                .unwrap();
                assert_eq!(s.positions().unwrap().journal, seq);
            }
            for r in readers {
                r.join().unwrap();
            }
        });
    });
}

/// The point of the digest: a store rebuilt on another backend can be compared with the original.
#[test]
fn identical_batches_give_identical_digests_on_sqlite_and_postgres() {
    let Some((schema, pg)) = postgres() else {
        return;
    };
    let (_dir, lite) = sqlite();
    let mut batches: Vec<Batch> = (1..=20).map(full_batch).collect();
    // Keys whose order differs between byte order and a linguistic collation.
    let mut extra = Batch {
        applied: 20,
        ..Batch::default()
    };
    for id in ["a", "B", "中", "Z", "é", "_x", "1"] {
        extra.declarations.push(declaration(id));
        extra.state.push(state("ns", id, Some(id.as_bytes())));
        extra.quotas.push(quota(id, 2026, 7));
        extra.enterprises.push(enterprise(id, true));
        extra.tax_bills.push(tax_bill(id, "S", "A"));
        extra.records.push(record("alert", id, Some(id), "open"));
        extra.records.push(record(id, "k", None, id));
    }
    extra.state.push(state("decl", "D0003", None));
    batches.push(extra);
    for b in &batches {
        lite.commit(b).unwrap();
        pg.commit(b).unwrap();
    }
    assert_eq!(
        lite.projection_digest().unwrap(),
        pg.projection_digest().unwrap()
    );
    assert_eq!(lite.load_state().unwrap(), pg.load_state().unwrap());
    assert_eq!(
        lite.declarations(None, Some("B"), 100).unwrap(),
        pg.declarations(None, Some("B"), 100).unwrap()
    );
    let alerts = store::RecordQuery {
        after: Some("B"),
        ..store::RecordQuery::new("alert", 100)
    };
    assert_eq!(lite.records(&alerts).unwrap(), pg.records(&alerts).unwrap());

    // A record that differs in its body alone shows, and writing it back heals.
    let original = record("alert", "中", Some("中"), "open");
    let mut changed = original.clone();
    changed.body.push(' ');
    for (r, same) in [(changed, false), (original, true)] {
        lite.commit(&Batch {
            applied: 20,
            records: vec![r],
            ..Batch::default()
        })
        .unwrap();
        let (a, b) = (
            lite.projection_digest().unwrap(),
            pg.projection_digest().unwrap(),
        );
        assert_eq!(a == b, same, "body changed: {}", !same);
    }

    // And a one-fen difference on one side shows.
    let mut d = declaration("中");
    d.value_minor += 1;
    pg.commit(&Batch {
        applied: 20,
        declarations: vec![d],
        ..Batch::default()
    })
    .unwrap();
    assert_ne!(
        lite.projection_digest().unwrap(),
        pg.projection_digest().unwrap()
    );
    drop(pg);
    drop(schema);
}
