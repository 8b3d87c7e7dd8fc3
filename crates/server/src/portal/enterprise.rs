//! Enterprise pages (login as an enterprise's staff): upload CEB files and see each result,
//! declarations with their statuses and receipts (every rejection explained from the error
//! catalogue), tax bills, and a CSV download of the enterprise's own data. Nothing of another
//! enterprise is reachable: another's declaration answers 404 exactly like a missing one.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::clearance::ErrorCode;
use serde_json::Value;
use store::{DeclarationRow, ReceiptRow, TaxBillRow};

use super::i18n::{self, Lang, M};
use super::page::{Cell, Field, Form as PageForm, Section, Table};
use super::{Ctx, encode};
use crate::api::{AppState, MAX_BODY, blocking, declare, is_party};
use crate::auth::Principal;
use crate::problem::Problem;

/// Most files in one upload, and the most bytes of all of them together.
pub const MAX_FILES: usize = 50;
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/my/upload",
            get(upload_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/my/declarations", get(declarations))
        .route("/my/declarations/{id}", get(declaration))
        .route("/my/tax-bills", get(tax_bills))
        .route("/my/credit", get(credit))
        .route(
            "/my/listings/{id}/{step}",
            axum::routing::post(listing_step),
        )
        .route("/my/export", get(export_page))
        .route("/my/export/{file}", get(export))
}

/// One catalogue entry found in a `[Code:…;Desc:…]` text, in words.
pub struct Explained {
    pub code: String,
    pub rule: String,
    pub text: String,
}

/// Every `Code:` of a receipt's return info (or a declaration's status info), explained from
/// the error catalogue in the viewer's language; unknown codes keep the receipt's own words.
pub fn explain(info: &str, lang: Lang) -> Vec<Explained> {
    let mut out = Vec::new();
    let mut rest = info;
    while let Some(i) = rest.find("Code:") {
        let after = &rest[i + 5..];
        let end = after.find([';', ']']).unwrap_or(after.len());
        let code = after[..end].trim();
        let desc = after[end..]
            .strip_prefix(";Desc:")
            .map(|d| &d[..d.find(']').unwrap_or(d.len())])
            .unwrap_or("");
        match ErrorCode::ALL.iter().find(|c| c.code() == code) {
            Some(c) => out.push(Explained {
                code: code.to_string(),
                rule: c.rule().to_string(),
                text: lang.pick(c.desc_zh(), c.desc_en()).to_string(),
            }),
            None if !code.is_empty() => out.push(Explained {
                code: code.to_string(),
                rule: String::new(),
                text: desc.to_string(),
            }),
            None => {}
        }
        rest = &after[end..];
    }
    out
}

/// The `returnInfo` of a receipt's JSON, wherever it sits.
pub fn return_info(json: &str) -> String {
    fn find(v: &Value) -> Option<String> {
        match v {
            Value::Object(map) => map
                .get("returnInfo")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| map.values().find_map(find)),
            Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| find(&v))
        .unwrap_or_default()
}

/// Style of a declaration status.
pub fn status_badge(status: i32) -> &'static str {
    match status {
        800 | 899 => "ok",
        100 => "bad",
        300 | 500 => "warn",
        _ => "",
    }
}

fn upload_form(ctx: &Ctx) -> PageForm {
    PageForm::post("upload", "/my/upload", ctx.t(M::Upload))
        .multipart()
        .field(ctx.csrf_field())
        .field(
            Field::new("file", "files", ctx.t(M::Files))
                .required()
                .multiple()
                .hint(ctx.pick(
                    "XML（UTF-8/GB18030/GBK）或JSON报文；一次最多50个文件。",
                    "XML (UTF-8/GB18030/GBK) or JSON messages; at most 50 files at a time.",
                )),
        )
}

async fn upload_page(ctx: Ctx) -> Result<Response, Response> {
    ctx.enterprise()?;
    let section = Section::new("upload-section", "")
        .note("info", ctx.t(M::UploadIntro))
        .form(upload_form(&ctx));
    Ok(ctx.page(ctx.t(M::UploadTitle), vec![section]))
}

/// Why a file was not accepted, in words: the problem's title and, for schema and format
/// errors, each issue (CEB900).
fn refusal_words(problem: &Problem, lang: Lang) -> String {
    let mut words = match problem.kind {
        "invalid-message" => lang
            .pick(
                "格式校验未通过（CEB900）：",
                "Format check failed (CEB900): ",
            )
            .to_string(),
        "sender-mismatch" => lang
            .pick(
                "报送企业与登录企业不一致：",
                "The sender is not your enterprise: ",
            )
            .to_string(),
        "not-a-declaration" => lang
            .pick("回执报文不能申报：", "Receipts cannot be declared: ")
            .to_string(),
        _ => String::new(),
    };
    words.push_str(&problem.title);
    if let Some(issues) = problem
        .extra
        .as_ref()
        .and_then(|e| e.get("issues"))
        .and_then(Value::as_array)
    {
        for issue in issues.iter().take(10) {
            let path = issue.get("path").and_then(Value::as_str).unwrap_or("");
            let detail = issue.get("detail").and_then(Value::as_str).unwrap_or("");
            words.push_str(&format!("；{path}: {detail}"));
        }
    }
    words
}

fn receipt_words(r: &ReceiptRow, lang: Lang) -> String {
    let info = return_info(&r.json);
    let explained = explain(&info, lang);
    if explained.is_empty() {
        return info;
    }
    explained
        .iter()
        .map(|e| format!("{} {}", e.code, e.text))
        .collect::<Vec<_>>()
        .join("；")
}

async fn upload(ctx: Ctx, mut multipart: Multipart) -> Result<Response, Response> {
    let code = ctx.enterprise()?;
    let mut csrf = None;
    let mut files: Vec<(String, Bytes)> = Vec::new();
    let mut too_many = false;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(ctx.bad_form()),
        };
        match field.name() {
            Some("csrf") => csrf = field.text().await.ok(),
            Some("files") => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(|_| ctx.bad_form())?;
                if name.is_empty() && bytes.is_empty() {
                    continue;
                }
                if files.len() >= MAX_FILES {
                    too_many = true;
                    continue;
                }
                files.push((name, bytes));
            }
            _ => {}
        }
    }
    if !ctx.csrf_ok(csrf.as_deref()) {
        return Err(ctx.bad_form());
    }
    let mut section = Section::new("upload-results", ctx.t(M::UploadResults));
    if files.is_empty() {
        section = section.note("error", ctx.t(M::NoFiles));
    }
    if too_many {
        section = section.note(
            "error",
            ctx.pick(
                "超过50个文件的部分未处理。",
                "Files beyond the 50th were not processed.",
            ),
        );
    }
    let mut table = Table {
        caption: ctx.t(M::UploadResults).to_string(),
        head: vec![
            ctx.t(M::File).into(),
            ctx.t(M::Result).into(),
            ctx.t(M::Receipts).into(),
        ],
        rows: Vec::new(),
    };
    for (name, bytes) in files {
        let is_json = name.to_ascii_lowercase().ends_with(".json");
        let answer = if bytes.len() > MAX_BODY {
            Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                ctx.pick("文件超过4 MiB", "the file is larger than 4 MiB"),
            ))
        } else {
            declare(&ctx.state, code.clone(), bytes, is_json).await
        };
        match answer {
            Ok(accepted) => {
                let receipts: Vec<String> = accepted
                    .receipts
                    .iter()
                    .filter(|r| r.recipient == code)
                    .map(|r| {
                        format!(
                            "{} {} {}",
                            r.message_type.trim_end_matches("Message"),
                            r.return_status,
                            receipt_words(r, ctx.lang)
                        )
                    })
                    .collect();
                let link = accepted
                    .receipts
                    .iter()
                    .find_map(|r| r.declaration_id.clone());
                let first = match link {
                    Some(id) => Cell::link(name, format!("/my/declarations/{id}")),
                    None => Cell::text(name),
                };
                table.rows.push(vec![
                    first,
                    Cell::text(ctx.t(M::Accepted)).badge("ok"),
                    Cell::text(receipts.join(" | ")),
                ]);
            }
            Err(problem) if problem.status == StatusCode::SERVICE_UNAVAILABLE => {
                return Err(ctx.failed(problem));
            }
            Err(problem) => table.rows.push(vec![
                Cell::text(name),
                Cell::text(ctx.t(M::Refused)).badge("bad"),
                Cell::text(refusal_words(&problem, ctx.lang)),
            ]),
        }
    }
    if !table.rows.is_empty() {
        section = section.table(table);
    }
    let form = Section::new("upload-again", ctx.t(M::UploadTitle)).form(upload_form(&ctx));
    Ok(ctx.page(ctx.t(M::UploadTitle), vec![section, form]))
}

/// A page of declarations of `party` (all when `None`), optionally only those in `status`: the
/// store pages by id; a status filter reads on until it has a page or the end.
pub async fn declaration_page(
    ctx: &Ctx,
    party: Option<String>,
    base: &str,
) -> Result<Section, Response> {
    const PAGE: usize = 50;
    let status: Option<i32> = ctx.param("status").and_then(|s| s.parse().ok());
    let mut after = ctx.param("after").map(str::to_string);
    let mut rows: Vec<DeclarationRow> = Vec::new();
    let mut more = false;
    for _ in 0..40 {
        let store = ctx.state.store.clone();
        let p = party.clone();
        let a = after.clone();
        let batch = blocking(move || store.declarations(p.as_deref(), a.as_deref(), 200))
            .await
            .map_err(|e| ctx.failed(e))?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id.clone());
        let full = batch.len() == 200;
        for row in batch {
            if status.is_none_or(|s| s == row.status) {
                if rows.len() == PAGE {
                    more = true;
                    break;
                }
                rows.push(row);
            }
        }
        if more || !full {
            break;
        }
    }
    let mut options = vec![(String::new(), ctx.t(M::AllStatuses).to_string())];
    options.extend(i18n::FILTER_STATUSES.iter().map(|s| {
        (
            s.to_string(),
            format!("{s} {}", i18n::status_name(*s, ctx.lang)),
        )
    }));
    let filter = PageForm::get("filter", base, ctx.t(M::Filter)).field(
        Field::new("select", "status", ctx.t(M::FilterStatus))
            .value(status.map(|s| s.to_string()).unwrap_or_default())
            .options(options),
    );
    let mut section = Section::new("declarations", "").form(filter);
    if rows.is_empty() {
        section = section.note("info", ctx.t(M::NoneFound));
    }
    let table = Table {
        caption: ctx.t(M::Declarations).to_string(),
        head: vec![
            ctx.t(M::OrderNo).into(),
            ctx.t(M::InventoryNo).into(),
            ctx.t(M::Status).into(),
            ctx.t(M::DutiablePrice).into(),
            ctx.t(M::Tax).into(),
            ctx.t(M::Updated).into(),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::link(r.order_no.clone(), format!("{base}/{}", r.id)),
                    Cell::text(r.invt_no.clone().unwrap_or_default()),
                    Cell::text(format!(
                        "{} {}",
                        r.status,
                        i18n::status_name(r.status, ctx.lang)
                    ))
                    .badge(status_badge(r.status)),
                    Cell::num(i18n::fen(r.value_minor)),
                    Cell::num(i18n::fen(r.tax_minor)),
                    Cell::text(i18n::datetime(r.updated_at_ms, ctx.lang)),
                ]
            })
            .collect(),
    };
    if !rows.is_empty() {
        section = section.table(table);
    }
    let status_q = status.map(|s| format!("&status={s}")).unwrap_or_default();
    if more && let Some(last) = rows.last() {
        section = section.link(
            format!("{base}?after={}{status_q}", encode(&last.id)),
            ctx.t(M::NextPage),
        );
    }
    if ctx.param("after").is_some() {
        section = section.link(
            format!("{base}?{}", status_q.trim_start_matches('&')),
            ctx.t(M::FirstPage),
        );
    }
    Ok(section)
}

async fn declarations(ctx: Ctx) -> Result<Response, Response> {
    let code = ctx.enterprise()?;
    let mut section = declaration_page(&ctx, Some(code), "/my/declarations").await?;
    section.notes.insert(
        0,
        super::page::Note {
            kind: "info",
            text: ctx.t(M::DeclarationsIntro).to_string(),
        },
    );
    Ok(ctx.page(ctx.t(M::Declarations), vec![section]))
}

/// The sections of one declaration: its facts, why it was rejected (in words from the error
/// catalogue), and the receipts the viewer may see.
pub fn declaration_sections(
    ctx: &Ctx,
    row: &DeclarationRow,
    receipts: &[ReceiptRow],
) -> Vec<Section> {
    let lang = ctx.lang;
    let mut facts = Section::new("declaration-facts", "")
        .fact(
            ctx.t(M::Status),
            format!("{} {}", row.status, i18n::status_name(row.status, lang)),
        )
        .fact(ctx.t(M::OrderNo), row.order_no.clone())
        .fact(
            ctx.t(M::InventoryNo),
            row.invt_no.clone().unwrap_or_default(),
        )
        .fact(ctx.t(M::PreNo), row.pre_no.clone().unwrap_or_default())
        .fact(ctx.t(M::DutiablePrice), i18n::fen(row.value_minor))
        .fact(ctx.t(M::Tax), i18n::fen(row.tax_minor))
        .fact(ctx.t(M::Documents), row.documents.replace(',', ", "))
        .fact(ctx.t(M::Declared), i18n::datetime(row.created_at_ms, lang))
        .fact(
            ctx.t(M::LastUpdate),
            i18n::datetime(row.updated_at_ms, lang),
        );
    if let Some(at) = row.released_at_ms {
        facts = facts.fact(ctx.t(M::Released), i18n::datetime(at, lang));
    }
    let mut sections = vec![facts];
    let parties = [
        (
            lang.pick("电商平台", "Platform"),
            Some(row.ebp_code.clone()),
        ),
        (lang.pick("电商企业", "Seller"), Some(row.ebc_code.clone())),
        (
            lang.pick("申报企业", "Declaring agent"),
            row.agent_code.clone(),
        ),
        (
            lang.pick("物流企业", "Logistics firm"),
            row.logistics_code.clone(),
        ),
        (
            lang.pick("支付企业", "Payment institution"),
            row.pay_code.clone(),
        ),
    ];
    let mut party_section = Section::new("parties", ctx.t(M::Parties));
    for (label, code) in parties {
        if let Some(code) = code {
            party_section = party_section.fact(label, code);
        }
    }
    sections.push(party_section);
    if row.status == 100 || row.status < 0 {
        let explained = explain(&row.status_info, lang);
        let mut why = Section::new("rejection", ctx.t(M::Rejection));
        if explained.is_empty() {
            why = why.note("error", row.status_info.clone());
        }
        for e in &explained {
            why = why.note(
                "error",
                format!(
                    "{} {} — {}",
                    ctx.t(M::Code),
                    e.code,
                    if e.rule.is_empty() {
                        e.text.clone()
                    } else {
                        format!("{} ({} {})", e.text, ctx.t(M::RuleLabel), e.rule)
                    }
                ),
            );
        }
        sections.push(why);
    }
    let table = Table {
        caption: ctx.t(M::Receipts).to_string(),
        head: vec![
            ctx.t(M::ReceiptType).into(),
            ctx.t(M::ReturnStatus).into(),
            ctx.t(M::ReturnInfo).into(),
            ctx.t(M::Explanation).into(),
            ctx.t(M::Recipient).into(),
            ctx.t(M::Time).into(),
        ],
        rows: receipts
            .iter()
            .map(|r| {
                let info = return_info(&r.json);
                let explained: Vec<String> = explain(&info, lang)
                    .into_iter()
                    .map(|e| format!("{} {}", e.code, e.text))
                    .collect();
                vec![
                    Cell::text(r.message_type.clone()),
                    Cell::text(r.return_status.clone()),
                    Cell::text(info),
                    Cell::text(explained.join("；")),
                    Cell::text(r.recipient.clone()),
                    Cell::text(i18n::datetime(r.created_at_ms, lang)),
                ]
            })
            .collect(),
    };
    let mut receipts_section = Section::new("receipts", ctx.t(M::Receipts));
    if receipts.is_empty() {
        receipts_section = receipts_section.note("info", ctx.t(M::NoneFound));
    } else {
        receipts_section = receipts_section.table(table);
    }
    sections.push(receipts_section);
    sections
}

/// A declaration and the receipts `principal` may see, or `None` when it does not exist or the
/// principal is not a party (the same answer for both).
pub async fn load_declaration(
    ctx: &Ctx,
    principal: &Principal,
    id: String,
) -> Result<Option<(DeclarationRow, Vec<ReceiptRow>)>, Response> {
    let store = ctx.state.store.clone();
    let lookup = id.clone();
    let row = blocking(move || store.declaration(&lookup))
        .await
        .map_err(|e| ctx.failed(e))?;
    let Some(row) = row.filter(|r| is_party(principal, r)) else {
        return Ok(None);
    };
    let store = ctx.state.store.clone();
    let receipts = blocking(move || store.receipts_of(&id))
        .await
        .map_err(|e| ctx.failed(e))?;
    let receipts = receipts
        .into_iter()
        .filter(|r| principal.party().is_none_or(|p| p == r.recipient))
        .collect();
    Ok(Some((row, receipts)))
}

async fn declaration(ctx: Ctx, Path(id): Path<String>) -> Result<Response, Response> {
    let code = ctx.enterprise()?;
    let principal = Principal::Enterprise(code);
    let Some((row, receipts)) = load_declaration(&ctx, &principal, id).await? else {
        return Err(ctx.not_found());
    };
    let sections = declaration_sections(&ctx, &row, &receipts);
    let title = format!("{} {}", ctx.t(M::Declaration), row.order_no);
    Ok(ctx.page(&title, sections))
}

/// A table of tax bills.
pub fn tax_bill_table(ctx: &Ctx, rows: &[TaxBillRow]) -> Table {
    let today = domain::time::Timestamp(ingest::clock::now_ms()).beijing_date();
    Table {
        caption: ctx.t(M::TaxBillsTitle).to_string(),
        head: vec![
            ctx.t(M::InventoryNo).into(),
            ctx.t(M::TaxNo).into(),
            ctx.t(M::CustomsTax).into(),
            ctx.t(M::Vat).into(),
            ctx.t(M::ConsumptionTax).into(),
            ctx.t(M::Total).into(),
            ctx.t(M::LevyState).into(),
            ctx.t(M::DueWindow).into(),
        ],
        rows: rows
            .iter()
            .map(|t| {
                let window = match (
                    domain::time::CivilDate::parse_yyyymmdd(&t.due_from),
                    domain::time::CivilDate::parse_yyyymmdd(&t.due_until),
                ) {
                    (Some(a), Some(b)) => {
                        format!("{} – {}", i18n::date(a, ctx.lang), i18n::date(b, ctx.lang))
                    }
                    _ => String::new(),
                };
                let state = crate::view::levy_state(t, today);
                vec![
                    Cell::text(t.invt_no.clone()),
                    Cell::text(t.tax_no.clone()),
                    Cell::num(i18n::fen(t.customs_tax_minor)),
                    Cell::num(i18n::fen(t.vat_minor)),
                    Cell::num(i18n::fen(t.consumption_tax_minor)),
                    Cell::num(i18n::fen(
                        t.customs_tax_minor + t.vat_minor + t.consumption_tax_minor,
                    )),
                    Cell::text(i18n::levy_name(&state, ctx.lang)).badge(match state.as_str() {
                        "overdue" => "bad",
                        "due" => "warn",
                        "paid" => "ok",
                        _ => "",
                    }),
                    Cell::text(window),
                ]
            })
            .collect(),
    }
}

async fn tax_bills(ctx: Ctx) -> Result<Response, Response> {
    let code = ctx.enterprise()?;
    let store = ctx.state.store.clone();
    let rows = blocking(move || store.tax_bills(Some(&code), 500))
        .await
        .map_err(|e| ctx.failed(e))?;
    let mut section = Section::new("tax-bills", "");
    if rows.is_empty() {
        section = section.note("info", ctx.t(M::NoneFound));
    } else {
        section = section.table(tax_bill_table(&ctx, &rows));
    }
    Ok(ctx.page(ctx.t(M::TaxBillsTitle), vec![section]))
}

/// A credit record's explanation (`domain::credit::Explanation`): the factors as a table, the
/// dishonesty criteria and notes as paragraphs.
pub fn explanation_into(ctx: &Ctx, record: &Value, section: &mut Section) {
    let Some(expl) = record.get("explanation") else {
        return;
    };
    let texts = |k: &str| -> Vec<String> {
        expl.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    for o in texts("overrides") {
        section.notes.push(super::page::Note {
            kind: "error",
            text: o,
        });
    }
    for n in texts("notes") {
        section.notes.push(super::page::Note {
            kind: "info",
            text: n,
        });
    }
    if let Some(factors) = expl.get("factors").and_then(Value::as_array) {
        let text = |f: &Value, k: &str| match f.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        section.table = Some(Table {
            caption: ctx.t(M::Explanation).to_string(),
            head: vec![
                ctx.pick("因素", "Factor").into(),
                ctx.pick("权重", "Weight").into(),
                ctx.pick("得分（0–100）", "Points (0–100)").into(),
                ctx.pick("贡献", "Contribution").into(),
                ctx.pick("依据", "Facts").into(),
            ],
            rows: factors
                .iter()
                .map(|f| {
                    let facts: Vec<String> = f
                        .get("facts")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    vec![
                        Cell::text(ctx.pick(&text(f, "name_zh"), &text(f, "name")).to_string()),
                        Cell::num(text(f, "weight")),
                        Cell::num(text(f, "points")),
                        Cell::num(text(f, "contribution")),
                        Cell::text(facts.join("；")),
                    ]
                })
                .collect(),
        });
    }
}

/// The enterprise's own credit record (grade, score, why) and its own listings on the credit
/// negative list; nobody else's.
async fn credit(ctx: Ctx) -> Result<Response, Response> {
    let code = ctx.enterprise()?;
    let store = ctx.state.store.clone();
    let party = code.clone();
    let (record, listings) = blocking(move || {
        let record = store.record("credit", &format!("E:{party}"))?;
        let listings = store.records(&store::RecordQuery {
            party: Some(&party),
            ..store::RecordQuery::new("listing", 100)
        })?;
        Ok((record, listings))
    })
    .await
    .map_err(|e| ctx.failed(e))?;
    let mut section = Section::new("credit", "");
    match &record {
        None => section = section.note("info", ctx.t(M::NoneFound)),
        Some(r) => {
            let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            section = section
                .fact(ctx.t(M::Grade), r.status.clone())
                .fact(
                    ctx.t(M::Score),
                    v.get("score").map(|s| s.to_string()).unwrap_or_default(),
                )
                .fact(ctx.t(M::Updated), i18n::datetime(r.updated_at_ms, ctx.lang));
            explanation_into(&ctx, &v, &mut section);
        }
    }
    let mut sections = vec![section];
    if !listings.is_empty() {
        let table = Table {
            caption: ctx.t(M::NavListings).to_string(),
            head: vec![
                ctx.t(M::Id).into(),
                ctx.t(M::Category).into(),
                ctx.t(M::Severity).into(),
                ctx.t(M::Status).into(),
                ctx.t(M::Updated).into(),
            ],
            rows: listings
                .iter()
                .map(|l| {
                    let v: Value = serde_json::from_str(&l.body).unwrap_or(Value::Null);
                    let field =
                        |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    vec![
                        Cell::text(l.key.clone()),
                        Cell::text(field("category")),
                        Cell::text(field("severity")),
                        Cell::text(l.status.clone()),
                        Cell::text(i18n::datetime(l.updated_at_ms, ctx.lang)),
                    ]
                })
                .collect(),
        };
        let mut section = Section::new("listings", ctx.t(M::NavListings)).table(table);
        if ctx.param("done").is_some() {
            section = section.note("ok", ctx.t(M::ActionDone));
        }
        // An active listing may be appealed (within its window) or, later, repaired: the engine
        // decides which step the listing allows and answers why not otherwise.
        for l in listings.iter().filter(|l| l.status == "active") {
            let base = format!("/my/listings/{}", encode(&l.key));
            section = section
                .form(
                    PageForm::post(
                        &format!("appeal-{}", l.key),
                        format!("{base}/appeal"),
                        ctx.pick("提出申诉", "Appeal"),
                    )
                    .title(format!("{} {}", ctx.pick("申诉", "Appeal"), l.key))
                    .field(ctx.csrf_field())
                    .field(Field::new("textarea", "text", ctx.t(M::Reason)).required()),
                )
                .form(
                    PageForm::post(
                        &format!("repair-{}", l.key),
                        format!("{base}/repair"),
                        ctx.pick("申请信用修复", "Request credit repair"),
                    )
                    .title(format!(
                        "{} {}",
                        ctx.pick("信用修复", "Credit repair"),
                        l.key
                    ))
                    .field(ctx.csrf_field())
                    .field(Field::new("textarea", "text", ctx.t(M::Evidence)).required()),
                );
        }
        sections.push(section);
    }
    Ok(ctx.page(ctx.t(M::MyCredit), sections))
}

/// An enterprise appeals its own listing or asks for its repair (a journaled supervision action;
/// the engine checks that the listing is the enterprise's and that the step is allowed now).
async fn listing_step(
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    axum::extract::Form(form): axum::extract::Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let code = ctx.enterprise()?;
    if !ctx.csrf_ok(super::form_value(&form, "csrf")) {
        return Err(ctx.bad_form());
    }
    let text = super::form_value(&form, "text")
        .unwrap_or_default()
        .to_string();
    let step = match step.as_str() {
        "appeal" => domain::negative::ListingAction::Appeal { reason: text },
        "repair" => domain::negative::ListingAction::RequestRepair { evidence: text },
        _ => return Err(ctx.not_found()),
    };
    let action = domain::clearance::Action::Listing { id, step };
    match crate::oversight::act(&ctx.state, &Principal::Enterprise(code), action).await {
        Ok(_) => Ok(ctx.redirect("/my/credit?done=1")),
        Err(p) if p.status == StatusCode::NOT_FOUND || p.status == StatusCode::FORBIDDEN => {
            Err(ctx.not_found())
        }
        Err(p) if p.status.is_client_error() => {
            let section = Section::new("refused", "")
                .note(
                    "error",
                    format!("{}{}", ctx.t(M::ActionRefused), p.detail.unwrap_or(p.title)),
                )
                .link("/my/credit", ctx.t(M::MyCredit));
            Ok(ctx.render(StatusCode::CONFLICT, ctx.t(M::ActionRefused), &[section]))
        }
        Err(p) => Err(ctx.failed(p)),
    }
}

async fn export_page(ctx: Ctx) -> Result<Response, Response> {
    ctx.enterprise()?;
    let section = Section::new("export", "")
        .note("info", ctx.t(M::ExportIntro))
        .link("/my/export/declarations.csv", ctx.t(M::ExportDeclarations))
        .link("/my/export/receipts.csv", ctx.t(M::ExportReceipts))
        .link("/my/export/tax-bills.csv", ctx.t(M::ExportTaxBills));
    Ok(ctx.page(ctx.t(M::ExportTitle), vec![section]))
}

/// One CSV field (RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so a
/// spreadsheet never runs it as a formula).
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv_line(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

fn iso(ms: i64) -> String {
    let t = domain::time::Timestamp(ms).ceb_time14();
    format!(
        "{}-{}-{}T{}:{}:{}+08:00",
        &t[0..4],
        &t[4..6],
        &t[6..8],
        &t[8..10],
        &t[10..12],
        &t[12..14]
    )
}

fn money_plain(minor: i64) -> String {
    crate::view::money(domain::money::from_fen(minor))
}

/// The enterprise's own data as CSV: declarations in which it is a party, the receipts
/// addressed to it, its tax bills. Amounts in yuan with two decimals, times ISO 8601 Beijing.
async fn export(ctx: Ctx, Path(file): Path<String>) -> Result<Response, Response> {
    let code = ctx.enterprise()?;
    let mut out = String::from("\u{feff}");
    match file.as_str() {
        "declarations.csv" => {
            csv_line(
                &mut out,
                &[
                    "id",
                    "ebp_code",
                    "ebc_code",
                    "order_no",
                    "agent_code",
                    "logistics_code",
                    "logistics_no",
                    "pay_code",
                    "pre_no",
                    "invt_no",
                    "documents",
                    "status",
                    "status_info",
                    "dutiable_price",
                    "tax",
                    "created_at",
                    "updated_at",
                    "released_at",
                ]
                .map(String::from),
            );
            let mut after: Option<String> = None;
            loop {
                let store = ctx.state.store.clone();
                let party = code.clone();
                let a = after.clone();
                let rows = blocking(move || store.declarations(Some(&party), a.as_deref(), 1000))
                    .await
                    .map_err(|e| ctx.failed(e))?;
                let Some(last) = rows.last() else { break };
                after = Some(last.id.clone());
                for r in &rows {
                    csv_line(
                        &mut out,
                        &[
                            r.id.clone(),
                            r.ebp_code.clone(),
                            r.ebc_code.clone(),
                            r.order_no.clone(),
                            r.agent_code.clone().unwrap_or_default(),
                            r.logistics_code.clone().unwrap_or_default(),
                            r.logistics_no.clone().unwrap_or_default(),
                            r.pay_code.clone().unwrap_or_default(),
                            r.pre_no.clone().unwrap_or_default(),
                            r.invt_no.clone().unwrap_or_default(),
                            r.documents.clone(),
                            r.status.to_string(),
                            r.status_info.clone(),
                            money_plain(r.value_minor),
                            money_plain(r.tax_minor),
                            iso(r.created_at_ms),
                            iso(r.updated_at_ms),
                            r.released_at_ms.map(iso).unwrap_or_default(),
                        ],
                    );
                }
                if rows.len() < 1000 {
                    break;
                }
            }
        }
        "receipts.csv" => {
            csv_line(
                &mut out,
                &[
                    "seq",
                    "message_type",
                    "declaration_id",
                    "business_key",
                    "return_status",
                    "return_info",
                    "created_at",
                ]
                .map(String::from),
            );
            let mut after = 0;
            loop {
                let store = ctx.state.store.clone();
                let party = code.clone();
                let rows = blocking(move || store.receipts_after(Some(&party), after, 1000))
                    .await
                    .map_err(|e| ctx.failed(e))?;
                let Some(last) = rows.last() else { break };
                after = last.seq;
                for r in &rows {
                    csv_line(
                        &mut out,
                        &[
                            r.seq.to_string(),
                            r.message_type.clone(),
                            r.declaration_id.clone().unwrap_or_default(),
                            r.business_key.clone(),
                            r.return_status.clone(),
                            return_info(&r.json),
                            iso(r.created_at_ms),
                        ],
                    );
                }
                if rows.len() < 1000 {
                    break;
                }
            }
        }
        "tax-bills.csv" => {
            csv_line(
                &mut out,
                &[
                    "invt_no",
                    "tax_no",
                    "declaration_id",
                    "ebc_code",
                    "agent_code",
                    "customs_tax",
                    "vat",
                    "consumption_tax",
                    "status",
                    "levy_state",
                    "released_at",
                    "due_from",
                    "due_until",
                ]
                .map(String::from),
            );
            let store = ctx.state.store.clone();
            let party = code.clone();
            let rows = blocking(move || store.tax_bills(Some(&party), 100_000))
                .await
                .map_err(|e| ctx.failed(e))?;
            let today = domain::time::Timestamp(ingest::clock::now_ms()).beijing_date();
            for t in &rows {
                csv_line(
                    &mut out,
                    &[
                        t.invt_no.clone(),
                        t.tax_no.clone(),
                        t.declaration_id.clone(),
                        t.ebc_code.clone(),
                        t.agent_code.clone(),
                        money_plain(t.customs_tax_minor),
                        money_plain(t.vat_minor),
                        money_plain(t.consumption_tax_minor),
                        t.status.to_string(),
                        crate::view::levy_state(t, today),
                        iso(t.released_at_ms),
                        t.due_from.clone(),
                        t.due_until.clone(),
                    ],
                );
            }
        }
        _ => return Err(ctx.not_found()),
    }
    let mut response = out.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-{}\"",
        code.replace(|c: char| !c.is_ascii_alphanumeric(), ""),
        file
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    ctx.finish(&mut response);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_return_info_are_explained_from_the_catalogue() {
        let e = explain("[Code:1313;Desc:订购人购买超过年度限额]", Lang::En);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].code, "1313");
        assert_eq!(e[0].rule, "M10");
        assert!(e[0].text.contains("annual limit"));
        let e = explain("退单[Code:9104;Desc:x][Code:77;Desc:own words]", Lang::Zh);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].text, "订单实际支付金额与支付单支付金额不一致");
        assert_eq!(e[1].text, "own words");
        assert!(explain("新增申报成功", Lang::Zh).is_empty());
        assert!(explain("Code:", Lang::Zh).is_empty());
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-12.50"), "-12.50");
        assert_eq!(
            return_info(r#"{"a":{"returnInfo":"ok[Code:2600;Desc:放行]"}}"#),
            "ok[Code:2600;Desc:放行]"
        );
    }
}
