//! SQLite: [`Audit`](crate::Audit).

use super::*;

impl Audit for SqliteStore {
    fn append_audit(&self, entries: &[AuditEntry]) -> Result<Vec<AuditRecord>> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let records = append_audit_tx(&tx, &self.sql, entries)?;
            tx.commit()?;
            Ok(records)
        })
    }

    fn audit(&self, q: &AuditQuery<'_>) -> Result<Vec<AuditRecord>> {
        self.query_rows(
            &self.sql.audit_page,
            params![
                q.after,
                q.actor,
                q.action,
                q.from_ms,
                q.until_ms,
                limit(q.limit)
            ],
        )
    }
}
