//! From what the engine emits to what the store keeps: receipts become official CEB receipt
//! messages (XML, 202205 shape, default namespace) plus their JSON equivalent, one row per
//! recipient; the engine's changes become projection rows.

use ceb::message as wire;
use domain::clearance::{Changes, ListReturn, Receipt, ReceiptBody};
use domain::money::to_fen;
use domain::time::Timestamp;
use rust_decimal::Decimal;
use store::{
    Batch, DeclarationRow, EnterpriseRow, QuotaRow, ReceiptRow, RecordRow, StateRow, TaxBillRow,
};

fn amount(d: Decimal) -> String {
    format!("{:.2}", domain::money::round_fen(d))
}

fn fen(d: Decimal) -> i64 {
    to_fen(d).unwrap_or(0)
}

/// The inventory, cancellation and return receipts (622/624/626) carry the same fields under
/// three node names.
macro_rules! list_receipt {
    ($r:expr, $node:ident, $root:ident, $field:ident) => {{
        let r: &ListReturn = $r;
        let node = wire::$node {
            guid: r.guid.clone(),
            customs_code: r.customs_code.clone(),
            ebp_code: r.ebp_code.clone(),
            ebc_code: r.ebc_code.clone(),
            agent_code: r.agent_code.clone(),
            cop_no: cop_no(r),
            pre_no: r.pre_no.clone(),
            invt_no: r.invt_no.clone(),
            return_status: r.return_status.to_string(),
            return_time: r.return_time.ceb_time17(),
            return_info: r.return_info.clone(),
        };
        let msg = wire::$root {
            guid: r.guid.clone(),
            version: "1.0".into(),
            $field: vec![node.clone()],
        };
        (msg.to_xml(), json(&node), list_key(r))
    }};
}

/// The CEB receipt message (XML), its JSON equivalent (the return node) and a business key.
pub fn render(body: &ReceiptBody) -> (String, String, String) {
    fn json<T: serde::Serialize>(node: &T) -> String {
        serde_json::to_string(node).unwrap_or_else(|_| "null".into())
    }
    match body {
        ReceiptBody::Order(r) => {
            let node = wire::OrderReturn {
                guid: r.guid.clone(),
                ebp_code: r.ebp_code.clone(),
                ebc_code: r.ebc_code.clone(),
                order_no: r.order_no.clone(),
                return_status: r.return_status.to_string(),
                return_time: r.return_time.ceb_time17(),
                return_info: r.return_info.clone(),
            };
            let key = format!("ebp={} ebc={} order={}", r.ebp_code, r.ebc_code, r.order_no);
            let msg = wire::Ceb312Message {
                guid: r.guid.clone(),
                version: "1.0".into(),
                order_return: vec![node.clone()],
            };
            (msg.to_xml(), json(&node), key)
        }
        ReceiptBody::Payment(r) => {
            let node = wire::PaymentReturn {
                guid: r.guid.clone(),
                pay_code: r.pay_code.clone(),
                pay_transaction_id: r.pay_transaction_id.clone(),
                return_status: r.return_status.to_string(),
                return_time: r.return_time.ceb_time17(),
                return_info: r.return_info.clone(),
            };
            let key = format!("pay={} transaction={}", r.pay_code, r.pay_transaction_id);
            let msg = wire::Ceb412Message {
                guid: r.guid.clone(),
                version: "1.0".into(),
                payment_return: vec![node.clone()],
            };
            (msg.to_xml(), json(&node), key)
        }
        ReceiptBody::Logistics(r) => {
            let node = wire::LogisticsReturn {
                guid: r.guid.clone(),
                logistics_code: r.logistics_code.clone(),
                logistics_no: r.logistics_no.clone(),
                return_status: r.return_status.to_string(),
                return_time: r.return_time.ceb_time17(),
                return_info: r.return_info.clone(),
            };
            let key = format!("logistics={} waybill={}", r.logistics_code, r.logistics_no);
            let msg = wire::Ceb512Message {
                guid: r.guid.clone(),
                version: "1.0".into(),
                logistics_return: vec![node.clone()],
            };
            (msg.to_xml(), json(&node), key)
        }
        ReceiptBody::LogisticsStatus(r) => {
            let node = wire::LogisticsStatusReturn {
                guid: r.guid.clone(),
                logistics_code: r.logistics_code.clone(),
                logistics_no: r.logistics_no.clone(),
                logistics_status: r.logistics_status.clone(),
                return_status: r.return_status.to_string(),
                return_time: r.return_time.ceb_time17(),
                return_info: r.return_info.clone(),
            };
            let key = format!("logistics={} waybill={}", r.logistics_code, r.logistics_no);
            let msg = wire::Ceb514Message {
                guid: r.guid.clone(),
                version: "1.0".into(),
                logistics_status_return: vec![node.clone()],
            };
            (msg.to_xml(), json(&node), key)
        }
        ReceiptBody::Inventory(r) => {
            list_receipt!(r, InventoryReturn, Ceb622Message, inventory_return)
        }
        ReceiptBody::Cancel(r) => {
            list_receipt!(r, InvtCancelReturn, Ceb624Message, invt_cancel_return)
        }
        ReceiptBody::Refund(r) => {
            list_receipt!(r, InvtRefundReturn, Ceb626Message, invt_refund_return)
        }
        ReceiptBody::Delivery(r) => {
            let node = wire::DeliveryReturn {
                guid: r.guid.clone(),
                customs_code: r.customs_code.clone(),
                operator_code: Some(r.operator_code.clone()),
                cop_no: r.cop_no.clone(),
                pre_no: r.pre_no.clone(),
                rkd_no: None,
                return_status: r.return_status.to_string(),
                return_time: r.return_time.ceb_time17(),
                return_info: r.return_info.clone(),
            };
            let key = format!(
                "operator={} pre={}",
                r.operator_code,
                r.pre_no.as_deref().unwrap_or("")
            );
            let msg = wire::Ceb712Message {
                guid: r.guid.clone(),
                version: "1.0".into(),
                delivery_return: vec![node.clone()],
            };
            (msg.to_xml(), json(&node), key)
        }
        ReceiptBody::TaxBill(t) => {
            let node = wire::Tax {
                tax_head_rd: wire::TaxHeadRd {
                    guid: t.guid.clone(),
                    return_time: t.return_time.ceb_time17(),
                    invt_no: t.invt_no.clone(),
                    tax_no: t.tax_no.clone(),
                    customs_tax: amount(t.customs_tax),
                    value_added_tax: amount(t.value_added_tax),
                    consumption_tax: amount(t.consumption_tax),
                    status: t.status.to_string(),
                    ent_duty_no: t.ent_duty_no.clone(),
                    note: t.note.clone(),
                    assure_code: t.assure_code.clone(),
                    ebc_code: t.ebc_code.clone(),
                    logistics_code: t.logistics_code.clone(),
                    agent_code: t.agent_code.clone(),
                    customs_code: t.customs_code.clone(),
                },
                tax_list_rd: t
                    .lines
                    .iter()
                    .map(|l| wire::TaxListRd {
                        gnum: l.gnum.to_string(),
                        gcode: l.gcode.clone(),
                        tax_price: amount(l.tax_price),
                        customs_tax: amount(l.customs_tax),
                        value_added_tax: amount(l.value_added_tax),
                        consumption_tax: amount(l.consumption_tax),
                    })
                    .collect(),
            };
            let key = format!("invt={} tax={}", t.invt_no, t.tax_no);
            let msg = wire::Ceb816Message {
                guid: t.guid.clone(),
                version: "1.0".into(),
                tax: vec![node.clone()],
            };
            (msg.to_xml(), json(&node), key)
        }
        ReceiptBody::TaxStatus(t) => {
            let node = wire::TaxStatus {
                tax_head_status: wire::TaxHeadStatus {
                    guid: t.guid.clone(),
                    return_time: t.return_time.ceb_time17(),
                    invt_no: t.invt_no.clone(),
                    tax_no: t.tax_no.clone(),
                    status: t.status.to_string(),
                    ent_duty_no: t.ent_duty_no.clone(),
                    assure_code: t.assure_code.clone(),
                },
            };
            let key = format!("invt={} tax={}", t.invt_no, t.tax_no);
            let msg = wire::Ceb818Message {
                guid: t.guid.clone(),
                version: "1.0".into(),
                tax: vec![node.clone()],
            };
            (msg.to_xml(), json(&node), key)
        }
    }
}

/// copNo is required in list receipts; an inventory filed without one is answered under its
/// pre-entry number.
fn cop_no(r: &ListReturn) -> String {
    r.cop_no
        .clone()
        .or_else(|| r.pre_no.clone())
        .or_else(|| r.invt_no.clone())
        .unwrap_or_default()
}

fn list_key(r: &ListReturn) -> String {
    format!(
        "ebc={} cop={} pre={} invt={}",
        r.ebc_code.as_deref().unwrap_or(""),
        r.cop_no.as_deref().unwrap_or(""),
        r.pre_no.as_deref().unwrap_or(""),
        r.invt_no.as_deref().unwrap_or("")
    )
}

/// One receipt row per recipient, each with the next receipt sequence number.
pub fn receipt_rows(receipt: &Receipt, now: Timestamp, seq: &mut i64, out: &mut Vec<ReceiptRow>) {
    let (xml, json, business_key) = render(&receipt.body);
    let message_type = receipt.body.message_type().to_string();
    let return_status = receipt.body.return_status().to_string();
    for recipient in &receipt.recipients {
        *seq += 1;
        out.push(ReceiptRow {
            seq: *seq,
            recipient: recipient.clone(),
            message_type: message_type.clone(),
            declaration_id: receipt.declaration.as_ref().map(|d| d.0.clone()),
            business_key: business_key.clone(),
            return_status: return_status.clone(),
            created_at_ms: now.0,
            xml: xml.clone(),
            json: json.clone(),
        });
    }
}

/// Everything the engine changed, as projection rows of the batch.
pub fn changes_into_batch(changes: Changes, batch: &mut Batch) {
    batch
        .records
        .extend(changes.records.into_iter().map(|r| RecordRow {
            kind: r.kind.to_string(),
            key: r.key,
            party: r.party,
            status: r.status,
            updated_at_ms: r.updated_at.0,
            body: r.body,
        }));
    batch.state.extend(
        changes
            .state
            .into_iter()
            .map(|(namespace, key, value)| StateRow {
                namespace,
                key,
                value,
            }),
    );
    batch
        .declarations
        .extend(changes.declarations.into_iter().map(|d| DeclarationRow {
            id: d.id.0,
            ebp_code: d.ebp_code,
            ebc_code: d.ebc_code,
            order_no: d.order_no,
            agent_code: d.agent_code,
            logistics_code: d.logistics_code,
            logistics_no: d.logistics_no,
            pay_code: d.pay_code,
            cop_no: d.cop_no,
            pre_no: d.pre_no,
            invt_no: d.invt_no,
            documents: d.documents.join(","),
            status: d.status,
            status_info: d.status_info,
            buyer_key: d.buyer_key.map(|k| k.0),
            value_minor: fen(d.value),
            tax_minor: fen(d.tax),
            created_at_ms: d.created_at.0,
            updated_at_ms: d.updated_at.0,
            released_at_ms: d.released_at.map(|t| t.0),
        }));
    batch.quotas.extend(
        changes
            .quotas
            .into_iter()
            .map(|(buyer, year, used)| QuotaRow {
                buyer_key: buyer.0,
                year,
                used_minor: fen(used),
            }),
    );
    batch
        .tax_bills
        .extend(changes.tax_bills.into_iter().map(|t| TaxBillRow {
            invt_no: t.invt_no,
            tax_no: t.tax_no,
            declaration_id: t.declaration.0,
            ebc_code: t.ebc_code,
            agent_code: t.agent_code,
            customs_tax_minor: fen(t.customs_tax),
            vat_minor: fen(t.vat),
            consumption_tax_minor: fen(t.consumption_tax),
            status: t.status,
            levy_state: t.levy_state.code().to_string(),
            released_at_ms: t.released_at.0,
            due_from: t.due_from.yyyymmdd(),
            due_until: t.due_until.yyyymmdd(),
        }));
    batch
        .enterprises
        .extend(changes.enterprises.into_iter().map(|e| {
            EnterpriseRow {
                roles: e
                    .roles
                    .iter()
                    .map(|r| r.code())
                    .collect::<Vec<_>>()
                    .join(","),
                code: e.code,
                name: e.name,
                dxp_id: e.dxp_id,
                filed_at_ms: e.filed_at.0,
                active: e.active,
                park: e.park,
            }
        }));
    stats_into_batch(changes.statistics, batch);
}

/// The engine's statistical deltas as store cells, keys and values in the store's column order
/// (the domain's dimension and measure names are the store's; a test keeps them in step).
pub fn stats_into_batch(deltas: domain::statistics::StatDeltas, batch: &mut Batch) {
    use store::{StatCell, StatTable};
    let owned = |keys: &[&str]| keys.iter().map(|k| (*k).to_string()).collect::<Vec<_>>();
    for (cell, m) in deltas.lists {
        batch.stats.push(StatCell {
            table: StatTable::Lists,
            day: cell.day,
            keys: owned(&cell.keys()),
            values: m.values(),
        });
    }
    for (cell, m) in deltas.goods {
        batch.stats.push(StatCell {
            table: StatTable::Goods,
            day: cell.day,
            keys: owned(&cell.keys()),
            values: m.values(),
        });
    }
    for (cell, n) in deltas.clearance {
        batch.stats.push(StatCell {
            table: StatTable::Clearance,
            day: cell.day,
            keys: owned(&cell.keys()),
            values: vec![n],
        });
    }
    for (cell, n) in deltas.rejections {
        batch.stats.push(StatCell {
            table: StatTable::Rejections,
            day: cell.day,
            keys: owned(&cell.keys()),
            values: vec![n],
        });
    }
}

#[cfg(test)]
mod tests {
    use domain::statistics::facts::{
        ClearanceCell, GoodsCell, GoodsMeasures, ListCell, ListMeasures, RejectionCell,
    };
    use store::StatTable;

    /// The domain names its dimensions and measures as the store's columns, in the same order.
    #[test]
    fn domain_and_store_agree_on_the_statistics_columns() {
        let names = |t: StatTable| t.dims().iter().map(|d| d.name()).collect::<Vec<_>>();
        assert_eq!(names(StatTable::Lists), ListCell::DIMS);
        assert_eq!(names(StatTable::Goods), GoodsCell::DIMS);
        assert_eq!(names(StatTable::Clearance), ClearanceCell::DIMS);
        assert_eq!(names(StatTable::Rejections), RejectionCell::DIMS);
        assert_eq!(StatTable::Lists.measures(), ListMeasures::NAMES);
        assert_eq!(StatTable::Goods.measures(), GoodsMeasures::NAMES);
        assert_eq!(StatTable::Clearance.measures(), ClearanceCell::MEASURES);
        assert_eq!(StatTable::Rejections.measures(), RejectionCell::MEASURES);
    }
}
