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
            guid: std::mem::take(&mut x.guid),
            app_type: std::mem::take(&mut x.app_type),
            app_time: $c.time("appTime", &x.app_time),
            app_status: std::mem::take(&mut x.app_status),
            customs_code: std::mem::take(&mut x.customs_code),
            order_no: std::mem::take(&mut x.order_no),
            ebp_code: std::mem::take(&mut x.ebp_code),
            ebp_name: std::mem::take(&mut x.ebp_name),
            ebc_code: std::mem::take(&mut x.ebc_code),
            ebc_name: std::mem::take(&mut x.ebc_name),
            logistics_no: std::mem::take(&mut x.logistics_no),
            logistics_code: std::mem::take(&mut x.logistics_code),
            logistics_name: std::mem::take(&mut x.logistics_name),
            cop_no: std::mem::take(&mut x.cop_no),
            pre_no: std::mem::take(&mut x.pre_no),
            invt_no: std::mem::take(&mut x.invt_no),
            buyer_id_type: std::mem::take(&mut x.buyer_id_type),
            buyer_id_number: std::mem::take(&mut x.buyer_id_number),
            buyer_name: std::mem::take(&mut x.buyer_name),
            buyer_telephone: std::mem::take(&mut x.buyer_telephone),
            agent_code: std::mem::take(&mut x.agent_code),
            agent_name: std::mem::take(&mut x.agent_name),
            reason: std::mem::take(&mut x.reason),
            note: std::mem::take(&mut x.note),
            $($extra: $value,)*
        }
    }};
}

/// Collects conversion issues with the element path they belong to.
pub(crate) struct Conv {
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
/// The message is consumed: its strings move into the documents instead of being copied.
/// Receipts map to nothing (they are refused before this). Which function maps a kind is its row
/// in [`crate::kinds`].
pub fn documents(message: ceb::Message) -> Result<Vec<Document>, Vec<Issue>> {
    let root = format!("/{}", message.message_type());
    let mut c = Conv {
        issues: Vec::new(),
        path: root.clone(),
    };
    let mut out = Vec::new();
    if let Some(kind) = crate::kinds::of(message.message_type()) {
        (kind.map)(message, &mut c, &root, &mut out);
    }
    if c.issues.is_empty() {
        Ok(out)
    } else {
        Err(c.issues)
    }
}

/// The maps of the message kinds, one per row of [`crate::kinds`].
/// CEB311: one order per `Order` node.
pub(crate) fn orders(
    mut m: wire::Ceb311Message,
    c: &mut Conv,
    root: &str,
    out: &mut Vec<Document>,
) {
    for (i, node) in m.order.iter_mut().enumerate() {
        out.push(Document::Order(order(c, root, i, node)));
    }
}

/// CEB411: one payment per `Payment` node.
pub(crate) fn payments(
    mut m: wire::Ceb411Message,
    c: &mut Conv,
    root: &str,
    out: &mut Vec<Document>,
) {
    for (i, node) in m.payment.iter_mut().enumerate() {
        c.at(format!("{root}/Payment[{}]/PaymentHead", i + 1));
        out.push(Document::Payment(payment(c, &mut node.payment_head)));
    }
}

/// CEB511: one waybill per `Logistics` node.
pub(crate) fn waybills(
    mut m: wire::Ceb511Message,
    c: &mut Conv,
    root: &str,
    out: &mut Vec<Document>,
) {
    for (i, node) in m.logistics.iter_mut().enumerate() {
        c.at(format!("{root}/Logistics[{}]/LogisticsHead", i + 1));
        out.push(Document::Waybill(waybill(c, &mut node.logistics_head)));
    }
}

/// CEB513: one waybill status per `LogisticsStatus` node.
pub(crate) fn waybill_statuses(
    mut m: wire::Ceb513Message,
    c: &mut Conv,
    root: &str,
    out: &mut Vec<Document>,
) {
    for (i, s) in m.logistics_status.iter_mut().enumerate() {
        c.at(format!("{root}/LogisticsStatus[{}]", i + 1));
        out.push(Document::WaybillStatus(WaybillStatus {
            guid: std::mem::take(&mut s.guid),
            app_type: std::mem::take(&mut s.app_type),
            app_time: c.time("appTime", &s.app_time),
            app_status: std::mem::take(&mut s.app_status),
            logistics_code: std::mem::take(&mut s.logistics_code),
            logistics_name: std::mem::take(&mut s.logistics_name),
            logistics_no: std::mem::take(&mut s.logistics_no),
            logistics_status: std::mem::take(&mut s.logistics_status),
            logistics_time: c.time("logisticsTime", &s.logistics_time),
            note: std::mem::take(&mut s.note),
        }));
    }
}

/// CEB621: one inventory per `Inventory` node.
pub(crate) fn inventories(
    mut m: wire::Ceb621Message,
    c: &mut Conv,
    root: &str,
    out: &mut Vec<Document>,
) {
    for (i, node) in m.inventory.iter_mut().enumerate() {
        out.push(Document::Inventory(inventory(c, root, i, node)));
    }
}

/// CEB623: one cancellation per `InvtCancel` node.
pub(crate) fn cancels(
    mut m: wire::Ceb623Message,
    c: &mut Conv,
    root: &str,
    out: &mut Vec<Document>,
) {
    for (i, x) in m.invt_cancel.iter_mut().enumerate() {
        c.at(format!("{root}/InvtCancel[{}]", i + 1));
        out.push(Document::Cancel(withdrawal!(Cancel, c, x, {})));
    }
}

/// CEB625: one return per `InvtRefund` node.
pub(crate) fn refunds(
    mut m: wire::Ceb625Message,
    c: &mut Conv,
    root: &str,
    out: &mut Vec<Document>,
) {
    for (i, node) in m.invt_refund.iter_mut().enumerate() {
        out.push(Document::Refund(refund(c, root, i, node)));
    }
}

/// CEB711: the one delivery (入库明细单) with its lines.
pub(crate) fn deliveries(
    mut m: wire::Ceb711Message,
    c: &mut Conv,
    root: &str,
    out: &mut Vec<Document>,
) {
    let h = &mut m.delivery.delivery_head;
    c.at(format!("{root}/Delivery/DeliveryHead"));
    let app_time = c.time("appTime", &h.app_time);
    let mut lines = Vec::new();
    for (i, l) in m.delivery.delivery_list.iter_mut().enumerate() {
        c.at(format!("{root}/Delivery/DeliveryList[{}]", i + 1));
        lines.push(DeliveryLine {
            gnum: c.int("gnum", &l.gnum),
            logistics_no: std::mem::take(&mut l.logistics_no),
            note: std::mem::take(&mut l.note),
        });
    }
    out.push(Document::Delivery(Delivery {
        guid: std::mem::take(&mut h.guid),
        app_type: std::mem::take(&mut h.app_type),
        app_time,
        app_status: std::mem::take(&mut h.app_status),
        customs_code: std::mem::take(&mut h.customs_code),
        cop_no: std::mem::take(&mut h.cop_no),
        pre_no: std::mem::take(&mut h.pre_no),
        rkd_no: std::mem::take(&mut h.rkd_no),
        operator_code: std::mem::take(&mut h.operator_code),
        operator_name: std::mem::take(&mut h.operator_name),
        ie_flag: std::mem::take(&mut h.ie_flag),
        traf_mode: std::mem::take(&mut h.traf_mode),
        traf_no: std::mem::take(&mut h.traf_no),
        voyage_no: std::mem::take(&mut h.voyage_no),
        bill_no: std::mem::take(&mut h.bill_no),
        logistics_code: std::mem::take(&mut h.logistics_code),
        logistics_name: std::mem::take(&mut h.logistics_name),
        unload_location: std::mem::take(&mut h.unload_location),
        note: std::mem::take(&mut h.note),
        lines,
    }));
}

fn order(c: &mut Conv, root: &str, index: usize, node: &mut wire::Order) -> Order {
    let h = &mut node.order_head;
    c.at(format!("{root}/Order[{}]/OrderHead", index + 1));
    let mut o = Order {
        guid: std::mem::take(&mut h.guid),
        app_type: std::mem::take(&mut h.app_type),
        app_time: c.time("appTime", &h.app_time),
        app_status: std::mem::take(&mut h.app_status),
        order_type: std::mem::take(&mut h.order_type),
        order_no: std::mem::take(&mut h.order_no),
        ebp_code: std::mem::take(&mut h.ebp_code),
        ebp_name: std::mem::take(&mut h.ebp_name),
        ebc_code: std::mem::take(&mut h.ebc_code),
        ebc_name: std::mem::take(&mut h.ebc_name),
        goods_value: c.dec("goodsValue", &h.goods_value),
        freight: c.dec("freight", &h.freight),
        discount: c.dec("discount", &h.discount),
        tax_total: c.dec("taxTotal", &h.tax_total),
        actural_paid: c.dec("acturalPaid", &h.actural_paid),
        currency: std::mem::take(&mut h.currency),
        buyer_reg_no: std::mem::take(&mut h.buyer_reg_no),
        buyer_name: std::mem::take(&mut h.buyer_name),
        buyer_telephone: std::mem::take(&mut h.buyer_telephone),
        buyer_id_type: std::mem::take(&mut h.buyer_id_type),
        buyer_id_number: std::mem::take(&mut h.buyer_id_number),
        pay_code: std::mem::take(&mut h.pay_code),
        pay_name: std::mem::take(&mut h.pay_name),
        pay_transaction_id: std::mem::take(&mut h.pay_transaction_id),
        consignee: std::mem::take(&mut h.consignee),
        consignee_telephone: std::mem::take(&mut h.consignee_telephone),
        consignee_address: std::mem::take(&mut h.consignee_address),
        consignee_district: std::mem::take(&mut h.consignee_district),
        note: std::mem::take(&mut h.note),
        lines: Vec::with_capacity(node.order_list.len()),
    };
    for (i, l) in node.order_list.iter_mut().enumerate() {
        c.at(format!("{root}/Order[{}]/OrderList[{}]", index + 1, i + 1));
        o.lines.push(OrderLine {
            gnum: c.int("gnum", &l.gnum),
            item_no: std::mem::take(&mut l.item_no),
            item_name: std::mem::take(&mut l.item_name),
            gmodel: std::mem::take(&mut l.gmodel),
            unit: std::mem::take(&mut l.unit),
            qty: c.dec("qty", &l.qty),
            price: c.dec("price", &l.price),
            total_price: c.dec("totalPrice", &l.total_price),
            currency: std::mem::take(&mut l.currency),
            country: std::mem::take(&mut l.country),
        });
    }
    o
}

fn payment(c: &mut Conv, h: &mut wire::PaymentHead) -> Payment {
    Payment {
        guid: std::mem::take(&mut h.guid),
        app_type: std::mem::take(&mut h.app_type),
        app_time: c.time("appTime", &h.app_time),
        app_status: std::mem::take(&mut h.app_status),
        pay_code: std::mem::take(&mut h.pay_code),
        pay_name: std::mem::take(&mut h.pay_name),
        pay_transaction_id: std::mem::take(&mut h.pay_transaction_id),
        order_no: std::mem::take(&mut h.order_no),
        ebp_code: std::mem::take(&mut h.ebp_code),
        ebp_name: std::mem::take(&mut h.ebp_name),
        payer_id_type: std::mem::take(&mut h.payer_id_type),
        payer_id_number: std::mem::take(&mut h.payer_id_number),
        payer_name: std::mem::take(&mut h.payer_name),
        telephone: std::mem::take(&mut h.telephone),
        amount_paid: c.dec("amountPaid", &h.amount_paid),
        currency: std::mem::take(&mut h.currency),
        pay_time: c.time("payTime", &h.pay_time),
        note: std::mem::take(&mut h.note),
    }
}

fn waybill(c: &mut Conv, h: &mut wire::LogisticsHead) -> Waybill {
    Waybill {
        guid: std::mem::take(&mut h.guid),
        app_type: std::mem::take(&mut h.app_type),
        app_time: c.time("appTime", &h.app_time),
        app_status: std::mem::take(&mut h.app_status),
        logistics_code: std::mem::take(&mut h.logistics_code),
        logistics_name: std::mem::take(&mut h.logistics_name),
        logistics_no: std::mem::take(&mut h.logistics_no),
        bill_no: std::mem::take(&mut h.bill_no),
        order_no: std::mem::take(&mut h.order_no),
        freight: c.opt_dec("freight", &h.freight).unwrap_or_default(),
        insured_fee: c.opt_dec("insuredFee", &h.insured_fee).unwrap_or_default(),
        currency: std::mem::take(&mut h.currency),
        weight: c.dec("weight", &h.weight),
        pack_no: c.int("packNo", &h.pack_no),
        goods_info: std::mem::take(&mut h.goods_info),
        consignee: std::mem::take(&mut h.consignee),
        consignee_address: std::mem::take(&mut h.consignee_address),
        consignee_telephone: std::mem::take(&mut h.consignee_telephone),
        note: std::mem::take(&mut h.note),
    }
}

fn inventory(c: &mut Conv, root: &str, index: usize, node: &mut wire::Inventory) -> Inventory {
    let h = &mut node.inventory_head;
    c.at(format!("{root}/Inventory[{}]/InventoryHead", index + 1));
    let mut inv = Inventory {
        guid: std::mem::take(&mut h.guid),
        app_type: std::mem::take(&mut h.app_type),
        app_time: c.time("appTime", &h.app_time),
        app_status: std::mem::take(&mut h.app_status),
        order_no: std::mem::take(&mut h.order_no),
        ebp_code: std::mem::take(&mut h.ebp_code),
        ebp_name: std::mem::take(&mut h.ebp_name),
        ebc_code: std::mem::take(&mut h.ebc_code),
        ebc_name: std::mem::take(&mut h.ebc_name),
        logistics_no: std::mem::take(&mut h.logistics_no),
        logistics_code: std::mem::take(&mut h.logistics_code),
        logistics_name: std::mem::take(&mut h.logistics_name),
        cop_no: std::mem::take(&mut h.cop_no),
        pre_no: std::mem::take(&mut h.pre_no),
        assure_code: std::mem::take(&mut h.assure_code),
        ems_no: std::mem::take(&mut h.ems_no),
        invt_no: std::mem::take(&mut h.invt_no),
        ie_flag: std::mem::take(&mut h.ie_flag),
        decl_time: std::mem::take(&mut h.decl_time),
        customs_code: std::mem::take(&mut h.customs_code),
        port_code: std::mem::take(&mut h.port_code),
        ie_date: std::mem::take(&mut h.ie_date),
        buyer_id_type: std::mem::take(&mut h.buyer_id_type),
        buyer_id_number: std::mem::take(&mut h.buyer_id_number),
        buyer_name: std::mem::take(&mut h.buyer_name),
        buyer_telephone: std::mem::take(&mut h.buyer_telephone),
        consignee_address: std::mem::take(&mut h.consignee_address),
        agent_code: std::mem::take(&mut h.agent_code),
        agent_name: std::mem::take(&mut h.agent_name),
        area_code: std::mem::take(&mut h.area_code),
        area_name: std::mem::take(&mut h.area_name),
        trade_mode: std::mem::take(&mut h.trade_mode),
        traf_mode: std::mem::take(&mut h.traf_mode),
        traf_no: std::mem::take(&mut h.traf_no),
        voyage_no: std::mem::take(&mut h.voyage_no),
        bill_no: std::mem::take(&mut h.bill_no),
        loct_no: std::mem::take(&mut h.loct_no),
        license_no: std::mem::take(&mut h.license_no),
        country: std::mem::take(&mut h.country),
        freight: c.dec("freight", &h.freight),
        insured_fee: c.dec("insuredFee", &h.insured_fee),
        currency: std::mem::take(&mut h.currency),
        wrap_type: std::mem::take(&mut h.wrap_type),
        pack_no: c.int("packNo", &h.pack_no),
        gross_weight: c.dec("grossWeight", &h.gross_weight),
        net_weight: c.dec("netWeight", &h.net_weight),
        note: std::mem::take(&mut h.note),
        lines: Vec::with_capacity(node.inventory_list.len()),
    };
    for (i, l) in node.inventory_list.iter_mut().enumerate() {
        c.at(format!(
            "{root}/Inventory[{}]/InventoryList[{}]",
            index + 1,
            i + 1
        ));
        inv.lines.push(InventoryLine {
            gnum: c.int("gnum", &l.gnum),
            item_record_no: std::mem::take(&mut l.item_record_no),
            item_no: std::mem::take(&mut l.item_no),
            item_name: std::mem::take(&mut l.item_name),
            gcode: std::mem::take(&mut l.gcode),
            gname: std::mem::take(&mut l.gname),
            gmodel: std::mem::take(&mut l.gmodel),
            bar_code: std::mem::take(&mut l.bar_code),
            country: std::mem::take(&mut l.country),
            trade_country: std::mem::take(&mut l.trade_country),
            currency: std::mem::take(&mut l.currency),
            qty: c.dec("qty", &l.qty),
            unit: std::mem::take(&mut l.unit),
            qty1: c.dec("qty1", &l.qty1),
            unit1: std::mem::take(&mut l.unit1),
            qty2: c.opt_dec("qty2", &l.qty2),
            unit2: std::mem::take(&mut l.unit2).filter(|u| !u.trim().is_empty()),
            price: c.dec("price", &l.price),
            total_price: c.dec("totalPrice", &l.total_price),
            note: std::mem::take(&mut l.note),
        });
    }
    inv
}

fn refund(c: &mut Conv, root: &str, index: usize, node: &mut wire::InvtRefund) -> Refund {
    let h = &mut node.invt_refund_head;
    c.at(format!("{root}/InvtRefund[{}]/InvtRefundHead", index + 1));
    let mut r =
        withdrawal!(Refund, c, h, { lines: Vec::with_capacity(node.invt_refund_list.len()) });
    for (i, l) in node.invt_refund_list.iter_mut().enumerate() {
        c.at(format!(
            "{root}/InvtRefund[{}]/InvtRefundList[{}]",
            index + 1,
            i + 1
        ));
        r.lines.push(RefundLine {
            gnum: c.int("gnum", &l.gnum),
            gcode: std::mem::take(&mut l.gcode),
            gname: std::mem::take(&mut l.gname),
            qty: c.dec("qty", &l.qty),
            unit: std::mem::take(&mut l.unit),
            note: std::mem::take(&mut l.note),
        });
    }
    r
}
