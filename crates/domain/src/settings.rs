//! Settings: every rule that rules.md tags [U] (or that changed over time, like the limits) is a
//! setting with the documented default, never a constant. docs/settings.md lists each with its source.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// At which level tax amounts are rounded to the fen (rules.md §1.5, [U]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Each tax type of each line rounded HALF_UP, then summed (public calculators do this).
    #[default]
    PerLinePerTaxType,
    /// Each tax type summed unrounded over the inventory, then rounded once.
    PerInventoryPerTaxType,
}

/// A settings document that does not parse or does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The tunable rules of clearance. `#[serde(default)]`, so a settings file names only what it changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// 单次交易限值, CNY (49号: 5000 since 2019-01-01) [C].
    #[serde(with = "rust_decimal::serde::str")]
    pub single_limit: Decimal,
    /// 年度交易限值 per buyer and calendar year, CNY (49号: 26000) [C].
    #[serde(with = "rust_decimal::serde::str")]
    pub annual_limit: Decimal,
    /// Share of statutory VAT and CT collected within the limits (18号: 70 %) [C].
    #[serde(with = "rust_decimal::serde::str")]
    pub preferential_factor: Decimal,
    /// Whether a non-cash discount lowers the dutiable price [U]; default: not deducted.
    pub discount_reduces_dutiable_price: bool,
    /// Freight in the dutiable price (18号 art. 1) [C].
    pub freight_in_dutiable_price: bool,
    /// Insurance (insuredFee) in the dutiable price (18号 art. 1) [C].
    pub insurance_in_dutiable_price: bool,
    /// Days after release within which a return must be applied for, or a list revoked (2020 No.45) [C].
    pub return_window_days: i64,
    /// Days after release within which returned goods must be back at the site (2020 No.45) [C].
    pub return_arrival_days: i64,
    /// First day after release on which the withheld tax is payable (194号 summary) [S].
    pub tax_due_from_day: i64,
    /// Last day after release on which the withheld tax is payable (194号 summary) [S].
    pub tax_due_until_day: i64,
    /// Tolerance for amount equalities between documents (acturalPaid, order ↔ payment) [U]; 0 = exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_tolerance: Decimal,
    /// Rounding level of tax amounts [U].
    pub rounding: Rounding,
    /// High-end watch CT threshold, CNY per watch [U]. It replaces the amount of every tariff
    /// threshold measured per `item` (the built-in tariff uses `item` only for watches).
    #[serde(with = "rust_decimal::serde::str")]
    pub high_end_watch_threshold: Decimal,
    /// High-end cosmetics CT threshold per piece or sheet, CNY (财税〔2016〕103号) [C]: the alternative
    /// test for goods whose tariff threshold is per g/ml when the line declares no net content.
    #[serde(with = "rust_decimal::serde::str")]
    pub high_end_cosmetics_per_piece: Decimal,
    /// Whether the quota counts the dutiable price excluding tax (true) or the amount paid (false) [U].
    pub quota_counts_dutiable_price: bool,
    /// Whether a revocation (CEB623) within the return window restores the quota [U].
    pub revocation_restores_quota: bool,
    /// Whether bonded-only (仅限网购保税商品) goods are refused in direct-purchase (9610) imports [C].
    pub enforce_bonded_only: bool,
    /// The credit scoring model and graded supervision (docs/credit.md).
    pub credit: crate::credit::CreditModel,
    /// Negative-list deadlines and durations (docs/negative-list.md).
    pub listing: crate::negative::ListingSettings,
    /// How risk score and credit class decide (docs/risk-rules.md).
    pub policy: crate::clearance::Policy,
    /// Whether message signatures are enforced at intake (docs/signatures.md).
    pub signatures: SignaturePolicy,
}

/// How intake treats the XML signatures of messages (加签验签). The signature check itself runs
/// in the server before the journal; this is only the switch, journaled with the other settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignaturePolicy {
    /// CEB621/623/625/711 must carry a valid signature by a certificate filed for the sender and
    /// valid when the message arrives; any other declaration that carries one is checked the
    /// same way.
    #[default]
    Required,
    /// A migration period: signatures are checked as under `required`, except for senders who
    /// have no certificate on file yet, whose messages pass unverified.
    #[serde(alias = "verify_if_present")]
    VerifyIfPresent,
    /// Signatures are not checked (the schema still requires the element where it does).
    Off,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            single_limit: Decimal::new(5000, 0),
            annual_limit: Decimal::new(26000, 0),
            preferential_factor: Decimal::new(7, 1),
            discount_reduces_dutiable_price: false,
            freight_in_dutiable_price: true,
            insurance_in_dutiable_price: true,
            return_window_days: 30,
            return_arrival_days: 45,
            tax_due_from_day: 31,
            tax_due_until_day: 45,
            amount_tolerance: Decimal::ZERO,
            rounding: Rounding::PerLinePerTaxType,
            high_end_watch_threshold: Decimal::new(10000, 0),
            high_end_cosmetics_per_piece: Decimal::new(15, 0),
            quota_counts_dutiable_price: true,
            revocation_restores_quota: true,
            enforce_bonded_only: true,
            credit: crate::credit::CreditModel::default(),
            listing: crate::negative::ListingSettings::default(),
            policy: crate::clearance::Policy::default(),
            signatures: SignaturePolicy::default(),
        }
    }
}

impl Settings {
    /// Reads settings from JSON; missing fields keep their defaults.
    /// Parse and check a settings document: unknown values are errors, and the nested models
    /// must be coherent (weights summing to 100, ordered cut-offs …).
    pub fn from_json(text: &str) -> Result<Settings, SettingsError> {
        let s: Settings = serde_json::from_str(text)?;
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        self.credit.validate().map_err(SettingsError::Invalid)?;
        self.listing.validate().map_err(SettingsError::Invalid)?;
        let p = &self.policy;
        if p.review_score == 0 || p.inspect_score < p.review_score {
            return Err(SettingsError::Invalid(
                "policy: review_score must be > 0 and inspect_score >= review_score".into(),
            ));
        }
        if p.escalation_days <= 0 {
            return Err(SettingsError::Invalid(
                "policy: escalation_days must be positive".into(),
            ));
        }
        Ok(())
    }
}
