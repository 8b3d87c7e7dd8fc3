//! The portal over plain HTTP (no browser): logins and sessions, CSRF refusals, roles on every
//! page and download, the language switch, and the public look-ups.

use traffic::{Case, Generator, Mix};

use crate::browser_support::{Browser, add_user, hidden};
use crate::support::{self, TestServer, now_ms};

const PASSWORD: &str = "correct horse battery staple";

fn generator() -> Generator {
    Generator::new(23, Mix::default())
}

/// A clean declaration set: the order, payment and waybill declared by their senders through
/// the API; the inventory (the declaring agent's) returned for the portal upload.
async fn three_by_api(
    server: &TestServer,
    set: &traffic::DeclarationSet,
) -> traffic::GeneratedMessage {
    let mut inventory = None;
    for m in &set.messages {
        if m.message_type == "CEB621Message" {
            inventory = Some(m.clone());
        } else {
            let (status, body) = server.send(m).await;
            assert_eq!(status, 200, "{body}");
        }
    }
    inventory.unwrap()
}

#[tokio::test]
async fn an_enterprise_uploads_a_declaration_and_follows_it_to_release() {
    let server = support::start().await;
    let set = generator().set_of(Case::Clean, now_ms());
    let inventory = three_by_api(&server, &set).await;
    let agent = inventory.sender.clone();
    add_user(&server, "agent", &agent, PASSWORD).await;
    let mut b = Browser::new(&server);
    let login = b.login("agent", PASSWORD).await;
    assert_eq!(login.status, 303);
    assert_eq!(login.location(), "/my/declarations");
    let session = login
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("ow_session="))
        .expect("a session cookie")
        .to_string();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "not Secure unless configured: {session}"
    );

    let csrf = b.csrf().await;
    let page = b
        .upload(
            &csrf,
            &[
                ("inventory.xml", inventory.xml.as_bytes()),
                ("broken.xml", b"<CEB621Message><unclosed>"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("inventory.xml") && page.body.contains("已接收"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("broken.xml") && page.body.contains("CEB900"),
        "{}",
        page.body
    );
    // The accepted file links to its declaration; there it is released with its receipts.
    let id = page
        .body
        .split("href=\"/my/declarations/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to the declaration")
        .to_string();
    let detail = b.get(&format!("/my/declarations/{id}?lang=en")).await;
    assert_eq!(detail.status, 200);
    assert!(detail.body.contains("800 released"), "{}", detail.body);
    assert!(detail.body.contains("CEB622Message"));
    assert!(
        detail.body.contains("CEB816Message"),
        "the tax bill receipt"
    );
    let list = b.get("/my/declarations?status=800").await;
    assert!(list.body.contains(&format!("/my/declarations/{id}")));
    let none = b.get("/my/declarations?status=100").await;
    assert!(!none.body.contains(&format!("/my/declarations/{id}")));

    // Its own data as CSV; the tax bill is there.
    let csv = b.get("/my/export/declarations.csv").await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.body.contains(&id));
    let bills = b.get("/my/tax-bills?lang=en").await;
    assert!(
        bills.body.contains(&inventory_no(&detail.body)),
        "{}",
        bills.body
    );
}

/// The text of the first element `name` (with or without a namespace prefix) in a CEB message.
fn field(xml: &str, name: &str) -> String {
    for open in [format!(":{name}>"), format!("<{name}>")] {
        if let Some(i) = xml.find(&open) {
            let rest = &xml[i + open.len()..];
            return rest[..rest.find('<').unwrap_or(0)].to_string();
        }
    }
    panic!("no {name} in the message")
}

fn inventory_of(set: &traffic::DeclarationSet) -> &str {
    &set.messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
        .unwrap()
        .xml
}

/// The id the server gives the set's declaration (derived from the platform and order numbers).
fn declaration_id(set: &traffic::DeclarationSet) -> String {
    let xml = inventory_of(set);
    domain::clearance::DeclarationId::derive(&field(xml, "ebpCode"), &field(xml, "orderNo")).0
}

fn inventory_no(page: &str) -> String {
    // The facts list shows "Inventory number" then the number.
    let after = page.split("Inventory number</dt><dd>").nth(1).unwrap_or("");
    after.split('<').next().unwrap_or("").to_string()
}

#[tokio::test]
async fn another_enterprise_finds_nothing_and_staff_pages_stay_forbidden() {
    let server = support::start().await;
    let set = generator().set_of(Case::Clean, now_ms());
    server.send_set(&set).await;
    let id = declaration_id(&set);
    // A logistics firm that is not a party of this declaration.
    let outsider = traffic::demo_registry()
        .iter()
        .find(|e| e.has_role("logistics") && !set.messages.iter().any(|m| m.sender == e.code))
        .unwrap()
        .code;
    add_user(&server, "outsider", outsider, PASSWORD).await;
    add_user(&server, "customs", "regulator:customs", PASSWORD).await;
    let mut b = Browser::new(&server);
    assert_eq!(b.login("outsider", PASSWORD).await.status, 303);
    let page = b.get(&format!("/my/declarations/{id}")).await;
    assert_eq!(page.status, 404, "another's declaration is as if missing");
    let csv = b.get("/my/export/declarations.csv").await;
    assert!(!csv.body.contains(&id));
    for path in [
        "/desk",
        "/desk/alerts",
        "/desk/enterprises",
        &format!("/desk/declarations/{id}"),
        "/admin/users",
    ] {
        assert_eq!(b.get(path).await.status, 403, "{path}");
    }
    // A regulator sees the declaration but has no enterprise pages, and no user administration.
    let mut r = Browser::new(&server);
    assert_eq!(r.login("customs", PASSWORD).await.location(), "/desk");
    assert_eq!(r.get(&format!("/desk/declarations/{id}")).await.status, 200);
    assert_eq!(r.get("/desk/enterprises").await.status, 200);
    for path in ["/my/upload", "/my/export/declarations.csv", "/admin/users"] {
        assert_eq!(r.get(path).await.status, 403, "{path}");
    }
    // Nobody signed in: every protected page and download leads to the login page.
    let mut anonymous = Browser::new(&server);
    for path in [
        "/my/declarations",
        "/my/export/receipts.csv",
        "/desk",
        "/admin/users",
    ] {
        let answer = anonymous.get(path).await;
        assert_eq!(answer.status, 303, "{path}");
        assert!(answer.location().starts_with("/login?next="), "{path}");
    }
}

#[tokio::test]
async fn customs_sees_personal_data_in_clear_on_its_desk_only_with_a_reason_and_audited() {
    let server = support::start().await;
    let set = generator().set_of(Case::Clean, now_ms());
    server.send_set(&set).await;
    let id = declaration_id(&set);
    add_user(&server, "customs", "regulator:customs", PASSWORD).await;
    add_user(&server, "tax", "regulator:tax", PASSWORD).await;
    let mut c = Browser::new(&server);
    c.login("customs", PASSWORD).await;
    let page = c.get(&format!("/desk/declarations/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("personal-data-form"),
        "customs is offered the form"
    );
    assert!(
        !page.body.contains(&set.buyer.id_number) && !page.body.contains(&set.buyer.name),
        "the declaration page itself is masked"
    );
    let csrf = c.csrf().await;
    let path = format!("/desk/declarations/{id}/personal-data");
    let no_reason = c.post(&path, &[("csrf", &csrf), ("reason", "x")]).await;
    assert_eq!(no_reason.status, 400, "a reason is required");
    assert!(!no_reason.body.contains(&set.buyer.id_number));
    let shown = c
        .post(
            &path,
            &[("csrf", &csrf), ("reason", "document review of the order")],
        )
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains(&set.buyer.id_number), "{}", shown.body);
    assert!(shown.body.contains(&set.buyer.name));
    assert_eq!(shown.header("cache-control"), Some("no-store"));

    // The tax department sees no form, and its post is refused. The audit log holds customs'
    // view and the tax department's refused attempt; the post with too short a reason is not in it.
    let mut t = Browser::new(&server);
    t.login("tax", PASSWORD).await;
    let page = t.get(&format!("/desk/declarations/{id}")).await;
    assert!(!page.body.contains("personal-data-form"));
    let tax_csrf = t.csrf().await;
    let refused = t
        .post(
            &path,
            &[("csrf", &tax_csrf), ("reason", "just curious about it")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(!refused.body.contains(&set.buyer.id_number));
    let entries = server
        .running
        .store
        .audit(&store::audit::AuditQuery {
            action: Some("personal_data.view"),
            limit: 100,
            ..store::audit::AuditQuery::default()
        })
        .unwrap();
    let outcomes: Vec<(&str, &str)> = entries
        .iter()
        .map(|r| (r.entry.actor.as_str(), r.entry.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("regulator:customs", "ok"),
            ("regulator:tax", "refused: role")
        ],
        "the view without a reason never reached the log; the others did"
    );
}

#[tokio::test]
async fn forms_without_their_token_are_refused() {
    let server = support::start().await;
    add_user(&server, "seller", "3301960BAA", PASSWORD).await;
    let mut b = Browser::new(&server);
    // A login post without the pre-session token (as from another site).
    let forged = b
        .post("/login", &[("username", "seller"), ("password", PASSWORD)])
        .await;
    assert_eq!(forged.status, 400);
    assert!(
        !forged
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("ow_session="))
    );
    assert_eq!(b.login("seller", PASSWORD).await.status, 303);
    // Signed in, but posting without (or with another) token changes nothing.
    assert_eq!(b.post("/logout", &[]).await.status, 400);
    assert_eq!(
        b.post("/logout", &[("csrf", "0".repeat(64).as_str())])
            .await
            .status,
        400
    );
    assert_eq!(b.upload("wrong", &[("a.xml", b"<x/>")]).await.status, 400);
    assert_eq!(b.get("/my/upload").await.status, 200, "still signed in");
    let csrf = b.csrf().await;
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(b.get("/my/upload").await.status, 303, "signed out");
}

#[tokio::test]
async fn sessions_end_at_logout_when_idle_and_when_the_account_is_disabled() {
    let server = support::start().await;
    add_user(&server, "seller", "3301960BAA", PASSWORD).await;
    let mut b = Browser::new(&server);
    b.login("seller", PASSWORD).await;
    let first = b.cookies["ow_session"].clone();
    // Logging in again (the form posted from this browser) rotates the session: the old token
    // no longer works.
    let token = b.cookies["ow_form"].clone();
    let again = b
        .post(
            "/login",
            &[
                ("csrf", &token),
                ("username", "seller"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status, 303);
    let second = b.cookies["ow_session"].clone();
    assert_ne!(first, second);
    let mut stale = b.clone();
    stale.cookies.insert("ow_session".into(), first);
    assert_eq!(stale.get("/my/declarations").await.status, 303);

    // A session idle for longer than the idle timeout is over.
    let store = server.running.store.clone();
    let hash = server::portal::session::hash_token(&second);
    let row = store.session(&hash).unwrap().unwrap();
    store.delete_session(&hash).unwrap();
    store
        .put_session(&store::SessionRow {
            last_seen_ms: now_ms() - 31 * 60 * 1000,
            ..row
        })
        .unwrap();
    let answer = b.get("/my/declarations").await;
    assert_eq!(answer.status, 303);
    assert!(
        answer.location().contains("expired=1"),
        "{}",
        answer.location()
    );
    assert!(
        store.session(&hash).unwrap().is_none(),
        "the expired session is deleted"
    );
    let login_page = b.get(answer.location()).await;
    assert!(
        login_page.body.contains("会话已过期"),
        "the person is told why"
    );

    // Disabling the account ends its sessions at once.
    let mut b = Browser::new(&server);
    b.login("seller", PASSWORD).await;
    assert_eq!(b.get("/my/declarations").await.status, 200);
    let (status, _) = server
        .call(
            "POST",
            "/api/v1/users/seller/disable",
            Some(&server.admin.clone()),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(b.get("/my/declarations").await.status, 303);
    assert_eq!(
        b.login("seller", PASSWORD).await.status,
        200,
        "refused with the form again"
    );
}

/// The outside probe's finding 6: the lock-out after failed logins was keyed by address alone,
/// so people behind one NAT locked each other out. Now a colleague's failures lock out only that
/// account from that address; guessing across accounts meets the looser per-address bound.
#[tokio::test]
async fn failed_logins_lock_out_that_account_from_that_address_and_others_still_log_in() {
    let guard = server::guard::GuardConfig {
        failed_auth: server::guard::Rate::new(0.001, 3.0),
        failed_logins: server::guard::Rate::new(0.001, 5.0),
        ..Default::default()
    };
    let server = support::start_guarded(None, guard).await;
    add_user(&server, "seller", "3301960BAA", PASSWORD).await;
    add_user(&server, "colleague", "3301960BAA", PASSWORD).await;
    let mut b = Browser::new(&server);
    for _ in 0..3 {
        let answer = b.login("seller", "not the password!").await;
        assert_eq!(answer.status, 200);
        assert!(answer.body.contains("用户名或密码不正确"));
    }
    // That account from this address has used its allowance: even the right password waits.
    let throttled = b.login("seller", PASSWORD).await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.body.contains("登录失败次数过多"));
    // Somebody else behind the same address logs in.
    let mut other = Browser::new(&server);
    let answer = other.login("colleague", PASSWORD).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(other.get("/my/declarations").await.status, 200);
    // Guessing across accounts meets the per-address bound (5 here): then every login waits.
    for name in ["nobody-1", "nobody-2"] {
        assert_eq!(b.login(name, "not the password!").await.status, 200);
    }
    assert_eq!(
        Browser::new(&server)
            .login("colleague", PASSWORD)
            .await
            .status,
        429
    );
    // The portal itself still answers that address.
    assert_eq!(b.get("/login").await.status, 200);
}

#[tokio::test]
async fn every_page_switches_language_and_carries_the_page_policy() {
    let server = support::start().await;
    let mut b = Browser::new(&server);
    let zh = b.get("/").await;
    assert_eq!(zh.status, 200);
    assert!(zh.body.contains("<html lang=\"zh-CN\">"));
    assert!(zh.body.contains("个人额度查询"));
    let policy = zh.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"));
    assert!(policy.contains("frame-ancestors 'none'"));
    assert_eq!(zh.header("x-content-type-options"), Some("nosniff"));
    assert!(zh.header("referrer-policy").is_some());
    assert!(
        zh.body.contains("href=\"/?lang=en\""),
        "the switch is on the page"
    );

    let en = b.get("/quota?lang=en").await;
    assert!(en.body.contains("<html lang=\"en\">"));
    assert!(en.body.contains("Annual quota self-query"));
    assert!(en.set_cookies().iter().any(|c| c.starts_with("ow_lang=en")));
    // Remembered: the next page is English without asking.
    let next = b.get("/status").await;
    assert!(
        next.body.contains("Declaration status lookup"),
        "{}",
        next.body
    );
    assert!(next.body.contains("href=\"/status?lang=zh\""));
    // And for API clients the unknown route is still a problem document.
    let (status, body) = server.call("GET", "/no/such/page", None, "", b"").await;
    assert_eq!((status, body["status"].as_u64()), (404, Some(404)));
    assert_eq!(b.get("/no/such/page").await.status, 404);
    // Static assets are cached, by content hash.
    let css = b.get("/static/portal.css").await;
    assert!(
        css.header("cache-control")
            .unwrap()
            .contains("max-age=31536000")
    );
}

#[tokio::test]
async fn the_quota_self_query_shows_amounts_only_and_is_rate_limited() {
    let portal = server::portal::PortalConfig {
        lookup_rate: server::guard::Rate::new(0.001, 4.0),
        ..Default::default()
    };
    let server =
        support::start_configured(None, server::guard::GuardConfig::default(), portal).await;
    let set = generator().set_of(Case::Clean, now_ms());
    server.send_set(&set).await;
    let buyer = set.buyer.clone();
    let mut b = Browser::new(&server);
    let page = b.get("/quota?lang=en").await;
    let token = hidden(&page.body, "csrf").unwrap();
    let answer = b
        .post(
            "/quota",
            &[
                ("csrf", &token),
                ("name", &buyer.name),
                ("idNumber", &buyer.id_number),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("Remaining") && answer.body.contains("¥26,000.00"));
    assert!(!answer.body.contains(&buyer.name), "the name is not echoed");
    assert!(
        !answer.body.contains(&buyer.id_number),
        "the ID number is not echoed"
    );
    let (status, api) = server
        .call(
            "POST",
            "/api/v1/quota",
            Some(&server.admin.clone()),
            "application/json",
            serde_json::json!({"name": buyer.name, "idNumber": buyer.id_number})
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    let used = api["used"].as_str().unwrap().to_string();
    assert_ne!(used, "0.00", "the declaration used some quota");
    let shown = server::portal::i18n::money(used.parse::<rust_decimal::Decimal>().unwrap());
    assert!(
        answer.body.contains(&shown),
        "the page shows what the API says: {shown}"
    );

    let bad = b
        .post(
            "/quota",
            &[("csrf", &token), ("name", "张三"), ("idNumber", "123")],
        )
        .await;
    assert_eq!(bad.status, 422);
    // Without the form token, nothing is looked up.
    assert_eq!(
        b.post("/quota", &[("name", "x"), ("idNumber", "y")])
            .await
            .status,
        400
    );
    // Two look-ups so far; the address's allowance is four.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let answer = b
            .post(
                "/quota",
                &[("csrf", &token), ("name", "张三"), ("idNumber", "123")],
            )
            .await;
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [422, 422, 429]);
}

#[tokio::test]
async fn the_status_lookup_needs_all_three_numbers_and_shows_status_and_dates_only() {
    let server = support::start().await;
    let set = generator().set_of(Case::Clean, now_ms());
    server.send_set(&set).await;
    let xml = inventory_of(&set);
    let (ebp, order, waybill) = (
        field(xml, "ebpCode"),
        field(xml, "orderNo"),
        field(xml, "logisticsNo"),
    );
    let mut b = Browser::new(&server);
    let page = b.get("/status?lang=en").await;
    let token = hidden(&page.body, "csrf").unwrap();
    let found = b
        .post(
            "/status",
            &[
                ("csrf", &token),
                ("ebpCode", &ebp),
                ("orderNo", &order),
                ("logisticsNo", &waybill),
            ],
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.body.contains("released"));
    assert!(!found.body.contains('¥'), "no amounts");
    let ebc = field(xml, "ebcCode");
    assert!(ebc == ebp || !found.body.contains(&ebc), "no other parties");
    assert!(
        !found.body.contains(&field(xml, "logisticsCode")),
        "no other parties"
    );
    let wrong = b
        .post(
            "/status",
            &[
                ("csrf", &token),
                ("ebpCode", &ebp),
                ("orderNo", &order),
                ("logisticsNo", "NOPE"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 404);
}

#[tokio::test]
async fn the_administrator_manages_accounts_by_page_and_api() {
    let server = support::start().await;
    add_user(&server, "root", "admin", PASSWORD).await;
    let mut b = Browser::new(&server);
    assert_eq!(b.login("root", PASSWORD).await.location(), "/admin/users");
    let page = b.get("/admin/users").await;
    let csrf = hidden(&page.body, "csrf").unwrap();
    let created = b
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "zoe"),
                ("enterprise", ""),
                ("role", "regulator:zone_office"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, 303);
    let twice = b
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "zoe"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(twice.status, 409);
    let unfiled = b
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "nobody"),
                ("enterprise", "3301960ZZZ"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(unfiled.status, 422);
    let mut z = Browser::new(&server);
    assert_eq!(z.login("zoe", PASSWORD).await.location(), "/desk");
    // The API lists accounts without their hashes; only the administrator may call it.
    let (status, list) = server
        .call("GET", "/api/v1/users", Some(&server.admin.clone()), "", b"")
        .await;
    assert_eq!(status, 200);
    assert!(list.to_string().contains("zoe") && !list.to_string().contains("argon2"));
    let seller = server.token("3301960BAA");
    let (status, _) = server
        .call("GET", "/api/v1/users", Some(&seller), "", b"")
        .await;
    assert_eq!(status, 403);
    let disable = b.post("/admin/users/zoe/disable", &[("csrf", &csrf)]).await;
    assert_eq!(disable.status, 303);
    assert_eq!(z.get("/desk").await.status, 303, "zoe's session ended");
}

#[tokio::test]
async fn an_enterprise_applies_online_and_the_zone_office_files_it() {
    let server = support::start().await;
    add_user(&server, "zoe", "regulator:zone_office", PASSWORD).await;
    add_user(&server, "carl", "regulator:customs", PASSWORD).await;
    // The applicant has no account: the form is public.
    let mut applicant = Browser::new(&server);
    let page = applicant.get("/apply?lang=en").await;
    let token = hidden(&page.body, "csrf").unwrap();
    let bad = applicant
        .post(
            "/apply",
            &[
                ("csrf", &token),
                ("code", "3301960NEW"),
                ("name", "New Trading"),
                ("roles", "ebc,pirate"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    let sent = applicant
        .post(
            "/apply",
            &[
                ("csrf", &token),
                ("code", "3301960NEW"),
                ("name", "New Trading, Ltd."),
                ("roles", "ebc, agent"),
                ("park", "HZ-XS"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let status_page = sent.location().to_string();
    assert!(
        applicant
            .get(&status_page)
            .await
            .body
            .contains("awaiting review")
    );
    let id = status_page.trim_start_matches("/apply/").to_string();

    // Customs reads the queue but only the zone office decides.
    let mut carl = Browser::new(&server);
    carl.login("carl", PASSWORD).await;
    let queue = carl.get("/desk/applications").await;
    assert!(queue.body.contains(&id));
    let detail = carl.get(&format!("/desk/applications/{id}")).await;
    assert!(!detail.body.contains("decide-form"));
    let csrf = carl.csrf().await;
    let forbidden = carl
        .post(
            &format!("/desk/applications/{id}/decide"),
            &[("csrf", &csrf), ("approve", "true")],
        )
        .await;
    assert_eq!(forbidden.status, 403);

    let mut zoe = Browser::new(&server);
    zoe.login("zoe", PASSWORD).await;
    let detail = zoe.get(&format!("/desk/applications/{id}")).await;
    assert!(detail.body.contains("decide-form"));
    let csrf = zoe.csrf().await;
    let approved = zoe
        .post(
            &format!("/desk/applications/{id}/decide"),
            &[
                ("csrf", &csrf),
                ("approve", "true"),
                ("note", "documents complete"),
            ],
        )
        .await;
    assert_eq!(approved.status, 303);
    // The approval is a filing: the enterprise is in the registry, and the applicant sees it.
    let (_, registry) = server
        .call(
            "GET",
            "/api/v1/enterprises",
            Some(&server.admin.clone()),
            "",
            b"",
        )
        .await;
    assert!(registry.to_string().contains("3301960NEW"), "{registry}");
    assert!(
        applicant
            .get(&status_page)
            .await
            .body
            .contains("approved and filed")
    );
    let twice = zoe
        .post(
            &format!("/desk/applications/{id}/decide"),
            &[("csrf", &csrf), ("approve", "false")],
        )
        .await;
    assert_eq!(twice.status, 409);

    // Journal first: a rebuild reproduces the application record and the filing.
    let store = server.running.store.clone();
    server.running.stop().await;
    let (before, replayed, after) = tokio::task::spawn_blocking(move || {
        let before = store.projection_digest().unwrap();
        let replayed = server::pipeline::rebuild(
            store.as_ref(),
            &server::pipeline::PipelineConfig::default(),
            &domain::clearance::Supervised,
        )
        .unwrap();
        let after = store.projection_digest().unwrap();
        assert!(store.record("application", &id).unwrap().is_some());
        assert!(store.enterprise("3301960NEW").unwrap().is_some());
        (before, replayed, after)
    })
    .await
    .unwrap();
    assert!(replayed > 0);
    assert_eq!(before, after);
}

/// Finding 6 of "Close the holes": an anonymous application for a code already filed was
/// accepted, and its approval replaced the filed enterprise's name and roles. An application
/// only creates a filing: refused at the form, and at the decision if the code was filed since.
#[tokio::test]
async fn an_application_cannot_take_over_a_filed_enterprise() {
    let server = support::start().await;
    add_user(&server, "zoe", "regulator:zone_office", PASSWORD).await;
    let mut applicant = Browser::new(&server);
    let page = applicant.get("/apply?lang=en").await;
    let token = hidden(&page.body, "csrf").unwrap();
    let taken = applicant
        .post(
            "/apply",
            &[
                ("csrf", &token),
                ("code", "3301960BAA"),
                ("name", "Impostor Trading"),
                ("roles", "ebc"),
            ],
        )
        .await;
    assert_eq!(taken.status, 422, "{}", taken.body);
    assert!(taken.body.contains("already filed"), "{}", taken.body);

    // Filed by the zone office while an application for the same code waits: the approval is
    // refused and the filing stays as it is.
    let sent = applicant
        .post(
            "/apply",
            &[
                ("csrf", &token),
                ("code", "3301960NEX"),
                ("name", "Impostor Trading"),
                ("roles", "ebc"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let id = sent.location().trim_start_matches("/apply/").to_string();
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/enterprises",
            Some(&server.admin.clone()),
            "text/csv",
            "code,name,roles\n3301960NEX,真实贸易有限公司(测试),ebc|agent\n".as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut zoe = Browser::new(&server);
    zoe.login("zoe", PASSWORD).await;
    let csrf = zoe.csrf().await;
    let refused = zoe
        .post(
            &format!("/desk/applications/{id}/decide"),
            &[("csrf", &csrf), ("approve", "true")],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let (_, registry) = server
        .call(
            "GET",
            "/api/v1/enterprises",
            Some(&server.admin.clone()),
            "",
            b"",
        )
        .await;
    let text = registry.to_string();
    assert!(
        text.contains("真实贸易有限公司(测试)") && !text.contains("Impostor"),
        "{text}"
    );
    assert!(text.contains("测试美妆海外旗舰店有限公司(测试)"), "{text}");
}

#[tokio::test]
async fn regulators_work_an_alert_and_a_document_review_by_form() {
    let server = support::start().await;
    let (status, _) = server
        .call(
            "PUT",
            "/api/v1/settings",
            Some(&server.admin.clone()),
            "application/json",
            br#"{"policy":{"sampling":false}}"#,
        )
        .await;
    assert_eq!(status, 200);
    // 二次销售: a bulk order is held for document review with an R11 alert.
    let bulk = generator().scheme(traffic::Scheme::BulkResale, now_ms());
    let mut held = None;
    for set in &bulk {
        for r in server.send_set(set).await {
            if r["messageType"] == "CEB622Message" && r["returnStatus"] == "300" {
                held = r["declarationId"].as_str().map(str::to_string);
            }
        }
    }
    let held = held.expect("a declaration held for document review");
    add_user(&server, "carl", "regulator:customs", PASSWORD).await;
    add_user(&server, "tina", "regulator:tax", PASSWORD).await;
    let mut carl = Browser::new(&server);
    carl.login("carl", PASSWORD).await;
    let queue = carl.get("/desk/alerts?status=open").await;
    assert_eq!(queue.status, 200);
    for set in &bulk {
        assert!(
            !queue.body.contains(&set.buyer.name) && !queue.body.contains(&set.buyer.id_number)
        );
    }
    let alert = queue
        .body
        .split("href=\"/desk/alerts/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an alert in the queue")
        .to_string();
    // The alert links to its declaration; the declaration page links back.
    let page = carl.get(&format!("/desk/alerts/{alert}")).await;
    assert!(page.body.contains("id=\"assess\""), "customs may assess");
    let csrf = carl.csrf().await;
    let assessed = carl
        .post(
            &format!("/desk/alerts/{alert}/assess"),
            &[("csrf", &csrf), ("level", "high"), ("note", "bulk order")],
        )
        .await;
    assert_eq!(assessed.status, 303);
    let page = carl.get(&format!("/desk/alerts/{alert}")).await;
    assert!(page.body.contains("assessed") && page.body.contains("id=\"dispose\""));
    // Assessing twice is refused by the engine, and the page says why.
    let again = carl
        .post(
            &format!("/desk/alerts/{alert}/assess"),
            &[("csrf", &csrf), ("level", "low")],
        )
        .await;
    assert_eq!(again.status, 409);

    // The tax department reads the queue but gets no forms, and a forged post is refused.
    let mut tina = Browser::new(&server);
    tina.login("tina", PASSWORD).await;
    let detail = tina.get(&format!("/desk/declarations/{held}")).await;
    assert_eq!(detail.status, 200);
    assert!(!detail.body.contains("conclude-form"));
    let tax_csrf = tina.csrf().await;
    let refused = tina
        .post(
            &format!("/desk/declarations/{held}/conclude"),
            &[("csrf", &tax_csrf), ("release", "true")],
        )
        .await;
    assert_eq!(refused.status, 403, "the engine refuses the tax department");
    assert!(
        refused.body.contains("customs"),
        "with its reason: {}",
        refused.body
    );

    // The index is the zone office's: customs may not publish it.
    let month = domain::statistics::Month::of(domain::time::Timestamp(now_ms()))
        .prev()
        .to_string();
    let publish = carl
        .post("/desk/index/publish", &[("csrf", &csrf), ("month", &month)])
        .await;
    assert_eq!(publish.status, 403);

    // Customs concludes the document review: released.
    let detail = carl.get(&format!("/desk/declarations/{held}")).await;
    assert!(detail.body.contains("conclude-form"));
    let done = carl
        .post(
            &format!("/desk/declarations/{held}/conclude"),
            &[
                ("csrf", &csrf),
                ("release", "true"),
                ("reason", "documents in order"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    let detail = carl
        .get(&format!("/desk/declarations/{held}?lang=en"))
        .await;
    assert!(detail.body.contains("800 released"), "{}", detail.body);
}

#[tokio::test]
async fn a_listed_enterprise_sees_its_credit_and_appeals_by_form() {
    let server = support::start().await;
    let (status, issued) = server
        .call(
            "POST",
            "/api/v1/enterprises/regulator:customs/credentials",
            Some(&server.admin.clone()),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 201);
    let customs = issued["token"].as_str().unwrap().to_string();
    let listed = "3301960BAC";
    let body = serde_json::json!({
        "subject": {"type": "enterprise", "code": listed},
        "category": "commercial_fraud",
        "severity": "listed",
        "evidence": "case 2026-17",
    });
    let (status, answer) = server
        .call(
            "POST",
            "/api/v1/listings",
            Some(&customs),
            "application/json",
            body.to_string().as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let listing = answer["result"]["id"].as_str().unwrap().to_string();
    add_user(&server, "bac", listed, PASSWORD).await;
    add_user(&server, "baa", "3301960BAA", PASSWORD).await;

    let mut b = Browser::new(&server);
    b.login("bac", PASSWORD).await;
    let page = b.get("/my/credit?lang=en").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("DISHONEST"), "{}", page.body);
    assert!(page.body.contains(&listing) && page.body.contains(&format!("appeal-{listing}")));
    let csrf = b.csrf().await;
    let appealed = b
        .post(
            &format!("/my/listings/{listing}/appeal"),
            &[("csrf", &csrf), ("text", "we were not the seller")],
        )
        .await;
    assert_eq!(appealed.status, 303);
    let (_, record) = server
        .call(
            "GET",
            &format!("/api/v1/listings/{listing}"),
            Some(&customs),
            "",
            b"",
        )
        .await;
    assert_eq!(record["status"], "appealed", "{record}");
    // A second appeal is refused by the engine, with its reason on the page.
    let again = b
        .post(
            &format!("/my/listings/{listing}/appeal"),
            &[("csrf", &csrf), ("text", "again")],
        )
        .await;
    assert_eq!(again.status, 409);

    // Another enterprise cannot act on it, nor see it: as if it did not exist.
    let mut other = Browser::new(&server);
    other.login("baa", PASSWORD).await;
    assert!(!other.get("/my/credit").await.body.contains(&listing));
    let csrf = other.csrf().await;
    let forged = other
        .post(
            &format!("/my/listings/{listing}/repair"),
            &[("csrf", &csrf), ("text", "x")],
        )
        .await;
    assert_eq!(forged.status, 404);
}

/// The settings form as the zone office would send it: every field, from these settings.
fn settings_form(settings: &domain::statistics::index::IndexSettings) -> Vec<(String, String)> {
    use domain::statistics::index::{Indicator, SubIndex};
    let month = |m: Option<domain::statistics::Month>| m.map(|m| m.to_string()).unwrap_or_default();
    let mut form = vec![
        ("base_from".to_string(), month(settings.base_from)),
        ("base_to".to_string(), month(settings.base_to)),
        (
            "disclosure_threshold".to_string(),
            settings.disclosure_threshold.to_string(),
        ),
    ];
    for s in SubIndex::ALL {
        form.push((
            format!("w_{}", s.code()),
            settings.sub_index_weights[&s].to_string(),
        ));
    }
    for i in Indicator::ALL {
        form.push((
            format!("w_{}", i.code()),
            settings.indicator_weights[&i].to_string(),
        ));
    }
    form
}

/// Post the settings form with this CSRF token.
async fn post_settings(
    b: &mut Browser,
    path: &str,
    mut form: Vec<(String, String)>,
    csrf: &str,
) -> crate::browser_support::Answer {
    form.push(("csrf".into(), csrf.into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post(path, &pairs).await
}

async fn settings_now(server: &TestServer) -> domain::statistics::index::IndexSettings {
    let (status, body) = server
        .call(
            "GET",
            "/api/v1/index/settings",
            Some(&server.admin),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200);
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn the_zone_office_sets_the_index_weights_and_base_period_by_form() {
    use domain::statistics::index::IndexSettings;
    let server = support::start().await;
    add_user(&server, "zoe", "regulator:zone_office", PASSWORD).await;
    add_user(&server, "carl", "regulator:customs", PASSWORD).await;
    assert_eq!(settings_now(&server).await, IndexSettings::default());

    // Customs sees the settings in force but has no form, and is refused if it posts one.
    let mut carl = Browser::new(&server);
    carl.login("carl", PASSWORD).await;
    let page = carl.get("/desk/index?lang=en").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Index settings"), "{}", page.body);
    assert!(!page.body.contains("index-settings-form"));
    let csrf = carl.csrf().await;
    let form = settings_form(&IndexSettings::default());
    let refused = post_settings(&mut carl, "/desk/index/settings", form, &csrf).await;
    assert_eq!(refused.status, 403);

    // The zone office's form is filled with the settings in force.
    let mut zoe = Browser::new(&server);
    zoe.login("zoe", PASSWORD).await;
    let page = zoe.get("/desk/index?lang=en").await;
    assert!(page.body.contains("index-settings-form"), "{}", page.body);
    assert!(page.body.contains(r#"name="w_goods""#));
    assert!(
        page.body.contains(r#"name="w_goods" value="40""#),
        "the goods weight in force"
    );
    let csrf = zoe.csrf().await;

    // A change is journaled and in force at once.
    let mut wanted = IndexSettings::default();
    wanted
        .sub_index_weights
        .insert(domain::statistics::index::SubIndex::Goods, 50);
    wanted
        .indicator_weights
        .insert(domain::statistics::index::Indicator::Timeliness, 0);
    wanted.base_from = domain::statistics::Month::parse("2026-01");
    wanted.base_to = domain::statistics::Month::parse("2026-03");
    wanted.disclosure_threshold = 5;
    let saved = post_settings(
        &mut zoe,
        "/desk/index/settings",
        settings_form(&wanted),
        &csrf,
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(settings_now(&server).await, wanted);
    let page = zoe.get("/desk/index?lang=en").await;
    assert!(
        page.body.contains(r#"name="base_from" value="2026-01""#),
        "{}",
        page.body
    );

    // Settings that do not hold together are refused with the reason, the form kept as sent,
    // and nothing changes: a sub-index without a positive indicator weight, a month that is
    // not one, a weight that is not a number.
    let cases: [(&str, &str, u16, &str); 3] = [
        ("w_G1", "0", 422, "goods indicators need a positive weight"),
        ("base_from", "2026-13", 400, "base_from"),
        ("w_P1", "heavy", 400, "w_P1"),
    ];
    for (field, value, status, reason) in cases {
        let mut bad = settings_form(&wanted);
        if field == "w_G1" {
            for g in ["w_G1", "w_G2", "w_G3", "w_G4", "w_G5"] {
                bad.retain(|(k, _)| k != g);
                bad.push((g.into(), "0".into()));
            }
        } else {
            bad.retain(|(k, _)| k != field);
            bad.push((field.into(), value.into()));
        }
        let refused = post_settings(&mut zoe, "/desk/index/settings?lang=en", bad, &csrf).await;
        assert_eq!(refused.status, status, "{field}: {}", refused.body);
        assert!(refused.body.contains(reason), "{field}: {}", refused.body);
        assert!(
            refused
                .body
                .contains(&format!(r#"name="{field}" value="{value}""#)),
            "{field}: the form comes back as sent"
        );
        assert_eq!(
            settings_now(&server).await,
            wanted,
            "{field}: nothing changed"
        );
    }

    // Without the session's CSRF token nothing is read at all.
    let form = settings_form(&IndexSettings::default());
    let forged = post_settings(&mut zoe, "/desk/index/settings", form, "forged").await;
    assert_eq!(forged.status, 400);
    assert_eq!(settings_now(&server).await, wanted);
}

/// The outside probe's finding 6: `next=/%09/host/path` survived the check and became a
/// redirect to another host after login (browsers drop the tab); `next=/%0A/…` gave a 303
/// without `Location`.
#[tokio::test]
async fn login_sends_you_home_rather_than_to_another_host_whatever_next_holds() {
    let server = support::start().await;
    add_user(&server, "seller", "3301960BAA", PASSWORD).await;
    let login = |next: &'static str| {
        let server = &server;
        async move {
            let mut b = Browser::new(server);
            let page = b.get("/login").await;
            let token = hidden(&page.body, "csrf").unwrap();
            b.post(
                "/login",
                &[
                    ("csrf", &token),
                    ("username", "seller"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await
        }
    };
    for hostile in [
        "/\t/evil.example/path",
        "/\n/evil.example/path",
        "/\r\n/evil.example/",
        "/\\evil.example/",
        "//evil.example/",
        "/%09/evil.example/",
    ] {
        let answer = login(hostile).await;
        assert_eq!(answer.status, 303, "{hostile:?}");
        assert_eq!(answer.location(), "/my/declarations", "{hostile:?}");
    }
    assert_eq!(login("/my/upload").await.location(), "/my/upload");
    // Nor does the login page carry such a `next` into its form.
    let mut b = Browser::new(&server);
    let page = b.get("/login?next=%2F%09%2Fevil.example%2F").await;
    assert_eq!(page.status, 200);
    assert_eq!(hidden(&page.body, "next"), None);
}
