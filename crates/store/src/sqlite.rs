//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go through one connection behind a mutex (SQLite has one writer anyway), one
//! transaction per [`Batch`], with `synchronous=FULL` so a commit is on disk before `commit`
//! returns. Queries use a small pool of reader connections, which WAL lets read while the writer
//! writes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use crate::audit::{AuditEntry, AuditQuery, AuditRecord};
use crate::digest::Canonical;
use crate::migrations::{self, Migration};
use crate::pool::Pool;
use crate::schema;
use crate::seal::{Context, KeyRing, SealError};
use crate::{
    Batch, CertificateChange, CertificateRow, CredentialRow, DeclarationRow, EnterpriseRow,
    JournalRecord, KeyUsage, Positions, QuotaRow, ReceiptRow, RecordQuery, RecordRow, ResealStep,
    RestorePoint, Result, RowKey, SealedTable, SessionRow, StatQuery, StatRow, StatTable, StateRow,
    Store, StoreError, TaxBillRow, UserRow,
};

/// WAL pages (16 KiB each) after which a commit checkpoints: 128 MiB.
const WAL_CHECKPOINT_PAGES: i64 = 8_192;
/// Reader connections open at most (queries beyond that wait for one to be free).
const MAX_READERS: usize = 8;
/// How long a statement waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const STATEMENT_CACHE: usize = 64;

/// SQL text built once at open (prepared statements are cached per connection by their text).
struct Sql {
    insert_journal: String,
    upsert_state: String,
    upsert_declaration: String,
    upsert_quota: String,
    insert_receipt: String,
    upsert_tax_bill: String,
    upsert_enterprise: String,
    upsert_record: String,
    upsert_credential: String,
    journal_after: String,
    load_state: String,
    declaration: String,
    declarations_all_from: String,
    declarations_all_after: String,
    declarations_party_from: String,
    declarations_party_after: String,
    receipts_after: String,
    receipts_of_recipient_after: String,
    receipts_of: String,
    quota: String,
    tax_bill: String,
    tax_bills_all: String,
    tax_bills_of: String,
    enterprises: String,
    enterprise: String,
    record: String,
    records_pages: [String; 8],
    count_records: String,
    count_records_in_status: String,
    credential_by_hash: String,
    credentials_of: String,
    digest_state: String,
    digest_declarations: String,
    digest_quotas: String,
    digest_receipts: String,
    digest_tax_bills: String,
    digest_enterprises: String,
    digest_records: String,
    /// Per [`StatTable::ALL`]: the additive upsert and the digest order.
    stat_upserts: [String; 4],
    stat_digests: [String; 4],
    state_value: String,
    credential: String,
    insert_audit: String,
    audit_page: String,
}

impl Sql {
    fn new() -> Self {
        use schema::*;
        let sel_decl = select("declarations", DECLARATIONS);
        let sel_rcpt = select("receipts", RECEIPTS);
        let sel_tax = select("tax_bills", TAX_BILLS);
        let sel_ent = select("enterprises", ENTERPRISES);
        let sel_cred = select("credentials", CREDENTIALS);
        let sel_rec = select("records", RECORDS);
        Sql {
            insert_journal: sqlite_insert("journal", JOURNAL),
            upsert_state: sqlite_upsert("state", STATE, &["namespace", "key"]),
            upsert_declaration: sqlite_upsert("declarations", DECLARATIONS, &["id"]),
            upsert_quota: sqlite_upsert("quotas", QUOTAS, &["buyer_key", "year"]),
            insert_receipt: sqlite_insert("receipts", RECEIPTS),
            upsert_tax_bill: sqlite_upsert("tax_bills", TAX_BILLS, &["invt_no"]),
            upsert_enterprise: sqlite_upsert("enterprises", ENTERPRISES, &["code"]),
            upsert_record: sqlite_upsert("records", RECORDS, &["kind", "key"]),
            upsert_credential: sqlite_upsert("credentials", CREDENTIALS, &["key_id"]),
            journal_after: format!(
                "{} WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                select("journal", JOURNAL)
            ),
            load_state: format!("{} ORDER BY namespace, key", select("state", STATE)),
            declaration: format!("{sel_decl} WHERE id = ?1"),
            declarations_all_from: format!("{sel_decl} WHERE id >= ?1 ORDER BY id LIMIT ?2"),
            declarations_all_after: format!("{sel_decl} WHERE id > ?1 ORDER BY id LIMIT ?2"),
            declarations_party_from: declarations_of_party(">=", "?1", "?2", "?3"),
            declarations_party_after: declarations_of_party(">", "?1", "?2", "?3"),
            receipts_after: format!("{sel_rcpt} WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
            receipts_of_recipient_after: format!(
                "{sel_rcpt} WHERE recipient = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            ),
            receipts_of: format!("{sel_rcpt} WHERE declaration_id = ?1 ORDER BY seq"),
            quota: format!(
                "{} WHERE buyer_key = ?1 AND year = ?2",
                select("quotas", QUOTAS)
            ),
            tax_bill: format!("{sel_tax} WHERE invt_no = ?1"),
            tax_bills_all: format!("{sel_tax} ORDER BY invt_no LIMIT ?1"),
            tax_bills_of: tax_bills_of_party("?1", "?2"),
            enterprises: format!("{sel_ent} ORDER BY code"),
            enterprise: format!("{sel_ent} WHERE code = ?1"),
            record: format!("{sel_rec} WHERE kind = ?1 AND key = ?2"),
            records_pages: records_pages('?'),
            count_records: "SELECT COUNT(*) FROM records WHERE kind = ?1".into(),
            count_records_in_status: "SELECT COUNT(*) FROM records WHERE kind = ?1 AND status = ?2"
                .into(),
            credential_by_hash: format!("{sel_cred} WHERE token_hash = ?1"),
            credentials_of: format!("{sel_cred} WHERE subject = ?1 ORDER BY created_at_ms, key_id"),
            digest_state: format!("{} ORDER BY namespace, key", select("state", STATE)),
            digest_declarations: format!("{sel_decl} ORDER BY id"),
            digest_quotas: format!("{} ORDER BY buyer_key, year", select("quotas", QUOTAS)),
            digest_receipts: format!("{sel_rcpt} ORDER BY seq"),
            digest_tax_bills: format!("{sel_tax} ORDER BY invt_no"),
            digest_enterprises: format!("{sel_ent} ORDER BY code"),
            digest_records: format!("{sel_rec} ORDER BY kind, key"),
            stat_upserts: StatTable::ALL
                .map(|t| crate::stats::upsert(t, crate::stats::Dialect::Sqlite)),
            stat_digests: StatTable::ALL.map(crate::stats::digest_sql),
            state_value: "SELECT value FROM state WHERE namespace = ?1 AND key = ?2".into(),
            credential: format!("{sel_cred} WHERE key_id = ?1"),
            insert_audit: sqlite_insert("audit_log", AUDIT),
            audit_page: audit_page('?', "", ""),
        }
    }
}

/// The SQLite store. See the module documentation.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Pool<Connection>,
    sql: Sql,
    keys: Arc<KeyRing>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub fn open(path: &Path, keys: Arc<KeyRing>) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = Connection::open(path)?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        // Journal bodies, receipts and state rows are kilobytes each: with 16 KiB pages most of
        // them fit in the page instead of spilling into overflow chains. Only takes effect when
        // the file is created.
        writer.pragma_update(None, "page_size", 16_384)?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Other(format!(
                "sqlite: could not switch {} to WAL mode (got {mode})",
                path.display()
            )));
        }
        writer.pragma_update(None, "synchronous", "FULL")?;
        // Group commits write megabytes at a time: a larger page cache and fewer, larger
        // checkpoints keep the writer from re-reading and re-copying pages on every commit.
        // Smaller checkpoints measured worse (BENCHMARKS.md, tried and rejected), so the WAL
        // grows to 128 MiB (8,192 pages of 16 KiB) plus one group commit before its first
        // checkpoint: that is the disk headroom the store needs beyond the database file
        // (docs/architecture.md). After a checkpoint the WAL is cut back to that size, so one
        // long reader or one huge batch does not leave it larger for good.
        writer.pragma_update(None, "cache_size", -65_536)?;
        writer.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        writer.pragma_update(None, "journal_size_limit", WAL_CHECKPOINT_PAGES * 16_384)?;
        writer.pragma_update(None, "temp_store", "MEMORY")?;
        writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate(&mut writer, migrations::SQLITE)?;
        let store = SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Pool::new(MAX_READERS, Connection::is_autocommit),
            sql: Sql::new(),
            keys,
        };
        // Fail at open, not at the first query, if readers cannot be opened.
        store.readers.with(|| store.open_reader(), |_| ())?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_reader(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Runs `f` on a pooled reader connection.
    fn read<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        Ok(self.readers.with(|| self.open_reader(), f)??)
    }

    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        Ok(f(&mut conn)?)
    }

    fn query_rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params, map)?;
            rows.collect()
        })
    }

    fn query_opt<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            stmt.query_row(params, map).optional()
        })
    }
}

/// A poisoned lock only means another thread panicked while holding it; SQLite rolled back any
/// transaction it had open, so the connection is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn migrate(conn: &mut Connection, list: &[Migration]) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version       INTEGER PRIMARY KEY,
             name          TEXT    NOT NULL,
             applied_at_ms INTEGER NOT NULL
         )",
    )?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Every version not yet recorded (not only those above the highest): versions are assigned
    // to branches that land in any order.
    let done: Vec<i64> = tx
        .prepare("SELECT version FROM schema_migrations")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for m in list.iter().filter(|m| !done.contains(&m.version)) {
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, now_ms()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The positions, read on `conn` (inside the caller's transaction, if it has one open).
fn positions_in(conn: &Connection) -> rusqlite::Result<Positions> {
    let mut stmt = conn.prepare_cached(
        "SELECT (SELECT COALESCE(MAX(seq), 0) FROM journal),
                COALESCE((SELECT applied FROM store_position WHERE id = 1), 0),
                (SELECT COALESCE(MAX(seq), 0) FROM receipts)",
    )?;
    stmt.query_row([], |r| {
        Ok(Positions {
            journal: r.get(0)?,
            applied: r.get(1)?,
            receipt: r.get(2)?,
        })
    })
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn journal_from(r: &Row<'_>) -> rusqlite::Result<JournalRecord> {
    Ok(JournalRecord {
        seq: r.get(0)?,
        received_at_ms: r.get(1)?,
        sender: r.get(2)?,
        kind: r.get(3)?,
        guid: r.get(4)?,
        body: r.get(5)?,
    })
}

fn state_from(r: &Row<'_>) -> rusqlite::Result<StateRow> {
    Ok(StateRow {
        namespace: r.get(0)?,
        key: r.get(1)?,
        value: Some(r.get(2)?),
    })
}

fn declaration_from(r: &Row<'_>) -> rusqlite::Result<DeclarationRow> {
    Ok(DeclarationRow {
        id: r.get(0)?,
        ebp_code: r.get(1)?,
        ebc_code: r.get(2)?,
        order_no: r.get(3)?,
        agent_code: r.get(4)?,
        logistics_code: r.get(5)?,
        logistics_no: r.get(6)?,
        pay_code: r.get(7)?,
        cop_no: r.get(8)?,
        pre_no: r.get(9)?,
        invt_no: r.get(10)?,
        documents: r.get(11)?,
        status: r.get(12)?,
        status_info: r.get(13)?,
        buyer_key: r.get(14)?,
        value_minor: r.get(15)?,
        tax_minor: r.get(16)?,
        created_at_ms: r.get(17)?,
        updated_at_ms: r.get(18)?,
        released_at_ms: r.get(19)?,
    })
}

fn quota_from(r: &Row<'_>) -> rusqlite::Result<QuotaRow> {
    Ok(QuotaRow {
        buyer_key: r.get(0)?,
        year: r.get(1)?,
        used_minor: r.get(2)?,
    })
}

fn receipt_from(r: &Row<'_>) -> rusqlite::Result<ReceiptRow> {
    Ok(ReceiptRow {
        seq: r.get(0)?,
        recipient: r.get(1)?,
        message_type: r.get(2)?,
        declaration_id: r.get(3)?,
        business_key: r.get(4)?,
        return_status: r.get(5)?,
        created_at_ms: r.get(6)?,
        xml: r.get(7)?,
        json: r.get(8)?,
    })
}

fn tax_bill_from(r: &Row<'_>) -> rusqlite::Result<TaxBillRow> {
    Ok(TaxBillRow {
        invt_no: r.get(0)?,
        tax_no: r.get(1)?,
        declaration_id: r.get(2)?,
        ebc_code: r.get(3)?,
        agent_code: r.get(4)?,
        customs_tax_minor: r.get(5)?,
        vat_minor: r.get(6)?,
        consumption_tax_minor: r.get(7)?,
        status: r.get(8)?,
        levy_state: r.get(9)?,
        released_at_ms: r.get(10)?,
        due_from: r.get(11)?,
        due_until: r.get(12)?,
    })
}

fn enterprise_from(r: &Row<'_>) -> rusqlite::Result<EnterpriseRow> {
    Ok(EnterpriseRow {
        code: r.get(0)?,
        name: r.get(1)?,
        roles: r.get(2)?,
        dxp_id: r.get(3)?,
        filed_at_ms: r.get(4)?,
        active: r.get(5)?,
        park: r.get(6)?,
    })
}

/// A record as stored: the row with its sealed body beside it (opened by `open_record`).
type SealedRecord = (RecordRow, Vec<u8>);

/// Text or blob, as bytes (record bodies written before sealing are TEXT, sealed ones BLOB).
fn bytes_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    match r.get_ref(i)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => Ok(b.to_vec()),
        other => Err(rusqlite::Error::InvalidColumnType(
            i,
            "body".into(),
            other.data_type(),
        )),
    }
}

fn record_from(r: &Row<'_>) -> rusqlite::Result<SealedRecord> {
    Ok((
        RecordRow {
            kind: r.get(0)?,
            key: r.get(1)?,
            party: r.get(2)?,
            status: r.get(3)?,
            updated_at_ms: r.get(4)?,
            body: String::new(),
        },
        bytes_at(r, 5)?,
    ))
}

fn audit_from(r: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: r.get(0)?,
        entry: AuditEntry {
            at_ms: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            outcome: r.get(5)?,
            source: r.get(6)?,
            detail: r.get(7)?,
        },
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

/// Appends audit entries after the chain head, inside the caller's transaction.
fn append_audit_tx(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    entries: &[AuditEntry],
) -> rusqlite::Result<Vec<AuditRecord>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let head: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, hash) = head.unwrap_or((0, crate::audit::GENESIS.to_owned()));
    let records = crate::audit::link(seq, &hash, entries);
    let mut stmt = tx.prepare_cached(sql)?;
    for a in &records {
        stmt.execute(params![
            a.seq,
            a.entry.at_ms,
            a.entry.actor,
            a.entry.action,
            a.entry.target,
            a.entry.outcome,
            a.entry.source,
            a.entry.detail,
            a.prev_hash,
            a.hash
        ])?;
    }
    Ok(records)
}

fn credential_from(r: &Row<'_>) -> rusqlite::Result<CredentialRow> {
    Ok(CredentialRow {
        key_id: r.get(0)?,
        subject: r.get(1)?,
        token_hash: r.get(2)?,
        created_at_ms: r.get(3)?,
        revoked_at_ms: r.get(4)?,
        expires_at_ms: r.get(5)?,
    })
}

/// Every value of `batch` that is stored sealed, sealed (in the batch's order).
pub(crate) struct Sealed {
    pub append: Vec<Vec<u8>>,
    pub redact: Vec<Vec<u8>>,
    pub state: Vec<Option<Vec<u8>>>,
    pub records: Vec<Vec<u8>>,
}

impl Sealed {
    pub(crate) fn of(keys: &KeyRing, batch: &Batch) -> std::result::Result<Sealed, SealError> {
        let journal = |j: &JournalRecord| keys.seal(&j.body, Context::Journal(j.seq));
        Ok(Sealed {
            append: batch
                .append
                .iter()
                .map(journal)
                .collect::<std::result::Result<_, _>>()?,
            redact: batch
                .redact
                .iter()
                .map(journal)
                .collect::<std::result::Result<_, _>>()?,
            state: batch
                .state
                .iter()
                .map(|s| {
                    s.value
                        .as_ref()
                        .map(|v| keys.seal(v, Context::State(&s.namespace, &s.key)))
                        .transpose()
                })
                .collect::<std::result::Result<_, _>>()?,
            records: batch
                .records
                .iter()
                .map(|r| keys.seal(r.body.as_bytes(), Context::Record(&r.kind, &r.key)))
                .collect::<std::result::Result<_, _>>()?,
        })
    }
}

/// Opens a state row's value in place.
pub(crate) fn open_state(keys: &KeyRing, r: &mut StateRow) -> std::result::Result<(), SealError> {
    if let Some(v) = &r.value {
        let plain = keys
            .open(v, Context::State(&r.namespace, &r.key))?
            .into_owned();
        r.value = Some(plain);
    }
    Ok(())
}

fn open_record(keys: &KeyRing, (mut row, sealed): SealedRecord) -> Result<RecordRow> {
    row.body = keys.open_text(&sealed, Context::Record(&row.kind, &row.key))?;
    Ok(row)
}

/// The sealed column of a table, and its name for messages.
pub(crate) fn sealed_columns(table: SealedTable) -> (&'static str, &'static str) {
    match table {
        SealedTable::Journal => ("body", "body"),
        SealedTable::State => ("value", "value"),
        SealedTable::Records => ("body", "body"),
    }
}

/// The two key columns of state and records.
pub(crate) fn pair_columns(table: SealedTable) -> (&'static str, &'static str) {
    match table {
        SealedTable::Records => ("kind", "key"),
        _ => ("namespace", "key"),
    }
}

/// The row a cursor names, as the context its value is sealed for.
pub(crate) fn context_of(table: SealedTable, key: &RowKey) -> Context<'_> {
    match (table, key) {
        (_, RowKey::Seq(seq)) => Context::Journal(*seq),
        (SealedTable::Records, RowKey::Pair(a, b)) => Context::Record(a, b),
        (_, RowKey::Pair(a, b)) => Context::State(a, b),
    }
}

/// Feeds every row of `sql` to the digest, streaming.
fn digest_table<T>(
    conn: &Connection,
    sql: &str,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
    mut feed: impl FnMut(&T),
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], map)?;
    for row in rows {
        feed(&row?);
    }
    Ok(())
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn positions(&self) -> Result<Positions> {
        self.read(|conn| positions_in(conn))
    }

    fn restore_point(&self) -> Result<RestorePoint> {
        let sql = &self.sql;
        let (positions, mut state) = self.read(|conn| {
            // One read transaction: WAL gives it one snapshot, taken at its first read.
            let tx = conn.transaction()?;
            let positions = positions_in(&tx)?;
            let state = {
                let mut stmt = tx.prepare_cached(&sql.load_state)?;
                let rows = stmt.query_map([], state_from)?;
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
        let sql = &self.sql;
        let stats = crate::stats::merge(&batch.stats)?;
        // Seal before taking the writer: the lock is held only for the writes.
        let sealed = Sealed::of(&self.keys, batch)?;
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(built_on) = batch.base {
                // The write lock is held: this is the latest committed position.
                let applied: i64 = tx
                    .prepare_cached(
                        "SELECT COALESCE((SELECT applied FROM store_position WHERE id = 1), 0)",
                    )?
                    .query_row([], |r| r.get(0))?;
                if applied != built_on {
                    return Ok(Err(StoreError::Stale { built_on, applied }));
                }
            }
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
                let mut stmt = tx.prepare_cached("UPDATE journal SET body = ?2 WHERE seq = ?1")?;
                for (j, body) in batch.redact.iter().zip(&sealed.redact) {
                    if stmt.execute(params![j.seq, body])? != 1 {
                        return Err(rusqlite::Error::QueryReturnedNoRows);
                    }
                }
            }
            if !batch.state.is_empty() {
                let mut upsert = tx.prepare_cached(&sql.upsert_state)?;
                let mut delete =
                    tx.prepare_cached("DELETE FROM state WHERE namespace = ?1 AND key = ?2")?;
                for (s, value) in batch.state.iter().zip(&sealed.state) {
                    match value {
                        Some(v) => upsert.execute(params![s.namespace, s.key, v])?,
                        None => delete.execute(params![s.namespace, s.key])?,
                    };
                }
            }
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
            for (table, cells) in &stats {
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
            write_certificates(&tx, &batch.certificates)?;
            append_audit_tx(&tx, &sql.insert_audit, &batch.audit)?;
            tx.prepare_cached("UPDATE store_position SET applied = ?1 WHERE id = 1")?
                .execute([batch.applied])?;
            tx.commit().map(Ok)
        })?
    }

    fn journal_after(&self, after: i64, limit_n: usize) -> Result<Vec<JournalRecord>> {
        let mut rows = self.query_rows(
            &self.sql.journal_after,
            params![after, limit(limit_n)],
            journal_from,
        )?;
        for j in &mut rows {
            j.body = self
                .keys
                .open(&j.body, Context::Journal(j.seq))?
                .into_owned();
        }
        Ok(rows)
    }

    fn load_state(&self) -> Result<Vec<StateRow>> {
        let mut rows = self.query_rows(&self.sql.load_state, [], state_from)?;
        for r in &mut rows {
            open_state(&self.keys, r)?;
        }
        Ok(rows)
    }

    fn reset_projections(&self) -> Result<()> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for table in schema::PROJECTION_TABLES {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
            tx.execute("UPDATE store_position SET applied = 0 WHERE id = 1", [])?;
            tx.commit()
        })
    }

    fn declaration(&self, id: &str) -> Result<Option<DeclarationRow>> {
        self.query_opt(&self.sql.declaration, [id], declaration_from)
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
            (None, None) => {
                self.query_rows(&sql.declarations_all_from, params!["", n], declaration_from)
            }
            (None, Some(a)) => {
                self.query_rows(&sql.declarations_all_after, params![a, n], declaration_from)
            }
            (Some(p), None) => self.query_rows(
                &sql.declarations_party_from,
                params![p, "", n],
                declaration_from,
            ),
            (Some(p), Some(a)) => self.query_rows(
                &sql.declarations_party_after,
                params![p, a, n],
                declaration_from,
            ),
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
            None => self.query_rows(&self.sql.receipts_after, params![after, n], receipt_from),
            Some(r) => self.query_rows(
                &self.sql.receipts_of_recipient_after,
                params![r, after, n],
                receipt_from,
            ),
        }
    }

    fn receipts_of(&self, declaration_id: &str) -> Result<Vec<ReceiptRow>> {
        self.query_rows(&self.sql.receipts_of, [declaration_id], receipt_from)
    }

    fn quota(&self, buyer_key: &str, year: i32) -> Result<Option<QuotaRow>> {
        self.query_opt(&self.sql.quota, params![buyer_key, year], quota_from)
    }

    fn tax_bill(&self, invt_no: &str) -> Result<Option<TaxBillRow>> {
        self.query_opt(&self.sql.tax_bill, [invt_no], tax_bill_from)
    }

    fn tax_bills(&self, party: Option<&str>, limit_n: usize) -> Result<Vec<TaxBillRow>> {
        let n = limit(limit_n);
        match party {
            None => self.query_rows(&self.sql.tax_bills_all, [n], tax_bill_from),
            Some(p) => self.query_rows(&self.sql.tax_bills_of, params![p, n], tax_bill_from),
        }
    }

    fn enterprises(&self) -> Result<Vec<EnterpriseRow>> {
        self.query_rows(&self.sql.enterprises, [], enterprise_from)
    }

    fn enterprise(&self, code: &str) -> Result<Option<EnterpriseRow>> {
        self.query_opt(&self.sql.enterprise, [code], enterprise_from)
    }

    fn record(&self, kind: &str, key: &str) -> Result<Option<RecordRow>> {
        self.query_opt(&self.sql.record, params![kind, key], record_from)?
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
        self.query_rows(&self.sql.records_pages[i], &bound[..], record_from)?
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

    fn put_credential(&self, c: &CredentialRow) -> Result<()> {
        let sql = &self.sql.upsert_credential;
        self.write(|conn| {
            conn.prepare_cached(sql)?.execute(params![
                c.key_id,
                c.subject,
                c.token_hash,
                c.created_at_ms,
                c.revoked_at_ms,
                c.expires_at_ms
            ])?;
            Ok(())
        })
    }

    fn credential_by_hash(&self, token_hash: &str) -> Result<Option<CredentialRow>> {
        self.query_opt(&self.sql.credential_by_hash, [token_hash], credential_from)
    }

    fn credentials_of(&self, subject: &str) -> Result<Vec<CredentialRow>> {
        self.query_rows(&self.sql.credentials_of, [subject], credential_from)
    }

    fn revoke_credential(&self, key_id: &str, at_ms: i64) -> Result<bool> {
        self.write(|conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE credentials SET revoked_at_ms = ?2 \
                     WHERE key_id = ?1 AND revoked_at_ms IS NULL",
                )?
                .execute(params![key_id, at_ms])?;
            Ok(n > 0)
        })
    }

    fn projection_digest(&self) -> Result<String> {
        let sql = &self.sql;
        self.read(|conn| {
            // One read transaction: every table from the same snapshot.
            let tx = conn.transaction()?;
            let mut c = Canonical::new();
            let applied: i64 = tx.query_row(
                "SELECT COALESCE((SELECT applied FROM store_position WHERE id = 1), 0)",
                [],
                |r| r.get(0),
            )?;
            c.applied(applied);
            let mut failure: Option<SealError> = None;
            c.table("state");
            digest_table(&tx, &sql.digest_state, state_from, |r| {
                let mut r = r.clone();
                match open_state(&self.keys, &mut r) {
                    Ok(()) => c.state(&r),
                    Err(e) => failure = Some(e),
                }
            })?;
            c.table("declarations");
            digest_table(&tx, &sql.digest_declarations, declaration_from, |r| {
                c.declaration(r)
            })?;
            c.table("quotas");
            digest_table(&tx, &sql.digest_quotas, quota_from, |r| c.quota(r))?;
            c.table("receipts");
            digest_table(&tx, &sql.digest_receipts, receipt_from, |r| c.receipt(r))?;
            c.table("tax_bills");
            digest_table(&tx, &sql.digest_tax_bills, tax_bill_from, |r| c.tax_bill(r))?;
            c.table("enterprises");
            digest_table(&tx, &sql.digest_enterprises, enterprise_from, |r| {
                c.enterprise(r)
            })?;
            c.table("records");
            digest_table(
                &tx,
                &sql.digest_records,
                record_from,
                |r| match open_record(&self.keys, r.clone()) {
                    Ok(r) => c.record(&r),
                    Err(StoreError::Sealed(e)) => failure = Some(e),
                    Err(_) => {}
                },
            )?;
            for (t, digest_sql) in StatTable::ALL.iter().zip(&sql.stat_digests) {
                c.table(&crate::stats::table_name(*t));
                let keys = t.dims().len();
                let mut stmt = tx.prepare_cached(digest_sql)?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    let day: i64 = row.get(0)?;
                    let k = (1..=keys)
                        .map(|i| row.get::<_, String>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    let v = (keys + 1..keys + 1 + t.measures().len())
                        .map(|i| row.get::<_, i64>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    c.stat(day, &k, &v);
                }
            }
            c.table("certificates");
            let certificates = format!(
                "{} ORDER BY enterprise, fingerprint",
                schema::select("certificates", schema::CERTIFICATES)
            );
            digest_table(&tx, &certificates, certificate_from, |r| c.certificate(r))?;
            tx.commit()?;
            Ok(match failure {
                Some(e) => Err(e),
                None => Ok(c.finish()),
            })
        })?
        .map_err(StoreError::from)
    }

    fn state_value(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let value: Option<Vec<u8>> =
            self.query_opt(&self.sql.state_value, params![namespace, key], |r| r.get(0))?;
        value
            .map(|v| {
                Ok(self
                    .keys
                    .open(&v, Context::State(namespace, key))?
                    .into_owned())
            })
            .transpose()
    }

    fn credential(&self, key_id: &str) -> Result<Option<CredentialRow>> {
        self.query_opt(&self.sql.credential, [key_id], credential_from)
    }

    fn append_audit(&self, entries: &[AuditEntry]) -> Result<Vec<AuditRecord>> {
        let sql = &self.sql.insert_audit;
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let records = append_audit_tx(&tx, sql, entries)?;
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
            audit_from,
        )
    }

    fn key_usage(&self) -> Result<Vec<KeyUsage>> {
        let mut counts: std::collections::BTreeMap<(SealedTable, Option<String>), i64> =
            std::collections::BTreeMap::new();
        for table in SealedTable::ALL {
            let (col, _) = sealed_columns(table);
            self.read(|conn| {
                // Only the header names the key: read the first bytes of each value.
                let mut stmt = conn.prepare(&format!(
                    "SELECT substr({col}, 1, 48) FROM {}",
                    table.name()
                ))?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    let head = bytes_at(row, 0)?;
                    let id = crate::seal::key_id_of(&head).map(str::to_owned);
                    *counts.entry((table, id)).or_default() += 1;
                }
                Ok(())
            })?;
        }
        Ok(counts
            .into_iter()
            .map(|((table, key_id), rows)| KeyUsage {
                table,
                key_id,
                rows,
            })
            .collect())
    }

    fn vacuum(&self) -> Result<()> {
        self.write(|conn| {
            conn.execute_batch(
                "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
            )
        })
    }

    fn reseal(
        &self,
        table: SealedTable,
        after: Option<&RowKey>,
        limit_n: usize,
    ) -> Result<ResealStep> {
        let keys = self.keys.clone();
        let n = limit(limit_n.max(1));
        let (col, _) = sealed_columns(table);
        let name = table.name();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut step = ResealStep::default();
            let mut rewrite: Vec<(RowKey, Vec<u8>)> = Vec::new();
            {
                let mut rows_out: Vec<(RowKey, Vec<u8>)> = Vec::new();
                match (table, after) {
                    (SealedTable::Journal, after) => {
                        let from = match after {
                            Some(RowKey::Seq(s)) => *s,
                            _ => 0,
                        };
                        let mut stmt = tx.prepare_cached(
                            "SELECT seq, body FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                        )?;
                        let mut rows = stmt.query(params![from, n])?;
                        while let Some(r) = rows.next()? {
                            rows_out.push((RowKey::Seq(r.get(0)?), bytes_at(r, 1)?));
                        }
                    }
                    (_, after) => {
                        let (a, b) = match after {
                            Some(RowKey::Pair(a, b)) => (a.clone(), b.clone()),
                            _ => (String::new(), String::new()),
                        };
                        let (k1, k2) = pair_columns(table);
                        let mut stmt = tx.prepare_cached(&format!(
                            "SELECT {k1}, {k2}, {col} FROM {name} WHERE ({k1}, {k2}) > (?1, ?2) \
                             ORDER BY {k1}, {k2} LIMIT ?3"
                        ))?;
                        let mut rows = stmt.query(params![a, b, n])?;
                        while let Some(r) = rows.next()? {
                            rows_out.push((RowKey::Pair(r.get(0)?, r.get(1)?), bytes_at(r, 2)?));
                        }
                    }
                }
                step.looked = rows_out.len();
                step.next = if rows_out.len() < usize::try_from(n).unwrap_or(usize::MAX) {
                    None
                } else {
                    rows_out.last().map(|(k, _)| k.clone())
                };
                for (k, v) in rows_out {
                    if !keys.is_current(&v) {
                        rewrite.push((k, v));
                    }
                }
            }
            let mut resealed = Vec::with_capacity(rewrite.len());
            for (k, v) in &rewrite {
                let ctx = context_of(table, k);
                let fresh = keys
                    .open(v, ctx)
                    .and_then(|plain| keys.seal(&plain, ctx))
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                resealed.push(fresh);
            }
            for ((k, _), fresh) in rewrite.iter().zip(&resealed) {
                match k {
                    RowKey::Seq(seq) => {
                        tx.prepare_cached("UPDATE journal SET body = ?2 WHERE seq = ?1")?
                            .execute(params![seq, fresh])?;
                    }
                    RowKey::Pair(a, b) => {
                        let (k1, k2) = pair_columns(table);
                        tx.prepare_cached(&format!(
                            "UPDATE {name} SET {col} = ?3 WHERE {k1} = ?1 AND {k2} = ?2"
                        ))?
                        .execute(params![a, b, fresh])?;
                    }
                }
            }
            step.resealed = rewrite.len();
            tx.commit()?;
            Ok(step)
        })
    }

    fn certificates(&self, enterprise: Option<&str>) -> Result<Vec<CertificateRow>> {
        let select = schema::select("certificates", schema::CERTIFICATES);
        match enterprise {
            Some(e) => self.query_rows(
                &format!("{select} WHERE enterprise = ?1 ORDER BY filed_at_ms, fingerprint"),
                [e],
                certificate_from,
            ),
            None => self.query_rows(
                &format!("{select} ORDER BY enterprise, filed_at_ms, fingerprint"),
                [],
                certificate_from,
            ),
        }
    }

    fn stat_query(&self, q: &StatQuery<'_>) -> Result<Vec<StatRow>> {
        use crate::stats::{Dialect, attach_distinct, distinct_sql, sums_sql, time_key};
        let sums = sums_sql(q, Dialect::Sqlite)?;
        let distinct = q
            .distinct
            .iter()
            .map(|d| distinct_sql(q, *d, Dialect::Sqlite))
            .collect::<Result<Vec<_>>>()?;
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&q.from_day, &q.to_day];
        bound.extend(q.filters.iter().map(|(_, v)| v as &dyn rusqlite::ToSql));
        let groups = q.group_by;
        let keys_of = |row: &Row<'_>| -> rusqlite::Result<Vec<String>> {
            groups
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    if d.is_time() {
                        Ok(time_key(*d, row.get::<_, i64>(i)?))
                    } else {
                        row.get::<_, String>(i)
                    }
                })
                .collect()
        };
        let n = q.table.measures().len();
        self.read(|conn| {
            let tx = conn.transaction()?;
            let mut rows = Vec::new();
            {
                let mut stmt = tx.prepare_cached(&sums)?;
                let mut cursor = stmt.query(&bound[..])?;
                while let Some(row) = cursor.next()? {
                    let measures = (groups.len()..groups.len() + n)
                        .map(|i| row.get::<_, i64>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    rows.push(StatRow {
                        keys: keys_of(row)?,
                        measures,
                        distinct: Vec::new(),
                    });
                }
            }
            let mut counts = Vec::new();
            for sql in &distinct {
                let mut stmt = tx.prepare_cached(sql)?;
                let mut cursor = stmt.query(&bound[..])?;
                let mut map = std::collections::BTreeMap::new();
                while let Some(row) = cursor.next()? {
                    map.insert(keys_of(row)?, row.get::<_, i64>(groups.len())?);
                }
                counts.push(map);
            }
            tx.commit()?;
            attach_distinct(&mut rows, counts);
            Ok(rows)
        })
    }
    fn declaration_status_counts(&self) -> Result<Vec<(i32, i64)>> {
        self.query_rows(
            "SELECT status, COUNT(*) FROM declarations GROUP BY status ORDER BY status",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn put_user(&self, u: &UserRow) -> Result<()> {
        let sql = schema::sqlite_upsert("portal_users", schema::USERS, &["username"]);
        self.write(|conn| {
            conn.prepare_cached(&sql)?.execute(params![
                u.username,
                u.subject,
                u.password_hash,
                u.created_at_ms,
                u.disabled_at_ms
            ])?;
            Ok(())
        })
    }

    fn user(&self, username: &str) -> Result<Option<UserRow>> {
        let sql = format!(
            "{} WHERE username = ?1",
            schema::select("portal_users", schema::USERS)
        );
        self.query_opt(&sql, [username], user_from)
    }

    fn users(&self) -> Result<Vec<UserRow>> {
        let sql = format!(
            "{} ORDER BY username",
            schema::select("portal_users", schema::USERS)
        );
        self.query_rows(&sql, [], user_from)
    }

    fn set_user_disabled(&self, username: &str, disabled_at_ms: Option<i64>) -> Result<bool> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached("UPDATE portal_users SET disabled_at_ms = ?2 WHERE username = ?1")?
                .execute(params![username, disabled_at_ms])?;
            if disabled_at_ms.is_some() {
                tx.prepare_cached("DELETE FROM portal_sessions WHERE username = ?1")?
                    .execute([username])?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached("UPDATE portal_users SET password_hash = ?2 WHERE username = ?1")?
                .execute(params![username, password_hash])?;
            tx.prepare_cached("DELETE FROM portal_sessions WHERE username = ?1")?
                .execute([username])?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn put_session(&self, s: &SessionRow) -> Result<()> {
        let sql = schema::sqlite_insert("portal_sessions", schema::SESSIONS);
        self.write(|conn| {
            conn.prepare_cached(&sql)?.execute(params![
                s.token_hash,
                s.username,
                s.csrf_token,
                s.created_at_ms,
                s.last_seen_ms
            ])?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        let sql = format!(
            "{} WHERE token_hash = ?1",
            schema::select("portal_sessions", schema::SESSIONS)
        );
        self.query_opt(&sql, [token_hash], session_from)
    }

    fn touch_session(&self, token_hash: &str, last_seen_ms: i64) -> Result<()> {
        self.write(|conn| {
            conn.prepare_cached(
                "UPDATE portal_sessions SET last_seen_ms = MAX(last_seen_ms, ?2) \
                 WHERE token_hash = ?1",
            )?
            .execute(params![token_hash, last_seen_ms])?;
            Ok(())
        })
    }

    fn delete_session(&self, token_hash: &str) -> Result<bool> {
        self.write(|conn| {
            let n = conn
                .prepare_cached("DELETE FROM portal_sessions WHERE token_hash = ?1")?
                .execute([token_hash])?;
            Ok(n > 0)
        })
    }

    fn delete_sessions_of(&self, username: &str) -> Result<usize> {
        self.write(|conn| {
            conn.prepare_cached("DELETE FROM portal_sessions WHERE username = ?1")?
                .execute([username])
        })
    }

    fn delete_expired_sessions(
        &self,
        idle_before_ms: i64,
        created_before_ms: i64,
    ) -> Result<usize> {
        self.write(|conn| {
            conn.prepare_cached(
                "DELETE FROM portal_sessions WHERE last_seen_ms < ?1 OR created_at_ms < ?2",
            )?
            .execute(params![idle_before_ms, created_before_ms])
        })
    }
}

fn user_from(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        username: r.get(0)?,
        subject: r.get(1)?,
        password_hash: r.get(2)?,
        created_at_ms: r.get(3)?,
        disabled_at_ms: r.get(4)?,
    })
}

fn session_from(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        token_hash: r.get(0)?,
        username: r.get(1)?,
        csrf_token: r.get(2)?,
        created_at_ms: r.get(3)?,
        last_seen_ms: r.get(4)?,
    })
}

fn certificate_from(r: &Row<'_>) -> rusqlite::Result<CertificateRow> {
    Ok(CertificateRow {
        enterprise: r.get(0)?,
        fingerprint: r.get(1)?,
        serial: r.get(2)?,
        subject: r.get(3)?,
        algorithm: r.get(4)?,
        not_before_ms: r.get(5)?,
        not_after_ms: r.get(6)?,
        der: r.get(7)?,
        filed_at_ms: r.get(8)?,
        revoked_at_ms: r.get(9)?,
    })
}

/// Certificate filings and revocations, in journal order (rare: one statement each).
fn write_certificates(
    tx: &rusqlite::Transaction<'_>,
    changes: &[CertificateChange],
) -> rusqlite::Result<()> {
    for change in changes {
        match change {
            CertificateChange::File(c) => {
                tx.prepare_cached(&schema::sqlite_upsert(
                    "certificates",
                    schema::CERTIFICATES,
                    schema::CERTIFICATE_KEY,
                ))?
                .execute(params![
                    c.enterprise,
                    c.fingerprint,
                    c.serial,
                    c.subject,
                    c.algorithm,
                    c.not_before_ms,
                    c.not_after_ms,
                    c.der,
                    c.filed_at_ms,
                    c.revoked_at_ms
                ])?;
            }
            CertificateChange::Revoke {
                enterprise,
                fingerprint,
                at_ms,
            } => {
                tx.prepare_cached(
                    "UPDATE certificates SET revoked_at_ms = ?3 \
                     WHERE enterprise = ?1 AND fingerprint = ?2 AND revoked_at_ms IS NULL",
                )?
                .execute(params![enterprise, fingerprint, at_ms])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory from before the supervision records gains their table at the next start
    /// and keeps its journal.
    #[test]
    fn a_store_from_before_records_is_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let path = dir.path().join("old.db");
        {
            let mut old = Connection::open(&path).unwrap_or_else(|e| unreachable!("{e}"));
            migrate(&mut old, &migrations::SQLITE[..1]).unwrap_or_else(|e| unreachable!("{e}"));
            old.execute(
                "INSERT INTO journal VALUES (1, 0, 'admin', 'FILING', 'g', x'00')",
                [],
            )
            .unwrap_or_else(|e| unreachable!("{e}"));
        }
        let keys = std::sync::Arc::new(
            KeyRing::parse(&format!("t {}", "11".repeat(32)))
                .unwrap_or_else(|e| unreachable!("{e}")),
        );
        let store = SqliteStore::open(&path, keys).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(store.positions().map(|p| p.journal).ok(), Some(1));
        let row = RecordRow {
            kind: "listing".into(),
            key: "L1".into(),
            party: Some("3301960ENT".into()),
            status: "active".into(),
            updated_at_ms: 1,
            body: "{}".into(),
        };
        store
            .commit(&Batch {
                applied: 1,
                records: vec![row.clone()],
                ..Batch::default()
            })
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(store.record("listing", "L1").ok(), Some(Some(row)));
    }
}
