//! The credit and risk API as regulators, enterprises and the public use it: alert queue and its
//! four-stage lifecycle, document review, inspection findings, credit records, the credit
//! negative list with appeal, goods controls, recalls, rule settings and the public query.

use serde_json::{Value, json};
use traffic::{Case, DeclarationSet, Generator, Mix, Scheme};

use crate::support::{self, TestServer, has, now_ms};

fn generator() -> Generator {
    Generator::new(11, Mix::default())
}

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, Value) {
    server.call("GET", path, token, "", b"").await
}

async fn post(server: &TestServer, path: &str, token: &str, body: Value) -> (u16, Value) {
    server
        .call(
            "POST",
            path,
            Some(token),
            "application/json",
            body.to_string().as_bytes(),
        )
        .await
}

async fn patch(server: &TestServer, path: &str, token: &str, body: Value) -> (u16, Value) {
    server
        .call(
            "PATCH",
            path,
            Some(token),
            "application/json",
            body.to_string().as_bytes(),
        )
        .await
}

/// Issue a credential for `regulator:<department>`, as the administrator does.
async fn regulator(server: &TestServer, department: &str) -> String {
    let (status, body) = server
        .call(
            "POST",
            &format!("/api/v1/enterprises/regulator:{department}/credentials"),
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// Random inspection by credit class off, so a clean declaration is released and a risky one is
/// held exactly as its risk score says.
async fn no_sampling(server: &TestServer) {
    let (status, body) = server
        .call(
            "PUT",
            "/api/v1/settings",
            Some(&server.admin),
            "application/json",
            br#"{"policy":{"sampling":false}}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn send_all(server: &TestServer, sets: &[DeclarationSet]) -> Vec<Value> {
    let mut receipts = Vec::new();
    for set in sets {
        receipts.extend(server.send_set(set).await);
    }
    receipts
}

/// The declaration ids whose inventory receipt (CEB622) carries `status`.
fn declarations_at(receipts: &[Value], status: &str) -> Vec<String> {
    let mut ids: Vec<String> = receipts
        .iter()
        .filter(|r| r["messageType"] == "CEB622Message" && r["returnStatus"] == status)
        .filter_map(|r| r["declarationId"].as_str().map(str::to_string))
        .collect();
    ids.dedup();
    ids
}

fn any_info_contains(receipts: &[Value], code: &str) -> bool {
    receipts.iter().any(|r| {
        r["receipt"]["returnInfo"]
            .as_str()
            .unwrap_or("")
            .contains(code)
    })
}

/// A code between `<ceb:{tag}>` and its end tag in the set's inventory.
fn inventory_field(set: &DeclarationSet, tag: &str) -> String {
    let xml = &set
        .messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
        .unwrap()
        .xml;
    let open = format!("<ceb:{tag}>");
    xml.split(&open)
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_string()
}

fn agent_of(set: &DeclarationSet) -> String {
    set.messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
        .map(|m| m.sender.clone())
        .unwrap()
}

/// Every alert record in the queue (all pages).
async fn alerts(server: &TestServer, token: &str) -> Vec<Value> {
    let (status, body) = get(server, "/api/v1/alerts?limit=1000", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn alerts_of_rule<'a>(items: &'a [Value], rule: &str) -> Vec<&'a Value> {
    items
        .iter()
        .filter(|a| {
            // A family code (`R5`) stands for its members (`R5-PHONE` …).
            let code = a["record"]["hit"]["rule"].as_str().unwrap_or("");
            code == rule || code.strip_prefix(rule).is_some_and(|m| m.starts_with('-'))
        })
        .collect()
}

async fn alert_status(server: &TestServer, token: &str, id: &str) -> String {
    let (status, body) = get(server, &format!("/api/v1/alerts/{id}"), Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body["status"].as_str().unwrap().to_string()
}

async fn declaration(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, body) = get(server, &format!("/api/v1/declarations/{id}"), Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn no_personal_data(text: &str, sets: &[DeclarationSet]) {
    for set in sets {
        for secret in [&set.buyer.name, &set.buyer.id_number, &set.buyer.phone] {
            assert!(
                !text.contains(secret.as_str()),
                "personal data in the answer: {:?}",
                set.buyer
            );
        }
    }
}

#[tokio::test]
async fn a_fraud_scheme_raises_alerts_that_regulators_work_through_their_lifecycle() {
    let server = support::start().await;
    no_sampling(&server).await;
    let customs = regulator(&server, "customs").await;
    let mut generator = generator();

    // 化整为零: the split-order ring raises alerts with their rule and evidence, and the queue
    // shows no buyer in clear.
    let ring = generator.scheme(Scheme::SplitOrderRing, now_ms());
    send_all(&server, &ring).await;
    let (status, queue) = get(&server, "/api/v1/alerts?limit=1000", Some(&customs)).await;
    assert_eq!(status, 200, "{queue}");
    let items = queue["items"].as_array().unwrap();
    for rule in Scheme::SplitOrderRing.rules() {
        let hits = alerts_of_rule(items, rule);
        assert!(!hits.is_empty(), "{rule} raised an alert: {queue}");
        assert!(
            !hits[0]["record"]["hit"]["evidence"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{rule} records its evidence"
        );
    }
    assert!(queue["total"].as_i64().unwrap() >= items.len() as i64);
    no_personal_data(&queue.to_string(), &ring);

    // Alerts are for regulators: an enterprise is refused, the public even more so.
    let enterprise = server.token(&agent_of(&ring[0]));
    let (status, body) = get(&server, "/api/v1/alerts", Some(&enterprise)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["type"], "https://onewindow.dev/problems/forbidden");
    let (status, _) = get(&server, "/api/v1/alerts", None).await;
    assert_eq!(status, 401);

    // 二次销售: one bulk order scores R11 alone and is held for document review (300).
    let bulk = generator.scheme(Scheme::BulkResale, now_ms());
    let receipts = send_all(&server, &bulk).await;
    let held = declarations_at(&receipts, "300");
    assert_eq!(held.len(), 1, "held for document review: {receipts:#?}");
    let held = &held[0];
    let items = alerts(&server, &customs).await;
    let alert = alerts_of_rule(&items, "R11")
        .into_iter()
        .find(|a| a["record"]["declaration"] == held.as_str())
        .expect("an R11 alert on the held declaration");
    let id = alert["key"].as_str().unwrap().to_string();
    assert_eq!(alert["status"], "open");

    // Steps out of order are refused and change nothing.
    let (status, body) = post(
        &server,
        &format!("/api/v1/alerts/{id}/dispose"),
        &customs,
        json!({"disposal": "inspection"}),
    )
    .await;
    assert_eq!(status, 409, "dispose before assess: {body}");
    assert_eq!(
        body["type"],
        "https://onewindow.dev/problems/action-refused"
    );
    let (status, body) = post(
        &server,
        &format!("/api/v1/alerts/{id}/review"),
        &customs,
        json!({"confirmed": true}),
    )
    .await;
    assert_eq!(status, 409, "review before dispose: {body}");
    assert_eq!(alert_status(&server, &customs, &id).await, "open");
    let (status, _) = post(
        &server,
        "/api/v1/alerts/AL99999999/assess",
        &customs,
        json!({"level": "high"}),
    )
    .await;
    assert_eq!(status, 404, "no such alert");
    let (status, _) = post(
        &server,
        &format!("/api/v1/alerts/{id}/assess"),
        &customs,
        json!({"level": "severe"}),
    )
    .await;
    assert_eq!(status, 400, "not a level");

    // 评估 → 预警处置 (inspection) → finding → 复查.
    let (status, body) = post(
        &server,
        &format!("/api/v1/alerts/{id}/assess"),
        &customs,
        json!({"level": "high", "note": "30 units of one product"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(alert_status(&server, &customs, &id).await, "assessed");
    let (status, body) = post(
        &server,
        &format!("/api/v1/alerts/{id}/assess"),
        &customs,
        json!({"level": "low"}),
    )
    .await;
    assert_eq!(status, 409, "assessed once: {body}");
    let (status, body) = post(
        &server,
        &format!("/api/v1/alerts/{id}/dispose"),
        &customs,
        json!({"disposal": "inspection", "note": "open the parcel"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(alert_status(&server, &customs, &id).await, "disposed");
    assert_eq!(declaration(&server, &customs, held).await["status"], 500);

    let (status, tasks) = get(&server, "/api/v1/inspections?status=open", Some(&customs)).await;
    assert_eq!(status, 200, "{tasks}");
    let task = tasks["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["record"]["declaration"] == held.as_str())
        .expect("an open inspection task for the declaration")
        .clone();
    let task_id = task["key"].as_str().unwrap();
    let (status, body) = post(
        &server,
        &format!("/api/v1/inspections/{task_id}/finding"),
        &customs,
        json!({"passed": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(declaration(&server, &customs, held).await["status"], 800);
    let (status, body) = get(
        &server,
        &format!("/api/v1/inspections/{task_id}"),
        Some(&customs),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "passed", "{body}");

    let (status, body) = post(
        &server,
        &format!("/api/v1/alerts/{id}/review"),
        &customs,
        json!({"confirmed": true, "note": "resale confirmed"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(alert_status(&server, &customs, &id).await, "reviewed");

    // 复查完善: the rule's precision is what the reviews said.
    let (status, rules) = get(&server, "/api/v1/risk/rules", Some(&customs)).await;
    assert_eq!(status, 200, "{rules}");
    let r11 = rules["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "R11")
        .expect("R11 listed")
        .clone();
    assert_eq!(r11["record"]["stats"]["reviewed"], 1, "{r11}");
    assert_eq!(r11["record"]["stats"]["confirmed"], 1, "{r11}");
    assert_eq!(r11["record"]["precision"], "100", "{r11}");
}

#[tokio::test]
async fn customs_concludes_a_document_review_and_other_departments_may_not() {
    let server = support::start().await;
    no_sampling(&server).await;
    let customs = regulator(&server, "customs").await;
    let market = regulator(&server, "market_supervision").await;
    let bulk = generator().scheme(Scheme::BulkResale, now_ms());
    let receipts = send_all(&server, &bulk).await;
    let held = declarations_at(&receipts, "300");
    assert_eq!(held.len(), 1, "{receipts:#?}");
    let path = format!("/api/v1/declarations/{}/conclude", held[0]);

    let (status, body) = post(&server, &path, &market, json!({"release": true})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["type"], "https://onewindow.dev/problems/forbidden");
    let agent = server.token(&agent_of(&bulk[0]));
    let (status, _) = post(&server, &path, &agent, json!({"release": true})).await;
    assert_eq!(status, 403, "enterprises conclude nothing");
    let (status, _) = post(&server, &path, &server.admin, json!({"release": true})).await;
    assert_eq!(status, 403, "the administrator takes no supervision action");
    assert_eq!(
        declaration(&server, &customs, &held[0]).await["status"],
        300
    );

    let (status, body) = post(
        &server,
        &path,
        &customs,
        json!({"release": true, "reason": "documents in order"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["released"], true);
    assert!(body["receipts"].as_u64().unwrap() > 0, "{body}");
    let view = declaration(&server, &agent, &held[0]).await;
    assert_eq!(view["status"], 800, "{view}");

    // Concluded once: it is no longer held.
    let (status, body) = post(&server, &path, &customs, json!({"release": false})).await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn a_failed_inspection_rejects_the_declaration_and_lowers_the_sellers_credit() {
    let server = support::start().await;
    no_sampling(&server).await;
    let customs = regulator(&server, "customs").await;
    let seller = traffic::UNDERVALUING_SELLER_CODE;
    let sets = generator().scheme(Scheme::UndervaluingSeller, now_ms());
    let receipts = send_all(&server, &sets).await;
    let held = declarations_at(&receipts, "300");
    assert!(!held.is_empty(), "R7 holds for review: {receipts:#?}");
    let items = alerts(&server, &customs).await;
    let alert = alerts_of_rule(&items, "R7")
        .into_iter()
        .find(|a| a["record"]["declaration"] == held[0].as_str())
        .expect("an R7 alert on the held declaration")
        .clone();
    let id = alert["key"].as_str().unwrap();

    let credit_path = format!("/api/v1/credit/{seller}");
    let inspection_facts = |record: &Value| -> String {
        record["record"]["explanation"]["factors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "inspection")
            .map(|f| f["facts"].to_string())
            .unwrap_or_default()
    };
    let (status, before) = get(&server, &credit_path, Some(&customs)).await;
    assert_eq!(status, 200, "{before}");
    let score_before = before["record"]["score"].as_u64().unwrap();
    assert!(inspection_facts(&before).contains("(0 failed)"), "{before}");

    for (step, body) in [
        ("assess", json!({"level": "high"})),
        ("dispose", json!({"disposal": "inspection"})),
    ] {
        let (status, answer) = post(
            &server,
            &format!("/api/v1/alerts/{id}/{step}"),
            &customs,
            body,
        )
        .await;
        assert_eq!(status, 200, "{step}: {answer}");
    }
    let (_, tasks) = get(&server, "/api/v1/inspections?status=open", Some(&customs)).await;
    let task = tasks["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["record"]["declaration"] == held[0].as_str())
        .expect("an inspection task")
        .clone();
    let task_path = format!(
        "/api/v1/inspections/{}/finding",
        task["key"].as_str().unwrap()
    );
    let (status, body) = post(&server, &task_path, &customs, json!({"passed": false})).await;
    assert_eq!(status, 409, "a failed finding needs a reason: {body}");
    let (status, body) = post(
        &server,
        &task_path,
        &customs,
        json!({"passed": false, "reason": "declared price is a third of the invoice"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&server, &task_path, &customs, json!({"passed": true})).await;
    assert_eq!(status, 409, "one finding per task: {body}");

    // The agent sees the rejection with the catalogue code.
    let agent = server.token(&agent_of(&sets[0]));
    let view = declaration(&server, &agent, &held[0]).await;
    assert_eq!(view["status"], 100, "{view}");
    assert!(
        view["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["returnStatus"] == "100"
                && r["receipt"]["returnInfo"]
                    .as_str()
                    .unwrap_or("")
                    .contains("9607")),
        "{view}"
    );

    // The seller's credit counts the failure (below the factor's minimum number of inspections
    // the score stays neutral, so the fact is what shows), and the score never rises from it.
    let (status, after) = get(&server, &credit_path, Some(&customs)).await;
    assert_eq!(status, 200, "{after}");
    assert!(
        inspection_facts(&after).contains("1 failed"),
        "the failed inspection is a fact of the explanation: {after}"
    );
    assert!(
        after["record"]["score"].as_u64().unwrap() <= score_before,
        "{after}"
    );

    // The seller reads its own record with the factor explanation, and nobody else's.
    let own = server.token(seller);
    let (status, mine) = get(&server, "/api/v1/credit/me", Some(&own)).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["key"], format!("E:{seller}"));
    let factors = mine["record"]["explanation"]["factors"].as_array().unwrap();
    assert!(!factors.is_empty(), "{mine}");
    assert!(
        factors
            .iter()
            .all(|f| f["weight"].is_u64() && f["facts"].is_array()),
        "{mine}"
    );
    assert_eq!(inspection_facts(&mine), inspection_facts(&after));
    let (status, _) = get(&server, "/api/v1/credit/3301960BAA", Some(&own)).await;
    assert_eq!(
        status, 404,
        "another enterprise's record does not exist for it"
    );
    let (status, _) = get(&server, "/api/v1/credit", Some(&own)).await;
    assert_eq!(status, 403, "the credit database is for regulators");
}

#[tokio::test]
async fn a_listed_enterprise_is_barred_appeals_and_declares_again_once_revoked() {
    let server = support::start().await;
    no_sampling(&server).await;
    let customs = regulator(&server, "customs").await;
    let mut generator = generator();
    let first = generator.set_of(Case::Clean, now_ms());
    let listed = agent_of(&first);
    let own = server.token(&listed);
    let outsider = traffic::demo_registry()
        .iter()
        .map(|e| e.code.to_string())
        .find(|c| *c != listed && c.starts_with("3301960E"))
        .unwrap();
    let evidence = "case 2026-0042: forged invoices";

    let (status, body) = post(
        &server,
        "/api/v1/listings",
        &customs,
        json!({
            "subject": {"type": "enterprise", "code": listed},
            "category": "commercial_fraud",
            "severity": "listed",
            "evidence": evidence,
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let listing = body["result"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["result"]["state"], "active");

    // 事前准入禁止: its new declaration is refused with 9601 …
    let receipts = server.send_set(&first).await;
    assert!(any_info_contains(&receipts, "9601"), "{receipts:#?}");
    assert!(!has(&receipts, "CEB622Message", "800"));
    // … and filing it again is refused.
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/enterprises",
            Some(&server.admin),
            "text/csv",
            traffic::registry_csv().as_bytes(),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["type"],
        "https://onewindow.dev/problems/listed-enterprise"
    );

    // The public list shows it while it is listed, without the evidence.
    let (status, public) = get(&server, "/api/public/negative-list", None).await;
    assert_eq!(status, 200, "{public}");
    assert!(
        public["listed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["code"] == listed.as_str()),
        "{public}"
    );
    assert!(!public.to_string().contains("forged"), "{public}");
    assert!(!public.to_string().contains("audit"), "{public}");

    // The enterprise sees its own listing; another enterprise cannot tell it exists.
    let (status, mine) = get(&server, "/api/v1/listings", Some(&own)).await;
    assert_eq!(status, 200, "{mine}");
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["key"] == listing.as_str()),
        "{mine}"
    );
    let (status, theirs) = get(&server, "/api/v1/listings", Some(&server.token(&outsider))).await;
    assert_eq!(status, 200);
    assert!(theirs["items"].as_array().unwrap().is_empty(), "{theirs}");
    let listing_path = format!("/api/v1/listings/{listing}");
    let (status, _) = get(&server, &listing_path, Some(&server.token(&outsider))).await;
    assert_eq!(status, 404);
    let steps = format!("{listing_path}/steps");
    let (status, _) = post(
        &server,
        &steps,
        &server.token(&outsider),
        json!({"action": "appeal", "reason": "not us"}),
    )
    .await;
    assert_eq!(status, 404, "another enterprise may not appeal it");
    let (status, body) = post(
        &server,
        &steps,
        &own,
        json!({"action": "decide_appeal", "upheld": false, "note": "self-acquittal"}),
    )
    .await;
    assert_eq!(status, 403, "the enterprise does not decide: {body}");

    // 申诉 → decided by customs: overturned.
    let (status, body) = post(
        &server,
        &steps,
        &own,
        json!({"action": "appeal", "reason": "the invoices were the supplier's"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["state"], "appealed");
    let (status, body) = post(
        &server,
        &steps,
        &own,
        json!({"action": "appeal", "reason": "again"}),
    )
    .await;
    assert_eq!(status, 409, "one appeal at a time: {body}");
    let (status, body) = post(
        &server,
        &steps,
        &customs,
        json!({"action": "decide_appeal", "upheld": false, "note": "supplier at fault"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["state"], "revoked");
    let (status, view) = get(&server, &listing_path, Some(&own)).await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "revoked");
    assert!(
        view["record"]["audit"].as_array().unwrap().len() >= 3,
        "the audit trail records listing, appeal and decision: {view}"
    );

    // Off the public list, and declaring again.
    let (_, public) = get(&server, "/api/public/negative-list", None).await;
    assert!(
        !public["listed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["code"] == listed.as_str()),
        "{public}"
    );
    let again = loop {
        let set = generator.set_of(Case::Clean, now_ms());
        if agent_of(&set) == listed {
            break set;
        }
    };
    let receipts = server.send_set(&again).await;
    assert!(!any_info_contains(&receipts, "9601"), "{receipts:#?}");
    assert!(
        has(&receipts, "CEB622Message", "800"),
        "released again: {receipts:#?}"
    );
}

#[tokio::test]
async fn goods_controls_and_recalls_stop_declarations() {
    let server = support::start().await;
    no_sampling(&server).await;
    let customs = regulator(&server, "customs").await;
    let inspection = regulator(&server, "inspection").await;
    let tax = regulator(&server, "tax").await;
    let mut generator = generator();

    // A banned brand is refused at declaration with 9603.
    let set = generator.set_of(Case::Clean, now_ms());
    let gmodel = inventory_field(&set, "gmodel");
    let brand = gmodel
        .split('(')
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap()
        .to_string();
    let control = json!({
        "matcher": {"by": "brand", "brand": brand},
        "control": "banned",
        "reason": "counterfeit batch",
    });
    let (status, body) = post(&server, "/api/v1/goods-controls", &tax, control.clone()).await;
    assert_eq!(status, 403, "tax does not keep the goods list: {body}");
    let (status, body) = post(&server, "/api/v1/goods-controls", &customs, control).await;
    assert_eq!(status, 200, "{body}");
    let control_id = body["result"]["id"].as_str().unwrap().to_string();
    let (status, list) = get(&server, "/api/v1/goods-controls", Some(&customs)).await;
    assert_eq!(status, 200);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == control_id.as_str()),
        "{list}"
    );
    let receipts = server.send_set(&set).await;
    assert!(any_info_contains(&receipts, "9603"), "{receipts:#?}");
    assert!(!has(&receipts, "CEB622Message", "800"));
    let (status, body) = server
        .call(
            "DELETE",
            &format!("/api/v1/goods-controls/{control_id}"),
            Some(&customs),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/api/v1/goods-controls/{control_id}"),
            Some(&customs),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 404, "removed once");

    // A recall stops a held declaration with 9605 and lists it with a masked buyer only.
    let bulk = generator.scheme(Scheme::BulkResale, now_ms());
    let receipts = send_all(&server, &bulk).await;
    let held = declarations_at(&receipts, "300");
    assert_eq!(held.len(), 1, "{receipts:#?}");
    let hs = inventory_field(&bulk[0], "gcode");
    let (status, body) = post(
        &server,
        "/api/v1/recalls",
        &inspection,
        json!({"matcher": {"by": "hs", "prefix": hs}, "reason": "contaminated lot"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let recall = body["result"]["recall"]["id"].as_str().unwrap().to_string();
    let view = declaration(&server, &customs, &held[0]).await;
    assert_eq!(view["status"], 100, "{view}");
    assert!(view.to_string().contains("9605"), "{view}");
    let (status, record) = get(
        &server,
        &format!("/api/v1/recalls/{recall}"),
        Some(&customs),
    )
    .await;
    assert_eq!(status, 200, "{record}");
    let hits = record["record"]["hits"].as_array().unwrap();
    let hit = hits
        .iter()
        .find(|h| h["declaration"] == held[0].as_str())
        .expect("the stopped declaration is listed");
    assert_eq!(hit["stopped"], true);
    assert!(hit["buyer_masked"].as_str().unwrap().contains('*'), "{hit}");
    no_personal_data(&record.to_string(), &bulk);
    let (status, _) = get(
        &server,
        "/api/v1/recalls",
        Some(&server.token(&agent_of(&bulk[0]))),
    )
    .await;
    assert_eq!(status, 403, "recalls are for regulators");
    let lift = format!("/api/v1/recalls/{recall}/lift");
    let (status, body) = post(&server, &lift, &inspection, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = post(&server, &lift, &inspection, json!({})).await;
    assert_eq!(status, 409, "lifted once");
}

#[tokio::test]
async fn rule_settings_switch_rules_off_observe_them_and_refuse_nonsense() {
    let server = support::start().await;
    no_sampling(&server).await;
    let customs = regulator(&server, "customs").await;
    let inspection = regulator(&server, "inspection").await;
    let mut generator = generator();
    let r11 = "/api/v1/risk/rules/R11";

    let (status, body) = patch(&server, r11, &inspection, json!({"mode": "off"})).await;
    assert_eq!(status, 403, "inspection does not set rules: {body}");
    let (status, body) = patch(
        &server,
        r11,
        &customs,
        json!({"params": {"max_line_qty": "abc"}}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("max_line_qty"),
        "{body}"
    );
    let (status, body) = patch(&server, r11, &customs, json!({"params": {"no_such": 1}})).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = patch(
        &server,
        "/api/v1/risk/rules/R99",
        &customs,
        json!({"mode": "off"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = patch(&server, r11, &customs, json!({"mode": "sometimes"})).await;
    assert_eq!(status, 400);

    // Off: the bulk order raises no alert and is released.
    let (status, body) = patch(&server, r11, &customs, json!({"mode": "off"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["settings"]["mode"], "off");
    let bulk = generator.scheme(Scheme::BulkResale, now_ms());
    let receipts = send_all(&server, &bulk).await;
    assert!(
        alerts_of_rule(&alerts(&server, &customs).await, "R11").is_empty(),
        "no alert while off"
    );
    assert!(has(&receipts, "CEB622Message", "800"), "{receipts:#?}");

    // Observe: the alert is recorded, the declaration released all the same.
    let (status, body) = patch(&server, r11, &customs, json!({"mode": "observe"})).await;
    assert_eq!(status, 200, "{body}");
    let bulk = generator.scheme(Scheme::BulkResale, now_ms());
    let receipts = send_all(&server, &bulk).await;
    assert!(has(&receipts, "CEB622Message", "800"), "{receipts:#?}");
    assert!(declarations_at(&receipts, "300").is_empty());
    let items = alerts(&server, &customs).await;
    let observed = alerts_of_rule(&items, "R11");
    assert_eq!(observed.len(), 1, "{items:#?}");
    assert_eq!(observed[0]["record"]["hit"]["mode"], "observe");

    // On again with a higher threshold: the next bulk order passes quietly.
    let (status, body) = patch(
        &server,
        r11,
        &customs,
        json!({"mode": "on", "params": {"max_line_qty": "100", "max_qty_per_hs6": "200"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, rules) = get(&server, "/api/v1/risk/rules", Some(&customs)).await;
    let rule = rules["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "R11")
        .unwrap()
        .clone();
    assert_eq!(rule["status"], "on");
    assert!(
        rule["record"]["settings"]["version"].as_u64().unwrap() >= 4,
        "{rule}"
    );
    let bulk = generator.scheme(Scheme::BulkResale, now_ms());
    let receipts = send_all(&server, &bulk).await;
    assert!(has(&receipts, "CEB622Message", "800"), "{receipts:#?}");
    assert_eq!(
        alerts_of_rule(&alerts(&server, &customs).await, "R11").len(),
        1
    );

    // Reference prices: a CSV that is not one gets a problem.
    let (status, body) = server
        .call(
            "PUT",
            "/api/v1/risk/reference-prices",
            Some(&customs),
            "text/csv",
            b"hs,unit,reference_price,note\nnot-a-code,x,y,\n",
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn certifications_ratings_and_the_public_credit_list() {
    let server = support::start().await;
    no_sampling(&server).await;
    let customs = regulator(&server, "customs").await;
    let third = regulator(&server, "third_party").await;
    let market = regulator(&server, "market_supervision").await;
    let code = "3301960BAA";
    let path = format!("/api/v1/credit/{code}/certifications");

    let (status, body) = post(&server, &path, &third, json!({"level": "advanced"})).await;
    assert_eq!(
        status, 403,
        "a credit service rates, it does not certify: {body}"
    );
    let (status, body) = post(
        &server,
        &format!("/api/v1/credit/{code}/ratings"),
        &third,
        json!({"agency": "Example Credit Co.", "score": 88}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &server,
        &format!("/api/v1/credit/{code}/ratings"),
        &third,
        json!({"agency": "Example Credit Co.", "score": 180}),
    )
    .await;
    assert_eq!(status, 409, "a rating is 0 to 100: {body}");
    let (status, body) = post(
        &server,
        "/api/v1/credit/3301960ZZZ/certifications",
        &customs,
        json!({"level": "advanced"}),
    )
    .await;
    assert_eq!(status, 404, "not filed: {body}");
    let (status, body) = post(
        &server,
        &path,
        &customs,
        json!({"level": "advanced", "valid_until": "2030-12-31"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &server,
        &format!("/api/v1/credit/{code}/complaints"),
        &market,
        json!({"upheld": false, "note": "late delivery, not the seller's fault"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The explanation names the certification; the enterprise reads the same.
    let (status, record) = get(&server, "/api/v1/credit/me", Some(&server.token(code))).await;
    assert_eq!(status, 200, "{record}");
    let explanation = record["record"]["explanation"].to_string();
    assert!(
        explanation.to_lowercase().contains("advanced"),
        "{explanation}"
    );
    let (status, list) = get(&server, "/api/v1/credit?limit=10", Some(&customs)).await;
    assert_eq!(status, 200);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key"] == format!("E:{code}")),
        "{list}"
    );

    // A filed enterprise with no events yet has the newcomer's grade, not a 404.
    let (status, fresh) = get(&server, "/api/v1/credit/3301960BAB", Some(&customs)).await;
    assert_eq!(status, 200, "{fresh}");
    assert!(fresh["status"].is_string());

    // The public list: code, name and grade, nothing of the evaluation.
    let (status, public) = get(&server, "/api/public/credit", None).await;
    assert_eq!(status, 200, "{public}");
    let entry = public["enterprises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == code)
        .expect("the certified enterprise is public")
        .clone();
    assert!(entry["name"].as_str().unwrap().contains("测试"), "{entry}");
    assert_eq!(entry["grade"], record["status"], "{entry}");
    for private in ["score", "factors", "explanation", "history", "facts"] {
        assert!(!public.to_string().contains(private), "{private}: {public}");
    }
    let (status, one) = get(&server, &format!("/api/public/credit/{code}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(one["code"], code);
    let (status, _) = get(&server, "/api/public/credit/3301960ZZZ", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn tax_payment_is_recorded_by_the_tax_department() {
    let server = support::start().await;
    no_sampling(&server).await;
    let tax = regulator(&server, "tax").await;
    let market = regulator(&server, "market_supervision").await;
    let set = generator().set_of(Case::Clean, now_ms());
    let receipts = server.send_set(&set).await;
    let released = receipts
        .iter()
        .find(|r| r["messageType"] == "CEB622Message" && r["returnStatus"] == "800")
        .expect("released");
    let invt_no = released["receipt"]["invtNo"].as_str().unwrap();
    let path = format!("/api/v1/tax-bills/{invt_no}/payment");
    let today = domain::time::Timestamp(now_ms()).beijing_date();
    let paid_on = format!("{:04}-{:02}-{:02}", today.year, today.month, today.day);

    let (status, _) = post(&server, &path, &market, json!({"paid_on": paid_on})).await;
    assert_eq!(status, 403);
    let (status, _) = post(&server, &path, &tax, json!({"paid_on": "yesterday"})).await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &server,
        "/api/v1/tax-bills/NOSUCHINVT/payment",
        &tax,
        json!({"paid_on": paid_on}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = post(&server, &path, &tax, json!({"paid_on": paid_on})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["days_late"], 0);
    assert_eq!(body["result"]["agent"], agent_of(&set));
}
