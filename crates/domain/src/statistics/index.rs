//! 跨境电子商务指数 — the CBEC index: three sub-indices (goods trade; logistics and clearance;
//! payment and finance), each from scale, growth and quality indicators, normalised against a
//! base period (= 100) and weighted by settings. docs/index-methodology.md is the methodology;
//! this module is its only implementation, pure and exact (decimal arithmetic, rounded once at
//! the end), so the same monthly figures always give the same index.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::facts::Month;

/// The monthly figures the index is computed from, all from the statistics tables (sums of day
/// cells and exact distinct counts). Money in fen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonthFigures {
    pub month: Option<Month>,
    /// Released lists.
    pub declarations: i64,
    /// Dutiable value of the released lists.
    pub value_fen: i64,
    /// Tax of the released lists (customs duty + VAT + consumption tax).
    pub tax_fen: i64,
    /// What the buyers paid for the released lists.
    pub paid_fen: i64,
    /// E-commerce enterprises with at least one released list.
    pub enterprises: i64,
    /// Distinct countries of origin of released goods.
    pub countries: i64,
    /// Distinct simplified goods classes of released goods.
    pub classes: i64,
    /// Logistics firms with at least one released list.
    pub logistics_firms: i64,
    /// Payment institutions with at least one released list.
    pub payment_institutions: i64,
    /// Released with no document ever refused.
    pub first_pass: i64,
    /// Released although an On-mode risk alert was raised.
    pub risk_hit: i64,
    /// Refused after the documents matched.
    pub refused: i64,
    /// Released within one hour of matching.
    pub timely: i64,
}

/// The sub-indices, in publication order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubIndex {
    /// 商品交易
    Goods,
    /// 物流通关
    Logistics,
    /// 金融支付
    Payment,
}

impl SubIndex {
    pub const ALL: [SubIndex; 3] = [SubIndex::Goods, SubIndex::Logistics, SubIndex::Payment];

    pub fn code(self) -> &'static str {
        match self {
            SubIndex::Goods => "goods",
            SubIndex::Logistics => "logistics",
            SubIndex::Payment => "payment",
        }
    }
}

/// What kind of indicator: it says how it is read, not how it is normalised (all are ratios to
/// the base period, see [`Indicator::value`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Scale,
    Growth,
    Quality,
}

/// One indicator of the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// G1 trade value: dutiable value of released lists.
    TradeValue,
    /// G2 active e-commerce enterprises.
    ActiveEnterprises,
    /// G3 growth factor of trade value over the previous month.
    ValueGrowth,
    /// G4 breadth of origin countries.
    OriginBreadth,
    /// G5 breadth of goods classes.
    ClassBreadth,
    /// L1 parcels: released lists.
    Parcels,
    /// L2 active logistics firms.
    LogisticsFirms,
    /// L3 growth factor of parcels.
    ParcelGrowth,
    /// L4 first-pass rate: first-pass releases / releases.
    FirstPassRate,
    /// L5 timeliness: releases within one hour / releases.
    Timeliness,
    /// P1 amount paid.
    AmountPaid,
    /// P2 active payment institutions.
    PaymentInstitutions,
    /// P3 tax revenue.
    TaxRevenue,
    /// P4 growth factor of the amount paid.
    PaidGrowth,
    /// P5 compliance rate: (releases − releases with a risk alert) / (releases + refusals after
    /// the match).
    ComplianceRate,
}

impl Indicator {
    pub const ALL: [Indicator; 15] = [
        Indicator::TradeValue,
        Indicator::ActiveEnterprises,
        Indicator::ValueGrowth,
        Indicator::OriginBreadth,
        Indicator::ClassBreadth,
        Indicator::Parcels,
        Indicator::LogisticsFirms,
        Indicator::ParcelGrowth,
        Indicator::FirstPassRate,
        Indicator::Timeliness,
        Indicator::AmountPaid,
        Indicator::PaymentInstitutions,
        Indicator::TaxRevenue,
        Indicator::PaidGrowth,
        Indicator::ComplianceRate,
    ];

    /// The short code used in documents and CSV headers (`G1` …).
    pub fn code(self) -> &'static str {
        match self {
            Indicator::TradeValue => "G1",
            Indicator::ActiveEnterprises => "G2",
            Indicator::ValueGrowth => "G3",
            Indicator::OriginBreadth => "G4",
            Indicator::ClassBreadth => "G5",
            Indicator::Parcels => "L1",
            Indicator::LogisticsFirms => "L2",
            Indicator::ParcelGrowth => "L3",
            Indicator::FirstPassRate => "L4",
            Indicator::Timeliness => "L5",
            Indicator::AmountPaid => "P1",
            Indicator::PaymentInstitutions => "P2",
            Indicator::TaxRevenue => "P3",
            Indicator::PaidGrowth => "P4",
            Indicator::ComplianceRate => "P5",
        }
    }

    pub fn sub_index(self) -> SubIndex {
        match self.code().as_bytes().first() {
            Some(b'G') => SubIndex::Goods,
            Some(b'L') => SubIndex::Logistics,
            _ => SubIndex::Payment,
        }
    }

    pub fn kind(self) -> Kind {
        use Indicator::*;
        match self {
            TradeValue | ActiveEnterprises | Parcels | LogisticsFirms | AmountPaid
            | PaymentInstitutions | TaxRevenue => Kind::Scale,
            ValueGrowth | ParcelGrowth | PaidGrowth => Kind::Growth,
            OriginBreadth | ClassBreadth | FirstPassRate | Timeliness | ComplianceRate => {
                Kind::Quality
            }
        }
    }

    fn ratio(n: i64, d: i64) -> Option<Decimal> {
        (d > 0 && n >= 0).then(|| Decimal::from(n) / Decimal::from(d))
    }

    fn level(x: i64) -> Option<Decimal> {
        (x >= 0).then(|| Decimal::from(x))
    }

    /// The raw value in a month, or `None` where it is undefined (a growth factor without a
    /// previous month with activity, a rate without releases). Levels are in their own units
    /// (fen, counts), rates and growth factors are plain ratios.
    pub fn value(self, now: &MonthFigures, previous: Option<&MonthFigures>) -> Option<Decimal> {
        use Indicator::*;
        let growth = |f: fn(&MonthFigures) -> i64| previous.and_then(|p| Self::ratio(f(now), f(p)));
        match self {
            TradeValue => Self::level(now.value_fen),
            ActiveEnterprises => Self::level(now.enterprises),
            ValueGrowth => growth(|f| f.value_fen),
            OriginBreadth => Self::level(now.countries),
            ClassBreadth => Self::level(now.classes),
            Parcels => Self::level(now.declarations),
            LogisticsFirms => Self::level(now.logistics_firms),
            ParcelGrowth => growth(|f| f.declarations),
            FirstPassRate => Self::ratio(now.first_pass, now.declarations),
            Timeliness => Self::ratio(now.timely, now.declarations),
            AmountPaid => Self::level(now.paid_fen),
            PaymentInstitutions => Self::level(now.payment_institutions),
            TaxRevenue => Self::level(now.tax_fen),
            PaidGrowth => growth(|f| f.paid_fen),
            ComplianceRate => Self::ratio(
                now.declarations - now.risk_hit,
                now.declarations + now.refused,
            ),
        }
    }
}

/// 指数设置 — the weights and the base period. Journaled (the zone office changes them), so a
/// rebuild computes the same index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexSettings {
    /// First month of the base period; `None`: the first month with released lists.
    pub base_from: Option<Month>,
    /// Last month of the base period; `None`: the same as `base_from`.
    pub base_to: Option<Month>,
    /// Weight of each sub-index in the composite (any non-negative integers; the composite
    /// divides by their sum).
    pub sub_index_weights: BTreeMap<SubIndex, u32>,
    /// Weight of each indicator inside its sub-index.
    pub indicator_weights: BTreeMap<Indicator, u32>,
    /// Published statistics tables show a cell only when at least this many e-commerce
    /// enterprises contribute to it (statistical confidentiality).
    pub disclosure_threshold: u32,
}

impl Default for IndexSettings {
    fn default() -> Self {
        use Indicator::*;
        IndexSettings {
            base_from: None,
            base_to: None,
            sub_index_weights: BTreeMap::from([
                (SubIndex::Goods, 40),
                (SubIndex::Logistics, 30),
                (SubIndex::Payment, 30),
            ]),
            indicator_weights: BTreeMap::from([
                (TradeValue, 35),
                (ActiveEnterprises, 20),
                (ValueGrowth, 20),
                (OriginBreadth, 15),
                (ClassBreadth, 10),
                (Parcels, 30),
                (LogisticsFirms, 10),
                (ParcelGrowth, 20),
                (FirstPassRate, 20),
                (Timeliness, 20),
                (AmountPaid, 30),
                (PaymentInstitutions, 10),
                (TaxRevenue, 15),
                (PaidGrowth, 20),
                (ComplianceRate, 25),
            ]),
            disclosure_threshold: 3,
        }
    }
}

impl IndexSettings {
    /// Every sub-index and indicator needs a weight, each sub-index at least one positive one;
    /// the base period must be in order.
    pub fn validate(&self) -> Result<(), String> {
        for s in SubIndex::ALL {
            if !self.sub_index_weights.contains_key(&s) {
                return Err(format!("sub_index_weights: {} has no weight", s.code()));
            }
            let inside: u32 = Indicator::ALL
                .iter()
                .filter(|i| i.sub_index() == s)
                .map(|i| self.indicator_weights.get(i).copied().unwrap_or(0))
                .sum();
            if inside == 0 {
                return Err(format!(
                    "indicator_weights: the {} indicators need a positive weight",
                    s.code()
                ));
            }
        }
        for i in Indicator::ALL {
            if !self.indicator_weights.contains_key(&i) {
                return Err(format!("indicator_weights: {} has no weight", i.code()));
            }
        }
        if self.sub_index_weights.values().sum::<u32>() == 0 {
            return Err("sub_index_weights: at least one must be positive".into());
        }
        if let (Some(from), Some(to)) = (self.base_from, self.base_to)
            && to < from
        {
            return Err("base_to is before base_from".into());
        }
        if self.base_to.is_some() && self.base_from.is_none() {
            return Err("base_to needs base_from".into());
        }
        Ok(())
    }

    /// The base months, given the first month with data.
    pub fn base_period(&self, first_with_data: Option<Month>) -> Option<(Month, Month)> {
        let from = self.base_from.or(first_with_data)?;
        Some((from, self.base_to.unwrap_or(from)))
    }
}

/// One indicator in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorValue {
    pub indicator: Indicator,
    pub code: String,
    pub kind: Kind,
    /// The raw value (fen, count or ratio), `None` where undefined.
    pub raw: Option<Decimal>,
    /// The base-period mean of the raw value.
    pub base: Option<Decimal>,
    /// 100 × raw / base, to 2 decimals; `None` where undefined (its weight then goes to the
    /// other indicators of its sub-index).
    pub index: Option<Decimal>,
    pub weight: u32,
}

/// One sub-index in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubIndexValue {
    pub sub_index: SubIndex,
    pub value: Option<Decimal>,
    pub weight: u32,
    pub indicators: Vec<IndicatorValue>,
}

/// The index of one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthIndex {
    pub month: Month,
    pub base_from: Month,
    pub base_to: Month,
    /// The composite, to 2 decimals; `None` when no sub-index is defined.
    pub composite: Option<Decimal>,
    pub sub_indices: Vec<SubIndexValue>,
}

/// Why the index could not be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("no month has released declarations yet: there is no base period")]
    NoData,
    #[error("no figures for month {0}")]
    MissingMonth(Month),
    #[error("invalid index settings: {0}")]
    Settings(String),
}

/// Rounded HALF_UP to 2 decimals and always written with two (`100.00`, `114.81`).
fn two_dp(d: Decimal) -> Decimal {
    let mut v = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    v.rescale(2);
    v
}

/// Weighted mean of the defined values; `None` when none is defined or the weights are all 0.
fn weighted(parts: impl Iterator<Item = (Option<Decimal>, u32)>) -> Option<Decimal> {
    let (mut sum, mut weights) = (Decimal::ZERO, 0u64);
    for (v, w) in parts {
        if let Some(v) = v
            && w > 0
        {
            sum += v * Decimal::from(w);
            weights += u64::from(w);
        }
    }
    (weights > 0).then(|| sum / Decimal::from(weights))
}

/// The first month whose figures have released lists.
pub fn first_month_with_data(figures: &[MonthFigures]) -> Option<Month> {
    figures
        .iter()
        .filter(|f| f.declarations > 0)
        .filter_map(|f| f.month)
        .min()
}

/// Computes the index of `month` from monthly figures, which must cover the base period, the
/// month itself, and the month before each of them for the growth indicators (a missing previous
/// month leaves that growth undefined). Pure: the same figures and settings give the same index.
pub fn compute(
    settings: &IndexSettings,
    figures: &[MonthFigures],
    month: Month,
) -> Result<MonthIndex, IndexError> {
    settings.validate().map_err(IndexError::Settings)?;
    let by_month: BTreeMap<Month, &MonthFigures> = figures
        .iter()
        .filter_map(|f| f.month.map(|m| (m, f)))
        .collect();
    let (base_from, base_to) = settings
        .base_period(first_month_with_data(figures))
        .ok_or(IndexError::NoData)?;
    let now = by_month
        .get(&month)
        .copied()
        .ok_or(IndexError::MissingMonth(month))?;
    let previous = by_month.get(&month.prev()).copied();
    let base_months = base_from.through(base_to);
    let mut subs = Vec::new();
    for s in SubIndex::ALL {
        let mut indicators = Vec::new();
        for i in Indicator::ALL.into_iter().filter(|i| i.sub_index() == s) {
            let raw = i.value(now, previous);
            let base_values: Vec<Decimal> = base_months
                .iter()
                .filter_map(|m| {
                    let f = by_month.get(m)?;
                    i.value(f, by_month.get(&m.prev()).copied())
                })
                .collect();
            // A growth factor has no base when the base period starts with the first month of
            // data (no month before it): its base is then 1, no change.
            let base = if base_values.is_empty() {
                (i.kind() == Kind::Growth).then_some(Decimal::ONE)
            } else {
                Some(
                    base_values.iter().copied().sum::<Decimal>() / Decimal::from(base_values.len()),
                )
            };
            let exact = match (raw, base) {
                (Some(r), Some(b)) if b > Decimal::ZERO => Some(Decimal::ONE_HUNDRED * r / b),
                _ => None,
            };
            indicators.push((i, raw, base, exact));
        }
        let value = weighted(indicators.iter().map(|(i, _, _, exact)| {
            (
                *exact,
                settings.indicator_weights.get(i).copied().unwrap_or(0),
            )
        }));
        subs.push((s, value, indicators));
    }
    let composite = weighted(
        subs.iter()
            .map(|(s, v, _)| (*v, settings.sub_index_weights.get(s).copied().unwrap_or(0))),
    );
    Ok(MonthIndex {
        month,
        base_from,
        base_to,
        composite: composite.map(two_dp),
        sub_indices: subs
            .into_iter()
            .map(|(s, value, indicators)| SubIndexValue {
                sub_index: s,
                value: value.map(two_dp),
                weight: settings.sub_index_weights.get(&s).copied().unwrap_or(0),
                indicators: indicators
                    .into_iter()
                    .map(|(i, raw, base, exact)| IndicatorValue {
                        indicator: i,
                        code: i.code().to_string(),
                        kind: i.kind(),
                        raw: raw.map(|r| r.round_dp(6)),
                        base: base.map(|b| b.round_dp(6)),
                        index: exact.map(two_dp),
                        weight: settings.indicator_weights.get(&i).copied().unwrap_or(0),
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// The months an index of `month` needs figures for: from the month before the base period (or
/// before `month`, whichever is earlier) to `month`.
pub fn months_needed(settings: &IndexSettings, first_with_data: Month, month: Month) -> Vec<Month> {
    let (base_from, _) = settings
        .base_period(Some(first_with_data))
        .unwrap_or((first_with_data, first_with_data));
    let start = base_from.min(month).prev();
    start.through(month)
}

/// A statistics action, journaled (kind `INDEX`): the zone office changes the index settings or
/// publishes a month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IndexAction {
    /// Replace the index settings.
    Configure { settings: IndexSettings },
    /// Publish (or republish: a revision) the index of `month`, computed from the monthly
    /// figures carried in the entry — the snapshot of the statistics at publication, so the
    /// journal alone reproduces what was published.
    Publish {
        month: Month,
        figures: Vec<MonthFigures>,
        #[serde(default)]
        note: String,
    },
}

/// A published month of the index (one revision). Publications are never changed: a new
/// publication of the same month is the next revision and supersedes the earlier one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    pub month: Month,
    /// 1 for the first publication of the month, then 2, 3 …
    pub revision: u32,
    pub published_at: crate::time::Timestamp,
    pub published_by: String,
    #[serde(default)]
    pub note: String,
    pub index: MonthIndex,
    pub settings: IndexSettings,
    pub figures: Vec<MonthFigures>,
    /// Set when a later revision replaced it.
    #[serde(default)]
    pub superseded_at: Option<crate::time::Timestamp>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    #[test]
    fn the_base_month_is_100_on_every_defined_indicator() {
        let f = MonthFigures {
            month: Some(m("2025-01")),
            declarations: 10,
            value_fen: 100_000,
            tax_fen: 9_100,
            paid_fen: 109_100,
            enterprises: 2,
            countries: 3,
            classes: 4,
            logistics_firms: 1,
            payment_institutions: 1,
            first_pass: 9,
            risk_hit: 1,
            refused: 0,
            timely: 8,
        };
        let idx = compute(&IndexSettings::default(), &[f], m("2025-01")).unwrap();
        assert_eq!(idx.composite, Some(Decimal::ONE_HUNDRED));
        for s in &idx.sub_indices {
            assert_eq!(s.value, Some(Decimal::ONE_HUNDRED));
            for i in &s.indicators {
                // Growth has no previous month in the base: undefined, its weight redistributed.
                if i.kind == Kind::Growth {
                    assert_eq!(i.index, None);
                } else {
                    assert_eq!(i.index, Some(Decimal::ONE_HUNDRED), "{}", i.code);
                }
            }
        }
    }

    #[test]
    fn growth_against_a_first_month_base_is_against_no_change() {
        let jan = MonthFigures {
            month: Some(m("2025-01")),
            declarations: 10,
            value_fen: 1_000,
            ..MonthFigures::default()
        };
        let feb = MonthFigures {
            month: Some(m("2025-02")),
            declarations: 12,
            value_fen: 1_500,
            ..jan.clone()
        };
        let idx = compute(&IndexSettings::default(), &[jan, feb], m("2025-02")).unwrap();
        let growth = |i: Indicator| {
            idx.sub_indices
                .iter()
                .flat_map(|s| &s.indicators)
                .find(|v| v.indicator == i)
                .and_then(|v| v.index)
        };
        assert_eq!(growth(Indicator::ValueGrowth), Some(Decimal::new(150, 0)));
        assert_eq!(growth(Indicator::ParcelGrowth), Some(Decimal::new(120, 0)));
        assert_eq!(
            growth(Indicator::PaidGrowth),
            None,
            "nothing paid: undefined"
        );
    }

    #[test]
    fn settings_need_every_weight_and_an_ordered_base() {
        let mut s = IndexSettings::default();
        assert!(s.validate().is_ok());
        s.indicator_weights.remove(&Indicator::Parcels);
        assert!(s.validate().is_err());
        let mut s = IndexSettings {
            base_from: Some(m("2025-03")),
            base_to: Some(m("2025-01")),
            ..IndexSettings::default()
        };
        assert!(s.validate().is_err());
        s.base_to = None;
        assert!(s.validate().is_ok());
    }
}
