//! The clearance engine end to end: receipts a sender would see, tax to the fen, quota left.

use std::collections::BTreeSet;

use domain::clearance::*;
use domain::personal::id_check_char;
use domain::registry::{Enterprise, Role};
use domain::settings::Settings;
use domain::tariff::Tariff;
use domain::time::{Timestamp, parse_ceb_time14};
use rust_decimal::Decimal;

pub(crate) const EBP: &str = "PLAT01";
pub(crate) const EBC: &str = "SELL01";
pub(crate) const PAY: &str = "PAY01";
pub(crate) const LOG: &str = "LOG01";
pub(crate) const AGT: &str = "AGT01";
pub(crate) const OPR: &str = "BOND01";

pub(crate) fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub(crate) fn t(s: &str) -> Timestamp {
    parse_ceb_time14(s).unwrap()
}

pub(crate) fn now() -> Timestamp {
    t("20260301100000")
}

/// A fictitious resident ID number: area prefix 99, valid birth date and check digit.
pub(crate) fn id_no(seq: u32) -> String {
    let first17 = format!("99010119900101{:03}", seq % 1000);
    format!("{first17}{}", id_check_char(&first17).unwrap())
}

pub(crate) fn ent(code: &str, roles: &[Role]) -> Enterprise {
    Enterprise {
        code: code.into(),
        name: format!("测试企业{code}"),
        roles: roles.iter().copied().collect(),
        dxp_id: None,
        filed_at: Timestamp(0),
        active: true,
        park: None,
        entrusts: Default::default(),
    }
}

pub(crate) fn engine_with(settings: Settings) -> Engine {
    let mut e = Engine::new(settings, Tariff::builtin(), b"test-secret".to_vec());
    for en in [
        ent(EBP, &[Role::Platform]),
        ent(EBC, &[Role::Seller, Role::Guarantor]),
        ent("SELL02", &[Role::Seller, Role::Guarantor]),
        ent(PAY, &[Role::Payment]),
        ent(LOG, &[Role::Logistics]),
        ent(AGT, &[Role::Agent]),
        ent(OPR, &[Role::BondedOperator]),
    ] {
        e.apply(Command::FileEnterprise(en), Timestamp(0), &ReleaseAll);
    }
    e
}

pub(crate) fn engine() -> Engine {
    engine_with(Settings::default())
}

#[derive(Clone)]
pub(crate) struct Line {
    pub(crate) hs: &'static str,
    pub(crate) name: &'static str,
    pub(crate) qty: Decimal,
    pub(crate) price: Decimal,
    pub(crate) unit: &'static str,
    pub(crate) qty1: Decimal,
    pub(crate) unit1: &'static str,
}

pub(crate) fn line(hs: &'static str, qty: &str, price: &str) -> Line {
    Line {
        hs,
        name: "测试商品",
        qty: d(qty),
        price: d(price),
        unit: "011",
        qty1: d(qty),
        unit1: "011",
    }
}

#[derive(Clone)]
pub(crate) struct Spec {
    pub(crate) order_no: String,
    pub(crate) buyer: u32,
    pub(crate) lines: Vec<Line>,
    pub(crate) freight: Decimal,
    pub(crate) tax_total: Decimal,
}

pub(crate) fn spec(n: u32) -> Spec {
    Spec {
        order_no: format!("ORD{n:06}"),
        buyer: 1,
        lines: vec![line("1901101000", "2", "100")],
        freight: d("10"),
        tax_total: d("0"),
    }
}

pub(crate) fn single(n: u32, hs: &'static str, price: &str) -> Spec {
    Spec {
        lines: vec![line(hs, "1", price)],
        freight: Decimal::ZERO,
        ..spec(n)
    }
}

#[derive(Clone)]
pub(crate) struct Docs {
    pub(crate) order: Order,
    pub(crate) payment: Payment,
    pub(crate) waybill: Waybill,
    pub(crate) inventory: Inventory,
}

pub(crate) fn docs(s: &Spec) -> Docs {
    let name = format!("测试买家{}", s.buyer);
    let id = id_no(s.buyer);
    let phone = format!("1990000{:04}", s.buyer);
    let goods: Decimal = s.lines.iter().map(|l| l.price * l.qty).sum();
    let paid = goods + s.freight + s.tax_total;
    let no = &s.order_no;
    let order = Order {
        guid: format!("O-{no}"),
        app_type: "1".into(),
        app_time: now(),
        app_status: "2".into(),
        order_type: "I".into(),
        order_no: no.clone(),
        ebp_code: EBP.into(),
        ebp_name: "测试平台".into(),
        ebc_code: EBC.into(),
        ebc_name: "测试电商".into(),
        goods_value: goods,
        freight: s.freight,
        discount: Decimal::ZERO,
        tax_total: s.tax_total,
        actural_paid: paid,
        currency: "142".into(),
        buyer_reg_no: format!("user{}", s.buyer),
        buyer_name: name.clone(),
        buyer_telephone: phone.clone(),
        buyer_id_type: "1".into(),
        buyer_id_number: id.clone(),
        pay_code: Some(PAY.into()),
        pay_name: Some("测试支付".into()),
        pay_transaction_id: Some(format!("TX-{no}")),
        consignee: name.clone(),
        consignee_telephone: phone.clone(),
        consignee_address: "测试省测试市测试路1号".into(),
        consignee_district: None,
        note: None,
        lines: s
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| OrderLine {
                gnum: i as u32 + 1,
                item_no: None,
                item_name: l.name.into(),
                gmodel: "1件".into(),
                unit: l.unit.into(),
                qty: l.qty,
                price: l.price,
                total_price: l.price * l.qty,
                currency: "142".into(),
                country: "116".into(),
            })
            .collect(),
    };
    let payment = Payment {
        guid: format!("P-{no}"),
        app_type: "1".into(),
        app_time: now(),
        app_status: "2".into(),
        pay_code: PAY.into(),
        pay_name: "测试支付".into(),
        pay_transaction_id: format!("TX-{no}"),
        order_no: no.clone(),
        ebp_code: EBP.into(),
        ebp_name: "测试平台".into(),
        payer_id_type: "1".into(),
        payer_id_number: id.clone(),
        payer_name: name.clone(),
        telephone: Some(phone.clone()),
        amount_paid: paid,
        currency: "142".into(),
        pay_time: now(),
        note: None,
    };
    let waybill = Waybill {
        guid: format!("W-{no}"),
        app_type: "1".into(),
        app_time: now(),
        app_status: "2".into(),
        logistics_code: LOG.into(),
        logistics_name: "测试物流".into(),
        logistics_no: format!("WB-{no}"),
        bill_no: None,
        order_no: no.clone(),
        freight: s.freight,
        insured_fee: Decimal::ZERO,
        currency: "142".into(),
        weight: d("1.5"),
        pack_no: 1,
        goods_info: None,
        consignee: name.clone(),
        consignee_address: "测试省测试市测试路1号".into(),
        consignee_telephone: phone.clone(),
        note: None,
    };
    let inventory = Inventory {
        guid: format!("I-{no}"),
        app_type: "1".into(),
        app_time: now(),
        app_status: "2".into(),
        order_no: no.clone(),
        ebp_code: EBP.into(),
        ebp_name: "测试平台".into(),
        ebc_code: EBC.into(),
        ebc_name: "测试电商".into(),
        logistics_no: format!("WB-{no}"),
        logistics_code: LOG.into(),
        logistics_name: "测试物流".into(),
        cop_no: Some(format!("COP-{no}")),
        pre_no: None,
        assure_code: EBC.into(),
        ems_no: None,
        invt_no: None,
        ie_flag: "I".into(),
        decl_time: "20260301".into(),
        customs_code: "6409".into(),
        port_code: "6409".into(),
        ie_date: None,
        buyer_id_type: "1".into(),
        buyer_id_number: id,
        buyer_name: name,
        buyer_telephone: phone,
        consignee_address: "测试省测试市测试路1号".into(),
        agent_code: AGT.into(),
        agent_name: "测试报关".into(),
        area_code: None,
        area_name: None,
        trade_mode: "9610".into(),
        traf_mode: "5".into(),
        traf_no: Some("CA999".into()),
        voyage_no: Some("V001".into()),
        bill_no: Some("999-00000000".into()),
        loct_no: None,
        license_no: None,
        country: "116".into(),
        freight: s.freight,
        insured_fee: Decimal::ZERO,
        currency: "142".into(),
        wrap_type: None,
        pack_no: 1,
        gross_weight: d("1.5"),
        net_weight: d("1.2"),
        note: None,
        lines: s
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| InventoryLine {
                gnum: i as u32 + 1,
                item_record_no: None,
                item_no: None,
                item_name: Some(l.name.into()),
                gcode: l.hs.into(),
                gname: l.name.into(),
                gmodel: "1件".into(),
                bar_code: None,
                country: "116".into(),
                trade_country: None,
                currency: "142".into(),
                qty: l.qty,
                unit: l.unit.into(),
                qty1: l.qty1,
                unit1: l.unit1.into(),
                qty2: None,
                unit2: None,
                price: l.price,
                total_price: l.price * l.qty,
                note: None,
            })
            .collect(),
    };
    Docs {
        order,
        payment,
        waybill,
        inventory,
    }
}

pub(crate) fn cmds(x: &Docs) -> [Command; 4] {
    [
        Command::Declare {
            sender: EBP.into(),
            document: Document::Order(x.order.clone()),
        },
        Command::Declare {
            sender: PAY.into(),
            document: Document::Payment(x.payment.clone()),
        },
        Command::Declare {
            sender: LOG.into(),
            document: Document::Waybill(x.waybill.clone()),
        },
        Command::Declare {
            sender: AGT.into(),
            document: Document::Inventory(x.inventory.clone()),
        },
    ]
}

pub(crate) fn send(e: &mut Engine, sender: &str, doc: Document) -> Vec<Receipt> {
    e.apply(
        Command::Declare {
            sender: sender.into(),
            document: doc,
        },
        now(),
        &ReleaseAll,
    )
}

pub(crate) fn run_at(
    e: &mut Engine,
    x: &Docs,
    at: Timestamp,
    decider: &dyn Decider,
) -> Vec<Receipt> {
    cmds(x)
        .into_iter()
        .flat_map(|c| e.apply(c, at, decider))
        .collect()
}

pub(crate) fn run(e: &mut Engine, x: &Docs) -> Vec<Receipt> {
    run_at(e, x, now(), &ReleaseAll)
}

/// The code inside `[Code:…;Desc:…]`.
pub(crate) fn code(info: &str) -> Option<&str> {
    let rest = info.split("[Code:").nth(1)?;
    rest.split(';').next()
}

/// (message type, returnStatus, code) — what a sender's parser sees.
pub(crate) fn sig(r: &Receipt) -> (&'static str, i32, String) {
    (
        r.body.message_type(),
        r.body.return_status(),
        code(r.body.return_info()).unwrap_or("").to_owned(),
    )
}

pub(crate) fn sigs(rs: &[Receipt]) -> Vec<(&'static str, i32, String)> {
    rs.iter().map(sig).collect()
}

pub(crate) fn has(rs: &[Receipt], msg: &str, status: i32, c: &str) -> bool {
    rs.iter().any(|r| {
        r.body.message_type() == msg
            && r.body.return_status() == status
            && code(r.body.return_info()).unwrap_or("") == c
    })
}

pub(crate) fn s(m: &'static str, st: i32, c: &str) -> (&'static str, i32, String) {
    (m, st, c.to_owned())
}

pub(crate) fn tax_bill(rs: &[Receipt]) -> &TaxBill {
    rs.iter()
        .rev()
        .find_map(|r| match &r.body {
            ReceiptBody::TaxBill(b) => Some(b),
            _ => None,
        })
        .expect("a CEB816")
}

pub(crate) fn invt_no(rs: &[Receipt]) -> String {
    rs.iter()
        .find_map(|r| match &r.body {
            ReceiptBody::Inventory(l) => l.invt_no.clone(),
            _ => None,
        })
        .expect("an invtNo")
}

#[test]
pub(crate) fn happy_path_answers_every_node_and_releases() {
    let mut e = engine();
    let x = docs(&spec(1));
    let [o, p, w, i] = cmds(&x);
    let ro = e.apply(o, now(), &ReleaseAll);
    assert_eq!(sigs(&ro), vec![s("CEB312Message", 2, "")]);
    assert_eq!(ro[0].body.return_info(), "新增申报成功[O-ORD000001]");
    assert_eq!(ro[0].recipients, vec![EBP.to_string(), EBC.to_string()]);
    assert_eq!(
        sigs(&e.apply(p, now(), &ReleaseAll)),
        vec![s("CEB412Message", 2, "")]
    );
    assert_eq!(
        sigs(&e.apply(w, now(), &ReleaseAll)),
        vec![s("CEB512Message", 2, "")]
    );
    let ri = e.apply(i, now(), &ReleaseAll);
    assert_eq!(
        sigs(&ri),
        vec![
            s("CEB622Message", 2, ""),
            s("CEB312Message", 120, "1800"),
            s("CEB412Message", 120, "1800"),
            s("CEB512Message", 120, "1800"),
            s("CEB622Message", 120, "1800"),
            s("CEB622Message", 399, "9004"),
            s("CEB622Message", 800, "2600"),
            s("CEB816Message", 1, ""),
        ]
    );
    assert!(
        ri[0]
            .body
            .return_info()
            .starts_with("清单新增申报成功[I-ORD000001]")
    );
    assert_eq!(ri[6].body.return_info(), "[Code:2600;Desc:放行]");
    let ReceiptBody::Inventory(accepted) = &ri[0].body else {
        panic!()
    };
    let pre_no = accepted.pre_no.clone().unwrap();
    assert!(pre_no.starts_with('B') && pre_no.len() == 18, "{pre_no}");
    let no = invt_no(&ri);
    assert_eq!(no.len(), 18);
    assert!(no.starts_with("64092026I"), "{no}");
    // 200 goods + 10 freight = 210; 13 % VAT × 0.7 = 19.11.
    let bill = tax_bill(&ri);
    assert_eq!(
        (bill.customs_tax, bill.value_added_tax, bill.consumption_tax),
        (d("0"), d("19.11"), d("0"))
    );
    assert_eq!(bill.tax_no, format!("{no}_0"));
    assert_eq!(bill.lines.len(), 1);
    let buyer = e.buyer_key("测试买家1", &id_no(1));
    assert_eq!(e.quota_used(&buyer, 2026), d("210"));

    let ch = e.take_changes();
    let view = ch
        .declarations
        .iter()
        .find(|v| v.order_no == "ORD000001")
        .unwrap();
    assert_eq!(view.status, 800);
    assert_eq!(
        view.documents,
        vec!["order", "payment", "waybill", "inventory"]
    );
    assert_eq!((view.value, view.tax), (d("210"), d("19.11")));
    assert_eq!(view.buyer_key.as_ref(), Some(&buyer));
    let tb = &ch.tax_bills[0];
    assert_eq!(tb.levy_state, LevyState::Pending);
    assert_eq!(
        (tb.due_from.yyyymmdd(), tb.due_until.yyyymmdd()),
        ("20260401".into(), "20260415".into())
    );
    assert_eq!(ch.quotas, vec![(buyer, 2026, d("210"))]);
    assert_eq!(ch.enterprises.len(), 7);
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for pos in 0..=p.len() {
            let mut q = p.clone();
            q.insert(pos, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn every_arrival_order_gives_the_same_receipts() {
    let x = docs(&spec(2));
    let perms = permutations(4);
    assert_eq!(perms.len(), 24);
    let mut reference: Option<Vec<String>> = None;
    for p in perms {
        let mut e = engine();
        let c = cmds(&x);
        let mut got: Vec<String> = Vec::new();
        for k in &p {
            for r in e.apply(c[*k].clone(), now(), &ReleaseAll) {
                got.push(format!("{r:?}"));
            }
        }
        got.sort();
        assert!(
            got.iter().any(|g| g.contains("return_status: 800")),
            "{p:?} not released"
        );
        // Four acceptances, four 120s, 399, 800 and the tax bill.
        assert_eq!(got.len(), 11, "{p:?}");
        match &reference {
            None => reference = Some(got),
            Some(r) => assert_eq!(r, &got, "order {p:?}"),
        }
    }
}

/// Runs a declaration with one document altered; returns all receipts.
fn violate(f: impl Fn(&mut Docs)) -> Vec<Receipt> {
    let mut e = engine();
    let mut x = docs(&spec(3));
    f(&mut x);
    run(&mut e, &x)
}

fn assert_rejected(rs: &[Receipt], msg: &str, status: i32, c: &str) {
    assert!(
        has(rs, msg, status, c),
        "expected {msg} {status} {c}, got {:?}",
        sigs(rs)
    );
    assert!(
        !has(rs, "CEB622Message", 800, "2600"),
        "must not release: {:?}",
        sigs(rs)
    );
}

#[test]
fn each_content_rule_has_its_code() {
    assert_rejected(
        &violate(|x| x.order.actural_paid += d("1")),
        "CEB312Message",
        100,
        "9201",
    );
    assert_rejected(
        &violate(|x| x.order.lines[0].total_price += d("1")),
        "CEB312Message",
        100,
        "9202",
    );
    assert_rejected(
        &violate(|x| {
            x.order.goods_value += d("1");
            x.order.actural_paid += d("1");
        }),
        "CEB312Message",
        100,
        "9203",
    );
    assert_rejected(
        &violate(|x| x.payment.currency = "502".into()),
        "CEB412Message",
        100,
        "9204",
    );
    assert_rejected(
        &violate(|x| x.waybill.pack_no = 2),
        "CEB512Message",
        100,
        "9204",
    );
    assert_rejected(
        &violate(|x| x.inventory.net_weight = d("2")),
        "CEB622Message",
        100,
        "9205",
    );
    assert_rejected(
        &violate(|x| {
            let l = &mut x.inventory.lines[0];
            l.qty1 = l.qty + d("1");
        }),
        "CEB622Message",
        100,
        "9206",
    );
    assert_rejected(
        &violate(|x| x.inventory.lines[0].gnum = 2),
        "CEB622Message",
        -621027,
        "-621027",
    );
    assert_rejected(
        &violate(|x| x.inventory.traf_no = None),
        "CEB622Message",
        100,
        "9208",
    );
    assert_rejected(
        &violate(|x| x.inventory.assure_code = "SELL02".into()),
        "CEB622Message",
        100,
        "9209",
    );
    // M9: a wrong check digit on the buyer's ID number.
    assert_rejected(
        &violate(|x| {
            let mut id = x.order.buyer_id_number.clone();
            let last = if id.ends_with('0') { '1' } else { '0' };
            id.pop();
            id.push(last);
            x.order.buyer_id_number = id;
        }),
        "CEB312Message",
        100,
        "1300",
    );
}

#[test]
fn each_match_rule_has_its_code() {
    assert_rejected(
        &violate(|x| {
            x.inventory.ebc_code = "SELL02".into();
            x.inventory.assure_code = "SELL02".into();
        }),
        "CEB622Message",
        100,
        "9101",
    );
    assert_rejected(
        &violate(|x| x.waybill.order_no = "OTHER".into()),
        "CEB622Message",
        100,
        "9102",
    );
    assert_rejected(
        &violate(|x| x.payment.pay_transaction_id = "TX-OTHER".into()),
        "CEB622Message",
        100,
        "13035",
    );
    assert_rejected(
        &violate(|x| x.payment.amount_paid += d("0.01")),
        "CEB622Message",
        100,
        "9104",
    );
    assert_rejected(
        &violate(|x| x.payment.payer_name = "测试他人".into()),
        "CEB622Message",
        100,
        "1327",
    );
    assert_rejected(
        &violate(|x| x.inventory.buyer_telephone = "19900009999".into()),
        "CEB622Message",
        100,
        "13127",
    );
    assert_rejected(
        &violate(|x| x.waybill.consignee_address = "别处".into()),
        "CEB622Message",
        100,
        "9107",
    );
    assert_rejected(
        &violate(|x| {
            x.inventory.lines[0].gname = "别的商品".into();
            x.inventory.lines[0].item_name = None;
        }),
        "CEB622Message",
        100,
        "1322",
    );
    // A match failure leaves the other three documents accepted (status 2, no 120).
    let rs = violate(|x| x.payment.amount_paid += d("0.01"));
    assert!(!has(&rs, "CEB312Message", 120, "1800"));
}

#[test]
fn a_matched_document_cannot_be_modified() {
    let mut e = engine();
    let x = docs(&spec(4));
    run(&mut e, &x);
    let mut o = x.order.clone();
    o.guid = "O-modify".into();
    o.app_type = "2".into();
    assert_eq!(
        sigs(&send(&mut e, EBP, Document::Order(o))),
        vec![s("CEB312Message", 100, "9111")]
    );
}

#[test]
fn a_document_can_be_modified_before_the_match() {
    let mut e = engine();
    let mut x = docs(&spec(5));
    let wrong = {
        let mut p = x.payment.clone();
        p.amount_paid += d("1");
        p
    };
    send(&mut e, PAY, Document::Payment(wrong));
    x.payment.guid = "P-fixed".into();
    x.payment.app_type = "2".into();
    let rs = run(&mut e, &x);
    assert!(has(&rs, "CEB412Message", 2, ""), "{:?}", sigs(&rs));
    assert!(has(&rs, "CEB622Message", 800, "2600"), "{:?}", sigs(&rs));
}

#[test]
fn filing_is_checked_for_the_sender_and_every_named_enterprise() {
    let x = docs(&spec(6));
    let mut e = engine();
    let r = send(&mut e, "NOBODY", Document::Order(x.order.clone()));
    assert_eq!(sigs(&r), vec![s("CEB312Message", -10102, "-10102")]);
    assert_eq!(r[0].recipients, vec!["NOBODY".to_string()]);
    // A payment institution may not declare an order.
    assert_eq!(
        sigs(&send(&mut e, PAY, Document::Order(x.order.clone()))),
        vec![s("CEB312Message", -10101, "-10101")]
    );
    // A filed platform may not declare in another platform's name.
    let mut o = x.order.clone();
    o.ebp_code = "PLAT99".into();
    assert_eq!(
        sigs(&send(&mut e, EBP, Document::Order(o))),
        vec![s("CEB312Message", 100, "9302")]
    );
    // A named enterprise that is not filed, or filed in another role.
    let mut o = x.order.clone();
    o.guid = "O-x1".into();
    o.pay_code = Some("PAY99".into());
    assert_eq!(
        sigs(&send(&mut e, EBP, Document::Order(o))),
        vec![s("CEB312Message", -10102, "-10102")]
    );
    let mut i = x.inventory.clone();
    i.logistics_code = AGT.into();
    assert_eq!(
        sigs(&send(&mut e, AGT, Document::Inventory(i))),
        vec![s("CEB622Message", -10101, "-10101")]
    );
    // Inactive filing.
    let mut off = ent(LOG, &[Role::Logistics]);
    off.active = false;
    e.apply(Command::FileEnterprise(off), now(), &ReleaseAll);
    assert_eq!(
        sigs(&send(&mut e, LOG, Document::Waybill(x.waybill.clone()))),
        vec![s("CEB512Message", 100, "9301")]
    );
}

#[test]
fn tariff_rules_refuse_unknown_unlisted_and_bonded_only_goods() {
    for (hs, c) in [
        ("9999999999", "9401"),
        ("0201100000", "9402"),
        ("0303890090", "9403"),
    ] {
        let mut e = engine();
        let x = docs(&Spec {
            lines: vec![line(hs, "1", "50")],
            ..spec(7)
        });
        let rs = run(&mut e, &x);
        assert_rejected(&rs, "CEB622Message", 100, c);
    }
}

#[test]
fn duplicates_and_idempotent_resubmission() {
    let mut e = engine();
    let x = docs(&spec(8));
    run(&mut e, &x);
    // Same guid again: nothing new.
    for c in cmds(&x) {
        assert!(e.apply(c, now(), &ReleaseAll).is_empty());
    }
    // Same business key, new guid.
    let mut o = x.order.clone();
    o.guid = "O-again".into();
    assert_eq!(
        sigs(&send(&mut e, EBP, Document::Order(o))),
        vec![s("CEB312Message", -301010, "-301010")]
    );
    let mut p = x.payment.clone();
    p.guid = "P-again".into();
    assert_eq!(
        sigs(&send(&mut e, PAY, Document::Payment(p))),
        vec![s("CEB412Message", -401007, "-401007")]
    );
    let mut w = x.waybill.clone();
    w.guid = "W-again".into();
    assert_eq!(
        sigs(&send(&mut e, LOG, Document::Waybill(w))),
        vec![s("CEB512Message", -504012, "-504012")]
    );
    let mut i = x.inventory.clone();
    i.guid = "I-again".into();
    assert_eq!(
        sigs(&send(&mut e, AGT, Document::Inventory(i))),
        vec![s("CEB622Message", -621004, "-621004")]
    );
}

#[test]
fn a_rejected_inventory_can_be_declared_again() {
    let mut e = engine();
    let mut x = docs(&spec(9));
    x.inventory.buyer_telephone = "19900009999".into();
    let rs = run(&mut e, &x);
    assert!(has(&rs, "CEB622Message", 100, "13127"));
    let y = docs(&spec(9));
    let mut i = y.inventory.clone();
    i.guid = "I-second".into();
    let rs = send(&mut e, AGT, Document::Inventory(i));
    assert!(has(&rs, "CEB622Message", 800, "2600"), "{:?}", sigs(&rs));
    assert!(has(&rs, "CEB312Message", 120, "1800"));
}

fn released(rs: &[Receipt]) -> bool {
    has(rs, "CEB622Message", 800, "2600")
}

#[test]
fn single_limit_boundaries() {
    // Exactly 5000.00 in two lines: within.
    let mut e = engine();
    let sp = Spec {
        lines: vec![line("1901101000", "2", "2500")],
        freight: d("0"),
        ..spec(10)
    };
    assert!(released(&run(&mut e, &docs(&sp))));
    // 5000.01 in two items: general trade.
    let mut e = engine();
    let sp = Spec {
        lines: vec![
            line("1901101000", "1", "2500"),
            line("1901101000", "1", "2500.01"),
        ],
        freight: d("0"),
        ..spec(11)
    };
    assert_rejected(
        &run(&mut e, &docs(&sp)),
        "CEB622Message",
        -621005,
        "-621005",
    );
    // One indivisible item at 5000.01: CBEC channel at full rates (MFN tariff charged).
    let mut e = engine();
    let rs = run(&mut e, &docs(&single(12, "1901101000", "5000.01")));
    assert!(released(&rs), "{:?}", sigs(&rs));
    let bill = tax_bill(&rs);
    assert!(bill.customs_tax > Decimal::ZERO);
    // One item at exactly 26000: not "below 26000".
    let mut e = engine();
    assert_rejected(
        &run(&mut e, &docs(&single(13, "1901101000", "26000"))),
        "CEB622Message",
        -621005,
        "-621005",
    );
}

#[test]
fn annual_limit_boundaries() {
    let mut e = engine();
    let buyer = e.buyer_key("测试买家1", &id_no(1));
    for n in 0..5 {
        let sp = Spec {
            lines: vec![line("1901101000", "2", "2100")],
            freight: d("0"),
            ..spec(20 + n)
        };
        assert!(released(&run(&mut e, &docs(&sp))));
    }
    assert_eq!(e.quota_used(&buyer, 2026), d("21000"));
    // 21000 + 5000 = 26000 exactly: allowed.
    let sp = Spec {
        lines: vec![line("1901101000", "2", "2500")],
        freight: d("0"),
        ..spec(30)
    };
    assert!(released(&run(&mut e, &docs(&sp))));
    assert_eq!(e.quota_used(&buyer, 2026), d("26000"));
    // One more fen: over the year.
    let sp = Spec {
        lines: vec![line("1901101000", "1", "0.01")],
        freight: d("0"),
        ..spec(31)
    };
    let rs = run(&mut e, &docs(&sp));
    assert_rejected(&rs, "CEB622Message", 100, "1313");
    assert_eq!(e.quota_used(&buyer, 2026), d("26000"));
    // The next calendar year (Beijing time) starts afresh.
    let rs = run_at(
        &mut e,
        &docs(&Spec {
            order_no: "ORDNY".into(),
            ..sp
        }),
        t("20270101000001"),
        &ReleaseAll,
    );
    assert!(released(&rs));
    assert_eq!(e.quota_used(&buyer, 2027), d("0.01"));
}

#[test]
fn tax_examples_of_rules_to_the_fen() {
    // Skin care, CNY 425 for 20 g: high-end, CT 52.50 + VAT 45.50.
    let mut e = engine();
    let sp = Spec {
        lines: vec![Line {
            qty1: d("0.02"),
            unit1: "035",
            ..line("3304990000", "1", "425")
        }],
        freight: d("0"),
        ..spec(40)
    };
    let rs = run(&mut e, &docs(&sp));
    let b = tax_bill(&rs);
    assert_eq!(
        (b.consumption_tax, b.value_added_tax, b.customs_tax),
        (d("52.50"), d("45.50"), d("0"))
    );
    // Wine at CNY 300: CT 23.33 + VAT 30.33 (per tax type, rounded HALF_UP).
    let mut e = engine();
    let sp = Spec {
        lines: vec![Line {
            qty1: d("0.75"),
            unit1: "095",
            ..line("2204210000", "1", "300")
        }],
        freight: d("0"),
        ..spec(41)
    };
    let rs = run(&mut e, &docs(&sp));
    let b = tax_bill(&rs);
    assert_eq!(
        (b.consumption_tax, b.value_added_tax),
        (d("23.33"), d("30.33"))
    );
}

struct Hold(Decision);
impl Decider for Hold {
    fn decide(&self, _: &DecisionContext) -> Decision {
        self.0.clone()
    }
}

pub(crate) fn cancel_of(x: &Docs, invt_no: &str, guid: &str) -> Cancel {
    let i = &x.inventory;
    Cancel {
        guid: guid.into(),
        app_type: "1".into(),
        app_time: now(),
        app_status: "2".into(),
        customs_code: i.customs_code.clone(),
        order_no: i.order_no.clone(),
        ebp_code: i.ebp_code.clone(),
        ebp_name: i.ebp_name.clone(),
        ebc_code: i.ebc_code.clone(),
        ebc_name: i.ebc_name.clone(),
        logistics_no: i.logistics_no.clone(),
        logistics_code: i.logistics_code.clone(),
        logistics_name: i.logistics_name.clone(),
        cop_no: i.cop_no.clone(),
        pre_no: None,
        invt_no: invt_no.into(),
        buyer_id_type: "1".into(),
        buyer_id_number: i.buyer_id_number.clone(),
        buyer_name: i.buyer_name.clone(),
        buyer_telephone: i.buyer_telephone.clone(),
        agent_code: i.agent_code.clone(),
        agent_name: i.agent_name.clone(),
        reason: "买家取消".into(),
        note: None,
    }
}

pub(crate) fn refund_of(x: &Docs, invt_no: &str, guid: &str, lines: &[(u32, &str)]) -> Refund {
    let c = cancel_of(x, invt_no, guid);
    Refund {
        guid: c.guid,
        app_type: c.app_type,
        app_time: c.app_time,
        app_status: c.app_status,
        customs_code: c.customs_code,
        order_no: c.order_no,
        ebp_code: c.ebp_code,
        ebp_name: c.ebp_name,
        ebc_code: c.ebc_code,
        ebc_name: c.ebc_name,
        logistics_no: c.logistics_no,
        logistics_code: c.logistics_code,
        logistics_name: c.logistics_name,
        cop_no: c.cop_no,
        pre_no: None,
        invt_no: c.invt_no,
        buyer_id_type: c.buyer_id_type,
        buyer_id_number: c.buyer_id_number,
        buyer_name: c.buyer_name,
        buyer_telephone: c.buyer_telephone,
        agent_code: c.agent_code,
        agent_name: c.agent_name,
        reason: "质量问题".into(),
        note: None,
        lines: lines
            .iter()
            .map(|(g, q)| {
                let l = &x.inventory.lines[*g as usize - 1];
                RefundLine {
                    gnum: *g,
                    gcode: l.gcode.clone(),
                    gname: l.gname.clone(),
                    qty: d(q),
                    unit: l.unit.clone(),
                    note: None,
                }
            })
            .collect(),
    }
}

#[test]
fn cancel_before_release_withdraws_and_restores_quota() {
    let mut e = engine();
    let x = docs(&spec(50));
    let rs = run_at(&mut e, &x, now(), &Hold(Decision::DocumentReview));
    assert!(has(&rs, "CEB622Message", 300, "1200"), "{:?}", sigs(&rs));
    let no = invt_no(&rs);
    let buyer = e.buyer_key("测试买家1", &id_no(1));
    assert_eq!(e.quota_used(&buyer, 2026), d("210"));
    let rc = send(&mut e, AGT, Document::Cancel(cancel_of(&x, &no, "C-1")));
    assert_eq!(
        sigs(&rc),
        vec![s("CEB624Message", 2, ""), s("CEB624Message", 399, "2300")]
    );
    assert_eq!(
        rc[1].body.return_info(),
        "[Code:2300;Desc:撤单申请审核通过,清单已成功撤单]"
    );
    assert_eq!(e.quota_used(&buyer, 2026), d("0"));
    // No tax bill, and the regulator can no longer release it.
    let id = DeclarationId::derive(EBP, &x.order.order_no);
    let rs = e.apply(
        Command::Conclude {
            declaration: id.clone(),
            release: true,
            reason: String::new(),
        },
        now(),
        &ReleaseAll,
    );
    assert!(rs.is_empty());
    let ch = e.take_changes();
    assert!(ch.tax_bills.is_empty());
    assert_eq!(e.declaration(&id).unwrap().status, 399);
    // A second cancellation is refused.
    assert_eq!(
        sigs(&send(
            &mut e,
            AGT,
            Document::Cancel(cancel_of(&x, &no, "C-2"))
        )),
        vec![s("CEB624Message", 100, "9503")]
    );
}

#[test]
fn cancel_after_release_is_refused() {
    let mut e = engine();
    let x = docs(&spec(51));
    let no = invt_no(&run(&mut e, &x));
    assert_eq!(
        sigs(&send(
            &mut e,
            AGT,
            Document::Cancel(cancel_of(&x, &no, "C-1"))
        )),
        vec![s("CEB624Message", 100, "9502")]
    );
    assert_eq!(
        sigs(&send(
            &mut e,
            AGT,
            Document::Cancel(cancel_of(&x, "64092026I999999999", "C-2"))
        )),
        vec![s("CEB624Message", 100, "9501")]
    );
}

#[test]
fn review_and_inspection_wait_for_the_regulator() {
    let mut e = engine();
    let x = docs(&spec(52));
    let rs = run_at(&mut e, &x, now(), &Hold(Decision::Inspection));
    assert!(has(&rs, "CEB622Message", 500, "9001"));
    let id = DeclarationId::derive(EBP, &x.order.order_no);
    let rs = e.apply(
        Command::Conclude {
            declaration: id.clone(),
            release: true,
            reason: "查验无误".into(),
        },
        now(),
        &ReleaseAll,
    );
    assert_eq!(
        sigs(&rs),
        vec![
            s("CEB622Message", 399, "9004"),
            s("CEB622Message", 800, "2600"),
            s("CEB816Message", 1, "")
        ]
    );
    // Concluding again changes nothing: statuses never regress.
    assert!(
        e.apply(
            Command::Conclude {
                declaration: id,
                release: false,
                reason: String::new()
            },
            now(),
            &ReleaseAll
        )
        .is_empty()
    );

    let x = docs(&spec(53));
    run_at(&mut e, &x, now(), &Hold(Decision::DocumentReview));
    let buyer = e.buyer_key("测试买家1", &id_no(1));
    let before = e.quota_used(&buyer, 2026);
    let id = DeclarationId::derive(EBP, &x.order.order_no);
    let rs = e.apply(
        Command::Conclude {
            declaration: id,
            release: false,
            reason: "单证不符".into(),
        },
        now(),
        &ReleaseAll,
    );
    assert_eq!(sigs(&rs), vec![s("CEB622Message", 100, "9003")]);
    assert_eq!(e.quota_used(&buyer, 2026), before - d("210"));
    // A decider's own rejection code reaches the sender, and the quota is given back.
    let mut e = engine();
    let rs = run_at(
        &mut e,
        &docs(&spec(54)),
        now(),
        &Hold(Decision::Reject {
            code: "R001".into(),
            desc: "风险拦截".into(),
        }),
    );
    assert!(has(&rs, "CEB622Message", 100, "R001"));
    assert_eq!(e.quota_used(&buyer, 2026), d("0"));
}

#[test]
fn full_return_within_30_days_voids_the_tax_and_restores_quota() {
    let mut e = engine();
    let x = docs(&spec(60));
    let no = invt_no(&run(&mut e, &x));
    let buyer = e.buyer_key("测试买家1", &id_no(1));
    e.take_changes();
    // Released 2026-03-01; day 30 is 2026-03-31.
    let at = t("20260331235959");
    let rs = e.apply(
        Command::Declare {
            sender: AGT.into(),
            document: Document::Refund(refund_of(&x, &no, "R-1", &[(1, "2")])),
        },
        at,
        &ReleaseAll,
    );
    assert_eq!(
        sigs(&rs),
        vec![
            s("CEB626Message", 2, ""),
            s("CEB626Message", 399, "9002"),
            s("CEB818Message", 3, "")
        ]
    );
    assert_eq!(e.quota_used(&buyer, 2026), d("0"));
    let ch = e.take_changes();
    let tb = &ch.tax_bills[0];
    assert_eq!(
        (tb.status, tb.levy_state, tb.vat),
        (3, LevyState::NotLevied, d("0"))
    );
    // Nothing left to return.
    let rs = e.apply(
        Command::Declare {
            sender: AGT.into(),
            document: Document::Refund(refund_of(&x, &no, "R-2", &[(1, "1")])),
        },
        at,
        &ReleaseAll,
    );
    assert_eq!(sigs(&rs), vec![s("CEB626Message", 100, "9211")]);
}

#[test]
fn partial_return_reassesses_and_restores_its_share() {
    let mut e = engine();
    let sp = Spec {
        lines: vec![
            line("1901101000", "1", "100"),
            line("1901101000", "3", "100"),
        ],
        freight: d("0"),
        ..spec(61)
    };
    let x = docs(&sp);
    let rs = run(&mut e, &x);
    assert_eq!(tax_bill(&rs).value_added_tax, d("36.40"));
    let no = invt_no(&rs);
    let buyer = e.buyer_key("测试买家1", &id_no(1));
    let rs = send(
        &mut e,
        AGT,
        Document::Refund(refund_of(&x, &no, "R-1", &[(2, "1")])),
    );
    assert_eq!(
        sigs(&rs),
        vec![
            s("CEB626Message", 2, ""),
            s("CEB626Message", 399, "9002"),
            s("CEB818Message", 3, ""),
            s("CEB816Message", 1, "")
        ]
    );
    let b = tax_bill(&rs);
    assert_eq!(b.value_added_tax, d("27.30"));
    assert_eq!(b.tax_no, format!("{no}_1"));
    assert_eq!(e.quota_used(&buyer, 2026), d("300"));
    // A11: unknown gnum and excess quantity.
    let mut bad = refund_of(&x, &no, "R-2", &[(1, "1")]);
    bad.lines[0].gnum = 9;
    assert_eq!(
        sigs(&send(&mut e, AGT, Document::Refund(bad))),
        vec![s("CEB626Message", -625209, "-625209")]
    );
    assert_eq!(
        sigs(&send(
            &mut e,
            AGT,
            Document::Refund(refund_of(&x, &no, "R-3", &[(2, "3")]))
        )),
        vec![s("CEB626Message", 100, "9211")]
    );
}

#[test]
fn return_after_30_days_is_refused() {
    let mut e = engine();
    let x = docs(&spec(62));
    let no = invt_no(&run(&mut e, &x));
    let buyer = e.buyer_key("测试买家1", &id_no(1));
    let at = t("20260401000001");
    let rs = e.apply(
        Command::Declare {
            sender: AGT.into(),
            document: Document::Refund(refund_of(&x, &no, "R-1", &[(1, "2")])),
        },
        at,
        &ReleaseAll,
    );
    assert_eq!(sigs(&rs), vec![s("CEB626Message", 100, "9504")]);
    assert_eq!(e.quota_used(&buyer, 2026), d("210"));
    // A return of an inventory that was never released.
    let y = docs(&spec(63));
    let rs = run_at(&mut e, &y, now(), &Hold(Decision::DocumentReview));
    let no = invt_no(&rs);
    assert_eq!(
        sigs(&send(
            &mut e,
            AGT,
            Document::Refund(refund_of(&y, &no, "R-9", &[(1, "1")]))
        )),
        vec![s("CEB626Message", 100, "9505")]
    );
}

#[test]
fn interleaved_declarations_of_one_buyer_never_exceed_the_year() {
    let mut e = engine();
    let buyer = e.buyer_key("测试买家1", &id_no(1));
    let all: Vec<[Command; 4]> = (0..10)
        .map(|n| {
            cmds(&docs(&Spec {
                lines: vec![line("1901101000", "1", "4000")],
                freight: d("0"),
                ..spec(100 + n)
            }))
        })
        .collect();
    let mut receipts = Vec::new();
    // Round-robin by document kind, inventories first for half of them.
    for k in [3, 0, 2, 1] {
        for (n, c) in all.iter().enumerate() {
            let k = if n % 2 == 0 { k } else { 3 - k };
            receipts.extend(e.apply(c[k].clone(), now(), &ReleaseAll));
            assert!(e.quota_used(&buyer, 2026) <= d("26000"));
        }
    }
    let releases = receipts
        .iter()
        .filter(|r| r.body.message_type() == "CEB622Message" && r.body.return_status() == 800)
        .count();
    let refusals = receipts
        .iter()
        .filter(|r| code(r.body.return_info()) == Some("1313"))
        .count();
    assert_eq!((releases, refusals), (6, 4));
    assert_eq!(e.quota_used(&buyer, 2026), d("24000"));
}

#[test]
fn restored_engine_behaves_identically() {
    let mut a = engine();
    let x = docs(&spec(70));
    let no = invt_no(&run(&mut a, &x));
    let y = docs(&spec(71));
    let [o, p, _, _] = cmds(&y);
    a.apply(o, now(), &ReleaseAll);
    a.apply(p, now(), &ReleaseAll);
    let rows: Vec<(String, String, Vec<u8>)> = a
        .take_changes()
        .state
        .into_iter()
        .filter_map(|(n, k, v)| v.map(|v| (n, k, v)))
        .collect();
    let mut b = Engine::restore(Settings::default(), b"test-secret".to_vec(), rows).unwrap();
    let [_, _, w, i] = cmds(&y);
    let further = vec![
        w,
        i,
        Command::Declare {
            sender: AGT.into(),
            document: Document::Refund(refund_of(&x, &no, "R-1", &[(1, "1")])),
        },
        cmds(&x)[0].clone(),
        Command::Declare {
            sender: LOG.into(),
            document: Document::WaybillStatus(signed(&x)),
        },
    ];
    for c in further {
        let ra = a.apply(c.clone(), now(), &ReleaseAll);
        let rb = b.apply(c, now(), &ReleaseAll);
        assert_eq!(ra, rb);
    }
    let buyer = a.buyer_key("测试买家1", &id_no(1));
    assert_eq!(a.quota_used(&buyer, 2026), b.quota_used(&buyer, 2026));
    assert_eq!(b.registry().all().count(), 7);
}

fn signed(x: &Docs) -> WaybillStatus {
    WaybillStatus {
        guid: format!("S-{}", x.waybill.logistics_no),
        app_type: "1".into(),
        app_time: now(),
        app_status: "2".into(),
        logistics_code: LOG.into(),
        logistics_name: "测试物流".into(),
        logistics_no: x.waybill.logistics_no.clone(),
        logistics_status: "S".into(),
        logistics_time: now(),
        note: None,
    }
}

#[test]
fn waybill_status_and_delivery_are_answered() {
    let mut e = engine();
    let x = docs(&spec(80));
    run(&mut e, &x);
    assert_eq!(
        sigs(&send(&mut e, LOG, Document::WaybillStatus(signed(&x)))),
        vec![s("CEB514Message", 2, "")]
    );
    let mut again = signed(&x);
    again.guid = "S-again".into();
    assert_eq!(
        sigs(&send(&mut e, LOG, Document::WaybillStatus(again))),
        vec![s("CEB514Message", 100, "9508")]
    );
    let mut unknown = signed(&x);
    unknown.guid = "S-unknown".into();
    unknown.logistics_no = "WB-NONE".into();
    assert_eq!(
        sigs(&send(&mut e, LOG, Document::WaybillStatus(unknown))),
        vec![s("CEB514Message", 100, "9506")]
    );
    let dl = Delivery {
        guid: "DL-1".into(),
        app_type: "1".into(),
        app_time: now(),
        app_status: "2".into(),
        customs_code: "6409".into(),
        cop_no: None,
        pre_no: None,
        rkd_no: None,
        operator_code: OPR.into(),
        operator_name: "测试场所".into(),
        ie_flag: "I".into(),
        traf_mode: "5".into(),
        traf_no: "CA999".into(),
        voyage_no: "V001".into(),
        bill_no: "999-00000000".into(),
        logistics_code: LOG.into(),
        logistics_name: "测试物流".into(),
        unload_location: None,
        note: None,
        lines: vec![DeliveryLine {
            gnum: 1,
            logistics_no: x.waybill.logistics_no.clone(),
            note: None,
        }],
    };
    assert_eq!(
        sigs(&send(&mut e, OPR, Document::Delivery(dl.clone()))),
        vec![s("CEB712Message", 2, "")]
    );
    let mut other = dl;
    other.guid = "DL-2".into();
    assert_eq!(
        sigs(&send(&mut e, LOG, Document::Delivery(other))),
        vec![s("CEB712Message", -10101, "-10101")]
    );
}

#[test]
fn saved_nodes_and_bad_app_types_are_answered_without_processing() {
    let mut e = engine();
    let mut x = docs(&spec(81));
    x.order.app_status = "1".into();
    assert_eq!(
        sigs(&send(&mut e, EBP, Document::Order(x.order.clone()))),
        vec![s("CEB312Message", 1, "")]
    );
    let mut o = x.order.clone();
    o.guid = "O-del".into();
    o.app_status = "2".into();
    o.app_type = "3".into();
    assert_eq!(
        sigs(&send(&mut e, EBP, Document::Order(o))),
        vec![s("CEB312Message", -301009, "-301009")]
    );
}

#[test]
fn receipts_and_logs_never_show_personal_data_in_clear() {
    let x = docs(&spec(90));
    let id = &x.order.buyer_id_number;
    for dbg in [
        format!("{:?}", x.order),
        format!("{:?}", x.payment),
        format!("{:?}", x.inventory),
        format!("{:?}", x.waybill),
    ] {
        assert!(!dbg.contains(id.as_str()), "{dbg}");
        assert!(!dbg.contains("测试买家90"), "{dbg}");
        assert!(!dbg.contains("19900000090"), "{dbg}");
    }
    let mut e = engine();
    assert!(!format!("{e:?}").contains("test-secret") && !format!("{e:?}").contains("116, 101"));
    for r in run(&mut e, &x) {
        let dbg = format!("{r:?}");
        assert!(
            !dbg.contains(id.as_str()) && !dbg.contains("测试买家"),
            "{dbg}"
        );
    }
}

#[test]
fn declaration_ids_are_stable_and_opaque() {
    let a = DeclarationId::derive(EBP, "ORD1");
    assert_eq!(a, DeclarationId::derive(EBP, "ORD1"));
    assert_ne!(a, DeclarationId::derive(EBP, "ORD2"));
    assert_eq!(a.0.len(), 25);
    assert!(a.0.starts_with('D') && !a.0.contains("ORD1"));
}

#[test]
fn errors_md_documents_every_catalogue_code() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
        .unwrap();
    let codes: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
    assert_eq!(codes.len(), ErrorCode::ALL.len(), "codes must be unique");
    for c in ErrorCode::ALL {
        assert!(
            doc.contains(&format!("`{}`", c.code())),
            "docs/errors.md lacks {}",
            c.code()
        );
    }
}

#[test]
fn amount_tolerance_setting_relaxes_a1_and_m4() {
    let strict = violate(|x| x.payment.amount_paid += d("0.50"));
    assert_rejected(&strict, "CEB622Message", 100, "9104");
    let mut e = engine_with(Settings {
        amount_tolerance: d("1"),
        ..Settings::default()
    });
    let mut x = docs(&spec(3));
    x.payment.amount_paid += d("0.50");
    x.order.actural_paid += d("0.50");
    x.payment.amount_paid += d("0.50");
    assert!(released(&run(&mut e, &x)));
}
