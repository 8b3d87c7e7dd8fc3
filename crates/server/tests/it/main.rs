//! End-to-end tests of the service: the real HTTP server on 127.0.0.1:0, a real store, generated
//! CEB traffic. One integration binary for the crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod browser_support;
mod support;

mod api;
mod concurrency;
mod durability;
mod faults;
mod guard;
mod isolation;
mod masking;
mod outage;
mod oversight;
mod portal;
mod privacy;
mod roles;
mod signatures;
mod statistics;
