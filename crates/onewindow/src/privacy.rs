//! Personal data protection from the command line (docs/security.md): `rekey` (data keys and
//! re-encryption), `purge` (retention), `audit` (the audit log).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use domain::time::{CivilDate, Timestamp};
use ingest::clock::now_ms;
use ingest::pipeline::PipelineConfig;
use store::audit::AuditEntry;
use store::{KeyRing, RowKey, SealedTable, Store};

use crate::{ClientArgs, StoreArgs};

/// Who did it, for the audit log: the operating-system user running the command.
fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn write_audit(store: &dyn Store, action: &str, target: &str, detail: serde_json::Value) {
    let entry = AuditEntry {
        at_ms: now_ms(),
        actor: cli_actor(),
        action: action.to_owned(),
        target: target.to_owned(),
        outcome: "ok".to_owned(),
        source: "cli".to_owned(),
        detail: detail.to_string(),
    };
    if let Err(error) = store.append_audit(&[entry]) {
        eprintln!("onewindow: could not write the audit log: {error}");
    }
}

#[derive(Args, Debug)]
pub struct RekeyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Add a new random key with this id to the key file and make it current (new writes use it
    /// once the server restarts); then run `onewindow rekey` to re-encrypt the old rows.
    #[arg(long, value_name = "ID")]
    pub new_key: Option<String>,
    /// Remove a key from the key file; refused while any row is still sealed under it.
    #[arg(long, value_name = "ID")]
    pub retire: Option<String>,
    /// Only count the rows sealed under each key.
    #[arg(long)]
    pub status: bool,
    /// Rows re-encrypted per transaction.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
}

/// The key file a ring is kept in (`--data-key-file` or `DATA/data-key`).
fn key_file(args: &StoreArgs) -> PathBuf {
    args.data_key_file
        .clone()
        .unwrap_or_else(|| args.data.join(server::keys::DATA_KEY_FILE))
}

fn print_usage(store: &dyn Store, ring_ids: &[String], current: &str) -> anyhow::Result<bool> {
    let usage = store.key_usage()?;
    let mut clear = 0;
    for table in SealedTable::ALL {
        let parts: Vec<String> = usage
            .iter()
            .filter(|u| u.table == table)
            .map(|u| {
                if u.key_id.is_none() {
                    clear += u.rows;
                }
                format!(
                    "{} {}",
                    u.rows,
                    u.key_id
                        .as_deref()
                        .unwrap_or("in clear (from before encryption)")
                )
            })
            .collect();
        let shown = if parts.is_empty() {
            "empty".to_owned()
        } else {
            parts.join(", ")
        };
        println!("{:8} {shown}", table.name());
    }
    for id in ring_ids {
        let rows: i64 = usage
            .iter()
            .filter(|u| u.key_id.as_deref() == Some(id.as_str()))
            .map(|u| u.rows)
            .sum();
        let role = if id == current { " (current)" } else { "" };
        let verdict = if rows == 0 && id != current {
            "unused: can be retired"
        } else {
            "in use"
        };
        println!("key {id}{role}: {rows} rows, {verdict}");
    }
    let foreign: Vec<&str> = usage
        .iter()
        .filter_map(|u| u.key_id.as_deref())
        .filter(|k| !ring_ids.iter().any(|r| r == k))
        .collect();
    if !foreign.is_empty() {
        println!("rows sealed under keys not in the ring: {foreign:?}");
    }
    Ok(clear == 0 && usage.iter().all(|u| u.key_id.as_deref() == Some(current)))
}

/// `onewindow rekey`.
pub fn rekey(args: &RekeyArgs) -> anyhow::Result<ExitCode> {
    let path = key_file(&args.store);
    if let Some(id) = &args.new_key {
        let ring = match server::keys::load(&args.store.data, args.store.data_key_file.as_deref())?
        {
            Some((ring, server::keys::KeySource::Environment)) => {
                let grown = ring.with_new_current(id)?;
                println!(
                    "the ring comes from {}: set it to this (the new key is current):\n{}",
                    server::keys::DATA_KEYS_ENV,
                    grown.to_file_text()
                );
                return Ok(ExitCode::SUCCESS);
            }
            Some((ring, _)) => ring.with_new_current(id)?,
            None => KeyRing::generate(id)?,
        };
        if path.exists() {
            server::keys::replace_private(&path, &ring.to_file_text())?;
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            server::keys::write_new_private(&path, &ring.to_file_text())?;
        }
        let store = args.store.open()?;
        write_audit(
            store.as_ref(),
            "key.add",
            id,
            serde_json::json!({ "ring": ring.ids() }),
        );
        println!(
            "key {id} added to {} and made current. Restart the server so new writes use it, \
             then run `onewindow rekey` to re-encrypt the rows sealed under older keys.",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some((ring, source)) =
        server::keys::load(&args.store.data, args.store.data_key_file.as_deref())?
    else {
        bail!("no data key found (see `onewindow rekey --new-key ID` and docs/security.md)");
    };
    let ids: Vec<String> = ring.ids().iter().map(|s| s.to_string()).collect();
    let current = ring.current_id().to_owned();
    let store = store::open(&args.store.target(), std::sync::Arc::new(ring))?;
    if let Some(id) = &args.retire {
        if *id == current {
            bail!("key {id} is the current key: add a new one first (--new-key)");
        }
        let in_use: i64 = store
            .key_usage()?
            .iter()
            .filter(|u| u.key_id.as_deref() == Some(id.as_str()))
            .map(|u| u.rows)
            .sum();
        if in_use > 0 {
            println!(
                "key {id} still seals {in_use} rows: run `onewindow rekey` first; nothing retired"
            );
            return Ok(ExitCode::from(1));
        }
        let server::keys::KeySource::File(file) = source else {
            bail!(
                "the ring comes from {}: remove key {id} there",
                server::keys::DATA_KEYS_ENV
            );
        };
        let text = std::fs::read_to_string(&file)?;
        let kept = KeyRing::parse(&text)?.without(id)?;
        server::keys::replace_private(&file, &kept.to_file_text())?;
        write_audit(
            store.as_ref(),
            "key.retire",
            id,
            serde_json::json!({ "ring": kept.ids() }),
        );
        println!(
            "key {id} retired: nothing used it; {} now holds {:?}",
            file.display(),
            kept.ids()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.status {
        let done = print_usage(store.as_ref(), &ids, &current)?;
        return Ok(if done {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let mut total = 0;
    for table in SealedTable::ALL {
        let mut after: Option<RowKey> = None;
        let (mut looked, mut resealed) = (0, 0);
        loop {
            let step = store.reseal(table, after.as_ref(), args.batch)?;
            looked += step.looked;
            resealed += step.resealed;
            match step.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        println!(
            "{:8} {looked} rows read, {resealed} re-encrypted under {current}",
            table.name()
        );
        total += resealed;
    }
    write_audit(
        store.as_ref(),
        "rekey",
        &current,
        serde_json::json!({ "resealed": total }),
    );
    print_usage(store.as_ref(), &ids, &current)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Purge declarations concluded before this day (YYYY-MM-DD, Beijing time); default: the
    /// retention horizon, today minus the retention period.
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
    /// The retention period in years: personal data is kept at least this long after a
    /// declaration concludes (docs/security.md: 3 years, the customs audit period, the
    /// e-commerce law's keeping period and the limitation period of civil claims).
    #[arg(long, env = "ONEWINDOW_RETENTION_YEARS", default_value_t = 3)]
    pub retention_years: u32,
    /// Count what would be purged, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_date(text: &str) -> anyhow::Result<CivilDate> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    CivilDate::parse_yyyymmdd(&digits)
        .with_context(|| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

/// The first moment (ms) of a Beijing day.
fn start_of(day: CivilDate) -> i64 {
    day.beijing_midnight().0
}

/// `onewindow purge`.
pub fn purge(args: &PurgeArgs) -> anyhow::Result<ExitCode> {
    let _lock = crate::lock_data_dir(&args.store.data)?;
    let now = now_ms();
    let today = Timestamp(now).beijing_date();
    let limit = CivilDate {
        year: today.year - i32::try_from(args.retention_years).unwrap_or(i32::MAX),
        ..today
    };
    // 29 February of a leap year minus N years may be no day: take the 28th.
    let limit = CivilDate::parse_yyyymmdd(&format!(
        "{:04}{:02}{:02}",
        limit.year, limit.month, limit.day
    ))
    .unwrap_or(CivilDate { day: 28, ..limit });
    let before = match &args.before {
        Some(text) => parse_date(text)?,
        None => limit,
    };
    if before > limit {
        bail!(
            "{} is within the retention period of {} years (the horizon is {:04}-{:02}-{:02}); \
             nothing is purged",
            args.before.as_deref().unwrap_or(""),
            args.retention_years,
            limit.year,
            limit.month,
            limit.day
        );
    }
    let store = args.store.open()?;
    let config = PipelineConfig {
        buyer_secret: crate::offline::buyer_secret(&args.store.data)?,
        ..Default::default()
    };
    let summary = ingest::purge::purge(
        store.as_ref(),
        &config,
        start_of(before),
        now,
        args.dry_run,
        &cli_actor(),
    )?;
    if !args.dry_run {
        store.vacuum()?;
    }
    println!(
        "{}declarations concluded before {:04}-{:02}-{:02}: {} without personal data ({} newly \
         redacted, with their waybills: {}), {} still open and kept; {} journal entries \
         ({} nodes) redacted{}",
        if args.dry_run { "dry run: " } else { "" },
        before.year,
        before.month,
        before.day,
        summary.declarations,
        summary.newly_redacted,
        summary.waybills,
        summary.kept_open,
        summary.journal_entries,
        summary.nodes,
        if summary.unreadable > 0 {
            format!(
                "; {} entries unreadable, left as they are",
                summary.unreadable
            )
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub action: AuditAction,
    /// With `verify --local`: the store URL (default: SQLite in the data directory).
    #[arg(long, env = "ONEWINDOW_STORE", global = true)]
    pub store: Option<String>,
    /// With `verify --local`: the data key file.
    #[arg(long, env = "ONEWINDOW_DATA_KEY_FILE", global = true)]
    pub data_key_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum AuditAction {
    /// A page of the audit log (as the auditor: --token with an `auditor` credential).
    List {
        #[command(flatten)]
        filter: AuditFilter,
        #[arg(long)]
        after: Option<i64>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// The whole (filtered) log as CSV or JSON lines.
    Export {
        #[command(flatten)]
        filter: AuditFilter,
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the hash chain: through the server (as the auditor), or with --local straight from
    /// the store (server stopped or not).
    Verify {
        #[arg(long)]
        local: bool,
    },
}

#[derive(Args, Debug)]
pub struct AuditFilter {
    #[arg(long)]
    pub actor: Option<String>,
    /// e.g. `login`, `credential.revoke`, `personal_data.view`, `regulator.assess_alert`.
    #[arg(long = "action")]
    pub action_name: Option<String>,
    /// From this day on (YYYY-MM-DD, Beijing time).
    #[arg(long)]
    pub from: Option<String>,
    /// Before this day.
    #[arg(long)]
    pub until: Option<String>,
}

impl AuditFilter {
    fn query(&self) -> anyhow::Result<String> {
        let mut q = Vec::new();
        if let Some(a) = &self.actor {
            q.push(format!("actor={}", encode(a)));
        }
        if let Some(a) = &self.action_name {
            q.push(format!("action={}", encode(a)));
        }
        if let Some(d) = &self.from {
            q.push(format!("from={}", start_of(parse_date(d)?)));
        }
        if let Some(d) = &self.until {
            q.push(format!("until={}", start_of(parse_date(d)?)));
        }
        Ok(q.join("&"))
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `onewindow audit …`.
pub fn audit_command(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    match &args.action {
        AuditAction::List {
            filter,
            after,
            limit,
        } => {
            let mut q = filter.query()?;
            if let Some(a) = after {
                q.push_str(&format!("&after={a}"));
            }
            q.push_str(&format!("&limit={limit}"));
            crate::client::print(crate::client::call(
                &args.client,
                "GET",
                &format!("/api/v1/audit?{q}"),
                None,
            )?);
            Ok(ExitCode::SUCCESS)
        }
        AuditAction::Export {
            filter,
            format,
            out,
        } => {
            let q = filter.query()?;
            let (status, text) = crate::client::call(
                &args.client,
                "GET",
                &format!("/api/v1/audit/export?format={}&{q}", encode(format)),
                None,
            )?;
            if !(200..300).contains(&status) {
                crate::client::print((status, text));
                return Ok(ExitCode::from(1));
            }
            match out {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditAction::Verify { local } => {
            if *local {
                let store = StoreArgs {
                    data: args.client.data.clone(),
                    store: args.store.clone(),
                    data_key_file: args.data_key_file.clone(),
                }
                .open()?;
                return match store::audit::verify_store(store.as_ref())? {
                    Ok(n) => {
                        println!("the audit log is intact: {n} entries");
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(b) => {
                        println!("the audit log is broken: {b}");
                        Ok(ExitCode::from(1))
                    }
                };
            }
            let (status, text) =
                crate::client::call(&args.client, "GET", "/api/v1/audit/verify", None)?;
            let intact = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["intact"].as_bool())
                .unwrap_or(false);
            crate::client::print((status, text));
            Ok(if intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
