//! `cargo bench -p ceb --bench signature`: what verifying a signed CEB621 costs, step by step —
//! reading, canonicalization, the whole verification, and the SM2 arithmetic alone — and signing.

use std::time::Instant;

use ceb::dsig::{PrivateKey, Signer};

fn rate(label: &str, rounds: u32, mut f: impl FnMut()) {
    let start = Instant::now();
    for _ in 0..rounds {
        f();
    }
    let each = start.elapsed() / rounds;
    println!("{label:<44} {:>10.1} µs", each.as_secs_f64() * 1e6);
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/gacc-ceb-202205/samples/import/CEB711Message.xml"
    );
    let Ok(sample) = std::fs::read(path) else {
        eprintln!("no sample at {path}");
        return;
    };
    let key = PrivateKey::sm2_from_seed(b"bench");
    let cert = match key.self_signed("E1", "bench", &[1], 1_577_836_800_000, 2_524_521_600_000) {
        Ok(c) => c,
        Err(e) => return eprintln!("{e}"),
    };
    let Ok(signer) = Signer::new(key, cert) else {
        return;
    };
    let Ok(signed) = ceb::dsig::sign(&sample, &signer) else {
        return;
    };
    let limits = ceb::Limits::default();
    println!("signed CEB711 sample: {} bytes", signed.len());
    rate("read (hardened reader, tree)", 2000, || {
        let _ = std::hint::black_box(ceb::xml::parse_document(&signed, &limits));
    });
    let Ok(doc) = ceb::xml::parse_document(&signed, &limits) else {
        return;
    };
    rate("canonicalize the whole message", 2000, || {
        let _ = std::hint::black_box(ceb::c14n::canonicalize(
            &doc.source,
            &ceb::c14n::Selection::Document { exclude: None },
            ceb::c14n::Comments::Without,
        ));
    });
    rate(
        "verify (read, c14n ×2, SM3, SM2, certificate)",
        300,
        || {
            let _ = std::hint::black_box(ceb::dsig::verify_bytes(&signed));
        },
    );
    let public = signer.certificate().der().to_vec();
    rate("read the certificate", 2000, || {
        let _ = std::hint::black_box(ceb::dsig::Certificate::from_der(&public));
    });
    rate("sign (unchecked)", 300, || {
        let _ = std::hint::black_box(ceb::dsig::sign_unchecked(&sample, &signer));
    });
}
