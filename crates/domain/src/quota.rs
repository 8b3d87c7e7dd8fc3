//! The quota room: 年度额度 — the buyers' annual quota ledger, partitioned by buyer (a keyed hash,
//! no identity in clear). Clearance asks it what a buyer has used, reserves a declaration's share
//! when the documents match (so no later declaration can overrun the limit, whatever the
//! decision), and gives a share back on cancellation, refusal after matching and return. It keeps
//! its own state rows; nothing else writes the ledger.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::limits::QuotaLedger;
use crate::personal::BuyerKey;

pub(crate) const NS_QUOTA: &str = "quota";

/// One state row: a buyer's use in one year.
#[derive(Serialize, Deserialize)]
struct QuotaValue {
    buyer: BuyerKey,
    year: i32,
    used: Decimal,
}

/// The quota room's state.
#[derive(Clone, Debug, Default)]
pub struct QuotaRoom {
    ledger: QuotaLedger,
    dirty: BTreeSet<(BuyerKey, i32)>,
}

impl QuotaRoom {
    /// What the buyer has used in `year` (Beijing calendar year).
    pub fn used(&self, buyer: &BuyerKey, year: i32) -> Decimal {
        self.ledger.used(buyer, year)
    }

    /// Reserves a matched declaration's share.
    pub fn reserve(&mut self, buyer: &BuyerKey, year: i32, amount: Decimal) {
        self.ledger.consume(buyer, year, amount);
        self.dirty.insert((buyer.clone(), year));
    }

    /// Gives a share back (never below zero).
    pub fn give_back(&mut self, buyer: &BuyerKey, year: i32, amount: Decimal) {
        self.ledger.restore(buyer, year, amount);
        self.dirty.insert((buyer.clone(), year));
    }

    /// The state rows and the projection rows (buyer, year, used) changed since the last call.
    pub fn changes(
        &mut self,
        state: &mut Vec<(String, String, Option<Vec<u8>>)>,
        quotas: &mut Vec<(BuyerKey, i32, Decimal)>,
    ) {
        for (buyer, year) in std::mem::take(&mut self.dirty) {
            let used = self.ledger.used(&buyer, year);
            let v = QuotaValue {
                buyer: buyer.clone(),
                year,
                used,
            };
            state.push((
                NS_QUOTA.into(),
                format!("{}|{year}", buyer.0),
                Some(serde_json::to_vec(&v).unwrap_or_default()),
            ));
            quotas.push((buyer, year, used));
        }
    }

    /// Restores one state row.
    pub fn restore(&mut self, value: &[u8]) -> Result<(), serde_json::Error> {
        let q: QuotaValue = serde_json::from_slice(value)?;
        self.ledger.consume(&q.buyer, q.year, q.used);
        Ok(())
    }
}
