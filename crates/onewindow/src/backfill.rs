//! The demo back-fill: a fresh demo store gets some months of **generated** traffic, journaled at
//! historical receive times, before the server goes live — so the statistics, the CBEC index and
//! its history have something to show. It goes through the same pipeline as live traffic (journal,
//! engine, projections in one commit), with the demo's regulators concluding held declarations a
//! few hours later and the zone office publishing each month once it has ended. A demo device,
//! not data: docs/statistics.md says so.

use std::sync::Arc;

use anyhow::Context;
use domain::clearance::{Action, Actor, InspectionTask, Supervised};
use domain::statistics::facts::Month;
use domain::statistics::index::IndexAction;
use domain::subject::Department;
use domain::time::Timestamp;
use ingest::intake::{self, ActionEntry, IndexEntry, Intake};
use ingest::pipeline::{Accepted, Ingest, Job, Pipeline, PipelineConfig, PipelineError};
use store::{RecordQuery, Store};

const HOUR: i64 = 3_600_000;

/// What the back-fill did.
#[derive(Debug, Default)]
pub struct Report {
    pub months: u32,
    pub declarations: u64,
    pub messages: u64,
    pub published: u32,
}

/// Back-fill `months` whole months before the month of `now_ms` into an empty store. Does nothing
/// on a store that already has a journal.
pub fn run(
    store: Arc<dyn Store>,
    config: &PipelineConfig,
    months: u32,
    seed: u64,
    now_ms: i64,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    if months == 0 || store.positions()?.journal > 0 {
        return Ok(report);
    }
    let this_month = Month::of(Timestamp(now_ms));
    let mut first = this_month;
    for _ in 0..months {
        first = first.prev();
    }
    // The store adopts the current rules at the start of its history, not after it.
    let start = domain::time::CivilDate {
        year: first.year,
        month: first.month,
        day: 1,
    };
    let config = PipelineConfig {
        adopt_at_ms: Some(at(start, 8)),
        ..config.clone()
    };
    let pipeline = Pipeline::start(store.clone(), config, Arc::new(Supervised))?;
    let ingest = pipeline.ingest.clone();
    let outcome = fill(
        &ingest,
        store.as_ref(),
        first,
        this_month,
        seed,
        now_ms,
        &mut report,
    );
    drop(ingest);
    pipeline.shutdown();
    outcome?;
    report.months = months;
    Ok(report)
}

fn at(day: domain::time::CivilDate, hour: i64) -> i64 {
    day.beijing_midnight().0 + hour * HOUR
}

fn staff(
    ingest: &Ingest,
    department: Department,
    kind: &str,
    body: Vec<u8>,
    content: Intake,
    when: i64,
) -> Result<Accepted, PipelineError> {
    let label = format!("regulator:{department}");
    ingest.submit_blocking(Job::staff(&label, kind, body, content, when))
}

fn act(ingest: &Ingest, department: Department, action: Action, when: i64) -> anyhow::Result<()> {
    let entry = ActionEntry {
        actor: Actor::Regulator(department),
        action,
    };
    let body = serde_json::to_vec(&entry)?;
    staff(
        ingest,
        department,
        intake::ACTION,
        body,
        Intake::Action(Box::new(entry)),
        when,
    )?;
    Ok(())
}

fn publish(ingest: &Ingest, store: &dyn Store, month: Month, when: i64) -> anyhow::Result<bool> {
    let settings = server::statistics::index_settings(store)?;
    let figures = server::statistics::figures_for(store, &settings, month)?;
    if figures.is_empty() {
        return Ok(false);
    }
    let entry = IndexEntry {
        actor: Actor::Regulator(Department::ZoneOffice),
        action: IndexAction::Publish {
            month,
            figures,
            note: "demo back-fill: generated traffic".into(),
        },
    };
    let body = serde_json::to_vec(&entry)?;
    let accepted = staff(
        ingest,
        Department::ZoneOffice,
        intake::INDEX,
        body,
        Intake::Index(Box::new(entry)),
        when,
    )?;
    Ok(matches!(accepted.outcome, Some(Ok(_))))
}

#[allow(clippy::too_many_arguments)]
fn fill(
    ingest: &Ingest,
    store: &dyn Store,
    first: Month,
    this_month: Month,
    seed: u64,
    now_ms: i64,
    report: &mut Report,
) -> anyhow::Result<()> {
    let start = domain::time::CivilDate {
        year: first.year,
        month: first.month,
        day: 1,
    };
    let csv = traffic::registry_csv();
    let t0 = at(start, 8);
    let filing = intake::admin_content(intake::FILING, csv.as_bytes(), t0)
        .map_err(|e| anyhow::anyhow!(e))?;
    ingest.submit_blocking(Job::admin(intake::FILING, csv.into_bytes(), filing, t0))?;
    crate::bench::file_demo_certificates(ingest, t0)?;
    // Messages are checked at the door as the live server checks them (signatures included).
    let gate = ingest::signatures::Gate::new(
        domain::settings::Settings::default().signatures,
        std::sync::Arc::new(ingest::signatures::Certificates::load(store)?),
    );
    let mut generator = traffic::Generator::new(seed, traffic::Mix::default());
    let limits = ceb::Limits::default();
    let mut day = start;
    let mut month_index = 0u32;
    let mut sets_total = 0u64;
    loop {
        let month = Month {
            year: day.year,
            month: day.month,
        };
        if month >= this_month {
            break;
        }
        if day.day == 1 && month != first {
            // The zone office publishes the month that just ended, before the day's traffic.
            if publish(ingest, store, month.prev(), at(day, 8))? {
                report.published += 1;
            }
            month_index += 1;
        }
        // A growing zone: about 3 sets a day in the first month, 15 % more each month, fewer
        // on Sundays.
        let epoch = domain::time::CivilDate {
            year: 1970,
            month: 1,
            day: 1,
        };
        let sunday = (day.days_since(epoch) + 3).rem_euclid(7) == 6; // 1970-01-01 was a Thursday
        let base = 3.0 * 1.15f64.powi(month_index as i32);
        let sets = ((base * if sunday { 0.6 } else { 1.0 }).round() as u64).max(1);
        let mut pending = Vec::new();
        for i in 0..sets {
            let when = at(day, 9) + i as i64 * 47 * 60_000;
            let mut batch = vec![generator.next_set(when)];
            sets_total += 1;
            if sets_total.is_multiple_of(40) {
                let scheme =
                    traffic::Scheme::ALL[(sets_total / 40) as usize % traffic::Scheme::ALL.len()];
                batch.extend(generator.scheme(scheme, when));
            }
            for set in &batch {
                report.declarations += 1;
                for (k, m) in set.messages.iter().enumerate() {
                    let received = when + k as i64 * 2_000;
                    let Ok(prepared) = intake::prepare(
                        m.xml.as_bytes(),
                        false,
                        &limits,
                        Some(&m.sender),
                        received,
                        &gate,
                    ) else {
                        continue;
                    };
                    report.messages += 1;
                    pending.push(ingest.submit(Job::message(
                        prepared,
                        m.sender.clone(),
                        received,
                    ))?);
                }
            }
        }
        // Held declarations: the customs desk concludes reviews after two hours; inspections
        // report after five (one in eight finds a problem).
        let mut reviews = Vec::new();
        for rx in pending {
            let accepted = rx
                .blocking_recv()
                .context("the pipeline stopped during the back-fill")??;
            for r in &accepted.receipts {
                if r.message_type == "CEB622Message"
                    && r.return_status == "300"
                    && let Some(id) = &r.declaration_id
                {
                    reviews.push(id.clone());
                }
            }
        }
        reviews.sort();
        reviews.dedup();
        for id in reviews {
            act(
                ingest,
                Department::Customs,
                Action::Conclude {
                    declaration: domain::clearance::DeclarationId(id),
                    release: true,
                    reason: "documents checked".into(),
                },
                at(day, 9) + sets as i64 * 47 * 60_000 + 2 * HOUR,
            )?;
        }
        let open = store.records(&RecordQuery {
            status: Some("open"),
            ..RecordQuery::new("inspection", 1000)
        })?;
        for (n, row) in open.iter().enumerate() {
            let Ok(task) = serde_json::from_str::<InspectionTask>(&row.body) else {
                continue;
            };
            let passed = !(task.id.len() + n).is_multiple_of(8);
            act(
                ingest,
                Department::Inspection,
                Action::Finding {
                    task: task.id,
                    passed,
                    reason: if passed {
                        String::new()
                    } else {
                        "goods differ from the declaration".into()
                    },
                },
                at(day, 9) + sets as i64 * 47 * 60_000 + 5 * HOUR + n as i64 * 60_000,
            )?;
        }
        day = day.add_days(1);
        if day.beijing_midnight().0 >= now_ms {
            break;
        }
    }
    // The last full month, published on the first of this month (or now, if that is later).
    let publish_at = at(day, 8).min(now_ms - 1);
    if Month::of(Timestamp(publish_at)) >= this_month
        && publish(ingest, store, this_month.prev(), publish_at)?
    {
        report.published += 1;
    }
    Ok(())
}
