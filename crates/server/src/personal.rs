//! The clear view of a declaration's personal data (`POST /api/v1/declarations/{id}/personal-data`),
//! for the roles that need it and nobody else (docs/security.md, "Role matrix"):
//!
//! * customs (`regulator:customs`, or a bare `regulator`) — document review and inspection of any
//!   declaration: the officer checks the buyer against the documents and the parcel;
//! * market supervision and inspection (`regulator:market_supervision`,
//!   `regulator:inspection`) — only declarations a product recall hit, to reach the buyers of
//!   recalled goods.
//!
//! Every request states why (`reason`, required) and is written to the audit log before the data
//! is sent — who, when, from where, which declaration, why, and whether it was shown. A refused
//! request is written too. Everywhere else personal data is masked or absent.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use domain::clearance::{PersonalData, RecallRecord, declaration_personal_data};
use domain::subject::Department;
use serde::Deserialize;
use serde_json::{Value, json};
use store::RecordQuery;

use crate::api::{AppState, authenticate, blocking};
use crate::audit::{self, Source};
use crate::auth::Principal;
use crate::problem::Problem;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/declarations/{id}/personal-data",
        post(view_personal_data),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewRequest {
    /// Why the data is needed (free text, 4–500 characters): kept in the audit log, masked.
    reason: String,
}

/// The engine state namespace of declarations (see `domain::clearance::engine`).
const NS_DECLARATION: &str = "declaration";

/// Which declarations a role may see in clear.
enum Scope {
    All,
    Recalled,
}

fn scope(principal: &Principal) -> Option<Scope> {
    match principal {
        Principal::Regulator(Department::Customs) => Some(Scope::All),
        Principal::Regulator(Department::MarketSupervision | Department::Inspection) => {
            Some(Scope::Recalled)
        }
        _ => None,
    }
}

/// Whether a product recall names this declaration among its hits.
async fn recalled(state: &AppState, id: &str) -> Result<bool, Problem> {
    let mut after: Option<String> = None;
    loop {
        let store = state.store.clone();
        let cursor = after.clone();
        let rows = blocking(move || {
            store.records(&RecordQuery {
                after: cursor.as_deref(),
                ..RecordQuery::new("recall", 500)
            })
        })
        .await?;
        let Some(last) = rows.last() else {
            return Ok(false);
        };
        after = Some(last.key.clone());
        for row in &rows {
            if let Ok(r) = serde_json::from_str::<RecallRecord>(&row.body)
                && r.hits.iter().any(|h| h.declaration.0 == id)
            {
                return Ok(true);
            }
        }
    }
}

async fn view_personal_data(
    State(state): State<AppState>,
    headers: HeaderMap,
    Source(source): Source,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let request: ViewRequest = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "bad-json",
            "expected {\"reason\": \"why the data is needed\"}",
        )
        .detail(e.to_string())
    })?;
    let data = clear_view(&state, &principal, &source, &id, &request.reason).await?;
    Ok(Json(json!({
        "declaration": id,
        "personalData": data,
        "audited": true,
    })))
}

/// Whether this role may ask for a clear view at all (customs: any declaration; inspection and
/// market supervision: those a recall hit). For the portal, to offer the form where it can work.
pub(crate) async fn may_view(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<bool, Problem> {
    match scope(principal) {
        None => Ok(false),
        Some(Scope::All) => Ok(true),
        Some(Scope::Recalled) => recalled(state, id).await,
    }
}

/// The clear view, for the API and the portal alike: checks the reason and the role, writes the
/// audit entry — shown or refused — and only then returns the data. `source` is the client's
/// address.
pub(crate) async fn clear_view(
    state: &AppState,
    principal: &Principal,
    source: &str,
    id: &str,
    reason: &str,
) -> Result<PersonalData, Problem> {
    let reason = reason.trim();
    let chars = reason.chars().count();
    if !(4..=500).contains(&chars) {
        return Err(Problem::bad_request(
            "reason-required",
            "a reason of 4 to 500 characters is required to see personal data",
        ));
    }
    let detail = json!({ "reason": domain::personal::mask_text(reason) });
    let actor = principal.label();
    let audit_entry = |outcome: &str| {
        audit::entry(
            &actor,
            "personal_data.view",
            id,
            outcome,
            source,
            detail.clone(),
        )
    };
    let Some(scope) = scope(principal) else {
        audit::record(state, vec![audit_entry("refused: role")]).await?;
        return Err(Problem::forbidden().detail(
            "personal data is shown in clear to customs and, for recalls, market supervision only",
        ));
    };
    let store = state.store.clone();
    let key = id.to_string();
    let value = blocking(move || store.state_value(NS_DECLARATION, &key)).await?;
    let Some(data) = value.as_deref().and_then(declaration_personal_data) else {
        audit::record(state, vec![audit_entry("refused: no such declaration")]).await?;
        return Err(Problem::not_found("declaration"));
    };
    if matches!(scope, Scope::Recalled) && !recalled(state, id).await? {
        audit::record(state, vec![audit_entry("refused: not hit by a recall")]).await?;
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This credential may not do that",
        )
        .detail("market supervision sees the buyers of declarations a recall hit, no others"));
    }
    let outcome = if data.purged {
        "ok (purged: masks only)"
    } else {
        "ok"
    };
    audit::record(state, vec![audit_entry(outcome)]).await?;
    Ok(data)
}
