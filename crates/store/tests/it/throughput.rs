//! A hand-run throughput check of the commit path (the whole-path benchmark is elsewhere):
//! `cargo test -p store --release -- --ignored --nocapture throughput`

use std::time::Instant;

use store::{Batch, Store};

use crate::backends::{postgres, sqlite};
use crate::fixtures::*;

const BATCHES: i64 = 10;
const JOURNAL_PER_BATCH: i64 = 4_000;
const DECLARATIONS_PER_BATCH: i64 = 1_000;
const RECEIPTS_PER_BATCH: i64 = 4_000;

fn batch(n: i64) -> Batch {
    let first = n * JOURNAL_PER_BATCH + 1;
    let body = "<ceb:CEB311Message>".to_owned() + &"x".repeat(1_500) + "</ceb:CEB311Message>";
    let append = (first..first + JOURNAL_PER_BATCH)
        .map(|seq| {
            let mut j = journal(seq);
            j.body = body.clone().into_bytes();
            j
        })
        .collect();
    let declarations = (0..DECLARATIONS_PER_BATCH)
        .map(|i| declaration(&format!("D{:09}", n * DECLARATIONS_PER_BATCH + i)))
        .collect();
    let receipts = (first..first + RECEIPTS_PER_BATCH)
        .map(|seq| {
            let mut r = receipt(seq, &format!("EBP{}", seq % 50), Some("D"));
            r.xml.push_str(&" ".repeat(600));
            r
        })
        .collect();
    Batch {
        append,
        applied: first + JOURNAL_PER_BATCH - 1,
        declarations,
        receipts,
        ..Batch::default()
    }
}

fn measure(store: &dyn Store) {
    let batches: Vec<Batch> = (0..BATCHES).map(batch).collect();
    let rows_per_batch = JOURNAL_PER_BATCH + DECLARATIONS_PER_BATCH + RECEIPTS_PER_BATCH;
    let start = Instant::now();
    for b in &batches {
        store.commit(b).unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let rows = (rows_per_batch * BATCHES) as f64;
    eprintln!(
        "{}: {BATCHES} batches of {rows_per_batch} rows in {secs:.2}s: {:.0} rows/s, {:.1} ms/batch",
        store.backend(),
        rows / secs,
        secs * 1000.0 / BATCHES as f64
    );
    assert_eq!(
        store.positions().unwrap().journal,
        BATCHES * JOURNAL_PER_BATCH
    );

    // The same rows again, one kind per commit, to show where the time goes.
    let mut kinds: [(&str, Vec<Batch>); 3] = [
        ("journal", Vec::new()),
        ("declarations", Vec::new()),
        ("receipts", Vec::new()),
    ];
    for n in BATCHES..2 * BATCHES {
        let b = batch(n);
        kinds[0].1.push(Batch {
            append: b.append,
            applied: b.applied,
            ..Batch::default()
        });
        kinds[1].1.push(Batch {
            declarations: b.declarations,
            applied: b.applied,
            ..Batch::default()
        });
        kinds[2].1.push(Batch {
            receipts: b.receipts,
            applied: b.applied,
            ..Batch::default()
        });
    }
    for (kind, batches) in kinds {
        let rows: usize = batches
            .iter()
            .map(|b| b.append.len() + b.declarations.len() + b.receipts.len())
            .sum();
        let start = Instant::now();
        for b in &batches {
            store.commit(b).unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{}:   {kind} alone: {:.0} rows/s",
            store.backend(),
            rows as f64 / secs
        );
    }

    // A small group commit (one message, its declaration and its receipt): the latency floor.
    let base = 2 * BATCHES * JOURNAL_PER_BATCH;
    let small: Vec<Batch> = (1..=100)
        .map(|i| {
            let seq = base + i;
            Batch {
                append: vec![journal(seq)],
                applied: seq,
                declarations: vec![declaration(&format!("S{seq}"))],
                receipts: vec![receipt(seq, "EBP", None)],
                ..Batch::default()
            }
        })
        .collect();
    let start = Instant::now();
    for b in &small {
        store.commit(b).unwrap();
    }
    eprintln!(
        "{}:   small commits (3 rows): {:.2} ms each",
        store.backend(),
        start.elapsed().as_secs_f64() * 1000.0 / small.len() as f64
    );
}

#[test]
#[ignore = "prints throughput; run by hand"]
fn throughput() {
    let (_dir, lite) = sqlite();
    measure(&*lite);
    if let Some((schema, pg)) = postgres() {
        measure(&*pg);
        drop(pg);
        drop(schema);
    }
}
