//! The statistics room: a fold over the clearance room's [`Event`]s into statistical deltas
//! ([`super::facts`]), plus the CBEC index settings and publications (journaled `INDEX` actions).
//! The deltas leave with the engine's changes and the store adds them in the same transaction as
//! the journal position. Cheap by design: a few map insertions per event, no scan of anything.
//!
//! It keeps what the statistics need across events: whether any document of a declaration (or
//! its waybill) was refused before it was released — a first pass or not — and how many alerts
//! in force its match raised.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Classification;
use super::facts::{
    ClearanceCell, GoodsCell, GoodsMeasures, ListCell, ListMeasures, Month, RejectionCell,
    StatDeltas, bucket_of, day_of,
};
use super::index::{self, IndexAction, IndexSettings, Publication};
use crate::clearance::receipt::DeclarationId;
use crate::clearance::{Actor, RecordChange, Refused};
use crate::event::{Event, GoodsLine, Released, Returned};
use crate::money::to_fen;
use crate::subject::Department;
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

/// The statistics room's state.
#[derive(Clone, Debug, Default)]
pub struct StatisticsRoom {
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

/// The goods cell of one line of a list.
fn goods_cell(list: &ListCell, line: &GoodsLine, classes: &Classification) -> GoodsCell {
    GoodsCell {
        day: list.day,
        direction: list.direction.clone(),
        mode: list.mode.clone(),
        origin: line.origin.clone(),
        class: classes.classify(&line.gcode).code.clone(),
        unit: line.unit.clone(),
        ebc: list.ebc.clone(),
        park: list.park.clone(),
    }
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl StatisticsRoom {
    /// Folds one event of the clearance room.
    pub fn on(&mut self, event: &Event) {
        match event {
            Event::DocumentRefused {
                at,
                message_type,
                code,
                sender,
                declaration,
                waybill,
            } => {
                self.deltas.rejection(
                    RejectionCell {
                        day: day_of(*at),
                        message_type: message_type.clone(),
                        code: code.clone(),
                        enterprise: sender.clone(),
                    },
                    1,
                );
                if let Some((code, no)) = waybill {
                    self.mark(waybill_mark(code, no), |m| m.refused = true);
                }
                if let Some(id) = declaration {
                    self.mark(decl_mark(id), |m| m.refused = true);
                }
            }
            Event::Matched {
                declaration,
                risk_hits,
            } => {
                let key = decl_mark(declaration);
                if *risk_hits > 0 || self.marks.contains_key(&key) {
                    let hits = *risk_hits;
                    self.mark(key, |m| m.risk_hits = hits);
                }
            }
            Event::InventoryRefused {
                at,
                declaration,
                code,
                sender,
                matched,
            } => {
                self.deltas.rejection(
                    RejectionCell {
                        day: day_of(*at),
                        message_type: "621".into(),
                        code: code.clone(),
                        enterprise: sender.clone(),
                    },
                    1,
                );
                if let Some(cell) = matched {
                    let m = ListMeasures {
                        refused: 1,
                        inspection_failed: i64::from(
                            code == crate::clearance::ErrorCode::InspectionFailed.code(),
                        ),
                        ..ListMeasures::default()
                    };
                    self.deltas.list(cell.clone(), &m);
                }
                self.mark(decl_mark(declaration), |m| m.refused = true);
            }
            Event::Released(r) => self.released(r),
            Event::Returned(r) => self.returned(r),
        }
    }

    fn mark(&mut self, key: String, f: impl FnOnce(&mut Mark)) {
        f(self.marks.entry(key.clone()).or_default());
        self.dirty_marks.insert(key);
    }

    fn take_mark(&mut self, key: String) -> Mark {
        match self.marks.remove(&key) {
            Some(m) => {
                self.dirty_marks.insert(key);
                m
            }
            None => Mark::default(),
        }
    }

    fn released(&mut self, r: &Released) {
        let mark = self.take_mark(decl_mark(&r.declaration));
        let waybill = self.take_mark(waybill_mark(&r.waybill.0, &r.waybill.1));
        let cell = &r.list;
        let clearance_ms = (r.at.0 - r.matched_at.0).max(0);
        let (customs_tax, vat, consumption_tax) = r
            .assessment
            .as_ref()
            .map_or((Decimal::ZERO, Decimal::ZERO, Decimal::ZERO), |a| {
                (a.customs_tax, a.vat, a.consumption_tax)
            });
        let list = ListMeasures {
            declarations: 1,
            lines: i64::try_from(r.lines.len()).unwrap_or(0),
            value_fen: fen(r.value),
            customs_tax_fen: fen(customs_tax),
            vat_fen: fen(vat),
            consumption_tax_fen: fen(consumption_tax),
            paid_fen: fen(r.paid),
            first_pass: i64::from(!mark.refused && !waybill.refused),
            risk_hit: i64::from(mark.risk_hits > 0),
            reviewed: i64::from(r.held == 300),
            inspected: i64::from(r.held == 500),
            clearance_ms,
            ..ListMeasures::default()
        };
        // Goods: one cell per origin × class × unit; line taxes are the bill's, and the last
        // line takes any rounding difference, so goods totals equal list totals to the fen.
        let classes = Classification::builtin();
        let mut goods: BTreeMap<GoodsCell, GoodsMeasures> = BTreeMap::new();
        let mut last: Option<GoodsCell> = None;
        let (mut ct, mut vat, mut cons) = (0i64, 0i64, 0i64);
        for l in &r.lines {
            let tax = r
                .assessment
                .as_ref()
                .and_then(|a| a.lines.iter().find(|t| t.gnum == l.gnum));
            let g = goods_cell(cell, l, classes);
            let m = GoodsMeasures {
                declarations: 0,
                lines: 1,
                qty_milli: milli(l.qty),
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
        for (g, mut m) in goods {
            m.declarations = 1;
            self.deltas.goods(g, &m);
        }
        self.deltas.clearance(clearance, 1);
        self.deltas.list(cell.clone(), &list);
    }

    fn returned(&mut self, r: &Returned) {
        let cell = &r.list;
        let list = ListMeasures {
            returns: 1,
            returned_value_fen: fen(r.value_taken),
            returned_tax_fen: fen(r.tax_taken),
            ..ListMeasures::default()
        };
        let classes = Classification::builtin();
        self.deltas.list(cell.clone(), &list);
        for (l, value) in &r.lines {
            self.deltas.goods(
                goods_cell(cell, l, classes),
                &GoodsMeasures {
                    returned_qty_milli: milli(l.qty),
                    returned_value_fen: fen(*value),
                    ..GoodsMeasures::default()
                },
            );
        }
    }

    /// A journaled index action: only the zone office configures and publishes the index.
    pub fn act(
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
                self.settings = settings;
                self.dirty_settings = true;
                Ok(serde_json::to_value(&self.settings).unwrap_or_default())
            }
            IndexAction::Publish {
                month,
                figures,
                note,
            } => {
                let computed = index::compute(&self.settings, &figures, month)
                    .map_err(|e| Refused::from(e.to_string()))?;
                let history = self.publications.entry(month).or_default();
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
                    settings: self.settings.clone(),
                    figures,
                    superseded_at: None,
                };
                let value = serde_json::to_value(&publication).unwrap_or_default();
                history.push(publication);
                self.dirty_months.insert(month);
                Ok(value)
            }
        }
    }

    /// The index settings in force.
    pub fn settings(&self) -> &IndexSettings {
        &self.settings
    }

    /// State rows and records of what changed since the last call, and the deltas to add.
    pub fn changes(
        &mut self,
        state: &mut Vec<(String, String, Option<Vec<u8>>)>,
        records: &mut Vec<RecordChange>,
    ) -> StatDeltas {
        for key in std::mem::take(&mut self.dirty_marks) {
            let value = self.marks.get(&key).map(|m| json(m).into_bytes());
            state.push((NS_STATS.into(), format!("{PREFIX_MARK}{key}"), value));
        }
        if std::mem::take(&mut self.dirty_settings) {
            let body = json(&self.settings);
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
        for month in std::mem::take(&mut self.dirty_months) {
            let Some(history) = self.publications.get(&month) else {
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
        std::mem::take(&mut self.deltas)
    }

    /// Restores one `stats` state row.
    pub fn restore(&mut self, key: &str, value: &[u8]) -> Result<(), serde_json::Error> {
        if key == KEY_SETTINGS {
            self.settings = serde_json::from_slice(value)?;
        } else if let Some(mark) = key.strip_prefix(PREFIX_MARK) {
            self.marks
                .insert(mark.to_string(), serde_json::from_slice(value)?);
        } else if let Some(month) = key.strip_prefix(PREFIX_INDEX).and_then(Month::parse) {
            self.publications
                .insert(month, serde_json::from_slice(value)?);
        }
        Ok(())
    }
}
