//! The credit database (信用数据库, the "一库" of 一库三系统): one record per subject, fed event by event.
//!
//! A record keeps counters in Beijing-month buckets rather than the events themselves, so it stays a
//! few hundred bytes of JSON however busy the subject is, and re-scoring after an event touches at
//! most a window's worth of buckets per factor.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::CreditModel;
use super::supervision::{Grade, SupervisionClass, Treatment};
use crate::subject::{Department, Subject};
use crate::time::{CivilDate, Timestamp};

/// Longest text copied from an event (rule code, listing id, agency, rejection code): keeps a record
/// small whatever a caller sends.
const MAX_TEXT: usize = 64;
/// Distinct rejection codes remembered per month; further codes still count as rejections.
const MAX_CODES_PER_MONTH: usize = 8;
/// Third-party agencies whose latest rating is kept.
const MAX_AGENCIES: usize = 16;
/// Longest lateness that counts: a hundred years. Keeps sums far from overflow.
const MAX_DAYS_LATE: i64 = 36_500;

/// 认证等级 — a regulator's certification of a subject, after the customs categories (rules.md §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertLevel {
    /// 高级认证
    Advanced,
    /// 认证
    Certified,
    /// 常规
    General,
    /// 失信认定
    Dishonest,
}

impl CertLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            CertLevel::Advanced => "advanced",
            CertLevel::Certified => "certified",
            CertLevel::General => "general",
            CertLevel::Dishonest => "dishonest",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            CertLevel::Advanced => "高级认证",
            CertLevel::Certified => "认证",
            CertLevel::General => "常规",
            CertLevel::Dishonest => "失信认定",
        }
    }
}

/// 信用事件 — something the platform saw that bears on a subject's credit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CreditEventKind {
    /// A declaration naming the subject reached the match.
    DeclarationFiled,
    Released,
    /// 4-digit error-catalogue code of the rejection.
    Rejected {
        code: String,
    },
    /// A risk alert (rule code) raised against it.
    RiskHit {
        rule: String,
    },
    /// A regulator's review confirmed an alert.
    AlertConfirmed {
        rule: String,
    },
    AlertDismissed {
        rule: String,
    },
    InspectionPassed,
    /// The reason is free text and may name people; the record counts the failure but does not
    /// copy the reason.
    InspectionFailed {
        reason: String,
    },
    Cancelled,
    Returned,
    TaxPaidOnTime,
    TaxPaidLate {
        days_late: i64,
    },
    Complaint {
        upheld: bool,
    },
    Certification {
        department: Department,
        level: CertLevel,
        valid_until: Option<CivilDate>,
    },
    Rating {
        agency: String,
        score: u8,
    },
    /// A negative-list warning (low-risk issue).
    Warned {
        listing: String,
    },
    /// Put on the credit negative list (serious).
    Listed {
        listing: String,
    },
    /// A warning or listing ended (revoked, repaired, expired).
    Delisted {
        listing: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreditEvent {
    pub at: Timestamp,
    pub kind: CreditEventKind,
}

/// 等级变更 — one entry of a record's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeChange {
    pub at: Timestamp,
    pub from: Grade,
    pub to: Grade,
    pub score: u32,
    /// The event in words, without personal data.
    pub cause: String,
}

/// 信用评价说明 — why a subject has its grade, factor by factor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub subject: Subject,
    pub score: u32,
    pub grade: Grade,
    pub class: SupervisionClass,
    pub treatment: Treatment,
    pub factors: Vec<FactorExplanation>,
    /// The dishonesty criteria that hold, in words; any one makes the grade DISHONEST.
    pub overrides: Vec<String>,
    /// Anything else that bears on the grade: a grade held near a cut-off, AAA withheld for want
    /// of an AEO certification, how old the evaluation is, certifications lapsed since.
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactorExplanation {
    pub id: String,
    pub name: String,
    pub name_zh: String,
    pub weight: u32,
    /// 0..=100.
    pub points: u32,
    /// Score units; the contributions of all factors sum to the score.
    pub contribution: u32,
    pub facts: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero64(n: &u64) -> bool {
    *n == 0
}

/// Counters of one Beijing calendar month.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Bucket {
    /// `YYYYMM`, Beijing time.
    month: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    filed: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    released: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    rejected: u32,
    /// Rejections by error-catalogue code (at most [`MAX_CODES_PER_MONTH`] codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    codes: Vec<(String, u32)>,
    #[serde(default, skip_serializing_if = "is_zero")]
    hits: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    confirmed: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    dismissed: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    passed: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    failed: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    cancelled: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    returned: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    tax_on_time: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    tax_late: u32,
    #[serde(default, skip_serializing_if = "is_zero64")]
    tax_days_late: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    tax_max_days_late: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    complaints: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    upheld: u32,
}

/// Sums of buckets over a window.
#[derive(Default)]
struct Totals {
    filed: u64,
    rejected: u64,
    codes: BTreeMap<String, u64>,
    hits: u64,
    confirmed: u64,
    dismissed: u64,
    passed: u64,
    failed: u64,
    cancelled: u64,
    returned: u64,
    tax_on_time: u64,
    tax_late: u64,
    tax_days_late: u64,
    tax_max_days_late: u32,
    complaints: u64,
    upheld: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct CertState {
    department: Department,
    level: CertLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_until: Option<CivilDate>,
    at: Timestamp,
}

impl CertState {
    fn in_force(&self, on: CivilDate) -> bool {
        self.valid_until.is_none_or(|until| on <= until)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct RatingState {
    agency: String,
    score: u8,
    at: Timestamp,
}

/// 信用档案 — the credit record of one enterprise or individual buyer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreditRecord {
    pub subject: Subject,
    /// 0..=1000.
    pub score: u32,
    pub grade: Grade,
    pub grade_since: Timestamp,
    /// The instant the record was last evaluated at: the latest event seen (or refresh). Windows
    /// end here.
    pub updated_at: Timestamp,
    /// Grade changes, oldest first, the last `history_cap` of them.
    pub history: Vec<GradeChange>,
    #[serde(default)]
    buckets: Vec<Bucket>,
    #[serde(default)]
    certifications: Vec<CertState>,
    #[serde(default)]
    ratings: Vec<RatingState>,
    #[serde(default)]
    warnings_in_force: Vec<String>,
    #[serde(default)]
    listings_in_force: Vec<String>,
}

fn month_key(d: CivilDate) -> i64 {
    i64::from(d.year) * 100 + i64::from(d.month)
}

/// First `YYYYMM` of a window of `days` ending at `at`: the month containing its first day, so a
/// window covers the Beijing months that overlap the last `days` days.
fn window_start(at: Timestamp, days: u32) -> i64 {
    month_key(at.beijing_date().add_days(1 - i64::from(days)))
}

fn fmt_date(d: CivilDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// `part / whole` as a percentage with one decimal, e.g. "2.5 %".
fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0 %".to_owned();
    }
    let permille = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{} %", permille / 10, permille % 10)
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

/// Linear curve: 0 bad → 100 points, a bad rate of `zero_rate_bp` or more → 0 points.
fn curve(bad: u64, n: u64, zero_rate_bp: u32) -> u32 {
    if n == 0 || zero_rate_bp == 0 {
        return 100;
    }
    let num = u128::from(bad) * 1_000_000;
    let den = u128::from(n) * u128::from(zero_rate_bp);
    let lost = (num + den / 2) / den;
    100u32.saturating_sub(u32::try_from(lost.min(100)).unwrap_or(100))
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn take_points(points: u32, penalty: u64) -> u32 {
    let p = u64::from(points).saturating_sub(penalty);
    u32::try_from(p).unwrap_or(0)
}

/// Facts are words for the explanation only: `apply` runs for several parties of every
/// declaration, so it scores without formatting them.
struct Facts {
    on: bool,
    list: Vec<String>,
}

impl Facts {
    fn new(on: bool) -> Facts {
        Facts {
            on,
            list: Vec::new(),
        }
    }

    fn add(&mut self, fact: impl FnOnce() -> String) {
        if self.on {
            self.list.push(fact());
        }
    }
}

fn until_text(c: &CertState) -> String {
    c.valid_until.map_or_else(
        || "no end date".to_owned(),
        |d| format!("valid until {}", fmt_date(d)),
    )
}

struct FactorEval {
    id: &'static str,
    name: &'static str,
    name_zh: &'static str,
    weight: u32,
    points: u32,
    facts: Vec<String>,
}

struct Evaluation {
    factors: Vec<FactorEval>,
    contributions: Vec<u32>,
    score: u32,
    grade: Grade,
    overrides: Vec<String>,
    notes: Vec<String>,
}

/// Splits `Σ points × weight / 10` (rounded half up) into whole contributions that add up to it
/// exactly: each factor gets its floor, and the units lost to flooring go to the largest
/// remainders (earlier factors first on ties).
fn apportion(factors: &[FactorEval]) -> (Vec<u32>, u32) {
    let raw: Vec<u64> = factors
        .iter()
        .map(|f| u64::from(f.points.min(100)) * u64::from(f.weight))
        .collect();
    let total: u64 = raw.iter().sum();
    let score = ((total + 5) / 10).min(1000);
    let mut contributions: Vec<u64> = raw.iter().map(|r| r / 10).collect();
    let floored: u64 = contributions.iter().sum();
    let mut left = score.saturating_sub(floored);
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(raw[i] % 10), i));
    for i in order {
        if left == 0 {
            break;
        }
        if !raw[i].is_multiple_of(10) {
            contributions[i] += 1;
            left -= 1;
        }
    }
    let score = u32::try_from(contributions.iter().sum::<u64>()).unwrap_or(1000);
    (
        contributions
            .into_iter()
            .map(|c| u32::try_from(c).unwrap_or(1000))
            .collect(),
        score,
    )
}

impl CreditRecord {
    /// A subject nobody has seen anything about: every factor at its neutral value (grade A under
    /// the default model), so a newcomer is neither trusted nor suspected.
    pub fn new(subject: Subject, now: Timestamp, model: &CreditModel) -> CreditRecord {
        let mut record = CreditRecord {
            subject,
            score: 0,
            grade: Grade::A,
            grade_since: now,
            updated_at: now,
            history: Vec::new(),
            buckets: Vec::new(),
            certifications: Vec::new(),
            ratings: Vec::new(),
            warnings_in_force: Vec::new(),
            listings_in_force: Vec::new(),
        };
        let eval = record.evaluate(model, now, None, false);
        record.score = eval.score;
        record.grade = eval.grade;
        record
    }

    /// Takes in one event and re-scores. The record's clock only moves forward: an event older than
    /// the latest one seen is counted in its own month (when that month is still in a window) but
    /// windows keep ending at the latest event.
    pub fn apply(&mut self, event: &CreditEvent, model: &CreditModel) -> Option<GradeChange> {
        let at = self.updated_at.max(event.at);
        let keep_from = window_start(at, model.max_window_days());
        self.record(event, keep_from);
        self.rescore(at, keep_from, model, || describe(&event.kind))
    }

    /// Moves the record's windows on to `now` without an event, so that old rejections stop
    /// counting and certifications expire for a subject that has gone quiet (a daily job), or
    /// re-scores under a changed model (pass `updated_at`).
    pub fn refresh(&mut self, now: Timestamp, model: &CreditModel) -> Option<GradeChange> {
        let at = self.updated_at.max(now);
        let keep_from = window_start(at, model.max_window_days());
        self.rescore(at, keep_from, model, || {
            format!("re-evaluated on {}", fmt_date(at.beijing_date()))
        })
    }

    fn rescore(
        &mut self,
        at: Timestamp,
        keep_from: i64,
        model: &CreditModel,
        cause: impl FnOnce() -> String,
    ) -> Option<GradeChange> {
        self.updated_at = at;
        self.buckets.retain(|b| b.month >= keep_from);
        let eval = self.evaluate(model, at, Some(self.grade), false);
        self.score = eval.score;
        if eval.grade == self.grade {
            return None;
        }
        let change = GradeChange {
            at,
            from: self.grade,
            to: eval.grade,
            score: eval.score,
            cause: cause(),
        };
        self.grade = eval.grade;
        self.grade_since = at;
        self.history.push(change.clone());
        let cap = model.history_cap.max(1);
        if self.history.len() > cap {
            let excess = self.history.len() - cap;
            self.history.drain(..excess);
        }
        Some(change)
    }

    fn bucket(&mut self, at: Timestamp, keep_from: i64) -> Option<&mut Bucket> {
        let month = month_key(at.beijing_date());
        if month < keep_from {
            return None;
        }
        let i = match self.buckets.binary_search_by_key(&month, |b| b.month) {
            Ok(i) => i,
            Err(i) => {
                self.buckets.insert(
                    i,
                    Bucket {
                        month,
                        ..Bucket::default()
                    },
                );
                i
            }
        };
        self.buckets.get_mut(i)
    }

    fn record(&mut self, event: &CreditEvent, keep_from: i64) {
        fn inc(n: &mut u32) {
            *n = n.saturating_add(1);
        }
        use CreditEventKind as K;
        match &event.kind {
            K::Certification {
                department,
                level,
                valid_until,
            } => {
                let new = CertState {
                    department: *department,
                    level: *level,
                    valid_until: *valid_until,
                    at: event.at,
                };
                match self
                    .certifications
                    .binary_search_by_key(department, |c| c.department)
                {
                    Ok(i) => {
                        if let Some(c) = self.certifications.get_mut(i)
                            && c.at <= event.at
                        {
                            *c = new;
                        }
                    }
                    Err(i) => self.certifications.insert(i, new),
                }
            }
            K::Rating { agency, score } => {
                let agency = clip(agency);
                let new = RatingState {
                    agency: agency.clone(),
                    score: (*score).min(100),
                    at: event.at,
                };
                match self
                    .ratings
                    .binary_search_by(|r| r.agency.as_str().cmp(agency.as_str()))
                {
                    Ok(i) => {
                        if let Some(r) = self.ratings.get_mut(i)
                            && r.at <= event.at
                        {
                            *r = new;
                        }
                    }
                    Err(i) => {
                        self.ratings.insert(i, new);
                        if self.ratings.len() > MAX_AGENCIES
                            && let Some(oldest) = self
                                .ratings
                                .iter()
                                .enumerate()
                                .min_by_key(|(i, r)| (r.at, *i))
                                .map(|(i, _)| i)
                        {
                            self.ratings.remove(oldest);
                        }
                    }
                }
            }
            K::Warned { listing } => {
                let listing = clip(listing);
                if !self.listings_in_force.contains(&listing)
                    && let Err(i) = self.warnings_in_force.binary_search(&listing)
                {
                    self.warnings_in_force.insert(i, listing);
                }
            }
            K::Listed { listing } => {
                let listing = clip(listing);
                self.warnings_in_force.retain(|w| *w != listing);
                if let Err(i) = self.listings_in_force.binary_search(&listing) {
                    self.listings_in_force.insert(i, listing);
                }
            }
            K::Delisted { listing } => {
                let listing = clip(listing);
                self.warnings_in_force.retain(|w| *w != listing);
                self.listings_in_force.retain(|l| *l != listing);
            }
            kind => {
                let Some(b) = self.bucket(event.at, keep_from) else {
                    return;
                };
                match kind {
                    K::DeclarationFiled => inc(&mut b.filed),
                    K::Released => inc(&mut b.released),
                    K::Rejected { code } => {
                        inc(&mut b.rejected);
                        let code = clip(code);
                        if let Some(c) = b.codes.iter_mut().find(|(c, _)| *c == code) {
                            inc(&mut c.1);
                        } else if b.codes.len() < MAX_CODES_PER_MONTH {
                            b.codes.push((code, 1));
                            b.codes.sort();
                        }
                    }
                    K::RiskHit { .. } => inc(&mut b.hits),
                    K::AlertConfirmed { .. } => inc(&mut b.confirmed),
                    K::AlertDismissed { .. } => inc(&mut b.dismissed),
                    K::InspectionPassed => inc(&mut b.passed),
                    K::InspectionFailed { .. } => inc(&mut b.failed),
                    K::Cancelled => inc(&mut b.cancelled),
                    K::Returned => inc(&mut b.returned),
                    K::TaxPaidOnTime => inc(&mut b.tax_on_time),
                    K::TaxPaidLate { days_late } => {
                        inc(&mut b.tax_late);
                        let days = u32::try_from((*days_late).clamp(0, MAX_DAYS_LATE)).unwrap_or(0);
                        b.tax_days_late = b.tax_days_late.saturating_add(u64::from(days));
                        b.tax_max_days_late = b.tax_max_days_late.max(days);
                    }
                    K::Complaint { upheld } => {
                        inc(&mut b.complaints);
                        if *upheld {
                            inc(&mut b.upheld);
                        }
                    }
                    K::Certification { .. }
                    | K::Rating { .. }
                    | K::Warned { .. }
                    | K::Listed { .. }
                    | K::Delisted { .. } => {}
                }
            }
        }
    }

    fn totals(&self, from_month: i64, with_codes: bool) -> Totals {
        let mut t = Totals::default();
        for b in self.buckets.iter().filter(|b| b.month >= from_month) {
            t.filed += u64::from(b.filed);
            t.rejected += u64::from(b.rejected);
            for (code, n) in b.codes.iter().filter(|_| with_codes) {
                *t.codes.entry(code.clone()).or_default() += u64::from(*n);
            }
            t.hits += u64::from(b.hits);
            t.confirmed += u64::from(b.confirmed);
            t.dismissed += u64::from(b.dismissed);
            t.passed += u64::from(b.passed);
            t.failed += u64::from(b.failed);
            t.cancelled += u64::from(b.cancelled);
            t.returned += u64::from(b.returned);
            t.tax_on_time += u64::from(b.tax_on_time);
            t.tax_late += u64::from(b.tax_late);
            t.tax_days_late = t.tax_days_late.saturating_add(b.tax_days_late);
            t.tax_max_days_late = t.tax_max_days_late.max(b.tax_max_days_late);
            t.complaints += u64::from(b.complaints);
            t.upheld += u64::from(b.upheld);
        }
        t
    }

    fn customs_cert(&self, on: CivilDate) -> Option<&CertState> {
        self.certifications
            .iter()
            .find(|c| c.department == Department::Customs && c.in_force(on))
    }

    fn qualification(&self, model: &CreditModel, at: Timestamp, explain: bool) -> FactorEval {
        let q = &model.qualification;
        let on = at.beijing_date();
        let mut facts = Facts::new(explain);
        let mut evidence = false;
        let mut points = i64::from(q.neutral);
        if let Some(c) = self.customs_cert(on) {
            evidence = true;
            points = i64::from(match c.level {
                CertLevel::Advanced => q.customs_advanced,
                CertLevel::Certified => q.customs_certified,
                CertLevel::General => q.customs_general,
                CertLevel::Dishonest => 0,
            });
        }
        for c in &self.certifications {
            if !c.in_force(on) {
                facts.add(|| {
                    format!(
                        "{}: {} certification ({}) expired, {}",
                        c.department,
                        c.level.as_str(),
                        c.level.label_zh(),
                        until_text(c)
                    )
                });
                continue;
            }
            evidence = true;
            let effect = if c.department == Department::Customs {
                None
            } else {
                let delta = match c.level {
                    CertLevel::Advanced => i64::from(q.other_advanced_bonus),
                    CertLevel::Certified => i64::from(q.other_certified_bonus),
                    CertLevel::General => 0,
                    CertLevel::Dishonest => -i64::from(q.other_dishonest_penalty),
                };
                points += delta;
                Some(delta)
            };
            let base = points;
            facts.add(|| {
                format!(
                    "{}: {} certification ({}), {} ({})",
                    c.department,
                    c.level.as_str(),
                    c.level.label_zh(),
                    until_text(c),
                    effect.map_or_else(|| format!("{base} points"), |d| format!("{d:+} points"))
                )
            });
        }
        let cert_points = u64::try_from(points.clamp(0, 100)).unwrap_or(0);
        let from = window_start(at, q.window_days);
        let rated: Vec<&RatingState> = self
            .ratings
            .iter()
            .filter(|r| month_key(r.at.beijing_date()) >= from)
            .collect();
        let mut result = cert_points;
        if !rated.is_empty() {
            evidence = true;
            let n = rated.len() as u64;
            let sum: u64 = rated.iter().map(|r| u64::from(r.score)).sum();
            let mean = (sum + n / 2) / n;
            for r in &rated {
                facts.add(|| {
                    format!(
                        "rating by {}: {} of 100 ({})",
                        r.agency,
                        r.score,
                        fmt_date(r.at.beijing_date())
                    )
                });
            }
            let share = u64::from(q.rating_share_pct.min(100));
            result = (cert_points * (100 - share) + mean * share + 50) / 100;
            facts.add(|| format!(
                "certifications {cert_points} points and mean rating {mean} weighted {}:{share}",
                100 - share
            ));
        }
        if !evidence {
            facts.add(|| {
                format!(
                    "no certification or rating in force: neutral {} points",
                    q.neutral
                )
            });
            result = u64::from(q.neutral.min(100));
        }
        FactorEval {
            id: "qualification",
            name: "Qualification",
            name_zh: "资质",
            weight: q.weight,
            points: u32::try_from(result.min(100)).unwrap_or(100),
            facts: facts.list,
        }
    }

    fn compliance(&self, model: &CreditModel, at: Timestamp, explain: bool) -> FactorEval {
        let c = &model.compliance;
        let t = self.totals(window_start(at, c.window_days), explain);
        let n = t.filed.max(t.rejected);
        let days = c.window_days;
        let mut facts = Facts::new(explain);
        let base = if n < u64::from(c.min_declarations) {
            facts.add(|| {
                format!(
                    "{} in the last {days} days, fewer than {}: neutral {} points",
                    plural(n, "declaration", "declarations"),
                    c.min_declarations,
                    c.neutral
                )
            });
            c.neutral.min(100)
        } else {
            let p = curve(t.rejected, n, c.zero_rate_bp);
            facts.add(|| {
                format!(
                    "{} of {} declarations rejected in the last {days} days ({}): {p} points",
                    t.rejected,
                    n,
                    pct(t.rejected, n)
                )
            });
            p
        };
        if !t.codes.is_empty() {
            let mut codes: Vec<(&String, &u64)> = t.codes.iter().collect();
            codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = codes
                .iter()
                .take(5)
                .map(|(code, k)| format!("{code} ×{k}"))
                .collect();
            facts.add(|| format!("rejection codes: {}", list.join(", ")));
        }
        let penalty = t.confirmed * u64::from(c.confirmed_alert_penalty);
        if t.confirmed > 0 {
            facts.add(|| {
                format!(
                    "{} confirmed by a regulator: −{penalty} points",
                    plural(t.confirmed, "risk alert", "risk alerts")
                )
            });
        }
        if t.hits > 0 || t.dismissed > 0 {
            facts.add(|| {
                format!(
                    "{} raised and {} dismissed in the window (unconfirmed alerts do not count)",
                    plural(t.hits, "risk alert", "risk alerts"),
                    t.dismissed
                )
            });
        }
        FactorEval {
            id: "compliance",
            name: "Declaration compliance",
            name_zh: "申报合规",
            weight: c.weight,
            points: take_points(base, penalty),
            facts: facts.list,
        }
    }

    fn inspection(&self, model: &CreditModel, at: Timestamp, explain: bool) -> FactorEval {
        let s = &model.inspection;
        let t = self.totals(window_start(at, s.window_days), false);
        let n = t.passed + t.failed;
        let days = s.window_days;
        let mut facts = Facts::new(explain);
        let points = if n < u64::from(s.min_inspections) {
            facts.add(|| {
                format!(
                    "{} in the last {days} days ({} failed), fewer than {}: neutral {} points",
                    plural(n, "inspection", "inspections"),
                    t.failed,
                    s.min_inspections,
                    s.neutral
                )
            });
            s.neutral.min(100)
        } else {
            let p = curve(t.failed, n, s.zero_rate_bp);
            facts.add(|| {
                format!(
                    "{} of {n} inspections failed in the last {days} days ({}): {p} points",
                    t.failed,
                    pct(t.failed, n)
                )
            });
            p
        };
        FactorEval {
            id: "inspection",
            name: "Inspection results",
            name_zh: "查验结果",
            weight: s.weight,
            points,
            facts: facts.list,
        }
    }

    fn tax(&self, model: &CreditModel, at: Timestamp, explain: bool) -> FactorEval {
        let x = &model.tax;
        let t = self.totals(window_start(at, x.window_days), false);
        let n = t.tax_on_time + t.tax_late;
        let days = x.window_days;
        let mut facts = Facts::new(explain);
        let base = if n < u64::from(x.min_payments) {
            facts.add(|| {
                format!(
                    "{} in the last {days} days, fewer than {}: neutral {} points",
                    plural(n, "tax payment", "tax payments"),
                    x.min_payments,
                    x.neutral
                )
            });
            x.neutral.min(100)
        } else {
            let p = curve(t.tax_late, n, x.zero_rate_bp);
            facts.add(|| {
                format!(
                    "{} of {n} tax payments late in the last {days} days ({}): {p} points",
                    t.tax_late,
                    pct(t.tax_late, n)
                )
            });
            p
        };
        let mut penalty = 0;
        if t.tax_late > 0 {
            penalty = t.tax_late * u64::from(x.late_payment_penalty)
                + t.tax_days_late / u64::from(x.days_late_per_point.max(1));
            facts.add(|| {
                format!(
                    "{}, {} days late in total (longest {}): −{penalty} points",
                    plural(t.tax_late, "late payment", "late payments"),
                    t.tax_days_late,
                    t.tax_max_days_late
                )
            });
        }
        FactorEval {
            id: "tax",
            name: "Tax performance",
            name_zh: "纳税履约",
            weight: x.weight,
            points: take_points(base, penalty),
            facts: facts.list,
        }
    }

    fn conduct(&self, model: &CreditModel, at: Timestamp, explain: bool) -> FactorEval {
        let c = &model.conduct;
        let t = self.totals(window_start(at, c.window_days), false);
        let n = t.filed.max(t.rejected);
        let bad = t.cancelled + t.returned;
        let days = c.window_days;
        let mut facts = Facts::new(explain);
        let base = if n < u64::from(c.min_declarations) {
            facts.add(|| {
                format!(
                    "{} and {} in {} in the last {days} days, fewer than {}: neutral {} points",
                    plural(t.cancelled, "cancellation", "cancellations"),
                    plural(t.returned, "return", "returns"),
                    plural(n, "declaration", "declarations"),
                    c.min_declarations,
                    c.neutral
                )
            });
            c.neutral.min(100)
        } else {
            let p = curve(bad, n, c.zero_rate_bp);
            facts.add(|| {
                format!(
                    "{} and {} in {n} declarations in the last {days} days ({}): {p} points",
                    plural(t.cancelled, "cancellation", "cancellations"),
                    plural(t.returned, "return", "returns"),
                    pct(bad, n)
                )
            });
            p
        };
        let mut penalty = 0;
        if t.complaints > 0 {
            let p = t.upheld * u64::from(c.upheld_complaint_penalty);
            penalty += p;
            facts.add(|| {
                format!(
                    "{} of {} upheld: −{p} points",
                    t.upheld,
                    plural(t.complaints, "complaint", "complaints")
                )
            });
        }
        if !self.warnings_in_force.is_empty() {
            let w = self.warnings_in_force.len() as u64;
            let p = w * u64::from(c.warning_penalty);
            penalty += p;
            facts.add(|| {
                format!(
                    "{} in force ({}): −{p} points",
                    plural(w, "negative-list warning", "negative-list warnings"),
                    self.warnings_in_force.join(", ")
                )
            });
        }
        FactorEval {
            id: "conduct",
            name: "Trading conduct",
            name_zh: "交易行为",
            weight: c.weight,
            points: take_points(base, penalty),
            facts: facts.list,
        }
    }

    fn overrides(&self, model: &CreditModel, at: Timestamp) -> Vec<String> {
        let d = &model.dishonest;
        let mut out = Vec::new();
        if d.on_listing && !self.listings_in_force.is_empty() {
            out.push(format!(
                "on the credit negative list ({})",
                self.listings_in_force.join(", ")
            ));
        }
        if d.on_customs_finding
            && self
                .customs_cert(at.beijing_date())
                .is_some_and(|c| c.level == CertLevel::Dishonest)
        {
            out.push("customs dishonest-enterprise finding (失信企业) in force".to_owned());
        }
        let t = self.totals(window_start(at, d.window_days), false);
        if d.tax_days_late > 0 && t.tax_max_days_late > d.tax_days_late {
            out.push(format!(
                "tax paid {} days late in the last {} days (more than {})",
                t.tax_max_days_late, d.window_days, d.tax_days_late
            ));
        }
        if d.failed_inspections > 0 && t.failed >= u64::from(d.failed_inspections) {
            out.push(format!(
                "{} failed inspections in the last {} days ({} or more)",
                t.failed, d.window_days, d.failed_inspections
            ));
        }
        out
    }

    /// Scores the record as of `at`. `held` is the grade in force, which hysteresis keeps while the
    /// score stays near a cut-off (`None` for a new record).
    fn evaluate(
        &self,
        model: &CreditModel,
        at: Timestamp,
        held: Option<Grade>,
        explain: bool,
    ) -> Evaluation {
        let factors = vec![
            self.qualification(model, at, explain),
            self.compliance(model, at, explain),
            self.inspection(model, at, explain),
            self.tax(model, at, explain),
            self.conduct(model, at, explain),
        ];
        let (contributions, score) = apportion(&factors);
        let overrides = self.overrides(model, at);
        let mut notes = Vec::new();
        let mut grade = if overrides.is_empty() {
            let plain = model.grade_of_score(score);
            let kept = model.grade_with_hysteresis(score, held);
            if explain && kept != plain {
                notes.push(format!(
                    "score {score} would be {plain}, but it is within {} points of the cut-off: \
                     the grade stays {kept} until the score moves clear of it",
                    model.cutoffs.hysteresis
                ));
            }
            kept
        } else {
            Grade::Dishonest
        };
        if grade == Grade::Aaa
            && model.cutoffs.aaa_requires_customs_certification
            && !self
                .customs_cert(at.beijing_date())
                .is_some_and(|c| matches!(c.level, CertLevel::Advanced | CertLevel::Certified))
        {
            grade = Grade::Aa;
            if explain {
                notes.push(format!(
                    "score {score} reaches AAA, but AAA needs a customs AEO certification in force: grade AA"
                ));
            }
        }
        Evaluation {
            factors,
            contributions,
            score,
            grade,
            overrides,
            notes,
        }
    }

    /// Why the record has its grade. The explanation is of the grade in force, so it is evaluated
    /// where the record's windows end (`updated_at`); `now` only tells the reader how old that is
    /// and which certifications have lapsed since (they take effect at the next event or refresh).
    pub fn explain(&self, model: &CreditModel, now: Timestamp) -> Explanation {
        let eval = self.evaluate(model, self.updated_at, Some(self.grade), true);
        let class = model.class_of(eval.grade);
        let today = now.beijing_date();
        let evaluated = self.updated_at.beijing_date();
        let factors: Vec<FactorExplanation> = eval
            .factors
            .into_iter()
            .zip(eval.contributions)
            .map(|(f, contribution)| FactorExplanation {
                id: f.id.to_owned(),
                name: f.name.to_owned(),
                name_zh: f.name_zh.to_owned(),
                weight: f.weight,
                points: f.points,
                contribution,
                facts: f.facts,
            })
            .collect();
        let mut notes = eval.notes;
        let stale = today.days_since(evaluated);
        if stale > 0 {
            notes.push(format!(
                "evaluated as of {} ({} ago); the windows move on with the next event",
                fmt_date(evaluated),
                plural(u64::try_from(stale).unwrap_or(0), "day", "days")
            ));
        }
        for c in &self.certifications {
            if let Some(until) = c.valid_until
                && c.in_force(evaluated)
                && !c.in_force(today)
            {
                notes.push(format!(
                    "the {} certification lapsed after {}; it stops counting at the next evaluation",
                    c.department,
                    fmt_date(until)
                ));
            }
        }
        Explanation {
            subject: self.subject.clone(),
            score: eval.score,
            grade: eval.grade,
            class,
            treatment: model.treatment(class),
            factors,
            overrides: eval.overrides,
            notes,
        }
    }

    /// The supervision class of the grade in force.
    pub fn class(&self, model: &CreditModel) -> SupervisionClass {
        model.class_of(self.grade)
    }

    /// The treatment of the grade in force.
    pub fn treatment(&self, model: &CreditModel) -> Treatment {
        model.treatment(self.class(model))
    }

    /// On the credit negative list (a serious listing) now.
    pub fn listed(&self) -> bool {
        !self.listings_in_force.is_empty()
    }

    /// Negative-list warnings in force.
    pub fn warnings(&self) -> usize {
        self.warnings_in_force.len()
    }

    /// The negative-list entries (warnings, then listings) in force, by id.
    pub fn listings(&self) -> (&[String], &[String]) {
        (&self.warnings_in_force, &self.listings_in_force)
    }
}

/// The event in words for a grade change; never copies free text that may name people.
fn describe(kind: &CreditEventKind) -> String {
    use CreditEventKind as K;
    match kind {
        K::DeclarationFiled => "declaration filed".to_owned(),
        K::Released => "declaration released".to_owned(),
        K::Rejected { code } => format!("declaration rejected with code {}", clip(code)),
        K::RiskHit { rule } => format!("risk alert raised by rule {}", clip(rule)),
        K::AlertConfirmed { rule } => {
            format!("risk alert of rule {} confirmed on review", clip(rule))
        }
        K::AlertDismissed { rule } => {
            format!("risk alert of rule {} dismissed on review", clip(rule))
        }
        K::InspectionPassed => "inspection passed".to_owned(),
        K::InspectionFailed { .. } => "inspection failed".to_owned(),
        K::Cancelled => "declaration cancelled".to_owned(),
        K::Returned => "goods returned".to_owned(),
        K::TaxPaidOnTime => "tax paid on time".to_owned(),
        K::TaxPaidLate { days_late } => format!("tax paid {days_late} days late"),
        K::Complaint { upheld: true } => "complaint upheld".to_owned(),
        K::Complaint { upheld: false } => "complaint not upheld".to_owned(),
        K::Certification {
            department,
            level,
            valid_until,
        } => {
            let until =
                valid_until.map_or_else(String::new, |d| format!(", valid until {}", fmt_date(d)));
            format!(
                "{department} certification: {} ({}){until}",
                level.as_str(),
                level.label_zh()
            )
        }
        K::Rating { agency, score } => format!("rating {score} by {}", clip(agency)),
        K::Warned { listing } => format!("negative-list warning {}", clip(listing)),
        K::Listed { listing } => {
            format!("listed on the credit negative list ({})", clip(listing))
        }
        K::Delisted { listing } => format!("negative-list entry {} ended", clip(listing)),
    }
}
