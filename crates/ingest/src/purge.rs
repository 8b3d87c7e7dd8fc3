//! `onewindow purge --before DATE`: the retention purge (docs/security.md, "Personal data").
//!
//! Personal data of declarations concluded before the horizon is removed from the engine state
//! (by [`domain::window::SingleWindow::purge`]) and from the journal: each CEB message node of such
//! a declaration has its personal fields replaced by redaction tokens
//! ([`domain::personal::redact`]), and the entry's body becomes a *redacted body* — the message as
//! CEB JSON without the personal data, plus the SHA-256 of the original bytes and when and up to
//! which horizon it was purged. The entry keeps its sequence number, receive time, sender, kind
//! and guid. Because a token keeps everything the engine derives from the value (keyed hashes,
//! equality, ID validity, the masked form), replaying the redacted journal (`rebuild`) gives the
//! same receipts, quotas, tax bills, records and statistics, and the same state as the purge
//! left. Run with the server stopped (the engine holds state in memory).

use domain::clearance::{DeclarationId, Document, PurgeReport};
use domain::personal::{self, Field};
use domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{Batch, JournalRecord, Store};

use ceb::message::PiiVisitor;

use crate::intake::{self, ActionEntry};
use crate::pipeline::{PipelineConfig, PipelineError, restore};

/// What a redacted journal body says about the original.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Redaction {
    /// SHA-256 (hex) of the bytes originally received: the evidence that they were these.
    pub sha256: String,
    /// Length of the original bytes.
    pub bytes: usize,
    pub purged_at_ms: i64,
    pub horizon_ms: i64,
}

/// A redacted journal body: the message as CEB JSON (`{"messageType", "message"}`, the form the
/// API accepts) with its personal data replaced, and what it was.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedactedBody {
    pub redacted: Redaction,
    pub message_type: String,
    pub message: serde_json::Value,
}

/// Whether a CEB journal body is a redacted one (JSON) rather than the XML received.
pub fn is_redacted_body(body: &[u8]) -> bool {
    body.first() == Some(&b'{')
}

/// The message of a redacted body.
pub fn message_of(body: &[u8]) -> Result<ceb::Message, String> {
    intake::message_from_json(body)
}

/// What a purge did (or, dry, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeSummary {
    pub horizon_ms: i64,
    pub dry_run: bool,
    /// Declarations whose personal data is gone (now or by an earlier purge).
    pub declarations: usize,
    pub waybills: usize,
    /// Declarations and waybills redacted by this run.
    pub newly_redacted: usize,
    /// Declarations older than the horizon but still open: kept.
    pub kept_open: usize,
    /// Journal entries whose body this run redacted, and their nodes.
    pub journal_entries: usize,
    pub nodes: usize,
    /// Journal entries that could not be read (left as they are; named in the log).
    pub unreadable: usize,
}

/// Journal entries rewritten per transaction.
const CHUNK: usize = 500;

/// Purge the personal data of declarations concluded before `horizon_ms`.
pub fn purge(
    store: &dyn Store,
    config: &PipelineConfig,
    horizon_ms: i64,
    now_ms: i64,
    dry_run: bool,
    actor: &str,
) -> Result<PurgeSummary, PipelineError> {
    if !dry_run {
        store.claim_writer().map_err(PipelineError::Claim)?;
    }
    let (mut engine, positions) = restore(store, config)?;
    let report = engine.purge(Timestamp(horizon_ms));
    let mut summary = PurgeSummary {
        horizon_ms,
        dry_run,
        declarations: report.declarations.len(),
        waybills: report.waybills.len(),
        newly_redacted: report.newly,
        kept_open: report.kept_open,
        ..PurgeSummary::default()
    };
    let mut after = 0;
    let mut pending: Vec<JournalRecord> = Vec::new();
    loop {
        let records = store.journal_after(after, 1000)?;
        let Some(last) = records.last() else { break };
        after = last.seq;
        for record in records {
            if record.received_at_ms >= horizon_ms {
                continue;
            }
            match redact_entry(&config.buyer_secret, &report, &record, horizon_ms, now_ms) {
                Ok(Some((body, nodes))) => {
                    summary.journal_entries += 1;
                    summary.nodes += nodes;
                    pending.push(JournalRecord { body, ..record });
                }
                Ok(None) => {}
                Err(reason) => {
                    tracing::warn!(seq = record.seq, %reason, "journal entry not purged: unreadable");
                    summary.unreadable += 1;
                }
            }
            if pending.len() >= CHUNK && !dry_run {
                store.commit(&Batch {
                    base: Some(positions.applied),
                    applied: positions.applied,
                    redact: std::mem::take(&mut pending),
                    ..Batch::default()
                })?;
            }
        }
        if dry_run {
            pending.clear();
        }
    }
    if dry_run {
        return Ok(summary);
    }
    let mut batch = Batch {
        base: Some(positions.applied),
        applied: positions.applied,
        redact: pending,
        ..Batch::default()
    };
    crate::outlet::changes_into_batch(engine.take_changes(), &mut batch);
    batch.audit.push(store::audit::AuditEntry {
        at_ms: now_ms,
        actor: actor.to_owned(),
        action: "purge".to_owned(),
        target: {
            let d = Timestamp(horizon_ms).beijing_date();
            format!("before {:04}-{:02}-{:02}", d.year, d.month, d.day)
        },
        outcome: "ok".to_owned(),
        source: "cli".to_owned(),
        detail: serde_json::to_string(&summary).unwrap_or_default(),
    });
    store.commit(&batch)?;
    Ok(summary)
}

/// The redacted body of one journal entry, if anything in it is to be purged and not already:
/// (new body, nodes redacted). CEB messages by node; supervision actions that name a person by
/// name and ID number get the person's keyed hash instead.
fn redact_entry(
    secret: &[u8],
    report: &PurgeReport,
    record: &JournalRecord,
    horizon_ms: i64,
    now_ms: i64,
) -> Result<Option<(Vec<u8>, usize)>, String> {
    if record.kind == intake::ACTION {
        let entry: ActionEntry = serde_json::from_slice(&record.body).map_err(|e| e.to_string())?;
        let before = serde_json::to_vec(&entry).map_err(|e| e.to_string())?;
        let minimised = ActionEntry {
            actor: entry.actor,
            action: intake::minimise(entry.action, secret),
        };
        let after = serde_json::to_vec(&minimised).map_err(|e| e.to_string())?;
        return Ok((after != before).then_some((after, 1)));
    }
    if !record.kind.starts_with("CEB") {
        return Ok(None);
    }
    let (mut message, original) = if is_redacted_body(&record.body) {
        let body: RedactedBody = serde_json::from_slice(&record.body).map_err(|e| e.to_string())?;
        (message_of(&record.body)?, body.redacted)
    } else {
        let parsed =
            ceb::parse(&record.body, &ceb::Limits::default()).map_err(|e| e.to_string())?;
        (
            parsed.message,
            Redaction {
                sha256: hex::encode(Sha256::digest(&record.body)),
                bytes: record.body.len(),
                purged_at_ms: now_ms,
                horizon_ms,
            },
        )
    };
    let documents = crate::mapping::documents(message.clone())
        .map_err(|issues| format!("{} mapping issue(s)", issues.len()))?;
    let flags: Vec<bool> = documents.iter().map(|d| belongs(report, d)).collect();
    if !flags.iter().any(|f| *f) {
        return Ok(None);
    }
    let mut changed_nodes = 0;
    let mut redact_node = |walk: &mut dyn FnMut(&mut PiiVisitor<'_>)| {
        let mut changed = false;
        walk(&mut |fields: &mut [(&'static str, &mut String)]| {
            changed |= redact_fields(secret, fields);
        });
        if changed {
            changed_nodes += 1;
        }
    };
    if let Some(kind) = crate::kinds::of(message.message_type()) {
        (kind.redact)(&mut message, &flags, &mut redact_node);
    }
    if changed_nodes == 0 {
        return Ok(None);
    }
    let body = RedactedBody {
        redacted: original,
        message_type: message.message_type().to_owned(),
        message: inner_json(&message)?,
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    Ok(Some((bytes, changed_nodes)))
}

/// Whether a document belongs to a purged declaration or waybill.
fn belongs(report: &PurgeReport, d: &Document) -> bool {
    let decl = |ebp: &str, order: &str| {
        report
            .declarations
            .contains(&DeclarationId::derive(ebp, order))
    };
    match d {
        Document::Order(o) => decl(&o.ebp_code, &o.order_no),
        Document::Payment(p) => decl(&p.ebp_code, &p.order_no),
        Document::Inventory(i) => decl(&i.ebp_code, &i.order_no),
        Document::Cancel(c) => decl(&c.ebp_code, &c.order_no),
        Document::Refund(r) => decl(&r.ebp_code, &r.order_no),
        Document::Waybill(w) => report
            .waybills
            .contains(&(w.logistics_code.clone(), w.logistics_no.clone())),
        Document::WaybillStatus(_) | Document::Delivery(_) => false,
    }
}

/// Replaces one node's personal fields by their tokens (an ID number paired with the name of
/// the same node, as the engine derives the buyer key); whether anything changed.
fn redact_fields(secret: &[u8], fields: &mut [(&'static str, &mut String)]) -> bool {
    let clear: Vec<(&'static str, String)> =
        fields.iter().map(|(n, v)| (*n, (**v).clone())).collect();
    let name_of = |xml: &str| {
        clear
            .iter()
            .find(|(n, _)| *n == xml)
            .map(|(_, v)| v.as_str())
    };
    let mut changed = false;
    for (xml, value) in fields.iter_mut() {
        if personal::is_redacted(value) {
            continue;
        }
        let pair = match *xml {
            "buyerIdNumber" => name_of("buyerName"),
            "payerIdNumber" => name_of("payerName"),
            _ => None,
        };
        **value = personal::redact(secret, Field::of_xml(xml), value, pair);
        changed = true;
    }
    changed
}

/// The message's own JSON (the root element's fields, as the API's JSON form carries it).
fn inner_json(message: &ceb::Message) -> Result<serde_json::Value, String> {
    match serde_json::to_value(message).map_err(|e| e.to_string())? {
        serde_json::Value::Object(map) if map.len() == 1 => map
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .ok_or_else(|| "empty message".to_owned()),
        _ => Err("a message serializes as one root".to_owned()),
    }
}
