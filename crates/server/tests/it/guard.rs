//! The door: security headers, rate limits per credential and per address, failed-authentication
//! throttling, request size limits, slow clients and the connection cap — against the real server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use server::guard::{GuardConfig, Rate};

use crate::support::{self, TestServer};

/// Send raw bytes on a fresh connection and read the whole answer (head and body).
async fn exchange(server: &TestServer, request: Vec<u8>) -> String {
    let addr = server.addr();
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.write_all(&request).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).to_string()
    })
    .await
    .unwrap()
}

fn get(path: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n").into_bytes()
}

fn status_of(response: &str) -> u16 {
    response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Room for the harness's own set-up calls (the administrator files the registry, a test
/// certificate and a credential per enterprise) before a test's own calls.
fn setup_room() -> f64 {
    2.0 * traffic::demo_registry().len() as f64 + 10.0
}

fn strict(credential: Rate) -> GuardConfig {
    GuardConfig {
        credential,
        ..GuardConfig::default()
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let server = support::start().await;
    let agent = server.tokens.keys().next().unwrap().clone();
    let token = server.token(&agent);
    for (path, token, status) in [
        ("/healthz", None, 200),
        ("/api/v1/receipts", Some(token.as_str()), 200),
        ("/api/v1/receipts", None, 401),
        ("/no/such/route", None, 404),
    ] {
        let response = exchange(&server, get(path, token)).await;
        assert_eq!(status_of(&response), status, "{path}: {response}");
        assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"));
        assert_eq!(header(&response, "x-frame-options"), Some("DENY"));
        assert_eq!(header(&response, "referrer-policy"), Some("no-referrer"));
        assert_eq!(header(&response, "cache-control"), Some("no-store"));
        assert!(
            header(&response, "content-security-policy")
                .is_some_and(|v| v.contains("frame-ancestors 'none'")),
            "{path}: {response}"
        );
        // Not behind TLS by default: no HSTS promise.
        assert_eq!(header(&response, "strict-transport-security"), None);
    }
}

#[tokio::test]
async fn a_credential_over_its_rate_is_refused_with_retry_after_and_others_are_not() {
    let burst = setup_room();
    let server = support::start_guarded(None, strict(Rate::new(0.01, burst))).await;
    let mut codes = server.tokens.keys().cloned().collect::<Vec<_>>();
    codes.sort();
    let (busy, other) = (server.token(&codes[0]), server.token(&codes[1]));
    for _ in 0..burst as usize {
        let response = exchange(&server, get("/api/v1/receipts", Some(&busy))).await;
        assert_eq!(status_of(&response), 200, "{response}");
    }
    let refused = exchange(&server, get("/api/v1/receipts", Some(&busy))).await;
    assert_eq!(status_of(&refused), 429, "{refused}");
    assert!(
        header(&refused, "retry-after").is_some_and(|v| v.parse::<u64>().unwrap() >= 1),
        "{refused}"
    );
    assert!(refused.contains("\"type\"") && refused.contains("rate-limited"));
    assert_eq!(header(&refused, "x-content-type-options"), Some("nosniff"));
    let fine = exchange(&server, get("/api/v1/receipts", Some(&other))).await;
    assert_eq!(
        status_of(&fine),
        200,
        "another credential is not slowed down"
    );
}

#[tokio::test]
async fn a_forged_token_naming_a_key_id_does_not_use_up_that_credential() {
    let server = support::start_guarded(
        None,
        GuardConfig {
            credential: Rate::new(0.01, setup_room()),
            failed_auth: Rate::new(0.5, 1000.0),
            ..GuardConfig::default()
        },
    )
    .await;
    let code = server.tokens.keys().next().unwrap().clone();
    let victim = server.token(&code);
    // Same key id, wrong secret.
    let key = victim.split('_').nth(1).unwrap();
    let forged = format!("ow_{key}_{}", "0".repeat(64));
    for _ in 0..setup_room() as usize + 5 {
        let response = exchange(&server, get("/api/v1/receipts", Some(&forged))).await;
        assert_eq!(status_of(&response), 401, "{response}");
    }
    for _ in 0..setup_room() as usize {
        let response = exchange(&server, get("/api/v1/receipts", Some(&victim))).await;
        assert_eq!(status_of(&response), 200, "{response}");
    }
}

/// Guessing stays slow; and (the outside probe's finding 6) a locked-out address is not refused a
/// good credential, so enterprises behind one NAT do not lock each other out.
#[tokio::test]
async fn an_address_that_keeps_failing_authentication_is_slowed_down_but_good_credentials_work() {
    let server = support::start_guarded(
        None,
        GuardConfig {
            failed_auth: Rate::new(0.1, 5.0),
            ..GuardConfig::default()
        },
    )
    .await;
    let code = server.tokens.keys().next().unwrap().clone();
    let good = server.token(&code);
    let guess = |i: usize| format!("ow_{i:012}_{}", "f".repeat(64));
    for i in 0..5 {
        let response = exchange(&server, get("/api/v1/receipts", Some(&guess(i)))).await;
        assert_eq!(status_of(&response), 401, "{response}");
    }
    // The address is now locked out: a further guess waits, and says so.
    let refused = exchange(&server, get("/api/v1/receipts", Some(&guess(5)))).await;
    assert_eq!(status_of(&refused), 429, "{refused}");
    assert!(refused.contains("failed authentications"), "{refused}");
    assert!(header(&refused, "retry-after").is_some(), "{refused}");
    let missing = exchange(&server, get("/api/v1/receipts", None)).await;
    assert_eq!(status_of(&missing), 429, "{missing}");
    // A good credential from the same address is served.
    for _ in 0..3 {
        let served = exchange(&server, get("/api/v1/receipts", Some(&good))).await;
        assert_eq!(status_of(&served), 200, "{served}");
    }
    // And guessing is still refused afterwards.
    let refused = exchange(&server, get("/api/v1/receipts", Some(&guess(6)))).await;
    assert_eq!(status_of(&refused), 429, "{refused}");
}

#[tokio::test]
async fn an_oversized_message_is_refused_with_a_problem_and_nothing_is_journaled() {
    let server = support::start().await;
    let code = server.tokens.keys().next().unwrap().clone();
    let token = server.token(&code);
    let before = server.running.store.positions().unwrap();
    let body = vec![b'<'; server::api::MAX_BODY + 1];
    let (status, problem) = server
        .call(
            "POST",
            "/api/v1/messages",
            Some(&token),
            "application/xml",
            &body,
        )
        .await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["type"], "https://onewindow.dev/problems/too-large");
    assert_eq!(problem["status"], 413);
    assert_eq!(server.running.store.positions().unwrap(), before);
}

#[tokio::test]
async fn a_method_the_route_lacks_is_a_problem_document() {
    let server = support::start().await;
    let response = exchange(
        &server,
        b"DELETE /api/v1/receipts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    )
    .await;
    assert_eq!(status_of(&response), 405, "{response}");
    assert_eq!(
        header(&response, "content-type"),
        Some("application/problem+json")
    );
    assert!(response.contains("method-not-allowed"), "{response}");
    assert!(
        header(&response, "allow").is_some_and(|v| v.contains("GET")),
        "{response}"
    );
}

#[tokio::test]
async fn a_client_that_sends_its_headers_too_slowly_is_disconnected() {
    let server = support::start_guarded(
        None,
        GuardConfig {
            header_timeout: Duration::from_secs(1),
            ..GuardConfig::default()
        },
    )
    .await;
    let addr = server.addr();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        // Half a request line, then nothing more.
        stream.write_all(b"GET /healthz HT").unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).map(|_| buf)
    })
    .await
    .unwrap();
    // The server closed the connection (EOF, possibly after a 408) instead of waiting forever;
    // a read timeout (the 60 s bound) would be an error here.
    let answer = outcome.expect("the server closes a connection whose headers never come");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || status_of(&text) == 408,
        "no answer but a timeout: {text}"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let server = support::start_guarded(
        None,
        GuardConfig {
            max_connections: 2,
            header_timeout: Duration::from_secs(60),
            ..GuardConfig::default()
        },
    )
    .await;
    let addr = server.addr();
    let (held, third) = tokio::task::spawn_blocking(move || {
        // Two idle connections take both places.
        let held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut third = TcpStream::connect(addr).unwrap();
        third
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let _ = third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut buf = Vec::new();
        let read = third.read_to_end(&mut buf).map(|_| buf);
        (held, read)
    })
    .await
    .unwrap();
    match third {
        Ok(bytes) => assert!(bytes.is_empty(), "served beyond the cap"),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "closed, not left waiting: {e}"
        ),
    }
    drop(held);
    // Places free up again once the idle connections are gone.
    let mut answered = false;
    for _ in 0..50 {
        let response = exchange(&server, get("/healthz", None)).await;
        if status_of(&response) == 200 {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        answered,
        "the server serves again after the held connections close"
    );
}

/// Read until the server closes the connection; `Err` if it is still open after `wait`.
fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> std::io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(wait))?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(seen),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                return Ok(seen);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Finding 4 of the outside probe: a connection that sent nothing was never closed (hyper's
/// header timer starts at the first byte), nor one that stopped inside the HTTP/2 preface.
#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = support::start_guarded(
        None,
        GuardConfig {
            header_timeout: Duration::from_secs(1),
            ..GuardConfig::default()
        },
    )
    .await;
    let addr = server.addr();
    let outcomes = tokio::task::spawn_blocking(move || {
        let mut silent: Vec<TcpStream> =
            (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let mut half_preface = TcpStream::connect(addr).unwrap();
        half_preface.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
        silent.push(half_preface);
        silent
            .iter_mut()
            .map(|s| read_until_closed(s, Duration::from_secs(30)))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let seen = outcome.unwrap_or_else(|e| panic!("connection {i} was left open: {e}"));
        assert!(seen.is_empty(), "connection {i} got an answer to nothing");
    }
    // The door still serves.
    let response = exchange(&server, get("/healthz", None)).await;
    assert_eq!(status_of(&response), 200, "{response}");
}

/// One HTTP/2 frame: (type, flags, stream, payload).
type Frame = (u8, u8, u32, Vec<u8>);

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn read_frame(stream: &mut TcpStream) -> std::io::Result<Option<Frame>> {
    let mut head = [0u8; 9];
    match stream.read_exact(&mut head) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload)?;
    let id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    Ok(Some((head[3], head[4], id, payload)))
}

/// Finding 4: an h2c (prior knowledge) connection that answers the server's keep-alive PINGs
/// and never opens a stream stayed open for ever.
#[tokio::test]
async fn an_http2_connection_that_answers_pings_but_opens_no_stream_is_closed() {
    const SETTINGS: u8 = 0x4;
    const PING: u8 = 0x6;
    const GOAWAY: u8 = 0x7;
    const ACK: u8 = 0x1;
    let server = support::start_guarded(
        None,
        GuardConfig {
            // PINGs every second, and a connection with nothing in flight for 2 s is idle.
            header_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(2),
            ..GuardConfig::default()
        },
    )
    .await;
    let addr = server.addr();
    let (kinds, outcome) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .unwrap();
        stream.write_all(&frame(SETTINGS, 0, 0, &[])).unwrap();
        let mut kinds = Vec::new();
        // Answered PINGs keep every read short: bound the whole wait, not each read.
        let give_up = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if std::time::Instant::now() > give_up {
                let still = std::io::Error::new(std::io::ErrorKind::TimedOut, "open after 60 s");
                return (kinds, Err(still));
            }
            match read_frame(&mut stream) {
                Ok(None) => return (kinds, Ok(())),
                Ok(Some((kind, flags, _, payload))) => {
                    kinds.push(kind);
                    // A well-behaved client: acknowledge settings, answer every PING.
                    let reply = match (kind, flags & ACK) {
                        (SETTINGS, 0) => Some(frame(SETTINGS, ACK, 0, &[])),
                        (PING, 0) => Some(frame(PING, ACK, 0, &payload)),
                        _ => None,
                    };
                    if let Some(reply) = reply
                        && stream.write_all(&reply).is_err()
                    {
                        return (kinds, Ok(()));
                    }
                }
                Err(e) => return (kinds, Err(e)),
            }
        }
    })
    .await
    .unwrap();
    outcome.unwrap_or_else(|e| {
        panic!("the idle HTTP/2 connection was left open: {e}; frames {kinds:?}")
    });
    assert!(kinds.contains(&SETTINGS), "it spoke HTTP/2: {kinds:?}");
    assert!(kinds.contains(&GOAWAY), "closed with a GOAWAY: {kinds:?}");
}

/// Finding 4: with no cap per address, one address held every place (4,200 idle connections)
/// and everyone else was turned away.
#[tokio::test]
async fn one_address_holds_at_most_its_cap_of_connections_and_gets_places_back() {
    let server = support::start_guarded(
        None,
        GuardConfig {
            max_connections_per_address: 3,
            header_timeout: Duration::from_secs(60),
            ..GuardConfig::default()
        },
    )
    .await;
    let addr = server.addr();
    let (mut held, fourth) = tokio::task::spawn_blocking(move || {
        // Loopback is one address: three idle connections use up its places.
        let held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut fourth = TcpStream::connect(addr).unwrap();
        let _ = fourth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        (
            held,
            read_until_closed(&mut fourth, Duration::from_secs(30)),
        )
    })
    .await
    .unwrap();
    let answer = fourth.expect("the fourth connection is closed, not left waiting");
    assert!(
        answer.is_empty(),
        "served beyond the per-address cap: {}",
        String::from_utf8_lossy(&answer)
    );
    // One place comes back when one of the held connections closes.
    drop(held.pop());
    let mut answered = false;
    for _ in 0..50 {
        let response = exchange(&server, get("/healthz", None)).await;
        if status_of(&response) == 200 {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "a new connection is served once a place is free");
    drop(held);
}

/// An answered request does not keep its connection busy: once its answer is sent, a kept-alive
/// connection is idle, and closed at the idle timeout (here well before the header timeout).
#[tokio::test]
async fn a_kept_alive_connection_is_closed_once_idle_after_its_answer() {
    let server = support::start_guarded(
        None,
        GuardConfig {
            header_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(1),
            ..GuardConfig::default()
        },
    )
    .await;
    let addr = server.addr();
    let seen = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        read_until_closed(&mut stream, Duration::from_secs(60))
    })
    .await
    .unwrap()
    .expect("the idle kept-alive connection is closed, long before the header timeout");
    let text = String::from_utf8_lossy(&seen);
    assert_eq!(status_of(&text), 200, "answered first: {text}");
}
