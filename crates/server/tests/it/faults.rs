//! A store that fails: nothing of a failed group commit is acknowledged, what was applied on top
//! of it is refused too, and the pipeline heals by itself when the store comes back. And a store
//! where the last commit of a killed writer lands late, while its successor restores itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use domain::clearance::ReleaseAll;
use ingest::intake;
use ingest::pipeline::{Job, Pipeline, PipelineConfig};
use store::{Access, Audit, Clearance, Journal, Maintenance, Records, Statistics};
use store::{
    Batch, CredentialRow, DeclarationRow, EnterpriseRow, JournalRecord, Positions, QuotaRow,
    ReceiptRow, RecordQuery, RecordRow, Result, StateRow, Store, StoreError, TaxBillRow,
};
use traffic::{Case, Generator, Mix};

use crate::support::now_ms;

/// Delegates to a real store; `commit` fails while `down` is set (like a full disk). While
/// `hold` is set, `commit` keeps the batch instead of writing it and fails: the writer was killed
/// with its `COMMIT` on the way. With `land_after_restore_read` set, that batch is written right
/// after the next restore read returns: the killed writer's slow commit lands while its
/// successor restores itself.
struct Flaky {
    inner: Arc<dyn Store>,
    down: AtomicBool,
    hold: AtomicBool,
    held: Mutex<Option<Batch>>,
    land_after_restore_read: AtomicBool,
}

impl Flaky {
    fn over(inner: Arc<dyn Store>) -> Flaky {
        Flaky {
            inner,
            down: AtomicBool::new(false),
            hold: AtomicBool::new(false),
            held: Mutex::new(None),
            land_after_restore_read: AtomicBool::new(false),
        }
    }

    /// The late commit lands, if it is its moment.
    fn land(&self) {
        if self.land_after_restore_read.swap(false, Ordering::SeqCst) {
            let batch = self.held.lock().unwrap().take().expect("a held batch");
            self.inner.commit(&batch).expect("the late commit lands");
        }
    }
}

impl Journal for Flaky {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn positions(&self) -> Result<Positions> {
        self.inner.positions()
    }
    fn commit(&self, batch: &Batch) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Other("disk full (simulated)".into()));
        }
        if self.hold.load(Ordering::SeqCst) {
            *self.held.lock().unwrap() = Some(batch.clone());
            return Err(StoreError::Other(
                "killed before the commit returned".into(),
            ));
        }
        self.inner.commit(batch)
    }
    fn journal_after(&self, after: i64, limit: usize) -> Result<Vec<JournalRecord>> {
        self.inner.journal_after(after, limit)
    }
    fn load_state(&self) -> Result<Vec<StateRow>> {
        self.inner.load_state()
    }
    fn restore_point(&self) -> Result<store::RestorePoint> {
        let point = self.inner.restore_point();
        self.land();
        point
    }
    fn claim_writer(&self) -> Result<()> {
        self.inner.claim_writer()
    }
    fn state_value(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.state_value(namespace, key)
    }
}

impl Clearance for Flaky {
    fn declaration(&self, id: &str) -> Result<Option<DeclarationRow>> {
        self.inner.declaration(id)
    }
    fn declarations(
        &self,
        party: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeclarationRow>> {
        self.inner.declarations(party, after, limit)
    }
    fn receipts_after(
        &self,
        recipient: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ReceiptRow>> {
        self.inner.receipts_after(recipient, after, limit)
    }
    fn receipts_of(&self, declaration_id: &str) -> Result<Vec<ReceiptRow>> {
        self.inner.receipts_of(declaration_id)
    }
    fn quota(&self, buyer_key: &str, year: i32) -> Result<Option<QuotaRow>> {
        self.inner.quota(buyer_key, year)
    }
    fn tax_bill(&self, invt_no: &str) -> Result<Option<TaxBillRow>> {
        self.inner.tax_bill(invt_no)
    }
    fn tax_bills(&self, party: Option<&str>, limit: usize) -> Result<Vec<TaxBillRow>> {
        self.inner.tax_bills(party, limit)
    }
    fn declaration_status_counts(&self) -> Result<Vec<(i32, i64)>> {
        self.inner.declaration_status_counts()
    }
}

impl Records for Flaky {
    fn enterprises(&self) -> Result<Vec<EnterpriseRow>> {
        self.inner.enterprises()
    }
    fn enterprise(&self, code: &str) -> Result<Option<EnterpriseRow>> {
        self.inner.enterprise(code)
    }
    fn record(&self, kind: &str, key: &str) -> Result<Option<RecordRow>> {
        self.inner.record(kind, key)
    }
    fn records(&self, query: &RecordQuery<'_>) -> Result<Vec<RecordRow>> {
        self.inner.records(query)
    }
    fn count_records(&self, kind: &str, status: Option<&str>) -> Result<i64> {
        self.inner.count_records(kind, status)
    }
    fn certificates(&self, enterprise: Option<&str>) -> Result<Vec<store::CertificateRow>> {
        self.inner.certificates(enterprise)
    }
}

impl Statistics for Flaky {
    fn stat_query(&self, query: &store::StatQuery<'_>) -> Result<Vec<store::StatRow>> {
        self.inner.stat_query(query)
    }
}

impl Access for Flaky {
    fn put_credential(&self, credential: &CredentialRow) -> Result<()> {
        self.inner.put_credential(credential)
    }
    fn credential_by_hash(&self, token_hash: &str) -> Result<Option<CredentialRow>> {
        self.inner.credential_by_hash(token_hash)
    }
    fn credentials_of(&self, subject: &str) -> Result<Vec<CredentialRow>> {
        self.inner.credentials_of(subject)
    }
    fn revoke_credential(&self, key_id: &str, at_ms: i64) -> Result<bool> {
        self.inner.revoke_credential(key_id, at_ms)
    }
    fn put_user(&self, user: &store::UserRow) -> Result<()> {
        self.inner.put_user(user)
    }
    fn user(&self, username: &str) -> Result<Option<store::UserRow>> {
        self.inner.user(username)
    }
    fn users(&self) -> Result<Vec<store::UserRow>> {
        self.inner.users()
    }
    fn set_user_disabled(&self, username: &str, at: Option<i64>) -> Result<bool> {
        self.inner.set_user_disabled(username, at)
    }
    fn set_user_password(&self, username: &str, hash: &str) -> Result<bool> {
        self.inner.set_user_password(username, hash)
    }
    fn put_session(&self, session: &store::SessionRow) -> Result<()> {
        self.inner.put_session(session)
    }
    fn session(&self, token_hash: &str) -> Result<Option<store::SessionRow>> {
        self.inner.session(token_hash)
    }
    fn touch_session(&self, token_hash: &str, at: i64) -> Result<()> {
        self.inner.touch_session(token_hash, at)
    }
    fn delete_session(&self, token_hash: &str) -> Result<bool> {
        self.inner.delete_session(token_hash)
    }
    fn delete_sessions_of(&self, username: &str) -> Result<usize> {
        self.inner.delete_sessions_of(username)
    }
    fn delete_expired_sessions(&self, idle_before: i64, created_before: i64) -> Result<usize> {
        self.inner
            .delete_expired_sessions(idle_before, created_before)
    }
    fn credential(&self, key_id: &str) -> Result<Option<CredentialRow>> {
        self.inner.credential(key_id)
    }
}

impl Audit for Flaky {
    fn append_audit(
        &self,
        entries: &[store::audit::AuditEntry],
    ) -> Result<Vec<store::audit::AuditRecord>> {
        self.inner.append_audit(entries)
    }
    fn audit(
        &self,
        query: &store::audit::AuditQuery<'_>,
    ) -> Result<Vec<store::audit::AuditRecord>> {
        self.inner.audit(query)
    }
}

impl Maintenance for Flaky {
    fn reset_projections(&self) -> Result<()> {
        self.inner.reset_projections()
    }
    fn projection_digest(&self) -> Result<String> {
        self.inner.projection_digest()
    }
    fn key_usage(&self) -> Result<Vec<store::KeyUsage>> {
        self.inner.key_usage()
    }
    fn reseal(
        &self,
        table: store::SealedTable,
        after: Option<&store::RowKey>,
        limit: usize,
    ) -> Result<store::ResealStep> {
        self.inner.reseal(table, after, limit)
    }
    fn vacuum(&self) -> Result<()> {
        self.inner.vacuum()
    }
}

fn job(message: &traffic::GeneratedMessage) -> Job {
    let prepared = intake::prepare(
        message.xml.as_bytes(),
        false,
        &ceb::Limits::default(),
        Some(&message.sender),
        now_ms(),
        &crate::support::demo_gate(),
    )
    .unwrap();
    Job::message(prepared, message.sender.clone(), now_ms())
}

#[test]
fn a_failed_commit_is_not_acknowledged_and_the_pipeline_heals_when_the_store_returns() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(store::KeyRing::generate("test").unwrap());
    let inner = store::open(
        &format!("sqlite:{}", dir.path().join("ow.db").display()),
        keys,
    )
    .unwrap();
    let flaky = Arc::new(Flaky::over(inner.clone()));
    let pipeline = Pipeline::start(
        flaky.clone(),
        PipelineConfig::default(),
        Arc::new(ReleaseAll),
    )
    .unwrap();
    let registry = traffic::registry_csv();
    pipeline
        .ingest
        .submit_blocking(Job::admin(
            intake::FILING,
            registry.clone().into_bytes(),
            intake::admin_content(intake::FILING, registry.as_bytes(), now_ms()).unwrap(),
            now_ms(),
        ))
        .unwrap();
    let before = inner.positions().unwrap();
    let set = Generator::new(21, Mix::default()).set_of(Case::Clean, now_ms());

    // The store is down: every message is refused, nothing is journalled.
    flaky.down.store(true, Ordering::SeqCst);
    for message in &set.messages {
        assert!(
            pipeline.ingest.submit_blocking(job(message)).is_err(),
            "not acknowledged"
        );
    }
    assert_eq!(
        inner.positions().unwrap(),
        before,
        "nothing of the failed batches is kept"
    );

    // The store is back: the same messages go through as if the failed ones never happened
    // (no duplicate rejections from engine state the store never saw).
    flaky.down.store(false, Ordering::SeqCst);
    let mut receipts = Vec::new();
    for message in &set.messages {
        let accepted = pipeline.ingest.submit_blocking(job(message)).unwrap();
        receipts.extend(accepted.receipts);
    }
    assert!(
        receipts
            .iter()
            .any(|r| r.message_type == "CEB622Message" && r.return_status == "800"),
        "released after recovery"
    );
    assert!(
        receipts
            .iter()
            .all(|r| r.return_status != "100" && !r.return_status.starts_with('-'))
    );
    let after = inner.positions().unwrap();
    assert_eq!(after.journal, before.journal + set.messages.len() as i64);
    assert_eq!(after.applied, after.journal);
    pipeline.shutdown();
}

/// Finding 3 of "Close the holes": the writer read the engine state and the journal positions in
/// two snapshots. A slow commit of the killed writer that landed between them left the engine
/// behind the position it believed it had, and its next commit overwrote newer rows: here, the
/// buyer's quota lost the declaration that late commit released. Now the state and positions
/// come from one snapshot and a commit is refused if the store moved on since the batch's base,
/// so the successor restores itself (nothing acknowledged on the way) and the ledger is whole.
fn a_late_commit_of_a_killed_writer_is_never_overwritten(inner: Arc<dyn Store>) {
    let config = PipelineConfig::default();
    let registry = traffic::registry_csv();
    // One clock reading for the content and the entry: a filing without `filed_on` is filed at
    // the entry's time, which is what a rebuild reads back.
    let filing = || {
        let at = now_ms();
        Job::admin(
            intake::FILING,
            registry.clone().into_bytes(),
            intake::admin_content(intake::FILING, registry.as_bytes(), at).unwrap(),
            at,
        )
    };
    // One buyer's run of declarations (four messages each); the first two fit the annual limit.
    let run = Generator::new(33, Mix::default()).set_of(Case::OverAnnualLimit, now_ms());
    let (first, second) = (&run.messages[0..4], &run.messages[4..8]);

    // The writer that will be killed: its last commit (the message completing the first
    // declaration, which releases it and reserves its quota) is on the way when it dies.
    let killed = Arc::new(Flaky::over(inner.clone()));
    let pipeline = Pipeline::start(killed.clone(), config.clone(), Arc::new(ReleaseAll)).unwrap();
    pipeline.ingest.submit_blocking(filing()).unwrap();
    for message in &first[..3] {
        pipeline.ingest.submit_blocking(job(message)).unwrap();
    }
    killed.hold.store(true, Ordering::SeqCst);
    assert!(pipeline.ingest.submit_blocking(job(&first[3])).is_err());
    pipeline.shutdown();

    // Its successor starts; the late commit lands right after the successor's first read.
    let successor = Arc::new(Flaky::over(inner.clone()));
    *successor.held.lock().unwrap() = killed.held.lock().unwrap().take();
    successor
        .land_after_restore_read
        .store(true, Ordering::SeqCst);
    let pipeline =
        Pipeline::start(successor.clone(), config.clone(), Arc::new(ReleaseAll)).unwrap();
    let mut refused = 0;
    for message in second {
        // A refusal acknowledges nothing; the sender tries again, as a client does after a 503.
        loop {
            match pipeline.ingest.submit_blocking(job(message)) {
                Ok(_) => break,
                Err(_) => {
                    refused += 1;
                    assert!(refused < 3, "the writer did not restore itself");
                }
            }
        }
    }
    pipeline.shutdown();
    assert_eq!(
        refused, 1,
        "the successor's first commit, built on a position the store had moved past, is refused"
    );

    // Both declarations are released and the buyer's quota holds both.
    let rows = inner.declarations(None, None, 100).unwrap();
    let released: Vec<_> = rows.iter().filter(|d| d.status == 800).collect();
    assert_eq!(released.len(), 2, "both declarations released: {rows:?}");
    let buyer = released[0].buyer_key.clone().unwrap();
    assert!(
        released
            .iter()
            .all(|d| d.buyer_key.as_ref() == Some(&buyer))
    );
    let year = domain::time::Timestamp(now_ms()).beijing_date().year;
    let used = inner
        .quota(&buyer, year)
        .unwrap()
        .map_or(0, |q| q.used_minor);
    assert_eq!(
        used,
        released.iter().map(|d| d.value_minor).sum::<i64>(),
        "the live quota ledger holds both released declarations"
    );
    // And the live projections are what the journal says.
    let live = inner.projection_digest().unwrap();
    ingest::pipeline::rebuild(inner.as_ref(), &config, &ReleaseAll).unwrap();
    assert_eq!(
        inner.projection_digest().unwrap(),
        live,
        "live state equals a rebuild"
    );
}

#[test]
fn a_late_commit_of_a_killed_writer_is_never_overwritten_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(store::KeyRing::generate("test").unwrap());
    let inner = store::open(
        &format!("sqlite:{}", dir.path().join("ow.db").display()),
        keys,
    )
    .unwrap();
    a_late_commit_of_a_killed_writer_is_never_overwritten(inner);
}

#[test]
fn a_late_commit_of_a_killed_writer_is_never_overwritten_postgres() {
    let Some(url) = crate::support::postgres_url("late_commit") else {
        return;
    };
    let keys = Arc::new(store::KeyRing::generate("test").unwrap());
    let inner = store::open(&url, keys).unwrap();
    a_late_commit_of_a_killed_writer_is_never_overwritten(inner);
    store::PostgresStore::drop_schema(&url).unwrap();
}
