//! Generated messages against the official XSD, with xmllint (libxml2-utils).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use traffic::{Case, Generator, Mix, Scheme};

use crate::{NOW, set};

fn import_xsd() -> PathBuf {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ceb/xsd/import.xsd");
    if local.exists() {
        return local;
    }
    PathBuf::from("/work/shared/reference/gacc-ceb-202205/xsd/import.xsd")
}

/// `None` (after saying so loudly) when xmllint is missing; a failure instead when
/// `ONEWINDOW_REQUIRE_SERVICES=1`.
fn xmllint_available() -> bool {
    let ok = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg = "xmllint not found: schema validation of generated traffic SKIPPED \
                   (apt-get install libxml2-utils)";
        assert!(
            std::env::var("ONEWINDOW_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
    }
    ok
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("traffic-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Which files xmllint says validate. Files are passed in batches to stay under ARG_MAX.
fn validate(files: &[PathBuf]) -> HashMap<PathBuf, (bool, String)> {
    let xsd = import_xsd();
    let mut out = HashMap::new();
    for chunk in files.chunks(500) {
        let o = Command::new("xmllint")
            .arg("--noout")
            .arg("--nonet")
            .arg("--schema")
            .arg(&xsd)
            .args(chunk)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            !stderr.contains("failed to compile") && !stderr.contains("WXS schema"),
            "xsd did not load: {stderr}"
        );
        for f in chunk {
            let name = f.display().to_string();
            let ok = stderr.lines().any(|l| l == format!("{name} validates"));
            let errors: String = stderr
                .lines()
                .filter(|l| l.starts_with(&name) && !l.ends_with("validates"))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(f.clone(), (ok, errors));
        }
    }
    out
}

#[test]
fn every_case_set_is_valid_except_its_deliberately_broken_message() {
    if !xmllint_available() {
        return;
    }
    let dir = temp_dir("cases");
    let mut files = Vec::new();
    for (k, case) in Case::ALL.into_iter().enumerate() {
        for seed in 0..3u64 {
            let s = set(case, seed * 100 + k as u64);
            for (i, m) in s.messages.iter().enumerate() {
                let f = dir.join(format!("{}-{seed}-{i}-{}.xml", case.name(), m.message_type));
                std::fs::write(&f, &m.xml).unwrap();
                files.push((f, m.expect_valid, case));
            }
        }
    }
    let paths: Vec<PathBuf> = files.iter().map(|(f, _, _)| f.clone()).collect();
    let results = validate(&paths);
    let mut broken_seen = HashMap::new();
    for (f, expect_valid, case) in &files {
        let (ok, errors) = &results[f];
        assert_eq!(
            ok,
            expect_valid,
            "{case:?} {}: xmllint says valid={ok}\n{errors}",
            f.display()
        );
        if !expect_valid {
            *broken_seen.entry(*case).or_insert(0) += 1;
        }
    }
    for case in [Case::Malformed, Case::SchemaInvalid, Case::Hostile] {
        assert_eq!(
            broken_seen.get(&case),
            Some(&3),
            "{case:?}: one bad message per set"
        );
    }
    assert_eq!(
        broken_seen.len(),
        3,
        "only those three cases break the schema"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_scheme_declaration_passes_the_official_schema() {
    if !xmllint_available() {
        return;
    }
    let dir = temp_dir("schemes");
    let mut files = Vec::new();
    for seed in 0..4u64 {
        let mut g = Generator::new(seed, Mix::default());
        for scheme in Scheme::ALL {
            for (k, s) in g.scheme(scheme, NOW).iter().enumerate() {
                for (i, m) in s.messages.iter().enumerate() {
                    assert!(m.expect_valid);
                    let f = dir.join(format!(
                        "{}-{seed}-{k}-{i}-{}.xml",
                        scheme.name(),
                        m.message_type
                    ));
                    std::fs::write(&f, &m.xml).unwrap();
                    files.push(f);
                }
            }
        }
    }
    assert!(files.len() > 4 * 4 * 16);
    for (f, (ok, errors)) in validate(&files) {
        assert!(ok, "{}: {errors}", f.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_mixed_stream_of_thousands_of_sets_passes_the_official_schema() {
    if !xmllint_available() {
        return;
    }
    let dir = temp_dir("mix");
    let mut g = Generator::new(2026, Mix::default());
    let mut files = Vec::new();
    let mut bad = Vec::new();
    for i in 0..2000 {
        let s = g.next_set(NOW + i * 997);
        for (j, m) in s.messages.iter().enumerate() {
            let f = dir.join(format!("{i}-{j}.xml"));
            std::fs::write(&f, &m.xml).unwrap();
            if m.expect_valid {
                files.push(f);
            } else {
                bad.push(f);
            }
        }
    }
    assert!(files.len() > 7000);
    assert!(!bad.is_empty());
    let results = validate(&files);
    let failures: Vec<_> = results
        .iter()
        .filter(|(_, (ok, _))| !ok)
        .map(|(f, (_, e))| format!("{}: {e}", f.display()))
        .take(5)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let bad_results = validate(&bad);
    assert!(bad_results.values().all(|(ok, _)| !ok));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn follow_up_messages_agree_with_their_declaration_and_pass_the_schema() {
    let mut g = Generator::new(77, Mix::default());
    let sets: Vec<_> = (0..40)
        .map(|k| g.set_of(Case::Clean, NOW + k * 1000))
        .collect();
    let mut msgs = Vec::new();
    for s in &sets {
        let inv = &crate::one(s, "CEB621Message").xml;
        let wb = &crate::one(s, "CEB511Message").xml;
        let status = g.logistics_status(s, NOW + 86_400_000).unwrap();
        assert_eq!(
            crate::field(&status.xml, "logisticsNo"),
            crate::field(wb, "logisticsNo")
        );
        assert_eq!(crate::field(&status.xml, "logisticsStatus"), Some("S"));
        assert_eq!(status.sender, crate::field(wb, "logisticsCode").unwrap());

        let cancel = g.cancel(s, "29912026I000000001", NOW + 60_000).unwrap();
        let refund = g
            .refund(s, "29912026I000000001", NOW + 7 * 86_400_000)
            .unwrap();
        for m in [&cancel, &refund] {
            for t in ["orderNo", "ebcCode", "copNo", "buyerIdNumber", "agentCode"] {
                assert_eq!(crate::field(&m.xml, t), crate::field(inv, t), "{t}");
            }
            assert_eq!(m.sender, crate::field(inv, "agentCode").unwrap());
        }
        assert_eq!(
            crate::fields(&refund.xml, "gcode"),
            crate::fields(inv, "gcode")
        );
        assert_eq!(crate::fields(&refund.xml, "qty"), crate::fields(inv, "qty"));
        msgs.extend([status, cancel, refund]);
    }
    let refs: Vec<_> = sets.iter().collect();
    let delivery = g.delivery(&refs, NOW + 3_600_000).unwrap();
    let listed = crate::fields(&delivery.xml, "logisticsNo");
    assert!(!listed.is_empty());
    let bill = crate::field(&delivery.xml, "billNo").unwrap();
    for s in &sets {
        let inv = &crate::one(s, "CEB621Message").xml;
        let same_bill = crate::field(inv, "billNo") == Some(bill)
            && crate::field(inv, "logisticsCode") == crate::field(&delivery.xml, "logisticsCode");
        let no = crate::field(inv, "logisticsNo").unwrap();
        assert_eq!(listed.contains(&no), same_bill);
    }
    msgs.push(delivery);

    if !xmllint_available() {
        return;
    }
    let dir = temp_dir("follow-up");
    let files: Vec<PathBuf> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let f = dir.join(format!("{i}-{}.xml", m.message_type));
            std::fs::write(&f, &m.xml).unwrap();
            f
        })
        .collect();
    for (f, (ok, errors)) in validate(&files) {
        assert!(ok, "{}: {errors}", f.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
