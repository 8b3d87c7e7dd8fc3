//! 企业备案 — enterprise filing: an enterprise files once, with the roles it plays, and every check of
//! every message uses that one filing ("一次备案、多主体共享、全流程使用").

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// The part an enterprise plays in a declaration, which decides what it may declare
/// (docs/registry.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// 电商平台 (ebp) — operates the marketplace; declares CEB311 orders.
    Platform,
    /// 电商企业 (ebc) — sells; declares CEB311 orders and may declare CEB621 inventories.
    Seller,
    /// 支付企业 — declares CEB411 payments.
    Payment,
    /// 物流企业 — declares CEB511 waybills and CEB513 status.
    Logistics,
    /// 申报企业 / 代理 — declaring agent; declares CEB621/623/625.
    Agent,
    /// 担保企业 — lodges the tax guarantee for withheld tax.
    Guarantor,
    /// 区内企业 / 场所经营人 — bonded-warehouse or site operator; declares CEB711.
    BondedOperator,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Platform,
        Role::Seller,
        Role::Payment,
        Role::Logistics,
        Role::Agent,
        Role::Guarantor,
        Role::BondedOperator,
    ];

    /// The stable code used in CSV files, the API and storage.
    pub fn code(self) -> &'static str {
        match self {
            Role::Platform => "ebp",
            Role::Seller => "ebc",
            Role::Payment => "payment",
            Role::Logistics => "logistics",
            Role::Agent => "agent",
            Role::Guarantor => "guarantor",
            Role::BondedOperator => "bonded",
        }
    }

    /// Inverse of [`Role::code`], case-insensitive, surrounding spaces ignored.
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(s))
    }
}

/// One filed enterprise. `code` is its customs registration code (海关注册编码, 10 characters in
/// practice) or unified social credit code (18); `dxp_id` its data-exchange node, if it sends directly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enterprise {
    pub code: String,
    pub name: String,
    pub roles: BTreeSet<Role>,
    pub dxp_id: Option<String>,
    pub filed_at: Timestamp,
    pub active: bool,
    /// 园区 — the code of the zone's park (一区多园) the enterprise belongs to, if any; statistics
    /// by park use the e-commerce enterprise's park at release time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub park: Option<String>,
    /// 委托 / 入驻 — the enterprises this one has entrusted or admitted in its filing (the
    /// registry's `entrusts` column): they and it may name each other in declarations. Filing
    /// them files accepted entrustments ([`crate::entrustment`]); they are revoked there.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub entrusts: BTreeSet<String>,
}

/// Why a filing or a check failed. `line` is 1-based and counts the header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("enterprise {code} is not filed")]
    Unfiled { code: String },
    #[error("enterprise {code} is not filed for role {}", role.code())]
    WrongRole { code: String, role: Role },
    #[error("enterprise {code} is filed but not active")]
    Inactive { code: String },
    #[error("invalid enterprise code {code:?}: 1 to 18 characters of 0-9 and A-Z")]
    InvalidCode { code: String },
    #[error("enterprise {code}: name is empty or longer than 100 characters")]
    InvalidName { code: String },
    #[error("enterprise {code}: at least one role is required")]
    NoRoles { code: String },
    #[error("enterprise {code}: park code {park:?} must be 1 to 16 characters of 0-9, A-Z and -")]
    InvalidPark { code: String, park: String },
    #[error(
        "enterprise {code}: entrusted enterprise {partner:?} is not another valid enterprise code"
    )]
    InvalidEntrustment { code: String, partner: String },
    #[error("registry CSV line {line}: {reason}")]
    Csv { line: usize, reason: String },
}

/// Every filed enterprise by code. Serializable so the store can snapshot it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Registry {
    enterprises: BTreeMap<String, Enterprise>,
}

/// An enterprise code: 1 to 18 characters of `0-9` and `A-Z`.
pub fn valid_code(code: &str) -> bool {
    (1..=18).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

fn validate(e: &Enterprise) -> Result<(), RegistryError> {
    if !valid_code(&e.code) {
        return Err(RegistryError::InvalidCode {
            code: e.code.clone(),
        });
    }
    let name = e.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(RegistryError::InvalidName {
            code: e.code.clone(),
        });
    }
    if e.roles.is_empty() {
        return Err(RegistryError::NoRoles {
            code: e.code.clone(),
        });
    }
    if let Some(park) = &e.park
        && !valid_park(park)
    {
        return Err(RegistryError::InvalidPark {
            code: e.code.clone(),
            park: park.clone(),
        });
    }
    if let Some(partner) = e.entrusts.iter().find(|p| !valid_code(p) || **p == e.code) {
        return Err(RegistryError::InvalidEntrustment {
            code: e.code.clone(),
            partner: partner.clone(),
        });
    }
    Ok(())
}

/// A park code: 1 to 16 characters of `0-9`, `A-Z` and `-`.
pub fn valid_park(park: &str) -> bool {
    (1..=16).contains(&park.len())
        && park
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'-')
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Files an enterprise, or re-files it: the same code replaces the earlier filing (roles, name,
    /// status), which is how roles are added or an enterprise is deactivated.
    pub fn file(&mut self, e: Enterprise) -> Result<(), RegistryError> {
        validate(&e)?;
        self.enterprises.insert(e.code.clone(), e);
        Ok(())
    }

    pub fn get(&self, code: &str) -> Option<&Enterprise> {
        self.enterprises.get(code)
    }

    /// The one check every message goes through: the sender or party is filed, active, and filed
    /// for the role it acts in. Unfiled wins over inactive, inactive over wrong role.
    pub fn check(&self, code: &str, role: Role) -> Result<&Enterprise, RegistryError> {
        let e = self
            .enterprises
            .get(code)
            .ok_or_else(|| RegistryError::Unfiled {
                code: code.to_string(),
            })?;
        if !e.active {
            return Err(RegistryError::Inactive {
                code: code.to_string(),
            });
        }
        if !e.roles.contains(&role) {
            return Err(RegistryError::WrongRole {
                code: code.to_string(),
                role,
            });
        }
        Ok(e)
    }

    /// Whether `code` is filed, active and holds any one of `roles` (e.g. CEB621 may come from an
    /// agent or the seller itself).
    pub fn check_any(&self, code: &str, roles: &[Role]) -> Result<&Enterprise, RegistryError> {
        let mut last = None;
        for r in roles {
            match self.check(code, *r) {
                Ok(e) => return Ok(e),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| RegistryError::Unfiled {
            code: code.to_string(),
        }))
    }

    /// In code order.
    pub fn all(&self) -> impl Iterator<Item = &Enterprise> {
        self.enterprises.values()
    }

    pub fn len(&self) -> usize {
        self.enterprises.len()
    }

    pub fn is_empty(&self) -> bool {
        self.enterprises.is_empty()
    }
}

/// Splits one CSV record (RFC 4180 quoting: `"a, b"`, `""` inside quotes). Records do not span lines.
pub(crate) fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' {
            if was_quoted || !cur.trim().is_empty() {
                return Err("a quote may only open a field".to_string());
            }
            cur.clear();
            in_quotes = true;
            was_quoted = true;
        } else if c == ',' {
            fields.push(std::mem::take(&mut cur));
            was_quoted = false;
        } else if was_quoted {
            if !c.is_whitespace() {
                return Err("text after a closing quote".to_string());
            }
        } else {
            cur.push(c);
        }
    }
    if in_quotes {
        return Err("unterminated quoted field".to_string());
    }
    fields.push(cur);
    Ok(fields)
}

/// Iterates the non-blank, non-comment (`#`) lines of a CSV text with 1-based line numbers, a UTF-8
/// BOM and `\r` removed.
pub(crate) fn csv_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
}

/// Parses the registry CSV of docs/registry.md: header `code,name,roles,dxp_id,filed_on,park`
/// (columns in that order, the last three optional), roles separated by `|`. Every row is filed
/// active at `filed_at`. Errors name the line.
pub fn parse_registry_csv(
    text: &str,
    filed_at: Timestamp,
) -> Result<Vec<Enterprise>, RegistryError> {
    let mut lines = csv_lines(text);
    let (hline, header) = lines.next().ok_or(RegistryError::Csv {
        line: 1,
        reason: "empty file: expected header code,name,roles,dxp_id".to_string(),
    })?;
    let cols = split_csv_line(header).map_err(|reason| RegistryError::Csv {
        line: hline,
        reason,
    })?;
    let cols: Vec<String> = cols.iter().map(|c| c.trim().to_ascii_lowercase()).collect();
    if cols.len() < 3
        || cols.first().map(String::as_str) != Some("code")
        || cols.get(1).map(String::as_str) != Some("name")
        || cols.get(2).map(String::as_str) != Some("roles")
        || cols.get(3).is_some_and(|c| c != "dxp_id")
        || cols.get(4).is_some_and(|c| c != "filed_on")
        || cols.get(5).is_some_and(|c| c != "park")
        || cols.get(6).is_some_and(|c| c != "entrusts")
        || cols.len() > 7
    {
        return Err(RegistryError::Csv {
            line: hline,
            reason: format!(
                "header must be code,name,roles,dxp_id[,filed_on[,park[,entrusts]]], found {}",
                cols.join(",")
            ),
        });
    }
    let mut out: Vec<Enterprise> = Vec::new();
    let mut seen = BTreeSet::new();
    for (line, l) in lines {
        let err = |reason: String| RegistryError::Csv { line, reason };
        let f = split_csv_line(l).map_err(err)?;
        if f.len() < 3 || f.len() > cols.len() {
            return Err(err(format!(
                "expected {} fields, found {}",
                cols.len(),
                f.len()
            )));
        }
        let get = |i: usize| f.get(i).map(|s| s.trim()).unwrap_or("");
        let code = get(0).to_string();
        let mut roles = BTreeSet::new();
        for r in get(2).split('|').filter(|r| !r.trim().is_empty()) {
            let role = Role::parse(r).ok_or_else(|| {
                err(format!(
                    "unknown role {:?} (expected ebp, ebc, payment, logistics, agent, guarantor, bonded)",
                    r.trim()
                ))
            })?;
            roles.insert(role);
        }
        let dxp = get(3);
        // An earlier filing carried over from another system keeps its date (the risk rules
        // treat recently filed enterprises differently); without one, the filing is now.
        let filed_at = match get(4) {
            "" => filed_at,
            d => crate::time::CivilDate::parse_yyyymmdd(&d.replace('-', ""))
                .map(|c| c.beijing_midnight())
                .filter(|t| t.0 <= filed_at.0)
                .ok_or_else(|| {
                    err(format!(
                        "filed_on {d:?} is not a date (YYYY-MM-DD) on or before today"
                    ))
                })?,
        };
        let e = Enterprise {
            code: code.clone(),
            name: get(1).to_string(),
            roles,
            dxp_id: (!dxp.is_empty()).then(|| dxp.to_string()),
            filed_at,
            active: true,
            park: Some(get(5).to_string()).filter(|p| !p.is_empty()),
            entrusts: get(6)
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        validate(&e).map_err(|v| err(v.to_string()))?;
        if !seen.insert(code.clone()) {
            return Err(err(format!("enterprise {code} appears twice")));
        }
        out.push(e);
    }
    Ok(out)
}
