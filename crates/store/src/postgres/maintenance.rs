//! PostgreSQL: [`Maintenance`](crate::Maintenance).

use super::*;

impl Maintenance for PostgresStore {
    fn reset_projections(&self) -> Result<()> {
        self.write(|c| {
            let mut tx = c.client.transaction()?;
            tx.batch_execute(&format!(
                "TRUNCATE {}; UPDATE store_position SET applied = 0 WHERE id = 1;",
                schema::PROJECTION_TABLES.join(", ")
            ))?;
            tx.commit()
        })
    }

    fn projection_digest(&self) -> Result<String> {
        let sql = &self.sql;
        self.read(|c| {
            // One snapshot for every table.
            let mut tx = snapshot(&mut c.client)?;
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
            // Only the header names the key: read the first bytes of each value.
            let sql = format!(
                "SELECT substring({col} from 1 for 48) FROM {}",
                table.name()
            );
            self.read(|c| {
                let mut rows = c
                    .client
                    .query_raw(sql.as_str(), std::iter::empty::<&(dyn ToSql + Sync)>())?;
                while let Some(row) = rows.next()? {
                    let head: Vec<u8> = row.try_get(0)?;
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
        self.write(|c| c.client.batch_execute("VACUUM journal, state, records"))
    }

    fn reseal(
        &self,
        table: SealedTable,
        after: Option<&RowKey>,
        limit_n: usize,
    ) -> Result<ResealStep> {
        let n = limit(limit_n.max(1));
        let (col, _) = sealed_columns(table);
        let name = table.name();
        // Read the page with its rows locked (FOR UPDATE), so the server's writer waits for
        // this transaction instead of having a newer value overwritten by an older one.
        let page: Vec<(RowKey, Vec<u8>)> = self.write(|c| {
            let mut tx = c.client.transaction()?;
            let mut out: Vec<(RowKey, Vec<u8>)> = Vec::new();
            match after {
                Some(RowKey::Pair(a, b)) if table != SealedTable::Journal => {
                    let (k1, k2) = pair_columns(table);
                    let rows = tx.query(
                        &format!(
                            "SELECT {k1}, {k2}, {col} FROM {name} \
                             WHERE ({k1}, {k2}) > ($1 COLLATE \"C\", $2 COLLATE \"C\") \
                             ORDER BY {k1}, {k2} LIMIT $3 FOR UPDATE"
                        ),
                        &[a, b, &n],
                    )?;
                    for r in rows {
                        out.push((RowKey::Pair(r.try_get(0)?, r.try_get(1)?), r.try_get(2)?));
                    }
                }
                _ if table != SealedTable::Journal => {
                    let (k1, k2) = pair_columns(table);
                    let rows = tx.query(
                        &format!(
                            "SELECT {k1}, {k2}, {col} FROM {name} ORDER BY {k1}, {k2} \
                             LIMIT $1 FOR UPDATE"
                        ),
                        &[&n],
                    )?;
                    for r in rows {
                        out.push((RowKey::Pair(r.try_get(0)?, r.try_get(1)?), r.try_get(2)?));
                    }
                }
                _ => {
                    let from = match after {
                        Some(RowKey::Seq(s)) => *s,
                        _ => 0,
                    };
                    let rows = tx.query(
                        "SELECT seq, body FROM journal WHERE seq > $1 ORDER BY seq LIMIT $2 \
                         FOR UPDATE",
                        &[&from, &n],
                    )?;
                    for r in rows {
                        out.push((RowKey::Seq(r.try_get(0)?), r.try_get(1)?));
                    }
                }
            }
            // Re-seal and write within the same transaction.
            let mut written = Vec::new();
            for (k, v) in &out {
                if self.keys.is_current(v) {
                    continue;
                }
                let ctx = context_of(table, k);
                let Ok(fresh) = self.keys.open(v, ctx).and_then(|p| self.keys.seal(&p, ctx)) else {
                    // Left as it is; `rekey --status` and the next read name the row.
                    continue;
                };
                match k {
                    RowKey::Seq(seq) => {
                        tx.execute(
                            "UPDATE journal SET body = $2 WHERE seq = $1",
                            &[seq, &fresh],
                        )?;
                    }
                    RowKey::Pair(a, b) => {
                        let (k1, k2) = pair_columns(table);
                        tx.execute(
                            &format!("UPDATE {name} SET {col} = $3 WHERE {k1} = $1 AND {k2} = $2"),
                            &[a, b, &fresh],
                        )?;
                    }
                }
                written.push((k.clone(), fresh));
            }
            tx.commit()?;
            out.iter_mut().for_each(|(_, v)| v.clear());
            // Mark rewritten rows by a non-empty value so the count below sees them.
            for (k, fresh) in written {
                if let Some(slot) = out.iter_mut().find(|(key, _)| *key == k) {
                    slot.1 = fresh;
                }
            }
            Ok(out)
        })?;
        let resealed = page.iter().filter(|(_, v)| !v.is_empty()).count();
        let next = if page.len() < usize::try_from(n).unwrap_or(usize::MAX) {
            None
        } else {
            page.last().map(|(k, _)| k.clone())
        };
        Ok(ResealStep {
            looked: page.len(),
            resealed,
            next,
        })
    }
}
