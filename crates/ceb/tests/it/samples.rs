use crate::{CODES, sample};
use ceb::{DxpInfo, DxpMsg, Limits, Message, parse};

#[test]
fn every_import_sample_parses_to_its_typed_message() {
    for code in CODES {
        let p = parse(sample(code).as_bytes(), &Limits::default())
            .unwrap_or_else(|r| panic!("CEB{code}: {r} {:#?}", r.issues));
        assert_eq!(p.message.message_type(), format!("CEB{code}Message"));
        assert!(p.dxp.is_none());
    }
}

#[test]
fn typed_fields_carry_the_wire_values() {
    let p = parse(sample("311").as_bytes(), &Limits::default()).unwrap();
    let Message::Ceb311(m) = p.message else {
        panic!()
    };
    assert_eq!(m.guid, "4CDE1CFD-EDED-46B1-946C-B8022E42FC94");
    assert_eq!(m.order.len(), 6);
    let o = &m.order[0];
    assert_eq!(o.order_head.ebp_name, "东方物通科技(北京)有限公司");
    assert_eq!(o.order_head.actural_paid, "19050");
    assert_eq!(o.order_list.len(), 2);
    assert_eq!(o.order_list[1].gnum, "2");
    assert_eq!(o.order_list[0].note.as_deref(), Some(""));
    assert_eq!(m.base_transfer.dxp_mode, "DXP");
    let sig = m.signature.as_ref().unwrap();
    assert!(sig.0.starts_with("<ds:Signature"));
    assert!(sig.0.ends_with("</ds:Signature>"));
}

#[test]
fn debug_output_masks_personal_data() {
    let p = parse(sample("311").as_bytes(), &Limits::default()).unwrap();
    let dbg = format!("{:?}", p.message);
    assert!(dbg.contains("order20160321116421002"));
    assert!(!dbg.contains("130681136250023332"), "ID number leaked");
    assert!(!dbg.contains("18813025940"), "phone leaked");
    assert!(!dbg.contains("焦洪宇"), "consignee leaked");
}

#[test]
fn sample_parse_serialize_parse_is_stable() {
    for code in CODES {
        let first = parse(sample(code).as_bytes(), &Limits::default())
            .unwrap()
            .message;
        let xml = first.to_xml();
        let second = parse(xml.as_bytes(), &Limits::default())
            .unwrap_or_else(|r| panic!("CEB{code} reserialized: {r} {:#?}\n{xml}", r.issues))
            .message;
        assert_eq!(first, second, "CEB{code}");
    }
}

#[test]
fn receipts_are_written_in_the_official_shape() {
    let m = parse(sample("312").as_bytes(), &Limits::default())
        .unwrap()
        .message;
    let xml = m.to_xml();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(xml.contains("<CEB312Message xmlns=\"http://www.chinaport.gov.cn/ceb\" guid=\"4CDE1CFD-EDED-46B1-946C-B8022E42FC94\" version=\"1.0\">"));
    assert!(xml.contains("<OrderReturn><guid>4CDE1CFD-EDED-46B1-946C-B8022E42FC94</guid><ebpCode>1105910159</ebpCode>"));
    assert!(!xml.contains("ceb:"));
    let d = parse(sample("621").as_bytes(), &Limits::default())
        .unwrap()
        .message;
    let dx = d.to_xml();
    assert!(dx.contains("<ceb:CEB621Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\""));
    assert!(dx.contains("<ceb:InventoryHead><ceb:guid>"));
}

#[test]
fn text_is_escaped_on_output() {
    let mut m = match parse(sample("312").as_bytes(), &Limits::default())
        .unwrap()
        .message
    {
        Message::Ceb312(m) => m,
        _ => panic!(),
    };
    m.order_return[0].return_info = "a<b & \"c\" ]]> d".into();
    let xml = m.to_xml();
    assert!(xml.contains("a&lt;b &amp; &quot;c&quot; ]]&gt; d"));
    let back = parse(xml.as_bytes(), &Limits::default()).unwrap().message;
    assert_eq!(back, Message::Ceb312(m));
}

#[test]
fn json_uses_the_xml_names() {
    let m = parse(sample("411").as_bytes(), &Limits::default())
        .unwrap()
        .message;
    let json = serde_json::to_string(&m).unwrap();
    assert!(json.starts_with("{\"CEB411Message\":{\"guid\":"), "{json}");
    assert!(json.contains("\"PaymentHead\""));
    assert!(json.contains("\"payTransactionId\""));
    let back: Message = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
}

#[test]
fn dxp_wrapped_message_yields_the_inner_message() {
    let inner = sample("311");
    let env = DxpMsg::wrap(
        inner.as_bytes(),
        DxpInfo {
            cop_msg_id: "MSG-0001".into(),
            sender_id: "DXPENT0000000001".into(),
            receiver_ids: vec!["DXPEDCCEB0000002".into()],
            creat_time: "2026-11-23T12:00:00".into(),
            msg_type: "CEB311Message".into(),
            file_name: None,
        },
    );
    let p = parse(env.to_xml().as_bytes(), &Limits::default()).unwrap();
    assert_eq!(p.message.message_type(), "CEB311Message");
    let info = p.dxp.unwrap();
    assert_eq!(info.cop_msg_id, "MSG-0001");
    assert_eq!(info.receiver_ids, vec!["DXPEDCCEB0000002".to_string()]);
    assert_eq!(p.business_xml, inner.as_bytes());
    let bare = parse(inner.as_bytes(), &Limits::default()).unwrap().message;
    assert_eq!(p.message, bare);
}

#[test]
fn dxp_with_invalid_inner_message_is_rejected_by_schema() {
    let inner = sample("311").replacen(
        "<ceb:buyerTelephone>18813025940</ceb:buyerTelephone>",
        "",
        1,
    );
    let env = DxpMsg::wrap(
        inner.as_bytes(),
        DxpInfo {
            cop_msg_id: "M".into(),
            sender_id: "S".into(),
            receiver_ids: vec!["R".into()],
            creat_time: "2026-11-23T12:00:00".into(),
            msg_type: "CEB311Message".into(),
            file_name: None,
        },
    );
    let r = parse(env.to_xml().as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(r.code, "0002");
    assert_eq!(
        r.issues[0].path,
        "/CEB311Message/Order[1]/OrderHead/buyerTelephone"
    );
}

#[test]
fn gbk_and_gb18030_encodings_parse_like_utf8() {
    let utf8 = sample("311");
    let expected = parse(utf8.as_bytes(), &Limits::default()).unwrap().message;
    for label in ["GBK", "GB18030", "gb2312"] {
        let text = utf8.trim_start_matches('\u{feff}').replacen(
            "encoding=\"UTF-8\"",
            &format!("encoding=\"{label}\""),
            1,
        );
        let (bytes, _, errors) = encoding_rs::GB18030.encode(&text);
        assert!(!errors);
        assert_ne!(
            &bytes[..],
            text.as_bytes(),
            "the test must really change the bytes"
        );
        let got = parse(&bytes, &Limits::default()).unwrap().message;
        assert_eq!(got, expected, "{label}");
    }
}

#[test]
fn utf8_bom_is_tolerated_and_bad_bytes_are_refused() {
    let s = sample("412");
    let mut with_bom = vec![0xEF, 0xBB, 0xBF];
    with_bom.extend_from_slice(s.as_bytes());
    assert!(parse(&with_bom, &Limits::default()).is_ok());
    let mut bad = s.clone().into_bytes();
    bad.extend_from_slice(&[0xFF, 0xFE, 0xFD]);
    let pos = s.find("<returnInfo>").unwrap() + "<returnInfo>".len();
    bad.splice(pos..pos, [0xC3, 0x28]);
    let r = parse(&bad, &Limits::default()).unwrap_err();
    assert_eq!(r.code, "0001");
    assert!(r.to_string().contains("UTF-8"), "{r}");
    let unknown = s.replacen("UTF-8", "ISO-8859-5", 1);
    let r = parse(unknown.as_bytes(), &Limits::default()).unwrap_err();
    assert!(r.to_string().contains("unsupported encoding"), "{r}");
}

/// Throughput probe, not an assertion: `cargo test -p ceb --release -- --ignored --nocapture throughput`.
#[test]
#[ignore]
fn throughput() {
    for code in ["311", "621", "312"] {
        let s = sample(code);
        let n = 5000;
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(parse(s.as_bytes(), &Limits::default()).unwrap());
        }
        let el = t.elapsed();
        println!(
            "CEB{code} ({} bytes): {:.0} msgs/s",
            s.len(),
            n as f64 / el.as_secs_f64()
        );
    }
}

#[test]
#[ignore]
fn throughput_split() {
    let s = sample("621");
    let n = 2000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(ceb::xml::parse_document(s.as_bytes(), &Limits::default()).unwrap());
    }
    println!("read: {:?}/msg", t.elapsed() / n);
    let doc = ceb::xml::parse_document(s.as_bytes(), &Limits::default()).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(ceb::schema::validate_root(
            ceb::schema::import_schema(),
            &doc.root,
        ));
    }
    println!("validate: {:?}/msg", t.elapsed() / n);
    let t = std::time::Instant::now();
    for _ in 0..n {
        let mut cx = ceb::message::Cx::default();
        std::hint::black_box(Message::from_tree(&doc, &mut cx));
    }
    println!("typed: {:?}/msg", t.elapsed() / n);
}

#[test]
#[ignore]
fn throughput_raw_reader() {
    let s = sample("621");
    let n = 2000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let mut r = quick_xml::NsReader::from_str(&s);
        let mut c = 0;
        loop {
            match r.read_resolved_event().unwrap().1 {
                quick_xml::events::Event::Eof => break,
                _ => c += 1,
            }
        }
        std::hint::black_box(c);
    }
    println!("quick-xml alone: {:?}/msg", t.elapsed() / n);
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(ceb::xml::decode(s.as_bytes()).unwrap());
    }
    println!("decode: {:?}/msg", t.elapsed() / n);
}

#[test]
fn written_messages_are_valid_against_the_schema() {
    // Every message we write, receipts included, passes the strict schema check.
    for code in CODES {
        let m = parse(sample(code).as_bytes(), &Limits::default())
            .unwrap()
            .message;
        let xml = m.to_xml();
        let doc = ceb::xml::parse_document(xml.as_bytes(), &Limits::default()).unwrap();
        let issues = ceb::schema::validate_root(ceb::schema::import_schema(), &doc.root);
        assert!(issues.is_empty(), "CEB{code}: {issues:#?}");
    }
}

#[test]
fn inventory_lines_keep_their_fields() {
    let m = parse(sample("621").as_bytes(), &Limits::default())
        .unwrap()
        .message;
    let Message::Ceb621(m) = m else { panic!() };
    let inv = &m.inventory[0];
    assert_eq!(inv.inventory_head.ie_flag, "I");
    let line = &inv.inventory_list[0];
    assert_eq!(line.gnum, "1");
    assert!(!line.gcode.is_empty());
    assert!(m.signature.0.contains("SignatureValue"));
}
