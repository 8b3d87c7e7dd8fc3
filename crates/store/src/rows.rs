//! One row mapper per row type, shared by both backends: a mapper reads its columns by position
//! through [`Columns`], which `rusqlite::Row` and `postgres::Row` both implement, so a column
//! added to a row type is read in one place (its position is its place in `schema.rs`).

use crate::audit::{AuditEntry, AuditRecord};
use crate::seal::SealedRecord;
use crate::{
    CertificateRow, CredentialRow, DeclarationRow, EnterpriseRow, JournalRecord, Positions,
    QuotaRow, ReceiptRow, RecordRow, SessionRow, StateRow, TaxBillRow, UserRow,
};

/// A column value both drivers can read.
pub(crate) trait Value:
    rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>
{
}

impl<T> Value for T where T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a> {}

/// A result row of either driver, read by column position.
pub(crate) trait Columns {
    type Error;
    fn col<T: Value>(&self, i: usize) -> Result<T, Self::Error>;
    /// A sealed value as bytes. SQLite also reads TEXT: record bodies written before sealing.
    fn sealed(&self, i: usize) -> Result<Vec<u8>, Self::Error>;
}

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn col<T: Value>(&self, i: usize) -> rusqlite::Result<T> {
        self.get(i)
    }
    fn sealed(&self, i: usize) -> rusqlite::Result<Vec<u8>> {
        bytes_at(self, i)
    }
}

impl Columns for postgres::Row {
    type Error = postgres::Error;
    fn col<T: Value>(&self, i: usize) -> Result<T, postgres::Error> {
        self.try_get(i)
    }
    fn sealed(&self, i: usize) -> Result<Vec<u8>, postgres::Error> {
        self.try_get(i)
    }
}

/// SQLite: text or blob, as bytes (record bodies written before sealing are TEXT, sealed ones
/// BLOB).
pub(crate) fn bytes_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    use rusqlite::types::ValueRef;
    match r.get_ref(i)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => Ok(b.to_vec()),
        other => Err(rusqlite::Error::InvalidColumnType(
            i,
            "body".into(),
            other.data_type(),
        )),
    }
}

/// A row type read from the columns of `schema.rs`, in that order.
pub(crate) trait FromRow: Sized {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error>;
}

impl FromRow for JournalRecord {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(JournalRecord {
            seq: r.col(0)?,
            received_at_ms: r.col(1)?,
            sender: r.col(2)?,
            kind: r.col(3)?,
            guid: r.col(4)?,
            body: r.col(5)?,
        })
    }
}

impl FromRow for StateRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(StateRow {
            namespace: r.col(0)?,
            key: r.col(1)?,
            value: Some(r.col(2)?),
        })
    }
}

impl FromRow for DeclarationRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(DeclarationRow {
            id: r.col(0)?,
            ebp_code: r.col(1)?,
            ebc_code: r.col(2)?,
            order_no: r.col(3)?,
            agent_code: r.col(4)?,
            logistics_code: r.col(5)?,
            logistics_no: r.col(6)?,
            pay_code: r.col(7)?,
            cop_no: r.col(8)?,
            pre_no: r.col(9)?,
            invt_no: r.col(10)?,
            documents: r.col(11)?,
            status: r.col(12)?,
            status_info: r.col(13)?,
            buyer_key: r.col(14)?,
            value_minor: r.col(15)?,
            tax_minor: r.col(16)?,
            created_at_ms: r.col(17)?,
            updated_at_ms: r.col(18)?,
            released_at_ms: r.col(19)?,
        })
    }
}

impl FromRow for QuotaRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(QuotaRow {
            buyer_key: r.col(0)?,
            year: r.col(1)?,
            used_minor: r.col(2)?,
        })
    }
}

impl FromRow for ReceiptRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(ReceiptRow {
            seq: r.col(0)?,
            recipient: r.col(1)?,
            message_type: r.col(2)?,
            declaration_id: r.col(3)?,
            business_key: r.col(4)?,
            return_status: r.col(5)?,
            created_at_ms: r.col(6)?,
            xml: r.col(7)?,
            json: r.col(8)?,
        })
    }
}

impl FromRow for TaxBillRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(TaxBillRow {
            invt_no: r.col(0)?,
            tax_no: r.col(1)?,
            declaration_id: r.col(2)?,
            ebc_code: r.col(3)?,
            agent_code: r.col(4)?,
            customs_tax_minor: r.col(5)?,
            vat_minor: r.col(6)?,
            consumption_tax_minor: r.col(7)?,
            status: r.col(8)?,
            levy_state: r.col(9)?,
            released_at_ms: r.col(10)?,
            due_from: r.col(11)?,
            due_until: r.col(12)?,
        })
    }
}

impl FromRow for EnterpriseRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(EnterpriseRow {
            code: r.col(0)?,
            name: r.col(1)?,
            roles: r.col(2)?,
            dxp_id: r.col(3)?,
            filed_at_ms: r.col(4)?,
            active: r.col(5)?,
            park: r.col(6)?,
        })
    }
}

/// A record with its body still sealed (opened by [`crate::seal::open_record`]).
impl FromRow for SealedRecord {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok((
            RecordRow {
                kind: r.col(0)?,
                key: r.col(1)?,
                party: r.col(2)?,
                status: r.col(3)?,
                updated_at_ms: r.col(4)?,
                body: String::new(),
            },
            r.sealed(5)?,
        ))
    }
}

impl FromRow for CredentialRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(CredentialRow {
            key_id: r.col(0)?,
            subject: r.col(1)?,
            token_hash: r.col(2)?,
            created_at_ms: r.col(3)?,
            revoked_at_ms: r.col(4)?,
            expires_at_ms: r.col(5)?,
        })
    }
}

impl FromRow for AuditRecord {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(AuditRecord {
            seq: r.col(0)?,
            entry: AuditEntry {
                at_ms: r.col(1)?,
                actor: r.col(2)?,
                action: r.col(3)?,
                target: r.col(4)?,
                outcome: r.col(5)?,
                source: r.col(6)?,
                detail: r.col(7)?,
            },
            prev_hash: r.col(8)?,
            hash: r.col(9)?,
        })
    }
}

impl FromRow for CertificateRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(CertificateRow {
            enterprise: r.col(0)?,
            fingerprint: r.col(1)?,
            serial: r.col(2)?,
            subject: r.col(3)?,
            algorithm: r.col(4)?,
            not_before_ms: r.col(5)?,
            not_after_ms: r.col(6)?,
            der: r.col(7)?,
            filed_at_ms: r.col(8)?,
            revoked_at_ms: r.col(9)?,
        })
    }
}

impl FromRow for UserRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(UserRow {
            username: r.col(0)?,
            subject: r.col(1)?,
            password_hash: r.col(2)?,
            created_at_ms: r.col(3)?,
            disabled_at_ms: r.col(4)?,
        })
    }
}

impl FromRow for SessionRow {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(SessionRow {
            token_hash: r.col(0)?,
            username: r.col(1)?,
            csrf_token: r.col(2)?,
            created_at_ms: r.col(3)?,
            last_seen_ms: r.col(4)?,
        })
    }
}

/// A count by status (`declaration_status_counts`).
impl FromRow for (i32, i64) {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok((r.col(0)?, r.col(1)?))
    }
}

/// One sealed value (`state_value`).
impl FromRow for Vec<u8> {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        r.col(0)
    }
}

/// The three positions (`positions`).
impl FromRow for Positions {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        Ok(Positions {
            journal: r.col(0)?,
            applied: r.col(1)?,
            receipt: r.col(2)?,
        })
    }
}

/// One number (`applied`).
impl FromRow for i64 {
    fn from_row<R: Columns>(r: &R) -> Result<Self, R::Error> {
        r.col(0)
    }
}
