//! The store conformance suite: every behaviour is written once and run against SQLite (a fresh
//! temporary file) and PostgreSQL (a fresh schema in the shared `test` database).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backends;
mod certificates;
mod conformance;
mod fixtures;
mod portal;
mod records;
mod sealing;
mod sqlite_only;
mod statistics;
mod throughput;
mod writer;
