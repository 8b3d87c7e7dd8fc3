//! Ownership of record and consent to be named (issue "Close the holes", findings 1 and 2): a
//! stranger — an enterprise with its own filing and credential — can neither change, cancel or
//! return another's declaration nor name another enterprise without its entrustment, and a
//! refused document is charged to no one but its sender. Each test below was written against
//! the engine before these rules and failed there (the stranger's document was accepted).

use domain::clearance::*;
use domain::entrustment::EntrustmentStep;
use domain::registry::Role;
use domain::subject::Subject;
use domain::time::{CivilDate, Timestamp};

use crate::clearance::*;

/// Another seller on A's platform (admitted by it) — a legitimate co-seller, not A's seller.
const CO_SELLER: &str = "SELL02";
/// A stranger: a filed seller, agent and payment institution of its own, entrusted by nobody of A.
const X_SELLER: &str = "XSELL1";
const X_AGENT: &str = "XAGT01";
const X_PAY: &str = "XPAY01";
/// An agent A's seller also entrusted, who did not declare A's inventory.
const AGT2: &str = "AGT02";
/// A payment institution A's platform works with, which did not declare A's payment.
const PAY2: &str = "PAY02";

fn act(e: &mut Engine, actor: Actor, action: Action) -> Outcome {
    e.apply(Command::Supervise { actor, action }, now(), &ReleaseAll);
    e.take_outcome().expect("an outcome")
}

fn file(e: &mut Engine, code: &str, roles: &[Role], entrusts: &[&str]) {
    let mut en = ent(code, roles);
    en.entrusts = entrusts.iter().map(|c| c.to_string()).collect();
    e.apply(Command::FileEnterprise(en), Timestamp(0), &ReleaseAll);
}

/// A's world (platform EBP, seller EBC, agent AGT, payment PAY, logistics LOG) with its
/// entrustments filed with the registry, the stranger's enterprises, and the current rules.
fn world() -> Engine {
    let mut e = engine();
    file(
        &mut e,
        EBC,
        &[Role::Seller, Role::Guarantor],
        &[EBP, AGT, AGT2],
    );
    file(&mut e, EBP, &[Role::Platform], &[PAY, PAY2, CO_SELLER]);
    file(&mut e, AGT2, &[Role::Agent], &[]);
    file(&mut e, PAY2, &[Role::Payment], &[]);
    file(
        &mut e,
        X_SELLER,
        &[Role::Seller, Role::Guarantor],
        &[X_AGENT],
    );
    file(&mut e, X_AGENT, &[Role::Agent], &[]);
    file(&mut e, X_PAY, &[Role::Payment], &[]);
    let upgrade = e
        .rules_upgrade()
        .expect("a fresh engine runs the legacy rules");
    assert!(act(&mut e, Actor::System, upgrade).is_ok());
    assert_eq!(e.rules_version(), RULES_CURRENT);
    e
}

fn accepted_at(rs: &[Receipt], message_type: &str, status: i32) -> bool {
    rs.iter()
        .any(|r| r.body.message_type() == message_type && r.body.return_status() == status)
}

fn refused_with(rs: &[Receipt], code: &str) -> bool {
    rs.len() == 1 && code_of(&rs[0]) == Some(code)
}

fn code_of(r: &Receipt) -> Option<&str> {
    crate::clearance::code(r.body.return_info())
}

fn status(e: &Engine, x: &Docs) -> DeclarationView {
    e.declaration(&DeclarationId::derive(EBP, &x.order.order_no))
        .expect("A's declaration")
}

#[test]
fn a_stranger_cannot_modify_or_squat_another_platforms_order() {
    let mut e = world();
    let x = docs(&spec(1));
    assert!(has(
        &send(&mut e, EBP, Document::Order(x.order.clone())),
        "CEB312Message",
        2,
        ""
    ));
    // The stranger names its own seller on A's pending order: A's platform never admitted it.
    let mut forged = x.order.clone();
    forged.guid = "X-1".into();
    forged.app_type = "2".into();
    forged.ebc_code = X_SELLER.into();
    let rs = send(&mut e, X_SELLER, Document::Order(forged.clone()));
    assert!(refused_with(&rs, "9304"), "{:?}", sigs(&rs));
    assert_eq!(rs[0].recipients, vec![X_SELLER.to_string()]);
    // A seller A's platform did admit is still not the sender of record of A's order.
    forged.guid = "X-2".into();
    forged.ebc_code = CO_SELLER.into();
    let rs = send(&mut e, CO_SELLER, Document::Order(forged));
    assert!(refused_with(&rs, "9303"), "{:?}", sigs(&rs));
    // A's order still names A's seller.
    let rs = e.apply(
        Command::Declare {
            sender: EBP.into(),
            document: Document::Order({
                let mut o = x.order.clone();
                o.guid = "O-2".into();
                o.app_type = "2".into();
                o
            }),
        },
        now(),
        &ReleaseAll,
    );
    assert!(
        has(&rs, "CEB312Message", 2, ""),
        "the sender of record may modify"
    );

    // Squatting A's next order number before A sends it.
    let next = docs(&spec(2));
    let mut squat = next.order.clone();
    squat.ebc_code = X_SELLER.into();
    let rs = send(&mut e, X_SELLER, Document::Order(squat));
    assert!(refused_with(&rs, "9304"), "{:?}", sigs(&rs));
    let rs = send(&mut e, EBP, Document::Order(next.order.clone()));
    assert!(
        has(&rs, "CEB312Message", 2, ""),
        "A's own order is not a duplicate"
    );
}

#[test]
fn a_stranger_cannot_modify_another_declarations_payment_or_inventory() {
    let mut e = world();
    let x = docs(&spec(3));
    send(&mut e, PAY, Document::Payment(x.payment.clone()));
    send(&mut e, AGT, Document::Inventory(x.inventory.clone()));

    let mut pay = x.payment.clone();
    pay.guid = "XP-1".into();
    pay.app_type = "2".into();
    pay.pay_code = X_PAY.into();
    let rs = send(&mut e, X_PAY, Document::Payment(pay.clone()));
    assert!(refused_with(&rs, "9304"), "{:?}", sigs(&rs));
    pay.pay_code = PAY2.into();
    let rs = send(&mut e, PAY2, Document::Payment(pay));
    assert!(refused_with(&rs, "9303"), "{:?}", sigs(&rs));

    let mut inv = x.inventory.clone();
    inv.guid = "XI-1".into();
    inv.app_type = "2".into();
    inv.agent_code = X_AGENT.into();
    let rs = send(&mut e, X_AGENT, Document::Inventory(inv.clone()));
    assert!(refused_with(&rs, "9304"), "{:?}", sigs(&rs));
    inv.agent_code = AGT2.into();
    let rs = send(&mut e, AGT2, Document::Inventory(inv));
    assert!(refused_with(&rs, "9303"), "{:?}", sigs(&rs));

    // A's documents are untouched: the declaration completes and releases as A declared it.
    send(&mut e, EBP, Document::Order(x.order.clone()));
    let rs = send(&mut e, LOG, Document::Waybill(x.waybill.clone()));
    assert!(accepted_at(&rs, "CEB622Message", 800), "{:?}", sigs(&rs));
}

#[test]
fn a_stranger_cannot_return_a_released_declaration_or_cancel_a_held_one() {
    let mut e = world();
    let x = docs(&spec(4));
    let rs = run(&mut e, &x);
    let invt = invt_no(&rs);
    let before = status(&e, &x);
    let quota = e.quota_used(
        &e.buyer_key(&x.order.buyer_name, &x.order.buyer_id_number),
        2026,
    );

    let mut refund = refund_of(&x, &invt, "XR-1", &[(1, "2")]);
    refund.agent_code = X_AGENT.into();
    let rs = send(&mut e, X_AGENT, Document::Refund(refund));
    assert!(refused_with(&rs, "9303"), "{:?}", sigs(&rs));
    assert_eq!(
        status(&e, &x),
        before,
        "the tax bill and status are A's as before"
    );
    assert_eq!(
        e.quota_used(
            &e.buyer_key(&x.order.buyer_name, &x.order.buyer_id_number),
            2026
        ),
        quota,
        "the buyer's quota is not given back"
    );
    // A's agent may.
    let rs = send(
        &mut e,
        AGT,
        Document::Refund(refund_of(&x, &invt, "R-1", &[(1, "2")])),
    );
    assert!(accepted_at(&rs, "CEB626Message", 399), "{:?}", sigs(&rs));

    // Held for review: only the agent of record cancels it.
    let y = docs(&spec(5));
    let held = run_at(&mut e, &y, now(), &HoldForReview);
    let invt = invt_no(&held);
    let mut cancel = cancel_of(&y, &invt, "XC-1");
    cancel.agent_code = X_AGENT.into();
    let rs = send(&mut e, X_AGENT, Document::Cancel(cancel));
    assert!(refused_with(&rs, "9303"), "{:?}", sigs(&rs));
    let rs = send(&mut e, AGT, Document::Cancel(cancel_of(&y, &invt, "C-1")));
    assert!(accepted_at(&rs, "CEB624Message", 399), "{:?}", sigs(&rs));
}

struct HoldForReview;
impl Decider for HoldForReview {
    fn decide(&self, _: &DecisionContext) -> Decision {
        Decision::DocumentReview
    }
}

fn score(e: &Engine, code: &str) -> Option<u32> {
    e.explain_credit(&Subject::Enterprise(code.into()), now())
        .map(|x| x.score)
}

#[test]
fn naming_a_seller_without_its_consent_charges_only_the_sender() {
    let mut e = world();
    let before = score(&e, EBC);
    let mut refused = 0;
    for n in 0..40 {
        // A stranger's platform-less scheme: orders and inventories naming A's seller, with a
        // buyer mismatch between them.
        let mut x = docs(&spec(100 + n));
        x.order.ebc_code = EBC.into();
        x.inventory.agent_code = X_AGENT.into();
        x.inventory.buyer_name = "另一个人".into();
        let rs = send(&mut e, X_AGENT, Document::Inventory(x.inventory.clone()));
        refused += usize::from(refused_with(&rs, "9304"));
        assert!(rs.iter().all(|r| r.recipients == vec![X_AGENT.to_string()]));
    }
    assert_eq!(refused, 40);
    assert_eq!(score(&e, EBC), before, "A's seller's credit is untouched");
    assert!(
        score(&e, X_AGENT).is_some(),
        "the sender answers for its documents"
    );
    // A's next clean declaration is decided exactly as in a world without the stranger.
    let decided = |e: &mut Engine| {
        sigs(&run_at(e, &docs(&spec(200)), now(), &Supervised))
            .into_iter()
            .filter(|(m, _, _)| *m == "CEB622Message")
            .collect::<Vec<_>>()
    };
    assert_eq!(decided(&mut e), decided(&mut world()));
}

#[test]
fn a_mismatch_is_charged_to_the_senders_of_the_documents_compared() {
    let mut e = world();
    let mut x = docs(&spec(6));
    x.inventory.buyer_name = "另一个人".into();
    let rs = run(&mut e, &x);
    assert!(has(&rs, "CEB622Message", 100, "13127"), "{:?}", sigs(&rs));
    // M6 compares the inventory (agent AGT) with the order (platform EBP): they answer, the
    // seller merely named by both does not.
    assert!(score(&e, AGT).is_some());
    assert!(score(&e, EBP).is_some());
    assert_eq!(score(&e, EBC), None, "the named seller is not charged");
}

#[test]
fn under_the_legacy_rules_history_replays_as_it_was_decided() {
    // A store written before the rules: the stranger's modification was accepted then, and a
    // replay of that journal must accept it again.
    let mut e = engine();
    file(&mut e, X_SELLER, &[Role::Seller], &[]);
    assert_eq!(e.rules_version(), RULES_LEGACY);
    let x = docs(&spec(7));
    send(&mut e, EBP, Document::Order(x.order.clone()));
    send(&mut e, PAY, Document::Payment(x.payment.clone()));
    let mut forged = x.order.clone();
    forged.guid = "X-1".into();
    forged.app_type = "2".into();
    forged.ebc_code = X_SELLER.into();
    let rs = send(&mut e, X_SELLER, Document::Order(forged));
    assert!(has(&rs, "CEB312Message", 2, ""), "{:?}", sigs(&rs));

    // The upgrade files the pairs the history showed, so that ongoing traffic keeps flowing,
    // and from then on the rules hold.
    let Some(Action::AdoptRules { version, implied }) = e.rules_upgrade() else {
        panic!("an upgrade is due");
    };
    assert_eq!(version, RULES_CURRENT);
    assert!(implied.contains(&(PAY.to_string(), EBP.to_string())));
    assert!(implied.contains(&(EBP.to_string(), X_SELLER.to_string())));
    let outcome = act(
        &mut e,
        Actor::System,
        Action::AdoptRules {
            version,
            implied: implied.clone(),
        },
    );
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(e.rules_upgrade().is_none());
    // Adopted once: a second adoption is refused.
    assert!(
        act(
            &mut e,
            Actor::System,
            Action::AdoptRules { version, implied }
        )
        .is_err()
    );
    // Nobody but the system adopts rules.
    assert!(
        act(
            &mut e,
            Actor::Admin,
            Action::AdoptRules {
                version: RULES_CURRENT + 1,
                implied: vec![]
            }
        )
        .is_err()
    );
    // The sender of record (now the stranger, as history has it) is the only one who modifies.
    let mut again = x.order.clone();
    again.guid = "O-3".into();
    again.app_type = "2".into();
    again.ebc_code = X_SELLER.into();
    let rs = send(&mut e, EBP, Document::Order(again));
    assert!(refused_with(&rs, "9303"), "{:?}", sigs(&rs));
}

fn date(s: &str) -> CivilDate {
    CivilDate::parse_yyyymmdd(s).unwrap()
}

#[test]
fn entrustments_are_filed_accepted_revoked_and_bounded_by_their_dates() {
    let mut e = world();
    let ent = |e: &mut Engine, by: &str, partner: &str, until: Option<&str>| {
        act(
            e,
            Actor::Enterprise(by.into()),
            Action::Entrust {
                principal: None,
                partner: partner.into(),
                valid_from: None,
                valid_until: until.map(date),
            },
        )
    };
    // X's seller asks A's platform to admit it: proposed, not yet in force.
    let filed = ent(&mut e, X_SELLER, EBP, None).expect("filed");
    let id = filed["id"].as_str().unwrap().to_string();
    assert_eq!(filed["state"], "proposed");
    let x = docs(&spec(8));
    let mut order = x.order.clone();
    order.ebc_code = X_SELLER.into();
    let rs = send(&mut e, X_SELLER, Document::Order(order.clone()));
    assert!(refused_with(&rs, "9304"));
    // A second filing while one stands is refused; the filer cannot accept its own.
    assert!(ent(&mut e, EBP, X_SELLER, None).is_err());
    let step = |e: &mut Engine, by: &str, step| {
        act(
            e,
            Actor::Enterprise(by.into()),
            Action::Entrustment {
                id: id.clone(),
                step,
            },
        )
    };
    assert_eq!(
        step(&mut e, X_SELLER, EntrustmentStep::Accept)
            .unwrap_err()
            .kind,
        RefusedKind::Forbidden
    );
    // A third party is told it does not exist.
    assert_eq!(
        step(&mut e, X_PAY, EntrustmentStep::Revoke)
            .unwrap_err()
            .kind,
        RefusedKind::NotFound
    );
    let accepted = step(&mut e, EBP, EntrustmentStep::Accept).expect("accepted");
    assert_eq!(accepted["inForce"], true);
    order.guid = "O-8b".into();
    let rs = send(&mut e, X_SELLER, Document::Order(order.clone()));
    assert!(has(&rs, "CEB312Message", 2, ""), "{:?}", sigs(&rs));
    // Revoked: no longer in force, and a revoked one cannot be accepted again.
    step(&mut e, EBP, EntrustmentStep::Revoke).expect("revoked");
    assert!(step(&mut e, EBP, EntrustmentStep::Accept).is_err());
    let mut next = docs(&spec(9)).order;
    next.ebc_code = X_SELLER.into();
    let rs = send(&mut e, X_SELLER, Document::Order(next.clone()));
    assert!(refused_with(&rs, "9304"));

    // Dates: an entrustment that ended yesterday does not count.
    let id2 = act(
        &mut e,
        Actor::Enterprise(X_SELLER.into()),
        Action::Entrust {
            principal: None,
            partner: EBP.into(),
            valid_from: Some(date("20260101")),
            valid_until: Some(date("20260228")),
        },
    )
    .expect("filed")["id"]
        .as_str()
        .unwrap()
        .to_string();
    act(
        &mut e,
        Actor::Enterprise(EBP.into()),
        Action::Entrustment {
            id: id2,
            step: EntrustmentStep::Accept,
        },
    )
    .expect("accepted");
    next.guid = "O-9b".into();
    let rs = send(&mut e, X_SELLER, Document::Order(next));
    assert!(
        refused_with(&rs, "9304"),
        "ended on 2026-02-28, now is 2026-03-01"
    );

    // Bad filings: oneself, an unfiled partner, dates the wrong way round, a regulator.
    assert!(ent(&mut e, EBP, EBP, None).is_err());
    assert_eq!(
        ent(&mut e, EBP, "NOBODY1", None).unwrap_err().kind,
        RefusedKind::NotFound
    );
    assert!(
        act(
            &mut e,
            Actor::Enterprise(X_SELLER.into()),
            Action::Entrust {
                principal: None,
                partner: AGT.into(),
                valid_from: Some(date("20260501")),
                valid_until: Some(date("20260401")),
            },
        )
        .is_err()
    );
    assert_eq!(
        act(
            &mut e,
            Actor::Regulator(domain::subject::Department::Customs),
            Action::Entrust {
                principal: Some(EBC.into()),
                partner: X_AGENT.into(),
                valid_from: None,
                valid_until: None,
            },
        )
        .unwrap_err()
        .kind,
        RefusedKind::Forbidden
    );
    // An enterprise cannot file in another's name.
    assert!(
        act(
            &mut e,
            Actor::Enterprise(X_SELLER.into()),
            Action::Entrust {
                principal: Some(EBC.into()),
                partner: X_AGENT.into(),
                valid_from: None,
                valid_until: None,
            },
        )
        .is_err()
    );
}

#[test]
fn entrustments_survive_a_restore() {
    let mut e = world();
    let _ = e.take_changes();
    let rows: Vec<(String, String, Vec<u8>)> = {
        let mut fresh = world();
        fresh
            .take_changes()
            .state
            .into_iter()
            .filter_map(|(ns, k, v)| v.map(|v| (ns, k, v)))
            .collect()
    };
    let restored = Engine::restore(
        domain::settings::Settings::default(),
        b"test-secret".to_vec(),
        rows,
    )
    .expect("restored");
    assert_eq!(restored.rules_version(), RULES_CURRENT);
    let mut restored = restored;
    // The registry's entrustments came back: A's agent still declares for A's seller.
    let x = docs(&spec(10));
    let rs = run(&mut restored, &x);
    assert!(accepted_at(&rs, "CEB622Message", 800), "{:?}", sigs(&rs));
    let rs = run(&mut e, &docs(&spec(11)));
    assert!(accepted_at(&rs, "CEB622Message", 800), "{:?}", sigs(&rs));
}

#[test]
fn a_cancellation_is_charged_to_the_seller_of_record_not_to_the_one_it_names() {
    let mut e = world();
    let y = docs(&spec(12));
    let held = run_at(&mut e, &y, now(), &HoldForReview);
    let invt = invt_no(&held);
    // The agent of record cancels, but its message names the stranger's seller.
    let mut cancel = cancel_of(&y, &invt, "C-12");
    cancel.ebc_code = X_SELLER.into();
    let rs = send(&mut e, AGT, Document::Cancel(cancel));
    assert!(accepted_at(&rs, "CEB624Message", 399), "{:?}", sigs(&rs));
    assert_eq!(
        score(&e, X_SELLER),
        None,
        "the seller merely named is not charged"
    );
    assert!(score(&e, EBC).is_some());
}
