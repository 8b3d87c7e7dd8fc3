//! 统计保密 — statistical disclosure control of the published tables: no published figure may
//! let a reader (another enterprise, the public) infer the figures of one enterprise.
//!
//! Threshold rule with pooling: inside each partition (a month of a table), a cell is published
//! only when at least `k` e-commerce enterprises contribute to it. The withheld cells form a pool
//! a reader could recover by subtracting the published cells from a published total; so the pool
//! must itself hold at least `k` enterprises, or the smallest published cells join it until it
//! does (or everything is withheld). A withheld cell shows its keys with no figures.

use std::collections::{BTreeMap, BTreeSet};

/// One fine-grained input row: the output cell it belongs to, its partition, the contributing
/// enterprise and its measures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    pub keys: Vec<String>,
    pub partition: String,
    pub contributor: String,
    pub measures: Vec<i64>,
}

/// One output cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedRow {
    pub keys: Vec<String>,
    pub contributors: usize,
    /// `None` when withheld.
    pub measures: Option<Vec<i64>>,
}

/// Aggregates contributions into cells and withholds what could disclose one enterprise.
/// Output in key order.
pub fn protect(rows: &[Contribution], k: usize) -> Vec<ProtectedRow> {
    struct Cell<'a> {
        partition: &'a str,
        contributors: BTreeSet<&'a str>,
        measures: Vec<i64>,
    }
    let mut cells: BTreeMap<&[String], Cell> = BTreeMap::new();
    for r in rows {
        let cell = cells.entry(r.keys.as_slice()).or_insert_with(|| Cell {
            partition: &r.partition,
            contributors: BTreeSet::new(),
            measures: vec![0; r.measures.len()],
        });
        cell.contributors.insert(&r.contributor);
        for (sum, m) in cell.measures.iter_mut().zip(&r.measures) {
            *sum = sum.saturating_add(*m);
        }
    }
    // Decide per partition.
    let mut withheld: BTreeSet<&[String]> = BTreeSet::new();
    let mut partitions: BTreeMap<&str, Vec<&[String]>> = BTreeMap::new();
    for (keys, cell) in &cells {
        partitions.entry(cell.partition).or_default().push(keys);
    }
    for members in partitions.values() {
        let mut pool: BTreeSet<&str> = BTreeSet::new();
        let mut open: Vec<&[String]> = Vec::new();
        let mut any = false;
        for keys in members {
            let cell = &cells[keys];
            if cell.contributors.len() < k {
                any = true;
                withheld.insert(keys);
                pool.extend(cell.contributors.iter().copied());
            } else {
                open.push(keys);
            }
        }
        // Smallest first (fewest contributors, then smallest first measure, then keys).
        open.sort_by(|a, b| {
            let (ca, cb) = (&cells[a], &cells[b]);
            ca.contributors
                .len()
                .cmp(&cb.contributors.len())
                .then(ca.measures.first().cmp(&cb.measures.first()))
                .then(a.cmp(b))
        });
        let mut next = open.into_iter();
        while any && pool.len() < k {
            let Some(keys) = next.next() else { break };
            withheld.insert(keys);
            pool.extend(cells[keys].contributors.iter().copied());
        }
    }
    cells
        .into_iter()
        .map(|(keys, cell)| ProtectedRow {
            keys: keys.to_vec(),
            contributors: cell.contributors.len(),
            measures: (!withheld.contains(keys)).then_some(cell.measures),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(keys: &[&str], who: &str, value: i64) -> Contribution {
        Contribution {
            keys: keys.iter().map(|s| s.to_string()).collect(),
            partition: keys[0].to_string(),
            contributor: who.to_string(),
            measures: vec![value],
        }
    }

    #[test]
    fn a_cell_of_one_enterprise_is_withheld_with_the_next_smallest() {
        let rows = [
            c(&["2025-01", "cosmetics"], "A", 10),
            c(&["2025-01", "cosmetics"], "B", 20),
            c(&["2025-01", "cosmetics"], "C", 30),
            c(&["2025-01", "formula"], "A", 5),
            c(&["2025-01", "formula"], "B", 5),
            c(&["2025-01", "formula"], "D", 5),
            c(&["2025-01", "watches"], "E", 99),
        ];
        let out = protect(&rows, 3);
        let shown: Vec<(&str, Option<i64>)> = out
            .iter()
            .map(|r| (r.keys[1].as_str(), r.measures.as_ref().map(|m| m[0])))
            .collect();
        // Watches (one seller) is withheld; alone it could be recovered from the month total,
        // so formula (the smaller of the others) is withheld too: the pool then has A, B, D, E.
        assert_eq!(
            shown,
            vec![
                ("cosmetics", Some(60)),
                ("formula", None),
                ("watches", None)
            ]
        );
    }

    #[test]
    fn nothing_is_withheld_when_every_cell_has_enough_enterprises() {
        let rows = [
            c(&["2025-01", "x"], "A", 1),
            c(&["2025-01", "x"], "B", 1),
            c(&["2025-02", "x"], "A", 1),
            c(&["2025-02", "x"], "B", 1),
        ];
        assert!(protect(&rows, 2).iter().all(|r| r.measures.is_some()));
        assert!(protect(&rows, 3).iter().all(|r| r.measures.is_none()));
    }
}
