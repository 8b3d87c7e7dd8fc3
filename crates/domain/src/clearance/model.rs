//! The domain documents of an import declaration, typed. Field names follow the CEB XML element
//! names (snake_case) so that mapping the `ceb` wire structs is mechanical. Personal fields stay raw
//! strings (matching compares them exactly) but `Debug` masks them, so a log line cannot leak them.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

use crate::personal::{mask_id, mask_name, mask_phone};

/// 订单 — the platform's order (CEB311).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub guid: String,
    pub app_type: String,
    pub app_time: Timestamp,
    pub app_status: String,
    pub order_type: String,
    pub order_no: String,
    pub ebp_code: String,
    pub ebp_name: String,
    pub ebc_code: String,
    pub ebc_name: String,
    pub goods_value: Decimal,
    pub freight: Decimal,
    pub discount: Decimal,
    pub tax_total: Decimal,
    pub actural_paid: Decimal,
    pub currency: String,
    pub buyer_reg_no: String,
    pub buyer_name: String,
    pub buyer_telephone: String,
    pub buyer_id_type: String,
    pub buyer_id_number: String,
    pub pay_code: Option<String>,
    pub pay_name: Option<String>,
    pub pay_transaction_id: Option<String>,
    pub consignee: String,
    pub consignee_telephone: String,
    pub consignee_address: String,
    pub consignee_district: Option<String>,
    pub note: Option<String>,
    pub lines: Vec<OrderLine>,
}

/// 订单表体 — one order line (OrderList).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub gnum: u32,
    pub item_no: Option<String>,
    pub item_name: String,
    pub gmodel: String,
    pub unit: String,
    pub qty: Decimal,
    pub price: Decimal,
    pub total_price: Decimal,
    pub currency: String,
    pub country: String,
}

impl fmt::Debug for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Order")
            .field("guid", &self.guid)
            .field("app_type", &self.app_type)
            .field("order_no", &self.order_no)
            .field("ebp_code", &self.ebp_code)
            .field("ebc_code", &self.ebc_code)
            .field("goods_value", &self.goods_value)
            .field("actural_paid", &self.actural_paid)
            .field("buyer_name", &mask_name(&self.buyer_name))
            .field("buyer_id_number", &mask_id(&self.buyer_id_number))
            .field("buyer_telephone", &mask_phone(&self.buyer_telephone))
            .field("consignee", &mask_name(&self.consignee))
            .field("lines", &self.lines)
            .finish_non_exhaustive()
    }
}

/// 支付单 — the payment institution's voucher (CEB411).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub guid: String,
    pub app_type: String,
    pub app_time: Timestamp,
    pub app_status: String,
    pub pay_code: String,
    pub pay_name: String,
    pub pay_transaction_id: String,
    pub order_no: String,
    pub ebp_code: String,
    pub ebp_name: String,
    pub payer_id_type: String,
    pub payer_id_number: String,
    pub payer_name: String,
    pub telephone: Option<String>,
    pub amount_paid: Decimal,
    pub currency: String,
    pub pay_time: Timestamp,
    pub note: Option<String>,
}

impl fmt::Debug for Payment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payment")
            .field("guid", &self.guid)
            .field("pay_code", &self.pay_code)
            .field("pay_transaction_id", &self.pay_transaction_id)
            .field("order_no", &self.order_no)
            .field("ebp_code", &self.ebp_code)
            .field("amount_paid", &self.amount_paid)
            .field("payer_name", &mask_name(&self.payer_name))
            .field("payer_id_number", &mask_id(&self.payer_id_number))
            .finish_non_exhaustive()
    }
}

/// 运单 — the logistics company's waybill (CEB511).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Waybill {
    pub guid: String,
    pub app_type: String,
    pub app_time: Timestamp,
    pub app_status: String,
    pub logistics_code: String,
    pub logistics_name: String,
    pub logistics_no: String,
    pub bill_no: Option<String>,
    pub order_no: String,
    pub freight: Decimal,
    pub insured_fee: Decimal,
    pub currency: String,
    pub weight: Decimal,
    pub pack_no: u32,
    pub goods_info: Option<String>,
    pub consignee: String,
    pub consignee_address: String,
    pub consignee_telephone: String,
    pub note: Option<String>,
}

impl fmt::Debug for Waybill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waybill")
            .field("guid", &self.guid)
            .field("logistics_code", &self.logistics_code)
            .field("logistics_no", &self.logistics_no)
            .field("order_no", &self.order_no)
            .field("consignee", &mask_name(&self.consignee))
            .field(
                "consignee_telephone",
                &mask_phone(&self.consignee_telephone),
            )
            .finish_non_exhaustive()
    }
}

/// 运单状态 — signed-for notice of a waybill (CEB513, `logisticsStatus` = `S`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaybillStatus {
    pub guid: String,
    pub app_type: String,
    pub app_time: Timestamp,
    pub app_status: String,
    pub logistics_code: String,
    pub logistics_name: String,
    pub logistics_no: String,
    pub logistics_status: String,
    pub logistics_time: Timestamp,
    pub note: Option<String>,
}

/// 清单 — the inventory list a declaring agent files (CEB621); the declaration's pivot document.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub guid: String,
    pub app_type: String,
    pub app_time: Timestamp,
    pub app_status: String,
    pub order_no: String,
    pub ebp_code: String,
    pub ebp_name: String,
    pub ebc_code: String,
    pub ebc_name: String,
    pub logistics_no: String,
    pub logistics_code: String,
    pub logistics_name: String,
    pub cop_no: Option<String>,
    pub pre_no: Option<String>,
    pub assure_code: String,
    pub ems_no: Option<String>,
    pub invt_no: Option<String>,
    pub ie_flag: String,
    /// `declTime`, YYYYMMDD as sent.
    pub decl_time: String,
    pub customs_code: String,
    pub port_code: String,
    pub ie_date: Option<String>,
    pub buyer_id_type: String,
    pub buyer_id_number: String,
    pub buyer_name: String,
    pub buyer_telephone: String,
    pub consignee_address: String,
    pub agent_code: String,
    pub agent_name: String,
    pub area_code: Option<String>,
    pub area_name: Option<String>,
    pub trade_mode: String,
    pub traf_mode: String,
    pub traf_no: Option<String>,
    pub voyage_no: Option<String>,
    pub bill_no: Option<String>,
    pub loct_no: Option<String>,
    pub license_no: Option<String>,
    pub country: String,
    pub freight: Decimal,
    pub insured_fee: Decimal,
    pub currency: String,
    pub wrap_type: Option<String>,
    pub pack_no: u32,
    pub gross_weight: Decimal,
    pub net_weight: Decimal,
    pub note: Option<String>,
    pub lines: Vec<InventoryLine>,
}

/// 清单表体 — one inventory line (InventoryList).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InventoryLine {
    pub gnum: u32,
    pub item_record_no: Option<String>,
    pub item_no: Option<String>,
    pub item_name: Option<String>,
    /// 10-digit HS code.
    pub gcode: String,
    pub gname: String,
    pub gmodel: String,
    pub bar_code: Option<String>,
    pub country: String,
    pub trade_country: Option<String>,
    pub currency: String,
    pub qty: Decimal,
    pub unit: String,
    pub qty1: Decimal,
    pub unit1: String,
    pub qty2: Option<Decimal>,
    pub unit2: Option<String>,
    pub price: Decimal,
    pub total_price: Decimal,
    pub note: Option<String>,
}

impl fmt::Debug for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inventory")
            .field("guid", &self.guid)
            .field("order_no", &self.order_no)
            .field("ebp_code", &self.ebp_code)
            .field("ebc_code", &self.ebc_code)
            .field("logistics_code", &self.logistics_code)
            .field("logistics_no", &self.logistics_no)
            .field("agent_code", &self.agent_code)
            .field("trade_mode", &self.trade_mode)
            .field("buyer_name", &mask_name(&self.buyer_name))
            .field("buyer_id_number", &mask_id(&self.buyer_id_number))
            .field("buyer_telephone", &mask_phone(&self.buyer_telephone))
            .field("lines", &self.lines)
            .finish_non_exhaustive()
    }
}

/// 撤销申请单 — request to withdraw an accepted, not yet released inventory (CEB623).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Cancel {
    pub guid: String,
    pub app_type: String,
    pub app_time: Timestamp,
    pub app_status: String,
    pub customs_code: String,
    pub order_no: String,
    pub ebp_code: String,
    pub ebp_name: String,
    pub ebc_code: String,
    pub ebc_name: String,
    pub logistics_no: String,
    pub logistics_code: String,
    pub logistics_name: String,
    pub cop_no: Option<String>,
    pub pre_no: Option<String>,
    pub invt_no: String,
    pub buyer_id_type: String,
    pub buyer_id_number: String,
    pub buyer_name: String,
    pub buyer_telephone: String,
    pub agent_code: String,
    pub agent_name: String,
    pub reason: String,
    pub note: Option<String>,
}

impl fmt::Debug for Cancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancel")
            .field("guid", &self.guid)
            .field("invt_no", &self.invt_no)
            .field("order_no", &self.order_no)
            .field("agent_code", &self.agent_code)
            .field("buyer_name", &mask_name(&self.buyer_name))
            .field("buyer_id_number", &mask_id(&self.buyer_id_number))
            .finish_non_exhaustive()
    }
}

/// 退货申请单 — request to return all or part of a released inventory (CEB625).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub guid: String,
    pub app_type: String,
    pub app_time: Timestamp,
    pub app_status: String,
    pub customs_code: String,
    pub order_no: String,
    pub ebp_code: String,
    pub ebp_name: String,
    pub ebc_code: String,
    pub ebc_name: String,
    pub logistics_no: String,
    pub logistics_code: String,
    pub logistics_name: String,
    pub cop_no: Option<String>,
    pub pre_no: Option<String>,
    pub invt_no: String,
    pub buyer_id_type: String,
    pub buyer_id_number: String,
    pub buyer_name: String,
    pub buyer_telephone: String,
    pub agent_code: String,
    pub agent_name: String,
    /// 退货原因.
    pub reason: String,
    pub note: Option<String>,
    pub lines: Vec<RefundLine>,
}

/// 退货表体 — one returned line, by the original inventory gnum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefundLine {
    pub gnum: u32,
    pub gcode: String,
    pub gname: String,
    pub qty: Decimal,
    pub unit: String,
    pub note: Option<String>,
}

impl fmt::Debug for Refund {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refund")
            .field("guid", &self.guid)
            .field("invt_no", &self.invt_no)
            .field("order_no", &self.order_no)
            .field("agent_code", &self.agent_code)
            .field("buyer_name", &mask_name(&self.buyer_name))
            .field("buyer_id_number", &mask_id(&self.buyer_id_number))
            .field("lines", &self.lines)
            .finish_non_exhaustive()
    }
}

/// 入库明细单 — the supervised site's arrival list of waybills (CEB711).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub guid: String,
    pub app_type: String,
    pub app_time: Timestamp,
    pub app_status: String,
    pub customs_code: String,
    pub cop_no: Option<String>,
    pub pre_no: Option<String>,
    pub rkd_no: Option<String>,
    pub operator_code: String,
    pub operator_name: String,
    pub ie_flag: String,
    pub traf_mode: String,
    pub traf_no: String,
    pub voyage_no: String,
    pub bill_no: String,
    pub logistics_code: String,
    pub logistics_name: String,
    pub unload_location: Option<String>,
    pub note: Option<String>,
    pub lines: Vec<DeliveryLine>,
}

/// 入库明细表体 — one waybill that arrived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryLine {
    pub gnum: u32,
    pub logistics_no: String,
    pub note: Option<String>,
}

/// One declaration node as the engine receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // built once per node and moved into the engine; no hot copies
pub enum Document {
    Order(Order),
    Payment(Payment),
    Waybill(Waybill),
    WaybillStatus(WaybillStatus),
    Inventory(Inventory),
    Cancel(Cancel),
    Refund(Refund),
    Delivery(Delivery),
}

impl Document {
    /// The node guid the sender generated.
    pub fn guid(&self) -> &str {
        match self {
            Document::Order(d) => &d.guid,
            Document::Payment(d) => &d.guid,
            Document::Waybill(d) => &d.guid,
            Document::WaybillStatus(d) => &d.guid,
            Document::Inventory(d) => &d.guid,
            Document::Cancel(d) => &d.guid,
            Document::Refund(d) => &d.guid,
            Document::Delivery(d) => &d.guid,
        }
    }

    /// The CEB message number, e.g. `311`.
    pub fn kind(&self) -> &'static str {
        match self {
            Document::Order(_) => "311",
            Document::Payment(_) => "411",
            Document::Waybill(_) => "511",
            Document::WaybillStatus(_) => "513",
            Document::Inventory(_) => "621",
            Document::Cancel(_) => "623",
            Document::Refund(_) => "625",
            Document::Delivery(_) => "711",
        }
    }

    pub(crate) fn app_type(&self) -> &str {
        match self {
            Document::Order(d) => &d.app_type,
            Document::Payment(d) => &d.app_type,
            Document::Waybill(d) => &d.app_type,
            Document::WaybillStatus(d) => &d.app_type,
            Document::Inventory(d) => &d.app_type,
            Document::Cancel(d) => &d.app_type,
            Document::Refund(d) => &d.app_type,
            Document::Delivery(d) => &d.app_type,
        }
    }

    pub(crate) fn app_status(&self) -> &str {
        match self {
            Document::Order(d) => &d.app_status,
            Document::Payment(d) => &d.app_status,
            Document::Waybill(d) => &d.app_status,
            Document::WaybillStatus(d) => &d.app_status,
            Document::Inventory(d) => &d.app_status,
            Document::Cancel(d) => &d.app_status,
            Document::Refund(d) => &d.app_status,
            Document::Delivery(d) => &d.app_status,
        }
    }
}
