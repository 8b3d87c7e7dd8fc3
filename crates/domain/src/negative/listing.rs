//! The credit negative list: warnings and listings of enterprises and persons, and the appeal and
//! credit-repair workflow around each of them.
//!
//! A listing is a small state machine. The engine stores it, gives it its id, and calls
//! [`Listing::act`] with the regulator's or the subject's action and `now`; a refused action returns
//! an error and leaves the listing exactly as it was, an accepted one appends to the audit trail.
//! Deadlines count in Beijing calendar days, like the return window of clearance, so "within 60
//! days" includes the whole 60th day.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::subject::{Department, Subject};
use crate::time::{CivilDate, Timestamp};

/// Why a subject is on the list (Seed-ZJ-Plan §三(五): 商业欺诈、知识产权侵权、制假售假; rules.md §5.2 adds
/// identity misuse and resale for individuals).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    CommercialFraud,
    IprInfringement,
    Counterfeiting,
    Smuggling,
    IdentityMisuse,
    Resale,
    TaxDefault,
    FalseDeclaration,
    Other,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::CommercialFraud,
        Category::IprInfringement,
        Category::Counterfeiting,
        Category::Smuggling,
        Category::IdentityMisuse,
        Category::Resale,
        Category::TaxDefault,
        Category::FalseDeclaration,
        Category::Other,
    ];

    /// The serde name, also used in settings files, the CLI and the HTTP API.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::CommercialFraud => "commercial_fraud",
            Category::IprInfringement => "ipr_infringement",
            Category::Counterfeiting => "counterfeiting",
            Category::Smuggling => "smuggling",
            Category::IdentityMisuse => "identity_misuse",
            Category::Resale => "resale",
            Category::TaxDefault => "tax_default",
            Category::FalseDeclaration => "false_declaration",
            Category::Other => "other",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Category::CommercialFraud => "Commercial fraud",
            Category::IprInfringement => "IPR infringement",
            Category::Counterfeiting => "Counterfeiting",
            Category::Smuggling => "Smuggling",
            Category::IdentityMisuse => "Identity misuse",
            Category::Resale => "Resale of personal imports",
            Category::TaxDefault => "Tax default",
            Category::FalseDeclaration => "False declaration",
            Category::Other => "Other serious dishonesty",
        }
    }

    /// The Chinese title shown on the public list.
    pub fn title_zh(self) -> &'static str {
        match self {
            Category::CommercialFraud => "商业欺诈",
            Category::IprInfringement => "知识产权侵权",
            Category::Counterfeiting => "制假售假",
            Category::Smuggling => "走私",
            Category::IdentityMisuse => "冒用他人身份",
            Category::Resale => "二次销售",
            Category::TaxDefault => "欠税",
            Category::FalseDeclaration => "虚假申报",
            Category::Other => "其他严重失信行为",
        }
    }

    /// Inverse of [`Category::as_str`].
    pub fn parse(s: &str) -> Option<Category> {
        let s = s.trim();
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious the entry is: the plan's two grades (对风险程度较低的信用风险予以警示发布; 重大失信 →
/// 列入信用管理负面清单). Only `Listed` blocks; a warning feeds credit and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 警示 — a published warning for a low-risk credit issue.
    Warning,
    /// 列入负面清单 — serious dishonesty: entry ban beforehand, full inspection in flight.
    Listed,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Listed => "listed",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim() {
            "warning" => Some(Severity::Warning),
            "listed" => Some(Severity::Listed),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a listing stands in its workflow. The first three are open (the listing is in force
/// between its start and its expiry); the last three are closed for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingState {
    Active,
    /// An appeal (申诉) is pending; the listing stays in force until it is decided.
    Appealed,
    /// A credit-repair (信用修复) request is pending; the listing stays in force until it is decided.
    RepairRequested,
    /// Overturned on appeal, or withdrawn by the listing department.
    Revoked,
    /// Lifted early after an approved credit repair.
    Repaired,
    /// Ran its full term.
    Expired,
}

impl ListingState {
    pub fn as_str(self) -> &'static str {
        match self {
            ListingState::Active => "active",
            ListingState::Appealed => "appealed",
            ListingState::RepairRequested => "repair_requested",
            ListingState::Revoked => "revoked",
            ListingState::Repaired => "repaired",
            ListingState::Expired => "expired",
        }
    }

    /// Open states can still change and keep the listing in force.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ListingState::Active | ListingState::Appealed | ListingState::RepairRequested
        )
    }
}

impl fmt::Display for ListingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the audit trail: who did what to the listing, and when. Notes hold the reasons and
/// decisions given; never the evidence, which stays in [`Listing::evidence`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    /// `listed`, `warned`, `appealed`, `appeal_upheld`, `appeal_overturned`, `repair_requested`,
    /// `repair_approved`, `repair_refused`, `withdrawn`, `expired`.
    pub action: String,
    pub note: String,
}

/// 申诉 — the subject's objection that the listing is wrong. At most one per listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    pub filed_at: Timestamp,
    pub reason: String,
    pub decided_at: Option<Timestamp>,
    /// `Some(true)`: the listing was upheld (stays in force); `Some(false)`: overturned (revoked).
    pub upheld: Option<bool>,
    /// The decision's reasoning.
    pub note: String,
}

/// 信用修复 — the subject's request to lift a justified listing early, after a waiting period, on
/// evidence of correction. The latest request only; earlier refused ones are in the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repair {
    pub requested_at: Timestamp,
    /// What the subject has done to correct the dishonesty (paid the tax, recalled the goods …).
    pub evidence: String,
    pub decided_at: Option<Timestamp>,
    pub approved: Option<bool>,
    pub note: String,
}

/// What a department enters to list or warn a subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewListing {
    pub subject: Subject,
    /// The enterprise's name for the public list. Must be `None` for persons: they never appear by
    /// name anywhere.
    pub name: Option<String>,
    pub category: Category,
    pub severity: Severity,
    pub department: Department,
    /// The grounds (case number, findings). Never public.
    pub evidence: String,
    /// `None` = now.
    pub effective_from: Option<Timestamp>,
    /// `None` = the default duration for the severity, counted from the start.
    pub expires_at: Option<Timestamp>,
}

/// 信用负面清单条目 — one warning or listing of one subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub id: String,
    pub subject: Subject,
    pub name: Option<String>,
    pub category: Category,
    pub severity: Severity,
    pub department: Department,
    pub evidence: String,
    pub effective_from: Timestamp,
    /// Exclusive: the listing is no longer in force from this instant.
    pub expires_at: Timestamp,
    pub state: ListingState,
    pub appeal: Option<Appeal>,
    pub repair: Option<Repair>,
    pub audit: Vec<AuditEntry>,
    pub created_at: Timestamp,
    /// When the listing reached a closed state (revoked, repaired, expired).
    pub closed_at: Option<Timestamp>,
}

/// What the subject (appeal, repair request) or the regulator (decisions, withdrawal) does to a
/// listing. Who may send which is the engine's business (roles); the listing checks only the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ListingAction {
    /// The subject contests the listing, within the appeal window.
    Appeal { reason: String },
    /// `upheld: true` keeps the listing in force; `false` overturns it (state `revoked`).
    DecideAppeal { upheld: bool, note: String },
    /// The subject asks for early removal, once the repair wait is over.
    RequestRepair { evidence: String },
    /// `approved: true` lifts the listing (state `repaired`); `false` keeps it in force.
    DecideRepair { approved: bool, note: String },
    /// The listing department takes its listing back (error, superseded decision).
    Withdraw { note: String },
}

/// The workflow's periods, in days. Every figure is [U]: the plan and Decree 282 name appeal and
/// credit repair but publish no periods here; the defaults follow common administrative practice
/// (60 days to object, 30 to decide) and Decree 251's long listing terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListingSettings {
    /// Days after the listing takes effect within which the subject may appeal [U].
    pub appeal_window_days: i64,
    /// Days the regulator has to decide an appeal, from its filing [U].
    pub appeal_decision_days: i64,
    /// Days after a warning takes effect before repair may be requested [U].
    pub repair_wait_days_warning: i64,
    /// Days after a listing takes effect before repair may be requested [U].
    pub repair_wait_days_listed: i64,
    /// Days the regulator has to decide a repair request, from its filing [U].
    pub repair_decision_days: i64,
    /// Default term of a warning [U].
    pub duration_days_warning: i64,
    /// Default term of a listing [U].
    pub duration_days_listed: i64,
}

impl Default for ListingSettings {
    fn default() -> Self {
        ListingSettings {
            appeal_window_days: 60,
            appeal_decision_days: 30,
            repair_wait_days_warning: 90,
            repair_wait_days_listed: 365,
            repair_decision_days: 30,
            duration_days_warning: 365,
            duration_days_listed: 1095,
        }
    }
}

/// A hundred years: longer periods are typing errors, and the bound keeps date arithmetic exact.
const MAX_DAYS: i64 = 36_500;

impl ListingSettings {
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(&str, i64, i64); 7] = [
            ("appeal_window_days", self.appeal_window_days, 0),
            ("appeal_decision_days", self.appeal_decision_days, 1),
            ("repair_wait_days_warning", self.repair_wait_days_warning, 0),
            ("repair_wait_days_listed", self.repair_wait_days_listed, 0),
            ("repair_decision_days", self.repair_decision_days, 1),
            ("duration_days_warning", self.duration_days_warning, 1),
            ("duration_days_listed", self.duration_days_listed, 1),
        ];
        for (name, value, min) in checks {
            if !(min..=MAX_DAYS).contains(&value) {
                return Err(format!(
                    "{name} must be between {min} and {MAX_DAYS} days, not {value}"
                ));
            }
        }
        Ok(())
    }

    fn repair_wait_days(&self, severity: Severity) -> i64 {
        match severity {
            Severity::Warning => self.repair_wait_days_warning,
            Severity::Listed => self.repair_wait_days_listed,
        }
    }

    fn duration_days(&self, severity: Severity) -> i64 {
        match severity {
            Severity::Warning => self.duration_days_warning,
            Severity::Listed => self.duration_days_listed,
        }
    }
}

/// The workflow's deadlines for one listing, as instants. Boundaries: an appeal is accepted while
/// `now < appeal_until`; a repair request from `repair_from` on; a pending decision is overdue from
/// `decision_due` on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    pub appeal_until: Timestamp,
    /// For the pending appeal or repair request; `None` when nothing is pending.
    pub decision_due: Option<Timestamp>,
    pub repair_from: Timestamp,
}

/// What the public query shows of a listing: who, why in one word, by whom, for how long. Never the
/// evidence, the audit trail, the appeal, or any person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicListing {
    /// The enterprise's customs code.
    pub code: String,
    pub name: Option<String>,
    pub category: Category,
    pub department: Department,
    pub effective_from: Timestamp,
    pub expires_at: Timestamp,
    pub state: ListingState,
}

/// Why a listing could not be opened or an action was refused. Messages are for the person who
/// acted, with the date they need.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ListingError {
    #[error("{field} is required")]
    Missing { field: String },
    #[error("a listing of a person carries no name: persons never appear by name")]
    PersonWithName,
    #[error("the expiry ({expires}) must be after the start ({starts})")]
    ExpiryNotAfterStart { starts: String, expires: String },
    #[error("the expiry ({expires}) is already past")]
    ExpiryPast { expires: String },
    #[error("invalid listing settings: {0}")]
    Settings(String),
    #[error("the listing is closed ({state}) and can no longer change")]
    Closed { state: ListingState },
    #[error("the listing expired on {on}")]
    Expired { on: String },
    #[error("the appeal window closed on {closed_on}")]
    AppealWindowClosed { closed_on: String },
    #[error(
        "the listing was already appealed (decided on {decided_on}); a listing is appealed once"
    )]
    AlreadyAppealed { decided_on: String },
    #[error("an appeal is pending: wait for its decision")]
    AppealPending,
    #[error("a repair request is pending: wait for its decision")]
    RepairPending,
    #[error("repair may be requested from {from}")]
    RepairTooEarly { from: String },
    #[error("there is no pending {what} to decide")]
    NothingPending { what: String },
}

/// `YYYY-MM-DD`, for messages.
fn iso(d: CivilDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// The Beijing date of the last instant before `t`: the last day of a window that ends at `t`.
fn last_day_before(t: Timestamp) -> CivilDate {
    Timestamp(t.0.saturating_sub(1)).beijing_date()
}

/// The instant ending the Beijing day `days` after the date of `t` (day 0 = the date of `t`).
fn end_of_day_after(t: Timestamp, days: i64) -> Timestamp {
    t.beijing_date()
        .add_days(days.saturating_add(1))
        .beijing_midnight()
}

/// The instant starting the Beijing day `days` after the date of `t`.
fn start_of_day_after(t: Timestamp, days: i64) -> Timestamp {
    t.beijing_date().add_days(days).beijing_midnight()
}

fn required(field: &str, value: &str) -> Result<(), ListingError> {
    if value.trim().is_empty() {
        Err(ListingError::Missing {
            field: field.to_owned(),
        })
    } else {
        Ok(())
    }
}

impl Listing {
    /// Opens a warning or listing. The default term runs from the Beijing date it takes effect to the
    /// start of the same date `duration_days` later, so a 365-day listing from 15 January ends as
    /// the next 15 January begins.
    pub fn open(
        id: String,
        new: NewListing,
        actor: &str,
        now: Timestamp,
        s: &ListingSettings,
    ) -> Result<Listing, ListingError> {
        s.validate().map_err(ListingError::Settings)?;
        required("id", &id)?;
        required("actor", actor)?;
        required("evidence", &new.evidence)?;
        match &new.subject {
            Subject::Enterprise(code) => required("enterprise code", code)?,
            Subject::Person(key) => {
                required("buyer key", &key.0)?;
                if new.name.is_some() {
                    return Err(ListingError::PersonWithName);
                }
            }
        }
        if let Some(name) = &new.name {
            required("name", name)?;
        }
        let effective_from = new.effective_from.unwrap_or(now);
        let expires_at = new
            .expires_at
            .unwrap_or_else(|| start_of_day_after(effective_from, s.duration_days(new.severity)));
        if expires_at <= effective_from {
            return Err(ListingError::ExpiryNotAfterStart {
                starts: iso(effective_from.beijing_date()),
                expires: iso(expires_at.beijing_date()),
            });
        }
        if expires_at <= now {
            return Err(ListingError::ExpiryPast {
                expires: iso(expires_at.beijing_date()),
            });
        }
        let action = match new.severity {
            Severity::Warning => "warned",
            Severity::Listed => "listed",
        };
        let note = format!(
            "{} ({}) by {}",
            new.category.as_str(),
            new.category.title_zh(),
            new.department
        );
        Ok(Listing {
            id,
            subject: new.subject,
            name: new.name.map(|n| n.trim().to_owned()),
            category: new.category,
            severity: new.severity,
            department: new.department,
            evidence: new.evidence,
            effective_from,
            expires_at,
            state: ListingState::Active,
            appeal: None,
            repair: None,
            audit: vec![AuditEntry {
                at: now,
                actor: actor.to_owned(),
                action: action.to_owned(),
                note,
            }],
            created_at: now,
            closed_at: None,
        })
    }

    /// Applies one workflow step. All checks run before anything changes, so a refused action leaves
    /// the listing exactly as it was.
    pub fn act(
        &mut self,
        action: &ListingAction,
        actor: &str,
        now: Timestamp,
        s: &ListingSettings,
    ) -> Result<(), ListingError> {
        s.validate().map_err(ListingError::Settings)?;
        required("actor", actor)?;
        if !self.state.is_open() {
            return Err(ListingError::Closed { state: self.state });
        }
        if now >= self.expires_at {
            return Err(ListingError::Expired {
                on: iso(last_day_before(self.expires_at)),
            });
        }
        let d = self.deadlines(s);
        let (audit_action, note) = match action {
            ListingAction::Appeal { reason } => {
                required("appeal reason", reason)?;
                self.refuse_if_pending()?;
                if let Some(a) = &self.appeal {
                    return Err(ListingError::AlreadyAppealed {
                        decided_on: iso(a.decided_at.unwrap_or(a.filed_at).beijing_date()),
                    });
                }
                if now >= d.appeal_until {
                    return Err(ListingError::AppealWindowClosed {
                        closed_on: iso(last_day_before(d.appeal_until)),
                    });
                }
                self.appeal = Some(Appeal {
                    filed_at: now,
                    reason: reason.clone(),
                    decided_at: None,
                    upheld: None,
                    note: String::new(),
                });
                self.state = ListingState::Appealed;
                ("appealed", reason.clone())
            }
            ListingAction::DecideAppeal { upheld, note } => {
                required("decision note", note)?;
                let Some(appeal) = self
                    .appeal
                    .as_mut()
                    .filter(|_| self.state == ListingState::Appealed)
                else {
                    return Err(ListingError::NothingPending {
                        what: "appeal".to_owned(),
                    });
                };
                appeal.decided_at = Some(now);
                appeal.upheld = Some(*upheld);
                appeal.note = note.clone();
                if *upheld {
                    self.state = ListingState::Active;
                    ("appeal_upheld", note.clone())
                } else {
                    self.close(ListingState::Revoked, now);
                    ("appeal_overturned", note.clone())
                }
            }
            ListingAction::RequestRepair { evidence } => {
                required("repair evidence", evidence)?;
                self.refuse_if_pending()?;
                if now < d.repair_from {
                    return Err(ListingError::RepairTooEarly {
                        from: iso(d.repair_from.beijing_date()),
                    });
                }
                self.repair = Some(Repair {
                    requested_at: now,
                    evidence: evidence.clone(),
                    decided_at: None,
                    approved: None,
                    note: String::new(),
                });
                self.state = ListingState::RepairRequested;
                // The repair evidence may name people or cases; the trail only records the request.
                ("repair_requested", String::new())
            }
            ListingAction::DecideRepair { approved, note } => {
                required("decision note", note)?;
                let Some(repair) = self
                    .repair
                    .as_mut()
                    .filter(|_| self.state == ListingState::RepairRequested)
                else {
                    return Err(ListingError::NothingPending {
                        what: "repair request".to_owned(),
                    });
                };
                repair.decided_at = Some(now);
                repair.approved = Some(*approved);
                repair.note = note.clone();
                if *approved {
                    self.close(ListingState::Repaired, now);
                    ("repair_approved", note.clone())
                } else {
                    self.state = ListingState::Active;
                    ("repair_refused", note.clone())
                }
            }
            ListingAction::Withdraw { note } => {
                required("withdrawal note", note)?;
                self.close(ListingState::Revoked, now);
                ("withdrawn", note.clone())
            }
        };
        self.audit.push(AuditEntry {
            at: now,
            actor: actor.to_owned(),
            action: audit_action.to_owned(),
            note,
        });
        Ok(())
    }

    fn refuse_if_pending(&self) -> Result<(), ListingError> {
        match self.state {
            ListingState::Appealed => Err(ListingError::AppealPending),
            ListingState::RepairRequested => Err(ListingError::RepairPending),
            _ => Ok(()),
        }
    }

    fn close(&mut self, state: ListingState, now: Timestamp) {
        self.state = state;
        self.closed_at = Some(now);
    }

    /// Closes an open listing whose term has run out. A pending appeal or repair is left undecided:
    /// there is nothing left to decide. Called by the engine's housekeeping; audited as `system`.
    pub fn expire(&mut self, now: Timestamp) -> bool {
        if !self.state.is_open() || now < self.expires_at {
            return false;
        }
        self.close(ListingState::Expired, now);
        self.audit.push(AuditEntry {
            at: now,
            actor: "system".to_owned(),
            action: "expired".to_owned(),
            note: format!("term ended on {}", iso(last_day_before(self.expires_at))),
        });
        true
    }

    /// Whether the listing has effect now. It stays in force while an appeal or repair is pending:
    /// filing an objection must not be a way out of the ban.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.state.is_open() && self.effective_from <= now && now < self.expires_at
    }

    /// Whether the engine must refuse filings and new declarations of the subject (事前准入禁止).
    /// Warnings never block.
    pub fn blocks(&self, now: Timestamp) -> bool {
        self.severity == Severity::Listed && self.in_force(now)
    }

    pub fn deadlines(&self, s: &ListingSettings) -> Deadlines {
        let decision_due = match self.state {
            ListingState::Appealed => self
                .appeal
                .as_ref()
                .map(|a| end_of_day_after(a.filed_at, s.appeal_decision_days)),
            ListingState::RepairRequested => self
                .repair
                .as_ref()
                .map(|r| end_of_day_after(r.requested_at, s.repair_decision_days)),
            _ => None,
        };
        Deadlines {
            appeal_until: end_of_day_after(self.effective_from, s.appeal_window_days),
            decision_due,
            repair_from: start_of_day_after(self.effective_from, s.repair_wait_days(self.severity)),
        }
    }

    /// A pending appeal or repair request whose decision is late: the regulator's queue shows these
    /// first.
    pub fn overdue(&self, now: Timestamp, s: &ListingSettings) -> bool {
        self.deadlines(s).decision_due.is_some_and(|due| now >= due)
    }

    /// The public query's view (有序公开): enterprises listed and in force only. Persons, warnings and
    /// closed or expired listings are not public.
    pub fn public_view(&self, now: Timestamp) -> Option<PublicListing> {
        let code = self.subject.enterprise()?;
        if !self.blocks(now) {
            return None;
        }
        Some(PublicListing {
            code: code.to_owned(),
            name: self.name.clone(),
            category: self.category,
            department: self.department,
            effective_from: self.effective_from,
            expires_at: self.expires_at,
            state: self.state,
        })
    }
}
