//! Personal data of buyers (订购人): resident ID numbers, names, phones.
//!
//! Every type here prints masked in `Debug` and `Display`, so a log line or a panic message cannot
//! leak it. The clear value is only reachable through `as_str`, on purpose. The quota ledger keys a
//! buyer by [`BuyerKey`], a keyed hash, so stored quota rows hold no identity either.

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

/// `110105********123X`-style: region prefix and last four kept, the birth date hidden.
pub fn mask_id(s: &str) -> String {
    mask_keep(s, 6, 4)
}

/// `张*三`-style: first and last character kept; a two-character name becomes `张*`.
pub fn mask_name(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    match chars.as_slice() {
        [] => "*".to_string(),
        [_] => "*".to_string(),
        [first, _] => format!("{first}*"),
        [first, middle @ .., last] => {
            format!("{first}{}{last}", "*".repeat(middle.len()))
        }
    }
}

/// `138****0000`-style: first three and last four kept.
pub fn mask_phone(s: &str) -> String {
    mask_keep(s, 3, 4)
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
