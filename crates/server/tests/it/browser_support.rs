//! A small cookie-keeping HTTP client for the portal's plain HTTP tests (no browser): it logs in
//! as a person would (reading the form's hidden token from the page) and keeps the cookies.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::support::TestServer;

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }
}

/// The value of `<input type="hidden" name="NAME" value="…">` in a page (the first one).
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page.find(&needle)? + needle.len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_string())
}

pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// A browser-like session: a cookie jar and the server's address.
#[derive(Clone)]
pub struct Browser {
    pub addr: SocketAddr,
    pub cookies: HashMap<String, String>,
    pub extra: Vec<(String, String)>,
}

fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..line_end]).unwrap_or("0");
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let tail = &rest[line_end + 2..];
        if n == 0 || tail.len() < n {
            break;
        }
        out.extend_from_slice(&tail[..n]);
        rest = tail[n..].strip_prefix(b"\r\n").unwrap_or(&tail[n..]);
    }
    out
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        Browser {
            addr: server.addr(),
            cookies: HashMap::new(),
            extra: Vec::new(),
        }
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let addr = self.addr;
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: text/html\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !content_type.is_empty() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        if !cookie.is_empty() {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        for (k, v) in &self.extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(&body);
        let raw = tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(&request).unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).unwrap();
            response
        })
        .await
        .unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.lines();
        let status: u16 = lines.next().unwrap()[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        if headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        }) {
            body = dechunk(&body);
        }
        let answer = Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        };
        for c in answer.set_cookies() {
            let pair = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        answer
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.request("GET", path, "", Vec::new()).await
    }

    pub async fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        self.request(
            "POST",
            path,
            "application/x-www-form-urlencoded",
            form(pairs),
        )
        .await
    }

    /// Log in through the form; returns the answer to the POST.
    pub async fn login(&mut self, username: &str, password: &str) -> Answer {
        let page = self.get("/login").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let token = hidden(&page.body, "csrf").expect("the login form carries a token");
        self.post(
            "/login",
            &[
                ("csrf", &token),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// The CSRF token of the signed-in session, read from a page's logout form.
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/").await;
        hidden(&page.body, "csrf").expect("a signed-in page carries the session token")
    }

    /// Upload files as multipart/form-data (the upload form).
    pub async fn upload(&mut self, csrf: &str, files: &[(&str, &[u8])]) -> Answer {
        let boundary = "----onewindowtestboundary7MA4YWxk";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
            )
            .as_bytes(),
        );
        for (name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/xml\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.request(
            "POST",
            "/my/upload",
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        )
        .await
    }
}

/// Create a portal account through the administrator's API.
pub async fn add_user(server: &TestServer, username: &str, subject: &str, password: &str) {
    let body = serde_json::json!({"username": username, "subject": subject, "password": password});
    let (status, answer) = server
        .call(
            "POST",
            "/api/v1/users",
            Some(&server.admin.clone()),
            "application/json",
            body.to_string().as_bytes(),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
}
