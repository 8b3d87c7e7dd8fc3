//! The credit and risk API (`/api/v1/alerts`, `/inspections`, `/credit`, `/listings`,
//! `/goods-controls`, `/recalls`, `/risk`) and the public credit query (`/api/public`).
//!
//! Reads come from the store's supervision records (one indexed query each). Every change is a
//! journaled supervision action: the handler checks the caller's role coarsely, the engine checks
//! the department and the state it finds, and the answer carries what the action did or a problem
//! saying why it was refused.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use domain::clearance::{Action, AlertLevel, Disposal, Refused, RefusedKind, SubjectRef};
use domain::credit::CertLevel;
use domain::negative::{Category, Control, GoodsMatch, Listing, ListingAction, Severity};
use domain::risk::RuleMode;
use domain::subject::Subject;
use domain::time::{CivilDate, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{RecordQuery, RecordRow};

use crate::api::{AppState, authenticate, blocking, submit};
use crate::auth::Principal;
use crate::problem::Problem;
use ingest::clock::now_ms;
use ingest::intake::{self, ActionEntry, Intake};
use ingest::pipeline::Job;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/alerts/{id}/assess", post(assess_alert))
        .route("/api/v1/alerts/{id}/dispose", post(dispose_alert))
        .route("/api/v1/alerts/{id}/review", post(review_alert))
        .route("/api/v1/inspections", get(list_inspections))
        .route("/api/v1/inspections/{id}", get(get_inspection))
        .route("/api/v1/inspections/{id}/finding", post(record_finding))
        .route("/api/v1/declarations/{id}/conclude", post(conclude))
        .route("/api/v1/credit", get(list_credit))
        .route("/api/v1/credit/{subject}", get(get_credit))
        .route("/api/v1/credit/{code}/certifications", post(certify))
        .route("/api/v1/credit/{code}/ratings", post(rate))
        .route("/api/v1/credit/{code}/complaints", post(complain))
        .route("/api/v1/tax-bills/{invt_no}/payment", post(tax_paid))
        .route("/api/v1/listings", get(list_listings).post(open_listing))
        .route("/api/v1/listings/{id}", get(get_listing))
        .route("/api/v1/listings/{id}/steps", post(listing_step))
        .route(
            "/api/v1/goods-controls",
            get(list_controls).post(add_control),
        )
        .route(
            "/api/v1/goods-controls/{id}",
            axum::routing::delete(remove_control),
        )
        .route("/api/v1/recalls", get(list_recalls).post(add_recall))
        .route("/api/v1/recalls/{id}", get(get_recall))
        .route("/api/v1/recalls/{id}/lift", post(lift_recall))
        .route("/api/v1/risk/rules", get(list_rules))
        .route("/api/v1/risk/rules/{code}", patch(configure_rule))
        .route(
            "/api/v1/risk/reference-prices",
            axum::routing::put(reference_prices),
        )
        .route("/api/public/credit", get(public_credit))
        .route("/api/public/credit/{code}", get(public_credit_one))
        .route("/api/public/negative-list", get(public_negative_list))
}

#[derive(Deserialize)]
pub(crate) struct RecordPage {
    status: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
    /// Credit records: `enterprise` (default) or `person`.
    subject: Option<String>,
}

fn limit_of(page: &RecordPage) -> usize {
    page.limit.unwrap_or(100).clamp(1, 1000)
}

pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    crate::problem::from_json(body).map_err(|e| {
        Problem::bad_request("bad-json", "the request body is not what this call takes").detail(e)
    })
}

pub(crate) fn record_json(row: &RecordRow) -> Value {
    let body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
    json!({
        "key": row.key,
        "status": row.status,
        "updatedAtMs": row.updated_at_ms,
        "record": body,
    })
}

/// Regulators (any department) and the administrator read the supervision queues.
fn staff(principal: &Principal) -> Result<(), Problem> {
    match principal {
        Principal::Regulator(_) | Principal::Admin => Ok(()),
        Principal::Enterprise(_) | Principal::Auditor => {
            Err(Problem::forbidden().detail("regulators only"))
        }
    }
}

fn regulator(principal: &Principal) -> Result<(), Problem> {
    match principal {
        Principal::Regulator(_) => Ok(()),
        _ => Err(Problem::forbidden().detail("a regulator's credential is needed for this action")),
    }
}

pub(crate) async fn page(
    state: &AppState,
    kind: &'static str,
    party: Option<String>,
    page: &RecordPage,
) -> Result<Json<Value>, Problem> {
    let limit = limit_of(page);
    let status = page.status.clone();
    let mut after = page.after.clone();
    let prefix = match (kind, page.subject.as_deref()) {
        ("credit", Some("person")) => Some("P:"),
        ("credit", _) => Some("E:"),
        _ => None,
    };
    if let Some(p) = prefix
        && after.as_deref().is_none_or(|a| a < p)
    {
        // Credit keys are `E:<code>` / `P:<hash>`: start at the chosen subject kind.
        after = Some(p.trim_end_matches(':').to_string());
    }
    let store = state.store.clone();
    let query_party = party.clone();
    let rows = blocking(move || {
        store.records(&RecordQuery {
            kind,
            party: query_party.as_deref(),
            status: status.as_deref(),
            after: after.as_deref(),
            limit,
        })
    })
    .await?;
    let rows: Vec<&RecordRow> = rows
        .iter()
        .filter(|r| prefix.is_none_or(|p| r.key.starts_with(p)))
        .collect();
    let next = rows.last().map(|r| r.key.clone());
    let items: Vec<Value> = rows.iter().map(|r| record_json(r)).collect();
    // The queue size is for staff looking at a whole kind; an enterprise's own view carries no
    // total, so it cannot learn how many records others have.
    if party.is_some() || prefix.is_some() {
        return Ok(Json(json!({ "next": next, "items": items })));
    }
    let store = state.store.clone();
    let st = page.status.clone();
    let total = blocking(move || store.count_records(kind, st.as_deref())).await?;
    Ok(Json(
        json!({ "next": next, "total": total, "items": items }),
    ))
}

async fn one(state: &AppState, kind: &'static str, key: String) -> Result<RecordRow, Problem> {
    let store = state.store.clone();
    blocking(move || store.record(kind, &key))
        .await?
        .ok_or_else(|| Problem::not_found(kind))
}

/// Journal a supervision action and answer with what it did. The audit log gets the action and
/// its outcome in the same transaction as the journal entry.
pub(crate) async fn act(
    state: &AppState,
    principal: &Principal,
    action: Action,
) -> Result<Json<Value>, Problem> {
    let received_at_ms = now_ms();
    let action = ingest::intake::minimise(action, &state.buyer_secret);
    let audit = crate::audit::action_entry(principal, &action, &crate::audit::current_source());
    let entry = ActionEntry {
        actor: principal.actor(),
        action,
    };
    let body = serde_json::to_vec(&entry).map_err(|e| Problem::unavailable(&e))?;
    let job = Job::staff(
        &principal.label(),
        intake::ACTION,
        body,
        Intake::Action(Box::new(entry)),
        received_at_ms,
    )
    .audited(audit);
    let accepted = submit(state, job).await?;
    match accepted.outcome {
        Some(Ok(result)) => Ok(Json(json!({
            "seq": accepted.seq,
            "result": result,
            "receipts": accepted.receipts.len(),
        }))),
        Some(Err(refusal)) => Err(refusal_problem(&refusal)),
        None => Err(Problem::unavailable(&"the action produced no outcome")),
    }
}

/// A regulator's action with a JSON body: check the credential is a regulator's, read the body,
/// build the action from it, journal it and answer with what it did.
async fn regulator_act<B: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    action: impl FnOnce(B) -> Result<Action, Problem>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(state, headers).await?;
    regulator(&principal)?;
    let action = action(parse_body(body)?)?;
    act(state, &principal, action).await
}

/// The engine says why it refused, and what kind of refusal it is.
fn refusal_problem(refusal: &Refused) -> Problem {
    let (status, kind) = match refusal.kind {
        RefusedKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
        RefusedKind::NotFound => (StatusCode::NOT_FOUND, "not-found"),
        RefusedKind::Conflict => (StatusCode::CONFLICT, "action-refused"),
    };
    Problem::new(status, kind, "the action was refused").detail(refusal.message.clone())
}

// ---- alerts (风险预警) ----

async fn list_alerts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecordPage>,
) -> Result<Json<Value>, Problem> {
    staff(&authenticate(&state, &headers).await?)?;
    page(&state, "alert", None, &q).await
}

async fn get_alert(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    staff(&authenticate(&state, &headers).await?)?;
    Ok(Json(record_json(&one(&state, "alert", id).await?)))
}

#[derive(Deserialize)]
struct Assess {
    level: AlertLevel,
    #[serde(default)]
    note: String,
}

async fn assess_alert(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |a: Assess| {
        Ok(Action::AssessAlert {
            id,
            level: a.level,
            note: a.note,
        })
    })
    .await
}

#[derive(Deserialize)]
struct Dispose {
    disposal: Disposal,
    #[serde(default)]
    note: String,
}

async fn dispose_alert(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |d: Dispose| {
        Ok(Action::DisposeAlert {
            id,
            disposal: d.disposal,
            note: d.note,
        })
    })
    .await
}

#[derive(Deserialize)]
struct Review {
    confirmed: bool,
    #[serde(default)]
    note: String,
}

async fn review_alert(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |r: Review| {
        Ok(Action::ReviewAlert {
            id,
            confirmed: r.confirmed,
            note: r.note,
        })
    })
    .await
}

// ---- inspections (查验) and document review ----

async fn list_inspections(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecordPage>,
) -> Result<Json<Value>, Problem> {
    staff(&authenticate(&state, &headers).await?)?;
    page(&state, "inspection", None, &q).await
}

async fn get_inspection(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    staff(&authenticate(&state, &headers).await?)?;
    Ok(Json(record_json(&one(&state, "inspection", id).await?)))
}

#[derive(Deserialize)]
struct FindingBody {
    passed: bool,
    #[serde(default)]
    reason: String,
}

async fn record_finding(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(task): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |f: FindingBody| {
        Ok(Action::Finding {
            task,
            passed: f.passed,
            reason: f.reason,
        })
    })
    .await
}

#[derive(Deserialize)]
struct ConcludeBody {
    release: bool,
    #[serde(default)]
    reason: String,
}

async fn conclude(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |c: ConcludeBody| {
        let declaration = domain::clearance::DeclarationId(id);
        Ok(Action::Conclude {
            declaration,
            release: c.release,
            reason: c.reason,
        })
    })
    .await
}

// ---- credit (信用) ----

async fn list_credit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecordPage>,
) -> Result<Json<Value>, Problem> {
    staff(&authenticate(&state, &headers).await?)?;
    page(&state, "credit", None, &q).await
}

/// `GET /api/v1/credit/{subject}`: a credit record with its explanation. `{subject}` is an
/// enterprise code, `me` for the caller's own, or a subject key (`E:<code>`, `P:<buyer key>`).
/// Enterprises see only their own.
async fn get_credit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(subject): Path<String>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let key = match (subject.as_str(), &principal) {
        ("me", Principal::Enterprise(code)) => Subject::Enterprise(code.clone()).key(),
        ("me", _) => return Err(Problem::not_found("credit record")),
        (s, _) => Subject::parse_key(s)
            .unwrap_or_else(|| Subject::Enterprise(s.to_string()))
            .key(),
    };
    if let Principal::Enterprise(code) = &principal
        && key != Subject::Enterprise(code.clone()).key()
    {
        return Err(Problem::not_found("credit record"));
    }
    match one(&state, "credit", key.clone()).await {
        Ok(row) => Ok(Json(record_json(&row))),
        // A filed enterprise with no events yet has the newcomer's grade: say so, not 404.
        Err(_) if key.starts_with("E:") => {
            let code = key.trim_start_matches("E:").to_string();
            let store = state.store.clone();
            let filed = blocking(move || store.enterprise(&code)).await?;
            if filed.is_none() {
                return Err(Problem::not_found("credit record"));
            }
            let settings = state
                .settings
                .read()
                .map(|s| s.credit.clone())
                .unwrap_or_else(|p| p.into_inner().credit.clone());
            let subject =
                Subject::parse_key(&key).ok_or_else(|| Problem::not_found("credit record"))?;
            let now = Timestamp(now_ms());
            let record = domain::credit::CreditRecord::new(subject, now, &settings);
            Ok(Json(json!({
                "key": key,
                "status": record.grade.as_str(),
                "updatedAtMs": now.0,
                "record": { "explanation": record.explain(&settings, now), "history": [] },
            })))
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct Certification {
    level: CertLevel,
    #[serde(default)]
    valid_until: Option<String>,
}

async fn certify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(enterprise): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |c: Certification| {
        let valid_until = match c.valid_until.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                CivilDate::parse_yyyymmdd(&s.replace('-', "")).ok_or_else(|| {
                    Problem::bad_request(
                        "bad-date",
                        "valid_until is a date: YYYY-MM-DD or YYYYMMDD",
                    )
                })?,
            ),
        };
        Ok(Action::Certify {
            enterprise,
            level: c.level,
            valid_until,
        })
    })
    .await
}

#[derive(Deserialize)]
struct Rating {
    agency: String,
    score: u8,
}

async fn rate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(enterprise): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |r: Rating| {
        Ok(Action::Rate {
            enterprise,
            agency: r.agency,
            score: r.score,
        })
    })
    .await
}

#[derive(Deserialize)]
struct ComplaintBody {
    upheld: bool,
    #[serde(default)]
    note: String,
}

async fn complain(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(enterprise): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |c: ComplaintBody| {
        Ok(Action::Complaint {
            enterprise,
            upheld: c.upheld,
            note: c.note,
        })
    })
    .await
}

#[derive(Deserialize)]
struct Payment {
    paid_on: String,
}

async fn tax_paid(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(invt_no): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |p: Payment| {
        let paid_on = CivilDate::parse_yyyymmdd(&p.paid_on.replace('-', ""))
            .ok_or_else(|| Problem::bad_request("bad-date", "paid_on is a date: YYYY-MM-DD"))?;
        Ok(Action::TaxPaid { invt_no, paid_on })
    })
    .await
}

// ---- the credit negative list (信用负面清单) ----

async fn list_listings(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecordPage>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let party = principal.party().map(str::to_string);
    page(&state, "listing", party, &q).await
}

async fn get_listing(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let row = one(&state, "listing", id).await?;
    if let Some(code) = principal.party()
        && row.party.as_deref() != Some(code)
    {
        return Err(Problem::not_found("listing"));
    }
    let mut body = record_json(&row);
    // The deadlines of the workflow as they stand now: until when an appeal may be filed, when
    // a pending decision is due (and whether it is overdue), from when repair may be asked.
    if let Ok(listing) = serde_json::from_str::<Listing>(&row.body) {
        let settings = state
            .settings
            .read()
            .map(|s| s.listing.clone())
            .unwrap_or_else(|p| p.into_inner().listing.clone());
        let d = listing.deadlines(&settings);
        if let Some(map) = body.as_object_mut() {
            map.insert(
                "deadlines".into(),
                json!({
                    "appealUntilMs": d.appeal_until.0,
                    "decisionDueMs": d.decision_due.map(|t| t.0),
                    "repairFromMs": d.repair_from.0,
                    "overdue": listing.overdue(Timestamp(now_ms()), &settings),
                }),
            );
        }
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
struct NewListingBody {
    subject: SubjectRef,
    #[serde(default)]
    name: Option<String>,
    category: Category,
    severity: Severity,
    evidence: String,
    #[serde(default)]
    effective_from_ms: Option<i64>,
    #[serde(default)]
    expires_at_ms: Option<i64>,
}

async fn open_listing(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |l: NewListingBody| {
        Ok(Action::List {
            subject: l.subject,
            name: l.name,
            category: l.category,
            severity: l.severity,
            evidence: l.evidence,
            effective_from: l.effective_from_ms.map(Timestamp),
            expires_at: l.expires_at_ms.map(Timestamp),
        })
    })
    .await
}

/// Appeal and repair by the listed enterprise; decisions and withdrawal by the regulator.
async fn listing_step(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    if matches!(principal, Principal::Admin) {
        return Err(
            Problem::forbidden().detail("the listed enterprise or a regulator acts on a listing")
        );
    }
    let step: ListingAction = parse_body(&body)?;
    if let Some(code) = principal.party() {
        // An enterprise may not learn whether another's listing exists.
        let row = one(&state, "listing", id.clone()).await?;
        if row.party.as_deref() != Some(code) {
            return Err(Problem::not_found("listing"));
        }
    }
    act(&state, &principal, Action::Listing { id, step }).await
}

// ---- goods control list and recalls ----

async fn list_controls(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecordPage>,
) -> Result<Json<Value>, Problem> {
    authenticate(&state, &headers).await?;
    page(&state, "control", None, &q).await
}

#[derive(Deserialize)]
struct ControlBody {
    matcher: GoodsMatch,
    control: Control,
    reason: String,
    #[serde(default)]
    until_ms: Option<i64>,
}

async fn add_control(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |c: ControlBody| {
        Ok(Action::Control {
            matcher: c.matcher,
            control: c.control,
            reason: c.reason,
            until: c.until_ms.map(Timestamp),
        })
    })
    .await
}

async fn remove_control(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    regulator(&principal)?;
    act(&state, &principal, Action::Uncontrol { id }).await
}

async fn list_recalls(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecordPage>,
) -> Result<Json<Value>, Problem> {
    staff(&authenticate(&state, &headers).await?)?;
    page(&state, "recall", None, &q).await
}

async fn get_recall(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    staff(&authenticate(&state, &headers).await?)?;
    Ok(Json(record_json(&one(&state, "recall", id).await?)))
}

#[derive(Deserialize)]
struct RecallBody {
    matcher: GoodsMatch,
    #[serde(default)]
    seller: Option<String>,
    reason: String,
}

async fn add_recall(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |r: RecallBody| {
        Ok(Action::Recall {
            matcher: r.matcher,
            seller: r.seller,
            reason: r.reason,
        })
    })
    .await
}

async fn lift_recall(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    regulator(&principal)?;
    act(&state, &principal, Action::LiftRecall { id }).await
}

// ---- risk rules ----

async fn list_rules(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecordPage>,
) -> Result<Json<Value>, Problem> {
    staff(&authenticate(&state, &headers).await?)?;
    page(&state, "rule", None, &q).await
}

#[derive(Deserialize)]
struct RuleBody {
    #[serde(default)]
    mode: Option<RuleMode>,
    #[serde(default)]
    score: Option<u32>,
    #[serde(default)]
    params: Option<Value>,
}

async fn configure_rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(rule): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    regulator_act(&state, &headers, &body, |r: RuleBody| {
        Ok(Action::ConfigureRule {
            rule,
            mode: r.mode,
            score: r.score,
            params: r.params,
        })
    })
    .await
}

async fn reference_prices(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    regulator(&principal)?;
    let csv = String::from_utf8(body.to_vec())
        .map_err(|_| Problem::bad_request("bad-encoding", "the CSV is not UTF-8"))?;
    domain::risk::ReferencePrices::parse_csv(&csv).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-file",
            "not a reference price CSV",
        )
        .detail(e.to_string())
    })?;
    act(&state, &principal, Action::ReferencePrices { csv }).await
}

// ---- public query (有序公开): grades of enterprises and the listed ones, nothing personal ----

#[derive(Deserialize)]
struct PublicPage {
    after: Option<String>,
    limit: Option<usize>,
}

fn public_grade(row: &RecordRow) -> Option<Value> {
    let code = row.key.strip_prefix("E:")?;
    let body: Value = serde_json::from_str(&row.body).ok()?;
    Some(json!({
        "code": code,
        "name": body.get("name").cloned().unwrap_or(Value::Null),
        "grade": row.status,
        "class": body.pointer("/explanation/class").cloned().unwrap_or(Value::Null),
        "gradeSinceMs": body.get("grade_since").cloned().unwrap_or(Value::Null),
    }))
}

async fn public_credit(
    State(state): State<AppState>,
    Query(q): Query<PublicPage>,
) -> Result<Json<Value>, Problem> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let after = Some(
        q.after
            .filter(|a| a.as_str() >= "E:")
            .unwrap_or_else(|| "E".into()),
    );
    let store = state.store.clone();
    let rows = blocking(move || {
        store.records(&RecordQuery {
            kind: "credit",
            party: None,
            status: None,
            after: after.as_deref(),
            limit,
        })
    })
    .await?;
    let items: Vec<Value> = rows
        .iter()
        .take_while(|r| r.key.starts_with("E:"))
        .filter_map(public_grade)
        .collect();
    let next = rows
        .iter()
        .take_while(|r| r.key.starts_with("E:"))
        .last()
        .map(|r| r.key.clone());
    Ok(Json(json!({ "next": next, "enterprises": items })))
}

async fn public_credit_one(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<Value>, Problem> {
    let row = one(&state, "credit", Subject::Enterprise(code).key()).await?;
    public_grade(&row)
        .map(Json)
        .ok_or_else(|| Problem::not_found("credit record"))
}

async fn public_negative_list(
    State(state): State<AppState>,
    Query(q): Query<PublicPage>,
) -> Result<Json<Value>, Problem> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let now = Timestamp(now_ms());
    // The listings in force are in one of three open states: read each from the cursor, merge
    // by key, and cut one page from the merged list.
    let mut rows: Vec<RecordRow> = Vec::new();
    for status in ["active", "appealed", "repair_requested"] {
        let store = state.store.clone();
        let after = q.after.clone();
        rows.extend(
            blocking(move || {
                store.records(&RecordQuery {
                    kind: "listing",
                    party: None,
                    status: Some(status),
                    after: after.as_deref(),
                    limit,
                })
            })
            .await?,
        );
    }
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    rows.truncate(limit);
    let next = rows.last().map(|r| r.key.clone());
    let items: Vec<Value> = rows
        .iter()
        .filter_map(|row| serde_json::from_str::<Listing>(&row.body).ok())
        .filter_map(|listing| listing.public_view(now))
        .map(|view| serde_json::to_value(view).unwrap_or(Value::Null))
        .collect();
    Ok(Json(json!({ "next": next, "listed": items })))
}
