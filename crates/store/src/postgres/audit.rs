//! PostgreSQL: [`Audit`](crate::Audit).

use super::*;

impl Audit for PostgresStore {
    fn append_audit(&self, entries: &[AuditEntry]) -> Result<Vec<AuditRecord>> {
        let sql = self.sql.insert_audit.as_str();
        self.write(|c| {
            let insert = c.statement(sql)?;
            let mut tx = c.client.transaction()?;
            let records = append_audit_tx(&mut tx, &self.sql, &insert, entries)?;
            tx.commit()?;
            Ok(records)
        })
    }

    fn audit(&self, q: &AuditQuery<'_>) -> Result<Vec<AuditRecord>> {
        self.query_rows(
            &self.sql.audit_page,
            &[
                &q.after,
                &q.actor,
                &q.action,
                &q.from_ms,
                &q.until_ms,
                &limit(q.limit),
            ],
        )
    }
}
