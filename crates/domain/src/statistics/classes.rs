//! 商品简化统计分类 — the simplified statistical classification of CBEC goods: some thirty classes
//! people recognise (infant formula, cosmetics, apparel, electronics …), each with a stable code,
//! mapped from HS codes by longest prefix (`data/stat_classes.csv`, docs/statistics.md).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::registry::{csv_lines, split_csv_line};

const BUILTIN_CSV: &str = include_str!("../../data/stat_classes.csv");

/// The class of goods no prefix matches.
pub const OTHER: &str = "99";

/// One class of the classification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GoodsClass {
    /// Stable two-digit code (`01` … `27`, `99` for other goods).
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// The HS prefixes that map to it (chapters, headings, subheadings).
    pub prefixes: Vec<String>,
}

/// The classification: the classes in code order and the prefix index.
#[derive(Clone, Debug)]
pub struct Classification {
    classes: Vec<GoodsClass>,
    by_prefix: HashMap<String, usize>,
    other: usize,
}

/// Why a classification file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("classification line {line}: {reason}")]
pub struct ClassificationError {
    pub line: usize,
    pub reason: String,
}

impl Classification {
    /// The built-in classification (`crates/domain/data/stat_classes.csv`), parsed once.
    pub fn builtin() -> &'static Classification {
        static BUILTIN: OnceLock<Classification> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Classification::parse_csv(BUILTIN_CSV).unwrap_or_else(|_| Classification::empty())
        })
    }

    fn empty() -> Classification {
        Classification {
            classes: vec![GoodsClass {
                code: OTHER.into(),
                name_zh: "其他".into(),
                name_en: "Other goods".into(),
                prefixes: Vec::new(),
            }],
            by_prefix: HashMap::new(),
            other: 0,
        }
    }

    /// Parses the CSV `code,name_zh,name_en,hs_prefixes` (prefixes separated by `|`). Every prefix
    /// is 2 to 10 digits and maps to one class only; class `99` must be present.
    pub fn parse_csv(text: &str) -> Result<Classification, ClassificationError> {
        let mut lines = csv_lines(text);
        let (hline, header) = lines.next().ok_or(ClassificationError {
            line: 1,
            reason: "empty file".into(),
        })?;
        let head = split_csv_line(header).map_err(|reason| ClassificationError {
            line: hline,
            reason,
        })?;
        if head.iter().map(|c| c.trim()).collect::<Vec<_>>()
            != ["code", "name_zh", "name_en", "hs_prefixes"]
        {
            return Err(ClassificationError {
                line: hline,
                reason: "header must be code,name_zh,name_en,hs_prefixes".into(),
            });
        }
        let mut classes: Vec<GoodsClass> = Vec::new();
        let mut by_prefix = HashMap::new();
        for (line, l) in lines {
            let err = |reason: String| ClassificationError { line, reason };
            let f = split_csv_line(l).map_err(err)?;
            let [code, zh, en, prefixes] = f.as_slice() else {
                return Err(err(format!("expected 4 fields, found {}", f.len())));
            };
            let code = code.trim().to_string();
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!("class code {code:?} must be two digits")));
            }
            if classes.iter().any(|c| c.code == code) {
                return Err(err(format!("class {code} appears twice")));
            }
            let prefixes: Vec<String> = prefixes
                .split('|')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            for p in &prefixes {
                if !(2..=10).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(format!("HS prefix {p:?} must be 2 to 10 digits")));
                }
                if by_prefix.insert(p.clone(), classes.len()).is_some() {
                    return Err(err(format!("HS prefix {p} maps to two classes")));
                }
            }
            classes.push(GoodsClass {
                code,
                name_zh: zh.trim().to_string(),
                name_en: en.trim().to_string(),
                prefixes,
            });
        }
        classes.sort_by(|a, b| a.code.cmp(&b.code));
        // Re-point the index after sorting.
        let mut index = HashMap::new();
        for (i, c) in classes.iter().enumerate() {
            for p in &c.prefixes {
                index.insert(p.clone(), i);
            }
        }
        let other = classes
            .iter()
            .position(|c| c.code == OTHER)
            .ok_or(ClassificationError {
                line: hline,
                reason: "class 99 (other goods) is required".into(),
            })?;
        Ok(Classification {
            classes,
            by_prefix: index,
            other,
        })
    }

    /// The class of an HS code: the class of its longest matching prefix, else `99`.
    pub fn classify(&self, hs: &str) -> &GoodsClass {
        let hs = hs.trim();
        let longest = hs.len().min(10);
        for len in (2..=longest).rev() {
            if let Some(i) = hs.get(..len).and_then(|p| self.by_prefix.get(p))
                && let Some(c) = self.classes.get(*i)
            {
                return c;
            }
        }
        self.other_class()
    }

    fn other_class(&self) -> &GoodsClass {
        // `other` always indexes `classes` (checked at parse, and `empty` has one class).
        &self.classes[self.other.min(self.classes.len().saturating_sub(1))]
    }

    /// Every class, in code order.
    pub fn classes(&self) -> &[GoodsClass] {
        &self.classes
    }

    /// The class with this code.
    pub fn get(&self, code: &str) -> Option<&GoodsClass> {
        self.classes.iter().find(|c| c.code == code)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_builtin_classification_parses_and_maps_by_longest_prefix() {
        let c = Classification::parse_csv(BUILTIN_CSV).unwrap();
        assert!((20..=30).contains(&c.classes().len()));
        assert_eq!(c.classify("1901101000").code, "01"); // infant formula, not 19 …
        assert_eq!(c.classify("19053100").code, "06"); // biscuits
        assert_eq!(c.classify("8509800000").code, "20"); // appliance under chapter 85
        assert_eq!(c.classify("85183000").code, "21"); // headphones: electronics
        assert_eq!(c.classify("40151200").code, "22"); // medical gloves
        assert_eq!(c.classify("9307009000").code, "99"); // nothing matches
        assert_eq!(c.classify("").code, "99");
    }

    #[test]
    fn every_tariff_line_of_the_builtin_tariff_has_a_class() {
        let c = Classification::builtin();
        let tariff = crate::tariff::Tariff::builtin();
        let unclassified: Vec<String> = tariff
            .lines()
            .map(|l| l.hs.clone())
            .filter(|hs| c.classify(hs).code == OTHER && !hs.starts_with("93"))
            .collect();
        assert!(unclassified.is_empty(), "{unclassified:?}");
    }

    #[test]
    fn a_prefix_in_two_classes_is_refused() {
        let text = "code,name_zh,name_en,hs_prefixes\n01,a,a,33\n02,b,b,33\n99,o,o,\n";
        assert!(Classification::parse_csv(text).is_err());
    }
}
