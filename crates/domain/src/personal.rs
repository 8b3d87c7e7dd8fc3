//! Personal data of buyers (订购人): resident ID numbers, names, phones, addresses.
//!
//! Every type here prints masked in `Debug` and `Display`, so a log line or a panic message cannot
//! leak it. The clear value is only reachable through `as_str`, on purpose. The quota ledger keys a
//! buyer by [`BuyerKey`], a keyed hash, so stored quota rows hold no identity either.
//!
//! This is also **the masking module** (docs/security.md): [`mask_name`] (`张*`, `欧***`),
//! [`mask_id`] (`3301**********123X`), [`mask_phone`] (`138****5678`), [`mask_address`] (the
//! address up to its city, `浙江省杭州市***`) and [`mask_text`] (free text: ID-number-like and
//! phone-like digit runs starred) are what the API, exports, logs and error messages show.
//!
//! And of **redaction** ([`redact`]): the retention purge replaces each personal value of a
//! concluded declaration by a token that keeps what the engine derives from the value — the
//! keyed hashes (buyer, payer, phone, address), equality with the same value elsewhere in the
//! declaration (the three-document match compares them), whether an ID number was valid, and
//! the masked form — and nothing else. Replaying a redacted journal therefore gives the same
//! decisions, receipts, quotas and records as the original did.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::time::CivilDate;

/// Why a personal-data field was refused. Carries no part of the refused value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PersonalError {
    #[error("ID number must be 18 characters: 17 digits and a check character")]
    IdFormat,
    #[error("ID number check character does not match (ISO 7064 MOD 11-2)")]
    IdChecksum,
    #[error("ID number carries an impossible birth date")]
    IdBirthDate,
    #[error("name is empty, too long, or contains control characters")]
    Name,
    #[error("phone number is not 5 to 20 digits (optional leading +, spaces, dashes, parentheses)")]
    Phone,
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The ISO 7064 MOD 11-2 check character for 17 digits; `None` if any is not a digit.
pub fn id_check_char(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut n = 0;
    for (c, w) in first17.chars().zip(ID_WEIGHTS) {
        sum += c.to_digit(10)? * w;
        n += 1;
    }
    if n != 17 || first17.chars().count() != 17 {
        return None;
    }
    ID_CHECK.get((sum % 11) as usize).copied()
}

/// 居民身份证号码 — an 18-character PRC resident ID number (the only `buyerIdType` CBEC accepts).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

impl IdNumber {
    /// Validates length, digits, the MOD 11-2 check character and the birth date (positions 7–14).
    /// A lower-case `x` is accepted and stored upper-case.
    pub fn parse(s: &str) -> Result<Self, PersonalError> {
        let s = s.trim().to_ascii_uppercase();
        if s.len() != 18 || !s.is_ascii() {
            return Err(PersonalError::IdFormat);
        }
        let (first17, last) = s.split_at(17);
        if !first17.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PersonalError::IdFormat);
        }
        let last = last.chars().next().ok_or(PersonalError::IdFormat)?;
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(PersonalError::IdFormat);
        }
        let birth = first17.get(6..14).and_then(CivilDate::parse_yyyymmdd);
        match birth {
            Some(d) if d.year >= 1900 => {}
            _ => return Err(PersonalError::IdBirthDate),
        }
        if id_check_char(first17) != Some(last) {
            return Err(PersonalError::IdChecksum);
        }
        Ok(IdNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

/// 姓名 — a buyer's or consignee's name as declared.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Trimmed, 1–60 characters, no control characters.
    pub fn parse(s: &str) -> Result<Self, PersonalError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > 60 || t.chars().any(char::is_control) {
            return Err(PersonalError::Name);
        }
        Ok(PersonName(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask_name(&self.0)
    }
}

/// 电话 — a buyer's or consignee's phone number as declared (mobile, landline or international).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Trimmed, at most 50 characters (CEB `consigneeTelephone` s..50); an optional leading `+`, then
    /// 5–20 digits with spaces, dashes or parentheses between.
    /// The declared spelling is kept, because the waybill must carry the same string.
    pub fn parse(s: &str) -> Result<Self, PersonalError> {
        let t = s.trim();
        let body = t.strip_prefix('+').unwrap_or(t);
        let digits = body.chars().filter(char::is_ascii_digit).count();
        let ok_chars = body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'));
        if !ok_chars || !(5..=20).contains(&digits) || t.chars().count() > 50 {
            return Err(PersonalError::Phone);
        }
        Ok(Phone(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

macro_rules! masked_fmt {
    ($t:ident, $name:literal) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($name, "({})"), self.masked())
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.masked())
            }
        }
        impl TryFrom<String> for $t {
            type Error = PersonalError;
            fn try_from(s: String) -> Result<Self, PersonalError> {
                $t::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    };
}
masked_fmt!(IdNumber, "IdNumber");
masked_fmt!(PersonName, "PersonName");
masked_fmt!(Phone, "Phone");

/// Keeps `head` leading and `tail` trailing characters and stars the rest; strings too short to
/// hide anything are starred entirely.
fn mask_keep(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    let n = chars.len();
    if n <= head + tail {
        return "*".repeat(n.max(1));
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

/// `3301**********123X`-style: the province and city digits and the last four kept; the
/// district, the birth date and the sequence hidden.
pub fn mask_id(s: &str) -> String {
    if let Some(t) = Token::parse(s) {
        return t.masked.to_owned();
    }
    mask_keep(s, 4, 4)
}

/// `张*`-style: the first character (the surname, mostly) kept, one star per other character.
pub fn mask_name(s: &str) -> String {
    if let Some(t) = Token::parse(s) {
        return t.masked.to_owned();
    }
    let chars: Vec<char> = s.trim().chars().collect();
    match chars.as_slice() {
        [] | [_] => "*".to_string(),
        [first, rest @ ..] => format!("{first}{}", "*".repeat(rest.len())),
    }
}

/// `138****0000`-style: first three and last four kept.
pub fn mask_phone(s: &str) -> String {
    if let Some(t) = Token::parse(s) {
        return t.masked.to_owned();
    }
    mask_keep(s, 3, 4)
}

/// The address up to and including its city (`浙江省杭州市***`, `北京市***`); an address
/// without a recognisable city keeps its first three characters.
pub fn mask_address(s: &str) -> String {
    if let Some(t) = Token::parse(s) {
        return t.masked.to_owned();
    }
    let t = s.trim();
    let chars: Vec<char> = t.chars().collect();
    // The first 市 (city or municipality), 自治州 (autonomous prefecture), 盟 or 地区 ends the
    // city.
    let before = |i: usize, text: &str| {
        let n = text.chars().count();
        i >= n && chars[i - n..i].iter().copied().eq(text.chars())
    };
    let mut end = None;
    for (i, c) in chars.iter().enumerate() {
        let ends = match c {
            '市' | '盟' => true,
            '州' => before(i, "自治"),
            '区' => before(i, "地"),
            _ => false,
        };
        if ends {
            end = Some(i + 1);
            break;
        }
    }
    let keep = end.unwrap_or(3.min(chars.len()));
    let kept: String = chars.iter().take(keep).collect();
    format!("{kept}***")
}

/// Free text with personal-looking digit runs starred: 15–18 character ID-number-like runs
/// (digits, a final X) as [`mask_id`] and 10–14 digit phone-like runs as [`mask_phone`]. For
/// reasons, notes and messages that people type, before they reach a log or the audit log.
pub fn mask_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i < chars.len() && matches!(chars[i], 'X' | 'x') && i - start == 17 {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            match run.len() {
                15..=18 => out.push_str(&mask_keep(&run, 4, 4)),
                10..=14 => out.push_str(&mask_keep(&run, 3, 4)),
                _ => out.push_str(&run),
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The XML element names of the CEB messages that hold personal data.
pub const PII_ELEMENTS: [&str; 10] = [
    "buyerName",
    "payerName",
    "consignee",
    "buyerIdNumber",
    "payerIdNumber",
    "buyerTelephone",
    "consigneeTelephone",
    "telephone",
    "consigneeAddress",
    "buyerRegNo",
];

/// Masks the text of every personal element ([`PII_ELEMENTS`], any namespace prefix) in XML
/// text, well-formed or not (the CEB900 echo of a refused message). Everything else is kept.
pub fn mask_xml(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tail = &rest[lt..];
        let Some(gt) = tail.find('>') else {
            out.push_str(tail);
            return out;
        };
        let tag = &tail[..=gt];
        out.push_str(tag);
        rest = &tail[gt + 1..];
        let inner = tag[1..tag.len() - 1].trim();
        if inner.starts_with(['/', '?', '!']) || inner.ends_with('/') {
            continue;
        }
        let name = inner
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        if !PII_ELEMENTS.contains(&local) {
            continue;
        }
        let end = rest.find('<').unwrap_or(rest.len());
        let value = &rest[..end];
        if !value.trim().is_empty() {
            out.push_str(&match Field::of_xml(local) {
                Field::Name => mask_name(value),
                Field::IdNumber => mask_id(value),
                Field::Phone => mask_phone(value),
                Field::Address => mask_address(value),
                Field::Other => "***".to_owned(),
            });
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// What a personal field holds, for [`redact`]: it decides which keyed hash the token keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// A buyer's, payer's or consignee's name.
    Name,
    /// A resident ID number; its token keeps the buyer key of (name, number).
    IdNumber,
    /// A phone; its token keeps the phone's risk key.
    Phone,
    /// An address; its token keeps the address's risk key.
    Address,
    /// Anything else personal (a platform account number): equality only.
    Other,
}

impl Field {
    /// The field an XML element name of the CEB messages holds (the `*_pii` fields).
    pub fn of_xml(name: &str) -> Field {
        match name {
            "buyerName" | "payerName" | "consignee" => Field::Name,
            "buyerIdNumber" | "payerIdNumber" => Field::IdNumber,
            "buyerTelephone" | "consigneeTelephone" | "telephone" => Field::Phone,
            "consigneeAddress" => Field::Address,
            _ => Field::Other,
        }
    }

    fn tag(self) -> char {
        match self {
            Field::Name => 'n',
            Field::IdNumber => 'i',
            Field::Phone => 'p',
            Field::Address => 'a',
            Field::Other => 'o',
        }
    }
}

/// The first character of every redacted value. XML 1.0 cannot carry it (and names, ID numbers
/// and phones refuse control characters), so no sender can submit a token.
pub const REDACTED: char = '\u{1}';

/// A redacted value, read back: `\u{1}` tag validity `:` equality hash `:` key `:` masked form.
struct Token<'a> {
    valid: bool,
    key: &'a str,
    masked: &'a str,
}

impl<'a> Token<'a> {
    fn parse(s: &'a str) -> Option<Token<'a>> {
        let rest = s.strip_prefix(REDACTED)?;
        let mut parts = rest.splitn(4, ':');
        let head = parts.next()?;
        let _eq = parts.next()?;
        let key = parts.next()?;
        let masked = parts.next()?;
        Some(Token {
            valid: head.ends_with('1'),
            key,
            masked,
        })
    }
}

/// Whether a value is a redaction token (the purge has replaced it).
pub fn is_redacted(s: &str) -> bool {
    s.starts_with(REDACTED)
}

/// Whether an ID number passes [`IdNumber::parse`], or was valid before the purge redacted it.
pub fn id_number_valid(s: &str) -> bool {
    match Token::parse(s) {
        Some(t) => t.valid,
        None => IdNumber::parse(s).is_ok(),
    }
}

fn mac_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .or_else(|_| <Hmac<Sha256> as KeyInit>::new_from_slice(&[]))
    {
        Ok(mut mac) => {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    mac.update(&[0x1f]);
                }
                mac.update(p);
            }
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Keyed hash of a personal value other than the buyer identity (phone, address), normalised
/// (whitespace dropped, lower-cased), so the risk index compares them without holding them. A
/// redacted value gives the key it was redacted with.
pub fn keyed_value(secret: &[u8], domain: &str, value: &str) -> String {
    if let Some(t) = Token::parse(value) {
        return t.key.to_owned();
    }
    let normalised: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    buyer_key(secret, domain, &normalised).0
}

/// The redaction token of a personal `value` (see the module documentation). `pair_name` is the
/// name an ID number belongs to (its token keeps the buyer key of both). Deterministic: equal
/// values (as the match compares them: trimmed, ID numbers case-insensitively) give equal tokens,
/// different values different ones. A value already redacted is returned as it is.
pub fn redact(secret: &[u8], field: Field, value: &str, pair_name: Option<&str>) -> String {
    if is_redacted(value) {
        return value.to_owned();
    }
    let trimmed = value.trim();
    let (normal, valid, key, masked) = match field {
        Field::Name => (trimmed.to_owned(), true, String::new(), mask_name(trimmed)),
        Field::IdNumber => {
            let upper = trimmed.to_ascii_uppercase();
            let key = buyer_key(secret, pair_name.unwrap_or(""), trimmed).0;
            let valid = IdNumber::parse(trimmed).is_ok();
            let masked = mask_id(&upper);
            (upper, valid, key, masked)
        }
        Field::Phone => (
            trimmed.to_owned(),
            true,
            keyed_value(secret, "phone", value),
            mask_phone(trimmed),
        ),
        Field::Address => (
            trimmed.to_owned(),
            true,
            keyed_value(secret, "address", value),
            mask_address(trimmed),
        ),
        Field::Other => (trimmed.to_owned(), true, String::new(), "***".to_owned()),
    };
    let tag = field.tag().to_string();
    let eq = mac_hex(secret, &[b"redact-eq", tag.as_bytes(), normal.as_bytes()]);
    let eq = eq.get(..32).unwrap_or(&eq);
    format!(
        "{REDACTED}{tag}{}:{eq}:{key}:{masked}",
        if valid { '1' } else { '0' }
    )
}

/// A buyer's pseudonymous key: hex HMAC-SHA256 of name and ID number under a server secret. The quota
/// ledger, statistics and logs use it instead of the identity (rules.md §1.8 counts per name + ID).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BuyerKey(pub String);

impl fmt::Display for BuyerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Derives the [`BuyerKey`]. Inputs are normalised (trimmed; ID upper-cased so `x` ≡ `X`) so the same
/// person always maps to the same key; a separator byte keeps `("ab","c")` apart from `("a","bc")`.
pub fn buyer_key(secret: &[u8], name: &str, id_number: &str) -> BuyerKey {
    // A redacted ID number carries the key it was made with (the clear values are gone).
    if let Some(t) = Token::parse(id_number) {
        return BuyerKey(t.key.to_owned());
    }
    let name = name.trim();
    let id = id_number.trim().to_ascii_uppercase();
    // HMAC accepts keys of any length, so this cannot fail; fall back to an empty-key MAC regardless.
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .or_else(|_| <Hmac<Sha256> as KeyInit>::new_from_slice(&[]));
    match mac {
        Ok(mut mac) => {
            mac.update(name.as_bytes());
            mac.update(&[0x1f]);
            mac.update(id.as_bytes());
            BuyerKey(hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => BuyerKey(String::new()),
    }
}
