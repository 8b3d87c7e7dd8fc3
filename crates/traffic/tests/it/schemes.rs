//! Fraud schemes: every declaration of a scheme passes the three-document match and the
//! limits on its own, and together they trip exactly the risk rules the scheme names — checked
//! with a small model of those rules at the engine's default thresholds.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use traffic::{Case, DeclarationSet, Generator, Mix, Scheme};

use crate::NOW;
use crate::cases::{broken_rules, check_senders, docs, dutiable, f};
use crate::{fen, fen_of, fields};

fn occurrence(scheme: Scheme, seed: u64) -> Vec<DeclarationSet> {
    Generator::new(seed, Mix::default()).scheme(scheme, NOW)
}

/// Seconds of a CEB `YYYYMMDDhhmmss` stamp (Beijing time, compared only with each other).
fn secs(stamp: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| stamp[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era_day = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d;
    era_day * 86_400 + n(8..10) * 3600 + n(10..12) * 60 + n(12..14)
}

/// What the risk rules look at in one declaration.
struct Seen {
    buyer: (String, String),
    payer: (String, String),
    phone: String,
    address: String,
    dutiable: i64,
    /// (HS code, unit price fen, qty) per inventory line.
    lines: Vec<(String, i64, i64)>,
    order_at: i64,
    paid_at: i64,
    declared_at: i64,
}

fn seen(set: &DeclarationSet) -> Seen {
    let d = docs(set);
    let lines = d
        .inventory
        .split("<ceb:InventoryList>")
        .skip(1)
        .map(|l| {
            (
                f(l, "gcode").to_owned(),
                fen(f(l, "price")),
                f(l, "qty").parse().unwrap(),
            )
        })
        .collect();
    Seen {
        buyer: (
            f(d.order, "buyerName").to_owned(),
            f(d.order, "buyerIdNumber").to_owned(),
        ),
        payer: (
            f(d.payment, "payerName").to_owned(),
            f(d.payment, "payerIdNumber").to_owned(),
        ),
        phone: f(d.order, "buyerTelephone").to_owned(),
        address: f(d.order, "consigneeAddress").to_owned(),
        dutiable: dutiable(&d),
        lines,
        order_at: secs(f(d.order, "appTime")),
        paid_at: secs(f(d.payment, "payTime")),
        declared_at: secs(f(d.inventory, "appTime")),
    }
}

/// The rules R4–R13 (those the schemes target) that fire on `sets`, each declaration judged
/// with the earlier ones as history, at the default thresholds. `reference` gives the
/// reference unit price (fen) of an HS code.
fn fired(sets: &[DeclarationSet], reference: &dyn Fn(&str) -> i64) -> BTreeSet<&'static str> {
    let all: Vec<Seen> = sets.iter().map(seen).collect();
    let mut out = BTreeSet::new();
    for (k, d) in all.iter().enumerate() {
        let upto = &all[..=k];
        let day: Vec<&Seen> = upto
            .iter()
            .filter(|x| d.declared_at - x.declared_at < 86_400)
            .collect();
        let split = |group: Vec<&&Seen>| {
            group.len() >= 3
                && group.iter().all(|x| x.dutiable < 500_000)
                && group.iter().map(|x| x.dutiable).sum::<i64>() > 500_000
        };
        if split(day.iter().filter(|x| x.buyer == d.buyer).collect())
            || split(day.iter().filter(|x| x.address == d.address).collect())
        {
            out.insert("R4");
        }
        let count = |pred: &dyn Fn(&Seen) -> bool| day.iter().filter(|x| pred(x)).count();
        if count(&|x| x.buyer == d.buyer) >= 6
            || count(&|x| x.payer == d.payer) >= 6
            || count(&|x| x.phone == d.phone) >= 6
            || count(&|x| x.address == d.address) >= 8
        {
            out.insert("R5");
        }
        let buyers_here: HashSet<_> = upto
            .iter()
            .filter(|x| x.address == d.address)
            .map(|x| &x.buyer)
            .collect();
        if buyers_here.len() >= 4 {
            out.insert("R6-ADDRESS");
        }
        let addresses: HashSet<_> = upto
            .iter()
            .filter(|x| x.buyer == d.buyer)
            .map(|x| &x.address)
            .collect();
        if addresses.len() >= 4 {
            out.insert("R6-ID");
        }
        if d.lines.iter().any(|(hs, p, _)| 2 * p < reference(hs)) {
            out.insert("R7");
        }
        if d.paid_at > d.declared_at + 600 || d.paid_at < d.order_at - 30 * 86_400 {
            out.insert("R8");
        }
        let mut per_hs6 = BTreeMap::<&str, i64>::new();
        for x in upto.iter().filter(|x| x.buyer == d.buyer) {
            for (hs, _, q) in &x.lines {
                *per_hs6.entry(&hs[..6]).or_default() += q;
            }
        }
        if d.lines.iter().any(|(_, _, q)| *q > 20) || per_hs6.values().any(|q| *q > 40) {
            out.insert("R11");
        }
        let used: i64 = upto
            .iter()
            .filter(|x| x.buyer == d.buyer)
            .map(|x| x.dutiable)
            .sum();
        if used >= 1_300_000 {
            out.insert("R13");
        }
    }
    out
}

/// The lowest catalogue price of the code (the most a reference may be is that / 0.55).
fn floor_of(hs: &str) -> i64 {
    traffic::hs_price_ranges()
        .into_iter()
        .find(|(h, _, _)| *h == hs)
        .map(|(_, lo, _)| lo as i64)
        .unwrap_or_else(|| panic!("{hs} not in the catalogue"))
}

#[test]
fn scheme_names_round_trip_and_every_scheme_names_its_rules() {
    for s in Scheme::ALL {
        assert_eq!(Scheme::from_name(s.name()), Some(s));
        assert!(!s.rules().is_empty());
    }
    assert_eq!(Scheme::from_name("clean"), None);
}

#[test]
fn every_scheme_trips_exactly_its_rules_whatever_the_reference_price() {
    for scheme in Scheme::ALL {
        for seed in 0..40 {
            let sets = occurrence(scheme, seed);
            let expected: BTreeSet<&str> = scheme.rules().iter().copied().collect();
            let low = |hs: &str| floor_of(hs);
            let high = |hs: &str| floor_of(hs) * 100 / 55;
            assert_eq!(fired(&sets, &low), expected, "{scheme:?} seed {seed}");
            assert_eq!(fired(&sets, &high), expected, "{scheme:?} seed {seed}");
        }
    }
}

#[test]
fn honest_traffic_trips_none_of_the_content_rules() {
    // Declarations judged one by one: prices, quantities and times. (Population buyers share
    // 999 addresses and 10 000 phones, so rules counting across declarations see them too.)
    let mut g = Generator::new(
        17,
        Mix {
            bad_share_per_mille: 0,
            ..Mix::default()
        },
    );
    for k in 0..500 {
        let s = g.next_set(NOW + k * 1000);
        let high = |hs: &str| floor_of(hs) * 100 / 55;
        assert_eq!(fired(&[s], &high), BTreeSet::new(), "set {k}");
    }
}

#[test]
fn every_scheme_declaration_passes_the_match_and_the_limits_on_its_own() {
    for scheme in Scheme::ALL {
        for seed in 0..30 {
            for s in occurrence(scheme, seed) {
                assert_eq!(s.case, Case::Clean);
                assert_eq!(s.scheme, Some(scheme));
                assert_eq!(s.messages.len(), 4);
                assert!(s.messages.iter().all(|m| m.expect_valid));
                check_senders(&s);
                let d = docs(&s);
                assert_eq!(broken_rules(&d), BTreeSet::new(), "{scheme:?} seed {seed}");
                assert_eq!(f(d.order, "buyerIdNumber"), s.buyer.id_number);
                assert_eq!(f(d.waybill, "consignee"), f(d.order, "buyerName"));
                let id = &s.buyer.id_number;
                assert!(traffic::id_number_is_valid(id), "{id}");
                assert!(id.starts_with("99"));
                let born: u32 = id[6..10].parse().unwrap();
                assert!(
                    (1935..1960).contains(&born),
                    "scheme members are born before 1960"
                );
                assert!(s.buyer.name.contains('测') || s.buyer.name.contains('样'));
                assert!(s.buyer.phone.starts_with("10"));
                assert!(f(d.order, "consigneeAddress").contains("测试区试验路"));
                assert!(f(d.order, "orderNo").contains('S'));
            }
        }
    }
}

#[test]
fn an_occurrence_spans_at_most_the_hour_up_to_now() {
    for scheme in Scheme::ALL {
        for seed in 0..10 {
            let sets = occurrence(scheme, seed);
            let declared: Vec<i64> = sets.iter().map(|s| seen(s).declared_at).collect();
            let mut sorted = declared.clone();
            sorted.sort();
            assert_eq!(declared, sorted, "{scheme:?}: sent in order");
            let now = declared[declared.len() - 1];
            for s in &sets {
                let x = seen(s);
                assert!(x.order_at >= now - 3600, "{scheme:?}");
                assert!(x.declared_at <= now);
                if scheme != Scheme::BackdatedPayment {
                    assert!(x.order_at < x.paid_at && x.paid_at < x.declared_at);
                }
            }
        }
    }
}

#[test]
fn a_split_order_ring_is_four_buyers_at_one_address_and_phone_ordering_twice() {
    for seed in 0..20 {
        let sets = occurrence(Scheme::SplitOrderRing, seed);
        assert_eq!(sets.len(), 8);
        let all: Vec<Seen> = sets.iter().map(seen).collect();
        let ids: HashSet<_> = all.iter().map(|x| &x.buyer.1).collect();
        let names: HashSet<_> = all.iter().map(|x| &x.buyer.0).collect();
        assert_eq!((ids.len(), names.len()), (4, 4));
        for id in &ids {
            assert_eq!(all.iter().filter(|x| &x.buyer.1 == *id).count(), 2);
        }
        let addresses: HashSet<_> = all.iter().map(|x| &x.address).collect();
        let phones: HashSet<_> = all.iter().map(|x| &x.phone).collect();
        assert_eq!((addresses.len(), phones.len()), (1, 1));
        for s in &sets {
            let d = docs(s);
            let goods = fen_of(d.order, "goodsValue");
            assert!((180_000..=260_000).contains(&goods), "{goods}");
            assert_eq!(f(d.waybill, "consigneeTelephone"), all[0].phone);
        }
        assert!(all[..3].iter().map(|x| x.dutiable).sum::<i64>() > 500_000);
    }
}

#[test]
fn a_shared_address_is_six_modest_orders_of_six_buyers() {
    for seed in 0..20 {
        let sets = occurrence(Scheme::SharedAddress, seed);
        assert_eq!(sets.len(), 6);
        let all: Vec<Seen> = sets.iter().map(seen).collect();
        let names: HashSet<_> = all.iter().map(|x| &x.buyer.0).collect();
        let ids: HashSet<_> = all.iter().map(|x| &x.buyer.1).collect();
        assert_eq!((names.len(), ids.len()), (6, 6));
        let addresses: HashSet<_> = all.iter().map(|x| &x.address).collect();
        assert_eq!(addresses.len(), 1);
        for s in &sets {
            let goods = fen_of(docs(s).order, "goodsValue");
            assert!((20_000..=80_000).contains(&goods), "{goods}");
        }
        assert!(all.iter().map(|x| x.dutiable).sum::<i64>() <= 500_000);
    }
}

#[test]
fn the_undervaluing_seller_is_filed_and_declares_under_half_the_lowest_price() {
    let seller = traffic::demo_registry()
        .iter()
        .find(|e| e.code == traffic::UNDERVALUING_SELLER_CODE)
        .expect("the undervaluing seller is filed");
    assert!(seller.has_role("ebc") && seller.has_role("guarantor"));
    assert!(seller.name.contains("(测试)"));
    for seed in 0..20 {
        let sets = occurrence(Scheme::UndervaluingSeller, seed);
        assert!((3..=5).contains(&sets.len()));
        let buyers: HashSet<_> = sets.iter().map(|s| s.buyer.id_number.clone()).collect();
        assert_eq!(
            buyers.len(),
            sets.len(),
            "ordinary orders of different buyers"
        );
        for s in &sets {
            let d = docs(s);
            for x in [d.order, d.inventory] {
                assert_eq!(f(x, "ebcCode"), seller.code);
            }
            assert_eq!(f(d.inventory, "assureCode"), seller.code);
            for block in d.inventory.split("<ceb:InventoryList>").skip(1) {
                let price = fen(f(block, "price"));
                let floor = floor_of(f(block, "gcode"));
                assert!(price * 100 <= floor * 40, "{price} vs floor {floor}");
                assert!(price * 100 >= floor * 30);
            }
        }
    }
    // Honest traffic never names it.
    let mut g = Generator::new(5, Mix::default());
    for k in 0..2000 {
        let s = g.next_set(NOW + k);
        assert!(s.messages.iter().all(|m| !m.xml.contains(seller.code)));
    }
}

#[test]
fn bulk_resale_is_one_line_of_25_to_30_units_under_the_single_limit() {
    for seed in 0..20 {
        let sets = occurrence(Scheme::BulkResale, seed);
        assert_eq!(sets.len(), 1);
        let d = docs(&sets[0]);
        assert_eq!(fields(d.order, "qty").len(), 1);
        let qty: i64 = f(d.order, "qty").parse().unwrap();
        assert!((25..=30).contains(&qty), "{qty}");
        assert!(dutiable(&d) < 500_000);
    }
}

#[test]
fn a_backdated_payment_is_paid_two_hours_after_the_inventory() {
    for seed in 0..20 {
        let sets = occurrence(Scheme::BackdatedPayment, seed);
        assert_eq!(sets.len(), 1);
        let x = seen(&sets[0]);
        assert_eq!(x.paid_at - x.declared_at, 7200);
        assert!(x.order_at < x.declared_at);
    }
}

#[test]
fn schemes_are_deterministic_per_seed() {
    let run = |seed| {
        let mut g = Generator::new(seed, Mix::default());
        Scheme::ALL
            .into_iter()
            .flat_map(|s| g.scheme(s, NOW))
            .flat_map(|s| s.messages)
            .map(|m| (m.sender, m.guid, m.xml))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn interleaving_schemes_leaves_the_honest_stream_byte_identical() {
    let honest = |with_schemes: bool| {
        let mut g = Generator::new(2026, Mix::default());
        let mut out = Vec::new();
        for k in 0..600 {
            if with_schemes && k % 40 == 0 {
                let scheme = Scheme::ALL[(k / 40) as usize % Scheme::ALL.len()];
                assert!(!g.scheme(scheme, NOW + k * 1000).is_empty());
            }
            let s = g.next_set(NOW + k * 1000);
            out.push((s.index, s.messages));
        }
        out
    };
    assert_eq!(honest(true), honest(false));
}

#[test]
fn scheme_people_and_addresses_never_collide_with_the_population_or_each_other() {
    let mut g = Generator::new(
        9,
        Mix {
            buyers: 300,
            ..Mix::default()
        },
    );
    let mut honest_ids = HashSet::new();
    let mut honest_addresses = HashSet::new();
    let mut honest_orders = HashSet::new();
    let mut scheme_ids = HashSet::new();
    let mut scheme_orders = HashSet::new();
    let mut occurrence_addresses: Vec<HashSet<String>> = Vec::new();
    for k in 0..3000 {
        let s = g.next_set(NOW + k);
        for m in &s.messages {
            for id in fields(&m.xml, "buyerIdNumber")
                .into_iter()
                .chain(fields(&m.xml, "payerIdNumber"))
            {
                honest_ids.insert(id.to_owned());
            }
            for a in fields(&m.xml, "consigneeAddress") {
                honest_addresses.insert(a.to_owned());
            }
            for o in fields(&m.xml, "orderNo") {
                honest_orders.insert(o.to_owned());
            }
        }
        if k % 100 == 0 {
            let scheme = Scheme::ALL[(k / 100) as usize % Scheme::ALL.len()];
            let sets = g.scheme(scheme, NOW + k);
            let mut addresses = HashSet::new();
            for s in &sets {
                scheme_ids.insert(s.buyer.id_number.clone());
                let d = docs(s);
                addresses.insert(f(d.order, "consigneeAddress").to_owned());
                assert!(scheme_orders.insert(f(d.order, "orderNo").to_owned()));
            }
            occurrence_addresses.push(addresses);
        }
    }
    assert!(scheme_ids.is_disjoint(&honest_ids));
    assert!(scheme_orders.is_disjoint(&honest_orders));
    let mut every = HashSet::new();
    for a in occurrence_addresses.iter().flatten() {
        assert!(!honest_addresses.contains(a), "{a}");
        every.insert(a.clone());
    }
    let total: usize = occurrence_addresses.iter().map(HashSet::len).sum();
    assert_eq!(every.len(), total, "occurrences never share an address");
}
