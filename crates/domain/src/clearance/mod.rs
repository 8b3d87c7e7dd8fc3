//! 通关 — the clearance engine: declaration documents in, receipts out (三单对碰, limits, tax,
//! decision, release, cancellation, return).

pub mod catalogue;
mod checks;
pub mod engine;
pub mod model;
pub mod receipt;

pub use catalogue::{ErrorCode, Rejection};
pub use engine::{
    Changes, Command, Decider, Decision, DecisionContext, Engine, ReleaseAll, RestoreError,
};
pub use model::*;
pub use receipt::*;
