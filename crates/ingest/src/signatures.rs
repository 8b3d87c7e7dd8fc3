//! Message signatures at intake (加签验签): the certificates filed per enterprise, the journal
//! entries that file and revoke them, the cache intake looks them up in, and the check
//! [`crate::intake::prepare`] runs before a message reaches the journal.
//!
//! The check, for a message from `sender` received at `now`, under the setting
//! `signatures` (docs/signatures.md):
//!
//! * `off`: nothing is checked;
//! * the kinds whose row in [`crate::kinds`] says `signed` (CEB621/623/625/711) under
//!   `required` must carry a signature; any kind that carries one has
//!   it verified (`ceb::dsig`: digest, signature value, key type), its certificate valid at
//!   `now`, filed for the sender and not revoked;
//! * under `verify-if-present`, a sender with no certificate on file passes unverified (a
//!   migration period while certificates are being filed); everyone else as under `required`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use ceb::dsig::{Certificate, SignatureError, Verified};
use domain::settings::SignaturePolicy;
use store::{CertificateChange, CertificateRow, JournalRecord, Store, StoreError};

/// The journal kind of a certificate filing or revocation (body: [`CertificateEntry`] JSON).
pub const CERTIFICATE: &str = "CERTIFICATE";

/// The journal body of a [`CERTIFICATE`] entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum CertificateEntry {
    /// File a certificate (base64 of its DER) for an enterprise.
    File {
        enterprise: String,
        certificate: String,
    },
    /// Revoke a filed certificate.
    Revoke {
        enterprise: String,
        fingerprint: String,
    },
}

impl CertificateEntry {
    /// A filing of `certificate` for `enterprise`.
    pub fn file(enterprise: &str, certificate: &Certificate) -> CertificateEntry {
        CertificateEntry::File {
            enterprise: enterprise.to_string(),
            certificate: base64::engine::general_purpose::STANDARD.encode(certificate.der()),
        }
    }

    pub fn parse(body: &[u8]) -> Result<CertificateEntry, String> {
        let entry: CertificateEntry =
            serde_json::from_slice(body).map_err(|e| format!("not a certificate entry: {e}"))?;
        if let CertificateEntry::File { certificate, .. } = &entry {
            read_certificate(certificate)?;
        }
        Ok(entry)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The projection change this entry makes when applied at `at_ms`.
    pub fn change(&self, at_ms: i64) -> Result<CertificateChange, String> {
        Ok(match self {
            CertificateEntry::File {
                enterprise,
                certificate,
            } => CertificateChange::File(row(enterprise, &read_certificate(certificate)?, at_ms)),
            CertificateEntry::Revoke {
                enterprise,
                fingerprint,
            } => CertificateChange::Revoke {
                enterprise: enterprise.clone(),
                fingerprint: fingerprint.clone(),
                at_ms,
            },
        })
    }
}

fn read_certificate(base64_der: &str) -> Result<Certificate, String> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64_der.as_bytes())
        .map_err(|e| format!("the certificate is not base64: {e}"))?;
    Certificate::from_der(&der).map_err(|e| e.to_string())
}

/// The projection row of a certificate filed for `enterprise` at `at_ms`.
pub fn row(enterprise: &str, c: &Certificate, at_ms: i64) -> CertificateRow {
    CertificateRow {
        enterprise: enterprise.to_string(),
        fingerprint: c.fingerprint().to_string(),
        serial: c.serial_hex().to_string(),
        subject: c.subject().to_string(),
        algorithm: c.kind().name().to_string(),
        not_before_ms: c.not_before_ms(),
        not_after_ms: c.not_after_ms(),
        der: c.der().to_vec(),
        filed_at_ms: at_ms,
        revoked_at_ms: None,
    }
}

/// The projection change of a journal record, when it is a certificate entry: from the parsed
/// content on the live path, from the body on a rebuild.
pub fn change_of(
    record: &JournalRecord,
    content: &crate::intake::Intake,
) -> Option<CertificateChange> {
    if record.kind != CERTIFICATE {
        return None;
    }
    let parsed;
    let entry = match content {
        crate::intake::Intake::Certificate(entry) => entry.as_ref(),
        _ => {
            parsed = CertificateEntry::parse(&record.body).ok()?;
            &parsed
        }
    };
    match entry.change(record.received_at_ms) {
        Ok(change) => Some(change),
        Err(reason) => {
            tracing::error!(%reason, seq = record.seq, "certificate entry no longer reads; skipped");
            None
        }
    }
}

/// Where a certificate stands for an enterprise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filing {
    Active,
    Revoked { at_ms: i64 },
    NotFiled,
}

/// The certificates on file, by enterprise: what intake looks up for every signed message, so
/// the hot path never queries the store. Loaded at start, refreshed for an enterprise when one
/// of its certificates is filed or revoked, and reloaded periodically (other nodes, rebuilds).
#[derive(Debug, Default)]
pub struct Certificates {
    by_enterprise: RwLock<HashMap<String, Vec<Filed>>>,
}

/// One certificate of an enterprise in the cache: fingerprint and revocation time.
type Filed = (String, Option<i64>);

impl Certificates {
    /// Everything on file in the store.
    pub fn load(store: &dyn Store) -> Result<Certificates, StoreError> {
        let cache = Certificates::default();
        cache.reload(store)?;
        Ok(cache)
    }

    /// A cache of the given certificates (offline tools, tests).
    pub fn of(filed: impl IntoIterator<Item = (String, Certificate)>) -> Certificates {
        let cache = Certificates::default();
        if let Ok(mut map) = cache.by_enterprise.write() {
            for (enterprise, c) in filed {
                map.entry(enterprise)
                    .or_default()
                    .push((c.fingerprint().to_string(), None));
            }
        }
        cache
    }

    /// Replace the whole cache with what the store holds.
    pub fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        let mut map: HashMap<String, Vec<Filed>> = HashMap::new();
        for r in store.certificates(None)? {
            map.entry(r.enterprise)
                .or_default()
                .push((r.fingerprint, r.revoked_at_ms));
        }
        match self.by_enterprise.write() {
            Ok(mut m) => *m = map,
            Err(poisoned) => *poisoned.into_inner() = map,
        }
        Ok(())
    }

    /// Re-read one enterprise's certificates (after filing or revoking one).
    pub fn refresh(&self, store: &dyn Store, enterprise: &str) -> Result<(), StoreError> {
        let list: Vec<Filed> = store
            .certificates(Some(enterprise))?
            .into_iter()
            .map(|r| (r.fingerprint, r.revoked_at_ms))
            .collect();
        let mut map = match self.by_enterprise.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if list.is_empty() {
            map.remove(enterprise);
        } else {
            map.insert(enterprise.to_string(), list);
        }
        Ok(())
    }

    pub fn lookup(&self, enterprise: &str, fingerprint: &str) -> Filing {
        let map = match self.by_enterprise.read() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        match map
            .get(enterprise)
            .and_then(|list| list.iter().find(|(f, _)| f == fingerprint))
        {
            Some((_, None)) => Filing::Active,
            Some((_, Some(at_ms))) => Filing::Revoked { at_ms: *at_ms },
            None => Filing::NotFiled,
        }
    }

    /// Whether the enterprise has any certificate on file (revoked ones count).
    pub fn has_any(&self, enterprise: &str) -> bool {
        match self.by_enterprise.read() {
            Ok(m) => m.contains_key(enterprise),
            Err(poisoned) => poisoned.into_inner().contains_key(enterprise),
        }
    }
}

/// What intake checks signatures with: the setting in force and the certificates on file.
#[derive(Clone, Debug)]
pub struct Gate {
    pub policy: SignaturePolicy,
    pub certificates: Arc<Certificates>,
}

impl Gate {
    pub fn new(policy: SignaturePolicy, certificates: Arc<Certificates>) -> Gate {
        Gate {
            policy,
            certificates,
        }
    }

    /// Check the signature of a message of `kind` from `sender` (its business XML as received),
    /// at `now_ms`. `Ok(Some(_))`: verified; `Ok(None)`: nothing to verify under the policy.
    pub fn check(
        &self,
        kind: &str,
        sender: &str,
        business_xml: &[u8],
        limits: &ceb::Limits,
        now_ms: i64,
    ) -> Result<Option<Verified>, SignatureError> {
        if self.policy == SignaturePolicy::Off {
            return Ok(None);
        }
        let doc =
            ceb::xml::parse_document(business_xml, limits).map_err(SignatureError::Unreadable)?;
        if !ceb::dsig::has_signature(&doc) {
            return if self.policy == SignaturePolicy::Required
                && crate::kinds::of(kind).is_some_and(|k| k.signed)
            {
                Err(SignatureError::Missing)
            } else {
                Ok(None)
            };
        }
        if self.policy == SignaturePolicy::VerifyIfPresent && !self.certificates.has_any(sender) {
            return Ok(None);
        }
        let verified = ceb::dsig::verify_document(&doc)?;
        verified.check_validity(now_ms)?;
        let fingerprint = verified.certificate.fingerprint();
        match self.certificates.lookup(sender, fingerprint) {
            Filing::Active => Ok(Some(verified)),
            Filing::Revoked { .. } => Err(SignatureError::Revoked {
                enterprise: sender.to_string(),
                fingerprint: fingerprint.to_string(),
            }),
            Filing::NotFiled => Err(SignatureError::NotFiled {
                enterprise: sender.to_string(),
                fingerprint: fingerprint.to_string(),
            }),
        }
    }
}
