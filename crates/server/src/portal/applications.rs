//! 企业备案申请 — filing applications: an enterprise applies online (public form, no login: it is
//! not filed yet), the zone office approves or refuses it, and an approval is a journaled filing.
//!
//! Journal: each step is an `APPLICATION` entry whose body is the whole application after the
//! step (JSON below), projected as a record of kind `application` (key = its id, party = the
//! enterprise code, status `submitted` / `approved` / `refused`) by the live path and the rebuild
//! alike. An approval first journals the `FILING` entry (one registry CSV row, refused like any
//! filing when the enterprise is on the credit negative list), then the decision.

use axum::Router;
use axum::extract::{Form, Path};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::subject::Department;
use serde::{Deserialize, Serialize};
use store::RecordQuery;

use super::i18n::{self, M};
use super::page::{Cell, Field, Form as PageForm, Section, Table};
use super::session::{anonymous_ok, anonymous_token};
use super::{Ctx, encode, form_value};
use crate::api::{AppState, admin_entry, blocking, refuse_listed, submit};
use crate::app::now_ms;
use crate::auth::Principal;
use crate::intake::{self, Intake};
use crate::pipeline::Job;
use crate::problem::Problem;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apply", get(apply_page).post(apply))
        .route("/apply/{id}", get(application_status))
        .route("/desk/applications", get(list))
        .route("/desk/applications/{id}", get(detail))
        .route("/desk/applications/{id}/decide", post(decide))
}

/// One application, as journaled after each step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub code: String,
    pub name: String,
    /// Role codes of the registry (`ebp`, `ebc`, `payment`, `logistics`, `agent`, …).
    pub roles: Vec<String>,
    #[serde(default)]
    pub dxp_id: Option<String>,
    #[serde(default)]
    pub park: Option<String>,
    /// `submitted`, `approved` or `refused`.
    pub status: String,
    pub submitted_at_ms: i64,
    #[serde(default)]
    pub decided_at_ms: Option<i64>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub note: String,
}

const ROLES: [&str; 7] = [
    "ebp",
    "ebc",
    "payment",
    "logistics",
    "agent",
    "guarantor",
    "bonded",
];

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The registry CSV of the application (one row; docs/registry.md).
fn registry_csv(a: &Application) -> String {
    format!(
        "code,name,roles,dxp_id,filed_on,park\n{},{},{},{},,{}\n",
        csv_field(&a.code),
        csv_field(&a.name),
        a.roles.join("|"),
        csv_field(a.dxp_id.as_deref().unwrap_or("")),
        csv_field(a.park.as_deref().unwrap_or(""))
    )
}

/// Journal a step of an application.
async fn journal(ctx: &Ctx, sender: &str, a: &Application) -> Result<(), Problem> {
    let body = serde_json::to_vec(a).map_err(|e| Problem::unavailable(&e))?;
    let job = Job::staff(sender, intake::APPLICATION, body, Intake::Empty, now_ms());
    submit(&ctx.state, job).await.map(|_| ())
}

fn apply_form(ctx: &mut Ctx, a: Option<&Application>) -> Section {
    let token = anonymous_token(ctx);
    let value = |f: fn(&Application) -> String| a.map(f).unwrap_or_default();
    Section::new("apply-form", "")
        .note(
            "info",
            ctx.pick(
                "尚未备案的企业在此提交备案申请，由综试办审核；批准后即完成企业备案，可申请接口凭证和门户账户。",
                "An enterprise that is not filed yet applies here; the zone office reviews the application, and an approval files the enterprise, which can then receive API credentials and portal accounts.",
            ),
        )
        .form(
            PageForm::post("apply", "/apply", ctx.t(M::Submit))
                .field(Field::hidden("csrf", token))
                .field(Field::new("text", "code", ctx.t(M::EnterpriseCode)).value(value(|a| a.code.clone())).required()
                    .hint(ctx.pick("海关注册编码（10位）或统一社会信用代码（18位）", "Customs code (10 characters) or unified social credit code (18)")))
                .field(Field::new("text", "name", ctx.t(M::EnterpriseName)).value(value(|a| a.name.clone())).required())
                .field(Field::new("text", "roles", ctx.t(M::Roles)).value(value(|a| a.roles.join(","))).required()
                    .hint(ctx.pick("用逗号分隔：ebp 电商平台, ebc 电商企业, payment 支付企业, logistics 物流企业, agent 申报企业, guarantor 担保企业, bonded 保税仓储企业",
                        "comma-separated: ebp platform, ebc seller, payment, logistics, agent declaring agent, guarantor, bonded warehouse")))
                .field(Field::new("text", "dxpId", ctx.t(M::DxpId)).value(value(|a| a.dxp_id.clone().unwrap_or_default())))
                .field(Field::new("text", "park", ctx.t(M::Park)).value(value(|a| a.park.clone().unwrap_or_default()))),
        )
}

async fn apply_page(mut ctx: Ctx) -> Response {
    let section = apply_form(&mut ctx, None);
    ctx.page(ctx.t(M::ApplyTitle), vec![section])
}

async fn apply(mut ctx: Ctx, Form(form): Form<Vec<(String, String)>>) -> Response {
    if !anonymous_ok(&ctx, form_value(&form, "csrf")) {
        return ctx.bad_form();
    }
    if !ctx.state.portal.may_look_up(ctx.ip) {
        return ctx.too_many();
    }
    let text = |k: &str| form_value(&form, k).unwrap_or_default().to_string();
    let optional = |k: &str| Some(text(k)).filter(|v| !v.is_empty());
    let mut suffix = [0u8; 4];
    let _ = getrandom::fill(&mut suffix);
    let now = now_ms();
    let app = Application {
        id: format!("FA{now}{}", hex::encode(suffix)),
        code: text("code").to_ascii_uppercase(),
        name: text("name"),
        roles: text("roles")
            .split([',', '|', ' ', '，'])
            .map(|r| r.trim().to_ascii_lowercase())
            .filter(|r| !r.is_empty())
            .collect(),
        dxp_id: optional("dxpId"),
        park: optional("park").map(|p| p.to_ascii_uppercase()),
        status: "submitted".into(),
        submitted_at_ms: now,
        decided_at_ms: None,
        decided_by: None,
        note: String::new(),
    };
    // Checked as the filing will be: the same parser, so an approval cannot fail on the format.
    let valid_roles =
        !app.roles.is_empty() && app.roles.iter().all(|r| ROLES.contains(&r.as_str()));
    let parsed = intake::admin_content(intake::FILING, registry_csv(&app).as_bytes(), now);
    // Text the store could not keep (U+0000) or a receipt could not carry is refused here, with
    // the form, rather than by the journal's own check as an unavailable page.
    let storable = serde_json::to_vec(&app)
        .map_err(|e| e.to_string())
        .and_then(|body| intake::storable(intake::APPLICATION, &body));
    let title = ctx.t(M::ApplyTitle);
    // An application only creates a filing: a code already filed is changed by the zone office,
    // never by an anonymous form (it would replace the filed enterprise's name and roles).
    let filed = match already_filed(&ctx, &app.code).await {
        Ok(filed) => filed,
        Err(p) => return ctx.failed(p),
    };
    if !valid_roles || parsed.is_err() || storable.is_err() || filed {
        let why = match (parsed, storable) {
            (Err(e), _) | (Ok(_), Err(e)) => e,
            (Ok(_), Ok(())) if filed => ctx.pick(ALREADY_FILED.0, ALREADY_FILED.1).to_string(),
            (Ok(_), Ok(())) => ctx.pick("企业类型无效", "unknown role").to_string(),
        };
        let section = apply_form(&mut ctx, Some(&app)).note("error", why);
        return ctx.render(StatusCode::UNPROCESSABLE_ENTITY, title, &[section]);
    }
    if let Err(p) = journal(&ctx, "public", &app).await {
        return ctx.failed(p);
    }
    ctx.redirect(&format!("/apply/{}", encode(&app.id)))
}

const ALREADY_FILED: (&str, &str) = (
    "该企业代码已备案：备案信息的变更请联系综试办",
    "this enterprise code is already filed: ask the zone office to change a filing",
);

/// Whether an enterprise with this code is filed already.
async fn already_filed(ctx: &Ctx, code: &str) -> Result<bool, Problem> {
    let store = ctx.state.store.clone();
    let code = code.to_string();
    Ok(blocking(move || store.enterprise(&code)).await?.is_some())
}

async fn load(ctx: &Ctx, id: String) -> Result<Application, Response> {
    let store = ctx.state.store.clone();
    let row = blocking(move || store.record("application", &id))
        .await
        .map_err(|e| ctx.failed(e))?
        .ok_or_else(|| ctx.not_found())?;
    serde_json::from_str(&row.body).map_err(|_| ctx.not_found())
}

fn status_words(status: &str, ctx: &Ctx) -> &'static str {
    match status {
        "submitted" => ctx.pick("待审核", "awaiting review"),
        "approved" => ctx.pick("已批准，已备案", "approved and filed"),
        "refused" => ctx.pick("已驳回", "refused"),
        _ => ctx.pick("未知", "unknown"),
    }
}

/// What the applicant sees: the status of its application, by the id it was given.
async fn application_status(ctx: Ctx, Path(id): Path<String>) -> Result<Response, Response> {
    let a = load(&ctx, id).await?;
    let mut s = Section::new("application", "")
        .fact(ctx.t(M::Id), a.id.clone())
        .fact(ctx.t(M::EnterpriseCode), a.code.clone())
        .fact(ctx.t(M::Status), status_words(&a.status, &ctx))
        .fact(
            ctx.t(M::Created),
            i18n::datetime(a.submitted_at_ms, ctx.lang),
        )
        .note(
            "info",
            ctx.pick(
                "请保存本页地址，以便查询审核结果。",
                "Keep this page's address to follow the review.",
            ),
        );
    if !a.note.is_empty() {
        s = s.fact(ctx.t(M::Note), a.note.clone());
    }
    Ok(ctx.page(ctx.t(M::ApplyTitle), vec![s]))
}

async fn list(ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let status = ctx.param("status").map(str::to_string);
    let store = ctx.state.store.clone();
    let s = status.clone();
    let rows = blocking(move || {
        store.records(&RecordQuery {
            status: s.as_deref(),
            ..RecordQuery::new("application", 500)
        })
    })
    .await
    .map_err(|e| ctx.failed(e))?;
    let apps: Vec<Application> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.body).ok())
        .collect();
    let mut options = vec![(String::new(), ctx.t(M::AllStatuses).to_string())];
    options.extend(
        ["submitted", "approved", "refused"]
            .map(|s| (s.to_string(), status_words(s, &ctx).to_string())),
    );
    let mut section = Section::new("applications", "").form(
        PageForm::get("filter", "/desk/applications", ctx.t(M::Filter)).field(
            Field::new("select", "status", ctx.t(M::FilterStatus))
                .value(status.unwrap_or_default())
                .options(options),
        ),
    );
    if apps.is_empty() {
        section = section.note("info", ctx.t(M::NoneFound));
    } else {
        section = section.table(Table {
            caption: ctx.t(M::ApplicationsTitle).into(),
            head: vec![
                ctx.t(M::Id).into(),
                ctx.t(M::EnterpriseCode).into(),
                ctx.t(M::EnterpriseName).into(),
                ctx.t(M::Roles).into(),
                ctx.t(M::Status).into(),
                ctx.t(M::Created).into(),
            ],
            rows: apps
                .iter()
                .map(|a| {
                    vec![
                        Cell::link(
                            a.id.clone(),
                            format!("/desk/applications/{}", encode(&a.id)),
                        ),
                        Cell::text(a.code.clone()),
                        Cell::text(a.name.clone()),
                        Cell::text(
                            a.roles
                                .iter()
                                .map(|r| i18n::role_name(r, ctx.lang))
                                .collect::<Vec<_>>()
                                .join("、"),
                        ),
                        Cell::text(status_words(&a.status, &ctx)).badge(match a.status.as_str() {
                            "approved" => "ok",
                            "refused" => "bad",
                            _ => "warn",
                        }),
                        Cell::text(i18n::datetime(a.submitted_at_ms, ctx.lang)),
                    ]
                })
                .collect(),
        });
    }
    Ok(ctx.page(ctx.t(M::ApplicationsTitle), vec![section]))
}

fn zone_office(p: &Principal) -> bool {
    matches!(p, Principal::Regulator(Department::ZoneOffice))
}

async fn detail(ctx: Ctx, Path(id): Path<String>) -> Result<Response, Response> {
    let principal = ctx.staff()?;
    let a = load(&ctx, id).await?;
    let mut s = Section::new("application", "")
        .fact(ctx.t(M::Id), a.id.clone())
        .fact(ctx.t(M::EnterpriseCode), a.code.clone())
        .fact(ctx.t(M::EnterpriseName), a.name.clone())
        .fact(
            ctx.t(M::Roles),
            a.roles
                .iter()
                .map(|r| i18n::role_name(r, ctx.lang))
                .collect::<Vec<_>>()
                .join("、"),
        )
        .fact(ctx.t(M::DxpId), a.dxp_id.clone().unwrap_or_default())
        .fact(ctx.t(M::Park), a.park.clone().unwrap_or_default())
        .fact(ctx.t(M::Status), status_words(&a.status, &ctx))
        .fact(
            ctx.t(M::Created),
            i18n::datetime(a.submitted_at_ms, ctx.lang),
        );
    if let Some(at) = a.decided_at_ms {
        s = s.fact(
            ctx.pick("审核时间", "Decided"),
            i18n::datetime(at, ctx.lang),
        );
    }
    if !a.note.is_empty() {
        s = s.fact(ctx.t(M::Note), a.note.clone());
    }
    if ctx.param("done").is_some() {
        s = s.note("ok", ctx.t(M::ActionDone));
    }
    if a.status == "approved" {
        s = s.link(
            format!("/desk/enterprises/{}", encode(&a.code)),
            ctx.t(M::NavEnterprises),
        );
    }
    let mut sections = vec![s];
    if a.status == "submitted" && zone_office(&principal) {
        sections.push(
            Section::new("decide", ctx.t(M::Actions)).form(
                PageForm::post(
                    "decide-form",
                    format!("/desk/applications/{}/decide", encode(&a.id)),
                    ctx.t(M::Submit),
                )
                .field(ctx.csrf_field())
                .field(
                    Field::new("select", "approve", ctx.t(M::Result)).options(vec![
                        ("true".into(), ctx.t(M::Approve).into()),
                        ("false".into(), ctx.t(M::Refuse).into()),
                    ]),
                )
                .field(Field::new("text", "note", ctx.t(M::Note))),
            ),
        );
    }
    Ok(ctx.page(
        &format!("{} {}", ctx.t(M::ApplicationsTitle), a.id),
        sections,
    ))
}

async fn decide(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let principal = ctx.staff()?;
    if !ctx.csrf_ok(form_value(&form, "csrf")) {
        return Err(ctx.bad_form());
    }
    if !zone_office(&principal) {
        return Err(ctx.forbidden());
    }
    let mut a = load(&ctx, id).await?;
    let back = format!("/desk/applications/{}", encode(&a.id));
    if a.status != "submitted" {
        let why = ctx.pick("申请已审核", "the application is already decided");
        return Ok(ctx.refused(StatusCode::CONFLICT, why, back, ctx.t(M::Details)));
    }
    let approve = form_value(&form, "approve") == Some("true");
    let now = now_ms();
    let filed = already_filed(&ctx, &a.code)
        .await
        .map_err(|p| ctx.failed(p))?;
    if approve && filed {
        let why = ctx.pick(ALREADY_FILED.0, ALREADY_FILED.1);
        return Ok(ctx.refused(StatusCode::CONFLICT, why, back, ctx.t(M::Details)));
    }
    if approve {
        let csv = registry_csv(&a);
        let refused = match intake::admin_content(intake::FILING, csv.as_bytes(), now) {
            Ok(Intake::Filing(list)) => refuse_listed(&ctx.state, &list).await.err(),
            Ok(_) => None,
            Err(e) => Some(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-file",
                e,
            )),
        };
        if let Some(p) = refused {
            if p.status.is_server_error() {
                return Err(ctx.failed(p));
            }
            let why = p.detail.unwrap_or(p.title);
            return Ok(ctx.refused(StatusCode::CONFLICT, &why, back, ctx.t(M::Details)));
        }
        let _filed = admin_entry(&ctx.state, intake::FILING, csv.into_bytes().into())
            .await
            .map_err(|p| ctx.failed(p))?;
    }
    a.status = if approve { "approved" } else { "refused" }.into();
    a.decided_at_ms = Some(now);
    a.decided_by = Some(principal.label());
    a.note = form_value(&form, "note").unwrap_or_default().to_string();
    journal(&ctx, &principal.label(), &a)
        .await
        .map_err(|p| ctx.failed(p))?;
    Ok(ctx.redirect(&format!("{back}?done=1")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_application_makes_one_registry_row_the_filing_parser_accepts() {
        let a = Application {
            id: "FA1".into(),
            code: "3301960NEW".into(),
            name: "Demo, \"New\" Trading".into(),
            roles: vec!["ebc".into(), "agent".into()],
            dxp_id: None,
            park: Some("HZ-XS".into()),
            status: "submitted".into(),
            submitted_at_ms: 0,
            decided_at_ms: None,
            decided_by: None,
            note: String::new(),
        };
        let csv = registry_csv(&a);
        match intake::admin_content(intake::FILING, csv.as_bytes(), 1_767_225_600_000) {
            Ok(Intake::Filing(list)) => {
                assert_eq!(list.len(), 1);
                assert_eq!(list[0].code, "3301960NEW");
                assert_eq!(list[0].name, "Demo, \"New\" Trading");
            }
            _ => unreachable!("{csv}"),
        }
    }
}
