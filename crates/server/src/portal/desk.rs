//! Regulator and zone-office pages (login as `regulator:<department>`; the administrator reads
//! them too): the live clearance dashboard, statistics, index administration, the enterprise
//! registry, filing approvals, declarations, and the credit and risk queues and records — alerts,
//! inspections, credit records, the negative list, recalls and goods controls — each followed to
//! its declarations. Actions are forms where they are cheap (assess, dispose and review an alert,
//! record an inspection finding, conclude a document review), offered only to the departments
//! the role matrix allows; the engine checks again.

use axum::Router;
use axum::extract::{Form, Path};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::clearance::{Action, AlertLevel, DeclarationId, Disposal};
use domain::subject::Department;
use serde_json::Value;
use store::RecordQuery;

use super::enterprise::{declaration_page, declaration_sections, load_declaration, status_badge};
use super::i18n::{self, M};
use super::page::{Cell, Field, Form as PageForm, Section, Table};
use super::{Ctx, encode, form_value, stats};
use crate::api::{AppState, blocking};
use crate::auth::Principal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/desk", get(dashboard))
        .route("/desk/statistics", get(statistics))
        .route("/desk/index", get(index_admin))
        .route("/desk/index/publish", post(publish_index))
        .route("/desk/index/settings", post(configure_index))
        .route("/desk/enterprises", get(enterprises))
        .route("/desk/enterprises/{code}", get(enterprise))
        .route("/desk/declarations", get(declarations))
        .route("/desk/declarations/{id}", get(declaration))
        .route("/desk/declarations/{id}/conclude", post(conclude))
        .route("/desk/declarations/{id}/personal-data", post(personal_data))
        .route("/desk/alerts", get(alerts))
        .route("/desk/alerts/{id}", get(alert))
        .route("/desk/alerts/{id}/{step}", post(alert_step))
        .route("/desk/inspections", get(inspections))
        .route("/desk/inspections/{id}", get(inspection))
        .route("/desk/inspections/{id}/finding", post(finding))
        .route("/desk/credit", get(credit_list))
        .route("/desk/credit/{key}", get(credit))
        .route("/desk/listings", get(listings))
        .route("/desk/listings/{id}", get(listing))
        .route("/desk/recalls", get(recalls))
}

/// A value inside a record's JSON, as text (`/hit/rule`).
fn text_at(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn time_at(v: &Value, pointer: &str, ctx: &Ctx) -> String {
    v.pointer(pointer)
        .and_then(Value::as_i64)
        .map(|ms| i18n::datetime(ms, ctx.lang))
        .unwrap_or_default()
}

/// A subject key in words (`E:<code>` → the code, `P:<hash>` → a shortened person key).
fn subject_words(v: &Value, ctx: &Ctx) -> String {
    let kind = text_at(v, "/type");
    let id = text_at(v, "/id");
    match kind.as_str() {
        "enterprise" => id,
        "person" => format!(
            "{} {}…",
            ctx.pick("个人", "person"),
            id.chars().take(12).collect::<String>()
        ),
        _ => String::new(),
    }
}

fn department(principal: &Principal) -> Option<Department> {
    match principal {
        Principal::Regulator(d) => Some(*d),
        _ => None,
    }
}

fn allowed(principal: &Principal, departments: &[Department]) -> bool {
    department(principal).is_some_and(|d| departments.contains(&d))
}

async fn dashboard(mut ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let sections = stats::dashboard(&mut ctx).await?;
    Ok(ctx.page(ctx.t(M::DashboardTitle), sections))
}

async fn statistics(mut ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let sections = stats::desk_statistics(&mut ctx).await?;
    Ok(ctx.page(ctx.t(M::NavStatistics), sections))
}

async fn index_admin(mut ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let sections = stats::desk_index(&mut ctx).await?;
    Ok(ctx.page(ctx.t(M::NavIndexAdmin), sections))
}

async fn publish_index(
    ctx: Ctx,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    ctx.staff()?;
    if !ctx.csrf_ok(form_value(&form, "csrf")) {
        return Err(ctx.bad_form());
    }
    let month = form_value(&form, "month").unwrap_or_default();
    let note = form_value(&form, "note").unwrap_or_default().to_string();
    match stats::publish(&ctx, month, note).await {
        Ok(()) => Ok(ctx.redirect("/desk/index?done=1")),
        Err(p) if p.status == StatusCode::FORBIDDEN => Err(ctx.forbidden()),
        Err(p) if p.status.is_client_error() => {
            let section = Section::new("refused", "")
                .note(
                    "error",
                    format!("{}{}", ctx.t(M::ActionRefused), p.detail.unwrap_or(p.title)),
                )
                .link("/desk/index", ctx.t(M::NavIndexAdmin));
            Ok(ctx.render(StatusCode::CONFLICT, ctx.t(M::ActionRefused), &[section]))
        }
        Err(p) => Err(ctx.failed(p)),
    }
}

/// `POST /desk/index/settings`: the zone office replaces the index settings; a form that does
/// not hold together comes back filled in as sent, with the reason.
async fn configure_index(
    ctx: Ctx,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    ctx.staff()?;
    if !ctx.csrf_ok(form_value(&form, "csrf")) {
        return Err(ctx.bad_form());
    }
    match stats::configure(&ctx, &form).await {
        Ok(()) => Ok(ctx.redirect("/desk/index?done=1#index-settings")),
        Err(p) if p.status == StatusCode::FORBIDDEN => Err(ctx.forbidden()),
        Err(p) if p.status.is_client_error() => {
            let settings = stats::current_settings(&ctx)
                .await
                .map_err(|e| ctx.failed(e))?;
            let mut section = stats::settings_section(&ctx, &settings, Some(&form))
                .link("/desk/index", ctx.t(M::NavIndexAdmin));
            // The reason first, above the form it is about.
            section.notes.insert(
                0,
                super::page::Note {
                    kind: "error",
                    text: format!("{}{}", ctx.t(M::ActionRefused), p.detail.unwrap_or(p.title)),
                },
            );
            Ok(ctx.render(p.status, ctx.t(M::ActionRefused), &[section]))
        }
        Err(p) => Err(ctx.failed(p)),
    }
}

async fn enterprises(ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let store = ctx.state.store.clone();
    let rows = blocking(move || store.enterprises())
        .await
        .map_err(|e| ctx.failed(e))?;
    let table = Table {
        caption: ctx.t(M::NavEnterprises).to_string(),
        head: vec![
            ctx.t(M::EnterpriseCode).into(),
            ctx.t(M::EnterpriseName).into(),
            ctx.t(M::Roles).into(),
            ctx.t(M::Filed).into(),
            ctx.t(M::Status).into(),
        ],
        rows: rows
            .iter()
            .map(|e| {
                vec![
                    Cell::link(
                        e.code.clone(),
                        format!("/desk/enterprises/{}", encode(&e.code)),
                    ),
                    Cell::text(e.name.clone()),
                    Cell::text(
                        e.roles
                            .split(',')
                            .filter(|r| !r.is_empty())
                            .map(|r| i18n::role_name(r, ctx.lang))
                            .collect::<Vec<_>>()
                            .join("、"),
                    ),
                    Cell::text(i18n::day_of(e.filed_at_ms, ctx.lang)),
                    if e.active {
                        Cell::text(ctx.t(M::Active)).badge("ok")
                    } else {
                        Cell::text(ctx.t(M::Inactive)).badge("bad")
                    },
                ]
            })
            .collect(),
    };
    let section = Section::new("registry", "")
        .fact(ctx.t(M::Count), i18n::count(rows.len() as i64))
        .table(table);
    Ok(ctx.page(ctx.t(M::NavEnterprises), vec![section]))
}

async fn enterprise(ctx: Ctx, Path(code): Path<String>) -> Result<Response, Response> {
    ctx.staff()?;
    let store = ctx.state.store.clone();
    let lookup = code.clone();
    let found = blocking(move || {
        let e = store.enterprise(&lookup)?;
        let credit = store.record("credit", &format!("E:{lookup}"))?;
        let declarations = store.declarations(Some(&lookup), None, 20)?;
        let listings = store.records(&RecordQuery {
            party: Some(&lookup),
            ..RecordQuery::new("listing", 50)
        })?;
        Ok((e, credit, declarations, listings))
    })
    .await
    .map_err(|e| ctx.failed(e))?;
    let (Some(e), credit, declarations, listings) = found else {
        return Err(ctx.not_found());
    };
    let mut facts = Section::new("enterprise-facts", "")
        .fact(ctx.t(M::EnterpriseCode), e.code.clone())
        .fact(ctx.t(M::EnterpriseName), e.name.clone())
        .fact(
            ctx.t(M::Roles),
            e.roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(|r| i18n::role_name(r, ctx.lang))
                .collect::<Vec<_>>()
                .join("、"),
        )
        .fact(ctx.t(M::DxpId), e.dxp_id.clone().unwrap_or_default())
        .fact(ctx.t(M::Filed), i18n::day_of(e.filed_at_ms, ctx.lang))
        .fact(
            ctx.t(M::Status),
            if e.active {
                ctx.t(M::Active)
            } else {
                ctx.t(M::Inactive)
            },
        );
    if let Some(c) = &credit {
        let body: Value = serde_json::from_str(&c.body).unwrap_or(Value::Null);
        facts = facts
            .fact(ctx.t(M::Grade), c.status.clone())
            .fact(ctx.t(M::Score), text_at(&body, "/score"))
            .link(
                format!("/desk/credit/{}", encode(&c.key)),
                ctx.t(M::NavCredit),
            );
    }
    let mut sections = vec![facts];
    let table = Table {
        caption: ctx.t(M::Declarations).to_string(),
        head: vec![
            ctx.t(M::OrderNo).into(),
            ctx.t(M::Status).into(),
            ctx.t(M::DutiablePrice).into(),
            ctx.t(M::Updated).into(),
        ],
        rows: declarations
            .iter()
            .map(|r| {
                vec![
                    Cell::link(r.order_no.clone(), format!("/desk/declarations/{}", r.id)),
                    Cell::text(format!(
                        "{} {}",
                        r.status,
                        i18n::status_name(r.status, ctx.lang)
                    ))
                    .badge(status_badge(r.status)),
                    Cell::num(i18n::fen(r.value_minor)),
                    Cell::text(i18n::datetime(r.updated_at_ms, ctx.lang)),
                ]
            })
            .collect(),
    };
    let mut decl = Section::new("enterprise-declarations", ctx.t(M::Declarations));
    decl = if declarations.is_empty() {
        decl.note("info", ctx.t(M::NoneFound))
    } else {
        decl.table(table)
    };
    sections.push(decl);
    if !listings.is_empty() {
        sections.push(
            Section::new("enterprise-listings", ctx.t(M::NavListings))
                .table(record_table(&ctx, "listing", &listings)),
        );
    }
    let title = format!("{} {}", e.name, e.code);
    Ok(ctx.page(&title, sections))
}

async fn declarations(ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let section = declaration_page(&ctx, None, "/desk/declarations").await?;
    Ok(ctx.page(ctx.t(M::Declarations), vec![section]))
}

fn action_notes(ctx: &Ctx, mut section: Section) -> Section {
    if ctx.param("done").is_some() {
        section = section.note("ok", ctx.t(M::ActionDone));
    }
    section
}

async fn declaration(ctx: Ctx, Path(id): Path<String>) -> Result<Response, Response> {
    let principal = ctx.staff()?;
    let Some((row, receipts)) = load_declaration(&ctx, &principal, id).await? else {
        return Err(ctx.not_found());
    };
    let mut sections = declaration_sections(&ctx, &row, &receipts);
    if let Some(first) = sections.first_mut() {
        *first = action_notes(&ctx, first.clone());
    }
    // Supervision records that point at this declaration.
    let store = ctx.state.store.clone();
    let id = row.id.clone();
    let related = blocking(move || {
        let mut found = Vec::new();
        for kind in ["alert", "inspection"] {
            let mut after: Option<String> = None;
            for _ in 0..20 {
                let page = store.records(&RecordQuery {
                    after: after.as_deref(),
                    ..RecordQuery::new(kind, 500)
                })?;
                let Some(last) = page.last() else { break };
                after = Some(last.key.clone());
                let full = page.len() == 500;
                found.extend(page.into_iter().filter(|r| r.body.contains(&id)));
                if !full {
                    break;
                }
            }
        }
        Ok(found)
    })
    .await
    .map_err(|e| ctx.failed(e))?;
    if !related.is_empty() {
        let mut s = Section::new("related", ctx.t(M::Queues));
        for r in &related {
            let href = match r.kind.as_str() {
                "alert" => format!("/desk/alerts/{}", encode(&r.key)),
                _ => format!("/desk/inspections/{}", encode(&r.key)),
            };
            s = s.link(href, format!("{} {} ({})", r.kind, r.key, r.status));
        }
        sections.push(s);
    }
    if row.status == 300 && allowed(&principal, &[Department::Customs]) {
        sections.push(
            Section::new("conclude", ctx.t(M::Conclude)).form(
                PageForm::post(
                    "conclude-form",
                    format!("/desk/declarations/{}/conclude", row.id),
                    ctx.t(M::Submit),
                )
                .field(ctx.csrf_field())
                .field(
                    Field::new("select", "release", ctx.t(M::Result)).options(vec![
                        ("true".into(), ctx.t(M::Release).into()),
                        ("false".into(), ctx.t(M::Reject).into()),
                    ]),
                )
                .field(Field::new("text", "reason", ctx.t(M::Note))),
            ),
        );
    }
    // The audited clear view, offered where the role may use it on this declaration.
    if crate::personal::may_view(&ctx.state, &principal, &row.id)
        .await
        .map_err(|e| ctx.failed(e))?
    {
        sections.push(clear_view_form(&ctx, &row.id));
    }
    let title = format!("{} {}", ctx.t(M::Declaration), row.order_no);
    Ok(ctx.page(&title, sections))
}

/// The form that asks for the buyer's and payer's personal data in clear, with a reason.
fn clear_view_form(ctx: &Ctx, id: &str) -> Section {
    Section::new("personal-data", ctx.pick("个人信息", "Personal data"))
        .note(
            "info",
            ctx.pick(
                "个人信息默认脱敏显示。查看明文需填写理由；每次查看（含被拒绝的请求）都记入审计日志。",
                "Personal data is masked by default. Seeing it in clear needs a reason; every \
                 view, and every refused request, is written to the audit log.",
            ),
        )
        .form(
            PageForm::post(
                "personal-data-form",
                format!("/desk/declarations/{}/personal-data", encode(id)),
                ctx.pick("查看明文", "Show in clear"),
            )
            .field(ctx.csrf_field())
            .field(
                Field::new("text", "reason", ctx.pick("理由", "Reason"))
                    .required()
                    .hint(ctx.pick("4–500 个字符", "4 to 500 characters")),
            ),
        )
}

/// `POST /desk/declarations/{id}/personal-data`: the clear view in the portal — the same checks
/// and the same audit entry as the API's (`crate::personal::clear_view`), shown on a page that
/// is never cached.
async fn personal_data(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let principal = ctx.staff()?;
    if !ctx.csrf_ok(form_value(&form, "csrf")) {
        return Err(ctx.bad_form());
    }
    let reason = form_value(&form, "reason").unwrap_or_default();
    let source = ctx.source();
    let back = format!("/desk/declarations/{}", encode(&id));
    let data = match crate::personal::clear_view(&ctx.state, &principal, &source, &id, reason).await
    {
        Ok(data) => data,
        Err(p) if p.status == StatusCode::FORBIDDEN => return Err(ctx.forbidden()),
        Err(p) if p.status == StatusCode::NOT_FOUND => return Err(ctx.not_found()),
        Err(p) if p.status == StatusCode::BAD_REQUEST => {
            let section = clear_view_form(&ctx, &id)
                .note(
                    "error",
                    ctx.pick(
                        "请填写 4–500 个字符的理由。",
                        "Give a reason of 4 to 500 characters.",
                    ),
                )
                .link(back, ctx.t(M::Details));
            return Ok(ctx.render(
                StatusCode::BAD_REQUEST,
                ctx.pick("个人信息", "Personal data"),
                &[section],
            ));
        }
        Err(p) => return Err(ctx.failed(p)),
    };
    let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
    let mut section = Section::new(
        "personal-data",
        ctx.pick("个人信息（明文）", "Personal data (in clear)"),
    )
    .note(
        "info",
        ctx.pick("本次查看已记入审计日志。", "This view is in the audit log."),
    );
    if data.purged {
        section = section.note(
            "info",
            ctx.pick(
                "保存期限已过，明文已清除，只余脱敏值。",
                "The retention period has passed: the clear values were purged, only masks remain.",
            ),
        );
    }
    let facts: [(&str, &str, &Option<String>); 11] = [
        ("订购人姓名", "Buyer's name", &data.buyer_name),
        ("证件类型", "ID type", &data.buyer_id_type),
        ("证件号码", "ID number", &data.buyer_id_number),
        ("订购人电话", "Buyer's phone", &data.buyer_telephone),
        ("订购人注册号", "Buyer's account", &data.buyer_reg_no),
        ("收件人", "Consignee", &data.consignee),
        ("收件人电话", "Consignee's phone", &data.consignee_telephone),
        ("收件地址", "Consignee's address", &data.consignee_address),
        ("支付人姓名", "Payer's name", &data.payer_name),
        ("支付人证件号码", "Payer's ID number", &data.payer_id_number),
        ("支付人电话", "Payer's phone", &data.payer_telephone),
    ];
    for (zh, en, v) in facts {
        section = section.fact(ctx.pick(zh, en), value(v));
    }
    let section = section.link(back, ctx.t(M::Details));
    Ok(ctx.render(
        StatusCode::OK,
        ctx.pick("个人信息", "Personal data"),
        &[section],
    ))
}

/// Journal an action from a form, then show the record again (or why it was refused).
async fn act(
    ctx: &Ctx,
    form: &[(String, String)],
    action: Action,
    back: String,
) -> Result<Response, Response> {
    let principal = ctx.staff()?;
    if !ctx.csrf_ok(form_value(form, "csrf")) {
        return Err(ctx.bad_form());
    }
    match crate::oversight::act(&ctx.state, &principal, action).await {
        Ok(_) => Ok(ctx.redirect(&format!("{back}?done=1"))),
        // A department the action is not for is refused as such, with the engine's reason; a
        // missing target is missing; any other refusal is a conflict with the record's state.
        Err(problem) if problem.status.is_client_error() => {
            let status = match problem.status {
                StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => problem.status,
                _ => StatusCode::CONFLICT,
            };
            let why = problem.detail.unwrap_or(problem.title);
            Ok(ctx.refused(status, &why, back, ctx.t(M::Details)))
        }
        Err(problem) => Err(ctx.failed(problem)),
    }
}

async fn conclude(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let action = Action::Conclude {
        declaration: DeclarationId(id.clone()),
        release: form_value(&form, "release") == Some("true"),
        reason: form_value(&form, "reason").unwrap_or_default().to_string(),
    };
    act(&ctx, &form, action, format!("/desk/declarations/{id}")).await
}

/// The columns of a queue of one kind.
fn record_table(ctx: &Ctx, kind: &str, rows: &[store::RecordRow]) -> Table {
    let head: Vec<String> = match kind {
        "alert" => vec![
            M::Id,
            M::Rule,
            M::Explanation,
            M::Declaration,
            M::Status,
            M::Created,
        ],
        "inspection" => vec![
            M::Id,
            M::Declaration,
            M::Enterprise,
            M::Reason,
            M::Status,
            M::Created,
        ],
        "credit" => vec![
            M::Subject,
            M::EnterpriseName,
            M::Grade,
            M::Score,
            M::Updated,
        ],
        "listing" => vec![
            M::Id,
            M::Subject,
            M::Category,
            M::Severity,
            M::Department,
            M::Status,
        ],
        "recall" => vec![
            M::Id,
            M::Reason,
            M::Goods,
            M::Department,
            M::Status,
            M::Created,
        ],
        _ => vec![M::Id, M::Goods, M::Reason, M::Status, M::Updated],
    }
    .into_iter()
    .map(|m| ctx.t(m).to_string())
    .collect();
    let rows = rows
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let status = Cell::text(r.status.clone()).badge(match r.status.as_str() {
                "open" | "active" | "in_force" => "warn",
                "failed" | "DISHONEST" | "BB" => "bad",
                "passed" | "closed" | "reviewed" | "AAA" | "AA" => "ok",
                _ => "",
            });
            match kind {
                "alert" => vec![
                    Cell::link(r.key.clone(), format!("/desk/alerts/{}", encode(&r.key))),
                    Cell::text(text_at(&v, "/hit/rule")),
                    Cell::text(text_at(&v, "/hit/summary")),
                    Cell::link(
                        text_at(&v, "/ebc_code"),
                        format!("/desk/declarations/{}", text_at(&v, "/declaration")),
                    ),
                    status,
                    Cell::text(time_at(&v, "/created_at", ctx)),
                ],
                "inspection" => vec![
                    Cell::link(
                        r.key.clone(),
                        format!("/desk/inspections/{}", encode(&r.key)),
                    ),
                    Cell::link(
                        {
                            let invt = text_at(&v, "/invt_no");
                            if invt.is_empty() {
                                text_at(&v, "/declaration")
                            } else {
                                invt
                            }
                        },
                        format!("/desk/declarations/{}", text_at(&v, "/declaration")),
                    ),
                    Cell::link(
                        text_at(&v, "/ebc_code"),
                        format!("/desk/enterprises/{}", encode(&text_at(&v, "/ebc_code"))),
                    ),
                    Cell::text(
                        v.get("reasons")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            })
                            .unwrap_or_default(),
                    ),
                    status,
                    Cell::text(time_at(&v, "/created_at", ctx)),
                ],
                "credit" => vec![
                    Cell::link(
                        subject_words(v.get("subject").unwrap_or(&Value::Null), ctx),
                        format!("/desk/credit/{}", encode(&r.key)),
                    ),
                    Cell::text(text_at(&v, "/name")),
                    status,
                    Cell::num(text_at(&v, "/score")),
                    Cell::text(i18n::datetime(r.updated_at_ms, ctx.lang)),
                ],
                "listing" => vec![
                    Cell::link(r.key.clone(), format!("/desk/listings/{}", encode(&r.key))),
                    Cell::text(subject_words(v.get("subject").unwrap_or(&Value::Null), ctx)),
                    Cell::text(text_at(&v, "/category")),
                    Cell::text(text_at(&v, "/severity")),
                    Cell::text(text_at(&v, "/department")),
                    status,
                ],
                "recall" => vec![
                    Cell::text(r.key.clone()),
                    Cell::text(text_at(&v, "/recall/reason")),
                    Cell::text(text_at(&v, "/recall/matcher")),
                    Cell::text(text_at(&v, "/recall/department")),
                    Cell::text(
                        if v.pointer("/recall/lifted_at").is_some_and(|l| !l.is_null()) {
                            ctx.pick("已解除", "lifted")
                        } else {
                            ctx.pick("生效", "in force")
                        },
                    ),
                    Cell::text(time_at(&v, "/recall/at", ctx)),
                ],
                _ => vec![
                    Cell::text(r.key.clone()),
                    Cell::text(text_at(&v, "/matcher")),
                    Cell::text(text_at(&v, "/reason")),
                    status,
                    Cell::text(i18n::datetime(r.updated_at_ms, ctx.lang)),
                ],
            }
        })
        .collect();
    Table {
        caption: String::new(),
        head,
        rows,
    }
}

/// A page of one queue: a status filter, the table, and the next page by key.
async fn queue(
    ctx: &Ctx,
    kind: &'static str,
    base: &str,
    statuses: &[&str],
) -> Result<Section, Response> {
    let status = ctx.param("status").map(str::to_string);
    let after = ctx.param("after").map(str::to_string);
    let store = ctx.state.store.clone();
    let (s, a) = (status.clone(), after.clone());
    let (rows, total) = blocking(move || {
        let rows = store.records(&RecordQuery {
            kind,
            party: None,
            status: s.as_deref(),
            after: a.as_deref(),
            limit: 50,
        })?;
        let total = store.count_records(kind, s.as_deref())?;
        Ok((rows, total))
    })
    .await
    .map_err(|e| ctx.failed(e))?;
    let mut section = Section::new(kind, "").fact(ctx.t(M::Count), i18n::count(total));
    if !statuses.is_empty() {
        let mut options = vec![(String::new(), ctx.t(M::AllStatuses).to_string())];
        options.extend(statuses.iter().map(|s| (s.to_string(), s.to_string())));
        section = section.form(
            PageForm::get("filter", base, ctx.t(M::Filter)).field(
                Field::new("select", "status", ctx.t(M::FilterStatus))
                    .value(status.clone().unwrap_or_default())
                    .options(options),
            ),
        );
    }
    if rows.is_empty() {
        section = section.note("info", ctx.t(M::NoneFound));
    } else {
        section = section.table(record_table(ctx, kind, &rows));
    }
    if rows.len() == 50
        && let Some(last) = rows.last()
    {
        let s = status
            .map(|s| format!("&status={}", encode(&s)))
            .unwrap_or_default();
        section = section.link(
            format!("{base}?after={}{s}", encode(&last.key)),
            ctx.t(M::NextPage),
        );
    }
    Ok(section)
}

async fn alerts(ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let section = queue(
        &ctx,
        "alert",
        "/desk/alerts",
        &["open", "assessed", "disposed", "reviewed"],
    )
    .await?;
    Ok(ctx.page(ctx.t(M::NavAlerts), vec![section]))
}

async fn inspections(ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let section = queue(
        &ctx,
        "inspection",
        "/desk/inspections",
        &["open", "passed", "failed", "closed"],
    )
    .await?;
    Ok(ctx.page(ctx.t(M::NavInspections), vec![section]))
}

async fn credit_list(ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let section = queue(
        &ctx,
        "credit",
        "/desk/credit",
        &["AAA", "AA", "A", "B", "BB", "DISHONEST"],
    )
    .await?;
    Ok(ctx.page(ctx.t(M::NavCredit), vec![section]))
}

async fn listings(ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let section = queue(&ctx, "listing", "/desk/listings", &[]).await?;
    Ok(ctx.page(ctx.t(M::NavListings), vec![section]))
}

async fn recalls(ctx: Ctx) -> Result<Response, Response> {
    ctx.staff()?;
    let recalls = queue(&ctx, "recall", "/desk/recalls", &[]).await?;
    let mut controls = queue(&ctx, "control", "/desk/recalls", &[]).await?;
    controls.id = "controls".into();
    controls.heading = ctx.t(M::Controls).to_string();
    let mut recalls = recalls;
    recalls.heading = ctx.t(M::Recalls).to_string();
    Ok(ctx.page(ctx.t(M::NavRecalls), vec![recalls, controls]))
}

/// Facts of a record's top level (scalars), its steps, and a link to its declaration.
fn record_sections(ctx: &Ctx, row: &store::RecordRow) -> Vec<Section> {
    let v: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
    let mut facts = Section::new("record", "")
        .fact(ctx.t(M::Status), row.status.clone())
        .fact(
            ctx.t(M::Updated),
            i18n::datetime(row.updated_at_ms, ctx.lang),
        );
    if let Value::Object(map) = &v {
        for (k, val) in map {
            let text = match val {
                Value::String(s) => s.clone(),
                Value::Number(n) if k.ends_with("_at") || k == "at" => n
                    .as_i64()
                    .map(|ms| i18n::datetime(ms, ctx.lang))
                    .unwrap_or_default(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            if k == "declaration" {
                facts = facts.link(
                    format!("/desk/declarations/{text}"),
                    format!("{} {text}", ctx.t(M::Declaration)),
                );
            }
            facts = facts.fact(k.clone(), text);
        }
    }
    let facts = action_notes(ctx, facts);
    let mut sections = vec![facts];
    if let Some(hit) = v.get("hit") {
        let mut s = Section::new("hit", ctx.t(M::Evidence))
            .fact(ctx.t(M::Rule), text_at(hit, "/rule"))
            .fact(ctx.t(M::Score), text_at(hit, "/score"))
            .note("info", text_at(hit, "/summary"));
        if let Some(ev) = hit.get("evidence").and_then(Value::as_array) {
            for e in ev {
                s = s.fact(text_at(e, "/name"), text_at(e, "/value"));
            }
        }
        sections.push(s);
    }
    let steps = v
        .get("steps")
        .or_else(|| v.get("audit"))
        .or_else(|| v.get("history"))
        .and_then(Value::as_array);
    if let Some(steps) = steps
        && !steps.is_empty()
    {
        let table = Table {
            caption: ctx.t(M::History).to_string(),
            head: vec![
                ctx.t(M::Time).into(),
                ctx.t(M::Actions).into(),
                ctx.t(M::Note).into(),
            ],
            rows: steps
                .iter()
                .map(|s| {
                    vec![
                        Cell::text(time_at(s, "/at", ctx)),
                        Cell::text(format!(
                            "{} {}",
                            text_at(s, "/actor"),
                            text_at(s, "/action")
                        )),
                        Cell::text({
                            let note = text_at(s, "/note");
                            if note.is_empty() {
                                text_at(s, "/kind")
                            } else {
                                note
                            }
                        }),
                    ]
                })
                .collect(),
        };
        sections.push(Section::new("steps", ctx.t(M::History)).table(table));
    }
    sections
}

async fn record_of(
    ctx: &Ctx,
    kind: &'static str,
    key: String,
) -> Result<store::RecordRow, Response> {
    let store = ctx.state.store.clone();
    blocking(move || store.record(kind, &key))
        .await
        .map_err(|e| ctx.failed(e))?
        .ok_or_else(|| ctx.not_found())
}

async fn alert(ctx: Ctx, Path(id): Path<String>) -> Result<Response, Response> {
    let principal = ctx.staff()?;
    let row = record_of(&ctx, "alert", id.clone()).await?;
    let mut sections = record_sections(&ctx, &row);
    let base = format!("/desk/alerts/{}", encode(&id));
    let front = [Department::Customs, Department::Inspection];
    let mut forms = Section::new("alert-actions", ctx.t(M::Actions));
    if row.status == "open" && allowed(&principal, &front) {
        forms = forms.form(
            PageForm::post("assess", format!("{base}/assess"), ctx.t(M::Assess))
                .field(ctx.csrf_field())
                .field(
                    Field::new("select", "level", ctx.t(M::Level)).options(
                        ["low", "medium", "high"]
                            .map(|l| (l.to_string(), l.to_string()))
                            .to_vec(),
                    ),
                )
                .field(Field::new("text", "note", ctx.t(M::Note))),
        );
    }
    if row.status == "assessed" && allowed(&principal, &front) {
        forms = forms.form(
            PageForm::post("dispose", format!("{base}/dispose"), ctx.t(M::Dispose))
                .field(ctx.csrf_field())
                .field(
                    Field::new("select", "disposal", ctx.t(M::Dispose)).options(
                        ["no_action", "warning", "inspection", "release", "reject"]
                            .map(|l| (l.to_string(), l.to_string()))
                            .to_vec(),
                    ),
                )
                .field(Field::new("text", "note", ctx.t(M::Note))),
        );
    }
    if row.status == "disposed"
        && allowed(
            &principal,
            &[
                Department::Customs,
                Department::Inspection,
                Department::ZoneOffice,
            ],
        )
    {
        forms = forms.form(
            PageForm::post("review", format!("{base}/review"), ctx.t(M::Review))
                .field(ctx.csrf_field())
                .field(
                    Field::new("select", "confirmed", ctx.t(M::Review)).options(vec![
                        ("true".into(), ctx.t(M::Confirmed).into()),
                        ("false".into(), ctx.t(M::NotConfirmed).into()),
                    ]),
                )
                .field(Field::new("text", "note", ctx.t(M::Note))),
        );
    }
    if !forms.forms.is_empty() {
        sections.push(forms);
    }
    Ok(ctx.page(&format!("{} {id}", ctx.t(M::NavAlerts)), sections))
}

async fn alert_step(
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    // Who asks comes before what is asked: nobody outside the desks learns which steps exist.
    ctx.staff()?;
    let note = form_value(&form, "note").unwrap_or_default().to_string();
    let parse = |name: &str| -> Option<Value> {
        form_value(&form, name).map(|v| Value::String(v.to_string()))
    };
    let action = match step.as_str() {
        "assess" => parse("level")
            .and_then(|v| serde_json::from_value::<AlertLevel>(v).ok())
            .map(|level| Action::AssessAlert {
                id: id.clone(),
                level,
                note,
            }),
        "dispose" => parse("disposal")
            .and_then(|v| serde_json::from_value::<Disposal>(v).ok())
            .map(|disposal| Action::DisposeAlert {
                id: id.clone(),
                disposal,
                note,
            }),
        "review" => Some(Action::ReviewAlert {
            id: id.clone(),
            confirmed: form_value(&form, "confirmed") == Some("true"),
            note,
        }),
        _ => None,
    };
    let Some(action) = action else {
        return Err(ctx.not_found());
    };
    act(&ctx, &form, action, format!("/desk/alerts/{}", encode(&id))).await
}

async fn inspection(ctx: Ctx, Path(id): Path<String>) -> Result<Response, Response> {
    let principal = ctx.staff()?;
    let row = record_of(&ctx, "inspection", id.clone()).await?;
    let mut sections = record_sections(&ctx, &row);
    if row.status == "open" && allowed(&principal, &[Department::Customs, Department::Inspection]) {
        sections.push(
            Section::new("finding", ctx.t(M::Finding)).form(
                PageForm::post(
                    "finding-form",
                    format!("/desk/inspections/{}/finding", encode(&id)),
                    ctx.t(M::Submit),
                )
                .field(ctx.csrf_field())
                .field(
                    Field::new("select", "passed", ctx.t(M::Finding)).options(vec![
                        ("true".into(), ctx.t(M::Passed).into()),
                        ("false".into(), ctx.t(M::Failed).into()),
                    ]),
                )
                .field(Field::new("text", "reason", ctx.t(M::Reason))),
            ),
        );
    }
    Ok(ctx.page(&format!("{} {id}", ctx.t(M::NavInspections)), sections))
}

async fn finding(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let action = Action::Finding {
        task: id.clone(),
        passed: form_value(&form, "passed") == Some("true"),
        reason: form_value(&form, "reason").unwrap_or_default().to_string(),
    };
    act(
        &ctx,
        &form,
        action,
        format!("/desk/inspections/{}", encode(&id)),
    )
    .await
}

async fn credit(ctx: Ctx, Path(key): Path<String>) -> Result<Response, Response> {
    ctx.staff()?;
    let row = record_of(&ctx, "credit", key.clone()).await?;
    let v: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
    let mut sections = record_sections(&ctx, &row);
    if let Some(first) = sections.first_mut() {
        first
            .facts
            .insert(0, (ctx.t(M::Grade).to_string(), row.status.clone()));
        if let Some(code) = key.strip_prefix("E:") {
            first.links.push(super::page::Link::new(
                format!("/desk/enterprises/{}", encode(code)),
                ctx.t(M::NavEnterprises),
            ));
        }
    }
    let mut s = Section::new("explanation", ctx.t(M::Explanation));
    super::enterprise::explanation_into(&ctx, &v, &mut s);
    if s.table.is_some() || !s.notes.is_empty() {
        sections.push(s);
    }
    Ok(ctx.page(&format!("{} {}", ctx.t(M::NavCredit), key), sections))
}

async fn listing(ctx: Ctx, Path(id): Path<String>) -> Result<Response, Response> {
    ctx.staff()?;
    let row = record_of(&ctx, "listing", id.clone()).await?;
    let sections = record_sections(&ctx, &row);
    Ok(ctx.page(&format!("{} {id}", ctx.t(M::NavListings)), sections))
}
