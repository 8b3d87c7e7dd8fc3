//! The negative lists: the listing workflow (appeal, repair, withdrawal, expiry), the public view,
//! the goods control list and recalls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use domain::negative::{
    Category, Control, ControlEntry, ControlList, GoodsError, GoodsLine, GoodsMatch, Listing,
    ListingAction, ListingError, ListingSettings, ListingState, NewListing, Recall, Severity,
};
use domain::personal::BuyerKey;
use domain::subject::{Department, Subject};
use domain::time::{CivilDate, Timestamp};
use proptest::prelude::*;

/// `hh:00` Beijing time on a date.
fn at(year: i32, month: u32, day: u32, hour: i64) -> Timestamp {
    let midnight = CivilDate { year, month, day }.beijing_midnight();
    Timestamp(midnight.0 + hour * 3_600_000)
}

fn s() -> ListingSettings {
    ListingSettings::default()
}

const EVIDENCE: &str = "case HZ-2026-017: 312 counterfeit parcels seized";

fn new_listing(severity: Severity) -> NewListing {
    NewListing {
        subject: Subject::Enterprise("3301960001".into()),
        name: Some("Acme Trading Co.".into()),
        category: Category::Counterfeiting,
        severity,
        department: Department::Customs,
        evidence: EVIDENCE.into(),
        effective_from: Some(at(2026, 1, 1, 10)),
        expires_at: None,
    }
}

/// A listing in force from 2026-01-01 10:00 Beijing time, opened at that instant.
fn listed() -> Listing {
    Listing::open(
        "NL-1".into(),
        new_listing(Severity::Listed),
        "customs:li",
        at(2026, 1, 1, 10),
        &s(),
    )
    .unwrap()
}

fn appeal(reason: &str) -> ListingAction {
    ListingAction::Appeal {
        reason: reason.into(),
    }
}

fn actions(l: &Listing) -> Vec<&str> {
    l.audit.iter().map(|a| a.action.as_str()).collect()
}

/// Applies `action` expecting a refusal, and checks the listing did not change at all.
fn refused(l: &mut Listing, action: &ListingAction, now: Timestamp) -> ListingError {
    let before = l.clone();
    let err = l.act(action, "someone", now, &s()).unwrap_err();
    assert_eq!(*l, before, "a refused {action:?} changed the listing");
    err
}

// ---------------------------------------------------------------- opening

#[test]
fn a_listing_opens_active_with_the_default_term_and_an_audit_entry() {
    let l = listed();
    assert_eq!(l.state, ListingState::Active);
    assert_eq!(l.effective_from, at(2026, 1, 1, 10));
    // 1095 days from 2026-01-01 (2028 is a leap year): ends as 2028-12-31 begins (Beijing time).
    assert_eq!(l.expires_at, at(2028, 12, 31, 0));
    assert_eq!(l.created_at, at(2026, 1, 1, 10));
    assert_eq!(l.closed_at, None);
    assert_eq!(actions(&l), ["listed"]);
    assert_eq!(l.audit[0].actor, "customs:li");
    assert!(l.audit[0].note.contains("counterfeiting"));
    assert!(
        !l.audit[0].note.contains("HZ-2026-017"),
        "evidence leaked into the audit trail"
    );

    let w = Listing::open(
        "NL-2".into(),
        new_listing(Severity::Warning),
        "customs:li",
        at(2026, 1, 1, 10),
        &s(),
    )
    .unwrap();
    assert_eq!(actions(&w), ["warned"]);
    assert_eq!(w.expires_at, at(2027, 1, 1, 0));
}

#[test]
fn opening_starts_now_when_no_start_is_given_and_honours_an_explicit_expiry() {
    let mut n = new_listing(Severity::Listed);
    n.effective_from = None;
    n.expires_at = Some(at(2026, 6, 30, 0));
    let l = Listing::open("NL-3".into(), n, "customs:li", at(2026, 2, 3, 9), &s()).unwrap();
    assert_eq!(l.effective_from, at(2026, 2, 3, 9));
    assert_eq!(l.expires_at, at(2026, 6, 30, 0));
}

#[test]
fn opening_refuses_missing_evidence_named_persons_and_bad_terms() {
    let now = at(2026, 1, 1, 10);
    let open = |n: NewListing| Listing::open("NL-9".into(), n, "customs:li", now, &s());

    let mut n = new_listing(Severity::Listed);
    n.evidence = "  ".into();
    let err = open(n).unwrap_err();
    assert_eq!(err.to_string(), "evidence is required");

    let mut n = new_listing(Severity::Listed);
    n.subject = Subject::Person(BuyerKey("9f2c".into()));
    assert_eq!(open(n).unwrap_err(), ListingError::PersonWithName);

    let mut n = new_listing(Severity::Listed);
    n.expires_at = Some(at(2025, 12, 1, 0));
    let err = open(n).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the expiry (2025-12-01) must be after the start (2026-01-01)"
    );

    let mut n = new_listing(Severity::Listed);
    n.effective_from = Some(at(2025, 1, 1, 0));
    n.expires_at = Some(at(2025, 6, 1, 0));
    assert!(matches!(
        open(n).unwrap_err(),
        ListingError::ExpiryPast { .. }
    ));

    let bad = ListingSettings {
        appeal_decision_days: 0,
        ..ListingSettings::default()
    };
    let err = Listing::open(
        "NL-9".into(),
        new_listing(Severity::Listed),
        "customs:li",
        now,
        &bad,
    )
    .unwrap_err();
    assert!(err.to_string().contains("appeal_decision_days"), "{err}");
}

// ---------------------------------------------------------------- appeal

#[test]
fn an_upheld_appeal_returns_the_listing_to_active_and_cannot_be_repeated() {
    let mut l = listed();
    l.act(
        &appeal("the goods were genuine"),
        "ent:3301960001",
        at(2026, 1, 20, 9),
        &s(),
    )
    .unwrap();
    assert_eq!(l.state, ListingState::Appealed);
    assert!(
        l.blocks(at(2026, 1, 20, 10)),
        "an appeal must not lift the ban"
    );

    l.act(
        &ListingAction::DecideAppeal {
            upheld: true,
            note: "lab report confirms counterfeits".into(),
        },
        "customs:wang",
        at(2026, 2, 5, 9),
        &s(),
    )
    .unwrap();
    assert_eq!(l.state, ListingState::Active);
    let a = l.appeal.clone().unwrap();
    assert_eq!(a.upheld, Some(true));
    assert_eq!(a.decided_at, Some(at(2026, 2, 5, 9)));
    assert_eq!(a.reason, "the goods were genuine");
    assert!(l.blocks(at(2026, 2, 5, 10)));

    let err = refused(&mut l, &appeal("again"), at(2026, 2, 6, 9));
    assert_eq!(
        err.to_string(),
        "the listing was already appealed (decided on 2026-02-05); a listing is appealed once"
    );
    assert_eq!(actions(&l), ["listed", "appealed", "appeal_upheld"]);
    assert_eq!(l.audit[1].actor, "ent:3301960001");
    assert_eq!(l.audit[1].note, "the goods were genuine");
    assert_eq!(l.audit[2].actor, "customs:wang");
    assert_eq!(l.audit[2].at, at(2026, 2, 5, 9));
}

#[test]
fn an_overturned_appeal_revokes_the_listing_and_takes_it_off_the_public_list() {
    let mut l = listed();
    l.act(
        &appeal("wrong enterprise code"),
        "ent",
        at(2026, 1, 5, 9),
        &s(),
    )
    .unwrap();
    l.act(
        &ListingAction::DecideAppeal {
            upheld: false,
            note: "the seizure concerned 3301960002".into(),
        },
        "customs:wang",
        at(2026, 1, 12, 9),
        &s(),
    )
    .unwrap();
    assert_eq!(l.state, ListingState::Revoked);
    assert_eq!(l.closed_at, Some(at(2026, 1, 12, 9)));
    assert_eq!(l.appeal.as_ref().unwrap().upheld, Some(false));
    assert!(!l.in_force(at(2026, 1, 12, 10)));
    assert!(!l.blocks(at(2026, 1, 12, 10)));
    assert_eq!(l.public_view(at(2026, 1, 12, 10)), None);
    assert_eq!(actions(&l), ["listed", "appealed", "appeal_overturned"]);
}

#[test]
fn the_appeal_window_includes_its_last_beijing_day_and_no_more() {
    // Effective 2026-01-01: 60 days later is 2026-03-02, the last day to appeal.
    let l = listed();
    let d = l.deadlines(&s());
    assert_eq!(d.appeal_until, at(2026, 3, 3, 0));

    let mut late = l.clone();
    let err = refused(&mut late, &appeal("late"), at(2026, 3, 3, 0));
    assert_eq!(err.to_string(), "the appeal window closed on 2026-03-02");

    let mut last_day = l.clone();
    last_day
        .act(&appeal("just in time"), "ent", at(2026, 3, 2, 23), &s())
        .unwrap();
    assert_eq!(last_day.state, ListingState::Appealed);
}

#[test]
fn deadlines_and_overdue_follow_the_pending_request() {
    let mut l = listed();
    assert_eq!(l.deadlines(&s()).decision_due, None);
    assert!(!l.overdue(at(2030, 1, 1, 0), &s()));
    assert_eq!(l.deadlines(&s()).repair_from, at(2027, 1, 1, 0));

    l.act(&appeal("genuine goods"), "ent", at(2026, 1, 10, 15), &s())
        .unwrap();
    // Filed 2026-01-10: 30 days to decide, through 2026-02-09.
    assert_eq!(l.deadlines(&s()).decision_due, Some(at(2026, 2, 10, 0)));
    assert!(!l.overdue(at(2026, 2, 9, 23), &s()));
    assert!(l.overdue(at(2026, 2, 10, 0), &s()));

    l.act(
        &ListingAction::DecideAppeal {
            upheld: true,
            note: "late but confirmed".into(),
        },
        "customs:wang",
        at(2026, 2, 12, 9),
        &s(),
    )
    .unwrap();
    assert_eq!(l.deadlines(&s()).decision_due, None);
    assert!(!l.overdue(at(2026, 2, 12, 10), &s()));

    let custom = ListingSettings {
        repair_wait_days_listed: 180,
        repair_decision_days: 10,
        ..ListingSettings::default()
    };
    assert_eq!(l.deadlines(&custom).repair_from, at(2026, 6, 30, 0));
    l.act(
        &ListingAction::RequestRepair {
            evidence: "paid all fines".into(),
        },
        "ent",
        at(2026, 7, 1, 9),
        &custom,
    )
    .unwrap();
    assert_eq!(l.deadlines(&custom).decision_due, Some(at(2026, 7, 12, 0)));
    assert!(l.overdue(at(2026, 7, 12, 0), &custom));
}

// ---------------------------------------------------------------- repair

#[test]
fn repair_is_refused_before_the_wait_and_an_approved_repair_lifts_the_listing() {
    let mut l = listed();
    let repair = ListingAction::RequestRepair {
        evidence: "destroyed the stock, trained staff".into(),
    };
    let err = refused(&mut l, &repair, at(2026, 12, 31, 23));
    assert_eq!(err.to_string(), "repair may be requested from 2027-01-01");

    l.act(&repair, "ent", at(2027, 1, 1, 0), &s()).unwrap();
    assert_eq!(l.state, ListingState::RepairRequested);
    assert!(
        l.blocks(at(2027, 1, 2, 0)),
        "a repair request must not lift the ban"
    );

    l.act(
        &ListingAction::DecideRepair {
            approved: true,
            note: "correction verified".into(),
        },
        "customs:wang",
        at(2027, 1, 20, 9),
        &s(),
    )
    .unwrap();
    assert_eq!(l.state, ListingState::Repaired);
    assert_eq!(l.closed_at, Some(at(2027, 1, 20, 9)));
    let r = l.repair.clone().unwrap();
    assert_eq!(r.approved, Some(true));
    assert_eq!(r.evidence, "destroyed the stock, trained staff");
    assert!(!l.blocks(at(2027, 1, 21, 0)));
    assert_eq!(
        actions(&l),
        ["listed", "repair_requested", "repair_approved"]
    );
    // The request's evidence stays in the listing, not in the trail.
    assert_eq!(l.audit[1].note, "");
}

#[test]
fn a_warning_can_be_repaired_after_its_shorter_wait() {
    let mut w = Listing::open(
        "NL-2".into(),
        new_listing(Severity::Warning),
        "customs:li",
        at(2026, 1, 1, 10),
        &s(),
    )
    .unwrap();
    assert_eq!(w.deadlines(&s()).repair_from, at(2026, 4, 1, 0));
    w.act(
        &ListingAction::RequestRepair {
            evidence: "fixed".into(),
        },
        "ent",
        at(2026, 4, 1, 9),
        &s(),
    )
    .unwrap();
    assert_eq!(w.state, ListingState::RepairRequested);
}

#[test]
fn a_refused_repair_keeps_the_listing_in_force_and_may_be_asked_again() {
    let mut l = listed();
    let repair = ListingAction::RequestRepair {
        evidence: "paid".into(),
    };
    l.act(&repair, "ent", at(2027, 2, 1, 9), &s()).unwrap();
    l.act(
        &ListingAction::DecideRepair {
            approved: false,
            note: "stock not destroyed".into(),
        },
        "customs:wang",
        at(2027, 2, 10, 9),
        &s(),
    )
    .unwrap();
    assert_eq!(l.state, ListingState::Active);
    assert_eq!(l.closed_at, None);
    assert_eq!(l.repair.as_ref().unwrap().approved, Some(false));
    assert!(l.blocks(at(2027, 2, 10, 10)));

    l.act(&repair, "ent", at(2027, 3, 1, 9), &s()).unwrap();
    assert_eq!(l.state, ListingState::RepairRequested);
    assert_eq!(l.repair.as_ref().unwrap().approved, None);
    assert_eq!(
        actions(&l),
        [
            "listed",
            "repair_requested",
            "repair_refused",
            "repair_requested"
        ]
    );
}

// ---------------------------------------------------------------- illegal steps

#[test]
fn decisions_need_a_pending_request_of_their_kind() {
    let decide_appeal = ListingAction::DecideAppeal {
        upheld: true,
        note: "n".into(),
    };
    let decide_repair = ListingAction::DecideRepair {
        approved: true,
        note: "n".into(),
    };
    let mut l = listed();
    let err = refused(&mut l, &decide_appeal, at(2026, 1, 2, 9));
    assert_eq!(err.to_string(), "there is no pending appeal to decide");
    let err = refused(&mut l, &decide_repair, at(2026, 1, 2, 9));
    assert_eq!(
        err.to_string(),
        "there is no pending repair request to decide"
    );

    l.act(&appeal("no"), "ent", at(2026, 1, 2, 9), &s())
        .unwrap();
    let err = refused(&mut l, &decide_repair, at(2026, 1, 3, 9));
    assert_eq!(
        err.to_string(),
        "there is no pending repair request to decide"
    );
    // Nothing else may start while the appeal is pending.
    assert_eq!(
        refused(&mut l, &appeal("twice"), at(2026, 1, 3, 9)),
        ListingError::AppealPending
    );
    let late_repair = ListingAction::RequestRepair {
        evidence: "e".into(),
    };
    assert_eq!(
        refused(&mut l, &late_repair, at(2027, 1, 3, 9)),
        ListingError::AppealPending
    );
}

#[test]
fn an_appeal_is_refused_while_a_repair_is_pending() {
    let custom = ListingSettings {
        repair_wait_days_listed: 10,
        ..ListingSettings::default()
    };
    let mut l = listed();
    l.act(
        &ListingAction::RequestRepair {
            evidence: "e".into(),
        },
        "ent",
        at(2026, 1, 15, 9),
        &custom,
    )
    .unwrap();
    let before = l.clone();
    let err = l
        .act(&appeal("also wrong"), "ent", at(2026, 1, 16, 9), &custom)
        .unwrap_err();
    assert_eq!(err, ListingError::RepairPending);
    assert_eq!(l, before);
}

#[test]
fn empty_reasons_and_notes_are_refused() {
    let mut l = listed();
    let err = refused(&mut l, &appeal(" "), at(2026, 1, 2, 9));
    assert_eq!(err.to_string(), "appeal reason is required");
    let err = refused(
        &mut l,
        &ListingAction::Withdraw { note: "".into() },
        at(2026, 1, 2, 9),
    );
    assert_eq!(err.to_string(), "withdrawal note is required");
}

#[test]
fn a_withdrawn_listing_is_closed_to_every_action() {
    let mut l = listed();
    l.act(
        &appeal("the case was dropped"),
        "ent",
        at(2026, 1, 3, 9),
        &s(),
    )
    .unwrap();
    l.act(
        &ListingAction::Withdraw {
            note: "case dropped by the prosecutor".into(),
        },
        "customs:li",
        at(2026, 1, 4, 9),
        &s(),
    )
    .unwrap();
    assert_eq!(l.state, ListingState::Revoked);
    assert_eq!(l.closed_at, Some(at(2026, 1, 4, 9)));
    assert!(!l.blocks(at(2026, 1, 4, 10)));
    assert_eq!(actions(&l), ["listed", "appealed", "withdrawn"]);

    for action in [
        appeal("x"),
        ListingAction::DecideAppeal {
            upheld: true,
            note: "x".into(),
        },
        ListingAction::RequestRepair {
            evidence: "x".into(),
        },
        ListingAction::DecideRepair {
            approved: true,
            note: "x".into(),
        },
        ListingAction::Withdraw { note: "x".into() },
    ] {
        let err = refused(&mut l, &action, at(2027, 6, 1, 9));
        assert_eq!(
            err.to_string(),
            "the listing is closed (revoked) and can no longer change"
        );
    }
    assert!(
        !l.expire(at(2030, 1, 1, 0)),
        "a closed listing does not expire again"
    );
}

// ---------------------------------------------------------------- expiry and effect

#[test]
fn a_listing_expires_at_the_end_of_its_term() {
    let mut l = listed();
    assert!(!l.expire(at(2028, 12, 30, 23)));
    assert_eq!(l.state, ListingState::Active);
    assert!(l.blocks(at(2028, 12, 30, 23)));

    // Past its term but not yet swept: no longer in force, and actions are refused.
    assert!(!l.blocks(at(2028, 12, 31, 0)));
    let err = refused(
        &mut l,
        &ListingAction::Withdraw { note: "x".into() },
        at(2028, 12, 31, 1),
    );
    assert_eq!(err.to_string(), "the listing expired on 2028-12-30");

    assert!(l.expire(at(2028, 12, 31, 2)));
    assert_eq!(l.state, ListingState::Expired);
    assert_eq!(l.closed_at, Some(at(2028, 12, 31, 2)));
    let last = l.audit.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("system", "expired")
    );
    assert!(!l.expire(at(2029, 1, 1, 0)), "expiry is recorded once");
    assert_eq!(actions(&l), ["listed", "expired"]);
}

#[test]
fn warnings_are_in_force_but_never_block() {
    let w = Listing::open(
        "NL-2".into(),
        new_listing(Severity::Warning),
        "customs:li",
        at(2026, 1, 1, 10),
        &s(),
    )
    .unwrap();
    assert!(w.in_force(at(2026, 5, 1, 0)));
    assert!(!w.blocks(at(2026, 5, 1, 0)));
    assert_eq!(w.public_view(at(2026, 5, 1, 0)), None);

    // A listing that starts later is not in force before its start.
    let mut n = new_listing(Severity::Listed);
    n.effective_from = Some(at(2026, 3, 1, 0));
    let l = Listing::open("NL-4".into(), n, "customs:li", at(2026, 1, 1, 10), &s()).unwrap();
    assert!(!l.in_force(at(2026, 2, 28, 23)));
    assert!(!l.blocks(at(2026, 2, 28, 23)));
    assert!(l.blocks(at(2026, 3, 1, 0)));
}

// ---------------------------------------------------------------- public view

#[test]
fn the_public_view_shows_listed_enterprises_without_evidence_or_trail() {
    let mut l = listed();
    l.act(
        &appeal("genuine goods from the brand"),
        "ent",
        at(2026, 1, 5, 9),
        &s(),
    )
    .unwrap();
    let v = l.public_view(at(2026, 1, 6, 0)).unwrap();
    assert_eq!(v.code, "3301960001");
    assert_eq!(v.name.as_deref(), Some("Acme Trading Co."));
    assert_eq!(v.category, Category::Counterfeiting);
    assert_eq!(v.department, Department::Customs);
    assert_eq!(v.effective_from, at(2026, 1, 1, 10));
    assert_eq!(v.expires_at, at(2028, 12, 31, 0));
    assert_eq!(v.state, ListingState::Appealed);

    let json = serde_json::to_string(&v).unwrap();
    for secret in [
        "HZ-2026-017",
        "genuine goods",
        "audit",
        "evidence",
        "customs:li",
    ] {
        assert!(
            !json.contains(secret),
            "public view shows {secret:?}: {json}"
        );
    }
    assert_eq!(
        l.public_view(at(2029, 1, 1, 0)),
        None,
        "expired listings are not public"
    );
}

#[test]
fn persons_are_never_public() {
    let mut n = new_listing(Severity::Listed);
    n.subject = Subject::Person(BuyerKey("a1b2c3".into()));
    n.name = None;
    n.category = Category::IdentityMisuse;
    let p = Listing::open("NL-5".into(), n, "customs:li", at(2026, 1, 1, 10), &s()).unwrap();
    assert!(p.blocks(at(2026, 2, 1, 0)));
    assert_eq!(p.public_view(at(2026, 2, 1, 0)), None);
}

// ---------------------------------------------------------------- settings and names

#[test]
fn listing_settings_default_validate_and_read_partial_files() {
    let d = ListingSettings::default();
    assert_eq!(
        (
            d.appeal_window_days,
            d.appeal_decision_days,
            d.repair_wait_days_warning,
            d.repair_wait_days_listed,
            d.repair_decision_days,
            d.duration_days_warning,
            d.duration_days_listed
        ),
        (60, 30, 90, 365, 30, 365, 1095)
    );
    assert_eq!(d.validate(), Ok(()));
    let partial: ListingSettings = serde_json::from_str(r#"{"appeal_window_days": 15}"#).unwrap();
    assert_eq!(partial.appeal_window_days, 15);
    assert_eq!(partial.duration_days_listed, 1095);
    let bad = ListingSettings {
        appeal_window_days: -1,
        ..d
    };
    assert_eq!(
        bad.validate(),
        Err("appeal_window_days must be between 0 and 36500 days, not -1".into())
    );
}

#[test]
fn names_round_trip_and_actions_read_as_tagged_json() {
    for c in Category::ALL {
        assert_eq!(Category::parse(c.as_str()), Some(c));
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            format!("\"{}\"", c.as_str())
        );
        assert!(!c.title().is_empty() && !c.title_zh().is_empty());
    }
    assert_eq!(Category::parse("arson"), None);
    assert_eq!(Category::IprInfringement.title_zh(), "知识产权侵权");
    let a: ListingAction =
        serde_json::from_str(r#"{"action":"decide_appeal","upheld":false,"note":"n"}"#).unwrap();
    assert_eq!(
        a,
        ListingAction::DecideAppeal {
            upheld: false,
            note: "n".into()
        }
    );
    let l = listed();
    let back: Listing = serde_json::from_str(&serde_json::to_string(&l).unwrap()).unwrap();
    assert_eq!(back, l);
}

// ---------------------------------------------------------------- goods control list

fn line<'a>(gnum: u32, hs: &'a str, name: &'a str, model: &'a str) -> GoodsLine<'a> {
    GoodsLine {
        gnum,
        hs,
        name,
        model,
        item_no: None,
        bar_code: None,
    }
}

fn entry(id: &str, matcher: GoodsMatch, control: Control) -> ControlEntry {
    ControlEntry {
        id: id.into(),
        matcher,
        control,
        reason: "counterfeits seized".into(),
        department: Department::Inspection,
        since: at(2026, 1, 1, 0),
        until: None,
    }
}

fn brand(b: &str) -> GoodsMatch {
    GoodsMatch::Brand { brand: b.into() }
}

fn hs(p: &str) -> GoodsMatch {
    GoodsMatch::Hs { prefix: p.into() }
}

fn product(c: &str) -> GoodsMatch {
    GoodsMatch::Product { code: c.into() }
}

fn now() -> Timestamp {
    at(2026, 3, 1, 12)
}

#[test]
fn hs_prefixes_match_codes_under_them_only() {
    let mut list = ControlList::default();
    list.add(entry("C-1", hs("0201"), Control::Banned)).unwrap();
    let beef = [line(1, "0201300090", "牛肉", "冷鲜")];
    let pork = [line(1, "0203110000", "猪肉", "冷鲜")];
    let hit = list.check(&beef, now()).unwrap();
    assert_eq!(hit.entry, "C-1");
    assert_eq!(hit.gnum, 1);
    assert_eq!(hit.control, Control::Banned);
    assert_eq!(
        hit.reason,
        "line 1: HS 0201 is banned (counterfeits seized)"
    );
    assert_eq!(list.check(&pork, now()), None);

    let full = hs("3304990099");
    assert!(full.matches(&line(1, "3304990099", "面霜", "X")));
    assert!(!full.matches(&line(1, "3304990090", "面霜", "X")));
}

#[test]
fn brands_match_whole_tokens_case_insensitively_not_substrings() {
    let mut list = ControlList::default();
    list.add(entry("C-2", brand("Acme"), Control::Banned))
        .unwrap();
    let hit_on = |model: &str, name: &str| {
        list.check(&[line(1, "3304990099", name, model)], now())
            .is_some()
    };
    assert!(hit_on("Acme|面霜 50ml", "面霜"));
    assert!(hit_on("ACME 50ml", "面霜"));
    assert!(hit_on("品牌：acme，规格：50ml", "面霜"));
    assert!(hit_on("50ml", "acme 面霜"), "the brand may be in gname");
    assert!(hit_on("（Acme）50ml", "面霜"));
    assert!(hit_on("Acme®|50ml", "面霜"), "® is not part of the brand");
    assert!(
        !hit_on("Acmeon|面霜 50ml", "面霜"),
        "Acme must not match Acmeon"
    );
    assert!(!hit_on("NotAcme 50ml", "面霜"));
    assert!(
        !hit_on("无品牌|50ml", "Acme面霜"),
        "no token boundary between Acme and 面霜"
    );
}

#[test]
fn multi_word_brands_match_their_token_run_within_one_field() {
    let mut list = ControlList::default();
    list.add(entry("C-3", brand("SK-II"), Control::Restricted))
        .unwrap();
    list.add(entry("C-4", brand("La Mer"), Control::Banned))
        .unwrap();
    let check = |model: &str, name: &str| {
        list.check(&[line(1, "3304990099", name, model)], now())
            .map(|h| h.entry)
    };
    assert_eq!(check("SK-II|神仙水 230ml", "精华").as_deref(), Some("C-3"));
    assert_eq!(check("sk ii 230ml", "精华").as_deref(), Some("C-3"));
    assert_eq!(check("LA MER|面霜", "面霜").as_deref(), Some("C-4"));
    assert_eq!(
        check("La|面霜", "Mer"),
        None,
        "a run never spans gmodel and gname"
    );
    assert_eq!(check("Lamer|面霜", "面霜"), None);
    assert!(brand("La Mer").matches(&line(1, "3304", "面霜", "品牌:La Mer")));
    assert!(!brand("La Mer").matches(&line(1, "3304", "Mer", "La")));
}

#[test]
fn products_match_by_item_no_or_bar_code() {
    let mut list = ControlList::default();
    list.add(entry("C-5", product("6901234567890"), Control::Banned))
        .unwrap();
    list.add(entry("C-6", product("SKU-77"), Control::Restricted))
        .unwrap();
    let mut l = line(3, "3304990099", "面霜", "X|50ml");
    assert_eq!(list.check(&[l], now()), None);
    l.bar_code = Some(" 6901234567890 ");
    assert_eq!(list.check(&[l], now()).unwrap().entry, "C-5");
    l.bar_code = None;
    l.item_no = Some("SKU-77");
    let hit = list.check(&[l], now()).unwrap();
    assert_eq!(
        (hit.entry.as_str(), hit.control, hit.gnum),
        ("C-6", Control::Restricted, 3)
    );
    assert_eq!(
        hit.reason,
        "line 3: product SKU-77 is restricted (counterfeits seized)"
    );
}

#[test]
fn entries_count_only_between_since_and_until() {
    let mut list = ControlList::default();
    let mut e = entry("C-7", brand("Acme"), Control::Banned);
    e.since = at(2026, 2, 1, 0);
    e.until = Some(at(2026, 4, 1, 0));
    list.add(e).unwrap();
    let lines = [line(1, "3304990099", "面霜", "Acme|50ml")];
    assert_eq!(list.check(&lines, at(2026, 1, 31, 23)), None);
    assert!(list.check(&lines, at(2026, 2, 1, 0)).is_some());
    assert!(list.check(&lines, at(2026, 3, 31, 23)).is_some());
    assert_eq!(list.check(&lines, at(2026, 4, 1, 0)), None);
}

#[test]
fn the_first_controlled_line_is_reported_and_a_ban_wins_over_a_restriction() {
    let mut list = ControlList::default();
    list.add(entry("R-1", hs("3304"), Control::Restricted))
        .unwrap();
    list.add(entry("B-1", brand("Acme"), Control::Banned))
        .unwrap();
    let lines = [
        line(1, "6109100010", "T恤", "Plain|M"),
        line(2, "3304990099", "面霜", "Acme|50ml"),
        line(3, "3304990099", "面霜", "Acme|30ml"),
    ];
    let hit = list.check(&lines, now()).unwrap();
    assert_eq!((hit.entry.as_str(), hit.gnum), ("B-1", 2));
    assert_eq!(
        hit.reason,
        "line 2: brand Acme is banned (counterfeits seized)"
    );
    assert_eq!(list.check(&lines[..1], now()), None);
    assert_eq!(list.check(&[], now()), None);
}

#[test]
fn the_list_refuses_bad_entries_and_keeps_working_after_removal_and_reload() {
    let mut list = ControlList::default();
    assert!(list.is_empty());
    assert_eq!(
        list.add(entry("X", hs("3"), Control::Banned)),
        Err(GoodsError::InvalidHsPrefix("3".into()))
    );
    assert_eq!(
        list.add(entry("X", hs("33049900991"), Control::Banned)),
        Err(GoodsError::InvalidHsPrefix("33049900991".into()))
    );
    assert!(list.add(entry("X", hs("33a4"), Control::Banned)).is_err());
    assert!(matches!(
        list.add(entry("X", brand(" |、 "), Control::Banned)),
        Err(GoodsError::EmptyBrand(_))
    ));
    assert_eq!(
        list.add(entry("X", product(" "), Control::Banned)),
        Err(GoodsError::EmptyProductCode)
    );
    let mut e = entry("X", brand("Acme"), Control::Banned);
    e.until = Some(e.since);
    assert_eq!(list.add(e), Err(GoodsError::UntilNotAfterSince));
    let mut e = entry("X", brand("Acme"), Control::Banned);
    e.reason = "".into();
    assert_eq!(list.add(e), Err(GoodsError::EmptyReason));
    assert!(list.is_empty(), "refused entries are not added");

    list.add(entry("A", hs("0201"), Control::Banned)).unwrap();
    list.add(entry("B", brand("Acme"), Control::Banned))
        .unwrap();
    list.add(entry("C", product("SKU-1"), Control::Banned))
        .unwrap();
    assert_eq!(
        list.add(entry("B", brand("Other"), Control::Banned)),
        Err(GoodsError::DuplicateId("B".into()))
    );
    assert_eq!(list.len(), 3);
    let ids: Vec<&str> = list.entries().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["A", "B", "C"]);

    let acme = [line(1, "3304990099", "面霜", "Acme|50ml")];
    let mut sku = line(1, "3304990099", "面霜", "X");
    sku.item_no = Some("SKU-1");
    assert_eq!(list.remove("B").unwrap().id, "B");
    assert_eq!(list.remove("B"), None);
    assert_eq!(list.get("B"), None);
    assert_eq!(list.check(&acme, now()), None);
    assert_eq!(
        list.check(&[sku], now()).unwrap().entry,
        "C",
        "indexes rebuilt"
    );
    assert_eq!(list.get("C").unwrap().matcher, product("SKU-1"));

    let json = serde_json::to_string(&list).unwrap();
    assert!(json.starts_with('['), "stored as the bare list: {json}");
    let back: ControlList = serde_json::from_str(&json).unwrap();
    assert_eq!(back, list);
    assert_eq!(back.check(&[sku], now()).unwrap().entry, "C");
    let beef = [line(1, "0201300090", "牛肉", "冷鲜")];
    assert_eq!(back.check(&beef, now()).unwrap().entry, "A");

    let dup = format!(
        "[{0},{0}]",
        serde_json::to_string(&entry("A", hs("0201"), Control::Banned)).unwrap()
    );
    assert!(serde_json::from_str::<ControlList>(&dup).is_err());
}

#[test]
fn matchers_describe_themselves_and_read_as_tagged_json() {
    assert_eq!(hs("0201").describe(), "HS 0201");
    assert_eq!(brand(" Acme ").describe(), "brand Acme");
    assert_eq!(product("6901234567890").describe(), "product 6901234567890");
    let m: GoodsMatch = serde_json::from_str(r#"{"by":"brand","brand":"Acme"}"#).unwrap();
    assert_eq!(m, brand("Acme"));
    assert_eq!(
        serde_json::to_string(&hs("0201")).unwrap(),
        r#"{"by":"hs","prefix":"0201"}"#
    );
}

// ---------------------------------------------------------------- recalls

fn recall(seller: Option<&str>) -> Recall {
    Recall {
        id: "RC-1".into(),
        matcher: brand("Acme"),
        seller: seller.map(Into::into),
        reason: "bacterial contamination, batch 2026-02".into(),
        department: Department::Inspection,
        at: at(2026, 3, 1, 0),
        lifted_at: Some(at(2026, 9, 1, 0)),
    }
}

#[test]
fn a_recall_limited_to_one_seller_spares_the_others() {
    let lines = [
        line(1, "6109100010", "T恤", "Plain|M"),
        line(2, "3304990099", "面霜", "Acme|50ml"),
    ];
    let r = recall(Some("3301960001"));
    assert_eq!(r.validate(), Ok(()));
    assert_eq!(r.matches("3301960001", &lines), Some(2));
    assert_eq!(r.matches("3301960009", &lines), None);
    assert_eq!(r.matches("3301960001", &lines[..1]), None);
}

#[test]
fn a_recall_without_seller_covers_everyone_while_active() {
    let lines = [line(1, "3304990099", "面霜", "ACME 50ml")];
    let r = recall(None);
    assert_eq!(r.matches("3301960009", &lines), Some(1));
    assert!(!r.active(at(2026, 2, 28, 23)));
    assert!(r.active(at(2026, 3, 1, 0)));
    assert!(!r.active(at(2026, 9, 1, 0)), "lifted");
    let mut bad = recall(None);
    bad.lifted_at = Some(bad.at);
    assert_eq!(bad.validate(), Err(GoodsError::UntilNotAfterSince));
}

// ---------------------------------------------------------------- indexed = unindexed

proptest! {
    /// The indexed check finds a hit exactly when some active entry's own matcher matches a line.
    #[test]
    fn the_indexed_check_agrees_with_the_matchers(
        prefixes in prop::collection::vec("[0-3]{2,4}", 0..4),
        brands in prop::collection::vec("(acme|Acme|la mer|sk-ii|mer)", 0..3),
        codes in prop::collection::vec("(SKU-[1-3]|690[0-2])", 0..3),
        gcode in "[0-3]{10}",
        model in "(Acme|acmeon|La Mer|SK II|la|mer|x)([ |,，](Acme|acmeon|La Mer|SK II|la|mer|x)){0,3}",
        item in prop::option::of("(SKU-[1-4]|690[0-3])"),
    ) {
        let mut list = ControlList::default();
        let matchers: Vec<GoodsMatch> = prefixes.iter().map(|p| hs(p))
            .chain(brands.iter().map(|b| brand(b)))
            .chain(codes.iter().map(|c| product(c)))
            .collect();
        for (i, m) in matchers.iter().enumerate() {
            list.add(entry(&format!("E{i}"), m.clone(), Control::Banned)).unwrap();
        }
        let mut l = line(1, &gcode, "商品", &model);
        l.item_no = item.as_deref();
        let expected = matchers.iter().position(|m| m.matches(&l));
        let got = list.check(&[l], now());
        prop_assert_eq!(got.map(|h| h.entry), expected.map(|i| format!("E{i}")));
    }
}
