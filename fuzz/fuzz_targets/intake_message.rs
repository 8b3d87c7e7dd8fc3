//! `POST /api/v1/messages` after authentication: the body as XML or as its JSON equivalent
//! (bit 0 of the first byte chooses), through parsing, validation, the signature check (bit 1:
//! required, with no certificate on file, or off) and the mapping to domain documents.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let is_json = first & 1 == 1;
    let policy = if first & 2 == 2 {
        domain::settings::SignaturePolicy::Off
    } else {
        domain::settings::SignaturePolicy::Required
    };
    let gate = ingest::signatures::Gate::new(
        policy,
        std::sync::Arc::new(ingest::signatures::Certificates::default()),
    );
    let _ = ingest::intake::prepare(
        body,
        is_json,
        &ceb::Limits::default(),
        None,
        1_767_240_000_000,
        &gate,
    );
});
