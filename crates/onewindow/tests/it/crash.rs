//! The durability promise, tested on the real binary: `onewindow serve` is killed with SIGKILL at
//! random moments while clients are sending, and restarted on the same data directory. Every
//! acknowledged message must be in the journal, no receipt may be lost or duplicated, no quota
//! consumed twice, and the state must equal a clean `onewindow rebuild` from the journal.

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
    let port = free_port();
    let child = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
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

/// A small deterministic generator for the kill moments.
fn next_delay(state: &mut u64) -> Duration {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Duration::from_millis(80 + (*state >> 33) % 400)
}

#[test]
fn acknowledged_messages_survive_kill_minus_nine_and_the_state_equals_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;

    // First start: file the registry and give every enterprise a credential.
    let mut tokens: HashMap<String, String> = HashMap::new();
    {
        let server = start(&data);
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
    for _ in 0..150 {
        for m in generator.next_set(now).messages {
            queue.push_back((m.sender, m.guid, m.xml));
        }
    }
    let queue = Arc::new(Mutex::new(queue));
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let tokens = Arc::new(tokens);

    let mut seed = 0x5eed_u64;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let server = start(&data);
        let url = format!("{}/api/v1/messages", server.base);
        let clients: Vec<_> = (0..3)
            .map(|_| {
                let (queue, acked, tokens, url) =
                    (queue.clone(), acked.clone(), tokens.clone(), url.clone());
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
                            Ok((status, body)) => {
                                panic!("clean traffic refused: HTTP {status} {body}")
                            }
                            Err(_) => {
                                // The server died: this message may or may not be kept; send it
                                // again next round (the same guid is harmless).
                                queue.lock().unwrap().push_back((sender, guid, xml));
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        let last_round = rounds > 5 || queue.lock().unwrap().is_empty();
        if !last_round {
            std::thread::sleep(next_delay(&mut seed));
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
    let target = format!("sqlite:{}", data.join("onewindow.db").display());
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
        acked.len() >= 600,
        "all 600 messages were acknowledged at least once"
    );
    for (seq, guid) in &acked {
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
    for d in store.declarations(None, None, 1_000_000).unwrap() {
        if matches!(d.status, 800 | 300 | 500) {
            decided += 1;
            *expected.entry(d.buyer_key.clone().unwrap()).or_default() += d.value_minor;
        }
    }
    assert_eq!(
        decided, 150,
        "every declaration was matched and decided exactly once"
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
    let output = Command::new(BIN)
        .args(["rebuild", "--data"])
        .arg(&data)
        .output()
        .unwrap();
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
    eprintln!(
        "crash test: {rounds} rounds, {} acknowledgements for 600 messages",
        acked.len()
    );
    assert!(
        rounds >= 2,
        "the server was killed at least once while busy"
    );
}
