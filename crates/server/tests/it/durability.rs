//! Restart, rebuild and the two backends: what was acknowledged is kept, and the projections can
//! always be rebuilt from the journal to the same state.

use std::sync::Arc;

use domain::clearance::{ReleaseAll, Supervised};
use ingest::pipeline::PipelineConfig;
use traffic::{Generator, Mix};

use crate::support::{self, has, now_ms};

async fn traffic_then_rebuild(store: Option<String>) {
    let server = support::start_on(store).await;
    let mut generator = Generator::new(5, Mix::default());
    let mut released = 0;
    for _ in 0..60 {
        let set = generator.next_set(now_ms());
        let receipts = server.send_set(&set).await;
        if has(&receipts, "CEB622Message", "800") {
            released += 1;
        }
    }
    assert!(
        released > 30,
        "most generated declarations are released ({released})"
    );
    // Supervision actions are journal entries too: a rule change, a fraud scheme's alerts
    // worked by customs, a listing. The rebuild must reproduce all of it.
    let (status, credential) = server
        .call(
            "POST",
            "/api/v1/enterprises/regulator:customs/credentials",
            Some(&server.admin),
            "application/json",
            b"",
        )
        .await;
    assert_eq!(status, 201);
    let customs = credential["token"].as_str().unwrap().to_string();
    let (status, body) = server
        .call(
            "PATCH",
            "/api/v1/risk/rules/R13",
            Some(&customs),
            "application/json",
            br#"{"mode":"observe"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for set in generator.scheme(traffic::Scheme::SplitOrderRing, now_ms()) {
        server.send_set(&set).await;
    }
    let (_, alerts) = server
        .call("GET", "/api/v1/alerts?status=open", Some(&customs), "", b"")
        .await;
    let alert = alerts["items"][0]["key"]
        .as_str()
        .expect("the ring raised alerts");
    let (status, body) = server
        .call(
            "POST",
            &format!("/api/v1/alerts/{alert}/assess"),
            Some(&customs),
            "application/json",
            br#"{"level":"high"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .call(
            "POST",
            "/api/v1/listings",
            Some(&customs),
            "application/json",
            br#"{"subject":{"type":"enterprise","code":"3301960BAZ"},"category":"commercial_fraud","severity":"listed","evidence":"durability test"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let store = server.running.store.clone();
    server.running.stop().await;

    // The store is blocking (the PostgreSQL client runs its own runtime): off the async thread.
    let (before, positions) = tokio::task::spawn_blocking({
        let store = store.clone();
        move || {
            (
                store.projection_digest().unwrap(),
                store.positions().unwrap(),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(positions.applied, positions.journal);
    let replayed = tokio::task::spawn_blocking({
        let store = store.clone();
        move || ingest::pipeline::rebuild(store.as_ref(), &PipelineConfig::default(), &Supervised)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(replayed, positions.journal);
    let (after, positions_after) = tokio::task::spawn_blocking(move || {
        let result = (
            store.projection_digest().unwrap(),
            store.positions().unwrap(),
        );
        drop(store);
        result
    })
    .await
    .unwrap();
    assert_eq!(
        after, before,
        "rebuild from the journal ends in the same state"
    );
    assert_eq!(positions_after, positions);
}

#[tokio::test]
async fn rebuild_from_the_journal_ends_in_the_same_state_on_sqlite() {
    traffic_then_rebuild(None).await;
}

#[tokio::test]
async fn rebuild_from_the_journal_ends_in_the_same_state_on_postgres() {
    let Some(url) = support::postgres_url("rebuild_postgres") else {
        return;
    };
    traffic_then_rebuild(Some(url.clone())).await;
    tokio::task::spawn_blocking(move || store::PostgresStore::drop_schema(&url))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_restart_keeps_half_filed_declarations_and_completes_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("ow.db").display());
    let set = Generator::new(
        9,
        Mix {
            shuffle_arrival: false,
            ..Mix::default()
        },
    )
    .set_of(traffic::Case::Clean, now_ms());
    let first = support::start_on(Some(db.clone())).await;
    let mut receipts = Vec::new();
    for message in &set.messages[..2] {
        let (status, body) = first.send(message).await;
        assert_eq!(status, 200);
        receipts.extend(body["receipts"].as_array().unwrap().clone());
    }
    let tokens = first.tokens.clone();
    first.running.stop().await;

    // Same store, new process state: the engine is restored from the durable rows.
    let config = server::app::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        store: db,
        data_dir: dir.path().to_path_buf(),
        pipeline: PipelineConfig::default(),
        limits: ceb::Limits::default(),
        // The first start created the data key in its own data directory: a store that holds
        // data is never opened without it.
        data_key_file: Some(first.dir.path().join(server::keys::DATA_KEY_FILE)),
        guard: server::guard::GuardConfig::default(),
        portal: server::portal::PortalConfig::default(),
    };
    let running = server::app::start_with(config, Arc::new(ReleaseAll))
        .await
        .unwrap();
    assert!(
        running.admin_token.is_none(),
        "the admin credential survived"
    );
    let second = support::TestServer {
        running,
        admin: String::new(),
        tokens,
        dir: tempfile::tempdir().unwrap(),
    };
    for message in &set.messages[2..] {
        let (status, body) = second.send(message).await;
        assert_eq!(status, 200, "{body}");
        receipts.extend(body["receipts"].as_array().unwrap().clone());
    }
    assert!(has(&receipts, "CEB622Message", "800"), "{receipts:#?}");
    // Sending an earlier message again changes nothing.
    let (status, body) = second.send(&set.messages[0]).await;
    assert_eq!(status, 200);
    assert!(
        body["receipts"].as_array().unwrap().is_empty(),
        "a resubmitted guid is idempotent: {body}"
    );
    second.running.stop().await;
}

#[tokio::test]
async fn a_postgres_backed_server_serves_and_stops_cleanly() {
    let Some(url) = support::postgres_url("stop_postgres") else {
        return;
    };
    let server = support::start_on(Some(url.clone())).await;
    let set = Generator::new(3, Mix::default()).set_of(traffic::Case::Clean, now_ms());
    let receipts = server.send_set(&set).await;
    assert!(has(&receipts, "CEB622Message", "800"));
    // The last handle to the store is dropped on the runtime thread here: closing the
    // PostgreSQL connections must not panic.
    server.running.stop().await;
    tokio::task::spawn_blocking(move || store::PostgresStore::drop_schema(&url))
        .await
        .unwrap()
        .unwrap();
}
