//! `cargo bench -p ceb --bench conformance`: our validator against libxml2 on the same corpus —
//! the official import samples and their systematic mutants (`tests/it/mutate.rs`), written to
//! files. libxml2 runs as `xmllint --noout --nonet --schema import.xsd FILE…`: one process for the
//! whole corpus, so the schema is compiled once and the per-file cost is libxml2's own (read,
//! parse, validate). xmllint is a thin command-line wrapper over the libxml2 library, so this is
//! what a C harness would measure, without a C toolchain or libxml2 headers in the build. We
//! time the equivalent loop: read each file, `ceb::check` it (parse, validate, map to the typed
//! message). The fixed cost of one xmllint start with schema compilation is measured apart and
//! subtracted, so the ratio compares validation work only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[allow(dead_code)]
#[path = "../tests/it/mutate.rs"]
mod mutate;

fn xmllint(xsd: &Path, files: &[PathBuf]) -> f64 {
    let start = Instant::now();
    for chunk in files.chunks(2000) {
        let out = Command::new("xmllint")
            .args(["--noout", "--nonet", "--schema"])
            .arg(xsd)
            .args(chunk)
            .output();
        match out {
            Ok(o) if !String::from_utf8_lossy(&o.stderr).contains("failed to compile") => {}
            _ => {
                eprintln!("xmllint is missing or the schema did not load");
                std::process::exit(1);
            }
        }
    }
    start.elapsed().as_secs_f64()
}

fn main() {
    let corpus = mutate::corpus();
    let dir = std::env::temp_dir().join(format!("ceb-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_default();
    let files: Vec<PathBuf> = corpus
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let f = dir.join(format!("{i:05}.xml"));
            std::fs::write(&f, &m.xml).unwrap_or_default();
            f
        })
        .collect();
    let bytes: usize = corpus.iter().map(|m| m.xml.len()).sum();
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("xsd/import.xsd");
    let rounds = 5;

    // Our validator: best of `rounds` passes over the files.
    let mut ours = f64::MAX;
    let mut valid = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        valid = 0;
        for f in &files {
            let data = std::fs::read(f).unwrap_or_default();
            valid += usize::from(std::hint::black_box(ceb::check(&data)).is_ok());
        }
        ours = ours.min(start.elapsed().as_secs_f64());
    }
    // Where our time goes: reading the tree alone, then validating an already read tree.
    let datas: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).unwrap_or_default())
        .collect();
    let limits = ceb::Limits::default();
    let mut tree = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        for d in &datas {
            let _ = std::hint::black_box(ceb::xml::parse_document(d, &limits));
        }
        tree = tree.min(start.elapsed().as_secs_f64());
    }
    let docs: Vec<_> = datas
        .iter()
        .filter_map(|d| ceb::xml::parse_document(d, &limits).ok())
        .collect();
    let mut walk = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        for doc in &docs {
            let _ = std::hint::black_box(ceb::schema::validate_root(
                ceb::schema::import_schema(),
                &doc.root,
            ));
        }
        walk = walk.min(start.elapsed().as_secs_f64());
    }
    drop(docs);
    drop(datas);

    // libxml2: best of `rounds`, and the fixed cost of starting and compiling the schema (one
    // process validating one small file).
    let one = [files[0].clone()];
    let fixed = (0..rounds)
        .map(|_| xmllint(&xsd, &one))
        .fold(f64::MAX, f64::min);
    let processes = files.len().div_ceil(2000) as f64;
    let theirs = (0..rounds)
        .map(|_| xmllint(&xsd, &files))
        .fold(f64::MAX, f64::min);
    let theirs_work = (theirs - processes * fixed).max(1e-9);
    // `onewindow validate` itself (release build, with its allocator), one process for the
    // corpus like xmllint, when it has been built.
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/onewindow");
    let cli = binary.exists().then(|| {
        (0..rounds)
            .map(|_| {
                let start = Instant::now();
                for chunk in files.chunks(2000) {
                    let _ = Command::new(&binary)
                        .arg("validate")
                        .args(chunk)
                        .stdout(std::process::Stdio::null())
                        .status();
                }
                start.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    });
    let n = files.len() as f64;
    println!(
        "corpus: {} messages, {:.1} MiB, {valid} valid by ceb::check",
        files.len(),
        bytes as f64 / 1048576.0
    );
    println!(
        "ceb::check (read file + parse + validate + map): {:.3} s, {:.0} messages/s, {:.1} µs each",
        ours,
        n / ours,
        ours / n * 1e6
    );
    println!(
        "  of which reading the element tree {:.3} s ({:.0} %), validating the tree {:.3} s ({:.0} %)",
        tree,
        tree / ours * 100.0,
        walk,
        walk / ours * 100.0
    );
    println!(
        "xmllint --schema, one process per 2,000 files: {:.3} s in all ({:.0} messages/s); \
         start + schema compilation {:.1} ms per process; validation alone {:.3} s, {:.0} messages/s, {:.1} µs each",
        theirs,
        n / theirs,
        fixed * 1e3,
        theirs_work,
        n / theirs_work,
        theirs_work / n * 1e6
    );
    println!(
        "ratio (libxml2 time / ours): {:.1}× on validation alone, {:.1}× including xmllint's start",
        theirs_work / ours,
        theirs / ours
    );
    match cli {
        Some(t) => println!(
            "onewindow validate (release), one process per 2,000 files: {t:.3} s, {:.0} messages/s; \
             ratio to xmllint, process for process: {:.1}×",
            n / t,
            theirs / t
        ),
        None => println!("(build target/release/onewindow to time `onewindow validate` too)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
