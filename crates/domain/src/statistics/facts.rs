//! 统计事实 — the statistical deltas the clearance engine emits as declarations are released,
//! refused, returned or rejected. Each is a cell (the dimensions) and additive measures; the
//! store adds them to its aggregate tables in the same transaction as the journal position, so a
//! month is the sum of its day cells and nothing ever scans the declarations.
//!
//! Four tables (docs/statistics.md has the data dictionary):
//! - **lists** (清单): one cell per day × direction × customs mode × country of departure ×
//!   e-commerce enterprise × platform × payment institution × logistics firm × park;
//! - **goods** (商品): one cell per day × direction × mode × origin country × goods class ×
//!   legal unit × e-commerce enterprise × park, from the inventory lines;
//! - **clearance** (通关时效): a histogram of clearance times per day × direction × mode ×
//!   e-commerce enterprise × park, in [`BUCKETS`];
//! - **rejections** (退单原因): day × message type × catalogue code × the enterprise whose message
//!   was refused.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::{CivilDate, Timestamp};

/// A Beijing calendar day as `YYYYMMDD` in an integer (what the store keys and ranges on).
pub fn day_number(date: CivilDate) -> i32 {
    date.year
        .saturating_mul(10_000)
        .saturating_add(i32::try_from(date.month * 100 + date.day).unwrap_or(0))
}

/// The statistics day of an instant: its Beijing date.
pub fn day_of(t: Timestamp) -> i32 {
    day_number(t.beijing_date())
}

/// 统计月份 — a calendar month, written `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM` (or `YYYYMM`).
    pub fn parse(s: &str) -> Option<Month> {
        let s = s.trim();
        let (y, m) = match s.split_once('-') {
            Some((y, m)) => (y, m),
            None if s.len() == 6 => (s.get(..4)?, s.get(4..)?),
            None => return None,
        };
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        ((1..=12).contains(&month) && year >= 1).then_some(Month { year, month })
    }

    /// The month of a statistics day number.
    pub fn of_day(day: i32) -> Month {
        Month {
            year: day / 10_000,
            month: u32::try_from((day / 100) % 100).unwrap_or(1),
        }
    }

    /// The month of an instant (Beijing time).
    pub fn of(t: Timestamp) -> Month {
        Month::of_day(day_of(t))
    }

    pub fn next(self) -> Month {
        if self.month >= 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month <= 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Day number of the first day (`YYYYMM01`).
    pub fn first_day(self) -> i32 {
        self.year * 10_000 + i32::try_from(self.month * 100 + 1).unwrap_or(101)
    }

    /// Day number of the last day (`YYYYMM31`: day numbers only compare, so 31 bounds every month).
    pub fn last_day(self) -> i32 {
        self.year * 10_000 + i32::try_from(self.month * 100 + 31).unwrap_or(131)
    }

    /// Months from `self` to `to`, both included (empty when `to` is earlier).
    pub fn through(self, to: Month) -> Vec<Month> {
        let mut out = Vec::new();
        let mut m = self;
        while m <= to && out.len() < 1200 {
            out.push(m);
            m = m.next();
        }
        out
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let s = String::deserialize(d)?;
        Month::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a month: {s:?}")))
    }
}

/// The clearance-time histogram buckets: (code, lower bound in ms, label). A release falls in the
/// last bucket whose lower bound it reaches. "Within one hour" is buckets 0 to 2.
pub const BUCKETS: [(&str, i64, &str); 7] = [
    ("0", 0, "under 1 minute"),
    ("1", 60_000, "1 to 10 minutes"),
    ("2", 600_000, "10 minutes to 1 hour"),
    ("3", 3_600_000, "1 to 4 hours"),
    ("4", 14_400_000, "4 to 24 hours"),
    ("5", 86_400_000, "1 to 3 days"),
    ("6", 259_200_000, "3 days or more"),
];

/// Buckets that count as "cleared within one hour" (the timeliness indicator of the index).
pub const TIMELY_BUCKETS: usize = 3;

/// The bucket code of a clearance time.
pub fn bucket_of(ms: i64) -> &'static str {
    BUCKETS
        .iter()
        .rev()
        .find(|(_, lower, _)| ms >= *lower)
        .map_or("0", |(code, _, _)| code)
}

/// The `q` quantile (0 < q < 1) of a histogram of clearance times, in ms, estimated by linear
/// interpolation inside the bucket it falls in (the open last bucket answers its lower bound).
/// `counts[i]` is the count of bucket `i`. `None` for an empty histogram.
pub fn quantile_ms(counts: &[i64], q: f64) -> Option<i64> {
    let total: i64 = counts.iter().map(|c| (*c).max(0)).sum();
    if total <= 0 {
        return None;
    }
    let target = q.clamp(0.0, 1.0) * total as f64;
    let mut below = 0i64;
    for (i, count) in counts.iter().enumerate() {
        let count = (*count).max(0);
        if count > 0 && (below + count) as f64 >= target {
            let lower = BUCKETS.get(i).map_or(0, |b| b.1);
            let Some(upper) = BUCKETS.get(i + 1).map(|b| b.1) else {
                return Some(lower);
            };
            let within = ((target - below as f64) / count as f64).clamp(0.0, 1.0);
            return Some(lower + ((upper - lower) as f64 * within).round() as i64);
        }
        below += count;
    }
    BUCKETS.get(counts.len().saturating_sub(1)).map(|b| b.1)
}

/// A cell of the lists table (清单统计): one released or refused declaration adds to one cell.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListCell {
    pub day: i32,
    /// `I` import, `E` export (the inventory's ieFlag).
    pub direction: String,
    /// Customs mode: the inventory's tradeMode (9610 direct, 1210 bonded, later 9710 / 9810).
    pub mode: String,
    /// 起运国 — the list's country of departure (`142` for bonded imports).
    pub country: String,
    pub ebc: String,
    pub ebp: String,
    /// The payment institution (payCode).
    pub payment: String,
    pub logistics: String,
    /// The e-commerce enterprise's park at release time; empty when it has none.
    pub park: String,
}

impl ListCell {
    pub const DIMS: [&'static str; 8] = [
        "direction",
        "mode",
        "country",
        "ebc",
        "ebp",
        "payment",
        "logistics",
        "park",
    ];

    pub fn keys(&self) -> [&str; 8] {
        [
            &self.direction,
            &self.mode,
            &self.country,
            &self.ebc,
            &self.ebp,
            &self.payment,
            &self.logistics,
            &self.park,
        ]
    }
}

macro_rules! measures {
    ($(#[$m:meta])* $name:ident { $( $(#[$fm:meta])* $field:ident ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name { $( $(#[$fm])* pub $field: i64, )* }

        impl $name {
            /// The measure names, in store column order.
            pub const NAMES: &'static [&'static str] = &[ $( stringify!($field), )* ];

            /// The values, in [`Self::NAMES`] order.
            pub fn values(&self) -> Vec<i64> { vec![ $( self.$field, )* ] }

            /// Adds another delta, saturating.
            pub fn add(&mut self, other: &$name) { $( self.$field = self.$field.saturating_add(other.$field); )* }

            pub fn is_zero(&self) -> bool { true $( && self.$field == 0 )* }
        }
    };
}

measures! {
    /// The measures of a [`ListCell`]. Money in fen, times in ms.
    ListMeasures {
        /// Released lists.
        declarations,
        /// Lines of the released lists.
        lines,
        /// 完税价格 — dutiable value of the released lists (goods + freight + insurance).
        value_fen,
        customs_tax_fen,
        vat_fen,
        consumption_tax_fen,
        /// What the buyers paid (the payments' amountPaid) for the released lists.
        paid_fen,
        /// Released with no document of the declaration ever refused (一次通过).
        first_pass,
        /// Released although the match raised an On-mode risk alert.
        risk_hit,
        /// Released after a document review (人工审核).
        reviewed,
        /// Released after a physical inspection found nothing (查验).
        inspected,
        /// Refused after the documents matched (risk, review, inspection, listing, recall).
        refused,
        /// Of the refused, those refused by a failed inspection.
        inspection_failed,
        /// Sum of clearance times (match → release) of the released lists.
        clearance_ms,
        /// Approved return applications (CEB625), on the day of the return.
        returns,
        /// Drop of dutiable value by the returns.
        returned_value_fen,
        /// Drop of tax (all types) by the returns.
        returned_tax_fen,
    }
}

/// A cell of the goods table (商品统计): the lines of released lists.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GoodsCell {
    pub day: i32,
    pub direction: String,
    pub mode: String,
    /// 原产国 — the line's country of origin.
    pub origin: String,
    /// The simplified class ([`super::Classification`]).
    pub class: String,
    /// The legal first unit (unit1) the quantity is counted in.
    pub unit: String,
    pub ebc: String,
    pub park: String,
}

impl GoodsCell {
    pub const DIMS: [&'static str; 7] = [
        "direction",
        "mode",
        "origin",
        "class",
        "unit",
        "ebc",
        "park",
    ];

    pub fn keys(&self) -> [&str; 7] {
        [
            &self.direction,
            &self.mode,
            &self.origin,
            &self.class,
            &self.unit,
            &self.ebc,
            &self.park,
        ]
    }
}

measures! {
    /// The measures of a [`GoodsCell`].
    GoodsMeasures {
        /// Released lists with at least one line in the cell (a list whose lines fall in two
        /// cells counts in both: use the lists table for totals).
        declarations,
        lines,
        /// Legal first quantity (qty1) in thousandths of the unit.
        qty_milli,
        /// Dutiable value of the lines (freight and insurance allocated by value).
        value_fen,
        customs_tax_fen,
        vat_fen,
        consumption_tax_fen,
        /// Legal quantity returned (thousandths), on the day of the return.
        returned_qty_milli,
        returned_value_fen,
    }
}

/// A cell of the clearance-time histogram.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClearanceCell {
    pub day: i32,
    pub direction: String,
    pub mode: String,
    pub ebc: String,
    pub park: String,
    /// A code of [`BUCKETS`].
    pub bucket: String,
}

impl ClearanceCell {
    pub const DIMS: [&'static str; 5] = ["direction", "mode", "ebc", "park", "bucket"];
    pub const MEASURES: [&'static str; 1] = ["declarations"];

    pub fn keys(&self) -> [&str; 5] {
        [
            &self.direction,
            &self.mode,
            &self.ebc,
            &self.park,
            &self.bucket,
        ]
    }
}

/// A cell of the rejection table (退单原因).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RejectionCell {
    pub day: i32,
    /// The CEB message number of the refused document (`311`, `411`, `511`, `621` …).
    pub message_type: String,
    /// The error catalogue code (docs/errors.md).
    pub code: String,
    /// The enterprise whose message was refused (its sender).
    pub enterprise: String,
}

impl RejectionCell {
    pub const DIMS: [&'static str; 3] = ["message_type", "code", "enterprise"];
    pub const MEASURES: [&'static str; 1] = ["rejections"];

    pub fn keys(&self) -> [&str; 3] {
        [&self.message_type, &self.code, &self.enterprise]
    }
}

/// Everything one batch adds to the statistics, merged by cell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatDeltas {
    pub lists: BTreeMap<ListCell, ListMeasures>,
    pub goods: BTreeMap<GoodsCell, GoodsMeasures>,
    pub clearance: BTreeMap<ClearanceCell, i64>,
    pub rejections: BTreeMap<RejectionCell, i64>,
}

impl StatDeltas {
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
            && self.goods.is_empty()
            && self.clearance.is_empty()
            && self.rejections.is_empty()
    }

    pub fn list(&mut self, cell: ListCell, m: &ListMeasures) {
        if !m.is_zero() {
            self.lists.entry(cell).or_default().add(m);
        }
    }

    pub fn goods(&mut self, cell: GoodsCell, m: &GoodsMeasures) {
        if !m.is_zero() {
            self.goods.entry(cell).or_default().add(m);
        }
    }

    pub fn clearance(&mut self, cell: ClearanceCell, n: i64) {
        if n != 0 {
            let v = self.clearance.entry(cell).or_default();
            *v = v.saturating_add(n);
        }
    }

    pub fn rejection(&mut self, cell: RejectionCell, n: i64) {
        if n != 0 {
            let v = self.rejections.entry(cell).or_default();
            *v = v.saturating_add(n);
        }
    }

    /// Adds everything of `other`.
    pub fn merge(&mut self, other: StatDeltas) {
        for (c, m) in other.lists {
            self.list(c, &m);
        }
        for (c, m) in other.goods {
            self.goods(c, &m);
        }
        for (c, n) in other.clearance {
            self.clearance(c, n);
        }
        for (c, n) in other.rejections {
            self.rejection(c, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_step() {
        let m = Month::parse("2025-12").unwrap_or(Month { year: 0, month: 1 });
        assert_eq!(m.to_string(), "2025-12");
        assert_eq!(m.next().to_string(), "2026-01");
        assert_eq!(m.next().prev(), m);
        assert_eq!(
            Month::parse("202503").map(|m| m.first_day()),
            Some(20250301)
        );
        assert_eq!(Month::of_day(20250314).to_string(), "2025-03");
        assert_eq!(Month::parse("2025-13"), None);
        assert_eq!(Month::parse("25-01"), None);
        assert_eq!(
            Month {
                year: 2025,
                month: 11
            }
            .through(Month {
                year: 2026,
                month: 2
            })
            .len(),
            4
        );
    }

    #[test]
    fn clearance_times_fall_in_their_bucket_and_quantiles_interpolate() {
        assert_eq!(bucket_of(0), "0");
        assert_eq!(bucket_of(59_999), "0");
        assert_eq!(bucket_of(60_000), "1");
        assert_eq!(bucket_of(3_600_000), "3");
        assert_eq!(bucket_of(i64::MAX), "6");
        // 10 under a minute, 10 between 1 and 10 minutes: the median is the 1-minute bound,
        // the 75th percentile half way through the second bucket (5.5 minutes).
        let counts = [10, 10, 0, 0, 0, 0, 0];
        assert_eq!(quantile_ms(&counts, 0.5), Some(60_000));
        assert_eq!(quantile_ms(&counts, 0.75), Some(330_000));
        assert_eq!(quantile_ms(&[0; 7], 0.5), None);
        assert_eq!(quantile_ms(&[0, 0, 0, 0, 0, 0, 3], 0.5), Some(259_200_000));
    }
}
