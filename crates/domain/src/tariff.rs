//! 税则 / 正面清单 — the tariff table: HS code → VAT, consumption tax and MFN rates, and whether the
//! line is on the CBEC positive list (跨境电子商务零售进口商品清单). Loaded from CSV (docs/tariff.md),
//! with an illustrative built-in default that is **not** the official list.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::registry::{csv_lines, split_csv_line};

/// The unit a consumption-tax threshold is measured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Measure {
    /// per gram of net content (cosmetics: "per ml (g)" — grams and millilitres are interchangeable)
    Gram,
    /// per millilitre of net content (interchangeable with grams, as above)
    Millilitre,
    /// per piece or sheet (片/张/件)
    Piece,
    /// per article (a watch: 只)
    Item,
}

impl Measure {
    pub fn code(self) -> &'static str {
        match self {
            Measure::Gram => "g",
            Measure::Millilitre => "ml",
            Measure::Piece => "piece",
            Measure::Item => "item",
        }
    }

    pub fn parse(s: &str) -> Option<Measure> {
        match s.trim().to_ascii_lowercase().as_str() {
            "g" | "gram" => Some(Measure::Gram),
            "ml" | "millilitre" | "milliliter" => Some(Measure::Millilitre),
            "piece" | "pc" | "sheet" => Some(Measure::Piece),
            "item" | "each" => Some(Measure::Item),
            _ => None,
        }
    }
}

/// Consumption tax applies only at or above this dutiable unit price (high-end cosmetics, watches).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CtThreshold {
    #[serde(with = "rust_decimal::serde::str")]
    pub min_unit_price: Decimal,
    pub per: Measure,
}

/// One tariff line (税则号列), 8 or 10 digits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TariffLine {
    pub hs: String,
    pub name: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub vat_rate: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub ct_rate: Decimal,
    pub ct_threshold: Option<CtThreshold>,
    #[serde(with = "rust_decimal::serde::str")]
    pub mfn_rate: Decimal,
    pub positive_list: bool,
    /// 仅限网购保税商品 — may be imported only in bonded mode (1210), not by direct purchase (9610).
    pub bonded_only: bool,
    pub legal_unit: String,
    pub second_unit: Option<String>,
}

/// Why a tariff CSV was refused. `line` is 1-based and counts the header and comments.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TariffError {
    #[error("tariff CSV line {line}: {reason}")]
    Csv { line: usize, reason: String },
}

/// The tariff, keyed by 8- or 10-digit HS code.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tariff {
    lines: BTreeMap<String, TariffLine>,
}

/// The documented column order of the tariff CSV.
pub const TARIFF_COLUMNS: [&str; 10] = [
    "hs",
    "name",
    "vat_rate",
    "ct_rate",
    "ct_threshold",
    "mfn_rate",
    "positive_list",
    "bonded_only",
    "legal_unit",
    "second_unit",
];

const BUILTIN_CSV: &str = include_str!("../data/tariff.csv");

/// A rate as `0.13` or `13%`; must lie in 0..1 (a rate of 100 % or more is a typo here).
fn parse_rate(s: &str) -> Result<Decimal, String> {
    let t = s.trim();
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let d = Decimal::from_str(num).map_err(|_| format!("rate {t:?} is not a number"))?;
    let d = if pct { d / Decimal::ONE_HUNDRED } else { d };
    if d < Decimal::ZERO || d >= Decimal::ONE {
        return Err(format!("rate {t:?} must be at least 0 and below 100 %"));
    }
    Ok(d.normalize())
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" => Ok(true),
        "n" | "no" | "false" | "0" | "" => Ok(false),
        other => Err(format!("{other:?} is not a yes/no value")),
    }
}

/// `10/g`, `15/piece`, `10000/item`, or empty for none.
fn parse_threshold(s: &str) -> Result<Option<CtThreshold>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let (amount, per) = t
        .split_once('/')
        .ok_or_else(|| format!("threshold {t:?} must look like 10/g, 15/piece or 10000/item"))?;
    let min_unit_price = Decimal::from_str(amount.trim())
        .map_err(|_| format!("threshold amount {amount:?} is not a number"))?;
    if min_unit_price <= Decimal::ZERO {
        return Err(format!("threshold {t:?} must be positive"));
    }
    let per = Measure::parse(per)
        .ok_or_else(|| format!("threshold unit {per:?} is not g, ml, piece or item"))?;
    Ok(Some(CtThreshold {
        min_unit_price,
        per,
    }))
}

fn is_unit_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Tariff {
    /// The built-in illustrative tariff (crates/domain/data/tariff.csv). Falls back to an empty
    /// tariff if the embedded file were ever broken; a unit test keeps it parsing.
    pub fn builtin() -> Tariff {
        Tariff::parse_csv(BUILTIN_CSV).unwrap_or_default()
    }

    /// Parses the CSV of docs/tariff.md. Blank lines and `#` comments are skipped; a duplicate HS
    /// code is an error, so a pasted list cannot silently override itself.
    pub fn parse_csv(text: &str) -> Result<Tariff, TariffError> {
        let mut lines = csv_lines(text);
        let (hline, header) = lines.next().ok_or(TariffError::Csv {
            line: 1,
            reason: format!("empty file: expected header {}", TARIFF_COLUMNS.join(",")),
        })?;
        let cols = split_csv_line(header).map_err(|reason| TariffError::Csv {
            line: hline,
            reason,
        })?;
        let cols: Vec<String> = cols.iter().map(|c| c.trim().to_ascii_lowercase()).collect();
        if cols != TARIFF_COLUMNS {
            return Err(TariffError::Csv {
                line: hline,
                reason: format!(
                    "header must be {}, found {}",
                    TARIFF_COLUMNS.join(","),
                    cols.join(",")
                ),
            });
        }
        let mut tariff = Tariff::default();
        for (line, l) in lines {
            let err = |reason: String| TariffError::Csv { line, reason };
            let f = split_csv_line(l).map_err(err)?;
            if f.len() != TARIFF_COLUMNS.len() {
                return Err(err(format!(
                    "expected {} fields, found {}",
                    TARIFF_COLUMNS.len(),
                    f.len()
                )));
            }
            let get = |i: usize| f.get(i).map(|s| s.trim()).unwrap_or("");
            let hs = get(0).to_string();
            if !(hs.len() == 8 || hs.len() == 10) || !hs.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!("HS code {hs:?} must be 8 or 10 digits")));
            }
            let name = get(1).to_string();
            if name.is_empty() {
                return Err(err(format!("{hs}: name is empty")));
            }
            let vat_rate = parse_rate(get(2)).map_err(|r| err(format!("vat_rate: {r}")))?;
            let ct_rate = if get(3).is_empty() {
                Decimal::ZERO
            } else {
                parse_rate(get(3)).map_err(|r| err(format!("ct_rate: {r}")))?
            };
            let ct_threshold =
                parse_threshold(get(4)).map_err(|r| err(format!("ct_threshold: {r}")))?;
            let mfn_rate = parse_rate(get(5)).map_err(|r| err(format!("mfn_rate: {r}")))?;
            let positive_list =
                parse_bool(get(6)).map_err(|r| err(format!("positive_list: {r}")))?;
            let bonded_only = parse_bool(get(7)).map_err(|r| err(format!("bonded_only: {r}")))?;
            let legal_unit = get(8).to_string();
            if !is_unit_code(&legal_unit) {
                return Err(err(format!(
                    "legal_unit {legal_unit:?} must be a 3-digit unit code"
                )));
            }
            let second = get(9);
            if !second.is_empty() && !is_unit_code(second) {
                return Err(err(format!(
                    "second_unit {second:?} must be a 3-digit unit code"
                )));
            }
            let tl = TariffLine {
                hs: hs.clone(),
                name,
                vat_rate,
                ct_rate,
                ct_threshold,
                mfn_rate,
                positive_list,
                bonded_only,
                legal_unit,
                second_unit: (!second.is_empty()).then(|| second.to_string()),
            };
            if tariff.lines.insert(hs.clone(), tl).is_some() {
                return Err(err(format!("HS code {hs} appears twice")));
            }
        }
        Ok(tariff)
    }

    /// The line for a declared code: the exact 10-digit line if there is one, else its 8-digit
    /// prefix (the positive list is published at 8 digits).
    pub fn lookup(&self, hs10: &str) -> Option<&TariffLine> {
        let hs = hs10.trim();
        self.lines.get(hs).or_else(|| {
            hs.get(0..8)
                .filter(|_| hs.len() > 8)
                .and_then(|p| self.lines.get(p))
        })
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Every line in HS order.
    pub fn lines(&self) -> impl Iterator<Item = &TariffLine> {
        self.lines.values()
    }

    /// Adds or replaces a line (administration, tests).
    pub fn insert(&mut self, line: TariffLine) {
        self.lines.insert(line.hs.clone(), line);
    }
}
