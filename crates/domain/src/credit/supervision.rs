//! Graded supervision (信用监管): what a grade means at the border. A grade maps to a supervision
//! class, and the class to a treatment — how often its declarations are inspected, whether documents
//! are reviewed, whether a tax guarantee is waived, and where it queues.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// 信用等级 — the grade of the Hangzhou CBEC rating model (rules.md §5.2: AAA / AA / A / BBB / BB),
/// plus 失信 (dishonest), which overrides the score when a dishonesty criterion holds.
///
/// Ordered from best to worst, so `Grade::Aaa < Grade::Bb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grade {
    #[serde(rename = "AAA")]
    Aaa,
    #[serde(rename = "AA")]
    Aa,
    #[serde(rename = "A")]
    A,
    #[serde(rename = "BBB")]
    Bbb,
    #[serde(rename = "BB")]
    Bb,
    #[serde(rename = "DISHONEST")]
    Dishonest,
}

impl Grade {
    pub const ALL: [Grade; 6] = [
        Grade::Aaa,
        Grade::Aa,
        Grade::A,
        Grade::Bbb,
        Grade::Bb,
        Grade::Dishonest,
    ];

    /// The wire and display form, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Aaa => "AAA",
            Grade::Aa => "AA",
            Grade::A => "A",
            Grade::Bbb => "BBB",
            Grade::Bb => "BB",
            Grade::Dishonest => "DISHONEST",
        }
    }

    /// The label a Chinese-reading regulator expects: the letters, or 失信.
    pub fn label_zh(self) -> &'static str {
        match self {
            Grade::Dishonest => "失信",
            other => other.as_str(),
        }
    }

    /// Inverse of [`Grade::as_str`].
    pub fn parse(s: &str) -> Option<Grade> {
        Grade::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// 监管类别 — the class of graded supervision (分类分级监管) a subject is treated under, after the
/// customs enterprise-credit categories (rules.md §5.1: 高级认证 / 认证 / 常规 / 失信), with an
/// "attention" class between general and dishonest for poor but not dishonest grades.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupervisionClass {
    Advanced,
    Certified,
    General,
    Attention,
    Dishonest,
}

impl SupervisionClass {
    pub const ALL: [SupervisionClass; 5] = [
        SupervisionClass::Advanced,
        SupervisionClass::Certified,
        SupervisionClass::General,
        SupervisionClass::Attention,
        SupervisionClass::Dishonest,
    ];

    /// The wire form, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SupervisionClass::Advanced => "advanced",
            SupervisionClass::Certified => "certified",
            SupervisionClass::General => "general",
            SupervisionClass::Attention => "attention",
            SupervisionClass::Dishonest => "dishonest",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            SupervisionClass::Advanced => "高级认证",
            SupervisionClass::Certified => "认证",
            SupervisionClass::General => "常规",
            SupervisionClass::Attention => "重点关注",
            SupervisionClass::Dishonest => "失信",
        }
    }

    /// Inverse of [`SupervisionClass::as_str`].
    pub fn parse(s: &str) -> Option<SupervisionClass> {
        SupervisionClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for SupervisionClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// 差别化监管措施 — what a supervision class gets at clearance. The rate is in basis points so that
/// 0.4 % (an AEO's 20 % of the general 2 %) is exact without floating point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Treatment {
    /// Share of declarations selected for physical inspection, in basis points (of 10 000).
    pub inspection_rate_bp: u32,
    /// Every declaration goes to a regulator's document review before release.
    pub document_review: bool,
    /// No tax guarantee needs to be lodged (an AEO measure, rules.md §5.1).
    pub guarantee_exempt: bool,
    /// Queue position: 0 is served first.
    pub priority: u8,
}

/// Whether `declaration` is picked for inspection at `rate_bp`: the first 8 bytes of
/// SHA-256(`seed` as little-endian bytes ‖ `declaration` as UTF-8), read big-endian as a `u64`,
/// modulo 10 000, is below `rate_bp`.
///
/// A hash rather than a random draw, so that replaying the journal selects exactly the same
/// declarations and a declarant cannot learn anything by resubmitting; the seed is a setting so a
/// regulator can change the selection without anyone predicting it.
pub fn sampled(seed: u64, declaration: &str, rate_bp: u32) -> bool {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(declaration.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    for (dst, src) in first.iter_mut().zip(digest.iter()) {
        *dst = *src;
    }
    u64::from_be_bytes(first) % 10_000 < u64::from(rate_bp)
}
