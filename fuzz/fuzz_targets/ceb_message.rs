//! A CEB message as the API receives it: read, validate (ingest rules and the strict
//! `onewindow validate` rules) and map. Never panics; a declaration that is accepted must
//! serialize to XML that is read back to the same message, and the strict check must never
//! accept what the ingest rules refuse.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ceb::Limits::default();
    let parsed = ceb::parse(data, &limits);
    let strict = ceb::check(data);
    if strict.is_ok() {
        assert!(parsed.is_ok(), "check accepts what parse refuses");
    }
    if let Ok(p) = parsed {
        let xml = p.message.to_xml();
        if p.message.is_declaration() {
            match ceb::parse(xml.as_bytes(), &limits) {
                Ok(back) => assert_eq!(back.message, p.message, "round trip changed the message"),
                Err(r) => panic!(
                    "an accepted declaration does not read back: {r} {:?}",
                    r.issues
                ),
            }
        }
    }
    if let Err(r) = ceb::parse(data, &limits) {
        let _ = r.to_ceb900("20260101120000000", data).to_xml();
    }
});
