//! Test support: start a server on a temporary store, file the demo registry, issue credentials,
//! and a tiny HTTP client over std (no extra dependencies).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::Value;
use server::app::{Running, ServeConfig};
use server::pipeline::PipelineConfig;

pub struct TestServer {
    pub running: Running,
    pub admin: String,
    pub tokens: HashMap<String, String>,
    /// Kept so the temporary data directory lives as long as the server.
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
}

pub use server::app::now_ms;

/// The PostgreSQL URL for service tests, or `None` (with a loud message) when it is unreachable
/// and services are not required. With `ONEWINDOW_REQUIRE_SERVICES=1` an unreachable server fails.
pub fn postgres_url(test: &str) -> Option<String> {
    let base = std::env::var("ONEWINDOW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let reachable = TcpStream::connect_timeout(
        &"127.0.0.1:5432".parse().unwrap(),
        std::time::Duration::from_secs(2),
    )
    .is_ok();
    if !reachable {
        if std::env::var("ONEWINDOW_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!(
                "{test}: PostgreSQL is required (ONEWINDOW_REQUIRE_SERVICES=1) but unreachable at {base}"
            );
        }
        eprintln!("SKIPPED {test}: PostgreSQL unreachable at {base}");
        return None;
    }
    let schema = format!("it_{}_{}", std::process::id(), now_ms() % 1_000_000_000);
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!(
        "{base}{sep}schema={schema}_{}",
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ))
}

pub async fn start_on(store: Option<String>) -> TestServer {
    start_guarded(store, server::guard::GuardConfig::default()).await
}

/// A server with the given limits at the door (rate limits, timeouts, connection cap).
pub async fn start_guarded(store: Option<String>, guard: server::guard::GuardConfig) -> TestServer {
    start_configured(store, guard, server::portal::PortalConfig::default()).await
}

/// A server with the given limits at the door and portal configuration.
pub async fn start_configured(
    store: Option<String>,
    guard: server::guard::GuardConfig,
    portal: server::portal::PortalConfig,
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = store.unwrap_or_else(|| format!("sqlite:{}", dir.path().join("ow.db").display()));
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        store,
        data_dir: dir.path().to_path_buf(),
        pipeline: PipelineConfig::default(),
        limits: ceb::Limits::default(),
        data_key_file: None,
        guard,
        portal,
    };
    let running = server::app::start(config).await.unwrap();
    let admin = running
        .admin_token
        .clone()
        .expect("fresh store creates an admin token");
    let mut server = TestServer {
        running,
        admin,
        tokens: HashMap::new(),
        dir,
    };
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/enterprises",
            Some(&server.admin.clone()),
            "text/csv",
            traffic::registry_csv().as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The generated traffic is signed with the demo enterprises' test keys.
    for (code, certificate) in traffic::demo_certificates() {
        let (status, body) = server
            .call(
                "POST",
                &format!("/api/v1/enterprises/{code}/certificates"),
                Some(&server.admin.clone()),
                "application/x-pem-file",
                certificate.to_pem().as_bytes(),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    for enterprise in traffic::demo_registry() {
        let (status, body) = server
            .call(
                "POST",
                &format!("/api/v1/enterprises/{}/credentials", enterprise.code),
                Some(&server.admin.clone()),
                "application/json",
                b"",
            )
            .await;
        assert_eq!(status, 201, "{body}");
        server.tokens.insert(
            enterprise.code.to_string(),
            body["token"].as_str().unwrap().to_string(),
        );
    }
    server
}

pub async fn start() -> TestServer {
    start_on(None).await
}

impl TestServer {
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    pub fn token(&self, code: &str) -> String {
        self.tokens[code].clone()
    }

    /// One HTTP/1.1 request over a fresh connection; returns (status, JSON body or Null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let (status, text) = self
            .raw(method, path, token, content_type, body, "application/json")
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &[u8],
        accept: &str,
    ) -> (u16, String) {
        let addr = self.addr();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\nAccept: {accept}\r\nContent-Length: {}\r\n",
            body.len()
        )
        .into_bytes();
        if let Some(token) = token {
            request.extend_from_slice(format!("Authorization: Bearer {token}\r\n").as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(body);
        tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(&request).unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).unwrap();
            let text = String::from_utf8_lossy(&response).to_string();
            let status: u16 = text[9..12].parse().unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            let body = if head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked")
            {
                dechunk(body)
            } else {
                body.to_string()
            };
            (status, body)
        })
        .await
        .unwrap()
    }

    /// The buyer's used annual quota as `asking` (an enterprise code) reads it from the API.
    pub async fn quota_used(&self, asking: &str, buyer: &traffic::Buyer) -> String {
        let body = serde_json::json!({"name": buyer.name, "idNumber": buyer.id_number}).to_string();
        let (status, quota) = self
            .call(
                "POST",
                "/api/v1/quota",
                Some(&self.token(asking)),
                "application/json",
                body.as_bytes(),
            )
            .await;
        assert_eq!(status, 200, "{quota}");
        quota["used"].as_str().unwrap().to_string()
    }

    /// Issue a credential for `regulator:<department>`, as the administrator does.
    pub async fn regulator_token(&self, department: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                &format!("/api/v1/enterprises/regulator:{department}/credentials"),
                Some(&self.admin),
                "application/json",
                b"",
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Send one generated message as its sender; returns the answer.
    pub async fn send(&self, message: &traffic::GeneratedMessage) -> (u16, Value) {
        let token = self.tokens.get(&message.sender).cloned();
        self.call(
            "POST",
            "/api/v1/messages",
            token.as_deref(),
            "application/xml",
            message.xml.as_bytes(),
        )
        .await
    }

    /// Send a whole set; returns every receipt answered, in order.
    pub async fn send_set(&self, set: &traffic::DeclarationSet) -> Vec<Value> {
        let mut receipts = Vec::new();
        for message in &set.messages {
            let (status, body) = self.send(message).await;
            if status == 200 {
                receipts.extend(body["receipts"].as_array().unwrap().iter().cloned());
            }
        }
        receipts
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Does any receipt of this list have this type and status?
pub fn has(receipts: &[Value], message_type: &str, status: &str) -> bool {
    receipts
        .iter()
        .any(|r| r["messageType"] == message_type && r["returnStatus"] == status)
}

/// The signature gate of a pipeline driven directly (no HTTP): signatures required, the demo
/// enterprises' test certificates on file.
pub fn demo_gate() -> server::signatures::Gate {
    let filed = traffic::demo_certificates()
        .into_iter()
        .map(|(code, c)| (code.to_string(), c.clone()));
    server::signatures::Gate::new(
        domain::settings::SignaturePolicy::Required,
        std::sync::Arc::new(server::signatures::Certificates::of(filed)),
    )
}
