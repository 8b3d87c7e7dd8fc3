//! The one HTTP error type: every failure is answered as an RFC 9457 problem document
//! (`application/problem+json`) with a stable `type`, and the internal cause goes to the log only.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

/// Read a JSON body as `T`. The error names where the body went wrong and what was expected there,
/// never the value found: a wrongly typed field may hold a name, an ID number or a telephone, and
/// serde's own text quotes it (`invalid type: string "张三", expected …`).
pub fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(&e))?;
    de.end().map_err(|e| without_value(&e))?;
    Ok(value)
}

/// [`from_json`] for a value already read: the same error text, paths relative to `value`.
pub fn from_json_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| json_error(&e))
}

fn json_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let what = without_value(e.inner());
    match e.path().to_string().as_str() {
        "" | "." => what,
        path => format!("{path}: {what}"),
    }
}

/// serde_json's error text with every value it quotes left out. Syntax errors never quote the
/// input; data errors (`invalid type: string "…"`, `invalid value: integer `…``, `unknown variant
/// `…``) do, so only their kind and what was expected are kept, and any other data error says
/// "invalid value".
pub fn without_value(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    let at = if e.line() > 0 {
        format!(" at line {} column {}", e.line(), e.column())
    } else {
        String::new()
    };
    let message = text.strip_suffix(&at).unwrap_or(&text);
    if !matches!(e.classify(), Category::Data) {
        return format!("{message}{at}");
    }
    // The last one: serde writes what it expected after the value, and a quoted value may itself
    // hold ", expected ".
    let (head, expected) = match message.rfind(", expected ") {
        Some(i) => (&message[..i], Some(&message[i + 2..])),
        None => (message, None),
    };
    // The kind of a value serde quotes: `string "…"` → `string`, `floating point `…`` → `floating point`.
    let kind = |rest: &str| {
        rest.split(['"', '`'])
            .next()
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let head = if let Some(rest) = head.strip_prefix("invalid type: ") {
        format!("invalid type: {}", kind(rest))
    } else if let Some(rest) = head.strip_prefix("invalid value: ") {
        format!("invalid value: {}", kind(rest))
    } else if head.starts_with("unknown variant") {
        "unknown variant".to_owned()
    } else if head.starts_with("invalid length ")
        || head.starts_with("missing field `")
        || head.starts_with("duplicate field `")
        || head.starts_with("unknown field `")
    {
        // A length, or a field name the schema (or the sender's own key) gives: no value.
        head.to_owned()
    } else {
        "invalid value".to_owned()
    };
    match expected {
        Some(expected) => format!("{head}, {expected}{at}"),
        None => format!("{head}{at}"),
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
