//! Credit records, the scoring model and graded supervision, as a regulator or an enterprise sees
//! them: grades after sequences of events, explanations, windows and sampling rates.

use domain::credit::*;
use domain::personal::BuyerKey;
use domain::subject::{Department, Subject};
use domain::time::{CivilDate, Timestamp, parse_ceb_time14};

const DAY: i64 = 86_400_000;

fn t(s: &str) -> Timestamp {
    parse_ceb_time14(s).unwrap()
}

fn start() -> Timestamp {
    t("20260105100000")
}

fn days(n: i64) -> Timestamp {
    Timestamp(start().0 + n * DAY)
}

fn ev(at: Timestamp, kind: CreditEventKind) -> CreditEvent {
    CreditEvent { at, kind }
}

fn firm(model: &CreditModel) -> CreditRecord {
    CreditRecord::new(Subject::Enterprise("SELL01".into()), start(), model)
}

/// `n` declarations spread one a day from `from`, every `reject_every`-th rejected (0 = none),
/// the others released.
fn declarations(
    r: &mut CreditRecord,
    m: &CreditModel,
    from: i64,
    n: i64,
    reject_every: i64,
) -> Vec<GradeChange> {
    let mut changes = Vec::new();
    for i in 0..n {
        let at = days(from + i / 4);
        changes.extend(r.apply(&ev(at, CreditEventKind::DeclarationFiled), m));
        let kind = if reject_every > 0 && i % reject_every == 0 {
            CreditEventKind::Rejected {
                code: "1301".into(),
            }
        } else {
            CreditEventKind::Released
        };
        changes.extend(r.apply(&ev(at, kind), m));
    }
    changes
}

fn repeat(r: &mut CreditRecord, m: &CreditModel, at: Timestamp, kind: CreditEventKind, n: usize) {
    for _ in 0..n {
        r.apply(&ev(at, kind.clone()), m);
    }
}

fn aeo() -> CreditEventKind {
    CreditEventKind::Certification {
        department: Department::Customs,
        level: CertLevel::Advanced,
        valid_until: CivilDate::parse_yyyymmdd("20281231"),
    }
}

fn factor<'a>(e: &'a Explanation, id: &str) -> &'a FactorExplanation {
    e.factors.iter().find(|f| f.id == id).unwrap()
}

#[test]
fn a_newcomer_is_grade_a_under_general_supervision() {
    let m = CreditModel::default();
    let r = firm(&m);
    assert_eq!(r.grade, Grade::A);
    assert_eq!(r.score, 760);
    assert_eq!(r.class(&m), SupervisionClass::General);
    let tr = r.treatment(&m);
    assert_eq!(tr.inspection_rate_bp, 200);
    assert!(!tr.document_review && !tr.guarantee_exempt);
    assert_eq!(tr.priority, 2);
    assert!(r.history.is_empty());
    assert!(!r.listed());
    assert_eq!(r.warnings(), 0);
}

#[test]
fn an_aeo_enterprise_with_a_clean_record_reaches_aaa_and_the_advanced_treatment() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    let first = r.apply(&ev(days(0), aeo()), &m).unwrap();
    assert_eq!((first.from, first.to), (Grade::A, Grade::Aa));
    assert!(first.cause.contains("customs certification: advanced"));

    let changes = declarations(&mut r, &m, 1, 120, 0);
    repeat(&mut r, &m, days(20), CreditEventKind::TaxPaidOnTime, 6);
    assert_eq!(r.grade, Grade::Aaa, "score {}", r.score);
    assert!(r.score >= 900);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].to, Grade::Aaa);
    assert_eq!(r.history.len(), 2);
    assert_eq!(r.class(&m), SupervisionClass::Advanced);
    let tr = r.treatment(&m);
    assert_eq!(tr.inspection_rate_bp, 40);
    assert!(tr.guarantee_exempt);
    assert_eq!(tr.priority, 0);
}

#[test]
fn a_clean_record_without_certification_reaches_aa_but_not_aaa() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    declarations(&mut r, &m, 0, 150, 0);
    repeat(&mut r, &m, days(30), CreditEventKind::TaxPaidOnTime, 6);
    repeat(&mut r, &m, days(30), CreditEventKind::InspectionPassed, 5);
    assert!(r.score >= 900, "score {}", r.score);
    assert_eq!(r.grade, Grade::Aa);
    assert_eq!(r.class(&m), SupervisionClass::Certified);
    assert_eq!(r.treatment(&m).inspection_rate_bp, 100);
    let e = r.explain(&m, days(30));
    assert!(e.notes.iter().any(|f| f.contains("AEO certification")));

    // A regulator may open AAA to uncertified firms.
    let mut open = m.clone();
    open.cutoffs.aaa_requires_customs_certification = false;
    assert_eq!(r.refresh(days(30), &open).unwrap().to, Grade::Aaa);
}

#[test]
fn a_typical_honest_enterprise_with_a_few_percent_rejections_is_a_or_aa() {
    let m = CreditModel::default();
    for reject_every in [20, 33, 50] {
        let mut r = firm(&m);
        declarations(&mut r, &m, 0, 200, reject_every);
        repeat(&mut r, &m, days(40), CreditEventKind::Returned, 4);
        repeat(&mut r, &m, days(40), CreditEventKind::TaxPaidOnTime, 3);
        assert!(
            matches!(r.grade, Grade::A | Grade::Aa),
            "1 in {reject_every} rejected: {} ({})",
            r.grade,
            r.score
        );
    }
}

#[test]
fn heavy_rejections_and_failed_inspections_pull_an_enterprise_down_to_bb() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    let changes = declarations(&mut r, &m, 0, 100, 3);
    assert!(
        changes
            .iter()
            .any(|c| c.to == Grade::Bbb || c.to == Grade::Bb)
    );
    repeat(&mut r, &m, days(30), CreditEventKind::InspectionPassed, 3);
    let failed = CreditEventKind::InspectionFailed {
        reason: "goods do not match the list".into(),
    };
    repeat(&mut r, &m, days(30), failed, 2);
    assert_eq!(r.grade, Grade::Bb, "score {}", r.score);
    assert_eq!(r.class(&m), SupervisionClass::Attention);
    let tr = r.treatment(&m);
    assert_eq!(tr.inspection_rate_bp, 1_000);
    assert!(tr.document_review);
    assert_eq!(tr.priority, 3);
    // The free-text reason of a failed inspection is not copied anywhere.
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("goods do not match"));
    let e = r.explain(&m, days(30));
    assert!(factor(&e, "inspection").facts[0].contains("2 of 5 inspections failed"));
}

#[test]
fn three_failed_inspections_make_a_subject_dishonest() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    let failed = CreditEventKind::InspectionFailed { reason: "x".into() };
    r.apply(&ev(days(1), failed.clone()), &m);
    r.apply(&ev(days(2), failed.clone()), &m);
    assert_ne!(r.grade, Grade::Dishonest);
    let change = r.apply(&ev(days(3), failed), &m).unwrap();
    assert_eq!(change.to, Grade::Dishonest);
    assert_eq!(change.cause, "inspection failed");
    let e = r.explain(&m, days(3));
    assert_eq!(e.overrides.len(), 1);
    assert!(e.overrides[0].contains("3 failed inspections"));
}

#[test]
fn a_listing_makes_the_subject_dishonest_until_it_is_delisted() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    declarations(&mut r, &m, 0, 60, 0);
    let before = r.grade;
    let score = r.score;

    let c = r
        .apply(
            &ev(
                days(20),
                CreditEventKind::Listed {
                    listing: "NL-0007".into(),
                },
            ),
            &m,
        )
        .unwrap();
    assert_eq!((c.from, c.to), (before, Grade::Dishonest));
    assert!(c.cause.contains("NL-0007"));
    assert!(r.listed());
    assert_eq!(
        r.score, score,
        "a listing overrides the grade, not the score"
    );
    assert_eq!(r.class(&m), SupervisionClass::Dishonest);
    let tr = r.treatment(&m);
    assert_eq!(tr.inspection_rate_bp, 8_000);
    assert!(tr.document_review);
    assert_eq!(tr.priority, 4);
    let e = r.explain(&m, days(20));
    assert_eq!(e.grade, Grade::Dishonest);
    assert!(e.overrides[0].contains("negative list (NL-0007)"));

    // Filing more clean declarations does not lift a listing.
    declarations(&mut r, &m, 21, 20, 0);
    assert_eq!(r.grade, Grade::Dishonest);

    let back = r
        .apply(
            &ev(
                days(40),
                CreditEventKind::Delisted {
                    listing: "NL-0007".into(),
                },
            ),
            &m,
        )
        .unwrap();
    assert_eq!((back.from, back.to), (Grade::Dishonest, before));
    assert!(!r.listed());
    assert_eq!(r.grade_since, days(40));
    let tos: Vec<Grade> = r.history.iter().map(|h| h.to).collect();
    assert_eq!(tos[tos.len() - 2..], [Grade::Dishonest, before]);
}

#[test]
fn a_warning_lowers_conduct_without_listing_and_escalates_to_a_listing() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    let warn = CreditEventKind::Warned {
        listing: "NL-0009".into(),
    };
    r.apply(&ev(days(1), warn), &m);
    assert_eq!(r.warnings(), 1);
    assert!(!r.listed());
    assert_ne!(r.grade, Grade::Dishonest);
    let e = r.explain(&m, days(1));
    let conduct = factor(&e, "conduct");
    assert_eq!(conduct.points, 60);
    assert!(
        conduct
            .facts
            .iter()
            .any(|f| f.contains("1 negative-list warning in force (NL-0009)"))
    );

    r.apply(
        &ev(
            days(2),
            CreditEventKind::Listed {
                listing: "NL-0009".into(),
            },
        ),
        &m,
    );
    assert_eq!(r.warnings(), 0);
    assert!(r.listed());
    assert_eq!(r.grade, Grade::Dishonest);
}

#[test]
fn late_tax_costs_points_and_more_than_90_days_late_is_dishonest_for_a_year() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    let base = r.score;
    r.apply(
        &ev(days(1), CreditEventKind::TaxPaidLate { days_late: 30 }),
        &m,
    );
    assert!(r.score < base);
    assert_ne!(r.grade, Grade::Dishonest);
    let e = r.explain(&m, days(1));
    let tax = factor(&e, "tax");
    // neutral 80 − 10 for the late payment − 30 days / 3
    assert_eq!(tax.points, 60);
    assert!(
        tax.facts
            .iter()
            .any(|f| f.contains("1 late payment, 30 days late"))
    );

    let c = r
        .apply(
            &ev(days(2), CreditEventKind::TaxPaidLate { days_late: 120 }),
            &m,
        )
        .unwrap();
    assert_eq!(c.to, Grade::Dishonest);
    assert_eq!(c.cause, "tax paid 120 days late");

    // Still dishonest ten months on; no longer once the late payment has left the window.
    r.apply(&ev(days(300), CreditEventKind::TaxPaidOnTime), &m);
    assert_eq!(r.grade, Grade::Dishonest);
    r.apply(&ev(days(420), CreditEventKind::TaxPaidOnTime), &m);
    assert_eq!(r.grade, Grade::A);
}

#[test]
fn a_customs_dishonest_finding_overrides_until_customs_reclassifies() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    let finding = CreditEventKind::Certification {
        department: Department::Customs,
        level: CertLevel::Dishonest,
        valid_until: None,
    };
    assert_eq!(
        r.apply(&ev(days(1), finding), &m).unwrap().to,
        Grade::Dishonest
    );
    let general = CreditEventKind::Certification {
        department: Department::Customs,
        level: CertLevel::General,
        valid_until: None,
    };
    assert_eq!(r.apply(&ev(days(2), general), &m).unwrap().to, Grade::A);
}

#[test]
fn an_expired_certification_stops_counting_once_the_record_moves_past_it() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    let short = CreditEventKind::Certification {
        department: Department::Customs,
        level: CertLevel::Advanced,
        valid_until: Some(days(10).beijing_date()),
    };
    r.apply(&ev(days(0), short), &m);
    assert_eq!(r.grade, Grade::Aa);
    // Explaining later says it lapsed but keeps explaining the grade in force.
    let e = r.explain(&m, days(12));
    assert_eq!(e.grade, Grade::Aa);
    assert!(e.notes.iter().any(|f| f.contains("lapsed")));
    let c = r.refresh(days(12), &m).unwrap();
    assert_eq!((c.from, c.to), (Grade::Aa, Grade::A));
}

#[test]
fn only_confirmed_risk_alerts_count_against_compliance() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    let base = r.score;
    repeat(
        &mut r,
        &m,
        days(1),
        CreditEventKind::RiskHit { rule: "R6".into() },
        4,
    );
    repeat(
        &mut r,
        &m,
        days(2),
        CreditEventKind::AlertDismissed { rule: "R6".into() },
        2,
    );
    assert_eq!(r.score, base);
    r.apply(
        &ev(
            days(3),
            CreditEventKind::AlertConfirmed { rule: "R6".into() },
        ),
        &m,
    );
    // 15 compliance points × weight 30 / 10
    assert_eq!(r.score, base - 45);
    let e = r.explain(&m, days(3));
    let facts = &factor(&e, "compliance").facts;
    assert!(facts.iter().any(|f| f.contains("1 risk alert confirmed")));
    assert!(
        facts
            .iter()
            .any(|f| f.contains("4 risk alerts raised and 2 dismissed"))
    );
}

#[test]
fn an_individual_buyer_follows_the_same_model_with_neutral_qualification() {
    let m = CreditModel::default();
    let mut r = CreditRecord::new(Subject::Person(BuyerKey("k1a2b3".into())), start(), &m);
    assert_eq!(r.grade, Grade::A);
    repeat(&mut r, &m, days(1), CreditEventKind::Returned, 3);
    repeat(
        &mut r,
        &m,
        days(1),
        CreditEventKind::Complaint { upheld: true },
        2,
    );
    let e = r.explain(&m, days(1));
    assert_eq!(factor(&e, "qualification").points, 60);
    assert_eq!(factor(&e, "conduct").points, 60);
    assert_eq!(e.subject.key(), "P:k1a2b3");
}

#[test]
fn contributions_sum_to_the_score_and_facts_give_the_counts() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    declarations(&mut r, &m, 0, 120, 40);
    repeat(&mut r, &m, days(20), CreditEventKind::Cancelled, 4);
    repeat(&mut r, &m, days(20), CreditEventKind::InspectionPassed, 6);
    repeat(&mut r, &m, days(20), CreditEventKind::TaxPaidOnTime, 7);
    r.apply(
        &ev(
            days(21),
            CreditEventKind::Rating {
                agency: "ZJ Credit Service".into(),
                score: 83,
            },
        ),
        &m,
    );
    let e = r.explain(&m, days(21));
    assert_eq!(e.score, r.score);
    assert_eq!(e.grade, r.grade);
    assert_eq!(e.class, r.class(&m));
    assert_eq!(e.factors.len(), 5);
    assert_eq!(e.factors.iter().map(|f| f.weight).sum::<u32>(), 100);
    assert_eq!(
        e.factors.iter().map(|f| f.contribution).sum::<u32>(),
        e.score
    );
    let compliance = factor(&e, "compliance");
    assert!(
        compliance.facts[0].contains("3 of 120 declarations rejected in the last 365 days (2.5 %)"),
        "{:?}",
        compliance.facts
    );
    assert!(compliance.facts.iter().any(|f| f.contains("1301 ×3")));
    assert!(factor(&e, "conduct").facts[0].contains("4 cancellations and 0 returns in 120"));
    assert!(
        factor(&e, "qualification")
            .facts
            .iter()
            .any(|f| f.contains("ZJ Credit Service: 83"))
    );
    assert!(e.overrides.is_empty());

    // Odd weights make fractional contributions; they still add up exactly.
    let mut odd = CreditModel::default();
    odd.qualification.weight = 17;
    odd.compliance.weight = 33;
    odd.inspection.weight = 13;
    odd.tax.weight = 19;
    odd.conduct.weight = 18;
    odd.validate().unwrap();
    let mut r2 = firm(&odd);
    declarations(&mut r2, &odd, 0, 90, 7);
    let e2 = r2.explain(&odd, days(30));
    assert_eq!(e2.score, r2.score);
    assert_eq!(
        e2.factors.iter().map(|f| f.contribution).sum::<u32>(),
        e2.score
    );
}

#[test]
fn events_older_than_the_window_stop_counting_once_newer_events_arrive() {
    let m = CreditModel::default();
    let mut r = CreditRecord::new(
        Subject::Enterprise("SELL02".into()),
        t("20250110100000"),
        &m,
    );
    let jan = t("20250115100000");
    for i in 0..40 {
        r.apply(&ev(jan, CreditEventKind::DeclarationFiled), &m);
        if i % 2 == 0 {
            r.apply(
                &ev(
                    jan,
                    CreditEventKind::Rejected {
                        code: "2001".into(),
                    },
                ),
                &m,
            );
        }
    }
    assert_eq!(r.grade, Grade::Bb, "score {}", r.score);
    // Time passing alone does not change the record...
    let e = r.explain(&m, t("20260320100000"));
    assert!(factor(&e, "compliance").facts[0].contains("20 of 40 declarations rejected"));
    // ...but the next event moves the window past January 2025.
    let c = r
        .apply(
            &ev(t("20260320100000"), CreditEventKind::DeclarationFiled),
            &m,
        )
        .unwrap();
    assert_eq!((c.from, c.to), (Grade::Bb, Grade::A));
    let e = r.explain(&m, t("20260320100000"));
    assert!(factor(&e, "compliance").facts[0].starts_with("1 declaration in the last 365 days"));
    // A late-arriving event from before the window is not counted.
    let before = r.clone();
    r.apply(
        &ev(
            jan,
            CreditEventKind::Rejected {
                code: "2001".into(),
            },
        ),
        &m,
    );
    assert_eq!(r.score, before.score);
    assert_eq!(r.updated_at, before.updated_at);
}

#[test]
fn a_record_stays_small_however_many_events_it_takes_in() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    for day in 0..800 {
        for _ in 0..10 {
            r.apply(&ev(days(day), CreditEventKind::DeclarationFiled), &m);
            r.apply(&ev(days(day), CreditEventKind::Released), &m);
        }
        r.apply(
            &ev(
                days(day),
                CreditEventKind::Rejected {
                    code: format!("{:04}", 1000 + day % 20),
                },
            ),
            &m,
        );
    }
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.len() < 8_000, "{} bytes", json.len());
}

#[test]
fn history_keeps_only_the_last_grade_changes() {
    let m = CreditModel {
        history_cap: 3,
        ..CreditModel::default()
    };
    let mut r = firm(&m);
    for i in 0..5 {
        let l = format!("NL-{i}");
        r.apply(
            &ev(days(2 * i), CreditEventKind::Listed { listing: l.clone() }),
            &m,
        );
        r.apply(
            &ev(days(2 * i + 1), CreditEventKind::Delisted { listing: l }),
            &m,
        );
    }
    assert_eq!(r.history.len(), 3);
    assert_eq!(r.history[2].cause, "negative-list entry NL-4 ended");
}

#[test]
fn sampling_is_reproducible_and_matches_the_configured_rates() {
    let seed = CreditModel::default().sampling_seed;
    let ids: Vec<String> = (0..1_000_000).map(|i| format!("CEB621-{i:08}")).collect();
    for rate in [40u32, 200, 1_000, 8_000] {
        let hits = ids.iter().filter(|id| sampled(seed, id, rate)).count() as i64;
        // within ±0.1 percentage point: ±1 000 of 1 000 000
        let expected = i64::from(rate) * 100;
        assert!((hits - expected).abs() <= 1_000, "{rate} bp: {hits}");
    }
    for id in ids.iter().take(1_000) {
        assert_eq!(sampled(seed, id, 200), sampled(seed, id, 200));
        assert!(!sampled(seed, id, 0));
        assert!(sampled(seed, id, 10_000));
    }
    // A lower rate selects a subset of what a higher rate selects.
    assert!(
        ids.iter()
            .take(10_000)
            .all(|id| !sampled(seed, id, 40) || sampled(seed, id, 200))
    );
    // Another seed selects other declarations.
    let differ = ids
        .iter()
        .take(10_000)
        .filter(|id| sampled(seed, id, 1_000) != sampled(seed ^ 1, id, 1_000))
        .count();
    assert!(differ > 1_000);
    let m = CreditModel::default();
    let inspected = ids
        .iter()
        .take(100_000)
        .filter(|id| m.inspect(SupervisionClass::Dishonest, id))
        .count();
    assert!((79_000..=81_000).contains(&inspected));
}

#[test]
fn the_model_refuses_weights_not_summing_to_100_and_unordered_cut_offs() {
    let m = CreditModel::default();
    assert_eq!(m.validate(), Ok(()));

    let mut w = m.clone();
    w.tax.weight = 16;
    assert!(w.validate().unwrap_err().contains("sum to 100"));

    let mut k = m.clone();
    k.cutoffs.aa = 950;
    assert!(k.validate().unwrap_err().contains("cut-offs"));

    let mut c = m.clone();
    c.classes[2].grades.retain(|g| *g != Grade::Bbb);
    assert!(c.validate().unwrap_err().contains("BBB"));

    let mut p = m.clone();
    p.conduct.neutral = 120;
    assert!(p.validate().is_err());

    let mut z = m;
    z.compliance.window_days = 0;
    assert!(z.validate().is_err());
}

#[test]
fn grade_class_and_treatment_defaults_follow_the_customs_categories() {
    let m = CreditModel::default();
    let classes: Vec<SupervisionClass> = Grade::ALL.iter().map(|g| m.class_of(*g)).collect();
    assert_eq!(
        classes,
        [
            SupervisionClass::Advanced,
            SupervisionClass::Certified,
            SupervisionClass::General,
            SupervisionClass::General,
            SupervisionClass::Attention,
            SupervisionClass::Dishonest
        ]
    );
    let general = m.treatment(SupervisionClass::General).inspection_rate_bp;
    assert_eq!(
        m.treatment(SupervisionClass::Advanced).inspection_rate_bp * 5,
        general
    );
    assert_eq!(
        m.treatment(SupervisionClass::Certified).inspection_rate_bp * 2,
        general
    );
    assert!(m.treatment(SupervisionClass::Dishonest).inspection_rate_bp >= 8_000);
    assert_eq!(Grade::Dishonest.label_zh(), "失信");
    assert_eq!(serde_json::to_string(&Grade::Bbb).unwrap(), "\"BBB\"");
    assert_eq!(
        serde_json::to_string(&Grade::Dishonest).unwrap(),
        "\"DISHONEST\""
    );
    assert_eq!(
        serde_json::to_string(&SupervisionClass::Attention).unwrap(),
        "\"attention\""
    );
}

#[test]
fn records_models_and_events_survive_a_json_round_trip() {
    let m = CreditModel::default();
    let mut r = firm(&m);
    r.apply(&ev(days(0), aeo()), &m);
    declarations(&mut r, &m, 1, 30, 10);
    r.apply(
        &ev(
            days(9),
            CreditEventKind::Warned {
                listing: "NL-1".into(),
            },
        ),
        &m,
    );
    r.apply(
        &ev(days(9), CreditEventKind::TaxPaidLate { days_late: 4 }),
        &m,
    );
    let json = serde_json::to_string(&r).unwrap();
    let back: CreditRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.explain(&m, days(9)), r.explain(&m, days(9)));

    let event = ev(
        days(1),
        CreditEventKind::Rejected {
            code: "1301".into(),
        },
    );
    let json = serde_json::to_string(&event).unwrap();
    assert!(json.contains("\"type\":\"rejected\""));
    assert_eq!(serde_json::from_str::<CreditEvent>(&json).unwrap(), event);

    // A partial model takes the defaults for what it leaves out.
    let partial: CreditModel =
        serde_json::from_str(r#"{"cutoffs":{"aaa":950},"sampling_seed":7}"#).unwrap();
    assert_eq!(partial.cutoffs.aaa, 950);
    assert_eq!(partial.cutoffs.aa, 800);
    assert_eq!(partial.compliance, ComplianceFactor::default());
    assert_eq!(partial.sampling_seed, 7);
    assert_eq!(partial.validate(), Ok(()));
}

#[test]
fn a_grade_is_held_near_its_cut_off_so_single_events_do_not_flip_it() {
    let m = CreditModel::default();
    // A (≥ 700) is left only below 685 and regained only from 715.
    assert_eq!(m.grade_with_hysteresis(705, None), Grade::A);
    assert_eq!(m.grade_with_hysteresis(705, Some(Grade::Bbb)), Grade::Bbb);
    assert_eq!(m.grade_with_hysteresis(715, Some(Grade::Bbb)), Grade::A);
    assert_eq!(m.grade_with_hysteresis(690, Some(Grade::A)), Grade::A);
    assert_eq!(m.grade_with_hysteresis(684, Some(Grade::A)), Grade::Bbb);
    assert_eq!(
        m.grade_with_hysteresis(650, Some(Grade::Dishonest)),
        Grade::Bbb
    );
    assert_eq!(m.grade_with_hysteresis(990, Some(Grade::Bb)), Grade::Aaa);

    // An enterprise rejecting one declaration in ten sits at the A/BBB boundary; once it has a
    // few dozen declarations its grade settles instead of changing with every declaration.
    let mut r = firm(&m);
    declarations(&mut r, &m, 0, 400, 10);
    assert!(r.history.len() <= 4, "{:?}", r.history);
    let settled = r.history.len();
    declarations(&mut r, &m, 100, 200, 10);
    assert_eq!(r.history.len(), settled);

    // The explanation says when a grade is held: a newcomer at 760 stays A under a model whose
    // A cut-off is 770, since 760 is within 15 points of it.
    let stricter = CreditModel {
        cutoffs: GradeCutoffs {
            a: 770,
            ..GradeCutoffs::default()
        },
        ..CreditModel::default()
    };
    let mut n = firm(&m);
    assert_eq!(n.refresh(start(), &stricter), None);
    let e = n.explain(&stricter, start());
    assert_eq!((e.score, e.grade), (760, Grade::A));
    assert!(e.notes[0].contains("would be BBB"), "{:?}", e.notes);
}
