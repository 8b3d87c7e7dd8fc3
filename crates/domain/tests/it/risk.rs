//! The risk rules as a regulator sees them: each fires on its pattern and stays quiet on honest
//! traffic just short of its threshold; modes, versions and refused changes; replay determinism.

use domain::risk::{
    Evidence, ReferencePrices, RiskConfig, RiskHit, RiskIndex, RiskInput, RiskLine, RuleChange,
    RuleId, RuleMode,
};
use domain::time::Timestamp;
use rust_decimal::Decimal;
use serde_json::json;

const MIN: i64 = 60_000;
const H: i64 = 60 * MIN;
const D: i64 = 24 * H;
/// 2026-06-01 around noon, Beijing time.
const T0: i64 = 1_780_286_400_000;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A 64-hex keyed-hash stand-in (FNV-1a, repeated), distinct per tag in its first 12 chars.
fn key(tag: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tag.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}").repeat(4)
}

fn line(gnum: u32, hs: &str, qty: &str, price: &str) -> RiskLine {
    let qty = dec(qty);
    let unit_price = dec(price);
    RiskLine {
        gnum,
        hs: hs.to_owned(),
        qty,
        unit: "142".to_owned(),
        unit_price,
        total: qty * unit_price,
    }
}

/// An honest declaration: its own buyer, payer, phone and address, an old seller, one line of
/// lotion at an honest price, payment a few minutes after the order and before the inventory.
fn honest(id: &str, at: i64) -> RiskInput {
    RiskInput {
        declaration: id.to_owned(),
        at: Timestamp(at),
        buyer: key(&format!("buyer {id}")),
        payer: key(&format!("payer {id}")),
        phone: key(&format!("phone {id}")),
        address: key(&format!("address {id}")),
        ebc_code: "3301960AAA".to_owned(),
        ebp_code: "3301960PPP".to_owned(),
        ebc_filed_at: Some(Timestamp(T0 - 1000 * D)),
        value: dec("300"),
        single_limit: dec("5000"),
        annual_limit: dec("26000"),
        quota_used_before: Decimal::ZERO,
        order_declared_at: Timestamp(at - 30 * MIN),
        paid_at: Timestamp(at - 28 * MIN),
        inventory_declared_at: Timestamp(at - 20 * MIN),
        lines: vec![line(1, "3304990099", "1", "300")],
    }
}

/// Evaluates then records each input, as the clearance engine does; the hits of each input.
fn run(cfg: &RiskConfig, inputs: &[RiskInput]) -> Vec<Vec<RiskHit>> {
    let refs = ReferencePrices::builtin();
    let mut ix = RiskIndex::default();
    inputs
        .iter()
        .map(|i| {
            let hits = ix.evaluate(cfg, &refs, i);
            ix.record(cfg, i);
            hits
        })
        .collect()
}

fn fired(hits: &[RiskHit], rule: RuleId) -> Option<&RiskHit> {
    hits.iter().find(|h| h.rule == rule)
}

fn ev<'a>(hit: &'a RiskHit, name: &str) -> &'a str {
    hit.evidence
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.value.as_str())
        .unwrap_or_else(|| panic!("no evidence {name} in {:?}", hit.evidence))
}

/// Which of the inputs fired `rule` (their indexes).
fn firing(all: &[Vec<RiskHit>], rule: RuleId) -> Vec<usize> {
    all.iter()
        .enumerate()
        .filter(|(_, h)| fired(h, rule).is_some())
        .map(|(i, _)| i)
        .collect()
}

fn with_buyer(mut i: RiskInput, tag: &str) -> RiskInput {
    i.buyer = key(tag);
    i
}

fn with_value(mut i: RiskInput, v: &str) -> RiskInput {
    i.value = dec(v);
    i.lines = vec![line(1, "3304990099", "1", v)];
    i
}

// ---------- R4 order splitting ----------

#[test]
fn r4_three_parcels_under_the_limit_that_add_up_above_it_fire() {
    let cfg = RiskConfig::default();
    let inputs = vec![
        with_value(with_buyer(honest("D1", T0), "ring"), "2000"),
        with_value(with_buyer(honest("D2", T0 + 3 * H), "ring"), "2000"),
        with_value(with_buyer(honest("D3", T0 + 20 * H), "ring"), "2100"),
    ];
    let all = run(&cfg, &inputs);
    assert_eq!(firing(&all, RuleId::R4), vec![2]);
    let hit = fired(&all[2], RuleId::R4).unwrap();
    assert_eq!(ev(hit, "by"), "buyer");
    assert_eq!(ev(hit, "orders_in_window"), "3");
    assert_eq!(ev(hit, "sum"), "6100.00");
    assert_eq!(ev(hit, "declarations"), "D1,D2,D3");
    assert_eq!(ev(hit, "window_hours"), "24");
    assert_eq!((hit.score, hit.version, hit.mode), (40, 1, RuleMode::On));
    // The buyer's key is shortened, never shown whole.
    assert_eq!(ev(hit, "key"), &key("ring")[..12]);
    assert!(!hit.summary.contains(&key("ring")));
}

#[test]
fn r4_catches_different_buyers_shipping_to_one_address() {
    let cfg = RiskConfig::default();
    let addr = key("drop point");
    let inputs: Vec<RiskInput> = (0..3)
        .map(|n| {
            let mut i = with_value(honest(&format!("A{n}"), T0 + n * H), "1800");
            i.address = addr.clone();
            i
        })
        .collect();
    let all = run(&cfg, &inputs);
    let hit = fired(&all[2], RuleId::R4).unwrap();
    assert_eq!(ev(hit, "by"), "address");
    assert_eq!(ev(hit, "sum"), "5400.00");
}

#[test]
fn r4_stays_quiet_just_under_the_limit_and_outside_the_window() {
    let cfg = RiskConfig::default();
    // Three parcels totalling exactly the single limit: not above it.
    let under = vec![
        with_value(with_buyer(honest("U1", T0), "b"), "1600"),
        with_value(with_buyer(honest("U2", T0 + H), "b"), "1700"),
        with_value(with_buyer(honest("U3", T0 + 2 * H), "b"), "1700"),
    ];
    assert!(firing(&run(&cfg, &under), RuleId::R4).is_empty());
    // Above the limit together, but the first fell out of the 24 h window.
    let spread = vec![
        with_value(with_buyer(honest("S1", T0), "c"), "2000"),
        with_value(with_buyer(honest("S2", T0 + 2 * H), "c"), "2000"),
        with_value(with_buyer(honest("S3", T0 + 24 * H + 1), "c"), "2100"),
    ];
    assert!(firing(&run(&cfg, &spread), RuleId::R4).is_empty());
}

// ---------- R5 velocity ----------

fn velocity_run(n: usize, spacing: i64, set: impl Fn(&mut RiskInput)) -> Vec<Vec<RiskHit>> {
    let inputs: Vec<RiskInput> = (0..n)
        .map(|k| {
            let mut i = with_value(honest(&format!("V{k}"), T0 + k as i64 * spacing), "100");
            set(&mut i);
            i
        })
        .collect();
    run(&RiskConfig::default(), &inputs)
}

#[test]
fn r5_fires_on_the_sixth_declaration_of_one_buyer_payer_or_phone_in_a_day() {
    let same_buyer = velocity_run(6, 2 * H, |i| i.buyer = key("fast buyer"));
    assert_eq!(firing(&same_buyer, RuleId::R5Buyer), vec![5]);
    let hit = fired(&same_buyer[5], RuleId::R5Buyer).unwrap();
    assert_eq!(ev(hit, "orders_in_window"), "6");
    assert_eq!(ev(hit, "declarations"), "V0,V1,V2,V3,V4,V5");
    assert_eq!(hit.score, 20);

    let same_payer = velocity_run(6, 2 * H, |i| i.payer = key("one card"));
    assert_eq!(firing(&same_payer, RuleId::R5Payer), vec![5]);
    assert!(firing(&same_payer, RuleId::R5Buyer).is_empty());

    let same_phone = velocity_run(6, 2 * H, |i| i.phone = key("one phone"));
    assert_eq!(firing(&same_phone, RuleId::R5Phone), vec![5]);
}

#[test]
fn r5_address_fires_on_the_eighth_declaration_to_one_address() {
    let hits = velocity_run(8, H, |i| {
        i.address = key("one door");
        // Two household members alternate: no buyer reaches its own threshold.
        let who = if i.declaration.ends_with(['0', '2', '4', '6']) {
            "x"
        } else {
            "y"
        };
        i.buyer = key(who);
    });
    assert_eq!(firing(&hits, RuleId::R5Address), vec![7]);
    assert!(firing(&hits, RuleId::R5Buyer).is_empty());
    assert!(firing(&hits, RuleId::R6Address).is_empty());
}

#[test]
fn r5_stays_quiet_for_five_a_day() {
    // Five within 24 h, the sixth 1 ms after the first has left the window.
    let hits = velocity_run(6, 24 * H / 5 + 1, |i| i.buyer = key("steady buyer"));
    assert!(firing(&hits, RuleId::R5Buyer).is_empty());
}

// ---------- R6 one address many IDs / one ID many addresses ----------

#[test]
fn r6_address_fires_on_the_fourth_buyer_at_one_address_within_30_days() {
    let cfg = RiskConfig::default();
    let inputs: Vec<RiskInput> = (0..4)
        .map(|k| {
            let mut i = honest(&format!("M{k}"), T0 + k * 9 * D);
            i.address = key("warehouse");
            i
        })
        .collect();
    let all = run(&cfg, &inputs);
    assert_eq!(firing(&all, RuleId::R6Address), vec![3]);
    let hit = fired(&all[3], RuleId::R6Address).unwrap();
    assert_eq!(ev(hit, "distinct_buyers"), "4");
    assert_eq!(ev(hit, "buyers").split(',').count(), 4);
    assert!(ev(hit, "buyers").split(',').all(|b| b.len() == 12));
    assert_eq!(hit.score, 40);
}

#[test]
fn r6_address_stays_quiet_for_a_household_and_for_buyers_a_month_apart() {
    let cfg = RiskConfig::default();
    // Three buyers, each twice: three distinct IDs.
    let household: Vec<RiskInput> = (0..6)
        .map(|k| {
            let mut i = honest(&format!("F{k}"), T0 + k * 3 * D);
            i.address = key("family");
            i.buyer = key(&format!("member {}", k % 3));
            i
        })
        .collect();
    assert!(firing(&run(&cfg, &household), RuleId::R6Address).is_empty());
    // Four buyers, but the first more than 30 days before the fourth.
    let moved: Vec<RiskInput> = (0..4)
        .map(|k| {
            let mut i = honest(&format!("R{k}"), T0 + k * 10 * D + k);
            i.address = key("flat");
            i
        })
        .collect();
    assert!(firing(&run(&cfg, &moved), RuleId::R6Address).is_empty());
}

#[test]
fn r6_id_fires_on_the_fourth_address_of_one_buyer_and_not_the_third() {
    let cfg = RiskConfig::default();
    let inputs: Vec<RiskInput> = (0..4)
        .map(|k| with_buyer(honest(&format!("I{k}"), T0 + k * 5 * D), "borrowed id"))
        .collect();
    let all = run(&cfg, &inputs);
    assert_eq!(firing(&all, RuleId::R6Id), vec![3]);
    let hit = fired(&all[3], RuleId::R6Id).unwrap();
    assert_eq!(ev(hit, "distinct_addresses"), "4");
    assert_eq!(hit.score, 30);
    // Home and office, many times: two addresses.
    let commuter: Vec<RiskInput> = (0..8)
        .map(|k| {
            let mut i = with_buyer(honest(&format!("C{k}"), T0 + k * 3 * D), "commuter");
            i.address = key(if k % 2 == 0 { "home" } else { "office" });
            i
        })
        .collect();
    assert!(firing(&run(&cfg, &commuter), RuleId::R6Id).is_empty());
}

// ---------- R7 undervaluation ----------

#[test]
fn r7_fires_on_a_line_at_35_percent_of_the_catalogue_price_and_names_it() {
    let cfg = RiskConfig::default();
    let mut i = honest("P1", T0);
    // NDH-LO120 lotion: price_min 90, declared at 35 % of it.
    i.lines = vec![
        line(1, "3304990099", "1", "200"),
        line(2, "3304990099", "2", "31.50"),
    ];
    let all = run(&cfg, &[i]);
    let hit = fired(&all[0], RuleId::R7).unwrap();
    assert_eq!(ev(hit, "line"), "2");
    assert_eq!(ev(hit, "declared_unit_price"), "31.50");
    assert_eq!(ev(hit, "reference_unit_price"), "163.00");
    assert_eq!(ev(hit, "ratio"), "0.19");
    assert_eq!(hit.score, 40);
    assert_eq!(hit.evidence.iter().filter(|e| e.name == "line").count(), 1);
}

#[test]
fn r7_threshold_is_half_the_reference_and_unlisted_codes_are_skipped() {
    let cfg = RiskConfig::default();
    let at = |price: &str, hs: &str| {
        let mut i = honest("P", T0);
        i.lines = vec![line(1, hs, "1", price)];
        fired(&run(&cfg, &[i])[0], RuleId::R7).is_some()
    };
    // Reference 163: half is 81.50.
    assert!(!at("81.50", "3304990099"));
    assert!(at("81.49", "3304990099"));
    // Beef is not in the table: no reference, no judgement.
    assert!(!at("0.01", "0201100000"));
}

/// The demo catalogue (crates/traffic/src/catalogue.rs): hs and price_min per product.
const CATALOGUE_MIN: [(&str, &str); 16] = [
    ("3304990099", "180"),
    ("3304990099", "260"),
    ("3304990099", "90"),
    ("3304100000", "160"),
    ("3303000000", "420"),
    ("1901101000", "188"),
    ("1509200000", "78"),
    ("2204210000", "128"),
    ("2106909090", "88"),
    ("6403990090", "680"),
    ("6110200090", "220"),
    ("4202210090", "1280"),
    ("8509800000", "480"),
    ("9102110000", "1680"),
    ("9503008900", "99"),
    ("3401110000", "25"),
];

#[test]
fn builtin_reference_prices_never_flag_honest_catalogue_prices() {
    let refs = ReferencePrices::builtin();
    assert_eq!(refs.len(), 14);
    for (hs, min) in CATALOGUE_MIN {
        let reference = refs.lookup(hs).unwrap();
        assert!(
            dec(min) >= dec("0.55") * reference,
            "{hs}: {min} vs {reference}"
        );
    }
    let cfg = RiskConfig::default();
    let mut ix = RiskIndex::default();
    for (k, (hs, min)) in CATALOGUE_MIN.iter().enumerate() {
        let mut honest_line = honest(&format!("H{k}"), T0 + k as i64 * H);
        honest_line.lines = vec![line(1, hs, "1", min)];
        assert!(fired(&ix.evaluate(&cfg, &refs, &honest_line), RuleId::R7).is_none());
        ix.record(&cfg, &honest_line);
        // The undervaluing seller at ~35 % of price_min is caught, except on the dearest of the
        // three products sharing 3304990099 (35 % of 260 is 91, above half of 163).
        let mut cheap = honest(&format!("L{k}"), T0 + k as i64 * H);
        cheap.lines = vec![line(1, hs, "1", &(dec(min) * dec("0.35")).to_string())];
        let caught = fired(&ix.evaluate(&cfg, &refs, &cheap), RuleId::R7).is_some();
        assert_eq!(caught, *min != "260", "{hs} at 35 % of {min}");
    }
}

#[test]
fn reference_prices_parse_prefixes_and_name_bad_lines() {
    let refs = ReferencePrices::parse_csv(
        "hs,unit,reference_price,note\n3304,142,100,heading, with a comma\n330499,142,150,subheading\n",
    )
    .unwrap();
    assert_eq!(refs.lookup("3304990099"), Some(dec("150")));
    assert_eq!(refs.lookup("3304100000"), Some(dec("100")));
    assert_eq!(refs.lookup("3303000000"), None);

    let err = |csv: &str| ReferencePrices::parse_csv(csv).unwrap_err().to_string();
    assert!(err("hs,price\n").contains("header"));
    assert!(err("hs,unit,reference_price,note\n3304,142,10,x\n33A4,142,10,x\n").contains("line 3"));
    assert!(err("hs,unit,reference_price,note\n330,142,10,x\n").contains("4 to 10 digits"));
    assert!(err("hs,unit,reference_price,note\n3304,142,0,x\n").contains("greater than zero"));
    assert!(err("hs,unit,reference_price,note\n3304,142,abc,x\n").contains("not a number"));
    assert!(err("hs,unit,reference_price,note\n3304,142,1,x\n3304,142,2,y\n").contains("twice"));
}

// ---------- R8 impossible sequence ----------

#[test]
fn r8_fires_on_payments_after_the_inventory_or_long_before_the_order() {
    let cfg = RiskConfig::default();
    let check = |f: &dyn Fn(&mut RiskInput)| {
        let mut i = honest("S", T0);
        f(&mut i);
        run(&cfg, &[i]).remove(0)
    };
    let late = check(&|i| i.paid_at = Timestamp(i.inventory_declared_at.0 + 11 * MIN));
    let hit = fired(&late, RuleId::R8).unwrap();
    assert_eq!(ev(hit, "paid_after_inventory_minutes"), "11");
    assert_eq!(hit.score, 50);
    let future = check(&|i| {
        i.inventory_declared_at = Timestamp(i.at.0);
        i.paid_at = Timestamp(i.at.0 + 11 * MIN);
    });
    assert!(fired(&future, RuleId::R8).is_some());
    let stale = check(&|i| i.paid_at = Timestamp(i.order_declared_at.0 - 31 * D));
    assert_eq!(
        ev(fired(&stale, RuleId::R8).unwrap(), "paid_before_order_days"),
        "31"
    );
}

#[test]
fn r8_tolerates_clock_skew_and_early_payments_within_the_limits() {
    let cfg = RiskConfig::default();
    let mut skew = honest("S", T0);
    skew.paid_at = Timestamp(skew.inventory_declared_at.0 + 10 * MIN);
    let mut early = honest("E", T0 + H);
    early.paid_at = Timestamp(early.order_declared_at.0 - 29 * D);
    assert!(firing(&run(&cfg, &[skew, early]), RuleId::R8).is_empty());
}

// ---------- R9 volume spike of a new enterprise ----------

/// A seller filed 10 days before T0 with `per_day` declarations on each of the 7 days before the
/// last 24 h, then `burst` declarations in the last 24 h up to T0.
fn seller_run(filed_days_ago: i64, per_day: i64, burst: i64) -> Vec<Vec<RiskHit>> {
    let mut inputs = Vec::new();
    let mut n = 0;
    let mut push = |at: i64, inputs: &mut Vec<RiskInput>| {
        let mut i = honest(&format!("N{n}"), at);
        i.ebc_code = "3301960NEW".to_owned();
        i.ebc_filed_at = Some(Timestamp(T0 - filed_days_ago * D));
        inputs.push(i);
        n += 1;
    };
    for day in (1..=7).rev() {
        for k in 0..per_day {
            push(
                T0 - 24 * H - day * D + 1 + k * (D / per_day.max(1)),
                &mut inputs,
            );
        }
    }
    for k in 0..burst {
        push(T0 - 23 * H + k * (23 * H / burst), &mut inputs);
    }
    run(&RiskConfig::default(), &inputs)
}

#[test]
fn r9_fires_when_a_new_seller_reaches_200_a_day_and_five_times_its_average() {
    let all = seller_run(10, 10, 200);
    let firing = firing(&all, RuleId::R9);
    assert_eq!(firing, vec![all.len() - 1]);
    let hit = fired(all.last().unwrap(), RuleId::R9).unwrap();
    assert_eq!(ev(hit, "orders_in_window"), "200");
    assert_eq!(ev(hit, "baseline_daily_average"), "10.00");
    assert_eq!(ev(hit, "seller"), "3301960NEW");
    assert_eq!(hit.score, 30);
}

#[test]
fn r9_stays_quiet_below_the_floor_for_established_sellers_and_steady_growth() {
    assert!(firing(&seller_run(10, 10, 199), RuleId::R9).is_empty());
    assert!(firing(&seller_run(100, 10, 300), RuleId::R9).is_empty());
    // Average 50 a day: 5 × 50 = 250 needed, 249 is not a spike; 250 is.
    assert!(firing(&seller_run(10, 50, 249), RuleId::R9).is_empty());
    assert!(!firing(&seller_run(10, 50, 250), RuleId::R9).is_empty());
}

// ---------- R11 quantities beyond personal use ----------

#[test]
fn r11_fires_on_a_line_over_20_units_but_not_on_20() {
    let cfg = RiskConfig::default();
    let mut big = honest("Q1", T0);
    big.lines = vec![line(1, "1901101000", "21", "200")];
    let mut fine = honest("Q2", T0 + H);
    fine.lines = vec![line(1, "1901101000", "20", "200")];
    let all = run(&cfg, &[big, fine]);
    assert_eq!(firing(&all, RuleId::R11), vec![0]);
    let hit = fired(&all[0], RuleId::R11).unwrap();
    assert_eq!((ev(hit, "line"), ev(hit, "qty")), ("1", "21"));
}

#[test]
fn r11_adds_up_one_buyers_heading_over_30_days() {
    let cfg = RiskConfig::default();
    let buy = |id: &str, at: i64, hs: &str, qty: &str| {
        let mut i = with_buyer(honest(id, at), "reseller");
        i.lines = vec![line(1, hs, qty, "200")];
        i
    };
    // 20 + 20 of heading 330499 (two different 10-digit codes), then one more.
    let over = vec![
        buy("B1", T0, "3304990099", "20"),
        buy("B2", T0 + 10 * D, "3304990012", "20"),
        buy("B3", T0 + 20 * D, "3304990099", "1"),
    ];
    let all = run(&cfg, &over);
    assert_eq!(firing(&all, RuleId::R11), vec![2]);
    let hit = fired(&all[2], RuleId::R11).unwrap();
    assert_eq!(ev(hit, "hs6"), "330499");
    assert_eq!(ev(hit, "qty_in_window"), "41");
    assert_eq!(ev(hit, "declarations"), "B1,B2,B3");
    // Two lines of one heading in one declaration add up too.
    let mut two_lines = buy("B5", T0 + D, "3304990099", "20");
    two_lines.lines.push(line(2, "3304990012", "20", "200"));
    let all = run(&cfg, &[buy("B4", T0, "3304990099", "1"), two_lines]);
    assert_eq!(
        ev(fired(&all[1], RuleId::R11).unwrap(), "qty_in_window"),
        "41"
    );
    // Exactly 40, or the 41st unit after the first purchase left the window: quiet.
    let at_limit = vec![
        buy("B1", T0, "3304990099", "20"),
        buy("B2", T0 + 10 * D, "3304990099", "20"),
    ];
    assert!(firing(&run(&cfg, &at_limit), RuleId::R11).is_empty());
    let later = vec![
        buy("B1", T0, "3304990099", "20"),
        buy("B2", T0 + 10 * D, "3304990099", "20"),
        buy("B3", T0 + 30 * D + 1, "3304990099", "1"),
    ];
    assert!(firing(&run(&cfg, &later), RuleId::R11).is_empty());
}

// ---------- R13 fast quota exhaustion ----------

#[test]
fn r13_fires_at_90_percent_of_the_annual_quota_and_not_below() {
    let cfg = RiskConfig::default();
    let mut near = with_value(honest("Y1", T0), "400");
    near.quota_used_before = dec("23000");
    let mut short = with_value(honest("Y2", T0), "400");
    short.quota_used_before = dec("22999.99");
    let all = run(&cfg, &[near, short]);
    assert_eq!(firing(&all, RuleId::R13), vec![0]);
    let hit = fired(&all[0], RuleId::R13).unwrap();
    assert_eq!(ev(hit, "quota_used_after"), "23400.00");
    assert_eq!(ev(hit, "used_percent"), "90.00");
    assert_eq!(hit.score, 20);
}

#[test]
fn r13_fires_when_a_buyer_spends_half_the_annual_limit_in_30_days() {
    let cfg = RiskConfig::default();
    let spend = |values: &[&str]| {
        let inputs: Vec<RiskInput> = values
            .iter()
            .enumerate()
            .map(|(k, v)| {
                with_value(
                    with_buyer(honest(&format!("Z{k}"), T0 + k as i64 * 9 * D), "spender"),
                    v,
                )
            })
            .collect();
        run(&cfg, &inputs)
    };
    let fast = spend(&["4500", "4500", "4000"]);
    assert_eq!(firing(&fast, RuleId::R13), vec![2]);
    assert_eq!(ev(fired(&fast[2], RuleId::R13).unwrap(), "sum"), "13000.00");
    assert!(firing(&spend(&["4500", "4500", "3999.99"]), RuleId::R13).is_empty());
}

// ---------- modes, versions, settings ----------

fn late_payment() -> RiskInput {
    let mut i = honest("S", T0);
    i.paid_at = Timestamp(i.inventory_declared_at.0 + H);
    i
}

#[test]
fn off_rules_never_fire_and_observed_rules_fire_as_observe() {
    let mut cfg = RiskConfig::default();
    cfg.change(
        RuleId::R8,
        &RuleChange {
            mode: Some(RuleMode::Off),
            ..RuleChange::default()
        },
    )
    .unwrap();
    assert!(run(&cfg, &[late_payment()])[0].is_empty());
    cfg.change(
        RuleId::R8,
        &RuleChange {
            mode: Some(RuleMode::Observe),
            score: Some(15),
            params: None,
        },
    )
    .unwrap();
    let hits = run(&cfg, &[late_payment()]).remove(0);
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].rule, hits[0].mode, hits[0].version, hits[0].score),
        (RuleId::R8, RuleMode::Observe, 3, 15)
    );
}

#[test]
fn parameter_changes_take_effect_and_bump_the_version() {
    let mut cfg = RiskConfig::default();
    let change = RuleChange {
        params: Some(json!({"paid_after_inventory_minutes": 120, "paid_after_match_minutes": 60})),
        ..RuleChange::default()
    };
    cfg.change(RuleId::R8, &change).unwrap();
    assert_eq!(cfg.rule(RuleId::R8).version, 2);
    assert!(run(&cfg, &[late_payment()])[0].is_empty());
    let json = cfg.settings_json(RuleId::R8);
    assert_eq!(json["version"], 2);
    assert_eq!(json["mode"], "on");
    assert_eq!(json["score"], 50);
    assert_eq!(json["params"]["paid_after_inventory_minutes"], 120);
    assert_eq!(json["params"]["paid_before_order_days"], 30);
    // Decimal parameters take numbers or strings.
    let qty = RuleChange {
        params: Some(json!({"max_line_qty": 5, "max_qty_per_hs6": "12.5"})),
        ..RuleChange::default()
    };
    cfg.change(RuleId::R11, &qty).unwrap();
    let mut i = honest("Q", T0);
    i.lines = vec![line(1, "1901101000", "6", "200")];
    assert!(fired(&run(&cfg, &[i])[0], RuleId::R11).is_some());
}

#[test]
fn nonsensical_changes_are_refused_with_a_reason_and_change_nothing() {
    let mut cfg = RiskConfig::default();
    let refuse = |cfg: &mut RiskConfig, rule: RuleId, change: RuleChange, needle: &str| {
        let before = cfg.clone();
        let err = cfg.change(rule, &change).unwrap_err().to_string();
        assert!(err.contains(needle), "{err:?} should mention {needle:?}");
        assert!(err.contains(rule.code()), "{err:?} should name the rule");
        assert_eq!(*cfg, before);
    };
    let params = |v: serde_json::Value| RuleChange {
        params: Some(v),
        ..RuleChange::default()
    };
    refuse(
        &mut cfg,
        RuleId::R4,
        params(json!({"window_days": 2})),
        "unknown parameter \"window_days\"",
    );
    refuse(
        &mut cfg,
        RuleId::R5Buyer,
        params(json!({"window_hours": 0})),
        "window_hours",
    );
    refuse(
        &mut cfg,
        RuleId::R5Buyer,
        params(json!({"min_declarations": -3})),
        "min_declarations",
    );
    refuse(
        &mut cfg,
        RuleId::R5Buyer,
        params(json!({"min_declarations": 1})),
        "at least 2",
    );
    refuse(
        &mut cfg,
        RuleId::R6Address,
        params(json!({"window_days": 0})),
        "window_days",
    );
    refuse(
        &mut cfg,
        RuleId::R7,
        params(json!({"below_percent_of_reference": 150})),
        "1 to 100",
    );
    refuse(
        &mut cfg,
        RuleId::R11,
        params(json!({"max_line_qty": "-1"})),
        "greater than zero",
    );
    refuse(&mut cfg, RuleId::R13, params(json!([90])), "JSON object");
    refuse(
        &mut cfg,
        RuleId::R13,
        params(json!({"window_days": "thirty"})),
        "window_days",
    );
    refuse(
        &mut cfg,
        RuleId::R9,
        RuleChange {
            score: Some(1000),
            ..RuleChange::default()
        },
        "score",
    );
    refuse(&mut cfg, RuleId::R9, RuleChange::default(), "nothing");
    assert!(RuleId::ALL.iter().all(|r| cfg.rule(*r).version == 1));
}

#[test]
fn rule_codes_titles_and_the_stored_config_round_trip() {
    let codes: Vec<&str> = RuleId::ALL.iter().map(|r| r.code()).collect();
    assert_eq!(
        codes,
        [
            "R4",
            "R5-BUYER",
            "R5-PAYER",
            "R5-PHONE",
            "R5-ADDRESS",
            "R6-ADDRESS",
            "R6-ID",
            "R7",
            "R8",
            "R9",
            "R11",
            "R13"
        ]
    );
    for r in RuleId::ALL {
        assert_eq!(RuleId::parse(r.code()), Some(r));
        assert!(!r.title().is_empty() && !r.title_zh().is_empty());
    }
    assert_eq!(RuleId::parse("r4"), None);
    assert_eq!(
        serde_json::to_value(RuleId::R5Buyer).unwrap(),
        json!("R5-BUYER")
    );

    let mut cfg = RiskConfig::default();
    cfg.change(
        RuleId::R6Id,
        &RuleChange {
            mode: Some(RuleMode::Observe),
            score: None,
            params: Some(json!({"min_distinct": 5})),
        },
    )
    .unwrap();
    let text = serde_json::to_string(&cfg).unwrap();
    let back: RiskConfig = serde_json::from_str(&text).unwrap();
    assert_eq!(back, cfg);
    // A stored config names only what it changes.
    let partial: RiskConfig = serde_json::from_value(
        json!({"R7": {"mode": "off"}, "R4": {"params": {"window_hours": 48}}}),
    )
    .unwrap();
    assert_eq!(partial.rule(RuleId::R7).mode, RuleMode::Off);
    assert_eq!(partial.rule(RuleId::R4).params, {
        let mut d = RiskConfig::default();
        d.change(
            RuleId::R4,
            &RuleChange {
                params: Some(json!({"window_hours": 48})),
                ..RuleChange::default()
            },
        )
        .unwrap();
        d.rule(RuleId::R4).params.clone()
    });
    assert!(serde_json::from_value::<RiskConfig>(json!({"R99": {}})).is_err());
    assert!(
        serde_json::from_value::<RiskConfig>(json!({"R4": {"params": {"window_hours": 0}}}))
            .is_err()
    );
    assert_eq!(RiskConfig::default().max_window_ms(), 30 * D);
}

// ---------- replay, pruning ----------

/// A mixed day of traffic: small pools of buyers, addresses and phones, so rules fire now and then.
fn mixed(n: i64) -> Vec<RiskInput> {
    let mut s: u64 = 7;
    let mut next = |m: u64| {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 33) % m
    };
    (0..n)
        .map(|k| {
            let mut i = honest(&format!("X{k}"), T0 + k * 7 * MIN);
            i.buyer = key(&format!("b{}", next(40)));
            i.payer = i.buyer.clone();
            i.phone = key(&format!("p{}", next(30)));
            i.address = key(&format!("a{}", next(25)));
            let v = (next(4900) + 50).to_string();
            i = RiskInput {
                lines: vec![line(1, "3304990099", &(next(25) + 1).to_string(), "100")],
                ..with_value(i, &v)
            };
            if next(50) == 0 {
                i.paid_at = Timestamp(i.at.0 + H);
            }
            i
        })
        .collect()
}

#[test]
fn replaying_the_same_records_gives_the_same_hits() {
    let cfg = RiskConfig::default();
    let inputs = mixed(1500);
    let first = run(&cfg, &inputs);
    assert_eq!(first, run(&cfg, &inputs));
    assert!(first.iter().any(|h| !h.is_empty()));
    // Hits come in rule order.
    for hits in &first {
        assert!(hits.windows(2).all(|w| w[0].rule < w[1].rule));
    }
    // A restarted engine rebuilds its index from the recorded inputs and agrees on what comes next.
    let refs = ReferencePrices::builtin();
    let (head, tail) = inputs.split_at(1000);
    let mut live = RiskIndex::default();
    for i in head {
        live.evaluate(&cfg, &refs, i);
        live.record(&cfg, i);
    }
    let mut rebuilt = RiskIndex::default();
    for i in head {
        rebuilt.record(&cfg, i);
    }
    assert_eq!(live.len(), rebuilt.len());
    for i in tail {
        assert_eq!(
            live.evaluate(&cfg, &refs, i),
            rebuilt.evaluate(&cfg, &refs, i)
        );
        live.record(&cfg, i);
        rebuilt.record(&cfg, i);
    }
}

#[test]
fn entries_older_than_the_longest_window_are_forgotten() {
    let cfg = RiskConfig::default();
    let refs = ReferencePrices::builtin();
    let mut ix = RiskIndex::default();
    assert!(ix.is_empty());
    for k in 0..5 {
        ix.record(
            &cfg,
            &with_buyer(honest(&format!("O{k}"), T0 + k * H), "old"),
        );
    }
    assert_eq!(ix.len(), 5);
    let later = with_buyer(honest("LATE", T0 + 31 * D), "old");
    ix.record(&cfg, &later);
    assert_eq!(ix.len(), 1);
    // The forgotten five no longer count towards the buyer's velocity or addresses.
    let next = with_buyer(honest("NEXT", T0 + 31 * D + H), "old");
    assert!(ix.evaluate(&cfg, &refs, &next).is_empty());
    assert!(format!("{ix:?}").contains("entries: 1"));
    assert!(!format!("{ix:?}").contains(&key("old")[..12]));
}

#[test]
fn evidence_never_carries_a_whole_hashed_key() {
    let cfg = RiskConfig::default();
    let inputs = mixed(800);
    for hits in run(&cfg, &inputs) {
        for h in hits {
            for Evidence { value, .. } in &h.evidence {
                for i in inputs.iter().take(50) {
                    assert!(!value.contains(&i.buyer) && !value.contains(&i.address));
                }
            }
            assert!(h.summary.ends_with('.'));
        }
    }
}
