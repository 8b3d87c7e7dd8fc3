//! Reference unit prices per HS code, the yardstick of the undervaluation rule (R7).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

const BUILTIN_CSV: &str = include_str!("../../data/reference_prices.csv");
const HEADER: &str = "hs,unit,reference_price,note";

/// 参考价格 — one reference unit price: CNY per trade unit of an HS code (or heading).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferencePrice {
    /// Trade unit (JGS-20 code) the price is quoted in; informative, R7 does not compare units.
    pub unit: String,
    pub price: Decimal,
    /// How the price was set, so a regulator can judge it.
    pub note: String,
}

/// The reference price table, keyed by HS code or prefix (4–10 digits).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferencePrices {
    prices: BTreeMap<String, ReferencePrice>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("reference prices: the header must be {expected:?}, found {found:?}")]
    Header { expected: String, found: String },
    #[error("reference prices, line {line}: {reason}")]
    Line { line: usize, reason: String },
}

impl ReferencePrices {
    /// The table shipped with OneWindow (`data/reference_prices.csv`), set against the demo
    /// catalogue. An unreadable builtin table yields an empty one (no R7 hits) rather than a
    /// panic; the test suite checks it parses.
    pub fn builtin() -> ReferencePrices {
        ReferencePrices::parse_csv(BUILTIN_CSV).unwrap_or_default()
    }

    /// Parses `hs,unit,reference_price,note` CSV. Blank lines and lines starting with `#` are
    /// skipped; the note is the rest of the line and may contain commas.
    pub fn parse_csv(text: &str) -> Result<ReferencePrices, ReferenceError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        let header = lines.next().map(|(_, l)| l).unwrap_or("");
        if header != HEADER {
            return Err(ReferenceError::Header {
                expected: HEADER.to_owned(),
                found: header.to_owned(),
            });
        }
        let mut prices = BTreeMap::new();
        for (line, l) in lines {
            let bad = |reason: String| ReferenceError::Line { line, reason };
            let mut parts = l.splitn(4, ',');
            let hs = parts.next().unwrap_or("").trim();
            let unit = parts.next().unwrap_or("").trim();
            let price = parts
                .next()
                .ok_or_else(|| bad("missing reference_price".to_owned()))?
                .trim();
            let note = parts.next().unwrap_or("").trim();
            if !(4..=10).contains(&hs.len()) || !hs.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("hs must be 4 to 10 digits, not {hs:?}")));
            }
            let price: Decimal = price
                .parse()
                .map_err(|_| bad(format!("reference_price {price:?} is not a number")))?;
            if price <= Decimal::ZERO {
                return Err(bad(format!(
                    "reference_price must be greater than zero, not {price}"
                )));
            }
            let entry = ReferencePrice {
                unit: unit.to_owned(),
                price,
                note: note.to_owned(),
            };
            if prices.insert(hs.to_owned(), entry).is_some() {
                return Err(bad(format!("hs {hs} is listed twice")));
            }
        }
        Ok(ReferencePrices { prices })
    }

    /// The reference unit price of an HS code: its own entry, else the longest listed prefix of
    /// 8, 6 or 4 digits, so one heading can cover its subheadings.
    pub fn lookup(&self, hs: &str) -> Option<Decimal> {
        self.entry(hs).map(|e| e.price)
    }

    /// Like [`ReferencePrices::lookup`], with the unit and note.
    pub fn entry(&self, hs: &str) -> Option<&ReferencePrice> {
        if let Some(e) = self.prices.get(hs) {
            return Some(e);
        }
        [8, 6, 4]
            .into_iter()
            .filter(|&n| n < hs.len())
            .find_map(|n| hs.get(..n).and_then(|p| self.prices.get(p)))
    }

    pub fn len(&self) -> usize {
        self.prices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }
}
