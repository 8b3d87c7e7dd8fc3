//! Personal data protection end to end: credentials rotated, expired and revoked with immediate
//! effect; the audit log (who reads it, what it holds, that it chains); the audited clear view for
//! the roles that need it; and the retention purge, after which a rebuild reproduces the same
//! projections without the personal data.

use std::collections::BTreeSet;

use ceb::message::Node;
use domain::clearance::{DeclarationId, Supervised};
use ingest::pipeline::PipelineConfig;
use serde_json::{Value, json};
use store::Store;
use traffic::{Case, DeclarationSet, Generator, Mix, Scheme};

use crate::support::{self, TestServer, now_ms};

async fn get(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    server.call("GET", path, Some(token), "", b"").await
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

/// A staff credential issued by the administrator (`auditor`, `regulator:<department>`).
async fn staff(server: &TestServer, subject: &str) -> (String, String) {
    let (status, body) = post(
        server,
        &format!("/api/v1/enterprises/{subject}/credentials"),
        &server.admin,
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (
        body["token"].as_str().unwrap().to_string(),
        body["keyId"].as_str().unwrap().to_string(),
    )
}

async fn audit_entries(server: &TestServer, auditor: &str, query: &str) -> Vec<Value> {
    let (status, body) = get(
        server,
        &format!("/api/v1/audit?limit=1000&{query}"),
        auditor,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().clone()
}

/// Every personal value (`*_pii` field) of the well-formed messages of a set.
fn pii_of(set: &DeclarationSet) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = [&set.buyer.name, &set.buyer.id_number, &set.buyer.phone]
        .into_iter()
        .cloned()
        .collect();
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
    out
}

/// The declaration a set declares (its order's platform and number).
fn declaration_of(set: &DeclarationSet) -> Option<DeclarationId> {
    let order = set
        .messages
        .iter()
        .find(|m| m.message_type == "CEB311Message")?;
    let field = |tag: &str| {
        order
            .xml
            .split(&format!("<ceb:{tag}>"))
            .nth(1)
            .and_then(|s| s.split('<').next())
            .map(str::to_string)
    };
    Some(DeclarationId::derive(
        &field("ebpCode")?,
        &field("orderNo")?,
    ))
}

#[tokio::test]
async fn credentials_rotate_expire_and_revoke_at_once_and_every_change_is_audited() {
    let server = support::start().await;
    let (auditor, _) = staff(&server, "auditor").await;
    let code = traffic::demo_registry()[0].code.to_string();
    let old = server.token(&code);
    let old_key = server::auth::key_id_of(&old).unwrap().to_string();

    // The holder rotates its own credential with a grace period: both work meanwhile.
    let (status, body) = post(
        &server,
        &format!("/api/v1/credentials/{old_key}/rotate"),
        &old,
        json!({"graceHours": 24, "validDays": 365}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let new = body["token"].as_str().unwrap().to_string();
    let new_key = body["keyId"].as_str().unwrap().to_string();
    assert!(body["previous"]["expiresAtMs"].as_i64().unwrap() > now_ms());
    assert!(body["expiresAtMs"].as_i64().unwrap() > now_ms() + 364 * 86_400_000);
    for token in [&old, &new] {
        let (status, _) = get(&server, "/api/v1/declarations", token).await;
        assert_eq!(status, 200);
    }
    // Another enterprise may not rotate it; nonsense validity is refused.
    let other = server.token(traffic::demo_registry()[1].code);
    let (status, _) = post(
        &server,
        &format!("/api/v1/credentials/{new_key}/rotate"),
        &other,
        json!({}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post(
        &server,
        &format!("/api/v1/credentials/{new_key}/rotate"),
        &new,
        json!({"expiresAtMs": 1}),
    )
    .await;
    assert_eq!(status, 400);

    // Revocation takes effect on the very next call.
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/api/v1/credentials/{old_key}"),
            Some(&server.admin),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = get(&server, "/api/v1/declarations", &old).await;
    assert_eq!(status, 401, "revoked: refused at once");
    let (status, _) = get(&server, "/api/v1/declarations", &new).await;
    assert_eq!(status, 200);

    // An expired credential is refused like a revoked one.
    let store = server.running.store.clone();
    let mut row = store.credential(&new_key).unwrap().unwrap();
    row.expires_at_ms = Some(now_ms() - 1);
    store.put_credential(&row).unwrap();
    let (status, _) = get(&server, "/api/v1/declarations", &new).await;
    assert_eq!(status, 401, "expired");

    let entries = audit_entries(&server, &auditor, "").await;
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    assert!(
        actions.contains(&("credential.rotate", old_key.as_str())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("credential.revoke", old_key.as_str())),
        "{actions:?}"
    );
    assert!(actions.contains(&("credential.issue", new_key.as_str())) || !actions.is_empty());
    let rotate = entries
        .iter()
        .find(|e| e["action"] == "credential.rotate")
        .unwrap();
    assert_eq!(rotate["actor"], code.as_str());
    assert_eq!(rotate["detail"]["newKeyId"], new_key.as_str());
    assert_eq!(
        rotate["source"], "127.0.0.1",
        "the client's address is kept"
    );
    assert!(
        entries
            .iter()
            .filter(|e| e["action"] == "credential.issue")
            .count()
            > traffic::demo_registry().len(),
        "every issue is audited"
    );
}

#[tokio::test]
async fn portal_accounts_and_certificates_changed_by_the_administrator_are_audited() {
    let server = support::start().await;
    let (auditor, _) = staff(&server, "auditor").await;
    let code = traffic::demo_registry()[0].code.to_string();

    let (status, body) = post(
        &server,
        "/api/v1/users",
        &server.admin,
        json!({"username": "clerk.one", "subject": code, "password": "a long enough secret"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    for step in ["disable", "enable"] {
        let (status, body) = post(
            &server,
            &format!("/api/v1/users/clerk.one/{step}"),
            &server.admin,
            json!({}),
        )
        .await;
        assert_eq!(status, 204, "{step}: {body}");
    }
    // Disabling an account that does not exist changes nothing and writes nothing.
    let (status, _) = post(
        &server,
        "/api/v1/users/nobody.here/disable",
        &server.admin,
        json!({}),
    )
    .await;
    assert_eq!(status, 404);

    let key = ceb::dsig::PrivateKey::sm2_from_seed(b"audit test key");
    let cert = key
        .self_signed(
            &code,
            "audit test",
            &[7, 7],
            now_ms() - 1_000,
            now_ms() + 86_400_000,
        )
        .unwrap();
    let certificates = format!("/api/v1/enterprises/{code}/certificates");
    let (status, body) = server
        .call(
            "POST",
            &certificates,
            Some(&server.admin),
            "application/x-pem-file",
            cert.to_pem().as_bytes(),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = server
        .call(
            "DELETE",
            &format!("{certificates}/{}", cert.fingerprint()),
            Some(&server.admin),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 204, "{body}");

    let entries = audit_entries(&server, &auditor, "").await;
    let of = |action: &str| -> Vec<&Value> {
        entries.iter().filter(|e| e["action"] == action).collect()
    };
    for action in ["user.create", "user.disable", "user.enable"] {
        let found = of(action);
        assert_eq!(found.len(), 1, "{action}: {entries:#?}");
        assert_eq!(found[0]["actor"], "admin");
        assert_eq!(found[0]["target"], "clerk.one");
        assert_eq!(found[0]["outcome"], "ok");
    }
    let created = &of("user.create")[0];
    assert!(
        !created.to_string().contains("a long enough secret"),
        "never the password: {created}"
    );
    // (The test server filed the demo certificates at start, as the administrator too.)
    for action in ["certificate.file", "certificate.revoke"] {
        let found: Vec<&Value> = of(action)
            .into_iter()
            .filter(|e| e["detail"]["fingerprint"] == cert.fingerprint())
            .collect();
        assert_eq!(found.len(), 1, "{action}: {entries:#?}");
        assert_eq!(found[0]["actor"], "admin");
        assert_eq!(found[0]["target"], code.as_str());
    }
}

#[tokio::test]
async fn only_the_auditor_reads_the_audit_log_and_the_auditor_reads_nothing_else() {
    let server = support::start().await;
    let (auditor, _) = staff(&server, "auditor").await;
    let (customs, _) = staff(&server, "regulator:customs").await;
    let enterprise = server.token(traffic::demo_registry()[0].code);

    // A regulator action is in the log with its outcome, committed with its journal entry.
    let (status, _) = post(
        &server,
        "/api/v1/alerts/AL99999999/assess",
        &customs,
        json!({"level": "high"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = server
        .call(
            "PATCH",
            "/api/v1/risk/rules/R11",
            Some(&customs),
            "application/json",
            br#"{"mode":"observe"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");

    for token in [&server.admin, &customs, &enterprise] {
        for path in [
            "/api/v1/audit",
            "/api/v1/audit/export",
            "/api/v1/audit/verify",
        ] {
            let (status, _) = get(&server, path, token).await;
            assert_eq!(status, 403, "{path} is the auditor's");
        }
    }
    for path in [
        "/api/v1/declarations",
        "/api/v1/receipts",
        "/api/v1/alerts",
        "/api/v1/enterprises",
        "/api/v1/settings",
        "/api/v1/credit",
    ] {
        let (status, _) = get(&server, path, &auditor).await;
        assert_eq!(status, 403, "the auditor does not read {path}");
    }
    let (status, _) = post(
        &server,
        "/api/v1/declarations/D1/personal-data",
        &auditor,
        json!({"reason": "curious"}),
    )
    .await;
    assert_eq!(status, 403);

    let entries = audit_entries(&server, &auditor, "").await;
    let assess = entries
        .iter()
        .find(|e| e["action"] == "regulator.assess_alert")
        .expect("the refused action is audited");
    assert_eq!(assess["actor"], "regulator:customs");
    assert_eq!(assess["target"], "AL99999999");
    assert!(
        assess["outcome"].as_str().unwrap().starts_with("refused"),
        "{assess}"
    );
    assert!(assess["detail"]["journal"].as_i64().is_some());
    let rule = entries
        .iter()
        .find(|e| e["action"] == "regulator.configure_rule")
        .expect("the rule change is audited");
    assert_eq!(rule["outcome"], "ok");
    assert_eq!(rule["target"], "R11");

    // Filters and pages.
    let by_actor = audit_entries(&server, &auditor, "actor=regulator:customs").await;
    assert!(by_actor.iter().all(|e| e["actor"] == "regulator:customs"));
    assert!(by_actor.len() >= 2);
    let first = entries[0]["atMs"].as_i64().unwrap();
    let none_before = audit_entries(&server, &auditor, &format!("until={first}")).await;
    assert!(none_before.is_empty());
    let (_, page) = get(&server, "/api/v1/audit?limit=1", &auditor).await;
    let next = page["next"].as_i64().unwrap();
    let (_, page2) = get(
        &server,
        &format!("/api/v1/audit?limit=1&after={next}"),
        &auditor,
    )
    .await;
    assert_eq!(page2["entries"][0]["seq"].as_i64().unwrap(), next + 1);
    assert_eq!(
        page2["entries"][0]["prevHash"], page["entries"][0]["hash"],
        "each entry links to the one before"
    );

    // Exports and the chain check.
    let (status, csv) = server
        .raw(
            "GET",
            "/api/v1/audit/export?format=csv&action=regulator.configure_rule",
            Some(&auditor),
            "",
            b"",
            "text/csv",
        )
        .await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("seq,at_ms,actor,action"));
    assert!(
        lines.len() >= 2
            && lines[1..]
                .iter()
                .all(|l| l.contains("regulator.configure_rule"))
    );
    let (status, jsonl) = server
        .raw(
            "GET",
            "/api/v1/audit/export?format=jsonl",
            Some(&auditor),
            "",
            b"",
            "application/x-ndjson",
        )
        .await;
    assert_eq!(status, 200);
    let rows: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), entries.len());
    let (status, verdict) = get(&server, "/api/v1/audit/verify", &auditor).await;
    assert_eq!(status, 200);
    assert_eq!(verdict["intact"], true, "{verdict}");
    assert_eq!(verdict["entries"].as_i64().unwrap() as usize, entries.len());
}

#[tokio::test]
async fn customs_and_recall_desks_see_personal_data_in_clear_and_every_view_is_audited() {
    let server = support::start().await;
    let (status, _) = server
        .call(
            "PUT",
            "/api/v1/settings",
            Some(&server.admin),
            "application/json",
            br#"{"policy":{"sampling":false}}"#,
        )
        .await;
    assert_eq!(status, 200);
    let (auditor, _) = staff(&server, "auditor").await;
    let (customs, _) = staff(&server, "regulator:customs").await;
    let (tax, _) = staff(&server, "regulator:tax").await;
    let (market, _) = staff(&server, "regulator:market_supervision").await;
    let mut generator = Generator::new(7, Mix::default());
    let set = generator.set_of(Case::Clean, now_ms());
    server.send_set(&set).await;
    let id = declaration_of(&set).unwrap().0;
    let path = format!("/api/v1/declarations/{id}/personal-data");

    // The ordinary views show no personal data.
    let (status, view) = get(&server, &format!("/api/v1/declarations/{id}"), &customs).await;
    assert_eq!(status, 200);
    assert!(!view.to_string().contains(&set.buyer.id_number));

    let (status, body) = post(&server, &path, &customs, json!({})).await;
    assert_eq!(status, 400, "a reason is required: {body}");
    let (status, body) = post(&server, &path, &customs, json!({"reason": "ok"})).await;
    assert_eq!(status, 400, "a real reason: {body}");
    let (status, body) = post(
        &server,
        &path,
        &customs,
        json!({"reason": "document review: buyer 11010519491231002X disputes the order"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["personalData"]["buyerName"], set.buyer.name.as_str());
    assert_eq!(
        body["personalData"]["buyerIdNumber"],
        set.buyer.id_number.as_str()
    );
    assert_eq!(body["personalData"]["purged"], false);
    assert!(
        body["personalData"]["consigneeAddress"]
            .as_str()
            .unwrap()
            .len()
            > 6
    );

    for (token, outcome) in [
        (&tax, "refused: role"),
        (&market, "refused: not hit by a recall"),
    ] {
        let (status, _) = post(&server, &path, token, json!({"reason": "checking things"})).await;
        assert_eq!(status, 403);
        let entries = audit_entries(&server, &auditor, "action=personal_data.view").await;
        assert!(
            entries.iter().any(|e| e["outcome"] == outcome),
            "{outcome}: {entries:#?}"
        );
    }
    let (status, _) = post(
        &server,
        "/api/v1/declarations/Dnothing/personal-data",
        &customs,
        json!({"reason": "checking things"}),
    )
    .await;
    assert_eq!(status, 404);

    // A recall that hits a declaration opens it to market supervision.
    let bulk = generator.scheme(Scheme::BulkResale, now_ms());
    for s in &bulk {
        server.send_set(s).await;
    }
    let bulk_id = declaration_of(&bulk[0]).unwrap().0;
    let xml = &bulk[0]
        .messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
        .unwrap()
        .xml;
    let hs = xml
        .split("<ceb:gcode>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap();
    let (inspection, _) = staff(&server, "regulator:inspection").await;
    let (status, body) = post(
        &server,
        "/api/v1/recalls",
        &inspection,
        json!({"matcher": {"by": "hs", "prefix": hs}, "reason": "contaminated lot"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &server,
        &format!("/api/v1/declarations/{bulk_id}/personal-data"),
        &market,
        json!({"reason": "recall: contact the buyer"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["personalData"]["buyerName"],
        bulk[0].buyer.name.as_str()
    );

    let views = audit_entries(&server, &auditor, "action=personal_data.view").await;
    let shown: Vec<&Value> = views.iter().filter(|e| e["outcome"] == "ok").collect();
    assert_eq!(shown.len(), 2, "{views:#?}");
    assert_eq!(shown[0]["actor"], "regulator:customs");
    assert_eq!(shown[0]["target"], id.as_str());
    let reason = shown[0]["detail"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("document review"), "{reason}");
    assert!(
        !reason.contains("11010519491231002X"),
        "an ID number typed into a reason is masked: {reason}"
    );
    assert_eq!(shown[1]["actor"], "regulator:market_supervision");
    assert_eq!(shown[1]["target"], bulk_id.as_str());
}

/// Everything a store shows about projections, for comparing before and after a purge.
fn projections(store: &dyn Store) -> Value {
    let declarations = store.declarations(None, None, 100_000).unwrap();
    let quotas: Vec<_> = declarations
        .iter()
        .filter_map(|d| d.buyer_key.as_deref())
        .map(|k| {
            store
                .quota(k, domain::time::Timestamp(now_ms()).beijing_date().year)
                .unwrap()
        })
        .collect();
    let records: Vec<_> = [
        "alert",
        "credit",
        "inspection",
        "listing",
        "recall",
        "control",
    ]
    .iter()
    .flat_map(|k| store.records(&store::RecordQuery::new(k, 100_000)).unwrap())
    .collect();
    json!({
        "declarations": format!("{declarations:?}"),
        "quotas": format!("{quotas:?}"),
        "receipts": format!("{:?}", store.receipts_after(None, 0, 1_000_000).unwrap()),
        "taxBills": format!("{:?}", store.tax_bills(None, 100_000).unwrap()),
        "records": format!("{records:?}"),
    })
}

/// Every opened value the store keeps that can hold personal data.
fn personal_bytes(store: &dyn Store) -> Vec<String> {
    let mut out: Vec<String> = store
        .journal_after(0, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|j| String::from_utf8_lossy(&j.body).into_owned())
        .collect();
    out.extend(
        store
            .load_state()
            .unwrap()
            .into_iter()
            .filter_map(|s| s.value)
            .map(|v| String::from_utf8_lossy(&v).into_owned()),
    );
    out
}

#[tokio::test]
async fn a_purge_removes_personal_data_and_a_rebuild_reproduces_the_same_projections() {
    let server = support::start().await;
    let (customs, _) = staff(&server, "regulator:customs").await;
    let mut generator = Generator::new(
        23,
        Mix {
            bad_share_per_mille: 300,
            ..Mix::default()
        },
    );
    let mut sets: Vec<DeclarationSet> = (0..40).map(|_| generator.next_set(now_ms())).collect();
    sets.extend(generator.scheme(Scheme::SharedAddress, now_ms()));
    for set in &sets {
        server.send_set(set).await;
    }
    // A regulator lists a person by name and ID number: only the keyed hash is journaled.
    let person = &sets[0].buyer;
    let (status, body) = post(
        &server,
        "/api/v1/listings",
        &customs,
        json!({
            "subject": {"type": "person", "name": person.name, "id_number": person.id_number},
            "category": "resale",
            "severity": "warning",
            "evidence": "resold personal imports",
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let store = server.running.store.clone();
    let data_dir = server.dir.path().to_path_buf();
    server.running.stop().await;

    let before = projections(store.as_ref());
    let digest_before = store.projection_digest().unwrap();
    let config = PipelineConfig::default();
    // A dry run changes nothing.
    let dry = ingest::purge::purge(
        store.as_ref(),
        &config,
        now_ms() + 86_400_000,
        now_ms(),
        true,
        "test",
    )
    .unwrap();
    assert_eq!(store.projection_digest().unwrap(), digest_before);
    assert!(dry.declarations > 20, "{dry:?}");

    let summary = ingest::purge::purge(
        store.as_ref(),
        &config,
        now_ms() + 86_400_000,
        now_ms(),
        false,
        "test",
    )
    .unwrap();
    assert_eq!(summary.declarations, dry.declarations);
    assert!(summary.journal_entries > 40, "{summary:?}");
    let purged_digest = store.projection_digest().unwrap();
    assert_ne!(purged_digest, digest_before, "the state rows changed");
    assert_eq!(
        projections(store.as_ref()),
        before,
        "declarations, quotas, receipts, tax bills and records are untouched"
    );

    // The clear values of purged declarations are gone from the journal and the state; the
    // ones of declarations still open are kept.
    let kept: BTreeSet<String> = sets
        .iter()
        .filter(|s| {
            declaration_of(s).is_some_and(|id| {
                store
                    .declaration(&id.0)
                    .unwrap()
                    .is_some_and(|d| matches!(d.status, 2 | 120 | 300 | 500))
            })
        })
        .flat_map(pii_of)
        .collect();
    let stored = personal_bytes(store.as_ref()).join("\n");
    let mut checked = 0;
    for value in sets.iter().flat_map(pii_of) {
        if kept.contains(&value) {
            continue;
        }
        checked += 1;
        assert!(!stored.contains(&value), "{value:?} survived the purge");
    }
    assert!(checked > 100, "{checked} values checked");
    assert!(!stored.contains(&person.id_number));

    // Purging again finds nothing more to do.
    let again = ingest::purge::purge(
        store.as_ref(),
        &config,
        now_ms() + 86_400_000,
        now_ms(),
        false,
        "test",
    )
    .unwrap();
    assert_eq!((again.journal_entries, again.newly_redacted), (0, 0));
    assert_eq!(store.projection_digest().unwrap(), purged_digest);

    // A rebuild from the redacted journal reproduces exactly what the purge left.
    let replayed = ingest::pipeline::rebuild(store.as_ref(), &config, &Supervised).unwrap();
    assert!(replayed > 40);
    assert_eq!(store.projection_digest().unwrap(), purged_digest);
    assert_eq!(projections(store.as_ref()), before);
    let journal = store.journal_after(0, 1_000_000).unwrap();
    let redacted = journal
        .iter()
        .find(|j| j.kind.starts_with("CEB") && ingest::purge::is_redacted_body(&j.body))
        .unwrap();
    let body: Value = serde_json::from_slice(&redacted.body).unwrap();
    assert_eq!(
        body["redacted"]["sha256"].as_str().unwrap().len(),
        64,
        "{body}"
    );
    assert!(redacted.kind.starts_with("CEB") && !redacted.guid.is_empty());

    // The audit log has the purge; the clear view now shows masks only.
    let audit = store
        .audit(&store::audit::AuditQuery {
            action: Some("purge"),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(audit.len(), 2);
    drop(store);
    let config = server::app::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        store: format!("sqlite:{}", data_dir.join("ow.db").display()),
        data_dir: data_dir.clone(),
        pipeline: PipelineConfig::default(),
        limits: ceb::Limits::default(),
        data_key_file: None,
        guard: server::guard::GuardConfig::default(),
        portal: server::portal::PortalConfig::default(),
    };
    let running = server::app::start(config).await.unwrap();
    let again = TestServer {
        running,
        admin: std::fs::read_to_string(data_dir.join("admin-token"))
            .unwrap()
            .trim()
            .to_string(),
        tokens: Default::default(),
        dir: tempfile::tempdir().unwrap(),
    };
    let (customs, _) = staff(&again, "regulator:customs").await;
    let released = sets
        .iter()
        .find(|s| s.case == Case::Clean && s.scheme.is_none())
        .and_then(declaration_of)
        .unwrap();
    let (status, body) = post(
        &again,
        &format!("/api/v1/declarations/{}/personal-data", released.0),
        &customs,
        json!({"reason": "after the retention period"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["personalData"]["purged"], true, "{body}");
    let name = body["personalData"]["buyerName"].as_str().unwrap();
    assert!(name.ends_with('*'), "{name}");
    again.running.stop().await;
}

/// Security probe, finding 6: a reason that repeats the buyer's name kept it in clear in the audit
/// log (only ID-number-like and phone-like digit runs were masked). Every personal value of the
/// declaration viewed is now masked wherever the reason repeats it.
#[tokio::test]
async fn a_reason_naming_the_buyer_is_kept_masked_in_the_audit_log() {
    let server = support::start().await;
    let (auditor, _) = staff(&server, "auditor").await;
    let (customs, _) = staff(&server, "regulator:customs").await;
    let mut generator = Generator::new(11, Mix::default());
    let set = generator.set_of(Case::Clean, now_ms());
    server.send_set(&set).await;
    let id = declaration_of(&set).unwrap().0;
    let buyer = &set.buyer;
    let reason = format!(
        "核对订购人{}的身份证{}与电话{}，与包裹面单比对",
        buyer.name, buyer.id_number, buyer.phone
    );
    let (status, body) = post(
        &server,
        &format!("/api/v1/declarations/{id}/personal-data"),
        &customs,
        json!({ "reason": reason }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A refused request's reason is masked the same way.
    let (tax, _) = staff(&server, "regulator:tax").await;
    let (status, _) = post(
        &server,
        &format!("/api/v1/declarations/{id}/personal-data"),
        &tax,
        json!({ "reason": reason }),
    )
    .await;
    assert_eq!(status, 403);
    let views = audit_entries(&server, &auditor, "action=personal_data.view").await;
    assert_eq!(views.len(), 2, "{views:?}");
    for view in &views {
        let kept = view["detail"]["reason"].as_str().unwrap();
        for clear in [&buyer.name, &buyer.id_number, &buyer.phone] {
            assert!(
                !kept.contains(clear.as_str()),
                "the audit log keeps a personal value of the reason in clear: {kept}"
            );
        }
        assert!(
            kept.contains(&domain::personal::mask_name(&buyer.name)),
            "the name is there, masked: {kept}"
        );
        assert!(kept.contains("与包裹面单比对"), "the rest is kept: {kept}");
    }
}
