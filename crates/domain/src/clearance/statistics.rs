//! 统计监测 seen from the clearance room: at each step the statistics count (a document refused
//! on arrival, a match, an inventory refused, a release, a return) the engine turns what it knows
//! into an [`Event`] with the facts, and the statistics room ([`StatisticsRoom`]) folds it. The
//! room never reads the clearance state; the engine never builds a statistical cell.

use rust_decimal::Decimal;

use super::supervision::{Actor, RecordChange};
use super::{Declaration, Engine};
use crate::clearance::catalogue::Rejection;
use crate::clearance::model::{Document, Refund};
use crate::clearance::receipt::{DeclarationId, Receipt};
use crate::event::{Event, GoodsLine, Released, Returned};
use crate::statistics::facts::{ListCell, StatDeltas, day_of};
use crate::statistics::index::{IndexAction, IndexSettings};
pub(crate) use crate::statistics::room::{NS_STATS, StatisticsRoom};
use crate::tax::TaxAssessment;
use crate::time::Timestamp;

/// The catalogue code inside `[Code:NNNN;Desc:…]`.
fn code_of(text: &str) -> String {
    text.split_once("[Code:")
        .and_then(|(_, rest)| rest.split_once(';'))
        .map_or_else(|| "unknown".to_string(), |(code, _)| code.to_string())
}

impl Engine {
    fn emit(&mut self, event: Event) {
        self.stats.on(&event);
        self.events.push(event);
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
        let (declaration, waybill) = match doc {
            Document::Order(o) => (Some(DeclarationId::derive(&o.ebp_code, &o.order_no)), None),
            Document::Payment(p) => (Some(DeclarationId::derive(&p.ebp_code, &p.order_no)), None),
            Document::Inventory(i) => (Some(DeclarationId::derive(&i.ebp_code, &i.order_no)), None),
            Document::Waybill(w) => (
                None,
                Some((w.logistics_code.clone(), w.logistics_no.clone())),
            ),
            _ => (None, None),
        };
        let declaration = declaration.filter(|id| !self.released(id));
        self.emit(Event::DocumentRefused {
            at: now,
            message_type: doc.kind().to_string(),
            code: rej.code.code().to_string(),
            sender: sender.to_string(),
            declaration,
            waybill,
        });
    }

    /// The documents matched and supervision advised: remember the On-mode alerts it raised.
    pub(crate) fn stats_matched(&mut self, id: &DeclarationId, risk_hits: usize) {
        self.emit(Event::Matched {
            declaration: id.clone(),
            risk_hits: u32::try_from(risk_hits).unwrap_or(u32::MAX),
        });
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
        let matched = matches!(slot.status, 120 | 300 | 500);
        let event = Event::InventoryRefused {
            at: now,
            declaration: id.clone(),
            code: code_of(text),
            sender: slot.sender.clone(),
            matched: matched.then(|| self.list_cell(d, now)).flatten(),
        };
        self.emit(event);
    }

    /// The declaration is about to be released (called before its status changes, so a hold
    /// for review or inspection is still visible).
    pub(crate) fn stats_released(&mut self, id: &DeclarationId, now: Timestamp) {
        let Some(d) = self.decls.get(id) else {
            return;
        };
        let (Some(list), Some(slot)) = (self.list_cell(d, now), d.inventory.as_ref()) else {
            return;
        };
        let inv = &slot.doc;
        let event = Event::Released(Box::new(Released {
            at: now,
            declaration: id.clone(),
            waybill: (inv.logistics_code.clone(), inv.logistics_no.clone()),
            list,
            lines: inv
                .lines
                .iter()
                .map(|l| GoodsLine {
                    gnum: l.gnum,
                    gcode: l.gcode.clone(),
                    origin: l.country.clone(),
                    unit: l.unit1.clone(),
                    qty: l.qty1,
                })
                .collect(),
            value: d.value,
            assessment: d.assessment.clone(),
            paid: d
                .payment
                .as_ref()
                .map_or(Decimal::ZERO, |p| p.doc.amount_paid),
            held: slot.status,
            matched_at: d.matches.last().map_or(now, |(_, at, _)| *at),
        }));
        self.emit(event);
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
        let (Some(list), Some(inv)) = (self.list_cell(d, now), d.inventory.as_ref()) else {
            return;
        };
        let old_tax = d.assessment.as_ref().map_or(Decimal::ZERO, |a| a.total());
        let (new_value, new_tax) =
            reassessed.map_or((Decimal::ZERO, Decimal::ZERO), |(v, a)| (*v, a.total()));
        let lines = refund
            .lines
            .iter()
            .filter_map(|r| {
                let l = inv.doc.lines.iter().find(|l| l.gnum == r.gnum)?;
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
                let line = GoodsLine {
                    gnum: l.gnum,
                    gcode: l.gcode.clone(),
                    origin: l.country.clone(),
                    unit: l.unit1.clone(),
                    qty: l.qty1 * share,
                };
                Some((line, line_value * share))
            })
            .collect();
        let event = Event::Returned(Box::new(Returned {
            at: now,
            declaration: id.clone(),
            list,
            value_taken: d.value - new_value,
            tax_taken: old_tax - new_tax,
            lines,
        }));
        self.emit(event);
    }

    /// A journaled index action of the zone office.
    pub(crate) fn statistics_action(
        &mut self,
        actor: &Actor,
        action: IndexAction,
        now: Timestamp,
    ) -> Vec<Receipt> {
        let outcome = self.stats.act(actor, action, now);
        self.sup.outcome = Some(outcome);
        Vec::new()
    }

    /// The index settings in force.
    pub fn index_settings(&self) -> &IndexSettings {
        self.stats.settings()
    }

    /// State rows and records of what the statistics changed, and the deltas to add.
    pub(crate) fn statistics_changes(
        &mut self,
        state: &mut Vec<(String, String, Option<Vec<u8>>)>,
        records: &mut Vec<RecordChange>,
    ) -> StatDeltas {
        self.stats.changes(state, records)
    }

    /// Restores one `stats` state row.
    pub(crate) fn restore_statistics(
        &mut self,
        key: &str,
        value: &[u8],
    ) -> Result<(), serde_json::Error> {
        self.stats.restore(key, value)
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
