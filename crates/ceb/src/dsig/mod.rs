//! Enveloped XML signatures of CEB messages (XML-DSig, ceb-spec §1.2, spec §6): verify the
//! `ds:Signature` a message carries, and sign a message the way the field does.
//!
//! What is verified, in this order (each failure has its own [`SignatureError`] and DXP code):
//!
//! 1. the message has exactly one `ds:Signature` child of its root ([`SignatureError::Missing`]);
//! 2. its shape: `SignedInfo` with `CanonicalizationMethod` Canonical XML 1.0 (with or without
//!    comments), a supported `SignatureMethod`, one `Reference URI=""` whose transforms are
//!    `enveloped-signature` optionally followed by Canonical XML 1.0, a supported
//!    `DigestMethod`, the `DigestValue`; then `SignatureValue` and
//!    `KeyInfo/X509Data/X509Certificate` ([`SignatureError::Malformed`],
//!    [`SignatureError::Unsupported`]);
//! 3. the certificate reads and its key is of the kind the `SignatureMethod` names
//!    ([`SignatureError::Certificate`], [`SignatureError::KeyMismatch`]);
//! 4. the digest of the canonical document without the signature equals `DigestValue`
//!    ([`SignatureError::DigestMismatch`]: the data changed after signing);
//! 5. the signature over the canonical `SignedInfo` verifies with the certificate's key
//!    ([`SignatureError::BadSignature`]).
//!
//! Which certificate may sign for which enterprise, and when, is the caller's policy: the
//! verdict ([`Verified`]) names the certificate, and [`Verified::check_validity`] compares its
//! validity period with the time the caller gives.
//!
//! Algorithms (ceb-spec §1.2): SM2 with SM3 under the 2022 chinaport URIs
//! (`http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3`, digest `…#sm3`), the field's variant
//! `http://www.w3.org/2000/09/xmldsig#sm2-sm3` (seen with a SHA-1 digest), and RSA-SHA1
//! (`…xmldsig#rsa-sha1`, digest `…xmldsig#sha1`). Digest and signature method are independent:
//! any supported digest goes with any supported signature method. SM2 uses the default signer
//! ID `1234567812345678`; an SM2 `SignatureValue` may be the raw 64 bytes `r‖s` (what e-port
//! UKeys produce, and what [`sign`] writes) or an ASN.1 DER `SEQUENCE { r, s }` (GB/T 35276).

mod keys;
mod sign;

pub use keys::{Certificate, KeyError, KeyKind, PrivateKey, SM2_DIST_ID, fingerprint};
pub use sign::{SignError, Signer, sign, sign_unchecked};

use base64::Engine;
use sha1::Digest as _;

use crate::c14n::{self, Comments, Selection};
use crate::schema::DS_NS;
use crate::xml::{Document, Element, Limits, XmlError, parse_document};

/// Canonical XML 1.0, without comments.
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Canonical XML 1.0, with comments.
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// SM2 with SM3, as the 202205 specification names it.
pub const SM2_SM3: &str = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3";
/// SM2 with SM3 under the W3C namespace, as signing services in the field write it.
pub const SM2_SM3_W3C: &str = "http://www.w3.org/2000/09/xmldsig#sm2-sm3";
/// RSA PKCS#1 v1.5 with SHA-1.
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
/// SM3 digest, as the 202205 specification names it.
pub const SM3: &str = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3";
/// SHA-1 digest.
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// A supported `SignatureMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// `http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3` (the specification's, preferred).
    Sm2Sm3,
    /// `http://www.w3.org/2000/09/xmldsig#sm2-sm3` (the field's variant; same algorithm).
    Sm2Sm3W3c,
    /// `http://www.w3.org/2000/09/xmldsig#rsa-sha1`.
    RsaSha1,
}

impl SignatureAlgorithm {
    pub fn from_uri(uri: &str) -> Option<SignatureAlgorithm> {
        match uri {
            SM2_SM3 => Some(SignatureAlgorithm::Sm2Sm3),
            SM2_SM3_W3C => Some(SignatureAlgorithm::Sm2Sm3W3c),
            RSA_SHA1 => Some(SignatureAlgorithm::RsaSha1),
            _ => None,
        }
    }

    pub fn uri(self) -> &'static str {
        match self {
            SignatureAlgorithm::Sm2Sm3 => SM2_SM3,
            SignatureAlgorithm::Sm2Sm3W3c => SM2_SM3_W3C,
            SignatureAlgorithm::RsaSha1 => RSA_SHA1,
        }
    }

    /// The kind of key the algorithm needs.
    pub fn key_kind(self) -> KeyKind {
        match self {
            SignatureAlgorithm::Sm2Sm3 | SignatureAlgorithm::Sm2Sm3W3c => KeyKind::Sm2,
            SignatureAlgorithm::RsaSha1 => KeyKind::Rsa,
        }
    }
}

/// A supported `DigestMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `http://www.chinaport.gov.cn/2022/04/xmldsig#sm3`.
    Sm3,
    /// `http://www.w3.org/2000/09/xmldsig#sha1`.
    Sha1,
}

impl DigestAlgorithm {
    pub fn from_uri(uri: &str) -> Option<DigestAlgorithm> {
        match uri {
            SM3 => Some(DigestAlgorithm::Sm3),
            SHA1 => Some(DigestAlgorithm::Sha1),
            _ => None,
        }
    }

    pub fn uri(self) -> &'static str {
        match self {
            DigestAlgorithm::Sm3 => SM3,
            DigestAlgorithm::Sha1 => SHA1,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlgorithm::Sm3 => sm3::Sm3::digest(data).to_vec(),
            DigestAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        }
    }
}

/// Why a signature is refused. [`SignatureError::code`] gives the DXP security code of the
/// specification's table 7-1 the refusal is answered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The bytes are not a readable XML document (answered as a format error, 0001).
    #[error("the message is not readable XML: {0}")]
    Unreadable(XmlError),
    #[error("the message carries no ds:Signature (a signature is required for this message)")]
    Missing,
    #[error("ds:Signature is malformed: {0}")]
    Malformed(String),
    #[error("ds:Signature uses what OneWindow does not verify: {0}")]
    Unsupported(String),
    #[error("the certificate in ds:KeyInfo cannot be used: {0}")]
    Certificate(String),
    #[error(
        "SignatureMethod {algorithm} needs an {needs} key, but the certificate holds an {has} key"
    )]
    KeyMismatch {
        algorithm: &'static str,
        needs: &'static str,
        has: &'static str,
    },
    #[error(
        "the message does not match its signature: the digest of its content is not the DigestValue (the content changed after signing)"
    )]
    DigestMismatch,
    #[error("the SignatureValue does not verify with the certificate's key over SignedInfo")]
    BadSignature,
    #[error("the certificate {serial} expired on {not_after}")]
    Expired { serial: String, not_after: String },
    #[error("the certificate {serial} is not valid before {not_before}")]
    NotYetValid { serial: String, not_before: String },
    #[error("the certificate {fingerprint} is not filed for enterprise {enterprise}")]
    NotFiled {
        enterprise: String,
        fingerprint: String,
    },
    #[error("the certificate {fingerprint} of enterprise {enterprise} was revoked")]
    Revoked {
        enterprise: String,
        fingerprint: String,
    },
}

impl SignatureError {
    /// The DXP code (spec table 7-1): 1001 invalid signature, 1002 signature expired, 1004
    /// signature and data do not match, 1999 other security error; 0001 for unreadable bytes.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Unreadable(_) => "0001",
            SignatureError::Malformed(_)
            | SignatureError::Unsupported(_)
            | SignatureError::Certificate(_)
            | SignatureError::KeyMismatch { .. }
            | SignatureError::BadSignature => "1001",
            SignatureError::Expired { .. } | SignatureError::NotYetValid { .. } => "1002",
            SignatureError::DigestMismatch => "1004",
            SignatureError::Missing
            | SignatureError::NotFiled { .. }
            | SignatureError::Revoked { .. } => "1999",
        }
    }

    /// The specification's wording of the code (表 7-1).
    pub fn code_text(&self) -> &'static str {
        dxp_code_text(self.code())
    }
}

/// The wording of a DXP security code in the specification's table 7-1.
pub fn dxp_code_text(code: &str) -> &'static str {
    match code {
        "1001" => "数字签名无效",
        "1002" => "数字签名过期",
        "1003" => "报文解密错误",
        "1004" => "签名与数据不符",
        "1999" => "其他安全错误",
        "0001" => "报文格式错误",
        _ => "报文安全错误",
    }
}

/// A signature that verified: what signed it and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub algorithm: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
    pub canonicalization: &'static str,
    /// The certificate from `KeyInfo` whose key verified the signature.
    pub certificate: Certificate,
    /// `KeyInfo/KeyName` as sent (informational: the field puts the certificate serial there).
    pub key_name: Option<String>,
}

impl Verified {
    /// Whether the certificate was valid at `at_ms` (Unix milliseconds).
    pub fn check_validity(&self, at_ms: i64) -> Result<(), SignatureError> {
        let c = &self.certificate;
        if at_ms < c.not_before_ms() {
            return Err(SignatureError::NotYetValid {
                serial: c.serial_hex().to_owned(),
                not_before: iso_utc(c.not_before_ms()),
            });
        }
        if at_ms > c.not_after_ms() {
            return Err(SignatureError::Expired {
                serial: c.serial_hex().to_owned(),
                not_after: iso_utc(c.not_after_ms()),
            });
        }
        Ok(())
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix millisecond time (days from the civil calendar).
pub fn iso_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Verify the enveloped signature of a message given as bytes, with the default reader limits.
/// The entry point for fuzzing: any input gives a verdict, never a panic.
pub fn verify_bytes(bytes: &[u8]) -> Result<Verified, SignatureError> {
    verify(bytes, &Limits::default())
}

/// Verify the enveloped signature of a message given as bytes (plain CEB XML in UTF-8 or
/// GB18030/GBK/GB2312; the digest is over the canonical UTF-8 form).
pub fn verify(bytes: &[u8], limits: &Limits) -> Result<Verified, SignatureError> {
    let doc = parse_document(bytes, limits).map_err(SignatureError::Unreadable)?;
    verify_document(&doc)
}

/// Whether the root of a document carries a `ds:Signature` child.
pub fn has_signature(doc: &Document) -> bool {
    signatures(&doc.root).next().is_some()
}

fn signatures(root: &Element) -> impl Iterator<Item = &Element> {
    root.children
        .iter()
        .filter(|c| c.name == "Signature" && c.ns.as_deref() == Some(DS_NS))
}

/// Verify the enveloped signature of a document the hardened reader has read.
pub fn verify_document(doc: &Document) -> Result<Verified, SignatureError> {
    let mut found = signatures(&doc.root);
    let Some(signature) = found.next() else {
        return Err(SignatureError::Missing);
    };
    if found.next().is_some() {
        return Err(SignatureError::Malformed(
            "the message carries more than one ds:Signature".into(),
        ));
    }
    let parts = read_signature(signature)?;
    let certificate = Certificate::from_pem_or_der(parts.certificate.as_bytes())
        .map_err(|e| SignatureError::Certificate(e.to_string()))?;
    let needs = parts.algorithm.key_kind();
    if certificate.kind() != needs {
        return Err(SignatureError::KeyMismatch {
            algorithm: parts.algorithm.uri(),
            needs: needs.name(),
            has: certificate.kind().name(),
        });
    }
    // 4. Reference: the document without the signature, canonical, digested.
    let exclude = Selection::Document {
        exclude: Some(signature.span.clone()),
    };
    let content =
        c14n::canonicalize(&doc.source, &exclude, Comments::Without).map_err(malformed_xml)?;
    let mut matched = parts.digest.digest(&content) == parts.digest_value;
    if !matched && doc.source.contains("<!--") {
        // Some signing services in the field digest the document with its comments (Apache
        // Santuario's `outputDOMc14nWithComments`); `URI=""` drops them, but the content is the
        // same, so the comment-keeping digest is accepted too.
        let with =
            c14n::canonicalize(&doc.source, &exclude, Comments::With).map_err(malformed_xml)?;
        matched = parts.digest.digest(&with) == parts.digest_value;
    }
    if !matched {
        return Err(SignatureError::DigestMismatch);
    }
    // 5. The signature over the canonical SignedInfo, in its context (inherited namespaces).
    let signed_info = canonical_signed_info(doc, signature, parts.comments)?;
    verify_value(
        &certificate,
        parts.algorithm,
        &signed_info,
        &parts.signature_value,
    )?;
    Ok(Verified {
        algorithm: parts.algorithm,
        digest: parts.digest,
        canonicalization: parts.canonicalization,
        certificate,
        key_name: parts.key_name,
    })
}

/// Verify a raw SM2-with-SM3 signature (default signer ID; `signature` as 64 bytes `r‖s` or
/// DER) of `message` with an SM2 public key given as a SEC1 point (`04‖x‖y`). For checking
/// what a signing device produced, outside a message.
pub fn verify_sm2(public_key_sec1: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DIST_ID, public_key_sec1) else {
        return false;
    };
    let sig = if signature.len() == sm2::dsa::Signature::BYTE_SIZE {
        sm2::dsa::Signature::from_slice(signature)
    } else {
        sm2::dsa::Signature::from_der(signature)
    };
    sig.is_ok_and(|sig| sm2_verify_vartime(&key, message, &sig))
}

/// The `sm2` crate's own (constant-time) verification against OneWindow's variable-time one,
/// for tests: both must agree on every input.
#[doc(hidden)]
pub fn sm2_verifiers_agree(public_key_sec1: &[u8], message: &[u8], signature: &[u8]) -> bool {
    use sm2::dsa::signature::Verifier as _;
    let (Ok(key), Ok(sig)) = (
        sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DIST_ID, public_key_sec1),
        sm2::dsa::Signature::from_slice(signature),
    ) else {
        return true;
    };
    key.verify(message, &sig).is_ok() == sm2_verify_vartime(&key, message, &sig)
}

/// The canonical form of a signature's `SignedInfo` in its place: it inherits the namespaces
/// declared on the root and on `ds:Signature` (and their `xml:*` attributes).
pub(crate) fn canonical_signed_info(
    doc: &Document,
    signature: &Element,
    comments: Comments,
) -> Result<Vec<u8>, SignatureError> {
    let signed_info = ds(signature, "SignedInfo")?;
    let mut in_scope = Vec::new();
    let mut xml_attrs = Vec::new();
    for e in [&doc.root, signature] {
        in_scope.extend(e.ns_decls.iter().cloned());
        xml_attrs.extend(
            e.attrs
                .iter()
                .filter(|a| a.ns.as_deref() == Some(XML_NS))
                .map(|a| (a.name.clone(), a.value.clone())),
        );
    }
    c14n::canonicalize_element(
        &doc.source,
        signed_info.span.clone(),
        &in_scope,
        &xml_attrs,
        comments,
    )
    .map_err(malformed_xml)
}

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

fn malformed_xml(e: XmlError) -> SignatureError {
    SignatureError::Malformed(format!("the document cannot be canonicalized: {e}"))
}

/// The SM2 curve's a, b and generator (GB/T 32918.5), as they enter the signer hash Z.
const SM2_A: [u8; 32] = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC");
const SM2_B: [u8; 32] = hex32("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");
const SM2_GX: [u8; 32] = hex32("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7");
const SM2_GY: [u8; 32] = hex32("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0");

const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'F' => c - b'A' + 10,
            _ => c - b'a' + 10,
        }
    }
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// SM2 verification (GB/T 32918.2 §7, signer ID [`SM2_DIST_ID`]) in variable time: everything it
/// computes on is public (key, message, signature), so it may use the generator table and wNAF,
/// about twice as fast as the `sm2` crate's constant-time `verify`. Tests check that both agree.
pub(crate) fn sm2_verify_vartime(
    key: &sm2::dsa::VerifyingKey,
    message: &[u8],
    signature: &sm2::dsa::Signature,
) -> bool {
    use sm2::elliptic_curve::group::Group as _;
    use sm2::elliptic_curve::ops::{MulByGeneratorVartime as _, Reduce as _};
    use sm2::elliptic_curve::point::AffineCoordinates as _;
    use sm2::elliptic_curve::sec1::ToSec1Point as _;
    let public = sm2::PublicKey::from(key);
    let point = public.to_sec1_point(false);
    let Some(xy) = point.as_bytes().get(1..) else {
        return false;
    };
    // Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), e = SM3(Z ‖ M).
    let entl = u16::try_from(SM2_DIST_ID.len() * 8).unwrap_or(0);
    let mut z = sm3::Sm3::new();
    sm3::Digest::update(&mut z, entl.to_be_bytes());
    sm3::Digest::update(&mut z, SM2_DIST_ID.as_bytes());
    for part in [&SM2_A, &SM2_B, &SM2_GX, &SM2_GY] {
        sm3::Digest::update(&mut z, part);
    }
    sm3::Digest::update(&mut z, xy);
    let mut e = sm3::Sm3::new();
    sm3::Digest::update(&mut e, sm3::Digest::finalize(z));
    sm3::Digest::update(&mut e, message);
    let e: [u8; 32] = sm3::Digest::finalize(e).into();
    let e = sm2::Scalar::reduce(&sm2::FieldBytes::from(e));
    let (r, s) = (signature.r(), signature.s());
    let t = *r + *s;
    if bool::from(t.is_zero()) {
        return false;
    }
    let sum = sm2::ProjectivePoint::mul_by_generator_and_mul_add_vartime(
        &s,
        &t,
        &sm2::ProjectivePoint::from(*public.as_affine()),
    );
    if bool::from(sum.is_identity()) {
        return false;
    }
    let x = sum.to_affine().x();
    *r == e + sm2::Scalar::reduce(&x)
}

fn verify_value(
    certificate: &Certificate,
    algorithm: SignatureAlgorithm,
    signed: &[u8],
    value: &[u8],
) -> Result<(), SignatureError> {
    use sm2::dsa::signature::Verifier as _;
    match (certificate.public_key(), algorithm.key_kind()) {
        (keys::PublicKey::Sm2(vk), KeyKind::Sm2) => {
            let sig = if value.len() == sm2::dsa::Signature::BYTE_SIZE {
                sm2::dsa::Signature::from_slice(value)
            } else {
                sm2::dsa::Signature::from_der(value)
            }
            .map_err(|_| {
                SignatureError::Malformed(format!(
                    "an SM2 SignatureValue is 64 bytes r‖s or DER; this one has {} bytes",
                    value.len()
                ))
            })?;
            if sm2_verify_vartime(vk, signed, &sig) {
                Ok(())
            } else {
                Err(SignatureError::BadSignature)
            }
        }
        (keys::PublicKey::Rsa(pk), KeyKind::Rsa) => {
            let vk = rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new((**pk).clone());
            let sig = rsa::pkcs1v15::Signature::try_from(value)
                .map_err(|_| SignatureError::BadSignature)?;
            vk.verify(signed, &sig)
                .map_err(|_| SignatureError::BadSignature)
        }
        _ => Err(SignatureError::KeyMismatch {
            algorithm: algorithm.uri(),
            needs: algorithm.key_kind().name(),
            has: certificate.kind().name(),
        }),
    }
}

/// The parts of a `ds:Signature` element.
struct Parts {
    canonicalization: &'static str,
    comments: Comments,
    algorithm: SignatureAlgorithm,
    digest: DigestAlgorithm,
    digest_value: Vec<u8>,
    signature_value: Vec<u8>,
    key_name: Option<String>,
    /// Base64 text of `X509Certificate`.
    certificate: String,
}

fn ds<'a>(e: &'a Element, name: &str) -> Result<&'a Element, SignatureError> {
    e.child(Some(DS_NS), name)
        .ok_or_else(|| SignatureError::Malformed(format!("{} has no ds:{name}", e.name)))
}

fn algorithm_attr(e: &Element) -> Result<&str, SignatureError> {
    e.attr("Algorithm")
        .map(str::trim)
        .ok_or_else(|| SignatureError::Malformed(format!("ds:{} has no Algorithm", e.name)))
}

fn base64_of(e: &Element) -> Result<Vec<u8>, SignatureError> {
    let compact: String = e
        .text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| SignatureError::Malformed(format!("ds:{} is not base64", e.name)))
}

fn c14n_method(uri: &str) -> Option<(&'static str, Comments)> {
    match uri {
        C14N => Some((C14N, Comments::Without)),
        C14N_WITH_COMMENTS => Some((C14N_WITH_COMMENTS, Comments::With)),
        _ => None,
    }
}

fn read_signature(signature: &Element) -> Result<Parts, SignatureError> {
    let signed_info = ds(signature, "SignedInfo")?;
    let c14n_uri = algorithm_attr(ds(signed_info, "CanonicalizationMethod")?)?;
    let (canonicalization, comments) = c14n_method(c14n_uri).ok_or_else(|| {
        SignatureError::Unsupported(format!(
            "CanonicalizationMethod {c14n_uri} (only Canonical XML 1.0, {C14N})"
        ))
    })?;
    let method_uri = algorithm_attr(ds(signed_info, "SignatureMethod")?)?;
    let algorithm = SignatureAlgorithm::from_uri(method_uri).ok_or_else(|| {
        SignatureError::Unsupported(format!(
            "SignatureMethod {method_uri} (accepted: {SM2_SM3}, {SM2_SM3_W3C}, {RSA_SHA1})"
        ))
    })?;
    let references: Vec<&Element> = signed_info
        .children
        .iter()
        .filter(|c| c.name == "Reference" && c.ns.as_deref() == Some(DS_NS))
        .collect();
    let [reference] = references.as_slice() else {
        return Err(SignatureError::Malformed(format!(
            "SignedInfo must hold exactly one ds:Reference, it holds {}",
            references.len()
        )));
    };
    match reference.attr("URI") {
        Some("") => {}
        Some(other) => {
            return Err(SignatureError::Unsupported(format!(
                "Reference URI=\"{other}\" (only URI=\"\", the whole message)"
            )));
        }
        None => {
            return Err(SignatureError::Malformed(
                "ds:Reference has no URI (it must be URI=\"\")".into(),
            ));
        }
    }
    let transforms: Vec<&str> = match reference.child(Some(DS_NS), "Transforms") {
        Some(t) => t
            .children
            .iter()
            .filter(|c| c.name == "Transform" && c.ns.as_deref() == Some(DS_NS))
            .map(algorithm_attr)
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    match transforms.as_slice() {
        [ENVELOPED] => {}
        [ENVELOPED, c] if c14n_method(c).is_some() => {}
        [] => {
            return Err(SignatureError::Malformed(
                "ds:Reference lacks the enveloped-signature transform".into(),
            ));
        }
        other => {
            return Err(SignatureError::Unsupported(format!(
                "transforms {} (accepted: enveloped-signature, optionally followed by Canonical XML 1.0)",
                other.join(", ")
            )));
        }
    }
    let digest_uri = algorithm_attr(ds(reference, "DigestMethod")?)?;
    let digest = DigestAlgorithm::from_uri(digest_uri).ok_or_else(|| {
        SignatureError::Unsupported(format!(
            "DigestMethod {digest_uri} (accepted: {SM3}, {SHA1})"
        ))
    })?;
    let digest_value = base64_of(ds(reference, "DigestValue")?)?;
    let signature_value = base64_of(ds(signature, "SignatureValue")?)?;
    let key_info = ds(signature, "KeyInfo")?;
    let certificate = ds(ds(key_info, "X509Data")?, "X509Certificate")?
        .text
        .trim()
        .to_owned();
    let key_name = key_info
        .child(Some(DS_NS), "KeyName")
        .map(|k| k.text.trim().to_owned());
    Ok(Parts {
        canonicalization,
        comments,
        algorithm,
        digest,
        digest_value,
        signature_value,
        key_name,
        certificate,
    })
}
