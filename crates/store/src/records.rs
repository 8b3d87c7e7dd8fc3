//! The registry and the supervision records: filed enterprises and certificates, and the credit,
//! risk, inspection and listing records regulators' queues and enterprises' views page through.

use crate::{CertificateRow, EnterpriseRow, RecordQuery, RecordRow, Result};

/// Reads of the registry and of the supervision records.
pub trait Records {
    fn enterprises(&self) -> Result<Vec<EnterpriseRow>>;

    fn enterprise(&self, code: &str) -> Result<Option<EnterpriseRow>>;

    fn record(&self, kind: &str, key: &str) -> Result<Option<RecordRow>>;

    /// Records of one kind ordered by key, key > after, optionally filtered by party and/or
    /// status, at most limit.
    fn records(&self, query: &RecordQuery<'_>) -> Result<Vec<RecordRow>>;

    /// How many records of a kind (optionally in one status) — for dashboards and queue sizes.
    fn count_records(&self, kind: &str, status: Option<&str>) -> Result<i64>;

    /// Certificates filed for one enterprise, or for all when `None`, revoked ones included,
    /// ordered by enterprise, filing time and fingerprint.
    fn certificates(&self, enterprise: Option<&str>) -> Result<Vec<CertificateRow>>;
}
