//! A systematic mutator over the official samples: every distinct element path of every sample is
//! dropped, duplicated, swapped with its next sibling, renamed, moved to another namespace, given
//! an unknown child, an unknown attribute or stray text; every value gets the boundary values of
//! its type (lengths at and past the limits, digits, fraction digits, signs, exponents, bad
//! enumerations, whitespace, character references, CDATA…). The result is a corpus of distinct,
//! well-formed messages, some valid and most not, used to check that our validator agrees with
//! libxml2 (`tests/it/conformance.rs`) and to measure both on the same input
//! (`benches/conformance.rs`).
//!
//! Shared by the test and the bench through `#[path]`, so it uses only `ceb` and `std`.

use std::collections::HashSet;
use std::ops::Range;

use ceb::schema::{Builtin, Content, Schema, SimpleType, Term, import_schema};
use ceb::xml::{Element, Limits, parse_document};

/// One mutated message: a name saying what was done, and the XML.
pub struct Mutant {
    pub name: String,
    pub xml: String,
}

/// The official import samples, read from `shared/reference` next to the checkout.
pub fn samples() -> Vec<(String, String)> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/gacc-ceb-202205/samples/import/"
    );
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("the official samples are expected at {dir}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    for n in names {
        let text = std::fs::read_to_string(format!("{dir}{n}")).unwrap_or_default();
        out.push((n.trim_end_matches(".xml").to_owned(), text));
    }
    out
}

struct Site {
    path: String,
    qname: String,
    prefix: Option<String>,
    span: Range<usize>,
    inner: Range<usize>,
    self_closing: bool,
    leaf: bool,
    root: bool,
    ty: Option<SimpleType>,
    attrs: Vec<(String, Option<SimpleType>)>,
    next: Option<Range<usize>>,
}

/// The declaration a child element matches inside its parent's content model.
fn child_decl(schema: &Schema, parent: Option<usize>, el: &Element) -> Option<usize> {
    let decl = schema.decl(parent?)?;
    let Content::Elements(p) = &decl.ty.content else {
        return None;
    };
    fn find(schema: &Schema, t: &Term, el: &Element) -> Option<usize> {
        match t {
            Term::Element(id) => {
                let d = schema.decl(*id)?;
                (d.name == el.name && d.ns.as_deref() == el.ns.as_deref()).then_some(*id)
            }
            Term::Any(..) => schema.global(el.ns.as_deref(), &el.name),
            Term::Sequence(items) | Term::Choice(items) => {
                items.iter().find_map(|i| find(schema, &i.term, el))
            }
        }
    }
    find(schema, &p.term, el)
}

#[allow(clippy::too_many_arguments)]
fn collect(
    schema: &Schema,
    source: &str,
    el: &Element,
    decl: Option<usize>,
    path: &str,
    next: Option<Range<usize>>,
    root: bool,
    seen: &mut HashSet<String>,
    out: &mut Vec<Site>,
) {
    let path = format!("{path}/{}", el.name);
    let self_closing = source
        .get(el.span.clone())
        .is_some_and(|s| s.ends_with("/>"));
    let d = decl.and_then(|id| schema.decl(id));
    let ty = d.and_then(|d| match &d.ty.content {
        Content::Simple(st) => Some(st.clone()),
        _ => None,
    });
    let attrs = d
        .map(|d| {
            d.ty.attrs
                .iter()
                .map(|a| (a.name.clone(), Some(a.ty.clone())))
                .collect()
        })
        .unwrap_or_default();
    if seen.insert(path.clone()) {
        out.push(Site {
            path: path.clone(),
            qname: match &el.prefix {
                Some(p) => format!("{p}:{}", el.name),
                None => el.name.clone(),
            },
            prefix: el.prefix.clone(),
            span: el.span.clone(),
            inner: el.inner.clone(),
            self_closing,
            leaf: el.children.is_empty(),
            root,
            ty,
            attrs,
            next,
        });
    }
    for (i, c) in el.children.iter().enumerate() {
        let next = el.children.get(i + 1).map(|n| n.span.clone());
        let cd = child_decl(schema, decl, c);
        collect(schema, source, c, cd, &path, next, false, seen, out);
    }
}

fn splice(s: &str, r: Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(s.len() + with.len());
    out.push_str(&s[..r.start]);
    out.push_str(with);
    out.push_str(&s[r.end..]);
    out
}

/// Boundary and malformed values for a simple type, beside the original value.
fn values(st: Option<&SimpleType>, original: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("padded".into(), format!("  {original}  ")),
        ("newline-inside".into(), format!("{original}\n{original}")),
        ("cdata".into(), format!("<![CDATA[{original}]]>")),
        ("comment-inside".into(), format!("{original}<!-- c -->")),
        (
            "child-element".into(),
            format!("<zzChild>{original}</zzChild>"),
        ),
    ];
    if let Some(c) = original.chars().next() {
        let rest: String = original.chars().skip(1).collect();
        v.push(("char-ref".into(), format!("&#{};{rest}", c as u32)));
    }
    let Some(st) = st else {
        v.push(("long-5000".into(), "A".repeat(5000)));
        return v;
    };
    let base = st.base.unwrap_or(Builtin::String);
    if let Some(m) = st.max_length {
        v.push((format!("len-{m}"), "A".repeat(m)));
        v.push((format!("len-{}", m + 1), "A".repeat(m + 1)));
        v.push((format!("han-{m}"), "中".repeat(m)));
        v.push((format!("han-{}", m + 1), "中".repeat(m + 1)));
    }
    if let Some(m) = st.min_length
        && m > 0
    {
        v.push((format!("len-{}", m - 1), "A".repeat(m - 1)));
    }
    if let Some(l) = st.length {
        v.push((format!("len-{l}"), "B".repeat(l)));
        v.push((format!("len-{}", l + 1), "B".repeat(l + 1)));
        if l > 0 {
            v.push((format!("len-{}", l - 1), "B".repeat(l - 1)));
        }
    }
    if st.max_length.is_none() && st.length.is_none() && base == Builtin::String {
        v.push(("long-5000".into(), "A".repeat(5000)));
    }
    match base {
        Builtin::Decimal | Builtin::Int | Builtin::Integer => {
            for x in [
                "abc",
                "1,5",
                "1.2.3",
                "+1",
                "-1",
                "-0",
                ".5",
                "5.",
                "1e3",
                "0",
                "007",
                " 12 ",
                "\t12\n",
                "1 2",
                "NaN",
                "INF",
                "１２",
                "+",
                "-",
                ".",
                "1.0",
                "1.50",
                "2147483647",
                "2147483648",
                "-2147483649",
                "99999999999999999999",
            ] {
                v.push((format!("number-{x:?}"), x.to_owned()));
            }
            if let Some(td) = st.total_digits {
                v.push((format!("digits-{td}"), "9".repeat(td)));
                v.push((format!("digits-{}", td + 1), "9".repeat(td + 1)));
                v.push((
                    format!("digits-{td}-zeros"),
                    format!("000{}", "9".repeat(td)),
                ));
                v.push((
                    format!("digits-{td}-point"),
                    format!("{}.000", "9".repeat(td)),
                ));
            }
            if let Some(fd) = st.fraction_digits {
                v.push((format!("fraction-{fd}"), format!("1.{}", "5".repeat(fd))));
                v.push((
                    format!("fraction-{}", fd + 1),
                    format!("1.{}", "5".repeat(fd + 1)),
                ));
                v.push((
                    format!("fraction-{}-zeros", fd + 1),
                    format!("1.{}0", "5".repeat(fd)),
                ));
            }
        }
        Builtin::Date | Builtin::DateTime => {
            for x in [
                "2026-02-30",
                "2026-13-01",
                "2026-01-01",
                "2026-01-01T00:00:00",
                "2026-01-01T24:00:00",
                "20260101",
            ] {
                v.push((format!("date-{x}"), x.to_owned()));
            }
        }
        Builtin::Base64Binary => {
            for x in ["QUJD", "QUJ", "QU==", "Q===", "QUJD\nRA==", "*bad*"] {
                v.push((format!("base64-{x:?}"), x.to_owned()));
            }
        }
        _ => {}
    }
    if let Some(first) = st.enumeration.first() {
        v.push(("enum-unknown".into(), "ZZ".into()));
        v.push(("enum-padded".into(), format!(" {first} ")));
        v.push(("enum-suffix".into(), format!("{first}0")));
        for e in &st.enumeration {
            v.push((format!("enum-{e}"), e.clone()));
        }
    }
    v
}

/// Characters XML 1.0 forbids (production `Char`), raw and as character references, around an
/// original value; and the characters next to them that it allows. Finding 5 of the security
/// probe: the reader took all of the forbidden ones.
fn xml_char_values(original: &str) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for c in ['\u{0}', '\u{1}', '\u{b}', '\u{1f}', '\u{fffe}', '\u{ffff}'] {
        v.push((
            format!("raw-U+{:04X}", u32::from(c)),
            format!("{original}{c}"),
        ));
    }
    for c in ['\u{7f}', '\u{fffd}', '\u{10000}'] {
        v.push((
            format!("raw-allowed-U+{:04X}", u32::from(c)),
            format!("{original}{c}"),
        ));
    }
    for r in [
        "#0", "#1", "#x1F", "#xFFFE", "#xFFFF", "#xD800", "#x110000", "#x9", "#xD", "#x7F",
        "#x10FFFF",
    ] {
        v.push((format!("ref-&{r};"), format!("{original}&{r};")));
    }
    v
}

/// Where the name of an element's start tag ends (attributes go there).
fn after_name(site: &Site) -> usize {
    site.span.start + 1 + site.qname.len()
}

fn mutate_sample(code: &str, source: &str, out: &mut Vec<Mutant>) {
    let Ok(doc) = parse_document(source.as_bytes(), &Limits::default()) else {
        return;
    };
    let schema = import_schema();
    let root_decl = schema.global(doc.root.ns.as_deref(), &doc.root.name);
    let mut sites = Vec::new();
    let mut seen = HashSet::new();
    let s = doc.source.as_str();
    collect(
        schema, s, &doc.root, root_decl, "", None, true, &mut seen, &mut sites,
    );
    for site in &sites {
        let base = site
            .ty
            .as_ref()
            .map(|t| format!(" [{:?}]", t.base.unwrap_or(Builtin::String)))
            .unwrap_or_default();
        let mut push = |what: &str, path: &str, xml: String| {
            out.push(Mutant {
                name: format!("{code} {what} {path}{base}"),
                xml,
            });
        };
        let p = site.path.as_str();
        let raw = &s[site.span.clone()];
        let at = after_name(site);
        if !site.root {
            push("drop", p, splice(s, site.span.clone(), ""));
            push("duplicate", p, splice(s, site.span.end..site.span.end, raw));
            if let Some(n) = &site.next {
                let next_raw = &s[n.clone()];
                let mut x = String::new();
                x.push_str(&s[..site.span.start]);
                x.push_str(next_raw);
                x.push_str(&s[site.span.end..n.start]);
                x.push_str(raw);
                x.push_str(&s[n.end..]);
                push("swap-with-next", p, x);
            }
            // The same element in no namespace, and in another namespace.
            let local = site.qname_local();
            let no_ns = match &site.prefix {
                Some(pfx) => {
                    let r = raw.replacen(&format!("<{pfx}:{local}"), &format!("<{local}"), 1);
                    let end_tag = format!("</{pfx}:{local}>");
                    match r.rfind(&end_tag) {
                        Some(at) if !site.self_closing => {
                            splice(&r, at..at + end_tag.len(), &format!("</{local}>"))
                        }
                        _ => r,
                    }
                }
                None => splice(
                    raw,
                    1 + site.qname.len()..1 + site.qname.len(),
                    " xmlns=\"\"",
                ),
            };
            push("no-namespace", p, splice(s, site.span.clone(), &no_ns));
            let other = match &site.prefix {
                Some(pfx) => format!(" xmlns:{pfx}=\"urn:other\""),
                None => " xmlns=\"urn:other\"".to_owned(),
            };
            push("other-namespace", p, splice(s, at..at, &other));
            let renamed = {
                let r = raw.replacen(&site.qname, &format!("{}X", site.qname), 1);
                let end_tag = format!("</{}>", site.qname);
                match r.rfind(&end_tag) {
                    Some(at) if !site.self_closing => {
                        splice(&r, at..at + end_tag.len(), &format!("</{}X>", site.qname))
                    }
                    _ => r,
                }
            };
            push("renamed", p, splice(s, site.span.clone(), &renamed));
        }
        push("unknown-attribute", p, splice(s, at..at, " zzAttr=\"1\""));
        push(
            "namespaced-attribute",
            p,
            splice(s, at..at, " xmlns:zz=\"urn:zz\" zz:a=\"1\""),
        );
        push(
            "xsi-nil",
            p,
            splice(
                s,
                at..at,
                " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:nil=\"true\"",
            ),
        );
        push("xml-lang", p, splice(s, at..at, " xml:lang=\"zh\""));
        for (name, ty) in &site.attrs {
            let start_tag_end = if site.self_closing {
                site.span.end
            } else {
                site.inner.start
            };
            let tag = &s[site.span.start..start_tag_end];
            let Some(pos) = tag.find(&format!(" {name}=")) else {
                continue;
            };
            let quote = tag
                .as_bytes()
                .get(pos + name.len() + 2)
                .copied()
                .unwrap_or(b'"') as char;
            let vstart = site.span.start + pos + name.len() + 3;
            let vend = match s[vstart..].find(quote) {
                Some(e) => vstart + e,
                None => continue,
            };
            let original = &s[vstart..vend];
            push(
                &format!("drop-attribute-{name}"),
                p,
                splice(s, site.span.start + pos..vend + 1, ""),
            );
            for (what, value) in xml_char_values(original) {
                let value = value.replace('"', "&quot;").replace('<', "&lt;");
                push(
                    &format!("attribute-{name}-xmlchar-{what}"),
                    p,
                    splice(s, vstart..vend, &value),
                );
            }
            for (what, value) in values(ty.as_ref(), original) {
                if what == "cdata" || what == "child-element" || what == "comment-inside" {
                    continue;
                }
                let value = value.replace('"', "&quot;").replace('<', "&lt;");
                let value = if quote == '\'' {
                    value.replace('\'', "&apos;")
                } else {
                    value
                };
                push(
                    &format!("attribute-{name}-{what}"),
                    p,
                    splice(s, vstart..vend, &value),
                );
            }
        }
        if site.self_closing {
            continue;
        }
        if site.leaf {
            let original = &s[site.inner.clone()];
            for (what, value) in values(site.ty.as_ref(), original) {
                push(
                    &format!("value-{what}"),
                    p,
                    splice(s, site.inner.clone(), &value),
                );
            }
            for (what, value) in xml_char_values(original) {
                push(
                    &format!("value-xmlchar-{what}"),
                    p,
                    splice(s, site.inner.clone(), &value),
                );
            }
            for (what, value) in [
                ("cdata-U+0001", format!("<![CDATA[{original}\u{1}]]>")),
                ("cdata-U+FFFF", format!("<![CDATA[{original}\u{ffff}]]>")),
            ] {
                push(
                    &format!("value-xmlchar-{what}"),
                    p,
                    splice(s, site.inner.clone(), &value),
                );
            }
        } else {
            let pfx = site
                .prefix
                .as_deref()
                .map(|p| format!("{p}:"))
                .unwrap_or_default();
            let unknown = format!("<{pfx}zzUnknown>1</{pfx}zzUnknown>");
            push(
                "unknown-first-child",
                p,
                splice(s, site.inner.start..site.inner.start, &unknown),
            );
            push(
                "unknown-last-child",
                p,
                splice(s, site.inner.end..site.inner.end, &unknown),
            );
            push(
                "foreign-last-child",
                p,
                splice(
                    s,
                    site.inner.end..site.inner.end,
                    "<zz:x xmlns:zz=\"urn:zz\">1</zz:x>",
                ),
            );
            push(
                "stray-text",
                p,
                splice(s, site.inner.start..site.inner.start, "stray"),
            );
            push(
                "comment-and-pi",
                p,
                splice(
                    s,
                    site.inner.start..site.inner.start,
                    "<!-- note --><?pi data?>",
                ),
            );
            push("emptied", p, splice(s, site.inner.clone(), ""));
            for (what, markup) in [
                ("comment-double-hyphen", "<!-- a -- b -->"),
                ("comment-ending-three-hyphens", "<!-- a --->"),
                ("comment-empty", "<!---->"),
                ("comment-single-hyphens", "<!-- - a-b -->"),
                ("comment-U+0001", "<!-- \u{1} -->"),
                ("pi-U+0001", "<?pi \u{1}?>"),
                ("pi-xml-declaration", "<?xml version=\"1.0\"?>"),
                ("pi-named-XML", "<?XML x?>"),
                ("pi-xml-stylesheet", "<?xml-stylesheet x?>"),
            ] {
                push(
                    &format!("xmlchar-{what}"),
                    p,
                    splice(s, site.inner.start..site.inner.start, markup),
                );
            }
        }
    }
}

/// The XML declaration replaced, and things put before it (white space, a comment, a processing
/// instruction): what may precede the root element, and in what form (production `XMLDecl`).
fn mutate_declaration(code: &str, source: &str, out: &mut Vec<Mutant>) {
    let text = source.trim_start_matches('\u{feff}');
    let Some(body) = text
        .strip_prefix("<?xml")
        .and_then(|t| t.split_once("?>"))
        .map(|(_, b)| b)
    else {
        return;
    };
    let declarations = [
        ("no-declaration", String::new()),
        ("version-only", "<?xml version=\"1.0\"?>".to_owned()),
        (
            "single-quotes",
            "<?xml version='1.0' encoding='utf-8'?>".to_owned(),
        ),
        (
            "spaces-around-equals",
            "<?xml version = \"1.0\" encoding = \"UTF-8\" standalone = \"no\" ?>".to_owned(),
        ),
        (
            "standalone-yes",
            "<?xml version=\"1.0\" standalone=\"yes\"?>".to_owned(),
        ),
        ("version-1.1", "<?xml version=\"1.1\"?>".to_owned()),
        ("version-2.0", "<?xml version=\"2.0\"?>".to_owned()),
        ("version-1.x", "<?xml version=\"1.x\"?>".to_owned()),
        ("no-version", "<?xml encoding=\"UTF-8\"?>".to_owned()),
        ("empty", "<?xml?>".to_owned()),
        (
            "extra-attribute",
            "<?xml version=\"1.0\" foo=\"bar\"?>".to_owned(),
        ),
        (
            "extra-attribute-last",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\" foo=\"bar\"?>".to_owned(),
        ),
        (
            "standalone-before-encoding",
            "<?xml version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"?>".to_owned(),
        ),
        (
            "encoding-before-version",
            "<?xml encoding=\"UTF-8\" version=\"1.0\"?>".to_owned(),
        ),
        (
            "encoding-twice",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" encoding=\"UTF-8\"?>".to_owned(),
        ),
        (
            "no-space-between",
            "<?xml version=\"1.0\"encoding=\"UTF-8\"?>".to_owned(),
        ),
        (
            "standalone-maybe",
            "<?xml version=\"1.0\" standalone=\"maybe\"?>".to_owned(),
        ),
        (
            "encoding-not-a-name",
            "<?xml version=\"1.0\" encoding=\"1UTF\"?>".to_owned(),
        ),
        ("upper-case-XML", "<?XML version=\"1.0\"?>".to_owned()),
    ];
    for (what, decl) in declarations {
        out.push(Mutant {
            name: format!("{code} declaration-{what} /"),
            xml: format!("\u{feff}{decl}{body}"),
        });
    }
    let decl = &text[..text.len() - body.len()];
    for (what, before) in [
        ("space", " "),
        ("newline", "\n"),
        ("tab", "\t"),
        ("comment", "<!-- c -->"),
        ("pi", "<?pi x?>"),
        ("U+0001", "\u{1}"),
    ] {
        out.push(Mutant {
            name: format!("{code} before-declaration-{what} /"),
            xml: format!("\u{feff}{before}{decl}{body}"),
        });
        out.push(Mutant {
            name: format!("{code} before-declaration-{what}-no-bom /"),
            xml: format!("{before}{decl}{body}"),
        });
    }
    for (what, after) in [
        ("newline", "\n"),
        ("comment", "<!-- c -->"),
        ("pi", "<?pi x?>"),
    ] {
        out.push(Mutant {
            name: format!("{code} after-declaration-{what} /"),
            xml: format!("\u{feff}{decl}{after}{body}"),
        });
    }
}

impl Site {
    fn qname_local(&self) -> &str {
        self.qname
            .split_once(':')
            .map(|(_, l)| l)
            .unwrap_or(&self.qname)
    }
}

/// Every sample and its mutants, deduplicated by content (the samples themselves first).
pub fn corpus() -> Vec<Mutant> {
    let mut all = Vec::new();
    for (code, text) in samples() {
        all.push(Mutant {
            name: format!("{code} original"),
            xml: text.clone(),
        });
        mutate_sample(&code, &text, &mut all);
        mutate_declaration(&code, &text, &mut all);
    }
    let mut seen = HashSet::new();
    all.retain(|m| seen.insert(m.xml.clone()));
    all
}
