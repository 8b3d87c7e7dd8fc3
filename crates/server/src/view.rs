//! JSON views of stored rows for the API. Amounts are strings with two decimals (CNY, fen exact);
//! no view carries a buyer's name, ID number or phone.

use domain::money::from_fen;
use domain::time::CivilDate;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use store::{DeclarationRow, EnterpriseRow, ReceiptRow, TaxBillRow};

pub fn money(d: Decimal) -> String {
    format!("{:.2}", domain::money::round_fen(d))
}

fn fen(minor: i64) -> String {
    money(from_fen(minor))
}

pub fn receipt_json(row: &ReceiptRow) -> Value {
    let receipt: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
    json!({
        "seq": row.seq,
        "messageType": row.message_type,
        "recipient": row.recipient,
        "declarationId": row.declaration_id,
        "businessKey": row.business_key,
        "returnStatus": row.return_status,
        "createdAtMs": row.created_at_ms,
        "receipt": receipt,
        "xml": row.xml,
    })
}

/// Words for a CEB622 returnStatus (ceb-spec.md §4).
pub fn status_name(status: i32) -> &'static str {
    match status {
        0 => "waiting for the inventory",
        1 => "saved",
        2 => "accepted, waiting for documents",
        100 => "rejected",
        120 => "logic check passed",
        300 => "document review",
        399 => "decided",
        500 => "inspection",
        800 => "released",
        899 => "closed",
        _ => "other",
    }
}

pub fn declaration_json(row: &DeclarationRow) -> Value {
    json!({
        "id": row.id,
        "ebpCode": row.ebp_code,
        "ebcCode": row.ebc_code,
        "orderNo": row.order_no,
        "agentCode": row.agent_code,
        "logisticsCode": row.logistics_code,
        "logisticsNo": row.logistics_no,
        "payCode": row.pay_code,
        "copNo": row.cop_no,
        "preNo": row.pre_no,
        "invtNo": row.invt_no,
        "documents": row.documents.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "status": row.status,
        "statusName": status_name(row.status),
        "statusInfo": row.status_info,
        "dutiablePrice": fen(row.value_minor),
        "tax": fen(row.tax_minor),
        "createdAtMs": row.created_at_ms,
        "updatedAtMs": row.updated_at_ms,
        "releasedAtMs": row.released_at_ms,
    })
}

/// The levy state as of `today`: a bill still `pending` becomes `due` from day 31 after release
/// and `overdue` after day 45 (rules.md §1.9). The stored state only changes on events.
pub fn levy_state(row: &TaxBillRow, today: CivilDate) -> String {
    if row.levy_state != "pending" {
        return row.levy_state.clone();
    }
    let from = CivilDate::parse_yyyymmdd(&row.due_from);
    let until = CivilDate::parse_yyyymmdd(&row.due_until);
    match (from, until) {
        (_, Some(until)) if today > until => "overdue".into(),
        (Some(from), _) if today >= from => "due".into(),
        _ => "pending".into(),
    }
}

pub fn tax_bill_json(row: &TaxBillRow, today: CivilDate) -> Value {
    let total = row.customs_tax_minor + row.vat_minor + row.consumption_tax_minor;
    json!({
        "invtNo": row.invt_no,
        "taxNo": row.tax_no,
        "declarationId": row.declaration_id,
        "ebcCode": row.ebc_code,
        "agentCode": row.agent_code,
        "customsTax": fen(row.customs_tax_minor),
        "valueAddedTax": fen(row.vat_minor),
        "consumptionTax": fen(row.consumption_tax_minor),
        "total": fen(total),
        "status": row.status,
        "levyState": levy_state(row, today),
        "releasedAtMs": row.released_at_ms,
        "dueFrom": row.due_from,
        "dueUntil": row.due_until,
    })
}

pub fn enterprise_json(row: &EnterpriseRow) -> Value {
    json!({
        "code": row.code,
        "name": row.name,
        "roles": row.roles.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "dxpId": row.dxp_id,
        "filedAtMs": row.filed_at_ms,
        "active": row.active,
        "park": row.park,
    })
}
