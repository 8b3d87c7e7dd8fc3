//! 委托与入驻 — entrustments: the consent of two enterprises to name each other in declarations.
//!
//! Naming is consent. A seller (电商企业) is named in an order or an inventory only by itself or by
//! a platform or declaring agent it has entrusted (委托); a platform (电商平台) only by itself, by a
//! seller it has admitted (入驻), or by that seller's entrusted agent; a payment institution names
//! a platform only when the platform works with it. One enterprise files the entrustment, with its
//! dates; the other accepts (or declines) it; either may revoke it. The zone office files the
//! entrustments already in force with the registry (accepted at once), and a store upgraded from a
//! version without these rules files the pairs its traffic already showed.
//!
//! Pure: the engine journals every step and keeps the state; time comes in as an argument.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::clearance::Refused;
use crate::time::{CivilDate, Timestamp};

/// Where an entrustment came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Filed by one of the two enterprises and accepted by the other.
    Filed,
    /// Filed by the zone office with the registry (the `entrusts` column): in force at once.
    Registry,
    /// Implied by the declarations a store held when it was upgraded to the consent rules.
    Upgrade,
}

/// Where an entrustment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntrustmentState {
    /// Filed, waiting for the partner's answer: not yet in force.
    Proposed,
    /// Accepted by the partner: in force between its dates.
    Accepted,
    /// The partner declined it.
    Declined,
    /// Revoked by either party: no longer in force.
    Revoked,
}

impl EntrustmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            EntrustmentState::Proposed => "proposed",
            EntrustmentState::Accepted => "accepted",
            EntrustmentState::Declined => "declined",
            EntrustmentState::Revoked => "revoked",
        }
    }
}

/// A step taken on an entrustment by one of its parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntrustmentStep {
    Accept,
    Decline,
    Revoke,
}

/// One entry of the step history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub at: Timestamp,
    pub by: String,
    pub what: String,
}

/// 委托 — one entrustment between two enterprises.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entrustment {
    pub id: String,
    /// The enterprise that filed it.
    pub principal: String,
    /// The enterprise that accepts it.
    pub partner: String,
    pub valid_from: CivilDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<CivilDate>,
    pub state: EntrustmentState,
    pub origin: Origin,
    pub steps: Vec<StepRecord>,
}

impl Entrustment {
    /// Whether it lets its two parties name each other on `day`.
    pub fn in_force(&self, day: CivilDate) -> bool {
        self.state == EntrustmentState::Accepted
            && self.valid_from <= day
            && self.valid_until.is_none_or(|u| day <= u)
    }

    /// Whether `code` is one of its two parties.
    pub fn involves(&self, code: &str) -> bool {
        self.principal == code || self.partner == code
    }

    fn pair(&self) -> (String, String) {
        pair(&self.principal, &self.partner)
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

/// What a new entrustment says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal<'a> {
    pub principal: &'a str,
    pub partner: &'a str,
    pub valid_from: CivilDate,
    pub valid_until: Option<CivilDate>,
    pub origin: Origin,
}

/// Every entrustment, indexed by the pair of enterprises it joins.
#[derive(Clone, Debug, Default)]
pub struct Entrustments {
    by_id: BTreeMap<String, Entrustment>,
    pairs: BTreeMap<(String, String), BTreeSet<String>>,
    serial: u64,
    dirty: BTreeSet<String>,
}

impl Entrustments {
    /// Whether `a` and `b` may name each other on `day` (the same enterprise always may).
    pub fn linked(&self, a: &str, b: &str, day: CivilDate) -> bool {
        a == b
            || self.pairs.get(&pair(a, b)).is_some_and(|ids| {
                ids.iter()
                    .filter_map(|id| self.by_id.get(id))
                    .any(|e| e.in_force(day))
            })
    }

    /// Files a new entrustment: proposed when an enterprise files it, accepted at once when the
    /// zone office or an upgrade does. Refused when the two are the same enterprise, the dates
    /// are the wrong way round, or one already stands (proposed, or in force on its first day).
    pub fn propose(&mut self, p: &Proposal<'_>, now: Timestamp) -> Result<&Entrustment, Refused> {
        if p.principal == p.partner {
            return Err("an enterprise needs no entrustment of itself".into());
        }
        if p.valid_until.is_some_and(|u| u < p.valid_from) {
            return Err("validUntil is before validFrom".into());
        }
        let key = pair(p.principal, p.partner);
        let standing = self
            .pairs
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_id.get(id))
            .find(|e| {
                e.state == EntrustmentState::Proposed
                    || (e.state == EntrustmentState::Accepted
                        && e.valid_until.is_none_or(|u| p.valid_from <= u))
            });
        if let Some(e) = standing {
            return Err(format!(
                "entrustment {} between {} and {} already stands ({})",
                e.id,
                e.principal,
                e.partner,
                e.state.as_str()
            )
            .into());
        }
        self.serial += 1;
        let id = format!("W{:08}", self.serial);
        let (state, what) = match p.origin {
            Origin::Filed => (EntrustmentState::Proposed, "filed"),
            Origin::Registry => (EntrustmentState::Accepted, "filed with the registry"),
            Origin::Upgrade => (
                EntrustmentState::Accepted,
                "implied by earlier declarations",
            ),
        };
        let e = Entrustment {
            id: id.clone(),
            principal: p.principal.to_owned(),
            partner: p.partner.to_owned(),
            valid_from: p.valid_from,
            valid_until: p.valid_until,
            state,
            origin: p.origin,
            steps: vec![StepRecord {
                at: now,
                by: p.principal.to_owned(),
                what: what.to_owned(),
            }],
        };
        self.pairs.entry(key).or_default().insert(id.clone());
        self.dirty.insert(id.clone());
        Ok(self.by_id.entry(id).or_insert(e))
    }

    /// A party's step: the partner accepts or declines a proposed entrustment; either party
    /// revokes one that is proposed or accepted. Anybody else is told it does not exist.
    pub fn step(
        &mut self,
        id: &str,
        by: &str,
        step: EntrustmentStep,
        now: Timestamp,
    ) -> Result<&Entrustment, Refused> {
        let Some(e) = self.by_id.get_mut(id).filter(|e| e.involves(by)) else {
            return Err(Refused::missing(format!("entrustment {id} not found")));
        };
        let next = match (step, e.state) {
            (EntrustmentStep::Accept, EntrustmentState::Proposed) if e.partner == by => {
                EntrustmentState::Accepted
            }
            (EntrustmentStep::Decline, EntrustmentState::Proposed) if e.partner == by => {
                EntrustmentState::Declined
            }
            (EntrustmentStep::Accept | EntrustmentStep::Decline, EntrustmentState::Proposed) => {
                return Err(Refused::forbidden(format!(
                    "only {} answers entrustment {id}",
                    e.partner
                )));
            }
            (EntrustmentStep::Revoke, EntrustmentState::Proposed | EntrustmentState::Accepted) => {
                EntrustmentState::Revoked
            }
            (_, state) => {
                return Err(format!("entrustment {id} is {}", state.as_str()).into());
            }
        };
        e.state = next;
        e.steps.push(StepRecord {
            at: now,
            by: by.to_owned(),
            what: next.as_str().to_owned(),
        });
        self.dirty.insert(id.to_owned());
        Ok(e)
    }

    /// The entrustments changed since the last call, to persist.
    pub fn take_dirty(&mut self) -> Vec<&Entrustment> {
        let ids = std::mem::take(&mut self.dirty);
        ids.iter().filter_map(|id| self.by_id.get(id)).collect()
    }

    /// Puts back one persisted entrustment (restore).
    pub fn restore(&mut self, e: Entrustment) {
        if let Some(n) = e.id.strip_prefix('W').and_then(|n| n.parse::<u64>().ok()) {
            self.serial = self.serial.max(n);
        }
        self.pairs.entry(e.pair()).or_default().insert(e.id.clone());
        self.by_id.insert(e.id.clone(), e);
    }
}
