//! The settings document (docs/settings.md), as `PUT /api/v1/settings` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = domain::settings::Settings::from_json(text);
    }
});
