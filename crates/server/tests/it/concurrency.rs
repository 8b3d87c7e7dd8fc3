//! The annual limit under concurrency: many declarations of one buyer, sent in parallel by
//! different enterprises over HTTP, together worth far more than CNY 26,000. However the requests
//! interleave, the buyer's quota never goes over the limit: what is released (or held for review
//! or inspection, which reserves quota too) sums to at most CNY 26,000, the quota ledger says
//! exactly that, and every other declaration is refused with the annual-limit code (1313, M10).

use std::sync::Arc;

use traffic::{Case, Generator, Mix};

use crate::support::{self, TestServer, now_ms};

/// Fen in CNY 26,000.
const ANNUAL_LIMIT_FEN: i64 = 2_600_000;

/// `sets` over-limit runs of declarations, all rewritten to the first run's buyer.
fn one_buyer_runs(seed: u64, sets: usize) -> Vec<traffic::DeclarationSet> {
    let mut generator = Generator::new(
        seed,
        Mix {
            bad_share_per_mille: 0,
            ..Mix::default()
        },
    );
    let now = now_ms();
    let runs: Vec<_> = (0..sets)
        .map(|_| generator.set_of(Case::OverAnnualLimit, now))
        .collect();
    let buyer = runs[0].buyer.clone();
    runs.into_iter()
        .map(|mut run| {
            let other = run.buyer.clone();
            for m in &mut run.messages {
                m.xml = m
                    .xml
                    .replace(&other.id_number, &buyer.id_number)
                    .replace(&other.name, &buyer.name)
                    .replace(&other.phone, &buyer.phone);
                // The rewrite changed signed content: sign again, as the sender would.
                if traffic::SIGNED_MESSAGES.contains(&m.message_type) {
                    let signer = traffic::demo_signer(&m.sender).unwrap();
                    let signed = ceb::dsig::sign(m.xml.as_bytes(), signer).unwrap();
                    m.xml = String::from_utf8(signed).unwrap();
                }
            }
            run.buyer = buyer.clone();
            run
        })
        .collect()
}

async fn parallel_declarations_never_exceed_the_annual_limit(store: Option<String>) {
    let server = Arc::new(support::start_on(store).await);
    let runs = one_buyer_runs(31, 4);
    // One task per declaration (four messages, sent in the generated order); all at once.
    let mut tasks = Vec::new();
    for run in &runs {
        for declaration in run.messages.chunks(4) {
            let server: Arc<TestServer> = server.clone();
            let declaration = declaration.to_vec();
            tasks.push(tokio::spawn(async move {
                for message in &declaration {
                    let (status, body) = server.send(message).await;
                    assert_eq!(status, 200, "{body}");
                }
            }));
        }
    }
    let declarations = tasks.len();
    assert!(declarations >= 24, "{declarations} parallel declarations");
    for t in tasks {
        t.await.unwrap();
    }

    // The buyer's own query, over HTTP.
    let agent = runs[0]
        .messages
        .iter()
        .find(|m| m.message_type == "CEB621Message")
        .unwrap()
        .sender
        .clone();
    let (status, quota) = server
        .call(
            "POST",
            "/api/v1/quota",
            Some(&server.token(&agent)),
            "application/json",
            serde_json::json!({"name": runs[0].buyer.name, "idNumber": runs[0].buyer.id_number})
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{quota}");
    let used: rust_decimal::Decimal = quota["used"].as_str().unwrap().parse().unwrap();

    let Ok(server) = Arc::try_unwrap(server) else {
        panic!("every task is done")
    };
    let store = server.running.store.clone();
    server.running.stop().await;
    // The store is blocking (the PostgreSQL client runs its own runtime): off the async thread.
    let consumed = tokio::task::spawn_blocking(move || check(store, declarations))
        .await
        .unwrap();
    assert_eq!(
        used,
        rust_decimal::Decimal::new(consumed, 2),
        "the buyer's quota query says what was released or held"
    );
}

/// Every declaration is decided; the quota-consuming ones (released, or held for review or
/// inspection) sum to at most the limit, the ledger says exactly that, and every refusal carries
/// code 1313 for a declaration that would indeed not have fitted. Returns the fen consumed.
fn check(store: Arc<dyn store::Store>, declarations: usize) -> i64 {
    let rows = store.declarations(None, None, 10_000).unwrap();
    assert_eq!(rows.len(), declarations, "every declaration was recorded");
    let mut consumed = 0;
    let mut buyer = None;
    let mut refused = Vec::new();
    for d in &rows {
        match d.status {
            800 | 300 | 500 => {
                consumed += d.value_minor;
                let key = d.buyer_key.clone().unwrap();
                assert_eq!(buyer.get_or_insert(key.clone()), &key, "one buyer");
            }
            100 => {
                let receipts = store.receipts_of(&d.id).unwrap();
                assert!(
                    receipts
                        .iter()
                        .any(|r| r.return_status == "100" && r.xml.contains("1313")),
                    "refused for the annual limit (1313): {}",
                    d.status_info
                );
                // `…limit=26000`, `value=4288.00`: what the refusal said the declaration was worth.
                let value = d
                    .status_info
                    .split("value=")
                    .nth(1)
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse::<rust_decimal::Decimal>().ok())
                    .unwrap_or_else(|| panic!("no value in {}", d.status_info));
                refused.push(value);
            }
            other => panic!(
                "declaration left undecided in status {other}: {}",
                d.status_info
            ),
        }
    }
    let buyer = buyer.expect("some declarations went through");
    assert!(
        consumed <= ANNUAL_LIMIT_FEN,
        "released and held declarations sum to {consumed} fen, over the limit"
    );
    assert!(
        refused.len() >= declarations / 2,
        "{} refused",
        refused.len()
    );
    for value in &refused {
        assert!(
            consumed
                + (value * rust_decimal::Decimal::ONE_HUNDRED)
                    .trunc()
                    .to_string()
                    .parse::<i64>()
                    .unwrap()
                > ANNUAL_LIMIT_FEN,
            "a declaration of {value} was refused although it would have fit"
        );
    }
    let year = domain::time::Timestamp(now_ms()).beijing_date().year;
    let quota = store.quota(&buyer, year).unwrap().unwrap();
    assert_eq!(
        quota.used_minor, consumed,
        "the quota ledger holds exactly what was released or held"
    );
    drop(store);
    consumed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_declarations_of_one_buyer_never_exceed_the_annual_limit_sqlite() {
    parallel_declarations_never_exceed_the_annual_limit(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_declarations_of_one_buyer_never_exceed_the_annual_limit_postgres() {
    let Some(url) = support::postgres_url("annual_limit_concurrency") else {
        return;
    };
    parallel_declarations_never_exceed_the_annual_limit(Some(url.clone())).await;
    tokio::task::spawn_blocking(move || store::PostgresStore::drop_schema(&url))
        .await
        .unwrap()
        .unwrap();
}
