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
    let request: ViewRequest = crate::problem::from_json(&body).map_err(|e| {
        Problem::bad_request(
            "bad-json",
            "expected {\"reason\": \"why the data is needed\"}",
        )
        .detail(e)
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
    // The declaration's personal data is read first, for every caller: not to show it, but to
    // mask it wherever the reason repeats it ("checking 张三's ID") before the reason is written.
    let store = state.store.clone();
    let key = id.to_string();
    let value = blocking(move || store.state_value(NS_DECLARATION, &key)).await?;
    let found = value.as_deref().and_then(declaration_personal_data);
    let detail = json!({ "reason": masked_reason(reason, found.as_ref()) });
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
    let Some(data) = found else {
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

/// A reason as the audit log keeps it: every personal value of the declaration it is about (the
/// buyer's, payer's and consignee's names, ID numbers, telephones and the address) masked where
/// the reason repeats it, then any ID-number-like or phone-like digit run masked
/// ([`domain::personal::mask_text`]). A name the declaration does not hold (a third person typed
/// into the reason) cannot be recognised and stays as typed (docs/security.md).
pub(crate) fn masked_reason(reason: &str, data: Option<&PersonalData>) -> String {
    use domain::personal::{mask_address, mask_id, mask_name, mask_phone, mask_text};
    let mut known: Vec<(&str, String)> = Vec::new();
    if let Some(d) = data {
        type Mask = fn(&str) -> String;
        let fields: [(&Option<String>, Mask); 10] = [
            (&d.buyer_name, mask_name),
            (&d.payer_name, mask_name),
            (&d.consignee, mask_name),
            (&d.buyer_id_number, mask_id),
            (&d.payer_id_number, mask_id),
            (&d.buyer_reg_no, mask_id),
            (&d.buyer_telephone, mask_phone),
            (&d.consignee_telephone, mask_phone),
            (&d.payer_telephone, mask_phone),
            (&d.consignee_address, mask_address),
        ];
        for (value, mask) in fields {
            if let Some(v) = value.as_deref().map(str::trim)
                && v.chars().count() >= 2
            {
                known.push((v, mask(v)));
            }
        }
    }
    // Longest first, so that an address is masked before a name inside it.
    known.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
    let mut text = reason.to_owned();
    for (value, masked) in &known {
        if text.contains(value) {
            text = text.replace(value, masked);
        }
    }
    mask_text(&text)
}
