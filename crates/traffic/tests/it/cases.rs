//! Each case provokes what it claims, checked on the XML text the way a reviewer would read
//! it — and nothing else is wrong with the set.

use std::collections::{BTreeSet, HashSet};

use traffic::{Case, DeclarationSet, GeneratedMessage, Generator, Mix};

use crate::{NOW, fen, fen_of, field, fields, of_type, one, set};

pub(crate) struct Docs<'a> {
    pub(crate) order: &'a str,
    pub(crate) payment: &'a str,
    pub(crate) waybill: &'a str,
    pub(crate) inventory: &'a str,
}

pub(crate) fn docs(set: &DeclarationSet) -> Docs<'_> {
    Docs {
        order: &one(set, "CEB311Message").xml,
        payment: &one(set, "CEB411Message").xml,
        waybill: &one(set, "CEB511Message").xml,
        inventory: &one(set, "CEB621Message").xml,
    }
}

pub(crate) fn f<'a>(xml: &'a str, tag: &str) -> &'a str {
    field(xml, tag).unwrap_or_else(|| panic!("no <{tag}> in\n{xml}"))
}

/// Dutiable value of a declaration: goods + freight + insurance, in fen.
pub(crate) fn dutiable(d: &Docs) -> i64 {
    fen_of(d.order, "goodsValue") + fen_of(d.order, "freight") + fen_of(d.inventory, "insuredFee")
}

/// The rules of spec §7 (and the registry, the positive list, the per-order limit) that this
/// declaration breaks. A clean declaration breaks none.
pub(crate) fn broken_rules(d: &Docs) -> BTreeSet<&'static str> {
    let mut broken = BTreeSet::new();
    let (o, p, w, i) = (d.order, d.payment, d.waybill, d.inventory);
    let goods = fen_of(o, "goodsValue");
    let actural = fen_of(o, "acturalPaid");
    if actural != goods + fen_of(o, "freight") + fen_of(o, "taxTotal") - fen_of(o, "discount") {
        broken.insert("A1");
    }
    let prices = fields(o, "price");
    let totals = fields(o, "totalPrice");
    let qtys = fields(o, "qty");
    for ((pr, tot), q) in prices.iter().zip(&totals).zip(&qtys) {
        assert_eq!(fen(pr) * q.parse::<i64>().unwrap(), fen(tot), "A2");
    }
    assert_eq!(totals.iter().map(|t| fen(t)).sum::<i64>(), goods, "A3");
    if fen_of(p, "amountPaid") != actural {
        broken.insert("M4");
    }
    if f(p, "payerName") != f(o, "buyerName") || f(p, "payerIdNumber") != f(o, "buyerIdNumber") {
        broken.insert("M5");
    }
    for t in [
        "buyerIdType",
        "buyerIdNumber",
        "buyerName",
        "buyerTelephone",
    ] {
        assert_eq!(f(i, t), f(o, t), "M6 {t}");
    }
    if f(w, "consignee") != f(o, "consignee")
        || f(w, "consigneeTelephone") != f(o, "consigneeTelephone")
        || f(w, "consigneeAddress") != f(o, "consigneeAddress")
    {
        broken.insert("M7");
    }
    if fields(i, "gnum") != fields(o, "gnum") || fields(i, "gname") != fields(o, "itemName") {
        broken.insert("M8");
    }
    // Keys (M1–M3) always agree: the documents of one declaration find each other.
    for x in [p, w, i] {
        assert_eq!(f(x, "orderNo"), f(o, "orderNo"));
    }
    assert_eq!(f(p, "payCode"), f(o, "payCode"));
    assert_eq!(f(p, "payTransactionId"), f(o, "payTransactionId"));
    assert_eq!(f(p, "ebpCode"), f(o, "ebpCode"));
    assert_eq!(f(i, "ebpCode"), f(o, "ebpCode"));
    assert_eq!(f(i, "ebcCode"), f(o, "ebcCode"));
    assert_eq!(f(i, "logisticsNo"), f(w, "logisticsNo"));
    assert_eq!(f(i, "logisticsCode"), f(w, "logisticsCode"));
    assert_eq!(f(i, "freight"), f(o, "freight"));
    assert_eq!(f(i, "insuredFee"), f(w, "insuredFee"));
    assert_eq!(f(i, "grossWeight"), f(w, "weight"));
    let assure = f(i, "assureCode");
    assert!(assure == f(o, "ebcCode") || assure == f(o, "ebpCode"));
    // A4, A5, A8.
    for x in [o, p, w, i] {
        assert!(fields(x, "currency").iter().all(|c| *c == "142"));
    }
    assert_eq!(f(i, "packNo"), "1");
    assert_eq!(f(w, "packNo"), "1");
    let net: f64 = f(i, "netWeight").parse().unwrap();
    let gross: f64 = f(i, "grossWeight").parse().unwrap();
    assert!(net > 0.0 && net <= gross);
    assert_eq!(f(i, "tradeMode"), "9610");
    for t in ["trafNo", "voyageNo", "billNo"] {
        assert!(!f(i, t).is_empty());
    }
    // qty1 = qty whenever the legal unit is the trade unit (A6).
    let units = fields(i, "unit");
    let units1 = fields(i, "unit1");
    let q = fields(i, "qty");
    let q1 = fields(i, "qty1");
    for k in 0..units.len() {
        if units[k] == units1[k] {
            assert_eq!(q[k], q1[k]);
        }
    }
    // qty2 present exactly when unit2 is, and positive.
    let lines: Vec<&str> = i.split("<ceb:InventoryList>").skip(1).collect();
    for l in &lines {
        assert_eq!(field(l, "qty2").is_some(), field(l, "unit2").is_some());
        if let Some(q2) = field(l, "qty2") {
            assert!(q2.parse::<f64>().unwrap() > 0.0);
        }
    }

    let filed: HashSet<&str> = traffic::demo_registry().iter().map(|e| e.code).collect();
    let codes = [
        f(o, "ebpCode"),
        f(o, "ebcCode"),
        f(o, "payCode"),
        f(w, "logisticsCode"),
        f(i, "agentCode"),
    ];
    if codes.iter().any(|c| !filed.contains(c)) {
        broken.insert("unfiled");
    }
    let positive: HashSet<&str> = traffic::positive_list_hs_codes().collect();
    if fields(i, "gcode").iter().any(|g| !positive.contains(g)) {
        broken.insert("positive-list");
    }
    if dutiable(d) > 500_000 {
        broken.insert("single-limit");
    }
    broken
}

fn rules(list: &[&'static str]) -> BTreeSet<&'static str> {
    list.iter().copied().collect()
}

/// Every message comes from an enterprise entitled to send it, and says so in BaseTransfer.
pub(crate) fn check_senders(set: &DeclarationSet) {
    for m in &set.messages {
        if !m.expect_valid && !m.xml.contains("</ceb:BaseTransfer>") {
            continue;
        }
        let cop = f(&m.xml, "copCode");
        assert_eq!(cop, m.sender);
        let e = traffic::demo_registry()
            .iter()
            .find(|e| e.code == m.sender)
            .unwrap_or_else(|| panic!("sender {} is not filed", m.sender));
        assert_eq!(f(&m.xml, "dxpId"), e.dxp_id);
        let role_ok = match m.message_type {
            "CEB311Message" => e.has_role("ebp") || e.has_role("ebc"),
            "CEB411Message" => e.has_role("payment"),
            "CEB511Message" => e.has_role("logistics"),
            "CEB621Message" => e.has_role("agent"),
            other => panic!("unexpected {other}"),
        };
        assert!(role_ok, "{} may not send {}", m.sender, m.message_type);
    }
}

#[test]
fn clean_sets_break_no_rule_across_a_long_stream() {
    let mut g = Generator::new(
        9,
        Mix {
            bad_share_per_mille: 0,
            ..crate::unsigned()
        },
    );
    let mut seen = HashSet::new();
    let mut returning = 0;
    let mut values = Vec::new();
    let n = 3000;
    for k in 0..n {
        let s = g.next_set(NOW + k * 1000);
        assert_eq!(s.messages.len(), 4);
        let d = docs(&s);
        assert_eq!(broken_rules(&d), rules(&[]), "set {k}");
        check_senders(&s);
        assert_eq!(f(d.order, "buyerIdNumber"), s.buyer.id_number);
        if !seen.insert(s.buyer.id_number.clone()) {
            returning += 1;
        }
        values.push(fen_of(d.order, "goodsValue"));
        let lines = fields(d.order, "gnum").len();
        assert!((1..=5).contains(&lines));
    }
    assert!(
        (n * 15 / 100..n * 25 / 100).contains(&returning),
        "returning buyers: {returning} of {n}"
    );
    values.sort();
    let median = values[values.len() / 2];
    assert!(
        (5_000..200_000).contains(&median),
        "median parcel {median} fen"
    );
    assert!(values[0] >= 2_000, "cheapest parcel {}", values[0]);
    assert!(*values.last().unwrap() <= 490_000);
    assert!(
        values.iter().filter(|v| **v > 300_000).count() > 10,
        "a few large parcels"
    );
}

#[test]
fn returning_buyers_never_exceed_the_annual_limit_in_clean_traffic() {
    let mut g = Generator::new(
        4,
        Mix {
            bad_share_per_mille: 0,
            buyers: 50,
            ..crate::unsigned()
        },
    );
    let mut spent = std::collections::HashMap::<String, i64>::new();
    for k in 0..3000 {
        let s = g.next_set(NOW + k);
        let d = docs(&s);
        *spent.entry(s.buyer.id_number.clone()).or_default() += fen_of(d.order, "acturalPaid");
    }
    let max = spent.values().max().copied().unwrap_or(0);
    assert!(max <= 2_600_000, "a clean buyer reached {max} fen");
    assert!(
        max > 1_500_000,
        "returning buyers should accumulate quota ({max})"
    );
}

/// The rules a single-declaration case breaks, for the cases that are about content.
fn expected_rules(case: Case) -> Option<BTreeSet<&'static str>> {
    let list: &[&str] = match case {
        Case::Clean | Case::DuplicateInventory | Case::Resubmission => &[],
        Case::PayerMismatch => &["M5"],
        Case::AmountMismatch => &["M4"],
        Case::ConsigneeMismatch => &["M7"],
        Case::LineMismatch => &["M8"],
        Case::OrderArithmetic => &["A1"],
        Case::UnfiledEnterprise => &["unfiled"],
        Case::NotOnPositiveList => &["positive-list"],
        Case::OverSingleLimit | Case::SingleItemOverLimit => &["single-limit"],
        Case::OverAnnualLimit | Case::Malformed | Case::SchemaInvalid | Case::Hostile => {
            return None;
        }
    };
    Some(rules(list))
}

#[test]
fn mismatch_cases_break_exactly_their_rule() {
    for case in Case::ALL {
        let Some(expected) = expected_rules(case) else {
            continue;
        };
        for seed in 0..150 {
            let s = Generator::new(seed, crate::unsigned()).set_of(case, crate::NOW);
            assert_eq!(s.case, case);
            let mut distinct = s.messages.clone();
            distinct.dedup_by(|a, b| a.xml == b.xml);
            let mut first_of_each = Vec::new();
            for m in distinct {
                if !first_of_each
                    .iter()
                    .any(|x: &GeneratedMessage| x.message_type == m.message_type)
                {
                    first_of_each.push(m);
                }
            }
            let sub = DeclarationSet {
                messages: first_of_each,
                ..s.clone()
            };
            assert_eq!(broken_rules(&docs(&sub)), expected, "{case:?} seed {seed}");
            check_senders(&s);
        }
    }
}

#[test]
fn every_set_of_a_mixed_stream_breaks_exactly_what_its_case_says() {
    let mut g = Generator::new(
        21,
        Mix {
            bad_share_per_mille: 500,
            ..crate::unsigned()
        },
    );
    for k in 0..4000 {
        let s = g.next_set(NOW + k * 500);
        check_senders(&s);
        let Some(expected) = expected_rules(s.case) else {
            continue;
        };
        let mut sub = s.clone();
        if s.case == Case::DuplicateInventory {
            sub.messages.pop();
        }
        if s.case == Case::Resubmission {
            let mut seen = HashSet::new();
            sub.messages.retain(|m| seen.insert(m.guid.clone()));
        }
        assert_eq!(broken_rules(&docs(&sub)), expected, "{:?} set {k}", s.case);
    }
}

#[test]
fn unfiled_enterprise_is_the_ebc_and_the_sender_is_filed() {
    let s = set(Case::UnfiledEnterprise, 1);
    let d = docs(&s);
    assert_eq!(f(d.order, "ebcCode"), traffic::UNFILED_EBC_CODE);
    assert_eq!(f(d.inventory, "ebcCode"), traffic::UNFILED_EBC_CODE);
    assert_ne!(one(&s, "CEB311Message").sender, traffic::UNFILED_EBC_CODE);
}

#[test]
fn over_single_limit_has_several_items_and_single_item_has_one() {
    for seed in 0..20 {
        let s = set(Case::OverSingleLimit, seed);
        let d = docs(&s);
        let items: i64 = fields(d.order, "qty")
            .iter()
            .map(|q| q.parse::<i64>().unwrap())
            .sum();
        assert!(items >= 2);
        assert!(fields(d.order, "gnum").len() >= 2);

        let s = set(Case::SingleItemOverLimit, seed);
        let d = docs(&s);
        assert_eq!(fields(d.order, "qty"), vec!["1"]);
        assert!(dutiable(&d) > 500_000 && dutiable(&d) < 2_600_000);
    }
}

#[test]
fn not_on_positive_list_names_a_banned_tariff_line() {
    let banned: HashSet<&str> = traffic::off_list_hs_codes().collect();
    assert_eq!(banned, HashSet::from(["0201100000", "9307009000"]));
    for seed in 0..10 {
        let s = set(Case::NotOnPositiveList, seed);
        let gcodes = fields(&one(&s, "CEB621Message").xml, "gcode");
        assert_eq!(gcodes.iter().filter(|g| banned.contains(*g)).count(), 1);
    }
}

#[test]
fn over_annual_limit_sends_the_buyers_earlier_declarations_first() {
    for seed in 0..10 {
        let s = set(Case::OverAnnualLimit, seed);
        assert_eq!(s.messages.len(), 24);
        let mut dutiable_sum = 0;
        let mut paid_sum = 0;
        let mut order_nos = Vec::new();
        for (k, group) in s.messages.chunks(4).enumerate() {
            let sub = DeclarationSet {
                index: s.index,
                case: s.case,
                scheme: None,
                buyer: s.buyer.clone(),
                messages: group.to_vec(),
            };
            let d = docs(&sub);
            assert_eq!(
                broken_rules(&d),
                rules(&[]),
                "declaration {k} on its own is clean"
            );
            assert_eq!(f(d.order, "buyerIdNumber"), s.buyer.id_number);
            order_nos.push(f(d.order, "orderNo").to_owned());
            if k < 5 {
                dutiable_sum += dutiable(&d);
                paid_sum += fen_of(d.order, "acturalPaid");
            } else {
                assert!(
                    dutiable_sum <= 2_600_000 && paid_sum <= 2_600_000,
                    "the earlier ones fit in the year: {dutiable_sum} / {paid_sum}"
                );
                assert!(
                    dutiable_sum + dutiable(&d) > 2_600_000,
                    "the last one does not"
                );
            }
        }
        let distinct: HashSet<_> = order_nos.iter().collect();
        assert_eq!(distinct.len(), 6);
    }
}

#[test]
fn duplicate_inventory_is_a_second_list_for_the_same_order() {
    let s = set(Case::DuplicateInventory, 3);
    assert_eq!(s.messages.len(), 5);
    let invs = of_type(&s, "CEB621Message");
    assert_eq!(invs.len(), 2);
    assert_ne!(invs[0].guid, invs[1].guid);
    assert_ne!(invs[0].xml, invs[1].xml);
    for t in ["orderNo", "ebcCode", "ebpCode", "logisticsNo"] {
        assert_eq!(f(&invs[0].xml, t), f(&invs[1].xml, t));
    }
    assert_eq!(s.messages.last().unwrap().message_type, "CEB621Message");
}

#[test]
fn resubmission_repeats_one_message_byte_for_byte() {
    for seed in 0..10 {
        let s = set(Case::Resubmission, seed);
        assert_eq!(s.messages.len(), 5);
        let distinct: HashSet<&str> = s.messages.iter().map(|m| m.guid.as_str()).collect();
        assert_eq!(distinct.len(), 4);
        let xmls: HashSet<&str> = s.messages.iter().map(|m| m.xml.as_str()).collect();
        assert_eq!(xmls.len(), 4);
    }
}

fn spoiled(s: &DeclarationSet) -> &GeneratedMessage {
    let bad: Vec<_> = s.messages.iter().filter(|m| !m.expect_valid).collect();
    assert_eq!(bad.len(), 1, "{:?}", s.case);
    assert_eq!(s.messages.len(), 4);
    bad[0]
}

#[test]
fn malformed_schema_invalid_and_hostile_spoil_one_message_each() {
    for seed in 0..10 {
        let s = set(Case::Malformed, seed);
        let m = spoiled(&s);
        assert!(
            !m.xml
                .trim_end()
                .ends_with(&format!("</ceb:{}>", m.message_type))
        );
        assert!(m.xml.len() > 100);

        let s = set(Case::SchemaInvalid, seed);
        let m = spoiled(&s);
        let required = match m.message_type {
            "CEB311Message" => "buyerIdNumber",
            "CEB411Message" => "amountPaid",
            "CEB511Message" => "consignee",
            _ => "gcode",
        };
        assert!(field(&m.xml, required).is_none(), "{required} still there");
        assert!(
            m.xml
                .trim_end()
                .ends_with(&format!("</ceb:{}>", m.message_type))
        );

        let s = set(Case::Hostile, seed);
        let m = spoiled(&s);
        assert!(m.xml.contains("<!DOCTYPE") && m.xml.contains("<!ENTITY"));
        assert!(m.xml.contains("<ceb:buyerName>&t3;</ceb:buyerName>"));
    }
    let mut g = Generator::new(8, Mix::default());
    for k in 0..2000 {
        let s = g.next_set(NOW + k);
        for m in s.messages.iter().filter(|m| m.expect_valid) {
            assert!(!m.xml.contains("<!DOCTYPE"));
            assert!(
                m.xml
                    .trim_end()
                    .ends_with(&format!("</ceb:{}>", m.message_type))
            );
        }
    }
}

#[test]
fn arrival_order_is_shuffled_only_when_asked() {
    let mut g = Generator::new(
        1,
        Mix {
            shuffle_arrival: false,
            bad_share_per_mille: 0,
            ..Mix::default()
        },
    );
    for k in 0..50 {
        let types: Vec<_> = g
            .next_set(NOW + k)
            .messages
            .iter()
            .map(|m| m.message_type)
            .collect();
        assert_eq!(
            types,
            [
                "CEB311Message",
                "CEB411Message",
                "CEB511Message",
                "CEB621Message"
            ]
        );
    }
    let mut g = Generator::new(1, Mix::default());
    let orders_first = (0..200)
        .filter(|k| g.next_set(NOW + k).messages[0].message_type == "CEB311Message")
        .count();
    assert!(
        orders_first < 120,
        "shuffled: order first in {orders_first}/200"
    );
}

#[test]
fn cosmetics_declare_their_legal_quantity_in_kilograms() {
    let mut g = Generator::new(
        12,
        Mix {
            bad_share_per_mille: 0,
            ..crate::unsigned()
        },
    );
    let mut checked = 0;
    for k in 0..500 {
        let s = g.next_set(NOW + k);
        let inv = &one(&s, "CEB621Message").xml;
        for block in inv.split("<ceb:InventoryList>").skip(1) {
            if f(block, "gname") == "澳蕾儿保湿修护面霜50ml" {
                let qty: u32 = f(block, "qty").parse().unwrap();
                let qty1: f64 = f(block, "qty1").parse().unwrap();
                assert_eq!(f(block, "unit1"), "035");
                assert!((qty1 - 0.05 * f64::from(qty)).abs() < 1e-9);
                checked += 1;
            }
        }
    }
    assert!(checked > 10);
}
