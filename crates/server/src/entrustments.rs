//! Entrustments (委托 / 入驻, `/api/v1/entrustments`): an enterprise files one with a partner, the
//! partner accepts or declines it, either revokes it; the administrator files those of the
//! registry between two enterprises (in force at once). Only while one is in force may the two
//! name each other in declarations (docs/registry.md, error 9304).
//!
//! Every change is a journaled action checked by the writer; reads come from the records
//! projection, one record per party, so an enterprise sees only its own.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::clearance::{Action, parse_step};
use domain::time::CivilDate;
use serde::Deserialize;
use serde_json::Value;

use crate::api::{AppState, authenticate};
use crate::auth::Principal;
use crate::oversight::{RecordPage, act, page, parse_body, record_json};
use crate::problem::Problem;

const KIND: &str = "entrustment";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/entrustments", get(list).post(file))
        .route("/api/v1/entrustments/{id}", get(one))
        .route("/api/v1/entrustments/{id}/{step}", post(step))
}

/// Enterprises see the entrustments they are a party to; regulators and the administrator all.
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecordPage>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let party = principal.party().map(str::to_string);
    page(&state, KIND, party, &q).await
}

async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let store = state.store.clone();
    let prefix = format!("{id}:");
    let party = principal.party().map(str::to_string);
    let row = crate::api::blocking(move || match party {
        // An enterprise reads its own copy; another's entrustment does not exist for it.
        Some(code) => store.record(KIND, &format!("{prefix}{code}")),
        None => Ok(store
            .records(&store::RecordQuery {
                kind: KIND,
                party: None,
                status: None,
                after: Some(&prefix[..prefix.len() - 1]),
                limit: 1,
            })?
            .into_iter()
            .find(|r| r.key.starts_with(&prefix))),
    })
    .await?
    .ok_or_else(|| Problem::not_found(KIND))?;
    Ok(Json(record_json(&row)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewEntrustment {
    /// The filing enterprise: the administrator names it; an enterprise files for itself.
    #[serde(default)]
    principal: Option<String>,
    partner: String,
    #[serde(default)]
    valid_from: Option<String>,
    #[serde(default)]
    valid_until: Option<String>,
}

fn date(field: &str, value: Option<&str>) -> Result<Option<CivilDate>, Problem> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => CivilDate::parse_yyyymmdd(&s.replace('-', ""))
            .map(Some)
            .ok_or_else(|| {
                Problem::bad_request("bad-date", "a date is YYYY-MM-DD or YYYYMMDD")
                    .detail(format!("{field} is not a date"))
            }),
    }
}

/// 委托: an enterprise files an entrustment with a partner (proposed until the partner
/// accepts); the administrator files one of the registry (accepted at once).
async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    if !matches!(principal, Principal::Enterprise(_) | Principal::Admin) {
        return Err(Problem::forbidden()
            .detail("an enterprise files its own entrustments; the administrator the registry's"));
    }
    let b: NewEntrustment = parse_body(&body)?;
    let action = Action::Entrust {
        principal: b.principal,
        partner: b.partner,
        valid_from: date("validFrom", b.valid_from.as_deref())?,
        valid_until: date("validUntil", b.valid_until.as_deref())?,
    };
    act(&state, &principal, action).await
}

/// The partner accepts or declines; either party revokes.
async fn step(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, step)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    if !matches!(principal, Principal::Enterprise(_)) {
        return Err(Problem::forbidden()
            .detail("only the two enterprises of an entrustment take its steps"));
    }
    let Some(step) = parse_step(&step) else {
        return Err(Problem::not_found("step"));
    };
    act(&state, &principal, Action::Entrustment { id, step }).await
}
