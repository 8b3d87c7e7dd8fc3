//! Validation equivalent to the official XSD.
//!
//! A small compiler reads the XSD subset the GACC schemas use (global elements and refs,
//! named and anonymous complex/simple types, sequence/choice with occurrences, `xs:any`,
//! attributes, simpleContent extensions, string/decimal/int facets) into tables built
//! once, and a validator walks a parsed tree against them. Generic on purpose: a new XSD
//! (export.xsd) is one more `include_str!`.

mod compile;
mod validate;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use validate::validate_element;

/// Namespaces the compiled schemas define.
pub const CEB_NS: &str = "http://www.chinaport.gov.cn/ceb";
pub const DXP_NS: &str = "http://www.chinaport.gov.cn/dxp";
pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";

const IMPORT_XSD: &str = include_str!("../../xsd/import.xsd");
const EXPORT_XSD: &str = include_str!("../../xsd/export.xsd");
const XMLDSIG_XSD: &str = include_str!("../../xsd/xmldsig-core-schema.xsd");
const TERMINAL_XSD: &str = include_str!("../../xsd/terminal-node.xsd");

/// One validation finding, located by a path such as
/// `/CEB311Message/Order[1]/OrderHead/buyerTelephone`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    pub path: String,
    /// A short stable id: `required`, `unexpected-element`, `order`, `max-length`, …
    pub rule: String,
    pub detail: String,
}

impl Issue {
    pub fn new(path: impl Into<String>, rule: &str, detail: impl Into<String>) -> Self {
        Issue {
            path: path.into(),
            rule: rule.to_owned(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}] {}", self.path, self.rule, self.detail)
    }
}

/// Built-in XSD types that appear in the schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    String,
    Decimal,
    Integer,
    Int,
    DateTime,
    Date,
    Base64Binary,
    AnyUri,
    /// Anything else (ID, NCName, …): checked as a string.
    Other,
}

impl Builtin {
    fn from_local(name: &str) -> Builtin {
        match name {
            "string" | "normalizedString" | "token" => Builtin::String,
            "decimal" => Builtin::Decimal,
            "integer" | "long" | "nonNegativeInteger" | "positiveInteger" => Builtin::Integer,
            "int" => Builtin::Int,
            "dateTime" => Builtin::DateTime,
            "date" => Builtin::Date,
            "base64Binary" => Builtin::Base64Binary,
            "anyURI" => Builtin::AnyUri,
            _ => Builtin::Other,
        }
    }

    /// Whether the lexical space collapses whitespace (everything but string-like types).
    fn collapses(self) -> bool {
        !matches!(self, Builtin::String | Builtin::Other)
    }
}

/// A simple type: a built-in base plus facets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleType {
    pub base: Option<Builtin>,
    pub length: Option<usize>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub total_digits: Option<usize>,
    pub fraction_digits: Option<usize>,
    pub enumeration: Vec<String>,
    /// Pattern facets are kept but not enforced (none of the import schemas use one).
    pub patterns: Vec<String>,
    pub fixed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyNs {
    Any,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Skip,
    Lax,
    Strict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Element(usize),
    Any(AnyNs, Process),
    Sequence(Vec<Particle>),
    Choice(Vec<Particle>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Particle {
    pub term: Term,
    pub min: u32,
    /// `u32::MAX` stands for unbounded.
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrDecl {
    pub name: String,
    pub required: bool,
    pub ty: SimpleType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// No type given: anything goes (xs:anyType).
    Any,
    /// Attributes only; `mixed` types may still carry text.
    Empty,
    Simple(SimpleType),
    Elements(Particle),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplexType {
    pub attrs: Vec<AttrDecl>,
    pub content: Content,
    pub mixed: bool,
}

/// An element declaration, global or local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementDecl {
    pub ns: Option<String>,
    pub name: String,
    pub ty: ComplexType,
}

/// The compiled schema set: every element declaration, plus the global ones by name.
#[derive(Debug, Default)]
pub struct Schema {
    pub decls: Vec<ElementDecl>,
    pub globals: HashMap<(String, String), usize>,
}

impl Schema {
    pub fn global(&self, ns: Option<&str>, name: &str) -> Option<usize> {
        self.globals
            .get(&(ns.unwrap_or("").to_owned(), name.to_owned()))
            .copied()
    }

    pub fn decl(&self, id: usize) -> Option<&ElementDecl> {
        self.decls.get(id)
    }
}

/// The import schema with xmldsig and the DXP terminal-node schema, compiled once.
pub fn import_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| compile::compile(&[IMPORT_XSD, XMLDSIG_XSD, TERMINAL_XSD]))
}

/// The export schema with xmldsig, compiled once.
pub fn export_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| compile::compile(&[EXPORT_XSD, XMLDSIG_XSD]))
}

/// Validate a tree against a schema from its root; the root must be a global element.
pub fn validate_root(schema: &Schema, root: &crate::xml::Element) -> Vec<Issue> {
    let mut issues = Vec::new();
    let path = format!("/{}", root.name);
    match schema.global(root.ns.as_deref(), &root.name) {
        Some(id) => validate_element(schema, id, root, &path, &mut issues),
        None => issues.push(Issue::new(
            path,
            "unexpected-element",
            format!(
                "root element {{{}}}{} is not declared by the schema",
                root.ns.as_deref().unwrap_or(""),
                root.name
            ),
        )),
    }
    issues
}
