//! The OpenAPI 3.1 document of the HTTP API, served at `/openapi.json`. Written by hand next to
//! the routes it describes; a test checks that every route is in it.
//!
//! The document is kept in fragments, one per area of the API (`openapi/*.json`): `core.json`
//! holds the head (info, servers, security schemes, shared responses) and the clearance and
//! supervision routes; every other fragment adds its own `paths` and `components.schemas`. They are
//! merged once, at first use; a path or schema defined twice is a bug the unit test below catches.

use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The fragments, in the order they are merged (the first is the head).
const FRAGMENTS: &[(&str, &str)] = &[
    ("core", include_str!("openapi/core.json")),
    ("portal", include_str!("openapi/portal.json")),
    ("statistics", include_str!("openapi/statistics.json")),
    ("certificates", include_str!("openapi/certificates.json")),
    ("audit", include_str!("openapi/audit.json")),
    ("entrustments", include_str!("openapi/entrustments.json")),
];

/// Merge the fragments: paths, schemas, responses and parameters are unions. Returns the names
/// defined more than once alongside the document.
fn merge(fragments: &[(&str, &str)]) -> (Value, Vec<String>) {
    let mut duplicates = Vec::new();
    let mut document = Value::Object(Map::new());
    for (index, (name, text)) in fragments.iter().enumerate() {
        let fragment: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                duplicates.push(format!("{name}: not JSON: {e}"));
                continue;
            }
        };
        if index == 0 {
            document = fragment;
            continue;
        }
        for (section, path) in [
            ("paths", vec!["paths"]),
            ("schemas", vec!["components", "schemas"]),
            ("responses", vec!["components", "responses"]),
            ("parameters", vec!["components", "parameters"]),
            ("securitySchemes", vec!["components", "securitySchemes"]),
        ] {
            let Some(items) = lookup(&fragment, &path).and_then(Value::as_object) else {
                continue;
            };
            let Some(target) = entry(&mut document, &path) else {
                duplicates.push(format!("{name}: {section} is not an object in the head"));
                continue;
            };
            for (key, value) in items {
                if target.insert(key.clone(), value.clone()).is_some() {
                    duplicates.push(format!("{name}: {section} {key}"));
                }
            }
        }
    }
    (document, duplicates)
}

fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

fn entry<'a>(value: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut current = value;
    for key in path {
        current = current
            .as_object_mut()?
            .entry((*key).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    current.as_object_mut()
}

/// Answers any operation may give whatever its fragment says, added where a fragment does not
/// list them: the door refuses a client over its rate (429) and the store may be unavailable
/// (503) on every route; a request whose query string or body cannot be read is refused (400); a
/// body over the size limit too (413), and one of a type the route does not take (415); and a
/// route that is not public refuses a missing or bad credential (401). All are problem documents;
/// where a fragment documents a 400 of its own (a portal form answering with its page), the
/// problem document the framework gives for an unreadable request is added beside it. The
/// property-based API fuzzer
/// (`scripts/api-fuzz.sh`) checks that no other status comes back.
fn answers_everywhere(document: &mut Value) {
    let problem = serde_json::json!({ "$ref": "#/components/responses/Problem" });
    let public = |op: &Value| {
        op.get("security")
            .and_then(Value::as_array)
            .is_some_and(|s| s.is_empty())
    };
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                continue;
            }
            let has_query = op
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let has_body = op.get("requestBody").is_some();
            let is_public = public(op);
            let Some(responses) = op
                .as_object_mut()
                .map(|o| {
                    o.entry("responses")
                        .or_insert_with(|| Value::Object(Map::new()))
                })
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let mut add = |status: &str| {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| problem.clone());
            };
            add("429");
            if path != "/openapi.json" {
                add("503");
            }
            if has_query || has_body {
                add("400");
            }
            if has_body {
                add("413");
                add("415");
            }
            if !is_public && path != "/openapi.json" && path != "/healthz" {
                add("401");
            }
            if let Some(content) = responses
                .get_mut("400")
                .and_then(|r| r.get_mut("content"))
                .and_then(Value::as_object_mut)
            {
                content.entry("application/problem+json").or_insert_with(
                    || serde_json::json!({ "schema": { "$ref": "#/components/schemas/Problem" } }),
                );
            }
        }
    }
}

/// The whole document, as served.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (mut document, _) = merge(FRAGMENTS);
        answers_everywhere(&mut document);
        document.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_json_and_define_each_path_and_schema_once() {
        let (document, duplicates) = merge(FRAGMENTS);
        assert!(duplicates.is_empty(), "{duplicates:?}");
        assert_eq!(document["openapi"], "3.1.0");
        assert!(document["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }

    #[test]
    fn every_operation_documents_the_answers_of_the_door_and_the_store() {
        let document: Value = serde_json::from_str(document()).unwrap_or(Value::Null);
        let messages = &document["paths"]["/api/v1/messages"]["post"]["responses"];
        for status in ["400", "401", "413", "415", "429", "503"] {
            assert!(
                messages.get(status).is_some(),
                "POST /api/v1/messages {status}"
            );
        }
        let upload = &document["paths"]["/my/upload"]["post"]["responses"]["400"]["content"];
        assert!(upload.get("text/html").is_some(), "the portal's own page");
        assert!(
            upload.get("application/problem+json").is_some(),
            "an unreadable multipart body is refused by the framework"
        );
        let public = &document["paths"]["/api/public/credit"]["get"]["responses"];
        assert!(
            public.get("401").is_none(),
            "public routes need no credential"
        );
        assert!(public.get("400").is_some(), "it has a query string");
    }

    #[test]
    fn a_path_defined_twice_is_reported() {
        let head = r#"{"openapi":"3.1.0","paths":{"/a":{}}}"#;
        let again = r#"{"paths":{"/a":{}},"components":{"schemas":{"S":{}}}}"#;
        let (document, duplicates) = merge(&[("core", head), ("x", again)]);
        assert_eq!(duplicates, vec!["x: paths /a".to_string()]);
        assert!(document["components"]["schemas"]["S"].is_object());
    }
}
