//! The validator: one walk over the tree, no allocation per value beyond the issue list,
//! no regexes. Values never appear in issue details (they may be personal data); only
//! lengths and rule limits do.

use std::borrow::Cow;

use super::{AnyNs, Builtin, Content, Issue, Particle, Process, Schema, SimpleType, Term};
use crate::xml::Element;

const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Validate `el` against the declaration `id`, appending findings to `issues`.
pub fn validate_element(
    schema: &Schema,
    id: usize,
    el: &Element,
    path: &str,
    issues: &mut Vec<Issue>,
) {
    let mut buf = String::with_capacity(256);
    buf.push_str(path);
    validate_in(schema, id, el, &mut buf, issues);
}

/// `path` is a buffer extended for each child and truncated back, so a valid message
/// costs no path allocations.
fn validate_in(
    schema: &Schema,
    id: usize,
    el: &Element,
    path: &mut String,
    issues: &mut Vec<Issue>,
) {
    let path_len = path.len();
    let Some(decl) = schema.decl(id) else {
        return;
    };
    let ty = &decl.ty;
    if matches!(ty.content, Content::Any) {
        return;
    }
    for a in &ty.attrs {
        match el.attr(&a.name) {
            Some(v) => {
                path.push_str("/@");
                path.push_str(&a.name);
                check_value(&a.ty, v, path, issues);
                path.truncate(path_len);
            }
            None if a.required => issues.push(Issue::new(
                format!("{path}/@{}", a.name),
                "attribute-required",
                format!("attribute {} is required", a.name),
            )),
            None => {}
        }
    }
    for a in &el.attrs {
        let known = a.ns.is_none() && ty.attrs.iter().any(|d| d.name == a.name);
        // Of the schema-instance attributes only the location hints are harmless: no element of
        // these schemas is nillable, and `xsi:type` would swap the type a value is checked
        // against. Attributes in the `xml:` namespace must be declared like any other.
        if a.ns.as_deref() == Some(XSI_NS) {
            match a.name.as_str() {
                "schemaLocation" | "noNamespaceSchemaLocation" => {}
                "nil" => issues.push(Issue::new(
                    format!("{path}/@xsi:nil"),
                    "not-nillable",
                    format!("element {} is not nillable", decl.name),
                )),
                other => issues.push(Issue::new(
                    format!("{path}/@xsi:{other}"),
                    "unexpected-attribute",
                    format!("attribute xsi:{other} is not accepted here"),
                )),
            }
            continue;
        }
        if !known {
            issues.push(Issue::new(
                format!("{path}/@{}", a.name),
                "unexpected-attribute",
                format!("attribute {} is not allowed here", a.name),
            ));
        }
    }
    match &ty.content {
        Content::Any => {}
        Content::Empty => {
            if let Some(c) = el.children.first() {
                issues.push(Issue::new(
                    format!("{path}/{}", c.name),
                    "unexpected-element",
                    format!("element {} allows no child elements", decl.name),
                ));
            } else if !ty.mixed && !el.text.trim().is_empty() {
                issues.push(Issue::new(
                    path.clone(),
                    "mixed-content",
                    format!("element {} allows no text", decl.name),
                ));
            }
        }
        Content::Simple(st) => {
            if let Some(c) = el.children.first() {
                issues.push(Issue::new(
                    format!("{path}/{}", c.name),
                    "unexpected-element",
                    format!("element {} holds a value, not child elements", decl.name),
                ));
            } else if el.text.is_empty()
                && let Some(fixed) = &st.fixed
            {
                // An empty element with a fixed value takes that value.
                check_value(st, fixed, path, issues);
            } else {
                check_value(st, &el.text, path, issues);
            }
        }
        Content::Elements(p) => {
            if !ty.mixed && !el.text.trim().is_empty() {
                issues.push(Issue::new(
                    path.clone(),
                    "mixed-content",
                    format!(
                        "text beside child elements in {} (the schema allows elements only)",
                        decl.name
                    ),
                ));
                return;
            }
            let kids: Vec<&Element> = el.children.iter().collect();
            if let Some(items) = flat_sequence(p) {
                flat(schema, items, &kids, path, issues);
            } else {
                generic(schema, p, &kids, path, &decl.name, issues);
            }
            path.truncate(path_len);
        }
    }
}

/// The items of a sequence made only of element particles, occurring once: the shape of
/// every CEB business node, which gets precise diagnostics.
fn flat_sequence(p: &Particle) -> Option<&[Particle]> {
    if p.min != 1 || p.max != 1 {
        return None;
    }
    match &p.term {
        Term::Sequence(items) if items.iter().all(|i| matches!(i.term, Term::Element(_))) => {
            Some(items)
        }
        _ => None,
    }
}

fn matches_decl(schema: &Schema, id: usize, el: &Element) -> bool {
    schema
        .decl(id)
        .is_some_and(|d| d.name == el.name && d.ns.as_deref() == el.ns.as_deref())
}

fn child_path(path: &str, name: &str, index: usize, repeated: bool) -> String {
    let mut p = path.to_owned();
    push_seg(&mut p, name, index, repeated);
    p
}

fn push_seg(p: &mut String, name: &str, index: usize, repeated: bool) {
    use std::fmt::Write;
    p.push('/');
    p.push_str(name);
    if repeated {
        let _ = write!(p, "[{index}]");
    }
}

fn flat(
    schema: &Schema,
    items: &[Particle],
    kids: &[&Element],
    path: &mut String,
    issues: &mut Vec<Issue>,
) {
    let base = path.len();
    let mut k = 0usize;
    for item in items {
        let Term::Element(id) = item.term else {
            continue;
        };
        let Some(decl) = schema.decl(id) else {
            continue;
        };
        let mut count = 0u32;
        while let Some(kid) = kids.get(k) {
            if !matches_decl(schema, id, kid) {
                break;
            }
            if count >= item.max {
                issues.push(Issue::new(
                    child_path(path, &kid.name, count as usize + 1, true),
                    "max-occurs",
                    if item.max == 1 {
                        format!("{} may occur only once", decl.name)
                    } else {
                        format!("{} may occur at most {} times", decl.name, item.max)
                    },
                ));
                // Skip the surplus so the rest of the sequence is still checked.
                while kids.get(k).is_some_and(|c| matches_decl(schema, id, c)) {
                    k += 1;
                }
                break;
            }
            count += 1;
            push_seg(path, &kid.name, count as usize, item.max > 1);
            validate_in(schema, id, kid, path, issues);
            path.truncate(base);
            k += 1;
        }
        if count < item.min {
            let later = kids
                .get(k..)
                .is_some_and(|rest| rest.iter().any(|c| matches_decl(schema, id, c)));
            if later {
                let found = kids.get(k).map(|c| c.name.as_str()).unwrap_or("");
                issues.push(Issue::new(
                    child_path(path, &decl.name, count as usize + 1, item.max > 1),
                    "order",
                    format!(
                        "{} must come before {found} (the schema fixes the order)",
                        decl.name
                    ),
                ));
                return;
            }
            issues.push(Issue::new(
                child_path(path, &decl.name, count as usize + 1, item.max > 1),
                "required",
                if count == 0 {
                    format!("required element {} is missing", decl.name)
                } else {
                    format!("{} must occur at least {} times", decl.name, item.min)
                },
            ));
        }
    }
    if let Some(kid) = kids.get(k) {
        let known = items.iter().any(|i| match i.term {
            Term::Element(id) => matches_decl(schema, id, kid),
            _ => false,
        });
        let (rule, detail) = if known {
            ("order", format!("element {} is out of order", kid.name))
        } else {
            (
                "unexpected-element",
                format!("element {} is not allowed here", kid.name),
            )
        };
        issues.push(Issue::new(format!("{path}/{}", kid.name), rule, detail));
    }
}

#[derive(Clone, Copy)]
enum Assign {
    Decl(usize),
    Any(Process),
}

fn generic(
    schema: &Schema,
    p: &Particle,
    kids: &[&Element],
    path: &mut String,
    name: &str,
    issues: &mut Vec<Issue>,
) {
    let base = path.len();
    let mut out = Vec::new();
    match match_particle(schema, p, kids, 0, &mut out, 0) {
        Some(n) if n == kids.len() => {}
        Some(n) => {
            let kid = kids.get(n).map(|k| k.name.as_str()).unwrap_or("");
            issues.push(Issue::new(
                format!("{path}/{kid}"),
                "unexpected-element",
                format!("element {kid} is not allowed here"),
            ));
        }
        None => {
            issues.push(Issue::new(
                path.clone(),
                "required",
                format!("content of {name} is incomplete or out of order"),
            ));
            return;
        }
    }
    // Occurrence counts per name, in linear time (a hostile message may repeat a child
    // many times where the schema says unbounded).
    let mut totals: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for k in kids {
        *totals.entry(k.name.as_str()).or_default() += 1;
    }
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (kid, a) in kids.iter().zip(out.iter()) {
        let same = totals.get(kid.name.as_str()).copied().unwrap_or(0);
        let idx = {
            let n = seen.entry(kid.name.as_str()).or_default();
            *n += 1;
            *n
        };
        push_seg(path, &kid.name, idx, same > 1);
        match *a {
            Assign::Decl(id) => validate_in(schema, id, kid, path, issues),
            Assign::Any(Process::Skip) => {}
            Assign::Any(pc) => match schema.global(kid.ns.as_deref(), &kid.name) {
                Some(id) => validate_in(schema, id, kid, path, issues),
                None if pc == Process::Strict => issues.push(Issue::new(
                    path.clone(),
                    "unexpected-element",
                    format!("element {} is not declared", kid.name),
                )),
                None => {}
            },
        }
        path.truncate(base);
    }
}

/// Greedy matching of a particle (deterministic content models, as XSD's unique particle
/// attribution guarantees). Returns the position after the match, or None.
fn match_particle(
    schema: &Schema,
    p: &Particle,
    kids: &[&Element],
    pos: usize,
    out: &mut Vec<Assign>,
    depth: usize,
) -> Option<usize> {
    if depth > 32 {
        return None;
    }
    let mut count = 0u32;
    let mut cur = pos;
    while count < p.max {
        let save = out.len();
        match match_term(schema, &p.term, kids, cur, out, depth) {
            Some(n) if n > cur => {
                count += 1;
                cur = n;
            }
            Some(_) => {
                // Matched empty: any number of further empty matches is possible.
                count = count.max(p.min);
                break;
            }
            None => {
                out.truncate(save);
                break;
            }
        }
    }
    if count < p.min { None } else { Some(cur) }
}

fn match_term(
    schema: &Schema,
    t: &Term,
    kids: &[&Element],
    pos: usize,
    out: &mut Vec<Assign>,
    depth: usize,
) -> Option<usize> {
    match t {
        Term::Element(id) => {
            let kid = kids.get(pos)?;
            if matches_decl(schema, *id, kid) {
                out.push(Assign::Decl(*id));
                Some(pos + 1)
            } else {
                None
            }
        }
        Term::Any(ns, pc) => {
            let kid = kids.get(pos)?;
            let ok = match ns {
                AnyNs::Any => true,
                // ##other: a namespace other than the target namespace (here xmldsig).
                AnyNs::Other => kid.ns.as_deref() != Some(super::DS_NS) && kid.ns.is_some(),
            };
            if ok {
                out.push(Assign::Any(*pc));
                Some(pos + 1)
            } else {
                None
            }
        }
        Term::Sequence(items) => {
            let mut cur = pos;
            for i in items {
                cur = match_particle(schema, i, kids, cur, out, depth + 1)?;
            }
            Some(cur)
        }
        Term::Choice(items) => {
            for i in items {
                let save = out.len();
                if let Some(n) = match_particle(schema, i, kids, pos, out, depth + 1)
                    && n > pos
                {
                    return Some(n);
                }
                out.truncate(save);
            }
            // A choice with an emptiable branch matches empty.
            items.iter().any(|i| i.min == 0).then_some(pos)
        }
    }
}

fn collapse(s: &str) -> Cow<'_, str> {
    let needs = s.starts_with(|c: char| c.is_ascii_whitespace())
        || s.ends_with(|c: char| c.is_ascii_whitespace())
        || s.contains(['\t', '\n', '\r'])
        || s.contains("  ");
    if !needs {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for w in s.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    Cow::Owned(out)
}

/// Significant integer and fraction digits of an xs:decimal lexical value, or None.
fn decimal_digits(v: &str, allow_point: bool) -> Option<(usize, usize)> {
    let body = v.strip_prefix(['+', '-']).unwrap_or(v);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) if allow_point => (i, f),
        Some(_) => return None,
        None => (body, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int_sig = int.trim_start_matches('0').len();
    let frac_sig = frac.trim_end_matches('0').len();
    Some((int_sig, frac_sig))
}

fn two(s: &str) -> Option<u32> {
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn valid_date(d: &str) -> bool {
    let d = d.strip_prefix('-').unwrap_or(d);
    let mut parts = d.splitn(3, '-');
    let (Some(y), Some(m), Some(day)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    y.len() >= 4
        && y.bytes().all(|b| b.is_ascii_digit())
        && two(m).is_some_and(|m| (1..=12).contains(&m))
        && two(day).is_some_and(|d| (1..=31).contains(&d))
}

fn strip_tz(s: &str) -> &str {
    if let Some(r) = s.strip_suffix('Z') {
        return r;
    }
    let cut = s.len().saturating_sub(6);
    if let (Some(head), Some(tz)) = (s.get(..cut), s.get(cut..)) {
        let b = tz.as_bytes();
        if !head.is_empty()
            && (b.first() == Some(&b'+') || b.first() == Some(&b'-'))
            && b.get(3) == Some(&b':')
        {
            return head;
        }
    }
    s
}

fn valid_time(t: &str) -> bool {
    let (hms, frac) = match t.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (t, None),
    };
    let mut p = hms.split(':');
    let (Some(h), Some(m), Some(s), None) = (p.next(), p.next(), p.next(), p.next()) else {
        return false;
    };
    two(h).is_some_and(|h| h <= 24)
        && two(m).is_some_and(|m| m < 60)
        && two(s).is_some_and(|s| s < 60)
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_base64(v: &str) -> bool {
    let mut n = 0usize;
    let mut pad = 0usize;
    for b in v.bytes() {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            b'=' => pad += 1,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' if pad == 0 => {}
            _ => return false,
        }
        n += 1;
    }
    if !n.is_multiple_of(4) || pad > 2 {
        return false;
    }
    // The last data character before padding must leave the unused bits zero (XSD's
    // canonical final quantum: `[AQgw]==` or `[AEIMQUYcgkosw048]=`).
    let last = v
        .bytes()
        .rev()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'='));
    match (pad, last) {
        (0, _) => true,
        (1, Some(c)) => b"AEIMQUYcgkosw048".contains(&c),
        (2, Some(c)) => b"AQgw".contains(&c),
        _ => false,
    }
}

/// An `xs:anyURI` value as libxml2 reads it: characters a URI may not hold literally (space,
/// non-ASCII, `<>"{}|\^`'`) stand for themselves escaped; what is left must be an RFC 3986
/// URI-reference (`%` followed by two hex digits, one `#` at most, a valid scheme before the
/// first `:` of the first segment, brackets only around an IP literal host).
fn valid_uri(v: &str) -> bool {
    let escaped = |c: char| {
        (c as u32) < 32
            || (c as u32) >= 127
            || matches!(
                c,
                ' ' | '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`' | '\''
            )
    };
    let s: String = v
        .chars()
        .map(|c| if escaped(c) { '_' } else { c })
        .collect();
    let (rest, fragment) = match s.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (s.as_str(), None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    fn pct_ok(t: &str) -> bool {
        let b = t.as_bytes();
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            if c == b'%' {
                let hex = |k: usize| b.get(k).is_some_and(|x| x.is_ascii_hexdigit());
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
            } else {
                i += 1;
            }
        }
        true
    }
    fn pchar_or(t: &str, extra: &[u8]) -> bool {
        pct_ok(t)
            && t.bytes().all(|c| {
                c.is_ascii_alphanumeric()
                    || b"-._~!$&'()*+,;=:@%".contains(&c)
                    || extra.contains(&c)
            })
    }
    if fragment.is_some_and(|f| !pchar_or(f, b"/?")) || query.is_some_and(|q| !pchar_or(q, b"/?")) {
        return false;
    }
    // Scheme: a colon before the first `/` ends it.
    let first_seg_end = rest.find('/').unwrap_or(rest.len());
    let (scheme, hier) = match rest.get(..first_seg_end).and_then(|seg| seg.find(':')) {
        Some(colon) => (Some(&rest[..colon]), &rest[colon + 1..]),
        None => (None, rest),
    };
    if let Some(scheme) = scheme {
        let mut b = scheme.bytes();
        let ok = b.next().is_some_and(|c| c.is_ascii_alphabetic())
            && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
        if !ok {
            return false;
        }
    }
    let path = match hier.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            let authority = &after[..end];
            let host_port = authority.rsplit_once('@').map_or(authority, |(u, h)| {
                if pchar_or(u, b"") { h } else { "\u{0}" }
            });
            let host_ok = if let Some(inner) = host_port.strip_prefix('[') {
                match inner.split_once(']') {
                    Some((ip, port)) => {
                        !ip.is_empty()
                            && ip
                                .bytes()
                                .all(|c| c.is_ascii_hexdigit() || b":.vV".contains(&c))
                            && (port.is_empty()
                                || port
                                    .strip_prefix(':')
                                    .is_some_and(|p| p.bytes().all(|c| c.is_ascii_digit())))
                    }
                    None => false,
                }
            } else {
                let (host, port) = match host_port.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (host_port, None),
                };
                pct_ok(host)
                    && host
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&c))
                    && port.is_none_or(|p| p.bytes().all(|c| c.is_ascii_digit()))
            };
            if !host_ok {
                return false;
            }
            &after[end..]
        }
        None => hier,
    };
    pchar_or(path, b"/")
}

/// Check one value (element text or attribute) against a simple type.
pub(super) fn check_value(st: &SimpleType, raw: &str, path: &str, issues: &mut Vec<Issue>) {
    let base = st.base.unwrap_or(Builtin::String);
    let v = if base.collapses() {
        collapse(raw)
    } else {
        Cow::Borrowed(raw)
    };
    let v = v.as_ref();
    if let Some(f) = &st.fixed
        && v != f
    {
        issues.push(Issue::new(path, "fixed", format!("value must be {f:?}")));
    }
    let digits = match base {
        Builtin::Decimal => match decimal_digits(v, true) {
            Some(d) => Some(d),
            None => {
                issues.push(Issue::new(path, "decimal", "not a decimal number"));
                return;
            }
        },
        Builtin::Int | Builtin::Integer => match decimal_digits(v, false) {
            Some(d) => {
                if base == Builtin::Int && v.parse::<i32>().is_err() {
                    issues.push(Issue::new(path, "int", "integer out of the xs:int range"));
                    return;
                }
                Some(d)
            }
            None => {
                let rule = if base == Builtin::Int {
                    "int"
                } else {
                    "integer"
                };
                issues.push(Issue::new(path, rule, "not an integer"));
                return;
            }
        },
        Builtin::DateTime => {
            let ok = v
                .split_once('T')
                .is_some_and(|(d, t)| valid_date(d) && valid_time(strip_tz(t)));
            if !ok {
                issues.push(Issue::new(
                    path,
                    "date-time",
                    "not an xs:dateTime (yyyy-MM-ddTHH:mm:ss)",
                ));
                return;
            }
            None
        }
        Builtin::Date => {
            if !valid_date(strip_tz(v)) {
                issues.push(Issue::new(path, "date", "not an xs:date (yyyy-MM-dd)"));
                return;
            }
            None
        }
        Builtin::Base64Binary => {
            if !valid_base64(v) {
                issues.push(Issue::new(path, "base64", "not valid base64"));
                return;
            }
            None
        }
        Builtin::AnyUri => {
            if !valid_uri(v) {
                issues.push(Issue::new(path, "any-uri", "not a URI reference"));
                return;
            }
            None
        }
        Builtin::String | Builtin::Other => None,
    };
    if let Some((int_sig, frac_sig)) = digits {
        if let Some(fd) = st.fraction_digits
            && frac_sig > fd
        {
            issues.push(Issue::new(
                path,
                "fraction-digits",
                format!("{frac_sig} fraction digits, at most {fd} allowed"),
            ));
        }
        if let Some(td) = st.total_digits {
            let total = (int_sig + frac_sig).max(1);
            if total > td {
                issues.push(Issue::new(
                    path,
                    "total-digits",
                    format!("{total} digits, at most {td} allowed"),
                ));
            }
        }
    } else if st.length.is_some() || st.min_length.is_some() || st.max_length.is_some() {
        let n = v.chars().count();
        if let Some(l) = st.length
            && n != l
        {
            issues.push(Issue::new(
                path,
                "length",
                format!("length {n}, exactly {l} characters required"),
            ));
        }
        if let Some(max) = st.max_length
            && n > max
        {
            issues.push(Issue::new(
                path,
                "max-length",
                format!("length {n} exceeds the maximum of {max} characters"),
            ));
        }
        if let Some(min) = st.min_length
            && n < min
        {
            issues.push(Issue::new(
                path,
                "min-length",
                format!("length {n} is below the minimum of {min} characters"),
            ));
        }
    }
    if !st.enumeration.is_empty() && !st.enumeration.iter().any(|e| e == v) {
        issues.push(Issue::new(
            path,
            "enumeration",
            format!(
                "value not among the allowed values ({})",
                st.enumeration.join(", ")
            ),
        ));
    }
}
