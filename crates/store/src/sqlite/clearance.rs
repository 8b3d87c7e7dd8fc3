//! SQLite: [`Clearance`](crate::Clearance).

use super::*;

impl Clearance for SqliteStore {
    fn declaration(&self, id: &str) -> Result<Option<DeclarationRow>> {
        self.query_opt(&self.sql.declaration, [id])
    }

    fn declarations(
        &self,
        party: Option<&str>,
        after: Option<&str>,
        limit_n: usize,
    ) -> Result<Vec<DeclarationRow>> {
        let n = limit(limit_n);
        let sql = &self.sql;
        match (party, after) {
            (None, None) => self.query_rows(&sql.declarations_all_from, params!["", n]),
            (None, Some(a)) => self.query_rows(&sql.declarations_all_after, params![a, n]),
            (Some(p), None) => self.query_rows(&sql.declarations_party_from, params![p, "", n]),
            (Some(p), Some(a)) => self.query_rows(&sql.declarations_party_after, params![p, a, n]),
        }
    }

    fn receipts_after(
        &self,
        recipient: Option<&str>,
        after: i64,
        limit_n: usize,
    ) -> Result<Vec<ReceiptRow>> {
        let n = limit(limit_n);
        match recipient {
            None => self.query_rows(&self.sql.receipts_after, params![after, n]),
            Some(r) => self.query_rows(&self.sql.receipts_of_recipient_after, params![r, after, n]),
        }
    }

    fn receipts_of(&self, declaration_id: &str) -> Result<Vec<ReceiptRow>> {
        self.query_rows(&self.sql.receipts_of, [declaration_id])
    }

    fn quota(&self, buyer_key: &str, year: i32) -> Result<Option<QuotaRow>> {
        self.query_opt(&self.sql.quota, params![buyer_key, year])
    }

    fn tax_bill(&self, invt_no: &str) -> Result<Option<TaxBillRow>> {
        self.query_opt(&self.sql.tax_bill, [invt_no])
    }

    fn tax_bills(&self, party: Option<&str>, limit_n: usize) -> Result<Vec<TaxBillRow>> {
        let n = limit(limit_n);
        match party {
            None => self.query_rows(&self.sql.tax_bills_all, [n]),
            Some(p) => self.query_rows(&self.sql.tax_bills_of, params![p, n]),
        }
    }

    fn declaration_status_counts(&self) -> Result<Vec<(i32, i64)>> {
        self.query_rows(&self.sql.declaration_status_counts, [])
    }
}
