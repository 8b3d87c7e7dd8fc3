//! SQLite: [`Maintenance`](crate::Maintenance).

use super::*;

impl Maintenance for SqliteStore {
    fn reset_projections(&self) -> Result<()> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for table in schema::PROJECTION_TABLES {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
            tx.execute("UPDATE store_position SET applied = 0 WHERE id = 1", [])?;
            tx.commit()
        })
    }

    fn projection_digest(&self) -> Result<String> {
        let sql = &self.sql;
        self.read(|conn| {
            // One read transaction: every table from the same snapshot.
            let mut tx = conn.transaction()?;
            let digest = crate::digest::projection_digest(&mut tx, sql, &self.keys)?;
            tx.commit()?;
            Ok(digest)
        })?
        .map_err(StoreError::from)
    }

    fn key_usage(&self) -> Result<Vec<KeyUsage>> {
        let mut counts: std::collections::BTreeMap<(SealedTable, Option<String>), i64> =
            std::collections::BTreeMap::new();
        for table in SealedTable::ALL {
            let (col, _) = sealed_columns(table);
            self.read(|conn| {
                // Only the header names the key: read the first bytes of each value.
                let mut stmt = conn.prepare(&format!(
                    "SELECT substr({col}, 1, 48) FROM {}",
                    table.name()
                ))?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    let head = bytes_at(row, 0)?;
                    let id = crate::seal::key_id_of(&head).map(str::to_owned);
                    *counts.entry((table, id)).or_default() += 1;
                }
                Ok(())
            })?;
        }
        Ok(counts
            .into_iter()
            .map(|((table, key_id), rows)| KeyUsage {
                table,
                key_id,
                rows,
            })
            .collect())
    }

    fn vacuum(&self) -> Result<()> {
        self.write(|conn| {
            conn.execute_batch(
                "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
            )
        })
    }

    fn reseal(
        &self,
        table: SealedTable,
        after: Option<&RowKey>,
        limit_n: usize,
    ) -> Result<ResealStep> {
        let keys = self.keys.clone();
        let n = limit(limit_n.max(1));
        let (col, _) = sealed_columns(table);
        let name = table.name();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut step = ResealStep::default();
            let mut rewrite: Vec<(RowKey, Vec<u8>)> = Vec::new();
            {
                let mut rows_out: Vec<(RowKey, Vec<u8>)> = Vec::new();
                match (table, after) {
                    (SealedTable::Journal, after) => {
                        let from = match after {
                            Some(RowKey::Seq(s)) => *s,
                            _ => 0,
                        };
                        let mut stmt = tx.prepare_cached(
                            "SELECT seq, body FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                        )?;
                        let mut rows = stmt.query(params![from, n])?;
                        while let Some(r) = rows.next()? {
                            rows_out.push((RowKey::Seq(r.get(0)?), bytes_at(r, 1)?));
                        }
                    }
                    (_, after) => {
                        let (a, b) = match after {
                            Some(RowKey::Pair(a, b)) => (a.clone(), b.clone()),
                            _ => (String::new(), String::new()),
                        };
                        let (k1, k2) = pair_columns(table);
                        let mut stmt = tx.prepare_cached(&format!(
                            "SELECT {k1}, {k2}, {col} FROM {name} WHERE ({k1}, {k2}) > (?1, ?2) \
                             ORDER BY {k1}, {k2} LIMIT ?3"
                        ))?;
                        let mut rows = stmt.query(params![a, b, n])?;
                        while let Some(r) = rows.next()? {
                            rows_out.push((RowKey::Pair(r.get(0)?, r.get(1)?), bytes_at(r, 2)?));
                        }
                    }
                }
                step.looked = rows_out.len();
                step.next = if rows_out.len() < usize::try_from(n).unwrap_or(usize::MAX) {
                    None
                } else {
                    rows_out.last().map(|(k, _)| k.clone())
                };
                for (k, v) in rows_out {
                    if !keys.is_current(&v) {
                        rewrite.push((k, v));
                    }
                }
            }
            let mut resealed = Vec::with_capacity(rewrite.len());
            for (k, v) in &rewrite {
                let ctx = context_of(table, k);
                let fresh = keys
                    .open(v, ctx)
                    .and_then(|plain| keys.seal(&plain, ctx))
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                resealed.push(fresh);
            }
            for ((k, _), fresh) in rewrite.iter().zip(&resealed) {
                match k {
                    RowKey::Seq(seq) => {
                        tx.prepare_cached("UPDATE journal SET body = ?2 WHERE seq = ?1")?
                            .execute(params![seq, fresh])?;
                    }
                    RowKey::Pair(a, b) => {
                        let (k1, k2) = pair_columns(table);
                        tx.prepare_cached(&format!(
                            "UPDATE {name} SET {col} = ?3 WHERE {k1} = ?1 AND {k2} = ?2"
                        ))?
                        .execute(params![a, b, fresh])?;
                    }
                }
            }
            step.resealed = rewrite.len();
            tx.commit()?;
            Ok(step)
        })
    }
}
