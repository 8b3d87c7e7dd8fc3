//! The tariff CSV (docs/tariff.md), as `POST /api/v1/tariff` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = domain::tariff::Tariff::parse_csv(text);
    }
});
