//! Signing a CEB message with a software key, in the shape the field uses: `ds:Signature` as
//! the last child of the root, declaring `xmlns:ds` itself, `KeyName` = the certificate serial
//! in hex, `X509Certificate` = the certificate's base64 DER, one element per line.
//!
//! The message bytes are kept as they are (encoding, declaration, indentation): the signature is
//! inserted after the last content of the root, on its own line, and an earlier `ds:Signature`
//! of the root is replaced. The digest is over the canonical UTF-8 form whatever the encoding.

use base64::Engine;

use super::keys::{Certificate, KeyError, PrivateKey};
use super::{C14N, DigestAlgorithm, ENVELOPED, SignatureAlgorithm, SignatureError, signatures};
use crate::c14n::{self, Comments, Selection};
use crate::schema::DS_NS;
use crate::xml::{Document, Limits, XmlError, parse_document};

/// A private key with its certificate, and the algorithms it signs with.
#[derive(Debug, Clone)]
pub struct Signer {
    key: PrivateKey,
    certificate: Certificate,
    algorithm: SignatureAlgorithm,
    digest: DigestAlgorithm,
}

/// Why a message could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the message is not readable XML: {0}")]
    Xml(#[from] XmlError),
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("cannot sign: {0}")]
    Shape(String),
    #[error("the signature made does not verify: {0}")]
    Check(#[from] SignatureError),
}

impl Signer {
    /// Sign with `key` under `certificate`: SM2 keys with SM2-SM3 and an SM3 digest (the 2022
    /// URIs), RSA keys with RSA-SHA1 and a SHA-1 digest.
    pub fn new(key: PrivateKey, certificate: Certificate) -> Result<Signer, KeyError> {
        let (algorithm, digest) = match key.kind() {
            super::KeyKind::Sm2 => (SignatureAlgorithm::Sm2Sm3, DigestAlgorithm::Sm3),
            super::KeyKind::Rsa => (SignatureAlgorithm::RsaSha1, DigestAlgorithm::Sha1),
        };
        Signer::with_algorithms(key, certificate, algorithm, digest)
    }

    /// Sign with explicit algorithms (e.g. the field's `xmldsig#sm2-sm3` with a SHA-1 digest).
    pub fn with_algorithms(
        key: PrivateKey,
        certificate: Certificate,
        algorithm: SignatureAlgorithm,
        digest: DigestAlgorithm,
    ) -> Result<Signer, KeyError> {
        if !key.matches(&certificate) || algorithm.key_kind() != key.kind() {
            return Err(KeyError::KeyPairMismatch);
        }
        Ok(Signer {
            key,
            certificate,
            algorithm,
            digest,
        })
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn sign_value(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        use sm2::dsa::signature::Signer as _;
        match &self.key {
            PrivateKey::Sm2(k) => {
                let sig: sm2::dsa::Signature = k
                    .try_sign(data)
                    .map_err(|e| SignError::Shape(e.to_string()))?;
                // Raw r‖s, as the e-port UKeys write it.
                Ok(sig.to_bytes().to_vec())
            }
            PrivateKey::Rsa(k) => {
                use sm2::dsa::signature::SignatureEncoding as _;
                let signer = rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new((**k).clone());
                let sig = signer
                    .try_sign(data)
                    .map_err(|e| SignError::Shape(e.to_string()))?;
                Ok(sig.to_vec())
            }
        }
    }
}

const SIGNATURE_VALUE_PLACEHOLDER: &str = "SIGNATUREVALUE";

/// The `ds:Signature` element, one element per line as the field writes it.
fn signature_xml(signer: &Signer, digest_b64: &str, value_b64: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let cert = b64.encode(signer.certificate.der());
    format!(
        "<ds:Signature xmlns:ds=\"{DS_NS}\">\n\
<ds:SignedInfo>\n\
<ds:CanonicalizationMethod Algorithm=\"{C14N}\"></ds:CanonicalizationMethod>\n\
<ds:SignatureMethod Algorithm=\"{method}\"></ds:SignatureMethod>\n\
<ds:Reference URI=\"\">\n\
<ds:Transforms>\n\
<ds:Transform Algorithm=\"{ENVELOPED}\"></ds:Transform>\n\
</ds:Transforms>\n\
<ds:DigestMethod Algorithm=\"{digest}\"></ds:DigestMethod>\n\
<ds:DigestValue>{digest_b64}</ds:DigestValue>\n\
</ds:Reference>\n\
</ds:SignedInfo>\n\
<ds:SignatureValue>{value_b64}</ds:SignatureValue>\n\
<ds:KeyInfo>\n\
<ds:KeyName>{key_name}</ds:KeyName>\n\
<ds:X509Data>\n\
<ds:X509Certificate>{cert}</ds:X509Certificate>\n\
</ds:X509Data>\n\
</ds:KeyInfo>\n\
</ds:Signature>",
        method = signer.algorithm.uri(),
        digest = signer.digest.uri(),
        key_name = signer.certificate.serial_hex(),
    )
}

/// The byte offset in `bytes` of position `pos` of the decoded text of `doc`.
fn byte_offset(bytes: &[u8], doc: &Document, pos: usize) -> Option<usize> {
    let prefix = doc.source.get(..pos)?;
    if doc.encoding == "UTF-8" {
        let bom = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            3
        } else {
            0
        };
        return Some(bom + pos);
    }
    // GB18030 (and its subsets): every decoded character came from one sequence of 1, 2 or 4
    // bytes (the decoder refused anything else), so count characters and walk the sequences.
    let mut chars = prefix.chars().count();
    if bytes.starts_with(&[0x84, 0x31, 0x95, 0x33]) {
        chars += 1; // the BOM the reader dropped
    }
    let mut i = 0usize;
    for _ in 0..chars {
        let b = *bytes.get(i)?;
        i += if b < 0x81 || b == 0xFF {
            1
        } else if bytes.get(i + 1).is_some_and(|n| (0x30..=0x39).contains(n)) {
            4
        } else {
            2
        };
    }
    Some(i)
}

/// Sign a CEB message (bytes in UTF-8 or GB18030/GBK/GB2312) and return the signed bytes.
/// The result is checked with the verifier before it is returned.
pub fn sign(document: &[u8], signer: &Signer) -> Result<Vec<u8>, SignError> {
    let signed = sign_unchecked(document, signer)?;
    let verified = super::verify(&signed, &Limits::default())?;
    if verified.certificate != signer.certificate {
        return Err(SignError::Shape(
            "the signed message names another certificate".into(),
        ));
    }
    Ok(signed)
}

/// [`sign`] without verifying the result: for generators that sign many messages and check a
/// sample (the verification costs about twice the signing).
pub fn sign_unchecked(document: &[u8], signer: &Signer) -> Result<Vec<u8>, SignError> {
    let limits = Limits::default();
    // A message without any signature whose root end tag is its last markup (what generators
    // write) is signed with one parse; anything else takes the general path.
    if let Some(at) = quick_insertion_point(document)
        && let Some(signed) = sign_at(document, at, signer, &limits, true)?
    {
        return Ok(signed);
    }
    let doc = parse_document(document, &limits)?;
    // Cut out any earlier signature of the root, with the whitespace before it.
    let mut unsigned: Vec<u8> = Vec::with_capacity(document.len() + 4096);
    let mut copied = 0usize;
    for old in signatures(&doc.root) {
        let mut start = byte_offset(document, &doc, old.span.start)
            .ok_or_else(|| SignError::Shape("cannot locate the old signature".into()))?;
        let end = byte_offset(document, &doc, old.span.end)
            .ok_or_else(|| SignError::Shape("cannot locate the old signature".into()))?;
        while start > copied
            && document
                .get(start - 1)
                .is_some_and(|b| b.is_ascii_whitespace())
        {
            start -= 1;
        }
        unsigned.extend_from_slice(document.get(copied..start).unwrap_or_default());
        copied = end;
    }
    unsigned.extend_from_slice(document.get(copied..).unwrap_or_default());
    let doc = if copied == 0 {
        doc
    } else {
        parse_document(&unsigned, &limits)?
    };
    if doc.root.inner.is_empty() && doc.root.children.is_empty() {
        return Err(SignError::Shape(
            "the root element is empty: there is nothing to sign".into(),
        ));
    }
    // Insert after the last non-whitespace content of the root.
    let inner_end = doc.root.inner.end;
    let content = doc.source.get(doc.root.inner.clone()).unwrap_or_default();
    let insert_at = inner_end - (content.len() - content.trim_end().len());
    let at = byte_offset(&unsigned, &doc, insert_at)
        .ok_or_else(|| SignError::Shape("cannot locate the end of the root element".into()))?;
    sign_at(&unsigned, at, signer, &limits, false)?.ok_or_else(|| {
        SignError::Shape("the signature was not placed as the root's last child".into())
    })
}

/// Where a signature goes when the message has none and its root end tag is the last markup:
/// after the last non-whitespace byte before that end tag. `None` sends the caller to the
/// general path (which the draft's parse double-checks anyway). Byte-level search is safe in
/// GB18030 too: `<`, `/`, `>` and whitespace never occur inside its multi-byte characters.
fn quick_insertion_point(document: &[u8]) -> Option<usize> {
    if document.windows(9).any(|w| w == b"Signature") {
        return None;
    }
    let end = document.iter().rposition(|b| !b.is_ascii_whitespace())? + 1;
    if document.get(end - 1) != Some(&b'>') {
        return None;
    }
    let close = document.get(..end)?.windows(2).rposition(|w| w == b"</")?;
    let mut at = close;
    while at > 0
        && document
            .get(at - 1)
            .is_some_and(|b| b.is_ascii_whitespace())
    {
        at -= 1;
    }
    Some(at)
}

/// Sign `unsigned` with the signature inserted at byte `at`. `Ok(None)` when, on `check`, the
/// signature did not land as the last child of the root (the quick path guessed wrong).
fn sign_at(
    unsigned: &[u8],
    at: usize,
    signer: &Signer,
    limits: &Limits,
    check: bool,
) -> Result<Option<Vec<u8>>, SignError> {
    let (head, tail) = unsigned.split_at(at.min(unsigned.len()));
    let assemble = |signature: &str| -> Vec<u8> {
        let mut out = Vec::with_capacity(head.len() + tail.len() + signature.len() + 2);
        out.extend_from_slice(head);
        out.extend_from_slice(b"\n\t");
        out.extend_from_slice(signature.as_bytes());
        out.extend_from_slice(tail);
        out
    };
    // The digest does not depend on the signature: compute it with a placeholder in place.
    let b64 = base64::engine::general_purpose::STANDARD;
    let draft = assemble(&signature_xml(signer, "", SIGNATURE_VALUE_PLACEHOLDER));
    let draft_doc = parse_document(&draft, limits)?;
    let mut placed = signatures(&draft_doc.root);
    let signature = placed
        .next()
        .ok_or_else(|| SignError::Shape("the signature was not placed under the root".into()));
    let signature = match signature {
        Ok(s) => s,
        Err(_) if check => return Ok(None),
        Err(e) => return Err(e),
    };
    if check {
        let last = draft_doc.root.children.last().map(|c| c.span.clone());
        let after_root = draft_doc
            .source
            .get(draft_doc.root.span.end..)
            .unwrap_or_default();
        if placed.next().is_some()
            || last != Some(signature.span.clone())
            || !after_root.trim().is_empty()
        {
            return Ok(None);
        }
    }
    let content = c14n::canonicalize(
        &draft_doc.source,
        &Selection::Document {
            exclude: Some(signature.span.clone()),
        },
        Comments::Without,
    )?;
    let digest = b64.encode(signer.digest.digest(&content));
    // The signed SignedInfo, canonical in its place (it inherits the root's namespaces). Its
    // DigestValue is base64, which canonicalization leaves as it is, so the digest is put into
    // the canonical draft rather than parsing the message once more.
    let draft_info = super::canonical_signed_info(&draft_doc, signature, Comments::Without)?;
    let empty = b"<ds:DigestValue></ds:DigestValue>";
    let at_digest = draft_info
        .windows(empty.len())
        .position(|w| w == empty)
        .ok_or_else(|| SignError::Shape("DigestValue was not placed".into()))?;
    let (before, after) = draft_info.split_at(at_digest + "<ds:DigestValue>".len());
    let mut canonical = Vec::with_capacity(draft_info.len() + digest.len());
    canonical.extend_from_slice(before);
    canonical.extend_from_slice(digest.as_bytes());
    canonical.extend_from_slice(after);
    let value = b64.encode(signer.sign_value(&canonical)?);
    Ok(Some(assemble(&signature_xml(signer, &digest, &value))))
}
