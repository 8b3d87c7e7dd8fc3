//! SQLite: [`Statistics`](crate::Statistics).

use super::*;

impl Statistics for SqliteStore {
    fn stat_query(&self, q: &StatQuery<'_>) -> Result<Vec<StatRow>> {
        use crate::stats::{Dialect, attach_distinct, distinct_sql, sums_sql, time_key};
        let sums = sums_sql(q, Dialect::Sqlite)?;
        let distinct = q
            .distinct
            .iter()
            .map(|d| distinct_sql(q, *d, Dialect::Sqlite))
            .collect::<Result<Vec<_>>>()?;
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&q.from_day, &q.to_day];
        bound.extend(q.filters.iter().map(|(_, v)| v as &dyn rusqlite::ToSql));
        let groups = q.group_by;
        let keys_of = |row: &Row<'_>| -> rusqlite::Result<Vec<String>> {
            groups
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    if d.is_time() {
                        Ok(time_key(*d, row.get::<_, i64>(i)?))
                    } else {
                        row.get::<_, String>(i)
                    }
                })
                .collect()
        };
        let n = q.table.measures().len();
        self.read(|conn| {
            let tx = conn.transaction()?;
            let mut rows = Vec::new();
            {
                let mut stmt = tx.prepare_cached(&sums)?;
                let mut cursor = stmt.query(&bound[..])?;
                while let Some(row) = cursor.next()? {
                    let measures = (groups.len()..groups.len() + n)
                        .map(|i| row.get::<_, i64>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    rows.push(StatRow {
                        keys: keys_of(row)?,
                        measures,
                        distinct: Vec::new(),
                    });
                }
            }
            let mut counts = Vec::new();
            for sql in &distinct {
                let mut stmt = tx.prepare_cached(sql)?;
                let mut cursor = stmt.query(&bound[..])?;
                let mut map = std::collections::BTreeMap::new();
                while let Some(row) = cursor.next()? {
                    map.insert(keys_of(row)?, row.get::<_, i64>(groups.len())?);
                }
                counts.push(map);
            }
            tx.commit()?;
            attach_distinct(&mut rows, counts);
            Ok(rows)
        })
    }
}
