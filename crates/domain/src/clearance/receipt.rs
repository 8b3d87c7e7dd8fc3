//! 回执 — the answers the engine emits, one variant per CEB receipt message, typed, so the
//! pipeline maps them 1:1 onto the `ceb` wire structs. Also the projection views (`Changes`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::personal::BuyerKey;
use crate::time::{CivilDate, Timestamp};

/// Stable id of one declaration (清单 and its three documents), derived from (ebpCode, orderNo) by
/// hashing, so it is the same on every replay and does not reveal the numbers it came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeclarationId(pub String);

impl DeclarationId {
    pub fn derive(ebp_code: &str, order_no: &str) -> DeclarationId {
        let mut h = Sha256::new();
        h.update(b"onewindow-declaration\x00");
        h.update(ebp_code.as_bytes());
        h.update(b"\x00");
        h.update(order_no.as_bytes());
        let hexed = hex::encode(h.finalize().as_slice());
        DeclarationId(format!("D{}", hexed.get(..24).unwrap_or(&hexed)))
    }
}

impl std::fmt::Display for DeclarationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A deterministic 36-character receipt guid: replaying the journal yields byte-identical receipts.
pub(crate) fn receipt_guid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"\x1f");
    }
    let x = hex::encode_upper(h.finalize().as_slice());
    let s = |a: usize, b: usize| x.get(a..b).unwrap_or("");
    format!(
        "{}-{}-{}-{}-{}",
        s(0, 8),
        s(8, 12),
        s(12, 16),
        s(16, 20),
        s(20, 32)
    )
}

/// One receipt to deliver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Enterprise codes that receive it, sorted, without duplicates.
    pub recipients: Vec<String>,
    pub declaration: Option<DeclarationId>,
    pub body: ReceiptBody,
}

/// CEB312 / CEB412 / … bodies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ReceiptBody {
    /// CEB312 OrderReturn.
    Order(OrderReturn),
    /// CEB412 PaymentReturn.
    Payment(PaymentReturn),
    /// CEB512 LogisticsReturn.
    Logistics(LogisticsReturn),
    /// CEB514 LogisticsStatusReturn.
    LogisticsStatus(LogisticsStatusReturn),
    /// CEB622 InventoryReturn.
    Inventory(ListReturn),
    /// CEB624 InvtCancelReturn.
    Cancel(ListReturn),
    /// CEB626 InvtRefundReturn.
    Refund(ListReturn),
    /// CEB712 DeliveryReturn.
    Delivery(DeliveryReturn),
    /// CEB816 Tax (head + lines).
    TaxBill(TaxBill),
    /// CEB818 TaxStatus.
    TaxStatus(TaxStatus),
}

impl ReceiptBody {
    /// The CEB message type, e.g. `CEB622Message`.
    pub fn message_type(&self) -> &'static str {
        match self {
            ReceiptBody::Order(_) => "CEB312Message",
            ReceiptBody::Payment(_) => "CEB412Message",
            ReceiptBody::Logistics(_) => "CEB512Message",
            ReceiptBody::LogisticsStatus(_) => "CEB514Message",
            ReceiptBody::Inventory(_) => "CEB622Message",
            ReceiptBody::Cancel(_) => "CEB624Message",
            ReceiptBody::Refund(_) => "CEB626Message",
            ReceiptBody::Delivery(_) => "CEB712Message",
            ReceiptBody::TaxBill(_) => "CEB816Message",
            ReceiptBody::TaxStatus(_) => "CEB818Message",
        }
    }

    /// `returnStatus` for the receipts that carry one; the tax bill's `status` for 816/818.
    pub fn return_status(&self) -> i32 {
        match self {
            ReceiptBody::Order(r) => r.return_status,
            ReceiptBody::Payment(r) => r.return_status,
            ReceiptBody::Logistics(r) => r.return_status,
            ReceiptBody::LogisticsStatus(r) => r.return_status,
            ReceiptBody::Inventory(r) | ReceiptBody::Cancel(r) | ReceiptBody::Refund(r) => {
                r.return_status
            }
            ReceiptBody::Delivery(r) => r.return_status,
            ReceiptBody::TaxBill(t) => t.status,
            ReceiptBody::TaxStatus(t) => t.status,
        }
    }

    /// `returnInfo` (empty for 816/818).
    pub fn return_info(&self) -> &str {
        match self {
            ReceiptBody::Order(r) => &r.return_info,
            ReceiptBody::Payment(r) => &r.return_info,
            ReceiptBody::Logistics(r) => &r.return_info,
            ReceiptBody::LogisticsStatus(r) => &r.return_info,
            ReceiptBody::Inventory(r) | ReceiptBody::Cancel(r) | ReceiptBody::Refund(r) => {
                &r.return_info
            }
            ReceiptBody::Delivery(r) => &r.return_info,
            ReceiptBody::TaxBill(_) | ReceiptBody::TaxStatus(_) => "",
        }
    }

    /// The receipt's own guid.
    pub fn guid(&self) -> &str {
        match self {
            ReceiptBody::Order(r) => &r.guid,
            ReceiptBody::Payment(r) => &r.guid,
            ReceiptBody::Logistics(r) => &r.guid,
            ReceiptBody::LogisticsStatus(r) => &r.guid,
            ReceiptBody::Inventory(r) | ReceiptBody::Cancel(r) | ReceiptBody::Refund(r) => &r.guid,
            ReceiptBody::Delivery(r) => &r.guid,
            ReceiptBody::TaxBill(t) => &t.guid,
            ReceiptBody::TaxStatus(t) => &t.guid,
        }
    }
}

/// CEB312 — key (ebpCode, ebcCode, orderNo).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderReturn {
    pub guid: String,
    pub ebp_code: String,
    pub ebc_code: String,
    pub order_no: String,
    pub return_status: i32,
    pub return_time: Timestamp,
    pub return_info: String,
}

/// CEB412 — key (payCode, payTransactionId).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentReturn {
    pub guid: String,
    pub pay_code: String,
    pub pay_transaction_id: String,
    pub return_status: i32,
    pub return_time: Timestamp,
    pub return_info: String,
}

/// CEB512 — key (logisticsCode, logisticsNo).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticsReturn {
    pub guid: String,
    pub logistics_code: String,
    pub logistics_no: String,
    pub return_status: i32,
    pub return_time: Timestamp,
    pub return_info: String,
}

/// CEB514.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticsStatusReturn {
    pub guid: String,
    pub logistics_code: String,
    pub logistics_no: String,
    pub logistics_status: String,
    pub return_status: i32,
    pub return_time: Timestamp,
    pub return_info: String,
}

/// CEB622 / CEB624 / CEB626 — the three list receipts share their fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListReturn {
    pub guid: String,
    pub customs_code: Option<String>,
    pub ebp_code: Option<String>,
    pub ebc_code: Option<String>,
    pub agent_code: Option<String>,
    pub cop_no: Option<String>,
    /// 预录入编号, assigned at acceptance (`B…` inventory, `C…` cancel, `T…` return); `None` when
    /// the node was refused before acceptance.
    pub pre_no: Option<String>,
    /// 清单编号, present from the 120 receipt on.
    pub invt_no: Option<String>,
    pub return_status: i32,
    pub return_time: Timestamp,
    pub return_info: String,
}

/// CEB712.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryReturn {
    pub guid: String,
    pub customs_code: Option<String>,
    pub operator_code: String,
    pub cop_no: Option<String>,
    pub pre_no: Option<String>,
    pub return_status: i32,
    pub return_time: Timestamp,
    pub return_info: String,
}

/// CEB816 电子税单 (TaxHeadRd + TaxListRd).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxBill {
    pub guid: String,
    pub return_time: Timestamp,
    pub invt_no: String,
    pub tax_no: String,
    pub customs_tax: Decimal,
    pub value_added_tax: Decimal,
    pub consumption_tax: Decimal,
    /// 1 generated, 2 summarised, 3 voided.
    pub status: i32,
    pub ent_duty_no: Option<String>,
    pub note: Option<String>,
    pub assure_code: Option<String>,
    pub ebc_code: Option<String>,
    pub logistics_code: Option<String>,
    pub agent_code: Option<String>,
    pub customs_code: Option<String>,
    pub order_no: Option<String>,
    pub logistics_no: Option<String>,
    pub lines: Vec<TaxBillLine>,
}

/// CEB816 TaxListRd.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxBillLine {
    pub gnum: u32,
    pub gcode: String,
    /// 完税总价格.
    pub tax_price: Decimal,
    pub customs_tax: Decimal,
    pub value_added_tax: Decimal,
    pub consumption_tax: Decimal,
}

/// CEB818 TaxHeadStatus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxStatus {
    pub guid: String,
    pub return_time: Timestamp,
    pub invt_no: String,
    pub tax_no: String,
    pub status: i32,
    pub ent_duty_no: Option<String>,
    pub assure_code: Option<String>,
}

/// Projection of one declaration; mirrors `store::DeclarationRow` with domain types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeclarationView {
    pub id: DeclarationId,
    pub ebp_code: String,
    /// Empty until the order or inventory names it.
    pub ebc_code: String,
    pub order_no: String,
    pub agent_code: Option<String>,
    pub logistics_code: Option<String>,
    pub logistics_no: Option<String>,
    pub pay_code: Option<String>,
    pub cop_no: Option<String>,
    pub pre_no: Option<String>,
    pub invt_no: Option<String>,
    /// Present documents among `order`, `payment`, `waybill`, `inventory`, in that order.
    pub documents: Vec<String>,
    /// The inventory's CEB622 returnStatus, 0 while there is no inventory.
    pub status: i32,
    pub status_info: String,
    pub buyer_key: Option<BuyerKey>,
    /// Dutiable price (完税价格) once assessed, else 0.
    pub value: Decimal,
    /// Total tax once assessed, else 0.
    pub tax: Decimal,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub released_at: Option<Timestamp>,
}

/// Where a tax bill stands in the levy schedule (rules.md §1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LevyState {
    /// Within the return window; becomes payable on `due_from` (readers compare with their date).
    Pending,
    Due,
    NotLevied,
    Paid,
}

impl LevyState {
    pub fn code(self) -> &'static str {
        match self {
            LevyState::Pending => "pending",
            LevyState::Due => "due",
            LevyState::NotLevied => "not_levied",
            LevyState::Paid => "paid",
        }
    }
}

/// Projection of a tax bill; mirrors `store::TaxBillRow`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxBillView {
    pub invt_no: String,
    pub tax_no: String,
    pub declaration: DeclarationId,
    pub ebc_code: String,
    pub agent_code: String,
    pub customs_tax: Decimal,
    pub vat: Decimal,
    pub consumption_tax: Decimal,
    /// 1 generated, 3 voided.
    pub status: i32,
    pub levy_state: LevyState,
    pub released_at: Timestamp,
    /// Release date (Beijing) + `tax_due_from_day`.
    pub due_from: CivilDate,
    /// Release date (Beijing) + `tax_due_until_day`.
    pub due_until: CivilDate,
}
