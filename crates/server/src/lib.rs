//! The HTTP shell of OneWindow: the API with authentication and roles, the portal, and service
//! start-up. The writer it feeds (intake, signature gate, pipeline, purge) is the `ingest` crate.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
pub mod app;
pub mod auth;
pub mod certificates;
pub mod connections;
pub mod entrustments;
pub mod guard;
pub mod openapi;
pub mod oversight;
pub mod portal;
pub mod problem;
pub mod statistics;
pub mod view;
// Personal data protection and the audit log (docs/security.md).
pub mod audit;
pub mod keys;
pub mod personal;
