//! 统计监测 inside clearance: the engine's statistics step. When a declaration is released,
//! refused after its documents matched, returned, or one of its documents is rejected, the engine
//! turns what it knows into statistical deltas ([`crate::statistics::facts`]); they leave with
//! [`Engine::take_changes`](super::Engine::take_changes) and the store adds them in the same
//! transaction as the journal position. Cheap by design: a few map insertions per release, no
//! scan of anything.
//!
//! It also keeps what the statistics need across documents (whether any document of a
//! declaration was refused before it was released: first pass; how many On-mode risk alerts its
//! match raised), and the index settings and publications (journaled `INDEX` entries).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::supervision::{Actor, RecordChange, Refused};
use super::{Declaration, Engine};
use crate::clearance::catalogue::Rejection;
use crate::clearance::model::{Document, Refund};
use crate::clearance::receipt::{DeclarationId, Receipt};
use crate::money::to_fen;
use crate::statistics::Classification;
use crate::statistics::facts::{
    ClearanceCell, GoodsCell, GoodsMeasures, ListCell, ListMeasures, Month, RejectionCell,
    StatDeltas, bucket_of, day_of,
};
use crate::statistics::index::{self, IndexAction, IndexSettings, Publication};
use crate::subject::Department;
use crate::tax::TaxAssessment;
use crate::time::Timestamp;

pub(crate) const NS_STATS: &str = "stats";
const KEY_SETTINGS: &str = "index-settings";
const PREFIX_MARK: &str = "mark:";
const PREFIX_INDEX: &str = "index:";

/// What the statistics remember about a declaration (`D:<id>`) or a waybill (`W:<code> <no>`)
/// until it is released.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    /// One of its documents was refused.
    #[serde(default)]
    refused: bool,
    /// On-mode risk alerts raised by its latest match.
    #[serde(default)]
    risk_hits: u32,
}

/// The statistics state of the engine.
#[derive(Clone, Debug, Default)]
pub(crate) struct Statistics {
    deltas: StatDeltas,
    marks: BTreeMap<String, Mark>,
    dirty_marks: BTreeSet<String>,
    settings: IndexSettings,
    dirty_settings: bool,
    publications: BTreeMap<Month, Vec<Publication>>,
    dirty_months: BTreeSet<Month>,
}

fn decl_mark(id: &DeclarationId) -> String {
    format!("D:{}", id.0)
}

fn waybill_mark(code: &str, no: &str) -> String {
    format!("W:{code}\u{1f}{no}")
}

fn fen(d: Decimal) -> i64 {
    to_fen(d).unwrap_or(0)
}

fn milli(d: Decimal) -> i64 {
    (d * Decimal::ONE_THOUSAND).round().try_into().unwrap_or(0)
}

/// The catalogue code inside `[Code:NNNN;Desc:…]`.
fn code_of(text: &str) -> String {
    text.split_once("[Code:")
        .and_then(|(_, rest)| rest.split_once(';'))
        .map_or_else(|| "unknown".to_string(), |(code, _)| code.to_string())
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl Engine {
    fn mark(&mut self, key: String, f: impl FnOnce(&mut Mark)) {
        f(self.stats.marks.entry(key.clone()).or_default());
        self.stats.dirty_marks.insert(key);
    }

    fn take_mark(&mut self, key: String) -> Mark {
        match self.stats.marks.remove(&key) {
            Some(m) => {
                self.stats.dirty_marks.insert(key);
                m
            }
            None => Mark::default(),
        }
    }

    fn released(&self, id: &DeclarationId) -> bool {
        self.decls.get(id).is_some_and(|d| d.released_at.is_some())
    }

    fn park_of(&self, ebc: &str) -> String {
        self.registry
            .get(ebc)
            .and_then(|e| e.park.clone())
            .unwrap_or_default()
    }

    /// A document was refused on arrival: count the reason, and remember it against the
    /// declaration (or the waybill) it belongs to, so its release is not a first pass.
    pub(crate) fn stats_node_rejected(
        &mut self,
        doc: &Document,
        sender: &str,
        rej: &Rejection,
        now: Timestamp,
    ) {
        self.stats.deltas.rejection(
            RejectionCell {
                day: day_of(now),
                message_type: doc.kind().to_string(),
                code: rej.code.code().to_string(),
                enterprise: sender.to_string(),
            },
            1,
        );
        let key = match doc {
            Document::Order(o) => Some(DeclarationId::derive(&o.ebp_code, &o.order_no)),
            Document::Payment(p) => Some(DeclarationId::derive(&p.ebp_code, &p.order_no)),
            Document::Inventory(i) => Some(DeclarationId::derive(&i.ebp_code, &i.order_no)),
            Document::Waybill(w) => {
                self.mark(waybill_mark(&w.logistics_code, &w.logistics_no), |m| {
                    m.refused = true
                });
                None
            }
            _ => None,
        };
        if let Some(id) = key
            && !self.released(&id)
        {
            self.mark(decl_mark(&id), |m| m.refused = true);
        }
    }

    /// The documents matched and supervision advised: remember the On-mode alerts it raised.
    pub(crate) fn stats_matched(&mut self, id: &DeclarationId, risk_hits: usize) {
        let key = decl_mark(id);
        let hits = u32::try_from(risk_hits).unwrap_or(u32::MAX);
        if hits > 0 || self.stats.marks.contains_key(&key) {
            self.mark(key, |m| m.risk_hits = hits);
        }
    }

    /// The list dimensions of a declaration, at `now`.
    fn list_cell(&self, d: &Declaration, now: Timestamp) -> Option<ListCell> {
        let inv = &d.inventory.as_ref()?.doc;
        let payment = d
            .payment
            .as_ref()
            .map(|p| p.doc.pay_code.clone())
            .or_else(|| d.order.as_ref().and_then(|o| o.doc.pay_code.clone()))
            .unwrap_or_default();
        Some(ListCell {
            day: day_of(now),
            direction: inv.ie_flag.clone(),
            mode: inv.trade_mode.clone(),
            country: inv.country.clone(),
            ebc: inv.ebc_code.clone(),
            ebp: inv.ebp_code.clone(),
            payment,
            logistics: inv.logistics_code.clone(),
            park: self.park_of(&inv.ebc_code),
        })
    }

    /// The inventory is about to be refused (`reject_inventory`): count the reason, remember it,
    /// and when the documents had matched, count a refusal after matching.
    pub(crate) fn stats_inventory_refused(
        &mut self,
        id: &DeclarationId,
        text: &str,
        now: Timestamp,
    ) {
        let Some(d) = self.decls.get(id) else {
            return;
        };
        let Some(slot) = d.inventory.as_ref() else {
            return;
        };
        let code = code_of(text);
        let matched = matches!(slot.status, 120 | 300 | 500);
        let rejection = RejectionCell {
            day: day_of(now),
            message_type: "621".into(),
            code: code.clone(),
            enterprise: slot.sender.clone(),
        };
        let cell = matched.then(|| self.list_cell(d, now)).flatten();
        self.stats.deltas.rejection(rejection, 1);
        if let Some(cell) = cell {
            let m = ListMeasures {
                refused: 1,
                inspection_failed: i64::from(
                    code == crate::clearance::ErrorCode::InspectionFailed.code(),
                ),
                ..ListMeasures::default()
            };
            self.stats.deltas.list(cell, &m);
        }
        self.mark(decl_mark(id), |m| m.refused = true);
    }

    /// The declaration is about to be released (called before its status changes, so a hold
    /// for review or inspection is still visible).
    pub(crate) fn stats_released(&mut self, id: &DeclarationId, now: Timestamp) {
        let (wkey, status) = match self.decls.get(id).and_then(|d| d.inventory.as_ref()) {
            Some(i) => (
                waybill_mark(&i.doc.logistics_code, &i.doc.logistics_no),
                i.status,
            ),
            None => return,
        };
        let mark = self.take_mark(decl_mark(id));
        let waybill = self.take_mark(wkey);
        let Some(d) = self.decls.get(id) else {
            return;
        };
        let (Some(cell), Some(inv)) = (self.list_cell(d, now), d.inventory.as_ref()) else {
            return;
        };
        let inv = &inv.doc;
        let matched_at = d.matches.last().map_or(now, |(_, at, _)| *at);
        let clearance_ms = (now.0 - matched_at.0).max(0);
        let empty = TaxAssessment {
            regime: crate::tax::Regime::Preferential,
            dutiable_price: Decimal::ZERO,
            lines: Vec::new(),
            customs_tax: Decimal::ZERO,
            vat: Decimal::ZERO,
            consumption_tax: Decimal::ZERO,
        };
        let a = d.assessment.as_ref().unwrap_or(&empty);
        let list = ListMeasures {
            declarations: 1,
            lines: i64::try_from(inv.lines.len()).unwrap_or(0),
            value_fen: fen(d.value),
            customs_tax_fen: fen(a.customs_tax),
            vat_fen: fen(a.vat),
            consumption_tax_fen: fen(a.consumption_tax),
            paid_fen: d.payment.as_ref().map_or(0, |p| fen(p.doc.amount_paid)),
            first_pass: i64::from(!mark.refused && !waybill.refused),
            risk_hit: i64::from(mark.risk_hits > 0),
            reviewed: i64::from(status == 300),
            inspected: i64::from(status == 500),
            clearance_ms,
            ..ListMeasures::default()
        };
        // Goods: one cell per origin × class × unit; line taxes are the bill's, and the last
        // line takes any rounding difference, so goods totals equal list totals to the fen.
        let classes = Classification::builtin();
        let mut goods: BTreeMap<GoodsCell, GoodsMeasures> = BTreeMap::new();
        let mut last: Option<GoodsCell> = None;
        let (mut ct, mut vat, mut cons) = (0i64, 0i64, 0i64);
        for l in &inv.lines {
            let tax = a.lines.iter().find(|t| t.gnum == l.gnum);
            let g = GoodsCell {
                day: cell.day,
                direction: cell.direction.clone(),
                mode: cell.mode.clone(),
                origin: l.country.clone(),
                class: classes.classify(&l.gcode).code.clone(),
                unit: l.unit1.clone(),
                ebc: cell.ebc.clone(),
                park: cell.park.clone(),
            };
            let m = GoodsMeasures {
                declarations: 0,
                lines: 1,
                qty_milli: milli(l.qty1),
                value_fen: tax.map_or(0, |t| fen(t.dutiable_price)),
                customs_tax_fen: tax.map_or(0, |t| fen(t.customs_tax)),
                vat_fen: tax.map_or(0, |t| fen(t.vat)),
                consumption_tax_fen: tax.map_or(0, |t| fen(t.consumption_tax)),
                ..GoodsMeasures::default()
            };
            ct += m.customs_tax_fen;
            vat += m.vat_fen;
            cons += m.consumption_tax_fen;
            goods.entry(g.clone()).or_default().add(&m);
            last = Some(g);
        }
        if let Some(g) = last.and_then(|g| goods.get_mut(&g)) {
            g.customs_tax_fen += list.customs_tax_fen - ct;
            g.vat_fen += list.vat_fen - vat;
            g.consumption_tax_fen += list.consumption_tax_fen - cons;
        }
        let clearance = ClearanceCell {
            day: cell.day,
            direction: cell.direction.clone(),
            mode: cell.mode.clone(),
            ebc: cell.ebc.clone(),
            park: cell.park.clone(),
            bucket: bucket_of(clearance_ms).to_string(),
        };
        let deltas = &mut self.stats.deltas;
        for (g, mut m) in goods {
            m.declarations = 1;
            deltas.goods(g, &m);
        }
        deltas.clearance(clearance, 1);
        deltas.list(cell, &list);
    }

    /// A return (CEB625) was approved: count it on its day, with the value and tax it took off.
    /// Called before the declaration's assessment is replaced by `reassessed` (`None`: all of it
    /// came back).
    pub(crate) fn stats_returned(
        &mut self,
        id: &DeclarationId,
        refund: &Refund,
        reassessed: Option<&(Decimal, TaxAssessment)>,
        now: Timestamp,
    ) {
        let Some(d) = self.decls.get(id) else {
            return;
        };
        let (Some(cell), Some(inv)) = (self.list_cell(d, now), d.inventory.as_ref()) else {
            return;
        };
        let old_tax = d.assessment.as_ref().map_or(Decimal::ZERO, |a| a.total());
        let (new_value, new_tax) =
            reassessed.map_or((Decimal::ZERO, Decimal::ZERO), |(v, a)| (*v, a.total()));
        let list = ListMeasures {
            returns: 1,
            returned_value_fen: fen(d.value - new_value),
            returned_tax_fen: fen(old_tax - new_tax),
            ..ListMeasures::default()
        };
        let classes = Classification::builtin();
        let mut goods = Vec::new();
        for r in &refund.lines {
            let Some(l) = inv.doc.lines.iter().find(|l| l.gnum == r.gnum) else {
                continue;
            };
            let share = if l.qty.is_zero() {
                Decimal::ZERO
            } else {
                r.qty / l.qty
            };
            let line_value = d
                .assessment
                .as_ref()
                .and_then(|a| a.lines.iter().find(|t| t.gnum == l.gnum))
                .map_or(Decimal::ZERO, |t| t.dutiable_price);
            goods.push((
                GoodsCell {
                    day: cell.day,
                    direction: cell.direction.clone(),
                    mode: cell.mode.clone(),
                    origin: l.country.clone(),
                    class: classes.classify(&l.gcode).code.clone(),
                    unit: l.unit1.clone(),
                    ebc: cell.ebc.clone(),
                    park: cell.park.clone(),
                },
                GoodsMeasures {
                    returned_qty_milli: milli(l.qty1 * share),
                    returned_value_fen: fen(line_value * share),
                    ..GoodsMeasures::default()
                },
            ));
        }
        let deltas = &mut self.stats.deltas;
        deltas.list(cell, &list);
        for (g, m) in goods {
            deltas.goods(g, &m);
        }
    }

    /// A journaled index action of the zone office.
    pub(crate) fn statistics_action(
        &mut self,
        actor: &Actor,
        action: IndexAction,
        now: Timestamp,
    ) -> Vec<Receipt> {
        let outcome = self.index_act(actor, action, now);
        self.sup.outcome = Some(outcome);
        Vec::new()
    }

    fn index_act(
        &mut self,
        actor: &Actor,
        action: IndexAction,
        now: Timestamp,
    ) -> Result<serde_json::Value, Refused> {
        if *actor != Actor::Regulator(Department::ZoneOffice) {
            return Err(Refused::forbidden(format!(
                "{} may not do this; the index belongs to the zone office (zone_office)",
                actor.label()
            )));
        }
        match action {
            IndexAction::Configure { settings } => {
                settings.validate().map_err(Refused::from)?;
                self.stats.settings = settings;
                self.stats.dirty_settings = true;
                Ok(serde_json::to_value(&self.stats.settings).unwrap_or_default())
            }
            IndexAction::Publish {
                month,
                figures,
                note,
            } => {
                let computed = index::compute(&self.stats.settings, &figures, month)
                    .map_err(|e| Refused::from(e.to_string()))?;
                let history = self.stats.publications.entry(month).or_default();
                for p in history.iter_mut().filter(|p| p.superseded_at.is_none()) {
                    p.superseded_at = Some(now);
                }
                let publication = Publication {
                    month,
                    revision: u32::try_from(history.len()).unwrap_or(u32::MAX - 1) + 1,
                    published_at: now,
                    published_by: actor.label(),
                    note,
                    index: computed,
                    settings: self.stats.settings.clone(),
                    figures,
                    superseded_at: None,
                };
                let value = serde_json::to_value(&publication).unwrap_or_default();
                history.push(publication);
                self.stats.dirty_months.insert(month);
                Ok(value)
            }
        }
    }

    /// The index settings in force.
    pub fn index_settings(&self) -> &IndexSettings {
        &self.stats.settings
    }

    /// State rows and records of what the statistics changed, and the deltas to add.
    pub(crate) fn statistics_changes(
        &mut self,
        state: &mut Vec<(String, String, Option<Vec<u8>>)>,
        records: &mut Vec<RecordChange>,
    ) -> StatDeltas {
        let s = &mut self.stats;
        for key in std::mem::take(&mut s.dirty_marks) {
            let value = s.marks.get(&key).map(|m| json(m).into_bytes());
            state.push((NS_STATS.into(), format!("{PREFIX_MARK}{key}"), value));
        }
        if std::mem::take(&mut s.dirty_settings) {
            let body = json(&s.settings);
            state.push((
                NS_STATS.into(),
                KEY_SETTINGS.into(),
                Some(body.clone().into_bytes()),
            ));
            records.push(RecordChange {
                kind: "index-settings",
                key: "current".into(),
                party: None,
                status: "current".into(),
                updated_at: Timestamp(0),
                body,
            });
        }
        for month in std::mem::take(&mut s.dirty_months) {
            let Some(history) = s.publications.get(&month) else {
                continue;
            };
            state.push((
                NS_STATS.into(),
                format!("{PREFIX_INDEX}{month}"),
                Some(json(history).into_bytes()),
            ));
            for p in history {
                records.push(RecordChange {
                    kind: "index",
                    key: format!("{month}/{:03}", p.revision),
                    party: None,
                    status: if p.superseded_at.is_some() {
                        "superseded".into()
                    } else {
                        "current".into()
                    },
                    updated_at: p.superseded_at.unwrap_or(p.published_at),
                    body: json(p),
                });
            }
        }
        std::mem::take(&mut s.deltas)
    }

    /// Restores one `stats` state row.
    pub(crate) fn restore_statistics(
        &mut self,
        key: &str,
        value: &[u8],
    ) -> Result<(), serde_json::Error> {
        if key == KEY_SETTINGS {
            self.stats.settings = serde_json::from_slice(value)?;
        } else if let Some(mark) = key.strip_prefix(PREFIX_MARK) {
            self.stats
                .marks
                .insert(mark.to_string(), serde_json::from_slice(value)?);
        } else if let Some(month) = key.strip_prefix(PREFIX_INDEX).and_then(Month::parse) {
            self.stats
                .publications
                .insert(month, serde_json::from_slice(value)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_read_from_the_return_info() {
        assert_eq!(code_of("[Code:9607;Desc:查验不合格]bad"), "9607");
        assert_eq!(code_of("[Code:-621005;Desc:超过单笔限额]"), "-621005");
        assert_eq!(code_of("no code"), "unknown");
    }
}
