//! Where the data keys (the key ring that seals personal data at rest, see `store::seal`) come
//! from, in order: `--data-key-file` (`ONEWINDOW_DATA_KEY_FILE`), the ring itself in
//! `ONEWINDOW_DATA_KEYS` (lines separated by `;`), or `DATA_DIR/data-key`. A store that holds no
//! data yet gets a fresh key written to `DATA_DIR/data-key` (owner-readable only) on its first
//! start, as the buyer-hash key is; a store that holds data is never opened without its key:
//! the start fails and says what to configure, so nothing is silently written in clear or under
//! a key that would then be lost.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use store::{KeyRing, Store};

/// The key file in the data directory.
pub const DATA_KEY_FILE: &str = "data-key";
/// The environment variable that may hold the ring itself.
pub const DATA_KEYS_ENV: &str = "ONEWINDOW_DATA_KEYS";

/// Where a key ring was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Environment,
    /// Created by this start, in this file.
    Created(PathBuf),
}

/// The configured key ring, if any (never creates one).
pub fn load(
    data_dir: &Path,
    key_file: Option<&Path>,
) -> anyhow::Result<Option<(KeyRing, KeySource)>> {
    if let Some(path) = key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the data key file {}", path.display()))?;
        let ring = KeyRing::parse(&text).with_context(|| format!("in {}", path.display()))?;
        return Ok(Some((ring, KeySource::File(path.to_path_buf()))));
    }
    if let Ok(text) = std::env::var(DATA_KEYS_ENV) {
        let ring = KeyRing::parse(&text).with_context(|| format!("in {DATA_KEYS_ENV}"))?;
        return Ok(Some((ring, KeySource::Environment)));
    }
    let path = data_dir.join(DATA_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let ring = KeyRing::parse(&text).with_context(|| format!("in {}", path.display()))?;
            Ok(Some((ring, KeySource::File(path))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// A new key id, from the day it was made (`k20261206`), so a ring reads in age order.
pub fn new_key_id(now_ms: i64) -> String {
    let d = domain::time::Timestamp(now_ms).beijing_date();
    format!("k{:04}{:02}{:02}", d.year, d.month, d.day)
}

/// Open the store at `target` with its data keys. `create`: a store without data and without a
/// configured key gets a fresh one in `DATA_DIR/data-key` (for `serve`; maintenance commands
/// pass `false` and fail instead).
pub fn open_store(
    target: &str,
    data_dir: &Path,
    key_file: Option<&Path>,
    create: bool,
) -> anyhow::Result<(Arc<dyn Store>, Arc<KeyRing>, KeySource)> {
    if let Some((ring, source)) = load(data_dir, key_file)? {
        let ring = Arc::new(ring);
        let store = store::open(target, ring.clone())?;
        return Ok((store, ring, source));
    }
    let hint = format!(
        "configure the data keys with --data-key-file (ONEWINDOW_DATA_KEY_FILE), {DATA_KEYS_ENV}, \
         or {}; see docs/security.md",
        data_dir.join(DATA_KEY_FILE).display()
    );
    if !create {
        bail!("no data key found: {hint}");
    }
    let ring = Arc::new(KeyRing::generate(&new_key_id(ingest::clock::now_ms()))?);
    let store = store::open(target, ring.clone())?;
    let positions = store.positions()?;
    if positions.journal > 0 {
        bail!(
            "the store already holds {} journal entries but no data key was found: {hint} \
             (a store from before encryption: create a key with `onewindow rekey --new-key`)",
            positions.journal
        );
    }
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join(DATA_KEY_FILE);
    write_new_private(&path, &ring.to_file_text())?;
    tracing::info!(path = %path.display(), key = ring.current_id(), "created the data key");
    Ok((store, ring, KeySource::Created(path)))
}

/// Write `text` to a file that must not exist yet, owner-readable only.
pub fn write_new_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Replace a key file atomically (rotation: a new current key, or a retired one removed),
/// owner-readable only.
pub fn replace_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    write_new_private(&tmp, text)?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_store_gets_a_private_key_and_a_used_store_never_does() {
        let dir = tempfile::tempdir().unwrap();
        let target = format!("sqlite:{}", dir.path().join("ow.db").display());
        assert!(open_store(&target, dir.path(), None, false).is_err());
        let (store, ring, source) = open_store(&target, dir.path(), None, true).unwrap();
        let path = dir.path().join(DATA_KEY_FILE);
        assert_eq!(source, KeySource::Created(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store
            .commit(&store::Batch {
                append: vec![store::JournalRecord {
                    seq: 1,
                    received_at_ms: 1,
                    sender: "admin".into(),
                    kind: "FILING".into(),
                    guid: "g".into(),
                    body: b"x".to_vec(),
                }],
                applied: 1,
                ..store::Batch::default()
            })
            .unwrap();
        drop(store);
        // The next start finds the same key.
        let (_, again, _) = open_store(&target, dir.path(), None, true).unwrap();
        assert_eq!(again.current_id(), ring.current_id());
        // Without it, a store that holds data is refused, not given a new key.
        std::fs::remove_file(&path).unwrap();
        let err = open_store(&target, dir.path(), None, true)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("already holds 1 journal entries"), "{err}");
    }
}
