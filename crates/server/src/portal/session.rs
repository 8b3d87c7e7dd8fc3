//! Portal logins: accounts with argon2id password hashes, sessions held by an `HttpOnly` cookie
//! and stored hashed with idle and absolute expiry, CSRF tokens, and the login and logout pages.
//!
//! Failed logins are throttled by the guard per (client address, account) and, more loosely,
//! per client address (`Guard::may_try_login`), before the password is checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use store::{SessionRow, UserRow};

use super::i18n::M;
use super::page::{Field, Form as PageForm, Section};
use super::{Ctx, form_value};
use crate::api::{AppState, blocking};
use crate::app::now_ms;
use crate::auth::Principal;
use crate::problem::Problem;

pub const SESSION_COOKIE: &str = "ow_session";
/// The pre-session token of the login form and the public forms (double-submit: cookie and
/// hidden field must agree).
pub const LOGIN_COOKIE: &str = "ow_form";

/// Who is viewing: the account, whom it acts as, and its session's CSRF token.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub username: String,
    pub principal: Principal,
    pub csrf: String,
    pub token_hash: String,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

fn random_hex(bytes: usize) -> Option<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).ok()?;
    Some(hex::encode(buf))
}

/// A random password of 16 characters from an alphabet without look-alikes (the demo's logins).
pub fn random_password() -> Option<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf).ok()?;
    Some(
        buf.iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect(),
    )
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of two tokens.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 口令哈希闸 — a bound on the password hashes computed at once. Each argon2id hash takes
/// ≈ 19 MiB and tens of milliseconds of a core; unbounded, 200 failed logins at once took the
/// server from 74 MiB to 1.7 GiB and its health check to 3 s (outside probe, finding 6). A hash
/// waits for a place up to `wait`, then the person is asked to retry (`HashingBusy`).
pub struct PasswordHashing {
    places: Arc<tokio::sync::Semaphore>,
    wait: Duration,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// No place came free within the wait: the server is busy checking other passwords.
#[derive(Debug, PartialEq, Eq)]
pub struct HashingBusy;

impl PasswordHashing {
    pub fn new(at_once: usize, wait: Duration) -> PasswordHashing {
        PasswordHashing {
            places: Arc::new(tokio::sync::Semaphore::new(at_once.max(1))),
            wait,
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Run `work` (a hash or a check) on the blocking pool once a place is free. The place is
    /// held by the blocking task itself, so a request given up by its client does not free it
    /// while the hash still runs.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingBusy> {
        let place = tokio::time::timeout(self.wait, self.places.clone().acquire_owned())
            .await
            .map_err(|_| HashingBusy)?
            .map_err(|_| HashingBusy)?;
        let (running, peak) = (self.running.clone(), self.peak.clone());
        tokio::task::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let done = work();
            running.fetch_sub(1, Ordering::SeqCst);
            drop(place);
            done
        })
        .await
        .map_err(|_| HashingBusy)
    }

    /// The most hashes that have run at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// The answer when no hashing place came free: 503, retry in a few seconds.
pub fn hashing_busy() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "Too many passwords are being checked at once; nothing was changed. Retry in a few seconds.",
    )
}

/// Hash a password as an argon2id PHC string (slow on purpose: call through `PasswordHashing`).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::{Argon2, PasswordHasher};
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Check a password against a stored PHC string (slow on purpose: call through
/// `PasswordHashing`).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::{Argon2, PasswordVerifier};
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A real hash of nothing anyone knows, checked when the username is unknown so that a failed
/// login takes as long whether or not the account exists.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password nobody has").unwrap_or_default())
}

/// What the rules for accounts are: a username of 3–64 of `A-Za-z0-9._-`, a password of at
/// least 12 characters, and a subject that is `admin`, `regulator:<department>` or (checked by
/// the caller against the registry) an enterprise code.
pub fn valid_username(name: &str) -> bool {
    (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub fn valid_password(password: &str) -> bool {
    password.chars().count() >= 12 && password.len() <= 1024
}

/// 门户登录审计 — every login, failed or throttled login and logout of the portal goes to the
/// audit log (account name, outcome, client address; never the password). A successful login
/// that cannot be audited is refused (`Err`): nobody gets in unrecorded.
pub async fn record_login_event(
    state: &AppState,
    username: &str,
    outcome: &str,
    source: &str,
) -> Result<(), Problem> {
    // What was typed as a name is kept short: a password typed into the wrong field stays partial.
    let user: String = username.chars().take(64).collect();
    let (action, outcome) = match outcome {
        "logout" => ("logout", "ok".to_owned()),
        "ok" => ("login", "ok".to_owned()),
        other => ("login", format!("refused: {other}")),
    };
    let entry = crate::audit::entry(
        &user,
        action,
        &user,
        &outcome,
        source,
        serde_json::json!({ "via": "portal" }),
    );
    crate::audit::record(state, vec![entry]).await
}

/// Read the session cookie, check the session (idle and absolute expiry, account still
/// enabled) and note the viewer on the context. A session past its time is deleted.
pub(super) async fn load(ctx: &mut Ctx) {
    let Some(token) = ctx.cookies.get(SESSION_COOKIE).cloned() else {
        return;
    };
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        ctx.expired = true;
        return;
    }
    let hash = hash_token(&token);
    let store = ctx.state.store.clone();
    let lookup = hash.clone();
    let found = blocking(move || {
        let Some(session) = store.session(&lookup)? else {
            return Ok(None);
        };
        let user = store.user(&session.username)?;
        Ok(Some((session, user)))
    })
    .await;
    let Ok(Some((session, user))) = found else {
        ctx.expired = true;
        return;
    };
    let config = &ctx.state.portal.config;
    let now = now_ms();
    let idle = now - session.last_seen_ms > millis(config.idle_timeout);
    let old = now - session.created_at_ms > millis(config.absolute_timeout);
    let user = user.filter(|u| u.disabled_at_ms.is_none());
    let (Some(user), false, false) = (user, idle, old) else {
        let store = ctx.state.store.clone();
        let _ = blocking(move || store.delete_session(&hash)).await;
        ctx.expired = true;
        return;
    };
    // Record activity at most once a minute: the idle timeout does not need more.
    if now - session.last_seen_ms > 60_000 {
        let store = ctx.state.store.clone();
        let touch = hash.clone();
        let _ = blocking(move || store.touch_session(&touch, now)).await;
    }
    ctx.viewer = Some(Viewer {
        username: user.username,
        principal: Principal::from_subject(&user.subject),
        csrf: session.csrf_token,
        token_hash: hash,
    });
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Where a principal starts.
pub fn home_of(principal: &Principal) -> &'static str {
    match principal {
        Principal::Enterprise(_) => "/my/declarations",
        Principal::Regulator(_) => "/desk",
        Principal::Admin => "/admin/users",
        // No portal account has this role (admin.rs refuses it); the public pages are all it gets.
        Principal::Auditor => "/",
    }
}

/// Only local paths are followed after login (no open redirect). Browsers drop tabs and line
/// breaks from a URL and read a backslash as a slash, so `/<TAB>/evil.example/` leaves the site
/// just as `//evil.example/` does (and a line break cannot go in a `Location` at all). The
/// portal's own `next` links are printable ASCII (`Ctx::signed_in` percent-encodes them), so
/// anything else is refused: a character outside printable ASCII, a backslash, a start other
/// than one `/` — and the same once more after percent-decoding, for whatever decodes it again.
fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?;
    let local = |path: &[u8]| {
        path.first() == Some(&b'/')
            && !matches!(path.get(1), Some(b'/' | b'\\'))
            && !path.contains(&b'\\')
    };
    let decoded = percent_decoded(next.as_bytes());
    let printable = next.bytes().all(|b| b.is_ascii_graphic());
    // Decoded, a space or UTF-8 text is a harmless query value; a control character is not.
    let no_controls = decoded.iter().all(|&b| b >= 0x20 && b != 0x7f);
    (printable && no_controls && local(next.as_bytes()) && local(&decoded))
        .then(|| next.to_string())
}

/// `%XX` sequences decoded once (anything else kept as it is).
fn percent_decoded(text: &[u8]) -> Vec<u8> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        let pair = text
            .get(i + 1)
            .copied()
            .and_then(hex)
            .zip(text.get(i + 2).copied().and_then(hex));
        match (b, pair) {
            (b'%', Some((hi, lo))) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The pre-session form token of this browser (reused across tabs), set as a cookie; anonymous
/// forms (login, quota, status lookup, filing application) carry it as their CSRF field.
pub fn anonymous_token(ctx: &mut Ctx) -> String {
    let token = ctx
        .cookies
        .get(LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .cloned()
        .or_else(|| random_hex(32))
        .unwrap_or_default();
    if !ctx.cookies.contains_key(LOGIN_COOKIE) {
        ctx.set_cookie(LOGIN_COOKIE, &token, "Strict", Some(12 * 3600));
        ctx.cookies.insert(LOGIN_COOKIE.to_string(), token.clone());
    }
    token
}

/// Whether an anonymous form's token is this browser's.
pub fn anonymous_ok(ctx: &Ctx, submitted: Option<&str>) -> bool {
    let expected = ctx
        .cookies
        .get(LOGIN_COOKIE)
        .map(String::as_str)
        .unwrap_or("");
    same(expected, submitted.unwrap_or(""))
}

fn login_form(ctx: &mut Ctx, next: Option<&str>, username: &str) -> Section {
    let token = anonymous_token(ctx);
    let mut form = PageForm::post("login", "/login", ctx.t(M::Login))
        .field(Field::hidden("csrf", token))
        .field(
            Field::new("text", "username", ctx.t(M::Username))
                .value(username)
                .required()
                .autocomplete("username"),
        )
        .field(
            Field::new("password", "password", ctx.t(M::Password))
                .required()
                .autocomplete("current-password"),
        );
    if let Some(next) = safe_next(next) {
        form = form.field(Field::hidden("next", next));
    }
    Section::new("login-section", "")
        .note("info", ctx.t(M::LoginIntro))
        .form(form)
}

async fn login_page(mut ctx: Ctx) -> Response {
    if let Some(v) = &ctx.viewer {
        return ctx.redirect(home_of(&v.principal));
    }
    let next = ctx.param("next").map(str::to_string);
    let mut section = login_form(&mut ctx, next.as_deref(), "");
    if ctx.param("expired").is_some() || ctx.expired {
        section = section.note("info", ctx.t(M::SessionExpired));
    }
    if ctx.param("out").is_some() {
        section = section.note("ok", ctx.t(M::LoggedOut));
    }
    if ctx.expired {
        // A stale cookie: drop it.
        ctx.set_cookie(SESSION_COOKIE, "", "Lax", Some(0));
    }
    let title = ctx.t(M::LoginTitle);
    ctx.page(title, vec![section])
}

async fn login(mut ctx: Ctx, Form(form): Form<Vec<(String, String)>>) -> Response {
    if !anonymous_ok(&ctx, form_value(&form, "csrf")) {
        return ctx.bad_form();
    }
    let username = form_value(&form, "username")
        .unwrap_or_default()
        .to_string();
    let password = form
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let next = form_value(&form, "next").map(str::to_string);
    if let (Some(guard), Some(ip)) = (&ctx.guard, ctx.ip)
        && guard.may_try_login(ip, &username).is_err()
    {
        if let Err(problem) =
            record_login_event(&ctx.state, &username, "throttled", &ctx.source()).await
        {
            tracing::error!(title = %problem.title, "a throttled login was not audited");
        }
        let section = login_form(&mut ctx, next.as_deref(), &username)
            .note("error", ctx.t(M::LoginThrottled));
        let title = ctx.t(M::LoginTitle);
        return ctx.render(StatusCode::TOO_MANY_REQUESTS, title, &[section]);
    }
    let store = ctx.state.store.clone();
    let name = username.clone();
    let user = match blocking(move || store.user(&name)).await {
        Ok(user) => user,
        Err(problem) => return ctx.failed(problem),
    };
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let checked = ctx
        .state
        .portal
        .hashing
        .run(move || match phc {
            Some(phc) => verify_password(&password, &phc),
            None => verify_password(&password, decoy()),
        })
        .await;
    let Ok(checked) = checked else {
        // Not a failed login: nothing was checked. Ask to come back in a moment.
        let section =
            login_form(&mut ctx, next.as_deref(), &username).note("error", ctx.t(M::LoginBusy));
        let title = ctx.t(M::LoginTitle);
        let mut page = ctx.render(StatusCode::SERVICE_UNAVAILABLE, title, &[section]);
        page.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        return page;
    };
    let user: Option<UserRow> = user.filter(|u| checked && u.disabled_at_ms.is_none());
    let Some(user) = user else {
        if let (Some(guard), Some(ip)) = (&ctx.guard, ctx.ip) {
            guard.failed_login(ip, &username);
        }
        if let Err(problem) =
            record_login_event(&ctx.state, &username, "failed", &ctx.source()).await
        {
            tracing::error!(title = %problem.title, "a failed login was not audited");
        }
        let section =
            login_form(&mut ctx, next.as_deref(), &username).note("error", ctx.t(M::LoginFailed));
        let title = ctx.t(M::LoginTitle);
        return ctx.render(StatusCode::OK, title, &[section]);
    };
    let (Some(token), Some(csrf)) = (random_hex(32), random_hex(32)) else {
        return ctx.failed(crate::problem::Problem::unavailable(&"no randomness"));
    };
    let now = now_ms();
    let row = SessionRow {
        token_hash: hash_token(&token),
        username: user.username.clone(),
        csrf_token: csrf,
        created_at_ms: now,
        last_seen_ms: now,
    };
    // Rotate: the session this browser had (if any) ends; expired sessions are swept.
    let old = ctx
        .viewer
        .as_ref()
        .map(|v| v.token_hash.clone())
        .or_else(|| ctx.cookies.get(SESSION_COOKIE).map(|t| hash_token(t)));
    if let Err(problem) = record_login_event(&ctx.state, &user.username, "ok", &ctx.source()).await
    {
        return ctx.failed(problem);
    }
    let config = ctx.state.portal.config.clone();
    let store = ctx.state.store.clone();
    let saved = blocking(move || {
        if let Some(old) = old {
            store.delete_session(&old)?;
        }
        store.delete_expired_sessions(
            now - millis(config.idle_timeout),
            now - millis(config.absolute_timeout),
        )?;
        store.put_session(&row)
    })
    .await;
    if let Err(problem) = saved {
        return ctx.failed(problem);
    }
    ctx.set_cookie(SESSION_COOKIE, &token, "Lax", None);
    let principal = Principal::from_subject(&user.subject);
    let target = safe_next(next.as_deref()).unwrap_or_else(|| home_of(&principal).to_string());
    ctx.redirect(&target)
}

async fn logout(mut ctx: Ctx, Form(form): Form<Vec<(String, String)>>) -> Response {
    let Some(viewer) = ctx.viewer.clone() else {
        return ctx.redirect("/login");
    };
    if !ctx.csrf_ok(form_value(&form, "csrf")) {
        return ctx.bad_form();
    }
    let store = ctx.state.store.clone();
    let hash = viewer.token_hash.clone();
    if let Err(problem) = blocking(move || store.delete_session(&hash)).await {
        return ctx.failed(problem);
    }
    if let Err(problem) =
        record_login_event(&ctx.state, &viewer.username, "logout", &ctx.source()).await
    {
        tracing::error!(title = %problem.title, "a logout was not audited");
    }
    ctx.viewer = None;
    ctx.set_cookie(SESSION_COOKIE, "", "Lax", Some(0));
    ctx.redirect("/login?out=1")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("wrong horse battery", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_compare_and_redirects_stay_local() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("", ""));
        assert_eq!(safe_next(Some("/my/upload")), Some("/my/upload".into()));
        assert_eq!(safe_next(Some("//evil.example/")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert!(valid_username("ann.lee-2"));
        assert!(!valid_username("a b"));
        assert!(!valid_password("short"));
    }

    /// The outside probe's finding 6: `next=/%09/host/path` passed and became a redirect to
    /// another host after login; `next=/%0A/…` gave a 303 without `Location`.
    #[test]
    fn next_refuses_control_characters_backslashes_and_other_hosts_in_every_form() {
        for hostile in [
            "/\t/evil.example/path",
            "/\n/evil.example/path",
            "/\r/evil.example/path",
            "/\r\n/evil.example/",
            "/\0/evil.example/",
            "/\x7f/evil.example/",
            "\t//evil.example/",
            "/\\evil.example/",
            "/\\/evil.example/",
            "\\\\evil.example/",
            "/path\\..\\..",
            "//evil.example",
            "///evil.example",
            "/ /evil.example",
            "/\u{3000}/evil.example",
            "/\u{2028}/evil.example",
            // Percent-encoded, for whatever decodes it once more.
            "/%09/evil.example/path",
            "/%0A/evil.example/path",
            "/%0d%0a/evil.example/",
            "/%2F/evil.example/",
            "/%2f%2fevil.example/",
            "/%5C/evil.example/",
            "/%5cevil.example/",
            "/desk?q=%00",
            "evil.example/path",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), None, "{hostile:?}");
        }
        for local in [
            "/my/upload",
            "/desk/declarations/abc?lang=en&page=2",
            "/desk?q=%E4%B8%AD%20x",
            "/",
        ] {
            assert_eq!(safe_next(Some(local)), Some(local.to_string()), "{local:?}");
        }
    }

    /// The outside probe's finding 6: 200 failed logins at once ran 200 argon2 hashes at once
    /// (1.7 GiB). However many checks are asked for together, no more than the bound run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn password_hashing_never_runs_more_than_its_bound_at_once() {
        let hashing = Arc::new(PasswordHashing::new(2, Duration::from_secs(600)));
        let phc = hash_password("correct horse battery").unwrap();
        // Counted inside the work itself, independently of the gate's own count.
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let checks: Vec<_> = (0..8)
            .map(|i| {
                let (hashing, phc) = (hashing.clone(), phc.clone());
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(async move {
                    hashing
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            let ok = verify_password(&format!("guess {i}"), &phc);
                            running.fetch_sub(1, Ordering::SeqCst);
                            ok
                        })
                        .await
                })
            })
            .collect();
        for check in checks {
            assert_eq!(
                check.await.unwrap(),
                Ok(false),
                "every check ran, and failed"
            );
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} hashes ran at once");
        assert!(hashing.peak() <= 2, "{}", hashing.peak());
    }

    /// Past the wait, a check is refused (retry), and it is not run later behind the client's back.
    #[tokio::test]
    async fn a_check_that_finds_no_place_within_the_wait_is_refused() {
        let hashing = Arc::new(PasswordHashing::new(1, Duration::from_millis(50)));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let holder = {
            let hashing = hashing.clone();
            tokio::spawn(async move { hashing.run(move || hold.recv().is_ok()).await })
        };
        // The holder has the only place until released.
        while hashing.peak() == 0 {
            tokio::task::yield_now().await;
        }
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = ran.clone();
        let refused = hashing
            .run(move || counted.fetch_add(1, Ordering::SeqCst))
            .await;
        assert_eq!(refused, Err(HashingBusy));
        release.send(()).unwrap();
        assert_eq!(holder.await.unwrap(), Ok(true));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn percent_decoding_decodes_once_and_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decoded(b"/%2541%41%g1%4"), b"/%41A%g1%4".to_vec());
    }
}
