use crate::{REAL, rejected, sample};

fn only(r: &ceb::Rejection, path: &str, rule: &str) {
    assert_eq!(r.code, "0002", "{r}");
    assert!(
        r.issues.iter().any(|i| i.path == path && i.rule == rule),
        "want {rule} at {path}, got {:#?}",
        r.issues
    );
}

#[test]
fn order_without_buyer_telephone_is_refused() {
    let xml = sample("311").replacen(
        "<ceb:buyerTelephone>18813025940</ceb:buyerTelephone>",
        "",
        1,
    );
    let r = rejected(&xml);
    only(
        &r,
        "/CEB311Message/Order[1]/OrderHead/buyerTelephone",
        "required",
    );
    assert_eq!(r.message_type.as_deref(), Some("CEB311Message"));
    assert!(
        r.to_string()
            .starts_with("[0002] CEB311Message schema validation failed"),
        "{r}"
    );
}

#[test]
fn waybill_without_order_no_is_refused() {
    let s = sample("511");
    let start = s.find("<ceb:orderNo>").unwrap();
    let end = s[start..].find("</ceb:orderNo>").unwrap() + start + "</ceb:orderNo>".len();
    let xml = format!("{}{}", &s[..start], &s[end..]);
    only(
        &rejected(&xml),
        "/CEB511Message/Logistics[1]/LogisticsHead/orderNo",
        "required",
    );
}

#[test]
fn inventory_list_in_pdf_order_is_an_order_error() {
    let s = sample("621");
    let a = s.find("<ceb:qty>").unwrap();
    let b = s[a..].find("<ceb:price>").unwrap() + a;
    let xml = format!(
        "{}<ceb:qty>1</ceb:qty><ceb:qty1>1</ceb:qty1><ceb:qty2>1</ceb:qty2><ceb:unit>011</ceb:unit><ceb:unit1>011</ceb:unit1><ceb:unit2>011</ceb:unit2>{}",
        &s[..a],
        &s[b..]
    );
    let r = rejected(&xml);
    only(
        &r,
        "/CEB621Message/Inventory[1]/InventoryList[1]/unit",
        "order",
    );
}

#[test]
fn item_no_longer_than_20_characters_is_refused() {
    let s = sample("621");
    let a = s.find("<ceb:itemNo>").unwrap() + "<ceb:itemNo>".len();
    let b = s[a..].find("</ceb:itemNo>").unwrap() + a;
    let xml = format!("{}{}{}", &s[..a], "商".repeat(21), &s[b..]);
    let r = rejected(&xml);
    only(
        &r,
        "/CEB621Message/Inventory[1]/InventoryList[1]/itemNo",
        "max-length",
    );
    // 20 Chinese characters are 60 bytes but 20 characters: accepted.
    let ok = format!("{}{}{}", &s[..a], "商".repeat(20), &s[b..]);
    assert!(ceb::validate(ok.as_bytes()).is_ok());
}

#[test]
fn signed_declarations_without_signature_are_refused() {
    for (code, root) in [
        ("621", "CEB621Message"),
        ("623", "CEB623Message"),
        ("625", "CEB625Message"),
        ("711", "CEB711Message"),
    ] {
        let s = sample(code);
        let a = s.find("<ds:Signature").unwrap();
        let b = s.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let xml = format!("{}{}", &s[..a], &s[b..]);
        only(&rejected(&xml), &format!("/{root}/Signature"), "required");
    }
}

#[test]
fn too_many_fraction_digits_are_refused() {
    let xml = sample("311").replacen(
        "<ceb:goodsValue>14000</ceb:goodsValue>",
        "<ceb:goodsValue>14000.123456</ceb:goodsValue>",
        1,
    );
    only(
        &rejected(&xml),
        "/CEB311Message/Order[1]/OrderHead/goodsValue",
        "fraction-digits",
    );
    let xml = sample("311").replacen(
        "<ceb:goodsValue>14000</ceb:goodsValue>",
        "<ceb:goodsValue>14,000</ceb:goodsValue>",
        1,
    );
    only(
        &rejected(&xml),
        "/CEB311Message/Order[1]/OrderHead/goodsValue",
        "decimal",
    );
    // Whitespace around a decimal collapses, as XSD says.
    let xml = sample("311").replacen(
        "<ceb:goodsValue>14000</ceb:goodsValue>",
        "<ceb:goodsValue> 14000.50 </ceb:goodsValue>",
        1,
    );
    assert!(ceb::validate(xml.as_bytes()).is_ok());
}

#[test]
fn other_rules_are_named() {
    let xml = sample("311").replacen("<ceb:gnum>1</ceb:gnum>", "<ceb:gnum>x</ceb:gnum>", 1);
    only(
        &rejected(&xml),
        "/CEB311Message/Order[1]/OrderList[1]/gnum",
        "int",
    );
    let xml = sample("311").replacen(
        "<ceb:appType>1</ceb:appType>",
        "<ceb:appType>12</ceb:appType>",
        1,
    );
    only(
        &rejected(&xml),
        "/CEB311Message/Order[1]/OrderHead/appType",
        "length",
    );
    let xml = sample("311").replacen(
        "<ceb:note>test</ceb:note>",
        "<ceb:note>test</ceb:note><ceb:extra>1</ceb:extra>",
        1,
    );
    only(
        &rejected(&xml),
        "/CEB311Message/Order[1]/OrderHead/extra",
        "unexpected-element",
    );
    let xml = sample("311").replacen(" guid=\"4CDE1CFD-EDED-46B1-946C-B8022E42FC94\"", "", 1);
    only(
        &rejected(&xml),
        "/CEB311Message/@guid",
        "attribute-required",
    );
    let s = sample("411");
    let a = s.find("<ceb:Payment>").unwrap();
    let b = s.find("<ceb:BaseTransfer>").unwrap();
    let xml = format!("{}{}{}", &s[..a], s[a..b].repeat(101), &s[b..]);
    only(&rejected(&xml), "/CEB411Message/Payment[101]", "max-occurs");
}

#[test]
fn wrong_or_missing_root_namespace_is_refused() {
    let xml = sample("312").replacen("xmlns=\"http://www.chinaport.gov.cn/ceb\"", "", 1);
    let r = rejected(&xml);
    assert_eq!(r.code, "0001");
    assert_eq!(r.issues[0].rule, "namespace");
    let xml = sample("311").replace(
        "xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"",
        "xmlns:ceb=\"urn:other\"",
    );
    assert_eq!(rejected(&xml).issues[0].rule, "namespace");
}

#[test]
fn any_prefix_bound_to_the_ceb_namespace_works() {
    let xml = sample("311")
        .replace("ceb:", "x:")
        .replace("xmlns:ceb=", "xmlns:x=");
    if let Err(r) = ceb::validate(xml.as_bytes()) {
        panic!("{r} {:?}", r.issues);
    }
    let receipt = sample("312")
        .replace("<", "<r:")
        .replace("<r:/", "</r:")
        .replace("<r:?xml", "<?xml")
        .replace("xmlns=", "xmlns:r=");
    assert!(ceb::validate(receipt.as_bytes()).is_ok(), "{receipt}");
}

#[test]
fn receipts_are_read_leniently() {
    // 2018-shape CEB622 without preNo, with an unknown element.
    let s = sample("622");
    let xml = s.replace(
        "<preNo>B20160512000001882</preNo>",
        "<unknownThing>1</unknownThing>",
    );
    let m = ceb::validate(xml.as_bytes()).unwrap();
    let ceb::Message::Ceb622(m) = m else { panic!() };
    assert_eq!(m.inventory_return[0].pre_no, None);
    // A receipt missing a field it cannot do without is still refused.
    let xml = s.replacen("<returnStatus>1</returnStatus>", "", 1);
    only(
        &rejected(&xml),
        "/CEB622Message/InventoryReturn[1]/returnStatus",
        "required",
    );
}

#[test]
fn annotated_tax_receipt_is_refused_clearly() {
    let xml = std::fs::read_to_string(format!("{REAL}CEB816-annotated.xml")).unwrap();
    let r = rejected(&xml);
    assert_eq!(r.code, "0002");
    assert_eq!(r.issues[0].rule, "mixed-content");
    assert_eq!(r.issues[0].path, "/CEB816Message/Tax[1]/TaxHeadRd");
    // With the annotations removed, the 2018 shape (orderNo, logisticsNo) is accepted.
    let clean = xml
        .replace("应征关税", "")
        .replace("应征增值税", "")
        .replace("应征消费税", "");
    let m = ceb::validate(clean.as_bytes()).unwrap();
    assert_eq!(m.message_type(), "CEB816Message");
    assert!(!m.to_xml().contains("orderNo"), "202205 shape written");
}

#[test]
fn real_inventory_receipt_parses() {
    let xml = std::fs::read(format!("{REAL}CEB622-xian-120.xml")).unwrap();
    let m = ceb::validate(&xml).unwrap();
    assert_eq!(m.message_type(), "CEB622Message");
}

#[test]
fn rejection_becomes_a_ceb900() {
    let xml = sample("311").replacen(
        "<ceb:buyerTelephone>18813025940</ceb:buyerTelephone>",
        "",
        1,
    );
    let r = rejected(&xml);
    let m = r.to_ceb900("20261123120000000", xml.as_bytes());
    assert_eq!(m.message_return.return_status, "-2");
    assert_eq!(m.message_return.ori_message_type, "CEB311Message");
    assert!(m.message_return.return_info.starts_with("[Code:0002;"));
    assert!(m.message_return.return_info.contains("buyerTelephone"));
    assert!(
        m.message_return
            .ori_biz_message
            .contains("<ceb:CEB311Message")
    );
    let out = m.to_xml();
    let back = ceb::validate(out.as_bytes()).unwrap();
    assert_eq!(back.message_type(), "CEB900Message");
    // The CEB900 itself is valid against the schema.
    let doc = ceb::xml::parse_document(out.as_bytes(), &ceb::Limits::default()).unwrap();
    assert!(ceb::schema::validate_root(ceb::schema::import_schema(), &doc.root).is_empty());
    let bad = rejected("<a>");
    let m = bad.to_ceb900("20261123120000000", b"<a>");
    assert_eq!(m.message_return.return_status, "-1");
    assert_eq!(m.message_return.ori_message_type, "Unknown");
}

#[test]
fn signature_subtree_is_validated_with_exact_paths() {
    let xml = sample("621").replacen("<ds:DigestValue>", "<ds:DigestValue>not*base64", 1);
    only(
        &rejected(&xml),
        "/CEB621Message/Signature/SignedInfo/Reference[1]/DigestValue",
        "base64",
    );
    let xml = sample("621").replacen(
        "<ds:SignatureMethod Algorithm=",
        "<ds:SignatureMethod Other=",
        1,
    );
    only(
        &rejected(&xml),
        "/CEB621Message/Signature/SignedInfo/SignatureMethod/@Algorithm",
        "attribute-required",
    );
}

#[test]
fn dxp_envelope_is_validated_and_its_id_reaches_the_ceb900() {
    let info = ceb::DxpInfo {
        cop_msg_id: "COP-42".into(),
        sender_id: "DXPENT0000000001".into(),
        receiver_ids: vec!["DXPEDCCEB0000002".into()],
        creat_time: "2026-11-23T12:00:00".into(),
        msg_type: "CEB311Message".into(),
        file_name: Some("order.xml".into()),
    };
    let bad_time = ceb::DxpMsg::wrap(
        sample("311").as_bytes(),
        ceb::DxpInfo {
            creat_time: "20261123".into(),
            ..info.clone()
        },
    );
    only(
        &rejected(&bad_time.to_xml()),
        "/DxpMsg/TransInfo/CreatTime",
        "date-time",
    );
    let inner = sample("311").replacen(
        "<ceb:buyerTelephone>18813025940</ceb:buyerTelephone>",
        "",
        1,
    );
    let env = ceb::DxpMsg::wrap(inner.as_bytes(), info);
    let r = rejected(&env.to_xml());
    assert_eq!(r.cop_msg_id.as_deref(), Some("COP-42"));
    let m = r.to_ceb900("20261123120000000", inner.as_bytes());
    assert_eq!(m.message_return.ori_cop_msg_id, "COP-42");
}

#[test]
fn envelope_attributes_and_unknown_roots() {
    let env = ceb::DxpMsg::wrap(
        sample("312").as_bytes(),
        ceb::DxpInfo {
            cop_msg_id: "C".into(),
            sender_id: "S".into(),
            receiver_ids: vec!["R".into()],
            creat_time: "2026-11-23T12:00:00".into(),
            msg_type: "CEB312Message".into(),
            file_name: None,
        },
    );
    let xml = env.to_xml().replacen("ver=\"1.0\"", "ver=\"2.0\"", 1);
    only(&rejected(&xml), "/DxpMsg/@ver", "fixed");
    let xml = sample("311").replacen(" version=\"1.0\"\n", " version=\"1.0\" foo=\"x\"\n", 1);
    assert!(xml.contains("foo="));
    only(
        &rejected(&xml),
        "/CEB311Message/@foo",
        "unexpected-attribute",
    );
    let export = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/gacc-ceb-202205/samples/export/CEB304Message.xml"
    ))
    .unwrap();
    only(&rejected(&export), "/CEB304Message", "unknown-message");
}
