//! The masking module and the retention purge's redaction tokens: what people see of a person,
//! and that a redacted value still does everything the engine needs from the clear one.

use domain::personal::{
    Field, buyer_key, id_number_valid, is_redacted, keyed_value, mask_address, mask_id, mask_name,
    mask_phone, mask_text, mask_xml, redact,
};

const SECRET: &[u8] = b"test-secret";
const ID: &str = "11010519491231002X";

#[test]
fn masks_show_the_surname_the_region_the_carrier_and_the_city() {
    assert_eq!(mask_name("张三"), "张*");
    assert_eq!(mask_id("330106199001011234"), "3301**********1234");
    assert_eq!(mask_phone("13812345678"), "138****5678");
    assert_eq!(
        mask_address("浙江省杭州市西湖区文三路90号"),
        "浙江省杭州市***"
    );
    assert_eq!(mask_address("北京市朝阳区建国路1号"), "北京市***");
    assert_eq!(
        mask_address("新疆维吾尔自治区伊犁哈萨克自治州伊宁市"),
        "新疆维吾尔自治区伊犁哈萨克自治州***"
    );
    assert_eq!(mask_address("Unit 5, Queen St"), "Uni***");
    assert_eq!(
        mask_text("buyer 330106199001011234 called from 13812345678 about order 2024001"),
        "buyer 3301**********1234 called from 138****5678 about order 2024001"
    );
    assert_eq!(
        mask_text("id 11010519491231002X."),
        "id 1101**********002X."
    );
}

#[test]
fn a_token_keeps_keys_equality_validity_and_the_mask_and_nothing_else() {
    let name = "张三丰";
    let id = redact(SECRET, Field::IdNumber, ID, Some(name));
    let n = redact(SECRET, Field::Name, name, None);
    let phone = redact(SECRET, Field::Phone, "138 0000 1234", None);
    let address = redact(SECRET, Field::Address, "浙江省杭州市西湖区文三路90号", None);
    for token in [&id, &n, &phone, &address] {
        assert!(is_redacted(token));
        for clear in [ID, "19491231", "张三丰", "三丰", "0000 1234", "文三路"] {
            assert!(!token.contains(clear), "{token:?} holds {clear}");
        }
    }
    // What the engine derives is the same as from the clear values.
    assert_eq!(buyer_key(SECRET, &n, &id), buyer_key(SECRET, name, ID));
    assert_eq!(
        keyed_value(SECRET, "phone", &phone),
        keyed_value(SECRET, "phone", "138 0000 1234")
    );
    assert_eq!(
        keyed_value(SECRET, "address", &address),
        keyed_value(SECRET, "address", "浙江省杭州市西湖区文三路90号")
    );
    assert_eq!(mask_name(&n), mask_name(name));
    assert_eq!(mask_id(&id), mask_id(ID));
    assert_eq!(mask_phone(&phone), mask_phone("138 0000 1234"));
    assert_eq!(mask_address(&address), "浙江省杭州市***");
    assert!(id_number_valid(&id));
    let bad = redact(SECRET, Field::IdNumber, "110105194912310028", Some(name));
    assert!(!id_number_valid(&bad), "an invalid number stays invalid");

    // Equal as the match compares (trimmed; ID numbers case-insensitively) ⇔ equal tokens.
    assert_eq!(n, redact(SECRET, Field::Name, " 张三丰 ", None));
    assert_ne!(n, redact(SECRET, Field::Name, "张三", None));
    let x = redact(SECRET, Field::IdNumber, "11010519491231002x", Some(name));
    assert_eq!(
        x,
        redact(SECRET, Field::IdNumber, "11010519491231002X", Some(name))
    );
    assert_ne!(
        redact(SECRET, Field::Phone, "13800001234", None),
        redact(SECRET, Field::Phone, "138 0000 1234", None),
        "the match compares phones as written"
    );
    // Redacting twice changes nothing; another secret gives other tokens.
    assert_eq!(redact(SECRET, Field::Name, &n, None), n);
    assert_ne!(redact(b"other", Field::Name, name, None), n);
}

#[test]
fn personal_elements_are_masked_in_xml_text_even_broken() {
    let xml = "<ceb:OrderHead><ceb:buyerName>张三丰</ceb:buyerName><ceb:buyerIdNumber>\
               11010519491231002X</ceb:buyerIdNumber><ceb:consignee>李四</ceb:consignee>\
               <ceb:consigneeTelephone>13812345678</ceb:consigneeTelephone><ceb:orderNo>\
               OW123</ceb:orderNo><ceb:consigneeAddress>北京市朝阳区建国路1号</ceb:consigneeAddress\
               ><ceb:buyerTelephone>1380";
    let masked = mask_xml(xml);
    for clear in [
        "张三丰",
        "11010519491231002X",
        "李四",
        "13812345678",
        "建国路",
        "1380",
    ] {
        assert!(!masked.contains(clear), "{masked}");
    }
    assert!(
        masked.contains("<ceb:buyerName>张**</ceb:buyerName>"),
        "{masked}"
    );
    assert!(
        masked.contains("<ceb:orderNo>OW123</ceb:orderNo>"),
        "{masked}"
    );
    assert!(masked.contains("北京市***"), "{masked}");
}

#[test]
fn xml_names_map_to_their_fields() {
    assert_eq!(Field::of_xml("payerIdNumber"), Field::IdNumber);
    assert_eq!(Field::of_xml("consignee"), Field::Name);
    assert_eq!(Field::of_xml("telephone"), Field::Phone);
    assert_eq!(Field::of_xml("consigneeAddress"), Field::Address);
    assert_eq!(Field::of_xml("buyerRegNo"), Field::Other);
}
