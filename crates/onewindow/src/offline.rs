//! Commands that work on files and stores directly, without a running server:
//! `validate`, `replay` (the offline conformance mode) and `rebuild`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use domain::clearance::Supervised;
use ingest::intake;
use ingest::pipeline::{Job, Pipeline, PipelineConfig};

use crate::StoreArgs;
use ingest::clock::now_ms;

pub fn buyer_secret(data: &Path) -> anyhow::Result<Vec<u8>> {
    server::app::load_or_create_secret(data)
}

/// `onewindow validate FILE…`
pub fn validate(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut invalid = 0;
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        match ceb::check(&bytes) {
            Ok(message) => println!("{}: OK ({})", file.display(), message.message_type()),
            Err(rejection) => {
                invalid += 1;
                println!(
                    "{}: INVALID [{}] {}",
                    file.display(),
                    rejection.code,
                    rejection
                );
                for issue in &rejection.issues {
                    println!("  {}: {} — {}", issue.path, issue.rule, issue.detail);
                }
            }
        }
    }
    if invalid > 0 {
        println!("{invalid} of {} file(s) invalid", files.len());
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The registry CSV of the enterprises to file first (docs/registry.md).
    #[arg(long)]
    pub registry: PathBuf,
    /// Where to write the receipts (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The clock to use, Beijing time `YYYYMMDDhhmmss` (default: now); each message is one
    /// second after the previous one, so a replay is reproducible byte for byte.
    #[arg(long)]
    pub at: Option<String>,
    /// A certificate to file before processing, `CODE=FILE` (PEM or DER); repeat for several.
    /// Signed messages are checked against them (docs/signatures.md).
    #[arg(long = "certificate", value_name = "CODE=FILE")]
    pub certificates: Vec<String>,
    /// How signatures are enforced: `required` (the default setting), `verify-if-present`, `off`.
    #[arg(long, default_value = "required")]
    pub signatures: String,
    /// CEB message files, processed in the order given.
    pub inputs: Vec<PathBuf>,
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `onewindow replay`: the offline conformance mode. Each input's sender is the enterprise named
/// in its BaseTransfer; files that fail the format check get a CEB900 receipt.
pub fn replay(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let start_ms = match &args.at {
        Some(text) => {
            domain::time::parse_ceb_time14(text)
                .with_context(|| format!("--at {text}: expected YYYYMMDDhhmmss"))?
                .0
        }
        None => now_ms(),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let scratch = std::env::temp_dir().join(format!(
        "onewindow-replay-{}-{}",
        std::process::id(),
        now_ms()
    ));
    std::fs::create_dir_all(&scratch)?;
    let result = replay_into(args, start_ms, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn replay_into(args: &ReplayArgs, start_ms: i64, scratch: &Path) -> anyhow::Result<ExitCode> {
    let policy: domain::settings::SignaturePolicy = serde_json::from_value(
        serde_json::Value::String(args.signatures.clone()),
    )
    .map_err(|_| {
        anyhow::anyhow!(
            "--signatures {}: required, verify-if-present or off",
            args.signatures
        )
    })?;
    let keys = Arc::new(store::KeyRing::generate("replay")?);
    let store = store::open(
        &format!("sqlite:{}", scratch.join("replay.db").display()),
        keys,
    )?;
    let config = PipelineConfig {
        buyer_secret: b"onewindow-replay".to_vec(),
        adopt_at_ms: Some(start_ms),
        ..Default::default()
    };
    let pipeline = Pipeline::start(store.clone(), config, Arc::new(Supervised))?;
    let registry = std::fs::read(&args.registry)
        .with_context(|| format!("reading {}", args.registry.display()))?;
    let filing = intake::admin_content(intake::FILING, &registry, start_ms)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.registry.display()))?;
    pipeline
        .ingest
        .submit_blocking(Job::admin(intake::FILING, registry, filing, start_ms))?;
    for spec in &args.certificates {
        let (code, file) = spec
            .split_once('=')
            .with_context(|| format!("--certificate {spec}: expected CODE=FILE"))?;
        let bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
        let certificate = ceb::dsig::Certificate::from_pem_or_der(&bytes)
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        let entry = ingest::signatures::CertificateEntry::file(code, &certificate);
        pipeline.ingest.submit_blocking(Job::admin(
            ingest::signatures::CERTIFICATE,
            entry.to_json(),
            intake::Intake::Certificate(Box::new(entry)),
            start_ms,
        ))?;
    }
    let gate = ingest::signatures::Gate::new(
        policy,
        Arc::new(ingest::signatures::Certificates::load(store.as_ref())?),
    );
    let limits = ceb::Limits::default();
    let (mut written, mut refused) = (0usize, 0usize);
    for (index, input) in args.inputs.iter().enumerate() {
        let at = start_ms + 1000 * (index as i64 + 1);
        let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
        let stem = input
            .file_stem()
            .map(|s| sanitize(&s.to_string_lossy()))
            .unwrap_or_default();
        match intake::prepare(&bytes, false, &limits, None, at, &gate) {
            Err(
                intake::Refusal::Invalid { rejection, ceb900 }
                | intake::Refusal::Signature { rejection, ceb900 },
            ) => {
                refused += 1;
                let name = format!("{:04}-CEB900Message-{stem}.xml", index + 1);
                std::fs::write(args.out.join(&name), ceb900)?;
                println!(
                    "{}: refused [{}] {rejection} → {name}",
                    input.display(),
                    rejection.code
                );
            }
            Err(other) => {
                refused += 1;
                println!("{}: refused: {other}", input.display());
            }
            Ok(prepared) => {
                let sender = prepared.transmitter.clone();
                let accepted = pipeline
                    .ingest
                    .submit_blocking(Job::message(prepared, sender, at))?;
                for receipt in &accepted.receipts {
                    let name = format!(
                        "{:06}-{}-{}-{}.xml",
                        receipt.seq,
                        receipt.message_type,
                        sanitize(&receipt.recipient),
                        sanitize(&receipt.return_status)
                    );
                    std::fs::write(args.out.join(&name), &receipt.xml)?;
                    written += 1;
                    println!(
                        "{}: {} {} → {}",
                        input.display(),
                        receipt.message_type,
                        receipt.return_status,
                        name
                    );
                }
            }
        }
    }
    pipeline.shutdown();
    println!(
        "replayed {} file(s): {written} receipt(s) written, {refused} refused, into {}",
        args.inputs.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `onewindow rebuild`: replay the journal into fresh projections.
pub fn rebuild(args: &StoreArgs) -> anyhow::Result<ExitCode> {
    let _lock = crate::lock_data_dir(&args.data)?;
    let store = args.open()?;
    let before = store.projection_digest()?;
    let config = PipelineConfig {
        buyer_secret: buyer_secret(&args.data)?,
        ..Default::default()
    };
    let replayed = ingest::pipeline::rebuild(store.as_ref(), &config, &Supervised)?;
    let after = store.projection_digest()?;
    println!(
        "rebuilt from {replayed} journal entries; projections {}",
        if before == after {
            "unchanged (they already matched the journal)"
        } else {
            "replaced"
        }
    );
    println!("projection digest {after}");
    Ok(ExitCode::SUCCESS)
}
