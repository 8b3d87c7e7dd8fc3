//! The statistics and index API: what each role sees (an enterprise only its own cells, the
//! public only protected zone-wide tables and the published index), the formats, hand-computed
//! cells read back, and the index reproducible from the journal — after a rebuild and on both
//! backends.

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::clearance::{Actor, Supervised};
use domain::statistics::facts::Month;
use domain::statistics::index::IndexAction;
use domain::subject::Department;
use ingest::intake::{self, IndexEntry, Intake};
use ingest::pipeline::{Job, Pipeline, PipelineConfig};
use serde_json::Value;
use store::{Batch, StatCell, StatTable, Store};
use traffic::{Generator, Mix};

use crate::support::{self, has, now_ms};

const BAA: &str = "3301960BAA";
const BAB: &str = "3301960BAB";
const BAC: &str = "3301960BAC";
const BAD: &str = "3301960BAD";
const BAZ: &str = "3301960BAZ";

/// One goods cell of March 2024 from `ebc`: `n` lists of `value` fen, VAT 9.1 %.
fn goods(day: i32, class: &str, ebc: &str, n: i64, value: i64) -> StatCell {
    let mut values = vec![0; StatTable::Goods.measures().len()];
    values[0] = n;
    values[1] = n;
    values[2] = n * 1_000;
    values[3] = value;
    values[5] = value * 91 / 1000;
    StatCell {
        table: StatTable::Goods,
        day,
        keys: ["I", "9610", "116", class, "011", ebc, "HZ-XS"]
            .map(String::from)
            .to_vec(),
        values,
    }
}

/// March 2024, by hand: formula (01) from BAA, BAB, BAC; apparel (16) from BAA, BAB, BAD with
/// fewer lists; cosmetics (12) from BAZ alone.
fn march_2024() -> Vec<StatCell> {
    vec![
        goods(20240305, "01", BAA, 2, 20_000),
        goods(20240306, "01", BAB, 1, 30_000),
        goods(20240307, "01", BAC, 1, 10_000),
        goods(20240310, "16", BAA, 1, 5_000),
        goods(20240311, "16", BAB, 1, 5_000),
        goods(20240312, "16", BAD, 1, 5_000),
        goods(20240320, "12", BAZ, 4, 90_000),
    ]
}

async fn inject(server: &support::TestServer, cells: Vec<StatCell>) {
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

async fn regulator(server: &support::TestServer, department: &str) -> String {
    let (status, body) = server
        .call(
            "POST",
            &format!("/api/v1/enterprises/regulator:{department}/credentials"),
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_string()
}

fn rows(body: &Value) -> Vec<Value> {
    body["rows"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn staff_see_every_cell_and_an_enterprise_only_its_own() {
    let server = support::start().await;
    inject(&server, march_2024()).await;
    let period = "from=2024-03&to=2024-03";
    // Staff: every class, with the hand-computed sums and distinct sellers.
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/v1/statistics/goods?{period}&group=class&distinct=ebc"),
            Some(&server.admin),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let by_class: BTreeMap<String, (i64, String, i64)> = rows(&body)
        .iter()
        .map(|r| {
            (
                r["class"].as_str().unwrap().to_string(),
                (
                    r["declarations"].as_i64().unwrap(),
                    r["value"].as_str().unwrap().to_string(),
                    r["distinct_ebc"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        by_class,
        BTreeMap::from([
            ("01".into(), (4, "600.00".into(), 3)),
            ("12".into(), (4, "900.00".into(), 1)),
            ("16".into(), (3, "150.00".into(), 3)),
        ])
    );
    assert_eq!(
        rows(&body)[0]["class_name_en"],
        "Infant formula and baby food"
    );
    // An enterprise: only its own cells, whatever it asks for.
    let baa = server.token(BAA);
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/v1/statistics/goods?{period}&group=ebc,class"),
            Some(&baa),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mine: Vec<(String, String, String)> = rows(&body)
        .iter()
        .map(|r| {
            (
                r["ebc"].as_str().unwrap().to_string(),
                r["class"].as_str().unwrap().to_string(),
                r["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        vec![
            (BAA.into(), "01".into(), "200.00".into()),
            (BAA.into(), "16".into(), "50.00".into()),
        ]
    );
    // Asking for another seller's figures gives nothing, and no zone total leaks.
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/v1/statistics/goods?{period}&ebc={BAZ}"),
            Some(&baa),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200);
    assert!(rows(&body).is_empty(), "{body}");
    let (_, body) = server
        .call(
            "GET",
            &format!("/api/v1/statistics/goods?{period}"),
            Some(&baa),
            "",
            b"",
        )
        .await;
    assert_eq!(rows(&body).len(), 1);
    assert_eq!(rows(&body)[0]["value"], "250.00", "its own total only");
    // The provisional index and the index settings are staff's.
    for path in [
        "/api/v1/index",
        "/api/v1/index/settings",
        "/api/v1/index/publications",
    ] {
        let (status, _) = server.call("GET", path, Some(&baa), "", b"").await;
        assert_eq!(status, 403, "{path}");
    }
    // Nonsense is a 400 that says what is wrong.
    let (status, body) = server
        .call(
            "GET",
            "/api/v1/statistics/lists?group=class",
            Some(&server.admin),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["title"].as_str().unwrap().contains("class"), "{body}");
    let (status, _) = server
        .call(
            "GET",
            "/api/v1/statistics/nope",
            Some(&server.admin),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call("GET", "/api/v1/statistics/goods", None, "", b"")
        .await;
    assert_eq!(status, 401);
    server.running.stop().await;
}

#[tokio::test]
async fn the_public_sees_protected_tables_as_json_csv_and_excel() {
    let server = support::start().await;
    inject(&server, march_2024()).await;
    let (status, body) = server
        .call(
            "GET",
            "/api/public/statistics/classes?from=2024-03&to=2024-03",
            None,
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let shown: Vec<(String, Value, bool)> = rows(&body)
        .iter()
        .map(|r| {
            (
                r["class"].as_str().unwrap().to_string(),
                r["value"].clone(),
                r["withheld"] == "true",
            )
        })
        .collect();
    // Cosmetics has one seller: withheld. Alone it could be recovered from the month's total,
    // so the smaller of the other two (apparel, 3 lists) is withheld with it.
    assert_eq!(
        shown,
        vec![
            ("01".into(), Value::from("600.00"), false),
            ("12".into(), Value::Null, true),
            ("16".into(), Value::Null, true),
        ]
    );
    assert_eq!(body["disclosureThreshold"], 3);
    let (status, csv) = server
        .raw(
            "GET",
            "/api/public/statistics/classes?from=2024-03&to=2024-03&format=csv",
            None,
            "",
            b"",
            "*/*",
        )
        .await;
    assert_eq!(status, 200);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "month,class,class_name_zh,class_name_en,declarations,lines,value,customs_tax,vat,\
             consumption_tax,enterprises,withheld"
        )
    );
    assert_eq!(
        lines.next(),
        Some(
            "2024-03,01,婴幼儿配方奶粉及辅食,Infant formula and baby food,4,4,600.00,0.00,54.60,0.00,3,false"
        )
    );
    assert_eq!(
        lines.next(),
        Some("2024-03,12,化妆品及香水,Cosmetics and perfume,,,,,,,,true")
    );
    let (status, xlsx) = server
        .raw(
            "GET",
            "/api/public/statistics/classes?from=2024-03&to=2024-03&format=xlsx",
            None,
            "",
            b"",
            "*/*",
        )
        .await;
    assert_eq!(status, 200);
    assert!(xlsx.starts_with("PK"), "an xlsx workbook is a zip file");
    assert!(
        xlsx.contains("xl/worksheets/sheet2.xml"),
        "with its dictionary sheet"
    );
    let (status, catalogue) = server
        .call("GET", "/api/public/statistics", None, "", b"")
        .await;
    assert_eq!(status, 200);
    assert!(
        catalogue["dictionary"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["column"] == "withheld")
    );
    let (status, _) = server
        .call("GET", "/api/public/statistics/secret", None, "", b"")
        .await;
    assert_eq!(status, 404);
    server.running.stop().await;
}

#[tokio::test]
async fn released_declarations_show_in_the_statistics_at_once() {
    let server = support::start().await;
    let mut generator = Generator::new(11, Mix::default());
    let mut released: BTreeMap<String, i64> = BTreeMap::new();
    let mut value: BTreeMap<String, i64> = BTreeMap::new();
    for _ in 0..12 {
        let set = generator.set_of(traffic::Case::Clean, now_ms());
        let receipts = server.send_set(&set).await;
        if !has(&receipts, "CEB622Message", "800") {
            continue;
        }
        let id = receipts
            .iter()
            .find(|r| r["messageType"] == "CEB622Message" && r["returnStatus"] == "800")
            .and_then(|r| r["declarationId"].as_str())
            .unwrap()
            .to_string();
        let (_, d) = server
            .call(
                "GET",
                &format!("/api/v1/declarations/{id}"),
                Some(&server.admin),
                "",
                b"",
            )
            .await;
        let ebc = d["ebcCode"].as_str().unwrap().to_string();
        *released.entry(ebc.clone()).or_default() += 1;
        let fen: i64 =
            (d["dutiablePrice"].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64;
        *value.entry(ebc).or_default() += fen;
    }
    assert!(!released.is_empty());
    let month = Month::of(domain::time::Timestamp(now_ms())).to_string();
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/v1/statistics/lists?from={month}&to={month}&group=ebc"),
            Some(&server.admin),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let counted: BTreeMap<String, i64> = rows(&body)
        .iter()
        .map(|r| {
            (
                r["ebc"].as_str().unwrap().to_string(),
                r["declarations"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counted, released);
    let summed: BTreeMap<String, i64> = rows(&body)
        .iter()
        .map(|r| {
            let v: f64 = r["value"].as_str().unwrap().parse().unwrap();
            (
                r["ebc"].as_str().unwrap().to_string(),
                (v * 100.0).round() as i64,
            )
        })
        .collect();
    assert_eq!(summed, value);
    server.running.stop().await;
}

/// Journal a past quarter of generated traffic through the pipeline at historical times, file
/// the zone office's settings and publish February; returns what a reader would see.
fn past_quarter(store: Arc<dyn Store>) -> (String, Value, Vec<String>) {
    let pipeline = Pipeline::start(
        store.clone(),
        PipelineConfig::default(),
        Arc::new(Supervised),
    )
    .unwrap();
    let ingest = pipeline.ingest.clone();
    let t0 = domain::time::parse_ceb_time14("20250102090000").unwrap().0;
    let csv = traffic::registry_csv();
    let filing = intake::admin_content(intake::FILING, csv.as_bytes(), t0).unwrap();
    ingest
        .submit_blocking(Job::admin(intake::FILING, csv.into_bytes(), filing, t0))
        .unwrap();
    let mut generator = Generator::new(21, Mix::default());
    let limits = ceb::Limits::default();
    // The index is the subject here, not the door: signatures are not checked.
    let gate = ingest::signatures::Gate::new(
        domain::settings::SignaturePolicy::Off,
        Arc::new(ingest::signatures::Certificates::default()),
    );
    for (day, sets) in [
        ("20250110", 3),
        ("20250125", 2),
        ("20250205", 4),
        ("20250220", 3),
        ("20250310", 5),
    ] {
        for i in 0..sets {
            let at = domain::time::parse_ceb_time14(&format!("{day}1{i}0000"))
                .unwrap()
                .0;
            let set = generator.next_set(at);
            for (k, m) in set.messages.iter().enumerate() {
                let when = at + k as i64 * 1_000;
                let Ok(prepared) = intake::prepare(
                    m.xml.as_bytes(),
                    false,
                    &limits,
                    Some(&m.sender),
                    when,
                    &gate,
                ) else {
                    continue;
                };
                ingest
                    .submit_blocking(Job::message(prepared, m.sender.clone(), when))
                    .unwrap();
            }
        }
    }
    let zone = Actor::Regulator(Department::ZoneOffice);
    let label = "regulator:zone_office";
    let publish = |month: &str, at: i64| {
        let month = Month::parse(month).unwrap();
        let settings = server::statistics::index_settings(store.as_ref()).unwrap();
        let figures = server::statistics::figures_for(store.as_ref(), &settings, month).unwrap();
        let entry = IndexEntry {
            actor: zone.clone(),
            action: IndexAction::Publish {
                month,
                figures,
                note: String::new(),
            },
        };
        let body = serde_json::to_vec(&entry).unwrap();
        let accepted = ingest
            .submit_blocking(Job::staff(
                label,
                intake::INDEX,
                body,
                Intake::Index(Box::new(entry)),
                at,
            ))
            .unwrap();
        accepted.outcome.unwrap().unwrap()
    };
    let april = domain::time::parse_ceb_time14("20250401090000").unwrap().0;
    let first = publish("2025-02", april);
    assert_eq!(first["revision"], 1);
    // A republication is a revision that keeps the first.
    let second = publish("2025-02", april + 60_000);
    assert_eq!(second["revision"], 2);
    assert_eq!(
        second["index"], first["index"],
        "the same data gives the same index"
    );
    // Every handle to the writer must go before it can stop.
    drop(ingest);
    pipeline.shutdown();
    let (_, months) = server::statistics::provisional_index(
        store.as_ref(),
        Month::parse("2025-01").unwrap(),
        Month::parse("2025-03").unwrap(),
    )
    .unwrap();
    let records: Vec<String> = store
        .records(&store::RecordQuery::new("index", 10))
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r.key, r.status, r.body))
        .collect();
    assert_eq!(records.len(), 2);
    assert!(
        records[0].starts_with("2025-02/001 superseded"),
        "{}",
        records[0]
    );
    (
        store.projection_digest().unwrap(),
        serde_json::to_value(months).unwrap(),
        records,
    )
}

fn reproducible(store: Arc<dyn Store>) -> (String, Value, Vec<String>) {
    let before = past_quarter(store.clone());
    assert_eq!(
        before.1.as_array().map(Vec::len),
        Some(3),
        "three months of index"
    );
    assert_eq!(
        before.1[0]["composite"], "100.00",
        "January is the base: 100"
    );
    ingest::pipeline::rebuild(store.as_ref(), &PipelineConfig::default(), &Supervised).unwrap();
    let (_, months) = server::statistics::provisional_index(
        store.as_ref(),
        Month::parse("2025-01").unwrap(),
        Month::parse("2025-03").unwrap(),
    )
    .unwrap();
    let records: Vec<String> = store
        .records(&store::RecordQuery::new("index", 10))
        .unwrap()
        .iter()
        .map(|r| format!("{} {} {}", r.key, r.status, r.body))
        .collect();
    let after = (
        store.projection_digest().unwrap(),
        serde_json::to_value(months).unwrap(),
        records,
    );
    assert_eq!(
        after, before,
        "the journal gives the same statistics and index after a rebuild"
    );
    after
}

#[tokio::test]
async fn the_index_is_reproducible_from_the_journal_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ow.db");
    let lite = tokio::task::spawn_blocking(move || {
        reproducible(store::open(path.to_str().unwrap(), test_keys()).unwrap())
    })
    .await
    .unwrap();
    let Some(url) = support::postgres_url("index_reproducible") else {
        return;
    };
    let pg_url = url.clone();
    let pg = tokio::task::spawn_blocking(move || {
        let store = store::open(&pg_url, test_keys()).unwrap();
        let out = reproducible(store.clone());
        drop(store);
        out
    })
    .await
    .unwrap();
    assert_eq!(
        pg, lite,
        "SQLite and PostgreSQL give the same statistics and index"
    );
    tokio::task::spawn_blocking(move || store::PostgresStore::drop_schema(&url))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_zone_office_publishes_and_the_public_reads_the_index() {
    let server = support::start().await;
    let zone = regulator(&server, "zone_office").await;
    let customs = regulator(&server, "customs").await;
    // Two past months of hand-made cells: January 2024 is the base.
    let mut cells = Vec::new();
    for (day, n) in [(20240110, 10), (20240210, 12)] {
        let mut values = vec![0; StatTable::Lists.measures().len()];
        values[0] = n;
        values[2] = n * 10_000;
        values[6] = n * 11_000;
        values[7] = n;
        cells.push(StatCell {
            table: StatTable::Lists,
            day,
            keys: [
                "I",
                "9610",
                "116",
                BAA,
                "3301960AAA",
                "3301960CAA",
                "3301960DAA",
                "HZ-XS",
            ]
            .map(String::from)
            .to_vec(),
            values,
        });
    }
    inject(&server, cells).await;
    let body = br#"{"month":"2024-02","note":"first publication"}"#;
    let (status, _) = server
        .call(
            "POST",
            "/api/v1/index/publications",
            Some(&customs),
            "application/json",
            body,
        )
        .await;
    assert_eq!(status, 403, "customs does not publish the index");
    let (status, answer) = server
        .call(
            "POST",
            "/api/v1/index/publications",
            Some(&zone),
            "application/json",
            body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    // February against January: 12 lists against 10 → parcels and value 120.
    assert_eq!(answer["result"]["index"]["month"], "2024-02");
    let goods = &answer["result"]["index"]["sub_indices"][0];
    assert_eq!(goods["indicators"][0]["index"], "120.00");
    let this_month = Month::of(domain::time::Timestamp(now_ms())).to_string();
    let (status, _) = server
        .call(
            "POST",
            "/api/v1/index/publications",
            Some(&zone),
            "application/json",
            format!("{{\"month\":\"{this_month}\"}}").as_bytes(),
        )
        .await;
    assert_eq!(status, 409, "a month in progress is not published");
    let (status, public) = server.call("GET", "/api/public/index", None, "", b"").await;
    assert_eq!(status, 200);
    let months = public["months"].as_array().unwrap();
    assert_eq!(months.len(), 1);
    assert_eq!(months[0]["revision"], 1);
    assert!(
        months[0].get("figures").is_none(),
        "the public gets the index, not the inputs"
    );
    let (status, csv) = server
        .raw("GET", "/api/public/index?format=csv", None, "", b"", "*/*")
        .await;
    assert_eq!(status, 200);
    assert!(
        csv.starts_with("revision,published_at,month,composite,goods,logistics,payment,G1"),
        "{csv}"
    );
    // Settings: the zone office changes the base period; a bad one is refused.
    let (status, _) = server
        .call(
            "PUT",
            "/api/v1/index/settings",
            Some(&zone),
            "application/json",
            br#"{"base_from":"2024-02","base_to":"2024-01"}"#,
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = server
        .call(
            "PUT",
            "/api/v1/index/settings",
            Some(&zone),
            "application/json",
            br#"{"base_from":"2024-02"}"#,
        )
        .await;
    assert_eq!(status, 200);
    let (status, provisional) = server
        .call(
            "GET",
            "/api/v1/index?from=2024-01&to=2024-02",
            Some(&customs),
            "",
            b"",
        )
        .await;
    assert_eq!(status, 200, "{provisional}");
    assert_eq!(
        provisional["months"][1]["composite"], "100.00",
        "February is the base now"
    );
    // The published February keeps the index it was published with.
    let (_, public) = server.call("GET", "/api/public/index", None, "", b"").await;
    assert_eq!(
        public["months"][0]["index"]["sub_indices"][0]["indicators"][0]["index"],
        "120.00"
    );
    server.running.stop().await;
}

/// A fresh data key ring for a scratch store.
fn test_keys() -> Arc<store::KeyRing> {
    Arc::new(store::KeyRing::generate("test").unwrap())
}
