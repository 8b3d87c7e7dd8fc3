//! `onewindow demo`: a server on a fresh embedded store, the demo enterprises filed with their
//! own credentials, and realistic generated traffic — with a share of bad cases (over-limit,
//! mismatched payer, duplicates, malformed XML …) — sent over HTTP, so a newcomer sees declarations
//! flow and receipts come back.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use crate::StoreArgs;
use ingest::clock::now_ms;

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Data directory (default: a fresh temporary directory).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Declarations per second to send.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Stop after this many declarations (default: run until Ctrl-C).
    #[arg(long)]
    pub declarations: Option<u64>,
    /// Per mille of declarations built to fail (over-limit, mismatches, malformed …).
    #[arg(long, default_value_t = 80)]
    pub bad_per_mille: u32,
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Every this many declarations, one fraud scheme (split-order ring, shared address,
    /// undervaluing seller, bulk resale, backdated payment) for the risk rules to catch; 0: none.
    #[arg(long, default_value_t = 15)]
    pub scheme_every: u64,
    /// Months of generated traffic to back-fill at historical times into a fresh store before
    /// going live, so the statistics and the CBEC index have a history (0: none).
    #[arg(long, default_value_t = 6)]
    pub backfill_months: u32,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn post(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    content_type: &str,
    body: &[u8],
) -> anyhow::Result<(u16, Value)> {
    let mut response = agent
        .post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", content_type)
        .send(body)?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("onewindow-demo-{}", now_ms())));
    let store_args = StoreArgs {
        data: data.clone(),
        store: None,
        data_key_file: None,
    };
    let _lock = crate::lock_data_dir(&data)?;
    let mut config = crate::serve_config(&store_args, args.listen)?;
    if args.backfill_months > 0 {
        let started = Instant::now();
        let target = config.store.clone();
        let pipeline = config.pipeline.clone();
        let (months, seed) = (args.backfill_months, args.seed ^ 0x00ba_cf11);
        let dir = data.clone();
        let report = tokio::task::spawn_blocking(move || {
            // A fresh demo store: its data key is created here, and the server finds it after.
            let (store, _, _) = server::keys::open_store(&target, &dir, None, true)?;
            crate::backfill::run(store, &pipeline, months, seed, now_ms())
        })
        .await??;
        if report.months > 0 {
            eprintln!(
                "demo: back-filled {} months of generated traffic ({} declarations, {} index months published) in {:.1} s",
                report.months,
                report.declarations,
                report.published,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let running = match server::app::start(config.clone()).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!(
                "demo: could not listen on {} ({error}); using a free port",
                args.listen
            );
            config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
            server::app::start(config).await?
        }
    };
    let base = format!("http://{}", running.addr);
    let admin_token = match &running.admin_token {
        Some(token) => token.clone(),
        None => std::fs::read_to_string(data.join("admin-token"))
            .context("reading the admin token")?
            .trim()
            .to_string(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let traffic_stop = stop.clone();
    let traffic_base = base.clone();
    let traffic_data = data.clone();
    let traffic = tokio::task::spawn_blocking(move || {
        stream(
            &args,
            &traffic_base,
            &admin_token,
            &traffic_data,
            &traffic_stop,
        )
    });
    tokio::select! {
        _ = crate::shutdown_signal() => { stop.store(true, Ordering::Relaxed); }
        _ = wait_for(stop.clone()) => {}
    }
    stop.store(true, Ordering::Relaxed);
    let outcome = traffic.await;
    eprintln!("demo: stopping the server (committing what is in flight)…");
    running.stop().await;
    eprintln!("demo: data kept in {}", data.display());
    match outcome {
        Ok(result) => result,
        Err(e) => Err(anyhow::anyhow!("traffic thread failed: {e}")),
    }
}

async fn wait_for(flag: Arc<AtomicBool>) {
    while !flag.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Default)]
struct Tally {
    sets: u64,
    released: u64,
    rejected: u64,
    refused: u64,
    reasons: BTreeMap<String, u64>,
}

fn stream(
    args: &DemoArgs,
    base: &str,
    admin_token: &str,
    data: &std::path::Path,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let agent = agent();
    let (status, _) = post(
        &agent,
        &format!("{base}/api/v1/enterprises"),
        admin_token,
        "text/csv",
        traffic::registry_csv().as_bytes(),
    )?;
    anyhow::ensure!(
        status == 200,
        "filing the demo registry failed (HTTP {status})"
    );
    // The demo enterprises sign with test keys (traffic::demo_signer): file their certificates.
    for (code, certificate) in traffic::demo_certificates() {
        let (status, _) = post(
            &agent,
            &format!("{base}/api/v1/enterprises/{code}/certificates"),
            admin_token,
            "application/x-pem-file",
            certificate.to_pem().as_bytes(),
        )?;
        anyhow::ensure!(
            status == 201 || status == 200,
            "filing the test certificate of {code} failed (HTTP {status})"
        );
    }
    let mut tokens: HashMap<String, String> = HashMap::new();
    for enterprise in traffic::demo_registry() {
        let (status, body) = post(
            &agent,
            &format!("{base}/api/v1/enterprises/{}/credentials", enterprise.code),
            admin_token,
            "application/json",
            b"",
        )?;
        anyhow::ensure!(
            status == 201,
            "issuing a credential for {} failed",
            enterprise.code
        );
        if let Some(token) = body["token"].as_str() {
            tokens.insert(enterprise.code.to_string(), token.to_string());
        }
    }
    let mut staff = HashMap::new();
    for department in ["customs", "inspection"] {
        let (status, body) = post(
            &agent,
            &format!("{base}/api/v1/enterprises/regulator:{department}/credentials"),
            admin_token,
            "application/json",
            b"",
        )?;
        anyhow::ensure!(status == 201, "issuing the {department} credential failed");
        if let Some(token) = body["token"].as_str() {
            staff.insert(department, token.to_string());
        }
    }
    let desk = crate::desk::Desk {
        base: base.to_string(),
        customs: staff.get("customs").cloned().unwrap_or_default(),
        inspection: staff.get("inspection").cloned().unwrap_or_default(),
    };
    let mut desk_tally = crate::desk::DeskTally::default();
    let sample = traffic::demo_registry()
        .iter()
        .find(|e| e.roles.contains(&"ebc"))
        .and_then(|e| tokens.get(e.code).map(|t| (e.code, t.clone())));
    // Portal logins for people: one enterprise of each kind that declares, every regulator
    // department and the administrator, all with one password made for this run.
    let password = server::portal::session::random_password()
        .ok_or_else(|| anyhow::anyhow!("no randomness for the demo password"))?;
    let mut logins: Vec<(&str, String)> = vec![
        ("seller", "3301960BAA".to_string()),
        ("platform", "3301960AAA".to_string()),
        ("agent", "3301960EAA".to_string()),
        ("admin", "admin".to_string()),
    ];
    for d in domain::subject::Department::ALL {
        logins.push((d.as_str(), format!("regulator:{d}")));
    }
    for (username, subject) in &logins {
        let body = serde_json::json!({
            "username": username,
            "subject": subject,
            "password": password,
        })
        .to_string();
        let (status, _) = post(
            &agent,
            &format!("{base}/api/v1/users"),
            admin_token,
            "application/json",
            body.as_bytes(),
        )?;
        anyhow::ensure!(status == 201, "creating the demo login {username} failed");
    }
    println!("OneWindow demo is running.");
    println!("  portal:         {base}/   (中文; English: {base}/?lang=en)");
    println!(
        "  portal logins:  password {password} for every one of: {}",
        logins
            .iter()
            .map(|(u, s)| format!("{u} ({s})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  API:            {base}   (description: {base}/openapi.json)");
    println!("  data directory: {}", data.display());
    println!(
        "  admin token:    in {}",
        data.join("admin-token").display()
    );
    if let Some((code, token)) = &sample {
        println!("  try, as seller {code}:");
        println!(
            "    curl -s -H 'Authorization: Bearer {token}' '{base}/api/v1/declarations?limit=5'"
        );
        println!(
            "    curl -s -H 'Authorization: Bearer {token}' '{base}/api/v1/receipts?after=0&limit=5'"
        );
    }
    println!(
        "  regulators:     customs {} / inspection {} (try {base}/api/v1/alerts, /api/v1/credit)",
        desk.customs, desk.inspection
    );
    println!("  public:         {base}/api/public/credit   {base}/api/public/negative-list");
    println!(
        "  statistics:     {base}/api/public/index   {base}/api/public/statistics/overview?format=csv   (months before this one are a generated back-fill)"
    );
    println!("  stop with Ctrl-C.\n");

    let mix = traffic::Mix {
        bad_share_per_mille: args.bad_per_mille,
        ..Default::default()
    };
    let mut generator = traffic::Generator::new(args.seed, mix);
    let mut tally = Tally::default();
    let start = Instant::now();
    let mut last_report = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.1));
    while !stop.load(Ordering::Relaxed) {
        if args.declarations.is_some_and(|n| tally.sets >= n) {
            break;
        }
        let due = start + interval.mul_f64(tally.sets as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let mut sets = vec![generator.next_set(now_ms())];
        if args.scheme_every > 0 && (tally.sets + 1) % args.scheme_every == 0 {
            let scheme = traffic::Scheme::ALL
                [((tally.sets + 1) / args.scheme_every) as usize % traffic::Scheme::ALL.len()];
            println!(
                "#scheme  {:<20} built to trip {}",
                scheme.name(),
                scheme.rules().join(", ")
            );
            sets.extend(generator.scheme(scheme, now_ms()));
        }
        tally.sets += 1;
        for set in &sets {
            send_set(set, &agent, base, &tokens, &mut tally);
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            desk.work(&mut desk_tally);
            println!(
                "-- {} declarations sent: {} released, {} rejection receipts, {} refused at the door; top reasons: {:?}",
                tally.sets,
                tally.released,
                tally.rejected,
                tally.refused,
                tally.reasons.iter().take(6).collect::<Vec<_>>()
            );
            println!(
                "-- regulators: {} alerts assessed, {} disposed, {} reviewed ({} confirmed); {} inspections ({} failed)",
                desk_tally.assessed,
                desk_tally.disposed,
                desk_tally.reviewed,
                desk_tally.confirmed,
                desk_tally.inspected,
                desk_tally.failed
            );
            print!("{}", desk.report());
        }
    }
    desk.work(&mut desk_tally);
    println!(
        "demo: {} declarations sent: {} released, {} rejection receipts, {} refused at the door",
        tally.sets, tally.released, tally.rejected, tally.refused
    );
    print!("{}", desk.report());
    stop.store(true, Ordering::Relaxed);
    Ok(())
}

/// Send the messages of one declaration set and print its outcome.
fn send_set(
    set: &traffic::DeclarationSet,
    agent: &ureq::Agent,
    base: &str,
    tokens: &HashMap<String, String>,
    tally: &mut Tally,
) {
    {
        let mut final_line: Option<String> = None;
        let mut released: Option<String> = None;
        let mut tax = rust_decimal::Decimal::ZERO;
        let mut held: Option<String> = None;
        for message in &set.messages {
            let Some(token) = tokens.get(&message.sender) else {
                continue;
            };
            let (status, body) = match post(
                agent,
                &format!("{base}/api/v1/messages"),
                token,
                "application/xml",
                message.xml.as_bytes(),
            ) {
                Ok(answer) => answer,
                Err(e) => {
                    eprintln!("demo: sending failed: {e}");
                    continue;
                }
            };
            if status != 200 {
                tally.refused += 1;
                let title = body["title"].as_str().unwrap_or("refused").to_string();
                let kind = body["type"]
                    .as_str()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or("");
                final_line = Some(format!(
                    "refused {} (HTTP {status}): {title}",
                    message.message_type
                ));
                *tally
                    .reasons
                    .entry(format!("HTTP {status} {kind}"))
                    .or_default() += 1;
                continue;
            }
            // A receipt goes to every party: count each one once.
            let mut seen = std::collections::HashSet::new();
            for receipt in body["receipts"].as_array().into_iter().flatten() {
                if !seen.insert(receipt["xml"].as_str().unwrap_or("").to_string()) {
                    continue;
                }
                let kind = receipt["messageType"].as_str().unwrap_or("");
                let status = receipt["returnStatus"].as_str().unwrap_or("");
                let info = receipt["receipt"]["returnInfo"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                if status == "100" || status.starts_with('-') {
                    tally.rejected += 1;
                    let code = info.split(';').next().unwrap_or(&info).to_string();
                    *tally.reasons.entry(code).or_default() += 1;
                    final_line = Some(format!("rejected {kind}: {info}"));
                } else if kind == "CEB622Message" && status == "800" {
                    released = receipt["declarationId"].as_str().map(str::to_string);
                } else if kind == "CEB622Message" && (status == "300" || status == "500") {
                    held = Some(status.to_string());
                } else if kind == "CEB816Message" {
                    let head = &receipt["receipt"]["TaxHeadRd"];
                    for field in ["customsTax", "valueAddedTax", "consumptionTax"] {
                        if let Some(v) = head[field]
                            .as_str()
                            .and_then(|v| v.parse::<rust_decimal::Decimal>().ok())
                        {
                            tax += v;
                        }
                    }
                }
            }
        }
        if let Some(id) = released {
            tally.released += 1;
            final_line = Some(format!(
                "released  {id}  buyer {}  tax {tax:.2} CNY",
                domain::personal::mask_name(&set.buyer.name)
            ));
        }
        let label = set
            .scheme
            .map_or_else(|| format!("{:?}", set.case), |s| s.name().to_string());
        if let Some(line) = final_line {
            println!("#{:<6} {label:<20} {line}", set.index);
        } else if let Some(status) = held {
            println!(
                "#{:<6} {label:<20} held ({status}) for {}",
                set.index,
                if status == "500" {
                    "inspection"
                } else {
                    "document review"
                }
            );
        }
    }
}
