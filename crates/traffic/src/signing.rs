//! The demo enterprises' signing keys: **test keys only**, derived from a published seed
//! ([`DEMO_KEY_SEED`] and the enterprise code), so that anyone can sign as any demo enterprise.
//! They exist so that the demo, the benchmark and the tests carry real SM2/SM3 signatures; never
//! file these certificates in production.
//!
//! Each demo enterprise has an SM2 key and a self-signed certificate (subject
//! `CN=<code>,O=OneWindow demo test key - not for production`, valid 2020-01-01 to 2049-12-31
//! UTC). The generator signs every CEB621, 623, 625 and 711 it writes with its sender's key, as
//! the last step of writing it (a case that spoils a message does so after signing).

use std::sync::OnceLock;

use ceb::dsig::{Certificate, PrivateKey, Signer};

use crate::registry::demo_registry;

/// The seed the demo keys derive from (with the enterprise code). Public on purpose.
pub const DEMO_KEY_SEED: &str = "onewindow-demo-test-key-not-for-production";

/// The organisation name every demo certificate carries.
pub const DEMO_CERTIFICATE_ORGANIZATION: &str = "OneWindow demo test key - not for production";

/// 2020-01-01T00:00:00Z and 2049-12-31T00:00:00Z, Unix ms.
const VALID_FROM_MS: i64 = 1_577_836_800_000;
const VALID_UNTIL_MS: i64 = 2_524_521_600_000;

/// The messages the specification requires a signature on (ceb-spec §1.1).
pub const SIGNED_MESSAGES: [&str; 4] = [
    "CEB621Message",
    "CEB623Message",
    "CEB625Message",
    "CEB711Message",
];

/// The test key of a code (any code: keys for codes outside the registry are made the same way,
/// which tests use for "someone else's key").
pub fn demo_key(code: &str) -> PrivateKey {
    let mut seed = Vec::with_capacity(DEMO_KEY_SEED.len() + 1 + code.len());
    seed.extend_from_slice(DEMO_KEY_SEED.as_bytes());
    seed.push(b'/');
    seed.extend_from_slice(code.as_bytes());
    PrivateKey::sm2_from_seed(&seed)
}

/// The self-signed test certificate of a code's [`demo_key`]; serial = the code's bytes.
pub fn demo_certificate_for(code: &str) -> Option<Certificate> {
    let serial: Vec<u8> = code.bytes().take(19).collect();
    demo_key(code)
        .self_signed(
            code,
            DEMO_CERTIFICATE_ORGANIZATION,
            &serial,
            VALID_FROM_MS,
            VALID_UNTIL_MS,
        )
        .ok()
}

fn signers() -> &'static [(&'static str, Signer)] {
    static SIGNERS: OnceLock<Vec<(&'static str, Signer)>> = OnceLock::new();
    SIGNERS.get_or_init(|| {
        demo_registry()
            .iter()
            .filter_map(|e| {
                let cert = demo_certificate_for(e.code)?;
                let signer = Signer::new(demo_key(e.code), cert).ok()?;
                Some((e.code, signer))
            })
            .collect()
    })
}

/// The signer (test key and certificate) of a demo enterprise.
pub fn demo_signer(code: &str) -> Option<&'static Signer> {
    signers().iter().find(|(c, _)| *c == code).map(|(_, s)| s)
}

/// Every demo enterprise with its test certificate: what the demo and the test harnesses file.
pub fn demo_certificates() -> Vec<(&'static str, &'static Certificate)> {
    signers()
        .iter()
        .map(|(code, signer)| (*code, signer.certificate()))
        .collect()
}

/// Sign a message the generator wrote, when its kind is signed, with its sender's test key.
/// Unsigned (`sign` false, or signing failed, which it cannot for generated XML), a message of
/// a signed kind gets the placeholder signature, so that it still has the element the XSD
/// requires.
pub(crate) fn sign_generated(sender: &str, message_type: &str, xml: String, sign: bool) -> String {
    if !SIGNED_MESSAGES.contains(&message_type) {
        return xml;
    }
    let signed = demo_signer(sender)
        .filter(|_| sign)
        .and_then(|signer| ceb::dsig::sign_unchecked(xml.as_bytes(), signer).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match signed {
        Some(s) => s,
        None => {
            let mut xml = xml;
            let at = xml.trim_end().rfind("\n</").unwrap_or(xml.len());
            xml.insert_str(at, crate::xml::SIGNATURE_PLACEHOLDER);
            xml
        }
    }
}
