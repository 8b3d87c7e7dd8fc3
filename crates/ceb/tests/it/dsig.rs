//! Enveloped XML signatures: sign → verify round trips (SM2/SM3, the field's SM2 variant,
//! RSA-SHA1), every meaningful one-byte change refused (property over positions), GBK input,
//! the field's SM2 conventions checked against a signature a real e-port UKey made, the
//! official sample refused with a clear reason, and xmlsec1 (libxmlsec1 + OpenSSL) as a second
//! implementation for RSA-SHA1.

use std::process::Command;

use base64::Engine;
use ceb::dsig::{
    self, Certificate, DigestAlgorithm, PrivateKey, SignatureAlgorithm, SignatureError, Signer,
};
use ceb::xml::{Limits, parse_document};
use proptest::prelude::*;

/// 2020-01-01 and 2049-12-31 (UTC), Unix ms.
const FROM: i64 = 1_577_836_800_000;
const UNTIL: i64 = 2_524_521_600_000;

const RSA_TEST_KEY: &str = include_str!("data/rsa-test-key.pem");

pub fn sm2_signer() -> Signer {
    let key = PrivateKey::sm2_from_seed(b"ceb-tests");
    let cert = key
        .self_signed(
            "3301960EAA",
            "OneWindow test key",
            &[0x01, 0x69, 0x1f, 0xe9],
            FROM,
            UNTIL,
        )
        .unwrap();
    Signer::new(key, cert).unwrap()
}

fn rsa_signer() -> Signer {
    let key = PrivateKey::from_pkcs8_pem(RSA_TEST_KEY).unwrap();
    let cert = key
        .self_signed("3301960EAA", "OneWindow test key", &[0x42], FROM, UNTIL)
        .unwrap();
    Signer::new(key, cert).unwrap()
}

/// The official CEB311 sample without its signature (made by another key over other content:
/// it does not verify).
fn message() -> Vec<u8> {
    unsigned_sample("311").into_bytes()
}

fn unsigned_sample(code: &str) -> String {
    let sample = crate::sample(code);
    let start = sample.find("<ds:Signature").unwrap();
    let end = sample.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let start = sample[..start].trim_end().len();
    format!("{}{}", &sample[..start], &sample[end..])
}

#[test]
fn an_sm2_signed_message_verifies_and_keeps_its_shape() {
    let signer = sm2_signer();
    let signed = dsig::sign(&message(), &signer).unwrap();
    let v = dsig::verify_bytes(&signed).unwrap();
    assert_eq!(v.algorithm, SignatureAlgorithm::Sm2Sm3);
    assert_eq!(v.digest, DigestAlgorithm::Sm3);
    assert_eq!(v.certificate, *signer.certificate());
    assert_eq!(v.key_name.as_deref(), Some("01691fe9"));
    // Still a valid CEB311 (the XSD allows the signature last), the signature the last child,
    // everything before it unchanged.
    ceb::parse(&signed, &Limits::default()).unwrap();
    let doc = parse_document(&signed, &Limits::default()).unwrap();
    assert_eq!(doc.root.children.last().unwrap().name, "Signature");
    let original = message();
    let cut = original.len() - "\n</ceb:CEB311Message>\n".len();
    assert_eq!(&signed[..cut], &original[..cut]);
    let text = String::from_utf8(signed).unwrap();
    assert!(text.contains(
        "<ds:SignatureMethod Algorithm=\"http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3\">"
    ));
    // The SM2 value is raw r‖s, 64 bytes, as the e-port UKeys write it.
    let value = text
        .split("<ds:SignatureValue>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(value)
            .unwrap()
            .len(),
        64
    );
}

#[test]
fn an_rsa_signed_message_verifies() {
    let signed = dsig::sign(&message(), &rsa_signer()).unwrap();
    let v = dsig::verify_bytes(&signed).unwrap();
    assert_eq!(v.algorithm, SignatureAlgorithm::RsaSha1);
    assert_eq!(v.digest, DigestAlgorithm::Sha1);
}

#[test]
fn the_field_variant_sm2_uri_with_a_sha1_digest_verifies() {
    let s = sm2_signer();
    let variant = Signer::with_algorithms(
        PrivateKey::sm2_from_seed(b"ceb-tests"),
        s.certificate().clone(),
        SignatureAlgorithm::Sm2Sm3W3c,
        DigestAlgorithm::Sha1,
    )
    .unwrap();
    let signed = dsig::sign(&message(), &variant).unwrap();
    let v = dsig::verify_bytes(&signed).unwrap();
    assert_eq!(v.algorithm, SignatureAlgorithm::Sm2Sm3W3c);
    assert_eq!(v.digest, DigestAlgorithm::Sha1);
    assert!(
        String::from_utf8(signed)
            .unwrap()
            .contains("http://www.w3.org/2000/09/xmldsig#sm2-sm3")
    );
}

#[test]
fn signing_again_replaces_the_signature_and_gives_the_same_bytes() {
    let signer = sm2_signer();
    let once = dsig::sign(&message(), &signer).unwrap();
    let twice = dsig::sign(&once, &signer).unwrap();
    assert_eq!(
        once, twice,
        "SM2 signing is deterministic (RFC 6979 nonces)"
    );
    // The official CEB621 sample carries a signature that does not verify; signing replaces it.
    let sample = crate::sample("621").into_bytes();
    let signed = dsig::sign(&sample, &signer).unwrap();
    dsig::verify_bytes(&signed).unwrap();
    let doc = parse_document(&signed, &Limits::default()).unwrap();
    assert!(dsig::has_signature(&doc));
    assert_eq!(
        doc.root
            .children
            .iter()
            .filter(|c| c.name == "Signature")
            .count(),
        1
    );
}

#[test]
fn a_signature_over_the_canonical_form_survives_insignificant_rewriting() {
    let signed = String::from_utf8(dsig::sign(&message(), &sm2_signer()).unwrap()).unwrap();
    // Another XML declaration, single quotes on the root's attributes, a self-closing empty
    // element: the canonical form is the same, so the signature still holds.
    let rewritten = signed
        .replacen(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<?xml version='1.0'?>",
            1,
        )
        .replacen("version=\"1.0\"", "version='1.0'", 1)
        .replacen("<ceb:note></ceb:note>", "<ceb:note/>", 1);
    assert_ne!(rewritten, signed);
    dsig::verify_bytes(rewritten.as_bytes()).unwrap();
}

/// Byte positions whose change alters what is signed: letters and digits of the message from
/// the root start tag on (names, values, text), SignedInfo and SignatureValue — everything but
/// the XML declaration and KeyInfo (which is not signed).
fn meaningful_positions(signed: &[u8]) -> Vec<usize> {
    let doc = parse_document(signed, &Limits::default()).unwrap();
    let sig = doc.root.children.last().unwrap();
    let key_info = sig
        .children
        .iter()
        .find(|c| c.name == "KeyInfo")
        .unwrap()
        .span
        .clone();
    (doc.root.span.start..signed.len())
        .filter(|i| !key_info.contains(i))
        .filter(|&i| signed[i].is_ascii_alphanumeric())
        .collect()
}

fn alnum(i: u8) -> u8 {
    const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    SET[usize::from(i) % SET.len()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A one-byte change anywhere in the signed content makes verification fail.
    #[test]
    fn a_one_byte_change_in_signed_content_fails(pick in any::<prop::sample::Index>(), with in any::<u8>()) {
        let signed = signed_fixture();
        let positions = meaningful_positions(signed);
        let at = positions[pick.index(positions.len())];
        let mut changed = signed.to_vec();
        let mut replacement = alnum(with);
        if replacement == changed[at] {
            replacement = alnum(with.wrapping_add(1));
        }
        changed[at] = replacement;
        prop_assert!(dsig::verify_bytes(&changed).is_err(), "byte {at} changed and the signature still verified");
    }
}

fn signed_fixture() -> &'static [u8] {
    static SIGNED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SIGNED.get_or_init(|| dsig::sign(&message(), &sm2_signer()).unwrap())
}

#[test]
fn changes_are_answered_with_the_dxp_codes() {
    let signed = String::from_utf8(signed_fixture().to_vec()).unwrap();
    // Data changed after signing: 1004.
    let data = signed.replacen("<ceb:orderNo>", "<ceb:orderNo>X", 1);
    let e = dsig::verify_bytes(data.as_bytes()).unwrap_err();
    assert_eq!(
        (e.clone(), e.code()),
        (SignatureError::DigestMismatch, "1004")
    );
    // SignedInfo changed (the digest re-computed by a forger, the signature not): 1001.
    let info = signed.replacen(
        "<ds:Reference URI=\"\">",
        "<ds:Reference URI=\"\" Id=\"r\">",
        1,
    );
    let e = dsig::verify_bytes(info.as_bytes()).unwrap_err();
    assert_eq!(
        (e.clone(), e.code()),
        (SignatureError::BadSignature, "1001")
    );
    // No signature: 1999.
    let e = dsig::verify_bytes(&message()).unwrap_err();
    assert_eq!((e.clone(), e.code()), (SignatureError::Missing, "1999"));
    // Another reference than the whole message: 1001, named.
    let uri = signed.replacen(
        "<ds:Reference URI=\"\">",
        "<ds:Reference URI=\"#order\">",
        1,
    );
    let e = dsig::verify_bytes(uri.as_bytes()).unwrap_err();
    assert_eq!(e.code(), "1001");
    assert!(e.to_string().contains("#order"), "{e}");
    // An algorithm OneWindow does not verify: 1001, named.
    let alg = signed.replacen("xmldsig#sm3", "xmldsig#sm4", 1);
    let e = dsig::verify_bytes(alg.as_bytes()).unwrap_err();
    assert!(matches!(e, SignatureError::Unsupported(_)), "{e}");
    // Two signatures: 1001.
    let sig_start = signed.find("<ds:Signature").unwrap();
    let sig_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let two = signed.replacen(
        "</ceb:CEB311Message>",
        &format!("{}\n</ceb:CEB311Message>", &signed[sig_start..sig_end]),
        1,
    );
    let e = dsig::verify_bytes(two.as_bytes()).unwrap_err();
    assert!(matches!(e, SignatureError::Malformed(_)), "{e}");
    // Not XML at all: a format error.
    assert_eq!(
        dsig::verify_bytes(b"\x00garbage").unwrap_err().code(),
        "0001"
    );
}

#[test]
fn a_der_encoded_sm2_value_is_accepted_too() {
    let signed = String::from_utf8(signed_fixture().to_vec()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let value = signed
        .split("<ds:SignatureValue>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    let raw = b64.decode(value).unwrap();
    let der = der_of(&raw[..32], &raw[32..]);
    let rewritten = signed.replacen(value, &b64.encode(&der), 1);
    dsig::verify_bytes(rewritten.as_bytes()).unwrap();
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` of two 32-byte big-endian numbers.
fn der_of(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn int(x: &[u8]) -> Vec<u8> {
        let mut x: Vec<u8> = x.iter().copied().skip_while(|b| *b == 0).collect();
        if x.first().is_none_or(|b| b & 0x80 != 0) {
            x.insert(0, 0);
        }
        let mut out = vec![0x02, x.len() as u8];
        out.extend(x);
        out
    }
    let body: Vec<u8> = int(r).into_iter().chain(int(s)).collect();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn a_gbk_message_signs_and_verifies_on_its_canonical_utf8_form() {
    // The sample starts with a UTF-8 BOM, which has no GBK form.
    let sample = unsigned_sample("311");
    let utf8 =
        sample
            .trim_start_matches('\u{feff}')
            .replacen("encoding=\"UTF-8\"", "encoding=\"GBK\"", 1);
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&utf8);
    assert!(!unmappable);
    let signed = dsig::sign(&gbk, &sm2_signer()).unwrap();
    // Still GBK: the original bytes up to the signature, the Chinese names in GBK.
    assert_eq!(&signed[..gbk.len() - 30], &gbk[..gbk.len() - 30]);
    assert!(
        std::str::from_utf8(&signed).is_err(),
        "the output stays GBK"
    );
    dsig::verify_bytes(&signed).unwrap();
    // The same message re-encoded as UTF-8 has the same canonical form: it verifies too.
    let (text, _, _) = encoding_rs::GBK.decode(&signed);
    let as_utf8 = text.replacen("encoding=\"GBK\"", "encoding=\"UTF-8\"", 1);
    dsig::verify_bytes(as_utf8.as_bytes()).unwrap();
}

/// A signature a real e-port UKey made (SM3withSM2) over the canonical SignedInfo of a CEB621,
/// published in the README of Weasley-J/chinaport-data-signature ("XML加签响应示例"), with the
/// SM2 public key of the certificate it returned (only the key is kept here: the certificate
/// names a person). It shows the field's conventions, which OneWindow follows: the default
/// signer ID, a raw 64-byte r‖s value, and a canonical SignedInfo that carries the namespaces it
/// inherits from the message root (ceb, xsi) and from ds:Signature (ds).
#[test]
fn a_signature_made_by_an_eport_ukey_verifies_with_our_conventions() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let public_key = b64
        .decode("BNLzkJqZQK/YoD2awPBdZrKpxXdFPvuhujYRuazbiFFn7dAcEJ+3kiZLef370kqHu6VINv2sB1Fj585HnkHO6FY=")
        .unwrap();
    let signature = b64
        .decode("Pa2Ge3A1iH9e+85jIraVccvf2MB4ykjgC1MjObNd/MbPOSZRWTaizlnfReH3ErRMH5Wc3m60ZM6h56v7t7lIWg==")
        .unwrap();
    let canonical = "<ds:SignedInfo xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sm2-sm3\"></ds:SignatureMethod><ds:Reference URI=\"\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"></ds:DigestMethod><ds:DigestValue>b2FtM/jHvW4fnJpMMPWk/177RwA=</ds:DigestValue></ds:Reference></ds:SignedInfo>";
    assert!(dsig::verify_sm2(
        &public_key,
        canonical.as_bytes(),
        &signature
    ));
    assert!(!dsig::verify_sm2(
        &public_key,
        canonical.replace("b2Ft", "b2Fu").as_bytes(),
        &signature
    ));
    // Our canonicalization of that SignedInfo, written the way signing services write it
    // (self-closing, indented) inside a message, gives exactly those bytes.
    let message = "<ceb:CEB621Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" guid=\"g\" version=\"1.0\"><ceb:Inventory/>\n<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sm2-sm3\"/><ds:Reference URI=\"\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/><ds:DigestValue>b2FtM/jHvW4fnJpMMPWk/177RwA=</ds:DigestValue></ds:Reference></ds:SignedInfo></ds:Signature></ceb:CEB621Message>";
    let doc = parse_document(message.as_bytes(), &Limits::default()).unwrap();
    let signed_info = doc.root.children[1].children[0].span.clone();
    let ours = ceb::c14n::canonicalize(
        &doc.source,
        &ceb::c14n::Selection::Subtree { apex: signed_info },
        ceb::c14n::Comments::Without,
    )
    .unwrap();
    assert_eq!(String::from_utf8(ours).unwrap(), canonical);
}

/// The official CEB621 sample's signature claims SM2/SM3 but carries an RSA certificate and a
/// 20-byte digest: it cannot verify, and the reason says why.
#[test]
fn the_official_signed_sample_is_refused_with_a_clear_reason() {
    let e = dsig::verify_bytes(crate::sample("621").as_bytes()).unwrap_err();
    assert_eq!(e.code(), "1001");
    assert!(
        e.to_string()
            .contains("needs an SM2 key, but the certificate holds an RSA key"),
        "{e}"
    );
}

#[test]
fn validity_is_checked_against_the_time_given() {
    let v = dsig::verify_bytes(signed_fixture()).unwrap();
    assert!(v.check_validity(FROM).is_ok());
    assert!(v.check_validity(UNTIL).is_ok());
    let early = v.check_validity(FROM - 1).unwrap_err();
    assert_eq!(early.code(), "1002");
    assert!(
        early
            .to_string()
            .contains("not valid before 2020-01-01T00:00:00Z"),
        "{early}"
    );
    let late = v.check_validity(UNTIL + 1000).unwrap_err();
    assert_eq!(late.code(), "1002");
    assert!(
        late.to_string().contains("expired on 2049-12-31T00:00:00Z"),
        "{late}"
    );
}

#[test]
fn keys_and_certificates_survive_pem_and_der() {
    let key = PrivateKey::sm2_from_seed(b"pem");
    let cert = key.self_signed("E1", "Test", &[7], FROM, UNTIL).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let back = PrivateKey::from_pkcs8_pem(&pem).unwrap();
    assert!(back.matches(&cert));
    assert!(!PrivateKey::sm2_from_seed(b"other").matches(&cert));
    assert_eq!(
        Certificate::from_pem_or_der(cert.to_pem().as_bytes()).unwrap(),
        cert
    );
    assert_eq!(Certificate::from_pem_or_der(cert.der()).unwrap(), cert);
    assert_eq!(cert.subject(), "CN=E1,O=Test");
    assert_eq!(cert.fingerprint().len(), 64);
    assert!(Signer::new(PrivateKey::sm2_from_seed(b"other"), cert).is_err());
    let rsa = PrivateKey::from_pkcs8_pem(RSA_TEST_KEY).unwrap();
    assert!(PrivateKey::from_pkcs8_pem(&rsa.to_pkcs8_pem().unwrap()).is_ok());
    assert!(PrivateKey::from_pkcs8_pem("not a key").is_err());
}

/// xmlsec1 (a second implementation of XML-DSig, on OpenSSL) verifies our RSA-SHA1 signatures,
/// and we verify its. Skips loudly without xmlsec1 (CI installs it).
#[test]
fn xmlsec1_and_onewindow_verify_each_others_rsa_signatures() {
    let available = Command::new("xmlsec1")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        let msg =
            "xmlsec1 not found: XML-DSig interoperability check SKIPPED (apt-get install xmlsec1)";
        assert!(
            std::env::var("ONEWINDOW_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
        return;
    }
    let dir = crate::c14n::tempfile_dir("xmlsec");
    let signer = rsa_signer();
    let cert = dir.join("cert.pem");
    std::fs::write(&cert, signer.certificate().to_pem()).unwrap();
    let key = dir.join("key.pem");
    std::fs::write(&key, RSA_TEST_KEY).unwrap();
    // Ours → xmlsec1.
    let ours = dir.join("ours.xml");
    std::fs::write(&ours, dsig::sign(&message(), &signer).unwrap()).unwrap();
    let o = Command::new("xmlsec1")
        .args([
            "--verify",
            "--enabled-reference-uris",
            "empty",
            "--pubkey-cert-pem",
        ])
        .arg(&cert)
        .arg(&ours)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "xmlsec1 refused our signature: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // xmlsec1 → ours: a template with an empty signature, filled in by xmlsec1.
    let template = unsigned_sample("311").replacen(
        "</ceb:CEB311Message>",
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/><ds:Reference URI=\"\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature></ceb:CEB311Message>",
        1,
    );
    let tpl = dir.join("template.xml");
    std::fs::write(&tpl, template).unwrap();
    let theirs = dir.join("theirs.xml");
    let o = Command::new("xmlsec1")
        .args([
            "--sign",
            "--enabled-reference-uris",
            "empty",
            "--privkey-pem",
        ])
        .arg(format!("{},{}", key.display(), cert.display()))
        .arg("--output")
        .arg(&theirs)
        .arg(&tpl)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "xmlsec1 could not sign: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = dsig::verify_bytes(&std::fs::read(&theirs).unwrap()).unwrap();
    assert_eq!(v.certificate, *signer.certificate());
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// OneWindow verifies SM2 in variable time (all inputs are public); the `sm2` crate's
    /// constant-time verification must give the same answer, for good signatures and for
    /// signatures over another message.
    #[test]
    fn the_fast_sm2_verification_agrees_with_the_crates(seed in any::<[u8; 8]>(), message in prop::collection::vec(any::<u8>(), 0..300), flip in any::<usize>()) {
        use sm2::dsa::signature::Signer as _;
        let key = PrivateKey::sm2_from_seed(&seed);
        let PrivateKey::Sm2(signing) = &key else { unreachable!() };
        let public = signing.verifying_key().to_sec1_bytes();
        let sig: sm2::dsa::Signature = signing.sign(&message);
        let raw = sig.to_bytes();
        prop_assert!(dsig::verify_sm2(&public, &message, &raw));
        prop_assert!(dsig::sm2_verifiers_agree(&public, &message, &raw));
        let mut other = message.clone();
        if other.is_empty() { other.push(1) } else { let i = flip % other.len(); other[i] ^= 0x01; }
        prop_assert!(!dsig::verify_sm2(&public, &other, &raw));
        prop_assert!(dsig::sm2_verifiers_agree(&public, &other, &raw));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Hostile bytes get a verdict, never a panic: arbitrary input, and a signed message cut
    /// short or with bytes overwritten anywhere (KeyInfo and the certificate included).
    #[test]
    fn any_input_gets_a_verdict(noise in prop::collection::vec(any::<u8>(), 0..400), cut in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), with in any::<u8>()) {
        let _ = dsig::verify_bytes(&noise);
        let signed = signed_fixture();
        let _ = dsig::verify_bytes(&signed[..cut.index(signed.len())]);
        let mut changed = signed.to_vec();
        let i = at.index(changed.len());
        changed[i] = with;
        let _ = dsig::verify_bytes(&changed);
        let _ = dsig::sign_unchecked(&changed, &sm2_signer());
        let _ = ceb::dsig::Certificate::from_pem_or_der(&noise);
    }
}
