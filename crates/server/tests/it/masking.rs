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

/// Security probe, finding 6: serde's error text quotes the value it could not read (`invalid
/// type: string "张三", expected …`), and JSON submissions and the quota API passed it on in the
/// problem. A problem now names the field and what was expected there, never the value.
#[tokio::test]
async fn json_problems_name_the_field_but_never_quote_a_personal_value() {
    let server = support::start().await;
    let mut generator = Generator::new(23, Mix::default());
    let set = generator.set_of(traffic::Case::Clean, now_ms());
    let order = set
        .messages
        .iter()
        .find(|m| m.message_type == "CEB311Message")
        .unwrap();
    let parsed = ceb::parse(order.xml.as_bytes(), &ceb::Limits::default()).unwrap();
    let ceb::Message::Ceb311(message) = parsed.message else {
        panic!("an order")
    };
    let json = json!({ "messageType": "CEB311Message", "message": message });
    let buyer = &set.buyer;
    let phone: u64 = buyer.phone.parse().unwrap();
    let id_digits: String = buyer
        .id_number
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let id_as_number: u64 = id_digits.parse().unwrap();
    let head = |v: &mut Value| v["message"]["Order"][0]["OrderHead"].clone();
    let mut cases: Vec<(&str, Value, Vec<String>)> = Vec::new();
    let mut v = json.clone();
    v["message"]["Order"][0]["OrderHead"]["buyerTelephone"] = json!(phone);
    cases.push(("buyerTelephone", v, vec![buyer.phone.clone()]));
    let mut v = json.clone();
    v["message"]["Order"][0]["OrderHead"]["buyerIdNumber"] = json!(id_as_number);
    cases.push(("buyerIdNumber", v, vec![id_digits.clone()]));
    let mut v = json.clone();
    let name = head(&mut v)["buyerName"].as_str().unwrap().to_string();
    let address = head(&mut v)["consigneeAddress"]
        .as_str()
        .unwrap_or("浙江省杭州市西湖区文三路90号")
        .to_string();
    v["message"]["Order"][0]["OrderHead"] = json!(format!("{name} {address}"));
    cases.push(("OrderHead", v, vec![name.clone(), address.clone()]));
    let mut v = json.clone();
    v["message"]["Order"] = json!(name);
    cases.push(("Order", v, vec![name.clone()]));
    for (field, body, values) in cases {
        let (status, answer) = server
            .call(
                "POST",
                "/api/v1/messages",
                Some(&server.token(&order.sender)),
                "application/json",
                body.to_string().as_bytes(),
            )
            .await;
        assert_eq!(status, 400, "{field}: {answer}");
        let text = answer.to_string();
        assert!(
            text.contains(field),
            "{field}: the problem names the field: {text}"
        );
        for value in &values {
            assert!(
                !text.contains(value.as_str()),
                "{field}: the problem quotes {text}"
            );
        }
    }

    // The quota API: a wrongly typed ID number or year.
    let token = server.token(&order.sender);
    for (field, body, value) in [
        (
            "idNumber",
            format!(
                r#"{{"name": "{}", "idNumber": {id_as_number}}}"#,
                buyer.name
            ),
            id_digits.clone(),
        ),
        (
            "year",
            format!(
                r#"{{"name": "x", "idNumber": "{}", "year": "{}"}}"#,
                buyer.id_number, buyer.name
            ),
            buyer.name.clone(),
        ),
        (
            "name",
            format!(r#"{{"name": {phone}, "idNumber": "{}"}}"#, buyer.id_number),
            buyer.phone.clone(),
        ),
        (
            // A value that looks like the end of serde's sentence.
            "year",
            format!(
                r#"{{"name": "x", "idNumber": "{}", "year": "1, expected {}"}}"#,
                buyer.id_number, buyer.name
            ),
            buyer.name.clone(),
        ),
    ] {
        let (status, answer) = server
            .call(
                "POST",
                "/api/v1/quota",
                Some(&token),
                "application/json",
                body.as_bytes(),
            )
            .await;
        assert_eq!(status, 400, "{field}: {answer}");
        let text = answer.to_string();
        assert!(
            text.contains(field),
            "{field}: the problem names the field: {text}"
        );
        assert!(
            !text.contains(value.as_str()),
            "{field}: the problem quotes {text}"
        );
        assert!(!text.contains(&buyer.id_number), "{field}: {text}");
    }
}
