//! The journal and its one writer: the group commit that writes a batch and every projection in
//! one transaction, the restore point the writer starts from, and the writer lock.

use crate::{Batch, JournalRecord, Positions, RestorePoint, Result, StateRow};

/// The journal and the write path. Blocking, like every store trait: call it from a dedicated
/// thread or `spawn_blocking`.
pub trait Journal {
    /// Which backend, for logs and benchmarks: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    fn positions(&self) -> Result<Positions>;

    /// Write the batch atomically and durably (fsync / synchronous commit) before returning.
    /// Rows are upserts by their natural key (state: namespace+key, declaration: id,
    /// quota: buyer_key+year, tax bill: invt_no, enterprise: code, record: kind+key); receipts
    /// and journal entries are inserts (a duplicate seq is an error).
    fn commit(&self, batch: &Batch) -> Result<()>;

    /// Journal entries with seq > `after`, in order, at most `limit`.
    fn journal_after(&self, after: i64, limit: usize) -> Result<Vec<JournalRecord>>;

    /// All engine state rows (for inspection; the writer restores from [`Journal::restore_point`]).
    fn load_state(&self) -> Result<Vec<StateRow>>;

    /// The engine state and the positions in one snapshot (one read transaction), to restore
    /// the engine at start-up and after a failed commit.
    fn restore_point(&self) -> Result<RestorePoint>;

    /// Become the one writer of this store, for as long as this store value lives; idempotent.
    /// PostgreSQL: a session advisory lock keyed by the schema, on a connection of its own; a
    /// second writer waits a few seconds for it (a killed predecessor's session to end), then
    /// fails with [`crate::StoreError::WriterLocked`]. While the lock's connection is lost, every
    /// commit first takes the lock again, or fails. SQLite: nothing to do here, the data
    /// directory lock of the commands that write (`DATA/onewindow.lock`) is the writer lock.
    fn claim_writer(&self) -> Result<()>;

    /// One engine state value, opened (the clear view of a declaration's personal data).
    fn state_value(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>>;
}
