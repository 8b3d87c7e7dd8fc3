//! 单次限额 / 年度限额 — the per-transaction and per-person annual limits (rules.md §1.7, §11 step 3).
//!
//! Boundaries follow the regulation's words: "超过" (exceeds) for both limits, so exactly 5,000.00
//! and an annual total of exactly 26,000.00 are allowed; "低于26000元" (below) for the single-item
//! exception, so that price must be strictly under 26,000.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::personal::BuyerKey;
use crate::settings::Settings;

/// The outcome of the limit test for one inventory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LimitVerdict {
    /// P ≤ single limit and used + P ≤ annual limit: preferential rates.
    Within,
    /// One indivisible item with single limit < P < annual limit and used + P ≤ annual limit: CBEC
    /// channel at full rates (49号 art. 2); the amount counts toward the year.
    SingleItemFullRate,
    /// P > single limit and not the single-item exception: general trade, reject.
    OverSingleLimit {
        #[serde(with = "rust_decimal::serde::str")]
        value: Decimal,
    },
    /// used + P > annual limit: general trade, reject.
    OverAnnualLimit {
        #[serde(with = "rust_decimal::serde::str")]
        used: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        value: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        limit: Decimal,
    },
}

impl LimitVerdict {
    /// Whether the inventory may clear through the CBEC channel.
    pub fn allowed(&self) -> bool {
        matches!(
            self,
            LimitVerdict::Within | LimitVerdict::SingleItemFullRate
        )
    }

    /// The tax regime an allowed verdict implies.
    pub fn regime(&self) -> Option<crate::tax::Regime> {
        match self {
            LimitVerdict::Within => Some(crate::tax::Regime::Preferential),
            LimitVerdict::SingleItemFullRate => Some(crate::tax::Regime::FullRate),
            _ => None,
        }
    }
}

/// Whether an inventory is "a single indivisible item" for 49号 art. 2. Our reading, documented in
/// docs/settings.md: exactly one line, and that line's declared quantity is exactly 1.
pub fn is_single_item(line_qtys: &[Decimal]) -> bool {
    matches!(line_qtys, [q] if *q == Decimal::ONE)
}

/// The limit test. `value` is the inventory's dutiable price, `single_item` per [`is_single_item`],
/// `used_this_year` the buyer's used quota in the calendar year of the declaration (Beijing time).
pub fn check(
    value: Decimal,
    single_item: bool,
    used_this_year: Decimal,
    settings: &Settings,
) -> LimitVerdict {
    let annual = settings.annual_limit;
    let over_annual = || LimitVerdict::OverAnnualLimit {
        used: used_this_year,
        value,
        limit: annual,
    };
    let fits_year = used_this_year
        .checked_add(value)
        .is_some_and(|t| t <= annual);
    if value > settings.single_limit {
        if single_item && value < annual {
            if fits_year {
                LimitVerdict::SingleItemFullRate
            } else {
                over_annual()
            }
        } else {
            LimitVerdict::OverSingleLimit { value }
        }
    } else if fits_year {
        LimitVerdict::Within
    } else {
        over_annual()
    }
}

/// 年度额度台账 — used annual quota per buyer and calendar year. Keyed by [`BuyerKey`], so it holds no
/// identity in clear. Years are Beijing-time calendar years: `Timestamp::beijing_date().year`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct QuotaLedger {
    used: BTreeMap<BuyerKey, BTreeMap<i32, Decimal>>,
}

impl QuotaLedger {
    pub fn used(&self, buyer: &BuyerKey, year: i32) -> Decimal {
        self.used
            .get(buyer)
            .and_then(|y| y.get(&year))
            .copied()
            .unwrap_or(Decimal::ZERO)
    }

    /// Quota left in `year` under `settings.annual_limit`, never below 0.
    pub fn remaining(&self, buyer: &BuyerKey, year: i32, settings: &Settings) -> Decimal {
        settings
            .annual_limit
            .saturating_sub(self.used(buyer, year))
            .max(Decimal::ZERO)
    }

    /// Adds a released inventory's amount (negative amounts count as 0); returns the new used total.
    pub fn consume(&mut self, buyer: &BuyerKey, year: i32, amount: Decimal) -> Decimal {
        let slot = self
            .used
            .entry(buyer.clone())
            .or_default()
            .entry(year)
            .or_insert(Decimal::ZERO);
        *slot = slot.saturating_add(amount.max(Decimal::ZERO));
        *slot
    }

    /// Gives back a returned or revoked inventory's amount; never below 0. Returns the new used total.
    pub fn restore(&mut self, buyer: &BuyerKey, year: i32, amount: Decimal) -> Decimal {
        let Some(years) = self.used.get_mut(buyer) else {
            return Decimal::ZERO;
        };
        let Some(slot) = years.get_mut(&year) else {
            return Decimal::ZERO;
        };
        *slot = (*slot - amount.max(Decimal::ZERO)).max(Decimal::ZERO);
        *slot
    }

    /// Every (buyer, year, used) row, for projections and snapshots.
    pub fn entries(&self) -> impl Iterator<Item = (&BuyerKey, i32, Decimal)> {
        self.used
            .iter()
            .flat_map(|(b, ys)| ys.iter().map(move |(y, u)| (b, *y, *u)))
    }
}
