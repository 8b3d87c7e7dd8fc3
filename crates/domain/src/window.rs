//! 单一窗口 — the single window: the one owner of the rooms, and the one entry point of the writer.
//! A command goes in with its time and the decider; what it caused comes back in one value,
//! [`Applied`]: the receipts to answer, the events the rooms exchanged, and the outcome of an
//! action (no side channel to ask afterwards).
//!
//! Today the clearance room ([`Engine`]) still holds the supervision, quota and statistics rooms
//! and hands them its events itself (docs/architecture.md, "Rooms and events"); the writer, the
//! rebuild and the purge already go through this type only, so rooms can move out from behind it
//! without touching them.

use crate::clearance::{
    Changes, Command, Decider, Engine, Outcome, PurgeReport, Receipt, RestoreError,
};
use crate::event::Event;
use crate::settings::Settings;
use crate::tariff::Tariff;
use crate::time::Timestamp;

/// What one command caused.
#[derive(Debug, Default)]
pub struct Applied {
    /// The receipts to send, in order.
    pub receipts: Vec<Receipt>,
    /// The events the rooms exchanged, in order.
    pub events: Vec<Event>,
    /// The outcome of a supervision, index or entrustment action (`None` for documents and
    /// administration).
    pub outcome: Option<Outcome>,
}

/// The rooms of one window and the routing of commands to them.
#[derive(Clone, Debug)]
pub struct SingleWindow {
    clearance: Engine,
}

impl SingleWindow {
    pub fn new(settings: Settings, tariff: Tariff, buyer_secret: Vec<u8>) -> SingleWindow {
        SingleWindow {
            clearance: Engine::new(settings, tariff, buyer_secret),
        }
    }

    /// Rebuilds every room from the state rows [`SingleWindow::take_changes`] produced.
    pub fn restore(
        settings: Settings,
        buyer_secret: Vec<u8>,
        rows: impl IntoIterator<Item = (String, String, Vec<u8>)>,
    ) -> Result<SingleWindow, RestoreError> {
        Ok(SingleWindow {
            clearance: Engine::restore(settings, buyer_secret, rows)?,
        })
    }

    /// Applies one journaled command at `now`.
    pub fn apply(&mut self, command: Command, now: Timestamp, decider: &dyn Decider) -> Applied {
        let receipts = self.clearance.apply(command, now, decider);
        Applied {
            receipts,
            events: self.clearance.take_events(),
            outcome: self.clearance.take_outcome(),
        }
    }

    /// Everything the rooms changed since the last call: state rows and projections.
    pub fn take_changes(&mut self) -> Changes {
        self.clearance.take_changes()
    }

    /// Redacts the personal data of declarations concluded before `horizon` (retention).
    pub fn purge(&mut self, horizon: Timestamp) -> PurgeReport {
        self.clearance.purge(horizon)
    }

    /// The clearance room, for reading (settings, registry, declarations, quotas, rules).
    pub fn clearance(&self) -> &Engine {
        &self.clearance
    }
}
