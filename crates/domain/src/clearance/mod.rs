//! 通关 — the clearance engine: declaration documents in, receipts out (三单对碰, limits, tax,
//! decision, release, cancellation, return), with credit and risk inside the decision.

pub mod catalogue;
mod checks;
pub mod engine;
pub mod model;
pub mod receipt;

pub use catalogue::{ErrorCode, Rejection};
pub use engine::ownership::{RULES_CURRENT, RULES_LEGACY, entrustment_json, parse_step};
pub use engine::supervision::{
    Action, Actor, Advice, Alert, AlertLevel, AlertState, Disposal, InspectionTask, Outcome,
    Policy, RecallHit, RecallRecord, RecordChange, Refused, RefusedKind, RuleStats, Step,
    SubjectRef, TaskState,
};
pub use engine::{
    Changes, Command, Decider, Decision, DecisionContext, Engine, PersonalData, PurgeReport,
    ReleaseAll, RestoreError, Supervised, declaration_personal_data,
};
pub use model::*;
pub use receipt::*;
