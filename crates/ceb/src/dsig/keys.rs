//! Keys and X.509 certificates for message signatures: reading the certificate a signature
//! carries (or an administrator files), private keys in PKCS#8 PEM, self-signed test
//! certificates, and deterministic test keys derived from a seed.
//!
//! Nothing here reads a clock or a random source: validity periods come in as arguments, and a
//! fresh key is made from random bytes the caller supplies.

use std::time::Duration;

use base64::Engine;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rsa::traits::PublicKeyParts as _;
use sha2::Digest as _;
use x509_cert::der::{Decode as _, Encode as _};

/// The SM2 signer identifier (ID_A) the field uses: the default of GM/T 0009, which every
/// e-port UKey and BouncyCastle's `SM3withSM2` apply.
pub const SM2_DIST_ID: &str = "1234567812345678";

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_SM2_CURVE: &str = "1.2.156.10197.1.301";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Why a certificate or key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not an X.509 certificate: {0}")]
    Certificate(String),
    #[error("certificate key is neither SM2 nor RSA (algorithm {0})")]
    UnsupportedKey(String),
    #[error("not a PKCS#8 private key (PEM \"PRIVATE KEY\") of SM2 or RSA: {0}")]
    PrivateKey(String),
    #[error("the private key does not belong to the certificate")]
    KeyPairMismatch,
    #[error("cannot make the certificate: {0}")]
    Build(String),
}

/// Which kind of key a certificate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// SM2 (GM/T 0003) on the SM2 curve.
    Sm2,
    /// RSA.
    Rsa,
}

impl KeyKind {
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Sm2 => "SM2",
            KeyKind::Rsa => "RSA",
        }
    }
}

#[derive(Clone)]
pub(crate) enum PublicKey {
    Sm2(Box<sm2::dsa::VerifyingKey>),
    Rsa(Box<rsa::PublicKey>),
}

/// An X.509 certificate as OneWindow uses it: the exact DER (what is filed and compared), its
/// SHA-256 fingerprint, serial number, subject, validity period and public key. The
/// certificate's own signature is not checked: trust comes from an administrator filing this
/// very certificate for an enterprise, not from a chain.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    fingerprint: String,
    serial_hex: String,
    subject: String,
    not_before_ms: i64,
    not_after_ms: i64,
    key: PublicKey,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("fingerprint", &self.fingerprint)
            .field("serial", &self.serial_hex)
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

/// SHA-256 of the bytes, lower-case hex: how certificates are named and compared.
pub fn fingerprint(der: &[u8]) -> String {
    hex_lower(&sha2::Sha256::digest(der))
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

fn unix_ms(t: x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX)
}

impl Certificate {
    /// Read a DER-encoded certificate.
    pub fn from_der(der: &[u8]) -> Result<Certificate, KeyError> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| KeyError::Certificate(e.to_string()))?;
        let tbs = cert.tbs_certificate();
        let spki = tbs.subject_public_key_info();
        let algorithm = spki.algorithm.oid.to_string();
        let params = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok())
            .map(|o| o.to_string());
        let key_bytes = spki.subject_public_key.raw_bytes();
        let key = if (algorithm == OID_EC_PUBLIC_KEY && params.as_deref() == Some(OID_SM2_CURVE))
            || algorithm == OID_SM2_CURVE
        {
            let vk =
                sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DIST_ID, key_bytes).map_err(|_| {
                    KeyError::Certificate("the SM2 public key is not a curve point".into())
                })?;
            PublicKey::Sm2(Box::new(vk))
        } else if algorithm == OID_RSA_ENCRYPTION {
            use rsa::pkcs1::DecodeRsaPublicKey as _;
            let pk = rsa::PublicKey::from_pkcs1_der(key_bytes)
                .map_err(|e| KeyError::Certificate(format!("the RSA public key: {e}")))?;
            PublicKey::Rsa(Box::new(pk))
        } else {
            let named = match params {
                Some(p) => format!("{algorithm} with parameters {p}"),
                None => algorithm,
            };
            return Err(KeyError::UnsupportedKey(named));
        };
        let validity = tbs.validity();
        Ok(Certificate {
            der: der.to_vec(),
            fingerprint: fingerprint(der),
            serial_hex: hex_lower(tbs.serial_number().as_bytes()),
            subject: tbs.subject().to_string(),
            not_before_ms: unix_ms(validity.not_before),
            not_after_ms: unix_ms(validity.not_after),
            key,
        })
    }

    /// Read a certificate given as PEM (`-----BEGIN CERTIFICATE-----`, the first one if several)
    /// or as DER, or as the bare base64 of the DER (what `X509Certificate` holds).
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Certificate, KeyError> {
        let trimmed = trim_ascii(bytes);
        if trimmed.starts_with(b"-----BEGIN") {
            let text = std::str::from_utf8(trimmed)
                .map_err(|_| KeyError::Certificate("PEM text is not UTF-8".into()))?;
            let start = text
                .find("-----BEGIN CERTIFICATE-----")
                .ok_or_else(|| KeyError::Certificate("no CERTIFICATE block in the PEM".into()))?;
            let rest = &text[start..];
            let end_marker = "-----END CERTIFICATE-----";
            let end = rest
                .find(end_marker)
                .ok_or_else(|| KeyError::Certificate("unterminated CERTIFICATE block".into()))?;
            let block = &rest[..end + end_marker.len()];
            let (label, der) = x509_cert::der::pem::decode_vec(block.as_bytes())
                .map_err(|e| KeyError::Certificate(e.to_string()))?;
            if label != "CERTIFICATE" {
                return Err(KeyError::Certificate(format!("PEM label {label}")));
            }
            return Certificate::from_der(&der);
        }
        if trimmed.first() == Some(&0x30) {
            return Certificate::from_der(trimmed);
        }
        let compact: Vec<u8> = trimmed
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map_err(|_| KeyError::Certificate("neither PEM, DER nor base64".into()))?;
        Certificate::from_der(&der)
    }

    /// The exact DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as PEM text.
    pub fn to_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// SHA-256 of the DER, lower-case hex.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The serial number in lower-case hex (what a signature's `KeyName` carries).
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// The subject as an RFC 4514 string.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Start of the validity period, Unix milliseconds.
    pub fn not_before_ms(&self) -> i64 {
        self.not_before_ms
    }

    /// End of the validity period, Unix milliseconds.
    pub fn not_after_ms(&self) -> i64 {
        self.not_after_ms
    }

    pub fn kind(&self) -> KeyKind {
        match self.key {
            PublicKey::Sm2(_) => KeyKind::Sm2,
            PublicKey::Rsa(_) => KeyKind::Rsa,
        }
    }

    pub(crate) fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Whether `at_ms` lies within the validity period (both ends included).
    pub fn is_valid_at(&self, at_ms: i64) -> bool {
        self.not_before_ms <= at_ms && at_ms <= self.not_after_ms
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// A private signing key: SM2 or RSA.
#[derive(Clone)]
pub enum PrivateKey {
    Sm2(Box<sm2::dsa::SigningKey>),
    Rsa(Box<rsa::PrivateKey>),
}

/// Never shows key material.
impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({})", self.kind().name())
    }
}

impl PrivateKey {
    /// An SM2 key from 32 random bytes (the caller's random source). `None` when the bytes are
    /// not a valid scalar (zero or not below the group order: try other bytes).
    pub fn sm2_from_bytes(bytes: &[u8; 32]) -> Option<PrivateKey> {
        let secret = sm2::SecretKey::from_slice(bytes).ok()?;
        let signing = sm2::dsa::SigningKey::new(SM2_DIST_ID, &secret).ok()?;
        Some(PrivateKey::Sm2(Box::new(signing)))
    }

    /// A deterministic SM2 key derived from a seed with SM3 (a counter is appended until the
    /// digest is a valid scalar). **For tests and the demo only**: anyone who knows the seed has
    /// the key.
    pub fn sm2_from_seed(seed: &[u8]) -> PrivateKey {
        let mut counter: u32 = 0;
        loop {
            let mut h = sm3::Sm3::new();
            sm3::Digest::update(&mut h, b"onewindow-test-key-v1\0");
            sm3::Digest::update(&mut h, seed);
            sm3::Digest::update(&mut h, counter.to_be_bytes());
            let digest: [u8; 32] = sm3::Digest::finalize(h).into();
            if let Some(key) = PrivateKey::sm2_from_bytes(&digest) {
                return key;
            }
            counter = counter.wrapping_add(1);
        }
    }

    /// Wrap an RSA key (made with the caller's random source, e.g. `RsaPrivateKey::new`).
    pub fn rsa(key: rsa::PrivateKey) -> PrivateKey {
        PrivateKey::Rsa(Box::new(key))
    }

    pub fn kind(&self) -> KeyKind {
        match self {
            PrivateKey::Sm2(_) => KeyKind::Sm2,
            PrivateKey::Rsa(_) => KeyKind::Rsa,
        }
    }

    /// Read a PKCS#8 private key (PEM `PRIVATE KEY`) of SM2 or RSA.
    pub fn from_pkcs8_pem(text: &str) -> Result<PrivateKey, KeyError> {
        if let Ok(secret) = sm2::SecretKey::from_pkcs8_pem(text) {
            let signing = sm2::dsa::SigningKey::new(SM2_DIST_ID, &secret)
                .map_err(|e| KeyError::PrivateKey(e.to_string()))?;
            return Ok(PrivateKey::Sm2(Box::new(signing)));
        }
        rsa::PrivateKey::from_pkcs8_pem(text)
            .map(PrivateKey::rsa)
            .map_err(|e| KeyError::PrivateKey(e.to_string()))
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Keep it secret.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let le = sm2::pkcs8::LineEnding::LF;
        let pem = match self {
            PrivateKey::Sm2(k) => {
                let secret = sm2::SecretKey::from_bytes(&k.to_bytes())
                    .map_err(|e| KeyError::PrivateKey(e.to_string()))?;
                secret
                    .to_pkcs8_pem(le)
                    .map_err(|e| KeyError::PrivateKey(e.to_string()))?
            }
            PrivateKey::Rsa(k) => k
                .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
                .map_err(|e| KeyError::PrivateKey(e.to_string()))?,
        };
        Ok(pem.as_str().to_owned())
    }

    /// Whether this key signs for the certificate's public key.
    pub fn matches(&self, certificate: &Certificate) -> bool {
        match (self, certificate.public_key()) {
            (PrivateKey::Sm2(k), PublicKey::Sm2(p)) => {
                k.verifying_key().to_sec1_bytes() == p.to_sec1_bytes()
            }
            (PrivateKey::Rsa(k), PublicKey::Rsa(p)) => k.n() == p.n() && k.e() == p.e(),
            _ => false,
        }
    }

    /// A self-signed X.509 v3 certificate for this key: subject `CN=<common_name>,O=<organization>`,
    /// the given serial number (big-endian bytes, at most 20) and validity period (Unix ms), key
    /// usage digital signature and non-repudiation, not a CA. SM2 certificates are signed with
    /// SM2-with-SM3 (DER signature), RSA ones with SHA-256.
    pub fn self_signed(
        &self,
        common_name: &str,
        organization: &str,
        serial: &[u8],
        not_before_ms: i64,
        not_after_ms: i64,
    ) -> Result<Certificate, KeyError> {
        use std::str::FromStr as _;
        use x509_cert::builder::{Builder as _, CertificateBuilder};
        let build = |e: &dyn std::fmt::Display| KeyError::Build(e.to_string());
        let subject = x509_cert::name::Name::from_str(&format!(
            "CN={},O={}",
            escape_rdn(common_name),
            escape_rdn(organization)
        ))
        .map_err(|e| build(&e))?;
        let serial = x509_cert::serial_number::SerialNumber::new(serial).map_err(|e| build(&e))?;
        let time = |ms: i64| -> Result<x509_cert::time::Time, KeyError> {
            let d = Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            let t = x509_cert::der::asn1::GeneralizedTime::from_unix_duration(Duration::from_secs(
                d.as_secs(),
            ))
            .map_err(|e| build(&e))?;
            Ok(x509_cert::time::Time::GeneralTime(t))
        };
        let validity = x509_cert::time::Validity::new(time(not_before_ms)?, time(not_after_ms)?);
        let profile = SelfSigned { subject };
        let cert = match self {
            PrivateKey::Sm2(k) => {
                let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(k.verifying_key())
                    .map_err(|e| build(&e))?;
                let mut builder = CertificateBuilder::new(profile, serial, validity, spki)
                    .map_err(|e| build(&e))?;
                let tbs = builder.finalize(k.as_ref()).map_err(|e| build(&e))?;
                let sig: sm2::dsa::Signature =
                    sm2::dsa::signature::Signer::try_sign(k.as_ref(), &tbs)
                        .map_err(|e| build(&e))?;
                let der_sig = sig.to_der();
                let bits = x509_cert::der::asn1::BitString::from_bytes(der_sig.as_bytes())
                    .map_err(|e| build(&e))?;
                builder.assemble(bits, k.as_ref()).map_err(|e| build(&e))?
            }
            PrivateKey::Rsa(k) => {
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
                let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(
                    &rsa::PublicKey::from(k.as_ref()),
                )
                .map_err(|e| build(&e))?;
                let builder = CertificateBuilder::new(profile, serial, validity, spki)
                    .map_err(|e| build(&e))?;
                builder
                    .build::<_, rsa::pkcs1v15::Signature>(&signer)
                    .map_err(|e| build(&e))?
            }
        };
        let der = cert.to_der().map_err(|e| build(&e))?;
        Certificate::from_der(&der)
    }
}

/// RFC 4514 escaping of the characters that would end or break an attribute value.
fn escape_rdn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The profile of a self-signed signing certificate (not a CA).
struct SelfSigned {
    subject: x509_cert::name::Name,
}

impl x509_cert::builder::profile::BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &x509_cert::name::Name) -> x509_cert::name::Name {
        subject.clone()
    }

    fn get_subject(&self) -> x509_cert::name::Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: x509_cert::spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: x509_cert::spki::SubjectPublicKeyInfoRef<'_>,
        tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<x509_cert::ext::Extension>> {
        use x509_cert::ext::ToExtension as _;
        use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
        let mut extensions = Vec::new();
        let subject = tbs.subject();
        extensions.push(
            BasicConstraints {
                ca: false,
                path_len_constraint: None,
            }
            .to_extension(subject, &extensions)?,
        );
        extensions.push(
            KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
                .to_extension(subject, &extensions)?,
        );
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push(ski.to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}
