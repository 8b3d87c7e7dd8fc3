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

/// Finding 5 of the security probe: characters XML 1.0 forbids (raw, in every kind of markup, and
/// as character references) passed the reader — a NUL in an orderNo then failed a PostgreSQL group
/// commit for every sender in the batch, and a U+0001 made receipt pages not well-formed. Each is
/// now a format error (0001) naming the character, never the text around it.
#[test]
fn characters_xml_forbids_are_refused_raw_and_as_references() {
    let s = sample("311");
    let no = "<ceb:orderNo>order20160321116421002</ceb:orderNo>";
    let with = |inner: &str| s.replacen(no, &format!("<ceb:orderNo>{inner}</ceb:orderNo>"), 1);
    let cases: Vec<(String, String)> = vec![
        ("raw NUL in text".into(), with("order\u{0}1")),
        ("raw U+0001 in text".into(), with("order\u{1}1")),
        ("raw U+000B in text".into(), with("order\u{b}1")),
        ("raw U+001F in text".into(), with("order\u{1f}1")),
        ("raw U+FFFE in text".into(), with("order\u{fffe}1")),
        ("raw U+FFFF in text".into(), with("order\u{ffff}1")),
        (
            "raw U+0001 in CDATA".into(),
            with("<![CDATA[order\u{1}1]]>"),
        ),
        ("&#0;".into(), with("order&#0;1")),
        ("&#1;".into(), with("order&#1;1")),
        ("&#x1;".into(), with("order&#x1;1")),
        ("&#x1F;".into(), with("order&#x1F;1")),
        ("&#xFFFE;".into(), with("order&#xFFFE;1")),
        ("&#xFFFF;".into(), with("order&#xFFFF;1")),
        ("&#xD800;".into(), with("order&#xD800;1")),
        ("&#xDFFF;".into(), with("order&#xDFFF;1")),
        ("&#x110000;".into(), with("order&#x110000;1")),
        (
            "raw U+0001 in an attribute".into(),
            s.replacen("version=\"1.0\"\n", "version=\"1.\u{1}0\"\n", 1),
        ),
        (
            "&#1; in an attribute".into(),
            s.replacen("version=\"1.0\"\n", "version=\"1.&#1;0\"\n", 1),
        ),
        (
            "&#0; in an attribute".into(),
            s.replacen("version=\"1.0\"\n", "version=\"1.&#0;0\"\n", 1),
        ),
        (
            "&#xFFFF; in an attribute".into(),
            s.replacen("version=\"1.0\"\n", "version=\"1.&#xFFFF;0\"\n", 1),
        ),
        (
            "raw U+0001 in a comment".into(),
            s.replacen(no, &format!("<!-- \u{1} -->{no}"), 1),
        ),
        (
            "raw U+0001 in a processing instruction".into(),
            s.replacen(no, &format!("<?pi \u{1}?>{no}"), 1),
        ),
        (
            "raw U+0001 in a name".into(),
            s.replacen("<ceb:orderNo>", "<ceb:order\u{1}No>", 1),
        ),
    ];
    for (what, xml) in &cases {
        let r = ceb::parse(xml.as_bytes(), &Limits::default())
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(r.code, "0001", "{what}: {r}");
        assert!(
            ceb::check(xml.as_bytes()).is_err(),
            "{what}: onewindow validate says OK"
        );
        let text = r.to_string();
        assert!(text.contains("U+"), "{what}: {text}");
        assert!(
            !text.contains("order2016"),
            "{what} quotes the text: {text}"
        );
        // The CEB900 answering it is well-formed: the echoed message cannot carry the character.
        let ceb900 = r.to_ceb900("20260101000000000", xml.as_bytes()).to_xml();
        assert!(
            ceb::xml::parse_document(ceb900.as_bytes(), &Limits::default()).is_ok(),
            "{what}: the CEB900 is not well-formed"
        );
    }
    // What XML allows still reads: tab, LF, CR as references, the top of the BMP, the astral planes.
    let ok = with("order&#x9;&#xA;&#xD;&#xFFFD;&#x10000;\u{fffd}\u{10ffff}1");
    let m = ceb::validate(ok.as_bytes()).unwrap();
    let ceb::Message::Ceb311(m) = m else { panic!() };
    assert_eq!(
        m.order[0].order_head.order_no,
        "order\t\n\r\u{fffd}\u{10000}\u{fffd}\u{10ffff}1"
    );
}

#[test]
fn double_hyphens_in_comments_are_refused() {
    let s = sample("311");
    let no = "<ceb:orderNo>";
    for comment in ["<!-- a -- b -->", "<!-- a --->", "<!----->"] {
        let r = rejected(&s.replacen(no, &format!("{comment}{no}"), 1));
        assert_eq!(r.code, "0001", "{comment}: {r}");
    }
    for comment in ["<!---->", "<!-- - -->", "<!-- a-b -->"] {
        assert!(
            ceb::check(s.replacen(no, &format!("{comment}{no}"), 1).as_bytes()).is_ok(),
            "{comment}"
        );
    }
}

#[test]
fn the_xml_declaration_is_version_encoding_standalone_in_that_order_and_first() {
    let s = sample("311");
    let body = s.trim_start_matches('\u{feff}').split_once("?>").unwrap().1;
    let bad = [
        "<?xml version=\"1.0\" foo=\"bar\"?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\" foo=\"bar\"?>",
        "<?xml version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"?>",
        "<?xml encoding=\"UTF-8\" version=\"1.0\"?>",
        "<?xml encoding=\"UTF-8\"?>",
        "<?xml?>",
        "<?xml version=\"1.0\"encoding=\"UTF-8\"?>",
        "<?xml version=\"2.0\"?>",
        "<?xml version=\"1.x\"?>",
        "<?xml version=\"1.0\" standalone=\"maybe\"?>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\" encoding=\"UTF-8\"?>",
        " <?xml version=\"1.0\"?>",
        "\n<?xml version=\"1.0\"?>",
        "<!-- c --><?xml version=\"1.0\"?>",
        "<?pi x?><?xml version=\"1.0\"?>",
    ];
    for decl in bad {
        let xml = format!("{decl}{body}");
        let r = rejected(&xml);
        assert_eq!(r.code, "0001", "{decl:?}: {r}");
        assert!(ceb::check(xml.as_bytes()).is_err(), "{decl:?}");
    }
    let good = [
        "<?xml version=\"1.0\"?>",
        "<?xml version='1.0' encoding='utf-8'?>",
        "<?xml version = \"1.0\" encoding = \"UTF-8\" standalone = \"no\" ?>",
        "<?xml version=\"1.0\" standalone=\"yes\"?>",
        "<?xml version=\"1.1\"?>",
        "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "",
    ];
    for decl in good {
        let xml = format!("{decl}{body}");
        assert!(ceb::check(xml.as_bytes()).is_ok(), "{decl:?}");
    }
    // A second declaration, or a processing instruction named like one, later in the document.
    for pi in ["<?xml version=\"1.0\"?>", "<?XML x?>", "<?xMl?>"] {
        let xml = s.replacen("<ceb:orderNo>", &format!("{pi}<ceb:orderNo>"), 1);
        assert_eq!(rejected(&xml).code, "0001", "{pi}");
    }
    let xml = s.replacen("<ceb:orderNo>", "<?xml-stylesheet x?><ceb:orderNo>", 1);
    assert!(ceb::check(xml.as_bytes()).is_ok());
}

#[test]
fn the_scan_for_forbidden_characters_finds_each_at_any_offset() {
    for len in 0..40 {
        let base = "a".repeat(len);
        assert_eq!(ceb::xml::first_forbidden_char(&base), None);
        let mixed = format!("{base}\t\n\r中，\u{fffd}\u{efff}");
        assert_eq!(ceb::xml::first_forbidden_char(&mixed), None, "{len}");
        for c in [
            '\u{0}', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{e}', '\u{1f}', '\u{fffe}', '\u{ffff}',
        ] {
            let s = format!("{base}{c}tail");
            assert_eq!(
                ceb::xml::first_forbidden_char(&s),
                Some((len, c)),
                "{len} {c:?}"
            );
        }
    }
}
