//! The durable journal and the query projections of OneWindow.
//!
//! One contract ([`Store`]), two backends: SQLite (the embedded default, a file under the data
//! directory) and PostgreSQL (chosen by a `postgres://` URL). The backend is chosen once at
//! start-up by [`open`].
//!
//! The write path is a single writer: the ingest pipeline assigns journal and receipt sequence
//! numbers itself (it is the only writer) and hands one [`Batch`] per group commit to
//! [`Store::commit`], which writes the journal entries, every projection row and the applied
//! position in **one transaction** and makes it durable before returning. A crash therefore never
//! leaves projections ahead of or behind the journal.
//!
//! Money is stored as `i64` minor units (fen) so that sums are exact in both engines.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod contract;
pub use contract::*;
