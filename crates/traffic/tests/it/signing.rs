//! The demo traffic carries real SM2/SM3 signatures by the senders' test keys.

use traffic::{Case, Generator, Mix, SIGNED_MESSAGES};

use crate::NOW;

#[test]
fn every_signed_kind_verifies_with_its_senders_test_certificate() {
    let mut g = Generator::new(8, Mix::default());
    let sets: Vec<_> = (0..40).map(|i| g.next_set(NOW + i * 1000)).collect();
    let mut messages: Vec<_> = sets.iter().flat_map(|s| s.messages.clone()).collect();
    let clean: Vec<_> = sets.iter().filter(|s| s.case == Case::Clean).collect();
    messages.extend(g.delivery(&clean, NOW));
    messages.extend(g.cancel(clean[0], "29912026I000000001", NOW));
    messages.extend(g.refund(clean[1], "29912026I000000002", NOW));
    let mut signed_kinds = std::collections::BTreeSet::new();
    for m in messages.iter().filter(|m| m.expect_valid) {
        let verdict = ceb::dsig::verify_bytes(m.xml.as_bytes());
        if SIGNED_MESSAGES.contains(&m.message_type) {
            let v = verdict.unwrap_or_else(|e| panic!("{} of {}: {e}", m.message_type, m.sender));
            let cert = traffic::demo_signer(&m.sender).unwrap().certificate();
            assert_eq!(
                &v.certificate, cert,
                "{} signed by its sender",
                m.message_type
            );
            signed_kinds.insert(m.message_type);
        } else {
            assert_eq!(verdict.unwrap_err(), ceb::dsig::SignatureError::Missing);
        }
    }
    assert_eq!(
        signed_kinds.into_iter().collect::<Vec<_>>(),
        SIGNED_MESSAGES
    );
}

#[test]
fn demo_test_keys_are_deterministic_and_clearly_marked() {
    let a = traffic::demo_certificate_for("3301960EAA").unwrap();
    let b = traffic::demo_certificate_for("3301960EAA").unwrap();
    assert_eq!(a, b);
    assert_ne!(a, traffic::demo_certificate_for("3301960EAB").unwrap());
    assert!(
        a.subject().contains("not for production"),
        "{}",
        a.subject()
    );
    assert_eq!(
        traffic::demo_certificates().len(),
        traffic::demo_registry().len()
    );
    assert!(traffic::demo_key("3301960EAA").matches(&a));
}

#[test]
fn unsigned_traffic_carries_a_placeholder_that_does_not_verify() {
    let mut g = Generator::new(8, crate::unsigned());
    let s = g.set_of(Case::Clean, NOW);
    let inv = s
        .messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
        .unwrap();
    assert!(inv.xml.contains("<ds:Signature"));
    assert!(ceb::dsig::verify_bytes(inv.xml.as_bytes()).is_err());
}
