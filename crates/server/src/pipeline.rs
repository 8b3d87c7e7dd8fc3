//! The ingest pipeline: one writer thread that owns the clearance engine.
//!
//! Callers (HTTP handlers, the CLI's offline modes, the benchmark) parse and validate messages on
//! their own threads, then hand them to the writer. The writer takes everything queued (up to
//! `max_batch`), appends it to the journal, applies it to the engine in journal order, and commits
//! journal entries, projections, receipts and the applied position in **one transaction** (group
//! commit: many messages share one fsync). Only then does it answer the callers. A message
//! acknowledged is therefore a message kept, and projections are never ahead of or behind the
//! journal. If the commit fails, the engine is restored from the store, so memory never runs ahead
//! of what is durable.
//!
//! The writer starts, and restarts after a failed commit, from a [`store::RestorePoint`]: the
//! engine state and the positions read in one snapshot, so the engine is exactly the state at the
//! position it continues from. Every batch names that position as its base, and the store
//! refuses a batch whose base is no longer its applied position (the late commit of a killed
//! writer landed, or another writer committed): a writer behind the store never overwrites
//! newer rows; it restores itself and goes on. On PostgreSQL the writer also holds the store's
//! writer lock for its lifetime, so a second writer refuses to start.
//!
//! Replaying the journal (`rebuild`) goes through exactly the same apply code with the recorded
//! receive times, so it ends in the same state, receipts byte for byte.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use domain::clearance::{Decider, Engine};
use domain::settings::Settings;
use domain::time::Timestamp;
use store::{Batch, JournalRecord, ReceiptRow, Store, StoreError};
use tokio::sync::oneshot;

use crate::intake::{self, Intake};
use crate::outlet;

/// What a submitter gets back once its message is durable.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub seq: i64,
    /// Every receipt the message caused, in order (its own acceptance or rejection first).
    pub receipts: Vec<ReceiptRow>,
    /// For a supervision action: what it did, or why the engine refused it.
    pub outcome: Option<domain::clearance::Outcome>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
    #[error("the ingest pipeline has stopped")]
    Stopped,
    #[error("engine state could not be restored: {0}")]
    Restore(String),
    /// The job holds text the store cannot keep or an XML answer cannot carry
    /// ([`intake::storable`]): refused before the journal, so it cannot fail a batch for others.
    #[error("{0}")]
    Refused(String),
    /// Another process is the writer of this store.
    #[error("cannot become the writer of this store: {0}")]
    Claim(StoreError),
}

/// One unit of work for the writer.
pub struct Job {
    pub sender: String,
    pub received_at_ms: i64,
    pub kind: String,
    pub guid: String,
    pub body: Vec<u8>,
    /// The already-parsed content (saves parsing twice on the live path).
    pub content: Intake,
    pub reply: Option<oneshot::Sender<Result<Accepted, PipelineError>>>,
    /// The audit log entry of this job (regulator actions, administration): its outcome is
    /// filled in from what the engine did, and it is committed with the journal entry.
    pub audit: Option<store::audit::AuditEntry>,
}

impl Job {
    /// A prepared CEB message from `sender` (its authenticated enterprise code).
    pub fn message(prepared: crate::intake::Prepared, sender: String, received_at_ms: i64) -> Job {
        Job {
            sender,
            received_at_ms,
            kind: prepared.kind,
            guid: prepared.guid,
            body: prepared.body,
            content: prepared.content,
            reply: None,
            audit: None,
        }
    }

    /// An administrative entry (filing, tariff, settings) with its parsed content.
    pub fn admin(kind: &str, body: Vec<u8>, content: Intake, received_at_ms: i64) -> Job {
        Job::staff(crate::auth::ADMIN, kind, body, content, received_at_ms)
    }

    /// An administrative or supervision entry journaled under `sender` (admin, a regulator, or an
    /// enterprise acting on its own listing).
    pub fn staff(
        sender: &str,
        kind: &str,
        body: Vec<u8>,
        content: Intake,
        received_at_ms: i64,
    ) -> Job {
        Job {
            sender: sender.to_string(),
            received_at_ms,
            kind: kind.to_string(),
            guid: format!("{kind}-{received_at_ms}"),
            body,
            content,
            reply: None,
            audit: None,
        }
    }

    /// The same job, written to the audit log with its outcome.
    pub fn audited(mut self, entry: store::audit::AuditEntry) -> Job {
        self.audit = Some(entry);
        self
    }
}

/// Settings of the writer.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub settings: Settings,
    /// The key of the keyed hash that identifies buyers (name + ID number) without storing them.
    pub buyer_secret: Vec<u8>,
    /// Most messages in one group commit.
    pub max_batch: usize,
    /// When a store written under older rules adopts the current ones at start (milliseconds
    /// since the epoch); default: now. The offline conformance mode sets its own clock.
    pub adopt_at_ms: Option<i64>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            settings: Settings::default(),
            buyer_secret: b"onewindow-development-secret".to_vec(),
            max_batch: 2048,
            adopt_at_ms: None,
        }
    }
}

/// A handle to the running writer. Cloning is cheap; dropping every handle stops the writer after
/// it has committed what it already took.
#[derive(Clone)]
pub struct Ingest {
    tx: Sender<Job>,
    commits: Arc<CommitHealth>,
}

/// Whether the writer's last commit went through. While it does not, every message is refused
/// (a full disk, a lost database), and the health check must say so rather than answer 200: an
/// outside probe saw every message refused with 503 while `/healthz` said all was well. It
/// clears at the next commit that succeeds (the next batch; senders retry a 503).
#[derive(Debug, Default)]
pub struct CommitHealth {
    failure: std::sync::Mutex<Option<String>>,
}

impl CommitHealth {
    fn note(&self, outcome: Result<(), &str>) {
        let mut failure = self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *failure = outcome.err().map(str::to_owned);
    }

    /// Why the last commit failed, if it did.
    pub fn last_failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Ingest {
    /// Queue a job; the answer arrives on the returned receiver once it is durable. A job whose
    /// text the store would refuse is refused here, on the caller's thread: one bad entry must
    /// never fail the group commit of everybody else's.
    pub fn submit(
        &self,
        mut job: Job,
    ) -> Result<oneshot::Receiver<Result<Accepted, PipelineError>>, PipelineError> {
        for text in [&job.sender, &job.kind, &job.guid] {
            if let Some((_, c)) = ceb::xml::first_forbidden_char(text) {
                return Err(PipelineError::Refused(format!(
                    "holds U+{:04X}, a character XML 1.0 does not allow",
                    u32::from(c)
                )));
            }
        }
        intake::storable(&job.kind, &job.body).map_err(PipelineError::Refused)?;
        let (tx, rx) = oneshot::channel();
        job.reply = Some(tx);
        self.tx.send(job).map_err(|_| PipelineError::Stopped)?;
        Ok(rx)
    }

    /// Why the writer's last commit failed, while it has not committed since.
    pub fn commit_failure(&self) -> Option<String> {
        self.commits.last_failure()
    }

    /// Submit and wait (for threads outside the async runtime).
    pub fn submit_blocking(&self, job: Job) -> Result<Accepted, PipelineError> {
        let rx = self.submit(job)?;
        rx.blocking_recv().map_err(|_| PipelineError::Stopped)?
    }
}

/// The running pipeline: the handle plus the writer thread.
pub struct Pipeline {
    pub ingest: Ingest,
    /// The settings in force when the engine was restored (a journaled change overrides the
    /// configured ones).
    pub settings: Settings,
    writer: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Restore the engine from the store and start the writer thread.
    pub fn start(
        store: Arc<dyn Store>,
        config: PipelineConfig,
        decider: Arc<dyn Decider + Send + Sync>,
    ) -> Result<Pipeline, PipelineError> {
        store.claim_writer().map_err(PipelineError::Claim)?;
        let (engine, positions) = restore(store.as_ref(), &config)?;
        let settings = engine.settings().clone();
        let upgrade = engine.rules_upgrade();
        let adopt_at_ms = config.adopt_at_ms.unwrap_or_else(crate::app::now_ms);
        let (tx, rx) = crossbeam_channel::bounded::<Job>(config.max_batch * 4);
        let commits = Arc::new(CommitHealth::default());
        let mut writer = Writer {
            commits: commits.clone(),
            store,
            engine,
            config,
            decider,
            journal_seq: positions.journal,
            receipt_seq: positions.receipt,
            epoch: 1,
        };
        let handle = std::thread::Builder::new()
            .name("onewindow-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| PipelineError::Restore(e.to_string()))?;
        let pipeline = Pipeline {
            settings,
            ingest: Ingest { tx, commits },
            writer: Some(handle),
        };
        if let Some(action) = upgrade {
            pipeline.adopt_rules(action, adopt_at_ms)?;
        }
        Ok(pipeline)
    }

    /// Journals the adoption of the current rules (ownership of record, consent to be named)
    /// by a store written under older ones — a fresh store too — before any other entry of this
    /// run: what was decided before stays decided as it was, on replay as well.
    fn adopt_rules(
        &self,
        action: domain::clearance::Action,
        at_ms: i64,
    ) -> Result<(), PipelineError> {
        let entry = crate::intake::ActionEntry {
            actor: domain::clearance::Actor::System,
            action,
        };
        let body = serde_json::to_vec(&entry).map_err(|e| PipelineError::Restore(e.to_string()))?;
        let job = Job::staff(
            "system",
            crate::intake::ACTION,
            body,
            crate::intake::Intake::Action(Box::new(entry)),
            at_ms,
        );
        let accepted = self.ingest.submit_blocking(job)?;
        match accepted.outcome {
            Some(Err(refused)) => Err(PipelineError::Restore(format!(
                "the current rules could not be adopted: {refused}"
            ))),
            _ => Ok(()),
        }
    }

    /// Stop accepting, let the writer commit what it holds, and wait for it.
    pub fn shutdown(mut self) {
        let Pipeline { ingest, writer, .. } = &mut self;
        let (dead_tx, _) = crossbeam_channel::bounded(1);
        *ingest = Ingest {
            tx: dead_tx,
            commits: ingest.commits.clone(),
        };
        if let Some(handle) = writer.take() {
            let _ = handle.join();
        }
    }
}

/// The engine and the positions it continues from, read from the store in one snapshot.
pub(crate) fn restore(
    store: &dyn Store,
    config: &PipelineConfig,
) -> Result<(Engine, store::Positions), PipelineError> {
    let point = store.restore_point()?;
    let positions = point.positions;
    if positions.applied != positions.journal {
        // Cannot happen with one-transaction commits; refuse rather than guess.
        return Err(PipelineError::Restore(format!(
            "projections do not reflect the journal ({positions}); run `onewindow rebuild`"
        )));
    }
    let rows = point
        .state
        .into_iter()
        .filter_map(|row| row.value.map(|v| (row.namespace, row.key, v)));
    let engine = Engine::restore(config.settings.clone(), config.buyer_secret.clone(), rows)
        .map_err(|e| PipelineError::Restore(format!("{e:?}")))?;
    Ok((engine, positions))
}

struct Writer {
    store: Arc<dyn Store>,
    commits: Arc<CommitHealth>,
    engine: Engine,
    config: PipelineConfig,
    decider: Arc<dyn Decider + Send + Sync>,
    journal_seq: i64,
    receipt_seq: i64,
    /// Incremented whenever the engine is restored after a failed commit. Batches applied in an
    /// older epoch build on state the store refused, so the committer fails them too.
    epoch: u64,
}

type Reply = oneshot::Sender<Result<Accepted, PipelineError>>;

/// What goes from the apply stage to the commit stage.
enum Stage {
    /// A batch applied in `epoch`, with the answers to send once it is durable.
    Commit {
        epoch: u64,
        batch: Box<Batch>,
        answers: Vec<(Option<Reply>, Accepted)>,
    },
    /// Answered once everything sent before it was committed or failed.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// The commit stage: commits batches in order and answers their senders. After a failure, every
/// batch of the same epoch is failed without being written.
fn committer(
    store: Arc<dyn Store>,
    commits: Arc<CommitHealth>,
    rx: Receiver<Stage>,
    failed_epoch: Arc<std::sync::atomic::AtomicU64>,
) {
    use std::sync::atomic::Ordering;
    for stage in rx {
        let (epoch, batch, answers) = match stage {
            Stage::Flush(done) => {
                let _ = done.send(());
                continue;
            }
            Stage::Commit {
                epoch,
                batch,
                answers,
            } => (epoch, batch, answers),
        };
        // Epochs start at 1, so 0 means "no failure yet".
        let outcome = if failed_epoch.load(Ordering::Acquire) == epoch {
            Err("an earlier batch this one builds on was not committed".to_string())
        } else {
            let committed = store.commit(&batch).map_err(|error| {
                tracing::error!(%error, "group commit failed; nothing of this batch was acknowledged");
                failed_epoch.store(epoch, Ordering::Release);
                error.to_string()
            });
            commits.note(committed.as_ref().map(|_| ()).map_err(String::as_str));
            committed
        };
        for (reply, answer) in answers {
            if let Some(reply) = reply {
                let _ = reply.send(match &outcome {
                    Ok(()) => Ok(answer),
                    Err(message) => Err(PipelineError::Store(StoreError::Other(message.clone()))),
                });
            }
        }
    }
}

impl Writer {
    /// The apply stage. It applies batch N+1 while the commit stage makes batch N durable (at most
    /// one batch waits between them), so applying and writing overlap. Nobody is answered before
    /// their batch is committed.
    fn run(&mut self, rx: Receiver<Job>) {
        use std::sync::atomic::Ordering;
        let failed_epoch = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (stage_tx, stage_rx) = crossbeam_channel::bounded::<Stage>(1);
        let committer_thread = {
            let store = self.store.clone();
            let commits = self.commits.clone();
            let failed = failed_epoch.clone();
            std::thread::Builder::new()
                .name("onewindow-commit".into())
                .spawn(move || committer(store, commits, stage_rx, failed))
        };
        let committer_thread = match committer_thread {
            Ok(handle) => handle,
            Err(error) => {
                tracing::error!(%error, "cannot start the commit thread");
                return;
            }
        };
        while let Ok(first) = rx.recv() {
            if failed_epoch.load(Ordering::Acquire) == self.epoch {
                self.recover(&stage_tx);
            }
            let mut jobs = vec![first];
            while jobs.len() < self.config.max_batch {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            let (batch, answers) = self.apply_jobs(jobs);
            let stage = Stage::Commit {
                epoch: self.epoch,
                batch: Box::new(batch),
                answers,
            };
            if stage_tx.send(stage).is_err() {
                break;
            }
        }
        drop(stage_tx);
        let _ = committer_thread.join();
    }

    /// After a failed commit: wait until the commit stage has dealt with everything in flight,
    /// then go back to what is durable.
    fn recover(&mut self, stage_tx: &Sender<Stage>) {
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        if stage_tx.send(Stage::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
        // Until both succeed the epoch stays failed, so every batch is refused without being
        // written and recovery is tried again on the next one: the service heals by itself when
        // the store comes back.
        match restore(self.store.as_ref(), &self.config) {
            Ok((engine, p)) => {
                self.engine = engine;
                self.journal_seq = p.journal;
                self.receipt_seq = p.receipt;
                self.epoch += 1;
            }
            Err(error) => tracing::error!(%error, "store unavailable; retrying on the next batch"),
        }
    }

    fn apply_jobs(&mut self, mut jobs: Vec<Job>) -> (Batch, Vec<(Option<Reply>, Accepted)>) {
        let mut batch = Batch {
            base: Some(self.journal_seq),
            ..Batch::default()
        };
        let mut answers = Vec::with_capacity(jobs.len());
        for job in &mut jobs {
            self.journal_seq += 1;
            let record = JournalRecord {
                seq: self.journal_seq,
                received_at_ms: job.received_at_ms,
                sender: std::mem::take(&mut job.sender),
                kind: std::mem::take(&mut job.kind),
                guid: std::mem::take(&mut job.guid),
                body: std::mem::take(&mut job.body),
            };
            let content = std::mem::replace(&mut job.content, Intake::Empty);
            if let Some(change) = crate::signatures::change_of(&record, &content) {
                batch.certificates.push(change);
            }
            let receipts = apply_record(
                &mut self.engine,
                self.decider.as_ref(),
                &record,
                content,
                &mut self.receipt_seq,
            );
            batch.receipts.extend(receipts.iter().cloned());
            batch.records.extend(intake::application_record(&record));
            let outcome = self.engine.take_outcome();
            if let Some(mut entry) = job.audit.take() {
                entry.outcome = crate::audit::outcome_text(outcome.as_ref());
                if outcome.is_none() {
                    entry.outcome = "ok".to_owned();
                }
                entry.detail = serde_json::json!({ "journal": record.seq }).to_string();
                batch.audit.push(entry);
            }
            answers.push((
                job.reply.take(),
                Accepted {
                    seq: record.seq,
                    receipts,
                    outcome,
                },
            ));
            batch.append.push(record);
        }
        batch.applied = self.journal_seq;
        outlet::changes_into_batch(self.engine.take_changes(), &mut batch);
        (batch, answers)
    }
}

/// Apply one journal record to the engine and turn what it emits into receipt rows. Shared by the
/// live path and the rebuild, so both produce identical receipts.
pub fn apply_record(
    engine: &mut Engine,
    decider: &dyn Decider,
    record: &JournalRecord,
    content: Intake,
    receipt_seq: &mut i64,
) -> Vec<ReceiptRow> {
    let now = Timestamp(record.received_at_ms);
    let content = match content {
        Intake::Empty => intake::from_record(record),
        parsed => parsed,
    };
    let mut rows = Vec::new();
    for command in intake::commands(content, &record.sender) {
        for receipt in engine.apply(command, now, decider) {
            outlet::receipt_rows(&receipt, now, receipt_seq, &mut rows);
        }
    }
    rows
}

/// `onewindow rebuild`: drop every projection and replay the whole journal through the engine.
/// Returns the number of journal entries replayed.
pub fn rebuild(
    store: &dyn Store,
    config: &PipelineConfig,
    decider: &dyn Decider,
) -> Result<i64, PipelineError> {
    store.claim_writer().map_err(PipelineError::Claim)?;
    store.reset_projections()?;
    // Start exactly as a fresh live store does (restore from nothing), so that the rows the
    // replay writes are the rows the live path wrote.
    let mut engine = Engine::restore(
        config.settings.clone(),
        config.buyer_secret.clone(),
        std::iter::empty(),
    )
    .map_err(|e| PipelineError::Restore(e.to_string()))?;
    let mut receipt_seq = 0;
    let mut after = 0;
    let mut replayed = 0;
    loop {
        let records = store.journal_after(after, config.max_batch)?;
        let Some(last) = records.last() else { break };
        let last_seq = last.seq;
        let mut batch = Batch {
            base: Some(after),
            ..Batch::default()
        };
        for record in &records {
            if let Some(change) = crate::signatures::change_of(record, &Intake::Empty) {
                batch.certificates.push(change);
            }
            let rows = apply_record(
                &mut engine,
                decider,
                record,
                Intake::Empty,
                &mut receipt_seq,
            );
            batch.receipts.extend(rows);
            batch.records.extend(intake::application_record(record));
            let _ = engine.take_outcome();
        }
        batch.applied = last_seq;
        outlet::changes_into_batch(engine.take_changes(), &mut batch);
        store.commit(&batch)?;
        replayed += records.len() as i64;
        after = last_seq;
    }
    Ok(replayed)
}
