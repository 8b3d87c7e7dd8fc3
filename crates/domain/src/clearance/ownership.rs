//! 单证归属与委托 — who may act on a declaration: only the enterprise of record modifies, cancels
//! or returns a document, and an enterprise is named in a new document only by itself or by an
//! enterprise it has entrusted (see [`crate::entrustment`]). Credit for faulty documents goes to
//! their senders, never to a party that was merely named.
//!
//! These rules hold from a journaled point on ([`Action::AdoptRules`]): a store written before
//! them replays its history under the rules it was decided by, and adopts them when it is
//! upgraded, with the entrustments its earlier traffic implied.

use std::collections::BTreeSet;

use serde_json::json;

use super::super::catalogue::{ErrorCode, Rejection};
use super::supervision::{Action, Actor, RecordChange, Refused};
use super::{Declaration, Engine};
use crate::entrustment::{Entrustment, EntrustmentStep, Origin, Proposal};
use crate::time::{CivilDate, Timestamp};

/// The rules in force before ownership and consent were checked.
pub const RULES_LEGACY: u32 = 1;
/// The rules of this version: ownership of record, consent to be named, credit to senders.
pub const RULES_CURRENT: u32 = 2;

pub(super) const NS_ENTRUSTMENT: &str = "entrustment";

/// A document of a declaration, for charging credit to the sender of the faulty one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Doc {
    Order,
    Payment,
    Waybill,
    Inventory,
}

/// The documents a match rule compares: their senders answer for a mismatch.
pub(super) fn compared(code: ErrorCode) -> &'static [Doc] {
    use Doc::*;
    match code {
        ErrorCode::M1EbcMismatch | ErrorCode::M6InventoryBuyer | ErrorCode::M8Lines => {
            &[Inventory, Order]
        }
        ErrorCode::M2WaybillMismatch => &[Inventory, Waybill],
        ErrorCode::M3PaymentEnterprise | ErrorCode::M4AmountPaid | ErrorCode::M5BuyerPayer => {
            &[Order, Payment]
        }
        ErrorCode::M7Consignee => &[Order, Waybill],
        _ => &[Inventory],
    }
}

impl Engine {
    /// The version of the rules in force (see [`RULES_CURRENT`]).
    pub fn rules_version(&self) -> u32 {
        self.rules
    }

    /// The journaled action that brings a store written under older rules to the current ones,
    /// with the entrustments implied by the pairs its declarations already showed (sender and
    /// every enterprise it named, and the platform with the seller of each declaration); `None`
    /// when the current rules are in force.
    pub fn rules_upgrade(&self) -> Option<Action> {
        if self.rules >= RULES_CURRENT {
            return None;
        }
        let mut pairs = BTreeSet::new();
        let mut add = |a: &str, b: &str| {
            if !a.is_empty() && !b.is_empty() && a != b {
                let (x, y) = if a < b { (a, b) } else { (b, a) };
                pairs.insert((x.to_owned(), y.to_owned()));
            }
        };
        for d in self.decls.values() {
            if let Some(o) = &d.order {
                add(&o.sender, &o.doc.ebp_code);
                add(&o.sender, &o.doc.ebc_code);
                add(&o.doc.ebp_code, &o.doc.ebc_code);
            }
            if let Some(p) = &d.payment {
                add(&p.sender, &p.doc.ebp_code);
            }
            if let Some(i) = &d.inventory {
                add(&i.sender, &i.doc.ebp_code);
                add(&i.sender, &i.doc.ebc_code);
                add(&i.sender, &i.doc.agent_code);
                add(&i.doc.ebp_code, &i.doc.ebc_code);
            }
        }
        Some(Action::AdoptRules {
            version: RULES_CURRENT,
            implied: pairs.into_iter().collect(),
        })
    }

    fn consent_rules(&self) -> bool {
        self.rules >= RULES_CURRENT
    }

    /// Only the enterprise of record acts on a document it declared.
    pub(super) fn of_record(&self, sender: &str, of_record: &str) -> Result<(), Rejection> {
        if self.consent_rules() && sender != of_record {
            return Err(Rejection::with(
                ErrorCode::NotOfRecord,
                format!("sender={sender}"),
            ));
        }
        Ok(())
    }

    /// Naming is consent: every enterprise `named` (field, code) that is not the sender has
    /// entrusted it; a platform may also be named by a seller it admitted (`ebc`) or by that
    /// seller's entrusted agent.
    pub(super) fn consented(
        &self,
        sender: &str,
        named: &[(&str, &str)],
        ebp: Option<&str>,
        ebc: Option<&str>,
        now: Timestamp,
    ) -> Result<(), Rejection> {
        if !self.consent_rules() {
            return Ok(());
        }
        let day = now.beijing_date();
        let linked = |a: &str, b: &str| self.consent.linked(a, b, day);
        for (field, code) in named {
            if code.is_empty() || linked(code, sender) {
                continue;
            }
            if ebp == Some(*code)
                && let Some(seller) = ebc
                && seller != *code
                && linked(code, seller)
                && linked(seller, sender)
            {
                continue;
            }
            return Err(Rejection::with(
                ErrorCode::NotEntrusted,
                format!("{field}={code}"),
            ));
        }
        Ok(())
    }

    /// Who answers for a refused match: the senders of the documents the rule compared (under
    /// the current rules), or the seller and agent named by the inventory (before them).
    pub(super) fn answerable(&self, d: &Declaration, code: ErrorCode) -> Vec<String> {
        let Some(i) = &d.inventory else {
            return Vec::new();
        };
        if !self.consent_rules() {
            return vec![i.doc.ebc_code.clone(), i.doc.agent_code.clone()];
        }
        let waybill = self
            .waybills
            .get(&(i.doc.logistics_code.clone(), i.doc.logistics_no.clone()));
        compared(code)
            .iter()
            .filter_map(|doc| match doc {
                Doc::Order => d.order.as_ref().map(|s| s.sender.clone()),
                Doc::Payment => d.payment.as_ref().map(|s| s.sender.clone()),
                Doc::Waybill => waybill.map(|w| w.slot.sender.clone()),
                Doc::Inventory => Some(i.sender.clone()),
            })
            .collect()
    }

    /// The seller a cancellation or return is charged to: the inventory's seller of record under
    /// the current rules (the message's own `ebcCode` could name anybody), the message's before.
    pub(super) fn seller_of_record(&self, id: &super::DeclarationId, named: &str) -> String {
        match self.decls.get(id).and_then(|d| d.inventory.as_ref()) {
            Some(i) if self.consent_rules() => i.doc.ebc_code.clone(),
            _ => named.to_owned(),
        }
    }

    /// Files the entrustments a registry filing lists (accepted at once; one already standing
    /// between the two is kept as it is).
    pub(super) fn file_registry_entrustments(
        &mut self,
        code: &str,
        partners: &BTreeSet<String>,
        now: Timestamp,
    ) {
        for partner in partners {
            let _ = self.consent.propose(
                &Proposal {
                    principal: code,
                    partner,
                    valid_from: now.beijing_date(),
                    valid_until: None,
                    origin: Origin::Registry,
                },
                now,
            );
        }
    }

    /// The entrustment actions: file, answer or revoke one, and adopt the current rules.
    pub(super) fn entrustment_action(
        &mut self,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Result<serde_json::Value, Refused> {
        match action {
            Action::Entrust {
                principal,
                partner,
                valid_from,
                valid_until,
            } => {
                let (principal, origin) = match (actor, principal) {
                    (Actor::Enterprise(code), None) => (code.clone(), Origin::Filed),
                    (Actor::Enterprise(code), Some(p)) if p == *code => (p, Origin::Filed),
                    (Actor::Admin, Some(p)) => (p, Origin::Registry),
                    (Actor::Admin, None) => {
                        return Err("the administrator names the principal".into());
                    }
                    _ => {
                        return Err(Refused::forbidden(
                            "an enterprise files its own entrustments; the administrator files \
                             those of the registry",
                        ));
                    }
                };
                for code in [&principal, &partner] {
                    if self.registry.get(code).is_none() {
                        return Err(Refused::missing(format!("enterprise {code} is not filed")));
                    }
                }
                let e = self.consent.propose(
                    &Proposal {
                        principal: &principal,
                        partner: &partner,
                        valid_from: valid_from.unwrap_or_else(|| now.beijing_date()),
                        valid_until,
                        origin,
                    },
                    now,
                )?;
                Ok(entrustment_json(e, now.beijing_date()))
            }
            Action::Entrustment { id, step } => {
                let Actor::Enterprise(code) = actor else {
                    return Err(Refused::forbidden(
                        "only the two enterprises of an entrustment take its steps",
                    ));
                };
                let e = self.consent.step(&id, code, step, now)?;
                Ok(entrustment_json(e, now.beijing_date()))
            }
            Action::AdoptRules { version, implied } => {
                if *actor != Actor::System {
                    return Err(Refused::forbidden("only the system adopts rules"));
                }
                // Any newer version this code knows: a journal that adopted an older one than the
                // current replays through the same gates (`self.rules >= N`).
                if version > RULES_CURRENT || self.rules >= version {
                    return Err(format!(
                        "rules {version} cannot be adopted over rules {}",
                        self.rules
                    )
                    .into());
                }
                let mut filed = 0usize;
                for (a, b) in &implied {
                    let proposal = Proposal {
                        principal: a,
                        partner: b,
                        valid_from: now.beijing_date(),
                        valid_until: None,
                        origin: Origin::Upgrade,
                    };
                    if self.consent.propose(&proposal, now).is_ok() {
                        filed += 1;
                    }
                }
                self.rules = version;
                self.dirty_rules = true;
                Ok(json!({ "rules": version, "entrustments": filed }))
            }
            _ => Err("not an entrustment action".into()),
        }
    }

    /// The rows the entrustments changed since the last call: the state row of each, and one
    /// record per party so that each finds its own.
    pub(super) fn entrustment_changes(
        &mut self,
        state: &mut Vec<(String, String, Option<Vec<u8>>)>,
        records: &mut Vec<RecordChange>,
    ) {
        if std::mem::take(&mut self.dirty_rules) {
            state.push((
                super::NS_META.into(),
                "rules".into(),
                Some(super::json(&self.rules)),
            ));
        }
        for e in self.consent.take_dirty() {
            let body = serde_json::to_string(e).unwrap_or_default();
            let updated_at = e.steps.last().map(|s| s.at).unwrap_or(Timestamp(0));
            for party in [&e.principal, &e.partner] {
                records.push(RecordChange {
                    kind: "entrustment",
                    key: format!("{}:{party}", e.id),
                    party: Some(party.clone()),
                    status: e.state.as_str().to_owned(),
                    updated_at,
                    body: body.clone(),
                });
            }
            state.push((NS_ENTRUSTMENT.into(), e.id.clone(), Some(body.into_bytes())));
        }
    }

    pub(super) fn restore_entrustment(&mut self, value: &[u8]) -> Result<(), serde_json::Error> {
        let e: Entrustment = serde_json::from_slice(value)?;
        self.consent.restore(e);
        Ok(())
    }
}

/// An entrustment as the API shows it, with whether it is in force today.
pub fn entrustment_json(e: &Entrustment, today: CivilDate) -> serde_json::Value {
    json!({
        "id": e.id,
        "principal": e.principal,
        "partner": e.partner,
        "validFrom": iso(e.valid_from),
        "validUntil": e.valid_until.map(iso),
        "state": e.state.as_str(),
        "inForce": e.in_force(today),
        "origin": e.origin,
        "steps": e.steps,
    })
}

fn iso(d: CivilDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// The step an API path names.
pub fn parse_step(s: &str) -> Option<EntrustmentStep> {
    match s {
        "accept" => Some(EntrustmentStep::Accept),
        "decline" => Some(EntrustmentStep::Decline),
        "revoke" => Some(EntrustmentStep::Revoke),
        _ => None,
    }
}
