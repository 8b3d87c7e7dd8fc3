//! Credit and risk inside clearance, end to end on the engine: rules hold declarations and raise
//! alerts with evidence, regulators work the alert lifecycle and inspections, findings feed
//! credit, listings bar and inspect, recalls stop and trace, sampling follows the credit class,
//! and all of it survives a restore.

use std::collections::BTreeMap;

use domain::clearance::*;
use domain::credit::{Grade, SupervisionClass};
use domain::negative::{Category, Control, GoodsMatch, ListingAction, Severity};
use domain::registry::Role;
use domain::risk::RuleMode;
use domain::settings::Settings;
use domain::subject::{Department, Subject};
use domain::time::Timestamp;
use serde_json::Value;

use crate::clearance::{AGT, Docs, EBC, EBP, code, d, docs, engine_with, ent, line, now, spec};

const DAY: i64 = 86_400_000;

/// The engine plus every supervision record it has projected so far.
struct World {
    e: Engine,
    records: BTreeMap<(String, String), Value>,
}

fn settings() -> Settings {
    let mut s = Settings::default();
    s.policy.sampling = false;
    s
}

fn world_with(s: Settings) -> World {
    let mut e = engine_with(s);
    // A reference price the test goods are honestly above (100 of 150).
    let mut w = World {
        e: {
            e.apply(
                Command::Supervise {
                    actor: Actor::Regulator(Department::Customs),
                    action: Action::ReferencePrices {
                        csv: "hs,unit,reference_price,note\n1901101000,011,150,test\n".into(),
                    },
                },
                now(),
                &Supervised,
            );
            assert!(matches!(e.take_outcome(), Some(Ok(_))));
            e
        },
        records: BTreeMap::new(),
    };
    w.sync();
    w
}

fn world() -> World {
    world_with(settings())
}

impl World {
    fn sync(&mut self) {
        for r in self.e.take_changes().records {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            self.records.insert((r.kind.to_string(), r.key), v);
        }
    }

    fn of(&self, kind: &str) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|((k, _), _)| k == kind)
            .map(|(_, v)| v)
            .collect()
    }

    fn declare_at(&mut self, x: &Docs, at: Timestamp) -> Vec<Receipt> {
        let out = crate::clearance::cmds(x)
            .into_iter()
            .flat_map(|c| self.e.apply(c, at, &Supervised))
            .collect();
        self.sync();
        out
    }

    fn declare(&mut self, x: &Docs) -> Vec<Receipt> {
        self.declare_at(x, now())
    }

    fn act_at(&mut self, actor: Actor, action: Action, at: Timestamp) -> (Outcome, Vec<Receipt>) {
        let receipts = self
            .e
            .apply(Command::Supervise { actor, action }, at, &Supervised);
        let outcome = self.e.take_outcome().expect("an outcome");
        self.sync();
        (outcome, receipts)
    }

    fn act(&mut self, actor: Actor, action: Action) -> (Outcome, Vec<Receipt>) {
        self.act_at(actor, action, now())
    }

    fn grade(&self, code: &str) -> Grade {
        self.e
            .explain_credit(&Subject::Enterprise(code.into()), now())
            .map_or(Grade::A, |x| x.grade)
    }
}

fn customs() -> Actor {
    Actor::Regulator(Department::Customs)
}

/// A declaration of buyer `n` at an address of its own (unless the test shares one).
fn parcel(n: u32) -> Docs {
    let mut s = spec(n);
    s.buyer = n;
    let mut x = docs(&s);
    let address = format!("测试省测试市样例路{n}号");
    x.order.consignee_address.clone_from(&address);
    x.waybill.consignee_address.clone_from(&address);
    x.inventory.consignee_address = address;
    x
}

/// The same, its goods declared at 60 (40 % of the reference price 150): R7.
fn undervalued(n: u32) -> Docs {
    let mut s = spec(n);
    s.buyer = n;
    s.lines = vec![line("1901101000", "2", "60")];
    let mut x = docs(&s);
    let address = format!("测试省测试市样例路{n}号");
    x.order.consignee_address.clone_from(&address);
    x.waybill.consignee_address.clone_from(&address);
    x.inventory.consignee_address = address;
    x
}

/// The last CEB622 status and its code.
fn inventory_status(rs: &[Receipt]) -> (i32, String) {
    rs.iter()
        .rev()
        .find(|r| r.body.message_type() == "CEB622Message")
        .map(|r| {
            (
                r.body.return_status(),
                code(r.body.return_info()).unwrap_or("").to_owned(),
            )
        })
        .unwrap_or((0, String::new()))
}

fn ok(outcome: Outcome) -> Value {
    match outcome {
        Ok(v) => v,
        Err(e) => panic!("refused: {e}"),
    }
}

#[test]
fn honest_parcels_are_released_quietly_and_feed_the_parties_credit() {
    let mut w = world();
    for n in 1..=5 {
        let rs = w.declare(&parcel(n));
        assert_eq!(inventory_status(&rs).0, 800, "parcel {n} released");
    }
    assert!(w.of("alert").is_empty(), "no rule fires on honest parcels");
    let x =
        w.e.explain_credit(&Subject::Enterprise(EBC.into()), now())
            .expect("the seller has a credit record");
    assert_eq!(x.grade, Grade::A, "a newcomer with little evidence is A");
    let facts: Vec<&String> = x.factors.iter().flat_map(|f| &f.facts).collect();
    assert!(
        facts.iter().any(|f| f.contains('5')),
        "the explanation counts the 5 declarations: {facts:?}"
    );
    let sum: u32 = x.factors.iter().map(|f| f.contribution).sum();
    assert_eq!(sum, x.score, "the factors explain the whole score");
}

#[test]
fn an_undervalued_parcel_is_held_and_its_alert_goes_through_the_four_stages() {
    let mut w = world();
    let x = undervalued(1);
    let rs = w.declare(&x);
    assert_eq!(
        inventory_status(&rs),
        (300, "1200".into()),
        "held for review"
    );
    let alerts = w.of("alert");
    assert_eq!(alerts.len(), 1);
    let alert = alerts[0].clone();
    assert_eq!(alert["hit"]["rule"], "R7");
    assert_eq!(alert["state"], "open");
    let evidence = alert["hit"]["evidence"].to_string();
    assert!(
        evidence.contains("150") && evidence.contains("60"),
        "{evidence}"
    );
    let id = alert["id"].as_str().unwrap().to_string();

    // Steps out of order are refused and change nothing.
    let (o, _) = w.act(
        customs(),
        Action::ReviewAlert {
            id: id.clone(),
            confirmed: true,
            note: String::new(),
        },
    );
    assert!(o.unwrap_err().message.contains("needs it disposed"));
    // Only the departments that run the risk desk assess.
    let (o, _) = w.act(
        Actor::Regulator(Department::MarketSupervision),
        Action::AssessAlert {
            id: id.clone(),
            level: AlertLevel::High,
            note: String::new(),
        },
    );
    assert!(o.unwrap_err().message.contains("may not"));

    ok(w.act(
        customs(),
        Action::AssessAlert {
            id: id.clone(),
            level: AlertLevel::High,
            note: "price far below market".into(),
        },
    )
    .0);
    let (o, rs) = w.act(
        customs(),
        Action::DisposeAlert {
            id: id.clone(),
            disposal: Disposal::Inspection,
            note: "inspect".into(),
        },
    );
    ok(o);
    assert_eq!(
        inventory_status(&rs),
        (500, "9001".into()),
        "sent to inspection"
    );
    let task = w.of("inspection")[0].clone();
    assert_eq!(task["state"], "open");
    assert_eq!(
        task["subjects"][0]["id"], EBC,
        "undervaluation is the seller's to answer"
    );
    let (o, rs) = w.act(
        Actor::Regulator(Department::Inspection),
        Action::Finding {
            task: task["id"].as_str().unwrap().into(),
            passed: false,
            reason: "invoice shows 150 per unit".into(),
        },
    );
    ok(o);
    assert_eq!(inventory_status(&rs), (100, "9607".into()));
    ok(w.act(
        customs(),
        Action::ReviewAlert {
            id: id.clone(),
            confirmed: true,
            note: String::new(),
        },
    )
    .0);
    let alert = &w.records[&("alert".to_string(), id)];
    assert_eq!(alert["state"], "reviewed");
    assert_eq!(alert["confirmed"], true);
    let rule = &w.records[&("rule".to_string(), "R7".to_string())];
    assert_eq!(rule["stats"]["alerts"], 1);
    assert_eq!(rule["stats"]["confirmed"], 1);
    assert_eq!(rule["precision"], "100");
    // The quota reserved at the match came back with the rejection.
    let x_buyer = w.e.buyer_key(&x.order.buyer_name, &x.order.buyer_id_number);
    assert_eq!(w.e.quota_used(&x_buyer, 2026), d("0"));
}

#[test]
fn observe_only_rules_record_without_holding_and_off_rules_stay_silent() {
    let mut w = world();
    let (o, _) = w.act(
        customs(),
        Action::ConfigureRule {
            rule: "R7".into(),
            mode: Some(RuleMode::Observe),
            score: None,
            params: None,
        },
    );
    assert_eq!(ok(o)["settings"]["version"], 2, "a change is a new version");
    let rs = w.declare(&undervalued(1));
    assert_eq!(inventory_status(&rs).0, 800, "observe-only does not hold");
    assert_eq!(w.of("alert")[0]["hit"]["mode"], "observe");
    ok(w.act(
        customs(),
        Action::ConfigureRule {
            rule: "R7".into(),
            mode: Some(RuleMode::Off),
            score: None,
            params: None,
        },
    )
    .0);
    w.declare(&undervalued(2));
    assert_eq!(w.of("alert").len(), 1, "an off rule raises nothing");
    let (o, _) = w.act(
        customs(),
        Action::ConfigureRule {
            rule: "R7".into(),
            mode: None,
            score: None,
            params: Some(serde_json::json!({"below_percent_of_reference": 0})),
        },
    );
    assert!(o.is_err(), "a nonsensical threshold is refused");
}

#[test]
fn a_listing_bars_new_declarations_inspects_those_in_flight_and_an_overturned_appeal_lifts_it() {
    let mut w = world();
    // In flight: order and payment sent before the listing.
    let early = parcel(1);
    let [o, p, wb, inv] = crate::clearance::cmds(&early);
    w.e.apply(o, now(), &Supervised);
    w.e.apply(p, now(), &Supervised);
    let later = Timestamp(now().0 + 60_000);
    let (o, _) = w.act_at(
        customs(),
        Action::List {
            subject: SubjectRef::Enterprise { code: EBC.into() },
            name: None,
            category: Category::Counterfeiting,
            severity: Severity::Listed,
            evidence: "case file 2026-001".into(),
            effective_from: None,
            expires_at: None,
        },
        later,
    );
    let listing = ok(o);
    let listing_id = listing["id"].as_str().unwrap().to_string();
    assert_eq!(w.grade(EBC), Grade::Dishonest);

    // A new declaration naming the seller is refused at its first document.
    let after = Timestamp(later.0 + 60_000);
    let rs = w.declare_at(&parcel(2), after);
    assert!(
        rs.iter()
            .any(|r| code(r.body.return_info()) == Some("9601")),
        "refused with 9601"
    );
    // The one in flight completes and goes to full inspection instead.
    let mut rs = w.e.apply(wb, after, &Supervised);
    rs.extend(w.e.apply(inv, after, &Supervised));
    w.sync();
    assert_eq!(inventory_status(&rs).0, 500, "in flight: full inspection");
    // Filing the listed seller again changes nothing.
    w.e.apply(
        Command::FileEnterprise(ent(EBC, &[Role::Seller])),
        after,
        &Supervised,
    );
    assert!(
        w.e.registry()
            .get(EBC)
            .unwrap()
            .roles
            .contains(&Role::Guarantor)
    );

    // Another enterprise may not appeal it; the listed one may.
    let (o, _) = w.act_at(
        Actor::Enterprise(EBP.into()),
        Action::Listing {
            id: listing_id.clone(),
            step: ListingAction::Appeal {
                reason: "not ours".into(),
            },
        },
        after,
    );
    assert!(o.unwrap_err().message.contains("may not"));
    ok(w.act_at(
        Actor::Enterprise(EBC.into()),
        Action::Listing {
            id: listing_id.clone(),
            step: ListingAction::Appeal {
                reason: "the goods were genuine; invoices attached".into(),
            },
        },
        after,
    )
    .0);
    ok(w.act_at(
        customs(),
        Action::Listing {
            id: listing_id.clone(),
            step: ListingAction::DecideAppeal {
                upheld: false,
                note: "invoices verified".into(),
            },
        },
        after,
    )
    .0);
    let l = &w.records[&("listing".to_string(), listing_id)];
    assert_eq!(l["state"], "revoked");
    let trail: Vec<&str> = l["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(trail, ["listed", "appealed", "appeal_overturned"]);
    assert_ne!(
        w.grade(EBC),
        Grade::Dishonest,
        "delisted, the grade returns"
    );
    let rs = w.declare_at(&parcel(3), Timestamp(after.0 + 60_000));
    assert_eq!(inventory_status(&rs).0, 800, "declaring again");
}

#[test]
fn credit_repair_is_possible_only_after_the_waiting_period() {
    let mut w = world();
    let (o, _) = w.act(
        Actor::Regulator(Department::MarketSupervision),
        Action::List {
            subject: SubjectRef::Enterprise { code: EBC.into() },
            name: None,
            category: Category::IprInfringement,
            severity: Severity::Listed,
            evidence: "court ruling".into(),
            effective_from: None,
            expires_at: None,
        },
    );
    let id = ok(o)["id"].as_str().unwrap().to_string();
    let repair = |evidence: &str| Action::Listing {
        id: id.clone(),
        step: ListingAction::RequestRepair {
            evidence: evidence.into(),
        },
    };
    let (o, _) = w.act_at(
        Actor::Enterprise(EBC.into()),
        repair("fixed"),
        Timestamp(now().0 + 30 * DAY),
    );
    assert!(
        o.unwrap_err()
            .message
            .contains("repair may be requested from")
    );
    let year_on = Timestamp(now().0 + 366 * DAY);
    ok(w.act_at(
        Actor::Enterprise(EBC.into()),
        repair("compliance programme"),
        year_on,
    )
    .0);
    // Customs did not list it: only the listing department or the zone office decides.
    let decide = Action::Listing {
        id: id.clone(),
        step: ListingAction::DecideRepair {
            approved: true,
            note: "rectified".into(),
        },
    };
    assert!(w.act_at(customs(), decide.clone(), year_on).0.is_err());
    ok(
        w.act_at(Actor::Regulator(Department::ZoneOffice), decide, year_on)
            .0,
    );
    let rs = w.declare_at(&parcel(9), Timestamp(year_on.0 + 1000));
    assert_eq!(inventory_status(&rs).0, 800);
}

#[test]
fn repeated_failed_inspections_make_a_seller_dishonest_and_list_it_automatically() {
    let mut s = settings();
    // Every undervalued parcel goes straight to inspection.
    s.policy.inspect_score = 40;
    let mut w = world_with(s);
    for n in 1..=3 {
        let rs = w.declare(&undervalued(n));
        assert_eq!(inventory_status(&rs).0, 500);
        let task = w
            .of("inspection")
            .into_iter()
            .find(|t| t["state"] == "open")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        ok(w.act(
            Actor::Regulator(Department::Inspection),
            Action::Finding {
                task,
                passed: false,
                reason: "price evasion".into(),
            },
        )
        .0);
    }
    assert_eq!(w.grade(EBC), Grade::Dishonest);
    let listings = w.of("listing");
    let auto = listings
        .iter()
        .find(|l| l["severity"] == "listed")
        .expect("listed by the system");
    assert_eq!(auto["audit"][0]["actor"], "system");
    // Before that, three alerts against it earned an automatic warning.
    assert!(listings.iter().any(|l| l["severity"] == "warning"));
    let rs = w.declare(&parcel(10));
    assert!(
        rs.iter()
            .any(|r| code(r.body.return_info()) == Some("9601"))
    );
    // The buyers of those parcels are not blamed for the seller's prices.
    let x = undervalued(1);
    let buyer = w.e.buyer_key(&x.order.buyer_name, &x.order.buyer_id_number);
    assert!(w.e.explain_credit(&Subject::Person(buyer), now()).is_none());
}

#[test]
fn controlled_goods_are_refused_and_a_recall_stops_what_is_in_flight_and_traces_buyers() {
    let mut w = world();
    // Released before the recall.
    let first = parcel(1);
    assert_eq!(inventory_status(&w.declare(&first)).0, 800);
    // Held for review when the recall comes (undervalued).
    let held = undervalued(2);
    assert_eq!(inventory_status(&w.declare(&held)).0, 300);

    let (o, _) = w.act(
        Actor::Regulator(Department::Customs),
        Action::Control {
            matcher: GoodsMatch::Brand {
                brand: "Acme".into(),
            },
            control: Control::Banned,
            reason: "counterfeit brand".into(),
            until: None,
        },
    );
    ok(o);
    let mut acme = parcel(3);
    acme.inventory.lines[0].gmodel = "Acme 1件".into();
    let rs = w.declare(&acme);
    assert_eq!(inventory_status(&rs).1, "9603");

    let (o, rs) = w.act(
        Actor::Regulator(Department::Inspection),
        Action::Recall {
            matcher: GoodsMatch::Hs {
                prefix: "190110".into(),
            },
            seller: Some(EBC.into()),
            reason: "contaminated batch".into(),
        },
    );
    let recall = ok(o);
    assert_eq!(
        inventory_status(&rs),
        (100, "9605".into()),
        "the held one is stopped"
    );
    let hits = recall["hits"].as_array().unwrap();
    let released: Vec<&Value> = hits.iter().filter(|h| h["status"] == 800).collect();
    assert_eq!(released.len(), 1, "the past buyer is listed");
    let masked = released[0]["buyer_masked"].as_str().unwrap();
    assert!(masked.contains('*') && !masked.contains(&first.order.buyer_name));
    assert!(!recall.to_string().contains(&first.order.buyer_id_number));
    // New inventories of the recalled goods are refused.
    let rs = w.declare(&parcel(4));
    assert_eq!(inventory_status(&rs).1, "9604");
    // A recall is the inspection department's (or customs'); a tax office may not issue one.
    let (o, _) = w.act(
        Actor::Regulator(Department::Tax),
        Action::Recall {
            matcher: GoodsMatch::Hs {
                prefix: "19".into(),
            },
            seller: None,
            reason: "x".into(),
        },
    );
    assert!(o.is_err());
}

#[test]
fn random_inspection_follows_the_class_rate_over_a_large_run() {
    let mut s = Settings::default();
    let rate_of = |c: SupervisionClass| match c {
        SupervisionClass::General => 1000,
        SupervisionClass::Certified => 400,
        _ => 0,
    };
    for c in &mut s.credit.classes {
        if rate_of(c.class) > 0 {
            c.treatment.inspection_rate_bp = rate_of(c.class);
        }
    }
    // The class in force for each parcel is the strictest of its seller, platform and agent
    // (their records change as the run goes on: clean history lifts them from A to AA).
    let run = || {
        let mut w = world_with(s.clone());
        let model = s.credit.clone();
        let mut per_class: BTreeMap<SupervisionClass, (u32, u32)> = BTreeMap::new();
        let mut held = Vec::new();
        for n in 1..=4000 {
            let class = [EBC, EBP, AGT]
                .iter()
                .map(|c| {
                    w.e.explain_credit(&Subject::Enterprise((*c).into()), now())
                        .map_or(model.class_of(Grade::A), |x| x.class)
                })
                .max()
                .unwrap();
            let inspected = inventory_status(&w.declare(&parcel(n))).0 == 500;
            let e = per_class.entry(class).or_default();
            e.0 += 1;
            if inspected {
                e.1 += 1;
                held.push(n);
            }
        }
        (per_class, held)
    };
    let (per_class, held) = run();
    let mut checked = 0;
    for (class, (n, inspected)) in &per_class {
        if *n < 500 {
            continue;
        }
        let p = f64::from(rate_of(*class)) / 10_000.0;
        let observed = f64::from(*inspected) / f64::from(*n);
        let tolerance = 4.0 * (p * (1.0 - p) / f64::from(*n)).sqrt();
        assert!(
            (observed - p).abs() <= tolerance,
            "{class:?}: observed {observed:.4} over {n}, configured {p}"
        );
        checked += 1;
    }
    assert!(checked >= 1, "{per_class:?}");
    assert_eq!(run().1, held, "the sampling is reproducible");
}

#[test]
fn a_restored_engine_sees_the_same_risk_history_and_supervision_state() {
    // Three buyers at one address: a fourth trips R6-ADDRESS (4 distinct buyers in 30 days).
    let shared = |n: u32| {
        let mut x = parcel(n);
        for a in [
            &mut x.order.consignee_address,
            &mut x.waybill.consignee_address,
            &mut x.inventory.consignee_address,
        ] {
            *a = "测试省测试市共用路8号".into();
        }
        x
    };
    let mut live = engine_with(settings());
    // Every state row the engine writes, as the store would keep them.
    let mut rows: BTreeMap<(String, String), Option<Vec<u8>>> = BTreeMap::new();
    let mut keep = |e: &mut Engine| {
        for (ns, key, value) in e.take_changes().state {
            rows.insert((ns, key), value);
        }
    };
    keep(&mut live);
    for x in [shared(1), shared(2), shared(3), undervalued(20)] {
        for c in crate::clearance::cmds(&x) {
            live.apply(c, now(), &Supervised);
        }
        keep(&mut live);
    }
    let rows: Vec<(String, String, Vec<u8>)> = rows
        .into_iter()
        .filter_map(|((ns, key), v)| v.map(|v| (ns, key, v)))
        .collect();
    let mut restored = Engine::restore(settings(), b"test-secret".to_vec(), rows).unwrap();
    let fourth = shared(4);
    let a: Vec<Receipt> = crate::clearance::cmds(&fourth)
        .into_iter()
        .flat_map(|c| live.apply(c, now(), &Supervised))
        .collect();
    let b: Vec<Receipt> = crate::clearance::cmds(&fourth)
        .into_iter()
        .flat_map(|c| restored.apply(c, now(), &Supervised))
        .collect();
    assert_eq!(a, b, "same receipts after a restore");
    assert!(
        matches!(inventory_status(&a).0, 300 | 500),
        "the fourth is held"
    );
    let alerts = |e: &mut Engine| {
        e.take_changes()
            .records
            .into_iter()
            .filter(|c| c.kind == "alert")
            .map(|c| c.body)
            .collect::<Vec<_>>()
    };
    let (x, y) = (alerts(&mut live), alerts(&mut restored));
    assert!(
        x.iter().any(|b| b.contains("R6-ADDRESS")),
        "the restored windows still know the three earlier buyers"
    );
    assert_eq!(x, y, "the same alerts, same ids and evidence");
}

#[test]
fn a_listing_ends_by_itself_when_its_term_is_over() {
    let mut w = world();
    let ten_days = Timestamp(now().0 + 10 * DAY);
    ok(w.act(
        customs(),
        Action::List {
            subject: SubjectRef::Enterprise { code: EBC.into() },
            name: None,
            category: Category::Smuggling,
            severity: Severity::Listed,
            evidence: "case 7".into(),
            effective_from: None,
            expires_at: Some(ten_days),
        },
    )
    .0);
    let rs = w.declare_at(&parcel(1), Timestamp(now().0 + 5 * DAY));
    assert!(
        rs.iter()
            .any(|r| code(r.body.return_info()) == Some("9601"))
    );
    let later = Timestamp(now().0 + 11 * DAY);
    let rs = w.declare_at(&parcel(2), later);
    assert_eq!(inventory_status(&rs).0, 800, "the term is over");
    let l = w.of("listing")[0].clone();
    assert_eq!(l["state"], "expired");
    assert_ne!(w.grade(EBC), Grade::Dishonest);
}
