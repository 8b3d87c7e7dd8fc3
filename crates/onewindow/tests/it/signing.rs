//! Signing from the command line, end to end on the real binary: `keygen` → the administrator
//! files the certificate → `sign` → `submit` → accepted; a tampered file is refused with its DXP
//! code, offline (`verify`) and by the server; a revoked certificate signs nothing any more.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_onewindow");

/// Run the binary; (exit code, stdout + stderr).
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A clean declaration's inventory (CEB621), as its agent sends it, and the agent's code.
fn inventory(seed: u64) -> (String, String) {
    let mut g = traffic::Generator::new(seed, traffic::Mix::default());
    let set = g.set_of(traffic::Case::Clean, 1_772_330_400_000);
    let m = set
        .messages
        .into_iter()
        .find(|m| m.message_type == "CEB621Message")
        .unwrap();
    (m.xml, m.sender)
}

#[test]
fn keygen_file_sign_submit_and_a_tampered_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = crate::crash::start(&data);
    let base = server.base.clone();
    let admin = ["--server", base.as_str(), "--data", s(&data)];
    let registry = dir.path().join("registry.csv");
    std::fs::write(&registry, traffic::registry_csv()).unwrap();
    let (code, out) = onewindow(&[&["enterprise", "file", s(&registry)], &admin[..]].concat());
    assert_eq!(code, 0, "{out}");

    let (xml, agent) = inventory(31);
    let (code, out) =
        onewindow(&[&["enterprise", "credential", agent.as_str()], &admin[..]].concat());
    assert_eq!(code, 0, "{out}");
    let issued: serde_json::Value = serde_json::from_str(&out).unwrap();
    let token = issued["token"].as_str().unwrap().to_string();
    let sender = ["--server", base.as_str(), "--token", token.as_str()];

    // The generator signed it with the demo test key, which is not filed here: refused (1999).
    let original = dir.path().join("inventory.xml");
    std::fs::write(&original, &xml).unwrap();
    let (code, out) = onewindow(&[&["submit", s(&original)], &sender[..]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("1999") && out.contains("not filed for enterprise"),
        "{out}"
    );

    // A key of our own, its certificate filed by the administrator.
    let keys = dir.path().join("keys");
    let (code, out) = onewindow(&[
        "keygen",
        "--out",
        s(&keys),
        "--subject",
        agent.as_str(),
        "--days",
        "30",
    ]);
    assert_eq!(code, 0, "{out}");
    let key = keys.join("key.pem");
    let cert = keys.join("cert.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is owner-only");
    }
    let (code, out) = onewindow(&["keygen", "--out", s(&keys)]);
    assert_ne!(code, 0, "keygen never overwrites a key: {out}");
    let (code, out) = onewindow(
        &[
            &["enterprise", "certificate", agent.as_str(), s(&cert)],
            &admin[..],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    let filed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(filed["algorithm"], "SM2", "{out}");
    let fingerprint = filed["fingerprint"].as_str().unwrap().to_string();

    // Signed into another directory, checked offline, submitted: accepted.
    let signed_dir = dir.path().join("signed");
    let (code, out) = onewindow(&[
        "sign",
        "--key",
        s(&key),
        "--cert",
        s(&cert),
        "--out",
        s(&signed_dir),
        s(&original),
    ]);
    assert_eq!(code, 0, "{out}");
    let signed = signed_dir.join("inventory.xml");
    assert_eq!(
        std::fs::read_to_string(&original).unwrap(),
        xml,
        "--out leaves the original alone"
    );
    let (code, out) = onewindow(&["verify", "--cert", s(&cert), s(&signed)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("OK (http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"),
        "{out}"
    );
    let (code, out) = onewindow(&[&["submit", s(&signed)], &sender[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("CEB622Message") && out.contains(": 2 "),
        "accepted: {out}"
    );

    // One byte changed after signing: refused offline and by the server with 1004.
    let tampered = dir.path().join("tampered.xml");
    let text = std::fs::read_to_string(&signed).unwrap();
    let changed = text.replacen("<ceb:orderNo>", "<ceb:orderNo>X", 1);
    assert_eq!(changed.len(), text.len() + 1);
    std::fs::write(&tampered, changed).unwrap();
    let (code, out) = onewindow(&["verify", "--cert", s(&cert), s(&tampered)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED [1004] 签名与数据不符"), "{out}");
    let (code, out) = onewindow(&[&["submit", s(&tampered)], &sender[..]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("invalid-signature") && out.contains("[Code:1004"),
        "{out}"
    );

    // Revoked: the next message signed under it is refused; the listing shows the revocation.
    let (code, out) = onewindow(
        &[
            &[
                "enterprise",
                "revoke-certificate",
                agent.as_str(),
                fingerprint.as_str(),
            ],
            &admin[..],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    let next = (32..)
        .map(inventory)
        .find(|(_, a)| *a == agent)
        .map(|(x, _)| x)
        .unwrap();
    let again = dir.path().join("again.xml");
    std::fs::write(&again, next).unwrap();
    let (code, out) = onewindow(&["sign", "--key", s(&key), "--cert", s(&cert), s(&again)]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = onewindow(&[&["submit", s(&again)], &sender[..]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1999") && out.contains("was revoked"), "{out}");
    let (code, out) =
        onewindow(&[&["enterprise", "certificates", agent.as_str()], &admin[..]].concat());
    assert_eq!(code, 0, "{out}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(listed["certificates"][0]["revokedAtMs"].is_i64(), "{out}");
}

#[test]
fn an_rsa_key_signs_and_verifies_offline() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("rsa");
    let (code, out) = onewindow(&["keygen", "--rsa", "--out", s(&keys)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("RSA"), "{out}");
    let (xml, _) = inventory(5);
    let file = dir.path().join("inventory.xml");
    std::fs::write(&file, xml).unwrap();
    let key = keys.join("key.pem");
    let cert = keys.join("cert.pem");
    let (code, out) = onewindow(&["sign", "--key", s(&key), "--cert", s(&cert), s(&file)]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = onewindow(&["verify", "--cert", s(&cert), s(&file)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("xmldsig#rsa-sha1"), "{out}");
    // Under another certificate than the one given: refused.
    let other = dir.path().join("other");
    let (code, _) = onewindow(&["keygen", "--out", s(&other)]);
    assert_eq!(code, 0);
    let (code, out) = onewindow(&["verify", "--cert", s(&other.join("cert.pem")), s(&file)]);
    assert_eq!(code, 1, "{out}");
}
