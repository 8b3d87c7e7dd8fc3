//! The demo enterprise registry: who may send what. All enterprises are fictitious and marked
//! "(测试)" so that no demo data can be mistaken for a real filing.

/// 企业备案 — one filed enterprise of the demo zone and the roles it filed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DemoEnterprise {
    /// Customs registration code (10 characters).
    pub code: &'static str,
    pub name: &'static str,
    /// Any of `ebp`, `ebc`, `payment`, `logistics`, `agent`, `guarantor`, `bonded`.
    pub roles: &'static [&'static str],
    /// DXP user id issued by the e-port data centre; the sender of the DXP envelope.
    pub dxp_id: &'static str,
    /// The park (园区) of the demo zone it belongs to, `""` for none (docs/registry.md).
    pub park: &'static str,
}

impl DemoEnterprise {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(&role)
    }
}

pub(crate) const PLATFORMS: [usize; 2] = [0, 1];
pub(crate) const SELLERS: [usize; 4] = [2, 3, 4, 5];
pub(crate) const PAYMENTS: [usize; 2] = [6, 7];
pub(crate) const LOGISTICS: [usize; 2] = [8, 9];
pub(crate) const AGENTS: [usize; 2] = [10, 11];
/// The seller that also runs its own platform (its index in `REGISTRY`).
pub(crate) const SELF_PLATFORM_SELLER: usize = 5;

/// An ebc code that is deliberately absent from the registry (the `UnfiledEnterprise` case).
pub const UNFILED_EBC_CODE: &str = "3301960ZZZ";
pub(crate) const UNFILED_EBC_NAME: &str = "未备案样例商贸有限公司(测试)";

/// The seller of the [`crate::Scheme::UndervaluingSeller`] scheme: filed like any other
/// seller, but never drawn for honest traffic, so every declaration that names it is one of
/// its undervalued ones.
pub const UNDERVALUING_SELLER_CODE: &str = "3301960BAZ";
/// Its index in `REGISTRY`.
pub(crate) const UNDERVALUING_SELLER: usize = 12;

static REGISTRY: [DemoEnterprise; 13] = [
    DemoEnterprise {
        code: "3301960AAA",
        name: "杭州测试跨境电商平台有限公司(测试)",
        roles: &["ebp"],
        dxp_id: "DXPENT0000000001",
        park: "",
    },
    DemoEnterprise {
        code: "3301960AAB",
        name: "样例全球购网络科技有限公司(测试)",
        roles: &["ebp"],
        dxp_id: "DXPENT0000000002",
        park: "",
    },
    DemoEnterprise {
        code: "3301960BAA",
        name: "测试美妆海外旗舰店有限公司(测试)",
        roles: &["ebc", "guarantor"],
        dxp_id: "DXPENT0000000003",
        park: "HZ-XS",
    },
    DemoEnterprise {
        code: "3301960BAB",
        name: "样例母婴进口贸易有限公司(测试)",
        roles: &["ebc", "guarantor"],
        dxp_id: "DXPENT0000000004",
        park: "HZ-KG",
    },
    DemoEnterprise {
        code: "3301960BAC",
        name: "测试环球优选商贸有限公司(测试)",
        roles: &["ebc", "guarantor"],
        dxp_id: "DXPENT0000000005",
        park: "HZ-XC",
    },
    DemoEnterprise {
        code: "3301960BAD",
        name: "样例海淘自营电子商务有限公司(测试)",
        roles: &["ebc", "ebp", "guarantor"],
        dxp_id: "DXPENT0000000006",
        park: "HZ-XS",
    },
    DemoEnterprise {
        code: "3301960CAA",
        name: "测试跨境支付服务有限公司(测试)",
        roles: &["payment"],
        dxp_id: "DXPENT0000000007",
        park: "",
    },
    DemoEnterprise {
        code: "3301960CAB",
        name: "样例网络支付有限公司(测试)",
        roles: &["payment"],
        dxp_id: "DXPENT0000000008",
        park: "",
    },
    DemoEnterprise {
        code: "3301960DAA",
        name: "测试国际快递有限公司(测试)",
        roles: &["logistics"],
        dxp_id: "DXPENT0000000009",
        park: "HZ-KG",
    },
    DemoEnterprise {
        code: "3301960DAB",
        name: "样例供应链物流有限公司(测试)",
        roles: &["logistics"],
        dxp_id: "DXPENT0000000010",
        park: "",
    },
    DemoEnterprise {
        code: "3301960EAA",
        name: "测试报关代理有限公司(测试)",
        roles: &["agent"],
        dxp_id: "DXPENT0000000011",
        park: "",
    },
    DemoEnterprise {
        code: "3301960EAB",
        name: "样例保税仓储报关有限公司(测试)",
        roles: &["agent", "bonded"],
        dxp_id: "DXPENT0000000012",
        park: "HZ-KG",
    },
    DemoEnterprise {
        code: UNDERVALUING_SELLER_CODE,
        name: "样例低价特卖商贸有限公司(测试)",
        roles: &["ebc", "guarantor"],
        dxp_id: "DXPENT0000000013",
        park: "HZ-KG",
    },
];

/// The enterprises the demo traffic is sent by and names; load them before streaming traffic.
pub fn demo_registry() -> &'static [DemoEnterprise] {
    &REGISTRY
}

pub(crate) fn ent(i: usize) -> &'static DemoEnterprise {
    // Indices are the constants above, all < REGISTRY.len(); `get` keeps this panic-free anyway.
    REGISTRY.get(i).unwrap_or(&REGISTRY[0])
}

/// 委托 / 入驻 — whom a demo enterprise has entrusted or admitted (the registry's `entrusts`
/// column): every seller its platforms and declaring agents, every platform the payment
/// institutions it works with. The demo zone's traffic names nobody without consent.
pub fn demo_entrusts(e: &DemoEnterprise) -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|other| other.code != e.code)
        .filter(|other| {
            (e.has_role("ebc") && (other.has_role("ebp") || other.has_role("agent")))
                || (e.has_role("ebp") && other.has_role("payment"))
        })
        .map(|other| other.code)
        .collect()
}

/// The registry as the documented CSV: header `code,name,roles,dxp_id,filed_on,park,entrusts`,
/// roles and entrusted enterprises joined by `|`, fields quoted (RFC 4180) when they contain a
/// comma, a quote or a line break.
/// When the demo zone's established enterprises were filed.
const ESTABLISHED_ON: &str = "2021-06-01";

pub fn registry_csv() -> String {
    let mut out = String::from("code,name,roles,dxp_id,filed_on,park,entrusts\n");
    for e in &REGISTRY {
        csv_field(&mut out, e.code);
        out.push(',');
        csv_field(&mut out, e.name);
        out.push(',');
        csv_field(&mut out, &e.roles.join("|"));
        out.push(',');
        csv_field(&mut out, e.dxp_id);
        out.push(',');
        // The demo zone's enterprises have traded for years; the undervaluing seller is new
        // (empty: filed when the registry is loaded).
        if e.code != crate::UNDERVALUING_SELLER_CODE {
            out.push_str(ESTABLISHED_ON);
        }
        out.push(',');
        csv_field(&mut out, e.park);
        out.push(',');
        csv_field(&mut out, &demo_entrusts(e).join("|"));
        out.push('\n');
    }
    out
}

/// Appends one CSV field, quoting it only when needed.
pub fn csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}
