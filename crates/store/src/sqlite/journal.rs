//! SQLite: [`Journal`](crate::Journal).

use super::*;

impl Journal for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn positions(&self) -> Result<Positions> {
        self.read(|conn| positions_in(conn, &self.sql))
    }

    fn restore_point(&self) -> Result<RestorePoint> {
        let sql = &self.sql;
        let (positions, mut state) = self.read(|conn| {
            // One read transaction: WAL gives it one snapshot, taken at its first read.
            let tx = conn.transaction()?;
            let positions = positions_in(&tx, &self.sql)?;
            let state = {
                let mut stmt = tx.prepare_cached(&sql.load_state)?;
                let rows = stmt.query_map([], |r| StateRow::from_row(r))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            tx.commit()?;
            Ok((positions, state))
        })?;
        for r in &mut state {
            open_state(&self.keys, r)?;
        }
        Ok(RestorePoint { positions, state })
    }

    fn claim_writer(&self) -> Result<()> {
        // The data directory lock of the commands that write is the writer lock; a batch built
        // on a stale position is refused by `commit` all the same.
        Ok(())
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        let sql = &self.writes;
        let stats = crate::stats::merge(&batch.stats)?;
        // Seal before taking the writer: the lock is held only for the writes.
        let sealed = Sealed::of(&self.keys, batch)?;
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(built_on) = batch.base {
                // The write lock is held: this is the latest committed position.
                let applied: i64 = tx
                    .prepare_cached(&self.sql.applied)?
                    .query_row([], |r| r.get(0))?;
                if applied != built_on {
                    return Ok(Err(StoreError::Stale { built_on, applied }));
                }
            }
            write_rows(&tx, sql, batch, &sealed)?;
            write_stats(&tx, sql, &stats)?;
            write_certificates(&tx, &self.sql, &batch.certificates)?;
            append_audit_tx(&tx, &self.sql, &batch.audit)?;
            tx.prepare_cached(&self.sql.set_applied)?
                .execute([batch.applied])?;
            tx.commit().map(Ok)
        })?
    }

    fn journal_after(&self, after: i64, limit_n: usize) -> Result<Vec<JournalRecord>> {
        let mut rows: Vec<JournalRecord> =
            self.query_rows(&self.sql.journal_after, params![after, limit(limit_n)])?;
        for j in &mut rows {
            j.body = self
                .keys
                .open(&j.body, Context::Journal(j.seq))?
                .into_owned();
        }
        Ok(rows)
    }

    fn load_state(&self) -> Result<Vec<StateRow>> {
        let mut rows = self.query_rows(&self.sql.load_state, [])?;
        for r in &mut rows {
            open_state(&self.keys, r)?;
        }
        Ok(rows)
    }

    fn state_value(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let value: Option<Vec<u8>> =
            self.query_opt(&self.sql.state_value, params![namespace, key])?;
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

/// The journal entries (appended and redacted) and the engine state of a batch, row by row.
fn write_rows(
    tx: &rusqlite::Transaction<'_>,
    sql: &Writes,
    batch: &Batch,
    sealed: &Sealed,
) -> rusqlite::Result<()> {
    if !batch.append.is_empty() {
        let mut stmt = tx.prepare_cached(&sql.insert_journal)?;
        for (j, body) in batch.append.iter().zip(&sealed.append) {
            stmt.execute(params![
                j.seq,
                j.received_at_ms,
                j.sender,
                j.kind,
                j.guid,
                body
            ])?;
        }
    }
    if !batch.redact.is_empty() {
        let mut stmt = tx.prepare_cached(&sql.redact_journal)?;
        for (j, body) in batch.redact.iter().zip(&sealed.redact) {
            if stmt.execute(params![j.seq, body])? != 1 {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
        }
    }
    if !batch.state.is_empty() {
        let mut upsert = tx.prepare_cached(&sql.upsert_state)?;
        let mut delete = tx.prepare_cached(&sql.delete_state)?;
        for (s, value) in batch.state.iter().zip(&sealed.state) {
            match value {
                Some(v) => upsert.execute(params![s.namespace, s.key, v])?,
                None => delete.execute(params![s.namespace, s.key])?,
            };
        }
    }
    write_projections(tx, sql, batch, sealed)
}

/// The projection rows of a batch, one prepared upsert or insert per row.
fn write_projections(
    tx: &rusqlite::Transaction<'_>,
    sql: &Writes,
    batch: &Batch,
    sealed: &Sealed,
) -> rusqlite::Result<()> {
    if !batch.declarations.is_empty() {
        let mut stmt = tx.prepare_cached(&sql.upsert_declaration)?;
        for d in &batch.declarations {
            stmt.execute(params![
                d.id,
                d.ebp_code,
                d.ebc_code,
                d.order_no,
                d.agent_code,
                d.logistics_code,
                d.logistics_no,
                d.pay_code,
                d.cop_no,
                d.pre_no,
                d.invt_no,
                d.documents,
                d.status,
                d.status_info,
                d.buyer_key,
                d.value_minor,
                d.tax_minor,
                d.created_at_ms,
                d.updated_at_ms,
                d.released_at_ms
            ])?;
        }
    }
    if !batch.quotas.is_empty() {
        let mut stmt = tx.prepare_cached(&sql.upsert_quota)?;
        for q in &batch.quotas {
            stmt.execute(params![q.buyer_key, q.year, q.used_minor])?;
        }
    }
    if !batch.receipts.is_empty() {
        let mut stmt = tx.prepare_cached(&sql.insert_receipt)?;
        for r in &batch.receipts {
            stmt.execute(params![
                r.seq,
                r.recipient,
                r.message_type,
                r.declaration_id,
                r.business_key,
                r.return_status,
                r.created_at_ms,
                r.xml,
                r.json
            ])?;
        }
    }
    if !batch.tax_bills.is_empty() {
        let mut stmt = tx.prepare_cached(&sql.upsert_tax_bill)?;
        for t in &batch.tax_bills {
            stmt.execute(params![
                t.invt_no,
                t.tax_no,
                t.declaration_id,
                t.ebc_code,
                t.agent_code,
                t.customs_tax_minor,
                t.vat_minor,
                t.consumption_tax_minor,
                t.status,
                t.levy_state,
                t.released_at_ms,
                t.due_from,
                t.due_until
            ])?;
        }
    }
    if !batch.enterprises.is_empty() {
        let mut stmt = tx.prepare_cached(&sql.upsert_enterprise)?;
        for e in &batch.enterprises {
            stmt.execute(params![
                e.code,
                e.name,
                e.roles,
                e.dxp_id,
                e.filed_at_ms,
                e.active,
                e.park
            ])?;
        }
    }
    if !batch.records.is_empty() {
        let mut stmt = tx.prepare_cached(&sql.upsert_record)?;
        for (r, body) in batch.records.iter().zip(&sealed.records) {
            stmt.execute(params![
                r.kind,
                r.key,
                r.party,
                r.status,
                r.updated_at_ms,
                body
            ])?;
        }
    }
    Ok(())
}

/// The statistics deltas of a batch, added to their cells.
fn write_stats(
    tx: &rusqlite::Transaction<'_>,
    sql: &Writes,
    stats: &crate::stats::ByTable<'_>,
) -> rusqlite::Result<()> {
    for (table, cells) in stats {
        let i = StatTable::ALL.iter().position(|t| t == table).unwrap_or(0);
        let mut stmt = tx.prepare_cached(&sql.stat_upserts[i])?;
        for (day, keys, values) in cells {
            let mut bound: Vec<&dyn rusqlite::ToSql> =
                Vec::with_capacity(1 + keys.len() + values.len());
            bound.push(day);
            bound.extend(keys.iter().map(|k| k as &dyn rusqlite::ToSql));
            bound.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
            stmt.execute(&bound[..])?;
        }
    }
    Ok(())
}
