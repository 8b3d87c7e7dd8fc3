//! The imperative shell of OneWindow: the ingest pipeline (group-committed journal, the engine on
//! one writer thread), the HTTP API with authentication and roles, and service start-up.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
pub mod app;
pub mod auth;
pub mod certificates;
pub mod connections;
pub mod entrustments;
pub mod guard;
pub mod intake;
pub mod mapping;
pub mod openapi;
pub mod outlet;
pub mod oversight;
pub mod pipeline;
pub mod portal;
pub mod problem;
pub mod signatures;
pub mod statistics;
pub mod view;
// Personal data protection and the audit log (docs/security.md).
pub mod audit;
pub mod keys;
pub mod personal;
pub mod purge;
