//! 事件 — what a room tells the others. The clearance room emits an [`Event`] at each step that
//! another room folds (statistics today; credit, stock, finance and the feeds as they become
//! rooms): a room never reads another's state, only the facts an event carries.

use rust_decimal::Decimal;

use crate::clearance::receipt::DeclarationId;
use crate::statistics::facts::ListCell;
use crate::tax::TaxAssessment;
use crate::time::Timestamp;

/// One step of the clearance room, with the facts other rooms need.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A document was refused on arrival (its node receipt carries the code).
    DocumentRefused {
        at: Timestamp,
        /// The message kind (`311`, `411`, `511`, `621` …).
        message_type: String,
        code: String,
        sender: String,
        /// The declaration it belongs to, while that is not yet released.
        declaration: Option<DeclarationId>,
        /// The waybill (logistics code, number) a refused waybill stood for.
        waybill: Option<(String, String)>,
    },
    /// 三单对碰 passed and supervision advised, raising `risk_hits` alerts in force.
    Matched {
        declaration: DeclarationId,
        risk_hits: u32,
    },
    /// An inventory was refused after arrival (a match rule, the limits, a decision).
    InventoryRefused {
        at: Timestamp,
        declaration: DeclarationId,
        code: String,
        sender: String,
        /// The list's dimensions when its documents had matched (refused after matching).
        matched: Option<ListCell>,
    },
    /// 清单核放 — the inventory was released.
    Released(Box<Released>),
    /// A return (CEB625) was approved.
    Returned(Box<Returned>),
}

/// One goods line as the statistics count it.
#[derive(Clone, Debug, PartialEq)]
pub struct GoodsLine {
    pub gnum: u32,
    /// HS code (the statistical class is derived from it).
    pub gcode: String,
    /// Country of origin.
    pub origin: String,
    /// The first legal unit and its quantity.
    pub unit: String,
    pub qty: Decimal,
}

/// The facts of a released declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct Released {
    pub at: Timestamp,
    pub declaration: DeclarationId,
    /// The waybill (logistics code, number) it matched.
    pub waybill: (String, String),
    pub list: ListCell,
    pub lines: Vec<GoodsLine>,
    /// Dutiable price (完税价格).
    pub value: Decimal,
    pub assessment: Option<TaxAssessment>,
    /// What the payment says was paid.
    pub paid: Decimal,
    /// The inventory's status before release: 300 held for review, 500 inspected, else 120.
    pub held: i32,
    /// When its documents last matched.
    pub matched_at: Timestamp,
}

/// The facts of an approved return.
#[derive(Clone, Debug, PartialEq)]
pub struct Returned {
    pub at: Timestamp,
    pub declaration: DeclarationId,
    pub list: ListCell,
    /// Dutiable value and tax the return took off.
    pub value_taken: Decimal,
    pub tax_taken: Decimal,
    /// The returned share of each line (`qty` in its first legal unit) and its value.
    pub lines: Vec<(GoodsLine, Decimal)>,
}
