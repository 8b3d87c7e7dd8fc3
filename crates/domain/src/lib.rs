//! Pure rules and state machines of OneWindow: the registry of filed enterprises, the tariff, the
//! CBEC composite tax, the personal limits, and the clearance engine (三单对碰, 清单核放).
//!
//! No I/O and no clock: time comes in as an argument ([`time::Timestamp`]), so replay, property
//! tests and partitioning stay possible.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod clearance;
pub mod credit;
pub mod entrustment;
pub mod event;
mod fasthash;
pub mod limits;
pub mod money;
pub mod negative;
pub mod personal;
pub mod quota;
pub mod registry;
pub mod risk;
pub mod settings;
pub mod statistics;
pub mod subject;
pub mod tariff;
pub mod tax;
pub mod time;
pub mod window;
