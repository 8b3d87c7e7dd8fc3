//! The storage contract shared by every backend. Record types are plain rows (primitive fields),
//! so the store does not depend on how the domain models them; the ingest pipeline maps domain
//! values to rows.

use std::fmt;

use crate::{Access, Audit, Clearance, Journal, Maintenance, Records, Statistics};

/// A store failure. Callers turn it into a 503-style answer; it never means "input was bad".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A value could not be sealed or opened (unknown key, damaged or tampered row).
    #[error("encryption: {0}")]
    Sealed(#[from] crate::seal::SealError),
    /// The batch was built on an applied position the store has moved past: another writer, or
    /// the late commit of a killed one, committed since the writer read its state. Nothing of the
    /// batch was written; the writer must restore itself from the store.
    #[error(
        "the store moved on under this writer: the batch was built on journal position \
         {built_on}, the store has applied {applied} (another writer, or the late commit of a \
         killed one); nothing was written"
    )]
    Stale { built_on: i64, applied: i64 },
    /// Another process is the writer of this store (PostgreSQL: it holds the writer lock).
    #[error("{0}")]
    WriterLocked(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// One journal entry: a message exactly as it was accepted (raw bytes), with who sent it and when.
/// `seq` is assigned by the single writer (last seq + 1), strictly increasing, no gaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRecord {
    pub seq: i64,
    /// Milliseconds since the Unix epoch (UTC) at which the message was received.
    pub received_at_ms: i64,
    /// The filed enterprise code of the authenticated sender, or `admin` for administrative entries.
    pub sender: String,
    /// `CEB311Message` … for CEB messages; `FILING`, `TARIFF`, `CREDENTIAL` … for administrative entries.
    pub kind: String,
    /// The message guid (CEB root attribute) or an administrative id.
    pub guid: String,
    /// The original bytes, unchanged.
    pub body: Vec<u8>,
}

/// One row of engine state (the domain serializes its aggregates; the store keeps them opaque).
/// `value: None` deletes the row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateRow {
    pub namespace: String,
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// The queryable projection of one declaration (清单 and its three documents).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclarationRow {
    /// Stable declaration id (not guessable from another enterprise's numbers alone; see the pipeline).
    pub id: String,
    pub ebp_code: String,
    pub ebc_code: String,
    pub order_no: String,
    pub agent_code: Option<String>,
    pub logistics_code: Option<String>,
    pub logistics_no: Option<String>,
    pub pay_code: Option<String>,
    pub cop_no: Option<String>,
    pub pre_no: Option<String>,
    pub invt_no: Option<String>,
    /// Which documents are present, e.g. `order,payment,waybill,inventory`.
    pub documents: String,
    /// The inventory's CEB622 returnStatus (2, 120, 300, 399, 500, 800, 100 …), 0 while no inventory.
    pub status: i32,
    /// Last returnInfo, `[Code:…;Desc:…]` form.
    pub status_info: String,
    /// Keyed hash of buyer name + ID number (never the clear values).
    pub buyer_key: Option<String>,
    /// Dutiable price in fen.
    pub value_minor: i64,
    /// Total tax in fen.
    pub tax_minor: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub released_at_ms: Option<i64>,
}

/// A buyer's use of the annual quota (年度限额), by keyed hash and calendar year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaRow {
    pub buyer_key: String,
    pub year: i32,
    pub used_minor: i64,
}

/// A receipt (回执) ready to deliver: the CEB XML and its JSON equivalent.
/// `seq` is the receipt cursor, assigned by the single writer, strictly increasing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRow {
    pub seq: i64,
    /// The enterprise this receipt is delivered to.
    pub recipient: String,
    /// `CEB622Message` …
    pub message_type: String,
    /// The declaration this receipt belongs to, if any (for status pages).
    pub declaration_id: Option<String>,
    /// The business key in words, e.g. `ebp=… order=…`.
    pub business_key: String,
    pub return_status: String,
    pub created_at_ms: i64,
    pub xml: String,
    pub json: String,
}

/// An electronic tax bill (电子税单, CEB816) and where it stands in the levy schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxBillRow {
    pub invt_no: String,
    pub tax_no: String,
    pub declaration_id: String,
    pub ebc_code: String,
    pub agent_code: String,
    pub customs_tax_minor: i64,
    pub vat_minor: i64,
    pub consumption_tax_minor: i64,
    /// CEB816/818 status: 1 generated, 2 summarised, 3 voided.
    pub status: i32,
    /// `pending` (within 30 days of release), `due`, `not_levied`, `paid`.
    pub levy_state: String,
    pub released_at_ms: i64,
    /// First and last day (YYYYMMDD, Beijing time) of the payment window (day 31–45 after release).
    pub due_from: String,
    pub due_until: String,
}

/// A filed enterprise (企业备案), as listed to administrators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnterpriseRow {
    pub code: String,
    pub name: String,
    /// Comma-separated roles: `ebp,ebc,payment,logistics,agent,guarantor,bonded`.
    pub roles: String,
    pub dxp_id: Option<String>,
    pub filed_at_ms: i64,
    pub active: bool,
    /// The park (园区, 一区多园) the enterprise belongs to.
    pub park: Option<String>,
}

/// An API credential. Only the SHA-256 of the secret token is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRow {
    pub key_id: String,
    /// The enterprise code, or a role name such as `admin` / `regulator` for staff credentials.
    pub subject: String,
    pub token_hash: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    /// After this time the credential is refused, as if revoked (rotation with a grace period).
    pub expires_at_ms: Option<i64>,
}

impl CredentialRow {
    /// Whether a call made at `now_ms` with this credential is accepted.
    pub fn live_at(&self, now_ms: i64) -> bool {
        self.revoked_at_ms.is_none() && self.expires_at_ms.is_none_or(|e| now_ms < e)
    }
}

/// One supervision record of the credit and risk system: a credit record (信用档案), a risk alert
/// (风险预警), an inspection task (查验任务), a negative-list entry (负面清单), a recall (召回) or a
/// goods-control entry (商品管控) … The body is the domain's JSON, kept opaque; the store indexes
/// kind, key, party and status so that regulators' queues and enterprises' self-service views are
/// single index range queries, without the store knowing any of those types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    /// `credit`, `alert`, `inspection`, `listing`, `recall`, `control` … (the server names them).
    pub kind: String,
    /// Unique within the kind; listings sort by key (bytewise), so keys are chosen to sort
    /// meaningfully (e.g. a zero-padded sequence or a date prefix).
    pub key: String,
    /// The enterprise the record concerns (self-service views filter on it); `None` for persons
    /// (who appear only by keyed hash, inside the body) or zone-wide records.
    pub party: Option<String>,
    /// e.g. `open`, `assessed`, `AAA`, `active` — what queues filter on.
    pub status: String,
    pub updated_at_ms: i64,
    /// The domain's JSON, returned byte for byte as written.
    pub body: String,
}

/// A listing of [`RecordRow`]s of one kind: ordered by key, after a cursor, optionally narrowed
/// to one party and/or one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordQuery<'a> {
    pub kind: &'a str,
    /// Only records of this enterprise.
    pub party: Option<&'a str>,
    /// Only records in this status.
    pub status: Option<&'a str>,
    /// Key cursor: only keys strictly after it (the last key of the previous page).
    pub after: Option<&'a str>,
    /// At most this many rows.
    pub limit: usize,
}

impl<'a> RecordQuery<'a> {
    /// Every record of `kind`, first `limit` by key; narrow it with the public fields.
    pub fn new(kind: &'a str, limit: usize) -> Self {
        RecordQuery {
            kind,
            party: None,
            status: None,
            after: None,
            limit,
        }
    }
}

/// A person's portal account (门户账户): an enterprise's staff (subject = the enterprise code), a
/// regulator (`regulator:<department>`) or the administrator (`admin`). Created by the
/// administrator; the password is kept only as an argon2id PHC string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub username: String,
    /// Whom the account acts as, exactly like a credential's subject.
    pub subject: String,
    pub password_hash: String,
    pub created_at_ms: i64,
    /// Set while the account is disabled (its sessions are gone and it cannot log in).
    pub disabled_at_ms: Option<i64>,
}

/// A portal login session. The browser holds the random token; only its SHA-256 is kept. The
/// CSRF token is the per-session synchronizer token every form carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub token_hash: String,
    pub username: String,
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
}

/// Everything one group commit writes, in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The applied position this batch was built on (the position of the [`RestorePoint`] the
    /// writer started from, moved on by its own earlier batches). When set, the commit first
    /// checks the store's applied position in the same transaction and, if it differs, writes
    /// nothing and fails with [`StoreError::Stale`]: a writer whose engine is behind the store
    /// never overwrites newer rows. `None`: unconditional (tests, tools on a store nobody else
    /// writes).
    pub base: Option<i64>,
    /// New journal entries (empty during a rebuild).
    pub append: Vec<JournalRecord>,
    /// The journal position these projections reflect (the last applied seq).
    pub applied: i64,
    pub state: Vec<StateRow>,
    pub declarations: Vec<DeclarationRow>,
    pub quotas: Vec<QuotaRow>,
    pub receipts: Vec<ReceiptRow>,
    pub tax_bills: Vec<TaxBillRow>,
    pub enterprises: Vec<EnterpriseRow>,
    /// Supervision records, upserted by (kind, key).
    pub records: Vec<RecordRow>,
    /// Statistical deltas, ADDED to their cells (see [`StatCell`]).
    pub stats: Vec<StatCell>,
    /// Certificates filed or revoked, applied in order.
    pub certificates: Vec<CertificateChange>,
    /// Journal entries whose body is replaced (the personal data purge redacts bodies; nothing
    /// else ever changes a journal entry). Each seq must exist.
    pub redact: Vec<JournalRecord>,
    /// Audit log entries appended, chained after the last one, in this same transaction (a
    /// regulator action and its audit entry are durable together).
    pub audit: Vec<crate::audit::AuditEntry>,
}

/// Where the store stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Positions {
    /// Highest journal seq written (0 when empty).
    pub journal: i64,
    /// Highest journal seq whose effects are in the projections.
    pub applied: i64,
    /// Highest receipt seq written (0 when none).
    pub receipt: i64,
}

/// What the writer starts (and restarts) from: the engine state and the positions, read in
/// **one snapshot**, so the state is exactly the state at those positions. Read in two, a commit
/// landing between them (the slow last commit of a killed writer) would leave the engine behind
/// the position the writer believes it has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestorePoint {
    pub positions: Positions,
    /// Every engine state row, opened.
    pub state: Vec<StateRow>,
}

/// The storage contract. Blocking: the server calls it from a dedicated writer thread and from
/// `spawn_blocking`. Implementations are internally synchronised (`Send + Sync`).
/// The storage contract: the sum of the narrow traits. Blocking: the server calls it from a
/// dedicated writer thread and from `spawn_blocking`. Implementations are internally
/// synchronised (`Send + Sync`). A caller that holds `Arc<dyn Store>` brings the trait whose
/// methods it calls into scope (`use store::{Clearance, Journal}`); code that needs only one
/// part may take `&dyn Clearance` and so on.
pub trait Store:
    Journal + Clearance + Records + Statistics + Access + Audit + Maintenance + Send + Sync + 'static
{
}

impl<T> Store for T where
    T: Journal
        + Clearance
        + Records
        + Statistics
        + Access
        + Audit
        + Maintenance
        + Send
        + Sync
        + 'static
{
}

// ---- statistics (统计监测) ----

/// The statistics aggregate tables (docs/statistics.md). Each is keyed by day and its
/// dimensions; its measures are additive, so a month is the sum of its day cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatTable {
    /// 清单: released and refused lists, returns.
    Lists,
    /// 商品: the lines of released lists by origin, class and unit.
    Goods,
    /// 通关时效: the clearance-time histogram.
    Clearance,
    /// 退单原因: refused messages by catalogue code.
    Rejections,
}

/// A dimension of the statistics tables. `Day` and `Month` belong to every table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatDim {
    Day,
    Month,
    Direction,
    Mode,
    Country,
    Origin,
    Class,
    Unit,
    Ebc,
    Ebp,
    Payment,
    Logistics,
    Park,
    Bucket,
    MessageType,
    Code,
    Enterprise,
}

impl StatDim {
    pub const ALL: [StatDim; 17] = [
        StatDim::Day,
        StatDim::Month,
        StatDim::Direction,
        StatDim::Mode,
        StatDim::Country,
        StatDim::Origin,
        StatDim::Class,
        StatDim::Unit,
        StatDim::Ebc,
        StatDim::Ebp,
        StatDim::Payment,
        StatDim::Logistics,
        StatDim::Park,
        StatDim::Bucket,
        StatDim::MessageType,
        StatDim::Code,
        StatDim::Enterprise,
    ];

    /// The name in the API and the column name (`day`, `month`, `ebc`, `message_type` …).
    pub fn name(self) -> &'static str {
        match self {
            StatDim::Day => "day",
            StatDim::Month => "month",
            StatDim::Direction => "direction",
            StatDim::Mode => "mode",
            StatDim::Country => "country",
            StatDim::Origin => "origin",
            StatDim::Class => "class",
            StatDim::Unit => "unit",
            StatDim::Ebc => "ebc",
            StatDim::Ebp => "ebp",
            StatDim::Payment => "payment",
            StatDim::Logistics => "logistics",
            StatDim::Park => "park",
            StatDim::Bucket => "bucket",
            StatDim::MessageType => "message_type",
            StatDim::Code => "code",
            StatDim::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Option<StatDim> {
        StatDim::ALL.into_iter().find(|d| d.name() == s.trim())
    }

    /// Day and month are computed from the `day` column, not stored keys.
    pub fn is_time(self) -> bool {
        matches!(self, StatDim::Day | StatDim::Month)
    }
}

impl StatTable {
    pub const ALL: [StatTable; 4] = [
        StatTable::Lists,
        StatTable::Goods,
        StatTable::Clearance,
        StatTable::Rejections,
    ];

    /// `lists`, `goods`, `clearance`, `rejections` (the tables are `stat_<name>`).
    pub fn name(self) -> &'static str {
        match self {
            StatTable::Lists => "lists",
            StatTable::Goods => "goods",
            StatTable::Clearance => "clearance",
            StatTable::Rejections => "rejections",
        }
    }

    pub fn parse(s: &str) -> Option<StatTable> {
        StatTable::ALL.into_iter().find(|t| t.name() == s.trim())
    }

    /// The stored key dimensions after `day`, in column order ([`StatCell::keys`] order).
    pub fn dims(self) -> &'static [StatDim] {
        use StatDim::*;
        match self {
            StatTable::Lists => &[Direction, Mode, Country, Ebc, Ebp, Payment, Logistics, Park],
            StatTable::Goods => &[Direction, Mode, Origin, Class, Unit, Ebc, Park],
            StatTable::Clearance => &[Direction, Mode, Ebc, Park, Bucket],
            StatTable::Rejections => &[MessageType, Code, Enterprise],
        }
    }

    /// Whether `dim` can group or filter this table.
    pub fn has(self, dim: StatDim) -> bool {
        dim.is_time() || self.dims().contains(&dim)
    }

    /// The measure columns, in [`StatCell::values`] order.
    pub fn measures(self) -> &'static [&'static str] {
        match self {
            StatTable::Lists => &[
                "declarations",
                "lines",
                "value_fen",
                "customs_tax_fen",
                "vat_fen",
                "consumption_tax_fen",
                "paid_fen",
                "first_pass",
                "risk_hit",
                "reviewed",
                "inspected",
                "refused",
                "inspection_failed",
                "clearance_ms",
                "returns",
                "returned_value_fen",
                "returned_tax_fen",
            ],
            StatTable::Goods => &[
                "declarations",
                "lines",
                "qty_milli",
                "value_fen",
                "customs_tax_fen",
                "vat_fen",
                "consumption_tax_fen",
                "returned_qty_milli",
                "returned_value_fen",
            ],
            StatTable::Clearance => &["declarations"],
            StatTable::Rejections => &["rejections"],
        }
    }

    /// The measure whose positive sum makes a dimension value count in a distinct count: an
    /// enterprise is active in a month when it has a released list, not a refused one.
    pub fn activity(self) -> &'static str {
        match self {
            StatTable::Lists | StatTable::Clearance => "declarations",
            StatTable::Goods => "lines",
            StatTable::Rejections => "rejections",
        }
    }
}

/// One statistical delta: `values` are ADDED to the cell `(day, keys)` of `table` (created at
/// zero). Several deltas for one cell in a batch add up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatCell {
    pub table: StatTable,
    /// Beijing date as `YYYYMMDD`.
    pub day: i32,
    /// One per [`StatTable::dims`], in that order (`""` for "none", e.g. no park).
    pub keys: Vec<String>,
    /// One per [`StatTable::measures`], in that order.
    pub values: Vec<i64>,
}

/// A statistics query: sum the measures of `table` over the days `from_day..=to_day`
/// (`YYYYMMDD`), grouped by `group_by` (any of the table's dimensions, plus `Day` or `Month`;
/// empty: one total row), keeping only cells whose dimension equals the value of every filter,
/// and counting for each group the distinct values of each `distinct` dimension among cells
/// with activity ([`StatTable::activity`] > 0) — exact, since every such dimension is a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatQuery<'a> {
    pub table: StatTable,
    pub from_day: i32,
    pub to_day: i32,
    pub group_by: &'a [StatDim],
    pub filters: &'a [(StatDim, &'a str)],
    pub distinct: &'a [StatDim],
}

/// One group of a [`StatQuery`]: its keys (`YYYY-MM-DD` for days, `YYYY-MM` for months), the
/// sums of the table's measures, and the distinct counts asked for. Groups come in key order;
/// groups without any cell are not returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatRow {
    pub keys: Vec<String>,
    pub measures: Vec<i64>,
    pub distinct: Vec<i64>,
}

/// The tables whose values are sealed (encrypted at rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SealedTable {
    Journal,
    State,
    Records,
}

impl SealedTable {
    pub const ALL: [SealedTable; 3] = [
        SealedTable::Journal,
        SealedTable::State,
        SealedTable::Records,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SealedTable::Journal => "journal",
            SealedTable::State => "state",
            SealedTable::Records => "records",
        }
    }
}

/// A row's primary key, as a resumable cursor over a sealed table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowKey {
    /// The journal, by seq.
    Seq(i64),
    /// State (namespace, key) or records (kind, key).
    Pair(String, String),
}

/// One step of `rekey`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResealStep {
    /// Rows read in this step.
    pub looked: usize,
    /// Rows that were under another key (or in clear) and are now sealed under the current key.
    pub resealed: usize,
    /// Where the next step starts; `None` when the table is done.
    pub next: Option<RowKey>,
}

/// How many rows of a table are sealed under a key (`key_id: None`: in clear, from before
/// encryption was switched on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUsage {
    pub table: SealedTable,
    pub key_id: Option<String>,
    pub rows: i64,
}

impl fmt::Display for Positions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "journal={} applied={} receipt={}",
            self.journal, self.applied, self.receipt
        )
    }
}

/// An X.509 certificate filed for an enterprise (证书备案): its key may sign the enterprise's
/// messages until the certificate expires or is revoked. Several per enterprise (rotation); the
/// natural key is (enterprise, fingerprint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRow {
    pub enterprise: String,
    /// SHA-256 of the DER, lower-case hex.
    pub fingerprint: String,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// Subject, RFC 4514.
    pub subject: String,
    /// `SM2` or `RSA`.
    pub algorithm: String,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    /// The certificate as filed (DER).
    pub der: Vec<u8>,
    pub filed_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// A change to the filed certificates, as one journal entry makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateChange {
    /// File (or re-file, which lifts a revocation) a certificate: upsert by (enterprise, fingerprint).
    File(CertificateRow),
    /// Revoke a filed certificate at `at_ms` (no change if it is not filed or already revoked).
    Revoke {
        enterprise: String,
        fingerprint: String,
        at_ms: i64,
    },
}
