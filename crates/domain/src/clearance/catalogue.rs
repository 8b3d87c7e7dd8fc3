//! 错误代码目录 — the one catalogue of every code the clearance engine puts in a receipt.
//!
//! Real customs and e-port codes are used where `ceb-spec.md` §4 gives them; the rest are
//! OneWindow's own codes in the 9xxx range (91xx match rules M1–M11, 92xx content rules A1–A11,
//! 93xx filing, 94xx tariff, 95xx lifecycle, 96xx credit and risk, 90xx status notes). `docs/errors.md` documents each
//! one, and a test keeps the two in step. Codes are stable: never renumber, only add.

use serde::{Deserialize, Serialize};

macro_rules! catalogue {
    ($( $(#[$m:meta])* $name:ident = ($code:literal, $rule:literal, $zh:literal, $en:literal), )*) => {
        /// A catalogue entry. The code string is what senders parse, so it never changes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ErrorCode { $( $(#[$m])* $name, )* }

        impl ErrorCode {
            /// Every entry, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$name, )* ];
            /// The code as it appears in `[Code:…;Desc:…]`.
            pub fn code(self) -> &'static str { match self { $( ErrorCode::$name => $code, )* } }
            /// The rule it enforces (`M4`, `A1`, `filing`, …).
            pub fn rule(self) -> &'static str { match self { $( ErrorCode::$name => $rule, )* } }
            /// The Chinese description, as rendered in receipts.
            pub fn desc_zh(self) -> &'static str { match self { $( ErrorCode::$name => $zh, )* } }
            /// The English description, for documentation and portals.
            pub fn desc_en(self) -> &'static str { match self { $( ErrorCode::$name => $en, )* } }
        }
    };
}

catalogue! {
    // Status notes (not rejections).
    LogicPassed = ("1800", "M1-M11", "逻辑校验通过", "logic check passed (三单对碰 matched)"),
    Released = ("2600", "flow", "放行", "released"),
    PendingReview = ("1200", "flow", "待人工审核", "held for manual document review"),
    CancelApproved = ("2300", "cancel", "撤单申请审核通过,清单已成功撤单", "cancellation approved, the inventory is withdrawn"),
    HeldForInspection = ("9001", "flow", "布控查验", "held for physical inspection"),
    ReturnApproved = ("9002", "return", "退货申请审核通过", "return approved; tax not levied and quota restored for the returned share"),
    ReviewRejected = ("9003", "flow", "人工审核退单", "rejected by the regulator after review or inspection"),
    Concluded = ("9004", "flow", "海关审结", "customs decision done"),

    // Filing (企业备案).
    UnknownEnterpriseType = ("-10101", "filing", "无效企业类型", "the enterprise is filed but not in the role this message needs"),
    UnknownEnterprise = ("-10102", "filing", "无效企业代码", "the enterprise code is not filed"),
    EnterpriseInactive = ("9301", "filing", "企业备案已停用", "the enterprise's filing is inactive"),
    SenderNotNamed = ("9302", "filing", "报送企业与报文中的企业不一致", "the sender is not the enterprise the message names for its role"),
    NotOfRecord = ("9303", "ownership", "仅原申报企业可以变更、撤销或退货", "only the enterprise that declared this document (its sender of record) may modify, cancel or return it"),
    NotEntrusted = ("9304", "consent", "报文所列企业未委托报送企业", "an enterprise the message names has not entrusted (or admitted) the sender: file an entrustment first"),

    // Node-level checks.
    BadAppType = ("-301009", "appType", "appType不正确", "appType must be 1 (add) or 2 (modify); delete is not supported"),
    BadAppStatus = ("-301008", "appStatus", "参数校验不通过(appStatus)", "appStatus must be 1 (save) or 2 (declare)"),
    OrderGnumDuplicate = ("-301002", "A7", "重复商品序号", "order lines: gnum duplicated or not continuous from 1"),
    DuplicateOrder = ("-301010", "duplicate", "已存在相同编号的订单", "an order with the same ebpCode + orderNo is already declared"),
    DuplicatePayment = ("-401007", "duplicate", "已存在相同编号的支付单", "a payment with the same payCode + payTransactionId (or for the same order) is already declared"),
    DuplicateWaybill = ("-504012", "duplicate", "物流运单已存在", "a waybill with the same logisticsCode + logisticsNo is already declared"),
    DuplicateInventory = ("-621004", "duplicate", "重复申报", "an inventory for the same ebpCode + orderNo is already declared and not rejected"),

    // Match rules (三单对碰).
    M1EbcMismatch = ("9101", "M1", "清单与订单的电商企业不一致", "inventory ebcCode differs from the order's"),
    M2WaybillMismatch = ("9102", "M2", "清单与运单不一致", "the waybill named by the inventory carries another orderNo or belongs to another declaration"),
    M3PaymentEnterprise = ("13035", "M3", "支付企业不一致", "order payCode / payTransactionId differ from the payment's"),
    M4AmountPaid = ("9104", "M4", "订单实际支付金额与支付单支付金额不一致", "order acturalPaid differs from payment amountPaid"),
    M5BuyerPayer = ("1327", "M5", "订单购买人与支付单支付人名字或身份证号码不一致", "order buyer name / ID number differ from the payer's"),
    M6InventoryBuyer = ("13127", "M6", "清单订购人和订单不一致", "inventory buyer (ID type, number, name, telephone) differs from the order's"),
    M7Consignee = ("9107", "M7", "订单收货人与运单收货人不一致", "order consignee / telephone / address differ from the waybill's"),
    M8Lines = ("1322", "M8", "订单清单表体商品项不一致", "inventory lines do not map one-to-one by gnum (and name) to order lines"),
    M9BuyerId = ("1300", "M9", "人工退单，订购人身份证号码有误", "buyer or payer ID number is not a valid resident ID number"),
    M10SingleLimit = ("-621005", "M10", "超过单笔限额", "dutiable price over the single-transaction limit and not a single indivisible item"),
    M10AnnualLimit = ("1313", "M10", "订购人购买超过年度限额", "this purchase would take the buyer over the annual limit"),
    M11NotModifiable = ("9111", "M11", "单证已对碰或已审结，不能变更", "the document is already matched (or decided) and cannot be modified"),

    // Content rules.
    A1ActuralPaid = ("9201", "A1", "实际支付金额不等于商品价格+运杂费+代扣税款-非现金抵扣金额", "acturalPaid != goodsValue + freight + taxTotal - discount"),
    A2LineTotal = ("9202", "A2", "商品总价不等于单价乘以数量", "a line's totalPrice != price x qty"),
    A3GoodsValue = ("9203", "A3", "商品价格不等于表体总价之和", "order goodsValue != sum of line totalPrice"),
    A4Codes = ("9204", "A4", "币制、证件类型或件数不符", "currency must be 142, ID type 1, packNo 1"),
    A5Inventory = ("9205", "A5", "清单重量、价格或表体不合法", "inventory needs lines, weights > 0, net <= gross, price and totalPrice > 0"),
    A6Quantities = ("9206", "A6", "法定数量或第二数量与计量单位不符", "qty1 must equal qty when unit1 = unit; qty2 positive iff unit2 set"),
    A7InventoryGnum = ("-621027", "A7", "请确认表体gnum无重复且从1连续", "inventory gnum duplicated or not continuous from 1"),
    A8TradeMode = ("9208", "A8", "贸易方式必填项不符", "1210 needs emsNo/areaCode/areaName/itemRecordNo and country 142; 9610 needs trafNo/voyageNo/billNo; other modes refused"),
    A9AssureCode = ("9209", "A9", "担保企业须为电商平台、电商企业或物流企业", "assureCode must be the ebpCode, ebcCode or logisticsCode"),
    A10Signature = ("9210", "A10", "加签数据验签失败", "signature missing or not by the declaring enterprise (checked by the ingest pipeline)"),
    A11ReturnGnum = ("-625209", "A11", "原清单无此表体序号/商品编号", "returned gnum / gcode not in the original inventory"),
    A11ReturnQty = ("9211", "A11", "退货数量超过原清单数量", "returned quantity exceeds the quantity still on the inventory"),

    // Tariff.
    HsUnknown = ("9401", "tariff", "商品编码不在税则中", "HS code not in the tariff"),
    HsNotPositiveList = ("9402", "tariff", "商品不在跨境电子商务零售进口商品清单内", "HS code not on the positive list"),
    HsBondedOnly = ("9403", "tariff", "仅限网购保税商品，不得直购进口", "goods restricted to bonded (1210) import declared under 9610"),
    TaxFailed = ("9404", "tariff", "税款计算失败", "the tax could not be assessed for these lines"),

    // Lifecycle.
    InventoryNotFound = ("9501", "lifecycle", "未找到对应的清单", "no accepted inventory with this invtNo for this ebpCode + orderNo"),
    CancelAfterRelease = ("9502", "cancel", "清单已放行，不能撤单，请申报退货", "the inventory is released: file a return (CEB625) instead"),
    CancelNotAllowed = ("9503", "cancel", "清单状态不允许撤单", "the inventory is rejected or already withdrawn"),
    ReturnTooLate = ("9504", "return", "超过退货申请期限", "the return is filed more than return_window_days after release"),
    ReturnNotReleased = ("9505", "return", "清单未放行，不能退货", "only a released inventory can be returned"),
    WaybillNotFound = ("9506", "513", "未找到对应的运单", "no accepted waybill with this logisticsCode + logisticsNo"),
    WaybillStatusInvalid = ("9507", "513", "运单状态不正确", "logisticsStatus must be S (signed-for)"),
    DuplicateDeclaration = ("9508", "duplicate", "重复申报", "the same status or request was already declared with another guid"),

    // Credit and risk (信用与风险).
    ListedEnterprise = ("9601", "credit", "企业列入信用负面清单，禁止新增申报", "a party is on the credit negative list: filing and new declarations are refused"),
    ListedPerson = ("9602", "credit", "订购人列入信用负面清单", "the buyer is on the credit negative list (identity misuse, resale …)"),
    GoodsControlled = ("9603", "control", "商品列入贸易管制负面清单", "a line is banned or restricted by the trade-control negative list"),
    GoodsRecalled = ("9604", "recall", "商品处于召回状态，不得申报", "a line is under a product recall"),
    RecallStopped = ("9605", "recall", "商品召回，清单停止放行", "the inventory was stopped by a product recall while in flight"),
    RiskRejected = ("9606", "risk", "风险评分超过退单阈值", "the risk score reached the rejection threshold"),
    InspectionFailed = ("9607", "inspection", "查验不合格", "the physical inspection found a violation"),
}

/// A rejection: a catalogue entry plus an optional detail (which field, which code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub code: ErrorCode,
    pub detail: Option<String>,
}

impl Rejection {
    pub fn new(code: ErrorCode) -> Rejection {
        Rejection { code, detail: None }
    }

    pub fn with(code: ErrorCode, detail: impl Into<String>) -> Rejection {
        Rejection {
            code,
            detail: Some(detail.into()),
        }
    }

    /// E-port codes (negative) are the returnStatus themselves; customs codes come with `100`.
    pub fn return_status(&self) -> i32 {
        if self.code.code().starts_with('-') {
            self.code.code().parse().unwrap_or(100)
        } else {
            100
        }
    }

    /// `[Code:NNNN;Desc:…]`, followed by the detail when there is one.
    pub fn info(&self) -> String {
        match &self.detail {
            Some(d) => format!("{}{}", info(self.code), d),
            None => info(self.code),
        }
    }
}

/// Renders a code in the customs form senders already parse.
pub fn info(code: ErrorCode) -> String {
    format!("[Code:{};Desc:{}]", code.code(), code.desc_zh())
}
