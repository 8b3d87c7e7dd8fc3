//! 贸易管制负面清单 — the trade-control negative list of goods ("网上交易管理"负面清单, Seed-ZJ-Plan
//! §三(一), rules.md §3.3): HS codes, brands and products that may not clear as CBEC retail imports.
//!
//! [`ControlList::check`] runs on every inventory, so the list keeps indexes beside its entries: HS
//! prefixes, folded brand token sequences and product codes in hash maps, probed per line. The
//! matching rules themselves live in [`GoodsMatch`] and are shared with recalls.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::subject::Department;
use crate::time::Timestamp;

/// How an entry (or a recall) recognises goods on an inventory line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum GoodsMatch {
    /// Every HS code starting with `prefix` (2–10 digits: chapter, heading, subheading … full code).
    Hs { prefix: String },
    /// A brand, matched case-insensitively as whole tokens of gmodel or gname.
    Brand { brand: String },
    /// One product, by its itemNo or barCode (exact, after trimming).
    Product { code: String },
}

/// Product codes and brands longer than this are typing errors (itemNo is ≤ 30, barCode ≤ 50 in CEB).
const MAX_CODE_LEN: usize = 50;
const MAX_BRAND_LEN: usize = 100;

/// Whether `c` separates tokens: whitespace, ASCII punctuation, the CJK and full-width punctuation
/// that gmodel strings use (`品牌|规格`, `，`, `、`, `（）` …), and the marks written after brands.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_whitespace() || c.is_ascii_punctuation();
    }
    c.is_whitespace()
        || matches!(c,
            '\u{00A9}' | '\u{00AE}' | '\u{2122}' // © ® ™ stuck to brand names
            | '\u{00B7}'                // middle dot
            | '\u{2010}'..='\u{2027}'   // dashes, quotes, ellipsis
            | '\u{3000}'..='\u{303F}'   // CJK symbols and punctuation
            | '\u{FF01}'..='\u{FF0F}'   // full-width ! " # … /
            | '\u{FF1A}'..='\u{FF20}'   // full-width : ; < = > ? @
            | '\u{FF3B}'..='\u{FF40}'   // full-width [ \ ] ^ _ `
            | '\u{FF5B}'..='\u{FF65}') // full-width { | } ~ and half-width CJK punctuation
}

/// The tokens of a free-text goods field.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_separator).filter(|t| !t.is_empty())
}

/// Appends `token` case-folded, so `Acme`, `ACME` and `acme` meet. Han, kana and Hangul have no
/// case and are copied as they are: gname is mostly Chinese, and the Unicode tables are slow.
fn push_folded(buf: &mut String, token: &str) {
    let start = buf.len();
    if token.is_ascii() || token.chars().all(|c| c.is_ascii() || caseless(c)) {
        buf.push_str(token);
        if let Some(tail) = buf.get_mut(start..) {
            tail.make_ascii_lowercase();
        }
    } else {
        buf.extend(token.chars().flat_map(char::to_lowercase));
    }
}

/// Characters with no lower-case form that are common in goods names (ASCII is handled apart).
fn caseless(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7A3}')
}

/// Whether `token` is already case-folded, so its key is itself.
fn is_folded(token: &str) -> bool {
    token
        .chars()
        .all(|c| (c.is_ascii() && !c.is_ascii_uppercase()) || caseless(c))
}

/// Writes the folded key of `words` (tokens joined by one space) into `buf`.
fn fold_into(buf: &mut String, words: &[&str]) {
    buf.clear();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            buf.push(' ');
        }
        push_folded(buf, w);
    }
}

/// A brand's folded key and its number of tokens: `"SK-II"` → (`"sk ii"`, 2). Text is tokenised the
/// same way, so a brand written with punctuation still meets itself.
fn brand_key(brand: &str) -> (String, usize) {
    let words: Vec<&str> = tokens(brand).collect();
    let mut key = String::new();
    fold_into(&mut key, &words);
    (key, words.len())
}

/// Calls `probe` with the folded key of every run of 1..=`max_len` consecutive tokens of each of
/// `fields` (runs never span two fields), until it returns true. `key_bytes`, when given, is the
/// range of key lengths worth probing. `words` and `buf` are scratch space reused across calls.
fn any_token_run<'t>(
    fields: [&'t str; 2],
    max_len: usize,
    key_bytes: Option<(usize, usize)>,
    words: &mut Vec<&'t str>,
    buf: &mut String,
    mut probe: impl FnMut(&str) -> bool,
) -> bool {
    for field in fields {
        words.clear();
        words.extend(tokens(field));
        for start in 0..words.len() {
            for len in 1..=max_len.min(words.len() - start) {
                let run = &words[start..start + len];
                // An ASCII run folds to exactly its own length plus the spaces between tokens.
                if let Some((min, max)) = key_bytes
                    && run.iter().all(|w| w.is_ascii())
                {
                    let bytes = run.iter().map(|w| w.len()).sum::<usize>() + len - 1;
                    if !(min..=max).contains(&bytes) {
                        continue;
                    }
                }
                let hit = match run {
                    // Most tokens (Chinese, digits, lower case) are their own key: no copy.
                    [w] if is_folded(w) => probe(w),
                    _ => {
                        fold_into(buf, run);
                        probe(buf)
                    }
                };
                if hit {
                    return true;
                }
            }
        }
    }
    false
}

fn is_hs_prefix(p: &str) -> bool {
    (2..=10).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
}

impl GoodsMatch {
    pub fn validate(&self) -> Result<(), GoodsError> {
        match self {
            GoodsMatch::Hs { prefix } if !is_hs_prefix(prefix) => {
                Err(GoodsError::InvalidHsPrefix(prefix.clone()))
            }
            GoodsMatch::Brand { brand } if brand_key(brand).1 == 0 => {
                Err(GoodsError::EmptyBrand(brand.clone()))
            }
            GoodsMatch::Brand { brand } if brand.chars().count() > MAX_BRAND_LEN => {
                Err(GoodsError::TooLong("brand"))
            }
            GoodsMatch::Product { code } if code.trim().is_empty() => {
                Err(GoodsError::EmptyProductCode)
            }
            GoodsMatch::Product { code } if code.trim().chars().count() > MAX_CODE_LEN => {
                Err(GoodsError::TooLong("product code"))
            }
            _ => Ok(()),
        }
    }

    /// Whether the line carries these goods. Unindexed: for one matcher (a recall) against a few
    /// lines; the control list uses its indexes with the same rules.
    pub fn matches(&self, line: &GoodsLine<'_>) -> bool {
        match self {
            GoodsMatch::Hs { prefix } => is_hs_prefix(prefix) && line.hs.trim().starts_with(prefix),
            GoodsMatch::Brand { brand } => {
                let (key, len) = brand_key(brand);
                len > 0
                    && any_token_run(
                        [line.model, line.name],
                        len,
                        Some((key.len(), key.len())),
                        &mut Vec::new(),
                        &mut String::new(),
                        |k| k == key,
                    )
            }
            GoodsMatch::Product { code } => {
                let code = code.trim();
                !code.is_empty() && line.product_codes().any(|c| c == code)
            }
        }
    }

    /// For receipts and messages: `HS 0201`, `brand Acme`, `product 6901234567890`.
    pub fn describe(&self) -> String {
        match self {
            GoodsMatch::Hs { prefix } => format!("HS {prefix}"),
            GoodsMatch::Brand { brand } => format!("brand {}", brand.trim()),
            GoodsMatch::Product { code } => format!("product {}", code.trim()),
        }
    }
}

impl fmt::Display for GoodsMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// What the list does to matching goods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// 禁止进口 — may not be imported at all.
    Banned,
    /// 限制进口 — needs a licence or permit that a CBEC retail import cannot carry.
    Restricted,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Banned => "banned",
            Control::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the goods control list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlEntry {
    pub id: String,
    pub matcher: GoodsMatch,
    pub control: Control,
    pub reason: String,
    pub department: Department,
    /// In effect from this instant …
    pub since: Timestamp,
    /// … until this one (exclusive); `None` = until removed.
    pub until: Option<Timestamp>,
}

impl ControlEntry {
    pub fn validate(&self) -> Result<(), GoodsError> {
        if self.id.trim().is_empty() {
            return Err(GoodsError::EmptyId);
        }
        if self.reason.trim().is_empty() {
            return Err(GoodsError::EmptyReason);
        }
        if self.until.is_some_and(|u| u <= self.since) {
            return Err(GoodsError::UntilNotAfterSince);
        }
        self.matcher.validate()
    }

    pub fn active(&self, now: Timestamp) -> bool {
        self.since <= now && self.until.is_none_or(|u| now < u)
    }
}

/// One inventory line as the control list and recalls see it: borrowed from the declaration, so
/// checking costs no copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoodsLine<'a> {
    pub gnum: u32,
    /// gcode, the 10-digit HS code.
    pub hs: &'a str,
    /// gname.
    pub name: &'a str,
    /// gmodel: brand and specification (`品牌|规格`).
    pub model: &'a str,
    pub item_no: Option<&'a str>,
    pub bar_code: Option<&'a str>,
}

impl<'a> GoodsLine<'a> {
    /// The line's itemNo and barCode, trimmed, the empty ones left out.
    fn product_codes(&self) -> impl Iterator<Item = &'a str> {
        [self.item_no, self.bar_code]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }
}

/// Why an inventory is refused: the first controlled line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlHit {
    /// The control entry's id.
    pub entry: String,
    pub gnum: u32,
    pub control: Control,
    /// `line 2: brand Acme is banned (counterfeits seized 2026-01)`.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum GoodsError {
    #[error("HS prefix {0:?} must be 2 to 10 digits")]
    InvalidHsPrefix(String),
    #[error("brand {0:?} has no letters or digits to match")]
    EmptyBrand(String),
    #[error("the product code (itemNo or barCode) must not be empty")]
    EmptyProductCode,
    #[error("the {0} is too long")]
    TooLong(&'static str),
    #[error("the entry id must not be empty")]
    EmptyId,
    #[error("the reason must not be empty")]
    EmptyReason,
    #[error("`until` must be after `since`")]
    UntilNotAfterSince,
    #[error("an entry with id {0} already exists")]
    DuplicateId(String),
}

/// Index positions of the entries under one key.
type Slots = Vec<u32>;

/// A lookup-only index (never iterated into an output).
type Index<V> = HashMap<String, V, crate::fasthash::FxBuild>;

/// The goods control list: its entries in the order they were added, and the indexes `check` probes.
/// Serialised as the bare list of entries; the indexes are rebuilt on load.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<ControlEntry>", into = "Vec<ControlEntry>")]
pub struct ControlList {
    entries: Vec<ControlEntry>,
    by_id: Index<u32>,
    hs: Index<Slots>,
    /// Bit `n` set when some HS prefix has `n` digits: only those lengths are probed.
    hs_lengths: u16,
    brands: Index<Slots>,
    /// The most tokens any listed brand has: the longest token run to probe.
    brand_max_tokens: usize,
    /// The shortest and longest folded brand key, in bytes: other token runs are not looked up.
    brand_key_bytes: (usize, usize),
    products: Index<Slots>,
}

impl fmt::Debug for ControlList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlList")
            .field("entries", &self.entries)
            .finish()
    }
}

/// Two lists are equal when they hold the same entries in the same order; the indexes follow.
impl PartialEq for ControlList {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Eq for ControlList {}

impl TryFrom<Vec<ControlEntry>> for ControlList {
    type Error = GoodsError;

    fn try_from(entries: Vec<ControlEntry>) -> Result<Self, GoodsError> {
        let mut list = ControlList::default();
        for e in entries {
            list.add(e)?;
        }
        Ok(list)
    }
}

impl From<ControlList> for Vec<ControlEntry> {
    fn from(list: ControlList) -> Self {
        list.entries
    }
}

impl ControlList {
    pub fn add(&mut self, e: ControlEntry) -> Result<(), GoodsError> {
        e.validate()?;
        if self.by_id.contains_key(&e.id) {
            return Err(GoodsError::DuplicateId(e.id));
        }
        let slot = u32::try_from(self.entries.len()).map_err(|_| GoodsError::TooLong("list"))?;
        self.index(&e, slot);
        self.entries.push(e);
        Ok(())
    }

    fn index(&mut self, e: &ControlEntry, slot: u32) {
        self.by_id.insert(e.id.clone(), slot);
        match &e.matcher {
            GoodsMatch::Hs { prefix } => {
                self.hs_lengths |= 1 << prefix.len();
                self.hs.entry(prefix.clone()).or_default().push(slot);
            }
            GoodsMatch::Brand { brand } => {
                let (key, len) = brand_key(brand);
                self.brand_key_bytes = if self.brands.is_empty() {
                    (key.len(), key.len())
                } else {
                    (
                        self.brand_key_bytes.0.min(key.len()),
                        self.brand_key_bytes.1.max(key.len()),
                    )
                };
                self.brand_max_tokens = self.brand_max_tokens.max(len);
                self.brands.entry(key).or_default().push(slot);
            }
            GoodsMatch::Product { code } => {
                self.products
                    .entry(code.trim().to_owned())
                    .or_default()
                    .push(slot);
            }
        }
    }

    /// Removes an entry; the indexes are rebuilt (removals are rare, checks are not).
    pub fn remove(&mut self, id: &str) -> Option<ControlEntry> {
        let slot = usize::try_from(*self.by_id.get(id)?).ok()?;
        let removed = self.entries.remove(slot);
        let entries = std::mem::take(&mut self.entries);
        *self = ControlList::default();
        for (i, e) in entries.iter().enumerate() {
            if let Ok(i) = u32::try_from(i) {
                self.index(e, i);
            }
        }
        self.entries = entries;
        Some(removed)
    }

    pub fn get(&self, id: &str) -> Option<&ControlEntry> {
        let slot = usize::try_from(*self.by_id.get(id)?).ok()?;
        self.entries.get(slot)
    }

    /// In the order they were added.
    pub fn entries(&self) -> impl Iterator<Item = &ControlEntry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first controlled line of an inventory, or `None` when it may proceed. Lines are taken in
    /// the order given; on one line a banned entry wins over a restricted one, then the entry added
    /// first, so the answer does not depend on hashing.
    pub fn check(&self, lines: &[GoodsLine<'_>], now: Timestamp) -> Option<ControlHit> {
        if self.entries.is_empty() {
            return None;
        }
        let mut words = Vec::with_capacity(16);
        let mut buf = String::with_capacity(64);
        for line in lines {
            let mut best: Option<(Control, u32)> = None;
            let mut consider = |slots: &Slots| {
                for &slot in slots {
                    let Some(e) = usize::try_from(slot).ok().and_then(|i| self.entries.get(i))
                    else {
                        continue;
                    };
                    if e.active(now) && best.is_none_or(|b| (e.control, slot) < b) {
                        best = Some((e.control, slot));
                    }
                }
            };
            let hs = line.hs.trim();
            if hs.is_ascii() {
                for len in 2..=hs.len().min(10) {
                    if self.hs_lengths & (1 << len) != 0
                        && let Some(slots) = hs.get(..len).and_then(|p| self.hs.get(p))
                    {
                        consider(slots);
                    }
                }
            }
            for code in line.product_codes() {
                if let Some(slots) = self.products.get(code) {
                    consider(slots);
                }
            }
            if self.brand_max_tokens > 0 {
                any_token_run(
                    [line.model, line.name],
                    self.brand_max_tokens,
                    Some(self.brand_key_bytes),
                    &mut words,
                    &mut buf,
                    |key| {
                        if let Some(slots) = self.brands.get(key) {
                            consider(slots);
                        }
                        false
                    },
                );
            }
            if let Some((_, slot)) = best
                && let Some(e) = usize::try_from(slot).ok().and_then(|i| self.entries.get(i))
            {
                return Some(ControlHit {
                    entry: e.id.clone(),
                    gnum: line.gnum,
                    control: e.control,
                    reason: format!(
                        "line {}: {} is {} ({})",
                        line.gnum,
                        e.matcher.describe(),
                        e.control,
                        e.reason.trim()
                    ),
                });
            }
        }
        None
    }
}
