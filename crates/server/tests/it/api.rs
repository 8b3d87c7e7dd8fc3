//! The HTTP API as senders and staff use it.

use serde_json::Value;
use traffic::{Case, Generator, Mix};

use crate::support::{self, has, now_ms};

fn generator() -> Generator {
    Generator::new(11, Mix::default())
}

fn agent_of(set: &traffic::DeclarationSet) -> String {
    set.messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
        .map(|m| m.sender.clone())
        .unwrap()
}

#[tokio::test]
async fn a_clean_declaration_is_released_with_its_tax_bill_and_receipts() {
    let server = support::start().await;
    let set = generator().set_of(Case::Clean, now_ms());
    let receipts = server.send_set(&set).await;
    for kind in [
        "CEB312Message",
        "CEB412Message",
        "CEB512Message",
        "CEB622Message",
    ] {
        assert!(has(&receipts, kind, "2"), "{kind} accepted: {receipts:#?}");
        assert!(has(&receipts, kind, "120"), "{kind} logic check passed");
    }
    assert!(has(&receipts, "CEB622Message", "399"));
    assert!(has(&receipts, "CEB622Message", "800"), "released");
    assert!(
        receipts.iter().any(|r| r["messageType"] == "CEB816Message"),
        "tax bill"
    );
    let released = receipts
        .iter()
        .find(|r| r["messageType"] == "CEB622Message" && r["returnStatus"] == "800")
        .unwrap();
    assert!(
        released["receipt"]["returnInfo"]
            .as_str()
            .unwrap()
            .contains("2600")
    );
    assert!(
        released["xml"]
            .as_str()
            .unwrap()
            .contains("xmlns=\"http://www.chinaport.gov.cn/ceb\"")
    );

    // The agent sees the declaration as released, with its receipts.
    let agent = agent_of(&set);
    let id = released["declarationId"].as_str().unwrap();
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/v1/declarations/{id}"),
            Some(&server.token(&agent)),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], 800);
    assert!(!body["invtNo"].is_null());
    assert!(!body["receipts"].as_array().unwrap().is_empty());
    // No buyer data in the view.
    assert!(!body.to_string().contains(&set.buyer.id_number));
    assert!(!body.to_string().contains(&set.buyer.name));

    // The tax bill is listed for the agent, pending within 30 days.
    let (status, body) = server
        .call(
            "GET",
            "/api/v1/tax-bills",
            Some(&server.token(&agent)),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["taxBills"][0]["levyState"], "pending");

    // The buyer's quota shows the dutiable price as used.
    let (status, quota) = server
        .call(
            "POST",
            "/api/v1/quota",
            Some(&server.token(&agent)),
            "application/json",
            serde_json::json!({"name": set.buyer.name, "idNumber": set.buyer.id_number})
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{quota}");
    assert_ne!(quota["used"], "0.00");
    assert_eq!(quota["limit"], "26000.00");
    assert!(!quota.to_string().contains(&set.buyer.id_number));
}

#[tokio::test]
async fn receipts_are_pulled_by_cursor_without_gaps_or_repeats() {
    let server = support::start().await;
    let mut generator = generator();
    let mut all = Vec::new();
    let mut agent = String::new();
    for _ in 0..5 {
        let set = generator.set_of(Case::Clean, now_ms());
        agent = agent_of(&set);
        all.extend(server.send_set(&set).await);
    }
    let expected = all
        .iter()
        .filter(|r| r["recipient"] == agent.as_str())
        .count();
    let token = server.token(&agent);
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let (status, page) = server
            .call(
                "GET",
                &format!("/api/v1/receipts?after={after}&limit=3"),
                Some(&token),
                "",
                b"",
            )
            .await;
        assert_eq!(status, 200);
        let items = page["receipts"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        for item in &items {
            assert_eq!(
                item["recipient"],
                agent.as_str(),
                "only the caller's receipts"
            );
            seen.push(item["seq"].as_i64().unwrap());
        }
        after = page["next"].as_i64().unwrap();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "in order, no repeats");
    assert!(expected > 0);
    assert_eq!(
        seen.len(),
        expected,
        "every receipt addressed to the agent, once"
    );
    // XML form.
    let (status, xml) = server
        .raw(
            "GET",
            "/api/v1/receipts?after=0&limit=2",
            Some(&token),
            "",
            b"",
            "application/xml",
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        xml.starts_with("<?xml") && xml.contains("<Receipts next="),
        "{xml}"
    );
}

#[tokio::test]
async fn every_call_is_authenticated_and_enterprises_see_only_their_own() {
    let server = support::start().await;
    let set = generator().set_of(Case::Clean, now_ms());
    let receipts = server.send_set(&set).await;
    let id = receipts
        .iter()
        .find_map(|r| r["declarationId"].as_str())
        .unwrap()
        .to_string();
    let parties: Vec<String> = set.messages.iter().map(|m| m.sender.clone()).collect();
    let outsider = traffic::demo_registry()
        .iter()
        .map(|e| e.code.to_string())
        .find(|c| !parties.contains(c) && !set.messages.iter().any(|m| m.xml.contains(c.as_str())))
        .expect("a demo enterprise outside this declaration");

    let (status, _) = server
        .call("GET", "/api/v1/declarations", None, "", b"")
        .await;
    assert_eq!(status, 401);
    let (status, _) = server
        .call(
            "GET",
            "/api/v1/declarations",
            Some("ow_000000000000_forged"),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 401);
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/v1/declarations/{id}"),
            Some(&server.token(&outsider)),
            "",
            b"",
        )
        .await;
    assert_eq!(
        status, 404,
        "an outsider cannot tell the declaration exists: {body}"
    );
    let (status, body) = server
        .call(
            "GET",
            "/api/v1/declarations",
            Some(&server.token(&outsider)),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["declarations"].as_array().unwrap().len(), 0);
    let (status, _) = server
        .call(
            "GET",
            "/api/v1/enterprises",
            Some(&server.token(&outsider)),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 403, "the registry is for staff");
    let (status, _) = server
        .call(
            "POST",
            "/api/v1/tariff",
            Some(&server.token(&outsider)),
            "text/csv",
            b"hs\n",
        )
        .await;
    assert_eq!(status, 403);

    // Revocation takes effect on the next call.
    let (status, issued) = server
        .call(
            "POST",
            &format!("/api/v1/enterprises/{outsider}/credentials"),
            Some(&server.admin),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 201);
    let token = issued["token"].as_str().unwrap();
    let (status, _) = server
        .call("GET", "/api/v1/receipts", Some(token), "", b"")
        .await;
    assert_eq!(status, 200);
    let key = issued["keyId"].as_str().unwrap();
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/api/v1/credentials/{key}"),
            Some(&server.admin),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .call("GET", "/api/v1/receipts", Some(token), "", b"")
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bad_messages_get_a_clear_answer_and_nothing_is_journalled() {
    let server = support::start().await;
    let mut generator = generator();
    let (_, before) = server.call("GET", "/healthz", None, "", b"").await;

    for case in [Case::Malformed, Case::SchemaInvalid, Case::Hostile] {
        let set = generator.set_of(case, now_ms());
        let mut refused = 0;
        for message in &set.messages {
            let (status, body) = server.send(message).await;
            if status == 422 {
                refused += 1;
                assert_eq!(
                    body["type"],
                    "https://onewindow.dev/problems/invalid-message"
                );
                assert!(
                    body["ceb900"].as_str().unwrap().contains("CEB900Message"),
                    "{body}"
                );
                assert!(!body["issues"].as_array().unwrap().is_empty());
            }
        }
        assert_eq!(refused, 1, "{case:?}: exactly the bad message is refused");
    }
    // A receipt is not a declaration; a sender cannot speak for another enterprise.
    let set = generator.set_of(Case::Clean, now_ms());
    let order = &set
        .messages
        .iter()
        .find(|m| m.message_type == "CEB311Message")
        .unwrap();
    let other = traffic::demo_registry()
        .iter()
        .find(|e| e.code != order.sender)
        .unwrap()
        .code;
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/messages",
            Some(&server.token(other)),
            "application/xml",
            order.xml.as_bytes(),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["type"],
        "https://onewindow.dev/problems/sender-mismatch"
    );
    let receipt = r#"<?xml version="1.0" encoding="UTF-8"?><CEB312Message xmlns="http://www.chinaport.gov.cn/ceb" guid="4CDE1CFD-EDED-46B1-946C-B8022E42FC94" version="1.0"><OrderReturn><guid>4CDE1CFD-EDED-46B1-946C-B8022E42FC94</guid><ebpCode>1</ebpCode><ebcCode>1</ebcCode><orderNo>1</orderNo><returnStatus>2</returnStatus><returnTime>20260101000000000</returnTime><returnInfo>x</returnInfo></OrderReturn></CEB312Message>"#;
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/messages",
            Some(&server.token(other)),
            "application/xml",
            receipt.as_bytes(),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // Oversized bodies are refused before parsing.
    let big = vec![b' '; server::api::MAX_BODY + 1];
    let (status, _) = server
        .call(
            "POST",
            "/api/v1/messages",
            Some(&server.token(other)),
            "application/xml",
            &big,
        )
        .await;
    assert_eq!(status, 413);

    let (_, after) = server.call("GET", "/healthz", None, "", b"").await;
    let good_messages = 3 * 3; // the well-formed messages of the three bad sets
    assert_eq!(
        after["journal"].as_i64().unwrap() - before["journal"].as_i64().unwrap(),
        good_messages,
        "refused messages are not journalled"
    );
}

#[tokio::test]
async fn inconsistent_declarations_are_rejected_with_the_catalogue_code() {
    let server = support::start().await;
    let mut generator = generator();
    for (case, code) in [
        (Case::PayerMismatch, "1327"),
        (Case::UnfiledEnterprise, ""),
        (Case::OverSingleLimit, "621005"),
        (Case::NotOnPositiveList, ""),
    ] {
        let set = generator.set_of(case, now_ms());
        let receipts = server.send_set(&set).await;
        let rejected: Vec<&Value> = receipts
            .iter()
            .filter(|r| {
                let s = r["returnStatus"].as_str().unwrap();
                s == "100" || s.starts_with('-')
            })
            .collect();
        assert!(!rejected.is_empty(), "{case:?} rejected: {receipts:#?}");
        assert!(
            rejected
                .iter()
                .any(|r| r["receipt"]["returnInfo"].as_str().unwrap().contains(code)),
            "{case:?} carries code {code}: {rejected:#?}"
        );
        assert!(
            !has(&receipts, "CEB622Message", "800"),
            "{case:?} never released"
        );
    }
}

/// Every `.route("…", …)` of a router source, in order: the path literal and the HTTP methods
/// its method router names (`get(…)`, `post(…)`, `axum::routing::delete(…)` …).
fn routes_in(source: &str) -> Vec<(String, Vec<&'static str>)> {
    source
        .split(".route(")
        .skip(1)
        .filter_map(|rest| {
            // The arguments run to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let end = rest.char_indices().find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            })?;
            let args = &rest[..end];
            let path = args.trim_start().strip_prefix('"')?.split('"').next()?;
            let methods = ["get", "post", "put", "patch", "delete"]
                .into_iter()
                .filter(|m| {
                    args.match_indices(&format!("{m}(")).any(|(i, _)| {
                        !args[..i]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                    })
                })
                .collect();
            Some((path.to_string(), methods))
        })
        .collect()
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let server = support::start().await;
    let (status, doc) = server.call("GET", "/openapi.json", None, "", b"").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    // Every file that declares routes, with how many it declares at least (so a change in the
    // route syntax cannot make this test pass by finding nothing). A new area adds its line.
    let sources: &[(&str, &str, usize)] = &[
        ("api.rs", include_str!("../../src/api.rs"), 13),
        ("oversight.rs", include_str!("../../src/oversight.rs"), 29),
        ("portal/mod.rs", include_str!("../../src/portal/mod.rs"), 2),
        (
            "portal/session.rs",
            include_str!("../../src/portal/session.rs"),
            2,
        ),
        (
            "portal/public.rs",
            include_str!("../../src/portal/public.rs"),
            5,
        ),
        (
            "portal/enterprise.rs",
            include_str!("../../src/portal/enterprise.rs"),
            8,
        ),
        (
            "portal/desk.rs",
            include_str!("../../src/portal/desk.rs"),
            20,
        ),
        (
            "portal/admin.rs",
            include_str!("../../src/portal/admin.rs"),
            5,
        ),
        (
            "portal/applications.rs",
            include_str!("../../src/portal/applications.rs"),
            5,
        ),
        ("statistics.rs", include_str!("../../src/statistics.rs"), 8),
        (
            "certificates.rs",
            include_str!("../../src/certificates.rs"),
            2,
        ),
        ("audit.rs", include_str!("../../src/audit.rs"), 3),
        ("personal.rs", include_str!("../../src/personal.rs"), 1),
        (
            "entrustments.rs",
            include_str!("../../src/entrustments.rs"),
            3,
        ),
    ];
    let mut routes = Vec::new();
    for (file, source, at_least) in sources {
        let found = routes_in(source);
        assert!(
            found.len() >= *at_least,
            "the routes of {file} were found: {found:?}"
        );
        routes.extend(found);
    }
    for (path, methods) in &routes {
        let item = &doc["paths"][path.as_str()];
        assert!(item.is_object(), "{path} documented");
        assert!(!methods.is_empty(), "{path}: methods found");
        for method in methods {
            assert!(
                item[*method]["responses"].is_object(),
                "{method} {path} documented with its responses"
            );
        }
        assert_eq!(
            item.as_object().unwrap().len(),
            methods.len(),
            "{path}: exactly the routed methods are documented"
        );
    }
    // The public query is the only part reachable without a credential.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let open = op["security"].as_array().is_some_and(|s| s.is_empty());
            // The portal's public pages (and its static files) are open by design; every other
            // portal page needs a session.
            let portal_public = op["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "portal (public)"));
            let public = path.starts_with("/api/public/")
                || path == "/healthz"
                || path == "/openapi.json"
                || portal_public;
            assert_eq!(open, public, "{method} {path}: security");
        }
    }
    // Every documented path is served (nothing documented that the routers lack).
    for path in doc["paths"].as_object().unwrap().keys() {
        assert!(routes.iter().any(|(p, _)| p == path), "{path} is routed");
    }
    let (status, body) = server.call("GET", "/no/such/route", None, "", b"").await;
    assert_eq!(status, 404);
    assert_eq!(body["status"], 404);
}

#[tokio::test]
async fn administrators_change_rule_settings_and_they_take_effect() {
    let server = support::start().await;
    let set = generator().set_of(Case::Clean, now_ms());
    let agent = agent_of(&set);
    let (status, _) = server
        .call(
            "GET",
            "/api/v1/settings",
            Some(&server.token(&agent)),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 403, "settings are for staff");
    let (status, current) = server
        .call("GET", "/api/v1/settings", Some(&server.admin), "", b"")
        .await;
    assert_eq!(status, 200);
    assert_eq!(current["annual_limit"], "26000");
    let (status, body) = server
        .call(
            "PUT",
            "/api/v1/settings",
            Some(&server.admin),
            "application/json",
            br#"{"annual_limit": "100"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The engine now refuses what exceeds the lowered annual limit.
    let receipts = server.send_set(&set).await;
    assert!(!has(&receipts, "CEB622Message", "800"), "{receipts:#?}");
    assert!(receipts.iter().any(|r| {
        r["receipt"]["returnInfo"]
            .as_str()
            .unwrap_or("")
            .contains("621018")
            || r["receipt"]["returnInfo"]
                .as_str()
                .unwrap_or("")
                .contains("1313")
    }));
    let (status, quota) = server
        .call(
            "POST",
            "/api/v1/quota",
            Some(&server.token(&agent)),
            "application/json",
            serde_json::json!({"name": set.buyer.name, "idNumber": set.buyer.id_number})
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(quota["limit"], "100.00");
    let (status, _) = server
        .call(
            "PUT",
            "/api/v1/settings",
            Some(&server.admin),
            "application/json",
            b"{not json",
        )
        .await;
    assert_eq!(status, 422);
}

/// A clean declaration sent and released: its set, its inventory number and its agent.
async fn released_clean_set(
    server: &support::TestServer,
    generator: &mut Generator,
) -> (traffic::DeclarationSet, String, String) {
    let set = generator.set_of(Case::Clean, now_ms());
    let receipts = server.send_set(&set).await;
    let released = receipts
        .iter()
        .find(|r| r["messageType"] == "CEB622Message" && r["returnStatus"] == "800")
        .expect("released");
    let invt_no = released["receipt"]["invtNo"].as_str().unwrap().to_string();
    let agent = agent_of(&set);
    (set, invt_no, agent)
}

/// The documents that follow a declaration: signed-for status, arrival list, a cancellation after
/// release (refused) and a return within 30 days (tax not levied, quota restored).
#[tokio::test]
async fn follow_up_documents_return_cancel_status_and_arrival() {
    let server = support::start().await;
    let mut generator = generator();
    let (set, invt_no, agent) = released_clean_set(&server, &mut generator).await;
    assert_ne!(server.quota_used(&agent, &set.buyer).await, "0.00");

    let status_msg = generator.logistics_status(&set, now_ms()).unwrap();
    let (status, body) = server.send(&status_msg).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        has(body["receipts"].as_array().unwrap(), "CEB514Message", "2"),
        "{body}"
    );

    let arrival = generator.delivery(&[&set], now_ms()).unwrap();
    let (status, body) = server.send(&arrival).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["messageType"] == "CEB712Message"),
        "{body}"
    );

    let cancel = generator.cancel(&set, &invt_no, now_ms()).unwrap();
    let (status, body) = server.send(&cancel).await;
    assert_eq!(status, 200, "{body}");
    let answer = body["receipts"].as_array().unwrap();
    assert!(
        answer
            .iter()
            .any(|r| r["messageType"] == "CEB624Message" && r["returnStatus"] == "100"),
        "a released inventory cannot be cancelled: {body}"
    );

    let refund = generator.refund(&set, &invt_no, now_ms()).unwrap();
    let (status, body) = server.send(&refund).await;
    assert_eq!(status, 200, "{body}");
    let answer = body["receipts"].as_array().unwrap();
    assert!(has(answer, "CEB626Message", "2"), "{body}");
    assert!(has(answer, "CEB626Message", "399"), "{body}");
    let (_, bills) = server
        .call(
            "GET",
            "/api/v1/tax-bills",
            Some(&server.token(&agent)),
            "",
            b"",
        )
        .await;
    let levy: Vec<&str> = bills["taxBills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["levyState"].as_str().unwrap())
        .collect();
    assert!(levy.contains(&"not_levied"), "{bills}");
    // The generator returns every line in full: the bill is voided and the quota restored.
    assert!(has(answer, "CEB818Message", "3"), "{body}");
    assert_eq!(
        server.quota_used(&agent, &set.buyer).await,
        "0.00",
        "a full return restores the quota"
    );
}

/// The JSON equivalent of a CEB message is accepted, validated as the XML it stands for, and
/// answered like it.
#[tokio::test]
async fn a_declaration_in_its_json_form_is_accepted_like_the_xml() {
    let server = support::start().await;
    let set = generator().set_of(Case::Clean, now_ms());
    let order = set
        .messages
        .iter()
        .find(|m| m.message_type == "CEB311Message")
        .unwrap();
    let parsed = ceb::parse(order.xml.as_bytes(), &ceb::Limits::default()).unwrap();
    let ceb::Message::Ceb311(message) = parsed.message else {
        panic!("an order")
    };
    let body =
        serde_json::json!({ "messageType": "CEB311Message", "message": message }).to_string();
    assert!(
        body.contains("\"OrderHead\""),
        "element names as in the XML: {body}"
    );
    let (status, answer) = server
        .call(
            "POST",
            "/api/v1/messages",
            Some(&server.token(&order.sender)),
            "application/json",
            body.as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        has(answer["receipts"].as_array().unwrap(), "CEB312Message", "2"),
        "{answer}"
    );

    // A JSON message missing a required element is refused with the schema issue.
    let mut broken: serde_json::Value = serde_json::from_str(&body).unwrap();
    broken["message"]["Order"][0]["OrderHead"]
        .as_object_mut()
        .unwrap()
        .remove("buyerTelephone");
    broken["message"]["Order"][0]["OrderHead"]["guid"] =
        "B1A2C3D4-0000-4000-8000-00000000000F".into();
    let (status, answer) = server
        .call(
            "POST",
            "/api/v1/messages",
            Some(&server.token(&order.sender)),
            "application/json",
            broken.to_string().as_bytes(),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("buyerTelephone"), "{answer}");
    let (status, _) = server
        .call(
            "POST",
            "/api/v1/messages",
            Some(&server.token(&order.sender)),
            "application/json",
            b"{\"messageType\": 1}",
        )
        .await;
    assert_eq!(status, 400);
}

/// `onewindow tariff load`: a tariff that takes a line off the positive list changes the next
/// decision, and a malformed tariff file is refused with its line number.
#[tokio::test]
async fn loading_a_tariff_changes_what_may_clear() {
    let server = support::start().await;
    let set = generator().set_of(Case::Clean, now_ms());
    let inventory = set
        .messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
        .unwrap();
    let hs: Vec<String> = inventory
        .xml
        .split("<ceb:gcode>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect();
    // The built-in tariff with every line this declaration uses taken off the positive list.
    let builtin = include_str!("../../../domain/data/tariff.csv");
    let edited: String = builtin
        .lines()
        .map(|line| {
            if hs.iter().any(|h| line.starts_with(&format!("{h},"))) {
                // positive_list is the fourth field from the end (names may hold commas).
                let mut tail: Vec<&str> = line.rsplitn(5, ',').collect();
                tail[3] = "no";
                tail.reverse();
                tail.join(",")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/tariff",
            Some(&server.admin),
            "text/csv",
            edited.as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let receipts = server.send_set(&set).await;
    assert!(!has(&receipts, "CEB622Message", "800"), "{receipts:#?}");
    assert!(
        receipts.iter().any(|r| r["receipt"]["returnInfo"]
            .as_str()
            .unwrap_or("")
            .contains("9402")),
        "{receipts:#?}"
    );
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/tariff",
            Some(&server.admin),
            "text/csv",
            b"hs,name,vat_rate,ct_rate,ct_threshold,mfn_rate,positive_list,bonded_only,legal_unit,second_unit\n12,x,13%,0,,0,yes,no,011,\n",
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["title"].as_str().unwrap().contains('2'),
        "names the line: {body}"
    );
}

/// Rewrites a generated message as if `stranger` had sent it: the `field` naming the sender of
/// record and the BaseTransfer become the stranger's, and it is signed with the stranger's own
/// (filed) key — exactly what the outside probe did.
fn as_stranger(
    message: &traffic::GeneratedMessage,
    field: &str,
    stranger: &str,
    edits: &[(&str, &str)],
) -> traffic::GeneratedMessage {
    let original = traffic::demo_registry()
        .iter()
        .find(|e| e.code == message.sender)
        .unwrap();
    let other = traffic::demo_registry()
        .iter()
        .find(|e| e.code == stranger)
        .unwrap();
    let mut xml = message
        .xml
        .replace(
            &format!("<ceb:{field}>{}</ceb:{field}>", original.code),
            &format!("<ceb:{field}>{stranger}</ceb:{field}>"),
        )
        .replace(
            &format!("<ceb:copCode>{}</ceb:copCode>", original.code),
            &format!("<ceb:copCode>{stranger}</ceb:copCode>"),
        )
        .replace(original.dxp_id, other.dxp_id);
    for (from, to) in edits {
        xml = xml.replace(from, to);
    }
    if traffic::SIGNED_MESSAGES.contains(&message.message_type) {
        let signer = traffic::demo_signer(stranger).unwrap();
        xml =
            String::from_utf8(ceb::dsig::sign_unchecked(xml.as_bytes(), signer).unwrap()).unwrap();
    }
    traffic::GeneratedMessage {
        sender: stranger.to_string(),
        xml,
        ..message.clone()
    }
}

fn refused_with(body: &Value, message_type: &str, code: &str) -> bool {
    body["receipts"].as_array().unwrap().iter().any(|r| {
        r["messageType"] == message_type
            && r["receipt"]["returnInfo"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("[Code:{code};"))
    })
}

/// Finding 1 of "Close the holes", over HTTP with signatures required: another filed enterprise,
/// with its own credential and certificate, returned a released declaration it did not declare
/// (the tax bill went to "not levied" and the buyer's quota came back), and changed an order.
/// Now refused with 9303 and nothing changes.
#[tokio::test]
async fn a_stranger_cannot_change_cancel_or_return_another_enterprises_declaration() {
    let server = support::start().await;
    let mut generator = generator();
    let (set, invt_no, agent) = released_clean_set(&server, &mut generator).await;
    let stranger = ["3301960EAA", "3301960EAB"]
        .into_iter()
        .find(|a| *a != agent)
        .unwrap();
    let used = server.quota_used(&agent, &set.buyer).await;
    assert_ne!(used, "0.00");

    let refund = generator.refund(&set, &invt_no, now_ms()).unwrap();
    let forged = as_stranger(&refund, "agentCode", stranger, &[]);
    let (status, body) = server.send(&forged).await;
    assert_eq!(status, 200, "{body}");
    assert!(refused_with(&body, "CEB626Message", "9303"), "{body}");
    assert!(!has(
        body["receipts"].as_array().unwrap(),
        "CEB626Message",
        "399"
    ));
    assert_eq!(
        server.quota_used(&agent, &set.buyer).await,
        used,
        "the buyer's quota is not given back"
    );
    let (_, bills) = server
        .call(
            "GET",
            "/api/v1/tax-bills",
            Some(&server.token(&agent)),
            "",
            b"",
        )
        .await;
    assert!(!bills.to_string().contains("not_levied"), "{bills}");

    // A new cancel under the stranger's name is refused the same way.
    let cancel = generator.cancel(&set, &invt_no, now_ms()).unwrap();
    let (_, body) = server
        .send(&as_stranger(&cancel, "agentCode", stranger, &[]))
        .await;
    assert!(refused_with(&body, "CEB624Message", "9303"), "{body}");

    // An order modification by another seller of the same platform.
    let order = set
        .messages
        .iter()
        .find(|m| m.message_type == "CEB311Message")
        .unwrap();
    let seller = traffic::demo_registry()
        .iter()
        .map(|e| e.code)
        .find(|c| {
            order
                .xml
                .contains(&format!("<ceb:ebcCode>{c}</ceb:ebcCode>"))
        })
        .unwrap();
    let other_seller = ["3301960BAA", "3301960BAB", "3301960BAC"]
        .into_iter()
        .find(|s| *s != seller)
        .unwrap();
    let sender_field = if order.sender == seller {
        "ebcCode"
    } else {
        "ebpCode"
    };
    let mut modified = order.clone();
    modified.xml = modified
        .xml
        .replace(
            "<ceb:appType>1</ceb:appType>",
            "<ceb:appType>2</ceb:appType>",
        )
        .replace(
            &format!("<ceb:ebcCode>{seller}</ceb:ebcCode>"),
            &format!("<ceb:ebcCode>{other_seller}</ceb:ebcCode>"),
        );
    let forged = if sender_field == "ebcCode" {
        traffic::GeneratedMessage {
            sender: other_seller.to_string(),
            xml: modified.xml.replace(
                &format!("<ceb:copCode>{seller}</ceb:copCode>"),
                &format!("<ceb:copCode>{other_seller}</ceb:copCode>"),
            ),
            ..modified
        }
    } else {
        as_stranger(&modified, "ebcCode", other_seller, &[])
    };
    let (status, body) = server.send(&forged).await;
    assert_eq!(status, 200, "{body}");
    assert!(refused_with(&body, "CEB312Message", "9303"), "{body}");
}

/// Entrustments over the API: a seller files one with an agent, the agent accepts, either
/// revokes; a third enterprise is told it does not exist; staff read them all.
#[tokio::test]
async fn entrustments_are_filed_accepted_and_revoked_over_the_api() {
    let server = support::start().await;
    let seller = server.token("3301960BAZ");
    let platform = server.token("3301960AAB");
    let other = server.token("3301960DAA");
    let post = |token: String, path: String, body: Value| {
        let server = &server;
        async move {
            server
                .call(
                    "POST",
                    &path,
                    Some(&token),
                    "application/json",
                    body.to_string().as_bytes(),
                )
                .await
        }
    };
    // The demo registry already joins them (filed with the registry): a second is refused.
    let (status, body) = post(
        seller.clone(),
        "/api/v1/entrustments".into(),
        serde_json::json!({"partner": "3301960AAB"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    // A new partner: the logistics firm (an entrustment needs no particular role).
    let (status, body) = post(
        seller.clone(),
        "/api/v1/entrustments".into(),
        serde_json::json!({"partner": "3301960DAB", "validUntil": "2099-12-31"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["state"], "proposed");
    let id = body["result"]["id"].as_str().unwrap().to_string();
    // Bad input: unknown fields, a bad date, an unfiled partner.
    for (payload, want) in [
        (
            serde_json::json!({"partner": "3301960DAB", "extra": 1}),
            400,
        ),
        (
            serde_json::json!({"partner": "3301960DAB", "validFrom": "soon"}),
            400,
        ),
        (serde_json::json!({"partner": "NOBODY0001"}), 404),
    ] {
        let (status, body) = post(seller.clone(), "/api/v1/entrustments".into(), payload).await;
        assert_eq!(status, want, "{body}");
    }
    // Only the partner answers; a third enterprise does not see it.
    let (status, _) = post(
        seller.clone(),
        format!("/api/v1/entrustments/{id}/accept"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post(
        other.clone(),
        format!("/api/v1/entrustments/{id}/revoke"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call(
            "GET",
            &format!("/api/v1/entrustments/{id}"),
            Some(&other),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 404);
    let logistics = server.token("3301960DAB");
    let (status, body) = post(
        logistics.clone(),
        format!("/api/v1/entrustments/{id}/accept"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["inForce"], true);
    let (status, body) = server
        .call(
            "GET",
            "/api/v1/entrustments?status=accepted",
            Some(&logistics),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.to_string().contains(&id), "{body}");
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["key"].as_str().unwrap().ends_with(":3301960DAB")),
        "an enterprise sees its own copies: {body}"
    );
    let (status, body) = post(
        platform.clone(),
        format!("/api/v1/entrustments/{id}/revoke"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = post(
        seller.clone(),
        format!("/api/v1/entrustments/{id}/revoke"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["state"], "revoked");
    // Staff read them all, with the registry's and the upgrade's among them.
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/v1/entrustments/{id}"),
            Some(&server.admin.clone()),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "revoked");
    let regulator = server.regulator_token("customs").await;
    let (status, body) = post(
        regulator,
        "/api/v1/entrustments".into(),
        serde_json::json!({"partner": "3301960DAB"}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
}
