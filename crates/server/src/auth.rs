//! API credentials: random bearer tokens, stored only as their SHA-256.
//!
//! A token is `ow_<key id>_<secret>`: the key id names the credential (for listing and revoking)
//! and the secret is 32 random bytes. The tokens carry 256 bits of entropy, so a plain SHA-256 is
//! the right hash (a slow password hash would buy nothing and cost every request).

use domain::clearance::Actor;
use domain::subject::Department;
use sha2::{Digest, Sha256};
use store::CredentialRow;

/// Who is calling. Enterprises act under their filed code; staff under a role name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A filed enterprise (its code). Sees only its own declarations, receipts, bills, credit
    /// record and listings.
    Enterprise(String),
    /// Zone administrator: files enterprises, issues credentials, loads tariffs; sees everything.
    Admin,
    /// A regulator of one department (credential subject `regulator:<department>`; a bare
    /// `regulator` is customs). Reads everything; acts as its department allows (docs/roles in
    /// docs/api.md).
    Regulator(Department),
    /// The auditor (credential subject `auditor`): reads and exports the audit log, and nothing
    /// else — every other route refuses it (docs/security.md).
    Auditor,
}

impl Principal {
    pub fn from_subject(subject: &str) -> Principal {
        match subject {
            ADMIN => Principal::Admin,
            AUDITOR => Principal::Auditor,
            REGULATOR => Principal::Regulator(Department::Customs),
            other => match other.strip_prefix("regulator:").and_then(Department::parse) {
                Some(d) => Principal::Regulator(d),
                None => Principal::Enterprise(other.to_string()),
            },
        }
    }

    /// Whether `subject` names a staff credential (admin or a regulator department).
    pub fn is_staff_subject(subject: &str) -> bool {
        !matches!(Principal::from_subject(subject), Principal::Enterprise(_))
            && (subject == ADMIN
                || subject == AUDITOR
                || subject == REGULATOR
                || subject
                    .strip_prefix("regulator:")
                    .and_then(Department::parse)
                    .is_some())
    }

    /// The enterprise code this principal is limited to, or `None` for staff who see all. The
    /// auditor is limited to a party no enterprise has, so a route that forgot it shows nothing
    /// (it never gets that far: `api::authenticate` refuses it).
    pub fn party(&self) -> Option<&str> {
        match self {
            Principal::Enterprise(code) => Some(code),
            Principal::Auditor => Some(AUDITOR_PARTY),
            Principal::Admin | Principal::Regulator(_) => None,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Principal::Enterprise(code) => code.clone(),
            Principal::Admin => ADMIN.to_string(),
            Principal::Auditor => AUDITOR.to_string(),
            Principal::Regulator(d) => format!("{REGULATOR}:{d}"),
        }
    }

    /// The actor supervision actions are recorded under.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Enterprise(code) => Actor::Enterprise(code.clone()),
            Principal::Admin | Principal::Auditor => Actor::Admin,
            Principal::Regulator(d) => Actor::Regulator(*d),
        }
    }
}

pub use ingest::pipeline::ADMIN;
pub const REGULATOR: &str = "regulator";
pub const AUDITOR: &str = "auditor";
/// Not an enterprise code (those are 10 characters): matches no declaration, bill or record.
const AUDITOR_PARTY: &str = "\u{0}auditor";

/// A freshly issued credential: the token is shown once and never stored.
pub struct Issued {
    pub token: String,
    pub row: CredentialRow,
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(hex::encode(buf))
}

/// Make a new credential for `subject` (an enterprise code, `admin` or `regulator`).
pub fn issue(subject: &str, now_ms: i64) -> Result<Issued, getrandom::Error> {
    issue_until(subject, now_ms, None)
}

/// Make a new credential for `subject` that is refused from `expires_at_ms` on (if given).
pub fn issue_until(
    subject: &str,
    now_ms: i64,
    expires_at_ms: Option<i64>,
) -> Result<Issued, getrandom::Error> {
    let key_id = random_hex(6)?;
    let secret = random_hex(32)?;
    let token = format!("ow_{key_id}_{secret}");
    let row = CredentialRow {
        key_id,
        subject: subject.to_string(),
        token_hash: hash_token(&token),
        created_at_ms: now_ms,
        revoked_at_ms: None,
        expires_at_ms,
    };
    Ok(Issued { token, row })
}

/// The key id a token names (`ow_<key id>_<secret>`).
pub fn key_id_of(token: &str) -> Option<&str> {
    token.strip_prefix("ow_")?.split('_').next()
}

/// Pull the bearer token out of an `Authorization` header value.
pub fn bearer(header: &str) -> Option<&str> {
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))?
        .trim();
    (token.starts_with("ow_") && token.len() < 200).then_some(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_unique_and_hash_to_the_stored_hash() {
        let a = issue("3301960AAA", 1).unwrap();
        let b = issue("3301960AAA", 1).unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(hash_token(&a.token), a.row.token_hash);
        assert!(!a.row.token_hash.contains(&a.token));
        assert_eq!(
            bearer(&format!("Bearer {}", a.token)),
            Some(a.token.as_str())
        );
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer notours"), None);
    }
}
