use crate::{rejected, sample};
use ceb::{Limits, parse};

#[test]
fn doctype_is_refused() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<CEB312Message xmlns="http://www.chinaport.gov.cn/ceb">&lol3;</CEB312Message>"#;
    let r = rejected(bomb);
    assert_eq!(r.code, "0001");
    assert!(r.to_string().contains("DTD not allowed"), "{r}");
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"#;
    assert!(rejected(xxe).to_string().contains("DTD not allowed"));
}

#[test]
fn undeclared_entities_are_refused_and_predefined_ones_work() {
    let r = rejected(&sample("312").replacen("暂存", "&xxe;", 1).replacen(
        "新增申报成功",
        "&xxe;",
        1,
    ));
    assert_eq!(r.code, "0001");
    assert!(r.to_string().contains("&xxe;"), "{r}");
    let ok = sample("312").replacen("新增申报成功", "a&amp;b&#x4E2D;&#20013;&lt;", 1);
    let m = ceb::validate(ok.as_bytes()).unwrap();
    let ceb::Message::Ceb312(m) = m else { panic!() };
    assert_eq!(
        m.order_return[0].return_info,
        "a&b中中<[4CDE1CFD-EDED-46B1-946C-B8022E42FC94]"
    );
}

#[test]
fn limits_are_enforced_each_with_its_own_error() {
    let s = sample("311");
    let small = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    assert!(
        parse(s.as_bytes(), &small)
            .unwrap_err()
            .to_string()
            .contains("too large")
    );
    let shallow = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert!(
        parse(s.as_bytes(), &shallow)
            .unwrap_err()
            .to_string()
            .contains("nested too deeply")
    );
    let few = Limits {
        max_elements: 50,
        ..Limits::default()
    };
    assert!(
        parse(s.as_bytes(), &few)
            .unwrap_err()
            .to_string()
            .contains("too many elements")
    );
    let attrs = Limits {
        max_attributes: 2,
        ..Limits::default()
    };
    assert!(
        parse(s.as_bytes(), &attrs)
            .unwrap_err()
            .to_string()
            .contains("too many attributes")
    );
    let text = Limits {
        max_text_len: 10,
        ..Limits::default()
    };
    assert!(
        parse(s.as_bytes(), &text)
            .unwrap_err()
            .to_string()
            .contains("text too long")
    );
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    assert!(
        parse(deep.as_bytes(), &Limits::default())
            .unwrap_err()
            .to_string()
            .contains("nested too deeply")
    );
}

#[test]
fn malformed_xml_is_a_format_error() {
    for bad in [
        "",
        "<a>",
        "<a></b>",
        "<a/><b/>",
        "text",
        "<a x='1' x='2'/>",
        "<p:a/>",
    ] {
        let r = rejected(bad);
        assert_eq!(r.code, "0001", "{bad:?}: {r}");
    }
}

#[test]
fn many_repeated_children_are_handled_in_linear_time() {
    // 90,000 Transform elements where the schema says unbounded: must stay fast (no
    // quadratic path indexing) and be accepted or refused without panicking.
    let s = sample("621");
    let one = "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>";
    let xml = s.replacen(one, &one.repeat(90_000), 1);
    assert!(xml.len() < 4 * 1024 * 1024 * 3);
    let big = Limits {
        max_bytes: 16 * 1024 * 1024,
        ..Limits::default()
    };
    let r = parse(xml.as_bytes(), &big);
    assert!(r.is_ok(), "{:?}", r.err());
}
