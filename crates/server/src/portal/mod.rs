//! The web portal: server-rendered pages for the public, enterprises, regulators and the
//! administrator (docs/portal.md).
//!
//! Pages work without JavaScript; `static/portal.js` only refreshes the live dashboard in place.
//! Charts are SVG drawn here (`chart.rs`). Every page and download checks the viewer's role on
//! the server; an enterprise sees only its own data, and another's declaration answers 404 as in
//! the API. Pages are in Chinese by default and in English by `?lang=en` (remembered in a
//! cookie); every word comes from `i18n.rs`.
//!
//! Sessions (`session.rs`): a random token in an `HttpOnly; SameSite=Lax` cookie (`Secure` when
//! configured), stored hashed with an idle and an absolute expiry, rotated at login, deleted at
//! logout and when the account is disabled. Every POST form carries a per-session CSRF token; the
//! login form carries a pre-session one.

// Page handlers answer refusals (login, forbidden, not found) with a whole page: the `Err` of
// their results is a `Response`, large by nature and built once per request.
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod applications;
pub mod chart;
pub mod desk;
pub mod enterprise;
pub mod i18n;
pub mod page;
pub mod public;
pub mod session;
pub mod stats;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::api::AppState;
use crate::auth::Principal;
use crate::guard::{Buckets, Guard, Rate};
use crate::problem::Problem;
use i18n::{Lang, M};
use page::{Chrome, Link, PageTemplate, Section};

pub use session::Viewer;

/// How the portal is configured (`onewindow serve --secure-cookies --session-idle … `).
#[derive(Clone, Debug, PartialEq)]
pub struct PortalConfig {
    /// Mark cookies `Secure` (the portal is reached over HTTPS, e.g. TLS at a proxy in front).
    pub secure_cookies: bool,
    /// A session unused this long is over.
    pub idle_timeout: Duration,
    /// A session is over this long after login, used or not.
    pub absolute_timeout: Duration,
    /// Public look-ups (quota self-query, status lookup) per client address.
    pub lookup_rate: Rate,
    /// Password hashes (logins, new accounts) computed at once; more wait their turn.
    pub password_hashes: usize,
    /// How long a password hash waits for its turn before the person is asked to retry.
    pub password_wait: Duration,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            secure_cookies: false,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            lookup_rate: Rate::new(0.2, 10.0),
            password_hashes: 2,
            password_wait: Duration::from_secs(10),
        }
    }
}

/// The portal's own state, shared by its handlers.
pub struct Portal {
    pub config: PortalConfig,
    lookups: Buckets,
    /// The bound on argon2 hashes at once (`session::PasswordHashing`).
    pub hashing: session::PasswordHashing,
}

impl Portal {
    pub fn new(config: PortalConfig) -> Portal {
        Portal {
            lookups: Buckets::new(config.lookup_rate, 100_000),
            hashing: session::PasswordHashing::new(config.password_hashes, config.password_wait),
            config,
        }
    }

    /// Take a public look-up token for `ip`; `false` when the address has used its allowance.
    pub fn may_look_up(&self, ip: Option<IpAddr>) -> bool {
        let key = ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        self.lookups.try_take(&key, Instant::now()).is_ok()
    }
}

impl Default for Portal {
    fn default() -> Self {
        Portal::new(PortalConfig::default())
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/portal.css", get(css))
        .route("/static/portal.js", get(js))
        .merge(session::routes())
        .merge(public::routes())
        .merge(enterprise::routes())
        .merge(desk::routes())
        .merge(admin::routes())
        .merge(applications::routes())
}

const CSS: &str = include_str!("../../static/portal.css");
const JS: &str = include_str!("../../static/portal.js");

fn versioned(path: &str, body: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    format!("{path}?v={}", digest.get(..12).unwrap_or("0"))
}

fn css_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| versioned("/static/portal.css", CSS))
}

fn js_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| versioned("/static/portal.js", JS))
}

/// Assets are named by their content hash in the pages, so they may be cached for a year.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

/// The page policy: our own style and script files only, no inline script or style, forms post
/// only to us, never framed.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// The address of the client, as the guard decided it (peer, or the forwarded-for hop).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub Option<IpAddr>);

/// Everything a page handler needs to know about the request: the language, who is viewing,
/// where we are (for the language switch and links back), and the client address.
pub struct Ctx {
    pub state: AppState,
    pub lang: Lang,
    /// `?lang=` was given: remember it in a cookie.
    set_lang: bool,
    pub path: String,
    /// The query without `lang`, for the language switch.
    query: Vec<(String, String)>,
    pub viewer: Option<Viewer>,
    /// The browser presented a session that has expired (or was ended).
    pub expired: bool,
    pub ip: Option<IpAddr>,
    pub guard: Option<Arc<Guard>>,
    pub cookies: HashMap<String, String>,
    /// `Set-Cookie` values to send with the answer.
    pub set_cookies: Vec<String>,
}

pub fn parse_cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                out.entry(k.trim().to_string())
                    .or_insert_with(|| v.trim().to_string());
            }
        }
    }
    out
}

/// Decode `a=b&c=d` (percent-encoding and `+`), as forms and queries are written.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, Response> {
        let cookies = parse_cookies(&parts.headers);
        let pairs = parse_query(parts.uri.query().unwrap_or(""));
        let asked = pairs
            .iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(v));
        let lang = asked
            .or_else(|| cookies.get("ow_lang").and_then(|v| Lang::parse(v)))
            .unwrap_or(Lang::Zh);
        let query = pairs.into_iter().filter(|(k, _)| k != "lang").collect();
        let ip = parts
            .extensions
            .get::<ClientAddress>()
            .and_then(|c| c.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip())
            });
        let guard = parts.extensions.get::<Arc<Guard>>().cloned();
        let mut ctx = Ctx {
            state: state.clone(),
            lang,
            set_lang: asked.is_some(),
            path: parts.uri.path().to_string(),
            query,
            viewer: None,
            expired: false,
            ip,
            guard,
            cookies,
            set_cookies: Vec::new(),
        };
        session::load(&mut ctx).await;
        Ok(ctx)
    }
}

impl Ctx {
    pub fn t(&self, m: M) -> &'static str {
        self.lang.t(m)
    }

    /// The client's address for audit entries (`-` when not known).
    pub fn source(&self) -> String {
        self.ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string())
    }

    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(zh, en)
    }

    /// A query parameter (decoded), if given and not empty.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn cookie_attributes(&self) -> &'static str {
        if self.state.portal.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    }

    /// Set a cookie with `Path=/`, `HttpOnly`, the given SameSite and lifetime.
    pub fn set_cookie(&mut self, name: &str, value: &str, same_site: &str, max_age: Option<i64>) {
        let age = max_age.map_or(String::new(), |s| format!("; Max-Age={s}"));
        let secure = self.cookie_attributes();
        self.set_cookies.push(format!(
            "{name}={value}; Path=/; HttpOnly; SameSite={same_site}{age}{secure}"
        ));
    }

    fn nav(&self) -> Vec<Link> {
        let mut items: Vec<(&str, M)> = vec![("/", M::NavHome)];
        match self.viewer.as_ref().map(|v| &v.principal) {
            None => items.extend([
                ("/index", M::NavIndex),
                ("/statistics", M::NavStatistics),
                ("/quota", M::NavQuota),
                ("/status", M::NavStatus),
                ("/apply", M::NavApply),
            ]),
            Some(Principal::Enterprise(_)) => items.extend([
                ("/my/upload", M::NavUpload),
                ("/my/declarations", M::NavDeclarations),
                ("/my/tax-bills", M::NavTaxBills),
                ("/my/export", M::NavExport),
                ("/my/credit", M::MyCredit),
                ("/index", M::NavIndex),
            ]),
            Some(Principal::Auditor) => {}
            Some(Principal::Regulator(_)) | Some(Principal::Admin) => {
                items.extend([
                    ("/desk", M::NavDashboard),
                    ("/desk/statistics", M::NavStatistics),
                    ("/desk/index", M::NavIndexAdmin),
                    ("/desk/enterprises", M::NavEnterprises),
                    ("/desk/applications", M::NavApplications),
                    ("/desk/declarations", M::NavDeclarations),
                    ("/desk/alerts", M::NavAlerts),
                    ("/desk/inspections", M::NavInspections),
                    ("/desk/credit", M::NavCredit),
                    ("/desk/listings", M::NavListings),
                    ("/desk/recalls", M::NavRecalls),
                ]);
                if matches!(
                    self.viewer.as_ref().map(|v| &v.principal),
                    Some(Principal::Admin)
                ) {
                    items.push(("/admin/users", M::NavUsers));
                }
            }
        }
        items
            .into_iter()
            .map(|(href, m)| Link {
                href: href.to_string(),
                text: self.t(m).to_string(),
                current: self.path == href,
            })
            .collect()
    }

    /// The link to this page in the other language.
    fn switch(&self) -> Link {
        let other = self.lang.other();
        let mut query: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| k != "csrf")
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        query.push(format!("lang={}", other.code()));
        Link::new(
            format!("{}?{}", self.path, query.join("&")),
            self.t(M::SwitchLanguage),
        )
    }

    fn chrome(&self, title: &str) -> Chrome {
        let user = self.viewer.as_ref().map(|v| {
            let role = match &v.principal {
                Principal::Enterprise(code) => code.clone(),
                Principal::Admin => self.pick("管理员", "administrator").to_string(),
                Principal::Regulator(d) => i18n::department_name(*d, self.lang).to_string(),
                Principal::Auditor => self.pick("审计员", "auditor").to_string(),
            };
            format!("{} ({role})", v.username)
        });
        Chrome {
            lang: self.lang.html(),
            title: title.to_string(),
            site: self.t(M::Site),
            skip: self.t(M::SkipToContent),
            nav_label: self.t(M::MainNav),
            nav: self.nav(),
            switch: self.switch(),
            switch_label: self.t(M::SwitchLanguageLabel),
            switch_lang: self.lang.other().code(),
            login: if self.viewer.is_none() && self.path != "/login" {
                Some(Link::new("/login", self.t(M::Login)))
            } else {
                None
            },
            user,
            user_label: self.t(M::LoggedInAs),
            logout: self.t(M::Logout),
            csrf: self
                .viewer
                .as_ref()
                .map(|v| v.csrf.clone())
                .unwrap_or_default(),
            footer: self.t(M::Footer),
            css: css_url(),
            js: js_url(),
        }
    }

    /// Render a page with the given status.
    pub fn render(&self, status: StatusCode, title: &str, sections: &[Section]) -> Response {
        let chrome = self.chrome(title);
        let html = match (PageTemplate {
            chrome: &chrome,
            sections,
        })
        .render()
        {
            Ok(html) => html,
            Err(error) => {
                tracing::error!(%error, "page did not render");
                return Problem::unavailable(&error).into_response();
            }
        };
        let mut response = (status, axum::response::Html(html)).into_response();
        self.finish(&mut response);
        response
    }

    pub fn page(&self, title: &str, sections: Vec<Section>) -> Response {
        self.render(StatusCode::OK, title, &sections)
    }

    /// Headers every portal answer carries: the page policy, the cookies to set.
    pub fn finish(&self, response: &mut Response) {
        let headers = response.headers_mut();
        if !headers.contains_key(header::CONTENT_TYPE) {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
        }
        if headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
        {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_POLICY),
            );
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
        let mut cookies = self.set_cookies.clone();
        if self.set_lang {
            cookies.push(format!(
                "ow_lang={}; Path=/; SameSite=Lax; Max-Age=31536000{}",
                self.lang.code(),
                self.cookie_attributes()
            ));
        }
        for c in cookies {
            if let Ok(v) = HeaderValue::from_str(&c) {
                headers.append(header::SET_COOKIE, v);
            }
        }
    }

    /// 303 to `location` (after a POST, or to the login page).
    pub fn redirect(&self, location: &str) -> Response {
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(location) {
            response.headers_mut().insert(header::LOCATION, v);
        }
        self.finish(&mut response);
        response
    }

    fn message(&self, status: StatusCode, title: M, text: M) -> Response {
        let section = Section::new("message", "")
            .note(
                if status.is_server_error() {
                    "error"
                } else {
                    "info"
                },
                self.t(text),
            )
            .link("/", self.t(M::BackHome));
        self.render(status, self.t(title), &[section])
    }

    /// An action refused for a reason the person can act on: the reason after "操作未执行",
    /// with a link back to where they were.
    pub fn refused(
        &self,
        status: StatusCode,
        why: &str,
        back: String,
        back_label: &str,
    ) -> Response {
        let section = page::Section::new("refused", "")
            .note("error", format!("{}{why}", self.t(M::ActionRefused)))
            .link(back, back_label);
        self.render(status, self.t(M::ActionRefused), &[section])
    }

    pub fn forbidden(&self) -> Response {
        self.message(StatusCode::FORBIDDEN, M::Forbidden, M::ForbiddenText)
    }

    pub fn not_found(&self) -> Response {
        self.message(StatusCode::NOT_FOUND, M::NotFound, M::NotFoundText)
    }

    pub fn bad_form(&self) -> Response {
        self.message(StatusCode::BAD_REQUEST, M::BadForm, M::BadFormText)
    }

    pub fn too_many(&self) -> Response {
        self.message(StatusCode::TOO_MANY_REQUESTS, M::TooMany, M::TooManyText)
    }

    /// A store or pipeline failure, as a page.
    pub fn failed(&self, problem: Problem) -> Response {
        if problem.status == StatusCode::NOT_FOUND {
            return self.not_found();
        }
        tracing::warn!(kind = problem.kind, "portal page failed");
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            M::Unavailable,
            M::UnavailableText,
        )
    }

    /// The signed-in viewer, or the way to the login page.
    fn signed_in(&self) -> Result<&Viewer, Response> {
        match &self.viewer {
            Some(v) => Ok(v),
            None => {
                let mut next = self.path.clone();
                let query: Vec<String> = self
                    .query
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect();
                if !query.is_empty() {
                    next = format!("{next}?{}", query.join("&"));
                }
                let expired = if self.expired { "&expired=1" } else { "" };
                Err(self.redirect(&format!("/login?next={}{expired}", encode(&next))))
            }
        }
    }

    /// An enterprise's viewer: its code.
    pub fn enterprise(&self) -> Result<String, Response> {
        match &self.signed_in()?.principal {
            Principal::Enterprise(code) => Ok(code.clone()),
            _ => Err(self.forbidden()),
        }
    }

    /// Regulators of any department and the administrator.
    pub fn staff(&self) -> Result<Principal, Response> {
        match &self.signed_in()?.principal {
            p @ (Principal::Regulator(_) | Principal::Admin) => Ok(p.clone()),
            Principal::Enterprise(_) | Principal::Auditor => Err(self.forbidden()),
        }
    }

    pub fn admin(&self) -> Result<(), Response> {
        match &self.signed_in()?.principal {
            Principal::Admin => Ok(()),
            _ => Err(self.forbidden()),
        }
    }

    /// Whether a submitted form's CSRF token is this session's.
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        match (&self.viewer, submitted) {
            (Some(v), Some(s)) => session::same(&v.csrf, s),
            _ => false,
        }
    }

    /// The CSRF hidden field for a form of this session.
    pub fn csrf_field(&self) -> page::Field {
        page::Field::hidden(
            "csrf",
            self.viewer
                .as_ref()
                .map(|v| v.csrf.clone())
                .unwrap_or_default(),
        )
    }
}

/// Unknown routes: a page for browsers, a problem document for API clients.
pub async fn fallback(ctx: Ctx, headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && !ctx.path.starts_with("/api/") {
        ctx.not_found()
    } else {
        Problem::not_found("route").into_response()
    }
}

/// A form body as pairs (urlencoded).
pub fn form_value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_and_encode() {
        assert_eq!(
            parse_query("a=1&b=x+y&c=%E4%B8%AD&d"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "中".into()),
                ("d".into(), "".into())
            ]
        );
        assert_eq!(parse_query("x=%"), vec![("x".into(), "%".into())]);
        assert_eq!(parse_query("x=%4"), vec![("x".into(), "%4".into())]);
        assert_eq!(
            encode("/my/declarations?status=800"),
            "%2Fmy%2Fdeclarations%3Fstatus%3D800"
        );
        assert_eq!(decode(&encode("中文 & =")), "中文 & =");
    }
}
