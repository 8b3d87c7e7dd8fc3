//! `cargo bench -p ceb`: parse + validate + map the 16 official import samples, repeatedly, and
//! print messages per second (no harness: a plain timed loop, enough to compare builds).

use std::time::Instant;

fn main() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/gacc-ceb-202205/samples/import"
    );
    let mut samples = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if let Ok(bytes) = std::fs::read(entry.path()) {
                samples.push((entry.file_name().to_string_lossy().to_string(), bytes));
            }
        }
    }
    if samples.is_empty() {
        eprintln!("no samples found in {dir}");
        return;
    }
    samples.sort();
    let limits = ceb::Limits::default();
    println!(
        "{:<24} {:>10} {:>14} {:>12}",
        "sample", "bytes", "messages/s", "MiB/s"
    );
    for (name, bytes) in &samples {
        let rounds = 2_000;
        let start = Instant::now();
        let mut ok = 0usize;
        for _ in 0..rounds {
            ok += usize::from(std::hint::black_box(ceb::parse(bytes, &limits)).is_ok());
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(ok, rounds, "{name} parses");
        println!(
            "{name:<24} {:>10} {:>14.0} {:>12.1}",
            bytes.len(),
            rounds as f64 / secs,
            (bytes.len() * rounds) as f64 / secs / (1024.0 * 1024.0)
        );
    }
    // The reader's scan for characters XML 1.0 forbids, alone, over the same samples: its share
    // of the time above is its cost on the hot path.
    let texts: Vec<String> = samples
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    let total: usize = texts.iter().map(String::len).sum();
    let rounds = 20_000;
    let start = Instant::now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for t in &texts {
            found += usize::from(ceb::xml::first_forbidden_char(std::hint::black_box(t)).is_some());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(found, 0, "the samples hold no forbidden character");
    println!(
        "forbidden-character scan alone: {:.0} MiB/s ({:.2} µs for all {} samples, {} bytes)",
        (total * rounds) as f64 / secs / (1024.0 * 1024.0),
        secs / rounds as f64 * 1e6,
        texts.len(),
        total
    );
}
