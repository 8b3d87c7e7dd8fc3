//! Statistics and the CBEC index against hand-computed expectations: a small zone over two
//! months through the engine (values, tax, classes, countries, parks, a rejection, an inspected
//! and a refused declaration, a return), and the index worked example of
//! docs/index-methodology.md.

use std::collections::BTreeMap;

use domain::clearance::*;
use domain::registry::Role;
use domain::statistics::facts::{ListMeasures, Month, StatDeltas};
use domain::statistics::index::{self, IndexSettings, Indicator, MonthFigures, SubIndex};
use domain::time::Timestamp;
use rust_decimal::Decimal;

use crate::clearance::{
    AGT, Docs, EBC, EBP, LOG, PAY, d, docs, engine, ent, invt_no, line, refund_of, spec, t,
};

/// Decides by order number: inspection for `D`, a risk refusal for `G`, release otherwise.
struct Script;

impl Decider for Script {
    fn decide(&self, ctx: &DecisionContext) -> Decision {
        match ctx.order.order_no.as_str() {
            "ORD-D" => Decision::Inspection,
            "ORD-G" => Decision::Reject {
                code: "9606".into(),
                desc: "风险评分超过退单阈值".into(),
            },
            _ => Decision::Release,
        }
    }
}

fn declare(e: &mut Engine, sender: &str, doc: Document, at: Timestamp, out: &mut StatDeltas) {
    e.apply(
        Command::Declare {
            sender: sender.into(),
            document: doc,
        },
        at,
        &Script,
    );
    out.merge(e.take_changes().statistics);
}

fn all(e: &mut Engine, x: &Docs, at: Timestamp, out: &mut StatDeltas) -> Vec<Receipt> {
    let mut receipts = Vec::new();
    for (sender, doc) in [
        (EBP, Document::Order(x.order.clone())),
        (PAY, Document::Payment(x.payment.clone())),
        (LOG, Document::Waybill(x.waybill.clone())),
        (AGT, Document::Inventory(x.inventory.clone())),
    ] {
        receipts.extend(e.apply(
            Command::Declare {
                sender: sender.into(),
                document: doc,
            },
            at,
            &Script,
        ));
    }
    out.merge(e.take_changes().statistics);
    receipts
}

fn named(no: &str, mut x: Docs, seller: &str) -> Docs {
    let no = format!("ORD-{no}");
    x.order.order_no = no.clone();
    x.payment.order_no = no.clone();
    x.waybill.order_no = no.clone();
    x.inventory.order_no = no.clone();
    x.order.guid = format!("O-{no}");
    x.payment.guid = format!("P-{no}");
    x.waybill.guid = format!("W-{no}");
    x.inventory.guid = format!("I-{no}");
    x.payment.pay_transaction_id = format!("TX-{no}");
    x.order.pay_transaction_id = Some(format!("TX-{no}"));
    x.waybill.logistics_no = format!("WB-{no}");
    x.inventory.logistics_no = format!("WB-{no}");
    x.order.ebc_code = seller.into();
    x.inventory.ebc_code = seller.into();
    x.inventory.assure_code = seller.into();
    x
}

/// Origin of line `i` (1-based).
fn origin(mut x: Docs, gnum: usize, country: &str) -> Docs {
    x.inventory.lines[gnum - 1].country = country.into();
    x.order.lines[gnum - 1].country = country.into();
    x
}

/// The small zone of the module documentation, with every delta it caused.
fn small_zone() -> StatDeltas {
    let mut e = engine();
    let mut out = StatDeltas::default();
    for (code, park) in [(EBC, "HZ-XS"), ("SELL02", "HZ-KG")] {
        let mut en = ent(code, &[Role::Seller, Role::Guarantor]);
        en.park = Some(park.into());
        e.apply(Command::FileEnterprise(en), Timestamp(0), &Script);
    }
    e.take_changes();
    // A — 2026-01-10: infant formula 2 × 100 + freight 10 from Japan (116), seller in HZ-XS.
    let a = named("A", docs(&spec(1)), EBC);
    all(&mut e, &a, t("20260110100000"), &mut out);
    // B — 2026-01-15: SELL02 (HZ-KG): 3 T-shirts × 50 from Korea (502), headphones 300 (116).
    let mut sb = spec(2);
    sb.buyer = 2;
    sb.lines = vec![line("61091000", "3", "50"), line("85183000", "1", "300")];
    sb.freight = Decimal::ZERO;
    let b = origin(named("B", docs(&sb), "SELL02"), 1, "502");
    all(&mut e, &b, t("20260115110000"), &mut out);
    // C — 2026-01-20: the payer is not the buyer (M5, refused at the match); the payment is
    // corrected and the inventory filed again, then released: not a first pass.
    let mut sc = spec(3);
    sc.buyer = 3;
    sc.lines = vec![line("1901101000", "1", "200")];
    sc.freight = Decimal::ZERO;
    let c = named("C", docs(&sc), EBC);
    let mut wrong = c.clone();
    wrong.payment.payer_name = "别人".into();
    all(&mut e, &wrong, t("20260120090000"), &mut out);
    let mut fixed = c.payment.clone();
    fixed.guid = "P-C-2".into();
    fixed.app_type = "2".into();
    declare(
        &mut e,
        PAY,
        Document::Payment(fixed),
        t("20260120093000"),
        &mut out,
    );
    let mut again = c.inventory.clone();
    again.guid = "I-C-2".into();
    declare(
        &mut e,
        AGT,
        Document::Inventory(again),
        t("20260120100000"),
        &mut out,
    );
    // D — 2026-02-03 09:00: formula 1 × 200, held for inspection, released at 15:00 (6 h).
    let mut sd = sc.clone();
    sd.buyer = 4;
    let dd = named("D", docs(&sd), EBC);
    all(&mut e, &dd, t("20260203090000"), &mut out);
    e.apply(
        Command::Conclude {
            declaration: DeclarationId::derive(EBP, "ORD-D"),
            release: true,
            reason: String::new(),
        },
        t("20260203150000"),
        &Script,
    );
    out.merge(e.take_changes().statistics);
    // E — 2026-02-05: an order with appStatus 3 is refused on arrival.
    let mut ee = named("E", docs(&spec(5)), EBC).order;
    ee.app_status = "3".into();
    declare(
        &mut e,
        EBP,
        Document::Order(ee),
        t("20260205100000"),
        &mut out,
    );
    // F — 2026-02-10: 2 T-shirts × 50 from Korea, released; one comes back on the 12th.
    let mut sf = spec(6);
    sf.buyer = 6;
    sf.lines = vec![line("61091000", "2", "50")];
    sf.freight = Decimal::ZERO;
    let f = origin(named("F", docs(&sf), EBC), 1, "502");
    let receipts = all(&mut e, &f, t("20260210100000"), &mut out);
    let refund = refund_of(&f, &invt_no(&receipts), "R-F", &[(1, "1")]);
    declare(
        &mut e,
        AGT,
        Document::Refund(refund),
        t("20260212100000"),
        &mut out,
    );
    // G — 2026-02-20: refused by risk after the match.
    let mut sg = spec(7);
    sg.buyer = 7;
    sg.lines = vec![line("1901101000", "1", "100")];
    sg.freight = Decimal::ZERO;
    let g = named("G", docs(&sg), EBC);
    all(&mut e, &g, t("20260220100000"), &mut out);
    out
}

fn by_month(deltas: &StatDeltas) -> BTreeMap<String, ListMeasures> {
    let mut out: BTreeMap<String, ListMeasures> = BTreeMap::new();
    for (cell, m) in &deltas.lists {
        out.entry(Month::of_day(cell.day).to_string())
            .or_default()
            .add(m);
    }
    out
}

#[test]
fn a_small_zone_gives_the_hand_computed_lists() {
    let zone = small_zone();
    let months = by_month(&zone);
    let jan = &months["2026-01"];
    // A 210.00 + B 450.00 + C 200.00; VAT at 13 % × 70 %: 19.11 + 40.95 + 18.20.
    assert_eq!(jan.declarations, 3);
    assert_eq!(jan.lines, 4);
    assert_eq!(jan.value_fen, 86_000);
    assert_eq!(jan.vat_fen, 7_826);
    assert_eq!(jan.customs_tax_fen + jan.consumption_tax_fen, 0);
    assert_eq!(jan.paid_fen, 86_000);
    assert_eq!(jan.first_pass, 2, "C had its inventory refused first");
    assert_eq!((jan.refused, jan.inspected, jan.clearance_ms), (0, 0, 0));
    let feb = &months["2026-02"];
    // D 200.00 + F 100.00; D waited 6 h for its inspection; G refused after matching.
    assert_eq!(feb.declarations, 2);
    assert_eq!(feb.value_fen, 30_000);
    assert_eq!(feb.vat_fen, 1_820 + 910);
    assert_eq!(feb.first_pass, 2);
    assert_eq!(feb.inspected, 1);
    assert_eq!(feb.clearance_ms, 6 * 3_600_000);
    assert_eq!(feb.refused, 1);
    // One T-shirt of two came back: 50.00 of value, 4.55 of VAT.
    assert_eq!(
        (feb.returns, feb.returned_value_fen, feb.returned_tax_fen),
        (1, 5_000, 455)
    );
    // Parks: A and C in HZ-XS, B in HZ-KG.
    let mut parks: BTreeMap<&str, i64> = BTreeMap::new();
    for (cell, m) in &zone.lists {
        if Month::of_day(cell.day).to_string() == "2026-01" {
            *parks.entry(&cell.park).or_default() += m.value_fen;
        }
    }
    assert_eq!(
        parks,
        BTreeMap::from([("HZ-KG", 45_000), ("HZ-XS", 41_000)])
    );
}

#[test]
fn goods_are_counted_by_class_origin_and_unit() {
    let zone = small_zone();
    /// (declarations, lines, qty, value, vat) by (class, origin).
    type Sums = (i64, i64, i64, i64, i64);
    let mut jan: BTreeMap<(&str, &str), Sums> = BTreeMap::new();
    for (cell, m) in &zone.goods {
        if cell.day / 100 == 202601 {
            let e = jan
                .entry((cell.class.as_str(), cell.origin.as_str()))
                .or_default();
            e.0 += m.declarations;
            e.1 += m.lines;
            e.2 += m.qty_milli;
            e.3 += m.value_fen;
            e.4 += m.vat_fen;
        }
    }
    assert_eq!(
        jan,
        BTreeMap::from([
            // infant formula from Japan: A (2 × 100 + freight 10) and C (200)
            (("01", "116"), (2, 2, 3_000, 41_000, 1_911 + 1_820)),
            // apparel from Korea: B's T-shirts
            (("16", "502"), (1, 1, 3_000, 15_000, 1_365)),
            // electronics from Japan: B's headphones
            (("21", "116"), (1, 1, 1_000, 30_000, 2_730)),
        ])
    );
    let returned: i64 = zone.goods.values().map(|m| m.returned_qty_milli).sum();
    assert_eq!(returned, 1_000);
}

#[test]
fn rejections_and_clearance_times_are_counted_by_day() {
    let zone = small_zone();
    let rejections: Vec<(i32, &str, &str, &str, i64)> = zone
        .rejections
        .iter()
        .map(|(c, n)| {
            (
                c.day,
                c.message_type.as_str(),
                c.code.as_str(),
                c.enterprise.as_str(),
                *n,
            )
        })
        .collect();
    assert_eq!(
        rejections,
        vec![
            (20260120, "621", "1327", AGT, 1),
            (20260205, "311", "-301008", EBP, 1),
            (20260220, "621", "9606", AGT, 1),
        ]
    );
    let buckets: Vec<(i32, &str, i64)> = zone
        .clearance
        .iter()
        .map(|(c, n)| (c.day, c.bucket.as_str(), *n))
        .collect();
    assert_eq!(
        buckets,
        vec![
            (20260110, "0", 1),
            (20260115, "0", 1),
            (20260120, "0", 1),
            (20260203, "4", 1),
            (20260210, "0", 1),
        ]
    );
}

#[test]
fn the_same_commands_give_the_same_statistics() {
    assert_eq!(small_zone(), small_zone());
}

fn figures(month: &str, f: [i64; 13]) -> MonthFigures {
    MonthFigures {
        month: Month::parse(month),
        declarations: f[0],
        value_fen: f[1],
        tax_fen: f[2],
        paid_fen: f[3],
        enterprises: f[4],
        countries: f[5],
        classes: f[6],
        logistics_firms: f[7],
        payment_institutions: f[8],
        first_pass: f[9],
        risk_hit: f[10],
        refused: f[11],
        timely: f[12],
    }
}

/// The worked example of docs/index-methodology.md, number for number.
#[test]
fn the_worked_example_of_the_methodology() {
    let months = [
        figures(
            "2025-12",
            [
                800, 16_000_000, 1_440_000, 17_440_000, 18, 9, 8, 4, 5, 700, 20, 10, 760,
            ],
        ),
        figures(
            "2026-01",
            [
                1000, 20_000_000, 1_800_000, 21_800_000, 20, 10, 8, 4, 5, 900, 20, 10, 950,
            ],
        ),
        figures(
            "2026-02",
            [
                1200, 26_000_000, 2_340_000, 28_340_000, 24, 11, 10, 4, 6, 1140, 12, 6, 1176,
            ],
        ),
    ];
    let settings = IndexSettings {
        base_from: Month::parse("2026-01"),
        ..IndexSettings::default()
    };
    let feb = index::compute(&settings, &months, Month::parse("2026-02").unwrap()).unwrap();
    let indicator = |i: Indicator| {
        feb.sub_indices
            .iter()
            .flat_map(|s| &s.indicators)
            .find(|v| v.indicator == i)
            .and_then(|v| v.index)
    };
    let expect = [
        (Indicator::TradeValue, "130"),
        (Indicator::ActiveEnterprises, "120"),
        (Indicator::ValueGrowth, "104"),
        (Indicator::OriginBreadth, "110"),
        (Indicator::ClassBreadth, "125"),
        (Indicator::Parcels, "120"),
        (Indicator::LogisticsFirms, "100"),
        (Indicator::ParcelGrowth, "96"),
        (Indicator::FirstPassRate, "105.56"),
        (Indicator::Timeliness, "103.16"),
        (Indicator::AmountPaid, "130"),
        (Indicator::PaymentInstitutions, "120"),
        (Indicator::TaxRevenue, "130"),
        (Indicator::PaidGrowth, "104"),
        (Indicator::ComplianceRate, "101.52"),
    ];
    for (i, v) in expect {
        assert_eq!(indicator(i), Some(d(v)), "{}", i.code());
    }
    let sub = |s: SubIndex| {
        feb.sub_indices
            .iter()
            .find(|x| x.sub_index == s)
            .and_then(|x| x.value)
    };
    assert_eq!(sub(SubIndex::Goods), Some(d("119.30")));
    assert_eq!(sub(SubIndex::Logistics), Some(d("106.94")));
    assert_eq!(sub(SubIndex::Payment), Some(d("116.68")));
    assert_eq!(feb.composite, Some(d("114.81")));
    // The base month itself is 100 on the composite.
    let jan = index::compute(&settings, &months, Month::parse("2026-01").unwrap()).unwrap();
    assert_eq!(jan.composite, Some(Decimal::ONE_HUNDRED));
    // And the same figures always give the same index.
    assert_eq!(
        index::compute(&settings, &months, Month::parse("2026-02").unwrap()).unwrap(),
        feb
    );
}
