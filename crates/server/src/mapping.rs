//! The wire structs of `ceb` (every value a string, as sent) mapped to the typed documents of the
//! domain (amounts as `Decimal`, times as `Timestamp`, line numbers as integers). The schema has
//! already checked the digits; what it cannot check — a 14-character `appTime` that is no real
//! time, a `gnum` beyond range — comes back as issues, and the message is refused at the door
//! like any other format error, so the journal only ever holds messages that map.

use ceb::Issue;
use ceb::message as wire;
use domain::clearance::{
    Cancel, Delivery, DeliveryLine, Document, Inventory, InventoryLine, Order, OrderLine, Payment,
    Refund, RefundLine, Waybill, WaybillStatus,
};
use domain::money::parse_amount;
use domain::time::{Timestamp, parse_ceb_time14};
use rust_decimal::Decimal;

/// The cancellation (CEB623) and return (CEB625) heads carry the same fields.
macro_rules! withdrawal {
    ($ty:ident, $c:expr, $x:expr, { $($extra:ident : $value:expr),* }) => {{
        let x = $x;
        $ty {
            guid: x.guid.clone(),
            app_type: x.app_type.clone(),
            app_time: $c.time("appTime", &x.app_time),
            app_status: x.app_status.clone(),
            customs_code: x.customs_code.clone(),
            order_no: x.order_no.clone(),
            ebp_code: x.ebp_code.clone(),
            ebp_name: x.ebp_name.clone(),
            ebc_code: x.ebc_code.clone(),
            ebc_name: x.ebc_name.clone(),
            logistics_no: x.logistics_no.clone(),
            logistics_code: x.logistics_code.clone(),
            logistics_name: x.logistics_name.clone(),
            cop_no: x.cop_no.clone(),
            pre_no: x.pre_no.clone(),
            invt_no: x.invt_no.clone(),
            buyer_id_type: x.buyer_id_type.clone(),
            buyer_id_number: x.buyer_id_number.clone(),
            buyer_name: x.buyer_name.clone(),
            buyer_telephone: x.buyer_telephone.clone(),
            agent_code: x.agent_code.clone(),
            agent_name: x.agent_name.clone(),
            reason: x.reason.clone(),
            note: x.note.clone(),
            $($extra: $value,)*
        }
    }};
}

/// Collects conversion issues with the element path they belong to.
struct Conv {
    issues: Vec<Issue>,
    path: String,
}

impl Conv {
    fn at(&mut self, path: String) -> &mut Self {
        self.path = path;
        self
    }

    fn fail(&mut self, field: &str, rule: &str, detail: String) {
        self.issues
            .push(Issue::new(format!("{}/{field}", self.path), rule, detail));
    }

    fn dec(&mut self, field: &str, value: &str) -> Decimal {
        parse_amount(value.trim()).unwrap_or_else(|| {
            self.fail(
                field,
                "decimal",
                format!("'{value}' is not a decimal amount"),
            );
            Decimal::ZERO
        })
    }

    fn opt_dec(&mut self, field: &str, value: &Option<String>) -> Option<Decimal> {
        match value.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(self.dec(field, v)),
        }
    }

    fn int(&mut self, field: &str, value: &str) -> u32 {
        value.trim().parse::<u32>().unwrap_or_else(|_| {
            self.fail(
                field,
                "int",
                format!("'{value}' is not a positive whole number"),
            );
            0
        })
    }

    fn time(&mut self, field: &str, value: &str) -> Timestamp {
        parse_ceb_time14(value).unwrap_or_else(|| {
            self.fail(
                field,
                "time",
                format!("'{value}' is not a valid time YYYYMMDDhhmmss"),
            );
            Timestamp(0)
        })
    }
}

/// Map every business node of a declaration message to a domain document, in document order.
/// Receipts map to nothing (they are refused before this).
pub fn documents(message: &ceb::Message) -> Result<Vec<Document>, Vec<Issue>> {
    let root = format!("/{}", message.message_type());
    let mut c = Conv {
        issues: Vec::new(),
        path: root.clone(),
    };
    let mut out = Vec::new();
    match message {
        ceb::Message::Ceb311(m) => {
            for (i, node) in m.order.iter().enumerate() {
                out.push(Document::Order(order(&mut c, &root, i, node)));
            }
        }
        ceb::Message::Ceb411(m) => {
            for (i, node) in m.payment.iter().enumerate() {
                c.at(format!("{root}/Payment[{}]/PaymentHead", i + 1));
                out.push(Document::Payment(payment(&mut c, &node.payment_head)));
            }
        }
        ceb::Message::Ceb511(m) => {
            for (i, node) in m.logistics.iter().enumerate() {
                c.at(format!("{root}/Logistics[{}]/LogisticsHead", i + 1));
                out.push(Document::Waybill(waybill(&mut c, &node.logistics_head)));
            }
        }
        ceb::Message::Ceb513(m) => {
            for (i, s) in m.logistics_status.iter().enumerate() {
                c.at(format!("{root}/LogisticsStatus[{}]", i + 1));
                out.push(Document::WaybillStatus(WaybillStatus {
                    guid: s.guid.clone(),
                    app_type: s.app_type.clone(),
                    app_time: c.time("appTime", &s.app_time),
                    app_status: s.app_status.clone(),
                    logistics_code: s.logistics_code.clone(),
                    logistics_name: s.logistics_name.clone(),
                    logistics_no: s.logistics_no.clone(),
                    logistics_status: s.logistics_status.clone(),
                    logistics_time: c.time("logisticsTime", &s.logistics_time),
                    note: s.note.clone(),
                }));
            }
        }
        ceb::Message::Ceb621(m) => {
            for (i, node) in m.inventory.iter().enumerate() {
                out.push(Document::Inventory(inventory(&mut c, &root, i, node)));
            }
        }
        ceb::Message::Ceb623(m) => {
            for (i, x) in m.invt_cancel.iter().enumerate() {
                c.at(format!("{root}/InvtCancel[{}]", i + 1));
                out.push(Document::Cancel(withdrawal!(Cancel, c, x, {})));
            }
        }
        ceb::Message::Ceb625(m) => {
            for (i, node) in m.invt_refund.iter().enumerate() {
                out.push(Document::Refund(refund(&mut c, &root, i, node)));
            }
        }
        ceb::Message::Ceb711(m) => {
            let h = &m.delivery.delivery_head;
            c.at(format!("{root}/Delivery/DeliveryHead"));
            let app_time = c.time("appTime", &h.app_time);
            let mut lines = Vec::new();
            for (i, l) in m.delivery.delivery_list.iter().enumerate() {
                c.at(format!("{root}/Delivery/DeliveryList[{}]", i + 1));
                lines.push(DeliveryLine {
                    gnum: c.int("gnum", &l.gnum),
                    logistics_no: l.logistics_no.clone(),
                    note: l.note.clone(),
                });
            }
            out.push(Document::Delivery(Delivery {
                guid: h.guid.clone(),
                app_type: h.app_type.clone(),
                app_time,
                app_status: h.app_status.clone(),
                customs_code: h.customs_code.clone(),
                cop_no: h.cop_no.clone(),
                pre_no: h.pre_no.clone(),
                rkd_no: h.rkd_no.clone(),
                operator_code: h.operator_code.clone(),
                operator_name: h.operator_name.clone(),
                ie_flag: h.ie_flag.clone(),
                traf_mode: h.traf_mode.clone(),
                traf_no: h.traf_no.clone(),
                voyage_no: h.voyage_no.clone(),
                bill_no: h.bill_no.clone(),
                logistics_code: h.logistics_code.clone(),
                logistics_name: h.logistics_name.clone(),
                unload_location: h.unload_location.clone(),
                note: h.note.clone(),
                lines,
            }));
        }
        _ => {}
    }
    if c.issues.is_empty() {
        Ok(out)
    } else {
        Err(c.issues)
    }
}

fn order(c: &mut Conv, root: &str, index: usize, node: &wire::Order) -> Order {
    let h = &node.order_head;
    c.at(format!("{root}/Order[{}]/OrderHead", index + 1));
    let mut o = Order {
        guid: h.guid.clone(),
        app_type: h.app_type.clone(),
        app_time: c.time("appTime", &h.app_time),
        app_status: h.app_status.clone(),
        order_type: h.order_type.clone(),
        order_no: h.order_no.clone(),
        ebp_code: h.ebp_code.clone(),
        ebp_name: h.ebp_name.clone(),
        ebc_code: h.ebc_code.clone(),
        ebc_name: h.ebc_name.clone(),
        goods_value: c.dec("goodsValue", &h.goods_value),
        freight: c.dec("freight", &h.freight),
        discount: c.dec("discount", &h.discount),
        tax_total: c.dec("taxTotal", &h.tax_total),
        actural_paid: c.dec("acturalPaid", &h.actural_paid),
        currency: h.currency.clone(),
        buyer_reg_no: h.buyer_reg_no.clone(),
        buyer_name: h.buyer_name.clone(),
        buyer_telephone: h.buyer_telephone.clone(),
        buyer_id_type: h.buyer_id_type.clone(),
        buyer_id_number: h.buyer_id_number.clone(),
        pay_code: h.pay_code.clone(),
        pay_name: h.pay_name.clone(),
        pay_transaction_id: h.pay_transaction_id.clone(),
        consignee: h.consignee.clone(),
        consignee_telephone: h.consignee_telephone.clone(),
        consignee_address: h.consignee_address.clone(),
        consignee_district: h.consignee_district.clone(),
        note: h.note.clone(),
        lines: Vec::with_capacity(node.order_list.len()),
    };
    for (i, l) in node.order_list.iter().enumerate() {
        c.at(format!("{root}/Order[{}]/OrderList[{}]", index + 1, i + 1));
        o.lines.push(OrderLine {
            gnum: c.int("gnum", &l.gnum),
            item_no: l.item_no.clone(),
            item_name: l.item_name.clone(),
            gmodel: l.gmodel.clone(),
            unit: l.unit.clone(),
            qty: c.dec("qty", &l.qty),
            price: c.dec("price", &l.price),
            total_price: c.dec("totalPrice", &l.total_price),
            currency: l.currency.clone(),
            country: l.country.clone(),
        });
    }
    o
}

fn payment(c: &mut Conv, h: &wire::PaymentHead) -> Payment {
    Payment {
        guid: h.guid.clone(),
        app_type: h.app_type.clone(),
        app_time: c.time("appTime", &h.app_time),
        app_status: h.app_status.clone(),
        pay_code: h.pay_code.clone(),
        pay_name: h.pay_name.clone(),
        pay_transaction_id: h.pay_transaction_id.clone(),
        order_no: h.order_no.clone(),
        ebp_code: h.ebp_code.clone(),
        ebp_name: h.ebp_name.clone(),
        payer_id_type: h.payer_id_type.clone(),
        payer_id_number: h.payer_id_number.clone(),
        payer_name: h.payer_name.clone(),
        telephone: h.telephone.clone(),
        amount_paid: c.dec("amountPaid", &h.amount_paid),
        currency: h.currency.clone(),
        pay_time: c.time("payTime", &h.pay_time),
        note: h.note.clone(),
    }
}

fn waybill(c: &mut Conv, h: &wire::LogisticsHead) -> Waybill {
    Waybill {
        guid: h.guid.clone(),
        app_type: h.app_type.clone(),
        app_time: c.time("appTime", &h.app_time),
        app_status: h.app_status.clone(),
        logistics_code: h.logistics_code.clone(),
        logistics_name: h.logistics_name.clone(),
        logistics_no: h.logistics_no.clone(),
        bill_no: h.bill_no.clone(),
        order_no: h.order_no.clone(),
        freight: c.opt_dec("freight", &h.freight).unwrap_or_default(),
        insured_fee: c.opt_dec("insuredFee", &h.insured_fee).unwrap_or_default(),
        currency: h.currency.clone(),
        weight: c.dec("weight", &h.weight),
        pack_no: c.int("packNo", &h.pack_no),
        goods_info: h.goods_info.clone(),
        consignee: h.consignee.clone(),
        consignee_address: h.consignee_address.clone(),
        consignee_telephone: h.consignee_telephone.clone(),
        note: h.note.clone(),
    }
}

fn inventory(c: &mut Conv, root: &str, index: usize, node: &wire::Inventory) -> Inventory {
    let h = &node.inventory_head;
    c.at(format!("{root}/Inventory[{}]/InventoryHead", index + 1));
    let mut inv = Inventory {
        guid: h.guid.clone(),
        app_type: h.app_type.clone(),
        app_time: c.time("appTime", &h.app_time),
        app_status: h.app_status.clone(),
        order_no: h.order_no.clone(),
        ebp_code: h.ebp_code.clone(),
        ebp_name: h.ebp_name.clone(),
        ebc_code: h.ebc_code.clone(),
        ebc_name: h.ebc_name.clone(),
        logistics_no: h.logistics_no.clone(),
        logistics_code: h.logistics_code.clone(),
        logistics_name: h.logistics_name.clone(),
        cop_no: h.cop_no.clone(),
        pre_no: h.pre_no.clone(),
        assure_code: h.assure_code.clone(),
        ems_no: h.ems_no.clone(),
        invt_no: h.invt_no.clone(),
        ie_flag: h.ie_flag.clone(),
        decl_time: h.decl_time.clone(),
        customs_code: h.customs_code.clone(),
        port_code: h.port_code.clone(),
        ie_date: h.ie_date.clone(),
        buyer_id_type: h.buyer_id_type.clone(),
        buyer_id_number: h.buyer_id_number.clone(),
        buyer_name: h.buyer_name.clone(),
        buyer_telephone: h.buyer_telephone.clone(),
        consignee_address: h.consignee_address.clone(),
        agent_code: h.agent_code.clone(),
        agent_name: h.agent_name.clone(),
        area_code: h.area_code.clone(),
        area_name: h.area_name.clone(),
        trade_mode: h.trade_mode.clone(),
        traf_mode: h.traf_mode.clone(),
        traf_no: h.traf_no.clone(),
        voyage_no: h.voyage_no.clone(),
        bill_no: h.bill_no.clone(),
        loct_no: h.loct_no.clone(),
        license_no: h.license_no.clone(),
        country: h.country.clone(),
        freight: c.dec("freight", &h.freight),
        insured_fee: c.dec("insuredFee", &h.insured_fee),
        currency: h.currency.clone(),
        wrap_type: h.wrap_type.clone(),
        pack_no: c.int("packNo", &h.pack_no),
        gross_weight: c.dec("grossWeight", &h.gross_weight),
        net_weight: c.dec("netWeight", &h.net_weight),
        note: h.note.clone(),
        lines: Vec::with_capacity(node.inventory_list.len()),
    };
    for (i, l) in node.inventory_list.iter().enumerate() {
        c.at(format!(
            "{root}/Inventory[{}]/InventoryList[{}]",
            index + 1,
            i + 1
        ));
        inv.lines.push(InventoryLine {
            gnum: c.int("gnum", &l.gnum),
            item_record_no: l.item_record_no.clone(),
            item_no: l.item_no.clone(),
            item_name: l.item_name.clone(),
            gcode: l.gcode.clone(),
            gname: l.gname.clone(),
            gmodel: l.gmodel.clone(),
            bar_code: l.bar_code.clone(),
            country: l.country.clone(),
            trade_country: l.trade_country.clone(),
            currency: l.currency.clone(),
            qty: c.dec("qty", &l.qty),
            unit: l.unit.clone(),
            qty1: c.dec("qty1", &l.qty1),
            unit1: l.unit1.clone(),
            qty2: c.opt_dec("qty2", &l.qty2),
            unit2: l.unit2.clone().filter(|u| !u.trim().is_empty()),
            price: c.dec("price", &l.price),
            total_price: c.dec("totalPrice", &l.total_price),
            note: l.note.clone(),
        });
    }
    inv
}

fn refund(c: &mut Conv, root: &str, index: usize, node: &wire::InvtRefund) -> Refund {
    let h = &node.invt_refund_head;
    c.at(format!("{root}/InvtRefund[{}]/InvtRefundHead", index + 1));
    let mut r =
        withdrawal!(Refund, c, h, { lines: Vec::with_capacity(node.invt_refund_list.len()) });
    for (i, l) in node.invt_refund_list.iter().enumerate() {
        c.at(format!(
            "{root}/InvtRefund[{}]/InvtRefundList[{}]",
            index + 1,
            i + 1
        ));
        r.lines.push(RefundLine {
            gnum: c.int("gnum", &l.gnum),
            gcode: l.gcode.clone(),
            gname: l.gname.clone(),
            qty: c.dec("qty", &l.qty),
            unit: l.unit.clone(),
            note: l.note.clone(),
        });
    }
    r
}
