//! Who supervision is about and who supervises: the subjects of credit records, negative-list
//! entries and risk alerts, and the regulator departments that act on them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::personal::BuyerKey;

/// 主体 — whom a credit record, a listing or an alert concerns: a filed enterprise (by its customs
/// code) or an individual buyer (by the keyed hash of name + ID number, never the identity itself).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Subject {
    Enterprise(String),
    Person(BuyerKey),
}

impl Subject {
    /// Stable text key: `E:<code>` or `P:<buyer key>`.
    pub fn key(&self) -> String {
        match self {
            Subject::Enterprise(code) => format!("E:{code}"),
            Subject::Person(k) => format!("P:{}", k.0),
        }
    }

    /// Inverse of [`Subject::key`].
    pub fn parse_key(s: &str) -> Option<Subject> {
        match s.split_once(':')? {
            ("E", code) if !code.is_empty() => Some(Subject::Enterprise(code.to_owned())),
            ("P", key) if !key.is_empty() => Some(Subject::Person(BuyerKey(key.to_owned()))),
            _ => None,
        }
    }

    /// The enterprise code, for enterprise subjects.
    pub fn enterprise(&self) -> Option<&str> {
        match self {
            Subject::Enterprise(code) => Some(code),
            Subject::Person(_) => None,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// 监管部门 — the departments whose certifications, findings and listings the single window takes in
/// (Seed-HZ-Reg art. 31: customs, inspection, tax, market supervision), the zone office, and
/// third-party credit services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    /// 海关
    Customs,
    /// 检验检疫 (merged into customs in 2018; kept as its own desk for quality and recalls)
    Inspection,
    /// 税务
    Tax,
    /// 市场监管
    MarketSupervision,
    /// 综试办 — the zone office
    ZoneOffice,
    /// 第三方信用服务机构
    ThirdParty,
}

impl Department {
    pub const ALL: [Department; 6] = [
        Department::Customs,
        Department::Inspection,
        Department::Tax,
        Department::MarketSupervision,
        Department::ZoneOffice,
        Department::ThirdParty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Department::Customs => "customs",
            Department::Inspection => "inspection",
            Department::Tax => "tax",
            Department::MarketSupervision => "market_supervision",
            Department::ZoneOffice => "zone_office",
            Department::ThirdParty => "third_party",
        }
    }

    pub fn parse(s: &str) -> Option<Department> {
        Department::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl fmt::Display for Department {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
