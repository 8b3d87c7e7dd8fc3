//! SQL of the statistics tables, shared by both backends: the additive upserts, the grouped
//! queries with their distinct counts, and the digest order. Text built from the fixed table and
//! dimension names only; every value is a bound parameter.

use std::collections::BTreeMap;

use crate::schema::Column;
use crate::{Result, StatCell, StatDim, StatQuery, StatTable, StoreError};

pub(crate) use crate::sql::Dialect;

/// The sum of a measure, as an `int8` in both dialects.
fn sum(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("COALESCE(SUM({column}), 0)"),
        Dialect::Postgres => format!("COALESCE(SUM({column}), 0)::int8"),
    }
}

/// `stat_lists` …
pub(crate) fn table_name(t: StatTable) -> String {
    format!("stat_{}", t.name())
}

/// Every column: day, the key dimensions, the measures.
pub(crate) fn columns(t: StatTable) -> Vec<Column> {
    let mut cols: Vec<Column> = vec![("day", "int4")];
    cols.extend(t.dims().iter().map(|d| (d.name(), "text")));
    cols.extend(t.measures().iter().map(|m| (*m, "int8")));
    cols
}

fn key_names(t: StatTable) -> Vec<&'static str> {
    std::iter::once("day")
        .chain(t.dims().iter().map(|d| d.name()))
        .collect()
}

/// The additive upsert of one table: one row (SQLite, `?N`) or arrays (PostgreSQL, UNNEST).
pub(crate) fn upsert(t: StatTable, dialect: Dialect) -> String {
    let table = table_name(t);
    let cols = columns(t);
    let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
    let source = match dialect {
        Dialect::Sqlite => format!(
            "VALUES ({})",
            (1..=cols.len())
                .map(|n| dialect.mark(n))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Dialect::Postgres => format!(
            "SELECT * FROM UNNEST({})",
            cols.iter()
                .enumerate()
                .map(|(i, (_, ty))| format!("{}::{ty}[]", dialect.mark(i + 1)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let set = t
        .measures()
        .iter()
        .map(|m| format!("{m} = {table}.{m} + excluded.{m}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {table} ({}) {source} ON CONFLICT ({}) DO UPDATE SET {set}",
        names.join(", "),
        key_names(t).join(", ")
    )
}

/// One merged cell: day, keys, summed values.
pub(crate) type Merged<'a> = (i32, &'a [String], Vec<i64>);

/// A batch's statistics deltas, merged per table and cell.
pub(crate) type ByTable<'a> = BTreeMap<StatTable, Vec<Merged<'a>>>;

/// The deltas of a batch per table, one entry per cell (deltas of one cell summed): PostgreSQL's
/// one-statement upsert may not touch a row twice. Cells whose arity does not match their table
/// are refused (a caller bug that must not write a half row).
pub(crate) fn merge(cells: &[StatCell]) -> Result<ByTable<'_>> {
    let mut by_cell: BTreeMap<(StatTable, i32, &[String]), Vec<i64>> = BTreeMap::new();
    for c in cells {
        if c.keys.len() != c.table.dims().len() || c.values.len() != c.table.measures().len() {
            return Err(StoreError::Other(format!(
                "statistics cell of {} has {} keys and {} values, expected {} and {}",
                c.table.name(),
                c.keys.len(),
                c.values.len(),
                c.table.dims().len(),
                c.table.measures().len()
            )));
        }
        let sum = by_cell
            .entry((c.table, c.day, c.keys.as_slice()))
            .or_insert_with(|| vec![0; c.values.len()]);
        for (s, v) in sum.iter_mut().zip(&c.values) {
            *s = s.saturating_add(*v);
        }
    }
    let mut out: BTreeMap<StatTable, Vec<Merged<'_>>> = BTreeMap::new();
    for ((t, day, keys), values) in by_cell {
        out.entry(t).or_default().push((day, keys, values));
    }
    Ok(out)
}

fn group_expr(d: StatDim) -> &'static str {
    match d {
        StatDim::Day => "day",
        StatDim::Month => "(day / 100)",
        other => other.name(),
    }
}

fn check(q: &StatQuery<'_>) -> Result<()> {
    let bad = q
        .group_by
        .iter()
        .chain(q.filters.iter().map(|(d, _)| d))
        .chain(q.distinct)
        .find(|d| !q.table.has(**d));
    if let Some(d) = bad {
        return Err(StoreError::Other(format!(
            "statistics: {} is not a dimension of the {} table",
            d.name(),
            q.table.name()
        )));
    }
    if q.filters.iter().any(|(d, _)| d.is_time()) || q.distinct.iter().any(|d| d.is_time()) {
        return Err(StoreError::Other(
            "statistics: days and months are chosen by the day range, not filters".into(),
        ));
    }
    Ok(())
}

/// `WHERE …` with its parameters numbered from 1: from_day, to_day, then the filter values.
fn where_clause(q: &StatQuery<'_>, dialect: Dialect) -> String {
    let mut w = format!("day >= {} AND day <= {}", dialect.mark(1), dialect.mark(2));
    for (i, (d, _)) in q.filters.iter().enumerate() {
        w.push_str(&format!(" AND {} = {}", d.name(), dialect.mark(i + 3)));
    }
    w
}

/// The grouped sums of a query.
pub(crate) fn sums_sql(q: &StatQuery<'_>, dialect: Dialect) -> Result<String> {
    check(q)?;
    let table = table_name(q.table);
    let groups: Vec<&str> = q.group_by.iter().map(|d| group_expr(*d)).collect();
    let sums: Vec<String> = q.table.measures().iter().map(|m| sum(dialect, m)).collect();
    let select = groups
        .iter()
        .map(|g| g.to_string())
        .chain(sums)
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!(
        "SELECT {select} FROM {table} WHERE {}",
        where_clause(q, dialect)
    );
    if !groups.is_empty() {
        let g = groups.join(", ");
        sql.push_str(&format!(" GROUP BY {g} ORDER BY {g}"));
    } else {
        sql.push_str(" HAVING COUNT(*) > 0");
    }
    Ok(sql)
}

/// The distinct count of `dim` per group of a query, among cells with activity.
pub(crate) fn distinct_sql(q: &StatQuery<'_>, dim: StatDim, dialect: Dialect) -> Result<String> {
    check(q)?;
    let table = table_name(q.table);
    let aliases: Vec<String> = (0..q.group_by.len()).map(|i| format!("g{i}")).collect();
    let inner_select = q
        .group_by
        .iter()
        .zip(&aliases)
        .map(|(d, a)| format!("{} AS {a}", group_expr(*d)))
        .chain(std::iter::once(format!("{} AS dv", dim.name())))
        .collect::<Vec<_>>()
        .join(", ");
    let inner_group = q
        .group_by
        .iter()
        .map(|d| group_expr(*d).to_string())
        .chain(std::iter::once(dim.name().to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    let inner = format!(
        "SELECT {inner_select} FROM {table} WHERE {} GROUP BY {inner_group} HAVING SUM({}) > 0",
        where_clause(q, dialect),
        q.table.activity()
    );
    let count = match dialect {
        Dialect::Sqlite => "COUNT(*)",
        Dialect::Postgres => "COUNT(*)::int8",
    };
    if aliases.is_empty() {
        return Ok(format!("SELECT {count} FROM ({inner}) AS x"));
    }
    let a = aliases.join(", ");
    Ok(format!(
        "SELECT {a}, {count} FROM ({inner}) AS x GROUP BY {a} ORDER BY {a}"
    ))
}

/// The text of a group key: days `YYYY-MM-DD`, months `YYYY-MM`.
pub(crate) fn time_key(d: StatDim, n: i64) -> String {
    match d {
        StatDim::Day => format!("{:04}-{:02}-{:02}", n / 10_000, (n / 100) % 100, n % 100),
        _ => format!("{:04}-{:02}", n / 100, n % 100),
    }
}

/// Puts the distinct counts (one list of `(keys, count)` per distinct dimension) onto the rows.
pub(crate) fn attach_distinct(
    rows: &mut [crate::StatRow],
    counts: Vec<BTreeMap<Vec<String>, i64>>,
) {
    for row in rows.iter_mut() {
        row.distinct = counts
            .iter()
            .map(|c| c.get(&row.keys).copied().unwrap_or(0))
            .collect();
    }
}

/// The digest order of one table.
pub(crate) fn digest_sql(t: StatTable) -> String {
    let cols = columns(t);
    let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        names.join(", "),
        table_name(t),
        key_names(t).join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_group_by_month_and_bind_filters_in_order() {
        let q = StatQuery {
            table: StatTable::Goods,
            from_day: 20250101,
            to_day: 20251231,
            group_by: &[StatDim::Month, StatDim::Class],
            filters: &[(StatDim::Mode, "9610"), (StatDim::Ebc, "E1")],
            distinct: &[StatDim::Ebc],
        };
        let sql = sums_sql(&q, Dialect::Postgres).unwrap_or_default();
        assert!(sql.starts_with("SELECT (day / 100), class, COALESCE(SUM(declarations), 0)::int8"));
        assert!(sql.contains("WHERE day >= $1 AND day <= $2 AND mode = $3 AND ebc = $4"));
        assert!(sql.ends_with("GROUP BY (day / 100), class ORDER BY (day / 100), class"));
        let d = distinct_sql(&q, StatDim::Ebc, Dialect::Sqlite).unwrap_or_default();
        assert!(d.contains("HAVING SUM(lines) > 0"), "{d}");
        let wrong = StatQuery {
            group_by: &[StatDim::Bucket],
            ..q
        };
        assert!(sums_sql(&wrong, Dialect::Sqlite).is_err());
        assert_eq!(time_key(StatDim::Day, 20250314), "2025-03-14");
        assert_eq!(time_key(StatDim::Month, 202503), "2025-03");
    }
}
