//! Signature verification (`ceb::dsig`): any bytes — a signed message, a mangled one, a hostile
//! document — get a verdict (verified, or a typed refusal), never a panic. The seeds are messages
//! signed with SM2 and RSA test keys by `onewindow sign` (scripts/fuzz.sh makes them).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ceb::dsig::verify_bytes(data);
});
