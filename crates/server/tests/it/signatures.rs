//! Message signatures at intake, over HTTP: what a sender sees when its CEB621 (or a signed
//! CEB311) is missing its signature, was changed after signing, is signed under someone else's
//! certificate, one not yet valid, expired or revoked; the setting that switches enforcement;
//! the certificate routes; and a rebuild that reproduces the filed certificates.

use ceb::dsig::{self, PrivateKey, Signer};
use domain::clearance::Supervised;
use ingest::pipeline::PipelineConfig;
use ingest::signatures::{Certificates, Gate};
use serde_json::Value;
use traffic::{Case, GeneratedMessage, Generator, Mix};

use crate::support::{self, TestServer, has, now_ms};

/// A clean declaration set, seeded.
fn clean(seed: u64) -> traffic::DeclarationSet {
    Generator::new(seed, Mix::default()).set_of(Case::Clean, now_ms())
}

fn of_type<'a>(set: &'a traffic::DeclarationSet, t: &str) -> &'a GeneratedMessage {
    set.messages.iter().find(|m| m.message_type == t).unwrap()
}

fn with_xml(m: &GeneratedMessage, xml: String) -> GeneratedMessage {
    GeneratedMessage { xml, ..m.clone() }
}

/// A signer for `code` under a fresh key and certificate (valid 2020–2049 unless given).
fn own_signer(seed: &str, code: &str, from_ms: i64, until_ms: i64) -> Signer {
    let key = PrivateKey::sm2_from_seed(seed.as_bytes());
    let cert = key
        .self_signed(code, "signature tests", &[9, 9], from_ms, until_ms)
        .unwrap();
    Signer::new(key, cert).unwrap()
}

const FROM: i64 = 1_577_836_800_000;
const UNTIL: i64 = 2_524_521_600_000;

fn resigned(m: &GeneratedMessage, signer: &Signer) -> GeneratedMessage {
    let xml = dsig::sign(m.xml.as_bytes(), signer).unwrap();
    with_xml(m, String::from_utf8(xml).unwrap())
}

/// The refusal's DXP code and its CEB900 text.
fn refused(status: u16, body: &Value) -> (String, String) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["type"], "https://onewindow.dev/problems/invalid-signature",
        "{body}"
    );
    let ceb900 = body["ceb900"].as_str().unwrap().to_string();
    assert!(
        ceb900.contains("<CEB900Message") || ceb900.contains("CEB900Message"),
        "{ceb900}"
    );
    (body["code"].as_str().unwrap().to_string(), ceb900)
}

async fn file_pem(server: &TestServer, code: &str, pem: &str, token: &str) -> (u16, Value) {
    server
        .call(
            "POST",
            &format!("/api/v1/enterprises/{code}/certificates"),
            Some(token),
            "application/x-pem-file",
            pem.as_bytes(),
        )
        .await
}

#[tokio::test]
async fn signed_inventories_clear_and_a_change_after_signing_is_refused_with_1004() {
    let server = support::start().await;
    let set = clean(41);
    let receipts = server.send_set(&set).await;
    assert!(has(&receipts, "CEB622Message", "800"), "{receipts:#?}");

    let next = clean(42);
    let inv = of_type(&next, "CEB621Message");
    let tampered = with_xml(inv, inv.xml.replacen("<ceb:orderNo>", "<ceb:orderNo>X", 1));
    let (status, body) = server.send(&tampered).await;
    let (code, ceb900) = refused(status, &body);
    assert_eq!(code, "1004");
    assert!(ceb900.contains("[Code:1004;"), "{ceb900}");
    assert!(ceb900.contains("签名与数据不符"), "{ceb900}");
    // Nothing of it was journaled: the untouched inventory is still new, and accepted.
    let (status, body) = server.send(inv).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_missing_signature_is_a_security_refusal_not_a_schema_error() {
    let server = support::start().await;
    let inv = of_type(&clean(43), "CEB621Message").clone();
    let start = inv.xml.find("<ds:Signature").unwrap();
    let end = inv.xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let unsigned = with_xml(&inv, format!("{}{}", &inv.xml[..start], &inv.xml[end..]));
    let (status, body) = server.send(&unsigned).await;
    let (code, ceb900) = refused(status, &body);
    assert_eq!(code, "1999");
    assert!(ceb900.contains("carries no ds:Signature"), "{ceb900}");
}

#[tokio::test]
async fn another_enterprises_certificate_and_one_not_yet_valid_are_refused() {
    let server = support::start().await;
    let set = clean(44);
    let inv = of_type(&set, "CEB621Message");
    // Signed by the seller's test key: filed, but for the seller, not for the agent.
    let seller = of_type(&set, "CEB311Message").sender.clone();
    let foreign = resigned(inv, traffic::demo_signer(&seller).unwrap());
    let (status, body) = server.send(&foreign).await;
    let (code, _) = refused(status, &body);
    assert_eq!(code, "1999");
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .contains(&format!("not filed for enterprise {}", inv.sender)),
        "{body}"
    );
    // A certificate filed for the agent but valid only from 2040: 1002.
    let later = own_signer("later", &inv.sender, 2_208_988_800_000, UNTIL);
    let (status, body) = file_pem(
        &server,
        &inv.sender,
        &later.certificate().to_pem(),
        &server.admin,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.send(&resigned(inv, &later)).await;
    let (code, ceb900) = refused(status, &body);
    assert_eq!(code, "1002");
    assert!(ceb900.contains("not valid before 2040-01-01"), "{ceb900}");
}

#[test]
fn an_expired_certificate_is_refused_with_1002_at_the_time_the_message_arrives() {
    let m = of_type(&clean(45), "CEB621Message").clone();
    let cert = traffic::demo_signer(&m.sender)
        .unwrap()
        .certificate()
        .clone();
    let gate = Gate::new(
        domain::settings::SignaturePolicy::Required,
        std::sync::Arc::new(Certificates::of([(m.sender.clone(), cert.clone())])),
    );
    let limits = ceb::Limits::default();
    let ok = gate.check(
        "CEB621Message",
        &m.sender,
        m.xml.as_bytes(),
        &limits,
        now_ms(),
    );
    assert!(ok.unwrap().is_some());
    let late = cert.not_after_ms() + 1000;
    let e = gate
        .check("CEB621Message", &m.sender, m.xml.as_bytes(), &limits, late)
        .unwrap_err();
    assert_eq!(e.code(), "1002");
    assert!(e.to_string().contains("expired on 2049-12-31"), "{e}");
    // Under verify-if-present, a sender with nothing on file passes; with a certificate on file,
    // it is checked as under required.
    let migrating = Gate::new(
        domain::settings::SignaturePolicy::VerifyIfPresent,
        std::sync::Arc::new(Certificates::default()),
    );
    let changed = m.xml.replacen("<ceb:orderNo>", "<ceb:orderNo>X", 1);
    assert!(
        migrating
            .check(
                "CEB621Message",
                &m.sender,
                changed.as_bytes(),
                &limits,
                now_ms()
            )
            .unwrap()
            .is_none()
    );
    let checked = Gate::new(
        domain::settings::SignaturePolicy::VerifyIfPresent,
        gate.certificates.clone(),
    );
    let e = checked
        .check(
            "CEB621Message",
            &m.sender,
            changed.as_bytes(),
            &limits,
            now_ms(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "1004");
}

#[tokio::test]
async fn certificates_rotate_and_a_revoked_one_signs_nothing_more() {
    let server = support::start().await;
    let set = clean(46);
    let inv = of_type(&set, "CEB621Message");
    let agent = inv.sender.clone();
    let old = traffic::demo_signer(&agent).unwrap();
    let new = own_signer("rotation", &agent, FROM, UNTIL);
    let (status, body) =
        file_pem(&server, &agent, &new.certificate().to_pem(), &server.admin).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["seq"].is_i64(), "{body}");
    // Both live during the rotation.
    let (status, body) = server.send(&resigned(inv, &new)).await;
    assert_eq!(status, 200, "{body}");
    let second = of_type(&clean(47), "CEB621Message").clone();
    let second = if second.sender == agent {
        second
    } else {
        let mut found = None;
        for seed in 48.. {
            let m = of_type(&clean(seed), "CEB621Message").clone();
            if m.sender == agent {
                found = Some(m);
                break;
            }
        }
        found.unwrap()
    };
    // Revoke the old one: a message under it is refused, under the new one accepted.
    let (status, body) = server
        .call(
            "DELETE",
            &format!(
                "/api/v1/enterprises/{agent}/certificates/{}",
                old.certificate().fingerprint()
            ),
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server.send(&second).await;
    let (code, _) = refused(status, &body);
    assert_eq!(code, "1999");
    assert!(
        body["title"].as_str().unwrap().contains("was revoked"),
        "{body}"
    );
    let (status, body) = server.send(&resigned(&second, &new)).await;
    assert_eq!(status, 200, "{body}");
    // Revoking twice: 409; the listing shows both, the old one revoked.
    let (status, _) = server
        .call(
            "DELETE",
            &format!(
                "/api/v1/enterprises/{agent}/certificates/{}",
                old.certificate().fingerprint()
            ),
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 409);
    let (status, listed) = server
        .call(
            "GET",
            &format!("/api/v1/enterprises/{agent}/certificates"),
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let list = listed["certificates"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{listed}");
    assert!(
        list[0]["revokedAtMs"].is_i64() && list[1]["revokedAtMs"].is_null(),
        "{listed}"
    );
    assert_eq!(list[1]["algorithm"], "SM2");
    assert!(
        list[1]["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}

#[tokio::test]
async fn optional_kinds_are_checked_when_they_carry_a_signature() {
    let server = support::start().await;
    let set = clean(50);
    let order = of_type(&set, "CEB311Message");
    assert!(
        !order.xml.contains("<ds:Signature"),
        "orders are not signed by the generator"
    );
    let signed = resigned(order, traffic::demo_signer(&order.sender).unwrap());
    let tampered = with_xml(
        &signed,
        signed.xml.replacen("<ceb:orderNo>", "<ceb:orderNo>X", 1),
    );
    let (status, body) = server.send(&tampered).await;
    let (code, _) = refused(status, &body);
    assert_eq!(code, "1004");
    let (status, body) = server.send(&signed).await;
    assert_eq!(status, 200, "a signed order is accepted: {body}");
    let unsigned = of_type(&clean(51), "CEB311Message").clone();
    let (status, body) = server.send(&unsigned).await;
    assert_eq!(status, 200, "an unsigned order is accepted: {body}");
}

#[tokio::test]
async fn the_setting_switches_enforcement_for_a_migration_period() {
    let server = support::start().await;
    let put = |value: &'static str| {
        let server = &server;
        async move {
            let body = format!("{{\"signatures\":\"{value}\"}}");
            server
                .call(
                    "PUT",
                    "/api/v1/settings",
                    Some(&server.admin),
                    "application/json",
                    body.as_bytes(),
                )
                .await
        }
    };
    let inv = of_type(&clean(52), "CEB621Message").clone();
    let tampered = with_xml(&inv, inv.xml.replacen("<ceb:orderNo>", "<ceb:orderNo>X", 1));
    let (status, body) = put("verify-if-present").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.send(&tampered).await;
    let (code, _) = refused(status, &body);
    assert_eq!(
        code, "1004",
        "the sender has a certificate on file: checked"
    );
    let (status, body) = put("off").await;
    assert_eq!(status, 200, "{body}");
    let (status, settings) = server
        .call(
            "GET",
            "/api/v1/settings",
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(settings["signatures"], "off");
    let (status, body) = server.send(&tampered).await;
    assert_eq!(status, 200, "off: not checked: {body}");
    let (status, body) = server
        .call(
            "PUT",
            "/api/v1/settings",
            Some(&server.admin),
            "application/json",
            br#"{"signatures":"sometimes"}"#,
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn only_the_administrator_files_and_revokes_and_enterprises_see_their_own() {
    let server = support::start().await;
    let agent = "3301960EAA";
    let other = "3301960EAB";
    let pem = own_signer("roles", agent, FROM, UNTIL)
        .certificate()
        .to_pem();
    let own = server.token(agent);
    let (status, _) = file_pem(&server, agent, &pem, &own).await;
    assert_eq!(status, 403, "an enterprise does not file certificates");
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/v1/enterprises/{agent}/certificates"),
            Some(&own),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["certificates"].as_array().unwrap().len(), 1);
    let (status, _) = server
        .call(
            "GET",
            &format!("/api/v1/enterprises/{other}/certificates"),
            Some(&own),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 403, "nor sees another's");
    let (status, _) = file_pem(&server, "3301960ZZZ", &pem, &server.admin).await;
    assert_eq!(status, 404, "an unfiled enterprise");
    let (status, body) = file_pem(&server, agent, "not a certificate", &server.admin).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["type"],
        "https://onewindow.dev/problems/invalid-certificate"
    );
    let expired = own_signer("expired", agent, FROM, FROM + 86_400_000)
        .certificate()
        .to_pem();
    let (status, body) = file_pem(&server, agent, &expired, &server.admin).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = file_pem(&server, agent, &pem, &server.admin).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = file_pem(&server, agent, &pem, &server.admin).await;
    assert_eq!(status, 200, "filing it again changes nothing: {body}");
    let (status, body) = file_pem(&server, other, &pem, &server.admin).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["type"],
        "https://onewindow.dev/problems/certificate-of-another-enterprise"
    );
    let (status, _) = server
        .call(
            "DELETE",
            &format!(
                "/api/v1/enterprises/{agent}/certificates/{}",
                "0".repeat(64)
            ),
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_rebuild_reproduces_filed_and_revoked_certificates() {
    let server = support::start().await;
    let agent = "3301960EAA";
    let fingerprint = traffic::demo_signer(agent)
        .unwrap()
        .certificate()
        .fingerprint()
        .to_string();
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/api/v1/enterprises/{agent}/certificates/{fingerprint}"),
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 204);
    let store = server.running.store.clone();
    server.running.stop().await;
    let before = tokio::task::spawn_blocking({
        let store = store.clone();
        move || store.certificates(None).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(before.len(), traffic::demo_registry().len());
    assert_eq!(
        before.iter().filter(|c| c.revoked_at_ms.is_some()).count(),
        1
    );
    let after = tokio::task::spawn_blocking(move || {
        ingest::pipeline::rebuild(store.as_ref(), &PipelineConfig::default(), &Supervised).unwrap();
        store.certificates(None).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(after, before);
}

/// A message wrapped in a DXP envelope is verified on the business message inside, as signed.
#[tokio::test]
async fn a_dxp_wrapped_message_is_verified_on_the_business_message_inside() {
    let server = support::start().await;
    let inv = of_type(&clean(53), "CEB621Message").clone();
    let info = ceb::DxpInfo {
        cop_msg_id: "MSG-0001".into(),
        sender_id: "DXPENT0000000011".into(),
        receiver_ids: vec!["DXPEDCCEB0000002".into()],
        creat_time: "2026-03-01T10:00:00".into(),
        msg_type: "CEB621Message".into(),
        file_name: None,
    };
    let tampered = inv.xml.replacen("<ceb:orderNo>", "<ceb:orderNo>X", 1);
    let wrapped_bad = ceb::DxpMsg::wrap(tampered.as_bytes(), info.clone()).to_xml();
    let (status, body) = server.send(&with_xml(&inv, wrapped_bad)).await;
    let (code, ceb900) = refused(status, &body);
    assert_eq!(code, "1004");
    assert!(
        ceb900.contains("<oriCopMsgId>MSG-0001</oriCopMsgId>"),
        "{ceb900}"
    );
    let wrapped = ceb::DxpMsg::wrap(inv.xml.as_bytes(), info).to_xml();
    let (status, body) = server.send(&with_xml(&inv, wrapped)).await;
    assert_eq!(status, 200, "{body}");
}
