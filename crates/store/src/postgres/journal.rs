//! PostgreSQL: [`Journal`](crate::Journal).

use super::*;

impl Journal for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn positions(&self) -> Result<Positions> {
        let sql = self.sql.positions.as_str();
        self.read(|c| {
            let st = c.statement(sql)?;
            Positions::from_row(&c.client.query_one(&st, &[])?)
        })
    }

    fn restore_point(&self) -> Result<RestorePoint> {
        let sql = &self.sql;
        let (positions, mut state) = self.read(|c| {
            let positions = c.statement(&sql.positions)?;
            let load_state = c.statement(&sql.load_state)?;
            // One snapshot for both: a commit landing between two reads would leave the state
            // behind the positions.
            let mut tx = snapshot(&mut c.client)?;
            let positions = Positions::from_row(&tx.query_one(&positions, &[])?)?;
            let state = tx
                .query(&load_state, &[])?
                .iter()
                .map(StateRow::from_row)
                .collect::<PgResult<Vec<_>>>()?;
            tx.commit()?;
            Ok((positions, state))
        })?;
        for r in &mut state {
            open_state(&self.keys, r)?;
        }
        Ok(RestorePoint { positions, state })
    }

    fn claim_writer(&self) -> Result<()> {
        let mut state = lock(&self.writer_lock);
        self.hold_writer_lock(&mut state)?;
        state.claimed = true;
        Ok(())
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        let stats = crate::stats::merge(&batch.stats)?;
        let sealed = Sealed::of(&self.keys, batch)?;
        {
            let mut state = lock(&self.writer_lock);
            if state.claimed {
                self.hold_writer_lock(&mut state)?;
            }
        }
        self.write(|c| {
            let statements = WriteStatements::prepare(c, &self.writes, &self.sql, batch, &stats)?;
            let applied_for_update = match batch.base {
                Some(_) => Some(c.statement(&self.writes.applied_for_update)?),
                None => None,
            };
            let mut tx = c.client.transaction()?;
            if let (Some(built_on), Some(st)) = (batch.base, &applied_for_update) {
                // Locks the position row: a concurrent commit waits, and this reads the latest.
                let applied = match tx.query_opt(st, &[])? {
                    Some(r) => r.try_get::<_, i64>(0)?,
                    None => 0,
                };
                if applied != built_on {
                    return Ok(Err(StoreError::Stale { built_on, applied }));
                }
            }
            let redacted = write_batch(&mut tx, &statements, &self.sql, batch, &stats, &sealed)?;
            if redacted != batch.redact.len() as u64 {
                // Dropping the transaction rolls the whole batch back.
                return Ok(Err(StoreError::Other(
                    "postgres: a redacted journal entry does not exist".into(),
                )));
            }
            tx.commit().map(Ok)
        })?
    }

    fn journal_after(&self, after: i64, limit_n: usize) -> Result<Vec<JournalRecord>> {
        let mut rows: Vec<JournalRecord> =
            self.query_rows(&self.sql.journal_after, &[&after, &limit(limit_n)])?;
        for j in &mut rows {
            j.body = self
                .keys
                .open(&j.body, Context::Journal(j.seq))?
                .into_owned();
        }
        Ok(rows)
    }

    fn load_state(&self) -> Result<Vec<StateRow>> {
        let mut rows = self.query_rows(&self.sql.load_state, &[])?;
        for r in &mut rows {
            open_state(&self.keys, r)?;
        }
        Ok(rows)
    }

    fn state_value(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let value: Option<Vec<u8>> = self.query_opt(&self.sql.state_value, &[&namespace, &key])?;
        value
            .map(|v| {
                Ok(self
                    .keys
                    .open(&v, Context::State(namespace, key))?
                    .into_owned())
            })
            .transpose()
    }
}
