//! `onewindow bench`: generated import declarations through the whole path — parse, validate,
//! journal, match, limits, tax, receipts, projections — on the embedded store and on PostgreSQL.
//! Prints declarations per second, latency percentiles from the last document of a declaration to
//! its final receipt, and, from the same run, the rate of parsing alone and of signature
//! verification alone. The generator signs every CEB621 before timing starts; the runs verify
//! them (`--signatures required`, the default) or not (`off`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use domain::clearance::Supervised;
use ingest::clock::now_ms;
use ingest::intake;
use ingest::pipeline::{Accepted, Job, Pipeline, PipelineConfig, PipelineError};
use tokio::sync::oneshot;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// How many declarations (each four messages: order, payment, waybill, inventory).
    #[arg(long, default_value_t = 20_000)]
    pub declarations: usize,
    /// Stores to measure: `sqlite` (a fresh file in a temporary directory) and/or PostgreSQL URLs.
    /// Each PostgreSQL run uses a fresh schema in that database.
    #[arg(long, default_values_t = vec!["sqlite".to_string()])]
    pub store: Vec<String>,
    /// Threads that parse and validate messages before the single writer.
    #[arg(long, default_value_t = 2)]
    pub submitters: usize,
    /// Skip the paced second run (latency at half the measured rate).
    #[arg(long)]
    pub no_paced: bool,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Risk rules during the runs: `on` (every rule of docs/risk-rules.md inline, the default
    /// configuration) and/or `off` (every rule switched off); both to compare their cost.
    #[arg(long, default_values_t = vec!["on".to_string()])]
    pub rules: Vec<String>,
    /// Signature checks during the runs: `required` (the default setting: every CEB621 is
    /// verified against the demo certificates, filed first) and/or `off`; both to compare their
    /// cost. The generator signs before timing starts either way.
    #[arg(long, default_values_t = vec!["required".to_string()])]
    pub signatures: Vec<String>,
}

struct Message {
    sender: String,
    body: Vec<u8>,
    /// The declaration this message belongs to, and whether it is its last message.
    set: usize,
    last: bool,
}

fn generate(n: usize, seed: u64) -> Vec<Message> {
    let mix = traffic::Mix {
        bad_share_per_mille: 0,
        shuffle_arrival: true,
        ..Default::default()
    };
    let mut generator = traffic::Generator::new(seed, mix);
    let now = now_ms();
    let mut messages = Vec::with_capacity(n * 4);
    for set in 0..n {
        let generated = generator.next_set(now);
        let count = generated.messages.len();
        for (i, m) in generated.messages.into_iter().enumerate() {
            messages.push(Message {
                sender: m.sender,
                body: m.xml.into_bytes(),
                set,
                last: i + 1 == count,
            });
        }
    }
    messages
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Parse and validate every message, on `threads` threads; returns messages per second.
fn parse_rate(messages: &[Message], threads: usize) -> f64 {
    let limits = ceb::Limits::default();
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(m) = messages.get(i) else { break };
                    let _ = std::hint::black_box(ceb::parse(&m.body, &limits).is_ok());
                }
            });
        }
    });
    messages.len() as f64 / start.elapsed().as_secs_f64()
}

/// Seal then open every message body on one thread, as the store does for each journal entry
/// (AES-256-GCM, a fresh nonce each); returns (messages per second, MiB per second).
fn seal_rate(messages: &[Message]) -> anyhow::Result<(f64, f64)> {
    let keys = store::KeyRing::generate("bench")?;
    let start = Instant::now();
    let mut bytes = 0usize;
    for (i, m) in messages.iter().enumerate() {
        let ctx = store::seal::Context::Journal(i as i64);
        let sealed = keys.seal(&m.body, ctx)?;
        let opened = keys.open(&sealed, ctx)?;
        bytes += std::hint::black_box(opened.len());
    }
    let secs = start.elapsed().as_secs_f64();
    Ok((
        messages.len() as f64 / secs,
        bytes as f64 / (1024.0 * 1024.0) / secs,
    ))
}

struct RunResult {
    declarations_per_s: f64,
    latencies: Vec<Duration>,
    released: usize,
    elapsed: Duration,
    /// Rejection receipts by message type and code (generated traffic is meant to be clean).
    reasons: std::collections::BTreeMap<String, usize>,
}

type Pending = (
    usize,
    bool,
    Instant,
    oneshot::Receiver<Result<Accepted, PipelineError>>,
);

/// Verify the signature of every signed message on one thread; returns verifications per
/// second and how many there were.
fn verify_rate(messages: &[Message]) -> (f64, usize) {
    let signed: Vec<&Message> = messages
        .iter()
        .filter(|m| m.body.windows(13).any(|w| w == b"<ds:Signature"))
        .collect();
    let start = Instant::now();
    for m in &signed {
        let _ = std::hint::black_box(ceb::dsig::verify_bytes(&m.body).is_ok());
    }
    (
        signed.len() as f64 / start.elapsed().as_secs_f64(),
        signed.len(),
    )
}

/// File every demo enterprise's test certificate (journal entries, as an administrator would).
/// File the demo enterprises' test certificates (journaled, as the administrator would).
pub(crate) fn file_demo_certificates(
    ingest: &ingest::pipeline::Ingest,
    at_ms: i64,
) -> anyhow::Result<()> {
    for (code, certificate) in traffic::demo_certificates() {
        let entry = ingest::signatures::CertificateEntry::file(code, certificate);
        ingest.submit_blocking(Job::admin(
            ingest::signatures::CERTIFICATE,
            entry.to_json(),
            intake::Intake::Certificate(Box::new(entry)),
            at_ms,
        ))?;
    }
    Ok(())
}

/// One run through the whole path; `pace`: declarations per second to offer (None: as fast as possible).
#[allow(clippy::too_many_arguments)]
fn run_once(
    target: &str,
    messages: &[Message],
    sets: usize,
    submitters: usize,
    pace: Option<f64>,
    rules_on: bool,
    signatures: domain::settings::SignaturePolicy,
) -> anyhow::Result<RunResult> {
    // A scratch store: a fresh random data key, as a first start creates.
    let keys = Arc::new(store::KeyRing::generate("bench")?);
    let store = store::open(target, keys).with_context(|| format!("opening {target}"))?;
    let pipeline = Pipeline::start(
        store.clone(),
        PipelineConfig::default(),
        Arc::new(Supervised),
    )?;
    let filing =
        intake::admin_content(intake::FILING, traffic::registry_csv().as_bytes(), now_ms())
            .map_err(|e| anyhow::anyhow!(e))?;
    pipeline.ingest.submit_blocking(Job::admin(
        intake::FILING,
        traffic::registry_csv().into_bytes(),
        filing,
        now_ms(),
    ))?;
    if !rules_on {
        for rule in domain::risk::RuleId::ALL {
            let entry = intake::ActionEntry {
                actor: domain::clearance::Actor::Regulator(domain::subject::Department::Customs),
                action: domain::clearance::Action::ConfigureRule {
                    rule: rule.code().to_string(),
                    mode: Some(domain::risk::RuleMode::Off),
                    score: None,
                    params: None,
                },
            };
            let body = serde_json::to_vec(&entry)?;
            let content = intake::Intake::Action(Box::new(entry));
            let accepted = pipeline.ingest.submit_blocking(Job::staff(
                "regulator:customs",
                intake::ACTION,
                body,
                content,
                now_ms(),
            ))?;
            if let Some(Err(e)) = accepted.outcome {
                anyhow::bail!("switching {} off: {e}", rule.code());
            }
        }
    }
    file_demo_certificates(&pipeline.ingest, now_ms())?;
    let gate = ingest::signatures::Gate::new(
        signatures,
        Arc::new(ingest::signatures::Certificates::load(store.as_ref())?),
    );
    let limits = ceb::Limits::default();
    let (pending_tx, pending_rx) = std::sync::mpsc::sync_channel::<Pending>(65_536);
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let collector = std::thread::spawn(move || {
        // Per declaration: when its last message was sent, and when its release came back.
        let mut last_sent: Vec<Option<Instant>> = vec![None; sets];
        let mut released_at: Vec<Option<Instant>> = vec![None; sets];
        let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
        for (set, _last, sent, rx) in pending_rx {
            if let Some(slot) = last_sent.get_mut(set) {
                *slot = Some(slot.map_or(sent, |t: Instant| t.max(sent)));
            }
            let Ok(Ok(accepted)) = rx.blocking_recv() else {
                *reasons.entry("not acknowledged".into()).or_default() += 1;
                continue;
            };
            let now = Instant::now();
            for r in &accepted.receipts {
                if r.message_type == "CEB622Message" && r.return_status == "800" {
                    if let Some(slot) = released_at.get_mut(set) {
                        slot.get_or_insert(now);
                    }
                } else if r.return_status == "100" || r.return_status.starts_with('-') {
                    let info: serde_json::Value = serde_json::from_str(&r.json).unwrap_or_default();
                    let info = info["returnInfo"].as_str().unwrap_or("").to_string();
                    let code = info.split(';').next().unwrap_or("").to_string();
                    *reasons
                        .entry(format!("{} {code}", r.message_type))
                        .or_default() += 1;
                }
            }
        }
        let latencies: Vec<Duration> = last_sent
            .iter()
            .zip(&released_at)
            .filter_map(|(sent, done)| {
                Some(done.as_ref()?.saturating_duration_since(*sent.as_ref()?))
            })
            .collect();
        let released = released_at.iter().filter(|r| r.is_some()).count();
        (latencies, released, reasons)
    });
    let per_message = pace.map(|rate| Duration::from_secs_f64(1.0 / (rate * 4.0)));
    std::thread::scope(|scope| {
        for _ in 0..submitters.max(1) {
            let tx = pending_tx.clone();
            let ingest = pipeline.ingest.clone();
            let (limits, next, gate) = (&limits, &next, &gate);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(m) = messages.get(i) else { break };
                    if let Some(step) = per_message {
                        let due = start + step * (i as u32);
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                    }
                    let sent = Instant::now();
                    let Ok(prepared) =
                        intake::prepare(&m.body, false, limits, Some(&m.sender), now_ms(), gate)
                    else {
                        continue;
                    };
                    let job = Job::message(prepared, m.sender.clone(), now_ms());
                    match ingest.submit(job) {
                        Ok(rx) => {
                            let _ = tx.send((m.set, m.last, sent, rx));
                        }
                        Err(_) => break,
                    }
                }
            });
        }
    });
    drop(pending_tx);
    let (mut latencies, released, reasons) = collector
        .join()
        .map_err(|_| anyhow::anyhow!("collector thread failed"))?;
    let elapsed = start.elapsed();
    pipeline.shutdown();
    latencies.sort();
    Ok(RunResult {
        declarations_per_s: sets as f64 / elapsed.as_secs_f64(),
        latencies,
        released,
        elapsed,
        reasons,
    })
}

fn report(label: &str, r: &RunResult) {
    println!(
        "  {label}: {:.0} declarations/s ({} released in {:.2} s); latency last document → final receipt p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        r.declarations_per_s,
        r.released,
        r.elapsed.as_secs_f64(),
        ms(percentile(&r.latencies, 50.0)),
        ms(percentile(&r.latencies, 95.0)),
        ms(percentile(&r.latencies, 99.0)),
        ms(r.latencies.last().copied().unwrap_or_default()),
    );
    if !r.reasons.is_empty() {
        println!("    rejections: {:?}", r.reasons);
    }
}

/// Remove a run's scratch store: its directory (SQLite) or its schema (PostgreSQL).
fn discard(target: &str, dir: Option<std::path::PathBuf>) {
    match dir {
        Some(dir) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        None => {
            if let Err(error) = store::PostgresStore::drop_schema(target) {
                eprintln!("  (could not drop the scratch schema: {error})");
            }
        }
    }
}

fn scratch_target(
    store: &str,
    round: usize,
) -> anyhow::Result<(String, Option<std::path::PathBuf>)> {
    if store == "sqlite" {
        let dir = std::env::temp_dir().join(format!(
            "onewindow-bench-{}-{}-{round}",
            std::process::id(),
            now_ms()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok((
            format!("sqlite:{}", dir.join("bench.db").display()),
            Some(dir),
        ))
    } else {
        let sep = if store.contains('?') { '&' } else { '?' };
        Ok((
            format!(
                "{store}{sep}schema=bench_{}_{}_{round}",
                std::process::id(),
                now_ms()
            ),
            None,
        ))
    }
}

pub fn run(args: &BenchArgs) -> anyhow::Result<std::process::ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "onewindow bench: {} declarations (4 messages each, 1–5 lines), {} submitter thread(s), {cores} core(s)",
        args.declarations, args.submitters
    );
    let started = Instant::now();
    let messages = generate(args.declarations, args.seed);
    let bytes: usize = messages.iter().map(|m| m.body.len()).sum();
    println!(
        "  generated {} messages ({:.1} MiB) in {:.2} s",
        messages.len(),
        bytes as f64 / (1024.0 * 1024.0),
        started.elapsed().as_secs_f64()
    );
    let parse1 = parse_rate(&messages, 1);
    let parse_n = parse_rate(&messages, cores);
    println!(
        "  parse + validate alone: {parse1:.0} messages/s on 1 thread ({:.0} declarations/s), {parse_n:.0} messages/s on {cores} ({:.0} declarations/s)",
        parse1 / 4.0,
        parse_n / 4.0
    );
    let (sealed, mib) = seal_rate(&messages)?;
    println!(
        "  seal + open alone (AES-256-GCM, 1 thread): {sealed:.0} messages/s ({mib:.0} MiB/s)"
    );
    let (verify_per_s, signed) = verify_rate(&messages);
    println!(
        "  signature verification alone: {signed} signed messages, {verify_per_s:.0} verifications/s on 1 thread ({:.0} µs each)",
        1e6 / verify_per_s.max(1e-9)
    );
    let mut policies = Vec::new();
    for s in &args.signatures {
        let policy: domain::settings::SignaturePolicy =
            serde_json::from_value(serde_json::Value::String(s.clone())).map_err(|_| {
                anyhow::anyhow!("--signatures {s}: required, verify-if-present or off")
            })?;
        policies.push((s.clone(), policy));
    }
    let mut round = 0usize;
    for store in &args.store {
        for rules in &args.rules {
            for (label, signatures) in &policies {
                let rules_on = rules != "off";
                let (target, dir) = scratch_target(store, round * 2)?;
                println!(
                    "store {}, risk rules {}, signatures {label}:",
                    if store == "sqlite" {
                        "sqlite (embedded)"
                    } else {
                        "postgres"
                    },
                    if rules_on { "on" } else { "off" }
                );
                let full = run_once(
                    &target,
                    &messages,
                    args.declarations,
                    args.submitters,
                    None,
                    rules_on,
                    *signatures,
                )?;
                report("full speed", &full);
                println!(
                    "  ratio to parsing alone on {cores} cores: {:.0} %",
                    100.0 * full.declarations_per_s / (parse_n / 4.0)
                );
                discard(&target, dir);
                if !args.no_paced {
                    let (target, dir) = scratch_target(store, round * 2 + 1)?;
                    let half = full.declarations_per_s / 2.0;
                    let paced = run_once(
                        &target,
                        &messages,
                        args.declarations,
                        args.submitters,
                        Some(half),
                        rules_on,
                        *signatures,
                    )?;
                    report(&format!("paced at {half:.0}/s"), &paced);
                    discard(&target, dir);
                }
                round += 1;
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
