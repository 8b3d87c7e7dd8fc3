//! Hardened XML reader: bytes → a namespace-resolved element tree.
//!
//! Messages come from outside the trust boundary, so the reader refuses anything that
//! could make it do unbounded work or reach outside the document: no DTD (hence no
//! entity definitions, no external entities), only the five predefined entities and
//! character references, and explicit limits on size, depth, element count, attributes
//! and text length. It never panics on any input.

use std::ops::Range;
use std::sync::Arc;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Bounds on what one document may cost to read. Each limit has its own error, so a
/// sender learns which one it crossed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Size of the raw input in bytes (and of a business message unwrapped from DXP).
    pub max_bytes: usize,
    /// Nesting depth of elements (the root is depth 1).
    pub max_depth: usize,
    /// Total number of elements in the document.
    pub max_elements: usize,
    /// Attributes on one element, namespace declarations included.
    pub max_attributes: usize,
    /// Characters of text in one element (or one attribute value).
    pub max_text_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 24,
            max_elements: 100_000,
            max_attributes: 32,
            max_text_len: 2 * 1024 * 1024,
        }
    }
}

/// Why a document could not be read. All of these map to DXP code 0001.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("document too large: {size} bytes, limit {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("elements nested too deeply: limit {limit}")]
    TooDeep { limit: usize },
    #[error("too many elements: limit {limit}")]
    TooManyElements { limit: usize },
    #[error("too many attributes on element {element}: limit {limit}")]
    TooManyAttributes { element: String, limit: usize },
    #[error("text too long in element {element}: limit {limit} characters")]
    TextTooLong { element: String, limit: usize },
    #[error("DTD not allowed")]
    DtdNotAllowed,
    #[error(
        "entity reference &{0}; not allowed (only the five predefined entities and character references)"
    )]
    Entity(String),
    #[error("unsupported encoding {0:?} (UTF-8, GB18030, GBK, GB2312 are accepted)")]
    UnsupportedEncoding(String),
    #[error("bytes invalid in the declared encoding {0}")]
    InvalidEncoding(&'static str),
    #[error("unbound namespace prefix {0:?}")]
    UnboundPrefix(String),
    #[error("no root element")]
    NoRoot,
    #[error("content after the root element")]
    TrailingContent,
    #[error("character U+{code:04X} at line {line} is not allowed in XML 1.0")]
    ForbiddenChar { code: u32, line: usize },
    #[error("character reference to U+{0:04X}, which XML 1.0 does not allow")]
    ForbiddenCharRef(u32),
    #[error("bad XML declaration: {0}")]
    BadDeclaration(&'static str),
    #[error("not well-formed XML: {0}")]
    Syntax(String),
}

/// One attribute, namespace-resolved. Namespace declarations (`xmlns`, `xmlns:p`) are not
/// kept as attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
}

/// One element of the tree. `text` is the concatenated character data directly inside the
/// element (CDATA included); `mixed` is set when non-whitespace text stands beside child
/// elements, which no CEB schema allows in business data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Shared between elements: a document has few namespaces and many elements.
    pub ns: Option<Arc<str>>,
    pub name: String,
    pub prefix: Option<String>,
    pub attrs: Vec<Attr>,
    pub children: Vec<Element>,
    pub text: String,
    pub mixed: bool,
    /// Byte range of the whole element (start tag to end tag) in [`Document::source`].
    pub span: Range<usize>,
    /// Byte range of the element's content (between its tags) in [`Document::source`].
    pub inner: Range<usize>,
    /// Namespace declarations made on this element: (prefix or "" for default, uri).
    pub ns_decls: Vec<(String, String)>,
}

impl Element {
    /// The first child with this namespace and local name.
    pub fn child(&self, ns: Option<&str>, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name == name && c.ns.as_deref() == ns)
    }

    /// The value of an unqualified attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }
}

/// A parsed document: the decoded text and its tree. Spans index into `source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub source: String,
    pub root: Element,
    /// The encoding the bytes were decoded from (e.g. "UTF-8", "GB18030").
    pub encoding: &'static str,
}

impl Document {
    /// The raw text of an element subtree as it appears in the (decoded) source.
    pub fn raw(&self, e: &Element) -> &str {
        self.source.get(e.span.clone()).unwrap_or("")
    }

    /// The raw text between an element's tags.
    pub fn raw_inner(&self, e: &Element) -> &str {
        self.source.get(e.inner.clone()).unwrap_or("")
    }
}

/// Decode bytes to text: sniff a BOM, then the encoding declared in the XML declaration.
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), XmlError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest);
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(XmlError::UnsupportedEncoding("UTF-16".into()));
    }
    match declared_encoding(bytes) {
        None => utf8(bytes),
        Some(label) => {
            let upper = label.to_ascii_uppercase();
            match upper.as_str() {
                "UTF-8" | "UTF8" => utf8(bytes),
                "GB18030" | "GBK" | "GB2312" | "CP936" | "GB_2312-80" | "X-GBK" => {
                    let (text, had_errors) = encoding_rs::GB18030
                        .decode_without_bom_handling_and_without_replacement(bytes)
                        .map(|c| (c.into_owned(), false))
                        .unwrap_or_else(|| (String::new(), true));
                    if had_errors {
                        Err(XmlError::InvalidEncoding("GB18030"))
                    } else {
                        Ok((text, "GB18030"))
                    }
                }
                _ => Err(XmlError::UnsupportedEncoding(label)),
            }
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<(String, &'static str), XmlError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_owned(), "UTF-8")),
        Err(_) => Err(XmlError::InvalidEncoding("UTF-8")),
    }
}

/// The `encoding` pseudo-attribute of a leading `<?xml …?>`, read as ASCII.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..bytes.len().min(200))?;
    let trimmed = {
        let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
        head.get(start..)?
    };
    if !trimmed.starts_with(b"<?xml") {
        return None;
    }
    let end = trimmed.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(trimmed.get(..end)?).ok()?;
    let pos = decl.find("encoding")?;
    let rest = decl.get(pos + "encoding".len()..)?.trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let rest = rest.get(1..)?;
    let close = rest.find(quote)?;
    Some(rest.get(..close)?.to_owned())
}

/// Whether XML 1.0 allows this character anywhere in a document (production `Char`: tab, line
/// feed, carriage return, and U+0020 upwards except the surrogates, U+FFFE and U+FFFF).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `s` that XML 1.0 does not allow, with its byte offset. In UTF-8 such a
/// character is a byte below 0x20 other than tab, LF and CR, or U+FFFE/U+FFFF (`EF BF BE`, `EF BF
/// BF`); a Rust string holds no surrogates. The reader runs this over every document, so it looks
/// at 32 bytes at a time with a branch-free test the compiler turns into vector compares (about
/// 13 GiB/s, BENCHMARKS.md), and at single bytes only in a block that has a suspect one (a 0xEF
/// lead byte is also that of full-width punctuation).
pub fn first_forbidden_char(s: &str) -> Option<(usize, char)> {
    const BLOCK: usize = 32;
    let bytes = s.as_bytes();
    let exact = |from: usize, to: usize| -> Option<(usize, char)> {
        let mut i = from;
        while i < to {
            let b = bytes.get(i).copied()?;
            if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
                return Some((i, char::from(b)));
            }
            if b == 0xEF
                && bytes.get(i + 1) == Some(&0xBF)
                && let Some(&last) = bytes.get(i + 2)
                && (last == 0xBE || last == 0xBF)
            {
                return Some((i, if last == 0xBE { '\u{FFFE}' } else { '\u{FFFF}' }));
            }
            i += 1;
        }
        None
    };
    let mut at = 0;
    for block in bytes.chunks_exact(BLOCK) {
        let mut suspect = false;
        for &b in block {
            suspect |= ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')) | (b == 0xEF);
        }
        if suspect && let Some(found) = exact(at, at + BLOCK) {
            return Some(found);
        }
        at += BLOCK;
    }
    exact(at, bytes.len())
}

fn forbidden_in(source: &str) -> Result<(), XmlError> {
    match first_forbidden_char(source) {
        None => Ok(()),
        Some((at, c)) => Err(XmlError::ForbiddenChar {
            code: u32::from(c),
            line: source.get(..at).map_or(0, |s| s.matches('\n').count()) + 1,
        }),
    }
}

/// Check the text of an XML declaration (between `<?xml` and `?>`): `version`, then optionally
/// `encoding`, then optionally `standalone`, in that order, each once, and nothing else
/// (production `XMLDecl`). Like libxml2, any `1.x` version is read as 1.0.
fn check_declaration(decl: &str) -> Result<(), XmlError> {
    fn is_space(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\r' | b'\n')
    }
    /// ` name = "value"` at the start of `rest`: (value, what follows), or None if not there.
    fn pseudo<'a>(rest: &'a str, name: &str) -> Result<Option<(&'a str, &'a str)>, XmlError> {
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        let Some(after) = trimmed.strip_prefix(name) else {
            return Ok(None);
        };
        if trimmed.len() == rest.len() {
            return Err(XmlError::BadDeclaration(
                "white space expected before a pseudo-attribute",
            ));
        }
        let after = after.trim_start_matches([' ', '\t', '\r', '\n']);
        let Some(after) = after.strip_prefix('=') else {
            return Err(XmlError::BadDeclaration(
                "'=' expected after a pseudo-attribute name",
            ));
        };
        let after = after.trim_start_matches([' ', '\t', '\r', '\n']);
        let quote = match after.as_bytes().first() {
            Some(b'"') => '"',
            Some(b'\'') => '\'',
            _ => return Err(XmlError::BadDeclaration("a quoted value expected")),
        };
        // The quote is one byte, so these cuts fall on character boundaries.
        let after = after.get(1..).unwrap_or("");
        let Some((value, rest)) = after.split_once(quote) else {
            return Err(XmlError::BadDeclaration("unterminated value"));
        };
        Ok(Some((value, rest)))
    }
    let Some((version, rest)) = pseudo(decl, "version")? else {
        return Err(XmlError::BadDeclaration("version missing"));
    };
    let digits = version.strip_prefix("1.");
    if !digits.is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit())) {
        return Err(XmlError::BadDeclaration(
            "unsupported version (1.0 expected)",
        ));
    }
    let mut rest = rest;
    if let Some((encoding, after)) = pseudo(rest, "encoding")? {
        let mut bytes = encoding.bytes();
        let name_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !name_ok {
            return Err(XmlError::BadDeclaration("not an encoding name"));
        }
        rest = after;
    }
    if let Some((standalone, after)) = pseudo(rest, "standalone")? {
        if standalone != "yes" && standalone != "no" {
            return Err(XmlError::BadDeclaration("standalone must be yes or no"));
        }
        rest = after;
    }
    if !rest.bytes().all(is_space) {
        return Err(XmlError::BadDeclaration(
            "only version, encoding and standalone, in that order, may follow <?xml",
        ));
    }
    Ok(())
}

/// Read bytes into a tree, enforcing `limits`.
pub fn parse_document(bytes: &[u8], limits: &Limits) -> Result<Document, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let (mut source, encoding) = decode(bytes)?;
    // A BOM that survived decoding (GB18030 text can start with U+FEFF) is not content.
    if source.starts_with('\u{feff}') {
        source.drain(..'\u{feff}'.len_utf8());
    }
    forbidden_in(&source)?;
    let root = build_tree(&source, limits)?;
    Ok(Document {
        source,
        root,
        encoding,
    })
}

fn syntax(e: impl std::fmt::Display) -> XmlError {
    XmlError::Syntax(e.to_string())
}

fn resolve_ns(r: ResolveResult<'_>) -> Result<Option<String>, XmlError> {
    match r {
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Bound(ns) => Ok(Some(ns.into_inner().to_owned())),
        ResolveResult::Unknown(p) => Err(XmlError::UnboundPrefix(p)),
    }
}

/// Resolve an element's namespace, reusing the shared string of a namespace seen before.
fn intern_ns(r: ResolveResult<'_>, seen: &mut Vec<Arc<str>>) -> Result<Option<Arc<str>>, XmlError> {
    match r {
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Bound(ns) => {
            let ns = ns.into_inner();
            if let Some(a) = seen.iter().find(|a| a.as_ref() == ns) {
                return Ok(Some(a.clone()));
            }
            let a: Arc<str> = Arc::from(ns);
            seen.push(a.clone());
            Ok(Some(a))
        }
        ResolveResult::Unknown(p) => Err(XmlError::UnboundPrefix(p)),
    }
}

fn push_text(stack: &mut [Element], s: &str, limits: &Limits) -> Result<(), XmlError> {
    let Some(top) = stack.last_mut() else {
        if s.trim().is_empty() {
            return Ok(());
        }
        return Err(XmlError::Syntax("text outside the root element".into()));
    };
    if !top.children.is_empty() && s.trim().is_empty() {
        return Ok(());
    }
    top.text.push_str(s);
    if top.text.len() > limits.max_text_len && top.text.chars().count() > limits.max_text_len {
        return Err(XmlError::TextTooLong {
            element: top.name.clone(),
            limit: limits.max_text_len,
        });
    }
    Ok(())
}

fn build_tree(source: &str, limits: &Limits) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(source);
    {
        let cfg = reader.config_mut();
        cfg.expand_empty_elements = false;
        cfg.check_end_names = true;
        // `--` inside a comment (and a comment ending `--->`) is not well-formed.
        cfg.check_comments = true;
        cfg.trim_text(false);
    }
    let mut first = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut seen_ns: Vec<Arc<str>> = Vec::new();
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let (res, ev) = reader.read_resolved_event().map_err(syntax)?;
        let ns = match &ev {
            Event::Start(_) | Event::Empty(_) => intern_ns(res, &mut seen_ns)?,
            _ => None,
        };
        let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let is_empty = matches!(ev, Event::Empty(_));
        let at_start = std::mem::take(&mut first) && before == 0;
        match ev {
            Event::DocType(_) => return Err(XmlError::DtdNotAllowed),
            Event::Start(start) | Event::Empty(start) => {
                if root.is_some() {
                    return Err(XmlError::TrailingContent);
                }
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements {
                        limit: limits.max_elements,
                    });
                }
                if stack.len() + 1 > limits.max_depth {
                    return Err(XmlError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                let qname = start.name();
                let (local, prefix) = qname.decompose();
                let name = local.into_inner().to_owned();
                let prefix = prefix.map(|p| p.into_inner().to_owned());
                let mut attrs = Vec::new();
                let mut ns_decls = Vec::new();
                let mut n_attrs = 0usize;
                for a in start.attributes().with_checks(true) {
                    let a = a.map_err(syntax)?;
                    n_attrs += 1;
                    if n_attrs > limits.max_attributes {
                        return Err(XmlError::TooManyAttributes {
                            element: name,
                            limit: limits.max_attributes,
                        });
                    }
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| match e {
                            quick_xml::Error::Escape(
                                quick_xml::escape::EscapeError::UnrecognizedEntity(_, ent),
                            ) => XmlError::Entity(ent),
                            quick_xml::Error::Escape(
                                quick_xml::escape::EscapeError::InvalidCharRef(r),
                            ) => char_ref_error(r),
                            other => syntax(other),
                        })?;
                    // The raw text was checked; only a character reference can bring in more.
                    if a.value.contains('&')
                        && let Some((_, c)) = first_forbidden_char(&value)
                    {
                        return Err(XmlError::ForbiddenCharRef(u32::from(c)));
                    }
                    if value.chars().count() > limits.max_text_len {
                        return Err(XmlError::TextTooLong {
                            element: name,
                            limit: limits.max_text_len,
                        });
                    }
                    let key = a.key.into_inner();
                    if key == "xmlns" {
                        ns_decls.push((String::new(), value.into_owned()));
                        continue;
                    }
                    if let Some(p) = key.strip_prefix("xmlns:") {
                        ns_decls.push((p.to_owned(), value.into_owned()));
                        continue;
                    }
                    let (ares, alocal) = reader.resolver().resolve_attribute(a.key);
                    let ans = resolve_ns(ares)?;
                    if attrs
                        .iter()
                        .any(|x: &Attr| x.name == alocal.into_inner() && x.ns == ans)
                    {
                        return Err(XmlError::Syntax(format!("duplicate attribute {key}")));
                    }
                    attrs.push(Attr {
                        ns: ans,
                        name: alocal.into_inner().to_owned(),
                        value: value.into_owned(),
                    });
                }
                let el = Element {
                    ns,
                    name,
                    prefix,
                    attrs,
                    ns_decls,
                    span: before..after,
                    inner: after..after,
                    ..Element::default()
                };
                if is_empty {
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let Some(mut el) = stack.pop() else {
                    return Err(XmlError::Syntax("unmatched end tag".into()));
                };
                el.inner = el.inner.start..before;
                el.span = el.span.start..after;
                if !el.children.is_empty() && !el.text.trim().is_empty() {
                    el.mixed = true;
                }
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                push_text(&mut stack, &s, limits)?;
            }
            Event::CData(c) => {
                if stack.is_empty() {
                    return Err(XmlError::Syntax("CDATA outside the root element".into()));
                }
                let s = c.xml10_content();
                push_text(&mut stack, &s, limits)?;
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) if is_xml_char(c) => Some(c),
                    Ok(Some(c)) => return Err(XmlError::ForbiddenCharRef(u32::from(c))),
                    Ok(None) => None,
                    Err(quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::InvalidCharRef(r),
                    )) => return Err(char_ref_error(r)),
                    Err(e) => return Err(syntax(e)),
                };
                let s: String = match ch {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.xml10_content();
                        match name.as_ref() {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "apos" => "'".into(),
                            "quot" => "\"".into(),
                            other => return Err(XmlError::Entity(other.to_owned())),
                        }
                    }
                };
                if stack.is_empty() {
                    return Err(XmlError::Syntax(
                        "reference outside the root element".into(),
                    ));
                }
                push_text(&mut stack, &s, limits)?;
            }
            Event::Decl(decl) => {
                // Only at the very start: nothing before it, not even white space (a BOM was
                // taken off when decoding).
                if !at_start {
                    return Err(XmlError::BadDeclaration(
                        "allowed only at the very start of the document",
                    ));
                }
                let text: &str = &decl;
                check_declaration(text.get(3..).unwrap_or(""))?;
            }
            Event::PI(pi) => {
                let target = pi.target();
                if target.eq_ignore_ascii_case("xml") {
                    return Err(XmlError::BadDeclaration(
                        "allowed only at the very start of the document",
                    ));
                }
            }
            Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax("unexpected end of document".into()));
    }
    root.ok_or(XmlError::NoRoot)
}

/// A character reference quick-xml could not resolve: to no character at all (`&#0;`, a surrogate
/// such as `&#xD800;`, past U+10FFFF) or not a number.
fn char_ref_error(e: quick_xml::escape::ParseCharRefError) -> XmlError {
    use quick_xml::escape::ParseCharRefError as E;
    match e {
        E::InvalidCodepoint(code) | E::IllegalCharacter(code) => XmlError::ForbiddenCharRef(code),
        other => XmlError::Syntax(format!("bad character reference: {other}")),
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => {
            // Indentation before a child is not content; dropping it keeps element-only
            // nodes from carrying a text buffer. Real text still marks the node mixed.
            if parent.children.is_empty() && parent.text.trim().is_empty() {
                parent.text = String::new();
            }
            parent.children.push(el)
        }
        None => *root = Some(el),
    }
}
