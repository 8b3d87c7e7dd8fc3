//! The audit log (审计日志): an append-only, hash-chained record of logins, credential changes,
//! regulator actions and personal-data views. Each entry's hash covers the previous entry's hash
//! and every field of the entry, so removing, reordering or editing an entry breaks the chain at
//! that point, which [`verify`] finds. Both backends also refuse `UPDATE` and `DELETE` on the
//! table (triggers), so even a bug in our own code cannot rewrite history.
//!
//! Entries name people only by account, credential subject or declaration id, never by personal
//! data; free text (a reason) is masked by the caller before it gets here.

use sha2::{Digest as _, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One thing that happened, as the system writes it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who: a credential subject (`admin`, `regulator:customs`, an enterprise code, `auditor`),
    /// a portal user, or `system`.
    pub actor: String,
    /// What, as a dotted name: `login`, `credential.issue`, `credential.revoke`,
    /// `credential.rotate`, `personal_data.view`, `regulator.<action>`, `purge`, `rekey` …
    pub action: String,
    /// On what: a declaration id, a credential key id, an alert id …
    pub target: String,
    /// `ok`, `refused: …`, `failed: …`.
    pub outcome: String,
    /// The client's address as the server saw it (`cli` for commands, `-` when unknown).
    pub source: String,
    /// Anything else (a JSON object as text): the reason given for a personal-data view, …
    pub detail: String,
}

/// An entry as stored: its place in the chain and the hashes that link it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// A page of the audit log: entries after a sequence number, optionally narrowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery<'a> {
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    /// Only entries at or after this time (ms).
    pub from_ms: Option<i64>,
    /// Only entries before this time (ms).
    pub until_ms: Option<i64>,
    /// Sequence cursor: only entries with a greater seq.
    pub after: i64,
    pub limit: usize,
}

fn field(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

/// The audit log: an append-only hash chain, outside the projections (`rebuild` keeps it).
pub trait Audit {
    /// Append entries to the audit log, chained after the last entry, in one transaction.
    fn append_audit(&self, entries: &[AuditEntry]) -> crate::Result<Vec<AuditRecord>>;

    /// A page of the audit log in seq order.
    fn audit(&self, query: &AuditQuery<'_>) -> crate::Result<Vec<AuditRecord>>;
}

/// The hash of entry `seq` following `prev_hash`: SHA-256 over a length-prefixed encoding of
/// the previous hash, the sequence number and every field.
pub fn chain_hash(prev_hash: &str, seq: i64, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(b"onewindow-audit-v1");
    field(&mut h, prev_hash);
    h.update(seq.to_le_bytes());
    h.update(e.at_ms.to_le_bytes());
    field(&mut h, &e.actor);
    field(&mut h, &e.action);
    field(&mut h, &e.target);
    field(&mut h, &e.outcome);
    field(&mut h, &e.source);
    field(&mut h, &e.detail);
    hex::encode(h.finalize())
}

/// Links `entries` after the chain head `(last_seq, last_hash)`.
pub(crate) fn link(last_seq: i64, last_hash: &str, entries: &[AuditEntry]) -> Vec<AuditRecord> {
    let mut prev = last_hash.to_owned();
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let seq = last_seq + 1 + i as i64;
        let hash = chain_hash(&prev, seq, e);
        out.push(AuditRecord {
            seq,
            entry: e.clone(),
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    out
}

/// Where the chain first fails to hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit log entry {seq}: {problem}")]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

/// Walks the chain as [`Verifier::feed`] is given entries in seq order.
#[derive(Clone, Debug)]
pub struct Verifier {
    last_seq: i64,
    last_hash: String,
    pub checked: i64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            last_seq: 0,
            last_hash: GENESIS.to_owned(),
            checked: 0,
        }
    }
}

impl Verifier {
    pub fn feed(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        let fail = |problem: &str| {
            Err(ChainBreak {
                seq: r.seq,
                problem: problem.to_owned(),
            })
        };
        if r.seq != self.last_seq + 1 {
            return fail(&format!(
                "expected entry {} next: entries are missing or reordered",
                self.last_seq + 1
            ));
        }
        if r.prev_hash != self.last_hash {
            return fail("it does not link to the entry before it");
        }
        if chain_hash(&r.prev_hash, r.seq, &r.entry) != r.hash {
            return fail("its content does not match its hash (edited)");
        }
        self.last_seq = r.seq;
        self.last_hash.clone_from(&r.hash);
        self.checked += 1;
        Ok(())
    }
}

/// Checks a whole chain given in seq order; returns how many entries hold.
pub fn verify<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Result<i64, ChainBreak> {
    let mut v = Verifier::default();
    for r in records {
        v.feed(r)?;
    }
    Ok(v.checked)
}

/// Reads the whole log from `store` in pages and verifies it.
pub fn verify_store(
    store: &dyn crate::Store,
) -> Result<Result<i64, ChainBreak>, crate::StoreError> {
    let mut v = Verifier::default();
    let mut after = 0;
    loop {
        let page = store.audit(&AuditQuery {
            after,
            limit: 1000,
            ..AuditQuery::default()
        })?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            if let Err(e) = v.feed(r) {
                return Ok(Err(e));
            }
        }
    }
    Ok(Ok(v.checked))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(n: i64) -> AuditEntry {
        AuditEntry {
            at_ms: n,
            actor: "admin".into(),
            action: "credential.issue".into(),
            target: format!("k{n}"),
            outcome: "ok".into(),
            source: "127.0.0.1".into(),
            detail: "{}".into(),
        }
    }

    #[test]
    fn a_linked_chain_verifies_and_any_edit_breaks_it() {
        let chain = link(0, GENESIS, &[entry(1), entry(2), entry(3)]);
        assert_eq!(verify(&chain), Ok(3));
        let more = link(3, &chain[2].hash, &[entry(4)]);
        let all: Vec<AuditRecord> = chain.iter().chain(&more).cloned().collect();
        assert_eq!(verify(&all), Ok(4));

        let mut edited = all.clone();
        edited[1].entry.outcome = "refused".into();
        assert_eq!(verify(&edited).unwrap_err().seq, 2);

        let mut dropped = all.clone();
        dropped.remove(1);
        assert_eq!(verify(&dropped).unwrap_err().seq, 3);

        // Rehashing the edited entry is not enough: the next one no longer links.
        let mut rehashed = all.clone();
        rehashed[1].entry.actor = "someone".into();
        rehashed[1].hash = chain_hash(&rehashed[1].prev_hash, 2, &rehashed[1].entry);
        assert_eq!(verify(&rehashed).unwrap_err().seq, 3);
    }
}
