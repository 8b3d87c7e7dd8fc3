//! PostgreSQL: [`Statistics`](crate::Statistics).

use super::*;

impl Statistics for PostgresStore {
    fn stat_query(&self, q: &StatQuery<'_>) -> Result<Vec<StatRow>> {
        use crate::stats::{Dialect, attach_distinct, distinct_sql, sums_sql, time_key};
        let sums = sums_sql(q, Dialect::Postgres)?;
        let distinct = q
            .distinct
            .iter()
            .map(|d| distinct_sql(q, *d, Dialect::Postgres))
            .collect::<Result<Vec<_>>>()?;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&q.from_day, &q.to_day];
        params.extend(q.filters.iter().map(|(_, v)| v as &(dyn ToSql + Sync)));
        let groups = q.group_by;
        let keys_of = |row: &Row| -> PgResult<Vec<String>> {
            groups
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    if d.is_time() {
                        Ok(time_key(*d, i64::from(row.try_get::<_, i32>(i)?)))
                    } else {
                        row.try_get::<_, String>(i)
                    }
                })
                .collect()
        };
        let n = q.table.measures().len();
        self.read(|c| {
            // One snapshot for the sums and the counts; dynamic text is not kept prepared.
            let mut tx = snapshot(&mut c.client)?;
            let mut rows = Vec::new();
            for row in tx.query(sums.as_str(), &params)? {
                let measures = (groups.len()..groups.len() + n)
                    .map(|i| row.try_get::<_, i64>(i))
                    .collect::<PgResult<Vec<_>>>()?;
                rows.push(StatRow {
                    keys: keys_of(&row)?,
                    measures,
                    distinct: Vec::new(),
                });
            }
            let mut counts = Vec::new();
            for sql in &distinct {
                let mut map = std::collections::BTreeMap::new();
                for row in tx.query(sql.as_str(), &params)? {
                    map.insert(keys_of(&row)?, row.try_get::<_, i64>(groups.len())?);
                }
                counts.push(map);
            }
            tx.commit()?;
            attach_distinct(&mut rows, counts);
            Ok(rows)
        })
    }
}
