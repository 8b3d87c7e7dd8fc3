//! Typed CEB messages. Each node is declared once with the `node!` macro (fields, XML
//! names, required/optional, repeated children, personal data); reading from the tree,
//! writing XML, serde (JSON with the XML names) and a masking `Debug` are generated.
//! Field values are wire strings: the domain parses numbers itself.

use crate::schema::{CEB_NS, DS_NS, Issue};
use crate::xml::{Document, Element};

/// Findings collected while mapping a tree to typed nodes (used for leniently read
/// receipts, which skip schema validation).
#[derive(Debug, Default)]
pub struct Cx {
    pub issues: Vec<Issue>,
}

/// What [`Node::walk_pii`] calls for each node: the node's own personal fields by XML name.
pub type PiiVisitor<'v> = dyn FnMut(&mut [(&'static str, &mut String)]) + 'v;

/// A typed node of a CEB message.
pub trait Node: Sized + Default {
    /// The namespace the node's element lives in.
    const NS: &'static str = CEB_NS;
    fn read(e: &Element, doc: &Document, path: &str, cx: &mut Cx) -> Self;
    fn write_fields(&self, w: &mut String, p: &str);
    fn write_node(&self, w: &mut String, p: &str, name: &str) {
        open(w, p, name);
        self.write_fields(w, p);
        close(w, p, name);
    }
    /// Visit the personal-data fields (`req_pii`/`opt_pii`) of this node and of every node below
    /// it: `f` gets each node's own fields at once, by XML name (so a field can be read together
    /// with its neighbours, e.g. an ID number with the name it belongs to). The purge redacts
    /// through this.
    fn walk_pii(&mut self, f: &mut PiiVisitor<'_>) {
        let _ = f;
    }
}

fn open(w: &mut String, p: &str, name: &str) {
    w.push('<');
    w.push_str(p);
    w.push_str(name);
    w.push('>');
}

fn close(w: &mut String, p: &str, name: &str) {
    w.push_str("</");
    w.push_str(p);
    w.push_str(name);
    w.push('>');
}

/// Escape text for element content or a double-quoted attribute. A character XML 1.0 does not
/// allow (not even as a reference) is written as U+FFFD, so what is written is always
/// well-formed: the reader refuses such characters and intake refuses them in JSON, so only the
/// echo of a refused message (CEB900 `oriBizMessage`) can still hold one.
pub fn escape(s: &str, w: &mut String) {
    for c in s.chars() {
        match c {
            '<' => w.push_str("&lt;"),
            '>' => w.push_str("&gt;"),
            '&' => w.push_str("&amp;"),
            '"' => w.push_str("&quot;"),
            '\r' => w.push_str("&#13;"),
            c if !crate::xml::is_xml_char(c) => w.push('\u{FFFD}'),
            c => w.push(c),
        }
    }
}

/// Escape an attribute value; whitespace characters are written as references so that
/// attribute-value normalization gives them back.
fn escape_attr(s: &str, w: &mut String) {
    for c in s.chars() {
        match c {
            '\t' => w.push_str("&#9;"),
            '\n' => w.push_str("&#10;"),
            c => escape(&c.to_string(), w),
        }
    }
}

#[doc(hidden)]
pub fn write_text(w: &mut String, p: &str, name: &str, v: &str) {
    open(w, p, name);
    escape(v, w);
    close(w, p, name);
}

fn find<'e>(e: &'e Element, ns: &str, name: &str) -> Option<&'e Element> {
    e.children
        .iter()
        .find(|c| c.name == name && c.ns.as_deref() == Some(ns))
}

fn check_mixed(e: &Element, path: &str, cx: &mut Cx) {
    if e.mixed {
        cx.issues.push(Issue::new(
            path,
            "mixed-content",
            format!(
                "text beside child elements in {} (annotations typed into the message?)",
                e.name
            ),
        ));
    }
}

#[doc(hidden)]
pub fn read_req(e: &Element, name: &str, path: &str, cx: &mut Cx) -> String {
    match find(e, CEB_NS, name) {
        // Every `currency` of import.xsd is `fixed="142"`, and an empty element with a fixed
        // value takes that value: the schema accepts `<currency/>` as CNY, so the reader does too.
        Some(c) if name == "currency" && c.text.is_empty() && c.children.is_empty() => {
            "142".to_owned()
        }
        Some(c) => c.text.clone(),
        None => {
            cx.issues.push(Issue::new(
                format!("{path}/{name}"),
                "required",
                format!("required element {name} is missing"),
            ));
            String::new()
        }
    }
}

#[doc(hidden)]
pub fn read_opt(e: &Element, name: &str) -> Option<String> {
    find(e, CEB_NS, name).map(|c| c.text.clone())
}

#[doc(hidden)]
pub fn read_attr(e: &Element, name: &str, path: &str, cx: &mut Cx) -> String {
    match e.attr(name) {
        Some(v) => v.to_owned(),
        None => {
            cx.issues.push(Issue::new(
                format!("{path}/@{name}"),
                "attribute-required",
                format!("attribute {name} is required"),
            ));
            String::new()
        }
    }
}

#[doc(hidden)]
pub fn read_one<T: Node>(e: &Element, name: &str, doc: &Document, path: &str, cx: &mut Cx) -> T {
    match find(e, T::NS, name) {
        Some(c) => {
            let p = format!("{path}/{name}");
            check_mixed(c, &p, cx);
            T::read(c, doc, &p, cx)
        }
        None => {
            cx.issues.push(Issue::new(
                format!("{path}/{name}"),
                "required",
                format!("required element {name} is missing"),
            ));
            T::default()
        }
    }
}

#[doc(hidden)]
pub fn read_opt_node<T: Node>(
    e: &Element,
    name: &str,
    doc: &Document,
    path: &str,
    cx: &mut Cx,
) -> Option<T> {
    find(e, T::NS, name).map(|c| {
        let p = format!("{path}/{name}");
        check_mixed(c, &p, cx);
        T::read(c, doc, &p, cx)
    })
}

#[doc(hidden)]
pub fn read_many<T: Node>(
    e: &Element,
    name: &str,
    doc: &Document,
    path: &str,
    cx: &mut Cx,
) -> Vec<T> {
    e.children
        .iter()
        .filter(|c| c.name == name && c.ns.as_deref() == Some(T::NS))
        .enumerate()
        .map(|(i, c)| {
            let p = format!("{path}/{name}[{}]", i + 1);
            check_mixed(c, &p, cx);
            T::read(c, doc, &p, cx)
        })
        .collect()
}

macro_rules! field_ty {
    (attr) => { String };
    (req) => { String };
    (req_pii) => { String };
    (opt) => { Option<String> };
    (opt_pii) => { Option<String> };
    (one $t:ty) => { $t };
    (opt_node $t:ty) => { Option<$t> };
    (many $t:ty) => { Vec<$t> };
}

macro_rules! field_read {
    ($e:ident $doc:ident $path:ident $cx:ident, attr, $x:literal) => {
        $crate::message::read_attr($e, $x, $path, $cx)
    };
    ($e:ident $doc:ident $path:ident $cx:ident, req, $x:literal) => {
        $crate::message::read_req($e, $x, $path, $cx)
    };
    ($e:ident $doc:ident $path:ident $cx:ident, req_pii, $x:literal) => {
        $crate::message::read_req($e, $x, $path, $cx)
    };
    ($e:ident $doc:ident $path:ident $cx:ident, opt, $x:literal) => {
        $crate::message::read_opt($e, $x)
    };
    ($e:ident $doc:ident $path:ident $cx:ident, opt_pii, $x:literal) => {
        $crate::message::read_opt($e, $x)
    };
    ($e:ident $doc:ident $path:ident $cx:ident, one $t:ty, $x:literal) => {
        $crate::message::read_one::<$t>($e, $x, $doc, $path, $cx)
    };
    ($e:ident $doc:ident $path:ident $cx:ident, opt_node $t:ty, $x:literal) => {
        $crate::message::read_opt_node::<$t>($e, $x, $doc, $path, $cx)
    };
    ($e:ident $doc:ident $path:ident $cx:ident, many $t:ty, $x:literal) => {
        $crate::message::read_many::<$t>($e, $x, $doc, $path, $cx)
    };
}

macro_rules! field_write {
    ($w:ident $p:ident $v:expr, attr, $x:literal) => {
        let _ = &$v;
    };
    ($w:ident $p:ident $v:expr, req, $x:literal) => {
        $crate::message::write_text($w, $p, $x, &$v)
    };
    ($w:ident $p:ident $v:expr, req_pii, $x:literal) => {
        $crate::message::write_text($w, $p, $x, &$v)
    };
    ($w:ident $p:ident $v:expr, opt, $x:literal) => {
        if let Some(v) = &$v {
            $crate::message::write_text($w, $p, $x, v)
        }
    };
    ($w:ident $p:ident $v:expr, opt_pii, $x:literal) => {
        if let Some(v) = &$v {
            $crate::message::write_text($w, $p, $x, v)
        }
    };
    ($w:ident $p:ident $v:expr, one $t:ty, $x:literal) => {
        $crate::message::Node::write_node(&$v, $w, $p, $x)
    };
    ($w:ident $p:ident $v:expr, opt_node $t:ty, $x:literal) => {
        if let Some(v) = &$v {
            $crate::message::Node::write_node(v, $w, $p, $x)
        }
    };
    ($w:ident $p:ident $v:expr, many $t:ty, $x:literal) => {
        for v in &$v {
            $crate::message::Node::write_node(v, $w, $p, $x)
        }
    };
}

macro_rules! field_pii {
    ($own:ident $v:expr, req_pii, $x:literal) => {
        $own.push(($x, &mut $v))
    };
    ($own:ident $v:expr, opt_pii, $x:literal) => {
        if let Some(v) = &mut $v {
            $own.push(($x, v))
        }
    };
    ($own:ident $v:expr, $k:ident $($t:ty)?, $x:literal) => {};
}

macro_rules! field_walk {
    ($f:ident $v:expr, one $t:ty) => {
        $crate::message::Node::walk_pii(&mut $v, $f)
    };
    ($f:ident $v:expr, opt_node $t:ty) => {
        if let Some(v) = &mut $v {
            $crate::message::Node::walk_pii(v, $f)
        }
    };
    ($f:ident $v:expr, many $t:ty) => {
        for v in &mut $v {
            $crate::message::Node::walk_pii(v, $f)
        }
    };
    ($f:ident $v:expr, $k:ident) => {};
}

macro_rules! field_dbg {
    (req_pii, $v:expr) => {
        &"***" as &dyn std::fmt::Debug
    };
    (opt_pii, $v:expr) => {
        &$v.as_ref().map(|_| "***") as &dyn std::fmt::Debug
    };
    ($k:ident $($t:ty)?, $v:expr) => {
        &$v as &dyn std::fmt::Debug
    };
}

/// Declare one node: `Name = "XmlName" { field: kind = "xmlName", … }` where kind is
/// `req`/`opt` (text), `req_pii`/`opt_pii` (personal data, masked in Debug), `attr`,
/// `one(T)`, `opt_node(T)` or `many(T)` (child nodes).
macro_rules! node {
    (
        $(#[$m:meta])*
        $name:ident = $xml:literal {
            $( $field:ident : $kind:ident $(($t:ty))? = $x:literal ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $(
                #[serde(rename = $x, default)]
                pub $field: field_ty!($kind $($t)?),
            )*
        }

        impl $crate::message::Node for $name {
            fn read(
                e: &$crate::xml::Element,
                doc: &$crate::xml::Document,
                path: &str,
                cx: &mut $crate::message::Cx,
            ) -> Self {
                let _ = (&doc, &cx, &path, &e);
                $name {
                    $( $field: field_read!(e doc path cx, $kind $($t)?, $x), )*
                }
            }

            fn write_fields(&self, w: &mut String, p: &str) {
                let _ = (&w, &p);
                $( field_write!(w p self.$field, $kind $($t)?, $x); )*
            }

            #[allow(unused_mut)]
            fn walk_pii(&mut self, f: &mut $crate::message::PiiVisitor<'_>) {
                {
                    let mut own: Vec<(&'static str, &mut String)> = Vec::new();
                    $( field_pii!(own self.$field, $kind $($t)?, $x); )*
                    if !own.is_empty() {
                        f(&mut own);
                    }
                }
                let _ = &f;
                $( field_walk!(f self.$field, $kind $($t)?); )*
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $( .field(stringify!($field), field_dbg!($kind $($t)?, self.$field)) )*
                    .finish()
            }
        }
    };
}

/// Declare a message root: a node with the `guid` and `version` attributes, written as a
/// declaration (`ceb:` prefix) or a receipt (default namespace).
macro_rules! root {
    (
        $(#[$m:meta])*
        $name:ident = $xml:literal, declaration = $decl:literal {
            $( $field:ident : $kind:ident $(($t:ty))? = $x:literal ),* $(,)?
        }
    ) => {
        node! {
            $(#[$m])*
            $name = $xml {
                guid: attr = "guid",
                version: attr = "version",
                $( $field: $kind $(($t))? = $x, )*
            }
        }

        impl $crate::message::Root for $name {
            const MESSAGE_TYPE: &'static str = $xml;
            const DECLARATION: bool = $decl;
            fn guid(&self) -> &str {
                &self.guid
            }
        }

        impl $name {
            /// The message in its official form (UTF-8, 202205 shape).
            pub fn to_xml(&self) -> String {
                $crate::message::root_to_xml(self, &self.guid, &self.version)
            }
        }
    };
}

/// A message root element (`CEBnnnMessage`).
pub trait Root: Node {
    const MESSAGE_TYPE: &'static str;
    /// Declarations (enterprise → customs) use the `ceb:` prefix and are validated
    /// strictly; receipts use a default namespace and are read leniently.
    const DECLARATION: bool;
    fn guid(&self) -> &str;
}

#[doc(hidden)]
pub fn root_to_xml<R: Root>(r: &R, guid: &str, version: &str) -> String {
    let mut w = String::with_capacity(4096);
    w.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let p = if R::DECLARATION { "ceb:" } else { "" };
    w.push('<');
    w.push_str(p);
    w.push_str(R::MESSAGE_TYPE);
    if R::DECLARATION {
        w.push_str(" xmlns:ceb=\"");
    } else {
        w.push_str(" xmlns=\"");
    }
    w.push_str(CEB_NS);
    w.push_str("\" guid=\"");
    escape_attr(guid, &mut w);
    w.push_str("\" version=\"");
    escape_attr(version, &mut w);
    w.push_str("\">");
    r.write_fields(&mut w, p);
    close(&mut w, p, R::MESSAGE_TYPE);
    w.push('\n');
    w
}

/// `ds:Signature` — the enveloped XML-DSig signature, kept as the raw signed subtree so a
/// later step can verify it byte for byte. The `ds` namespace declaration is added to the
/// subtree when it was inherited from an ancestor.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Signature(pub String);

impl Node for Signature {
    const NS: &'static str = DS_NS;
    fn read(e: &Element, doc: &Document, _path: &str, _cx: &mut Cx) -> Self {
        let raw = doc.raw(e);
        let prefix = e.prefix.as_deref();
        let decl_attr = match prefix {
            Some(p) => format!("xmlns:{p}="),
            None => "xmlns=".to_owned(),
        };
        let own = e
            .ns_decls
            .iter()
            .any(|(p, _)| Some(p.as_str()) == prefix || (p.is_empty() && prefix.is_none()));
        if own || raw.is_empty() {
            return Signature(raw.to_owned());
        }
        // Insert the inherited declaration right after the element name.
        let name_len = 1 + prefix.map(|p| p.len() + 1).unwrap_or(0) + e.name.len();
        match (raw.get(..name_len), raw.get(name_len..)) {
            (Some(head), Some(tail)) => Signature(format!("{head} {decl_attr}\"{DS_NS}\"{tail}")),
            _ => Signature(raw.to_owned()),
        }
    }
    fn write_fields(&self, w: &mut String, _p: &str) {
        w.push_str(&self.0);
    }
    fn write_node(&self, w: &mut String, _p: &str, _name: &str) {
        w.push_str(&self.0);
    }
}

/// `ExtendMessage` — a sender's custom extension; `Message` holds any XML, kept as the raw
/// inner text.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtendMessage {
    #[serde(rename = "name", default)]
    pub name: String,
    #[serde(rename = "version", default)]
    pub version: String,
    #[serde(rename = "Message", default)]
    pub message: String,
}

impl Node for ExtendMessage {
    fn read(e: &Element, doc: &Document, path: &str, cx: &mut Cx) -> Self {
        let message = match find(e, CEB_NS, "Message") {
            Some(m) => doc.raw_inner(m).to_owned(),
            None => {
                cx.issues.push(Issue::new(
                    format!("{path}/Message"),
                    "required",
                    "required element Message is missing",
                ));
                String::new()
            }
        };
        ExtendMessage {
            name: read_req(e, "name", path, cx),
            version: read_req(e, "version", path, cx),
            message,
        }
    }
    fn write_fields(&self, w: &mut String, p: &str) {
        write_text(w, p, "name", &self.name);
        write_text(w, p, "version", &self.version);
        open(w, p, "Message");
        w.push_str(&self.message);
        close(w, p, "Message");
    }
}

mod import;

pub use import::*;
