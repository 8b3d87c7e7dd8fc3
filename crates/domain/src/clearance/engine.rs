//! The clearance engine: one in-memory single writer that takes declaration nodes in any order,
//! answers each with receipts, matches the four documents of a declaration (三单对碰), checks the
//! personal limits, taxes, decides and follows the inventory through release, cancellation and
//! return. Pure: time is an argument, maps are ordered, receipt guids are derived, so replaying
//! the journal reproduces the same receipts byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalogue::{ErrorCode, Rejection, info};
use super::checks;
use super::model::{
    Cancel, Delivery, Document, Inventory, Order, Payment, Refund, Waybill, WaybillStatus,
};
use super::receipt::{
    DeclarationId, DeclarationView, DeliveryReturn, LevyState, ListReturn, LogisticsReturn,
    LogisticsStatusReturn, OrderReturn, PaymentReturn, Receipt, ReceiptBody, TaxBill, TaxBillLine,
    TaxBillView, TaxStatus, receipt_guid,
};
use crate::credit::CreditEventKind;
use crate::limits::{self, LimitVerdict};
use crate::money::round_fen;
use crate::personal::{self, BuyerKey};
use crate::quota::{NS_QUOTA, QuotaRoom};
use crate::registry::{Enterprise, Registry, RegistryError, Role};
use crate::settings::Settings;
use crate::tariff::Tariff;
use crate::tax::{self, Regime, TaxAssessment, TaxError, TaxInput, TaxLineInput};
use crate::time::{CivilDate, Timestamp};

#[path = "ownership.rs"]
pub(crate) mod ownership;
#[path = "statistics.rs"]
pub(crate) mod statistics;
#[path = "supervision.rs"]
pub(crate) mod supervision;
use supervision::{Action, Actor, Advice, RecordChange, Supervision};

/// What the engine is asked to do. Every command comes from the journal, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // moved once per journal entry; boxing buys nothing here
pub enum Command {
    FileEnterprise(Enterprise),
    LoadTariff(Tariff),
    SetSettings(Settings),
    /// A declaration node from an authenticated sender (its filed enterprise code).
    Declare {
        sender: String,
        document: Document,
    },
    /// A regulator concludes a declaration held for review or inspection.
    Conclude {
        declaration: DeclarationId,
        release: bool,
        reason: String,
    },
    /// A credit, negative-list, risk or inspection action (信用与风险), by a regulator, an
    /// enterprise about itself, or the system.
    Supervise {
        actor: Actor,
        action: Action,
    },
    /// An index action of the zone office (统计监测: index settings, publication).
    Statistics {
        actor: Actor,
        action: crate::statistics::IndexAction,
    },
}

/// What a [`Decider`] sees: the matched declaration, its value, tax and the buyer's quota.
#[derive(Clone, Copy, Debug)]
pub struct DecisionContext<'a> {
    pub declaration: &'a DeclarationId,
    pub order: &'a Order,
    pub payment: &'a Payment,
    pub waybill: &'a Waybill,
    pub inventory: &'a Inventory,
    pub buyer: &'a BuyerKey,
    /// Dutiable price (完税价格).
    pub value: Decimal,
    pub regime: Regime,
    pub assessment: &'a TaxAssessment,
    /// The buyer's used annual quota before this declaration.
    pub quota_used_before: Decimal,
    /// What risk and credit advise (risk score, hits, credit class, sampling, listings).
    pub advice: &'a Advice,
    pub now: Timestamp,
}

/// The customs decision for a matched, taxed declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Release,
    /// 人工审核: held at 300 until [`Command::Conclude`].
    DocumentReview,
    /// 查验: held at 500 until [`Command::Conclude`].
    Inspection,
    Reject {
        code: String,
        desc: String,
    },
}

/// The seam where risk and credit rules plug in.
pub trait Decider {
    fn decide(&self, ctx: &DecisionContext) -> Decision;
}

/// Releases every consistent declaration, whatever risk and credit say (risk alerts are still
/// collected). For drills and tests of the match alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReleaseAll;

impl Decider for ReleaseAll {
    fn decide(&self, _ctx: &DecisionContext) -> Decision {
        Decision::Release
    }
}

/// The standard decider: the answer from the risk score and the credit class, by the policy in
/// the settings (refuse listed parties and recalled goods, inspect above the inspection score,
/// when sampled or when a party was listed in flight, review above the review score or when the
/// class requires it, release otherwise).
#[derive(Clone, Copy, Debug, Default)]
pub struct Supervised;

impl Decider for Supervised {
    fn decide(&self, ctx: &DecisionContext) -> Decision {
        ctx.advice.decision.clone()
    }
}

/// Everything changed since the last [`Engine::take_changes`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    /// (namespace, key, serde_json value); `None` deletes the row.
    pub state: Vec<(String, String, Option<Vec<u8>>)>,
    pub declarations: Vec<DeclarationView>,
    /// (buyer, Beijing calendar year, used).
    pub quotas: Vec<(BuyerKey, i32, Decimal)>,
    pub tax_bills: Vec<TaxBillView>,
    pub enterprises: Vec<Enterprise>,
    /// Supervision records (credit, alerts, inspections, listings, recalls, controls, rules).
    pub records: Vec<RecordChange>,
    /// Statistical deltas to add to the aggregate tables (统计监测).
    pub statistics: crate::statistics::StatDeltas,
}

/// A state row could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("state row {namespace}/{key}: {source}")]
    BadRow {
        namespace: String,
        key: String,
        source: serde_json::Error,
    },
    #[error("state row {namespace}/{key}: unknown namespace")]
    UnknownNamespace { namespace: String, key: String },
    #[error("enterprise row {key}: {source}")]
    BadEnterprise { key: String, source: RegistryError },
}

/// One accepted document with who sent it and its latest receipt status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Slot<T> {
    doc: T,
    sender: String,
    status: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct WaybillRec {
    slot: Slot<Waybill>,
    /// The declaration that matched this waybill; a waybill serves one declaration.
    bound: Option<DeclarationId>,
    signed: bool,
}

/// The electronic tax bill of a released inventory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Bill {
    tax_no: String,
    revision: u32,
    status: i32,
    levy: LevyState,
    due_from: CivilDate,
    due_until: CivilDate,
}

/// 申报 — the clearance state of one declaration, keyed by (ebpCode, orderNo).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Declaration {
    id: DeclarationId,
    ebp_code: String,
    order_no: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    order: Option<Slot<Order>>,
    payment: Option<Slot<Payment>>,
    inventory: Option<Slot<Inventory>>,
    info: String,
    pre_no: Option<String>,
    invt_no: Option<String>,
    buyer: Option<BuyerKey>,
    /// Quota consumed by this declaration: (year, amount).
    reserved: Option<(i32, Decimal)>,
    value: Decimal,
    regime: Option<Regime>,
    assessment: Option<TaxAssessment>,
    released_at: Option<Timestamp>,
    cancelled: bool,
    /// gnum → quantity returned so far.
    returned: BTreeMap<u32, Decimal>,
    bill: Option<Bill>,
    /// Every time the declaration passed the match: (engine serial, time, dutiable price) —
    /// what the risk windows are rebuilt from at start-up.
    #[serde(default)]
    matches: Vec<(u64, Timestamp, Decimal)>,
    /// Full inspection is due when it matches: a party was listed while it was in flight.
    #[serde(default)]
    forced: Option<String>,
}

fn is_rejected(status: i32) -> bool {
    status == 100 || status < 0
}

fn recipients<'a>(codes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let set: BTreeSet<String> = codes
        .into_iter()
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    set.into_iter().collect()
}

type WaybillKey = (String, String);

/// The clearance engine. See the module documentation.
#[derive(Clone)]
pub struct Engine {
    settings: Settings,
    tariff: Tariff,
    registry: Registry,
    secret: Vec<u8>,
    decls: BTreeMap<DeclarationId, Declaration>,
    waybills: BTreeMap<WaybillKey, WaybillRec>,
    seen: BTreeSet<String>,
    quota: QuotaRoom,
    serial: u64,
    sup: Supervision,
    stats: statistics::StatisticsRoom,
    /// 委托 — who may name whom ([`crate::entrustment`]).
    consent: crate::entrustment::Entrustments,
    /// The version of the rules in force ([`ownership::RULES_CURRENT`]); changed only by a
    /// journaled [`Action::AdoptRules`].
    rules: u32,
    dirty_rules: bool,
    /// The events of the command being applied, for [`crate::window::SingleWindow`]; dropped at
    /// [`Engine::take_changes`] if nobody took them.
    events: Vec<crate::event::Event>,
    // Indices, rebuilt on restore.
    payment_index: BTreeMap<(String, String), DeclarationId>,
    invt_index: BTreeMap<String, DeclarationId>,
    waiters: BTreeMap<WaybillKey, BTreeSet<DeclarationId>>,
    // Dirty tracking for take_changes.
    dirty_decls: BTreeSet<DeclarationId>,
    dirty_waybills: BTreeSet<WaybillKey>,
    dirty_seen: Vec<String>,
    dirty_enterprises: BTreeSet<String>,
    dirty_settings: bool,
    dirty_tariff: bool,
    dirty_serial: bool,
}

const NS_SETTINGS: &str = "settings";
const NS_TARIFF: &str = "tariff";
const NS_ENTERPRISE: &str = "enterprise";
const NS_DECLARATION: &str = "declaration";
const NS_WAYBILL: &str = "waybill";
const NS_GUID: &str = "guid";
const NS_META: &str = "meta";

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// A passed match: what the limits and the tax said.
struct Assessed {
    buyer: BuyerKey,
    year: i32,
    used_before: Decimal,
    value: Decimal,
    quota_amount: Decimal,
    regime: Regime,
    assessment: TaxAssessment,
}

fn tax_lines(inv: &Inventory, returned: &BTreeMap<u32, Decimal>) -> Vec<TaxLineInput> {
    inv.lines
        .iter()
        .filter_map(|l| {
            let back = returned.get(&l.gnum).copied().unwrap_or(Decimal::ZERO);
            let left = l.qty - back;
            if left <= Decimal::ZERO {
                return None;
            }
            let (value, qty1) = if back.is_zero() || l.qty.is_zero() {
                (l.total_price, l.qty1)
            } else {
                (
                    round_fen(l.total_price * left / l.qty),
                    l.qty1 * left / l.qty,
                )
            };
            Some(TaxLineInput {
                gnum: l.gnum,
                hs: l.gcode.clone(),
                goods_value: value,
                qty: left,
                unit: l.unit.clone(),
                qty1,
                unit1: l.unit1.clone(),
            })
        })
        .collect()
}

fn tax_rejection(e: &TaxError) -> Rejection {
    let code = match e {
        TaxError::UnknownHs { .. } => ErrorCode::HsUnknown,
        TaxError::NotOnPositiveList { .. } => ErrorCode::HsNotPositiveList,
        _ => ErrorCode::TaxFailed,
    };
    Rejection::with(code, format!("{e}"))
}

/// Counts only: the buyer secret and the documents stay out of logs.
impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("declarations", &self.decls.len())
            .field("waybills", &self.waybills.len())
            .field("enterprises", &self.registry.len())
            .field("tariff_lines", &self.tariff.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(settings: Settings, tariff: Tariff, buyer_secret: Vec<u8>) -> Engine {
        Engine {
            settings,
            tariff,
            registry: Registry::default(),
            secret: buyer_secret,
            decls: BTreeMap::new(),
            waybills: BTreeMap::new(),
            seen: BTreeSet::new(),
            quota: QuotaRoom::default(),
            serial: 0,
            sup: Supervision::new(),
            stats: statistics::StatisticsRoom::default(),
            consent: crate::entrustment::Entrustments::default(),
            rules: ownership::RULES_LEGACY,
            dirty_rules: false,
            events: Vec::new(),
            payment_index: BTreeMap::new(),
            invt_index: BTreeMap::new(),
            waiters: BTreeMap::new(),
            dirty_decls: BTreeSet::new(),
            dirty_waybills: BTreeSet::new(),
            dirty_seen: Vec::new(),
            dirty_enterprises: BTreeSet::new(),
            dirty_settings: true,
            dirty_tariff: true,
            dirty_serial: true,
        }
    }

    /// Rebuild from the rows [`Engine::take_changes`] produced earlier. `settings` is the
    /// configured starting point; a persisted `settings` row (from a journaled `SetSettings`)
    /// overrides it. The tariff always comes from its row (written on the first `take_changes`),
    /// falling back to [`Tariff::builtin`].
    pub fn restore(
        settings: Settings,
        buyer_secret: Vec<u8>,
        rows: impl IntoIterator<Item = (String, String, Vec<u8>)>,
    ) -> Result<Engine, RestoreError> {
        let mut e = Engine::new(settings, Tariff::builtin(), buyer_secret);
        fn parse<T: serde::de::DeserializeOwned>(
            ns: &str,
            key: &str,
            v: &[u8],
        ) -> Result<T, RestoreError> {
            serde_json::from_slice(v).map_err(|source| RestoreError::BadRow {
                namespace: ns.to_owned(),
                key: key.to_owned(),
                source,
            })
        }
        for (ns, key, value) in rows {
            match ns.as_str() {
                NS_SETTINGS => e.settings = parse(&ns, &key, &value)?,
                NS_TARIFF => e.tariff = parse(&ns, &key, &value)?,
                NS_ENTERPRISE => {
                    let ent: Enterprise = parse(&ns, &key, &value)?;
                    e.registry
                        .file(ent)
                        .map_err(|source| RestoreError::BadEnterprise {
                            key: key.clone(),
                            source,
                        })?;
                }
                NS_DECLARATION => {
                    let d: Declaration = parse(&ns, &key, &value)?;
                    e.decls.insert(d.id.clone(), d);
                }
                NS_WAYBILL => {
                    let w: WaybillRec = parse(&ns, &key, &value)?;
                    let k = (
                        w.slot.doc.logistics_code.clone(),
                        w.slot.doc.logistics_no.clone(),
                    );
                    e.waybills.insert(k, w);
                }
                NS_GUID => {
                    e.seen.insert(key);
                }
                NS_QUOTA => e
                    .quota
                    .restore(&value)
                    .map_err(|source| RestoreError::BadRow {
                        namespace: ns.clone(),
                        key: key.clone(),
                        source,
                    })?,
                NS_META if key == "rules" => e.rules = parse(&ns, &key, &value)?,
                NS_META => e.serial = parse(&ns, &key, &value)?,
                ownership::NS_ENTRUSTMENT => {
                    e.restore_entrustment(&value)
                        .map_err(|source| RestoreError::BadRow {
                            namespace: ns.clone(),
                            key: key.clone(),
                            source,
                        })?
                }
                statistics::NS_STATS => {
                    e.restore_statistics(&key, &value)
                        .map_err(|source| RestoreError::BadRow {
                            namespace: ns.clone(),
                            key: key.clone(),
                            source,
                        })?
                }
                _ => match e.restore_supervision(&ns, &key, &value) {
                    Ok(true) => {}
                    Ok(false) => return Err(RestoreError::UnknownNamespace { namespace: ns, key }),
                    Err(source) => {
                        return Err(RestoreError::BadRow {
                            namespace: ns,
                            key,
                            source,
                        });
                    }
                },
            }
        }
        for d in e.decls.values() {
            if let Some(p) = &d.payment {
                e.payment_index.insert(
                    (p.doc.pay_code.clone(), p.doc.pay_transaction_id.clone()),
                    d.id.clone(),
                );
            }
            if let Some(n) = &d.invt_no {
                e.invt_index.insert(n.clone(), d.id.clone());
            }
            if let Some(i) = &d.inventory
                && i.status == 2
            {
                e.waiters
                    .entry((i.doc.logistics_code.clone(), i.doc.logistics_no.clone()))
                    .or_default()
                    .insert(d.id.clone());
            }
        }
        e.reindex_supervision();
        e.dirty_settings = false;
        e.dirty_tariff = false;
        e.dirty_serial = false;
        Ok(e)
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn tariff(&self) -> &Tariff {
        &self.tariff
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn quota_used(&self, buyer: &BuyerKey, year: i32) -> Decimal {
        self.quota.used(buyer, year)
    }

    pub fn buyer_key(&self, name: &str, id_number: &str) -> BuyerKey {
        personal::buyer_key(&self.secret, name, id_number)
    }

    /// The current projection of one declaration.
    pub fn declaration(&self, id: &DeclarationId) -> Option<DeclarationView> {
        self.decls.get(id).map(|d| self.view(d))
    }

    /// Files (or re-files) an enterprise, reporting a validation failure. `apply` with
    /// [`Command::FileEnterprise`] does the same but can only drop an invalid filing.
    pub fn file_enterprise(&mut self, e: Enterprise) -> Result<(), RegistryError> {
        let code = e.code.clone();
        self.registry.file(e)?;
        self.dirty_enterprises.insert(code);
        Ok(())
    }

    pub fn apply(&mut self, cmd: Command, now: Timestamp, decider: &dyn Decider) -> Vec<Receipt> {
        self.daily(now);
        match cmd {
            Command::FileEnterprise(e) => {
                // Invalid filings are refused at the API before they reach the journal; so is
                // the filing of an enterprise on the credit negative list (事前准入禁止), which
                // the engine refuses again here in case one slipped through.
                if !self.blocked(&crate::subject::Subject::Enterprise(e.code.clone()), now) {
                    let (code, partners) = (e.code.clone(), e.entrusts.clone());
                    if self.file_enterprise(e).is_ok() {
                        self.file_registry_entrustments(&code, &partners, now);
                    }
                }
                Vec::new()
            }
            Command::LoadTariff(t) => {
                self.tariff = t;
                self.dirty_tariff = true;
                Vec::new()
            }
            Command::SetSettings(s) => {
                self.settings = s;
                self.dirty_settings = true;
                Vec::new()
            }
            Command::Declare { sender, document } => self.declare(&sender, document, now, decider),
            Command::Conclude {
                declaration,
                release,
                reason,
            } => self.conclude(&declaration, release, &reason, now),
            Command::Supervise { actor, action } => self.supervise_action(&actor, action, now),
            Command::Statistics { actor, action } => self.statistics_action(&actor, action, now),
        }
    }

    fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.dirty_serial = true;
        self.serial
    }

    /// Pre-entry numbers (预录入编号): prefix + year + 13-digit serial = 18 characters.
    fn pre_no(&mut self, prefix: char, now: Timestamp) -> String {
        let n = self.next_serial();
        format!(
            "{prefix}{:04}{:013}",
            now.beijing_date().year,
            n % 10_000_000_000_000
        )
    }

    fn declare(
        &mut self,
        sender: &str,
        doc: Document,
        now: Timestamp,
        decider: &dyn Decider,
    ) -> Vec<Receipt> {
        // Idempotency is per sender: a guid is the sender's own id for its node.
        let seen_key = format!("{sender}:{}:{}", doc.kind(), doc.guid());
        if self.seen.contains(&seen_key) {
            return Vec::new();
        }
        self.seen.insert(seen_key.clone());
        self.dirty_seen.push(seen_key);

        if !matches!(doc.app_type(), "1" | "2") {
            let rej = Rejection::new(ErrorCode::BadAppType);
            self.stats_node_rejected(&doc, sender, &rej, now);
            return vec![reject_node(&doc, sender, &rej, now)];
        }
        match doc.app_status() {
            "2" => {}
            "1" => {
                let body = node_body(&doc, 1, "电子口岸已暂存".to_owned(), now, None);
                return vec![Receipt {
                    recipients: recipients([sender]),
                    declaration: None,
                    body,
                }];
            }
            _ => {
                let rej = Rejection::new(ErrorCode::BadAppStatus);
                self.stats_node_rejected(&doc, sender, &rej, now);
                return vec![reject_node(&doc, sender, &rej, now)];
            }
        }
        let result = match &doc {
            Document::Order(o) => self.on_order(sender, o, now, decider),
            Document::Payment(p) => self.on_payment(sender, p, now, decider),
            Document::Waybill(w) => self.on_waybill(sender, w, now, decider),
            Document::WaybillStatus(s) => self.on_waybill_status(sender, s, now),
            Document::Inventory(i) => self.on_inventory(sender, i, now, decider),
            Document::Cancel(c) => self.on_cancel(sender, c, now),
            Document::Refund(r) => self.on_refund(sender, r, now),
            Document::Delivery(d) => self.on_delivery(sender, d, now),
        };
        match result {
            Ok(receipts) => receipts,
            Err(rej) => {
                // A refusal because another party is listed is not the sender's failing.
                if !matches!(
                    rej.code,
                    ErrorCode::ListedEnterprise | ErrorCode::ListedPerson
                ) {
                    let kind = CreditEventKind::Rejected {
                        code: rej.code.code().to_owned(),
                    };
                    self.credit_parties(&[sender], &kind, now);
                }
                self.stats_node_rejected(&doc, sender, &rej, now);
                vec![reject_node(&doc, sender, &rej, now)]
            }
        }
    }

    fn decl_mut(&mut self, ebp: &str, order_no: &str, now: Timestamp) -> &mut Declaration {
        let id = DeclarationId::derive(ebp, order_no);
        self.dirty_decls.insert(id.clone());
        let d = self.decls.entry(id.clone()).or_insert_with(|| Declaration {
            id,
            ebp_code: ebp.to_owned(),
            order_no: order_no.to_owned(),
            created_at: now,
            updated_at: now,
            order: None,
            payment: None,
            inventory: None,
            info: String::new(),
            pre_no: None,
            invt_no: None,
            buyer: None,
            reserved: None,
            value: Decimal::ZERO,
            regime: None,
            assessment: None,
            released_at: None,
            cancelled: false,
            returned: BTreeMap::new(),
            bill: None,
            matches: Vec::new(),
            forced: None,
        });
        d.updated_at = now;
        d
    }

    fn on_order(
        &mut self,
        sender: &str,
        o: &Order,
        now: Timestamp,
        decider: &dyn Decider,
    ) -> Result<Vec<Receipt>, Rejection> {
        checks::sender(
            &self.registry,
            sender,
            &[Role::Platform, Role::Seller],
            &[&o.ebp_code, &o.ebc_code],
        )?;
        let mut parties = vec![
            ("ebpCode", o.ebp_code.as_str(), Role::Platform),
            ("ebcCode", o.ebc_code.as_str(), Role::Seller),
        ];
        if let Some(p) = o.pay_code.as_deref().filter(|p| !p.is_empty()) {
            parties.push(("payCode", p, Role::Payment));
        }
        checks::named(&self.registry, &parties)?;
        checks::order(o, self.settings.amount_tolerance)?;
        self.consented(
            sender,
            &[("ebpCode", &o.ebp_code), ("ebcCode", &o.ebc_code)],
            Some(&o.ebp_code),
            Some(&o.ebc_code),
            now,
        )?;
        let id = DeclarationId::derive(&o.ebp_code, &o.order_no);
        let named: Vec<&str> = parties.iter().map(|(_, c, _)| *c).collect();
        self.barred(&named, Some(&id), now)?;
        let modify = if let Some(existing) = self.decls.get(&id).and_then(|d| d.order.as_ref()) {
            self.of_record(sender, &existing.sender)?;
            if o.app_type == "1" {
                return Err(Rejection::new(ErrorCode::DuplicateOrder));
            }
            if existing.status >= 120 {
                return Err(Rejection::new(ErrorCode::M11NotModifiable));
            }
            true
        } else {
            false
        };
        let d = self.decl_mut(&o.ebp_code, &o.order_no, now);
        d.order = Some(Slot {
            doc: o.clone(),
            sender: sender.to_owned(),
            status: 2,
        });
        let verb = if modify {
            "变更申报成功"
        } else {
            "新增申报成功"
        };
        let mut out = vec![Receipt {
            recipients: recipients([sender, o.ebp_code.as_str(), o.ebc_code.as_str()]),
            declaration: Some(id.clone()),
            body: ReceiptBody::Order(order_return(o, 2, format!("{verb}[{}]", o.guid), now)),
        }];
        out.extend(self.try_match(&id, now, decider));
        Ok(out)
    }

    fn on_payment(
        &mut self,
        sender: &str,
        p: &Payment,
        now: Timestamp,
        decider: &dyn Decider,
    ) -> Result<Vec<Receipt>, Rejection> {
        checks::sender(&self.registry, sender, &[Role::Payment], &[&p.pay_code])?;
        checks::named(
            &self.registry,
            &[
                ("payCode", &p.pay_code, Role::Payment),
                ("ebpCode", &p.ebp_code, Role::Platform),
            ],
        )?;
        checks::payment(p)?;
        self.consented(sender, &[("ebpCode", &p.ebp_code)], None, None, now)?;
        let id = DeclarationId::derive(&p.ebp_code, &p.order_no);
        self.barred(&[&p.pay_code, &p.ebp_code], Some(&id), now)?;
        let key = (p.pay_code.clone(), p.pay_transaction_id.clone());
        let existing = self.decls.get(&id).and_then(|d| d.payment.as_ref());
        let other_owner = self
            .payment_index
            .get(&key)
            .is_some_and(|owner| *owner != id);
        if other_owner {
            return Err(Rejection::new(ErrorCode::DuplicatePayment));
        }
        if let Some(e) = existing {
            self.of_record(sender, &e.sender)?;
        }
        let modify = match existing {
            Some(_) if p.app_type == "1" => {
                return Err(Rejection::new(ErrorCode::DuplicatePayment));
            }
            Some(e) if e.status >= 120 => return Err(Rejection::new(ErrorCode::M11NotModifiable)),
            Some(e) => Some((e.doc.pay_code.clone(), e.doc.pay_transaction_id.clone())),
            None => None,
        };
        if let Some(old) = &modify {
            self.payment_index.remove(old);
        }
        self.payment_index.insert(key, id.clone());
        let d = self.decl_mut(&p.ebp_code, &p.order_no, now);
        d.payment = Some(Slot {
            doc: p.clone(),
            sender: sender.to_owned(),
            status: 2,
        });
        let verb = if modify.is_some() {
            "变更申报成功"
        } else {
            "新增申报成功"
        };
        let mut out = vec![Receipt {
            recipients: recipients([sender, p.pay_code.as_str()]),
            declaration: Some(id.clone()),
            body: ReceiptBody::Payment(payment_return(p, 2, format!("{verb}[{}]", p.guid), now)),
        }];
        out.extend(self.try_match(&id, now, decider));
        Ok(out)
    }

    fn on_waybill(
        &mut self,
        sender: &str,
        w: &Waybill,
        now: Timestamp,
        decider: &dyn Decider,
    ) -> Result<Vec<Receipt>, Rejection> {
        checks::sender(
            &self.registry,
            sender,
            &[Role::Logistics],
            &[&w.logistics_code],
        )?;
        checks::named(
            &self.registry,
            &[("logisticsCode", &w.logistics_code, Role::Logistics)],
        )?;
        checks::waybill(w)?;
        let key = (w.logistics_code.clone(), w.logistics_no.clone());
        let waiting = self
            .waiters
            .get(&key)
            .and_then(|s| s.iter().next())
            .cloned();
        self.barred(&[&w.logistics_code], waiting.as_ref(), now)?;
        if let Some(e) = self.waybills.get(&key) {
            self.of_record(sender, &e.slot.sender)?;
        }
        let modify = match self.waybills.get(&key) {
            Some(_) if w.app_type == "1" => {
                return Err(Rejection::new(ErrorCode::DuplicateWaybill));
            }
            Some(e) if e.slot.status >= 120 || e.bound.is_some() => {
                return Err(Rejection::new(ErrorCode::M11NotModifiable));
            }
            Some(_) => true,
            None => false,
        };
        self.waybills.insert(
            key.clone(),
            WaybillRec {
                slot: Slot {
                    doc: w.clone(),
                    sender: sender.to_owned(),
                    status: 2,
                },
                bound: None,
                signed: false,
            },
        );
        self.dirty_waybills.insert(key.clone());
        let verb = if modify {
            "变更申报成功"
        } else {
            "新增申报成功"
        };
        let mut out = vec![Receipt {
            recipients: recipients([sender, w.logistics_code.as_str()]),
            declaration: None,
            body: ReceiptBody::Logistics(waybill_return(w, 2, format!("{verb}[{}]", w.guid), now)),
        }];
        let waiting: Vec<DeclarationId> = self
            .waiters
            .get(&key)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for id in waiting {
            // The declaration's view lists the waybill now, matched or not (a rebuild, which
            // commits many messages at once, sees it too).
            self.dirty_decls.insert(id.clone());
            out.extend(self.try_match(&id, now, decider));
        }
        Ok(out)
    }

    fn on_waybill_status(
        &mut self,
        sender: &str,
        s: &WaybillStatus,
        now: Timestamp,
    ) -> Result<Vec<Receipt>, Rejection> {
        checks::sender(
            &self.registry,
            sender,
            &[Role::Logistics],
            &[&s.logistics_code],
        )?;
        checks::named(
            &self.registry,
            &[("logisticsCode", &s.logistics_code, Role::Logistics)],
        )?;
        if s.logistics_status != "S" {
            return Err(Rejection::new(ErrorCode::WaybillStatusInvalid));
        }
        let key = (s.logistics_code.clone(), s.logistics_no.clone());
        let Some(rec) = self.waybills.get_mut(&key) else {
            return Err(Rejection::new(ErrorCode::WaybillNotFound));
        };
        if rec.signed {
            return Err(Rejection::new(ErrorCode::DuplicateDeclaration));
        }
        rec.signed = true;
        let declaration = rec.bound.clone();
        self.dirty_waybills.insert(key);
        Ok(vec![Receipt {
            recipients: recipients([sender, s.logistics_code.as_str()]),
            declaration,
            body: ReceiptBody::LogisticsStatus(status_return(
                s,
                2,
                format!("新增申报成功[{}]", s.guid),
                now,
            )),
        }])
    }

    fn on_inventory(
        &mut self,
        sender: &str,
        i: &Inventory,
        now: Timestamp,
        decider: &dyn Decider,
    ) -> Result<Vec<Receipt>, Rejection> {
        checks::sender(
            &self.registry,
            sender,
            &[Role::Agent, Role::Seller],
            &[&i.agent_code, &i.ebc_code],
        )?;
        checks::named(
            &self.registry,
            &[
                ("ebpCode", &i.ebp_code, Role::Platform),
                ("ebcCode", &i.ebc_code, Role::Seller),
                ("logisticsCode", &i.logistics_code, Role::Logistics),
                ("agentCode", &i.agent_code, Role::Agent),
                ("assureCode", &i.assure_code, Role::Guarantor),
            ],
        )?;
        checks::inventory(i, &self.tariff, self.settings.enforce_bonded_only)?;
        self.consented(
            sender,
            &[
                ("ebcCode", &i.ebc_code),
                ("ebpCode", &i.ebp_code),
                ("agentCode", &i.agent_code),
            ],
            Some(&i.ebp_code),
            Some(&i.ebc_code),
            now,
        )?;
        let id = DeclarationId::derive(&i.ebp_code, &i.order_no);
        self.barred(
            &[&i.ebp_code, &i.ebc_code, &i.logistics_code, &i.agent_code],
            Some(&id),
            now,
        )?;
        self.goods_check(i, now)?;
        if let Some(e) = self.decls.get(&id).and_then(|d| d.inventory.as_ref()) {
            self.of_record(sender, &e.sender)?;
        }
        let (modify, old_waiter) = match self.decls.get(&id) {
            Some(d) => match &d.inventory {
                Some(e) if is_rejected(e.status) || d.cancelled => (false, None),
                Some(_) if i.app_type == "1" => {
                    return Err(Rejection::new(ErrorCode::DuplicateInventory));
                }
                Some(e) if e.status != 2 => {
                    return Err(Rejection::new(ErrorCode::M11NotModifiable));
                }
                Some(e) => (
                    true,
                    Some((e.doc.logistics_code.clone(), e.doc.logistics_no.clone())),
                ),
                None => (false, None),
            },
            None => (false, None),
        };
        if let Some(k) = old_waiter
            && let Some(set) = self.waiters.get_mut(&k)
        {
            set.remove(&id);
        }
        let pre_no = match self
            .decls
            .get(&id)
            .and_then(|d| d.pre_no.clone())
            .filter(|_| modify)
        {
            Some(p) => p,
            None => self.pre_no('B', now),
        };
        let d = self.decl_mut(&i.ebp_code, &i.order_no, now);
        d.inventory = Some(Slot {
            doc: i.clone(),
            sender: sender.to_owned(),
            status: 2,
        });
        d.pre_no = Some(pre_no.clone());
        d.invt_no = None;
        d.cancelled = false;
        d.returned.clear();
        d.bill = None;
        d.assessment = None;
        d.regime = None;
        d.value = Decimal::ZERO;
        d.released_at = None;
        let verb = if modify {
            "清单变更申报成功"
        } else {
            "清单新增申报成功"
        };
        let text = format!(
            "{verb}[{}][电商企业编码:{},订单编号:{}]",
            i.guid, i.ebc_code, i.order_no
        );
        d.info = text.clone();
        self.waiters
            .entry((i.logistics_code.clone(), i.logistics_no.clone()))
            .or_default()
            .insert(id.clone());
        let mut out = vec![Receipt {
            recipients: recipients([sender, i.agent_code.as_str(), i.ebc_code.as_str()]),
            declaration: Some(id.clone()),
            body: ReceiptBody::Inventory(inventory_return(i, 2, text, now, Some(pre_no), None)),
        }];
        out.extend(self.try_match(&id, now, decider));
        Ok(out)
    }

    /// Runs 三单对碰 when the four documents are present; no-op otherwise.
    fn try_match(
        &mut self,
        id: &DeclarationId,
        now: Timestamp,
        decider: &dyn Decider,
    ) -> Vec<Receipt> {
        let Some(d) = self.decls.get(id) else {
            return Vec::new();
        };
        let (Some(o), Some(p), Some(i)) = (&d.order, &d.payment, &d.inventory) else {
            return Vec::new();
        };
        if i.status != 2 {
            return Vec::new();
        }
        let wkey = (i.doc.logistics_code.clone(), i.doc.logistics_no.clone());
        let Some(w) = self.waybills.get(&wkey) else {
            return Vec::new();
        };
        let outcome = self.evaluate(
            id,
            &o.doc,
            &p.doc,
            &w.slot.doc,
            w.bound.as_ref(),
            &i.doc,
            now,
        );
        let assessed = match outcome {
            Ok(a) => a,
            Err(rej) => {
                let answerable = self.answerable(d, rej.code);
                let refs: Vec<&str> = answerable.iter().map(String::as_str).collect();
                let kind = CreditEventKind::Rejected {
                    code: rej.code.code().to_owned(),
                };
                self.credit_parties(&refs, &kind, now);
                return self.reject_inventory(id, &rej.info(), rej.return_status(), now);
            }
        };
        let input = self.risk_input(
            id,
            &o.doc,
            &p.doc,
            &i.doc,
            &assessed.buyer,
            assessed.value,
            assessed.used_before,
            now,
        );
        let screen = self.screen(&i.doc, &p.doc.pay_code, now);
        let advice = self.supervise(id, input, screen, &assessed.buyer, now);
        self.stats_matched(
            id,
            advice
                .hits
                .iter()
                .filter(|h| h.mode == crate::risk::RuleMode::On)
                .count(),
        );
        // The supervision step changed only its own state; the documents are as they were.
        let Some(d) = self.decls.get(id) else {
            return Vec::new();
        };
        let (Some(o), Some(p), Some(i)) = (&d.order, &d.payment, &d.inventory) else {
            return Vec::new();
        };
        let Some(w) = self.waybills.get(&wkey) else {
            return Vec::new();
        };
        let invt_no = {
            let n = self.serial + 1;
            let year = now.beijing_date().year;
            format!("{}{:04}I{:09}", i.doc.customs_code, year, n % 1_000_000_000)
        };
        let decision = decider.decide(&DecisionContext {
            declaration: id,
            order: &o.doc,
            payment: &p.doc,
            waybill: &w.slot.doc,
            inventory: &i.doc,
            buyer: &assessed.buyer,
            value: assessed.value,
            regime: assessed.regime,
            assessment: &assessed.assessment,
            quota_used_before: assessed.used_before,
            advice: &advice,
            now,
        });
        let parties: Vec<String> = vec![
            i.doc.ebc_code.clone(),
            i.doc.ebp_code.clone(),
            i.doc.agent_code.clone(),
            i.doc.logistics_code.clone(),
            p.doc.pay_code.clone(),
        ];
        let task_subjects =
            supervision::hit_subjects(&advice.hits, &assessed.buyer, &parties[0], &parties[4]);
        let match_seq = self.next_serial();
        let refs: Vec<&str> = parties.iter().map(String::as_str).collect();
        self.credit_parties(&refs, &CreditEventKind::DeclarationFiled, now);
        let mut out = self.record_pass(id, &wkey, assessed, invt_no, match_seq, now);
        if let Decision::Reject { code, .. } = &decision
            && code != ErrorCode::ListedEnterprise.code()
            && code != ErrorCode::ListedPerson.code()
        {
            let kind = CreditEventKind::Rejected { code: code.clone() };
            self.credit_parties(&[&parties[0], &parties[2]], &kind, now);
        }
        let inspect = decision == Decision::Inspection;
        out.extend(self.decide(id, decision, now));
        if inspect {
            self.open_task(id, advice.reasons, task_subjects, now);
        }
        out
    }

    /// The match passed: consume the quota, bind the waybill, record the assessment and answer
    /// every document of the declaration with 120 (logic check passed).
    fn record_pass(
        &mut self,
        id: &DeclarationId,
        wkey: &WaybillKey,
        assessed: Assessed,
        invt_no: String,
        match_seq: u64,
        now: Timestamp,
    ) -> Vec<Receipt> {
        // Passed: consume the quota now, so no later declaration can overrun it.
        self.quota
            .reserve(&assessed.buyer, assessed.year, assessed.quota_amount);
        if let Some(rec) = self.waybills.get_mut(wkey) {
            rec.bound = Some(id.clone());
            self.dirty_waybills.insert(wkey.clone());
        }
        self.dirty_decls.insert(id.clone());
        if let Some(set) = self.waiters.get_mut(wkey) {
            set.remove(id);
        }
        self.invt_index.insert(invt_no.clone(), id.clone());
        let passed = info(ErrorCode::LogicPassed);
        let mut out = Vec::new();
        let Some(d) = self.decls.get_mut(id) else {
            return out;
        };
        d.updated_at = now;
        d.buyer = Some(assessed.buyer);
        d.reserved = Some((assessed.year, assessed.quota_amount));
        d.value = assessed.value;
        d.regime = Some(assessed.regime);
        d.assessment = Some(assessed.assessment);
        d.invt_no = Some(invt_no.clone());
        d.info = passed.clone();
        d.matches.push((match_seq, now, assessed.value));
        d.forced = None;
        if let Some(o) = d.order.as_mut()
            && o.status < 120
        {
            o.status = 120;
            out.push(Receipt {
                recipients: recipients([
                    o.sender.as_str(),
                    o.doc.ebp_code.as_str(),
                    o.doc.ebc_code.as_str(),
                ]),
                declaration: Some(id.clone()),
                body: ReceiptBody::Order(order_return(&o.doc, 120, passed.clone(), now)),
            });
        }
        if let Some(p) = d.payment.as_mut()
            && p.status < 120
        {
            p.status = 120;
            out.push(Receipt {
                recipients: recipients([p.sender.as_str(), p.doc.pay_code.as_str()]),
                declaration: Some(id.clone()),
                body: ReceiptBody::Payment(payment_return(&p.doc, 120, passed.clone(), now)),
            });
        }
        if let Some(rec) = self.waybills.get_mut(wkey)
            && rec.slot.status < 120
        {
            rec.slot.status = 120;
            self.dirty_waybills.insert(wkey.clone());
            out.push(Receipt {
                recipients: recipients([
                    rec.slot.sender.as_str(),
                    rec.slot.doc.logistics_code.as_str(),
                ]),
                declaration: Some(id.clone()),
                body: ReceiptBody::Logistics(waybill_return(
                    &rec.slot.doc,
                    120,
                    passed.clone(),
                    now,
                )),
            });
        }
        if let Some(i) = d.inventory.as_mut() {
            i.status = 120;
            out.push(Receipt {
                recipients: inventory_recipients(i),
                declaration: Some(id.clone()),
                body: ReceiptBody::Inventory(inventory_return(
                    &i.doc,
                    120,
                    passed,
                    now,
                    d.pre_no.clone(),
                    Some(invt_no),
                )),
            });
        }
        out
    }

    /// M1–M8, M10 (limits) and the tax, on a complete declaration. Pure.
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        id: &DeclarationId,
        o: &Order,
        p: &Payment,
        w: &Waybill,
        bound: Option<&DeclarationId>,
        i: &Inventory,
        now: Timestamp,
    ) -> Result<Assessed, Rejection> {
        let rej = |c| Err(Rejection::new(c));
        if i.ebc_code != o.ebc_code {
            return rej(ErrorCode::M1EbcMismatch);
        }
        if w.order_no != i.order_no || bound.is_some_and(|b| b != id) {
            return rej(ErrorCode::M2WaybillMismatch);
        }
        if o.pay_code.as_deref() != Some(p.pay_code.as_str())
            || o.pay_transaction_id.as_deref() != Some(p.pay_transaction_id.as_str())
        {
            return rej(ErrorCode::M3PaymentEnterprise);
        }
        if !checks::within(
            o.actural_paid,
            p.amount_paid,
            self.settings.amount_tolerance,
        ) {
            return rej(ErrorCode::M4AmountPaid);
        }
        let same_id = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        if o.buyer_name.trim() != p.payer_name.trim()
            || !same_id(&o.buyer_id_number, &p.payer_id_number)
        {
            return rej(ErrorCode::M5BuyerPayer);
        }
        if i.buyer_id_type != o.buyer_id_type
            || !same_id(&i.buyer_id_number, &o.buyer_id_number)
            || i.buyer_name.trim() != o.buyer_name.trim()
            || i.buyer_telephone.trim() != o.buyer_telephone.trim()
        {
            return rej(ErrorCode::M6InventoryBuyer);
        }
        if o.consignee.trim() != w.consignee.trim()
            || o.consignee_telephone.trim() != w.consignee_telephone.trim()
            || o.consignee_address.trim() != w.consignee_address.trim()
        {
            return rej(ErrorCode::M7Consignee);
        }
        let order_lines: BTreeMap<u32, &str> = o
            .lines
            .iter()
            .map(|l| (l.gnum, l.item_name.as_str()))
            .collect();
        let lines_ok = i.lines.len() == o.lines.len()
            && i.lines.iter().all(|l| {
                order_lines.get(&l.gnum).is_some_and(|name| {
                    l.gname.trim() == name.trim()
                        || l.item_name
                            .as_deref()
                            .is_some_and(|n| n.trim() == name.trim())
                })
            });
        if !lines_ok {
            return rej(ErrorCode::M8Lines);
        }
        let lines = tax_lines(i, &BTreeMap::new());
        let value =
            tax::dutiable_price(&lines, i.freight, i.insured_fee, o.discount, &self.settings);
        let qtys: Vec<Decimal> = i.lines.iter().map(|l| l.qty).collect();
        let single_item = limits::is_single_item(&qtys);
        let buyer = self.buyer_key(&o.buyer_name, &o.buyer_id_number);
        let year = now.beijing_date().year;
        let used_before = self.quota.used(&buyer, year);
        // The quota counts the dutiable price, or the amount paid when so configured [U].
        let quota_amount = if self.settings.quota_counts_dutiable_price {
            value
        } else {
            o.actural_paid
        };
        let mut verdict = limits::check(value, single_item, used_before, &self.settings);
        if !self.settings.quota_counts_dutiable_price && verdict.allowed() {
            let limit = self.settings.annual_limit;
            if used_before + quota_amount > limit {
                verdict = LimitVerdict::OverAnnualLimit {
                    used: used_before,
                    value: quota_amount,
                    limit,
                };
            }
        }
        let regime = match verdict {
            LimitVerdict::Within => Regime::Preferential,
            LimitVerdict::SingleItemFullRate => Regime::FullRate,
            LimitVerdict::OverSingleLimit { .. } => {
                return Err(Rejection::with(
                    ErrorCode::M10SingleLimit,
                    format!("value={value}"),
                ));
            }
            LimitVerdict::OverAnnualLimit { used, value, limit } => {
                return Err(Rejection::with(
                    ErrorCode::M10AnnualLimit,
                    format!("used={used} value={value} limit={limit}"),
                ));
            }
        };
        let input = TaxInput {
            lines: &lines,
            freight: i.freight,
            insured_fee: i.insured_fee,
            discount: o.discount,
            regime,
        };
        let assessment =
            tax::assess(&input, &self.tariff, &self.settings).map_err(|e| tax_rejection(&e))?;
        Ok(Assessed {
            buyer,
            year,
            used_before,
            value,
            quota_amount,
            regime,
            assessment,
        })
    }

    fn restore_quota(&mut self, id: &DeclarationId, amount: Option<Decimal>) {
        let Some(d) = self.decls.get_mut(id) else {
            return;
        };
        let (Some(buyer), Some((year, reserved))) = (d.buyer.clone(), d.reserved) else {
            return;
        };
        let give_back = amount.unwrap_or(reserved).min(reserved);
        let left = reserved - give_back;
        d.reserved = if left > Decimal::ZERO {
            Some((year, left))
        } else {
            None
        };
        self.quota.give_back(&buyer, year, give_back);
    }

    fn reject_inventory(
        &mut self,
        id: &DeclarationId,
        text: &str,
        status: i32,
        now: Timestamp,
    ) -> Vec<Receipt> {
        self.stats_inventory_refused(id, text, now);
        self.restore_quota(id, None);
        self.dirty_decls.insert(id.clone());
        let Some(d) = self.decls.get_mut(id) else {
            return Vec::new();
        };
        d.updated_at = now;
        d.info = text.to_owned();
        let Some(i) = d.inventory.as_mut() else {
            return Vec::new();
        };
        i.status = status;
        let wkey = (i.doc.logistics_code.clone(), i.doc.logistics_no.clone());
        let receipt = Receipt {
            recipients: inventory_recipients(i),
            declaration: Some(id.clone()),
            body: ReceiptBody::Inventory(inventory_return(
                &i.doc,
                status,
                text.to_owned(),
                now,
                d.pre_no.clone(),
                d.invt_no.clone(),
            )),
        };
        if let Some(set) = self.waiters.get_mut(&wkey) {
            set.remove(id);
        }
        if let Some(rec) = self.waybills.get_mut(&wkey)
            && rec.bound.as_ref() == Some(id)
        {
            rec.bound = None;
            self.dirty_waybills.insert(wkey);
        }
        vec![receipt]
    }

    fn inventory_receipt(
        &mut self,
        id: &DeclarationId,
        status: i32,
        text: String,
        now: Timestamp,
    ) -> Vec<Receipt> {
        self.dirty_decls.insert(id.clone());
        let Some(d) = self.decls.get_mut(id) else {
            return Vec::new();
        };
        let Some(i) = d.inventory.as_mut() else {
            return Vec::new();
        };
        i.status = status;
        d.updated_at = now;
        d.info = text.clone();
        vec![Receipt {
            recipients: inventory_recipients(i),
            declaration: Some(id.clone()),
            body: ReceiptBody::Inventory(inventory_return(
                &i.doc,
                status,
                text,
                now,
                d.pre_no.clone(),
                d.invt_no.clone(),
            )),
        }]
    }

    fn decide(&mut self, id: &DeclarationId, decision: Decision, now: Timestamp) -> Vec<Receipt> {
        match decision {
            Decision::Release => self.release(id, now),
            Decision::DocumentReview => {
                self.inventory_receipt(id, 300, info(ErrorCode::PendingReview), now)
            }
            Decision::Inspection => {
                self.inventory_receipt(id, 500, info(ErrorCode::HeldForInspection), now)
            }
            Decision::Reject { code, desc } => {
                self.reject_inventory(id, &format!("[Code:{code};Desc:{desc}]"), 100, now)
            }
        }
    }

    fn conclude(
        &mut self,
        id: &DeclarationId,
        release: bool,
        reason: &str,
        now: Timestamp,
    ) -> Vec<Receipt> {
        let held = self
            .decls
            .get(id)
            .and_then(|d| d.inventory.as_ref())
            .is_some_and(|i| matches!(i.status, 300 | 500));
        if !held {
            return Vec::new();
        }
        self.close_task(id, "concluded", now);
        if release {
            self.release(id, now)
        } else {
            let text = format!("{}{reason}", info(ErrorCode::ReviewRejected));
            let ebc = self
                .decls
                .get(id)
                .and_then(|d| d.inventory.as_ref())
                .map(|i| i.doc.ebc_code.clone())
                .unwrap_or_default();
            let kind = CreditEventKind::Rejected {
                code: ErrorCode::ReviewRejected.code().to_owned(),
            };
            self.credit_parties(&[&ebc], &kind, now);
            self.reject_inventory(id, &text, 100, now)
        }
    }

    /// 399 审结 → 800 放行, and the CEB816 tax bill (status 1, levy pending).
    fn release(&mut self, id: &DeclarationId, now: Timestamp) -> Vec<Receipt> {
        self.stats_released(id, now);
        let mut out = self.inventory_receipt(id, 399, info(ErrorCode::Concluded), now);
        out.extend(self.inventory_receipt(id, 800, info(ErrorCode::Released), now));
        let release_date = now.beijing_date();
        let (from, until) = (
            self.settings.tax_due_from_day,
            self.settings.tax_due_until_day,
        );
        let ebc = self
            .decls
            .get(id)
            .and_then(|d| d.inventory.as_ref())
            .map(|i| i.doc.ebc_code.clone())
            .unwrap_or_default();
        self.credit_parties(&[&ebc], &CreditEventKind::Released, now);
        let Some(d) = self.decls.get_mut(id) else {
            return out;
        };
        d.released_at = Some(now);
        let Some(invt_no) = d.invt_no.clone() else {
            return out;
        };
        d.bill = Some(Bill {
            tax_no: format!("{invt_no}_0"),
            revision: 0,
            status: 1,
            levy: LevyState::Pending,
            due_from: release_date.add_days(from),
            due_until: release_date.add_days(until),
        });
        out.extend(tax_bill_receipt(d, now));
        out
    }

    fn find_listed(
        &self,
        invt_no: &str,
        ebp: &str,
        order_no: &str,
    ) -> Result<DeclarationId, Rejection> {
        let id = self
            .invt_index
            .get(invt_no)
            .ok_or_else(|| Rejection::new(ErrorCode::InventoryNotFound))?;
        let d = self
            .decls
            .get(id)
            .ok_or_else(|| Rejection::new(ErrorCode::InventoryNotFound))?;
        if d.ebp_code != ebp || d.order_no != order_no || d.invt_no.as_deref() != Some(invt_no) {
            return Err(Rejection::new(ErrorCode::InventoryNotFound));
        }
        Ok(id.clone())
    }

    /// Only the sender of record of a declaration's inventory (its agent, or the seller that
    /// declared for itself) cancels or returns it.
    fn inventory_of_record(&self, sender: &str, id: &DeclarationId) -> Result<(), Rejection> {
        match self.decls.get(id).and_then(|d| d.inventory.as_ref()) {
            Some(i) => self.of_record(sender, &i.sender),
            None => Ok(()),
        }
    }

    fn list_parties_check(
        &self,
        sender: &str,
        agent: &str,
        ebc: &str,
        ebp: &str,
        logistics: &str,
    ) -> Result<(), Rejection> {
        checks::sender(
            &self.registry,
            sender,
            &[Role::Agent, Role::Seller],
            &[agent, ebc],
        )?;
        checks::named(
            &self.registry,
            &[
                ("agentCode", agent, Role::Agent),
                ("ebcCode", ebc, Role::Seller),
                ("ebpCode", ebp, Role::Platform),
                ("logisticsCode", logistics, Role::Logistics),
            ],
        )
    }

    fn on_cancel(
        &mut self,
        sender: &str,
        c: &Cancel,
        now: Timestamp,
    ) -> Result<Vec<Receipt>, Rejection> {
        self.list_parties_check(
            sender,
            &c.agent_code,
            &c.ebc_code,
            &c.ebp_code,
            &c.logistics_code,
        )?;
        let id = self.find_listed(&c.invt_no, &c.ebp_code, &c.order_no)?;
        self.inventory_of_record(sender, &id)?;
        let status = self
            .decls
            .get(&id)
            .and_then(|d| d.inventory.as_ref())
            .map(|i| i.status)
            .unwrap_or(100);
        let cancelled = self.decls.get(&id).is_some_and(|d| d.cancelled);
        if status == 800 {
            return Err(Rejection::new(ErrorCode::CancelAfterRelease));
        }
        if cancelled || is_rejected(status) {
            return Err(Rejection::new(ErrorCode::CancelNotAllowed));
        }
        let pre_no = self.pre_no('C', now);
        if self.settings.revocation_restores_quota {
            self.restore_quota(&id, None);
        }
        let approved = info(ErrorCode::CancelApproved);
        let wkey = (c.logistics_code.clone(), c.logistics_no.clone());
        if let Some(rec) = self.waybills.get_mut(&wkey)
            && rec.bound.as_ref() == Some(&id)
        {
            rec.bound = None;
            self.dirty_waybills.insert(wkey);
        }
        self.dirty_decls.insert(id.clone());
        if let Some(d) = self.decls.get_mut(&id) {
            d.cancelled = true;
            d.updated_at = now;
            d.info = approved.clone();
            if let Some(i) = d.inventory.as_mut() {
                i.status = 399;
            }
        }
        self.close_task(&id, "cancelled", now);
        let seller = self.seller_of_record(&id, &c.ebc_code);
        self.credit_parties(&[&seller], &CreditEventKind::Cancelled, now);
        let to = recipients([sender, c.agent_code.as_str(), c.ebc_code.as_str()]);
        let r = |status: i32, text: String| Receipt {
            recipients: to.clone(),
            declaration: Some(id.clone()),
            body: ReceiptBody::Cancel(cancel_return(c, status, text, now, Some(pre_no.clone()))),
        };
        Ok(vec![
            r(2, format!("撤单申请新增申报成功[{}]", c.guid)),
            r(399, approved),
        ])
    }

    fn on_refund(
        &mut self,
        sender: &str,
        r: &Refund,
        now: Timestamp,
    ) -> Result<Vec<Receipt>, Rejection> {
        self.list_parties_check(
            sender,
            &r.agent_code,
            &r.ebc_code,
            &r.ebp_code,
            &r.logistics_code,
        )?;
        let id = self.find_listed(&r.invt_no, &r.ebp_code, &r.order_no)?;
        self.inventory_of_record(sender, &id)?;
        let d = self
            .decls
            .get(&id)
            .ok_or_else(|| Rejection::new(ErrorCode::InventoryNotFound))?;
        let (Some(inv), Some(released_at), false) = (&d.inventory, d.released_at, d.cancelled)
        else {
            return Err(Rejection::new(ErrorCode::ReturnNotReleased));
        };
        if inv.status != 800 {
            return Err(Rejection::new(ErrorCode::ReturnNotReleased));
        }
        let days = now.beijing_date().days_since(released_at.beijing_date());
        if days > self.settings.return_window_days {
            return Err(Rejection::with(
                ErrorCode::ReturnTooLate,
                format!("days={days}"),
            ));
        }
        let mut returned = d.returned.clone();
        for l in &r.lines {
            let Some(orig) = inv
                .doc
                .lines
                .iter()
                .find(|x| x.gnum == l.gnum && x.gcode == l.gcode)
            else {
                return Err(Rejection::with(
                    ErrorCode::A11ReturnGnum,
                    format!("gnum={}", l.gnum),
                ));
            };
            let total = returned.get(&l.gnum).copied().unwrap_or(Decimal::ZERO) + l.qty;
            if l.qty <= Decimal::ZERO || total > orig.qty {
                return Err(Rejection::with(
                    ErrorCode::A11ReturnQty,
                    format!("gnum={}", l.gnum),
                ));
            }
            returned.insert(l.gnum, total);
        }
        if r.lines.is_empty() {
            return Err(Rejection::with(ErrorCode::A11ReturnGnum, "no lines"));
        }
        let lines = tax_lines(&inv.doc, &returned);
        let discount = d
            .order
            .as_ref()
            .map(|o| o.doc.discount)
            .unwrap_or(Decimal::ZERO);
        let reassessed = if lines.is_empty() {
            None
        } else {
            let regime = d.regime.unwrap_or(Regime::Preferential);
            let input = TaxInput {
                lines: &lines,
                freight: inv.doc.freight,
                insured_fee: inv.doc.insured_fee,
                discount,
                regime,
            };
            let a =
                tax::assess(&input, &self.tariff, &self.settings).map_err(|e| tax_rejection(&e))?;
            let v = tax::dutiable_price(
                &lines,
                inv.doc.freight,
                inv.doc.insured_fee,
                discount,
                &self.settings,
            );
            Some((v, a))
        };
        let old_value = d.value;
        let reserved = d.reserved.map(|(_, a)| a).unwrap_or(Decimal::ZERO);
        let pre_no = self.pre_no('T', now);
        let approved = info(ErrorCode::ReturnApproved);
        let to = recipients([sender, r.agent_code.as_str(), r.ebc_code.as_str()]);
        let mk = |status: i32, text: String| Receipt {
            recipients: to.clone(),
            declaration: Some(id.clone()),
            body: ReceiptBody::Refund(refund_return(r, status, text, now, Some(pre_no.clone()))),
        };
        let mut out = vec![
            mk(2, format!("退货申请新增申报成功[{}]", r.guid)),
            mk(399, approved),
        ];
        // The returned share of the quota: all of it on a full return, else the value's drop
        // (scaled when the quota counts the amount paid).
        let give_back = match &reassessed {
            None => None,
            Some((v, _)) if old_value.is_zero() => Some(old_value - *v),
            Some((v, _)) => Some(round_fen(reserved * (old_value - *v) / old_value)),
        };
        self.stats_returned(&id, r, reassessed.as_ref(), now);
        self.restore_quota(&id, give_back);
        let seller = self.seller_of_record(&id, &r.ebc_code);
        self.credit_parties(&[&seller], &CreditEventKind::Returned, now);
        self.dirty_decls.insert(id.clone());
        out.extend(self.settle_return(&id, returned, reassessed, now));
        Ok(out)
    }

    /// A return was approved: record what came back and void the tax bill (all of it came back)
    /// or revise it (a new bill number and a CEB816 for what is left).
    fn settle_return(
        &mut self,
        id: &DeclarationId,
        returned: BTreeMap<u32, Decimal>,
        reassessed: Option<(Decimal, TaxAssessment)>,
        now: Timestamp,
    ) -> Vec<Receipt> {
        let mut out = Vec::new();
        let Some(d) = self.decls.get_mut(id) else {
            return out;
        };
        d.returned = returned;
        d.updated_at = now;
        let Some(bill) = d.bill.as_mut() else {
            return out;
        };
        let Some(invt_no) = d.invt_no.clone() else {
            return out;
        };
        let assure = d.inventory.as_ref().map(|i| i.doc.assure_code.clone());
        let void = Receipt {
            recipients: d
                .inventory
                .as_ref()
                .map(inventory_recipients)
                .unwrap_or_default(),
            declaration: Some(id.clone()),
            body: ReceiptBody::TaxStatus(TaxStatus {
                guid: receipt_guid(&[&invt_no, "818", &bill.tax_no, "3"]),
                return_time: now,
                invt_no: invt_no.clone(),
                tax_no: bill.tax_no.clone(),
                status: 3,
                ent_duty_no: None,
                assure_code: assure,
            }),
        };
        out.push(void);
        match reassessed {
            None => {
                bill.status = 3;
                bill.levy = LevyState::NotLevied;
                d.value = Decimal::ZERO;
                d.assessment = None;
            }
            Some((v, a)) => {
                bill.revision += 1;
                bill.tax_no = format!("{invt_no}_{}", bill.revision);
                d.value = v;
                d.assessment = Some(a);
                out.extend(tax_bill_receipt(d, now));
            }
        }
        out
    }

    fn on_delivery(
        &mut self,
        sender: &str,
        dl: &Delivery,
        now: Timestamp,
    ) -> Result<Vec<Receipt>, Rejection> {
        checks::sender(
            &self.registry,
            sender,
            &[Role::BondedOperator],
            &[&dl.operator_code],
        )?;
        checks::named(
            &self.registry,
            &[
                ("operatorCode", &dl.operator_code, Role::BondedOperator),
                ("logisticsCode", &dl.logistics_code, Role::Logistics),
            ],
        )?;
        let pre_no = self.pre_no('R', now);
        Ok(vec![Receipt {
            recipients: recipients([sender, dl.operator_code.as_str()]),
            declaration: None,
            body: ReceiptBody::Delivery(delivery_return(
                dl,
                2,
                format!("新增申报成功[{}]", dl.guid),
                now,
                Some(pre_no),
            )),
        }])
    }

    fn view(&self, d: &Declaration) -> DeclarationView {
        let inv = d.inventory.as_ref().map(|i| &i.doc);
        let waybill_present = inv.is_some_and(|i| {
            self.waybills
                .contains_key(&(i.logistics_code.clone(), i.logistics_no.clone()))
        });
        let mut documents = Vec::new();
        if d.order.is_some() {
            documents.push("order".to_owned());
        }
        if d.payment.is_some() {
            documents.push("payment".to_owned());
        }
        if waybill_present {
            documents.push("waybill".to_owned());
        }
        if inv.is_some() {
            documents.push("inventory".to_owned());
        }
        DeclarationView {
            id: d.id.clone(),
            ebp_code: d.ebp_code.clone(),
            ebc_code: d
                .order
                .as_ref()
                .map(|o| o.doc.ebc_code.clone())
                .or_else(|| inv.map(|i| i.ebc_code.clone()))
                .unwrap_or_default(),
            order_no: d.order_no.clone(),
            agent_code: inv.map(|i| i.agent_code.clone()),
            logistics_code: inv.map(|i| i.logistics_code.clone()),
            logistics_no: inv.map(|i| i.logistics_no.clone()),
            pay_code: d.payment.as_ref().map(|p| p.doc.pay_code.clone()),
            cop_no: inv.and_then(|i| i.cop_no.clone()),
            pre_no: d.pre_no.clone(),
            invt_no: d.invt_no.clone(),
            documents,
            status: d.inventory.as_ref().map(|i| i.status).unwrap_or(0),
            status_info: d.info.clone(),
            buyer_key: d.buyer.clone(),
            value: d.value,
            tax: d
                .assessment
                .as_ref()
                .map(|a| a.total())
                .unwrap_or(Decimal::ZERO),
            created_at: d.created_at,
            updated_at: d.updated_at,
            released_at: d.released_at,
        }
    }

    fn bill_view(d: &Declaration) -> Option<TaxBillView> {
        let bill = d.bill.as_ref()?;
        let inv = d.inventory.as_ref()?;
        let (ct, vat, cons) = match (&d.assessment, bill.status) {
            (Some(a), 1) => (a.customs_tax, a.vat, a.consumption_tax),
            _ => (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
        };
        Some(TaxBillView {
            invt_no: d.invt_no.clone()?,
            tax_no: bill.tax_no.clone(),
            declaration: d.id.clone(),
            ebc_code: inv.doc.ebc_code.clone(),
            agent_code: inv.doc.agent_code.clone(),
            customs_tax: ct,
            vat,
            consumption_tax: cons,
            status: bill.status,
            levy_state: bill.levy,
            released_at: d.released_at?,
            due_from: bill.due_from,
            due_until: bill.due_until,
        })
    }

    /// 个人信息删除 — the retention purge: replaces the personal data of every declaration
    /// concluded (released, rejected, cancelled, or never declared for clearance) and last
    /// touched before `horizon`, and of the waybills that served them or served nothing and were
    /// declared before it, with redaction tokens ([`personal::redact`]). Quotas, keys, amounts,
    /// statuses and everything derived stay as they are; the changed state rows come with the
    /// next [`Engine::take_changes`]. Declarations still open (waiting for documents, held for
    /// review or inspection) are kept whatever their age. Pure: the shell redacts the journal
    /// nodes of what this reports in the same way, so a replay of the redacted journal ends here.
    pub fn purge(&mut self, horizon: Timestamp) -> PurgeReport {
        let mut report = PurgeReport::default();
        let secret = self.secret.clone();
        let ids: Vec<DeclarationId> = self
            .decls
            .values()
            .filter(|d| d.updated_at < horizon)
            .map(|d| d.id.clone())
            .collect();
        for id in ids {
            let Some(d) = self.decls.get_mut(&id) else {
                continue;
            };
            let concluded = match &d.inventory {
                None => true,
                Some(i) => d.cancelled || is_rejected(i.status) || d.released_at.is_some(),
            };
            if !concluded {
                report.kept_open += 1;
                continue;
            }
            let mut changed = false;
            if let Some(o) = d.order.as_mut() {
                changed |= redact_order(&secret, &mut o.doc);
            }
            if let Some(p) = d.payment.as_mut() {
                changed |= redact_payment(&secret, &mut p.doc);
            }
            if let Some(i) = d.inventory.as_mut() {
                changed |= redact_inventory(&secret, &mut i.doc);
                let key = (i.doc.logistics_code.clone(), i.doc.logistics_no.clone());
                if let Some(w) = self.waybills.get_mut(&key)
                    && w.bound.as_ref().is_none_or(|b| *b == id)
                {
                    if redact_waybill(&secret, &mut w.slot.doc) {
                        self.dirty_waybills.insert(key.clone());
                        report.newly += 1;
                    }
                    report.waybills.insert(key);
                }
            }
            if changed {
                self.dirty_decls.insert(id.clone());
                report.newly += 1;
            }
            report.declarations.insert(id);
        }
        let waiting: BTreeSet<&WaybillKey> = self.waiters.keys().collect();
        let orphans: Vec<WaybillKey> = self
            .waybills
            .iter()
            .filter(|(k, w)| {
                w.bound.is_none() && w.slot.doc.app_time < horizon && !waiting.contains(k)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in orphans {
            if let Some(w) = self.waybills.get_mut(&key) {
                if redact_waybill(&secret, &mut w.slot.doc) {
                    self.dirty_waybills.insert(key.clone());
                    report.newly += 1;
                }
                report.waybills.insert(key);
            }
        }
        report
    }

    /// The personal data of a declaration as the engine holds it (for the audited clear view of
    /// the roles that need it). `None` when no such declaration exists.
    pub fn personal_data(&self, id: &DeclarationId) -> Option<PersonalData> {
        let d = self.decls.get(id)?;
        let waybill = d.inventory.as_ref().and_then(|i| {
            self.waybills
                .get(&(i.doc.logistics_code.clone(), i.doc.logistics_no.clone()))
        });
        Some(personal_data_of(d, waybill.map(|w| &w.slot.doc)))
    }

    /// Everything changed since the last call: state rows to persist and projection views.
    /// The events of the commands applied since the last call.
    pub fn take_events(&mut self) -> Vec<crate::event::Event> {
        std::mem::take(&mut self.events)
    }

    pub fn take_changes(&mut self) -> Changes {
        self.events.clear();
        let mut c = Changes::default();
        if std::mem::take(&mut self.dirty_settings) {
            c.state.push((
                NS_SETTINGS.into(),
                "current".into(),
                Some(json(&self.settings)),
            ));
        }
        if std::mem::take(&mut self.dirty_tariff) {
            c.state
                .push((NS_TARIFF.into(), "current".into(), Some(json(&self.tariff))));
        }
        if std::mem::take(&mut self.dirty_serial) {
            c.state
                .push((NS_META.into(), "serial".into(), Some(json(&self.serial))));
        }
        for code in std::mem::take(&mut self.dirty_enterprises) {
            if let Some(e) = self.registry.get(&code) {
                c.state
                    .push((NS_ENTERPRISE.into(), code.clone(), Some(json(e))));
                c.enterprises.push(e.clone());
            }
        }
        for key in std::mem::take(&mut self.dirty_seen) {
            c.state.push((NS_GUID.into(), key, Some(b"true".to_vec())));
        }
        for key in std::mem::take(&mut self.dirty_waybills) {
            if let Some(w) = self.waybills.get(&key) {
                c.state.push((
                    NS_WAYBILL.into(),
                    format!("{}\u{1f}{}", key.0, key.1),
                    Some(json(w)),
                ));
            }
        }
        for id in std::mem::take(&mut self.dirty_decls) {
            if let Some(d) = self.decls.get(&id) {
                c.state
                    .push((NS_DECLARATION.into(), id.0.clone(), Some(json(d))));
                c.declarations.push(self.view(d));
                if let Some(b) = Self::bill_view(d) {
                    c.tax_bills.push(b);
                }
            }
        }
        self.quota.changes(&mut c.state, &mut c.quotas);
        self.supervision_changes(&mut c.state, &mut c.records);
        self.entrustment_changes(&mut c.state, &mut c.records);
        c.statistics = self.statistics_changes(&mut c.state, &mut c.records);
        c
    }
}

/// What [`Engine::purge`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Declarations whose personal data is (now, or from an earlier purge) redacted.
    pub declarations: BTreeSet<DeclarationId>,
    /// Waybills (logistics code, number) whose consignee is redacted.
    pub waybills: BTreeSet<(String, String)>,
    /// Declarations and waybills redacted by this call (not already by an earlier one).
    pub newly: usize,
    /// Declarations last touched before the horizon but still open, kept.
    pub kept_open: usize,
}

/// The personal data of one declaration, in clear (or as redaction tokens after a purge).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonalData {
    pub buyer_name: Option<String>,
    pub buyer_id_type: Option<String>,
    pub buyer_id_number: Option<String>,
    pub buyer_telephone: Option<String>,
    pub buyer_reg_no: Option<String>,
    pub consignee: Option<String>,
    pub consignee_telephone: Option<String>,
    pub consignee_address: Option<String>,
    pub payer_name: Option<String>,
    pub payer_id_number: Option<String>,
    pub payer_telephone: Option<String>,
    /// Whether the retention purge has removed the clear values (the fields then hold masks).
    pub purged: bool,
}

/// The personal data held in a declaration's engine state row (the `declaration` namespace), for
/// the audited clear view; `None` if the row is not a declaration.
pub fn declaration_personal_data(state_value: &[u8]) -> Option<PersonalData> {
    let d: Declaration = serde_json::from_slice(state_value).ok()?;
    Some(personal_data_of(&d, None))
}

/// Reads the personal data out of a declaration's documents (order first, then the inventory,
/// the payment and the waybill).
fn personal_data_of(d: &Declaration, w: Option<&Waybill>) -> PersonalData {
    let o = d.order.as_ref().map(|s| &s.doc);
    let i = d.inventory.as_ref().map(|s| &s.doc);
    let p = d.payment.as_ref().map(|s| &s.doc);
    let pick = |a: Option<&String>, b: Option<&String>| a.or(b).cloned();
    let mut out = PersonalData {
        buyer_name: pick(o.map(|o| &o.buyer_name), i.map(|i| &i.buyer_name)),
        buyer_id_type: pick(o.map(|o| &o.buyer_id_type), i.map(|i| &i.buyer_id_type)),
        buyer_id_number: pick(o.map(|o| &o.buyer_id_number), i.map(|i| &i.buyer_id_number)),
        buyer_telephone: pick(o.map(|o| &o.buyer_telephone), i.map(|i| &i.buyer_telephone)),
        buyer_reg_no: o.map(|o| o.buyer_reg_no.clone()),
        consignee: pick(o.map(|o| &o.consignee), w.map(|w| &w.consignee)),
        consignee_telephone: pick(
            o.map(|o| &o.consignee_telephone),
            w.map(|w| &w.consignee_telephone),
        ),
        consignee_address: pick(
            o.map(|o| &o.consignee_address),
            i.map(|i| &i.consignee_address),
        ),
        payer_name: p.map(|p| p.payer_name.clone()),
        payer_id_number: p.map(|p| p.payer_id_number.clone()),
        payer_telephone: p.and_then(|p| p.telephone.clone()),
        purged: false,
    };
    type Masked<'a> = (&'a mut Option<String>, fn(&str) -> String);
    let fields: [Masked<'_>; 11] = [
        (&mut out.buyer_name, personal::mask_name),
        (&mut out.buyer_id_type, |s| s.to_owned()),
        (&mut out.buyer_id_number, personal::mask_id),
        (&mut out.buyer_telephone, personal::mask_phone),
        (&mut out.buyer_reg_no, |_| "***".to_owned()),
        (&mut out.consignee, personal::mask_name),
        (&mut out.consignee_telephone, personal::mask_phone),
        (&mut out.consignee_address, personal::mask_address),
        (&mut out.payer_name, personal::mask_name),
        (&mut out.payer_id_number, personal::mask_id),
        (&mut out.payer_telephone, personal::mask_phone),
    ];
    let mut purged = false;
    for (value, mask) in fields {
        if let Some(v) = value.as_mut()
            && personal::is_redacted(v)
        {
            *v = mask(v);
            purged = true;
        }
    }
    out.purged = purged;
    out
}

/// Replaces `value` by its redaction token; whether it changed.
fn redact_in(
    secret: &[u8],
    field: personal::Field,
    value: &mut String,
    pair: Option<&str>,
) -> bool {
    if personal::is_redacted(value) {
        return false;
    }
    *value = personal::redact(secret, field, value, pair);
    true
}

fn redact_order(secret: &[u8], o: &mut Order) -> bool {
    use personal::Field as F;
    let name = o.buyer_name.clone();
    let mut c = redact_in(secret, F::IdNumber, &mut o.buyer_id_number, Some(&name));
    c |= redact_in(secret, F::Name, &mut o.buyer_name, None);
    c |= redact_in(secret, F::Phone, &mut o.buyer_telephone, None);
    c |= redact_in(secret, F::Other, &mut o.buyer_reg_no, None);
    c |= redact_in(secret, F::Name, &mut o.consignee, None);
    c |= redact_in(secret, F::Phone, &mut o.consignee_telephone, None);
    c |= redact_in(secret, F::Address, &mut o.consignee_address, None);
    c
}

fn redact_payment(secret: &[u8], p: &mut Payment) -> bool {
    use personal::Field as F;
    let name = p.payer_name.clone();
    let mut c = redact_in(secret, F::IdNumber, &mut p.payer_id_number, Some(&name));
    c |= redact_in(secret, F::Name, &mut p.payer_name, None);
    if let Some(t) = p.telephone.as_mut() {
        c |= redact_in(secret, F::Phone, t, None);
    }
    c
}

fn redact_inventory(secret: &[u8], i: &mut Inventory) -> bool {
    use personal::Field as F;
    let name = i.buyer_name.clone();
    let mut c = redact_in(secret, F::IdNumber, &mut i.buyer_id_number, Some(&name));
    c |= redact_in(secret, F::Name, &mut i.buyer_name, None);
    c |= redact_in(secret, F::Phone, &mut i.buyer_telephone, None);
    c |= redact_in(secret, F::Address, &mut i.consignee_address, None);
    c
}

fn redact_waybill(secret: &[u8], w: &mut Waybill) -> bool {
    use personal::Field as F;
    let mut c = redact_in(secret, F::Name, &mut w.consignee, None);
    c |= redact_in(secret, F::Address, &mut w.consignee_address, None);
    c |= redact_in(secret, F::Phone, &mut w.consignee_telephone, None);
    c
}

fn inventory_recipients(i: &Slot<Inventory>) -> Vec<String> {
    recipients([
        i.sender.as_str(),
        i.doc.agent_code.as_str(),
        i.doc.ebc_code.as_str(),
    ])
}

fn tax_bill_receipt(d: &Declaration, now: Timestamp) -> Option<Receipt> {
    let bill = d.bill.as_ref()?;
    let a = d.assessment.as_ref()?;
    let inv = d.inventory.as_ref()?;
    let invt_no = d.invt_no.clone()?;
    Some(Receipt {
        recipients: recipients([
            inv.sender.as_str(),
            inv.doc.agent_code.as_str(),
            inv.doc.ebc_code.as_str(),
            inv.doc.assure_code.as_str(),
        ]),
        declaration: Some(d.id.clone()),
        body: ReceiptBody::TaxBill(TaxBill {
            guid: receipt_guid(&[&inv.doc.guid, "816", &bill.tax_no, "1"]),
            return_time: now,
            invt_no,
            tax_no: bill.tax_no.clone(),
            customs_tax: a.customs_tax,
            value_added_tax: a.vat,
            consumption_tax: a.consumption_tax,
            status: 1,
            ent_duty_no: None,
            note: None,
            assure_code: Some(inv.doc.assure_code.clone()),
            ebc_code: Some(inv.doc.ebc_code.clone()),
            logistics_code: Some(inv.doc.logistics_code.clone()),
            agent_code: Some(inv.doc.agent_code.clone()),
            customs_code: Some(inv.doc.customs_code.clone()),
            order_no: Some(inv.doc.order_no.clone()),
            logistics_no: Some(inv.doc.logistics_no.clone()),
            lines: a
                .lines
                .iter()
                .map(|l| TaxBillLine {
                    gnum: l.gnum,
                    gcode: l.hs.clone(),
                    tax_price: l.dutiable_price,
                    customs_tax: l.customs_tax,
                    value_added_tax: l.vat,
                    consumption_tax: l.consumption_tax,
                })
                .collect(),
        }),
    })
}

fn rguid(node_guid: &str, kind: &str, status: i32) -> String {
    receipt_guid(&[node_guid, kind, &status.to_string()])
}

fn order_return(o: &Order, status: i32, text: String, now: Timestamp) -> OrderReturn {
    OrderReturn {
        guid: rguid(&o.guid, "312", status),
        ebp_code: o.ebp_code.clone(),
        ebc_code: o.ebc_code.clone(),
        order_no: o.order_no.clone(),
        return_status: status,
        return_time: now,
        return_info: text,
    }
}

fn payment_return(p: &Payment, status: i32, text: String, now: Timestamp) -> PaymentReturn {
    PaymentReturn {
        guid: rguid(&p.guid, "412", status),
        pay_code: p.pay_code.clone(),
        pay_transaction_id: p.pay_transaction_id.clone(),
        return_status: status,
        return_time: now,
        return_info: text,
    }
}

fn waybill_return(w: &Waybill, status: i32, text: String, now: Timestamp) -> LogisticsReturn {
    LogisticsReturn {
        guid: rguid(&w.guid, "512", status),
        logistics_code: w.logistics_code.clone(),
        logistics_no: w.logistics_no.clone(),
        return_status: status,
        return_time: now,
        return_info: text,
    }
}

fn status_return(
    s: &WaybillStatus,
    status: i32,
    text: String,
    now: Timestamp,
) -> LogisticsStatusReturn {
    LogisticsStatusReturn {
        guid: rguid(&s.guid, "514", status),
        logistics_code: s.logistics_code.clone(),
        logistics_no: s.logistics_no.clone(),
        logistics_status: s.logistics_status.clone(),
        return_status: status,
        return_time: now,
        return_info: text,
    }
}

fn inventory_return(
    i: &Inventory,
    status: i32,
    text: String,
    now: Timestamp,
    pre_no: Option<String>,
    invt_no: Option<String>,
) -> ListReturn {
    ListReturn {
        guid: rguid(&i.guid, "622", status),
        customs_code: Some(i.customs_code.clone()),
        ebp_code: Some(i.ebp_code.clone()),
        ebc_code: Some(i.ebc_code.clone()),
        agent_code: Some(i.agent_code.clone()),
        cop_no: i.cop_no.clone(),
        pre_no,
        invt_no,
        return_status: status,
        return_time: now,
        return_info: text,
    }
}

fn cancel_return(
    c: &Cancel,
    status: i32,
    text: String,
    now: Timestamp,
    pre_no: Option<String>,
) -> ListReturn {
    ListReturn {
        guid: rguid(&c.guid, "624", status),
        customs_code: Some(c.customs_code.clone()),
        ebp_code: Some(c.ebp_code.clone()),
        ebc_code: Some(c.ebc_code.clone()),
        agent_code: Some(c.agent_code.clone()),
        cop_no: c.cop_no.clone(),
        pre_no,
        invt_no: Some(c.invt_no.clone()),
        return_status: status,
        return_time: now,
        return_info: text,
    }
}

fn refund_return(
    r: &Refund,
    status: i32,
    text: String,
    now: Timestamp,
    pre_no: Option<String>,
) -> ListReturn {
    ListReturn {
        guid: rguid(&r.guid, "626", status),
        customs_code: Some(r.customs_code.clone()),
        ebp_code: Some(r.ebp_code.clone()),
        ebc_code: Some(r.ebc_code.clone()),
        agent_code: Some(r.agent_code.clone()),
        cop_no: r.cop_no.clone(),
        pre_no,
        invt_no: Some(r.invt_no.clone()),
        return_status: status,
        return_time: now,
        return_info: text,
    }
}

fn delivery_return(
    d: &Delivery,
    status: i32,
    text: String,
    now: Timestamp,
    pre_no: Option<String>,
) -> DeliveryReturn {
    DeliveryReturn {
        guid: rguid(&d.guid, "712", status),
        customs_code: Some(d.customs_code.clone()),
        operator_code: d.operator_code.clone(),
        cop_no: d.cop_no.clone(),
        pre_no,
        return_status: status,
        return_time: now,
        return_info: text,
    }
}

fn node_body(
    doc: &Document,
    status: i32,
    text: String,
    now: Timestamp,
    pre_no: Option<String>,
) -> ReceiptBody {
    match doc {
        Document::Order(o) => ReceiptBody::Order(order_return(o, status, text, now)),
        Document::Payment(p) => ReceiptBody::Payment(payment_return(p, status, text, now)),
        Document::Waybill(w) => ReceiptBody::Logistics(waybill_return(w, status, text, now)),
        Document::WaybillStatus(s) => {
            ReceiptBody::LogisticsStatus(status_return(s, status, text, now))
        }
        Document::Inventory(i) => {
            ReceiptBody::Inventory(inventory_return(i, status, text, now, pre_no, None))
        }
        Document::Cancel(c) => ReceiptBody::Cancel(cancel_return(c, status, text, now, pre_no)),
        Document::Refund(r) => ReceiptBody::Refund(refund_return(r, status, text, now, pre_no)),
        Document::Delivery(d) => {
            ReceiptBody::Delivery(delivery_return(d, status, text, now, pre_no))
        }
    }
}

/// A node refused on arrival is answered to its sender only (never to the parties it names,
/// which an unfiled sender could otherwise spam).
fn reject_node(doc: &Document, sender: &str, rej: &Rejection, now: Timestamp) -> Receipt {
    Receipt {
        recipients: recipients([sender]),
        declaration: None,
        body: node_body(doc, rej.return_status(), rej.info(), now, None),
    }
}
