//! Declaration sets: the four documents of one CBEC import parcel (order, payment, waybill,
//! inventory), consistent by construction, or deliberately broken in one named way.

use std::fmt;

use crate::catalogue::{self, CATALOGUE, ConsumptionTax, HIGH_VALUE, OFF_LIST, Product};
use crate::people::{Buyer, Person};
use crate::registry::{self, DemoEnterprise, ent};
use crate::rng::{Rng, mix};
use crate::xml::{BeijingTime, XmlOut, push_u64_padded};

mod fraud;

pub use fraud::{Scheme, hs_price_ranges};

/// One generated CEB message, ready to send as the enterprise `sender`.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedMessage {
    /// Code of the enterprise that sends it (and that its `BaseTransfer` names).
    pub sender: String,
    /// Root element name, e.g. `CEB311Message`.
    pub message_type: &'static str,
    /// The 36-character message guid (root attribute = head `guid`).
    pub guid: String,
    pub xml: String,
    /// False for the one message a `Malformed`, `SchemaInvalid` or `Hostile` set spoils on
    /// purpose: every other message is well-formed and valid against the official XSD.
    pub expect_valid: bool,
}

/// Masked: the XML carries buyers' (fictitious) personal data, which never goes to a log.
impl fmt::Debug for GeneratedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedMessage")
            .field("sender", &self.sender)
            .field("message_type", &self.message_type)
            .field("guid", &self.guid)
            .field("xml_len", &self.xml.len())
            .field("expect_valid", &self.expect_valid)
            .finish()
    }
}

/// What a declaration set is built to provoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Case {
    /// Consistent: should be released.
    Clean,
    /// Several items, dutiable value > 5 000.
    OverSingleLimit,
    /// One item (qty 1), 5 000 < value < 26 000: released at full rates.
    SingleItemOverLimit,
    /// A buyer who already used most of the year: the earlier (clean) declarations come first
    /// in the same set, and the last one takes the total over 26 000.
    OverAnnualLimit,
    /// Payment payer name/ID ≠ order buyer (M5).
    PayerMismatch,
    /// Payment amountPaid ≠ order acturalPaid (M4).
    AmountMismatch,
    /// Waybill consignee ≠ order consignee (M7).
    ConsigneeMismatch,
    /// Inventory line gname ≠ order line itemName (M8).
    LineMismatch,
    /// acturalPaid ≠ goodsValue + freight + taxTotal − discount (A1); the payment agrees with
    /// the (wrong) acturalPaid so that only A1 fires.
    OrderArithmetic,
    /// 重复申报 — a second inventory for the same order with a new guid, sent last.
    DuplicateInventory,
    /// The same message sent twice, same guid, byte-identical (must be idempotent).
    Resubmission,
    /// Names an ebc code that is not in the registry.
    UnfiledEnterprise,
    /// A line with HS 0201100000 or 9307009000.
    NotOnPositiveList,
    /// One message is not well-formed XML (truncated).
    Malformed,
    /// One message misses a required element.
    SchemaInvalid,
    /// One message carries a DOCTYPE with entities (an entity-expansion attack).
    Hostile,
}

impl Case {
    pub const ALL: [Case; 16] = [
        Case::Clean,
        Case::OverSingleLimit,
        Case::SingleItemOverLimit,
        Case::OverAnnualLimit,
        Case::PayerMismatch,
        Case::AmountMismatch,
        Case::ConsigneeMismatch,
        Case::LineMismatch,
        Case::OrderArithmetic,
        Case::DuplicateInventory,
        Case::Resubmission,
        Case::UnfiledEnterprise,
        Case::NotOnPositiveList,
        Case::Malformed,
        Case::SchemaInvalid,
        Case::Hostile,
    ];

    /// The cases other than `Clean`, in the order `next_set` draws them from.
    pub const BAD: [Case; 15] = [
        Case::OverSingleLimit,
        Case::SingleItemOverLimit,
        Case::OverAnnualLimit,
        Case::PayerMismatch,
        Case::AmountMismatch,
        Case::ConsigneeMismatch,
        Case::LineMismatch,
        Case::OrderArithmetic,
        Case::DuplicateInventory,
        Case::Resubmission,
        Case::UnfiledEnterprise,
        Case::NotOnPositiveList,
        Case::Malformed,
        Case::SchemaInvalid,
        Case::Hostile,
    ];

    /// Stable kebab-case name, for CLI flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Case::Clean => "clean",
            Case::OverSingleLimit => "over-single-limit",
            Case::SingleItemOverLimit => "single-item-over-limit",
            Case::OverAnnualLimit => "over-annual-limit",
            Case::PayerMismatch => "payer-mismatch",
            Case::AmountMismatch => "amount-mismatch",
            Case::ConsigneeMismatch => "consignee-mismatch",
            Case::LineMismatch => "line-mismatch",
            Case::OrderArithmetic => "order-arithmetic",
            Case::DuplicateInventory => "duplicate-inventory",
            Case::Resubmission => "resubmission",
            Case::UnfiledEnterprise => "unfiled-enterprise",
            Case::NotOnPositiveList => "not-on-positive-list",
            Case::Malformed => "malformed",
            Case::SchemaInvalid => "schema-invalid",
            Case::Hostile => "hostile",
        }
    }

    /// Parses [`Case::name`].
    pub fn from_name(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One declaration (or, for `OverAnnualLimit`, a buyer's run of declarations) and its messages.
#[derive(Clone, Debug)]
pub struct DeclarationSet {
    /// Sequence number of the set within its generator, from 0. A scheme's sets are numbered
    /// in their own sequence (their order numbers carry an `S` to tell them apart).
    pub index: u64,
    /// `Clean` for a scheme's sets: they pass the three-document match and every limit.
    pub case: Case,
    /// The fraud pattern this declaration belongs to, when [`Generator::scheme`] made it.
    pub scheme: Option<Scheme>,
    pub buyer: Buyer,
    /// In the order to send them.
    pub messages: Vec<GeneratedMessage>,
}

/// The shape of a generated stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    /// Share of sets that are not `Clean`, in ‰; the bad cases are drawn uniformly.
    pub bad_share_per_mille: u32,
    /// Send the documents of a declaration in random order (they may arrive in any order).
    pub shuffle_arrival: bool,
    /// Most lines per order, 1..=5.
    pub max_lines: u32,
    /// Size of the buyer population that repeat purchases are drawn from (at most 2 000 000).
    pub buyers: u32,
    /// Sign CEB621/623/625/711 with the sender's demo test key (see `demo_signer`). Off, they
    /// carry a placeholder signature that does not verify: only for tests that generate very
    /// many sets and never submit them (signing costs about a millisecond per message in a
    /// debug build).
    pub signed: bool,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            bad_share_per_mille: 80,
            shuffle_arrival: true,
            max_lines: 5,
            buyers: 50_000,
            signed: true,
        }
    }
}

/// A deterministic stream of declaration sets: the same seed and mix give byte-identical
/// output on every platform.
#[derive(Clone, Debug)]
pub struct Generator {
    rng: Rng,
    mix: Mix,
    index: u64,
    /// Four hex digits derived from the seed, in every business number, so streams with
    /// different seeds do not collide on order or waybill numbers.
    tag: String,
    /// Buyer identity keys of this seed start here (people are derived from keys).
    key_base: u64,
    /// Amount already declared per population buyer, fen — keeps clean sets under the annual
    /// limit however long the stream runs.
    spent_fen: Vec<u64>,
    next_new_buyer: u64,
    next_fresh_buyer: u64,
    product_weight_total: u64,
    /// The fraud schemes draw from their own stream and number their own declarations and
    /// people, so injecting them leaves the honest stream byte-identical.
    scheme_rng: Rng,
    scheme_index: u64,
    /// Scheme members' identity keys start here (their ID numbers cannot collide with the
    /// population's anyway: they are born earlier).
    scheme_key_base: u64,
    next_scheme_member: u64,
    next_scheme_address: u64,
}

/// A population buyer has room for one more clean parcel while below this (CNY 19 000).
const REUSE_CEILING_FEN: u64 = 1_900_000;
const CLEAN_GOODS_MAX_FEN: u64 = 490_000;
/// Buyer identities are drawn from 10 million keys per stream; larger populations are capped.
const MAX_BUYERS: u32 = 2_000_000;
const CUSTOMS_CODE: &str = "2991";
/// Salt of the schemes' random stream and key range.
const SCHEME_STREAM: u64 = 0x5C4E_3E00_F4A0_D000;
const FLIGHTS: [&str; 6] = ["CA1043", "MU5080", "CZ3108", "NH929", "UA857", "LH728"];

struct Line {
    product: &'static Product,
    qty: u64,
    price_fen: u64,
    country: &'static str,
}

impl Line {
    fn total_fen(&self) -> u64 {
        self.price_fen * self.qty
    }
}

/// Everything the four documents of one declaration say; the writers only format it.
struct Decl {
    order_no: String,
    pay_tx: String,
    logistics_no: String,
    cop_no: String,
    ebp: (&'static str, &'static str),
    ebc: (&'static str, &'static str),
    order_sender: &'static DemoEnterprise,
    pay: &'static DemoEnterprise,
    logi: &'static DemoEnterprise,
    agent: &'static DemoEnterprise,
    assure_code: &'static str,
    buyer: Person,
    buyer_reg_no: String,
    consignee: Option<Person>,
    payer: Option<Person>,
    waybill_consignee: Option<Person>,
    inv_gname: Option<(usize, &'static str)>,
    lines: Vec<Line>,
    goods_fen: u64,
    freight_fen: u64,
    insured_fen: u64,
    discount_fen: u64,
    tax_fen: u64,
    actural_fen: u64,
    amount_paid_fen: u64,
    order_time: String,
    pay_time: String,
    pay_app_time: String,
    waybill_time: String,
    inv_time: String,
    decl_date: String,
    gross_g: u64,
    net_g: u64,
    traf_no: &'static str,
    voyage_no: String,
    bill_no: String,
}

impl Generator {
    pub fn new(seed: u64, mix: Mix) -> Self {
        let h = mix_seed(seed);
        let mut tag = String::with_capacity(4);
        for shift in [12u32, 8, 4, 0] {
            let nibble = ((h >> shift) & 0xF) as u32;
            tag.push(
                char::from_digit(nibble, 16)
                    .unwrap_or('0')
                    .to_ascii_uppercase(),
            );
        }
        let mix = Mix {
            max_lines: mix.max_lines.clamp(1, 5),
            buyers: mix.buyers.clamp(1, MAX_BUYERS),
            bad_share_per_mille: mix.bad_share_per_mille.min(1000),
            ..mix
        };
        Self {
            rng: Rng::new(seed),
            mix,
            index: 0,
            tag,
            key_base: (h >> 20) % 90 * 100_000,
            spent_fen: vec![0; mix.buyers as usize],
            next_new_buyer: 0,
            next_fresh_buyer: 0,
            product_weight_total: catalogue::total_weight(),
            scheme_rng: Rng::new(crate::rng::mix(seed ^ SCHEME_STREAM)),
            scheme_index: 0,
            scheme_key_base: crate::rng::mix(h ^ SCHEME_STREAM) % 10_000_000,
            next_scheme_member: 0,
            next_scheme_address: 0,
        }
    }

    pub fn mix(&self) -> Mix {
        self.mix
    }

    /// The next set of the stream: `Clean` or, with the mix's bad share, a bad case.
    /// `now_ms`: Unix ms used for appTime/payTime (Beijing time YYYYMMDDhhmmss) — no clock
    /// is read here, so a stream is reproducible.
    pub fn next_set(&mut self, now_ms: i64) -> DeclarationSet {
        let case = if self.rng.chance(u64::from(self.mix.bad_share_per_mille)) {
            *self.rng.pick(&Case::BAD).unwrap_or(&Case::Clean)
        } else {
            Case::Clean
        };
        self.set_of(case, now_ms)
    }

    /// One set of the given case.
    pub fn set_of(&mut self, case: Case, now_ms: i64) -> DeclarationSet {
        let index = self.index;
        self.index += 1;
        match case {
            Case::OverAnnualLimit => self.over_annual_limit(index, now_ms),
            _ => self.single(index, case, now_ms),
        }
    }

    fn single(&mut self, index: u64, case: Case, now_ms: i64) -> DeclarationSet {
        let (key, population_slot) = match case {
            // Needs up to 26 000 of room: a buyer nobody has seen.
            Case::SingleItemOverLimit => (self.fresh_buyer(), None),
            _ => self.population_buyer(),
        };
        let lines = match case {
            Case::OverSingleLimit => {
                let n = self.rng.range(2, 4) as usize;
                let target = self.rng.range(5_200, 9_000) * 100;
                self.lines_for_target(target, n, false)
            }
            Case::SingleItemOverLimit => {
                let i = *self.rng.pick(&HIGH_VALUE).unwrap_or(&11);
                let product = CATALOGUE.get(i).unwrap_or(&CATALOGUE[0]);
                let price = self.rng.range(5_200, 25_000) * 100 - 100 * self.rng.below(2);
                vec![self.line(product, 1, price)]
            }
            _ => self.clean_lines(),
        };
        let mut d = self.decl(index, 0, key, lines, now_ms);
        if let Some(slot) = population_slot
            && let Some(s) = self.spent_fen.get_mut(slot)
        {
            *s += d.goods_fen + d.freight_fen + d.insured_fen + d.tax_fen;
        }
        match case {
            Case::PayerMismatch => {
                d.payer = Some(Person::from_key(self.other_key(key, 4_000_000)));
            }
            Case::AmountMismatch => {
                let delta = self.rng.range(1, 5_000);
                d.amount_paid_fen = if self.rng.below(2) == 0 || d.actural_fen <= delta {
                    d.actural_fen + delta
                } else {
                    d.actural_fen - delta
                };
            }
            Case::ConsigneeMismatch => {
                d.waybill_consignee = Some(Person::from_key(self.other_key(key, 6_000_000)));
            }
            Case::LineMismatch => {
                let at = self.rng.below(d.lines.len() as u64) as usize;
                let current = d.lines.get(at).map_or("", |l| l.product.name);
                let other = CATALOGUE
                    .iter()
                    .map(|p| p.name)
                    .find(|n| *n != current)
                    .unwrap_or("测试替换商品");
                d.inv_gname = Some((at, other));
            }
            Case::OrderArithmetic => {
                let delta = self.rng.range(100, 10_000);
                d.actural_fen += delta;
                d.amount_paid_fen = d.actural_fen;
            }
            Case::UnfiledEnterprise => {
                d.ebc = (registry::UNFILED_EBC_CODE, registry::UNFILED_EBC_NAME);
                d.assure_code = d.ebp.0;
                d.order_sender = self.ebp_enterprise(d.ebp.0);
            }
            Case::NotOnPositiveList => {
                let product = self.rng.pick(&OFF_LIST).unwrap_or(&OFF_LIST[0]);
                let qty = if product.unit == "035" {
                    self.rng.range(2, 6)
                } else {
                    1
                };
                let price = self.price_fen(product);
                let line = self.line(product, qty, price);
                // Only the tariff line is wrong: stay within the per-order limit.
                let room = CLEAN_GOODS_MAX_FEN.saturating_sub(line.total_fen());
                while d.lines.len() > 1 && d.lines.iter().map(Line::total_fen).sum::<u64>() > room {
                    d.lines.pop();
                }
                if let Some(first) = d.lines.first_mut() {
                    while first.total_fen() > room && first.qty > 1 {
                        first.qty -= 1;
                    }
                    first.price_fen = first.price_fen.min(room.max(100));
                }
                let at = self.rng.below(d.lines.len() as u64 + 1) as usize;
                d.lines.insert(at.min(d.lines.len()), line);
                self.settle(&mut d);
            }
            _ => {}
        }
        let buyer = d.buyer.buyer();
        let mut messages = self.render(&d);
        self.spoil(case, &d, &mut messages);
        DeclarationSet {
            index,
            case,
            scheme: None,
            buyer,
            messages,
        }
    }

    /// Five clean declarations worth 22 000–23 500 (dutiable, and under 26 000 even with tax
    /// counted), then one of 4 200–4 900 that takes the year over 26 000 whichever way the
    /// engine counts.
    fn over_annual_limit(&mut self, index: u64, now_ms: i64) -> DeclarationSet {
        let key = self.fresh_buyer();
        let mut messages = Vec::new();
        let mut buyer = None;
        for sub in 0..6u64 {
            let t = now_ms - (6 - sub as i64) * 60_000;
            let lines = if sub < 5 {
                let target = self.rng.range(4_400, 4_650) * 100;
                let n = self.rng.range(1, 2) as usize;
                self.lines_for_target(target, n, true)
            } else {
                let target = self.rng.range(4_200, 4_850) * 100;
                let n = self.rng.range(1, 3) as usize;
                self.lines_for_target(target, n, false)
            };
            let d = self.decl(index, sub, key, lines, t);
            buyer.get_or_insert_with(|| d.buyer.buyer());
            messages.extend(self.render(&d));
        }
        DeclarationSet {
            index,
            case: Case::OverAnnualLimit,
            scheme: None,
            buyer: buyer.unwrap_or_else(|| Person::from_key(key).buyer()),
            messages,
        }
    }

    fn fresh_buyer(&mut self) -> u64 {
        let k = self.key_base + u64::from(self.mix.buyers) + self.next_fresh_buyer;
        self.next_fresh_buyer += 1;
        k
    }

    /// About 20 % of purchases come from a returning buyer (all of them, once the population
    /// has been used up); a returning buyer never has less than CNY 7 000 of quota left.
    fn population_buyer(&mut self) -> (u64, Option<usize>) {
        let pop = u64::from(self.mix.buyers);
        let reuse = self.next_new_buyer > 0 && (self.next_new_buyer >= pop || self.rng.chance(200));
        if reuse {
            for _ in 0..8 {
                let i = self.rng.below(self.next_new_buyer);
                if self
                    .spent_fen
                    .get(i as usize)
                    .is_some_and(|s| *s <= REUSE_CEILING_FEN)
                {
                    return (self.key_base + i, Some(i as usize));
                }
            }
        }
        if self.next_new_buyer < pop {
            let i = self.next_new_buyer;
            self.next_new_buyer += 1;
            return (self.key_base + i, Some(i as usize));
        }
        (self.fresh_buyer(), None)
    }

    fn other_key(&mut self, key: u64, offset: u64) -> u64 {
        key + offset + self.rng.below(1_000)
    }

    fn ebp_enterprise(&self, code: &str) -> &'static DemoEnterprise {
        registry::demo_registry()
            .iter()
            .find(|e| e.code == code)
            .unwrap_or(ent(registry::PLATFORMS[0]))
    }

    fn pick_product(&mut self) -> &'static Product {
        let mut r = self.rng.below(self.product_weight_total);
        for p in &CATALOGUE {
            if r < p.weight {
                return p;
            }
            r -= p.weight;
        }
        &CATALOGUE[0]
    }

    /// Skewed towards the low end of the range, and often a "…9.90" price.
    fn price_fen(&mut self, p: &Product) -> u64 {
        let a = self.rng.range(p.price_min, p.price_max);
        let b = self.rng.range(p.price_min, p.price_max);
        let yuan = a.min(b);
        if self.rng.chance(400) && yuan > 1 {
            yuan * 100 - 10
        } else {
            yuan * 100
        }
    }

    fn line(&mut self, product: &'static Product, qty: u64, price_fen: u64) -> Line {
        let country = self.rng.pick(product.countries).copied().unwrap_or("116");
        Line {
            product,
            qty,
            price_fen,
            country,
        }
    }

    fn clean_lines(&mut self) -> Vec<Line> {
        let n = match self.rng.below(100) {
            0..50 => 1,
            50..75 => 2,
            75..88 => 3,
            88..95 => 4,
            _ => 5,
        }
        .min(self.mix.max_lines as usize);
        let mut lines: Vec<Line> = Vec::with_capacity(n);
        let mut attempts = 0;
        while lines.len() < n && attempts < 20 {
            attempts += 1;
            let p = self.pick_product();
            if lines.iter().any(|l| std::ptr::eq(l.product, p)) {
                continue;
            }
            let price = self.price_fen(p);
            let qty = if p.price_max < 150 {
                match self.rng.below(100) {
                    0..60 => 1,
                    60..85 => 2,
                    _ => self.rng.range(3, 6),
                }
            } else {
                match self.rng.below(100) {
                    0..80 => 1,
                    80..95 => 2,
                    _ => 3,
                }
            };
            let line = self.line(p, qty, price);
            lines.push(line);
        }
        // Keep clean parcels within the 5 000 per-order limit (with freight and insurance).
        loop {
            let total: u64 = lines.iter().map(Line::total_fen).sum();
            if total <= CLEAN_GOODS_MAX_FEN {
                break;
            }
            if let Some(l) = lines.iter_mut().find(|l| l.qty > 1) {
                l.qty -= 1;
            } else if lines.len() > 1 {
                lines.pop();
            } else {
                if let Some(l) = lines.first_mut() {
                    l.price_fen = l.price_fen.min(CLEAN_GOODS_MAX_FEN);
                }
                break;
            }
        }
        lines
    }

    /// `n` distinct products whose line totals add up to about `target_fen`; with `vat_only`
    /// the products carry no consumption tax (tax stays near 9 % of the value).
    fn lines_for_target(&mut self, target_fen: u64, n: usize, vat_only: bool) -> Vec<Line> {
        let mut lines: Vec<Line> = Vec::with_capacity(n);
        let mut left = target_fen;
        let mut attempts = 0;
        while lines.len() < n && attempts < 40 {
            attempts += 1;
            let p = self.pick_product();
            if (vat_only && p.ct != ConsumptionTax::None)
                || lines.iter().any(|l| std::ptr::eq(l.product, p))
            {
                continue;
            }
            let part = if lines.len() + 1 == n {
                left
            } else {
                left / (n - lines.len()) as u64
            };
            let mid = (p.price_min + p.price_max) * 50;
            let qty = ((part + mid / 2) / mid.max(1)).clamp(1, 20);
            let price = (part / qty).max(100);
            left = left.saturating_sub(price * qty);
            let line = self.line(p, qty, price);
            lines.push(line);
        }
        if lines.is_empty() {
            let p = CATALOGUE.get(5).unwrap_or(&CATALOGUE[0]);
            let line = self.line(p, 1, target_fen.max(100));
            lines.push(line);
        }
        lines
    }

    fn decl(&mut self, index: u64, sub: u64, key: u64, lines: Vec<Line>, now_ms: i64) -> Decl {
        let mut tail = String::with_capacity(16);
        tail.push_str(&self.tag);
        push_u64_padded(&mut tail, index % 10_000_000_000, 10);
        push_u64_padded(&mut tail, sub, 2);
        self.decl_for(&tail, index, Person::from_key(key), key, lines, now_ms)
    }

    /// The declaration of `buyer`, its business numbers ending in `tail`; `key` derives the
    /// buyer's platform registration number and household.
    fn decl_for(
        &mut self,
        tail: &str,
        index: u64,
        buyer: Person,
        key: u64,
        lines: Vec<Line>,
        now_ms: i64,
    ) -> Decl {
        let ebc = ent(*self.rng.pick(&registry::SELLERS).unwrap_or(&2));
        let own_platform = std::ptr::eq(ebc, ent(registry::SELF_PLATFORM_SELLER));
        let ebp = if own_platform && self.rng.below(2) == 0 {
            ebc
        } else {
            ent(*self.rng.pick(&registry::PLATFORMS).unwrap_or(&0))
        };
        let order_sender = if self.rng.chance(700) { ebp } else { ebc };
        let pay = ent(*self.rng.pick(&registry::PAYMENTS).unwrap_or(&6));
        let logi = ent(*self.rng.pick(&registry::LOGISTICS).unwrap_or(&8));
        let agent = ent(*self.rng.pick(&registry::AGENTS).unwrap_or(&10));

        let consignee = if self.rng.chance(150) {
            let mut other = Person::from_key(key + 2_000_000);
            other.address.clone_from(&buyer.address);
            Some(other)
        } else {
            None
        };
        let mut buyer_reg_no = String::with_capacity(16);
        buyer_reg_no.push('U');
        push_u64_padded(&mut buyer_reg_no, mix(key) % 1_000_000_000_000, 12);

        let freight_fen = if self.rng.chance(200) {
            0
        } else {
            self.rng.range(5, 30) * 100
        };
        let insured_fen = if self.rng.chance(700) {
            0
        } else {
            self.rng.range(1, 5) * 100
        };
        let discount_roll = self.rng.chance(100);
        let discount_yuan = self.rng.range(5, 30);

        let order_ms = now_ms - (300 + self.rng.below(600) as i64) * 1000;
        let pay_ms = order_ms + (20 + self.rng.below(120) as i64) * 1000;
        let now = BeijingTime::from_unix_ms(now_ms);
        let flight = *self.rng.pick(&FLIGHTS).unwrap_or(&FLIGHTS[0]);
        let mut voyage_no = String::with_capacity(16);
        voyage_no.push_str(flight);
        now.push_date(&mut voyage_no);
        let mut bill_no = String::with_capacity(12);
        bill_no.push_str("999-");
        push_u64_padded(&mut bill_no, mix((index / 500) ^ 0xA1B) % 100_000_000, 8);

        let mut d = Decl {
            order_no: format!("OW{tail}"),
            pay_tx: format!("PAY{tail}"),
            logistics_no: format!("YT{tail}"),
            cop_no: format!("CP{tail}"),
            ebp: (ebp.code, ebp.name),
            ebc: (ebc.code, ebc.name),
            order_sender,
            pay,
            logi,
            agent,
            assure_code: ebc.code,
            buyer,
            buyer_reg_no,
            consignee,
            payer: None,
            waybill_consignee: None,
            inv_gname: None,
            lines,
            goods_fen: 0,
            freight_fen,
            insured_fen,
            discount_fen: 0,
            tax_fen: 0,
            actural_fen: 0,
            amount_paid_fen: 0,
            order_time: BeijingTime::from_unix_ms(order_ms).stamp(),
            pay_time: BeijingTime::from_unix_ms(pay_ms).stamp(),
            pay_app_time: BeijingTime::from_unix_ms(pay_ms + 30_000).stamp(),
            waybill_time: BeijingTime::from_unix_ms(now_ms - 60_000).stamp(),
            inv_time: now.stamp(),
            decl_date: now.date(),
            gross_g: 0,
            net_g: 0,
            traf_no: flight,
            voyage_no,
            bill_no,
        };
        self.settle(&mut d);
        if discount_roll && d.goods_fen > discount_yuan * 400 {
            d.discount_fen = discount_yuan * 100;
            self.settle(&mut d);
        }
        d
    }

    /// Recomputes the totals from the lines: goodsValue = Σ totalPrice, taxTotal, and the
    /// clean identity acturalPaid = goodsValue + freight + taxTotal − discount = amountPaid.
    fn settle(&self, d: &mut Decl) {
        d.goods_fen = d.lines.iter().map(Line::total_fen).sum();
        d.tax_fen = d
            .lines
            .iter()
            .map(|l| l.product.line_tax_fen(l.price_fen, l.total_fen()))
            .sum();
        d.actural_fen = (d.goods_fen + d.freight_fen + d.tax_fen).saturating_sub(d.discount_fen);
        d.amount_paid_fen = d.actural_fen;
        d.net_g = d.lines.iter().map(|l| l.product.net_g * l.qty).sum();
        d.gross_g = d
            .lines
            .iter()
            .map(|l| l.product.gross_g * l.qty)
            .sum::<u64>()
            + 150;
    }

    fn render(&mut self, d: &Decl) -> Vec<GeneratedMessage> {
        let mut out = vec![
            self.order(d),
            self.payment(d),
            self.waybill(d),
            self.inventory(d),
        ];
        if self.mix.shuffle_arrival {
            for i in (1..out.len()).rev() {
                let j = self.rng.below(i as u64 + 1) as usize;
                out.swap(i, j);
            }
        }
        out
    }

    pub(crate) fn guid(&mut self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        // UUID v4 layout: version nibble 4, variant 8..B.
        let a = (a & !0xF000) | 0x4000;
        let b = (b & !(0xC << 60)) | (0x8 << 60);
        let mut s = String::with_capacity(36);
        for i in 0..32u32 {
            if matches!(i, 8 | 12 | 16 | 20) {
                s.push('-');
            }
            let nibble = if i < 16 {
                (a >> (60 - 4 * i)) & 0xF
            } else {
                (b >> (60 - 4 * (i - 16))) & 0xF
            };
            s.push(char::from(HEX[nibble as usize]));
        }
        s
    }

    fn order(&mut self, d: &Decl) -> GeneratedMessage {
        const ROOT: &str = "CEB311Message";
        let guid = self.guid();
        let mut x = XmlOut::message(ROOT, &guid, 2048 + 600 * d.lines.len());
        x.open("Order");
        x.open("OrderHead");
        x.text("guid", &guid);
        x.text("appType", "1");
        x.text("appTime", &d.order_time);
        x.text("appStatus", "2");
        x.text("orderType", "I");
        x.text("orderNo", &d.order_no);
        x.text("ebpCode", d.ebp.0);
        x.text("ebpName", d.ebp.1);
        x.text("ebcCode", d.ebc.0);
        x.text("ebcName", d.ebc.1);
        x.fen("goodsValue", d.goods_fen as i64);
        x.fen("freight", d.freight_fen as i64);
        x.fen("discount", d.discount_fen as i64);
        x.fen("taxTotal", d.tax_fen as i64);
        x.fen("acturalPaid", d.actural_fen as i64);
        x.text("currency", "142");
        x.text("buyerRegNo", &d.buyer_reg_no);
        x.text("buyerName", &d.buyer.name);
        x.text("buyerTelephone", &d.buyer.phone);
        x.text("buyerIdType", "1");
        x.text("buyerIdNumber", &d.buyer.id_number);
        x.text("payCode", d.pay.code);
        x.text("payName", d.pay.name);
        x.text("payTransactionId", &d.pay_tx);
        let consignee = d.consignee.as_ref().unwrap_or(&d.buyer);
        x.text("consignee", &consignee.name);
        x.text("consigneeTelephone", &consignee.phone);
        x.text("consigneeAddress", &d.buyer.address);
        x.close("OrderHead");
        for (i, l) in d.lines.iter().enumerate() {
            x.open("OrderList");
            x.uint("gnum", i as u64 + 1);
            x.text("itemNo", l.product.sku);
            x.text("itemName", l.product.name);
            x.text("gmodel", l.product.gmodel);
            x.text("unit", l.product.unit);
            x.uint("qty", l.qty);
            x.fen("price", l.price_fen as i64);
            x.fen("totalPrice", l.total_fen() as i64);
            x.text("currency", "142");
            x.text("country", l.country);
            x.close("OrderList");
        }
        x.close("Order");
        let s = d.order_sender;
        x.base_transfer(s.code, s.name, s.dxp_id);
        message(s, ROOT, guid, x.finish(ROOT))
    }

    fn payment(&mut self, d: &Decl) -> GeneratedMessage {
        const ROOT: &str = "CEB411Message";
        let guid = self.guid();
        let payer = d.payer.as_ref().unwrap_or(&d.buyer);
        let mut x = XmlOut::message(ROOT, &guid, 1600);
        x.open("Payment");
        x.open("PaymentHead");
        x.text("guid", &guid);
        x.text("appType", "1");
        x.text("appTime", &d.pay_app_time);
        x.text("appStatus", "2");
        x.text("payCode", d.pay.code);
        x.text("payName", d.pay.name);
        x.text("payTransactionId", &d.pay_tx);
        x.text("orderNo", &d.order_no);
        x.text("ebpCode", d.ebp.0);
        x.text("ebpName", d.ebp.1);
        x.text("payerIdType", "1");
        x.text("payerIdNumber", &payer.id_number);
        x.text("payerName", &payer.name);
        x.text("telephone", &payer.phone);
        x.fen("amountPaid", d.amount_paid_fen as i64);
        x.text("currency", "142");
        x.text("payTime", &d.pay_time);
        x.close("PaymentHead");
        x.close("Payment");
        x.base_transfer(d.pay.code, d.pay.name, d.pay.dxp_id);
        message(d.pay, ROOT, guid, x.finish(ROOT))
    }

    fn waybill(&mut self, d: &Decl) -> GeneratedMessage {
        const ROOT: &str = "CEB511Message";
        let guid = self.guid();
        let consignee = d
            .waybill_consignee
            .as_ref()
            .or(d.consignee.as_ref())
            .unwrap_or(&d.buyer);
        let address = match &d.waybill_consignee {
            Some(p) => &p.address,
            None => &d.buyer.address,
        };
        let mut x = XmlOut::message(ROOT, &guid, 1600);
        x.open("Logistics");
        x.open("LogisticsHead");
        x.text("guid", &guid);
        x.text("appType", "1");
        x.text("appTime", &d.waybill_time);
        x.text("appStatus", "2");
        x.text("logisticsCode", d.logi.code);
        x.text("logisticsName", d.logi.name);
        x.text("logisticsNo", &d.logistics_no);
        x.text("billNo", &d.bill_no);
        x.text("orderNo", &d.order_no);
        x.fen("freight", d.freight_fen as i64);
        x.fen("insuredFee", d.insured_fen as i64);
        x.text("currency", "142");
        x.dec5("weight", d.gross_g * 100);
        x.uint("packNo", 1);
        x.text("goodsInfo", d.lines.first().map_or("", |l| l.product.name));
        x.text("consignee", &consignee.name);
        x.text("consigneeAddress", address);
        x.text("consigneeTelephone", &consignee.phone);
        x.close("LogisticsHead");
        x.close("Logistics");
        x.base_transfer(d.logi.code, d.logi.name, d.logi.dxp_id);
        message(d.logi, ROOT, guid, x.finish(ROOT))
    }

    fn inventory(&mut self, d: &Decl) -> GeneratedMessage {
        const ROOT: &str = "CEB621Message";
        let guid = self.guid();
        let mut x = XmlOut::message(ROOT, &guid, 4096 + 700 * d.lines.len());
        x.open("Inventory");
        x.open("InventoryHead");
        x.text("guid", &guid);
        x.text("appType", "1");
        x.text("appTime", &d.inv_time);
        x.text("appStatus", "2");
        x.text("orderNo", &d.order_no);
        x.text("ebpCode", d.ebp.0);
        x.text("ebpName", d.ebp.1);
        x.text("ebcCode", d.ebc.0);
        x.text("ebcName", d.ebc.1);
        x.text("logisticsNo", &d.logistics_no);
        x.text("logisticsCode", d.logi.code);
        x.text("logisticsName", d.logi.name);
        x.text("copNo", &d.cop_no);
        x.text("assureCode", d.assure_code);
        x.text("ieFlag", "I");
        x.text("declTime", &d.decl_date);
        x.text("customsCode", CUSTOMS_CODE);
        x.text("portCode", CUSTOMS_CODE);
        x.text("buyerIdType", "1");
        x.text("buyerIdNumber", &d.buyer.id_number);
        x.text("buyerName", &d.buyer.name);
        x.text("buyerTelephone", &d.buyer.phone);
        x.text("consigneeAddress", &d.buyer.address);
        x.text("agentCode", d.agent.code);
        x.text("agentName", d.agent.name);
        x.text("tradeMode", "9610");
        x.text("trafMode", "5");
        x.text("trafNo", d.traf_no);
        x.text("voyageNo", &d.voyage_no);
        x.text("billNo", &d.bill_no);
        x.text("country", d.lines.first().map_or("116", |l| l.country));
        x.fen("freight", d.freight_fen as i64);
        x.fen("insuredFee", d.insured_fen as i64);
        x.text("currency", "142");
        x.uint("packNo", 1);
        x.dec5("grossWeight", d.gross_g * 100);
        x.dec5("netWeight", d.net_g * 100);
        x.close("InventoryHead");
        for (i, l) in d.lines.iter().enumerate() {
            let gname = match d.inv_gname {
                Some((at, name)) if at == i => name,
                _ => l.product.name,
            };
            x.open("InventoryList");
            x.uint("gnum", i as u64 + 1);
            x.text("itemNo", l.product.sku);
            x.text("itemName", gname);
            x.text("gcode", l.product.hs);
            x.text("gname", gname);
            x.text("gmodel", l.product.gmodel);
            x.text("country", l.country);
            x.text("currency", "142");
            x.uint("qty", l.qty);
            x.text("unit", l.product.unit);
            x.dec5("qty1", l.product.qty1_per_unit * l.qty);
            x.text("unit1", l.product.unit1);
            if let Some(unit2) = l.product.unit2() {
                x.dec5("qty2", l.product.net_g * 100 * l.qty);
                x.text("unit2", unit2);
            }
            x.fen("price", l.price_fen as i64);
            x.fen("totalPrice", l.total_fen() as i64);
            x.close("InventoryList");
        }
        x.close("Inventory");
        x.base_transfer(d.agent.code, d.agent.name, d.agent.dxp_id);
        self.signed(message(d.agent, ROOT, guid, x.finish(ROOT)))
    }

    /// Sign a message of a signed kind with its sender's test key (or, with `Mix::signed` off,
    /// give it the placeholder signature).
    pub(crate) fn signed(&self, mut m: GeneratedMessage) -> GeneratedMessage {
        m.xml = crate::signing::sign_generated(&m.sender, m.message_type, m.xml, self.mix.signed);
        m
    }

    /// Applies the message-level defects: duplicates, truncation, a missing element, a DOCTYPE.
    fn spoil(&mut self, case: Case, d: &Decl, messages: &mut Vec<GeneratedMessage>) {
        match case {
            Case::DuplicateInventory => {
                let again = self.inventory(d);
                messages.push(again);
            }
            Case::Resubmission => {
                let i = self.rng.below(messages.len() as u64) as usize;
                if let Some(m) = messages.get(i).cloned() {
                    let at = i + 1 + self.rng.below((messages.len() - i) as u64) as usize;
                    messages.insert(at.min(messages.len()), m);
                }
            }
            Case::Malformed => {
                let i = self.rng.below(messages.len() as u64) as usize;
                if let Some(m) = messages.get_mut(i) {
                    let mut cut = m.xml.len() * (40 + self.rng.below(40) as usize) / 100;
                    while cut > 0 && !m.xml.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    m.xml.truncate(cut);
                    m.expect_valid = false;
                }
            }
            Case::SchemaInvalid => {
                let i = self.rng.below(messages.len() as u64) as usize;
                if let Some(m) = messages.get_mut(i) {
                    let tag = match m.message_type {
                        "CEB311Message" => "buyerIdNumber",
                        "CEB411Message" => "amountPaid",
                        "CEB511Message" => "consignee",
                        _ => "gcode",
                    };
                    remove_element(&mut m.xml, tag);
                    m.expect_valid = false;
                }
            }
            Case::Hostile => {
                if let Some(m) = messages
                    .iter_mut()
                    .find(|m| m.message_type == "CEB311Message")
                {
                    make_hostile(&mut m.xml, &d.buyer.name);
                    m.expect_valid = false;
                }
            }
            _ => {}
        }
    }
}

pub(crate) fn message(
    sender: &DemoEnterprise,
    root: &'static str,
    guid: String,
    xml: String,
) -> GeneratedMessage {
    GeneratedMessage {
        sender: sender.code.to_owned(),
        message_type: root,
        guid,
        xml,
        expect_valid: true,
    }
}

fn mix_seed(seed: u64) -> u64 {
    mix(seed ^ 0x0E11_D0DE_CAFE_F00D)
}

/// Removes the first `<ceb:{tag}>…</ceb:{tag}>` and the line it was on.
fn remove_element(xml: &mut String, tag: &str) {
    let open = format!("<ceb:{tag}>");
    let close = format!("</ceb:{tag}>");
    if let Some(start) = xml.find(&open)
        && let Some(rel_end) = xml.get(start..).and_then(|s| s.find(&close))
    {
        let end = start + rel_end + close.len();
        let line_start = xml
            .get(..start)
            .and_then(|s| s.rfind('\n'))
            .unwrap_or(start);
        xml.replace_range(line_start..end, "");
    }
}

/// A "billion laughs" in miniature: nested internal entities whose expansion (2 000
/// characters) replaces the buyer name. A parser must refuse the DOCTYPE outright; one that
/// expands it gets a buyerName far over the schema's 60 characters.
fn make_hostile(xml: &mut String, buyer_name: &str) {
    const DOCTYPE: &str = "<!DOCTYPE ceb:CEB311Message [\n\
<!ENTITY t0 \"测试\">\n\
<!ENTITY t1 \"&t0;&t0;&t0;&t0;&t0;&t0;&t0;&t0;&t0;&t0;\">\n\
<!ENTITY t2 \"&t1;&t1;&t1;&t1;&t1;&t1;&t1;&t1;&t1;&t1;\">\n\
<!ENTITY t3 \"&t2;&t2;&t2;&t2;&t2;&t2;&t2;&t2;&t2;&t2;\">\n\
]>\n";
    if let Some(end_decl) = xml.find("?>\n") {
        xml.insert_str(end_decl + 3, DOCTYPE);
    }
    let needle = format!("<ceb:buyerName>{buyer_name}</ceb:buyerName>");
    *xml = xml.replacen(&needle, "<ceb:buyerName>&t3;</ceb:buyerName>", 1);
}
