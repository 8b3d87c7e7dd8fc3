//! 风险防控 — the risk rule engine that runs inline in clearance (rules.md §6.2, R4–R13).
//!
//! The engine calls [`RiskIndex::evaluate`] for every declaration that passed the three-document
//! match and then [`RiskIndex::record`]. Both depend only on the recorded inputs and the config, so
//! replaying the matched declarations in match order rebuilds the same index and the same hits.
//! Personal values arrive and stay as keyed hashes; evidence shows at most 12 hex chars of them.

pub mod config;
pub mod index;
pub mod reference;
mod rules;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

pub use config::{
    DistinctParams, QuantityParams, QuotaParams, RiskConfig, RiskConfigError, RuleChange, RuleId,
    RuleMode, RuleParams, RuleSetting, SequenceParams, SpikeParams, SplittingParams,
    UndervaluationParams, VelocityParams,
};
pub use index::RiskIndex;
pub use reference::{ReferenceError, ReferencePrice, ReferencePrices};

/// What the rules see of one matched declaration. Personal values arrive as keyed hashes (hex),
/// never clear text; an empty key means "unknown" and is never tracked.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskInput {
    /// Declaration id.
    pub declaration: String,
    /// Match time ("now").
    pub at: Timestamp,
    /// Keyed hash of buyer name + ID number.
    pub buyer: String,
    /// Keyed hash of payer name + ID number.
    pub payer: String,
    /// Keyed hash of the buyer's telephone.
    pub phone: String,
    /// Keyed hash of the normalised consignee address.
    pub address: String,
    /// Seller (电商企业).
    pub ebc_code: String,
    /// Platform (电商平台).
    pub ebp_code: String,
    /// When the seller was filed.
    pub ebc_filed_at: Option<Timestamp>,
    /// Dutiable price of this declaration, CNY.
    pub value: Decimal,
    /// 单次交易限值 (settings).
    pub single_limit: Decimal,
    /// 年度交易限值 (settings).
    pub annual_limit: Decimal,
    /// The buyer's used annual quota before this declaration.
    pub quota_used_before: Decimal,
    /// CEB311 appTime.
    pub order_declared_at: Timestamp,
    /// CEB411 payTime.
    pub paid_at: Timestamp,
    /// CEB621 appTime.
    pub inventory_declared_at: Timestamp,
    pub lines: Vec<RiskLine>,
}

/// One goods line of the inventory, as the rules need it.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskLine {
    pub gnum: u32,
    /// 10-digit HS code.
    pub hs: String,
    /// Quantity in the trade unit.
    pub qty: Decimal,
    pub unit: String,
    pub unit_price: Decimal,
    pub total: Decimal,
}

/// One rule that fired, with the evidence that triggered it (no clear personal data; hashed keys
/// shortened to 12 hex chars).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskHit {
    pub rule: RuleId,
    /// The rule's version when it fired.
    pub version: u32,
    /// `On` or `Observe` (an observed hit is an alert that does not change the decision).
    pub mode: RuleMode,
    pub score: u32,
    /// One English sentence.
    pub summary: String,
    pub evidence: Vec<Evidence>,
}

/// One named fact behind a hit, e.g. `("orders_in_window", "4")`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub name: String,
    pub value: String,
}

impl Evidence {
    pub fn new(name: &str, value: impl Into<String>) -> Evidence {
        Evidence {
            name: name.to_owned(),
            value: value.into(),
        }
    }
}
