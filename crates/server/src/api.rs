//! The HTTP API (`/api/v1`). Every call is authenticated; an enterprise sees only declarations,
//! receipts and tax bills in which it is a party. Errors are problem documents (see `problem.rs`);
//! a declaration that fails the format check is answered with its CEB900 receipt inside the problem.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{CredentialRow, DeclarationRow, EnterpriseRow, ReceiptRow, Store, TaxBillRow};

use crate::app::now_ms;
use crate::audit::{self, Source};
use crate::auth::{self, Principal};
use crate::intake::{self, Intake};
use crate::pipeline::{Ingest, Job};
use crate::problem::Problem;
use crate::view;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub ingest: Ingest,
    pub limits: Arc<ceb::Limits>,
    pub buyer_secret: Arc<Vec<u8>>,
    /// The settings in force (updated when an administrator changes them).
    pub settings: Arc<std::sync::RwLock<domain::settings::Settings>>,
    /// The web portal's configuration and look-up limits (`portal/`).
    pub portal: Arc<crate::portal::Portal>,
    /// The certificates on file, by enterprise: what intake checks signatures against.
    pub certificates: Arc<crate::signatures::Certificates>,
}

impl AppState {
    /// What intake checks a message's signature with, under the settings in force.
    pub fn signature_gate(&self) -> crate::signatures::Gate {
        let policy = match self.settings.read() {
            Ok(s) => s.signatures,
            Err(poisoned) => poisoned.into_inner().signatures,
        };
        crate::signatures::Gate::new(policy, self.certificates.clone())
    }
}

/// Largest request body accepted (a CEB message may carry 100 nodes).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/openapi.json", get(openapi))
        .route("/api/v1/messages", post(post_message))
        .route("/api/v1/receipts", get(list_receipts))
        .route("/api/v1/declarations", get(list_declarations))
        .route("/api/v1/declarations/{id}", get(get_declaration))
        .route("/api/v1/quota", post(query_quota))
        .route("/api/v1/tax-bills", get(list_tax_bills))
        .route(
            "/api/v1/enterprises",
            get(list_enterprises).post(file_enterprises),
        )
        .route(
            "/api/v1/enterprises/{code}/credentials",
            get(list_credentials).post(issue_credential),
        )
        .route("/api/v1/credentials/{key_id}", delete(revoke_credential))
        .route(
            "/api/v1/credentials/{key_id}/rotate",
            post(rotate_credential),
        )
        .route("/api/v1/tariff", post(load_tariff))
        .route("/api/v1/settings", get(get_settings).put(put_settings))
        .merge(crate::oversight::routes())
        .merge(crate::entrustments::routes())
        .merge(crate::statistics::routes())
        .merge(crate::certificates::routes())
        .merge(crate::portal::routes())
        .merge(crate::audit::routes())
        .merge(crate::personal::routes())
        .fallback(crate::portal::fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(crate::audit::remember_source))
        .with_state(state)
}

/// Run a blocking store call off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, store::StoreError> + Send + 'static,
) -> Result<T, Problem> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(Problem::from),
        Err(e) => Err(Problem::unavailable(&e)),
    }
}

/// Who is calling, for every route but the audit log's: the auditor is refused here, so it
/// reads the audit log and nothing else (docs/security.md).
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Principal, Problem> {
    match authenticate_credential(state, headers).await?.0 {
        Principal::Auditor => {
            Err(Problem::forbidden().detail("the auditor's credential reads the audit log only"))
        }
        principal => Ok(principal),
    }
}

/// The caller and the credential it used. A revoked or expired credential is refused at once
/// (every call looks it up: revocation has immediate effect).
pub(crate) async fn authenticate_credential(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Principal, CredentialRow), Problem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::bearer)
        .ok_or_else(Problem::unauthorized)?;
    let hash = auth::hash_token(token);
    let store = state.store.clone();
    let credential = blocking(move || store.credential_by_hash(&hash)).await?;
    match credential {
        Some(c) if c.live_at(now_ms()) => Ok((Principal::from_subject(&c.subject), c)),
        _ => Err(Problem::unauthorized()),
    }
}

async fn admin(state: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    match authenticate(state, headers).await? {
        Principal::Admin => Ok(()),
        _ => Err(Problem::forbidden()),
    }
}

/// Up, and able to commit: a writer whose last commit failed refuses every message, so health
/// answers 503 too until a commit succeeds again.
async fn health(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    if state.ingest.commit_failure().is_some() {
        // Not `Problem::unavailable`: that logs an error, and health is polled.
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The store is unavailable; nothing was accepted. Retry later.",
        )
        .detail("the writer's last commit failed; messages are refused until one succeeds"));
    }
    let store = state.store.clone();
    let positions = blocking(move || store.positions()).await?;
    Ok(Json(json!({
        "status": "ok",
        "backend": state.store.backend(),
        "journal": positions.journal,
        "applied": positions.applied,
        "receipts": positions.receipt,
    })))
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        crate::openapi::document(),
    )
        .into_response()
}

/// Hand a job to the pipeline and wait until it is durable.
pub(crate) async fn submit(
    state: &AppState,
    job: Job,
) -> Result<crate::pipeline::Accepted, Problem> {
    let rx = state.ingest.submit(job).map_err(|e| match e {
        crate::pipeline::PipelineError::Refused(why) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-text", why)
        }
        e => Problem::unavailable(&e),
    })?;
    rx.await
        .map_err(|e| Problem::unavailable(&e))?
        .map_err(|e| Problem::unavailable(&e))
}

/// Parse, check and journal one declaration message from `sender` (an authenticated enterprise),
/// and wait until it is durable: the path of `POST /api/v1/messages` and of the portal's upload.
pub(crate) async fn declare(
    state: &AppState,
    sender: String,
    body: Bytes,
    is_json: bool,
) -> Result<crate::pipeline::Accepted, Problem> {
    let received_at_ms = now_ms();
    let limits = state.limits.clone();
    let sender_for_parse = sender.clone();
    let gate = state.signature_gate();
    let prepared = tokio::task::spawn_blocking(move || {
        intake::prepare(
            &body,
            is_json,
            &limits,
            Some(&sender_for_parse),
            received_at_ms,
            &gate,
        )
    })
    .await
    .map_err(|e| Problem::unavailable(&e))??;
    let job = Job::message(prepared, sender, received_at_ms);
    submit(state, job).await
}

/// `POST /api/v1/messages`: one CEB declaration message (plain or DXP-wrapped XML, or its JSON
/// equivalent). Answers once the message is durable, with every receipt it caused.
async fn post_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let Principal::Enterprise(sender) = principal else {
        return Err(Problem::forbidden().detail("only filed enterprises declare messages"));
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let accepted = declare(&state, sender, body, is_json).await?;
    let receipts: Vec<Value> = accepted.receipts.iter().map(view::receipt_json).collect();
    Ok((
        StatusCode::OK,
        Json(json!({ "seq": accepted.seq, "receipts": receipts })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct Page {
    after: Option<String>,
    limit: Option<usize>,
}

fn limit_of(page: &Page) -> usize {
    page.limit.unwrap_or(100).clamp(1, 1000)
}

fn wants_xml(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("xml"))
}

/// `GET /api/v1/receipts?after=N`: the caller's receipts after cursor N, oldest first.
async fn list_receipts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(page): Query<Page>,
) -> Result<Response, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let after = match page.after.as_deref() {
        None | Some("") => 0,
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| Problem::bad_request("bad-cursor", "after must be a receipt number"))?,
    };
    let limit = limit_of(&page);
    let store = state.store.clone();
    let party = principal.party().map(str::to_string);
    let rows: Vec<ReceiptRow> =
        blocking(move || store.receipts_after(party.as_deref(), after, limit)).await?;
    let next = rows.last().map_or(after, |r| r.seq);
    if wants_xml(&headers) {
        let mut xml =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Receipts next=\"{next}\">\n");
        for row in &rows {
            xml.push_str(strip_declaration(&row.xml));
            xml.push('\n');
        }
        xml.push_str("</Receipts>\n");
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            )],
            xml,
        )
            .into_response());
    }
    let receipts: Vec<Value> = rows.iter().map(view::receipt_json).collect();
    Ok(Json(json!({ "next": next, "receipts": receipts })).into_response())
}

fn strip_declaration(xml: &str) -> &str {
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest.find("?>").map_or(xml, |i| rest[i + 2..].trim_start()),
        None => xml,
    }
}

pub(crate) fn is_party(principal: &Principal, row: &DeclarationRow) -> bool {
    match principal.party() {
        None => true,
        Some(code) => [
            Some(row.ebp_code.as_str()),
            Some(row.ebc_code.as_str()),
            row.agent_code.as_deref(),
            row.logistics_code.as_deref(),
            row.pay_code.as_deref(),
        ]
        .contains(&Some(code)),
    }
}

async fn list_declarations(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(page): Query<Page>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let limit = limit_of(&page);
    let store = state.store.clone();
    let party = principal.party().map(str::to_string);
    let after = page.after.clone();
    let rows =
        blocking(move || store.declarations(party.as_deref(), after.as_deref(), limit)).await?;
    let next = rows.last().map(|r| r.id.clone());
    let items: Vec<Value> = rows.iter().map(view::declaration_json).collect();
    Ok(Json(json!({ "next": next, "declarations": items })))
}

async fn get_declaration(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let store = state.store.clone();
    let lookup = id.clone();
    let row = blocking(move || store.declaration(&lookup)).await?;
    // Not a party: answer exactly as for a declaration that does not exist.
    let row = row
        .filter(|r| is_party(&principal, r))
        .ok_or_else(|| Problem::not_found("declaration"))?;
    let store = state.store.clone();
    let receipts = blocking(move || store.receipts_of(&id)).await?;
    let receipts: Vec<Value> = receipts
        .iter()
        .filter(|r| principal.party().is_none_or(|p| p == r.recipient))
        .map(view::receipt_json)
        .collect();
    let mut body = view::declaration_json(&row);
    if let Some(map) = body.as_object_mut() {
        map.insert("receipts".into(), Value::Array(receipts));
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QuotaQuery {
    name: String,
    id_number: String,
    year: Option<i32>,
}

/// A buyer's annual quota: the year, the limit, used and remaining.
pub(crate) struct QuotaView {
    pub year: i32,
    pub limit: rust_decimal::Decimal,
    pub used: rust_decimal::Decimal,
    pub remaining: rust_decimal::Decimal,
}

/// Look up a buyer's quota by name and ID number (the API's quota query and the portal's
/// self-query). Neither is kept or logged: they only make the keyed hash the quota is filed under.
pub(crate) async fn quota_of(
    state: &AppState,
    name: &str,
    id_number: &str,
    year: Option<i32>,
) -> Result<QuotaView, Problem> {
    if domain::personal::IdNumber::parse(id_number).is_err() {
        return Err(Problem::bad_request(
            "bad-id-number",
            "idNumber is not a valid 18-character resident ID number",
        ));
    }
    let year = year.unwrap_or_else(|| domain::time::Timestamp(now_ms()).beijing_date().year);
    let key = domain::personal::buyer_key(&state.buyer_secret, name, id_number);
    let store = state.store.clone();
    let key_text = key.0.clone();
    let row = blocking(move || store.quota(&key_text, year)).await?;
    let used = domain::money::from_fen(row.map_or(0, |r| r.used_minor));
    let limit = state
        .settings
        .read()
        .map(|s| s.annual_limit)
        .unwrap_or_else(|poisoned| poisoned.into_inner().annual_limit);
    let remaining = (limit - used).max(rust_decimal::Decimal::ZERO);
    Ok(QuotaView {
        year,
        limit,
        used,
        remaining,
    })
}

/// `POST /api/v1/quota`: a buyer's used and remaining annual quota. Only the amounts come back;
/// the name and ID number are neither echoed nor stored.
async fn query_quota(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    authenticate(&state, &headers).await?;
    let query: QuotaQuery = crate::problem::from_json(&body).map_err(|e| {
        Problem::bad_request("bad-json", "expected {\"name\", \"idNumber\", \"year\"?}").detail(e)
    })?;
    let quota = quota_of(&state, &query.name, &query.id_number, query.year).await?;
    let (year, limit, used, remaining) = (quota.year, quota.limit, quota.used, quota.remaining);
    Ok(Json(json!({
        "year": year,
        "limit": view::money(limit),
        "used": view::money(used),
        "remaining": view::money(remaining),
    })))
}

async fn list_tax_bills(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(page): Query<Page>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let limit = limit_of(&page);
    let store = state.store.clone();
    let party = principal.party().map(str::to_string);
    let rows: Vec<TaxBillRow> = blocking(move || store.tax_bills(party.as_deref(), limit)).await?;
    let today = domain::time::Timestamp(now_ms()).beijing_date();
    let items: Vec<Value> = rows.iter().map(|r| view::tax_bill_json(r, today)).collect();
    Ok(Json(json!({ "taxBills": items })))
}

async fn list_enterprises(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    if principal.party().is_some() {
        return Err(Problem::forbidden());
    }
    let store = state.store.clone();
    let rows: Vec<EnterpriseRow> = blocking(move || store.enterprises()).await?;
    Ok(Json(
        json!({ "enterprises": rows.iter().map(view::enterprise_json).collect::<Vec<_>>() }),
    ))
}

/// Submit an administrative journal entry (filing, tariff) and wait until it is applied.
pub(crate) async fn admin_entry(
    state: &AppState,
    kind: &str,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let received_at_ms = now_ms();
    let content = intake::admin_content(kind, &body, received_at_ms)
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-file", e))?;
    let count = match &content {
        Intake::Filing(list) => list.len(),
        Intake::Tariff(t) => t.len(),
        Intake::Settings(_) => 1,
        _ => 0,
    };
    let target = match &content {
        Intake::Filing(list) => list
            .iter()
            .map(|e| e.code.as_str())
            .collect::<Vec<_>>()
            .join(","),
        _ => kind.to_ascii_lowercase(),
    };
    // Filing, tariff and settings changes are in the audit log, committed with the journal entry.
    let entry = audit::entry(
        auth::ADMIN,
        &format!("admin.{}", kind.to_ascii_lowercase()),
        &target.chars().take(500).collect::<String>(),
        "pending",
        &audit::current_source(),
        json!({}),
    );
    let job = Job::admin(kind, body.to_vec(), content, received_at_ms).audited(entry);
    let accepted = submit(state, job).await?;
    Ok(Json(json!({ "seq": accepted.seq, "applied": count })))
}

/// `POST /api/v1/enterprises`: file (or re-file) enterprises from a registry CSV (docs/registry.md).
async fn file_enterprises(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    admin(&state, &headers).await?;
    if let Ok(Intake::Filing(list)) = intake::admin_content(intake::FILING, &body, now_ms()) {
        refuse_listed(&state, &list).await?;
    }
    admin_entry(&state, intake::FILING, body).await
}

/// 事前准入禁止: an enterprise on the credit negative list may not be filed (again). Shared by
/// the filing API and the portal's filing approvals.
pub(crate) async fn refuse_listed(
    state: &AppState,
    list: &[domain::registry::Enterprise],
) -> Result<(), Problem> {
    for e in list {
        let store = state.store.clone();
        let code = e.code.clone();
        let listings = blocking(move || {
            store.records(&store::RecordQuery {
                kind: "listing",
                party: Some(&code),
                status: None,
                after: None,
                limit: 1000,
            })
        })
        .await?;
        let now = domain::time::Timestamp(now_ms());
        let barred = listings.iter().find_map(|row| {
            serde_json::from_str::<domain::negative::Listing>(&row.body)
                .ok()
                .filter(|l| l.blocks(now))
        });
        if let Some(l) = barred {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "listed-enterprise",
                "the enterprise is on the credit negative list; filing is refused",
            )
            .detail(format!(
                "{}: listing {} ({})",
                e.code,
                l.id,
                l.category.title()
            )));
        }
    }
    Ok(())
}

/// `POST /api/v1/tariff`: replace the tariff table from a CSV (docs/tariff.md).
async fn load_tariff(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    admin(&state, &headers).await?;
    admin_entry(&state, intake::TARIFF, body).await
}

async fn list_credentials(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Json<Value>, Problem> {
    admin(&state, &headers).await?;
    let store = state.store.clone();
    let rows = blocking(move || store.credentials_of(&code)).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|c| {
            json!({
                "keyId": c.key_id,
                "subject": c.subject,
                "createdAtMs": c.created_at_ms,
                "revokedAtMs": c.revoked_at_ms,
                "expiresAtMs": c.expires_at_ms,
            })
        })
        .collect();
    Ok(Json(json!({ "credentials": items })))
}

/// When a new credential expires: `{"expiresAtMs": …}` or `{"validDays": …}` (optional body).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Validity {
    expires_at_ms: Option<i64>,
    valid_days: Option<u32>,
    /// Rotation: the old credential stays valid this many hours, then expires (default: until
    /// revoked).
    grace_hours: Option<u32>,
}

impl Validity {
    fn parse(body: &Bytes) -> Result<Validity, Problem> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Validity::default());
        }
        serde_json::from_slice(body).map_err(|e| {
            Problem::bad_request(
                "bad-json",
                "expected {\"expiresAtMs\"?, \"validDays\"?, \"graceHours\"?}",
            )
            .detail(e.to_string())
        })
    }

    fn expires(&self, now: i64) -> Result<Option<i64>, Problem> {
        let at = match (self.expires_at_ms, self.valid_days) {
            (Some(_), Some(_)) => {
                return Err(Problem::bad_request(
                    "bad-validity",
                    "give expiresAtMs or validDays, not both",
                ));
            }
            (Some(at), None) => Some(at),
            (None, Some(days)) => Some(now + i64::from(days) * 86_400_000),
            (None, None) => None,
        };
        if at.is_some_and(|at| at <= now) {
            return Err(Problem::bad_request(
                "bad-validity",
                "the expiry must lie in the future",
            ));
        }
        Ok(at)
    }
}

/// `POST /api/v1/enterprises/{code}/credentials`: issue an API credential. The token is shown
/// in this answer only. `{code}` may also be `admin`, `auditor` or `regulator:<department>`
/// (customs, inspection, tax, market_supervision, zone_office, third_party) for staff
/// credentials. An optional body sets an expiry. Audited.
async fn issue_credential(
    State(state): State<AppState>,
    headers: HeaderMap,
    Source(source): Source,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    admin(&state, &headers).await?;
    let now = now_ms();
    let expires = Validity::parse(&body)?.expires(now)?;
    if !Principal::is_staff_subject(&code) {
        let store = state.store.clone();
        let lookup = code.clone();
        let filed = blocking(move || store.enterprise(&lookup)).await?;
        if filed.is_none() {
            return Err(Problem::not_found("filed enterprise"));
        }
    }
    let issued = auth::issue_until(&code, now, expires).map_err(|e| Problem::unavailable(&e))?;
    let store = state.store.clone();
    let row = issued.row.clone();
    blocking(move || store.put_credential(&row)).await?;
    // The token is shown only once the issue is in the audit log.
    audit::record(
        &state,
        vec![audit::entry(
            auth::ADMIN,
            "credential.issue",
            &issued.row.key_id,
            "ok",
            &source,
            json!({ "subject": code, "expiresAtMs": expires }),
        )],
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "keyId": issued.row.key_id,
            "subject": code,
            "token": issued.token,
            "expiresAtMs": expires,
        })),
    ))
}

/// `POST /api/v1/credentials/{key_id}/rotate`: issue a new credential for the same subject. The
/// old one stays valid until revoked, or for `graceHours` if given. The administrator rotates
/// any credential; every holder may rotate its own (the token used names it). Audited.
async fn rotate_credential(
    State(state): State<AppState>,
    headers: HeaderMap,
    Source(source): Source,
    Path(key_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let (principal, used) = authenticate_credential(&state, &headers).await?;
    if principal != Principal::Admin && used.key_id != key_id {
        return Err(Problem::forbidden()
            .detail("a credential rotates itself, or the administrator rotates it"));
    }
    let validity = Validity::parse(&body)?;
    let now = now_ms();
    let expires = validity.expires(now)?;
    let store = state.store.clone();
    let lookup = key_id.clone();
    let old = blocking(move || store.credential(&lookup))
        .await?
        .filter(|c| c.live_at(now))
        .ok_or_else(|| Problem::not_found("live credential"))?;
    let issued =
        auth::issue_until(&old.subject, now, expires).map_err(|e| Problem::unavailable(&e))?;
    let mut retiring = old.clone();
    if let Some(hours) = validity.grace_hours {
        let until = now + i64::from(hours) * 3_600_000;
        retiring.expires_at_ms = Some(retiring.expires_at_ms.map_or(until, |e| e.min(until)));
    }
    let store = state.store.clone();
    let (new_row, old_row) = (issued.row.clone(), retiring.clone());
    blocking(move || {
        store.put_credential(&new_row)?;
        store.put_credential(&old_row)
    })
    .await?;
    audit::record(
        &state,
        vec![audit::entry(
            &principal.label(),
            "credential.rotate",
            &old.key_id,
            "ok",
            &source,
            json!({
                "subject": old.subject,
                "newKeyId": issued.row.key_id,
                "oldExpiresAtMs": retiring.expires_at_ms,
                "expiresAtMs": expires,
            }),
        )],
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "keyId": issued.row.key_id,
            "subject": old.subject,
            "token": issued.token,
            "expiresAtMs": expires,
            "previous": { "keyId": old.key_id, "expiresAtMs": retiring.expires_at_ms },
        })),
    ))
}

/// `DELETE /api/v1/credentials/{key_id}`: revoke at once; the next call with it is refused.
async fn revoke_credential(
    State(state): State<AppState>,
    headers: HeaderMap,
    Source(source): Source,
    Path(key_id): Path<String>,
) -> Result<StatusCode, Problem> {
    admin(&state, &headers).await?;
    let store = state.store.clone();
    let target = key_id.clone();
    let revoked = blocking(move || store.revoke_credential(&key_id, now_ms())).await?;
    audit::record(
        &state,
        vec![audit::entry(
            auth::ADMIN,
            "credential.revoke",
            &target,
            if revoked {
                "ok"
            } else {
                "refused: no live credential"
            },
            &source,
            json!({}),
        )],
    )
    .await?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found("live credential"))
    }
}

/// `GET /api/v1/settings`: the rule settings in force (docs/settings.md). Staff only.
async fn get_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    if authenticate(&state, &headers).await?.party().is_some() {
        return Err(Problem::forbidden());
    }
    let settings = match state.settings.read() {
        Ok(s) => s.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    Ok(Json(serde_json::to_value(settings).unwrap_or(Value::Null)))
}

/// `PUT /api/v1/settings`: replace the rule settings (JSON; missing fields take their documented
/// defaults). Journalled like a declaration, so a rebuild applies it at the same point.
async fn put_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    admin(&state, &headers).await?;
    let text = String::from_utf8_lossy(&body).to_string();
    let parsed = domain::settings::Settings::from_json(&text).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-file",
            "not valid settings JSON",
        )
        .detail(e.to_string())
    })?;
    let answer = admin_entry(&state, intake::SETTINGS, body).await?;
    match state.settings.write() {
        Ok(mut s) => *s = parsed,
        Err(poisoned) => *poisoned.into_inner() = parsed,
    }
    Ok(answer)
}
