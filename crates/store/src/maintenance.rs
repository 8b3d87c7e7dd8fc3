//! Administration of a store: rebuild (reset and digest), re-keying of sealed values, vacuum.

use crate::{KeyUsage, ResealStep, Result, RowKey, SealedTable};

/// What the administration commands (`rebuild`, `rekey`, `purge`) need beyond the journal.
pub trait Maintenance {
    /// Delete every projection and state row and set applied = 0, keeping the journal and the
    /// credentials. Used by `onewindow rebuild` before replaying.
    fn reset_projections(&self) -> Result<()>;

    /// A digest (hex SHA-256) over every projection and state row in a canonical order, journal
    /// and credentials excluded: two stores that applied the same journal have the same digest.
    /// Computed over the opened (clear) values, so it does not depend on keys or nonces.
    fn projection_digest(&self) -> Result<String>;

    /// How many rows of each sealed table each key seals (a full scan: an administrative call).
    fn key_usage(&self) -> Result<Vec<KeyUsage>>;

    /// Re-seal under the current key at most `limit` rows of `table` after `after` that another
    /// key (or none) sealed, in one transaction that holds the rows it rewrites, so it is safe
    /// while the server writes.
    fn reseal(
        &self,
        table: SealedTable,
        after: Option<&RowKey>,
        limit: usize,
    ) -> Result<ResealStep>;

    /// Give back the space of rewritten rows, so the old (sealed) values of purged or re-keyed
    /// rows do not linger in free pages: SQLite checkpoints its WAL and vacuums; PostgreSQL
    /// vacuums the sealed tables.
    fn vacuum(&self) -> Result<()>;
}
