//! The portal in a real browser: headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`). Skips loudly when chromedriver is missing, and fails instead when
//! `ONEWINDOW_REQUIRE_SERVICES=1` (CI installs both).
//!
//! With `ONEWINDOW_SCREENSHOTS=DIR` the walk also saves a screenshot of each main page into DIR
//! (`docs/screenshots/` is made this way; see docs/portal.md).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use traffic::{Case, Generator, Mix};

use crate::browser_support::add_user;
use crate::support::{self, TestServer, now_ms};

const PASSWORD: &str = "correct horse battery staple";

/// chromedriver, ended when the test ends.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Option<PathBuf> {
    let candidates = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("chromedriver"))
                    .find(|p| p.exists())
            })
        })
}

/// Start chromedriver and a headless Chromium session, or `None` (said loudly) when missing.
async fn browser(test: &str) -> Option<(Driver, Client)> {
    let Some(driver) = chromedriver() else {
        if std::env::var("ONEWINDOW_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!("{test}: chromedriver is required (ONEWINDOW_REQUIRE_SERVICES=1) but missing");
        }
        eprintln!(
            "SKIPPED {test}: chromedriver not found (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: profile,
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut options = serde_json::json!({
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,1100",
            format!("--user-data-dir={}", driver._profile.path().display()),
        ],
    });
    if Path::new("/usr/bin/chromium").exists() {
        options["binary"] = "/usr/bin/chromium".into();
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    Some((driver, client))
}

/// Saves screenshots when asked to (`ONEWINDOW_SCREENSHOTS=DIR`).
struct Camera {
    dir: Option<PathBuf>,
}

impl Camera {
    fn new() -> Camera {
        Camera {
            dir: std::env::var_os("ONEWINDOW_SCREENSHOTS").map(PathBuf::from),
        }
    }

    async fn shoot(&self, client: &Client, name: &str) {
        let Some(dir) = &self.dir else { return };
        std::fs::create_dir_all(dir).unwrap();
        // Make the window as tall as the page, so the picture shows all of it.
        let height = client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(1100)
            .clamp(700, 2400) as u32;
        let _ = client.set_window_size(1280, height + 120).await;
        let png = client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        let _ = client.set_window_size(1280, 1100).await;
    }
}

/// Wait (bounded) until `css` matches; a click that submits a form returns before the next page
/// has loaded.
async fn find(client: &Client, css: &str) -> fantoccini::elements::Element {
    let started = Instant::now();
    loop {
        match client.find(Locator::Css(css)).await {
            Ok(element) => return element,
            Err(e) if started.elapsed() > Duration::from_secs(20) => panic!("{css}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn text_of(client: &Client, css: &str) -> String {
    find(client, css).await.text().await.unwrap()
}

/// Wait (bounded) until the text of `css` satisfies `ok`, and return it.
async fn text_when(client: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let text = match client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if ok(&text) || started.elapsed() > Duration::from_secs(20) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn fill(client: &Client, css: &str, value: &str) {
    find(client, css).await.send_keys(value).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    find(client, css).await.click().await.unwrap();
}

/// Wait (bounded) until the browser is at `path`, and return where it is.
async fn wait_path(client: &Client, path: &str) -> String {
    let started = Instant::now();
    loop {
        let now = client.current_url().await.unwrap().path().to_string();
        if now == path || started.elapsed() > Duration::from_secs(20) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn login(client: &Client, server: &TestServer, username: &str) {
    client
        .goto(&format!("http://{}/login", server.addr()))
        .await
        .unwrap();
    fill(client, "#login-username", username).await;
    fill(client, "#login-password", PASSWORD).await;
    click(client, "#login button[type=submit]").await;
}

#[tokio::test]
async fn a_person_uses_the_portal_in_a_real_browser() {
    let Some((_driver, client)) = browser("a_person_uses_the_portal_in_a_real_browser").await
    else {
        return;
    };
    let server = support::start().await;
    let base = format!("http://{}", server.addr());
    let camera = Camera::new();

    // The order, payment and waybill come from their senders' systems; the declaring agent's
    // staff upload the inventory list in the portal (with a broken file by mistake).
    let mut generator = Generator::new(31, Mix::default());
    let set = generator.set_of(Case::Clean, now_ms());
    let mut inventory = None;
    for m in &set.messages {
        if m.message_type == "CEB621Message" {
            inventory = Some(m.clone());
        } else {
            assert_eq!(server.send(m).await.0, 200);
        }
    }
    let inventory = inventory.unwrap();
    // More traffic for the pages to show.
    for _ in 0..6 {
        server
            .send_set(&generator.set_of(Case::Clean, now_ms()))
            .await;
    }
    server
        .send_set(&generator.set_of(Case::PayerMismatch, now_ms()))
        .await;
    add_user(&server, "agent", &inventory.sender, PASSWORD).await;
    add_user(&server, "customs", "regulator:customs", PASSWORD).await;
    let files = tempfile::tempdir().unwrap();
    let good = files.path().join("inventory.xml");
    let bad = files.path().join("broken.xml");
    std::fs::write(&good, &inventory.xml).unwrap();
    std::fs::write(&bad, "<CEB621Message><unclosed>").unwrap();

    // The public home page, in Chinese by default.
    client.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(text_of(&client, "h1").await, "欢迎使用跨境电商单一窗口");

    // The enterprise signs in and uploads.
    login(&client, &server, "agent").await;
    assert_eq!(
        wait_path(&client, "/my/declarations").await,
        "/my/declarations"
    );
    client.goto(&format!("{base}/my/upload")).await.unwrap();
    let input = find(&client, "#upload-files").await;
    input
        .send_keys(&format!("{}\n{}", good.display(), bad.display()))
        .await
        .unwrap();
    click(&client, "#upload button[type=submit]").await;
    let results = text_of(&client, "#upload-results").await;
    assert!(
        results.contains("inventory.xml") && results.contains("已接收"),
        "{results}"
    );
    assert!(
        results.contains("broken.xml") && results.contains("未接收"),
        "{results}"
    );
    camera.shoot(&client, "upload-result").await;

    // It follows the accepted file to its declaration: released, with its receipts.
    click(&client, "#upload-results a[href^='/my/declarations/']").await;
    let facts = text_of(&client, "#declaration-facts").await;
    assert!(facts.contains("800 放行"), "{facts}");
    let receipts = text_of(&client, "#receipts").await;
    assert!(receipts.contains("CEB622Message"), "{receipts}");
    camera.shoot(&client, "declaration").await;

    // One click switches the language; the page is the same declaration in English.
    click(&client, "#switch-language").await;
    let h1 = text_when(&client, "h1", |t| t.starts_with("Declaration ")).await;
    assert!(h1.starts_with("Declaration "), "{h1}");
    assert!(
        text_of(&client, "#declaration-facts")
            .await
            .contains("800 released")
    );

    // A regulator's page stays forbidden to the enterprise.
    client.goto(&format!("{base}/desk")).await.unwrap();
    assert_eq!(text_of(&client, "h1").await, "Forbidden");
    client.goto(&format!("{base}/admin/users")).await.unwrap();
    assert_eq!(text_of(&client, "h1").await, "Forbidden");

    // Sign out; the regulator signs in and finds the release on the dashboard.
    click(&client, "#logout-form button").await;
    assert_eq!(wait_path(&client, "/login").await, "/login");
    login(&client, &server, "customs").await;
    assert_eq!(wait_path(&client, "/desk").await, "/desk");
    let dashboard = text_of(&client, "#throughput").await;
    let released_today = dashboard
        .split("Released today")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.replace(',', "").parse::<u64>().ok());
    assert_eq!(
        released_today,
        Some(7),
        "the six sent and the one uploaded: {dashboard}"
    );
    assert!(text_of(&client, "#backlog").await.contains("800 released"));
    camera.shoot(&client, "dashboard").await;
    client
        .goto(&format!("{base}/desk/enterprises"))
        .await
        .unwrap();
    assert!(
        text_of(&client, "#registry")
            .await
            .contains(&inventory.sender)
    );
    camera.shoot(&client, "registry").await;
    client
        .goto(&format!("{base}/desk/statistics"))
        .await
        .unwrap();
    // Drilled down from the months to this month's days and goods classes.
    click(&client, "#monthly table a").await;
    let classes = text_of(&client, "#classes").await;
    assert!(classes.contains("Lines"), "{classes}");
    camera.shoot(&client, "statistics").await;
    client.goto(&format!("{base}/desk/alerts")).await.unwrap();
    camera.shoot(&client, "alerts").await;
    click(&client, "#logout-form button").await;
    assert_eq!(wait_path(&client, "/login").await, "/login");

    // The public quota self-query, in English now.
    client.goto(&format!("{base}/quota")).await.unwrap();
    fill(&client, "#quota-name", &set.buyer.name).await;
    fill(&client, "#quota-idNumber", &set.buyer.id_number).await;
    click(&client, "#quota button[type=submit]").await;
    let result = text_of(&client, "#quota-result").await;
    assert!(result.contains("Remaining"), "{result}");
    assert!(
        !client
            .source()
            .await
            .unwrap()
            .contains(&set.buyer.id_number)
    );
    camera.shoot(&client, "quota").await;

    // The zone office publishes the index of the last two months (their statistics are put in
    // the store directly: the test cannot send declarations in the past), then anyone sees the
    // index page draw its chart (SVG, with a title and a data table beside it).
    let this = domain::statistics::Month::of(domain::time::Timestamp(now_ms()));
    past_statistics(&server, &[this.prev().prev(), this.prev()]).await;
    add_user(&server, "zoe", "regulator:zone_office", PASSWORD).await;
    login(&client, &server, "zoe").await;
    assert_eq!(wait_path(&client, "/desk").await, "/desk");
    for month in [this.prev().prev(), this.prev()] {
        client.goto(&format!("{base}/desk/index")).await.unwrap();
        let select = find(&client, "#publish-month").await;
        select.select_by_value(&month.to_string()).await.unwrap();
        fill(&client, "#publish-note", "monthly publication").await;
        click(&client, "#publish button[type=submit]").await;
        let note = text_when(&client, "#provisional", |t| t.contains("recorded")).await;
        assert!(note.contains("The action is recorded"), "{note}");
    }
    let publications = text_of(&client, "#publications").await;
    assert!(publications.contains("current"), "{publications}");
    camera.shoot(&client, "index-administration").await;
    click(&client, "#logout-form button").await;
    assert_eq!(wait_path(&client, "/login").await, "/login");

    client.goto(&format!("{base}/index")).await.unwrap();
    let chart = find(&client, "#index-chart").await;
    assert_eq!(chart.attr("role").await.unwrap().as_deref(), Some("img"));
    let title = find(&client, "#index-chart-t")
        .await
        .prop("textContent")
        .await
        .unwrap();
    assert_eq!(title.as_deref(), Some("CBEC index"));
    let source = client.source().await.unwrap();
    assert_eq!(
        source.matches("<circle").count(),
        2,
        "one point per published month"
    );
    camera.shoot(&client, "index").await;
    client.goto(&format!("{base}/")).await.unwrap();
    camera.shoot(&client, "home").await;

    client.close().await.unwrap();
}

/// Statistics cells for past months, written straight into the store (as if declarations had
/// been released then): two sellers, a platform, a payment institution, a logistics firm.
async fn past_statistics(server: &TestServer, months: &[domain::statistics::Month]) {
    use store::{Batch, StatCell, StatTable};
    let mut cells = Vec::new();
    for (i, month) in months.iter().enumerate() {
        let n = 40 + 10 * i as i64;
        for (ebc, class) in [
            ("3301960BAA", "05"),
            ("3301960BAB", "01"),
            ("3301960BAC", "12"),
        ] {
            let mut values = vec![0; StatTable::Lists.measures().len()];
            values[0] = n;
            values[1] = n;
            values[2] = n * 30_000;
            values[6] = n * 33_000;
            values[7] = n - 2;
            cells.push(StatCell {
                table: StatTable::Lists,
                day: month.first_day() + 9,
                keys: [
                    "I",
                    "9610",
                    "116",
                    ebc,
                    "3301960AAA",
                    "3301960CAA",
                    "3301960DAA",
                    "HZ-XS",
                ]
                .map(String::from)
                .to_vec(),
                values,
            });
            let mut goods = vec![0; StatTable::Goods.measures().len()];
            goods[0] = n;
            goods[1] = n;
            goods[3] = n * 30_000;
            cells.push(StatCell {
                table: StatTable::Goods,
                day: month.first_day() + 9,
                keys: ["I", "9610", "116", class, "035", ebc, "HZ-XS"]
                    .map(String::from)
                    .to_vec(),
                values: goods,
            });
        }
    }
    let store = server.running.store.clone();
    tokio::task::spawn_blocking(move || {
        let applied = store.positions().unwrap().applied;
        store
            .commit(&Batch {
                applied,
                stats: cells,
                ..Batch::default()
            })
            .unwrap();
    })
    .await
    .unwrap();
}
