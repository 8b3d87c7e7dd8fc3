//! Time without a clock: callers pass [`Timestamp`]s in, so replay and tests are deterministic.
//!
//! CEB messages carry Beijing time (UTC+8, no daylight saving), and the personal annual quota resets
//! on 1 January Beijing time, so the civil date that matters is always the UTC+8 one.

use serde::{Deserialize, Serialize};

const MS_PER_DAY: i64 = 86_400_000;
const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;

/// An instant: milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

/// A proleptic-Gregorian calendar date. Only [`CivilDate::parse_yyyymmdd`] and the arithmetic here
/// build valid ones; a hand-built invalid date still orders and formats without panicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CivilDate {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    // d in 1..=31 and m in 1..=12 by construction
    (y, m as u32, d as u32)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// About ±1.9 billion years: keeps the calendar arithmetic free of overflow and the year in `i32`.
const MAX_DAYS: i64 = 700_000_000_000;

fn date_from_days(days: i64) -> CivilDate {
    let (y, month, day) = civil_from_days(days.clamp(-MAX_DAYS, MAX_DAYS));
    let year = i32::try_from(y).unwrap_or(if y < 0 { i32::MIN } else { i32::MAX });
    CivilDate { year, month, day }
}

impl Timestamp {
    fn beijing_parts(self) -> (CivilDate, i64) {
        let local = self.0.saturating_add(BEIJING_OFFSET_MS);
        let days = local.div_euclid(MS_PER_DAY);
        let ms_of_day = local.rem_euclid(MS_PER_DAY);
        (date_from_days(days), ms_of_day)
    }

    /// The civil date in Beijing (UTC+8); the quota year and the return windows count in it.
    pub fn beijing_date(self) -> CivilDate {
        self.beijing_parts().0
    }

    /// `YYYYMMDDhhmmss` in Beijing time, as CEB time fields carry it.
    pub fn ceb_time14(self) -> String {
        let (d, ms) = self.beijing_parts();
        let s = ms / 1000;
        format!(
            "{}{:02}{:02}{:02}",
            d.yyyymmdd(),
            s / 3600,
            (s / 60) % 60,
            s % 60
        )
    }

    /// `YYYYMMDDhhmmssSSS` in Beijing time: the receipts' `returnTime`.
    pub fn ceb_time17(self) -> String {
        let (_, ms) = self.beijing_parts();
        format!("{}{:03}", self.ceb_time14(), ms % 1000)
    }
}

impl CivilDate {
    fn day_number(self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        )
    }

    /// The date `days` later (earlier when negative).
    pub fn add_days(self, days: i64) -> CivilDate {
        date_from_days(self.day_number().saturating_add(days))
    }

    /// Whole days from `earlier` to `self` (negative when `earlier` is later). Day 1 after release
    /// is `release.add_days(1)`, so "within 30 days" reads `d.days_since(release) <= 30`.
    pub fn days_since(self, earlier: CivilDate) -> i64 {
        self.day_number() - earlier.day_number()
    }

    /// `YYYYMMDD`.
    pub fn yyyymmdd(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// Parses `YYYYMMDD` (exactly 8 ASCII digits, a real calendar date).
    pub fn parse_yyyymmdd(s: &str) -> Option<CivilDate> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i32 = s.get(0..4)?.parse().ok()?;
        let month: u32 = s.get(4..6)?.parse().ok()?;
        let day: u32 = s.get(6..8)?.parse().ok()?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
            return None;
        }
        Some(CivilDate { year, month, day })
    }

    /// Midnight at the start of this date, Beijing time.
    pub fn beijing_midnight(self) -> Timestamp {
        Timestamp(
            self.day_number()
                .saturating_mul(MS_PER_DAY)
                .saturating_sub(BEIJING_OFFSET_MS),
        )
    }
}

/// Parses a CEB `YYYYMMDDhhmmss` Beijing-time field; `None` unless every part is in range.
pub fn parse_ceb_time14(s: &str) -> Option<Timestamp> {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = CivilDate::parse_yyyymmdd(s.get(0..8)?)?;
    let h: i64 = s.get(8..10)?.parse().ok()?;
    let mi: i64 = s.get(10..12)?.parse().ok()?;
    let se: i64 = s.get(12..14)?.parse().ok()?;
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let ms = (h * 3600 + mi * 60 + se) * 1000;
    Some(Timestamp(date.beijing_midnight().0 + ms))
}
