//! `cargo bench -p domain`: the composite tax of a five-line inventory, repeatedly (no harness:
//! a plain timed loop).

use std::time::Instant;

use domain::settings::Settings;
use domain::tariff::Tariff;
use domain::tax::{Regime, TaxInput, TaxLineInput, assess};
use rust_decimal::Decimal;

fn main() {
    let tariff = Tariff::builtin();
    let settings = Settings::default();
    let hs = [
        "3304990099",
        "2204210000",
        "1509200000",
        "6110200090",
        "9503008900",
    ];
    let lines: Vec<TaxLineInput> = hs
        .iter()
        .enumerate()
        .map(|(i, hs)| TaxLineInput {
            gnum: i as u32 + 1,
            hs: (*hs).to_string(),
            goods_value: Decimal::new(12_345 + 1_000 * i as i64, 2),
            qty: Decimal::ONE,
            unit: "011".into(),
            qty1: Decimal::new(5, 2),
            unit1: "035".into(),
        })
        .collect();
    let input = TaxInput {
        lines: &lines,
        freight: Decimal::new(1_500, 2),
        insured_fee: Decimal::new(200, 2),
        discount: Decimal::ZERO,
        regime: Regime::Preferential,
    };
    let rounds = 200_000;
    let start = Instant::now();
    let mut total = Decimal::ZERO;
    for _ in 0..rounds {
        if let Ok(a) = assess(std::hint::black_box(&input), &tariff, &settings) {
            total += a.total();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "tax::assess, 5 lines: {:.0} assessments/s ({:.2} µs each); checksum {total}",
        rounds as f64 / secs,
        secs * 1e6 / rounds as f64
    );
}
