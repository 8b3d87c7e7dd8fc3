//! The command line as a sender or an operator uses it: `validate` and the offline conformance
//! mode `replay`.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_onewindow");

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/gacc-ceb-202205/samples/import")
}

#[test]
fn validate_accepts_the_official_samples_and_names_what_is_wrong() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(samples())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 16);
    let output = Command::new(BIN)
        .arg("validate")
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(stdout.matches(": OK (").count(), 16, "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(samples().join("CEB311Message.xml")).unwrap();
    let start = original.find("<ceb:buyerTelephone>").unwrap();
    let end = original.find("</ceb:buyerTelephone>").unwrap() + "</ceb:buyerTelephone>".len();
    let broken = format!("{}{}", &original[..start], &original[end..]);
    let path = dir.path().join("broken311.xml");
    std::fs::write(&path, broken).unwrap();
    let output = Command::new(BIN)
        .arg("validate")
        .arg(samples().join("CEB411Message.xml"))
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("CEB411Message.xml: OK"), "{stdout}");
    assert!(stdout.contains("broken311.xml: INVALID"), "{stdout}");
    assert!(
        stdout.contains("buyerTelephone") && stdout.contains("required"),
        "{stdout}"
    );
}

/// The demo enterprises' test certificates as `--certificate CODE=FILE` arguments, the files
/// written next to `registry`.
fn demo_certificate_args(registry: &Path) -> Vec<String> {
    let dir = registry.parent().unwrap();
    let mut args = Vec::new();
    for (code, certificate) in traffic::demo_certificates() {
        let path = dir.join(format!("{code}.pem"));
        std::fs::write(&path, certificate.to_pem()).unwrap();
        args.push("--certificate".to_string());
        args.push(format!("{code}={}", path.display()));
    }
    args
}

fn replay(registry: &Path, out: &Path, files: &[PathBuf]) -> String {
    let output = Command::new(BIN)
        .arg("replay")
        .arg("--registry")
        .arg(registry)
        .arg("--out")
        .arg(out)
        .args(["--at", "20260301100000"])
        .args(demo_certificate_args(registry))
        .args(files)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn replay_writes_every_receipt_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry.csv");
    std::fs::write(&registry, traffic::registry_csv()).unwrap();
    let mut generator = traffic::Generator::new(
        4,
        traffic::Mix {
            shuffle_arrival: false,
            ..Default::default()
        },
    );
    let at = 1_772_330_400_000; // 2026-03-01 10:00 Beijing time
    let mut inputs = Vec::new();
    for (n, case) in [
        traffic::Case::Clean,
        traffic::Case::PayerMismatch,
        traffic::Case::Malformed,
    ]
    .into_iter()
    .enumerate()
    {
        for (i, m) in generator.set_of(case, at).messages.into_iter().enumerate() {
            let path = dir.path().join(format!("{n}{i}-{}.xml", m.message_type));
            std::fs::write(&path, m.xml).unwrap();
            inputs.push(path);
        }
    }
    let first = dir.path().join("out1");
    let stdout = replay(&registry, &first, &inputs);
    let files = listing(&first);
    let text = |f: &(String, Vec<u8>)| String::from_utf8_lossy(&f.1).to_string();
    assert!(
        files
            .iter()
            .any(|f| f.0.contains("CEB622Message") && f.0.ends_with("-800.xml")),
        "the clean declaration is released: {stdout}"
    );
    assert!(
        files
            .iter()
            .any(|f| f.0.ends_with("-100.xml") && text(f).contains("Code:1327")),
        "the payer mismatch is rejected with 1327: {stdout}"
    );
    assert!(
        files
            .iter()
            .any(|f| f.0.contains("CEB900Message") && text(f).contains("MessageReturn")),
        "the malformed file gets a CEB900: {stdout}"
    );
    // The same input gives the same files, byte for byte.
    let second = dir.path().join("out2");
    replay(&registry, &second, &inputs);
    assert_eq!(listing(&second), files);
}

/// Run the binary; (exit code, stdout).
fn onewindow(args: &[&str]) -> (i32, String) {
    let output = Command::new(BIN).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn the_regulator_desk_works_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = crate::crash::start(&data);
    let base = server.base.clone();
    let data_arg = data.to_str().unwrap();
    let registry = dir.path().join("registry.csv");
    std::fs::write(&registry, traffic::registry_csv()).unwrap();
    let admin = ["--server", base.as_str(), "--data", data_arg];
    let (code, out) = onewindow(
        &[
            &["enterprise", "file", registry.to_str().unwrap()],
            &admin[..],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = onewindow(
        &[
            &["enterprise", "credential", "regulator:customs"],
            &admin[..],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    let issued: serde_json::Value = serde_json::from_str(&out).unwrap();
    let customs = issued["token"].as_str().unwrap().to_string();
    let desk = ["--server", base.as_str(), "--token", customs.as_str()];
    let regulator = |args: &[&str]| onewindow(&[&["regulator"], args, &desk[..]].concat());

    let (code, out) = regulator(&["rules"]);
    assert_eq!(code, 0, "{out}");
    let rules: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rules["items"].as_array().unwrap().len(), 12, "{out}");

    let (code, out) = regulator(&["rule", "R13", "--mode", "observe"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"observe\""), "{out}");
    let (code, _) = regulator(&["rule", "R99", "--mode", "on"]);
    assert_eq!(code, 1, "an unknown rule is refused");

    let (code, out) = regulator(&[
        "list",
        "--enterprise",
        traffic::UNDERVALUING_SELLER_CODE,
        "--category",
        "commercial_fraud",
        "--evidence",
        "case 2026-17",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = regulator(&["listings", "--status", "active"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(traffic::UNDERVALUING_SELLER_CODE), "{out}");
    let (code, out) = regulator(&["credit", traffic::UNDERVALUING_SELLER_CODE]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("DISHONEST"), "{out}");
    // An enterprise's own token does not open the desk.
    let (code, out) = onewindow(&[
        "enterprise",
        "credential",
        "3301960BAA",
        "--server",
        base.as_str(),
        "--data",
        data_arg,
    ]);
    assert_eq!(code, 0, "{out}");
    let seller: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (code, _) = onewindow(&[
        "regulator",
        "alerts",
        "--server",
        base.as_str(),
        "--token",
        seller["token"].as_str().unwrap(),
    ]);
    assert_eq!(code, 1, "a seller may not read the alert queue");
}

#[test]
fn portal_accounts_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = crate::crash::start(&data);
    let base = server.base.clone();
    let admin = ["--server", base.as_str(), "--data", data.to_str().unwrap()];
    let registry = dir.path().join("registry.csv");
    std::fs::write(&registry, traffic::registry_csv()).unwrap();
    let run = |args: &[&str]| onewindow(&[args, &admin[..]].concat());
    let (code, out) = run(&["enterprise", "file", registry.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let password = dir.path().join("password");
    std::fs::write(&password, "correct horse battery staple\n").unwrap();
    let file = password.to_str().unwrap();
    let (code, out) = run(&[
        "user",
        "add",
        "ann",
        "--role",
        "3301960BAA",
        "--password-file",
        file,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"subject\": \"3301960BAA\""), "{out}");
    let (code, _) = run(&[
        "user",
        "add",
        "ann",
        "--role",
        "admin",
        "--password-file",
        file,
    ]);
    assert_eq!(code, 1, "the username is taken");
    let (code, _) = run(&[
        "user",
        "add",
        "zed",
        "--role",
        "3301960ZZZ",
        "--password-file",
        file,
    ]);
    assert_eq!(code, 1, "an unfiled enterprise gets no account");
    let (code, out) = run(&["user", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ann") && !out.contains("argon2"), "{out}");
    let (code, out) = run(&["user", "disable", "ann"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["user", "list"]);
    assert!(code == 0 && out.contains("\"disabledAtMs\": 1"), "{out}");
    let (code, _) = run(&["user", "enable", "nobody"]);
    assert_eq!(code, 1);
}

/// `onewindow demo` back-fills months of generated traffic at historical times into its fresh
/// store, with the zone office publishing each ended month: statistics and the index have a
/// history from the first minute.
#[test]
fn the_demo_starts_with_a_back_filled_index_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let output = Command::new(BIN)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--declarations",
            "2",
            "--rate",
            "50",
        ])
        .args(["--backfill-months", "2", "--scheme-every", "0", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("back-filled 2 months"), "{stderr}");
    let target = format!("sqlite:{}", data.join("onewindow.db").display());
    let (store, _, _) = server::keys::open_store(&target, &data, None, false).unwrap();
    // Both back-filled months are published (the first is the base: 100).
    let published = store
        .records(&store::RecordQuery::new("index", 10))
        .unwrap();
    assert_eq!(published.len(), 2, "{published:?}");
    assert!(published[0].body.contains("\"composite\":\"100.00\""));
    // The statistics of those months came from released declarations.
    let now = domain::time::Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let this = domain::statistics::facts::Month::of(now);
    let months =
        server::statistics::month_figures(store.as_ref(), this.prev().prev(), this.prev()).unwrap();
    assert_eq!(months.len(), 2);
    for m in &months {
        assert!(m.declarations > 10, "{m:?}");
        assert!(
            m.enterprises >= 3 && m.countries > 1 && m.classes > 1,
            "{m:?}"
        );
        assert!(m.first_pass <= m.declarations);
    }
}
