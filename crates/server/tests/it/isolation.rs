//! One sender's text can never fail anybody else (security probe, finding 5). An orderNo holding
//! U+0000 used to pass intake; PostgreSQL refuses U+0000 in text, so the group commit carrying it
//! failed and every other enterprise's clean message in the same batch was answered 503. A U+0001
//! in an order made the XML receipt page of the enterprises it names not well-formed. Now such
//! text is refused at intake — XML (raw or as a character reference) with DXP 0001, JSON with a
//! `bad-json` problem naming the field — and nothing of it is journaled.

use std::sync::Arc;

use traffic::{Case, Generator, Mix};

use crate::support::{self, TestServer, now_ms};

/// A hostile variant of a clean order: (what, content type, body).
type Hostile = (String, &'static str, Vec<u8>);

/// Orders from `sender` whose orderNo holds a character XML forbids, in XML (raw and as a
/// character reference) and in JSON; each with its own guid and orderNo.
fn hostile_orders(order: &traffic::GeneratedMessage, round: usize) -> Vec<Hostile> {
    let tag = |xml: &str, name: &str| -> String {
        xml.split(&format!("<ceb:{name}>"))
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap()
            .to_string()
    };
    let order_no = tag(&order.xml, "orderNo");
    let mut out = Vec::new();
    let variants: [(&str, &str); 5] = [
        ("xml-raw-nul", "\u{0}"),
        ("xml-raw-u0001", "\u{1}"),
        ("xml-ref-nul", "&#0;"),
        ("xml-ref-u0001", "&#1;"),
        ("xml-ref-ufffe", "&#xFFFE;"),
    ];
    for (i, (what, inner)) in variants.iter().enumerate() {
        let guid = format!("F00D{round:04}-{i:04}-4000-8000-000000000000");
        let xml = order
            .xml
            .replace(&order.guid, &guid)
            .replace(&order_no, &format!("{order_no}H{round}{i}{inner}X"));
        out.push((what.to_string(), "application/xml", xml.into_bytes()));
    }
    let parsed = ceb::parse(order.xml.as_bytes(), &ceb::Limits::default()).unwrap();
    let ceb::Message::Ceb311(message) = parsed.message else {
        panic!("an order")
    };
    for (i, (what, inner)) in [("json-nul", "\u{0}"), ("json-u0001", "\u{1}")]
        .into_iter()
        .enumerate()
    {
        let mut value =
            serde_json::json!({ "messageType": "CEB311Message", "message": message.clone() });
        let guid = format!("F00D{round:04}-{:04}-4000-8000-000000000001", i + 10);
        value["message"]["guid"] = guid.clone().into();
        value["message"]["Order"][0]["OrderHead"]["guid"] = guid.into();
        value["message"]["Order"][0]["OrderHead"]["orderNo"] =
            format!("{order_no}J{round}{i}{inner}X").into();
        out.push((
            what.to_string(),
            "application/json",
            value.to_string().into_bytes(),
        ));
    }
    out
}

/// Every enterprise's receipts as the XML page (`Accept: application/xml`) must be well-formed.
async fn every_xml_receipt_page_is_well_formed(server: &TestServer) {
    for enterprise in traffic::demo_registry() {
        let (status, page) = server
            .raw(
                "GET",
                "/api/v1/receipts?limit=1000",
                Some(&server.token(enterprise.code)),
                "",
                b"",
                "application/xml",
            )
            .await;
        assert_eq!(status, 200, "{page}");
        if let Err(e) = ceb::xml::parse_document(page.as_bytes(), &ceb::Limits::default()) {
            panic!(
                "the XML receipt page of {} is not well-formed: {e}",
                enterprise.code
            );
        }
    }
}

async fn hostile_text_never_fails_a_batch_for_others(store: Option<String>) {
    let server = Arc::new(support::start_on(store).await);
    let (_, before) = server.call("GET", "/healthz", None, "", b"").await;
    let mut generator = Generator::new(
        57,
        Mix {
            bad_share_per_mille: 0,
            ..Mix::default()
        },
    );
    let now = now_ms();
    let clean: Vec<_> = (0..12)
        .map(|_| generator.set_of(Case::Clean, now))
        .collect();
    let hostile_set = generator.set_of(Case::Clean, now);
    let order = hostile_set
        .messages
        .iter()
        .find(|m| m.message_type == "CEB311Message")
        .unwrap()
        .clone();
    let hostile_sender = order.sender.clone();

    // The clean declarations, each on its own task, and the hostile orders between them.
    let mut clean_tasks = Vec::new();
    for set in &clean {
        let server = server.clone();
        let messages = set.messages.clone();
        clean_tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for message in &messages {
                let (status, body) = server.send(message).await;
                answers.push((message.sender.clone(), status, body));
            }
            answers
        }));
    }
    let mut hostile_tasks = Vec::new();
    for round in 0..3 {
        for (what, content_type, body) in hostile_orders(&order, round) {
            let server = server.clone();
            let token = server.token(&hostile_sender);
            hostile_tasks.push(tokio::spawn(async move {
                let (status, answer) = server
                    .call(
                        "POST",
                        "/api/v1/messages",
                        Some(&token),
                        content_type,
                        &body,
                    )
                    .await;
                (what, status, answer)
            }));
        }
    }

    let mut clean_messages = 0;
    for task in clean_tasks {
        for (sender, status, body) in task.await.unwrap() {
            clean_messages += 1;
            assert_eq!(
                status, 200,
                "a clean message of {sender} was not acknowledged: {body}"
            );
        }
    }
    for task in hostile_tasks {
        let (what, status, answer) = task.await.unwrap();
        let text = answer.to_string();
        if what.starts_with("json") {
            assert_eq!(status, 400, "{what}: {answer}");
            assert_eq!(
                answer["type"], "https://onewindow.dev/problems/bad-json",
                "{what}"
            );
            assert!(
                text.contains("Order[0].OrderHead.orderNo") && text.contains("U+000"),
                "{what}: the problem names the field and the character: {answer}"
            );
        } else {
            assert_eq!(status, 422, "{what}: {answer}");
            assert_eq!(answer["code"], "0001", "{what}: {answer}");
            assert!(text.contains("U+"), "{what}: {answer}");
            let ceb900 = answer["ceb900"].as_str().unwrap();
            assert!(
                ceb::xml::parse_document(ceb900.as_bytes(), &ceb::Limits::default()).is_ok(),
                "{what}: the CEB900 is not well-formed"
            );
        }
    }
    let (_, after) = server.call("GET", "/healthz", None, "", b"").await;
    let journaled = after["journal"].as_i64().unwrap() - before["journal"].as_i64().unwrap();
    assert_eq!(
        journaled, clean_messages,
        "only the clean messages are journaled"
    );
    every_xml_receipt_page_is_well_formed(&server).await;
    // The server still takes the hostile sender's clean messages.
    for message in &hostile_set.messages {
        let (status, body) = server.send(message).await;
        assert_eq!(status, 200, "{body}");
    }
    every_xml_receipt_page_is_well_formed(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_text_from_one_sender_never_fails_a_batch_for_others_sqlite() {
    hostile_text_never_fails_a_batch_for_others(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_text_from_one_sender_never_fails_a_batch_for_others_postgres() {
    let Some(url) = support::postgres_url("hostile_text") else {
        return;
    };
    hostile_text_never_fails_a_batch_for_others(Some(url.clone())).await;
    tokio::task::spawn_blocking(move || store::PostgresStore::drop_schema(&url))
        .await
        .unwrap()
        .unwrap();
}

/// Administrative and supervision entries are checked before the journal too: a `\u0000` in a
/// regulator's free text is refused (422 `invalid-text`), not written into a batch that
/// PostgreSQL would then refuse for everybody.
#[tokio::test]
async fn text_the_store_cannot_keep_is_refused_in_every_journaled_entry() {
    let server = support::start().await;
    let (_, before) = server.call("GET", "/healthz", None, "", b"").await;
    // A regulator's complaint with a NUL in its free text.
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/enterprises/regulator:market_supervision/credentials",
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let market = body["token"].as_str().unwrap().to_string();
    let seller = traffic::demo_registry()
        .iter()
        .find(|e| e.has_role("ebc"))
        .unwrap()
        .code;
    let (status, body) = server
        .call(
            "POST",
            &format!("/api/v1/credit/{seller}/complaints"),
            Some(&market),
            "application/json",
            br#"{"upheld": true, "note": "bad\u0000goods"}"#,
        )
        .await;
    assert_eq!(status, 422, "refused before the journal: {body}");
    assert_eq!(
        body["type"], "https://onewindow.dev/problems/invalid-text",
        "{body}"
    );
    assert!(body.to_string().contains("U+0000"), "{body}");
    let (_, after) = server.call("GET", "/healthz", None, "", b"").await;
    assert_eq!(after["journal"], before["journal"], "nothing was journaled");
}

/// The public filing application (no account needed) is journaled too: a `\u0000` typed into one
/// of its fields is refused with the form, and nothing is journaled.
#[tokio::test]
async fn a_public_filing_application_with_text_the_store_cannot_keep_is_refused_with_the_form() {
    let server = support::start().await;
    let (_, before) = server.call("GET", "/healthz", None, "", b"").await;
    let mut applicant = crate::browser_support::Browser::new(&server);
    let page = applicant.get("/apply?lang=en").await;
    let token = crate::browser_support::hidden(&page.body, "csrf").unwrap();
    let sent = applicant
        .post(
            "/apply",
            &[
                ("csrf", &token),
                ("code", "3301960NUL"),
                ("name", "Null Trading"),
                ("roles", "ebc"),
                ("dxpId", "DXPENT\u{0}0001"),
            ],
        )
        .await;
    assert_eq!(sent.status, 422, "{}", sent.body);
    assert!(sent.body.contains("U+0000"), "{}", sent.body);
    let (_, after) = server.call("GET", "/healthz", None, "", b"").await;
    assert_eq!(after["journal"], before["journal"], "nothing was journaled");
}
