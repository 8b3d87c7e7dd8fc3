//! Fictitious buyers. Every identity is derived from a numeric key, so the same key always
//! yields the same person (a returning buyer is recognisable by the quota engine), and no
//! generated value can belong to a real person: names carry 测 or 样, ID numbers use the area
//! prefix 99 (no such region), phones are 10xxxxxxxxx (no such mobile or landline prefix), one per person.

use std::fmt;

use crate::rng::mix;

const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
const GIVEN_SECOND: [&str; 20] = [
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "明", "华", "丽", "强", "芳", "军",
    "敏", "静", "伟", "磊",
];

/// 订购人 — the buyer of a declaration (also the payer and, mostly, the consignee).
/// Fictitious; `Debug` masks every field so a log line cannot leak it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Buyer {
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

impl fmt::Debug for Buyer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buyer")
            .field("name", &mask_name(&self.name))
            .field("id_number", &mask_tail(&self.id_number, 2, 1))
            .field("phone", &mask_tail(&self.phone, 3, 2))
            .finish()
    }
}

fn mask_name(name: &str) -> String {
    let mut out: String = name.chars().take(1).collect();
    out.push_str("**");
    out
}

fn mask_tail(s: &str, keep_head: usize, keep_tail: usize) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_head || i + keep_tail >= n {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// A person derived from `key`: the buyer, or another member of the household.
#[derive(Clone)]
pub(crate) struct Person {
    pub(crate) name: String,
    pub(crate) id_number: String,
    pub(crate) phone: String,
    pub(crate) address: String,
}

impl Person {
    pub(crate) fn from_key(key: u64) -> Self {
        Self::derive(key, 1960, 45)
    }

    /// A member of a fraud scheme (see [`crate::Scheme`]), living at `address`. Born 1935–1959,
    /// before every population buyer (1960–2004), so a scheme member's ID number can never be
    /// a population buyer's, whatever the keys.
    pub(crate) fn scheme_member(key: u64, address: &str) -> Self {
        let mut p = Self::derive(key, 1935, 25);
        p.address.clear();
        p.address.push_str(address);
        p
    }

    fn derive(key: u64, first_year: u64, years: u64) -> Self {
        let h = mix(key ^ 0x005E_ED0F_B0E5);
        let mut name = String::with_capacity(9);
        name.push_str(SURNAMES[(h % 20) as usize]);
        name.push(if (h >> 8) & 1 == 0 { '测' } else { '样' });
        name.push_str(GIVEN_SECOND[((h >> 16) % 20) as usize]);
        let year = first_year + (h >> 24) % years;
        let month = 1 + (h >> 32) % 12;
        let day = 1 + (h >> 40) % u64::from(days_in_month(year, month));
        let key7 = key % 10_000_000;
        let body = format!(
            "99{:04}{year:04}{month:02}{day:02}{:03}",
            key7 % 10_000,
            key7 / 10_000
        );
        let id_number = match id_check_char(&body) {
            Some(c) => {
                let mut s = body;
                s.push(c);
                s
            }
            None => body,
        };
        // One phone and one flat per person, as in life: shared ones are what the risk rules
        // look for. "10" + 9 digits is no Chinese mobile (those start 13–19) nor a landline
        // (area codes start with 0), so no real number can be hit.
        let phone = format!("10{:09}", key % 1_000_000_000);
        let address = format!(
            "浙江省杭州市测试区样例路{}号{}室",
            1 + key % 999,
            1 + (key / 999) % 9999
        );
        Self {
            name,
            id_number,
            phone,
            address,
        }
    }

    pub(crate) fn buyer(&self) -> Buyer {
        Buyer {
            name: self.name.clone(),
            id_number: self.id_number.clone(),
            phone: self.phone.clone(),
        }
    }
}

fn days_in_month(year: u64, month: u64) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID number
/// (GB 11643). `None` unless `body17` is exactly 17 ASCII digits.
pub fn id_check_char(body17: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    if body17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in body17.bytes().zip(WEIGHTS) {
        if !b.is_ascii_digit() {
            return None;
        }
        sum += u32::from(b - b'0') * w;
    }
    CHECK.get((sum % 11) as usize).copied()
}

/// Whether an 18-character ID number carries the right check character.
pub fn id_number_is_valid(id: &str) -> bool {
    match (id.get(..17), id.get(17..)) {
        (Some(body), Some(check)) if check.len() == 1 => {
            id_check_char(body).is_some_and(|c| check.starts_with(c))
        }
        _ => false,
    }
}
