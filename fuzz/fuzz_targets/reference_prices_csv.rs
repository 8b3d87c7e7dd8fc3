//! The reference prices CSV of risk rule R7, as the regulators' API reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = domain::risk::ReferencePrices::parse_csv(text);
    }
});
