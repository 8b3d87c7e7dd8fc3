//! The canonical encoding behind `projection_digest`. Both backends read their rows into the
//! contract's row types and feed them here, table by table in key order, so the bytes hashed
//! depend only on the values, never on how an engine formats them.

use sha2::{Digest as _, Sha256};

use crate::rows::FromRow;
use crate::seal::{KeyRing, SealError, SealedRecord, open_record, open_state};
use crate::sql::Statements;
use crate::{
    CertificateRow, DeclarationRow, EnterpriseRow, QuotaRow, ReceiptRow, RecordRow, StatTable,
    StateRow, StoreError, TaxBillRow,
};

/// Every value is tagged and length-prefixed, so no two different row sets encode alike.
pub(crate) struct Canonical {
    hasher: Sha256,
}

impl Canonical {
    pub(crate) fn new() -> Self {
        let mut c = Canonical {
            hasher: Sha256::new(),
        };
        c.text("onewindow-projection-digest-v1");
        c
    }

    /// Starts a table; rows follow in key order.
    pub(crate) fn table(&mut self, name: &str) {
        self.hasher.update(b"T");
        self.text(name);
    }

    pub(crate) fn applied(&mut self, applied: i64) {
        self.table("applied");
        self.int(applied);
    }

    fn text(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.hasher.update(b"s");
        self.hasher.update((b.len() as u64).to_le_bytes());
        self.hasher.update(b);
    }

    fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.hasher.update(b"n"),
        }
    }

    fn int(&mut self, i: i64) {
        self.hasher.update(b"i");
        self.hasher.update(i.to_le_bytes());
    }

    fn opt_int(&mut self, i: Option<i64>) {
        match i {
            Some(i) => self.int(i),
            None => self.hasher.update(b"n"),
        }
    }

    fn row(&mut self) {
        self.hasher.update(b"R");
    }

    pub(crate) fn state(&mut self, r: &StateRow) {
        self.row();
        self.text(&r.namespace);
        self.text(&r.key);
        match &r.value {
            Some(v) => self.bytes(v),
            None => self.hasher.update(b"n"),
        }
    }

    pub(crate) fn declaration(&mut self, r: &DeclarationRow) {
        self.row();
        self.text(&r.id);
        self.text(&r.ebp_code);
        self.text(&r.ebc_code);
        self.text(&r.order_no);
        self.opt_text(r.agent_code.as_deref());
        self.opt_text(r.logistics_code.as_deref());
        self.opt_text(r.logistics_no.as_deref());
        self.opt_text(r.pay_code.as_deref());
        self.opt_text(r.cop_no.as_deref());
        self.opt_text(r.pre_no.as_deref());
        self.opt_text(r.invt_no.as_deref());
        self.text(&r.documents);
        self.int(i64::from(r.status));
        self.text(&r.status_info);
        self.opt_text(r.buyer_key.as_deref());
        self.int(r.value_minor);
        self.int(r.tax_minor);
        self.int(r.created_at_ms);
        self.int(r.updated_at_ms);
        self.opt_int(r.released_at_ms);
    }

    pub(crate) fn quota(&mut self, r: &QuotaRow) {
        self.row();
        self.text(&r.buyer_key);
        self.int(i64::from(r.year));
        self.int(r.used_minor);
    }

    pub(crate) fn receipt(&mut self, r: &ReceiptRow) {
        self.row();
        self.int(r.seq);
        self.text(&r.recipient);
        self.text(&r.message_type);
        self.opt_text(r.declaration_id.as_deref());
        self.text(&r.business_key);
        self.text(&r.return_status);
        self.int(r.created_at_ms);
        self.text(&r.xml);
        self.text(&r.json);
    }

    pub(crate) fn tax_bill(&mut self, r: &TaxBillRow) {
        self.row();
        self.text(&r.invt_no);
        self.text(&r.tax_no);
        self.text(&r.declaration_id);
        self.text(&r.ebc_code);
        self.text(&r.agent_code);
        self.int(r.customs_tax_minor);
        self.int(r.vat_minor);
        self.int(r.consumption_tax_minor);
        self.int(i64::from(r.status));
        self.text(&r.levy_state);
        self.int(r.released_at_ms);
        self.text(&r.due_from);
        self.text(&r.due_until);
    }

    pub(crate) fn enterprise(&mut self, r: &EnterpriseRow) {
        self.row();
        self.text(&r.code);
        self.text(&r.name);
        self.text(&r.roles);
        self.opt_text(r.dxp_id.as_deref());
        self.int(r.filed_at_ms);
        self.int(i64::from(r.active));
        self.opt_text(r.park.as_deref());
    }

    /// One statistics cell: day, keys, measures (the table is named by [`Canonical::table`]).
    pub(crate) fn stat(&mut self, day: i64, keys: &[String], values: &[i64]) {
        self.row();
        self.int(day);
        for k in keys {
            self.text(k);
        }
        for v in values {
            self.int(*v);
        }
    }

    pub(crate) fn record(&mut self, r: &RecordRow) {
        self.row();
        self.text(&r.kind);
        self.text(&r.key);
        self.opt_text(r.party.as_deref());
        self.text(&r.status);
        self.int(r.updated_at_ms);
        self.text(&r.body);
    }

    pub(crate) fn certificate(&mut self, r: &CertificateRow) {
        self.row();
        self.text(&r.enterprise);
        self.text(&r.fingerprint);
        self.text(&r.serial);
        self.text(&r.subject);
        self.text(&r.algorithm);
        self.int(r.not_before_ms);
        self.int(r.not_after_ms);
        self.bytes(&r.der);
        self.int(r.filed_at_ms);
        self.opt_int(r.revoked_at_ms);
    }

    pub(crate) fn finish(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

/// Takes one statistics cell: day, keys, measures.
pub(crate) type StatFeed<'a> = dyn FnMut(i64, &[String], &[i64]) + 'a;

/// A read snapshot that streams the rows of a statement: each backend's read transaction.
pub(crate) trait Scan {
    type Error;
    /// Every row of `sql`, mapped, in order.
    fn scan<T: FromRow>(&mut self, sql: &str, feed: &mut dyn FnMut(T)) -> Result<(), Self::Error>;
    /// Every row of a statistics table: the day, `keys` key columns, then `measures` measures
    /// (the day's column type differs between the engines).
    fn scan_stats(
        &mut self,
        sql: &str,
        keys: usize,
        measures: usize,
        feed: &mut StatFeed<'_>,
    ) -> Result<(), Self::Error>;
}

/// A digest, or the first sealed value that did not open.
pub(crate) type Opened = Result<String, SealError>;

/// The projection digest over one snapshot, for both backends: every table in key order, sealed
/// values opened. A value that does not open is reported after the scan (the outer error is the
/// engine's).
pub(crate) fn projection_digest<S: Scan>(
    s: &mut S,
    sql: &Statements,
    keys: &KeyRing,
) -> Result<Opened, S::Error> {
    let mut c = Canonical::new();
    let mut applied = 0;
    s.scan(&sql.applied, &mut |a: i64| applied = a)?;
    c.applied(applied);
    let mut failure: Option<SealError> = None;
    c.table("state");
    s.scan(
        &sql.digest_state,
        &mut |mut r: StateRow| match open_state(keys, &mut r) {
            Ok(()) => c.state(&r),
            Err(e) => failure = Some(e),
        },
    )?;
    c.table("declarations");
    s.scan(&sql.digest_declarations, &mut |r: DeclarationRow| {
        c.declaration(&r)
    })?;
    c.table("quotas");
    s.scan(&sql.digest_quotas, &mut |r: QuotaRow| c.quota(&r))?;
    c.table("receipts");
    s.scan(&sql.digest_receipts, &mut |r: ReceiptRow| c.receipt(&r))?;
    c.table("tax_bills");
    s.scan(&sql.digest_tax_bills, &mut |r: TaxBillRow| c.tax_bill(&r))?;
    c.table("enterprises");
    s.scan(&sql.digest_enterprises, &mut |r: EnterpriseRow| {
        c.enterprise(&r)
    })?;
    c.table("records");
    s.scan(
        &sql.digest_records,
        &mut |r: SealedRecord| match open_record(keys, r) {
            Ok(r) => c.record(&r),
            Err(StoreError::Sealed(e)) => failure = Some(e),
            Err(_) => {}
        },
    )?;
    for (t, digest_sql) in StatTable::ALL.iter().zip(&sql.stat_digests) {
        c.table(&crate::stats::table_name(*t));
        s.scan_stats(
            digest_sql,
            t.dims().len(),
            t.measures().len(),
            &mut |day, k, v| c.stat(day, k, v),
        )?;
    }
    c.table("certificates");
    s.scan(&sql.digest_certificates, &mut |r: CertificateRow| {
        c.certificate(&r)
    })?;
    Ok(match failure {
        Some(e) => Err(e),
        None => Ok(c.finish()),
    })
}
