//! `POST /api/v1/messages` after authentication: the body as XML or as its JSON equivalent
//! (first byte chooses), through parsing, validation and the mapping to domain documents.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let is_json = first & 1 == 1;
    let _ = server::intake::prepare(
        body,
        is_json,
        &ceb::Limits::default(),
        None,
        1_767_240_000_000,
    );
});
