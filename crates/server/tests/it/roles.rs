//! The role matrix of `docs/roles.md`, checked route by route: every operation the OpenAPI
//! document describes (the API and the portal's pages alike) is called as each role — nobody,
//! the enterprise that is a party of a real declaration, an enterprise that is not, each
//! regulator department, the administrator and the auditor — and the answer must be what the
//! matrix says. API calls carry the role's bearer credential; portal pages its session cookie
//! (and, for forms, the session's CSRF token, so that what is checked is the role and not the
//! token). Request bodies are empty or `{}`: an allowed role gets a validation answer, which is
//! enough to tell "allowed" from "refused", and nothing is changed that a later call needs.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use traffic::{Case, Generator, Mix};

use crate::browser_support::{Browser, add_user};
use crate::support::{self, TestServer, now_ms};

const MATRIX: &str = include_str!("../../../../docs/roles.md");
const PASSWORD: &str = "correct horse battery staple";

/// The matrix's columns, in order.
const ROLES: [&str; 11] = [
    "public",
    "party",
    "other",
    "customs",
    "inspection",
    "tax",
    "market_supervision",
    "zone_office",
    "third_party",
    "admin",
    "auditor",
];

/// One row of the matrix: an operation and the expected answer for each role.
#[derive(Clone, Debug)]
struct Row {
    method: String,
    path: String,
    cells: Vec<String>,
}

/// The rows of every table in the document whose first cell is an HTTP method.
fn matrix() -> Vec<Row> {
    MATRIX
        .lines()
        .filter_map(|line| {
            let cells: Vec<String> = line
                .trim()
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            let method = cells.first()?.clone();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                return None;
            }
            assert_eq!(
                cells.len(),
                2 + ROLES.len(),
                "docs/roles.md: a row has a cell for each role: {line}"
            );
            Some(Row {
                method,
                path: cells[1].clone(),
                cells: cells[2..].to_vec(),
            })
        })
        .collect()
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/openapi.json"
}

/// What a role holds: an API credential, and (except the auditor, who has no portal account) a
/// signed-in portal session.
struct Holder {
    token: Option<String>,
    browser: Option<Browser>,
    /// The session's CSRF token (read once, when signed in).
    csrf: String,
}

/// What one call answered.
#[derive(Clone, Debug)]
struct Seen {
    status: u16,
    location: String,
    body: String,
}

impl Seen {
    fn refused(&self, role: &str, api: bool) -> bool {
        self.status == 403
            || (role == "public" && api && self.status == 401)
            || (role == "public"
                && !api
                && self.status == 303
                && self.location.starts_with("/login"))
    }
}

/// The world the calls are made in: a released declaration with its parties, and throwaway
/// targets for the calls that change something (a credential to rotate and revoke, an account
/// to disable).
struct World {
    params: BTreeMap<&'static str, String>,
    /// Strings of the party's declaration that no one else may see.
    secrets: Vec<String>,
    /// The buyer's ID number (generated, not a real person's), for the quota query.
    buyer_id: String,
}

/// Paths whose `{id}` names something other than a declaration: an id that exists nowhere (an
/// allowed role is told 404, a refused one 403 first).
const OTHER_IDS: [&str; 12] = [
    "/api/v1/alerts/",
    "/api/v1/entrustments/",
    "/api/v1/inspections/",
    "/api/v1/listings/",
    "/api/v1/goods-controls/",
    "/api/v1/recalls/",
    "/apply/",
    "/desk/applications/",
    "/desk/alerts/",
    "/desk/inspections/",
    "/desk/listings/",
    "/my/listings/",
];

fn field(xml: &str, name: &str) -> String {
    let open = format!(":{name}>");
    let i = xml.find(&open).expect("the field is in the message") + open.len();
    xml[i..i + xml[i..].find('<').unwrap_or(0)].to_string()
}

async fn issue(server: &TestServer, subject: &str) -> Value {
    let (status, body) = server
        .call(
            "POST",
            &format!("/api/v1/enterprises/{subject}/credentials"),
            Some(&server.admin),
            "application/json",
            b"{}",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn signed_in(server: &TestServer, token: String, username: &str, subject: &str) -> Holder {
    add_user(server, username, subject, PASSWORD).await;
    let mut browser = Browser::new(server);
    let answer = browser.login(username, PASSWORD).await;
    assert_eq!(answer.status, 303, "{username} signs in: {}", answer.body);
    let csrf = browser.csrf().await;
    Holder {
        token: Some(token),
        browser: Some(browser),
        csrf,
    }
}

fn token_of(issued: &Value) -> String {
    issued["token"].as_str().unwrap().to_string()
}

/// What to send for one operation: the concrete path, the API body, the portal form's fields.
struct Request {
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    form: Vec<(&'static str, String)>,
}

/// A well-formed request for each operation, so that what decides is the role: supervision
/// actions are checked for the department by the engine once their body is read, so their
/// bodies are valid, and aimed at targets where an allowed department changes nothing that the
/// rest of the run needs (a product code no goods carry, a buyer no one is, a declaration not
/// under inspection).
fn request_for(row: &Row, world: &World) -> Request {
    let mut path = row.path.clone();
    // Steps and ids that differ by page.
    let step = match () {
        _ if path.starts_with("/desk/alerts/") => "assess",
        _ if path.starts_with("/my/listings/") => "appeal",
        _ => "disable",
    };
    path = path.replace("{step}", step);
    if path == "/api/public/statistics/{name}" {
        path = "/api/public/statistics/overview".to_string();
    }
    if path == "/api/v1/risk/rules/{code}" {
        path = "/api/v1/risk/rules/R11".to_string();
    }
    if OTHER_IDS.iter().any(|p| path.starts_with(p)) {
        path = path.replace("{id}", "ZZ0000000000");
    }
    let path = concrete(&path, world);
    let json = |v: Value| ("application/json", v.to_string().into_bytes());
    let (content_type, body) = match (row.method.as_str(), row.path.as_str()) {
        ("GET" | "DELETE", _) => ("", Vec::new()),
        (_, "/api/v1/declarations/{id}/personal-data") => {
            json(json!({"reason": "checking the role matrix"}))
        }
        (_, "/api/v1/quota") => json(json!({"name": "测试", "idNumber": world.buyer_id})),
        (_, "/api/v1/alerts/{id}/assess") => json(json!({"level": "low"})),
        (_, "/api/v1/alerts/{id}/dispose") => json(json!({"disposal": "no_action"})),
        (_, "/api/v1/alerts/{id}/review") => json(json!({"confirmed": true})),
        (_, "/api/v1/inspections/{id}/finding") => json(json!({"passed": true})),
        (_, "/api/v1/declarations/{id}/conclude") => {
            json(json!({"release": true, "reason": "role matrix"}))
        }
        (_, "/api/v1/credit/{code}/certifications") => json(json!({"level": "general"})),
        (_, "/api/v1/credit/{code}/ratings") => {
            json(json!({"agency": "Role Matrix Rating", "score": 80}))
        }
        (_, "/api/v1/credit/{code}/complaints") => {
            json(json!({"upheld": false, "note": "role matrix"}))
        }
        (_, "/api/v1/tax-bills/{invt_no}/payment") => json(json!({"paid_on": "2026-12-01"})),
        (_, "/api/v1/listings") => json(json!({
            "subject": {"type": "buyer", "key": "0".repeat(64)},
            "category": "other",
            "severity": "warning",
            "evidence": "role matrix",
        })),
        (_, "/api/v1/listings/{id}/steps") => {
            json(json!({"action": "appeal", "reason": "role matrix"}))
        }
        (_, "/api/v1/goods-controls") => json(json!({
            "matcher": {"by": "product", "code": "ROLE-MATRIX-NONE"},
            "control": "restricted",
            "reason": "role matrix",
        })),
        (_, "/api/v1/recalls") => json(json!({
            "matcher": {"by": "product", "code": "ROLE-MATRIX-NONE"},
            "reason": "role matrix",
        })),
        (_, "/api/v1/risk/rules/{code}") => json(json!({"mode": "observe"})),
        (_, "/api/v1/risk/reference-prices") => {
            ("text/csv", b"hs,unit,reference_price,note\n".to_vec())
        }
        _ => json(json!({})),
    };
    let text = |v: &str| v.to_string();
    let form = match row.path.as_str() {
        "/desk/declarations/{id}/conclude" => {
            vec![("release", text("true")), ("reason", text("role matrix"))]
        }
        "/desk/inspections/{id}/finding" => vec![("passed", text("true"))],
        "/desk/declarations/{id}/personal-data" => {
            vec![("reason", text("checking the role matrix"))]
        }
        "/desk/alerts/{id}/{step}" => vec![("level", text("low"))],
        "/desk/applications/{id}/decide" => vec![("approve", text("false"))],
        "/my/listings/{id}/{step}" => vec![("text", text("role matrix"))],
        _ => Vec::new(),
    };
    Request {
        path,
        content_type,
        body,
        form,
    }
}

async fn call(
    server: &TestServer,
    holder: &mut Holder,
    method: &str,
    request: &Request,
) -> Option<Seen> {
    let path = request.path.as_str();
    if is_api(path) {
        let (status, text) = server
            .raw(
                method,
                path,
                holder.token.as_deref(),
                request.content_type,
                &request.body,
                "application/json",
            )
            .await;
        return Some(Seen {
            status,
            location: String::new(),
            body: text,
        });
    }
    let browser = holder.browser.as_mut()?;
    let answer = if method == "GET" {
        browser.get(path).await
    } else {
        // The token the page's own form carries: the public forms' pre-session token, the
        // session's everywhere else. So what decides is the role, not the token.
        let public_form = ["/login", "/quota", "/status", "/apply"].contains(&path);
        let csrf = if public_form || holder.csrf.is_empty() {
            browser.get(if public_form { path } else { "/login" }).await;
            browser.cookies.get("ow_form").cloned().unwrap_or_default()
        } else {
            holder.csrf.clone()
        };
        if path == "/my/upload" {
            browser.upload(&csrf, &[]).await
        } else {
            let mut fields: Vec<(&str, &str)> = vec![("csrf", &csrf)];
            fields.extend(request.form.iter().map(|(k, v)| (*k, v.as_str())));
            browser.post(path, &fields).await
        }
    };
    Some(Seen {
        status: answer.status,
        location: answer.location().to_string(),
        body: answer.body,
    })
}

fn concrete(path: &str, world: &World) -> String {
    let mut out = path.to_string();
    for (name, value) in &world.params {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    assert!(!out.contains('{'), "a value for every parameter of {path}");
    out
}

#[tokio::test]
async fn every_route_and_page_answers_each_role_as_the_matrix_says() {
    // Every call comes from one address, and the public's are refused on purpose: the door's
    // throttle of failed authentications would soon answer 429 to all of them. The portal's
    // public look-ups have a throttle of their own, switched off for the same reason.
    let server = support::start_configured(
        None,
        server::guard::GuardConfig {
            failed_auth: server::guard::Rate::UNLIMITED,
            ..server::guard::GuardConfig::default()
        },
        server::portal::PortalConfig {
            lookup_rate: server::guard::Rate::UNLIMITED,
            ..server::portal::PortalConfig::default()
        },
    )
    .await;
    let set = Generator::new(29, Mix::default()).set_of(Case::Clean, now_ms());
    let receipts = server.send_set(&set).await;
    assert!(
        support::has(&receipts, "CEB622Message", "800"),
        "{receipts:#?}"
    );
    // The party: the declaring agent, the sender of the inventory list.
    let list = set
        .messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
        .unwrap();
    let (inventory, party) = (&list.xml, list.sender.clone());
    let other = traffic::demo_registry()
        .iter()
        .find(|e| e.has_role("logistics") && !set.messages.iter().any(|m| m.sender == e.code))
        .unwrap()
        .code
        .to_string();
    let declaration = domain::clearance::DeclarationId::derive(
        &field(inventory, "ebpCode"),
        &field(inventory, "orderNo"),
    )
    .0;
    let (status, view) = server
        .call(
            "GET",
            &format!("/api/v1/declarations/{declaration}"),
            Some(&server.token(&party)),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{view}");
    let invt_no = view
        .to_string()
        .split("\"invtNo\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the released declaration has its inventory number")
        .to_string();

    // Throwaway targets: a second credential of the party, an account to disable.
    let spare = issue(&server, &party).await;
    add_user(&server, "victim.user", &other, PASSWORD).await;

    let world = World {
        params: BTreeMap::from([
            ("id", declaration.clone()),
            ("code", party.clone()),
            ("subject", party.clone()),
            ("key", format!("E:{party}")),
            ("key_id", spare["keyId"].as_str().unwrap().to_string()),
            ("invt_no", invt_no.clone()),
            ("fingerprint", "0".repeat(64)),
            ("name", "victim.user".to_string()),
            ("file", "declarations.csv".to_string()),
            ("table", "lists".to_string()),
        ]),
        secrets: vec![
            declaration.clone(),
            invt_no.clone(),
            field(inventory, "orderNo"),
        ],
        buyer_id: set.buyer.id_number.clone(),
    };
    let mut holders: Vec<Holder> = Vec::new();
    for role in ROLES {
        let holder = match role {
            "public" => Holder {
                token: None,
                browser: Some(Browser::new(&server)),
                csrf: String::new(),
            },
            "party" => signed_in(&server, server.token(&party), "party.user", &party).await,
            "other" => signed_in(&server, server.token(&other), "other.user", &other).await,
            "admin" => signed_in(&server, server.admin.clone(), "admin.user", "admin").await,
            "auditor" => Holder {
                token: Some(token_of(&issue(&server, "auditor").await)),
                browser: None,
                csrf: String::new(),
            },
            department => {
                let subject = format!("regulator:{department}");
                let token = token_of(&issue(&server, &subject).await);
                let username = format!("{}.user", department.replace('_', "-"));
                signed_in(&server, token, &username, &subject).await
            }
        };
        holders.push(holder);
    }

    // Every operation of the OpenAPI document is in the matrix, once, and nothing else is.
    let (status, doc) = server.call("GET", "/openapi.json", None, "", b"").await;
    assert_eq!(status, 200);
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let rows = matrix();
    let mut listed: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    listed.sort();
    assert_eq!(
        listed, documented,
        "docs/roles.md lists every documented operation once"
    );

    // Logging out ends the session the other rows use: it goes last.
    let mut ordered = rows.clone();
    ordered.sort_by_key(|r| r.path == "/logout");
    let mut wrong = Vec::new();
    let mut observed = Vec::new();
    for row in &ordered {
        let api = is_api(&row.path);
        let request = request_for(row, &world);
        let path = request.path.clone();
        let mut seen_row = Vec::new();
        for holder in holders.iter_mut() {
            seen_row.push(call(&server, holder, &row.method, &request).await);
        }
        let party_status = seen_row[1].as_ref().map(|s| s.status);
        let mut symbols = Vec::new();
        for (i, role) in ROLES.iter().enumerate() {
            let expected = row.cells[i].as_str();
            let Some(seen) = &seen_row[i] else {
                symbols.push("n/a".to_string());
                if expected != "n/a" {
                    wrong.push(format!(
                        "{} {} as {role}: no portal session, expected {expected}",
                        row.method, row.path
                    ));
                }
                continue;
            };
            if seen.status >= 500 || seen.status == 429 {
                wrong.push(format!(
                    "{} {path} as {role}: {} {}",
                    row.method, seen.status, seen.body
                ));
            }
            let symbol = if seen.refused(role, api) {
                "✗"
            } else if *role == "other"
                && seen.status == 404
                && party_status.is_some_and(|s| s != 404)
            {
                "404"
            } else if expected == "own" {
                "own"
            } else {
                "✓"
            };
            symbols.push(symbol.to_string());
            let ok = match expected {
                "✓" => symbol == "✓",
                "own" => {
                    symbol == "own"
                        && (*role != "other"
                            || !world.secrets.iter().any(|s| seen.body.contains(s.as_str())))
                }
                "✗" | "404" => symbol == expected,
                other => panic!("docs/roles.md: {other:?} is not a cell of the matrix"),
            };
            if !ok {
                wrong.push(format!(
                    "{} {path} as {role}: expected {expected}, answered {} {}",
                    row.method,
                    seen.status,
                    seen.body.chars().take(160).collect::<String>()
                ));
            }
        }
        observed.push(format!(
            "| {} | `{}` | {} |",
            row.method,
            row.path,
            symbols.join(" | ")
        ));
    }
    assert!(
        wrong.is_empty(),
        "{} answers differ from docs/roles.md:\n{}\n\nas answered:\n{}",
        wrong.len(),
        wrong.join("\n"),
        observed.join("\n")
    );
    // Not vacuous: the non-party is told "not found" somewhere, and refused somewhere.
    assert!(observed.iter().any(|l| l.contains("| 404 |")));
    assert!(observed.iter().any(|l| l.contains("✗")));
}
