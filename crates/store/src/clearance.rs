//! What clearance projects: declarations, receipts, quotas and tax bills, read by the API, the
//! portal and the receipt cursor.

use crate::{DeclarationRow, QuotaRow, ReceiptRow, Result, TaxBillRow};

/// Reads of the clearance projections (written by [`crate::Journal::commit`]).
pub trait Clearance {
    fn declaration(&self, id: &str) -> Result<Option<DeclarationRow>>;

    /// Declarations in which `party` is the ebp, ebc, agent, logistics firm or payment
    /// institution, ordered by id, after the given id, at most `limit`. `party = None`: all.
    fn declarations(
        &self,
        party: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeclarationRow>>;

    /// Receipts with seq > `after`, in order; `recipient = None`: all.
    fn receipts_after(
        &self,
        recipient: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ReceiptRow>>;

    /// Receipts of one declaration, in order.
    fn receipts_of(&self, declaration_id: &str) -> Result<Vec<ReceiptRow>>;

    fn quota(&self, buyer_key: &str, year: i32) -> Result<Option<QuotaRow>>;

    fn tax_bill(&self, invt_no: &str) -> Result<Option<TaxBillRow>>;

    /// Tax bills of an enterprise (as ebc or agent); `None`: all.
    fn tax_bills(&self, party: Option<&str>, limit: usize) -> Result<Vec<TaxBillRow>>;

    /// How many declarations are in each CEB622 status, by status (the portal's backlog view).
    fn declaration_status_counts(&self) -> Result<Vec<(i32, i64)>>;
}
