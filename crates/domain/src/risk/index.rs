//! The sliding windows the rules count in: per buyer, address, payer, phone and seller, the
//! matched declarations of the last `max_window_ms`, in record order.
//!
//! One log holds every recorded declaration in record order; pruning pops it from the front and
//! pops the same entry from the front of each of its keys' queues, so memory stays bounded by the
//! window even for keys never seen again, at O(1) amortised cost per record. Keys are interned
//! `Arc<str>`s shared between the log and the queues.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::config::RiskConfig;
use super::reference::ReferencePrices;
use super::{RiskHit, RiskInput, rules};

pub(super) type Key = Arc<str>;

/// The keys are keyed hashes (HMAC) or filed enterprise codes: see `crate::fasthash`.
pub(super) type KeyHasher = crate::fasthash::FxBuild;
pub(super) type KeyMap<V> = HashMap<Key, V, KeyHasher>;
/// The first six digits of an HS code (padded with spaces when shorter).
pub(super) type Hs6 = [u8; 6];

pub(super) fn hs6(hs: &str) -> Hs6 {
    let mut out = [b' '; 6];
    for (o, b) in out.iter_mut().zip(hs.bytes()) {
        *o = b;
    }
    out
}

/// One declaration as its buyer's queue remembers it.
#[derive(Clone, Debug)]
pub(super) struct BuyerEntry {
    pub(super) at: i64,
    pub(super) decl: Key,
    pub(super) value: Decimal,
    pub(super) address: Option<Key>,
    /// Quantity per 6-digit HS heading.
    pub(super) lines: Box<[(Hs6, Decimal)]>,
}

/// One declaration as its address's queue remembers it.
#[derive(Clone, Debug)]
pub(super) struct AddressEntry {
    pub(super) at: i64,
    pub(super) decl: Key,
    pub(super) value: Decimal,
    pub(super) buyer: Option<Key>,
}

/// One declaration in a payer's or phone's queue.
#[derive(Clone, Debug)]
pub(super) struct KeyEntry {
    pub(super) at: i64,
    pub(super) decl: Key,
}

/// A key's queue plus how many of its entries name each counterpart (addresses of a buyer,
/// buyers at an address), so "distinct counterparts" is O(1) when the whole queue is in the window.
#[derive(Clone, Debug)]
pub(super) struct Track<E> {
    pub(super) entries: VecDeque<E>,
    pub(super) counterparts: KeyMap<u32>,
}

impl<E> Default for Track<E> {
    fn default() -> Self {
        Track {
            entries: VecDeque::new(),
            counterparts: KeyMap::default(),
        }
    }
}

#[derive(Clone, Debug)]
struct Recorded {
    at: i64,
    buyer: Option<Key>,
    address: Option<Key>,
    payer: Option<Key>,
    phone: Option<Key>,
    seller: Option<Key>,
}

/// 风险窗口索引 — what the rules remember of earlier matched declarations. Rebuilt at start-up by
/// recording every matched declaration again in match order.
#[derive(Clone, Default)]
pub struct RiskIndex {
    log: VecDeque<Recorded>,
    pub(super) buyers: KeyMap<Track<BuyerEntry>>,
    pub(super) addresses: KeyMap<Track<AddressEntry>>,
    pub(super) payers: KeyMap<VecDeque<KeyEntry>>,
    pub(super) phones: KeyMap<VecDeque<KeyEntry>>,
    pub(super) sellers: KeyMap<VecDeque<i64>>,
}

impl fmt::Debug for RiskIndex {
    /// Counts only: the keys are personal (hashed, but still not for logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RiskIndex")
            .field("entries", &self.log.len())
            .field("buyers", &self.buyers.len())
            .field("addresses", &self.addresses.len())
            .field("payers", &self.payers.len())
            .field("phones", &self.phones.len())
            .field("sellers", &self.sellers.len())
            .finish()
    }
}

fn nonempty(s: &str) -> Option<&str> {
    if s.is_empty() { None } else { Some(s) }
}

/// The shared key for `k`, inserting an empty queue the first time.
fn intern<V: Default>(map: &mut KeyMap<V>, k: &str) -> Key {
    if let Some((key, _)) = map.get_key_value(k) {
        return key.clone();
    }
    let key: Key = Arc::from(k);
    map.insert(key.clone(), V::default());
    key
}

fn release(counterparts: &mut KeyMap<u32>, c: Option<&Key>) {
    if let Some(c) = c
        && let Some(n) = counterparts.get_mut(c)
    {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counterparts.remove(c);
        }
    }
}

fn pop_queue<E>(map: &mut KeyMap<VecDeque<E>>, key: &Key) {
    if let Some(q) = map.get_mut(key) {
        q.pop_front();
        if q.is_empty() {
            map.remove(key);
        }
    }
}

impl RiskIndex {
    /// The hits of `input` against the recorded history plus `input` itself, in [`RuleId`] order.
    /// Pure: the index does not change.
    ///
    /// [`RuleId`]: super::RuleId
    pub fn evaluate(
        &self,
        cfg: &RiskConfig,
        refs: &ReferencePrices,
        input: &RiskInput,
    ) -> Vec<RiskHit> {
        rules::evaluate(self, cfg, refs, input)
    }

    /// Adds `input` to the windows, after forgetting what is older than `cfg.max_window_ms()`
    /// before `input.at`. Empty keys (unknown phone, say) are not tracked.
    pub fn record(&mut self, cfg: &RiskConfig, input: &RiskInput) {
        let at = input.at.0;
        self.prune(at.saturating_sub(cfg.max_window_ms()));
        let decl: Key = Arc::from(input.declaration.as_str());
        let buyer = nonempty(&input.buyer).map(|k| intern(&mut self.buyers, k));
        let address = nonempty(&input.address).map(|k| intern(&mut self.addresses, k));
        let payer = nonempty(&input.payer).map(|k| intern(&mut self.payers, k));
        let phone = nonempty(&input.phone).map(|k| intern(&mut self.phones, k));
        let seller = nonempty(&input.ebc_code).map(|k| intern(&mut self.sellers, k));

        if let Some(t) = buyer.as_ref().and_then(|b| self.buyers.get_mut(b)) {
            let mut lines: Vec<(Hs6, Decimal)> = Vec::with_capacity(input.lines.len());
            for l in &input.lines {
                let h = hs6(&l.hs);
                match lines.iter_mut().find(|(x, _)| *x == h) {
                    Some((_, q)) => *q = q.saturating_add(l.qty),
                    None => lines.push((h, l.qty)),
                }
            }
            if let Some(a) = &address {
                *t.counterparts.entry(a.clone()).or_insert(0) += 1;
            }
            t.entries.push_back(BuyerEntry {
                at,
                decl: decl.clone(),
                value: input.value,
                address: address.clone(),
                lines: lines.into_boxed_slice(),
            });
        }
        if let Some(t) = address.as_ref().and_then(|a| self.addresses.get_mut(a)) {
            if let Some(b) = &buyer {
                *t.counterparts.entry(b.clone()).or_insert(0) += 1;
            }
            t.entries.push_back(AddressEntry {
                at,
                decl: decl.clone(),
                value: input.value,
                buyer: buyer.clone(),
            });
        }
        if let Some(q) = payer.as_ref().and_then(|p| self.payers.get_mut(p)) {
            q.push_back(KeyEntry {
                at,
                decl: decl.clone(),
            });
        }
        if let Some(q) = phone.as_ref().and_then(|p| self.phones.get_mut(p)) {
            q.push_back(KeyEntry { at, decl });
        }
        if let Some(q) = seller.as_ref().and_then(|s| self.sellers.get_mut(s)) {
            q.push_back(at);
        }
        self.log.push_back(Recorded {
            at,
            buyer,
            address,
            payer,
            phone,
            seller,
        });
    }

    /// Forgets declarations older than `cutoff`, in record order: a declaration stays until every
    /// earlier-recorded one is gone, which only matters if match times ever went backwards.
    fn prune(&mut self, cutoff: i64) {
        while self.log.front().is_some_and(|r| r.at < cutoff) {
            let Some(r) = self.log.pop_front() else { break };
            if let Some(b) = &r.buyer
                && let Some(t) = self.buyers.get_mut(b)
            {
                if let Some(e) = t.entries.pop_front() {
                    release(&mut t.counterparts, e.address.as_ref());
                }
                if t.entries.is_empty() {
                    self.buyers.remove(b);
                }
            }
            if let Some(a) = &r.address
                && let Some(t) = self.addresses.get_mut(a)
            {
                if let Some(e) = t.entries.pop_front() {
                    release(&mut t.counterparts, e.buyer.as_ref());
                }
                if t.entries.is_empty() {
                    self.addresses.remove(a);
                }
            }
            if let Some(p) = &r.payer {
                pop_queue(&mut self.payers, p);
            }
            if let Some(p) = &r.phone {
                pop_queue(&mut self.phones, p);
            }
            if let Some(s) = &r.seller {
                pop_queue(&mut self.sellers, s);
            }
        }
    }

    /// Declarations currently remembered.
    pub fn len(&self) -> usize {
        self.log.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }
}
