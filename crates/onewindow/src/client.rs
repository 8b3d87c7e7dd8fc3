//! The command-line client of a running server (`submit`, `enterprise`, `tariff`, `healthcheck`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::ClientArgs;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into()
}

fn token(args: &ClientArgs) -> anyhow::Result<String> {
    if let Some(token) = &args.token {
        return Ok(token.clone());
    }
    let path = args.data.join("admin-token");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no --token given and no admin token at {} (start `onewindow serve` once, or pass --token)",
            path.display()
        )
    })?;
    Ok(text.trim().to_string())
}

/// Call the API; returns (status, body text).
pub fn call(
    args: &ClientArgs,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> anyhow::Result<(u16, String)> {
    let url = format!("{}{}", args.server.trim_end_matches('/'), path);
    let auth = format!("Bearer {}", token(args)?);
    let agent = agent();
    let response = match (method, body) {
        ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
        ("DELETE", _) => agent.delete(&url).header("Authorization", &auth).call(),
        ("PATCH", Some((content_type, bytes))) => agent
            .patch(&url)
            .header("Authorization", &auth)
            .header("Content-Type", content_type)
            .send(bytes),
        ("PUT", Some((content_type, bytes))) => agent
            .put(&url)
            .header("Authorization", &auth)
            .header("Content-Type", content_type)
            .send(bytes),
        (_, Some((content_type, bytes))) => agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", content_type)
            .send(bytes),
        (_, None) => agent.post(&url).header("Authorization", &auth).send_empty(),
    };
    let mut response = response.with_context(|| format!("calling {url}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Ok((status, text))
}

/// Print an answer; pretty-print JSON.
pub fn print((status, text): (u16, String)) {
    let shown = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(text);
    if (200..300).contains(&status) {
        println!("{shown}");
    } else {
        eprintln!("HTTP {status}\n{shown}");
    }
}

/// `onewindow submit FILE…`: exit 0 when every file was accepted (a CEB rejection receipt still
/// counts as an answer: it is printed), 1 when any was refused outright.
pub fn submit(args: &ClientArgs, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut refused = false;
    for file in files {
        let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let (status, text) = call(
            args,
            "POST",
            "/api/v1/messages",
            Some(("application/xml", &body)),
        )?;
        println!("== {} (HTTP {status})", file.display());
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        match value.get("receipts").and_then(|r| r.as_array()) {
            Some(receipts) => {
                for receipt in receipts {
                    println!(
                        "  {} to {}: {} {}",
                        receipt["messageType"].as_str().unwrap_or("?"),
                        receipt["recipient"].as_str().unwrap_or("?"),
                        receipt["returnStatus"].as_str().unwrap_or("?"),
                        receipt["receipt"]["returnInfo"].as_str().unwrap_or(""),
                    );
                }
            }
            None => {
                refused = true;
                print((status, text));
            }
        }
    }
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn healthcheck(server: &str) -> anyhow::Result<ExitCode> {
    let url = format!("{}/healthz", server.trim_end_matches('/'));
    match agent().get(&url).call() {
        Ok(response) if response.status().is_success() => Ok(ExitCode::SUCCESS),
        _ => Ok(ExitCode::from(1)),
    }
}

/// `onewindow enterprise file REGISTRY.csv`: file the enterprises, then give each one that has
/// no live credential its first one, and print the tokens (shown this once only).
pub fn file_registry(args: &ClientArgs, registry: &std::path::Path) -> anyhow::Result<()> {
    let body =
        std::fs::read(registry).with_context(|| format!("reading {}", registry.display()))?;
    let text = String::from_utf8_lossy(&body);
    let enterprises = domain::registry::parse_registry_csv(
        &text,
        domain::time::Timestamp(ingest::clock::now_ms()),
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", registry.display()))?;
    let (status, answer) = call(
        args,
        "POST",
        "/api/v1/enterprises",
        Some(("text/csv", &body)),
    )?;
    if status != 200 {
        print((status, answer));
        anyhow::bail!("filing refused (HTTP {status})");
    }
    println!("filed {} enterprise(s)", enterprises.len());
    for enterprise in &enterprises {
        let path = format!("/api/v1/enterprises/{}/credentials", enterprise.code);
        let (_, existing) = call(args, "GET", &path, None)?;
        let existing: serde_json::Value = serde_json::from_str(&existing).unwrap_or_default();
        let live = existing["credentials"]
            .as_array()
            .is_some_and(|list| list.iter().any(|c| c["revokedAtMs"].is_null()));
        if live {
            println!("  {:<20} has a credential already", enterprise.code);
            continue;
        }
        let (status, issued) = call(args, "POST", &path, None)?;
        let issued: serde_json::Value = serde_json::from_str(&issued).unwrap_or_default();
        match issued["token"].as_str() {
            Some(token) if status == 201 => println!("  {:<20} {token}", enterprise.code),
            _ => println!(
                "  {:<20} could not issue a credential (HTTP {status})",
                enterprise.code
            ),
        }
    }
    Ok(())
}
