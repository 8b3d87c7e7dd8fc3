//! Fraud schemes: declarations that pass the three-document match and stay within every
//! limit, yet together form a pattern the risk rules of `rules.md` §6.2 exist to catch. The
//! demo mixes them into honest traffic so that alerts, grades and a listed enterprise appear
//! on their own.
//!
//! Every figure below is a setting of the demo traffic \[U\] (chosen here, not sourced), set
//! against the risk engine's default thresholds (counts include the declaration evaluated):
//!
//! - R4: at least 3 declarations in 24 h per buyer or per address, each under CNY 5 000
//!   dutiable, together over 5 000;
//! - R5: at least 6 in 24 h per buyer, payer or phone, at least 8 per address;
//! - R6: at least 4 buyers at one address (or 4 addresses of one buyer) in 30 days;
//! - R7: a unit price under 50 % of the HS code's reference price;
//! - R8: payTime more than 10 min after the inventory appTime;
//! - R11: a line quantity over 20.

use crate::catalogue::{CATALOGUE, Product};
use crate::people::Person;
use crate::registry::{self, ent};
use crate::xml::{BeijingTime, push_u64_padded};

use super::{Case, Decl, DeclarationSet, Generator, Line};

/// A fraud pattern the demo shows the risk rules catching.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// 化整为零 — a ring of linked buyers splitting bulk purchases into small parcels: four
    /// fictitious buyers sharing one consignee address and one phone, two orders of CNY
    /// 1 800–2 600 each within the hour.
    SplitOrderRing,
    /// 一址多证 — six different buyers, one modest order each (CNY 200–700), all shipped to
    /// one address: identities used to spread purchases over other people's quotas.
    SharedAddress,
    /// A seller (filed as [`crate::UNDERVALUING_SELLER_CODE`]) declaring 3–5 ordinary orders at
    /// 30–40 % of the lowest catalogue price of each line's tariff code.
    UndervaluingSeller,
    /// 二次销售 — one buyer, one order of 25–30 units of one cheap product: goods for resale.
    BulkResale,
    /// A payment dated two hours after the inventory was declared: a payment record made
    /// up afterwards for a declaration that had none.
    BackdatedPayment,
}

impl Scheme {
    pub const ALL: [Scheme; 5] = [
        Scheme::SplitOrderRing,
        Scheme::SharedAddress,
        Scheme::UndervaluingSeller,
        Scheme::BulkResale,
        Scheme::BackdatedPayment,
    ];

    /// Stable kebab-case name, for CLI flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::SplitOrderRing => "split-order-ring",
            Scheme::SharedAddress => "shared-address",
            Scheme::UndervaluingSeller => "undervaluing-seller",
            Scheme::BulkResale => "bulk-resale",
            Scheme::BackdatedPayment => "backdated-payment",
        }
    }

    /// Parses [`Scheme::name`].
    pub fn from_name(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The risk rule codes one occurrence trips at the default thresholds, on its own
    /// declarations alone. The ring trips R5 besides R4 and R6-ADDRESS: eight orders from
    /// one phone and to one address are velocity too.
    pub fn rules(self) -> &'static [&'static str] {
        match self {
            Scheme::SplitOrderRing => &["R4", "R5", "R6-ADDRESS"],
            Scheme::SharedAddress => &["R6-ADDRESS"],
            Scheme::UndervaluingSeller => &["R7"],
            Scheme::BulkResale => &["R11"],
            Scheme::BackdatedPayment => &["R8"],
        }
    }
}

/// Members of a split-order ring; with two orders each that is 8 declarations at one address.
const RING_MEMBERS: usize = 4;
const RING_ORDERS_EACH: usize = 2;
/// Goods value of one ring order, whole CNY: three together exceed 5 000, one stays far below.
const RING_GOODS_YUAN: (u64, u64) = (1_800, 2_600);
/// Buyers at the shared address: ≥ 4 trips R6-ADDRESS, < 8 stays under R5's address count.
const SHARED_ADDRESS_BUYERS: usize = 6;
/// Goods value per shared-address order, whole CNY: six orders with freight and insurance
/// stay ≤ 5 000 together, so R4 stays quiet.
const SHARED_ADDRESS_GOODS_YUAN: (u64, u64) = (200, 700);
const UNDERVALUED_ORDERS: (u64, u64) = (3, 5);
/// Declared unit price as a percentage of the lowest catalogue price of the tariff code.
const UNDERVALUED_PERCENT: (u64, u64) = (30, 40);
const BULK_QTY: (u64, u64) = (25, 30);
/// Cheap products only (price_min ≤ CNY 100), priced ≤ CNY 150, so 30 units stay < 5 000.
const BULK_PRODUCT_MAX_MIN_YUAN: u64 = 100;
const BULK_MAX_UNIT_YUAN: u64 = 150;
const BACKDATE_MS: i64 = 2 * 3_600_000;
/// Inventories of one occurrence are declared within this span before `now_ms`; their
/// orders come at most 15 minutes earlier, so an occurrence stays within the hour.
const SPREAD_MS: i64 = 45 * 60_000;
/// Keeps scheme members' platform registration numbers apart from the population's.
const REG_KEY_SALT: u64 = 1 << 40;

impl Generator {
    /// The declaration sets of one occurrence of the scheme, to be sent in order (timestamps spread from now_ms over at most an hour).
    ///
    /// The hour ends at `now_ms` (never after it, so no honest-looking timestamp lies in the
    /// future), except the backdated payment itself. Each occurrence uses new people and new
    /// addresses (street 试验路, which the population never uses), so occurrences do not
    /// add up, and draws from the schemes' own stream: the honest stream of `next_set` and
    /// `set_of` is byte-identical whether or not schemes are interleaved.
    pub fn scheme(&mut self, scheme: Scheme, now_ms: i64) -> Vec<DeclarationSet> {
        std::mem::swap(&mut self.rng, &mut self.scheme_rng);
        let sets = match scheme {
            Scheme::SplitOrderRing => self.split_order_ring(now_ms),
            Scheme::SharedAddress => self.shared_address(now_ms),
            Scheme::UndervaluingSeller => self.undervaluing_seller(now_ms),
            Scheme::BulkResale => self.bulk_resale(now_ms),
            Scheme::BackdatedPayment => self.backdated_payment(now_ms),
        };
        std::mem::swap(&mut self.rng, &mut self.scheme_rng);
        sets
    }

    fn split_order_ring(&mut self, now_ms: i64) -> Vec<DeclarationSet> {
        let address = self.scheme_address();
        let mut members = self.distinct_members(RING_MEMBERS, &address);
        let phone = members.first().map(|(_, p)| p.phone.clone());
        if let Some(phone) = phone {
            for (_, p) in &mut members {
                p.phone.clone_from(&phone);
            }
        }
        let mut turns: Vec<usize> = Vec::with_capacity(RING_MEMBERS * RING_ORDERS_EACH);
        for _ in 0..RING_ORDERS_EACH {
            let mut round: Vec<usize> = (0..members.len()).collect();
            for i in (1..round.len()).rev() {
                let j = self.rng.below(i as u64 + 1) as usize;
                round.swap(i, j);
            }
            turns.extend(round);
        }
        let times = self.spread(turns.len(), now_ms);
        let mut sets = Vec::with_capacity(turns.len());
        for (turn, t) in turns.into_iter().zip(times) {
            let Some((key, person)) = members.get(turn).cloned() else {
                continue;
            };
            let goods = self.rng.range(RING_GOODS_YUAN.0, RING_GOODS_YUAN.1);
            let lines = self.priced_lines(goods * 100, 3);
            let (index, d) = self.scheme_decl(key, person, lines, t);
            sets.push(self.emit(Scheme::SplitOrderRing, index, &d));
        }
        sets
    }

    fn shared_address(&mut self, now_ms: i64) -> Vec<DeclarationSet> {
        let address = self.scheme_address();
        let members = self.distinct_members(SHARED_ADDRESS_BUYERS, &address);
        let times = self.spread(members.len(), now_ms);
        let mut sets = Vec::with_capacity(members.len());
        for ((key, person), t) in members.into_iter().zip(times) {
            let goods = self
                .rng
                .range(SHARED_ADDRESS_GOODS_YUAN.0, SHARED_ADDRESS_GOODS_YUAN.1);
            let lines = self.priced_lines(goods * 100, 2);
            let (index, d) = self.scheme_decl(key, person, lines, t);
            sets.push(self.emit(Scheme::SharedAddress, index, &d));
        }
        sets
    }

    fn undervaluing_seller(&mut self, now_ms: i64) -> Vec<DeclarationSet> {
        let n = self.rng.range(UNDERVALUED_ORDERS.0, UNDERVALUED_ORDERS.1) as usize;
        let times = self.spread(n, now_ms);
        let seller = ent(registry::UNDERVALUING_SELLER);
        let mut sets = Vec::with_capacity(n);
        for t in times {
            let address = self.scheme_address();
            let (key, person) = self.scheme_member(&address);
            let lines = self.undervalued_lines();
            let (index, mut d) = self.scheme_decl(key, person, lines, t);
            let ebp = ent(*self.rng.pick(&registry::PLATFORMS).unwrap_or(&0));
            d.ebp = (ebp.code, ebp.name);
            d.ebc = (seller.code, seller.name);
            d.assure_code = seller.code;
            d.order_sender = if self.rng.chance(700) { ebp } else { seller };
            sets.push(self.emit(Scheme::UndervaluingSeller, index, &d));
        }
        sets
    }

    fn bulk_resale(&mut self, now_ms: i64) -> Vec<DeclarationSet> {
        let address = self.scheme_address();
        let (key, person) = self.scheme_member(&address);
        let cheap: Vec<&'static Product> = CATALOGUE
            .iter()
            .filter(|p| p.price_min <= BULK_PRODUCT_MAX_MIN_YUAN)
            .collect();
        let product = self
            .rng
            .pick(&cheap)
            .copied()
            .unwrap_or(&CATALOGUE[CATALOGUE.len() - 1]);
        let qty = self.rng.range(BULK_QTY.0, BULK_QTY.1);
        let yuan = self
            .rng
            .range(product.price_min, product.price_max.min(BULK_MAX_UNIT_YUAN));
        let lines = vec![self.line(product, qty, yuan * 100)];
        let (index, d) = self.scheme_decl(key, person, lines, now_ms);
        vec![self.emit(Scheme::BulkResale, index, &d)]
    }

    fn backdated_payment(&mut self, now_ms: i64) -> Vec<DeclarationSet> {
        let address = self.scheme_address();
        let (key, person) = self.scheme_member(&address);
        let goods = self.rng.range(300, 2_000);
        let lines = self.priced_lines(goods * 100, 3);
        let (index, mut d) = self.scheme_decl(key, person, lines, now_ms);
        let paid = now_ms + BACKDATE_MS;
        d.pay_time = BeijingTime::from_unix_ms(paid).stamp();
        d.pay_app_time = BeijingTime::from_unix_ms(paid + 30_000).stamp();
        vec![self.emit(Scheme::BackdatedPayment, index, &d)]
    }

    /// A declaration of a scheme member at inventory time `t`; its business numbers carry
    /// `S` where honest ones carry the first digit of their index, so they never collide.
    fn scheme_decl(&mut self, key: u64, buyer: Person, lines: Vec<Line>, t: i64) -> (u64, Decl) {
        let index = self.scheme_index;
        self.scheme_index += 1;
        let mut tail = String::with_capacity(16);
        tail.push_str(&self.tag);
        tail.push('S');
        push_u64_padded(&mut tail, index % 1_000_000_000, 9);
        tail.push_str("00");
        let mut d = self.decl_for(&tail, index, buyer, key | REG_KEY_SALT, lines, t);
        // The member receives the parcel: the scheme's address is the member's own.
        d.consignee = None;
        (index, d)
    }

    fn emit(&mut self, scheme: Scheme, index: u64, d: &Decl) -> DeclarationSet {
        let messages = self.render(d);
        DeclarationSet {
            index,
            case: Case::Clean,
            scheme: Some(scheme),
            buyer: d.buyer.buyer(),
            messages,
        }
    }

    fn scheme_member(&mut self, address: &str) -> (u64, Person) {
        let key = self.scheme_key_base + self.next_scheme_member;
        self.next_scheme_member += 1;
        (key, Person::scheme_member(key, address))
    }

    /// `n` members with pairwise different names (ID numbers differ anyway).
    fn distinct_members(&mut self, n: usize, address: &str) -> Vec<(u64, Person)> {
        let mut members: Vec<(u64, Person)> = Vec::with_capacity(n);
        for _ in 0..n * 20 {
            if members.len() == n {
                break;
            }
            let (key, p) = self.scheme_member(address);
            if members.iter().all(|(_, m)| m.name != p.name) {
                members.push((key, p));
            }
        }
        members
    }

    /// A new address on a street the population never uses (population addresses are
    /// 样例路1–999号), numbered from a seed-derived offset.
    fn scheme_address(&mut self) -> String {
        let n = (self.scheme_key_base % 10_000) * 10_000 + self.next_scheme_address;
        self.next_scheme_address += 1;
        format!("浙江省杭州市测试区试验路{}弄{}号", 1 + n / 50, 1 + n % 50)
    }

    /// `n` inventory times, ascending, the last at `now_ms`, the first at most
    /// [`SPREAD_MS`] before it.
    fn spread(&mut self, n: usize, now_ms: i64) -> Vec<i64> {
        let gaps = n.saturating_sub(1) as i64;
        let step_max = if gaps == 0 { 0 } else { SPREAD_MS / gaps };
        let step = self.rng.range((step_max / 2) as u64, step_max as u64) as i64;
        (0..n as i64).map(|k| now_ms - (gaps - k) * step).collect()
    }

    /// Up to `max_lines` distinct positive-list products, each priced within its catalogue
    /// range (so no undervaluation) at qty 1, adding up to exactly `goods_fen` (whole yuan):
    /// the first lines take at most a third of what is left, and the last line is a product
    /// whose range covers the rest (the catalogue's ranges cover CNY 25–4 800 without a gap).
    fn priced_lines(&mut self, goods_fen: u64, max_lines: u64) -> Vec<Line> {
        let n = self.rng.range(1, max_lines.max(1)) as usize;
        let mut left = goods_fen / 100;
        let mut lines: Vec<Line> = Vec::with_capacity(n);
        let mut attempts = 0;
        while lines.len() + 1 < n && attempts < 40 {
            attempts += 1;
            let p = self.pick_product();
            if lines.iter().any(|l| std::ptr::eq(l.product, p)) || p.price_min > left / 3 {
                continue;
            }
            let yuan = self.rng.range(p.price_min, p.price_max.min(left / 3));
            left -= yuan;
            let line = self.line(p, 1, yuan * 100);
            lines.push(line);
        }
        let covering: Vec<&'static Product> = CATALOGUE
            .iter()
            .filter(|p| p.price_min <= left && left <= p.price_max)
            .filter(|p| !lines.iter().any(|l| std::ptr::eq(l.product, *p)))
            .collect();
        let last = match self.rng.pick(&covering) {
            Some(p) => Some((*p, left)),
            // Not reached with the current catalogue; stays within a range all the same.
            None => CATALOGUE
                .iter()
                .filter(|p| p.price_min <= left.max(25))
                .find(|p| !lines.iter().any(|l| std::ptr::eq(l.product, *p)))
                .map(|p| (p, left.clamp(p.price_min, p.price_max))),
        };
        if let Some((p, yuan)) = last {
            let line = self.line(p, 1, yuan * 100);
            lines.push(line);
        }
        lines
    }

    /// 1–3 lines at 30–40 % of the lowest catalogue price of their tariff code, using only the
    /// products that set that lowest price: whatever reference price the risk engine keeps
    /// per HS code, as long as it is not below 80 % of the catalogue's lowest, these lines
    /// are under half of it.
    fn undervalued_lines(&mut self) -> Vec<Line> {
        let cheapest_of_code: Vec<&'static Product> = CATALOGUE
            .iter()
            .filter(|p| {
                CATALOGUE
                    .iter()
                    .filter(|q| q.hs == p.hs)
                    .all(|q| q.price_min >= p.price_min)
            })
            .collect();
        let n = self.rng.range(1, 3) as usize;
        let mut lines: Vec<Line> = Vec::with_capacity(n);
        for _ in 0..n * 10 {
            if lines.len() == n {
                break;
            }
            let Some(p) = self.rng.pick(&cheapest_of_code).copied() else {
                break;
            };
            if lines.iter().any(|l| std::ptr::eq(l.product, p)) {
                continue;
            }
            let percent = self.rng.range(UNDERVALUED_PERCENT.0, UNDERVALUED_PERCENT.1);
            let qty = self.rng.range(1, 2);
            let line = self.line(p, qty, p.price_min * percent);
            lines.push(line);
        }
        lines
    }
}

/// The lowest and highest catalogue unit price of every positive-list tariff code the demo
/// traffic sells, in fen, sorted by code — so the risk engine's reference prices can be set
/// from the same figures the honest traffic is drawn from (honest prices are never below
/// the lowest; undervalued ones are 30–40 % of it).
pub fn hs_price_ranges() -> Vec<(&'static str, u64, u64)> {
    let mut out: Vec<(&'static str, u64, u64)> = Vec::new();
    for p in &CATALOGUE {
        match out.iter_mut().find(|(hs, _, _)| *hs == p.hs) {
            Some((_, lo, hi)) => {
                *lo = (*lo).min(p.price_min * 100);
                *hi = (*hi).max(p.price_max * 100);
            }
            None => out.push((p.hs, p.price_min * 100, p.price_max * 100)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}
