//! Real resource faults, not mocks: the SQLite store on a small tmpfs that fills up (disk full),
//! and PostgreSQL behind a TCP proxy the test cuts and restores (database unavailable). While the
//! resource is gone the server refuses messages with `503` and an `unavailable` problem document;
//! when it returns the server heals by itself, without a restart; and nothing acknowledged is
//! lost: the journal holds exactly the acknowledged messages, each once.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use traffic::{Generator, Mix};

use crate::support::{self, TestServer, now_ms};

/// Messages acknowledged (HTTP 200): journal sequence → guid.
type Acked = BTreeMap<i64, String>;

fn require_or_skip(test: &str, why: &str) {
    let msg = format!("{test}: {why}: SKIPPED");
    assert!(
        std::env::var("ONEWINDOW_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "{msg} (ONEWINDOW_REQUIRE_SERVICES=1)"
    );
    eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
}

fn is_unavailable(status: u16, body: &Value) -> bool {
    status == 503
        && body["type"] == "https://onewindow.dev/problems/unavailable"
        && body["status"] == 503
        && body["title"]
            .as_str()
            .is_some_and(|t| t.contains("nothing was accepted"))
}

/// Send one message; record it when acknowledged. Returns the HTTP status and body.
async fn send(
    server: &TestServer,
    message: &traffic::GeneratedMessage,
    acked: &mut Acked,
) -> (u16, Value) {
    let (status, body) = server.send(message).await;
    if status == 200 {
        let seq = body["seq"].as_i64().unwrap();
        assert!(
            acked.insert(seq, message.guid.clone()).is_none(),
            "sequence {seq} acknowledged twice"
        );
    }
    (status, body)
}

/// Send a message until it is acknowledged: the server must heal by itself once the resource is
/// back (bounded: a few hundred tries, then the test fails).
async fn send_until_acknowledged(
    server: &TestServer,
    message: &traffic::GeneratedMessage,
    acked: &mut Acked,
) -> Value {
    for _ in 0..300 {
        let (status, body) = send(server, message, acked).await;
        match status {
            200 => return body,
            503 => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("unexpected answer {other}: {body}"),
        }
    }
    panic!("the server did not heal by itself after the resource came back");
}

/// The journal holds exactly the acknowledged messages, each at its acknowledged position, and
/// the projections reflect all of it.
fn journal_equals_acknowledgements(store: Arc<dyn store::Store>, acked: Acked, before: i64) {
    let positions = store.positions().unwrap();
    assert_eq!(
        positions.applied, positions.journal,
        "projections reflect the journal"
    );
    let journal: Acked = store
        .journal_after(before, 100_000)
        .unwrap()
        .into_iter()
        .map(|r| (r.seq, r.guid))
        .collect();
    assert_eq!(
        journal, acked,
        "the journal holds every acknowledged message and nothing that was refused"
    );
    drop(store);
}

// ---------------------------------------------------------------------------------------------
// Disk full: SQLite on a small tmpfs.

/// A tmpfs mounted for the test, unmounted (lazily) when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(megabytes: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fill the filesystem to the last byte with a ballast file.
    fn fill(&self) -> PathBuf {
        let ballast = self.path().join("ballast");
        let mut file = std::fs::File::create(&ballast).unwrap();
        for chunk in [1 << 20, 4096, 1] {
            let block = vec![0u8; chunk];
            loop {
                match file.write(&block) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::StorageFull => break,
                    Err(e) if e.raw_os_error() == Some(28) => break,
                    Err(e) => panic!("filling the disk: {e}"),
                }
            }
        }
        let _ = file.sync_all();
        ballast
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_messages_with_503_and_the_server_heals_when_space_returns() {
    let Some(disk) = Tmpfs::mount(64) else {
        require_or_skip(
            "disk full",
            "cannot mount a tmpfs (the test needs root, as in CI)",
        );
        return;
    };
    let db = disk.path().join("ow.db");
    let server = support::start_on(Some(format!("sqlite:{}", db.display()))).await;
    let before = server.running.store.positions().unwrap().journal;
    let mut generator = Generator::new(
        71,
        Mix {
            bad_share_per_mille: 0,
            ..Mix::default()
        },
    );
    let mut acked = Acked::new();
    for _ in 0..5 {
        for m in generator.next_set(now_ms()).messages {
            let (status, body) = send(&server, &m, &mut acked).await;
            assert_eq!(status, 200, "{body}");
        }
    }

    // The disk fills up. SQLite may still have room in its write-ahead log for a while, so send
    // until the first refusal (bounded); whatever was acknowledged meanwhile must be kept.
    let ballast = disk.fill();
    let mut refused = Vec::new();
    for _ in 0..100 {
        for m in generator.next_set(now_ms()).messages {
            let (status, body) = send(&server, &m, &mut acked).await;
            match status {
                200 => {}
                _ => {
                    assert!(
                        is_unavailable(status, &body),
                        "a clear 503 problem: {status} {body}"
                    );
                    refused.push(m);
                }
            }
        }
        if refused.len() >= 4 {
            break;
        }
    }
    assert!(!refused.is_empty(), "a full disk refuses messages");
    eprintln!(
        "disk full: {} messages acknowledged in all before the first refusals, {} refused",
        acked.len(),
        refused.len()
    );
    let (status, body) = server.send(&refused[0]).await;
    assert!(
        is_unavailable(status, &body),
        "still refused: {status} {body}"
    );
    // The outside probe's finding 6: every message got 503 while /healthz said 200. Health
    // reports a writer that cannot commit.
    let (status, body) = server.call("GET", "/healthz", None, "", b"").await;
    assert!(
        is_unavailable(status, &body),
        "health says the writer cannot commit: {status} {body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("commit")),
        "{body}"
    );

    // Space comes back: the same server takes the refused messages, without a restart.
    std::fs::remove_file(&ballast).unwrap();
    for m in &refused {
        let body = send_until_acknowledged(&server, m, &mut acked).await;
        assert!(body["receipts"].is_array());
    }
    for m in generator.next_set(now_ms()).messages {
        let (status, body) = send(&server, &m, &mut acked).await;
        assert_eq!(status, 200, "healed: {body}");
    }
    let (status, body) = server.call("GET", "/healthz", None, "", b"").await;
    assert_eq!(status, 200, "healthy again once commits succeed: {body}");
    let store = server.running.store.clone();
    server.running.stop().await;
    tokio::task::spawn_blocking(move || journal_equals_acknowledgements(store, acked, before))
        .await
        .unwrap();
    // And after a restart from the file, too.
    let (reopened, _, _) = server::keys::open_store(
        &format!("sqlite:{}", db.display()),
        server.dir.path(),
        None,
        false,
    )
    .unwrap();
    let positions = reopened.positions().unwrap();
    assert_eq!(positions.applied, positions.journal);
    drop(reopened);
    drop(disk);
}

// ---------------------------------------------------------------------------------------------
// Database unavailable: PostgreSQL behind a TCP proxy.

/// A TCP proxy to PostgreSQL that can be cut (every connection closed, new ones refused) and
/// restored.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy {
            port,
            cut: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
            streams: Arc::new(Mutex::new(Vec::new())),
        };
        let (cut, stop, streams) = (proxy.cut.clone(), proxy.stop.clone(), proxy.streams.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let pairs = [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ];
                {
                    let mut all = streams.lock().unwrap();
                    all.push(client);
                    all.push(server);
                }
                for (mut from, mut to) in pairs {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        proxy
    }

    /// The database becomes unreachable: open connections drop, new ones are refused.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_refuses_messages_with_503_and_the_server_heals_when_it_returns() {
    let Some(url) = support::postgres_url("database_unavailable") else {
        return;
    };
    let proxy = Proxy::start("127.0.0.1:5432");
    let through_proxy = url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(through_proxy, url, "the test URL names 127.0.0.1:5432");
    let server = support::start_on(Some(through_proxy)).await;
    let store = server.running.store.clone();
    let before = tokio::task::spawn_blocking(move || store.positions().unwrap().journal)
        .await
        .unwrap();
    let mut generator = Generator::new(
        72,
        Mix {
            bad_share_per_mille: 0,
            ..Mix::default()
        },
    );
    let mut acked = Acked::new();
    for _ in 0..5 {
        for m in generator.next_set(now_ms()).messages {
            let (status, body) = send(&server, &m, &mut acked).await;
            assert_eq!(status, 200, "{body}");
        }
    }

    // The database goes away: every message is refused with a clear 503, health says so too.
    proxy.cut();
    let outage: Vec<_> = (0..3)
        .flat_map(|_| generator.next_set(now_ms()).messages)
        .collect();
    for m in &outage {
        let (status, body) = send(&server, m, &mut acked).await;
        assert!(
            is_unavailable(status, &body),
            "refused while the database is gone: {status} {body}"
        );
    }
    let (status, body) = server.call("GET", "/healthz", None, "", b"").await;
    assert!(is_unavailable(status, &body), "{status} {body}");

    // It comes back: the same server heals by itself and takes them.
    proxy.restore();
    let mut released = 0;
    for m in &outage {
        let body = send_until_acknowledged(&server, m, &mut acked).await;
        released += body["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["messageType"] == "CEB622Message" && r["returnStatus"] == "800")
            .count();
    }
    assert!(
        released > 0,
        "declarations sent during the outage are released after it"
    );
    // Its writer lock died with the connections; it took it again before writing: another
    // writer of the same store is still refused.
    let second = url.clone();
    let refusal = tokio::task::spawn_blocking(move || {
        let keys = Arc::new(store::KeyRing::generate("other").unwrap());
        store::open(&second, keys).unwrap().claim_writer()
    })
    .await
    .unwrap();
    assert!(
        matches!(refusal, Err(store::StoreError::WriterLocked(_))),
        "the healed server holds the writer lock: {refusal:?}"
    );
    let store = server.running.store.clone();
    server.running.stop().await;
    tokio::task::spawn_blocking(move || {
        journal_equals_acknowledgements(store, acked, before);
        store::PostgresStore::drop_schema(&url).unwrap();
    })
    .await
    .unwrap();
    drop(proxy);
}
