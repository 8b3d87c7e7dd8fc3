//! Canonical XML 1.0 (W3C REC-xml-c14n-20010315), inclusive, with or without comments — the
//! canonicalization the CEB signature uses (ceb-spec §1.2, spec §6.2.1.1).
//!
//! It runs over the decoded text of a document that the hardened reader ([`crate::xml`]) has
//! already accepted, so every guarantee of that reader (no DTD, no entities beyond the five
//! predefined ones, size and depth limits) holds here too. Two node-sets are supported, the two
//! an enveloped signature needs:
//!
//! * the whole document, optionally minus one element subtree (the `enveloped-signature`
//!   transform removes the `ds:Signature` element: [`Selection::Document`]);
//! * one element subtree as a document subset (`SignedInfo`: [`Selection::Subtree`]), which
//!   carries every namespace declaration in scope and the `xml:` attributes of its ancestors.
//!
//! What canonicalization does, as the recommendation says: UTF-8 output; line ends normalized to
//! `#xA`; attribute values normalized and escaped (`&amp;` `&lt;` `&quot;` `&#x9;` `&#xA;`
//! `&#xD;`); text escaped (`&amp;` `&lt;` `&gt;` `&#xD;`); character and entity references
//! replaced by their characters; CDATA sections replaced by their content; empty elements written
//! as start/end pairs; the XML declaration and whitespace outside the document element dropped;
//! namespace declarations written only where they change what the nearest written ancestor had,
//! sorted by prefix (default first) before the attributes, which are sorted by namespace URI then
//! local name; comments kept only in the with-comments form; processing instructions and comments
//! outside the document element separated from it by `#xA`.

use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::xml::XmlError;

/// The namespace of the `xml:` prefix, bound in every document.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Which node-set to canonicalize. Ranges are byte ranges of elements in the decoded source,
/// as the hardened reader records them ([`crate::xml::Element::span`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The whole document, leaving out the element that starts at `exclude.start` (with its
    /// subtree) when given.
    Document { exclude: Option<Range<usize>> },
    /// Only the element that starts at `apex.start`, with its subtree.
    Subtree { apex: Range<usize> },
}

/// Whether comments are part of the output (`…#WithComments`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comments {
    Without,
    With,
}

/// One element on the reader's stack.
struct Frame {
    /// Namespace bindings in scope after this element's own declarations: (prefix, uri), the
    /// default namespace under "" (an empty uri means "no default namespace").
    in_scope: Vec<(String, String)>,
    /// The bindings as the nearest written ancestor-or-self wrote them (what a written child is
    /// compared against).
    rendered: Vec<(String, String)>,
    /// `xml:*` attributes in scope (for a subtree apex, inherited from unwritten ancestors).
    xml_attrs: Vec<(String, String)>,
    /// Whether this element is written.
    output: bool,
}

fn lookup<'a>(bindings: &'a [(String, String)], prefix: &str) -> Option<&'a str> {
    bindings
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.as_str())
}

fn bind(bindings: &mut Vec<(String, String)>, prefix: &str, uri: &str) {
    match bindings.iter_mut().find(|(p, _)| p == prefix) {
        Some(slot) => slot.1 = uri.to_owned(),
        None => bindings.push((prefix.to_owned(), uri.to_owned())),
    }
}

/// Canonicalize `source` (decoded text of a well-formed document) over `selection`.
pub fn canonicalize(
    source: &str,
    selection: &Selection,
    comments: Comments,
) -> Result<Vec<u8>, XmlError> {
    run(source, selection, comments, None)
}

/// Canonicalize one element, given its byte range in `source` and what it inherits: the
/// namespace bindings in scope at its parent (`(prefix, uri)`, "" for the default namespace, in
/// document order so later ones win) and the parent's `xml:*` attributes in scope. The same
/// output as [`Selection::Subtree`] over the whole document, without reading what comes before
/// the element (the hardened reader's tree knows the ancestors' declarations).
pub fn canonicalize_element(
    source: &str,
    span: Range<usize>,
    in_scope: &[(String, String)],
    xml_attrs: &[(String, String)],
    comments: Comments,
) -> Result<Vec<u8>, XmlError> {
    let Some(fragment) = source.get(span.clone()) else {
        return Err(XmlError::Syntax(
            "the element is not in the document".into(),
        ));
    };
    let mut scope = Vec::new();
    for (prefix, uri) in in_scope {
        bind(&mut scope, prefix, uri);
    }
    let mut inherited = Vec::new();
    for (name, value) in xml_attrs {
        bind(&mut inherited, name, value);
    }
    let parent = Frame {
        in_scope: scope,
        rendered: Vec::new(),
        xml_attrs: inherited,
        output: false,
    };
    run(
        fragment,
        &Selection::Subtree {
            apex: 0..fragment.len(),
        },
        comments,
        Some(parent),
    )
}

fn run(
    source: &str,
    selection: &Selection,
    comments: Comments,
    parent: Option<Frame>,
) -> Result<Vec<u8>, XmlError> {
    let mut out = Vec::with_capacity(source.len());
    let mut reader = Reader::from_str(source);
    {
        let cfg = reader.config_mut();
        cfg.expand_empty_elements = false;
        cfg.check_end_names = true;
        cfg.trim_text(false);
    }
    let mut stack: Vec<Frame> = parent.into_iter().collect();
    // Depth inside the excluded subtree (0 = not inside it).
    let mut skipping = 0usize;
    // Whether the document element has started / ended (for whitespace and the #xA rules).
    let mut root_seen = false;
    let mut root_done = false;
    // Whether we are inside the selected subtree (always, for a document selection).
    let mut selected_depth: Option<usize> = match selection {
        Selection::Document { .. } => Some(0),
        Selection::Subtree { .. } => None,
    };
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader
            .read_event()
            .map_err(|e| XmlError::Syntax(e.to_string()))?;
        if skipping > 0 {
            match event {
                Event::Start(_) => skipping += 1,
                Event::End(_) => skipping -= 1,
                Event::Eof => return Err(XmlError::Syntax("unexpected end of document".into())),
                _ => {}
            }
            continue;
        }
        let in_selection = selected_depth.is_some();
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let empty = matches!(event, Event::Empty(_));
                if let Selection::Document {
                    exclude: Some(range),
                } = selection
                    && range.start == before
                {
                    if !empty {
                        skipping = 1;
                    }
                    continue;
                }
                let starts_apex = matches!(selection, Selection::Subtree { apex } if apex.start == before)
                    && selected_depth.is_none();
                if starts_apex {
                    selected_depth = Some(0);
                }
                let output = selected_depth.is_some();
                let parent = stack.last();
                let frame = element(start, parent, output, starts_apex, &mut out)?;
                root_seen = true;
                if empty {
                    if output {
                        out.extend_from_slice(b"</");
                        out.extend_from_slice(start.name().as_ref().as_bytes());
                        out.push(b'>');
                    }
                    if starts_apex {
                        break;
                    }
                    if stack.is_empty() {
                        root_done = true;
                    }
                } else {
                    if let Some(d) = selected_depth.as_mut() {
                        *d += 1;
                    }
                    stack.push(frame);
                }
            }
            Event::End(end) => {
                let Some(frame) = stack.pop() else {
                    return Err(XmlError::Syntax("unmatched end tag".into()));
                };
                if frame.output {
                    out.extend_from_slice(b"</");
                    out.extend_from_slice(end.name().as_ref().as_bytes());
                    out.push(b'>');
                }
                if let (Selection::Subtree { .. }, Some(d)) = (selection, selected_depth.as_mut()) {
                    *d -= 1;
                    if *d == 0 {
                        break;
                    }
                }
                if stack.is_empty() {
                    root_done = true;
                }
            }
            Event::Text(t) => {
                if in_selection && !stack.is_empty() {
                    escape_text(&t.xml10_content(), &mut out);
                }
            }
            Event::CData(c) => {
                if in_selection && !stack.is_empty() {
                    escape_text(&c.xml10_content(), &mut out);
                }
            }
            Event::GeneralRef(r) => {
                if in_selection && !stack.is_empty() {
                    let text = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => match r.xml10_content().as_ref() {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "apos" => "'".into(),
                            "quot" => "\"".into(),
                            other => return Err(XmlError::Entity(other.to_owned())),
                        },
                        Err(e) => return Err(XmlError::Syntax(e.to_string())),
                    };
                    escape_text(&text, &mut out);
                }
            }
            Event::Comment(c) => {
                if comments == Comments::With && in_selection {
                    let outside = stack.is_empty();
                    if outside && root_done {
                        out.push(b'\n');
                    }
                    out.extend_from_slice(b"<!--");
                    out.extend_from_slice(c.xml10_content().as_bytes());
                    out.extend_from_slice(b"-->");
                    if outside && !root_seen {
                        out.push(b'\n');
                    }
                }
            }
            Event::PI(pi) => {
                if in_selection {
                    let outside = stack.is_empty();
                    if outside && root_done {
                        out.push(b'\n');
                    }
                    out.extend_from_slice(b"<?");
                    out.extend_from_slice(pi.target().as_bytes());
                    let data =
                        normalize_eol(pi.content().trim_start_matches([' ', '\t', '\r', '\n']));
                    if !data.is_empty() {
                        out.push(b' ');
                        out.extend_from_slice(data.as_bytes());
                    }
                    out.extend_from_slice(b"?>");
                    if outside && !root_seen {
                        out.push(b'\n');
                    }
                }
            }
            Event::Decl(_) => {}
            Event::DocType(_) => return Err(XmlError::DtdNotAllowed),
            Event::Eof => break,
        }
    }
    if let Selection::Subtree { .. } = selection
        && selected_depth.is_none()
    {
        return Err(XmlError::Syntax(
            "the selected element is not in the document".into(),
        ));
    }
    Ok(out)
}

/// Read one start tag: update the namespace scope, and write the canonical start tag when the
/// element is output.
fn element(
    start: &BytesStart<'_>,
    parent: Option<&Frame>,
    output: bool,
    apex: bool,
    out: &mut Vec<u8>,
) -> Result<Frame, XmlError> {
    let mut in_scope = parent.map(|p| p.in_scope.clone()).unwrap_or_default();
    let mut xml_attrs = parent.map(|p| p.xml_attrs.clone()).unwrap_or_default();
    // Raw attributes: (qname, normalized value).
    let mut attrs: Vec<(String, String)> = Vec::new();
    for a in start.attributes().with_checks(true) {
        let a = a.map_err(|e| XmlError::Syntax(e.to_string()))?;
        let key: String = a.key.as_ref().to_owned();
        let value =
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| match e {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, ent),
                    ) => XmlError::Entity(ent),
                    other => XmlError::Syntax(other.to_string()),
                })?
                .into_owned();
        if key == "xmlns" {
            bind(&mut in_scope, "", &value);
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            bind(&mut in_scope, prefix, &value);
        } else {
            attrs.push((key, value));
        }
    }
    // Resolve attribute namespaces; remember xml:* attributes for subtree apexes below.
    let mut resolved: Vec<(String, String, String, String)> = Vec::with_capacity(attrs.len());
    for (qname, value) in attrs {
        let (uri, local) = match qname.split_once(':') {
            Some(("xml", local)) => {
                bind(&mut xml_attrs, local, &value);
                (XML_NS.to_owned(), local.to_owned())
            }
            Some((prefix, local)) => match lookup(&in_scope, prefix) {
                Some(uri) if !uri.is_empty() => (uri.to_owned(), local.to_owned()),
                _ => return Err(XmlError::UnboundPrefix(prefix.to_owned())),
            },
            None => (String::new(), qname.clone()),
        };
        resolved.push((uri, local, qname, value));
    }
    if apex {
        // A document subset's apex carries the xml:* attributes of its ancestors (C14N 1.0 §2.4).
        for (local, value) in parent.map(|p| p.xml_attrs.as_slice()).unwrap_or_default() {
            if !resolved
                .iter()
                .any(|(u, l, _, _)| u == XML_NS && l == local)
            {
                resolved.push((
                    XML_NS.to_owned(),
                    local.clone(),
                    format!("xml:{local}"),
                    value.clone(),
                ));
            }
        }
    }
    let rendered_parent: &[(String, String)] = match parent {
        Some(p) if !apex => &p.rendered,
        _ => &[],
    };
    let mut rendered = rendered_parent.to_vec();
    if output {
        let name = start.name();
        out.push(b'<');
        out.extend_from_slice(name.as_ref().as_bytes());
        // Namespace declarations that differ from what the nearest written ancestor wrote.
        let mut decls: Vec<(&str, &str)> = Vec::new();
        for (prefix, uri) in &in_scope {
            if prefix == "xml" {
                continue;
            }
            let before = lookup(rendered_parent, prefix).unwrap_or("");
            if prefix.is_empty() {
                if uri != before {
                    decls.push((prefix, uri));
                }
            } else if uri.is_empty() {
                // `xmlns:p=""` is not allowed in XML 1.0 namespaces; nothing to write.
            } else if lookup(rendered_parent, prefix) != Some(uri.as_str()) {
                decls.push((prefix, uri));
            }
        }
        decls.sort_by(|a, b| a.0.cmp(b.0));
        for (prefix, uri) in decls {
            if prefix.is_empty() {
                out.extend_from_slice(b" xmlns=\"");
            } else {
                out.extend_from_slice(b" xmlns:");
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(b"=\"");
            }
            escape_attr(uri, out);
            out.push(b'"');
            bind(&mut rendered, prefix, uri);
        }
        resolved.sort_by(|a, b| (a.0.as_str(), a.1.as_str()).cmp(&(b.0.as_str(), b.1.as_str())));
        for (_, _, qname, value) in &resolved {
            out.push(b' ');
            out.extend_from_slice(qname.as_bytes());
            out.extend_from_slice(b"=\"");
            escape_attr(value, out);
            out.push(b'"');
        }
        out.push(b'>');
    }
    Ok(Frame {
        in_scope,
        rendered,
        xml_attrs,
        output,
    })
}

fn normalize_eol(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\r') {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
}

fn escape_text(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}

fn escape_attr(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\t' => out.extend_from_slice(b"&#x9;"),
            b'\n' => out.extend_from_slice(b"&#xA;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}
