//! Rule settings: every threshold and window of the risk rules is a setting with a documented
//! default (rules.md §6.2 tags them [U]), and every accepted change bumps the rule's version, so a
//! hit can always be traced to the exact rule text that produced it.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;
/// Longest window any rule may use [U]: bounds the memory of the index.
const MAX_WINDOW_DAYS: u32 = 366;
/// Highest score one hit may add [U]: the default policy inspects from 60, so 100 already means
/// "always inspect"; more would only hide typos.
const MAX_SCORE: u32 = 100;

/// 风险规则 — one rule of the risk model (rules.md §6.2). Serialised as its code (`"R5-BUYER"`);
/// the declaration order is the order hits are reported in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    /// 化整为零 — order splitting.
    R4,
    R5Buyer,
    R5Payer,
    R5Phone,
    R5Address,
    /// 一址多证 — one address, many IDs.
    R6Address,
    /// 一证多址 — one ID, many addresses.
    R6Id,
    R7,
    R8,
    R9,
    R11,
    R13,
}

impl RuleId {
    /// Every rule, in report order.
    pub const ALL: [RuleId; 12] = [
        RuleId::R4,
        RuleId::R5Buyer,
        RuleId::R5Payer,
        RuleId::R5Phone,
        RuleId::R5Address,
        RuleId::R6Address,
        RuleId::R6Id,
        RuleId::R7,
        RuleId::R8,
        RuleId::R9,
        RuleId::R11,
        RuleId::R13,
    ];

    /// The stable code regulators see and the API takes.
    pub fn code(self) -> &'static str {
        match self {
            RuleId::R4 => "R4",
            RuleId::R5Buyer => "R5-BUYER",
            RuleId::R5Payer => "R5-PAYER",
            RuleId::R5Phone => "R5-PHONE",
            RuleId::R5Address => "R5-ADDRESS",
            RuleId::R6Address => "R6-ADDRESS",
            RuleId::R6Id => "R6-ID",
            RuleId::R7 => "R7",
            RuleId::R8 => "R8",
            RuleId::R9 => "R9",
            RuleId::R11 => "R11",
            RuleId::R13 => "R13",
        }
    }

    /// Inverse of [`RuleId::code`] (exact, case-sensitive).
    pub fn parse(code: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn title(self) -> &'static str {
        match self {
            RuleId::R4 => "Order splitting",
            RuleId::R5Buyer => "Velocity of one buyer",
            RuleId::R5Payer => "Velocity of one payer",
            RuleId::R5Phone => "Velocity of one phone number",
            RuleId::R5Address => "Velocity of one address",
            RuleId::R6Address => "One address, many IDs",
            RuleId::R6Id => "One ID, many addresses",
            RuleId::R7 => "Undervaluation against reference prices",
            RuleId::R8 => "Impossible sequence of payment and declarations",
            RuleId::R9 => "Sudden volume spike of a new enterprise",
            RuleId::R11 => "Quantities beyond personal use",
            RuleId::R13 => "Fast quota exhaustion",
        }
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            RuleId::R4 => "化整为零",
            RuleId::R5Buyer => "同一订购人短时高频",
            RuleId::R5Payer => "同一支付人短时高频",
            RuleId::R5Phone => "同一电话短时高频",
            RuleId::R5Address => "同一地址短时高频",
            RuleId::R6Address => "一址多证",
            RuleId::R6Id => "一证多址",
            RuleId::R7 => "低报价格",
            RuleId::R8 => "支付时序异常",
            RuleId::R9 => "新企业单量突增",
            RuleId::R11 => "超出合理自用数量",
            RuleId::R13 => "额度快速耗尽",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RuleId::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown risk rule {s:?}")))
    }
}

/// Whether a rule runs, and whether its hits count. `Observe` lets a regulator try a new threshold
/// on live traffic: hits become alerts but do not change the clearance decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleMode {
    Off,
    Observe,
    #[default]
    On,
}

/// R4: several declarations by one buyer or to one address, each under the single limit, that
/// together exceed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplittingParams {
    pub window_hours: u32,
    /// Declarations in the window, this one included.
    pub min_declarations: u32,
}

/// R5-*: how many declarations of one key in a short window are too many.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VelocityParams {
    pub window_hours: u32,
    /// Declarations in the window, this one included.
    pub min_declarations: u32,
}

/// R6-*: how many distinct buyers at one address (or addresses of one buyer) are too many.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistinctParams {
    pub window_days: u32,
    /// Distinct counterparts in the window, this declaration's included.
    pub min_distinct: u32,
}

/// R7: a unit price below this share of the reference price is undervalued.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UndervaluationParams {
    /// 1..=100.
    pub below_percent_of_reference: u32,
}

/// R8: tolerances of the payment time against the other documents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceParams {
    /// A payment this long after the inventory was declared cannot have preceded it.
    pub paid_after_inventory_minutes: u32,
    /// A payment time this far after the match is in the future.
    pub paid_after_match_minutes: u32,
    /// A payment this long before the order was declared belongs to another purchase.
    pub paid_before_order_days: u32,
}

/// R9: volume spikes of recently filed sellers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeParams {
    /// A seller filed fewer days than this before the match is "new".
    pub new_enterprise_days: u32,
    pub window_hours: u32,
    /// The spike floor: fewer declarations in the window never fire.
    pub min_declarations: u32,
    /// The window must also reach this multiple of the baseline daily average.
    pub spike_factor: u32,
    /// Days before the window whose average daily count is the baseline.
    pub baseline_days: u32,
}

/// R11: quantities no person uses alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantityParams {
    /// A line with more trade units than this fires.
    pub max_line_qty: Decimal,
    pub window_days: u32,
    /// One buyer's trade units of one 6-digit HS heading in the window, this declaration included.
    pub max_qty_per_hs6: Decimal,
}

/// R13: buyers racing through the annual quota.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaParams {
    /// Used quota after this declaration, as a percentage of the annual limit.
    pub used_percent_of_annual: u32,
    pub window_days: u32,
    /// The buyer's value in the window, as a percentage of the annual limit.
    pub window_percent_of_annual: u32,
}

/// The typed parameters of one rule; serialised as the plain parameter object.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RuleParams {
    Splitting(SplittingParams),
    Velocity(VelocityParams),
    Distinct(DistinctParams),
    Undervaluation(UndervaluationParams),
    Sequence(SequenceParams),
    Spike(SpikeParams),
    Quantity(QuantityParams),
    Quota(QuotaParams),
}

impl RuleParams {
    /// The documented default of a rule (all [U]).
    pub fn default_for(rule: RuleId) -> RuleParams {
        let velocity = |n| {
            RuleParams::Velocity(VelocityParams {
                window_hours: 24,
                min_declarations: n,
            })
        };
        let distinct = || {
            RuleParams::Distinct(DistinctParams {
                window_days: 30,
                min_distinct: 4,
            })
        };
        match rule {
            RuleId::R4 => RuleParams::Splitting(SplittingParams {
                window_hours: 24,
                min_declarations: 3,
            }),
            RuleId::R5Buyer | RuleId::R5Payer | RuleId::R5Phone => velocity(6),
            RuleId::R5Address => velocity(8),
            RuleId::R6Address | RuleId::R6Id => distinct(),
            RuleId::R7 => RuleParams::Undervaluation(UndervaluationParams {
                below_percent_of_reference: 50,
            }),
            RuleId::R8 => RuleParams::Sequence(SequenceParams {
                paid_after_inventory_minutes: 10,
                paid_after_match_minutes: 10,
                paid_before_order_days: 30,
            }),
            RuleId::R9 => RuleParams::Spike(SpikeParams {
                new_enterprise_days: 90,
                window_hours: 24,
                min_declarations: 200,
                spike_factor: 5,
                baseline_days: 7,
            }),
            RuleId::R11 => RuleParams::Quantity(QuantityParams {
                max_line_qty: Decimal::new(20, 0),
                window_days: 30,
                max_qty_per_hs6: Decimal::new(40, 0),
            }),
            RuleId::R13 => RuleParams::Quota(QuotaParams {
                used_percent_of_annual: 90,
                window_days: 30,
                window_percent_of_annual: 50,
            }),
        }
    }

    /// Parses a full parameter object for `rule` and checks it.
    fn from_json(rule: RuleId, value: Value) -> Result<RuleParams, RiskConfigError> {
        let params = RuleParams::typed(rule, value)?;
        params.check(rule)?;
        Ok(params)
    }

    /// Parses a full parameter object for `rule`, types only.
    fn typed(rule: RuleId, value: Value) -> Result<RuleParams, RiskConfigError> {
        fn typed<T: serde::de::DeserializeOwned>(
            rule: RuleId,
            v: Value,
        ) -> Result<T, RiskConfigError> {
            serde_json::from_value(v).map_err(|e| RiskConfigError::Invalid {
                rule,
                reason: e.to_string(),
            })
        }
        let params = match RuleParams::default_for(rule) {
            RuleParams::Splitting(_) => RuleParams::Splitting(typed(rule, value)?),
            RuleParams::Velocity(_) => RuleParams::Velocity(typed(rule, value)?),
            RuleParams::Distinct(_) => RuleParams::Distinct(typed(rule, value)?),
            RuleParams::Undervaluation(_) => RuleParams::Undervaluation(typed(rule, value)?),
            RuleParams::Sequence(_) => RuleParams::Sequence(typed(rule, value)?),
            RuleParams::Spike(_) => RuleParams::Spike(typed(rule, value)?),
            RuleParams::Quantity(_) => RuleParams::Quantity(typed(rule, value)?),
            RuleParams::Quota(_) => RuleParams::Quota(typed(rule, value)?),
        };
        Ok(params)
    }

    /// Refuses values no regulator can mean: zero windows, thresholds that fire on every
    /// declaration or never, percentages outside 1..=100.
    fn check(&self, rule: RuleId) -> Result<(), RiskConfigError> {
        let bad = |reason: String| Err(RiskConfigError::Invalid { rule, reason });
        let hours = |name: &str, h: u32| {
            if h == 0 || h > MAX_WINDOW_DAYS * 24 {
                bad(format!(
                    "{name} must be between 1 and {} hours, not {h}",
                    MAX_WINDOW_DAYS * 24
                ))
            } else {
                Ok(())
            }
        };
        let days = |name: &str, d: u32| {
            if d == 0 || d > MAX_WINDOW_DAYS {
                bad(format!(
                    "{name} must be between 1 and {MAX_WINDOW_DAYS} days, not {d}"
                ))
            } else {
                Ok(())
            }
        };
        let at_least = |name: &str, v: u32, min: u32| {
            if v < min {
                bad(format!("{name} must be at least {min}, not {v}"))
            } else {
                Ok(())
            }
        };
        let percent = |name: &str, p: u32| {
            if p == 0 || p > 100 {
                bad(format!(
                    "{name} must be a percentage from 1 to 100, not {p}"
                ))
            } else {
                Ok(())
            }
        };
        let positive = |name: &str, q: Decimal| {
            if q <= Decimal::ZERO {
                bad(format!("{name} must be greater than zero, not {q}"))
            } else {
                Ok(())
            }
        };
        match self {
            RuleParams::Splitting(p) => {
                hours("window_hours", p.window_hours)?;
                at_least("min_declarations", p.min_declarations, 2)
            }
            RuleParams::Velocity(p) => {
                hours("window_hours", p.window_hours)?;
                at_least("min_declarations", p.min_declarations, 2)
            }
            RuleParams::Distinct(p) => {
                days("window_days", p.window_days)?;
                at_least("min_distinct", p.min_distinct, 2)
            }
            RuleParams::Undervaluation(p) => {
                percent("below_percent_of_reference", p.below_percent_of_reference)
            }
            RuleParams::Sequence(p) => {
                // Zero tolerances are meaningful here (strict order), only the size is bounded.
                if p.paid_after_inventory_minutes > MAX_WINDOW_DAYS * 24 * 60
                    || p.paid_after_match_minutes > MAX_WINDOW_DAYS * 24 * 60
                {
                    return bad(format!(
                        "tolerances must be at most {} minutes",
                        MAX_WINDOW_DAYS * 24 * 60
                    ));
                }
                if p.paid_before_order_days > MAX_WINDOW_DAYS {
                    return bad(format!(
                        "paid_before_order_days must be at most {MAX_WINDOW_DAYS}"
                    ));
                }
                Ok(())
            }
            RuleParams::Spike(p) => {
                days("new_enterprise_days", p.new_enterprise_days)?;
                hours("window_hours", p.window_hours)?;
                days("baseline_days", p.baseline_days)?;
                at_least("min_declarations", p.min_declarations, 1)?;
                at_least("spike_factor", p.spike_factor, 1)
            }
            RuleParams::Quantity(p) => {
                positive("max_line_qty", p.max_line_qty)?;
                days("window_days", p.window_days)?;
                positive("max_qty_per_hs6", p.max_qty_per_hs6)
            }
            RuleParams::Quota(p) => {
                percent("used_percent_of_annual", p.used_percent_of_annual)?;
                days("window_days", p.window_days)?;
                percent("window_percent_of_annual", p.window_percent_of_annual)
            }
        }
    }

    /// The longest history this rule looks at, in ms.
    fn window_ms(&self) -> i64 {
        let h = |v: u32| i64::from(v) * MS_PER_HOUR;
        let d = |v: u32| i64::from(v) * MS_PER_DAY;
        match self {
            RuleParams::Splitting(p) => h(p.window_hours),
            RuleParams::Velocity(p) => h(p.window_hours),
            RuleParams::Distinct(p) => d(p.window_days),
            RuleParams::Undervaluation(_) | RuleParams::Sequence(_) => 0,
            RuleParams::Spike(p) => h(p.window_hours) + d(p.baseline_days),
            RuleParams::Quantity(p) => d(p.window_days),
            RuleParams::Quota(p) => d(p.window_days),
        }
    }

    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// One rule's switch, version, weight and parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleSetting {
    pub mode: RuleMode,
    /// Starts at 1; +1 on every accepted change, and recorded in each hit.
    pub version: u32,
    /// Points a hit adds to the declaration's risk score.
    pub score: u32,
    pub params: RuleParams,
}

impl RuleSetting {
    fn default_for(rule: RuleId) -> RuleSetting {
        let score = match rule {
            RuleId::R4 | RuleId::R6Address | RuleId::R7 => 40,
            RuleId::R5Buyer
            | RuleId::R5Payer
            | RuleId::R5Phone
            | RuleId::R5Address
            | RuleId::R13 => 20,
            RuleId::R6Id | RuleId::R9 | RuleId::R11 => 30,
            RuleId::R8 => 50,
        };
        RuleSetting {
            mode: RuleMode::On,
            version: 1,
            score,
            params: RuleParams::default_for(rule),
        }
    }
}

/// A regulator's edit of one rule: only the named parts change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleChange {
    pub mode: Option<RuleMode>,
    pub score: Option<u32>,
    /// A JSON object naming some of the rule's parameters.
    pub params: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskConfigError {
    #[error("risk rule {rule}: {reason}")]
    Invalid { rule: RuleId, reason: String },
    #[error("unknown risk rule {0:?}")]
    UnknownRule(String),
}

/// 风险规则配置 — the settings of every risk rule. Serialised as a map from rule code to
/// `{mode, version, score, params}`; a stored config names only the rules it changes, the others
/// keep their defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskConfig {
    rules: [RuleSetting; 12],
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            rules: RuleId::ALL.map(RuleSetting::default_for),
        }
    }
}

impl RiskConfig {
    pub fn rule(&self, rule: RuleId) -> &RuleSetting {
        &self.rules[rule.index()]
    }

    /// Applies a change atomically: either all of it is accepted (and the version bumped) or none.
    pub fn change(&mut self, rule: RuleId, change: &RuleChange) -> Result<(), RiskConfigError> {
        let invalid = |reason: &str| RiskConfigError::Invalid {
            rule,
            reason: reason.to_owned(),
        };
        if change.mode.is_none() && change.score.is_none() && change.params.is_none() {
            return Err(invalid("the change names nothing to change"));
        }
        let current = self.rule(rule);
        let mut next = current.clone();
        if let Some(mode) = change.mode {
            next.mode = mode;
        }
        if let Some(score) = change.score {
            if score > MAX_SCORE {
                return Err(invalid(&format!(
                    "score must be at most {MAX_SCORE}, not {score}"
                )));
            }
            next.score = score;
        }
        if let Some(params) = &change.params {
            let Value::Object(edits) = params else {
                return Err(invalid("params must be a JSON object"));
            };
            let Value::Object(mut merged) = current.params.to_json() else {
                return Err(invalid("the current parameters are not an object"));
            };
            for (key, value) in edits {
                if !merged.contains_key(key) {
                    let known: Vec<&str> = merged.keys().map(String::as_str).collect();
                    return Err(invalid(&format!(
                        "unknown parameter {key:?} (known: {})",
                        known.join(", ")
                    )));
                }
                merged.insert(key.clone(), value.clone());
                // Type each edit on its own, so a refusal names the parameter at fault.
                if let Err(RiskConfigError::Invalid { reason, .. }) =
                    RuleParams::typed(rule, Value::Object(merged.clone()))
                {
                    return Err(invalid(&format!("parameter {key:?}: {reason}")));
                }
            }
            next.params = RuleParams::from_json(rule, Value::Object(merged))?;
        }
        next.version = current.version.saturating_add(1);
        self.rules[rule.index()] = next;
        Ok(())
    }

    /// How far back the index must remember: the longest window of any rule, whatever its mode,
    /// so switching a rule on later finds its history.
    pub fn max_window_ms(&self) -> i64 {
        self.rules
            .iter()
            .map(|r| r.params.window_ms())
            .max()
            .unwrap_or(0)
    }

    /// `{rule, title, title_zh, mode, version, score, params}` for the API.
    pub fn settings_json(&self, rule: RuleId) -> Value {
        let s = self.rule(rule);
        serde_json::json!({
            "rule": rule.code(),
            "title": rule.title(),
            "title_zh": rule.title_zh(),
            "mode": s.mode,
            "version": s.version,
            "score": s.score,
            "params": s.params.to_json(),
        })
    }
}

/// The stored form of one rule's setting; missing parts take the default.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<RuleMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    score: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    params: Option<Value>,
}

impl Serialize for RiskConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<RuleId, StoredSetting> = RuleId::ALL
            .into_iter()
            .map(|id| {
                let r = self.rule(id);
                let stored = StoredSetting {
                    mode: Some(r.mode),
                    version: Some(r.version),
                    score: Some(r.score),
                    params: Some(r.params.to_json()),
                };
                (id, stored)
            })
            .collect();
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RiskConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let stored = BTreeMap::<String, StoredSetting>::deserialize(d)?;
        RiskConfig::from_stored(stored).map_err(serde::de::Error::custom)
    }
}

impl RiskConfig {
    fn from_stored(stored: BTreeMap<String, StoredSetting>) -> Result<RiskConfig, RiskConfigError> {
        let mut cfg = RiskConfig::default();
        for (code, s) in stored {
            let rule = RuleId::parse(&code).ok_or(RiskConfigError::UnknownRule(code))?;
            let slot = &mut cfg.rules[rule.index()];
            if let Some(mode) = s.mode {
                slot.mode = mode;
            }
            if let Some(version) = s.version {
                slot.version = version;
            }
            if let Some(score) = s.score {
                if score > MAX_SCORE {
                    return Err(RiskConfigError::Invalid {
                        rule,
                        reason: format!("score must be at most {MAX_SCORE}, not {score}"),
                    });
                }
                slot.score = score;
            }
            if let Some(params) = s.params {
                // A stored object may name only some parameters: merge over the defaults.
                let Value::Object(edits) = params else {
                    return Err(RiskConfigError::Invalid {
                        rule,
                        reason: "params must be a JSON object".to_owned(),
                    });
                };
                let mut merged = match slot.params.to_json() {
                    Value::Object(m) => m,
                    _ => serde_json::Map::new(),
                };
                merged.extend(edits);
                slot.params = RuleParams::from_json(rule, Value::Object(merged))?;
            }
        }
        Ok(cfg)
    }
}
