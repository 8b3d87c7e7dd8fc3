//! The durability promise, tested on the real binary: `onewindow serve` is killed with SIGKILL at
//! many random moments (seeded; the seed is printed, `ONEWINDOW_CRASH_SEED` replays a run and
//! `ONEWINDOW_CRASH_KILLS` sets how many kills) while clients are sending (three; eight on
//! PostgreSQL, whose commits are slowed down), and restarted on the same data each time — on
//! SQLite and on PostgreSQL. At the end: every acknowledged
//! message is in the journal at the position it was acknowledged with; a message whose answer
//! was lost to a kill and that was sent again has its business effect once (the journal is an
//! at-least-once log of arrivals, the engine is idempotent); receipts are gapless and unique;
//! every declaration is decided once; each buyer's quota equals the sum of their released or
//! held declarations (nothing consumed twice); and the state equals a clean `onewindow rebuild`
//! from the journal. On PostgreSQL every commit of the server is slowed down by 60 ms
//! (`commit_delay`), so that the last commit of a killed server often lands while its successor
//! is starting (finding 3 of "Close the holes"). And a second server on the same PostgreSQL
//! store refuses to start.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_onewindow");

/// A server process that is killed when the guard goes away, whatever happens in the test.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

pub(crate) fn start(data: &Path) -> Server {
    start_on(data, None)
}

fn start_on(data: &Path, store: Option<&str>) -> Server {
    let port = free_port();
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--data"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")]);
    if let Some(url) = store {
        command.args(["--store", url]);
    }
    let child = command
        .env("ONEWINDOW_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start onewindow serve");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        let healthy = Command::new(BIN)
            .args(["healthcheck", "--server", &server.base])
            .status()
            .is_ok_and(|s| s.success());
        if healthy {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not become healthy");
}

fn post(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    body: &[u8],
) -> Result<(u16, serde_json::Value), String> {
    let mut response = agent
        .post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/xml")
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or_default()))
}

/// A small deterministic generator for the kill moments: 20–420 ms after the server answers its
/// health check, so kills land during start-up catch-up, mid-batch and between batches.
fn next_delay(state: &mut u64) -> Duration {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Duration::from_millis(20 + (*state >> 33) % 400)
}

/// The seed of the kill moments: `ONEWINDOW_CRASH_SEED`, or the clock.
fn seed() -> u64 {
    std::env::var("ONEWINDOW_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x5eed)
        })
}

fn kills() -> usize {
    std::env::var("ONEWINDOW_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// PostgreSQL for the crash test: a fresh schema, or `None` after saying loudly that it skips
/// (a failure instead with `ONEWINDOW_REQUIRE_SERVICES=1`).
fn postgres_url() -> Option<String> {
    postgres_schema_url("crash")
}

/// Slow commits, for the server's connections only: every commit waits before it flushes (as on
/// a busy disk or with synchronous replication), whatever else runs (`commit_siblings=0`). Set at
/// connection start through libpq's `options`; `commit_delay` needs a superuser, which the test
/// role `postgres` is. 60 ms by default; `ONEWINDOW_CRASH_COMMIT_DELAY_US` changes it (0: none,
/// at most 100000).
fn slow_commit(url: &str) -> String {
    let delay: u32 = std::env::var("ONEWINDOW_CRASH_COMMIT_DELAY_US")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60_000);
    if delay == 0 {
        return url.to_owned();
    }
    format!("{url}&options=-c%20commit_delay%3D{delay}%20-c%20commit_siblings%3D0")
}

fn postgres_schema_url(name: &str) -> Option<String> {
    let base = std::env::var("ONEWINDOW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let reachable = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5432".parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_ok();
    if !reachable {
        assert!(
            std::env::var("ONEWINDOW_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "crash test: PostgreSQL is required but unreachable at {base}"
        );
        eprintln!("SKIPPED crash test on PostgreSQL: unreachable at {base}");
        return None;
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}schema={name}_{}", std::process::id()))
}

#[test]
fn acknowledged_messages_survive_kill_minus_nine_and_the_state_equals_a_rebuild() {
    crash_test(None, 3);
}

#[test]
fn acknowledged_messages_survive_kill_minus_nine_on_postgres() {
    let Some(url) = postgres_url() else {
        return;
    };
    let url = slow_commit(&url);
    let _ = store::PostgresStore::drop_schema(&url);
    // More clients than on SQLite: with 60 ms commits, three would take minutes longer.
    crash_test(Some(&url), 8);
    store::PostgresStore::drop_schema(&url).unwrap();
}

/// Two servers on one PostgreSQL store would each apply their own messages to their own engine
/// and overwrite each other's rows (finding 3: one run released CNY 29,400 to one buyer against
/// the 26,000 limit). The second one refuses to start, exits non-zero and says why.
#[test]
fn a_second_server_on_the_same_postgres_store_refuses_to_start() {
    let Some(url) = postgres_schema_url("second_writer") else {
        return;
    };
    let _ = store::PostgresStore::drop_schema(&url);
    let dir = tempfile::tempdir().unwrap();
    let first_data = dir.path().join("first");
    let first = start_on(&first_data, Some(&url));

    // Another node, its own data directory, the same store and data key.
    let mut second = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(dir.path().join("second"))
        .arg("--data-key-file")
        .arg(first_data.join("data-key"))
        .args([
            "--store",
            &url,
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .env("ONEWINDOW_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It gives up after waiting a few seconds for the lock; one that served instead is killed
    // after a minute and fails the test.
    let mut status = None;
    for _ in 0..600 {
        status = second.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = second.kill();
        let _ = second.wait();
        panic!("a second server on the same PostgreSQL store started");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "exits non-zero: {stderr}");
    assert!(
        stderr.contains("cannot become the writer of this store")
            && stderr.contains("another OneWindow writer holds this store"),
        "says why: {stderr}"
    );

    // The first one still serves.
    let healthy = Command::new(BIN)
        .args(["healthcheck", "--server", &first.base])
        .status()
        .unwrap();
    assert!(healthy.success());
    drop(first);
    store::PostgresStore::drop_schema(&url).unwrap();
}

fn crash_test(store_url: Option<&str>, client_count: usize) {
    let seed = seed();
    let kills = kills();
    let backend = if store_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!(
        "crash test on {backend}: seed {seed} (ONEWINDOW_CRASH_SEED={seed} replays it), {kills} kills, \
         {client_count} clients"
    );
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;

    // First start: file the registry and give every enterprise a credential.
    let mut tokens: HashMap<String, String> = HashMap::new();
    {
        let server = start_on(&data, store_url);
        let admin = std::fs::read_to_string(data.join("admin-token")).unwrap();
        let admin = admin.trim();
        let agent = agent();
        let mut response = agent
            .post(&format!("{}/api/v1/enterprises", server.base))
            .header("Authorization", &format!("Bearer {admin}"))
            .header("Content-Type", "text/csv")
            .send(traffic::registry_csv().as_bytes())
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let _ = response.body_mut().read_to_string();
        for (code, certificate) in traffic::demo_certificates() {
            let response = agent
                .post(&format!(
                    "{}/api/v1/enterprises/{code}/certificates",
                    server.base
                ))
                .header("Authorization", &format!("Bearer {admin}"))
                .header("Content-Type", "application/x-pem-file")
                .send(certificate.to_pem().as_bytes())
                .unwrap();
            assert_eq!(response.status().as_u16(), 201);
        }
        for e in traffic::demo_registry() {
            let mut response = agent
                .post(&format!(
                    "{}/api/v1/enterprises/{}/credentials",
                    server.base, e.code
                ))
                .header("Authorization", &format!("Bearer {admin}"))
                .send_empty()
                .unwrap();
            let body: serde_json::Value =
                serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
            tokens.insert(
                e.code.to_string(),
                body["token"].as_str().unwrap().to_string(),
            );
        }
    }

    // The traffic: clean declarations, shuffled arrival.
    let mut generator = traffic::Generator::new(
        99,
        traffic::Mix {
            bad_share_per_mille: 0,
            ..Default::default()
        },
    );
    let mut queue = VecDeque::new();
    let mut declarations = 0;
    for k in 0..450 {
        // Every 50th is a buyer's run of six declarations that goes over the annual limit.
        let set = if k % 50 == 0 {
            generator.set_of(traffic::Case::OverAnnualLimit, now)
        } else {
            generator.next_set(now)
        };
        declarations += set.messages.len() / 4;
        for m in set.messages {
            queue.push_back((m.sender, m.guid, m.xml));
        }
    }
    let messages = queue.len();
    let queue = Arc::new(Mutex::new(queue));
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let tokens = Arc::new(tokens);
    let interrupted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let unavailable = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    let mut moments = seed;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let server = start_on(&data, store_url);
        let url = format!("{}/api/v1/messages", server.base);
        let clients: Vec<_> = (0..client_count)
            .map(|_| {
                let (queue, acked, tokens, url, interrupted, unavailable) = (
                    queue.clone(),
                    acked.clone(),
                    tokens.clone(),
                    url.clone(),
                    interrupted.clone(),
                    unavailable.clone(),
                );
                std::thread::spawn(move || {
                    let agent = agent();
                    loop {
                        let Some((sender, guid, xml)) = queue.lock().unwrap().pop_front() else {
                            return;
                        };
                        match post(&agent, &url, &tokens[&sender], xml.as_bytes()) {
                            Ok((200, body)) => {
                                acked
                                    .lock()
                                    .unwrap()
                                    .push((body["seq"].as_i64().unwrap(), guid));
                            }
                            Ok((503, body)) => {
                                // "Nothing was accepted, retry": on PostgreSQL the last commit of
                                // the killed server may land after this one took its restore
                                // point; its first commit, built on the older position, is then
                                // refused and it restores itself from the store. Still needed:
                                // that refusal is the fix (before, the commit went through and
                                // overwrote the newer rows).
                                assert_eq!(
                                    body["type"], "https://onewindow.dev/problems/unavailable",
                                    "{body}"
                                );
                                let n =
                                    unavailable.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                assert!(n < 2_000, "the server never healed: {body}");
                                queue.lock().unwrap().push_back((sender, guid, xml));
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            Ok((status, body)) => {
                                panic!("clean traffic refused: HTTP {status} {body}")
                            }
                            Err(_) => {
                                // The server died: this message may or may not be kept; send it
                                // again next round (the same guid is harmless).
                                interrupted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                queue.lock().unwrap().push_back((sender, guid, xml));
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        let last_round = rounds > kills || queue.lock().unwrap().is_empty();
        if !last_round {
            std::thread::sleep(next_delay(&mut moments));
        }
        if last_round {
            for c in clients {
                c.join().unwrap();
            }
            drop(server); // SIGKILL as well, after everything was answered
            break;
        }
        drop(server); // SIGKILL while requests are in flight
        for c in clients {
            c.join().unwrap();
        }
    }
    assert!(
        queue.lock().unwrap().is_empty(),
        "everything was sent in the end"
    );

    // Read the store as the next start would.
    let target = store_url
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sqlite:{}", data.join("onewindow.db").display()));
    let store = server::keys::open_store(&target, &data, None, false)
        .unwrap()
        .0;
    let positions = store.positions().unwrap();
    assert_eq!(
        positions.applied, positions.journal,
        "projections reflect exactly the journal"
    );
    let journal: BTreeMap<i64, String> = store
        .journal_after(0, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|r| (r.seq, r.guid))
        .collect();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= messages,
        "all {messages} messages were acknowledged at least once"
    );
    let distinct: std::collections::HashSet<&String> = acked.iter().map(|(_, g)| g).collect();
    assert_eq!(distinct.len(), messages, "every message was acknowledged");
    let mut acked_seqs = std::collections::HashSet::new();
    for (seq, guid) in &acked {
        assert!(acked_seqs.insert(*seq), "position {seq} acknowledged twice");
        assert_eq!(
            journal.get(seq),
            Some(guid),
            "acknowledged message {seq} is in the journal"
        );
    }
    let receipts = store.receipts_after(None, 0, 1_000_000).unwrap();
    let seqs: Vec<i64> = receipts.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (1..=positions.receipt).collect::<Vec<_>>(),
        "receipts gapless and unique"
    );
    // A receipt is sent once per state: no (message, status, recipient) twice.
    let mut seen = std::collections::HashSet::new();
    for r in &receipts {
        let guid = r
            .xml
            .split("<guid>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or("");
        assert!(
            seen.insert((
                guid.to_string(),
                r.return_status.clone(),
                r.recipient.clone(),
                r.message_type.clone()
            )),
            "duplicate receipt {} {} to {}",
            r.message_type,
            r.return_status,
            r.recipient
        );
    }
    // No quota consumed twice: each buyer's quota is the sum of their matched declarations —
    // released, or held for review or inspection by risk and credit (quota is reserved at the
    // match, so a held declaration holds its share).
    let mut expected: HashMap<String, i64> = HashMap::new();
    let mut decided = 0;
    let mut refused = 0;
    // What is neither decided nor refused, to say so if the count below is short.
    let mut undecided = Vec::new();
    let rows = store.declarations(None, None, 1_000_000).unwrap();
    assert_eq!(
        rows.len(),
        declarations,
        "every declaration is recorded once"
    );
    for d in rows {
        if matches!(d.status, 800 | 300 | 500) {
            decided += 1;
            *expected.entry(d.buyer_key.clone().unwrap()).or_default() += d.value_minor;
        } else if d.status == 100 {
            assert!(
                d.status_info.contains("1313"),
                "only the over-limit declarations are refused: {}",
                d.status_info
            );
            refused += 1;
        } else {
            undecided.push(format!("{} {} {}", d.id, d.status, d.status_info));
        }
    }
    assert_eq!(
        decided + refused,
        declarations,
        "every declaration was matched and decided exactly once; not decided: {undecided:?}"
    );
    assert!(
        refused >= 6,
        "each over-limit run had a refusal ({refused})"
    );
    let year = domain::time::Timestamp(now).beijing_date().year;
    for (buyer, value) in &expected {
        let used = store
            .quota(buyer, year)
            .unwrap()
            .map_or(0, |q| q.used_minor);
        assert_eq!(
            used, *value,
            "quota of one buyer equals their matched declarations"
        );
    }
    let before = store.projection_digest().unwrap();
    drop(store);

    // A clean rebuild from the journal ends in the same state.
    let mut rebuild = Command::new(BIN);
    rebuild.args(["rebuild", "--data"]).arg(&data);
    if let Some(url) = store_url {
        rebuild.args(["--store", url]);
    }
    let output = rebuild.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let store = server::keys::open_store(&target, &data, None, false)
        .unwrap()
        .0;
    assert_eq!(
        store.projection_digest().unwrap(),
        before,
        "state equals a rebuild from the journal"
    );
    drop(store);
    eprintln!(
        "crash test on {backend}: seed {seed}, {} kills, {} requests cut by a kill, \
         {} answered 503 (retried), {} acknowledgements for {messages} messages",
        rounds - 1,
        interrupted.load(std::sync::atomic::Ordering::SeqCst),
        unavailable.load(std::sync::atomic::Ordering::SeqCst),
        acked.len()
    );
    assert!(
        rounds > kills.min(5),
        "the server was killed many times while busy ({} kills)",
        rounds - 1
    );
    assert!(
        interrupted.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "some kills cut requests in flight"
    );
}
