//! Encryption at rest: every stored value that can hold personal data (journal bodies, engine
//! state values, supervision record bodies) is sealed with AES-256-GCM before it reaches either
//! backend, and opened after it is read back. Both backends share this one layer, so a plain
//! `sqlite3` or `psql` read shows only ciphertext.
//!
//! A sealed value is `MAGIC | algorithm | key-id length | key id | nonce (12) | ciphertext | tag
//! (16)`. The header (everything before the ciphertext) and the row the value belongs to (table
//! and primary key) are authenticated as associated data: a value cannot be edited, nor moved to
//! another row, without the tag failing. The key id names the key of the [`KeyRing`] that sealed
//! it, so keys can be rotated: the current key seals, every key in the ring opens, and
//! `onewindow rekey` re-seals old rows under the current key until no row names a retired key.
//!
//! Why AES-256-GCM rather than SM4-GCM: AES runs on the CPU's AES-NI and carry-less multiply
//! instructions (a few GB/s per core, so sealing costs the hot path almost nothing), the RustCrypto
//! implementation is constant-time and widely reviewed, and the algorithm byte in the header leaves
//! room for SM4-GCM (GB/T 32907) as a second algorithm where a deployment must use the national
//! standard.
//!
//! Values written before encryption was switched on carry no header and are read as they are
//! (`rekey` seals them); nothing is ever written in clear.

use std::borrow::Cow;
use std::fmt;
use std::sync::Mutex;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};

/// First bytes of every sealed value. The leading NUL never starts the clear text we store (XML,
/// JSON, CSV), so a sealed value is told from a legacy clear one without ambiguity.
pub const MAGIC: [u8; 4] = [0, b'O', b'W', b'E'];
/// Algorithm byte: AES-256-GCM with a 96-bit random nonce and a 128-bit tag.
const ALG_AES_256_GCM: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Key ids are short labels: letters, digits, `-`, `_`, `.`.
const MAX_KEY_ID: usize = 32;

/// Which row a value belongs to; authenticated with the value so it cannot be moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context<'a> {
    /// A journal body, by sequence number.
    Journal(i64),
    /// An engine state value, by namespace and key.
    State(&'a str, &'a str),
    /// A supervision record body, by kind and key.
    Record(&'a str, &'a str),
}

impl Context<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Context::Journal(seq) => {
                out.extend_from_slice(b"journal\0");
                out.extend_from_slice(&seq.to_le_bytes());
            }
            Context::State(ns, key) => {
                out.extend_from_slice(b"state\0");
                out.extend_from_slice(ns.as_bytes());
                out.push(0);
                out.extend_from_slice(key.as_bytes());
            }
            Context::Record(kind, key) => {
                out.extend_from_slice(b"record\0");
                out.extend_from_slice(kind.as_bytes());
                out.push(0);
                out.extend_from_slice(key.as_bytes());
            }
        }
    }
}

impl fmt::Display for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::Journal(seq) => write!(f, "journal entry {seq}"),
            Context::State(ns, key) => write!(f, "state row {ns}/{key}"),
            Context::Record(kind, key) => write!(f, "record {kind}/{key}"),
        }
    }
}

/// Why a key ring could not be read, or a value not sealed or opened. Never carries key bytes or
/// clear text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("data key file line {line}: {reason}")]
    BadKeyFile { line: usize, reason: String },
    #[error("the data key ring holds no key")]
    Empty,
    #[error("{context}: sealed under key {key_id:?}, which is not in the data key ring")]
    UnknownKey { context: String, key_id: String },
    #[error("{context}: the sealed value is damaged or was tampered with")]
    Damaged { context: String },
    #[error("no randomness for a nonce: {0}")]
    Random(String),
}

struct DataKey {
    id: String,
    secret: [u8; 32],
    cipher: Aes256Gcm,
}

/// Nonces come from the operating system's CSPRNG, fetched a few kilobytes at a time so that
/// sealing a batch of thousands of rows costs a handful of system calls, not thousands.
struct NonceSource {
    pool: Vec<u8>,
    used: usize,
}

impl NonceSource {
    const POOL: usize = NONCE_LEN * 512;

    fn next(&mut self) -> Result<[u8; NONCE_LEN], SealError> {
        if self.used + NONCE_LEN > self.pool.len() {
            self.pool.resize(Self::POOL, 0);
            getrandom::fill(&mut self.pool).map_err(|e| SealError::Random(e.to_string()))?;
            self.used = 0;
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&self.pool[self.used..self.used + NONCE_LEN]);
        // Never hand out the same bytes twice.
        self.pool[self.used..self.used + NONCE_LEN].fill(0);
        self.used += NONCE_LEN;
        Ok(nonce)
    }
}

/// The data keys: key id → AES-256 key. The current key seals; every key opens.
pub struct KeyRing {
    keys: Vec<DataKey>,
    current: usize,
    nonces: Mutex<NonceSource>,
}

/// Only the key ids: a log line or a panic message never shows key material.
impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.ids())
            .field("current", &self.current_id())
            .finish()
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl KeyRing {
    /// A ring of the given keys; `current` names the one that seals.
    pub fn new(keys: Vec<(String, [u8; 32])>, current: &str) -> Result<KeyRing, SealError> {
        if keys.is_empty() {
            return Err(SealError::Empty);
        }
        let mut ring = Vec::with_capacity(keys.len());
        for (i, (id, secret)) in keys.into_iter().enumerate() {
            if !valid_id(&id) {
                return Err(SealError::BadKeyFile {
                    line: i + 1,
                    reason: format!(
                        "key id {id:?} must be 1 to {MAX_KEY_ID} letters, digits, '-', '_' or '.'"
                    ),
                });
            }
            if ring.iter().any(|k: &DataKey| k.id == id) {
                return Err(SealError::BadKeyFile {
                    line: i + 1,
                    reason: format!("key id {id:?} appears twice"),
                });
            }
            let cipher = Aes256Gcm::new_from_slice(&secret).map_err(|_| SealError::BadKeyFile {
                line: i + 1,
                reason: "a key is 32 bytes".into(),
            })?;
            ring.push(DataKey { id, secret, cipher });
        }
        let Some(current) = ring.iter().position(|k| k.id == current) else {
            return Err(SealError::BadKeyFile {
                line: 0,
                reason: format!("the current key {current:?} is not in the ring"),
            });
        };
        Ok(KeyRing {
            keys: ring,
            current,
            nonces: Mutex::new(NonceSource {
                pool: Vec::new(),
                used: 0,
            }),
        })
    }

    /// A ring of one fresh random key named `id`.
    pub fn generate(id: &str) -> Result<KeyRing, SealError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| SealError::Random(e.to_string()))?;
        KeyRing::new(vec![(id.to_owned(), secret)], id)
    }

    /// Reads the key file format: one key per line, `ID HEX [current]` (64 hex digits = 32
    /// bytes); `#` starts a comment. The line marked `current` seals; without a mark, the last
    /// key does. `;` also separates lines, so a ring fits in one environment variable.
    pub fn parse(text: &str) -> Result<KeyRing, SealError> {
        let mut keys = Vec::new();
        let mut current = None;
        for (n, raw) in text.split(['\n', ';']).enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |reason: &str| SealError::BadKeyFile {
                line: n + 1,
                reason: reason.to_owned(),
            };
            let mut words = line.split_whitespace();
            let (Some(id), Some(hex_key)) = (words.next(), words.next()) else {
                return Err(bad("expected: ID HEX [current]"));
            };
            match words.next() {
                None => {}
                Some("current") => {
                    if current.is_some() {
                        return Err(bad("only one key can be current"));
                    }
                    current = Some(id.to_owned());
                }
                Some(_) => return Err(bad("expected: ID HEX [current]")),
            }
            let bytes = hex::decode(hex_key).map_err(|_| bad("the key is not hex"))?;
            let secret: [u8; 32] = bytes
                .try_into()
                .map_err(|_| bad("a key is 64 hex digits (32 bytes)"))?;
            keys.push((id.to_owned(), secret));
        }
        let current = match current {
            Some(c) => c,
            None => keys
                .last()
                .map(|(id, _)| id.clone())
                .ok_or(SealError::Empty)?,
        };
        KeyRing::new(keys, &current)
    }

    /// The ring in the key file format (for writing `data-key` on first start or after adding a
    /// key). Holds the key material: write it owner-readable only.
    pub fn to_file_text(&self) -> String {
        let mut out = String::from(
            "# OneWindow data keys (docs/security.md): ID HEX [current]. Keep this file secret.\n",
        );
        for (i, k) in self.keys.iter().enumerate() {
            out.push_str(&k.id);
            out.push(' ');
            out.push_str(&hex::encode(k.secret));
            if i == self.current {
                out.push_str(" current");
            }
            out.push('\n');
        }
        out
    }

    /// A ring with one more key, made current (rotation: new writes use it at once).
    pub fn with_new_current(&self, id: &str) -> Result<KeyRing, SealError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| SealError::Random(e.to_string()))?;
        let mut keys: Vec<(String, [u8; 32])> =
            self.keys.iter().map(|k| (k.id.clone(), k.secret)).collect();
        keys.push((id.to_owned(), secret));
        KeyRing::new(keys, id)
    }

    /// The ring without key `id` (retiring a key nothing uses any more).
    pub fn without(&self, id: &str) -> Result<KeyRing, SealError> {
        let keys: Vec<(String, [u8; 32])> = self
            .keys
            .iter()
            .filter(|k| k.id != id)
            .map(|k| (k.id.clone(), k.secret))
            .collect();
        KeyRing::new(keys, self.current_id())
    }

    pub fn current_id(&self) -> &str {
        self.keys
            .get(self.current)
            .map(|k| k.id.as_str())
            .unwrap_or_default()
    }

    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `plain` for the row `ctx` under the current key.
    pub fn seal(&self, plain: &[u8], ctx: Context<'_>) -> Result<Vec<u8>, SealError> {
        let key = &self.keys[self.current.min(self.keys.len().saturating_sub(1))];
        let nonce = {
            let mut source = self
                .nonces
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            source.next()?
        };
        let head_len = MAGIC.len() + 2 + key.id.len() + NONCE_LEN;
        let mut out = Vec::with_capacity(head_len + plain.len() + TAG_LEN);
        out.extend_from_slice(&MAGIC);
        out.push(ALG_AES_256_GCM);
        out.push(key.id.len() as u8);
        out.extend_from_slice(key.id.as_bytes());
        out.extend_from_slice(&nonce);
        let mut aad = Vec::with_capacity(head_len + 64);
        aad.extend_from_slice(&out);
        ctx.write(&mut aad);
        out.extend_from_slice(plain);
        let tag = key
            .cipher
            .encrypt_inout_detached(&Nonce::from(nonce), &aad, (&mut out[head_len..]).into())
            .map_err(|_| SealError::Damaged {
                context: ctx.to_string(),
            })?;
        out.extend_from_slice(tag.as_slice());
        Ok(out)
    }

    /// Opens a value read from the row `ctx`. A value without the header (written before
    /// encryption was on) comes back as it is.
    pub fn open<'v>(&self, stored: &'v [u8], ctx: Context<'_>) -> Result<Cow<'v, [u8]>, SealError> {
        let Some(parts) = split(stored) else {
            if stored.starts_with(&MAGIC) {
                return Err(SealError::Damaged {
                    context: ctx.to_string(),
                });
            }
            return Ok(Cow::Borrowed(stored));
        };
        let Some(key) = self.keys.iter().find(|k| k.id == parts.key_id) else {
            return Err(SealError::UnknownKey {
                context: ctx.to_string(),
                key_id: parts.key_id.to_owned(),
            });
        };
        let mut aad = Vec::with_capacity(parts.head.len() + 64);
        aad.extend_from_slice(parts.head);
        ctx.write(&mut aad);
        let mut plain = parts.body.to_vec();
        let tag = aes_gcm::Tag::try_from(parts.tag).map_err(|_| SealError::Damaged {
            context: ctx.to_string(),
        })?;
        let nonce = Nonce::try_from(parts.nonce).map_err(|_| SealError::Damaged {
            context: ctx.to_string(),
        })?;
        key.cipher
            .decrypt_inout_detached(&nonce, &aad, plain.as_mut_slice().into(), &tag)
            .map_err(|_| SealError::Damaged {
                context: ctx.to_string(),
            })?;
        Ok(Cow::Owned(plain))
    }

    /// Opens a value that must be UTF-8 text (record bodies).
    pub fn open_text(&self, stored: &[u8], ctx: Context<'_>) -> Result<String, SealError> {
        let plain = self.open(stored, ctx)?;
        String::from_utf8(plain.into_owned()).map_err(|_| SealError::Damaged {
            context: ctx.to_string(),
        })
    }

    /// Whether a stored value is sealed under the current key (nothing for `rekey` to do).
    pub fn is_current(&self, stored: &[u8]) -> bool {
        key_id_of(stored) == Some(self.current_id())
    }
}

struct Parts<'v> {
    head: &'v [u8],
    key_id: &'v str,
    nonce: &'v [u8],
    body: &'v [u8],
    tag: &'v [u8],
}

fn split(stored: &[u8]) -> Option<Parts<'_>> {
    let rest = stored.strip_prefix(&MAGIC)?;
    let (&alg, rest) = rest.split_first()?;
    if alg != ALG_AES_256_GCM {
        return None;
    }
    let (&id_len, rest) = rest.split_first()?;
    let id_len = usize::from(id_len);
    let key_id = std::str::from_utf8(rest.get(..id_len)?).ok()?;
    let rest = rest.get(id_len..)?;
    let nonce = rest.get(..NONCE_LEN)?;
    let sealed = rest.get(NONCE_LEN..)?;
    if sealed.len() < TAG_LEN {
        return None;
    }
    let head_len = MAGIC.len() + 2 + id_len + NONCE_LEN;
    let (body, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    Some(Parts {
        head: stored.get(..head_len)?,
        key_id,
        nonce,
        body,
        tag,
    })
}

/// The id of the key a stored value was sealed under; `None` for a value in clear (or one too
/// damaged to name its key).
pub fn key_id_of(stored: &[u8]) -> Option<&str> {
    split(stored).map(|p| p.key_id)
}

// ---- What both backends seal and open, row by row ----

/// A record as stored: the row with its sealed body beside it (opened by `open_record`).
pub(crate) type SealedRecord = (crate::RecordRow, Vec<u8>);

/// Every value of `batch` that is stored sealed, sealed (in the batch's order).
pub(crate) struct Sealed {
    pub append: Vec<Vec<u8>>,
    pub redact: Vec<Vec<u8>>,
    pub state: Vec<Option<Vec<u8>>>,
    pub records: Vec<Vec<u8>>,
}

impl Sealed {
    pub(crate) fn of(
        keys: &KeyRing,
        batch: &crate::Batch,
    ) -> std::result::Result<Sealed, SealError> {
        let journal = |j: &crate::JournalRecord| keys.seal(&j.body, Context::Journal(j.seq));
        Ok(Sealed {
            append: batch
                .append
                .iter()
                .map(journal)
                .collect::<std::result::Result<_, _>>()?,
            redact: batch
                .redact
                .iter()
                .map(journal)
                .collect::<std::result::Result<_, _>>()?,
            state: batch
                .state
                .iter()
                .map(|s| {
                    s.value
                        .as_ref()
                        .map(|v| keys.seal(v, Context::State(&s.namespace, &s.key)))
                        .transpose()
                })
                .collect::<std::result::Result<_, _>>()?,
            records: batch
                .records
                .iter()
                .map(|r| keys.seal(r.body.as_bytes(), Context::Record(&r.kind, &r.key)))
                .collect::<std::result::Result<_, _>>()?,
        })
    }
}

/// Opens a state row's value in place.
pub(crate) fn open_state(
    keys: &KeyRing,
    r: &mut crate::StateRow,
) -> std::result::Result<(), SealError> {
    if let Some(v) = &r.value {
        let plain = keys
            .open(v, Context::State(&r.namespace, &r.key))?
            .into_owned();
        r.value = Some(plain);
    }
    Ok(())
}

pub(crate) fn open_record(
    keys: &KeyRing,
    (mut row, sealed): SealedRecord,
) -> crate::Result<crate::RecordRow> {
    row.body = keys.open_text(&sealed, Context::Record(&row.kind, &row.key))?;
    Ok(row)
}

/// The sealed column of a table, and its name for messages.
pub(crate) fn sealed_columns(table: crate::SealedTable) -> (&'static str, &'static str) {
    use crate::SealedTable;
    match table {
        SealedTable::Journal => ("body", "body"),
        SealedTable::State => ("value", "value"),
        SealedTable::Records => ("body", "body"),
    }
}

/// The two key columns of state and records.
pub(crate) fn pair_columns(table: crate::SealedTable) -> (&'static str, &'static str) {
    match table {
        crate::SealedTable::Records => ("kind", "key"),
        _ => ("namespace", "key"),
    }
}

/// The row a cursor names, as the context its value is sealed for.
pub(crate) fn context_of(table: crate::SealedTable, key: &crate::RowKey) -> Context<'_> {
    use crate::{RowKey, SealedTable};
    match (table, key) {
        (_, RowKey::Seq(seq)) => Context::Journal(*seq),
        (SealedTable::Records, RowKey::Pair(a, b)) => Context::Record(a, b),
        (_, RowKey::Pair(a, b)) => Context::State(a, b),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::parse(&format!(
            "old {}\n# a comment\nnew {} current\n",
            "11".repeat(32),
            "22".repeat(32)
        ))
        .unwrap()
    }

    #[test]
    fn sealed_values_open_only_in_their_row() {
        let ring = ring();
        assert_eq!(ring.current_id(), "new");
        let sealed = ring
            .seal(b"<buyerName>A</buyerName>", Context::Journal(7))
            .unwrap();
        assert!(sealed.starts_with(&MAGIC));
        assert!(!sealed.windows(5).any(|w| w == b"buyer"));
        assert_eq!(key_id_of(&sealed), Some("new"));
        assert_eq!(
            ring.open(&sealed, Context::Journal(7)).unwrap().as_ref(),
            b"<buyerName>A</buyerName>"
        );
        // Moved to another row, or edited: refused.
        assert!(matches!(
            ring.open(&sealed, Context::Journal(8)),
            Err(SealError::Damaged { .. })
        ));
        let mut edited = sealed.clone();
        let last = edited.len() - 20;
        edited[last] ^= 1;
        assert!(ring.open(&edited, Context::Journal(7)).is_err());
        // Two seals of the same value differ (random nonces).
        assert_ne!(
            sealed,
            ring.seal(b"<buyerName>A</buyerName>", Context::Journal(7))
                .unwrap()
        );
    }

    #[test]
    fn every_key_in_the_ring_opens_and_a_missing_key_is_named() {
        let old_only = KeyRing::parse(&format!("old {}", "11".repeat(32))).unwrap();
        let sealed = old_only
            .seal(b"{}", Context::State("declaration", "D1"))
            .unwrap();
        let ring = ring();
        assert_eq!(
            ring.open(&sealed, Context::State("declaration", "D1"))
                .unwrap()
                .as_ref(),
            b"{}"
        );
        assert!(!ring.is_current(&sealed));
        let retired = ring.without("old").unwrap();
        assert_eq!(
            retired.open(&sealed, Context::State("declaration", "D1")),
            Err(SealError::UnknownKey {
                context: "state row declaration/D1".into(),
                key_id: "old".into()
            })
        );
    }

    #[test]
    fn clear_legacy_values_read_as_they_are() {
        let ring = ring();
        let clear = br#"{"a":1}"#;
        assert_eq!(
            ring.open(clear, Context::Record("alert", "A1"))
                .unwrap()
                .as_ref(),
            clear
        );
        assert_eq!(key_id_of(clear), None);
    }

    #[test]
    fn key_files_are_checked_and_round_trip() {
        assert!(KeyRing::parse("").is_err());
        assert!(KeyRing::parse("k1 abcd").is_err());
        assert!(KeyRing::parse(&format!("bad/id {}", "11".repeat(32))).is_err());
        assert!(KeyRing::parse(&format!("k {0}\nk {0}", "11".repeat(32))).is_err());
        let one_line = KeyRing::parse(&format!("a {};b {}", "11".repeat(32), "22".repeat(32)));
        assert_eq!(one_line.unwrap().current_id(), "b");
        let ring = ring().with_new_current("newer").unwrap();
        let again = KeyRing::parse(&ring.to_file_text()).unwrap();
        assert_eq!(again.ids(), vec!["old", "new", "newer"]);
        assert_eq!(again.current_id(), "newer");
        assert!(!format!("{ring:?}").contains(&"11".repeat(32)));
    }
}
