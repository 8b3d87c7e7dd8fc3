//! XSD subset → [`Schema`] tables.
//!
//! The schemas are compiled in at build time, so a construct this compiler does not know
//! is skipped rather than reported: the tests check that every official sample validates,
//! which is what proves the subset sufficient.

use std::collections::HashMap;

use super::{
    AnyNs, AttrDecl, Builtin, ComplexType, Content, ElementDecl, Particle, Process, Schema,
    SimpleType, Term, XS_NS,
};
use crate::xml::{Element, Limits, parse_document};

struct File {
    root: Element,
    target_ns: String,
    qualified: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Element,
    Complex,
    Simple,
}

struct Ctx<'a> {
    files: &'a [File],
    /// Global definitions: (kind, ns, name) → (file index, child index of the schema root).
    defs: HashMap<(Kind, String, String), (usize, usize)>,
    schema: Schema,
    depth: usize,
}

pub(super) fn compile(sources: &[&str]) -> Schema {
    let limits = Limits {
        max_bytes: 16 * 1024 * 1024,
        max_depth: 64,
        max_elements: 1_000_000,
        max_attributes: 64,
        max_text_len: 1024 * 1024,
    };
    let files: Vec<File> = sources
        .iter()
        .filter_map(|s| parse_document(s.as_bytes(), &limits).ok())
        .map(|d| {
            let target_ns = d.root.attr("targetNamespace").unwrap_or("").to_owned();
            let qualified = d.root.attr("elementFormDefault") == Some("qualified");
            File {
                root: d.root,
                target_ns,
                qualified,
            }
        })
        .collect();
    let mut defs = HashMap::new();
    for (fi, f) in files.iter().enumerate() {
        for (ci, c) in f.root.children.iter().enumerate() {
            if !is_xs(c) {
                continue;
            }
            let kind = match c.name.as_str() {
                "element" => Kind::Element,
                "complexType" => Kind::Complex,
                "simpleType" => Kind::Simple,
                _ => continue,
            };
            if let Some(n) = c.attr("name") {
                defs.insert((kind, f.target_ns.clone(), n.to_owned()), (fi, ci));
            }
        }
    }
    let mut ctx = Ctx {
        files: &files,
        defs,
        schema: Schema::default(),
        depth: 0,
    };
    let mut globals: Vec<(String, String)> = ctx
        .defs
        .keys()
        .filter(|(k, _, _)| *k == Kind::Element)
        .map(|(_, ns, n)| (ns.clone(), n.clone()))
        .collect();
    globals.sort();
    for (ns, n) in globals {
        ctx.global_element(&ns, &n);
    }
    ctx.schema
}

fn is_xs(e: &Element) -> bool {
    e.ns.as_deref() == Some(XS_NS)
}

fn xs_children(e: &Element) -> impl Iterator<Item = &Element> {
    e.children
        .iter()
        .filter(|c| is_xs(c) && c.name != "annotation")
}

fn occurs(e: &Element) -> (u32, u32) {
    let min = e
        .attr("minOccurs")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1);
    let max = match e.attr("maxOccurs").map(str::trim) {
        Some("unbounded") => u32::MAX,
        Some(v) => v.parse().unwrap_or(1),
        None => 1,
    };
    (min, max)
}

impl Ctx<'_> {
    fn file(&self, fi: usize) -> Option<&File> {
        self.files.get(fi)
    }

    /// Resolve a QName written in file `fi` to (namespace, local name).
    fn qname(&self, fi: usize, q: &str) -> (String, String) {
        let (prefix, local) = match q.split_once(':') {
            Some((p, l)) => (p, l),
            None => ("", q),
        };
        let ns = self
            .file(fi)
            .and_then(|f| {
                f.root
                    .ns_decls
                    .iter()
                    .find(|(p, _)| p == prefix)
                    .map(|(_, u)| u.clone())
            })
            .unwrap_or_default();
        (ns, local.to_owned())
    }

    fn def(&self, kind: Kind, ns: &str, name: &str) -> Option<(usize, &Element)> {
        let (fi, ci) = *self.defs.get(&(kind, ns.to_owned(), name.to_owned()))?;
        let el = self.file(fi)?.root.children.get(ci)?;
        Some((fi, el))
    }

    fn global_element(&mut self, ns: &str, name: &str) -> Option<usize> {
        let key = (ns.to_owned(), name.to_owned());
        if let Some(id) = self.schema.globals.get(&key) {
            return Some(*id);
        }
        let files = self.files;
        let (fi, ci) = *self
            .defs
            .get(&(Kind::Element, key.0.clone(), key.1.clone()))?;
        let el = files.get(fi)?.root.children.get(ci)?;
        let id = self.schema.decls.len();
        self.schema.decls.push(ElementDecl {
            ns: if ns.is_empty() {
                None
            } else {
                Some(ns.to_owned())
            },
            name: name.to_owned(),
            ty: ComplexType {
                attrs: Vec::new(),
                content: Content::Any,
                mixed: false,
            },
        });
        self.schema.globals.insert(key, id);
        let ty = self.element_type(fi, el);
        if let Some(d) = self.schema.decls.get_mut(id) {
            d.ty = ty;
        }
        Some(id)
    }

    fn element_type(&mut self, fi: usize, el: &Element) -> ComplexType {
        self.depth += 1;
        let ty = if self.depth > 48 {
            any_type()
        } else if let Some(t) = el.attr("type") {
            self.named_type(fi, t)
        } else if let Some(c) = xs_children(el).find(|c| c.name == "complexType") {
            self.complex(fi, c)
        } else if let Some(s) = xs_children(el).find(|c| c.name == "simpleType") {
            ComplexType {
                attrs: Vec::new(),
                content: Content::Simple(self.simple(fi, s)),
                mixed: false,
            }
        } else {
            any_type()
        };
        self.depth -= 1;
        let mut ty = ty;
        if let (Some(f), Content::Simple(st)) = (el.attr("fixed"), &mut ty.content) {
            st.fixed = Some(f.to_owned());
        }
        ty
    }

    fn named_type(&mut self, fi: usize, q: &str) -> ComplexType {
        let (ns, local) = self.qname(fi, q);
        if ns == XS_NS {
            if local == "anyType" {
                return any_type();
            }
            return simple_content(SimpleType {
                base: Some(Builtin::from_local(&local)),
                ..SimpleType::default()
            });
        }
        let files = self.files;
        if let Some(&(tfi, ci)) = self.defs.get(&(Kind::Complex, ns.clone(), local.clone()))
            && let Some(c) = files.get(tfi).and_then(|f| f.root.children.get(ci))
        {
            return self.complex(tfi, c);
        }
        if let Some(&(tfi, ci)) = self.defs.get(&(Kind::Simple, ns, local))
            && let Some(s) = files.get(tfi).and_then(|f| f.root.children.get(ci))
        {
            return simple_content(self.simple(tfi, s));
        }
        any_type()
    }

    fn simple_named(&mut self, fi: usize, q: &str) -> SimpleType {
        let (ns, local) = self.qname(fi, q);
        if ns == XS_NS {
            return SimpleType {
                base: Some(Builtin::from_local(&local)),
                ..SimpleType::default()
            };
        }
        match self.def(Kind::Simple, &ns, &local) {
            Some((tfi, s)) => {
                let s = s.clone();
                self.simple(tfi, &s)
            }
            None => SimpleType::default(),
        }
    }

    fn simple(&mut self, fi: usize, s: &Element) -> SimpleType {
        let Some(r) = xs_children(s).find(|c| c.name == "restriction") else {
            return SimpleType {
                base: Some(Builtin::String),
                ..SimpleType::default()
            };
        };
        let mut t = match r.attr("base") {
            Some(b) => self.simple_named(fi, b),
            None => SimpleType::default(),
        };
        for f in xs_children(r) {
            let v = f.attr("value").unwrap_or("").to_owned();
            let n = v.trim().parse::<usize>().ok();
            match f.name.as_str() {
                "length" => t.length = n,
                "minLength" => t.min_length = n,
                "maxLength" => t.max_length = n,
                "totalDigits" => t.total_digits = n,
                "fractionDigits" => t.fraction_digits = n,
                "enumeration" => t.enumeration.push(v),
                "pattern" => t.patterns.push(v),
                _ => {}
            }
        }
        t
    }

    fn complex(&mut self, fi: usize, c: &Element) -> ComplexType {
        let mixed = matches!(c.attr("mixed"), Some("true") | Some("1"));
        let mut ty = ComplexType {
            attrs: Vec::new(),
            content: Content::Empty,
            mixed,
        };
        for k in xs_children(c) {
            match k.name.as_str() {
                "sequence" | "choice" | "all" => {
                    ty.content = Content::Elements(self.group(fi, k));
                }
                "attribute" => {
                    if let Some(a) = self.attribute(fi, k) {
                        ty.attrs.push(a);
                    }
                }
                "simpleContent" => {
                    if let Some(ext) =
                        xs_children(k).find(|e| e.name == "extension" || e.name == "restriction")
                    {
                        let base = match ext.attr("base") {
                            Some(b) => self.simple_named(fi, b),
                            None => SimpleType::default(),
                        };
                        ty.content = Content::Simple(base);
                        for a in xs_children(ext).filter(|a| a.name == "attribute") {
                            if let Some(a) = self.attribute(fi, a) {
                                ty.attrs.push(a);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        ty
    }

    fn attribute(&mut self, fi: usize, a: &Element) -> Option<AttrDecl> {
        let name = a.attr("name")?.to_owned();
        let mut ty = if let Some(t) = a.attr("type") {
            self.simple_named(fi, t)
        } else if let Some(s) = xs_children(a).find(|c| c.name == "simpleType") {
            self.simple(fi, s)
        } else {
            SimpleType {
                base: Some(Builtin::String),
                ..SimpleType::default()
            }
        };
        ty.fixed = a.attr("fixed").map(str::to_owned);
        Some(AttrDecl {
            name,
            required: a.attr("use") == Some("required"),
            ty,
        })
    }

    fn group(&mut self, fi: usize, g: &Element) -> Particle {
        let (min, max) = occurs(g);
        let mut items = Vec::new();
        for k in xs_children(g) {
            match k.name.as_str() {
                "element" => {
                    let (kmin, kmax) = occurs(k);
                    if let Some(id) = self.local_or_ref(fi, k) {
                        items.push(Particle {
                            term: Term::Element(id),
                            min: kmin,
                            max: kmax,
                        });
                    }
                }
                "any" => {
                    let (kmin, kmax) = occurs(k);
                    let ns = match k.attr("namespace") {
                        Some("##other") => AnyNs::Other,
                        _ => AnyNs::Any,
                    };
                    let pc = match k.attr("processContents") {
                        Some("skip") => Process::Skip,
                        Some("lax") => Process::Lax,
                        _ => Process::Strict,
                    };
                    items.push(Particle {
                        term: Term::Any(ns, pc),
                        min: kmin,
                        max: kmax,
                    });
                }
                "sequence" | "choice" | "all" => items.push(self.group(fi, k)),
                _ => {}
            }
        }
        let term = if g.name == "choice" {
            Term::Choice(items)
        } else {
            Term::Sequence(items)
        };
        Particle { term, min, max }
    }

    fn local_or_ref(&mut self, fi: usize, k: &Element) -> Option<usize> {
        if let Some(r) = k.attr("ref") {
            let (ns, local) = self.qname(fi, r);
            return self.global_element(&ns, &local);
        }
        let name = k.attr("name")?.to_owned();
        let f = self.file(fi)?;
        let ns = if f.qualified || k.attr("form") == Some("qualified") {
            Some(f.target_ns.clone()).filter(|s| !s.is_empty())
        } else {
            None
        };
        let ty = self.element_type(fi, k);
        let id = self.schema.decls.len();
        self.schema.decls.push(ElementDecl { ns, name, ty });
        Some(id)
    }
}

fn any_type() -> ComplexType {
    ComplexType {
        attrs: Vec::new(),
        content: Content::Any,
        mixed: true,
    }
}

fn simple_content(t: SimpleType) -> ComplexType {
    ComplexType {
        attrs: Vec::new(),
        content: Content::Simple(t),
        mixed: false,
    }
}
