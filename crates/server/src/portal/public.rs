//! Public pages (no login): the home page with headline figures and the index chart, the CBEC
//! index and its history, headline statistics, the buyer's annual quota self-query and the status
//! lookup of a declaration by its numbers.

use axum::Router;
use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::i18n::{self, M};
use super::page::{Field, Form as PageForm, Section};
use super::session::{anonymous_ok, anonymous_token};
use super::{Ctx, form_value, stats};
use crate::api::{AppState, blocking, quota_of};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/quota", get(quota_page).post(quota_query))
        .route("/status", get(status_page).post(status_query))
        .route("/index", get(index_page))
        .route("/statistics", get(statistics_page))
}

async fn home(mut ctx: Ctx) -> Response {
    let mut sections = vec![Section::new("intro", "").note("info", ctx.t(M::HomeIntro))];
    sections.extend(stats::public_headline(&mut ctx).await);
    sections.push(
        Section::new("services", ctx.t(M::PublicServices))
            .link("/quota", ctx.t(M::NavQuota))
            .link("/status", ctx.t(M::NavStatus))
            .link("/index", ctx.t(M::NavIndex))
            .link("/statistics", ctx.t(M::NavStatistics))
            .link("/apply", ctx.t(M::NavApply)),
    );
    let title = ctx.t(M::HomeTitle);
    ctx.page(title, sections)
}

async fn index_page(mut ctx: Ctx) -> Response {
    let sections = stats::public_index(&mut ctx).await;
    let title = ctx.t(M::IndexTitle);
    ctx.page(title, sections)
}

async fn statistics_page(mut ctx: Ctx) -> Response {
    let sections = stats::public_statistics(&mut ctx).await;
    let title = ctx.t(M::NavStatistics);
    ctx.page(title, sections)
}

fn quota_form(ctx: &mut Ctx) -> Section {
    let token = anonymous_token(ctx);
    let year = domain::time::Timestamp(ingest::clock::now_ms())
        .beijing_date()
        .year;
    Section::new("quota-form", "")
        .note("info", ctx.t(M::QuotaIntro))
        .form(
            PageForm::post("quota", "/quota", ctx.t(M::Query))
                .field(Field::hidden("csrf", token))
                .field(Field::new("text", "name", ctx.t(M::BuyerName)).required())
                .field(
                    Field::new("text", "idNumber", ctx.t(M::IdNumber))
                        .required()
                        .hint(ctx.pick("18位，末位可为X", "18 characters; the last may be X")),
                )
                .field(Field::new("number", "year", ctx.t(M::Year)).value(year.to_string())),
        )
}

async fn quota_page(mut ctx: Ctx) -> Response {
    let section = quota_form(&mut ctx);
    let title = ctx.t(M::QuotaTitle);
    ctx.page(title, vec![section])
}

/// The answer shows used and remaining only; the name and ID number are not echoed into the
/// page, not logged and not kept.
async fn quota_query(mut ctx: Ctx, Form(form): Form<Vec<(String, String)>>) -> Response {
    if !anonymous_ok(&ctx, form_value(&form, "csrf")) {
        return ctx.bad_form();
    }
    if !ctx.state.portal.may_look_up(ctx.ip) {
        return ctx.too_many();
    }
    let title = ctx.t(M::QuotaTitle);
    let name = form_value(&form, "name").unwrap_or_default().to_string();
    let id_number = form_value(&form, "idNumber")
        .unwrap_or_default()
        .to_uppercase();
    let year = form_value(&form, "year").and_then(|y| y.parse::<i32>().ok());
    let mut section = quota_form(&mut ctx);
    if name.is_empty() {
        section = section.note("error", ctx.t(M::MissingName));
        return ctx.render(StatusCode::UNPROCESSABLE_ENTITY, title, &[section]);
    }
    match quota_of(&ctx.state, &name, &id_number, year).await {
        Ok(q) => {
            let result = Section::new("quota-result", ctx.t(M::QuotaResult))
                .fact(ctx.t(M::Year), q.year.to_string())
                .fact(ctx.t(M::QuotaUsed), i18n::money(q.used))
                .fact(ctx.t(M::QuotaRemaining), i18n::money(q.remaining))
                .fact(ctx.t(M::QuotaLimit), i18n::money(q.limit));
            ctx.page(title, vec![result, section])
        }
        Err(p) if p.kind == "bad-id-number" => {
            section = section.note("error", ctx.t(M::BadIdNumber));
            ctx.render(StatusCode::UNPROCESSABLE_ENTITY, title, &[section])
        }
        Err(p) => ctx.failed(p),
    }
}

fn status_form(ctx: &mut Ctx, ebp: &str, order: &str) -> Section {
    let token = anonymous_token(ctx);
    Section::new("status-form", "")
        .note("info", ctx.t(M::StatusIntro))
        .form(
            PageForm::post("status", "/status", ctx.t(M::Query))
                .field(Field::hidden("csrf", token))
                .field(
                    Field::new("text", "ebpCode", ctx.t(M::PlatformCode))
                        .value(ebp)
                        .required(),
                )
                .field(
                    Field::new("text", "orderNo", ctx.t(M::OrderNo))
                        .value(order)
                        .required(),
                )
                .field(Field::new("text", "logisticsNo", ctx.t(M::WaybillNo)).required()),
        )
}

async fn status_page(mut ctx: Ctx) -> Response {
    let section = status_form(&mut ctx, "", "");
    let title = ctx.t(M::StatusTitle);
    ctx.page(title, vec![section])
}

/// Platform code + order number name the declaration; the waybill number must match too, so a
/// guessed order number alone finds nothing. Only the status and its dates are shown.
async fn status_query(mut ctx: Ctx, Form(form): Form<Vec<(String, String)>>) -> Response {
    if !anonymous_ok(&ctx, form_value(&form, "csrf")) {
        return ctx.bad_form();
    }
    if !ctx.state.portal.may_look_up(ctx.ip) {
        return ctx.too_many();
    }
    let title = ctx.t(M::StatusTitle);
    let ebp = form_value(&form, "ebpCode").unwrap_or_default().to_string();
    let order = form_value(&form, "orderNo").unwrap_or_default().to_string();
    let waybill = form_value(&form, "logisticsNo")
        .unwrap_or_default()
        .to_string();
    let form_section = status_form(&mut ctx, &ebp, &order);
    let id = domain::clearance::DeclarationId::derive(&ebp, &order).0;
    let store = ctx.state.store.clone();
    let row = match blocking(move || store.declaration(&id)).await {
        Ok(row) => row,
        Err(p) => return ctx.failed(p),
    };
    let row = row.filter(|r| {
        !ebp.is_empty()
            && !order.is_empty()
            && !waybill.is_empty()
            && r.logistics_no.as_deref() == Some(waybill.as_str())
    });
    let Some(row) = row else {
        let section = form_section.note("error", ctx.t(M::StatusNotFound));
        return ctx.render(StatusCode::NOT_FOUND, title, &[section]);
    };
    let mut result = Section::new("status-result", ctx.t(M::QuotaResult))
        .fact(ctx.t(M::Status), i18n::status_name(row.status, ctx.lang))
        .fact(
            ctx.t(M::Declared),
            i18n::datetime(row.created_at_ms, ctx.lang),
        )
        .fact(
            ctx.t(M::LastUpdate),
            i18n::datetime(row.updated_at_ms, ctx.lang),
        );
    if let Some(at) = row.released_at_ms {
        result = result.fact(ctx.t(M::Released), i18n::datetime(at, ctx.lang));
    }
    ctx.page(title, vec![result, form_section])
}
