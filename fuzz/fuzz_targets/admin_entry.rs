//! An administrative or supervision journal entry (registry, tariff, settings, supervision
//! action, index publication or settings, certificate filing), as the API journals it and `onewindow rebuild` reads it back: the first byte chooses
//! the kind.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let kind = match first % 6 {
        0 => ingest::intake::FILING,
        1 => ingest::intake::TARIFF,
        2 => ingest::intake::SETTINGS,
        3 => ingest::intake::ACTION,
        4 => ingest::intake::INDEX,
        _ => ingest::signatures::CERTIFICATE,
    };
    let _ = ingest::intake::admin_content(kind, body, 1_767_240_000_000);
});
