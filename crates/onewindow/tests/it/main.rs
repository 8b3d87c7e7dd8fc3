//! End-to-end tests of the `onewindow` binary, driven as users drive it. One integration binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod crash;
mod privacy;
mod signing;
mod upgrade;
