//! Masking everywhere by default: a demo workload (clean and broken declarations, fraud schemes
//! that raise alerts, a JSON submission, a quota query, a person listed by name and ID number)
//! goes through the server, every answer of every role is read back — receipts (JSON and XML),
//! declarations, tax bills, alerts, credit, listings, recalls, problems — and so is everything
//! the server logged (tracing captured at DEBUG). None of it may hold a clear personal value of
//! the generated people.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use ceb::message::Node;
use serde_json::{Value, json};
use traffic::{DeclarationSet, Generator, Mix, Scheme};

use crate::support::{self, TestServer, now_ms};

/// Everything the process logs, kept for the scan.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every personal value of a set's messages (the `*_pii` fields), and the buyer's.
fn pii_of(set: &DeclarationSet, out: &mut BTreeSet<String>) {
    out.extend([
        set.buyer.name.clone(),
        set.buyer.id_number.clone(),
        set.buyer.phone.clone(),
    ]);
    for m in &set.messages {
        let Ok(parsed) = ceb::parse(m.xml.as_bytes(), &ceb::Limits::default()) else {
            continue;
        };
        let mut collect = |fields: &mut [(&'static str, &mut String)]| {
            for (_, v) in fields.iter() {
                if v.chars().count() >= 2 {
                    out.insert((**v).clone());
                }
            }
        };
        use ceb::Message as M;
        match parsed.message {
            M::Ceb311(mut x) => x.walk_pii(&mut collect),
            M::Ceb411(mut x) => x.walk_pii(&mut collect),
            M::Ceb511(mut x) => x.walk_pii(&mut collect),
            M::Ceb621(mut x) => x.walk_pii(&mut collect),
            M::Ceb623(mut x) => x.walk_pii(&mut collect),
            M::Ceb625(mut x) => x.walk_pii(&mut collect),
            _ => {}
        }
    }
}

/// The JSON form of a CEB message, as the API accepts it.
fn as_json(xml: &str) -> Option<Value> {
    let parsed = ceb::parse(xml.as_bytes(), &ceb::Limits::default()).ok()?;
    let kind = parsed.message.message_type().to_string();
    let value = serde_json::to_value(&parsed.message).ok()?;
    Some(json!({ "messageType": kind, "message": value[&kind] }))
}

struct Seen(Vec<String>);

impl Seen {
    async fn get(&mut self, server: &TestServer, path: &str, token: &str) -> Value {
        let (status, text) = server
            .raw("GET", path, Some(token), "", b"", "application/json")
            .await;
        self.0.push(format!("{status} GET {path}\n{text}"));
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn post(&mut self, server: &TestServer, path: &str, token: &str, body: &[u8], ct: &str) {
        let (status, text) = server
            .raw("POST", path, Some(token), ct, body, "application/json")
            .await;
        self.0.push(format!("{status} POST {path}\n{text}"));
    }
}

#[tokio::test]
async fn no_answer_receipt_or_log_line_shows_a_clear_personal_value() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("this test owns the process's log (nextest runs one test per process)");

    let server = support::start().await;
    let mut seen = Seen(Vec::new());
    let mut generator = Generator::new(
        31,
        Mix {
            bad_share_per_mille: 400,
            ..Mix::default()
        },
    );
    let mut sets: Vec<DeclarationSet> = (0..60).map(|_| generator.next_set(now_ms())).collect();
    for scheme in [
        Scheme::SplitOrderRing,
        Scheme::SharedAddress,
        Scheme::BulkResale,
        Scheme::BackdatedPayment,
    ] {
        sets.extend(generator.scheme(scheme, now_ms()));
    }
    let mut people = BTreeSet::new();
    for set in &sets {
        pii_of(set, &mut people);
        for m in &set.messages {
            let token = server.tokens.get(&m.sender).cloned().unwrap_or_default();
            seen.post(
                &server,
                "/api/v1/messages",
                &token,
                m.xml.as_bytes(),
                "application/xml",
            )
            .await;
        }
    }
    // The JSON form, and a message whose buyer ID number breaks the schema (too long).
    let extra = generator.next_set(now_ms());
    pii_of(&extra, &mut people);
    let order = &extra.messages[0];
    let token = server.token(&order.sender);
    if let Some(body) = as_json(&order.xml) {
        seen.post(
            &server,
            "/api/v1/messages",
            &token,
            body.to_string().as_bytes(),
            "application/json",
        )
        .await;
    }
    let id = &extra.buyer.id_number;
    let long = format!("{id}{id}{id}{id}");
    let broken = order.xml.replace(id.as_str(), &long);
    people.insert(long);
    seen.post(
        &server,
        "/api/v1/messages",
        &token,
        broken.as_bytes(),
        "application/xml",
    )
    .await;
    // A signed inventory whose content changed after signing: the signature refusal (1004)
    // echoes the message in its CEB900, masked like every other refusal.
    if let Some(inventory) = extra
        .messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
    {
        let tampered = inventory.xml.replacen("<ceb:qty>", "<ceb:qty>1", 1);
        let (status, body) = server
            .call(
                "POST",
                "/api/v1/messages",
                Some(&server.token(&inventory.sender)),
                "application/xml",
                tampered.as_bytes(),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "1004", "{body}");
        seen.post(
            &server,
            "/api/v1/messages",
            &server.token(&inventory.sender),
            tampered.as_bytes(),
            "application/xml",
        )
        .await;
    }
    // A quota query and a listing by name and ID number answer without echoing them.
    let buyer = &sets[0].buyer;
    seen.post(
        &server,
        "/api/v1/quota",
        &token,
        json!({"name": buyer.name, "idNumber": buyer.id_number})
            .to_string()
            .as_bytes(),
        "application/json",
    )
    .await;
    let customs = {
        let (status, body) = server
            .call(
                "POST",
                "/api/v1/enterprises/regulator:customs/credentials",
                Some(&server.admin),
                "application/json",
                b"",
            )
            .await;
        assert_eq!(status, 201);
        body["token"].as_str().unwrap().to_string()
    };
    seen.post(
        &server,
        "/api/v1/listings",
        &customs,
        json!({
            "subject": {"type": "person", "name": buyer.name, "id_number": buyer.id_number},
            "category": "resale",
            "severity": "warning",
            "evidence": "resold personal imports",
        })
        .to_string()
        .as_bytes(),
        "application/json",
    )
    .await;

    // Read everything back, as every kind of caller.
    let admin = server.admin.clone();
    let auditor = {
        let (_, body) = server
            .call(
                "POST",
                "/api/v1/enterprises/auditor/credentials",
                Some(&admin),
                "application/json",
                b"",
            )
            .await;
        body["token"].as_str().unwrap().to_string()
    };
    let receipts = seen
        .get(&server, "/api/v1/receipts?limit=1000", &admin)
        .await;
    assert!(receipts["receipts"].as_array().unwrap().len() > 200);
    let (_, xml) = server
        .raw(
            "GET",
            "/api/v1/receipts?limit=1000",
            Some(&admin),
            "",
            b"",
            "application/xml",
        )
        .await;
    seen.0.push(xml);
    let declarations = seen
        .get(&server, "/api/v1/declarations?limit=1000", &customs)
        .await;
    for d in declarations["declarations"].as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        seen.get(&server, &format!("/api/v1/declarations/{id}"), &customs)
            .await;
    }
    for path in [
        "/api/v1/tax-bills?limit=1000",
        "/api/v1/alerts?limit=1000",
        "/api/v1/inspections?limit=1000",
        "/api/v1/credit?limit=1000",
        "/api/v1/credit?subject=person&limit=1000",
        "/api/v1/listings?limit=1000",
        "/api/v1/recalls?limit=1000",
        "/api/v1/risk/rules",
    ] {
        seen.get(&server, path, &customs).await;
    }
    for code in server.tokens.keys() {
        let token = server.token(code);
        seen.get(&server, "/api/v1/receipts?limit=1000", &token)
            .await;
        seen.get(&server, "/api/v1/credit/me", &token).await;
    }
    seen.get(&server, "/api/public/negative-list", &customs)
        .await;
    seen.get(&server, "/api/v1/audit?limit=1000", &auditor)
        .await;
    let alerts = seen
        .get(&server, "/api/v1/alerts?limit=1000", &customs)
        .await;
    assert!(
        !alerts["items"].as_array().unwrap().is_empty(),
        "the schemes raised alerts, whose evidence was scanned"
    );
    server.running.stop().await;
    // And the database files hold them only sealed (the WAL included).
    let mut files = Vec::new();
    for entry in std::fs::read_dir(server.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("ow.db") {
            files.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(files.len() > 100_000, "the database files were read");
    // Valid UTF-8 runs survive a lossy conversion intact, so a clear value would still be found.
    let files = String::from_utf8_lossy(&files).into_owned();

    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(log.contains("request"), "the server's log was captured");
    assert!(people.len() > 200, "{} personal values", people.len());
    let answers = seen.0.join("\n");
    for value in &people {
        assert!(
            !files.contains(value.as_str()),
            "the database files show {value:?} in clear"
        );
        if let Some(i) = answers.find(value.as_str()) {
            let from = answers[..i]
                .char_indices()
                .rev()
                .nth(300)
                .map_or(0, |(j, _)| j);
            let to = answers[i..]
                .char_indices()
                .nth(200)
                .map_or(answers.len(), |(j, _)| i + j);
            panic!("an answer shows {value:?}: …{}…", &answers[from..to]);
        }
        assert!(!log.contains(value.as_str()), "the log shows {value:?}");
    }
}
