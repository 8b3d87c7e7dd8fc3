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

/// Room for the harness's own set-up calls (the administrator files the registry and issues a
/// credential per enterprise) before a test's own calls.
fn setup_room() -> f64 {
    traffic::demo_registry().len() as f64 + 10.0
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

#[tokio::test]
async fn an_address_that_keeps_failing_authentication_is_slowed_down() {
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
    for i in 0..5 {
        let guess = format!("ow_{i:012}_{}", "f".repeat(64));
        let response = exchange(&server, get("/api/v1/receipts", Some(&guess))).await;
        assert_eq!(status_of(&response), 401, "{response}");
    }
    // The address is now refused everything for a while, even with a good token.
    let refused = exchange(&server, get("/api/v1/receipts", Some(&good))).await;
    assert_eq!(status_of(&refused), 429, "{refused}");
    assert!(refused.contains("failed authentications"), "{refused}");
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
