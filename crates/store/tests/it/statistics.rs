//! The statistics tables on every backend: deltas add up, queries group and filter any way with
//! exact distinct counts, hand-computed sums come back, and the digest and reset see them.

use store::{Batch, StatCell, StatDim, StatQuery, StatRow, StatTable, Store};

use crate::backends::{on_every_backend, postgres, sqlite};

/// A lists cell: (day, mode, country, ebc, ebp, payment, logistics, park), declarations, value,
/// first_pass, refused (the other measures zero but tax = 10 % of value and lines = 2 × lists).
#[allow(clippy::too_many_arguments)]
fn list(
    day: i32,
    mode: &str,
    ebc: &str,
    payment: &str,
    park: &str,
    declarations: i64,
    value: i64,
    refused: i64,
) -> StatCell {
    let mut values = vec![0; StatTable::Lists.measures().len()];
    values[0] = declarations;
    values[1] = 2 * declarations;
    values[2] = value;
    values[4] = value / 10; // vat_fen
    values[7] = declarations; // first_pass
    values[11] = refused;
    StatCell {
        table: StatTable::Lists,
        day,
        keys: ["I", mode, "502", ebc, "EBP1", payment, "LOG1", park]
            .map(String::from)
            .to_vec(),
        values,
    }
}

fn goods(day: i32, origin: &str, class: &str, ebc: &str, lines: i64, value: i64) -> StatCell {
    let mut values = vec![0; StatTable::Goods.measures().len()];
    values[0] = 1;
    values[1] = lines;
    values[2] = lines * 1_000;
    values[3] = value;
    StatCell {
        table: StatTable::Goods,
        day,
        keys: ["I", "9610", origin, class, "011", ebc, ""]
            .map(String::from)
            .to_vec(),
        values,
    }
}

/// Two months of a small zone:
/// - 2025-01: E1 (park XS) 3 lists 30 000 fen on the 5th, 1 list 10 000 on the 20th (pay P1);
///   E2 (park KG) 2 lists 50 000 on the 20th (pay P2); E3 only a refused list.
/// - 2025-02: E1 1 list 1 000 fen bonded (1210), on the 1st, twice in one batch (adds up).
fn small_zone() -> Vec<Batch> {
    vec![
        Batch {
            applied: 1,
            stats: vec![
                list(20250105, "9610", "E1", "P1", "XS", 3, 30_000, 0),
                list(20250120, "9610", "E1", "P1", "XS", 1, 10_000, 0),
                list(20250120, "9610", "E2", "P2", "KG", 2, 50_000, 0),
                list(20250131, "9610", "E3", "P1", "", 0, 0, 1),
                goods(20250105, "502", "12", "E1", 4, 30_000),
                goods(20250120, "116", "01", "E2", 2, 50_000),
                goods(20250120, "502", "12", "E1", 2, 10_000),
            ],
            ..Batch::default()
        },
        Batch {
            applied: 2,
            stats: vec![
                list(20250201, "1210", "E1", "P1", "XS", 1, 1_000, 0),
                list(20250201, "1210", "E1", "P1", "XS", 1, 1_000, 0),
            ],
            ..Batch::default()
        },
    ]
}

fn commit_zone(s: &dyn Store) {
    for b in small_zone() {
        s.commit(&b).unwrap();
    }
}

fn query<'a>(
    table: StatTable,
    group_by: &'a [StatDim],
    filters: &'a [(StatDim, &'a str)],
    distinct: &'a [StatDim],
) -> StatQuery<'a> {
    StatQuery {
        table,
        from_day: 20250101,
        to_day: 20251231,
        group_by,
        filters,
        distinct,
    }
}

/// (keys, declarations, value, distinct…) of each row.
fn brief(rows: &[StatRow]) -> Vec<(Vec<&str>, i64, i64, Vec<i64>)> {
    rows.iter()
        .map(|r| {
            (
                r.keys.iter().map(String::as_str).collect(),
                r.measures[0],
                r.measures[2],
                r.distinct.clone(),
            )
        })
        .collect()
}

#[test]
fn months_are_the_sums_of_their_days_with_exact_distinct_counts() {
    on_every_backend(|s: &dyn Store| {
        commit_zone(s);
        let rows = s
            .stat_query(&query(
                StatTable::Lists,
                &[StatDim::Month],
                &[],
                &[StatDim::Ebc, StatDim::Payment, StatDim::Park],
            ))
            .unwrap();
        // January: 6 lists, 90 000 fen; active enterprises E1 and E2 (E3 only had a refusal);
        // payment institutions P1, P2; parks XS, KG. February: the two deltas of one cell add up.
        assert_eq!(
            brief(&rows),
            vec![
                (vec!["2025-01"], 6, 90_000, vec![2, 2, 2]),
                (vec!["2025-02"], 2, 2_000, vec![1, 1, 1]),
            ]
        );
        assert_eq!(rows[0].measures[1], 12, "lines");
        assert_eq!(rows[0].measures[4], 9_000, "vat");
        assert_eq!(rows[0].measures[11], 1, "refused");
    });
}

#[test]
fn any_grouping_and_filter_by_day_or_month() {
    on_every_backend(|s: &dyn Store| {
        commit_zone(s);
        let by_day = s
            .stat_query(&query(
                StatTable::Lists,
                &[StatDim::Day, StatDim::Ebc],
                &[(StatDim::Mode, "9610")],
                &[],
            ))
            .unwrap();
        assert_eq!(
            brief(&by_day),
            vec![
                (vec!["2025-01-05", "E1"], 3, 30_000, vec![]),
                (vec!["2025-01-20", "E1"], 1, 10_000, vec![]),
                (vec!["2025-01-20", "E2"], 2, 50_000, vec![]),
                (vec!["2025-01-31", "E3"], 0, 0, vec![]),
            ]
        );
        let e1_by_mode = s
            .stat_query(&query(
                StatTable::Lists,
                &[StatDim::Mode],
                &[(StatDim::Ebc, "E1"), (StatDim::Park, "XS")],
                &[],
            ))
            .unwrap();
        assert_eq!(
            brief(&e1_by_mode),
            vec![
                (vec!["1210"], 2, 2_000, vec![]),
                (vec!["9610"], 4, 40_000, vec![]),
            ]
        );
        // A day range inside January, no grouping: one total row.
        let total = s
            .stat_query(&StatQuery {
                from_day: 20250110,
                to_day: 20250131,
                ..query(StatTable::Lists, &[], &[], &[StatDim::Ebc])
            })
            .unwrap();
        assert_eq!(brief(&total), vec![(vec![], 3, 60_000, vec![2])]);
        // Nothing in range: no rows at all.
        let none = s
            .stat_query(&StatQuery {
                from_day: 20240101,
                to_day: 20241231,
                ..query(StatTable::Lists, &[], &[], &[])
            })
            .unwrap();
        assert!(none.is_empty());
    });
}

#[test]
fn goods_group_by_class_and_count_origins() {
    on_every_backend(|s: &dyn Store| {
        commit_zone(s);
        let rows = s
            .stat_query(&query(
                StatTable::Goods,
                &[StatDim::Class],
                &[],
                &[StatDim::Origin, StatDim::Ebc],
            ))
            .unwrap();
        // Class 12: two cells of E1 from 502 (declarations 1 + 1, value 40 000, lines 6);
        // class 01: one cell of E2 from 116.
        assert_eq!(
            brief(&rows),
            vec![
                (vec!["01"], 1, 2_000, vec![1, 1]),
                (vec!["12"], 2, 6_000, vec![1, 1]),
            ]
        );
        assert_eq!(rows[1].measures[3], 40_000, "value_fen of class 12");
        let months = s
            .stat_query(&query(
                StatTable::Goods,
                &[StatDim::Month],
                &[],
                &[StatDim::Origin, StatDim::Class],
            ))
            .unwrap();
        assert_eq!(months[0].distinct, vec![2, 2]);
    });
}

#[test]
fn a_dimension_of_another_table_is_refused() {
    on_every_backend(|s: &dyn Store| {
        assert!(
            s.stat_query(&query(StatTable::Lists, &[StatDim::Class], &[], &[]))
                .is_err()
        );
        assert!(
            s.stat_query(&query(
                StatTable::Rejections,
                &[],
                &[(StatDim::Month, "2025-01")],
                &[]
            ))
            .is_err()
        );
        let wrong = Batch {
            applied: 1,
            stats: vec![StatCell {
                table: StatTable::Rejections,
                day: 20250101,
                keys: vec!["311".into()],
                values: vec![1],
            }],
            ..Batch::default()
        };
        assert!(s.commit(&wrong).is_err(), "a half row is never written");
        assert_eq!(s.positions().unwrap().applied, 0);
    });
}

#[test]
fn statistics_are_in_the_digest_and_reset_clears_them() {
    on_every_backend(|s: &dyn Store| {
        let empty = s.projection_digest().unwrap();
        commit_zone(s);
        let full = s.projection_digest().unwrap();
        assert_ne!(full, empty);
        s.reset_projections().unwrap();
        assert!(
            s.stat_query(&query(StatTable::Lists, &[], &[], &[]))
                .unwrap()
                .is_empty()
        );
        // Replaying the same deltas in other batches gives the same tables.
        let mut all = Batch {
            applied: 2,
            ..Batch::default()
        };
        for b in small_zone() {
            all.stats.extend(b.stats);
        }
        s.commit(&all).unwrap();
        assert_eq!(s.projection_digest().unwrap(), full);
    });
}

#[test]
fn the_same_deltas_give_the_same_digest_on_sqlite_and_postgres() {
    let Some((_schema, pg)) = postgres() else {
        return;
    };
    let (_dir, lite) = sqlite();
    commit_zone(&*pg);
    commit_zone(&*lite);
    assert_eq!(
        pg.projection_digest().unwrap(),
        lite.projection_digest().unwrap()
    );
    let q = query(
        StatTable::Goods,
        &[StatDim::Month, StatDim::Origin],
        &[],
        &[StatDim::Class],
    );
    assert_eq!(pg.stat_query(&q).unwrap(), lite.stat_query(&q).unwrap());
}
