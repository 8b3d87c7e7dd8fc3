//! The one HTTP error type: every failure is answered as an RFC 9457 problem document
//! (`application/problem+json`) with a stable `type`, and the internal cause goes to the log only.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ingest::intake::Refusal;
use serde_json::json;

pub use ingest::json::{from_json, from_json_value, without_value};

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// Stable short identifier, documented in docs/api.md (`unauthorized`, `forbidden`, …).
    pub kind: &'static str,
    pub title: String,
    pub detail: Option<String>,
    /// Extra members (e.g. the validation issues, the CEB900 receipt).
    pub extra: Option<serde_json::Value>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, title: impl Into<String>) -> Problem {
        Problem {
            status,
            kind,
            title: title.into(),
            detail: None,
            extra: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    pub fn extra(mut self, extra: serde_json::Value) -> Problem {
        self.extra = Some(extra);
        self
    }

    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid API credential is required (Authorization: Bearer ow_…)",
        )
    }

    pub fn forbidden() -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This credential may not do that",
        )
    }

    pub fn not_found(what: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("No such {what}"),
        )
    }

    pub fn bad_request(kind: &'static str, title: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, kind, title)
    }

    /// The store or the ingest pipeline is unavailable: nothing was accepted, try again.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Problem {
        tracing::error!(%cause, "service unavailable");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The store is unavailable; nothing was accepted. Retry later.",
        )
    }
}

/// A refusal at intake as the problem document the sender gets (with the CEB900 for format and
/// signature refusals).
impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Problem {
        let title = refusal.to_string();
        match refusal {
            Refusal::Invalid { rejection, ceb900 } => {
                let issues: Vec<serde_json::Value> = rejection
                    .issues
                    .iter()
                    .map(|i| serde_json::json!({ "path": i.path, "rule": i.rule, "detail": i.detail }))
                    .collect();
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-message", title).extra(
                    serde_json::json!({
                        "code": rejection.code,
                        "messageType": rejection.message_type,
                        "guid": rejection.guid,
                        "issues": issues,
                        "ceb900": ceb900,
                    }),
                )
            }
            Refusal::NotADeclaration(_) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "not-a-declaration", title)
            }
            Refusal::SenderMismatch { .. } => {
                Problem::new(StatusCode::FORBIDDEN, "sender-mismatch", title)
            }
            Refusal::BadJson(_) => Problem::new(StatusCode::BAD_REQUEST, "bad-json", title),
            Refusal::Signature { rejection, ceb900 } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-signature",
                title,
            )
            .extra(serde_json::json!({
                "code": rejection.code,
                "messageType": rejection.message_type,
                "guid": rejection.guid,
                "issues": rejection
                    .issues
                    .iter()
                    .map(|i| serde_json::json!({ "path": i.path, "rule": i.rule, "detail": i.detail }))
                    .collect::<Vec<_>>(),
                "ceb900": ceb900,
            })),
        }
    }
}

impl From<store::StoreError> for Problem {
    fn from(e: store::StoreError) -> Problem {
        Problem::unavailable(&e)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("https://onewindow.dev/problems/{}", self.kind),
            "title": self.title,
            "status": self.status.as_u16(),
        });
        if let (Some(detail), Some(map)) = (self.detail, body.as_object_mut()) {
            map.insert("detail".into(), detail.into());
        }
        if let (Some(serde_json::Value::Object(extra)), Some(map)) =
            (self.extra, body.as_object_mut())
        {
            map.extend(extra);
        }
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
