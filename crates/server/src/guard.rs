//! Guards at the door: rate limits per credential and per client address, and the security
//! headers every answer carries. The limits on connections themselves (first bytes, header and
//! idle timeouts, caps in all and per address) are kept by the accept loop, `connections.rs`.
//!
//! Rate limits are token buckets kept in memory (they protect this process; a cluster behind a
//! balancer limits at the balancer too). Three buckets decide whether a request is served:
//! - the client address: every request takes a token;
//! - the credential (the key id of an `ow_<key id>_<secret>` bearer token): a request is refused
//!   while the bucket is empty, and only requests that authenticated take a token — so a forged
//!   token that names somebody's key id cannot drain their bucket;
//! - failed authentications of the address: every 401 takes a token, and while the bucket is
//!   empty every further 401 is answered 429 instead (guessing tokens gets slow).
//!
//! A locked-out address is not refused a credential that is good: enterprises behind one NAT
//! share an address, and one of them guessing (or misconfigured) must not shut out the others.
//! Checking a token is one SHA-256 and an indexed look-up, cheap enough to do for every request
//! the address rate allows; and a 256-bit token is not guessed at any rate, so answering a good
//! one reveals nothing a guesser could use. The portal's password logins, where a check costs an
//! argon2 hash and a password can be guessed, are throttled before the check instead: per
//! (address, account) at the failed-authentication rate, and per address over all accounts at a
//! looser rate (`may_try_login`), so a colleague's typos lock out only that account from that
//! address.
//!
//! A refused request gets 429 with `Retry-After` and a problem document.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// A sustained rate and the burst allowed above it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    pub const fn new(per_second: f64, burst: f64) -> Rate {
        Rate { per_second, burst }
    }

    /// No limit (for benchmarks and trusted internal callers).
    pub const UNLIMITED: Rate = Rate::new(f64::INFINITY, f64::INFINITY);

    /// `RATE` or `RATE/BURST`, e.g. `500` or `500/1000` (requests per second). `off`: no limit.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(Rate::UNLIMITED);
        }
        let (rate, burst) = match text.split_once('/') {
            Some((r, b)) => (r, Some(b)),
            None => (text, None),
        };
        let number = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| format!("{text:?}: expected RATE or RATE/BURST, positive numbers"))
        };
        let per_second = number(rate)?;
        let burst = match burst {
            Some(b) => number(b)?,
            None => (per_second * 2.0).max(1.0),
        };
        Ok(Rate { per_second, burst })
    }
}

/// Everything the guard is configured with (`onewindow serve` flags; docs/security.md).
#[derive(Clone, Debug, PartialEq)]
pub struct GuardConfig {
    /// Per API credential (key id).
    pub credential: Rate,
    /// Per client address, every request.
    pub address: Rate,
    /// Failed authentications (401) per client address, and failed portal logins per (client
    /// address, account).
    pub failed_auth: Rate,
    /// Failed portal logins per client address, all accounts together (looser: a NAT).
    pub failed_logins: Rate,
    /// Take the client address from the last `X-Forwarded-For` hop (only behind a proxy you run).
    pub trust_forwarded_for: bool,
    /// Time a client has to send its first bytes after connecting, and then a request's headers
    /// (also how long an HTTP/1.1 connection may wait between requests).
    pub header_timeout: Duration,
    /// A connection with no request in flight this long is closed (an HTTP/2 connection that
    /// opens no stream, whatever PINGs it answers).
    pub idle_timeout: Duration,
    /// Most open connections; more are closed at once.
    pub max_connections: usize,
    /// Most open connections from one client address (an IPv6 /64); 0: no cap of its own.
    pub max_connections_per_address: usize,
    /// Send `Strict-Transport-Security` (only when TLS terminates in front of the server).
    pub hsts: bool,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            credential: Rate::new(1000.0, 2000.0),
            address: Rate::new(2000.0, 4000.0),
            failed_auth: Rate::new(1.0, 20.0),
            failed_logins: Rate::new(1.0, 100.0),
            trust_forwarded_for: false,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_connections_per_address: 256,
            hsts: false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key, bounded in number: when full, buckets that have refilled completely
/// (idle keys) are dropped first, then the least recently used half.
pub struct Buckets {
    rate: Rate,
    max_keys: usize,
    map: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    pub fn new(rate: Rate, max_keys: usize) -> Buckets {
        Buckets {
            rate,
            max_keys: max_keys.max(16),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        Bucket {
            tokens: (bucket.tokens + elapsed * self.rate.per_second).min(self.rate.burst),
            at: now,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long until `key` has a whole token again (`None`: it has one now).
    pub fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        if self.rate.per_second.is_infinite() {
            return None;
        }
        let map = self.lock();
        let bucket = self.refilled(*map.get(key)?, now);
        (bucket.tokens < 1.0)
            .then(|| Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate.per_second))
    }

    /// Take a token (the bucket may go below zero: a client that keeps pushing waits longer).
    pub fn take(&self, key: &str, now: Instant) {
        if self.rate.per_second.is_infinite() {
            return;
        }
        let mut map = self.lock();
        if map.len() >= self.max_keys && !map.contains_key(key) {
            self.evict(&mut map, now);
        }
        let bucket = map.get(key).copied().map_or(
            Bucket {
                tokens: self.rate.burst,
                at: now,
            },
            |b| self.refilled(b, now),
        );
        map.insert(
            key.to_string(),
            Bucket {
                tokens: (bucket.tokens - 1.0).max(-self.rate.burst),
                at: now,
            },
        );
    }

    /// Take a token if one is there; otherwise say how long to wait.
    pub fn try_take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.wait(key, now) {
            Some(wait) => Err(wait),
            None => {
                self.take(key, now);
                Ok(())
            }
        }
    }

    fn evict(&self, map: &mut HashMap<String, Bucket>, now: Instant) {
        map.retain(|_, b| self.refilled(*b, now).tokens < self.rate.burst);
        if map.len() >= self.max_keys {
            let mut ages: Vec<Instant> = map.values().map(|b| b.at).collect();
            ages.sort_unstable();
            if let Some(cut) = ages.get(ages.len() / 2).copied() {
                map.retain(|_, b| b.at > cut);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The guard's shared state, one per server.
pub struct Guard {
    pub config: GuardConfig,
    credentials: Buckets,
    addresses: Buckets,
    failures: Buckets,
    /// Failed portal logins by (address, account), and by address.
    login_failures: Buckets,
    login_address_failures: Buckets,
}

impl Guard {
    pub fn new(config: GuardConfig) -> Guard {
        Guard {
            credentials: Buckets::new(config.credential, 100_000),
            addresses: Buckets::new(config.address, 100_000),
            failures: Buckets::new(config.failed_auth, 100_000),
            login_failures: Buckets::new(config.failed_auth, 100_000),
            login_address_failures: Buckets::new(config.failed_logins, 100_000),
            config,
        }
    }

    /// Failed logins from `ip` so far allow another attempt at `account` (for the portal's login
    /// form, which answers a failed login with a page, not a 401): neither this account from
    /// this address nor this address over all accounts has used up its allowance.
    pub fn may_try_login(&self, ip: IpAddr, account: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let waits = [
            self.login_failures.wait(&login_key(ip, account), now),
            self.login_address_failures.wait(&ip.to_string(), now),
        ];
        match waits.into_iter().flatten().max() {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Count a failed login at `account` from `ip`.
    pub fn failed_login(&self, ip: IpAddr, account: &str) {
        let now = Instant::now();
        self.login_failures.take(&login_key(ip, account), now);
        self.login_address_failures.take(&ip.to_string(), now);
    }

    /// The client's address: the peer, or the last `X-Forwarded-For` hop when configured.
    pub fn client_ip(&self, request: &Request) -> Option<IpAddr> {
        if self.config.trust_forwarded_for {
            let forwarded = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    }
}

/// The bucket of an account's failed logins from one address (the name as typed, cut short).
fn login_key(ip: IpAddr, account: &str) -> String {
    let account: String = account.chars().take(64).collect();
    format!("{ip} {account}")
}

/// The key id of a bearer token (`ow_<key id>_<secret>`), without checking the secret.
fn key_id(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = crate::auth::bearer(value)?;
    let rest = token.strip_prefix("ow_")?;
    let (key, _) = rest.split_once('_')?;
    (!key.is_empty() && key.len() <= 32 && key.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| key.to_string())
}

fn too_many(wait: Duration, what: &str) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "too many requests",
    )
    .detail(format!("{what}; retry after {seconds} s"))
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The rate-limit middleware (see the module documentation for the three buckets).
pub async fn limit(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let now = Instant::now();
    let client = guard.client_ip(&request);
    // The portal throttles logins and public look-ups by the same address, through the guard.
    request
        .extensions_mut()
        .insert(crate::portal::ClientAddress(client));
    request.extensions_mut().insert(guard.clone());
    let ip = client.map(|ip| ip.to_string());
    if let Some(ip) = &ip
        && let Err(wait) = guard.addresses.try_take(ip, now)
    {
        return too_many(wait, "too many requests from this address");
    }
    // Locked out for failures: the request is still served if its credential is good (see the
    // module documentation); only a failure is refused.
    let locked_out = ip.as_ref().and_then(|ip| guard.failures.wait(ip, now));
    let key = key_id(&request);
    if let Some(key) = &key
        && let Some(wait) = guard.credentials.wait(key, now)
    {
        return too_many(wait, "too many requests with this credential");
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        if let Some(ip) = &ip {
            guard.failures.take(ip, Instant::now());
        }
        if let Some(wait) = locked_out {
            return too_many(wait, "too many failed authentications from this address");
        }
    } else if let Some(key) = &key {
        guard.credentials.take(key, Instant::now());
    }
    response
}

/// An error answered by the framework rather than by a handler (a body over the limit, a method
/// the route lacks, a timeout, a body that is not the declared type) comes as plain text: make it
/// a problem document like every other error.
async fn as_problem(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (kind, title) = match status {
        StatusCode::BAD_REQUEST => ("bad-request", "The request could not be read"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method-not-allowed", "This route does not take that method")
        }
        StatusCode::REQUEST_TIMEOUT => ("timeout", "The request took too long and was abandoned"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "The request body is larger than allowed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "The body is not of a type this route takes",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("unprocessable", "The body could not be understood"),
        _ => ("error", "The request failed"),
    };
    let mut problem = Problem::new(status, kind, title);
    if !text.is_empty() {
        problem = problem.detail(text);
    }
    let mut answer = problem.into_response();
    // Keep what the framework said about the method (`Allow`) and the like.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

/// Security headers on every answer, unless the handler set its own (the portal sets a page
/// policy; static assets set their caching); plain-text framework errors become problems.
pub async fn headers(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let mut response = as_problem(next.run(request).await).await;
    let headers = response.headers_mut();
    let defaults: [(HeaderName, &'static str); 6] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if guard.config.hsts && !headers.contains_key(header::STRICT_TRANSPORT_SECURITY) {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Put the guard in front of a router (with its timeout and tracing layers already applied): rate
/// limits inside, security headers outside, so refusals and timeouts carry them too.
pub fn wrap(router: Router, guard: Arc<Guard>) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(guard.clone(), limit))
        .layer(axum::middleware::from_fn_with_state(guard, headers))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(Rate::parse("500").unwrap(), Rate::new(500.0, 1000.0));
        assert_eq!(Rate::parse("5/20").unwrap(), Rate::new(5.0, 20.0));
        assert_eq!(Rate::parse("off").unwrap(), Rate::UNLIMITED);
        assert!(Rate::parse("0").is_err());
        assert!(Rate::parse("-1/2").is_err());
        assert!(Rate::parse("fast").is_err());
        assert!(Rate::parse("NaN").is_err());
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let buckets = Buckets::new(Rate::new(2.0, 3.0), 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(buckets.try_take("k", t0).is_ok());
        }
        let wait = buckets.try_take("k", t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500));
        // Half a second later one token is back, not two.
        let t1 = t0 + Duration::from_millis(500);
        assert!(buckets.try_take("k", t1).is_ok());
        assert!(buckets.try_take("k", t1).is_err());
        // Other keys are unaffected.
        assert!(buckets.try_take("other", t1).is_ok());
    }

    #[test]
    fn the_number_of_buckets_stays_bounded() {
        let buckets = Buckets::new(Rate::new(1.0, 5.0), 16);
        let t0 = Instant::now();
        for i in 0..1000 {
            buckets.take(&format!("key-{i}"), t0 + Duration::from_millis(i));
        }
        assert!(buckets.len() <= 16, "{}", buckets.len());
    }

    #[test]
    fn unlimited_never_refuses() {
        let buckets = Buckets::new(Rate::UNLIMITED, 16);
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert!(buckets.try_take("k", t0).is_ok());
        }
        assert!(buckets.is_empty());
    }
}
