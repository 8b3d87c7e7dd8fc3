//! SQLite: [`Records`](crate::Records).

use super::*;

impl Records for SqliteStore {
    fn enterprises(&self) -> Result<Vec<EnterpriseRow>> {
        self.query_rows(&self.sql.enterprises, [])
    }

    fn enterprise(&self, code: &str) -> Result<Option<EnterpriseRow>> {
        self.query_opt(&self.sql.enterprise, [code])
    }

    fn record(&self, kind: &str, key: &str) -> Result<Option<RecordRow>> {
        self.query_opt(&self.sql.record, params![kind, key])?
            .map(|r| open_record(&self.keys, r))
            .transpose()
    }

    fn records(&self, q: &RecordQuery<'_>) -> Result<Vec<RecordRow>> {
        let n = limit(q.limit);
        let cursor = q.after.unwrap_or("");
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&q.kind, &cursor];
        if let Some(p) = &q.party {
            bound.push(p);
        }
        if let Some(st) = &q.status {
            bound.push(st);
        }
        bound.push(&n);
        let i =
            schema::records_page_index(q.party.is_some(), q.status.is_some(), q.after.is_some());
        self.query_rows(&self.sql.records_pages[i], &bound[..])?
            .into_iter()
            .map(|r| open_record(&self.keys, r))
            .collect()
    }

    fn count_records(&self, kind: &str, status: Option<&str>) -> Result<i64> {
        let sql = &self.sql;
        self.read(|conn| match status {
            None => conn
                .prepare_cached(&sql.count_records)?
                .query_row([kind], |r| r.get(0)),
            Some(st) => conn
                .prepare_cached(&sql.count_records_in_status)?
                .query_row([kind, st], |r| r.get(0)),
        })
    }

    fn certificates(&self, enterprise: Option<&str>) -> Result<Vec<CertificateRow>> {
        match enterprise {
            Some(e) => self.query_rows(&self.sql.certificates_of, [e]),
            None => self.query_rows(&self.sql.certificates_all, []),
        }
    }
}
