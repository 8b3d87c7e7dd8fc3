//! The traffic generator: deterministic, each case provokes what it claims, and its output
//! is valid against the official CEB import schema (checked with xmllint).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cases;
mod schema;
mod schemes;
mod signing;

use traffic::{Case, DeclarationSet, GeneratedMessage, Generator, Mix};

/// 2026-11-23 12:00:00 UTC.
pub const NOW: i64 = 1_795_435_200_000;

/// The text of the first `<ceb:tag>` element.
pub fn field<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    fields(xml, tag).into_iter().next()
}

/// The texts of all `<ceb:tag>` elements, in document order.
pub fn fields<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<ceb:{tag}>");
    let close = format!("</ceb:{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(s) = rest.find(&open) {
        let after = &rest[s + open.len()..];
        let Some(e) = after.find(&close) else { break };
        out.push(&after[..e]);
        rest = &after[e + close.len()..];
    }
    out
}

/// A CEB decimal amount in fen.
pub fn fen(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let frac = format!("{frac:0<2}");
    assert!(frac.len() == 2, "more than 2 decimals in amount {s}");
    int.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

pub fn fen_of(xml: &str, tag: &str) -> i64 {
    fen(field(xml, tag).unwrap_or_else(|| panic!("no <{tag}>")))
}

pub fn of_type<'a>(set: &'a DeclarationSet, t: &str) -> Vec<&'a GeneratedMessage> {
    set.messages
        .iter()
        .filter(|m| m.message_type == t)
        .collect()
}

pub fn one<'a>(set: &'a DeclarationSet, t: &str) -> &'a GeneratedMessage {
    let v = of_type(set, t);
    assert_eq!(v.len(), 1, "{:?}: expected one {t}", set.case);
    v[0]
}

/// The default mix without signatures, for tests of the generator's logic over many thousands
/// of sets that are never submitted (signing costs about a millisecond per message in debug
/// builds); `signing.rs` tests the signatures.
pub fn unsigned() -> Mix {
    Mix {
        signed: false,
        ..Mix::default()
    }
}

pub fn set(case: Case, seed: u64) -> DeclarationSet {
    Generator::new(seed, Mix::default()).set_of(case, NOW)
}

#[test]
fn same_seed_gives_byte_identical_output_and_another_seed_does_not() {
    let run = |seed| {
        let mut g = Generator::new(seed, Mix::default());
        (0..500)
            .flat_map(|i| g.next_set(NOW + i * 1000).messages)
            .map(|m| (m.sender, m.guid, m.xml))
            .collect::<Vec<_>>()
    };
    let a = run(42);
    assert_eq!(a, run(42));
    let b = run(43);
    assert_ne!(a, b);
    assert!(a.iter().all(|(_, g, _)| b.iter().all(|(_, h, _)| g != h)));
}

#[test]
fn registry_csv_has_the_documented_shape() {
    let csv = traffic::registry_csv();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("code,name,roles,dxp_id,filed_on,park,entrusts")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), traffic::demo_registry().len());
    let count = |role: &str| {
        rows.iter()
            .filter(|r| r[2].split('|').any(|x| x == role))
            .count()
    };
    assert_eq!(
        count("ebp"),
        3,
        "2 platforms + 1 seller with its own platform"
    );
    assert_eq!(
        count("ebc"),
        5,
        "4 sellers + the undervaluing seller of the schemes"
    );
    assert_eq!(count("guarantor"), 5);
    assert_eq!(count("payment"), 2);
    assert_eq!(count("logistics"), 2);
    assert_eq!(count("agent"), 2);
    assert_eq!(count("bonded"), 1);
    for r in &rows {
        assert_eq!(r.len(), 7, "{r:?}");
        // Sellers belong to a park of the demo zone, and entrust every platform and agent.
        if r[2].split('|').any(|x| x == "ebc") {
            assert!(r[5].starts_with("HZ-"), "{r:?}");
            let entrusted: Vec<&str> = r[6].split('|').collect();
            for other in traffic::demo_registry() {
                if other.code != r[0] && (other.has_role("ebp") || other.has_role("agent")) {
                    assert!(entrusted.contains(&other.code), "{r:?}");
                }
            }
        }
        assert_eq!(r[0].len(), 10);
        // Established enterprises carry their filing date; the new undervaluing seller none.
        assert_eq!(
            r[4].is_empty(),
            r[0] == traffic::UNDERVALUING_SELLER_CODE,
            "{r:?}"
        );
        assert!(r[1].contains("(测试)"));
        assert!(r[3].starts_with("DXPENT") && r[3].len() == 16);
    }
    let mut codes: Vec<_> = rows.iter().map(|r| r[0]).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), rows.len());
    assert!(!codes.contains(&traffic::UNFILED_EBC_CODE));

    let mut quoted = String::new();
    traffic::csv_field(&mut quoted, "样例,\"公司\"");
    assert_eq!(quoted, "\"样例,\"\"公司\"\"\"");
}

#[test]
fn buyer_and_message_debug_do_not_leak_personal_data() {
    let s = set(Case::Clean, 7);
    let shown = format!("{s:?}");
    assert!(!shown.contains(&s.buyer.name), "{shown}");
    assert!(!shown.contains(&s.buyer.id_number), "{shown}");
    assert!(!shown.contains(&s.buyer.phone), "{shown}");
    assert!(
        s.messages
            .iter()
            .any(|m| m.xml.contains(&s.buyer.id_number))
    );
}

#[test]
fn buyers_are_fictitious_and_id_check_digits_are_valid() {
    let mut g = Generator::new(5, unsigned());
    for i in 0..3000 {
        let s = g.next_set(NOW + i);
        let b = &s.buyer;
        assert!(b.name.contains('测') || b.name.contains('样'), "{}", b.name);
        assert!(b.id_number.starts_with("99") && b.id_number.len() == 18);
        assert!(traffic::id_number_is_valid(&b.id_number), "{}", b.id_number);
        let month: u32 = b.id_number[10..12].parse().unwrap();
        let day: u32 = b.id_number[12..14].parse().unwrap();
        assert!((1..=12).contains(&month) && (1..=31).contains(&day));
        assert!(b.phone.starts_with("10") && b.phone.len() == 11);
        for m in &s.messages {
            for id in fields(&m.xml, "buyerIdNumber")
                .into_iter()
                .chain(fields(&m.xml, "payerIdNumber"))
            {
                assert!(traffic::id_number_is_valid(id), "{id}");
            }
        }
    }
    // A known-good check digit (GB 11643 example) and a broken one.
    assert!(traffic::id_number_is_valid("11010519491231002X"));
    assert!(!traffic::id_number_is_valid("110105194912310021"));
}

#[test]
fn guids_are_unique_except_for_deliberate_resubmissions() {
    let mut g = Generator::new(11, unsigned());
    let mut seen = std::collections::HashMap::new();
    for i in 0..5000 {
        let s = g.next_set(NOW + i);
        for m in s.messages {
            assert_eq!(m.guid.len(), 36);
            assert!(!m.guid.chars().any(|c| c.is_ascii_lowercase()));
            if let Some(prev) = seen.insert(m.guid.clone(), m.xml.clone()) {
                assert_eq!(s.case, Case::Resubmission, "guid {} reused", m.guid);
                assert_eq!(prev, m.xml, "a resubmission is byte-identical");
            }
        }
    }
}

#[test]
fn mix_draws_mostly_clean_sets_and_every_bad_case() {
    let mut g = Generator::new(3, unsigned());
    let mut counts = std::collections::HashMap::new();
    for i in 0..20_000 {
        *counts.entry(g.next_set(NOW + i).case).or_insert(0u32) += 1;
    }
    let clean = counts[&Case::Clean];
    assert!((18_000..18_800).contains(&clean), "clean {clean}");
    for c in Case::BAD {
        assert!(counts.get(&c).copied().unwrap_or(0) > 20, "{c:?} too rare");
    }
    let mut none_bad = Generator::new(
        3,
        Mix {
            bad_share_per_mille: 0,
            ..unsigned()
        },
    );
    assert!((0..2000).all(|i| none_bad.next_set(NOW + i).case == Case::Clean));
}

#[test]
fn case_names_round_trip() {
    for c in Case::ALL {
        assert_eq!(Case::from_name(c.name()), Some(c));
    }
}

/// Not a benchmark harness: prints the rate so the lead can record it.
/// `cargo test -p traffic --release -- --ignored --nocapture generation_speed`
#[test]
#[ignore]
fn generation_speed() {
    let mut g = Generator::new(1, Mix::default());
    let n = 200_000u64;
    let start = std::time::Instant::now();
    let mut messages = 0usize;
    let mut bytes = 0usize;
    for i in 0..n {
        let s = g.next_set(NOW + i as i64);
        messages += s.messages.len();
        bytes += s.messages.iter().map(|m| m.xml.len()).sum::<usize>();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "traffic: {n} sets, {messages} messages, {} MB in {secs:.2} s = {:.0} sets/s, {:.0} messages/s",
        bytes / 1_000_000,
        n as f64 / secs,
        messages as f64 / secs
    );
}
