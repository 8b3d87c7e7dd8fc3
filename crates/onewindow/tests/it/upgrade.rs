//! Upgrades: a store written by the previous version (a committed fixture, see
//! `tests/fixtures/store-ca9b48b/README.md`) opens with this one, its journal rebuilds to exactly
//! the projections that version wrote — the decisions of its history are kept — and on its first
//! start it adopts the current rules at one journaled point, with the entrustments its traffic
//! implied.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_onewindow");
/// What `onewindow rebuild` of commit ca9b48b printed for the fixture.
const OLD_DIGEST: &str = "743741766fb7f8d455ac07b0c2e7f9796c6b4ba2236f55b44fc299507fdc0a24";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-ca9b48b")
}

fn copy_fixture(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in ["admin-token", "buyer-secret", "data-key", "onewindow.db"] {
        std::fs::copy(fixture().join(name), to.join(name)).unwrap();
    }
}

/// `onewindow rebuild`: (journal entries replayed, projections unchanged, digest).
fn rebuild(data: &Path) -> (u64, bool, String) {
    let output = Command::new(BIN)
        .args(["rebuild", "--data"])
        .arg(data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let entries = text
        .split("rebuilt from ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    let digest = text
        .split("projection digest ")
        .nth(1)
        .map(|d| d.trim().to_string())
        .unwrap_or_else(|| panic!("{text}"));
    (entries, text.contains("unchanged"), digest)
}

fn entrustments(base: &str, token: &str) -> serde_json::Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent
        .get(format!("{base}/api/v1/entrustments?limit=1000"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap()
}

#[test]
fn a_store_written_by_the_previous_version_opens_rebuilds_to_the_same_state_and_adopts_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_fixture(&data);

    // The old journal replays under the rules it was decided by: the same projections.
    let (entries, unchanged, digest) = rebuild(&data);
    assert!(unchanged, "the old projections already matched the journal");
    assert_eq!(digest, OLD_DIGEST, "the history is decided as it was");

    // First start: the current rules are adopted at one journaled point, with an entrustment for
    // each pair of enterprises the history showed.
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    let token = token.trim();
    {
        let server = crate::crash::start(&data);
        let list = entrustments(&server.base, token);
        let items = list["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{list}");
        assert!(
            items
                .iter()
                .all(|i| i["record"]["origin"] == "upgrade" && i["status"] == "accepted"),
            "{list}"
        );
    }
    let (after, unchanged, upgraded) = rebuild(&data);
    assert_eq!(after, entries + 1, "one entry: the adoption");
    assert!(
        unchanged,
        "the live state equals a rebuild of the upgraded journal"
    );
    assert_ne!(upgraded, OLD_DIGEST);

    // Adopted once: a second start adds nothing.
    drop(crate::crash::start(&data));
    let (again, unchanged, digest) = rebuild(&data);
    assert_eq!(again, after);
    assert!(unchanged);
    assert_eq!(digest, upgraded);
}
