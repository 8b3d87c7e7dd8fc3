//! From bytes to engine commands: parse and validate a submitted message (on the caller's thread,
//! before the writer), check that it is a declaration from the authenticated sender, and map the
//! wire structs of `ceb` into the documents of `domain`. The same mapping runs during a rebuild,
//! from the journal's raw bytes.

use ceb::Limits;
use domain::clearance::{Command, Document};
use domain::registry::Enterprise;
use domain::tariff::Tariff;
use domain::time::Timestamp;
use store::JournalRecord;

/// Journal kinds of administrative entries.
pub const FILING: &str = "FILING";
pub const TARIFF: &str = "TARIFF";
pub const SETTINGS: &str = "SETTINGS";
/// A credit, risk, negative-list or inspection action (JSON: `{"actor": …, "action": …}`).
pub const ACTION: &str = "ACTION";
/// An index action of the zone office (JSON: `{"actor": …, "action": …}`, docs/statistics.md).
pub const INDEX: &str = "INDEX";

/// A filing application (企业备案申请) or the zone office's decision on it: the journal body is the
/// whole application record after the step (`portal::applications::Application`, JSON), so the
/// projection row is computed from the entry alone. No engine command; an approval is followed
/// by its own `FILING` entry.
pub const APPLICATION: &str = "APPLICATION";

/// The journal body of an [`ACTION`] entry.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ActionEntry {
    pub actor: domain::clearance::Actor,
    pub action: domain::clearance::Action,
}

/// The journal body of an [`INDEX`] entry.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct IndexEntry {
    pub actor: domain::clearance::Actor,
    pub action: domain::statistics::IndexAction,
}

/// Data minimisation before the journal: a listing of a person named by name and ID number is
/// journaled with the person's keyed hash instead (the engine derives the same subject from
/// either), so the clear values never enter the journal.
pub fn minimise(
    action: domain::clearance::Action,
    buyer_secret: &[u8],
) -> domain::clearance::Action {
    use domain::clearance::{Action, SubjectRef};
    match action {
        Action::List {
            subject: SubjectRef::Person { name, id_number },
            name: listed_name,
            category,
            severity,
            evidence,
            effective_from,
            expires_at,
        } if !name.trim().is_empty() && !id_number.trim().is_empty() => Action::List {
            subject: SubjectRef::Buyer {
                key: domain::personal::buyer_key(buyer_secret, &name, &id_number).0,
            },
            name: listed_name,
            category,
            severity,
            evidence,
            effective_from,
            expires_at,
        },
        other => other,
    }
}

/// The parsed content of one journal entry.
pub enum Intake {
    /// Not parsed yet (rebuild parses from the journal body).
    Empty,
    /// The business nodes of a CEB declaration, as domain documents.
    Ceb(Vec<Document>),
    Filing(Vec<Enterprise>),
    Tariff(Box<Tariff>),
    Settings(Box<domain::settings::Settings>),
    Action(Box<ActionEntry>),
    Index(Box<IndexEntry>),
    /// A certificate filed for an enterprise, or revoked (docs/signatures.md).
    Certificate(Box<crate::signatures::CertificateEntry>),
    /// A journal body that no longer parses (cannot happen for entries this version wrote).
    Unreadable(String),
}

/// A message ready for the journal.
pub struct Prepared {
    pub kind: String,
    pub guid: String,
    /// The bytes to journal: exactly what the sender sent (or, for JSON, the XML it maps to).
    pub body: Vec<u8>,
    pub content: Intake,
    /// The transmitting enterprise named in BaseTransfer.
    pub transmitter: String,
}

/// Why a message was not accepted into the journal.
#[derive(Debug)]
pub enum Refusal {
    /// Not well-formed, wrongly encoded, hostile or schema-invalid: answered with a CEB900.
    Invalid {
        rejection: Box<ceb::Rejection>,
        ceb900: String,
    },
    /// Receipts are issued by the single window, not accepted from senders.
    NotADeclaration(String),
    /// BaseTransfer names another enterprise than the credential's.
    SenderMismatch {
        credential: String,
        transmitter: String,
    },
    BadJson(String),
    /// The message's XML signature is missing, invalid, expired or not by a certificate filed
    /// for the sender: answered with a CEB900 carrying the DXP security code (1001–1999).
    Signature {
        rejection: Box<ceb::Rejection>,
        ceb900: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Invalid { rejection, .. } | Refusal::Signature { rejection, .. } => {
                write!(f, "{rejection}")
            }
            Refusal::NotADeclaration(kind) => {
                write!(f, "{kind} is a receipt; only declarations are accepted")
            }
            Refusal::SenderMismatch {
                credential,
                transmitter,
            } => write!(
                f,
                "BaseTransfer/copCode {transmitter} is not the credential's enterprise {credential}"
            ),
            Refusal::BadJson(e) => write!(f, "not a JSON message: {e}"),
        }
    }
}

/// The CEB900 of a refusal. It echoes the original message (oriBizMessage): with its personal
/// data masked, like every other answer.
fn ceb900(rejection: &ceb::Rejection, original: &[u8], now_ms: i64) -> String {
    let mut answer = rejection.to_ceb900(&Timestamp(now_ms).ceb_time17(), original);
    let echoed = &mut answer.message_return.ori_biz_message;
    *echoed = domain::personal::mask_xml(echoed);
    answer.to_xml()
}

fn refuse(rejection: ceb::Rejection, original: &[u8], now_ms: i64) -> Refusal {
    Refusal::Invalid {
        ceb900: ceb900(&rejection, original, now_ms),
        rejection: Box::new(rejection),
    }
}

/// A signature refusal as a CEB900 with the DXP security code (docs/signatures.md).
fn refuse_signature(
    e: &ceb::dsig::SignatureError,
    kind: &str,
    guid: Option<String>,
    cop_msg_id: Option<String>,
    original: &[u8],
    now_ms: i64,
) -> Refusal {
    let rejection = ceb::Rejection {
        code: e.code(),
        message_type: Some(kind.to_string()),
        guid,
        cop_msg_id,
        issues: vec![ceb::Issue::new(
            format!("/{kind}/Signature"),
            "signature",
            e.to_string(),
        )],
    };
    Refusal::Signature {
        ceb900: ceb900(&rejection, original, now_ms),
        rejection: Box::new(rejection),
    }
}

/// A schema refusal whose only issue is the missing `ds:Signature` of a message that requires
/// one is, while signatures are required, a security refusal (1999): the sender learns that the
/// message must be signed rather than that an element is missing.
fn refuse_format(
    r: ceb::Rejection,
    original: &[u8],
    now_ms: i64,
    gate: &crate::signatures::Gate,
) -> Refusal {
    let kind = r.message_type.clone().unwrap_or_default();
    let only_signature_missing = r.code == "0002"
        && !r.issues.is_empty()
        && r.issues
            .iter()
            .all(|i| i.rule == "required" && i.path == format!("/{kind}/Signature"));
    if only_signature_missing
        && gate.policy == domain::settings::SignaturePolicy::Required
        && crate::kinds::of(&kind).is_some_and(|k| k.signed)
    {
        return refuse_signature(
            &ceb::dsig::SignatureError::Missing,
            &kind,
            r.guid,
            r.cop_msg_id,
            original,
            now_ms,
        );
    }
    refuse(r, original, now_ms)
}

/// Parse, validate and check a submitted message, its XML signature included (`gate`: the
/// signature setting and the certificates on file). `sender`: the authenticated enterprise, or
/// `None` to take the transmitter from BaseTransfer (offline replay).
pub fn prepare(
    body: &[u8],
    is_json: bool,
    limits: &Limits,
    sender: Option<&str>,
    now_ms: i64,
    gate: &crate::signatures::Gate,
) -> Result<Prepared, Refusal> {
    let (message, body, business_xml, cop_msg_id) = if is_json {
        let message = json_submission(body).map_err(Refusal::BadJson)?;
        // Journal the XML it stands for, and validate that XML like any other.
        let xml = message.to_xml().into_bytes();
        let parsed = ceb::parse(&xml, limits).map_err(|r| refuse_format(r, &xml, now_ms, gate))?;
        (parsed.message, xml.clone(), xml, None)
    } else {
        let parsed = ceb::parse(body, limits).map_err(|r| refuse_format(r, body, now_ms, gate))?;
        let cop_msg_id = parsed.dxp.as_ref().map(|d| d.cop_msg_id.clone());
        (
            parsed.message,
            body.to_vec(),
            parsed.business_xml,
            cop_msg_id,
        )
    };
    let kind = message.message_type().to_string();
    let Some(transmitter) = transmitter(&message).map(str::to_string) else {
        return Err(Refusal::NotADeclaration(kind));
    };
    if let Some(sender) = sender
        && sender != transmitter
    {
        return Err(Refusal::SenderMismatch {
            credential: sender.to_string(),
            transmitter,
        });
    }
    let guid = message.guid().to_string();
    // 加签验签: before the journal, on the caller's thread.
    gate.check(&kind, &transmitter, &business_xml, limits, now_ms)
        .map_err(|e| {
            refuse_signature(
                &e,
                &kind,
                Some(guid.clone()),
                cop_msg_id.clone(),
                &body,
                now_ms,
            )
        })?;
    let documents = crate::mapping::documents(message).map_err(|issues| {
        let rejection = ceb::Rejection {
            code: "0002",
            message_type: Some(kind.clone()),
            guid: Some(guid.clone()),
            issues,
            cop_msg_id: None,
        };
        refuse(rejection, &body, now_ms)
    })?;
    Ok(Prepared {
        kind,
        guid,
        body,
        content: Intake::Ceb(documents),
        transmitter,
    })
}

/// The enterprise named in BaseTransfer (the transmitter); `None` for receipts.
pub fn transmitter(message: &ceb::Message) -> Option<&str> {
    crate::kinds::of(message.message_type()).and_then(|kind| (kind.transmitter)(message))
}

/// The JSON equivalent of a declaration: `{"messageType": "CEB311Message", "message": {…}}`,
/// element names as in the XML. Errors name the field path and what was expected there, never the
/// value (it may be personal data). Also reads the bodies the retention purge redacted, whose
/// tokens carry `\u{1}`: text checks belong to [`json_submission`].
pub fn message_from_json(body: &[u8]) -> Result<ceb::Message, String> {
    let (message_type, value) = json_envelope(body)?;
    message_of_json(&message_type, value)
}

/// A JSON declaration as submitted: [`message_from_json`], and refused when any string in it holds
/// a character XML 1.0 does not allow (`\u0000`, `\u0001`, `\uFFFE` …). The message is journaled
/// as the XML it stands for, and the receipts quoting it are XML: such a character could not be
/// written there, and PostgreSQL cannot store U+0000 at all.
pub fn json_submission(body: &[u8]) -> Result<ceb::Message, String> {
    let (message_type, value) = json_envelope(body)?;
    if let Some((path, c)) = forbidden_text(&value) {
        return Err(format!(
            "message.{path}: holds U+{:04X}, a character XML 1.0 does not allow",
            u32::from(c)
        ));
    }
    message_of_json(&message_type, value)
}

fn json_envelope(body: &[u8]) -> Result<(String, serde_json::Value), String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope {
        message_type: String,
        message: serde_json::Value,
    }
    let envelope: Envelope = crate::json::from_json(body)?;
    Ok((envelope.message_type, envelope.message))
}

fn message_of_json(message_type: &str, value: serde_json::Value) -> Result<ceb::Message, String> {
    let Some(kind) = crate::kinds::of(message_type) else {
        return Err(format!(
            "messageType is not a declaration this API accepts ({})",
            crate::kinds::listed()
        ));
    };
    (kind.read_json)(value).map_err(|e| format!("message.{e}"))
}

/// The first string (or object key) in a JSON value that holds a character XML 1.0 does not
/// allow, with its path (`Order[0].OrderHead.orderNo`) and the character. Such text can be neither
/// written into a receipt nor, for U+0000, stored by PostgreSQL: it is refused before the journal.
pub fn forbidden_text(value: &serde_json::Value) -> Option<(String, char)> {
    use serde_json::Value;
    fn walk(value: &Value, path: &mut String) -> Option<char> {
        match value {
            Value::String(s) => ceb::xml::first_forbidden_char(s).map(|(_, c)| c),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if found.is_none() {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(map) => map.iter().find_map(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if let Some((_, c)) = ceb::xml::first_forbidden_char(key) {
                    path.push('?');
                    return Some(c);
                }
                path.push_str(key);
                let found = walk(item, path);
                if found.is_none() {
                    path.truncate(len);
                }
                found
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => None,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).map(|c| (path, c))
}

/// Refuse, before the journal, an administrative or supervision entry holding text the store or
/// an XML answer cannot carry: a character XML 1.0 does not allow (U+0000 among them, which
/// PostgreSQL refuses — and a refused row would fail the whole group commit, everybody's messages
/// with it). JSON bodies are read and every string checked; other bodies (CSV) are checked as
/// text. CEB messages are not looked at here: the XML reader refuses such characters, raw or as
/// references, and a JSON message is checked by [`json_submission`].
pub fn storable(kind: &str, body: &[u8]) -> Result<(), String> {
    let admin = matches!(
        kind,
        FILING | TARIFF | SETTINGS | ACTION | INDEX | APPLICATION
    ) || kind == crate::signatures::CERTIFICATE;
    if !admin {
        return Ok(());
    }
    let Ok(text) = std::str::from_utf8(body) else {
        // Read as bytes (a PEM or DER certificate) and never stored as text.
        return Ok(());
    };
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        return match forbidden_text(&value) {
            Some((path, c)) => Err(format!(
                "{path}: holds U+{:04X}, a character XML 1.0 does not allow",
                u32::from(c)
            )),
            None => Ok(()),
        };
    }
    match ceb::xml::first_forbidden_char(text) {
        Some((at, c)) => {
            let line = text.get(..at).map_or(0, |t| t.matches('\n').count()) + 1;
            Err(format!(
                "line {line}: holds U+{:04X}, a character XML 1.0 does not allow",
                u32::from(c)
            ))
        }
        None => Ok(()),
    }
}

/// Parse an administrative file (registry or tariff CSV, settings JSON).
pub fn admin_content(kind: &str, body: &[u8], now_ms: i64) -> Result<Intake, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the file is not UTF-8".to_string())?;
    match kind {
        FILING => domain::registry::parse_registry_csv(text, Timestamp(now_ms))
            .map(Intake::Filing)
            .map_err(|e| e.to_string()),
        TARIFF => Tariff::parse_csv(text)
            .map(|t| Intake::Tariff(Box::new(t)))
            .map_err(|e| e.to_string()),
        SETTINGS => domain::settings::Settings::from_json(text)
            .map(|s| Intake::Settings(Box::new(s)))
            .map_err(|e| e.to_string()),
        ACTION => serde_json::from_str::<ActionEntry>(text)
            .map(|a| Intake::Action(Box::new(a)))
            .map_err(|e| format!("not a supervision action: {e}")),
        INDEX => serde_json::from_str::<IndexEntry>(text)
            .map(|a| Intake::Index(Box::new(a)))
            .map_err(|e| format!("not an index action: {e}")),
        crate::signatures::CERTIFICATE => crate::signatures::CertificateEntry::parse(body)
            .map(|c| Intake::Certificate(Box::new(c))),
        other => Err(format!("unknown administrative entry {other}")),
    }
}

/// Re-read a journal entry (rebuild). Entries were validated when written, so the generous
/// default limits apply.
pub fn from_record(record: &JournalRecord) -> Intake {
    match record.kind.as_str() {
        APPLICATION => Intake::Empty,
        FILING | TARIFF | SETTINGS | ACTION | INDEX | crate::signatures::CERTIFICATE => {
            admin_content(&record.kind, &record.body, record.received_at_ms)
                .unwrap_or_else(Intake::Unreadable)
        }
        // A body the retention purge redacted: the message as CEB JSON, tokens for personal data.
        _ if crate::purge::is_redacted_body(&record.body) => {
            match crate::purge::message_of(&record.body) {
                Ok(message) => match crate::mapping::documents(message) {
                    Ok(documents) => Intake::Ceb(documents),
                    Err(issues) => Intake::Unreadable(format!("{} mapping issue(s)", issues.len())),
                },
                Err(e) => Intake::Unreadable(e),
            }
        }
        _ => match ceb::parse(&record.body, &Limits::default()) {
            Ok(parsed) => match crate::mapping::documents(parsed.message) {
                Ok(documents) => Intake::Ceb(documents),
                Err(issues) => Intake::Unreadable(format!("{} mapping issue(s)", issues.len())),
            },
            Err(e) => Intake::Unreadable(e.to_string()),
        },
    }
}

/// The engine commands of one entry: one per business node of a CEB message.
pub fn commands(content: Intake, sender: &str) -> Vec<Command> {
    match content {
        // Certificates are a projection of their own (`signatures::change_of`), not engine state.
        Intake::Empty | Intake::Certificate(_) => Vec::new(),
        Intake::Unreadable(reason) => {
            tracing::error!(%reason, "journal entry no longer parses; skipped");
            Vec::new()
        }
        Intake::Filing(list) => list.into_iter().map(Command::FileEnterprise).collect(),
        Intake::Tariff(tariff) => vec![Command::LoadTariff(*tariff)],
        Intake::Settings(settings) => vec![Command::SetSettings(*settings)],
        Intake::Action(entry) => {
            let ActionEntry { actor, action } = *entry;
            vec![Command::Supervise { actor, action }]
        }
        Intake::Index(entry) => {
            let IndexEntry { actor, action } = *entry;
            vec![Command::Statistics { actor, action }]
        }
        Intake::Ceb(documents) => documents
            .into_iter()
            .map(|document| Command::Declare {
                sender: sender.to_string(),
                document,
            })
            .collect(),
    }
}

/// The projection row of an [`APPLICATION`] entry (kind `application`), or `None` for any other
/// entry. Used by the live path and the rebuild alike, so both write the same row.
pub fn application_record(record: &JournalRecord) -> Option<store::RecordRow> {
    if record.kind != APPLICATION {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(&record.body).ok()?;
    let text = |k: &str| {
        value
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    Some(store::RecordRow {
        kind: "application".to_string(),
        key: text("id")?,
        party: text("code"),
        status: text("status")?,
        updated_at_ms: record.received_at_ms,
        body: String::from_utf8_lossy(&record.body).into_owned(),
    })
}
