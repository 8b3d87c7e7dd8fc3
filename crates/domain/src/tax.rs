//! 跨境电商综合税 — the CBEC composite tax, per inventory line and per tax type (rules.md §1.3–1.6).
//!
//! Within the limits: tariff 0, VAT and consumption tax (CT) at 70 % of the statutory amounts.
//! A single indivisible item above the single limit pays the full statutory amounts with the MFN
//! tariff rate. Every amount is computed per line and per tax type and rounded to the fen HALF_UP
//! (or once per inventory, when the `rounding` setting says so).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::round_fen;
use crate::settings::{Rounding, Settings};
use crate::tariff::{Measure, Tariff, TariffLine};

/// Which set of formulas applies; chosen from the limit verdict ([`crate::limits::check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Regime {
    /// Within the limits: tariff 0, VAT and CT × the preferential factor (0.7).
    Preferential,
    /// One indivisible item above the single limit (49号 art. 2): MFN tariff, full VAT and CT.
    FullRate,
}

/// One inventory line as the tax needs it. `goods_value` is the line's totalPrice; `qty`/`unit` the
/// declared quantity, `qty1`/`unit1` the quantity in the legal unit (JGS-20 codes, e.g. 035 = kg).
#[derive(Clone, Debug)]
pub struct TaxLineInput {
    pub gnum: u32,
    pub hs: String,
    pub goods_value: Decimal,
    pub qty: Decimal,
    pub unit: String,
    pub qty1: Decimal,
    pub unit1: String,
}

/// One inventory to assess.
#[derive(Clone, Debug)]
pub struct TaxInput<'a> {
    pub lines: &'a [TaxLineInput],
    pub freight: Decimal,
    pub insured_fee: Decimal,
    pub discount: Decimal,
    pub regime: Regime,
}

/// The tax of one line. `high_end` says the CT threshold was met (or the goods have CT without one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineTax {
    pub gnum: u32,
    pub hs: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub dutiable_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub customs_tax: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub vat: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub consumption_tax: Decimal,
    pub high_end: bool,
}

/// The tax of one inventory: what the electronic tax bill (CEB816) carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxAssessment {
    pub regime: Regime,
    #[serde(with = "rust_decimal::serde::str")]
    pub dutiable_price: Decimal,
    pub lines: Vec<LineTax>,
    #[serde(with = "rust_decimal::serde::str")]
    pub customs_tax: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub vat: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub consumption_tax: Decimal,
}

impl TaxAssessment {
    /// Customs tax + VAT + CT: the amount withheld (taxTotal).
    pub fn total(&self) -> Decimal {
        self.customs_tax
            .saturating_add(self.vat)
            .saturating_add(self.consumption_tax)
    }
}

/// Why a line could not be taxed. The engine turns these into rejection receipts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    #[error("line {gnum}: HS code {hs} is not in the tariff")]
    UnknownHs { gnum: u32, hs: String },
    #[error("line {gnum}: HS code {hs} is not on the CBEC positive list")]
    NotOnPositiveList { gnum: u32, hs: String },
    #[error(
        "line {gnum}: HS code {hs} needs a positive quantity in {needed} for the consumption-tax threshold"
    )]
    MissingMeasure {
        gnum: u32,
        hs: String,
        needed: &'static str,
    },
    #[error("line {gnum}: negative amount or quantity")]
    Negative { gnum: u32 },
    #[error("the inventory has no lines")]
    NoLines,
    #[error("amount too large to compute")]
    Overflow,
}

/// 完税价格 of the inventory: Σ line values + freight + insurance (each only if its setting says so)
/// − discount (only if `discount_reduces_dutiable_price`, [U], default off), rounded to the fen,
/// never below 0.
pub fn dutiable_price(
    lines: &[TaxLineInput],
    freight: Decimal,
    insured_fee: Decimal,
    discount: Decimal,
    settings: &Settings,
) -> Decimal {
    let goods = lines
        .iter()
        .try_fold(Decimal::ZERO, |acc, l| acc.checked_add(l.goods_value))
        .unwrap_or(Decimal::MAX);
    let mut p = goods;
    if settings.freight_in_dutiable_price {
        p = p.saturating_add(freight);
    }
    if settings.insurance_in_dutiable_price {
        p = p.saturating_add(insured_fee);
    }
    if settings.discount_reduces_dutiable_price {
        p = p.saturating_sub(discount);
    }
    round_fen(p).max(Decimal::ZERO)
}

/// Splits `total` over lines in proportion to `weights` so the parts sum to `total` exactly: every
/// line but the last gets its share rounded to the fen HALF_UP, the last gets the remainder. If that
/// would leave the last line negative (a tiny last line after upward roundings), shares are floored
/// instead, which keeps every part ≥ 0 when `total` ≥ 0.
pub fn allocate(total: Decimal, weights: &[Decimal]) -> Option<Vec<Decimal>> {
    let n = weights.len();
    if n == 0 {
        return Some(Vec::new());
    }
    let sum = weights
        .iter()
        .try_fold(Decimal::ZERO, |a, w| a.checked_add(*w))?;
    let share = |w: Decimal| -> Option<Decimal> {
        if sum.is_zero() {
            Some(Decimal::ZERO)
        } else {
            total.checked_mul(w)?.checked_div(sum)
        }
    };
    let build = |round: &dyn Fn(Decimal) -> Decimal| -> Option<Vec<Decimal>> {
        let mut parts = Vec::with_capacity(n);
        let mut given = Decimal::ZERO;
        for w in weights.iter().take(n - 1) {
            let s = round(share(*w)?);
            given = given.checked_add(s)?;
            parts.push(s);
        }
        parts.push(total.checked_sub(given)?);
        Some(parts)
    };
    let parts = build(&round_fen)?;
    let last_negative = parts.last().is_some_and(|l| *l < Decimal::ZERO);
    if last_negative && total >= Decimal::ZERO {
        build(&|d: Decimal| d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero))
    } else {
        Some(parts)
    }
}

/// Net content in grams or millilitres from a quantity in a JGS-20 unit, if it is a mass or volume.
fn net_content(qty: Decimal, unit: &str) -> Option<Decimal> {
    let factor = match unit.trim() {
        "035" => Decimal::new(1000, 0),      // 千克 kg
        "036" => Decimal::ONE,               // 克 g
        "070" => Decimal::new(1_000_000, 0), // 吨 t
        "095" => Decimal::new(1000, 0),      // 升 l
        "096" => Decimal::ONE,               // 毫升 ml
        "063" => Decimal::new(1_000_000, 0), // 千升 kl
        _ => return None,
    };
    qty.checked_mul(factor)
}

/// A count of articles, if `unit` is not a mass or volume (pieces, sheets, watches, pairs…).
fn count(qty: Decimal, unit: &str) -> Option<Decimal> {
    if net_content(Decimal::ONE, unit).is_none() && !unit.trim().is_empty() {
        Some(qty)
    } else {
        None
    }
}

/// Whether CT applies to this line: always when the line has CT without a threshold; otherwise when
/// the unit dutiable price reaches the threshold (rules.md §1.6: ≥ 10 CNY per g/ml, or ≥ 15 CNY per
/// piece for cosmetics; watches per `high_end_watch_threshold`).
fn ct_applies(
    input: &TaxLineInput,
    tl: &TariffLine,
    price: Decimal,
    settings: &Settings,
) -> Result<bool, TaxError> {
    if tl.ct_rate.is_zero() {
        return Ok(false);
    }
    let Some(th) = tl.ct_threshold else {
        return Ok(true);
    };
    let missing = |needed| TaxError::MissingMeasure {
        gnum: input.gnum,
        hs: input.hs.clone(),
        needed,
    };
    let positive = |d: Decimal| d > Decimal::ZERO;
    let (per_unit, threshold) = match th.per {
        Measure::Gram | Measure::Millilitre => {
            let content = net_content(input.qty1, &input.unit1)
                .filter(|d| positive(*d))
                .or_else(|| net_content(input.qty, &input.unit).filter(|d| positive(*d)));
            match content {
                Some(c) => (c, th.min_unit_price),
                None => {
                    // no net content declared: the per-piece alternative of 财税〔2016〕103号
                    let pieces = count(input.qty, &input.unit)
                        .filter(|d| positive(*d))
                        .ok_or_else(|| missing("g, ml or pieces"))?;
                    (pieces, settings.high_end_cosmetics_per_piece)
                }
            }
        }
        Measure::Piece | Measure::Item => {
            let pieces = count(input.qty, &input.unit)
                .filter(|d| positive(*d))
                .or_else(|| count(input.qty1, &input.unit1).filter(|d| positive(*d)))
                .ok_or_else(|| missing("pieces"))?;
            let threshold = if th.per == Measure::Item {
                settings.high_end_watch_threshold
            } else {
                th.min_unit_price
            };
            (pieces, threshold)
        }
    };
    let unit_price = price.checked_div(per_unit).ok_or(TaxError::Overflow)?;
    Ok(unit_price >= threshold)
}

struct Unrounded {
    customs: Decimal,
    vat: Decimal,
    ct: Decimal,
}

fn line_tax(
    p: Decimal,
    tl: &TariffLine,
    high_end: bool,
    regime: Regime,
    settings: &Settings,
) -> Option<Unrounded> {
    let c = if high_end { tl.ct_rate } else { Decimal::ZERO };
    let v = tl.vat_rate;
    let one_minus_c = Decimal::ONE.checked_sub(c)?;
    match regime {
        Regime::Preferential => {
            let base = p.checked_div(one_minus_c)?;
            let f = settings.preferential_factor;
            Some(Unrounded {
                customs: Decimal::ZERO,
                ct: base.checked_mul(c)?.checked_mul(f)?,
                vat: base.checked_mul(v)?.checked_mul(f)?,
            })
        }
        Regime::FullRate => {
            let customs = p.checked_mul(tl.mfn_rate)?;
            let with_tariff = p.checked_add(customs)?;
            let ct = with_tariff.checked_div(one_minus_c)?.checked_mul(c)?;
            let vat = with_tariff.checked_add(ct)?.checked_mul(v)?;
            Some(Unrounded { customs, vat, ct })
        }
    }
}

/// Assesses the tax of one inventory. Every line must be in the tariff and on the positive list.
/// Freight, insurance (and discount, if configured) are allocated to lines in proportion to their
/// value, so Σ line dutiable prices = the inventory's dutiable price exactly.
///
/// Full-rate CT and VAT are computed on the unrounded tariff and CT; only the reported amounts are
/// rounded. With `Rounding::PerInventoryPerTaxType` the totals are the rounded unrounded sums, and the
/// line amounts are rounded only for display (they may then differ from the totals by a few fen).
pub fn assess(
    input: &TaxInput,
    tariff: &Tariff,
    settings: &Settings,
) -> Result<TaxAssessment, TaxError> {
    if input.lines.is_empty() {
        return Err(TaxError::NoLines);
    }
    let mut tariff_lines = Vec::with_capacity(input.lines.len());
    for l in input.lines {
        if l.goods_value < Decimal::ZERO || l.qty < Decimal::ZERO || l.qty1 < Decimal::ZERO {
            return Err(TaxError::Negative { gnum: l.gnum });
        }
        let tl = tariff.lookup(&l.hs).ok_or_else(|| TaxError::UnknownHs {
            gnum: l.gnum,
            hs: l.hs.clone(),
        })?;
        if !tl.positive_list {
            return Err(TaxError::NotOnPositiveList {
                gnum: l.gnum,
                hs: l.hs.clone(),
            });
        }
        tariff_lines.push(tl);
    }
    if input.freight < Decimal::ZERO
        || input.insured_fee < Decimal::ZERO
        || input.discount < Decimal::ZERO
    {
        return Err(TaxError::Negative { gnum: 0 });
    }
    let total_price = dutiable_price(
        input.lines,
        input.freight,
        input.insured_fee,
        input.discount,
        settings,
    );
    let weights: Vec<Decimal> = input.lines.iter().map(|l| l.goods_value).collect();
    let prices = allocate(total_price, &weights).ok_or(TaxError::Overflow)?;

    let mut lines = Vec::with_capacity(input.lines.len());
    let (mut sum_customs, mut sum_vat, mut sum_ct) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for ((l, tl), price) in input.lines.iter().zip(tariff_lines).zip(prices) {
        let high_end = ct_applies(l, tl, price, settings)?;
        let t = line_tax(price, tl, high_end, input.regime, settings).ok_or(TaxError::Overflow)?;
        let (customs, vat, ct) = (round_fen(t.customs), round_fen(t.vat), round_fen(t.ct));
        let (add_c, add_v, add_t) = match settings.rounding {
            Rounding::PerLinePerTaxType => (customs, vat, ct),
            Rounding::PerInventoryPerTaxType => (t.customs, t.vat, t.ct),
        };
        sum_customs = sum_customs.checked_add(add_c).ok_or(TaxError::Overflow)?;
        sum_vat = sum_vat.checked_add(add_v).ok_or(TaxError::Overflow)?;
        sum_ct = sum_ct.checked_add(add_t).ok_or(TaxError::Overflow)?;
        lines.push(LineTax {
            gnum: l.gnum,
            hs: l.hs.clone(),
            dutiable_price: price,
            customs_tax: customs,
            vat,
            consumption_tax: ct,
            high_end: high_end && !tl.ct_rate.is_zero(),
        });
    }
    Ok(TaxAssessment {
        regime: input.regime,
        dutiable_price: total_price,
        lines,
        customs_tax: round_fen(sum_customs),
        vat: round_fen(sum_vat),
        consumption_tax: round_fen(sum_ct),
    })
}
