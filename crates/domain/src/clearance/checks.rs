//! Checks one document can pass or fail on its own, on arrival: filing of the sender and of every
//! enterprise the message names (企业备案), and content rules A1–A9, M9 and the tariff.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::catalogue::{ErrorCode, Rejection};
use super::model::{Inventory, Order, Payment, Waybill};
use crate::money::round_fen;
use crate::personal;
use crate::registry::{Registry, RegistryError, Role};
use crate::tariff::Tariff;

pub(crate) type Check = Result<(), Rejection>;

fn fail(code: ErrorCode, detail: impl Into<String>) -> Check {
    Err(Rejection::with(code, detail))
}

/// The sender must be filed, active, and hold one of `roles`; it must also be one of `named`
/// (the enterprises the message names for those roles), so nobody declares in another's name.
pub(crate) fn sender(registry: &Registry, sender: &str, roles: &[Role], named: &[&str]) -> Check {
    let Some(e) = registry.get(sender) else {
        return fail(ErrorCode::UnknownEnterprise, format!("sender={sender}"));
    };
    if !e.active {
        return fail(ErrorCode::EnterpriseInactive, format!("sender={sender}"));
    }
    if !roles.iter().any(|r| e.roles.contains(r)) {
        return fail(ErrorCode::UnknownEnterpriseType, format!("sender={sender}"));
    }
    if !named.contains(&sender) {
        return fail(ErrorCode::SenderNotNamed, format!("sender={sender}"));
    }
    Ok(())
}

/// Every enterprise the message names must be filed with the role it plays there.
pub(crate) fn named(registry: &Registry, parties: &[(&str, &str, Role)]) -> Check {
    for (field, code, role) in parties {
        if let Err(e) = registry.check(code, *role) {
            let code_of = match e {
                RegistryError::WrongRole { .. } => ErrorCode::UnknownEnterpriseType,
                RegistryError::Inactive { .. } => ErrorCode::EnterpriseInactive,
                _ => ErrorCode::UnknownEnterprise,
            };
            return fail(code_of, format!("{field}={code}"));
        }
    }
    Ok(())
}

pub(crate) fn within(a: Decimal, b: Decimal, tolerance: Decimal) -> bool {
    (a - b).abs() <= tolerance
}

fn same_fen(a: Decimal, b: Decimal) -> bool {
    round_fen(a) == round_fen(b)
}

fn present(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// gnum continuous from 1 without duplicates (A7).
fn gnums_continuous(gnums: impl Iterator<Item = u32>) -> bool {
    let list: Vec<u32> = gnums.collect();
    let set: BTreeSet<u32> = list.iter().copied().collect();
    set.len() == list.len()
        && set
            .iter()
            .copied()
            .eq(1..=u32::try_from(list.len()).unwrap_or(0))
}

/// A redacted ID number (retention purge) passes or fails as the clear one did.
fn id_number(s: &str, field: &str) -> Check {
    if personal::id_number_valid(s) {
        Ok(())
    } else {
        fail(ErrorCode::M9BuyerId, field)
    }
}

pub(crate) fn order(o: &Order, tolerance: Decimal) -> Check {
    if o.currency != "142" || o.lines.iter().any(|l| l.currency != "142") {
        return fail(ErrorCode::A4Codes, "currency");
    }
    if o.buyer_id_type != "1" {
        return fail(ErrorCode::A4Codes, "buyerIdType");
    }
    if o.lines.is_empty() || !gnums_continuous(o.lines.iter().map(|l| l.gnum)) {
        return fail(ErrorCode::OrderGnumDuplicate, "gnum");
    }
    for l in &o.lines {
        if !same_fen(l.price * l.qty, l.total_price) {
            return fail(ErrorCode::A2LineTotal, format!("gnum={}", l.gnum));
        }
    }
    let sum: Decimal = o.lines.iter().map(|l| l.total_price).sum();
    if !same_fen(sum, o.goods_value) {
        return fail(ErrorCode::A3GoodsValue, "goodsValue");
    }
    let expected = o.goods_value + o.freight + o.tax_total - o.discount;
    if !within(o.actural_paid, expected, tolerance) {
        return fail(ErrorCode::A1ActuralPaid, "acturalPaid");
    }
    id_number(&o.buyer_id_number, "buyerIdNumber")
}

pub(crate) fn payment(p: &Payment) -> Check {
    if p.currency != "142" {
        return fail(ErrorCode::A4Codes, "currency");
    }
    if p.payer_id_type != "1" {
        return fail(ErrorCode::A4Codes, "payerIdType");
    }
    id_number(&p.payer_id_number, "payerIdNumber")
}

pub(crate) fn waybill(w: &Waybill) -> Check {
    if w.currency != "142" {
        return fail(ErrorCode::A4Codes, "currency");
    }
    if w.pack_no != 1 {
        return fail(ErrorCode::A4Codes, "packNo");
    }
    Ok(())
}

pub(crate) fn inventory(i: &Inventory, tariff: &Tariff, enforce_bonded_only: bool) -> Check {
    if i.currency != "142" || i.lines.iter().any(|l| l.currency != "142") {
        return fail(ErrorCode::A4Codes, "currency");
    }
    if i.buyer_id_type != "1" {
        return fail(ErrorCode::A4Codes, "buyerIdType");
    }
    if i.pack_no != 1 {
        return fail(ErrorCode::A4Codes, "packNo");
    }
    let zero = Decimal::ZERO;
    if i.lines.is_empty()
        || i.gross_weight <= zero
        || i.net_weight <= zero
        || i.net_weight > i.gross_weight
        || i.lines
            .iter()
            .any(|l| l.price <= zero || l.total_price <= zero)
    {
        return fail(ErrorCode::A5Inventory, "");
    }
    if !gnums_continuous(i.lines.iter().map(|l| l.gnum)) {
        return fail(ErrorCode::A7InventoryGnum, "");
    }
    for l in &i.lines {
        if !same_fen(l.price * l.qty, l.total_price) {
            return fail(ErrorCode::A2LineTotal, format!("gnum={}", l.gnum));
        }
        let unit2_set = present(&l.unit2);
        let qty_ok = (l.unit1 != l.unit || l.qty1 == l.qty)
            && match (unit2_set, l.qty2) {
                (true, Some(q)) => q > zero,
                (true, None) => false,
                (false, q) => q.is_none(),
            };
        if !qty_ok {
            return fail(ErrorCode::A6Quantities, format!("gnum={}", l.gnum));
        }
    }
    let mode_ok = match i.trade_mode.as_str() {
        "1210" => {
            present(&i.ems_no)
                && present(&i.area_code)
                && present(&i.area_name)
                && i.lines.iter().all(|l| present(&l.item_record_no))
                && i.country == "142"
                && !present(&i.traf_no)
                && !present(&i.voyage_no)
                && !present(&i.bill_no)
        }
        "9610" => present(&i.traf_no) && present(&i.voyage_no) && present(&i.bill_no),
        _ => false,
    };
    if !mode_ok {
        return fail(
            ErrorCode::A8TradeMode,
            format!("tradeMode={}", i.trade_mode),
        );
    }
    if ![&i.ebp_code, &i.ebc_code, &i.logistics_code].contains(&&i.assure_code) {
        return fail(ErrorCode::A9AssureCode, "");
    }
    id_number(&i.buyer_id_number, "buyerIdNumber")?;
    for l in &i.lines {
        let Some(t) = tariff.lookup(&l.gcode) else {
            return fail(
                ErrorCode::HsUnknown,
                format!("gnum={} gcode={}", l.gnum, l.gcode),
            );
        };
        if !t.positive_list {
            return fail(
                ErrorCode::HsNotPositiveList,
                format!("gnum={} gcode={}", l.gnum, l.gcode),
            );
        }
        if enforce_bonded_only && t.bonded_only && i.trade_mode == "9610" {
            return fail(
                ErrorCode::HsBondedOnly,
                format!("gnum={} gcode={}", l.gnum, l.gcode),
            );
        }
    }
    Ok(())
}
