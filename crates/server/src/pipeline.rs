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
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
    #[error("the ingest pipeline has stopped")]
    Stopped,
    #[error("engine state could not be restored: {0}")]
    Restore(String),
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
}

/// Settings of the writer.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub settings: Settings,
    /// The key of the keyed hash that identifies buyers (name + ID number) without storing them.
    pub buyer_secret: Vec<u8>,
    /// Most messages in one group commit.
    pub max_batch: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            settings: Settings::default(),
            buyer_secret: b"onewindow-development-secret".to_vec(),
            max_batch: 2048,
        }
    }
}

/// A handle to the running writer. Cloning is cheap; dropping every handle stops the writer after
/// it has committed what it already took.
#[derive(Clone)]
pub struct Ingest {
    tx: Sender<Job>,
}

impl Ingest {
    /// Queue a job; the answer arrives on the returned receiver once it is durable.
    pub fn submit(
        &self,
        mut job: Job,
    ) -> Result<oneshot::Receiver<Result<Accepted, PipelineError>>, PipelineError> {
        let (tx, rx) = oneshot::channel();
        job.reply = Some(tx);
        self.tx.send(job).map_err(|_| PipelineError::Stopped)?;
        Ok(rx)
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
        let engine = restore_engine(store.as_ref(), &config)?;
        let positions = store.positions()?;
        if positions.applied != positions.journal {
            // Cannot happen with one-transaction commits; refuse rather than guess.
            return Err(PipelineError::Restore(format!(
                "projections do not reflect the journal ({positions}); run `onewindow rebuild`"
            )));
        }
        let settings = engine.settings().clone();
        let (tx, rx) = crossbeam_channel::bounded::<Job>(config.max_batch * 4);
        let mut writer = Writer {
            store,
            engine,
            config,
            decider,
            journal_seq: positions.journal,
            receipt_seq: positions.receipt,
        };
        let handle = std::thread::Builder::new()
            .name("onewindow-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| PipelineError::Restore(e.to_string()))?;
        Ok(Pipeline {
            settings,
            ingest: Ingest { tx },
            writer: Some(handle),
        })
    }

    /// Stop accepting, let the writer commit what it holds, and wait for it.
    pub fn shutdown(mut self) {
        let Pipeline { ingest, writer, .. } = &mut self;
        let (dead_tx, _) = crossbeam_channel::bounded(1);
        *ingest = Ingest { tx: dead_tx };
        if let Some(handle) = writer.take() {
            let _ = handle.join();
        }
    }
}

fn restore_engine(store: &dyn Store, config: &PipelineConfig) -> Result<Engine, PipelineError> {
    let rows = store
        .load_state()?
        .into_iter()
        .filter_map(|row| row.value.map(|v| (row.namespace, row.key, v)));
    Engine::restore(config.settings.clone(), config.buyer_secret.clone(), rows)
        .map_err(|e| PipelineError::Restore(format!("{e:?}")))
}

struct Writer {
    store: Arc<dyn Store>,
    engine: Engine,
    config: PipelineConfig,
    decider: Arc<dyn Decider + Send + Sync>,
    journal_seq: i64,
    receipt_seq: i64,
}

impl Writer {
    fn run(&mut self, rx: Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            while jobs.len() < self.config.max_batch {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            self.commit_jobs(jobs);
        }
    }

    fn commit_jobs(&mut self, mut jobs: Vec<Job>) {
        let mut batch = Batch::default();
        let mut answers = Vec::with_capacity(jobs.len());
        let start_journal = self.journal_seq;
        let start_receipt = self.receipt_seq;
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
            let receipts = apply_record(
                &mut self.engine,
                self.decider.as_ref(),
                &record,
                content,
                &mut self.receipt_seq,
            );
            batch.receipts.extend(receipts.iter().cloned());
            answers.push(Accepted {
                seq: record.seq,
                receipts,
            });
            batch.append.push(record);
        }
        batch.applied = self.journal_seq;
        outlet::changes_into_batch(self.engine.take_changes(), &mut batch);
        match self.store.commit(&batch) {
            Ok(()) => {
                for (job, answer) in jobs.into_iter().zip(answers) {
                    if let Some(reply) = job.reply {
                        let _ = reply.send(Ok(answer));
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, "group commit failed; nothing of this batch was acknowledged");
                self.journal_seq = start_journal;
                self.receipt_seq = start_receipt;
                let message = error.to_string();
                for job in jobs {
                    if let Some(reply) = job.reply {
                        let _ = reply.send(Err(PipelineError::Store(StoreError::Other(
                            message.clone(),
                        ))));
                    }
                }
                // The engine applied what the store refused: go back to what is durable.
                match restore_engine(self.store.as_ref(), &self.config) {
                    Ok(engine) => self.engine = engine,
                    Err(e) => {
                        tracing::error!(error = %e, "engine restore failed; retrying on next batch")
                    }
                }
                if let Ok(p) = self.store.positions() {
                    self.journal_seq = p.journal;
                    self.receipt_seq = p.receipt;
                }
            }
        }
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
        let mut batch = Batch::default();
        for record in &records {
            let rows = apply_record(
                &mut engine,
                decider,
                record,
                Intake::Empty,
                &mut receipt_seq,
            );
            batch.receipts.extend(rows);
        }
        batch.applied = last_seq;
        outlet::changes_into_batch(engine.take_changes(), &mut batch);
        store.commit(&batch)?;
        replayed += records.len() as i64;
        after = last_seq;
    }
    Ok(replayed)
}
