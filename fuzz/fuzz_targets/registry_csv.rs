//! The enterprise registry CSV (docs/registry.md), as `POST /api/v1/enterprises` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ =
            domain::registry::parse_registry_csv(text, domain::time::Timestamp(1_767_240_000_000));
    }
});
