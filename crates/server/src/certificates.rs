//! Certificates filed per enterprise (证书备案), over HTTP: an administrator files an X.509
//! certificate (PEM or DER) for an enterprise, lists them, and revokes one. Filing and revoking
//! are journal entries (`CERTIFICATE`), so a rebuild reproduces them; the intake cache is
//! refreshed as soon as the entry is durable. docs/signatures.md and docs/api.md.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use store::CertificateRow;

use crate::api::{AppState, authenticate, blocking, submit};
use crate::auth::Principal;
use crate::problem::Problem;
use ingest::clock::now_ms;
use ingest::intake::Intake;
use ingest::pipeline::Job;
use ingest::signatures::{CERTIFICATE, CertificateEntry};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/enterprises/{code}/certificates",
            get(list_certificates).post(file_certificate),
        )
        .route(
            "/api/v1/enterprises/{code}/certificates/{fingerprint}",
            delete(revoke_certificate),
        )
}

/// How a filed certificate is shown: everything but the DER, which is in `pem`.
pub fn certificate_json(r: &CertificateRow) -> Value {
    let pem = ceb::dsig::Certificate::from_der(&r.der)
        .map(|c| c.to_pem())
        .unwrap_or_default();
    json!({
        "enterprise": r.enterprise,
        "fingerprint": r.fingerprint,
        "serial": r.serial,
        "subject": r.subject,
        "algorithm": r.algorithm,
        "notBefore": ceb::dsig::iso_utc(r.not_before_ms),
        "notAfter": ceb::dsig::iso_utc(r.not_after_ms),
        "filedAtMs": r.filed_at_ms,
        "revokedAtMs": r.revoked_at_ms,
        "pem": pem,
    })
}

/// Staff see every enterprise's certificates; an enterprise sees its own.
async fn may_read(state: &AppState, headers: &HeaderMap, code: &str) -> Result<(), Problem> {
    match authenticate(state, headers).await? {
        Principal::Enterprise(own) if own != code => Err(Problem::forbidden()),
        _ => Ok(()),
    }
}

async fn admin(state: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    match authenticate(state, headers).await? {
        Principal::Admin => Ok(()),
        _ => Err(Problem::forbidden()),
    }
}

async fn on_file(state: &AppState, code: &str) -> Result<Vec<CertificateRow>, Problem> {
    let store = state.store.clone();
    let code = code.to_string();
    blocking(move || store.certificates(Some(&code))).await
}

/// `GET /api/v1/enterprises/{code}/certificates`: the enterprise's certificates, revoked ones
/// included, oldest filing first.
async fn list_certificates(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Json<Value>, Problem> {
    may_read(&state, &headers, &code).await?;
    let rows = on_file(&state, &code).await?;
    Ok(Json(json!({
        "certificates": rows.iter().map(certificate_json).collect::<Vec<_>>()
    })))
}

/// Journal a certificate entry, wait until it is durable, and refresh the intake cache.
async fn journal(state: &AppState, code: &str, entry: CertificateEntry) -> Result<i64, Problem> {
    let at = now_ms();
    let body = entry.to_json();
    let job = Job::admin(CERTIFICATE, body, Intake::Certificate(Box::new(entry)), at);
    let accepted = submit(state, job).await?;
    let store = state.store.clone();
    let cache = state.certificates.clone();
    let code = code.to_string();
    blocking(move || cache.refresh(store.as_ref(), &code)).await?;
    Ok(accepted.seq)
}

/// The administrator's filing or revocation, in the audit log beside its journal entry `seq`.
async fn audited(
    state: &AppState,
    action: &str,
    code: &str,
    fingerprint: &str,
    seq: i64,
) -> Result<(), Problem> {
    crate::audit::record(
        state,
        vec![crate::audit::entry(
            crate::auth::ADMIN,
            action,
            code,
            "ok",
            &crate::audit::current_source(),
            serde_json::json!({ "fingerprint": fingerprint, "seq": seq }),
        )],
    )
    .await
}

/// `POST /api/v1/enterprises/{code}/certificates`: file a certificate (PEM, DER or base64 DER in
/// the body) for a filed enterprise. Filing a certificate already live for it changes nothing
/// (200); filing a revoked one again lifts the revocation (201).
async fn file_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    admin(&state, &headers).await?;
    let certificate = ceb::dsig::Certificate::from_pem_or_der(&body).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-certificate",
            "not an X.509 certificate with an SM2 or RSA key",
        )
        .detail(e.to_string())
    })?;
    let store = state.store.clone();
    let lookup = code.clone();
    if blocking(move || store.enterprise(&lookup)).await?.is_none() {
        return Err(Problem::not_found("filed enterprise"));
    }
    let now = now_ms();
    if certificate.not_after_ms() < now {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-certificate",
            "the certificate has expired",
        )
        .detail(format!(
            "not after {}",
            ceb::dsig::iso_utc(certificate.not_after_ms())
        )));
    }
    // One certificate, one enterprise: a key that signs for two would blur who declared.
    let store = state.store.clone();
    let everyone = blocking(move || store.certificates(None)).await?;
    if let Some(other) = everyone.iter().find(|r| {
        r.fingerprint == certificate.fingerprint()
            && r.enterprise != code
            && r.revoked_at_ms.is_none()
    }) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "certificate-of-another-enterprise",
            "this certificate is filed for another enterprise",
        )
        .detail(format!(
            "{} is live for {}; revoke it there first",
            other.fingerprint, other.enterprise
        )));
    }
    if let Some(live) = everyone.iter().find(|r| {
        r.fingerprint == certificate.fingerprint()
            && r.enterprise == code
            && r.revoked_at_ms.is_none()
    }) {
        return Ok((StatusCode::OK, Json(certificate_json(live))));
    }
    let seq = journal(&state, &code, CertificateEntry::file(&code, &certificate)).await?;
    audited(
        &state,
        "certificate.file",
        &code,
        certificate.fingerprint(),
        seq,
    )
    .await?;
    let rows = on_file(&state, &code).await?;
    let filed = rows
        .iter()
        .find(|r| r.fingerprint == certificate.fingerprint())
        .map(certificate_json)
        .unwrap_or(Value::Null);
    let mut answer = filed;
    if let Some(map) = answer.as_object_mut() {
        map.insert("seq".into(), seq.into());
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `DELETE /api/v1/enterprises/{code}/certificates/{fingerprint}`: revoke at once; the next
/// message signed under it is refused (1999).
async fn revoke_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((code, fingerprint)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    admin(&state, &headers).await?;
    let fingerprint = fingerprint.to_ascii_lowercase();
    let rows = on_file(&state, &code).await?;
    match rows.iter().find(|r| r.fingerprint == fingerprint) {
        None => Err(Problem::not_found("certificate filed for this enterprise")),
        Some(r) if r.revoked_at_ms.is_some() => Err(Problem::new(
            StatusCode::CONFLICT,
            "already-revoked",
            "the certificate is already revoked",
        )),
        Some(_) => {
            let seq = journal(
                &state,
                &code,
                CertificateEntry::Revoke {
                    enterprise: code.clone(),
                    fingerprint: fingerprint.clone(),
                },
            )
            .await?;
            audited(&state, "certificate.revoke", &code, &fingerprint, seq).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}
