//! 信用与风险 — credit and risk inside clearance ("一库三系统" and the four risk mechanisms).
//!
//! The clearance engine owns one [`Supervision`]: the credit database (one [`CreditRecord`] per
//! enterprise, and per buyer once something notable happens to them), the risk index and rule
//! settings, the alerts with their collection → assessment → disposal → review lifecycle, the
//! inspection tasks, the credit negative list, the trade-control list of goods and the recalls.
//! Every change arrives as a journaled [`Command`](super::Command), so replaying the journal
//! rebuilds all of it; every object is persisted as a state row and projected as a record for the
//! regulators' queues and the enterprises' own views.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Decision, Engine};
use crate::clearance::catalogue::{ErrorCode, Rejection, info};
use crate::clearance::model::{Inventory, Order, Payment};
use crate::clearance::receipt::{DeclarationId, Receipt};
use crate::credit::{
    CertLevel, CreditEvent, CreditEventKind, CreditRecord, Explanation, Grade, SupervisionClass,
    Treatment, sampled,
};
use crate::negative::{
    Category, Control, ControlEntry, ControlList, GoodsLine, GoodsMatch, Listing, ListingAction,
    NewListing, Recall, Severity,
};
use crate::personal::{self, BuyerKey};
use crate::risk::{
    ReferencePrices, RiskConfig, RiskHit, RiskIndex, RiskInput, RiskLine, RuleChange, RuleId,
    RuleMode,
};
use crate::subject::{Department, Subject};
use crate::time::{CivilDate, Timestamp};

const DAY_MS: i64 = 86_400_000;

/// Who performs a supervision action. Regulators act for their department; enterprises act on
/// what concerns them (an appeal of their own listing); `System` is the engine's own escalation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    System,
    Admin,
    Regulator(Department),
    Enterprise(String),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::System => "system".into(),
            Actor::Admin => "admin".into(),
            Actor::Regulator(d) => format!("regulator:{d}"),
            Actor::Enterprise(code) => code.clone(),
        }
    }

    fn department(&self) -> Option<Department> {
        match self {
            Actor::Regulator(d) => Some(*d),
            _ => None,
        }
    }
}

/// Whom an action names: an enterprise, a buyer by keyed hash (as alerts show them), or a person
/// by name and ID number (hashed on arrival; the clear values never leave the journal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SubjectRef {
    Enterprise { code: String },
    Buyer { key: String },
    Person { name: String, id_number: String },
}

/// 风险等级 — the level a regulator assigns when assessing an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    Low,
    Medium,
    High,
}

/// 预警处置 — what a regulator does about an assessed alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposal {
    /// Nothing to do.
    NoAction,
    /// A negative-list warning (警示) to the alert's subject.
    Warning,
    /// Send the held declaration to physical inspection.
    Inspection,
    /// Release the held declaration.
    Release,
    /// Reject the held declaration.
    Reject,
}

/// Where an alert is in the four-stage process (采集 → 评估 → 预警处置 → 复查).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Open,
    Assessed,
    Disposed,
    Reviewed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Assessed => "assessed",
            AlertState::Disposed => "disposed",
            AlertState::Reviewed => "reviewed",
        }
    }
}

/// One step in the life of an alert, an inspection task or a recall.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub note: String,
}

/// 风险预警 — one rule hit on one declaration, with its evidence and lifecycle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub hit: RiskHit,
    pub declaration: DeclarationId,
    /// Whom the rule points at (the buyer for behaviour rules, the seller for pricing …).
    pub subjects: Vec<Subject>,
    /// The seller of the declaration, for filtering (alerts are never shown to enterprises).
    pub ebc_code: String,
    pub created_at: Timestamp,
    pub state: AlertState,
    pub level: Option<AlertLevel>,
    pub disposal: Option<Disposal>,
    /// The review's verdict: was the alert a true positive?
    pub confirmed: Option<bool>,
    pub steps: Vec<Step>,
}

/// Whether a held declaration went to inspection, and the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Open,
    Passed,
    Failed,
    /// The declaration ended otherwise (recall, cancellation) before a finding.
    Closed,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Open => "open",
            TaskState::Passed => "passed",
            TaskState::Failed => "failed",
            TaskState::Closed => "closed",
        }
    }
}

/// 查验任务 — a physical inspection of one declaration's goods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InspectionTask {
    pub id: String,
    pub declaration: DeclarationId,
    pub invt_no: Option<String>,
    pub ebc_code: String,
    /// Why it was selected: risk rules, sampling by credit class, a listing.
    pub reasons: Vec<String>,
    /// 0 first (credit class priority).
    pub priority: u8,
    /// Who answers for a failed finding: the subjects of the risk hits that selected it (the
    /// buyer for behaviour rules, the seller for pricing …), or the seller when it was sampled.
    #[serde(default)]
    pub subjects: Vec<Subject>,
    pub created_at: Timestamp,
    pub state: TaskState,
    pub finding: Option<String>,
    pub steps: Vec<Step>,
}

/// One declaration a recall touched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecallHit {
    pub declaration: DeclarationId,
    pub invt_no: Option<String>,
    pub gnum: u32,
    /// CEB622 status before the recall; `800` = already with the buyer.
    pub status: i32,
    pub stopped: bool,
    pub buyer: Option<BuyerKey>,
    /// Masked name and phone, so the inspection department can have the platform reach the buyer.
    pub buyer_masked: String,
    pub phone_masked: String,
    pub released_at: Option<Timestamp>,
}

/// 召回 with what it found when issued: in-flight declarations stopped, past buyers listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecallRecord {
    pub recall: Recall,
    pub hits: Vec<RecallHit>,
}

/// Precision of one rule, from the alerts the regulators reviewed (复查完善).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStats {
    pub alerts: u64,
    pub observed: u64,
    pub reviewed: u64,
    pub confirmed: u64,
}

impl RuleStats {
    /// Confirmed share of reviewed alerts, in percent with two decimals; `None` before any review.
    pub fn precision(&self) -> Option<Decimal> {
        (self.reviewed > 0).then(|| {
            (Decimal::from(self.confirmed) * Decimal::from(100) / Decimal::from(self.reviewed))
                .round_dp(2)
        })
    }
}

/// How risk and credit turn into a decision. All [U]; documented in docs/risk-rules.md.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Risk score (sum of the On-mode hits) from which a declaration is held for document review.
    pub review_score: u32,
    /// Risk score from which it goes to physical inspection.
    pub inspect_score: u32,
    /// Risk score from which it is rejected outright; 0 = never.
    pub reject_score: u32,
    /// Random inspection by credit class (分类分级 sampling); off only for tests and drills.
    pub sampling: bool,
    /// On-mode alerts against one enterprise within `escalation_days` that earn it an automatic
    /// warning (警示); 0 = never.
    pub auto_warning_alerts: u32,
    pub escalation_days: i64,
    /// Whether an enterprise whose credit falls to DISHONEST on the evidence (failed inspections,
    /// overdue tax, a customs finding) is put on the negative list by the system, pending appeal.
    pub auto_listing: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            review_score: 30,
            inspect_score: 60,
            reject_score: 0,
            sampling: true,
            auto_warning_alerts: 3,
            escalation_days: 30,
            auto_listing: true,
        }
    }
}

/// What the supervision step advises for one matched declaration; the [`Decider`](super::Decider)
/// sees it and gives the decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Advice {
    /// Sum of the scores of the On-mode hits.
    pub risk_score: u32,
    pub hits: Vec<RiskHit>,
    /// The strictest class among the declaration's parties (and its buyer, once on record).
    pub class: SupervisionClass,
    pub treatment: Treatment,
    /// Selected by the class's random inspection rate.
    pub sampled: bool,
    /// Why inspection is compulsory (a party listed while the declaration was in flight).
    pub forced: Option<String>,
    /// Why it must be refused (a listed party, a recall) — beats everything else.
    pub refused: Option<Rejection>,
    /// The policy's decision.
    pub decision: Decision,
    /// The reasons in words, for the inspection task and the regulator's queue.
    pub reasons: Vec<String>,
}

/// What the supervision step needs from the documents, taken while they are borrowed.
pub(crate) struct Screen {
    parties: [String; 5],
    recalled: Option<(String, u32)>,
}

/// A supervision record for the store's projection: what queues and self-service views read.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordChange {
    pub kind: &'static str,
    pub key: String,
    pub party: Option<String>,
    pub status: String,
    pub updated_at: Timestamp,
    pub body: String,
}

/// A journaled supervision action. Each is validated by the engine against the state it finds;
/// a refused action changes nothing and says why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// A department's certification of an enterprise (customs AEO, tax, market supervision …).
    Certify {
        enterprise: String,
        level: CertLevel,
        #[serde(default)]
        valid_until: Option<CivilDate>,
    },
    /// A third-party credit service's rating (0–100).
    Rate {
        enterprise: String,
        agency: String,
        score: u8,
    },
    /// A consumer complaint, upheld or not.
    Complaint {
        enterprise: String,
        upheld: bool,
        #[serde(default)]
        note: String,
    },
    /// The tax of a released inventory was paid on this day (on time or late).
    TaxPaid {
        invt_no: String,
        paid_on: CivilDate,
    },
    /// Put a subject on the credit negative list (or warn it).
    List {
        subject: SubjectRef,
        #[serde(default)]
        name: Option<String>,
        category: Category,
        severity: Severity,
        evidence: String,
        #[serde(default)]
        effective_from: Option<Timestamp>,
        #[serde(default)]
        expires_at: Option<Timestamp>,
    },
    /// Appeal, repair and their decisions on a listing.
    Listing {
        id: String,
        step: ListingAction,
    },
    /// Add goods to the trade-control negative list.
    Control {
        matcher: GoodsMatch,
        control: Control,
        reason: String,
        #[serde(default)]
        until: Option<Timestamp>,
    },
    Uncontrol {
        id: String,
    },
    /// A product recall by the inspection department.
    Recall {
        matcher: GoodsMatch,
        #[serde(default)]
        seller: Option<String>,
        reason: String,
    },
    LiftRecall {
        id: String,
    },
    /// Switch a risk rule on, off or to observe-only, or change its score or parameters.
    ConfigureRule {
        rule: String,
        #[serde(default)]
        mode: Option<RuleMode>,
        #[serde(default)]
        score: Option<u32>,
        #[serde(default)]
        params: Option<serde_json::Value>,
    },
    /// Reference prices for the undervaluation rule (CSV: hs,unit,reference_price,note).
    ReferencePrices {
        csv: String,
    },
    AssessAlert {
        id: String,
        level: AlertLevel,
        #[serde(default)]
        note: String,
    },
    DisposeAlert {
        id: String,
        disposal: Disposal,
        #[serde(default)]
        note: String,
    },
    ReviewAlert {
        id: String,
        confirmed: bool,
        #[serde(default)]
        note: String,
    },
    /// The finding of a physical inspection.
    Finding {
        task: String,
        passed: bool,
        #[serde(default)]
        reason: String,
    },
    /// The decision on a declaration held for document review.
    Conclude {
        declaration: DeclarationId,
        release: bool,
        #[serde(default)]
        reason: String,
    },
    /// 委托 / 入驻 — an enterprise files an entrustment with a partner, who accepts or declines
    /// it; the administrator files one of the registry between two enterprises (in force at once).
    Entrust {
        /// The filing enterprise: the actor itself, or named by the administrator.
        #[serde(default)]
        principal: Option<String>,
        partner: String,
        #[serde(default)]
        valid_from: Option<CivilDate>,
        #[serde(default)]
        valid_until: Option<CivilDate>,
    },
    /// A party accepts, declines or revokes an entrustment.
    Entrustment {
        id: String,
        step: crate::entrustment::EntrustmentStep,
    },
    /// The system adopts a newer version of the rules at this point of the journal, with the
    /// entrustments implied by the traffic before it (pairs of enterprise codes).
    AdoptRules {
        version: u32,
        #[serde(default)]
        implied: Vec<(String, String)>,
    },
}

impl Action {
    /// Short name for logs and the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Certify { .. } => "certify",
            Action::Rate { .. } => "rate",
            Action::Complaint { .. } => "complaint",
            Action::TaxPaid { .. } => "tax_paid",
            Action::List { .. } => "list",
            Action::Listing { .. } => "listing",
            Action::Control { .. } => "control",
            Action::Uncontrol { .. } => "uncontrol",
            Action::Recall { .. } => "recall",
            Action::LiftRecall { .. } => "lift_recall",
            Action::ConfigureRule { .. } => "configure_rule",
            Action::ReferencePrices { .. } => "reference_prices",
            Action::AssessAlert { .. } => "assess_alert",
            Action::DisposeAlert { .. } => "dispose_alert",
            Action::ReviewAlert { .. } => "review_alert",
            Action::Finding { .. } => "finding",
            Action::Conclude { .. } => "conclude",
            Action::Entrust { .. } => "entrust",
            Action::Entrustment { .. } => "entrustment",
            Action::AdoptRules { .. } => "adopt_rules",
        }
    }
}

/// The outcome of an action: what it created or changed, or why it was refused.
pub type Outcome = Result<serde_json::Value, Refused>;

/// What kind of refusal: the API answers 403, 404 or 409 by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusedKind {
    /// The actor's department or role may not take this action.
    Forbidden,
    /// What the action names does not exist.
    NotFound,
    /// The action does not fit the state it finds, or its content is not acceptable.
    Conflict,
}

/// Why the engine refused an action; nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub kind: RefusedKind,
    pub message: String,
}

impl Refused {
    pub fn forbidden(message: impl Into<String>) -> Refused {
        Refused {
            kind: RefusedKind::Forbidden,
            message: message.into(),
        }
    }

    pub fn missing(message: impl Into<String>) -> Refused {
        Refused {
            kind: RefusedKind::NotFound,
            message: message.into(),
        }
    }
}

impl From<String> for Refused {
    fn from(message: String) -> Refused {
        Refused {
            kind: RefusedKind::Conflict,
            message,
        }
    }
}

impl From<&str> for Refused {
    fn from(message: &str) -> Refused {
        Refused::from(message.to_owned())
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// All supervision state of the engine.
#[derive(Clone, Debug, Default)]
pub(crate) struct Supervision {
    pub(crate) credit: BTreeMap<Subject, CreditRecord>,
    pub(crate) risk: RiskIndex,
    pub(crate) rules: RiskConfig,
    pub(crate) refs: ReferencePrices,
    pub(crate) stats: BTreeMap<RuleId, RuleStats>,
    pub(crate) alerts: BTreeMap<String, Alert>,
    pub(crate) tasks: BTreeMap<String, InspectionTask>,
    pub(crate) listings: BTreeMap<String, Listing>,
    pub(crate) controls: ControlList,
    pub(crate) recalls: BTreeMap<String, RecallRecord>,
    pub(crate) serial: u64,
    /// The Beijing day of the last daily pass (listing expiry, credit windows).
    pub(crate) day: Option<CivilDate>,
    /// Open task per declaration.
    pub(crate) task_of: BTreeMap<DeclarationId, String>,
    /// Listings per subject (any state).
    pub(crate) listed: BTreeMap<Subject, BTreeSet<String>>,
    /// Recent On-mode alert times per enterprise, for automatic warnings.
    pub(crate) recent_alerts: BTreeMap<String, VecDeque<(Timestamp, u64)>>,
    pub(crate) dirty_credit: BTreeSet<Subject>,
    pub(crate) dirty_alerts: BTreeSet<String>,
    pub(crate) dirty_tasks: BTreeSet<String>,
    pub(crate) dirty_listings: BTreeSet<String>,
    pub(crate) dirty_recalls: BTreeSet<String>,
    pub(crate) dirty_controls: bool,
    pub(crate) dirty_rules: bool,
    pub(crate) dirty_refs: bool,
    pub(crate) dirty_meta: bool,
    pub(crate) outcome: Option<Outcome>,
}

pub(crate) const NS_CREDIT: &str = "credit";
pub(crate) const NS_ALERT: &str = "alert";
pub(crate) const NS_TASK: &str = "inspection";
pub(crate) const NS_LISTING: &str = "listing";
pub(crate) const NS_RECALL: &str = "recall";
pub(crate) const NS_SUPERVISION: &str = "supervision";

/// Everything in the `supervision` namespace that is one row each.
#[derive(Serialize, Deserialize)]
struct Meta {
    serial: u64,
    stats: BTreeMap<RuleId, RuleStats>,
    /// The Beijing day of the last daily pass.
    #[serde(default)]
    day: Option<CivilDate>,
}

/// The serial number inside an id such as `AL00000042`.
fn serial_of(id: &str) -> Option<u64> {
    id.get(2..)?.parse().ok()
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Keyed hash of a personal value other than the buyer identity (phone, address), so the risk
/// index compares them without holding them.
fn keyed(secret: &[u8], domain: &str, value: &str) -> String {
    personal::keyed_value(secret, domain, value)
}

fn goods_lines(i: &Inventory) -> Vec<GoodsLine<'_>> {
    i.lines
        .iter()
        .map(|l| GoodsLine {
            gnum: l.gnum,
            hs: l.gcode.as_str(),
            name: l.gname.as_str(),
            model: l.gmodel.as_str(),
            item_no: l.item_no.as_deref(),
            bar_code: l.bar_code.as_deref(),
        })
        .collect()
}

/// The subjects a rule points at.
fn rule_subjects(rule: RuleId, buyer: &BuyerKey, ebc: &str, pay: &str) -> Vec<Subject> {
    match rule {
        RuleId::R7 | RuleId::R9 => {
            vec![Subject::Enterprise(ebc.to_owned())]
        }
        // A payment time that cannot be is the payment institution's data.
        RuleId::R8 => vec![Subject::Enterprise(pay.to_owned())],
        _ => vec![Subject::Person(buyer.clone())],
    }
}

/// Who answers for what the On-mode hits found, without duplicates.
/// Only the strongest hits count: the evidence that weighs most says who the inspection is about
/// (a split-order ring that also trips a new seller's volume rule is the buyers' doing).
pub(crate) fn hit_subjects(
    hits: &[RiskHit],
    buyer: &BuyerKey,
    ebc: &str,
    pay: &str,
) -> Vec<Subject> {
    let mut out: Vec<Subject> = Vec::new();
    let on = || hits.iter().filter(|h| h.mode == RuleMode::On);
    let top = on().map(|h| h.score).max().unwrap_or(0);
    for h in on().filter(|h| h.score == top) {
        for s in rule_subjects(h.rule, buyer, ebc, pay) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// The negative-list category a disposal warning carries, by rule.
fn rule_category(rule: RuleId) -> Category {
    match rule {
        RuleId::R7 | RuleId::R8 | RuleId::R9 => Category::FalseDeclaration,
        RuleId::R6Address | RuleId::R6Id => Category::IdentityMisuse,
        _ => Category::Resale,
    }
}

impl Supervision {
    pub(crate) fn new() -> Supervision {
        Supervision {
            refs: ReferencePrices::builtin(),
            dirty_rules: true,
            dirty_refs: true,
            ..Supervision::default()
        }
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        self.dirty_meta = true;
        format!("{prefix}{:08}", self.serial)
    }

    fn step(actor: &Actor, action: &str, note: &str, now: Timestamp) -> Step {
        Step {
            at: now,
            actor: actor.label(),
            action: action.to_owned(),
            note: note.to_owned(),
        }
    }
}

impl Engine {
    /// Once per Beijing day, driven by the journal's own times (so a replay does the same): end the
    /// listings whose term is over, and move every credit record's windows on, so quiet subjects
    /// recover as old events age out.
    pub(crate) fn daily(&mut self, now: Timestamp) {
        let today = now.beijing_date();
        if self.sup.day.is_some_and(|d| d >= today) {
            return;
        }
        self.sup.day = Some(today);
        self.sup.dirty_meta = true;
        let expired: Vec<(String, Subject)> = self
            .sup
            .listings
            .iter_mut()
            .filter_map(|(id, l)| l.expire(now).then(|| (id.clone(), l.subject.clone())))
            .collect();
        for (id, subject) in expired {
            self.sup.dirty_listings.insert(id.clone());
            self.credit_event(subject, CreditEventKind::Delisted { listing: id }, now);
        }
        let model = self.settings.credit.clone();
        for (subject, record) in &mut self.sup.credit {
            if record.updated_at < now {
                record.refresh(now, &model);
                self.sup.dirty_credit.insert(subject.clone());
            }
        }
    }

    /// Feed one credit event to a subject's record (created on first use).
    pub(crate) fn credit_event(&mut self, subject: Subject, kind: CreditEventKind, now: Timestamp) {
        let model = &self.settings.credit;
        let record = self
            .sup
            .credit
            .entry(subject.clone())
            .or_insert_with(|| CreditRecord::new(subject.clone(), now, model));
        let change = record.apply(&CreditEvent { at: now, kind }, model);
        self.sup.dirty_credit.insert(subject.clone());
        if let Some(change) = change
            && change.to == Grade::Dishonest
            && self.settings.policy.auto_listing
            && let Subject::Enterprise(code) = &subject
            && !self.blocked(&subject, now)
        {
            let reason = format!(
                "credit grade fell to DISHONEST: {} (score {})",
                change.cause, change.score
            );
            let name = self.registry.get(code).map(|e| e.name.clone());
            let _ = self.open_listing(
                &Actor::System,
                NewListing {
                    subject: subject.clone(),
                    name,
                    category: Category::FalseDeclaration,
                    severity: Severity::Listed,
                    department: Department::Customs,
                    evidence: reason,
                    effective_from: None,
                    expires_at: None,
                },
                now,
            );
        }
    }

    /// Credit events for enterprises only if filed; buyers only when already on record or when
    /// the event is notable (the caller decides).
    pub(crate) fn credit_parties(
        &mut self,
        codes: &[&str],
        kind: &CreditEventKind,
        now: Timestamp,
    ) {
        let mut seen = BTreeSet::new();
        for code in codes {
            if code.is_empty() || !seen.insert(*code) || self.registry.get(code).is_none() {
                continue;
            }
            self.credit_event(Subject::Enterprise((*code).to_owned()), kind.clone(), now);
        }
    }

    /// Whether a subject is barred by a listing in force now.
    pub(crate) fn blocked(&self, subject: &Subject, now: Timestamp) -> bool {
        self.blocking_listing(subject, now).is_some()
    }

    fn blocking_listing(&self, subject: &Subject, now: Timestamp) -> Option<&Listing> {
        self.sup
            .listed
            .get(subject)?
            .iter()
            .filter_map(|id| self.sup.listings.get(id))
            .find(|l| l.blocks(now))
    }

    /// 事前准入禁止: a new document naming a listed enterprise is refused, unless it belongs to a
    /// declaration already in flight when the listing took effect.
    pub(crate) fn barred(
        &self,
        codes: &[&str],
        declaration: Option<&DeclarationId>,
        now: Timestamp,
    ) -> Result<(), Rejection> {
        if self.sup.listed.is_empty() {
            return Ok(());
        }
        let created = declaration
            .and_then(|id| self.decls.get(id))
            .map(|d| d.created_at);
        for code in codes {
            if code.is_empty() {
                continue;
            }
            let subject = Subject::Enterprise((*code).to_owned());
            if let Some(l) = self.blocking_listing(&subject, now)
                && created.is_none_or(|c| c >= l.effective_from)
            {
                return Err(Rejection::with(
                    ErrorCode::ListedEnterprise,
                    format!("{code}: {} ({})", l.category.title(), l.id),
                ));
            }
        }
        Ok(())
    }

    /// The trade-control list and recalls, on an arriving inventory.
    pub(crate) fn goods_check(&self, i: &Inventory, now: Timestamp) -> Result<(), Rejection> {
        if self.sup.controls.is_empty() && self.sup.recalls.is_empty() {
            return Ok(());
        }
        let lines = goods_lines(i);
        if let Some(hit) = self.sup.controls.check(&lines, now) {
            return Err(Rejection::with(
                ErrorCode::GoodsControlled,
                format!("{} ({})", hit.reason, hit.entry),
            ));
        }
        if let Some((id, gnum)) = self.recalled(i, now) {
            return Err(Rejection::with(
                ErrorCode::GoodsRecalled,
                format!("gnum={gnum} ({id})"),
            ));
        }
        Ok(())
    }

    fn recalled(&self, i: &Inventory, now: Timestamp) -> Option<(String, u32)> {
        let lines = goods_lines(i);
        self.sup.recalls.values().find_map(|r| {
            if !r.recall.active(now) {
                return None;
            }
            r.recall
                .matches(&i.ebc_code, &lines)
                .map(|g| (r.recall.id.clone(), g))
        })
    }

    /// What the risk rules see of a matched declaration (personal values as keyed hashes).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn risk_input(
        &self,
        id: &DeclarationId,
        o: &Order,
        p: &Payment,
        i: &Inventory,
        buyer: &BuyerKey,
        value: Decimal,
        used_before: Decimal,
        at: Timestamp,
    ) -> RiskInput {
        RiskInput {
            declaration: id.0.clone(),
            at,
            buyer: buyer.0.clone(),
            payer: personal::buyer_key(&self.secret, &p.payer_name, &p.payer_id_number).0,
            phone: keyed(&self.secret, "phone", &o.buyer_telephone),
            address: keyed(&self.secret, "address", &o.consignee_address),
            ebc_code: i.ebc_code.clone(),
            ebp_code: i.ebp_code.clone(),
            ebc_filed_at: self.registry.get(&i.ebc_code).map(|e| e.filed_at),
            value,
            single_limit: self.settings.single_limit,
            annual_limit: self.settings.annual_limit,
            quota_used_before: used_before,
            order_declared_at: o.app_time,
            paid_at: p.pay_time,
            inventory_declared_at: i.app_time,
            lines: i
                .lines
                .iter()
                .map(|l| RiskLine {
                    gnum: l.gnum,
                    hs: l.gcode.clone(),
                    qty: l.qty,
                    unit: l.unit.clone(),
                    unit_price: l.price,
                    total: l.total_price,
                })
                .collect(),
        }
    }

    /// The parties of a matched declaration whose listing matters (seller, platform, agent,
    /// logistics firm, payment institution) and whether a recall covers its goods.
    pub(crate) fn screen(&self, i: &Inventory, pay_code: &str, now: Timestamp) -> Screen {
        Screen {
            parties: [
                i.ebc_code.clone(),
                i.ebp_code.clone(),
                i.agent_code.clone(),
                i.logistics_code.clone(),
                pay_code.to_owned(),
            ],
            recalled: self.recalled(i, now),
        }
    }

    /// The supervision step of a matched declaration: collect risk hits, raise alerts, weigh
    /// credit, sample, and advise a decision.
    pub(crate) fn supervise(
        &mut self,
        id: &DeclarationId,
        input: RiskInput,
        screen: Screen,
        buyer: &BuyerKey,
        now: Timestamp,
    ) -> Advice {
        let mut reasons = Vec::new();
        // Refusals first: a recall, or a party or buyer listed before this declaration began.
        let mut refused = None;
        if let Some((rid, gnum)) = &screen.recalled {
            refused = Some(Rejection::with(
                ErrorCode::RecallStopped,
                format!("gnum={gnum} ({rid})"),
            ));
        }
        let created = self.decls.get(id).map(|d| d.created_at).unwrap_or(now);
        let mut forced = self.decls.get(id).and_then(|d| d.forced.clone());
        if refused.is_none() && !self.sup.listed.is_empty() {
            for code in &screen.parties {
                let subject = Subject::Enterprise(code.clone());
                if let Some(l) = self.blocking_listing(&subject, now) {
                    if created >= l.effective_from {
                        refused = Some(Rejection::with(
                            ErrorCode::ListedEnterprise,
                            format!("{code}: {} ({})", l.category.title(), l.id),
                        ));
                        break;
                    }
                    forced.get_or_insert_with(|| format!("{code} listed ({})", l.id));
                }
            }
        }
        let person = Subject::Person(buyer.clone());
        if refused.is_none()
            && let Some(l) = self.blocking_listing(&person, now)
        {
            if created >= l.effective_from {
                refused = Some(Rejection::with(
                    ErrorCode::ListedPerson,
                    format!("{} ({})", l.category.title(), l.id),
                ));
            } else {
                forced.get_or_insert_with(|| format!("buyer listed ({})", l.id));
            }
        }
        let [ebc, ebp, agent, _, pay] = &screen.parties;

        // 风险信息采集: the rules, inline.
        let hits = self
            .sup
            .risk
            .evaluate(&self.sup.rules, &self.sup.refs, &input);
        self.sup.risk.record(&self.sup.rules, &input);
        let mut risk_score = 0;
        for hit in &hits {
            if hit.mode == RuleMode::On {
                risk_score += hit.score;
                reasons.push(format!("{} {}", hit.rule.code(), hit.summary));
            }
            self.raise_alert(id, hit, buyer, ebc, pay, now);
        }

        // 分类分级: the strictest class among the parties and the buyer.
        let model = &self.settings.credit;
        let mut class = SupervisionClass::Advanced;
        let mut worst: Option<&CreditRecord> = None;
        for code in [ebc, ebp, agent] {
            let c = self.sup.credit.get(&Subject::Enterprise(code.clone()));
            let k = c.map_or_else(|| model.class_of(Grade::A), |r| r.class(model));
            if k >= class {
                class = k;
                worst = c;
            }
        }
        if let Some(r) = self.sup.credit.get(&person) {
            let k = r.class(model);
            if k > class {
                class = k;
                worst = Some(r);
            }
        }
        let treatment = model.treatment(class);
        let sampled = self.settings.policy.sampling
            && sampled(model.sampling_seed, &id.0, treatment.inspection_rate_bp);
        if sampled {
            reasons.push(format!(
                "random inspection of class {} ({} bp)",
                class.as_str(),
                treatment.inspection_rate_bp
            ));
        }
        if treatment.document_review {
            let who = worst.map(|r| r.subject.key()).unwrap_or_default();
            reasons.push(format!(
                "class {} requires document review ({who})",
                class.as_str()
            ));
        }
        if let Some(f) = &forced {
            reasons.push(format!("full inspection: {f}"));
        }
        let policy = &self.settings.policy;
        let decision = if let Some(r) = &refused {
            reasons.push(r.info());
            Decision::Reject {
                code: r.code.code().to_owned(),
                desc: format!(
                    "{}{}",
                    r.code.desc_zh(),
                    r.detail
                        .as_deref()
                        .map(|d| format!(" {d}"))
                        .unwrap_or_default()
                ),
            }
        } else if policy.reject_score > 0 && risk_score >= policy.reject_score {
            Decision::Reject {
                code: ErrorCode::RiskRejected.code().to_owned(),
                desc: format!("{} score={risk_score}", ErrorCode::RiskRejected.desc_zh()),
            }
        } else if forced.is_some() || sampled || risk_score >= policy.inspect_score {
            Decision::Inspection
        } else if treatment.document_review || risk_score >= policy.review_score {
            Decision::DocumentReview
        } else {
            Decision::Release
        };
        Advice {
            risk_score,
            hits,
            class,
            treatment,
            sampled,
            forced,
            refused,
            decision,
            reasons,
        }
    }

    fn raise_alert(
        &mut self,
        id: &DeclarationId,
        hit: &RiskHit,
        buyer: &BuyerKey,
        ebc: &str,
        pay: &str,
        now: Timestamp,
    ) {
        let alert_id = self.sup.next_id("AL");
        let subjects = rule_subjects(hit.rule, buyer, ebc, pay);
        let stats = self.sup.stats.entry(hit.rule).or_default();
        if hit.mode == RuleMode::On {
            stats.alerts += 1;
        } else {
            stats.observed += 1;
        }
        self.sup.dirty_meta = true;
        let alert = Alert {
            id: alert_id.clone(),
            hit: hit.clone(),
            declaration: id.clone(),
            subjects: subjects.clone(),
            ebc_code: ebc.to_owned(),
            created_at: now,
            state: AlertState::Open,
            level: None,
            disposal: None,
            confirmed: None,
            steps: vec![Supervision::step(
                &Actor::System,
                "collected",
                &hit.summary,
                now,
            )],
        };
        self.sup.alerts.insert(alert_id.clone(), alert);
        self.sup.dirty_alerts.insert(alert_id);
        if hit.mode != RuleMode::On {
            return;
        }
        for s in subjects {
            self.credit_event(
                s.clone(),
                CreditEventKind::RiskHit {
                    rule: hit.rule.code().to_owned(),
                },
                now,
            );
            if let Subject::Enterprise(code) = &s {
                self.escalate(code, hit.rule, now);
            }
        }
    }

    /// Automatic warning (警示) after repeated alerts against one enterprise: counts the On-mode
    /// alerts within the window that came after its latest warning or listing (ids share one
    /// serial, so "after" is exact and the same after a restart).
    fn escalate(&mut self, code: &str, rule: RuleId, now: Timestamp) {
        let policy = self.settings.policy.clone();
        if policy.auto_warning_alerts == 0 {
            return;
        }
        let serial = self.sup.serial;
        let window = policy.escalation_days * DAY_MS;
        let recent = self.sup.recent_alerts.entry(code.to_owned()).or_default();
        recent.push_back((now, serial));
        while recent.front().is_some_and(|(t, _)| t.0 < now.0 - window) {
            recent.pop_front();
        }
        let subject = Subject::Enterprise(code.to_owned());
        let last_listing = self
            .sup
            .listed
            .get(&subject)
            .and_then(|ids| ids.iter().filter_map(|i| serial_of(i)).max())
            .unwrap_or(0);
        let n = recent.iter().filter(|(_, s)| *s > last_listing).count();
        if n < policy.auto_warning_alerts as usize {
            return;
        }
        let in_force = self.sup.listed.get(&subject).is_some_and(|ids| {
            ids.iter()
                .filter_map(|i| self.sup.listings.get(i))
                .any(|l| l.in_force(now))
        });
        if in_force {
            return;
        }
        let name = self.registry.get(code).map(|e| e.name.clone());
        let _ = self.open_listing(
            &Actor::System,
            NewListing {
                subject,
                name,
                category: rule_category(rule),
                severity: Severity::Warning,
                department: Department::Customs,
                evidence: format!(
                    "{n} risk alerts within {} days, the last by rule {}",
                    policy.escalation_days,
                    rule.code()
                ),
                effective_from: None,
                expires_at: None,
            },
            now,
        );
    }

    /// Opens an inspection task for a declaration now held at 500.
    pub(crate) fn open_task(
        &mut self,
        id: &DeclarationId,
        reasons: Vec<String>,
        subjects: Vec<Subject>,
        now: Timestamp,
    ) {
        if let Some(t) = self.sup.task_of.get(id)
            && self
                .sup
                .tasks
                .get(t)
                .is_some_and(|t| t.state == TaskState::Open)
        {
            return;
        }
        let (invt_no, ebc) = self
            .decls
            .get(id)
            .map(|d| {
                (
                    d.invt_no.clone(),
                    d.inventory
                        .as_ref()
                        .map(|i| i.doc.ebc_code.clone())
                        .unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        let model = &self.settings.credit;
        let priority = self
            .sup
            .credit
            .get(&Subject::Enterprise(ebc.clone()))
            .map_or_else(
                || model.treatment(model.class_of(Grade::A)).priority,
                |r| r.treatment(model).priority,
            );
        // The id leads with the priority digit, so the queue (ordered by id) lists the most
        // trusted classes' parcels first (分类分级: priority in clearance), then by age.
        let task_id = format!("IN{}{}", priority.min(9), self.sup.next_id(""));
        let task = InspectionTask {
            id: task_id.clone(),
            declaration: id.clone(),
            invt_no,
            subjects: if subjects.is_empty() {
                vec![Subject::Enterprise(ebc.clone())]
            } else {
                subjects
            },
            ebc_code: ebc,
            reasons,
            priority,
            created_at: now,
            state: TaskState::Open,
            finding: None,
            steps: vec![Supervision::step(&Actor::System, "opened", "", now)],
        };
        self.sup.tasks.insert(task_id.clone(), task);
        self.sup.task_of.insert(id.clone(), task_id.clone());
        self.sup.dirty_tasks.insert(task_id);
    }

    /// A held declaration ended without a finding (recall, listing refusal): close its task.
    pub(crate) fn close_task(&mut self, id: &DeclarationId, note: &str, now: Timestamp) {
        if let Some(tid) = self.sup.task_of.remove(id)
            && let Some(t) = self.sup.tasks.get_mut(&tid)
            && t.state == TaskState::Open
        {
            t.state = TaskState::Closed;
            t.steps
                .push(Supervision::step(&Actor::System, "closed", note, now));
            self.sup.dirty_tasks.insert(tid);
        }
    }

    fn open_listing(
        &mut self,
        actor: &Actor,
        new: NewListing,
        now: Timestamp,
    ) -> Result<(Listing, Vec<Receipt>), Refused> {
        let id = self.sup.next_id("NL");
        let listing = Listing::open(id.clone(), new, &actor.label(), now, &self.settings.listing)
            .map_err(|e| e.to_string())?;
        self.sup
            .listed
            .entry(listing.subject.clone())
            .or_default()
            .insert(id.clone());
        self.sup.listings.insert(id.clone(), listing.clone());
        self.sup.dirty_listings.insert(id.clone());
        let kind = match listing.severity {
            Severity::Warning => CreditEventKind::Warned {
                listing: id.clone(),
            },
            Severity::Listed => CreditEventKind::Listed {
                listing: id.clone(),
            },
        };
        self.credit_event(listing.subject.clone(), kind, now);
        let mut receipts = Vec::new();
        if listing.severity == Severity::Listed {
            receipts = self.inspect_in_flight(&listing, now);
        }
        Ok((listing, receipts))
    }

    /// 全面查验: declarations of a newly listed subject that are in flight go to inspection —
    /// those held for review at once, those still incomplete when they match.
    fn inspect_in_flight(&mut self, l: &Listing, now: Timestamp) -> Vec<Receipt> {
        let concerns = |d: &super::Declaration| match &l.subject {
            Subject::Enterprise(code) => {
                d.ebp_code == *code
                    || d.order.as_ref().is_some_and(|o| {
                        o.doc.ebc_code == *code || o.doc.pay_code.as_deref() == Some(code)
                    })
                    || d.payment.as_ref().is_some_and(|p| p.doc.pay_code == *code)
                    || d.inventory.as_ref().is_some_and(|i| {
                        i.doc.ebc_code == *code
                            || i.doc.agent_code == *code
                            || i.doc.logistics_code == *code
                    })
            }
            Subject::Person(key) => d.buyer.as_ref() == Some(key),
        };
        let reason = format!("{} listed ({})", l.subject.key(), l.id);
        let mut held = Vec::new();
        let mut waiting = Vec::new();
        for (id, d) in &self.decls {
            if d.cancelled || d.released_at.is_some() || !concerns(d) {
                continue;
            }
            match d.inventory.as_ref().map(|i| i.status) {
                Some(300) => held.push(id.clone()),
                Some(500) => {}
                Some(s) if s == 100 || s < 0 => {}
                _ => waiting.push(id.clone()),
            }
        }
        for id in waiting {
            if let Some(d) = self.decls.get_mut(&id) {
                d.forced = Some(reason.clone());
                self.dirty_decls.insert(id);
            }
        }
        let mut out = Vec::new();
        for id in held {
            out.extend(self.inventory_receipt(&id, 500, info(ErrorCode::HeldForInspection), now));
            self.open_task(
                &id,
                vec![format!("full inspection: {reason}")],
                vec![l.subject.clone()],
                now,
            );
        }
        out
    }

    fn subject_of(&self, r: &SubjectRef) -> Result<Subject, Refused> {
        match r {
            SubjectRef::Enterprise { code } => {
                if self.registry.get(code).is_none() {
                    return Err(Refused::missing(format!("enterprise {code} is not filed")));
                }
                Ok(Subject::Enterprise(code.clone()))
            }
            SubjectRef::Buyer { key } => {
                if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err("a buyer key is 64 hex characters".into());
                }
                Ok(Subject::Person(BuyerKey(key.to_ascii_lowercase())))
            }
            SubjectRef::Person { name, id_number } => {
                if name.trim().is_empty() || id_number.trim().is_empty() {
                    return Err("a person needs a name and an ID number".into());
                }
                Ok(Subject::Person(self.buyer_key(name, id_number)))
            }
        }
    }

    fn require(actor: &Actor, allowed: &[Department]) -> Result<Department, Refused> {
        match actor {
            Actor::Regulator(d) if allowed.contains(d) => Ok(*d),
            _ => Err(Refused::forbidden(format!(
                "{} may not do this; it needs one of: {}",
                actor.label(),
                allowed
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Apply one supervision action; the outcome is kept for [`Engine::take_outcome`].
    pub(crate) fn supervise_action(
        &mut self,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Vec<Receipt> {
        let (outcome, receipts) = match self.act(actor, action, now) {
            Ok((value, receipts)) => (Ok(value), receipts),
            Err(e) => (Err(e), Vec::new()),
        };
        self.sup.outcome = Some(outcome);
        receipts
    }

    fn act(
        &mut self,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        match action {
            action @ (Action::Entrust { .. }
            | Action::Entrustment { .. }
            | Action::AdoptRules { .. }) => self
                .entrustment_action(actor, action, now)
                .map(|v| (v, Vec::new())),
            action @ (Action::Certify { .. }
            | Action::Rate { .. }
            | Action::Complaint { .. }
            | Action::TaxPaid { .. }) => self.act_credit(actor, action, now),
            action @ (Action::List { .. } | Action::Listing { .. }) => {
                self.act_listing(actor, action, now)
            }
            action @ (Action::Control { .. }
            | Action::Uncontrol { .. }
            | Action::Recall { .. }
            | Action::LiftRecall { .. }) => self.act_goods(actor, action, now),
            action @ (Action::ConfigureRule { .. } | Action::ReferencePrices { .. }) => {
                self.act_risk(actor, action, now)
            }
            action @ (Action::AssessAlert { .. }
            | Action::DisposeAlert { .. }
            | Action::ReviewAlert { .. }) => self.act_alert(actor, action, now),
            action @ (Action::Finding { .. } | Action::Conclude { .. }) => {
                self.act_inspection(actor, action, now)
            }
        }
    }

    /// Applies a certification, rating, complaint or tax payment (credit).
    fn act_credit(
        &mut self,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        use Department::*;
        let none = Vec::new;
        match action {
            Action::Certify {
                enterprise,
                level,
                valid_until,
            } => {
                let department =
                    Self::require(actor, &[Customs, Inspection, Tax, MarketSupervision])?;
                if self.registry.get(&enterprise).is_none() {
                    return Err(Refused::missing(format!(
                        "enterprise {enterprise} is not filed"
                    )));
                }
                self.credit_event(
                    Subject::Enterprise(enterprise.clone()),
                    CreditEventKind::Certification {
                        department,
                        level,
                        valid_until,
                    },
                    now,
                );
                Ok((
                    self.credit_json(&Subject::Enterprise(enterprise), now),
                    none(),
                ))
            }
            Action::Rate {
                enterprise,
                agency,
                score,
            } => {
                Self::require(actor, &[ThirdParty, ZoneOffice])?;
                if score > 100 {
                    return Err("a rating is 0 to 100".into());
                }
                if agency.trim().is_empty() {
                    return Err("the rating agency is required".into());
                }
                if self.registry.get(&enterprise).is_none() {
                    return Err(Refused::missing(format!(
                        "enterprise {enterprise} is not filed"
                    )));
                }
                self.credit_event(
                    Subject::Enterprise(enterprise.clone()),
                    CreditEventKind::Rating { agency, score },
                    now,
                );
                Ok((
                    self.credit_json(&Subject::Enterprise(enterprise), now),
                    none(),
                ))
            }
            Action::Complaint {
                enterprise, upheld, ..
            } => {
                Self::require(actor, &[MarketSupervision, ZoneOffice])?;
                if self.registry.get(&enterprise).is_none() {
                    return Err(Refused::missing(format!(
                        "enterprise {enterprise} is not filed"
                    )));
                }
                self.credit_event(
                    Subject::Enterprise(enterprise.clone()),
                    CreditEventKind::Complaint { upheld },
                    now,
                );
                Ok((
                    self.credit_json(&Subject::Enterprise(enterprise), now),
                    none(),
                ))
            }
            Action::TaxPaid { invt_no, paid_on } => {
                Self::require(actor, &[Tax, Customs])?;
                self.tax_paid(&invt_no, paid_on, now)
            }
            _ => Err("not an action of this family".into()),
        }
    }

    /// Applies a listing or a step on one (the credit negative list).
    fn act_listing(
        &mut self,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        use Department::*;
        match action {
            Action::List {
                subject,
                name,
                category,
                severity,
                evidence,
                effective_from,
                expires_at,
            } => {
                let department = match actor {
                    Actor::Regulator(d) if *d != ThirdParty => *d,
                    _ => {
                        return Err(Refused::forbidden(format!(
                            "{} may not list; a regulator may",
                            actor.label()
                        )));
                    }
                };
                let subject = self.subject_of(&subject)?;
                let same = self.sup.listed.get(&subject).and_then(|ids| {
                    ids.iter()
                        .filter_map(|i| self.sup.listings.get(i))
                        .find(|l| l.severity == severity && l.in_force(now))
                });
                if let Some(l) = same {
                    return Err(Refused::from(format!(
                        "{} already has a {} in force ({})",
                        subject.key(),
                        severity.as_str(),
                        l.id
                    )));
                }
                let name = name.or_else(|| {
                    subject
                        .enterprise()
                        .and_then(|c| self.registry.get(c))
                        .map(|e| e.name.clone())
                });
                let (listing, receipts) = self.open_listing(
                    actor,
                    NewListing {
                        subject,
                        name,
                        category,
                        severity,
                        department,
                        evidence,
                        effective_from,
                        expires_at,
                    },
                    now,
                )?;
                Ok((serde_json::to_value(&listing).unwrap_or_default(), receipts))
            }
            Action::Listing { id, step } => self.listing_step(actor, &id, &step, now),
            _ => Err("not an action of this family".into()),
        }
    }

    /// Applies a goods control or a recall.
    fn act_goods(
        &mut self,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        use Department::*;
        let none = Vec::new;
        match action {
            Action::Control {
                matcher,
                control,
                reason,
                until,
            } => {
                let department = Self::require(actor, &[Customs, Inspection, MarketSupervision])?;
                let id = self.sup.next_id("GC");
                let entry = ControlEntry {
                    id,
                    matcher,
                    control,
                    reason,
                    department,
                    since: now,
                    until,
                };
                self.sup
                    .controls
                    .add(entry.clone())
                    .map_err(|e| e.to_string())?;
                self.sup.dirty_controls = true;
                Ok((serde_json::to_value(&entry).unwrap_or_default(), none()))
            }
            Action::Uncontrol { id } => {
                Self::require(actor, &[Customs, Inspection, MarketSupervision])?;
                let e = self
                    .sup
                    .controls
                    .remove(&id)
                    .ok_or_else(|| Refused::missing(format!("no control entry {id}")))?;
                self.sup.dirty_controls = true;
                Ok((serde_json::to_value(&e).unwrap_or_default(), none()))
            }
            Action::Recall {
                matcher,
                seller,
                reason,
            } => {
                let department = Self::require(actor, &[Inspection, Customs, MarketSupervision])?;
                matcher.validate().map_err(|e| e.to_string())?;
                if reason.trim().is_empty() {
                    return Err("a recall needs a reason".into());
                }
                let id = self.sup.next_id("RC");
                let recall = Recall {
                    id: id.clone(),
                    matcher,
                    seller,
                    reason,
                    department,
                    at: now,
                    lifted_at: None,
                };
                let (hits, receipts) = self.apply_recall(&recall, now);
                let record = RecallRecord { recall, hits };
                let value = serde_json::to_value(&record).unwrap_or_default();
                self.sup.recalls.insert(id.clone(), record);
                self.sup.dirty_recalls.insert(id);
                Ok((value, receipts))
            }
            Action::LiftRecall { id } => {
                Self::require(actor, &[Inspection, Customs, MarketSupervision])?;
                let r = self
                    .sup
                    .recalls
                    .get_mut(&id)
                    .ok_or_else(|| Refused::missing(format!("no recall {id}")))?;
                if r.recall.lifted_at.is_some() {
                    return Err(Refused::from(format!("recall {id} is already lifted")));
                }
                r.recall.lifted_at = Some(now);
                let value = serde_json::to_value(&*r).unwrap_or_default();
                self.sup.dirty_recalls.insert(id);
                Ok((value, none()))
            }
            _ => Err("not an action of this family".into()),
        }
    }

    /// Applies a risk rule setting or the reference prices.
    fn act_risk(
        &mut self,
        actor: &Actor,
        action: Action,
        _now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        use Department::*;
        let none = Vec::new;
        match action {
            Action::ConfigureRule {
                rule,
                mode,
                score,
                params,
            } => {
                Self::require(actor, &[Customs, ZoneOffice])?;
                let id = RuleId::parse(&rule)
                    .ok_or_else(|| Refused::missing(format!("no risk rule {rule}")))?;
                self.sup
                    .rules
                    .change(
                        id,
                        &RuleChange {
                            mode,
                            score,
                            params,
                        },
                    )
                    .map_err(|e| e.to_string())?;
                self.sup.dirty_rules = true;
                Ok((self.rule_json(id), none()))
            }
            Action::ReferencePrices { csv } => {
                Self::require(actor, &[Customs, ZoneOffice])?;
                self.sup.refs = ReferencePrices::parse_csv(&csv).map_err(|e| e.to_string())?;
                self.sup.dirty_refs = true;
                Ok((
                    serde_json::json!({"reference_prices": self.sup.refs.len()}),
                    none(),
                ))
            }
            _ => Err("not an action of this family".into()),
        }
    }

    /// Applies a step on an alert (assessment, disposal, review).
    fn act_alert(
        &mut self,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        use Department::*;
        let none = Vec::new;
        match action {
            Action::AssessAlert { id, level, note } => {
                Self::require(actor, &[Customs, Inspection])?;
                let a = self.alert_in(&id, AlertState::Open)?;
                a.level = Some(level);
                a.state = AlertState::Assessed;
                a.steps.push(Supervision::step(
                    actor,
                    &format!("assessed {level:?}").to_lowercase(),
                    &note,
                    now,
                ));
                let value = serde_json::to_value(&*a).unwrap_or_default();
                self.sup.dirty_alerts.insert(id);
                Ok((value, none()))
            }
            Action::DisposeAlert { id, disposal, note } => {
                Self::require(actor, &[Customs, Inspection])?;
                let a = self.alert_in(&id, AlertState::Assessed)?.clone();
                let receipts = self.dispose(actor, &a, disposal, &note, now)?;
                let a = self.alert_in(&id, AlertState::Assessed)?;
                a.disposal = Some(disposal);
                a.state = AlertState::Disposed;
                a.steps.push(Supervision::step(
                    actor,
                    &format!("disposed {}", to_json(&disposal).trim_matches('"')),
                    &note,
                    now,
                ));
                let value = serde_json::to_value(&*a).unwrap_or_default();
                self.sup.dirty_alerts.insert(id);
                Ok((value, receipts))
            }
            Action::ReviewAlert {
                id,
                confirmed,
                note,
            } => {
                Self::require(actor, &[Customs, Inspection, ZoneOffice])?;
                let a = self.alert_in(&id, AlertState::Disposed)?;
                a.confirmed = Some(confirmed);
                a.state = AlertState::Reviewed;
                a.steps.push(Supervision::step(
                    actor,
                    if confirmed { "confirmed" } else { "dismissed" },
                    &note,
                    now,
                ));
                let a = a.clone();
                self.sup.dirty_alerts.insert(id);
                let stats = self.sup.stats.entry(a.hit.rule).or_default();
                stats.reviewed += 1;
                if confirmed {
                    stats.confirmed += 1;
                }
                self.sup.dirty_meta = true;
                let rule = a.hit.rule.code().to_owned();
                for s in &a.subjects {
                    let kind = if confirmed {
                        CreditEventKind::AlertConfirmed { rule: rule.clone() }
                    } else {
                        CreditEventKind::AlertDismissed { rule: rule.clone() }
                    };
                    self.credit_event(s.clone(), kind, now);
                }
                Ok((serde_json::to_value(&a).unwrap_or_default(), none()))
            }
            _ => Err("not an action of this family".into()),
        }
    }

    /// Applies an inspection finding or a document-review decision.
    fn act_inspection(
        &mut self,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        use Department::*;
        match action {
            Action::Finding {
                task,
                passed,
                reason,
            } => {
                Self::require(actor, &[Customs, Inspection])?;
                self.finding(actor, &task, passed, &reason, now)
            }
            Action::Conclude {
                declaration,
                release,
                reason,
            } => {
                Self::require(actor, &[Customs])?;
                let held = self
                    .decls
                    .get(&declaration)
                    .and_then(|d| d.inventory.as_ref())
                    .map(|i| i.status);
                if held != Some(300) {
                    return Err(Refused::from(format!(
                        "declaration {declaration} is not held for document review"
                    )));
                }
                let receipts = self.conclude(&declaration, release, &reason, now);
                Ok((
                    serde_json::json!({"declaration": declaration, "released": release}),
                    receipts,
                ))
            }
            _ => Err("not an action of this family".into()),
        }
    }

    fn alert_in(&mut self, id: &str, state: AlertState) -> Result<&mut Alert, Refused> {
        let a = self
            .sup
            .alerts
            .get_mut(id)
            .ok_or_else(|| Refused::missing(format!("no alert {id}")))?;
        if a.state != state {
            return Err(Refused::from(format!(
                "alert {id} is {}; this step needs it {}",
                a.state.as_str(),
                state.as_str()
            )));
        }
        Ok(a)
    }

    fn dispose(
        &mut self,
        actor: &Actor,
        a: &Alert,
        disposal: Disposal,
        note: &str,
        now: Timestamp,
    ) -> Result<Vec<Receipt>, Refused> {
        let status = self
            .decls
            .get(&a.declaration)
            .and_then(|d| d.inventory.as_ref())
            .map(|i| i.status);
        let held = matches!(status, Some(300 | 500));
        match disposal {
            Disposal::NoAction => Ok(Vec::new()),
            Disposal::Warning => {
                let subject = a
                    .subjects
                    .first()
                    .cloned()
                    .ok_or_else(|| "the alert names no subject".to_string())?;
                let department = actor.department().unwrap_or(Department::Customs);
                let name = subject
                    .enterprise()
                    .and_then(|c| self.registry.get(c))
                    .map(|e| e.name.clone());
                let (_, receipts) = self.open_listing(
                    actor,
                    NewListing {
                        subject,
                        name,
                        category: rule_category(a.hit.rule),
                        severity: Severity::Warning,
                        department,
                        evidence: format!(
                            "alert {}: {} {}",
                            a.id,
                            a.hit.rule.code(),
                            a.hit.summary
                        ),
                        effective_from: None,
                        expires_at: None,
                    },
                    now,
                )?;
                Ok(receipts)
            }
            Disposal::Inspection => {
                if status != Some(300) {
                    return Err(
                        "only a declaration held for document review can be sent to inspection"
                            .into(),
                    );
                }
                let out = self.inventory_receipt(
                    &a.declaration,
                    500,
                    info(ErrorCode::HeldForInspection),
                    now,
                );
                self.open_task(
                    &a.declaration,
                    vec![format!("alert {} disposed to inspection: {note}", a.id)],
                    a.subjects.clone(),
                    now,
                );
                Ok(out)
            }
            Disposal::Release | Disposal::Reject => {
                if !held {
                    return Err("the declaration is not held".into());
                }
                if status == Some(500) {
                    return Err(
                        "the declaration is under inspection: record the finding instead".into(),
                    );
                }
                Ok(self.conclude(&a.declaration, disposal == Disposal::Release, note, now))
            }
        }
    }

    fn finding(
        &mut self,
        actor: &Actor,
        task_id: &str,
        passed: bool,
        reason: &str,
        now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        let task = self
            .sup
            .tasks
            .get(task_id)
            .ok_or_else(|| Refused::missing(format!("no inspection task {task_id}")))?;
        if task.state != TaskState::Open {
            return Err(Refused::from(format!(
                "inspection task {task_id} is already {}",
                task.state.as_str()
            )));
        }
        if !passed && reason.trim().is_empty() {
            return Err("a failed inspection needs a reason".into());
        }
        let id = task.declaration.clone();
        let held = self
            .decls
            .get(&id)
            .and_then(|d| d.inventory.as_ref())
            .is_some_and(|i| i.status == 500);
        if !held {
            return Err(Refused::from(format!(
                "declaration {id} is no longer held for inspection"
            )));
        }
        let ebc = self
            .decls
            .get(&id)
            .and_then(|d| d.inventory.as_ref())
            .map(|i| i.doc.ebc_code.clone())
            .unwrap_or_default();
        let answerable = task.subjects.clone();
        let receipts = if passed {
            self.release(&id, now)
        } else {
            let text = format!("{}{reason}", info(ErrorCode::InspectionFailed));
            self.reject_inventory(&id, &text, 100, now)
        };
        let kind = if passed {
            CreditEventKind::InspectionPassed
        } else {
            CreditEventKind::InspectionFailed {
                reason: reason.to_owned(),
            }
        };
        if passed {
            // The goods were as the seller declared them.
            self.credit_parties(&[&ebc], &kind, now);
        } else {
            for subject in answerable {
                match &subject {
                    Subject::Enterprise(code) => self.credit_parties(&[code], &kind, now),
                    Subject::Person(_) => self.credit_event(subject.clone(), kind.clone(), now),
                }
            }
        }
        self.sup.task_of.remove(&id);
        let Some(t) = self.sup.tasks.get_mut(task_id) else {
            return Err(Refused::missing(format!("no inspection task {task_id}")));
        };
        t.state = if passed {
            TaskState::Passed
        } else {
            TaskState::Failed
        };
        t.finding = Some(reason.to_owned());
        t.steps.push(Supervision::step(
            actor,
            if passed { "passed" } else { "failed" },
            reason,
            now,
        ));
        let value = serde_json::to_value(&*t).unwrap_or_default();
        self.sup.dirty_tasks.insert(task_id.to_owned());
        Ok((value, receipts))
    }

    fn tax_paid(
        &mut self,
        invt_no: &str,
        paid_on: CivilDate,
        now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        let id = self
            .invt_index
            .get(invt_no)
            .cloned()
            .ok_or_else(|| Refused::missing(format!("no inventory {invt_no}")))?;
        let d = self
            .decls
            .get(&id)
            .ok_or_else(|| Refused::missing(format!("no inventory {invt_no}")))?;
        let bill = d
            .bill
            .as_ref()
            .ok_or_else(|| Refused::from(format!("inventory {invt_no} has no tax bill")))?;
        if bill.status == 3 {
            return Err(Refused::from(format!("the tax bill of {invt_no} is void")));
        }
        let payer = d
            .inventory
            .as_ref()
            .map(|i| i.doc.agent_code.clone())
            .unwrap_or_default();
        let late = paid_on.days_since(bill.due_until);
        let kind = if late > 0 {
            CreditEventKind::TaxPaidLate { days_late: late }
        } else {
            CreditEventKind::TaxPaidOnTime
        };
        self.credit_parties(&[&payer], &kind, now);
        Ok((
            serde_json::json!({"invt_no": invt_no, "agent": payer, "days_late": late.max(0)}),
            Vec::new(),
        ))
    }

    fn listing_step(
        &mut self,
        actor: &Actor,
        id: &str,
        step: &ListingAction,
        now: Timestamp,
    ) -> Result<(serde_json::Value, Vec<Receipt>), Refused> {
        let listing = self
            .sup
            .listings
            .get(id)
            .ok_or_else(|| Refused::missing(format!("no listing {id}")))?;
        // The listed enterprise appeals and asks for repair; the listing department (or the zone
        // office) decides and may withdraw.
        let own = matches!((actor, &listing.subject), (Actor::Enterprise(c), Subject::Enterprise(s)) if c == s);
        let decider = matches!(actor, Actor::Regulator(d) if *d == listing.department || *d == Department::ZoneOffice);
        let allowed = match step {
            ListingAction::Appeal { .. } | ListingAction::RequestRepair { .. } => own || decider,
            _ => decider,
        };
        if !allowed {
            return Err(Refused::forbidden(format!(
                "{} may not do this to listing {id}",
                actor.label()
            )));
        }
        let was_in_force = listing.in_force(now);
        let subject = listing.subject.clone();
        let settings = self.settings.listing.clone();
        let Some(l) = self.sup.listings.get_mut(id) else {
            return Err(Refused::missing(format!("no listing {id}")));
        };
        l.act(step, &actor.label(), now, &settings)
            .map_err(|e| e.to_string())?;
        let ended = was_in_force && !l.in_force(now);
        let value = serde_json::to_value(&*l).unwrap_or_default();
        self.sup.dirty_listings.insert(id.to_owned());
        if ended {
            self.credit_event(
                subject,
                CreditEventKind::Delisted {
                    listing: id.to_owned(),
                },
                now,
            );
        }
        Ok((value, Vec::new()))
    }

    /// Stops in-flight declarations with recalled goods and lists the buyers of released ones.
    fn apply_recall(&mut self, recall: &Recall, now: Timestamp) -> (Vec<RecallHit>, Vec<Receipt>) {
        let mut hits = Vec::new();
        for (id, d) in &self.decls {
            let Some(i) = d.inventory.as_ref() else {
                continue;
            };
            if d.cancelled || i.status == 100 || i.status < 0 {
                continue;
            }
            let Some(gnum) = recall.matches(&i.doc.ebc_code, &goods_lines(&i.doc)) else {
                continue;
            };
            let (masked, phone) = d
                .order
                .as_ref()
                .map(|o| {
                    (
                        personal::mask_name(&o.doc.buyer_name),
                        personal::mask_phone(&o.doc.buyer_telephone),
                    )
                })
                .unwrap_or_default();
            hits.push(RecallHit {
                declaration: id.clone(),
                invt_no: d.invt_no.clone(),
                gnum,
                status: i.status,
                stopped: matches!(i.status, 300 | 500),
                buyer: d.buyer.clone(),
                buyer_masked: masked,
                phone_masked: phone,
                released_at: d.released_at,
            });
        }
        let mut receipts = Vec::new();
        for h in &hits {
            if h.stopped {
                let text = format!("{}({})", info(ErrorCode::RecallStopped), recall.id);
                receipts.extend(self.reject_inventory(&h.declaration, &text, 100, now));
                self.close_task(&h.declaration, &format!("recall {}", recall.id), now);
            }
        }
        (hits, receipts)
    }

    pub(crate) fn credit_json(&self, subject: &Subject, now: Timestamp) -> serde_json::Value {
        match self.sup.credit.get(subject) {
            Some(r) => {
                serde_json::to_value(r.explain(&self.settings.credit, now)).unwrap_or_default()
            }
            None => serde_json::Value::Null,
        }
    }

    fn rule_json(&self, id: RuleId) -> serde_json::Value {
        let stats = self.sup.stats.get(&id).copied().unwrap_or_default();
        serde_json::json!({
            "rule": id.code(),
            "title": id.title(),
            "title_zh": id.title_zh(),
            "settings": self.sup.rules.settings_json(id),
            "stats": stats,
            "precision": stats.precision(),
        })
    }

    /// The credit explanation of a subject now, as the API shows it.
    pub fn explain_credit(&self, subject: &Subject, now: Timestamp) -> Option<Explanation> {
        self.sup
            .credit
            .get(subject)
            .map(|r| r.explain(&self.settings.credit, now))
    }

    /// The outcome of the last supervision action applied, once.
    pub fn take_outcome(&mut self) -> Option<Outcome> {
        self.sup.outcome.take()
    }

    /// State rows and projection records of everything supervision changed.
    pub(crate) fn supervision_changes(
        &mut self,
        state: &mut Vec<(String, String, Option<Vec<u8>>)>,
        records: &mut Vec<RecordChange>,
    ) {
        let bytes = |s: String| Some(s.into_bytes());
        let sup = &mut self.sup;
        if std::mem::take(&mut sup.dirty_meta) {
            let meta = Meta {
                serial: sup.serial,
                stats: sup.stats.clone(),
                day: sup.day,
            };
            state.push((NS_SUPERVISION.into(), "meta".into(), bytes(to_json(&meta))));
        }
        let rules_changed = std::mem::take(&mut sup.dirty_rules);
        if rules_changed {
            state.push((
                NS_SUPERVISION.into(),
                "rules".into(),
                bytes(to_json(&sup.rules)),
            ));
        }
        if std::mem::take(&mut sup.dirty_refs) {
            state.push((
                NS_SUPERVISION.into(),
                "reference_prices".into(),
                bytes(to_json(&sup.refs)),
            ));
        }
        if std::mem::take(&mut sup.dirty_controls) {
            state.push((
                NS_SUPERVISION.into(),
                "controls".into(),
                bytes(to_json(&sup.controls)),
            ));
            // The projection mirrors the list: removed entries are marked, not forgotten.
            for e in sup.controls.entries() {
                records.push(RecordChange {
                    kind: "control",
                    key: e.id.clone(),
                    party: None,
                    status: "active".into(),
                    updated_at: e.since,
                    body: to_json(e),
                });
            }
        }
        let credit = std::mem::take(&mut sup.dirty_credit);
        for s in credit {
            if let Some(r) = self.sup.credit.get(&s) {
                let body = to_json(r);
                state.push((NS_CREDIT.into(), s.key(), bytes(body)));
                let explanation = r.explain(&self.settings.credit, r.updated_at);
                records.push(RecordChange {
                    kind: "credit",
                    key: s.key(),
                    party: s.enterprise().map(str::to_owned),
                    status: r.grade.as_str().to_owned(),
                    updated_at: r.updated_at,
                    body: to_json(&serde_json::json!({
                        "subject": s,
                        "name": s.enterprise().and_then(|c| self.registry.get(c)).map(|e| e.name.clone()),
                        "score": r.score,
                        "grade": r.grade,
                        "grade_since": r.grade_since,
                        "history": r.history,
                        "explanation": explanation,
                    })),
                });
            }
        }
        let sup = &mut self.sup;
        for id in std::mem::take(&mut sup.dirty_alerts) {
            if let Some(a) = sup.alerts.get(&id) {
                let body = to_json(a);
                state.push((NS_ALERT.into(), id.clone(), bytes(body.clone())));
                records.push(RecordChange {
                    kind: "alert",
                    key: id,
                    party: None,
                    status: a.state.as_str().into(),
                    updated_at: a.steps.last().map_or(a.created_at, |s| s.at),
                    body,
                });
            }
        }
        for id in std::mem::take(&mut sup.dirty_tasks) {
            if let Some(t) = sup.tasks.get(&id) {
                let body = to_json(t);
                state.push((NS_TASK.into(), id.clone(), bytes(body.clone())));
                records.push(RecordChange {
                    kind: "inspection",
                    key: id,
                    party: None,
                    status: t.state.as_str().into(),
                    updated_at: t.steps.last().map_or(t.created_at, |s| s.at),
                    body,
                });
            }
        }
        for id in std::mem::take(&mut sup.dirty_listings) {
            if let Some(l) = sup.listings.get(&id) {
                let body = to_json(l);
                state.push((NS_LISTING.into(), id.clone(), bytes(body.clone())));
                records.push(RecordChange {
                    kind: "listing",
                    key: id,
                    party: l.subject.enterprise().map(str::to_owned),
                    status: to_json(&l.state).trim_matches('"').to_owned(),
                    updated_at: l.audit.last().map_or(l.created_at, |s| s.at),
                    body,
                });
            }
        }
        for id in std::mem::take(&mut sup.dirty_recalls) {
            if let Some(r) = sup.recalls.get(&id) {
                let body = to_json(r);
                state.push((NS_RECALL.into(), id.clone(), bytes(body.clone())));
                records.push(RecordChange {
                    kind: "recall",
                    key: id,
                    party: r.recall.seller.clone(),
                    status: if r.recall.lifted_at.is_some() {
                        "lifted".into()
                    } else {
                        "active".into()
                    },
                    updated_at: r.recall.lifted_at.unwrap_or(r.recall.at),
                    body,
                });
            }
        }
        if rules_changed || records.iter().any(|r| r.kind == "alert") {
            // Rule records carry the precision, which alerts and reviews move.
            for id in RuleId::ALL {
                let value = self.rule_json(id);
                records.push(RecordChange {
                    kind: "rule",
                    key: id.code().to_owned(),
                    party: None,
                    status: to_json(&self.sup.rules.rule(id).mode)
                        .trim_matches('"')
                        .to_owned(),
                    updated_at: Timestamp(0),
                    body: to_json(&value),
                });
            }
        }
    }

    /// Restores one supervision state row; `false` if the namespace is not supervision's.
    pub(crate) fn restore_supervision(
        &mut self,
        ns: &str,
        key: &str,
        value: &[u8],
    ) -> Result<bool, serde_json::Error> {
        match ns {
            NS_CREDIT => {
                let r: CreditRecord = serde_json::from_slice(value)?;
                self.sup.credit.insert(r.subject.clone(), r);
            }
            NS_ALERT => {
                let a: Alert = serde_json::from_slice(value)?;
                self.sup.alerts.insert(a.id.clone(), a);
            }
            NS_TASK => {
                let t: InspectionTask = serde_json::from_slice(value)?;
                if t.state == TaskState::Open {
                    self.sup.task_of.insert(t.declaration.clone(), t.id.clone());
                }
                self.sup.tasks.insert(t.id.clone(), t);
            }
            NS_LISTING => {
                let l: Listing = serde_json::from_slice(value)?;
                self.sup
                    .listed
                    .entry(l.subject.clone())
                    .or_default()
                    .insert(l.id.clone());
                self.sup.listings.insert(l.id.clone(), l);
            }
            NS_RECALL => {
                let r: RecallRecord = serde_json::from_slice(value)?;
                self.sup.recalls.insert(r.recall.id.clone(), r);
            }
            NS_SUPERVISION => match key {
                "meta" => {
                    let m: Meta = serde_json::from_slice(value)?;
                    self.sup.serial = m.serial;
                    self.sup.stats = m.stats;
                    self.sup.day = m.day;
                }
                "rules" => {
                    self.sup.rules = serde_json::from_slice(value)?;
                    self.sup.dirty_rules = false;
                }
                "reference_prices" => {
                    self.sup.refs = serde_json::from_slice(value)?;
                    self.sup.dirty_refs = false;
                }
                "controls" => self.sup.controls = serde_json::from_slice(value)?,
                _ => {}
            },
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// After restore: rebuild the risk windows from the matched declarations, in match order,
    /// and the automatic-warning windows from the alerts.
    /// (A fresh store has no rule settings row yet: the first batch writes them, with their
    /// projection records, as it does on the live path.)
    pub(crate) fn reindex_supervision(&mut self) {
        let mut matched: Vec<(u64, RiskInput)> = self
            .decls
            .keys()
            .flat_map(|id| self.risk_inputs_of(id))
            .collect();
        matched.sort_by_key(|(seq, _)| *seq);
        let mut risk = RiskIndex::default();
        for (_, input) in &matched {
            risk.record(&self.sup.rules, input);
        }
        self.sup.risk = risk;
        // Alert ids carry the serial, so the map is in creation order; pruning happens on the
        // next push, as it did live.
        let mut recent: BTreeMap<String, VecDeque<(Timestamp, u64)>> = BTreeMap::new();
        for a in self.sup.alerts.values() {
            if a.hit.mode != RuleMode::On {
                continue;
            }
            for s in &a.subjects {
                if let Subject::Enterprise(code) = s {
                    recent
                        .entry(code.clone())
                        .or_default()
                        .push_back((a.created_at, serial_of(&a.id).unwrap_or(0)));
                }
            }
        }
        self.sup.recent_alerts = recent;
    }

    /// The risk inputs of an earlier matched declaration, one per time it matched, for
    /// re-recording at start-up. Only the fields `record` keeps matter (times, keys, seller,
    /// value, lines), and they come from the documents as they stand now.
    fn risk_inputs_of(&self, id: &DeclarationId) -> Vec<(u64, RiskInput)> {
        let Some(d) = self.decls.get(id) else {
            return Vec::new();
        };
        let (Some(o), Some(p), Some(i), Some(buyer)) =
            (&d.order, &d.payment, &d.inventory, &d.buyer)
        else {
            return Vec::new();
        };
        d.matches
            .iter()
            .map(|(seq, at, value)| {
                let input = self.risk_input(
                    id,
                    &o.doc,
                    &p.doc,
                    &i.doc,
                    buyer,
                    *value,
                    Decimal::ZERO,
                    *at,
                );
                (*seq, input)
            })
            .collect()
    }
}
