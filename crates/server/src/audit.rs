//! The audit log over HTTP (`/api/v1/audit…`) and the one place the shell writes it.
//!
//! What is written (docs/security.md): logins ([`login`], for the portal), credential issue,
//! rotation and revocation, every journaled regulator action (written in the same transaction as
//! its journal entry, with the engine's outcome), every clear view of personal data, the purge
//! and key changes. Only the system writes it; only the auditor (credential subject `auditor`)
//! reads and exports it; nobody can change it (the store's triggers refuse).

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::clearance::{Action, SubjectRef};
use serde::Deserialize;
use serde_json::{Value, json};
use store::audit::{AuditEntry, AuditQuery, AuditRecord};

use crate::api::{AppState, authenticate_credential, blocking};
use crate::auth::Principal;
use crate::problem::Problem;
use ingest::clock::now_ms;

/// Where a request came from, as the server saw it (`-` when not known, e.g. a router driven
/// without a listener). Never fails.
#[derive(Clone, Debug)]
pub struct Source(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Source(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "-".to_owned(), |c| c.0.ip().to_string()),
        ))
    }
}

tokio::task_local! {
    /// The client address of the request being served (set by [`remember_source`]).
    static SOURCE: String;
}

/// Middleware: remember the client's address for the audit entries the request writes.
pub async fn remember_source(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The guard's view of the client (it honours `--trust-forwarded-for`), else the TCP peer.
    let guarded = request
        .extensions()
        .get::<crate::portal::ClientAddress>()
        .and_then(|c| c.0);
    let source = guarded.map(|ip| ip.to_string()).unwrap_or_else(|| {
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "-".to_owned(), |c| c.0.ip().to_string())
    });
    SOURCE.scope(source, next.run(request)).await
}

/// The client address of the request being served, `-` outside one.
pub fn current_source() -> String {
    SOURCE
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

/// An audit entry made now. Free text in `detail` should already be masked
/// ([`domain::personal::mask_text`]). Text from the request (an account name as typed, a path
/// segment) is kept with any character XML 1.0 forbids as U+FFFD: PostgreSQL refuses U+0000, and
/// a login or a clear view must not fail on the audit entry of a hostile name.
pub fn entry(
    actor: &str,
    action: &str,
    target: &str,
    outcome: &str,
    source: &str,
    detail: Value,
) -> AuditEntry {
    AuditEntry {
        at_ms: now_ms(),
        actor: storable(actor),
        action: storable(action),
        target: storable(target),
        outcome: storable(outcome),
        source: storable(source),
        detail: detail.to_string(),
    }
}

fn storable(text: &str) -> String {
    if ceb::xml::first_forbidden_char(text).is_none() {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if ceb::xml::is_xml_char(c) {
                c
            } else {
                '\u{FFFD}'
            }
        })
        .collect()
}

/// Append entries now (they are durable when this returns). A failure is a 503: callers that
/// show personal data must not show it unaudited.
pub async fn record(state: &AppState, entries: Vec<AuditEntry>) -> Result<(), Problem> {
    let store = state.store.clone();
    blocking(move || store.append_audit(&entries)).await?;
    Ok(())
}

/// A portal (or any interactive) login: `user` is the account name, `outcome` `ok` or
/// `refused: <why>` (never the password). For the portal to call on every attempt.
pub async fn login(
    state: &AppState,
    user: &str,
    outcome: &str,
    source: &str,
) -> Result<(), Problem> {
    record(
        state,
        vec![entry(user, "login", user, outcome, source, json!({}))],
    )
    .await
}

/// The audit entry of a supervision action, its outcome still to be filled in by the writer
/// (`regulator.<action>` for regulators, `action.<action>` for others).
pub fn action_entry(principal: &Principal, action: &Action, source: &str) -> AuditEntry {
    let prefix = match principal {
        Principal::Regulator(_) => "regulator",
        _ => "action",
    };
    entry(
        &principal.label(),
        &format!("{prefix}.{}", action.name()),
        &action_target(action),
        "pending",
        source,
        json!({}),
    )
}

/// What an action is about, in the audit log's words.
pub fn action_target(action: &Action) -> String {
    match action {
        Action::Certify { enterprise, .. }
        | Action::Rate { enterprise, .. }
        | Action::Complaint { enterprise, .. } => enterprise.clone(),
        Action::TaxPaid { invt_no, .. } => invt_no.clone(),
        Action::List { subject, .. } => match subject {
            SubjectRef::Enterprise { code } => code.clone(),
            SubjectRef::Buyer { key } => format!("buyer:{}", key.get(..16).unwrap_or(key)),
            SubjectRef::Person { .. } => "person".to_owned(),
        },
        Action::Listing { id, .. }
        | Action::Uncontrol { id }
        | Action::LiftRecall { id }
        | Action::AssessAlert { id, .. }
        | Action::DisposeAlert { id, .. }
        | Action::ReviewAlert { id, .. } => id.clone(),
        Action::Control { .. } => "goods-control".to_owned(),
        Action::Recall { seller, .. } => seller.clone().unwrap_or_else(|| "recall".to_owned()),
        Action::ConfigureRule { rule, .. } => rule.clone(),
        Action::ReferencePrices { .. } => "reference-prices".to_owned(),
        Action::Finding { task, .. } => task.clone(),
        Action::Conclude { declaration, .. } => declaration.0.clone(),
        Action::Entrust { partner, .. } => partner.clone(),
        Action::Entrustment { id, .. } => id.clone(),
        Action::AdoptRules { version, .. } => format!("rules-{version}"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit", get(list))
        .route("/api/v1/audit/export", get(export))
        .route("/api/v1/audit/verify", get(verify))
}

/// Only the auditor reads the audit log.
async fn auditor(state: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    match authenticate_credential(state, headers).await?.0 {
        Principal::Auditor => Ok(()),
        _ => Err(Problem::forbidden().detail("only the auditor reads the audit log")),
    }
}

#[derive(Deserialize)]
struct Filter {
    actor: Option<String>,
    action: Option<String>,
    /// Milliseconds since the epoch, inclusive.
    from: Option<i64>,
    /// Milliseconds since the epoch, exclusive.
    until: Option<i64>,
    /// Sequence cursor (the `next` of the previous page).
    after: Option<i64>,
    limit: Option<usize>,
    /// `csv` or `jsonl` (export).
    format: Option<String>,
}

impl Filter {
    fn query(&self, after: i64, limit: usize) -> AuditQuery<'_> {
        AuditQuery {
            actor: self.actor.as_deref(),
            action: self.action.as_deref(),
            from_ms: self.from,
            until_ms: self.until,
            after,
            limit,
        }
    }
}

pub fn record_json(r: &AuditRecord) -> Value {
    let detail: Value = serde_json::from_str(&r.entry.detail).unwrap_or(Value::Null);
    json!({
        "seq": r.seq,
        "atMs": r.entry.at_ms,
        "actor": r.entry.actor,
        "action": r.entry.action,
        "target": r.entry.target,
        "outcome": r.entry.outcome,
        "source": r.entry.source,
        "detail": detail,
        "prevHash": r.prev_hash,
        "hash": r.hash,
    })
}

async fn page(
    state: &AppState,
    filter: Filter,
    after: i64,
    limit: usize,
) -> Result<Vec<AuditRecord>, Problem> {
    let store = state.store.clone();
    blocking(move || store.audit(&filter.query(after, limit))).await
}

/// `GET /api/v1/audit`: a page of the audit log, oldest first, filtered.
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Result<Json<Value>, Problem> {
    auditor(&state, &headers).await?;
    let after = filter.after.unwrap_or(0);
    let limit = filter.limit.unwrap_or(100).clamp(1, 1000);
    let rows = page(&state, filter, after, limit).await?;
    let next = rows.last().map(|r| r.seq);
    Ok(Json(json!({
        "next": next,
        "entries": rows.iter().map(record_json).collect::<Vec<_>>(),
    })))
}

/// Most entries one export carries (narrow the filter or page with `after` for more).
const EXPORT_MAX: usize = 100_000;

/// `GET /api/v1/audit/export?format=csv|jsonl`: the filtered log as a file.
async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Result<Response, Problem> {
    auditor(&state, &headers).await?;
    let csv = match filter.format.as_deref() {
        None | Some("csv") => true,
        Some("jsonl") => false,
        Some(_) => {
            return Err(Problem::bad_request("bad-format", "format is csv or jsonl"));
        }
    };
    let mut after = filter.after.unwrap_or(0);
    let mut rows = Vec::new();
    let actor = filter.actor.clone();
    let action = filter.action.clone();
    let (from, until) = (filter.from, filter.until);
    while rows.len() < EXPORT_MAX {
        let f = Filter {
            actor: actor.clone(),
            action: action.clone(),
            from,
            until,
            after: None,
            limit: None,
            format: None,
        };
        let batch = page(&state, f, after, 1000).await?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        rows.extend(batch);
    }
    rows.truncate(EXPORT_MAX);
    let (body, content_type, name) = if csv {
        (to_csv(&rows), "text/csv; charset=utf-8", "audit.csv")
    } else {
        let mut out = String::new();
        for r in &rows {
            out.push_str(&record_json(r).to_string());
            out.push('\n');
        }
        (out, "application/x-ndjson", "audit.jsonl")
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response())
}

/// The log as CSV (RFC 4180), a header line first.
pub fn to_csv(rows: &[AuditRecord]) -> String {
    fn field(out: &mut String, s: &str) {
        if s.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(s);
        }
    }
    let mut out =
        String::from("seq,at_ms,actor,action,target,outcome,source,detail,prev_hash,hash\r\n");
    for r in rows {
        let e = &r.entry;
        let cells = [
            r.seq.to_string(),
            e.at_ms.to_string(),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone(),
            e.outcome.clone(),
            e.source.clone(),
            e.detail.clone(),
            r.prev_hash.clone(),
            r.hash.clone(),
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, c);
        }
        out.push_str("\r\n");
    }
    out
}

/// `GET /api/v1/audit/verify`: walk the whole chain; says where it breaks, if it does.
async fn verify(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, Problem> {
    auditor(&state, &headers).await?;
    let store = state.store.clone();
    let result = blocking(move || store::audit::verify_store(store.as_ref())).await?;
    Ok(Json(match result {
        Ok(n) => json!({ "intact": true, "entries": n }),
        Err(b) => json!({ "intact": false, "brokenAt": b.seq, "problem": b.problem }),
    }))
}
