//! The statistics parts of the portal: headline figures and the index chart on the public pages,
//! the live clearance dashboard, statistics with drill-down and index administration for staff.

use axum::response::Response;

use super::Ctx;
use super::i18n::{self, M};
use super::page::Section;
use crate::api::blocking;

/// Queue sizes of the supervision records, cheap counts.
async fn queue_sizes(ctx: &Ctx) -> Result<Section, Response> {
    let store = ctx.state.store.clone();
    let counts = blocking(move || {
        Ok([
            store.count_records("alert", Some("open"))?,
            store.count_records("inspection", Some("open"))?,
            store.count_records("listing", None)?,
            store.count_records("recall", None)?,
        ])
    })
    .await
    .map_err(|e| ctx.failed(e))?;
    Ok(Section::new("queues", ctx.t(M::Queues))
        .fact(
            ctx.pick("待评估预警", "Open alerts"),
            i18n::count(counts[0]),
        )
        .fact(
            ctx.pick("待查验任务", "Open inspections"),
            i18n::count(counts[1]),
        )
        .fact(ctx.t(M::NavListings), i18n::count(counts[2]))
        .fact(ctx.t(M::Recalls), i18n::count(counts[3]))
        .link("/desk/alerts?status=open", ctx.t(M::NavAlerts))
        .link("/desk/inspections?status=open", ctx.t(M::NavInspections)))
}

pub async fn public_headline(ctx: &mut Ctx) -> Vec<Section> {
    vec![Section::new("headline", ctx.t(M::Headline)).note("info", ctx.t(M::NotYet))]
}

pub async fn public_index(ctx: &mut Ctx) -> Vec<Section> {
    vec![Section::new("index", "").note("info", ctx.t(M::NotYet))]
}

pub async fn public_statistics(ctx: &mut Ctx) -> Vec<Section> {
    vec![Section::new("statistics", "").note("info", ctx.t(M::NotYet))]
}

pub async fn dashboard(ctx: &mut Ctx) -> Result<Vec<Section>, Response> {
    Ok(vec![queue_sizes(ctx).await?.live()])
}

pub async fn desk_statistics(ctx: &mut Ctx) -> Result<Vec<Section>, Response> {
    Ok(vec![
        Section::new("statistics", "").note("info", ctx.t(M::NotYet)),
    ])
}

pub async fn desk_index(ctx: &mut Ctx) -> Result<Vec<Section>, Response> {
    Ok(vec![
        Section::new("index", "").note("info", ctx.t(M::NotYet)),
    ])
}
