//! The DXP envelope: the bytes as a whole `DxpMsg`, and the bytes as the business message
//! carried base64-encoded in `Data`. Never panics; a business message reads the same wrapped as
//! bare (unless the wrapping itself crosses a size limit, or the message is an envelope already).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ceb::Limits::default();
    let bare = ceb::parse(data, &limits);
    let info = ceb::DxpInfo {
        cop_msg_id: "fuzz".into(),
        sender_id: "DXPENT0000000001".into(),
        receiver_ids: vec!["DXPEDCCEB0000002".into()],
        creat_time: "2026-01-01T12:00:00".into(),
        msg_type: "CEB311Message".into(),
        file_name: None,
    };
    let wrapped = ceb::DxpMsg::wrap(data, info).to_xml();
    let fits = wrapped.len() <= limits.max_bytes && data.len() / 3 * 4 + 4 <= limits.max_text_len;
    match (ceb::parse(wrapped.as_bytes(), &limits), bare) {
        (Ok(w), Ok(b)) => {
            assert_eq!(w.business_xml, data);
            assert_eq!(w.message, b.message, "wrapped and bare read differently");
        }
        (Err(r), Ok(b)) if fits && b.dxp.is_none() => {
            panic!("refused wrapped, accepted bare: {r} {:?}", r.issues)
        }
        (Ok(w), Err(r)) => panic!(
            "accepted wrapped ({}), refused bare: {r}",
            w.message.message_type()
        ),
        _ => {}
    }
});
