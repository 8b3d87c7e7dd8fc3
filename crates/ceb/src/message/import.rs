//! The import (进口) declarations and receipts of the 202205 schema, and the common parts.
//! Business nodes follow the XSD element order; fields generated from `import.xsd`.

use super::{ExtendMessage, Signature};

node! {
    /// 电子税单状态表头实体
    TaxHeadStatus = "TaxHeadStatus" {
        guid: req = "guid",
        return_time: req = "returnTime",
        invt_no: req = "invtNo",
        tax_no: req = "taxNo",
        status: req = "status",
        ent_duty_no: opt = "entDutyNo",
        assure_code: opt = "assureCode",
    }
}

node! {
    /// 电子税单表头实体
    TaxHeadRd = "TaxHeadRd" {
        guid: req = "guid",
        return_time: req = "returnTime",
        invt_no: req = "invtNo",
        tax_no: req = "taxNo",
        customs_tax: req = "customsTax",
        value_added_tax: req = "valueAddedTax",
        consumption_tax: req = "consumptionTax",
        status: req = "status",
        ent_duty_no: opt = "entDutyNo",
        note: opt = "note",
        assure_code: opt = "assureCode",
        ebc_code: opt = "ebcCode",
        logistics_code: opt = "logisticsCode",
        agent_code: opt = "agentCode",
        customs_code: opt = "customsCode",
    }
}

node! {
    /// 电子税单表体实体
    TaxListRd = "TaxListRd" {
        gnum: req = "gnum",
        gcode: req = "gcode",
        tax_price: req = "taxPrice",
        customs_tax: req = "customsTax",
        value_added_tax: req = "valueAddedTax",
        consumption_tax: req = "consumptionTax",
    }
}

node! {
    /// 电子订单表头实体
    OrderHead = "OrderHead" {
        guid: req = "guid",
        app_type: req = "appType",
        app_time: req = "appTime",
        app_status: req = "appStatus",
        order_type: req = "orderType",
        order_no: req = "orderNo",
        ebp_code: req = "ebpCode",
        ebp_name: req = "ebpName",
        ebc_code: req = "ebcCode",
        ebc_name: req = "ebcName",
        goods_value: req = "goodsValue",
        freight: req = "freight",
        discount: req = "discount",
        tax_total: req = "taxTotal",
        actural_paid: req = "acturalPaid",
        currency: req = "currency",
        buyer_reg_no: req_pii = "buyerRegNo",
        buyer_name: req_pii = "buyerName",
        buyer_telephone: req_pii = "buyerTelephone",
        buyer_id_type: req = "buyerIdType",
        buyer_id_number: req_pii = "buyerIdNumber",
        pay_code: opt = "payCode",
        pay_name: opt = "payName",
        pay_transaction_id: opt = "payTransactionId",
        batch_numbers: opt = "batchNumbers",
        consignee: req_pii = "consignee",
        consignee_telephone: req_pii = "consigneeTelephone",
        consignee_address: req_pii = "consigneeAddress",
        consignee_district: opt = "consigneeDistrict",
        note: opt = "note",
    }
}

node! {
    /// 电子订单商品实体
    OrderList = "OrderList" {
        gnum: req = "gnum",
        item_no: opt = "itemNo",
        item_name: req = "itemName",
        gmodel: req = "gmodel",
        item_describe: opt = "itemDescribe",
        bar_code: opt = "barCode",
        unit: req = "unit",
        qty: req = "qty",
        price: req = "price",
        total_price: req = "totalPrice",
        currency: req = "currency",
        country: req = "country",
        note: opt = "note",
    }
}

node! {
    /// 电子订单回执实体
    OrderReturn = "OrderReturn" {
        guid: req = "guid",
        ebp_code: req = "ebpCode",
        ebc_code: req = "ebcCode",
        order_no: req = "orderNo",
        return_status: req = "returnStatus",
        return_time: req = "returnTime",
        return_info: req = "returnInfo",
    }
}

node! {
    /// 支付凭证数据实体
    PaymentHead = "PaymentHead" {
        guid: req = "guid",
        app_type: req = "appType",
        app_time: req = "appTime",
        app_status: req = "appStatus",
        pay_code: req = "payCode",
        pay_name: req = "payName",
        pay_transaction_id: req = "payTransactionId",
        order_no: req = "orderNo",
        ebp_code: req = "ebpCode",
        ebp_name: req = "ebpName",
        payer_id_type: req = "payerIdType",
        payer_id_number: req_pii = "payerIdNumber",
        payer_name: req_pii = "payerName",
        telephone: opt_pii = "telephone",
        amount_paid: req = "amountPaid",
        currency: req = "currency",
        pay_time: req = "payTime",
        note: opt = "note",
    }
}

node! {
    /// 支付凭证回执实体
    PaymentReturn = "PaymentReturn" {
        guid: req = "guid",
        pay_code: req = "payCode",
        pay_transaction_id: req = "payTransactionId",
        return_status: req = "returnStatus",
        return_time: req = "returnTime",
        return_info: req = "returnInfo",
    }
}

node! {
    /// 物流运单数据实体
    LogisticsHead = "LogisticsHead" {
        guid: req = "guid",
        app_type: req = "appType",
        app_time: req = "appTime",
        app_status: req = "appStatus",
        logistics_code: req = "logisticsCode",
        logistics_name: req = "logisticsName",
        logistics_no: req = "logisticsNo",
        bill_no: opt = "billNo",
        order_no: req = "orderNo",
        freight: opt = "freight",
        insured_fee: opt = "insuredFee",
        currency: req = "currency",
        weight: req = "weight",
        pack_no: req = "packNo",
        goods_info: opt = "goodsInfo",
        consignee: req_pii = "consignee",
        consignee_address: req_pii = "consigneeAddress",
        consignee_telephone: req_pii = "consigneeTelephone",
        note: opt = "note",
    }
}

node! {
    /// 物流运单回执实体
    LogisticsReturn = "LogisticsReturn" {
        guid: req = "guid",
        logistics_code: req = "logisticsCode",
        logistics_no: req = "logisticsNo",
        return_status: req = "returnStatus",
        return_time: req = "returnTime",
        return_info: req = "returnInfo",
    }
}

node! {
    /// 物流运单状态数据实体
    LogisticsStatus = "LogisticsStatus" {
        guid: req = "guid",
        app_type: req = "appType",
        app_time: req = "appTime",
        app_status: req = "appStatus",
        logistics_code: req = "logisticsCode",
        logistics_name: req = "logisticsName",
        logistics_no: req = "logisticsNo",
        logistics_status: req = "logisticsStatus",
        logistics_time: req = "logisticsTime",
        note: opt = "note",
    }
}

node! {
    /// 物流运单状态回执实体
    LogisticsStatusReturn = "LogisticsStatusReturn" {
        guid: req = "guid",
        logistics_code: req = "logisticsCode",
        logistics_no: req = "logisticsNo",
        logistics_status: req = "logisticsStatus",
        return_status: req = "returnStatus",
        return_time: req = "returnTime",
        return_info: req = "returnInfo",
    }
}

node! {
    /// 进口清单表头实体
    InventoryHead = "InventoryHead" {
        guid: req = "guid",
        app_type: req = "appType",
        app_time: req = "appTime",
        app_status: req = "appStatus",
        order_no: req = "orderNo",
        ebp_code: req = "ebpCode",
        ebp_name: req = "ebpName",
        ebc_code: req = "ebcCode",
        ebc_name: req = "ebcName",
        logistics_no: req = "logisticsNo",
        logistics_code: req = "logisticsCode",
        logistics_name: req = "logisticsName",
        cop_no: opt = "copNo",
        pre_no: opt = "preNo",
        assure_code: req = "assureCode",
        ems_no: opt = "emsNo",
        invt_no: opt = "invtNo",
        ie_flag: req = "ieFlag",
        decl_time: req = "declTime",
        customs_code: req = "customsCode",
        port_code: req = "portCode",
        ie_date: opt = "ieDate",
        buyer_id_type: req = "buyerIdType",
        buyer_id_number: req_pii = "buyerIdNumber",
        buyer_name: req_pii = "buyerName",
        buyer_telephone: req_pii = "buyerTelephone",
        consignee_address: req_pii = "consigneeAddress",
        agent_code: req = "agentCode",
        agent_name: req = "agentName",
        area_code: opt = "areaCode",
        area_name: opt = "areaName",
        trade_mode: req = "tradeMode",
        traf_mode: req = "trafMode",
        traf_no: opt = "trafNo",
        voyage_no: opt = "voyageNo",
        bill_no: opt = "billNo",
        loct_no: opt = "loctNo",
        license_no: opt = "licenseNo",
        country: req = "country",
        freight: req = "freight",
        insured_fee: req = "insuredFee",
        currency: req = "currency",
        wrap_type: opt = "wrapType",
        pack_no: req = "packNo",
        gross_weight: req = "grossWeight",
        net_weight: req = "netWeight",
        note: opt = "note",
    }
}

node! {
    /// 进口清单表体实体
    InventoryList = "InventoryList" {
        gnum: req = "gnum",
        item_record_no: opt = "itemRecordNo",
        item_no: opt = "itemNo",
        item_name: opt = "itemName",
        gcode: req = "gcode",
        gname: req = "gname",
        gmodel: req = "gmodel",
        bar_code: opt = "barCode",
        country: req = "country",
        trade_country: opt = "tradeCountry",
        currency: req = "currency",
        qty: req = "qty",
        unit: req = "unit",
        qty1: req = "qty1",
        unit1: req = "unit1",
        qty2: opt = "qty2",
        unit2: opt = "unit2",
        price: req = "price",
        total_price: req = "totalPrice",
        note: opt = "note",
    }
}

node! {
    /// 进口清单回执实体
    InventoryReturn = "InventoryReturn" {
        guid: req = "guid",
        customs_code: opt = "customsCode",
        ebp_code: opt = "ebpCode",
        ebc_code: opt = "ebcCode",
        agent_code: opt = "agentCode",
        cop_no: req = "copNo",
        pre_no: opt = "preNo",
        invt_no: opt = "invtNo",
        return_status: req = "returnStatus",
        return_time: req = "returnTime",
        return_info: req = "returnInfo",
    }
}

node! {
    /// 撤销申请单实体
    InvtCancel = "InvtCancel" {
        guid: req = "guid",
        app_type: req = "appType",
        app_time: req = "appTime",
        app_status: req = "appStatus",
        customs_code: req = "customsCode",
        order_no: req = "orderNo",
        ebp_code: req = "ebpCode",
        ebp_name: req = "ebpName",
        ebc_code: req = "ebcCode",
        ebc_name: req = "ebcName",
        logistics_no: req = "logisticsNo",
        logistics_code: req = "logisticsCode",
        logistics_name: req = "logisticsName",
        cop_no: opt = "copNo",
        pre_no: opt = "preNo",
        invt_no: req = "invtNo",
        buyer_id_type: req = "buyerIdType",
        buyer_id_number: req_pii = "buyerIdNumber",
        buyer_name: req_pii = "buyerName",
        buyer_telephone: req_pii = "buyerTelephone",
        agent_code: req = "agentCode",
        agent_name: req = "agentName",
        reason: req = "reason",
        note: opt = "note",
    }
}

node! {
    /// 撤销申请单回执实体
    InvtCancelReturn = "InvtCancelReturn" {
        guid: req = "guid",
        customs_code: opt = "customsCode",
        agent_code: opt = "agentCode",
        ebp_code: opt = "ebpCode",
        ebc_code: opt = "ebcCode",
        cop_no: req = "copNo",
        pre_no: opt = "preNo",
        invt_no: opt = "invtNo",
        return_status: req = "returnStatus",
        return_time: req = "returnTime",
        return_info: req = "returnInfo",
    }
}

node! {
    /// 退货申请单表头实体
    InvtRefundHead = "InvtRefundHead" {
        guid: req = "guid",
        app_type: req = "appType",
        app_time: req = "appTime",
        app_status: req = "appStatus",
        customs_code: req = "customsCode",
        order_no: req = "orderNo",
        ebp_code: req = "ebpCode",
        ebp_name: req = "ebpName",
        ebc_code: req = "ebcCode",
        ebc_name: req = "ebcName",
        logistics_no: req = "logisticsNo",
        logistics_code: req = "logisticsCode",
        logistics_name: req = "logisticsName",
        cop_no: opt = "copNo",
        pre_no: opt = "preNo",
        invt_no: req = "invtNo",
        buyer_id_type: req = "buyerIdType",
        buyer_id_number: req_pii = "buyerIdNumber",
        buyer_name: req_pii = "buyerName",
        buyer_telephone: req_pii = "buyerTelephone",
        agent_code: req = "agentCode",
        agent_name: req = "agentName",
        reason: req = "reason",
        note: opt = "note",
    }
}

node! {
    /// 退货申请单表体实体
    InvtRefundList = "InvtRefundList" {
        gnum: req = "gnum",
        gcode: req = "gcode",
        gname: req = "gname",
        qty: req = "qty",
        unit: req = "unit",
        note: opt = "note",
    }
}

node! {
    /// 退货申请单回执实体
    InvtRefundReturn = "InvtRefundReturn" {
        guid: req = "guid",
        customs_code: opt = "customsCode",
        agent_code: opt = "agentCode",
        ebp_code: opt = "ebpCode",
        ebc_code: opt = "ebcCode",
        cop_no: req = "copNo",
        pre_no: opt = "preNo",
        invt_no: opt = "invtNo",
        return_status: req = "returnStatus",
        return_time: req = "returnTime",
        return_info: req = "returnInfo",
    }
}

node! {
    /// 入库明细单表头实体
    DeliveryHead = "DeliveryHead" {
        guid: req = "guid",
        app_type: req = "appType",
        app_time: req = "appTime",
        app_status: req = "appStatus",
        customs_code: req = "customsCode",
        cop_no: opt = "copNo",
        pre_no: opt = "preNo",
        rkd_no: opt = "rkdNo",
        operator_code: req = "operatorCode",
        operator_name: req = "operatorName",
        ie_flag: req = "ieFlag",
        traf_mode: req = "trafMode",
        traf_no: req = "trafNo",
        voyage_no: req = "voyageNo",
        bill_no: req = "billNo",
        logistics_code: req = "logisticsCode",
        logistics_name: req = "logisticsName",
        unload_location: opt = "unloadLocation",
        note: opt = "note",
    }
}

node! {
    /// 入库明细单表体实体
    DeliveryList = "DeliveryList" {
        gnum: req = "gnum",
        logistics_no: req = "logisticsNo",
        note: opt = "note",
    }
}

node! {
    /// 入库明细单回执实体
    DeliveryReturn = "DeliveryReturn" {
        guid: req = "guid",
        customs_code: opt = "customsCode",
        operator_code: opt = "operatorCode",
        cop_no: opt = "copNo",
        pre_no: opt = "preNo",
        rkd_no: opt = "rkdNo",
        return_status: req = "returnStatus",
        return_time: req = "returnTime",
        return_info: req = "returnInfo",
    }
}

node! {
    /// 基础报文传输实体（需要与实际客户端传输企业一致）
    BaseTransfer = "BaseTransfer" {
        cop_code: req = "copCode",
        cop_name: req = "copName",
        dxp_mode: req = "dxpMode",
        dxp_id: req = "dxpId",
        note: opt = "note",
    }
}

node! {
    /// 基础回执订阅实体（用于第三方提供数据的订阅下发）
    BaseSubscribe = "BaseSubscribe" {
        status: req = "status",
        dxp_mode: req = "dxpMode",
        dxp_address: req = "dxpAddress",
        note: opt = "note",
    }
}

node! {
    /// 报文格式校验回执实体
    MessageReturn = "MessageReturn" {
        guid: req = "guid",
        return_status: req = "returnStatus",
        return_info: req = "returnInfo",
        return_time: req = "returnTime",
        ori_cop_msg_id: req = "oriCopMsgId",
        ori_message_type: req = "oriMessageType",
        ori_biz_message: req_pii = "oriBizMessage",
    }
}

node! {
    /// 订单 — one order (CEB311): head and 1..99 lines.
    Order = "Order" {
        order_head: one(OrderHead) = "OrderHead",
        order_list: many(OrderList) = "OrderList",
    }
}

node! {
    /// 支付单 — one payment voucher (CEB411).
    Payment = "Payment" {
        payment_head: one(PaymentHead) = "PaymentHead",
    }
}

node! {
    /// 运单 — one waybill (CEB511).
    Logistics = "Logistics" {
        logistics_head: one(LogisticsHead) = "LogisticsHead",
    }
}

node! {
    /// 清单 — one import inventory list (CEB621): head and 1..99 lines.
    Inventory = "Inventory" {
        inventory_head: one(InventoryHead) = "InventoryHead",
        inventory_list: many(InventoryList) = "InventoryList",
    }
}

node! {
    /// 退货申请单 — one return/refund request (CEB625).
    InvtRefund = "InvtRefund" {
        invt_refund_head: one(InvtRefundHead) = "InvtRefundHead",
        invt_refund_list: many(InvtRefundList) = "InvtRefundList",
    }
}

node! {
    /// 入库明细单 — arrival at the supervised site (CEB711).
    Delivery = "Delivery" {
        delivery_head: one(DeliveryHead) = "DeliveryHead",
        delivery_list: many(DeliveryList) = "DeliveryList",
    }
}

node! {
    /// 电子税单 — one electronic tax bill (CEB816).
    Tax = "Tax" {
        tax_head_rd: one(TaxHeadRd) = "TaxHeadRd",
        tax_list_rd: many(TaxListRd) = "TaxListRd",
    }
}

node! {
    /// 电子税单状态 — one tax bill status (CEB818).
    TaxStatus = "Tax" {
        tax_head_status: one(TaxHeadStatus) = "TaxHeadStatus",
    }
}

root! {
    /// CEB311 电子订单 — import order declaration.
    Ceb311Message = "CEB311Message", declaration = true {
        order: many(Order) = "Order",
        base_transfer: one(BaseTransfer) = "BaseTransfer",
        base_subscribe: many(BaseSubscribe) = "BaseSubscribe",
        extend_message: opt_node(ExtendMessage) = "ExtendMessage",
        signature: opt_node(Signature) = "Signature",
    }
}

root! {
    /// CEB411 支付凭证 — payment voucher declaration.
    Ceb411Message = "CEB411Message", declaration = true {
        payment: many(Payment) = "Payment",
        base_transfer: one(BaseTransfer) = "BaseTransfer",
        base_subscribe: many(BaseSubscribe) = "BaseSubscribe",
        extend_message: opt_node(ExtendMessage) = "ExtendMessage",
        signature: opt_node(Signature) = "Signature",
    }
}

root! {
    /// CEB511 物流运单 — waybill declaration.
    Ceb511Message = "CEB511Message", declaration = true {
        logistics: many(Logistics) = "Logistics",
        base_transfer: one(BaseTransfer) = "BaseTransfer",
        base_subscribe: many(BaseSubscribe) = "BaseSubscribe",
        extend_message: opt_node(ExtendMessage) = "ExtendMessage",
        signature: opt_node(Signature) = "Signature",
    }
}

root! {
    /// CEB513 运单状态 — waybill status (signed for).
    Ceb513Message = "CEB513Message", declaration = true {
        logistics_status: many(LogisticsStatus) = "LogisticsStatus",
        base_transfer: one(BaseTransfer) = "BaseTransfer",
        base_subscribe: many(BaseSubscribe) = "BaseSubscribe",
        extend_message: opt_node(ExtendMessage) = "ExtendMessage",
        signature: opt_node(Signature) = "Signature",
    }
}

root! {
    /// CEB621 进口清单 — import inventory declaration (signed).
    Ceb621Message = "CEB621Message", declaration = true {
        inventory: many(Inventory) = "Inventory",
        base_transfer: one(BaseTransfer) = "BaseTransfer",
        base_subscribe: many(BaseSubscribe) = "BaseSubscribe",
        extend_message: opt_node(ExtendMessage) = "ExtendMessage",
        signature: one(Signature) = "Signature",
    }
}

root! {
    /// CEB623 撤销申请单 — inventory cancellation (signed).
    Ceb623Message = "CEB623Message", declaration = true {
        invt_cancel: many(InvtCancel) = "InvtCancel",
        base_transfer: one(BaseTransfer) = "BaseTransfer",
        base_subscribe: many(BaseSubscribe) = "BaseSubscribe",
        extend_message: opt_node(ExtendMessage) = "ExtendMessage",
        signature: one(Signature) = "Signature",
    }
}

root! {
    /// CEB625 退货申请单 — return/refund request (signed).
    Ceb625Message = "CEB625Message", declaration = true {
        invt_refund: many(InvtRefund) = "InvtRefund",
        base_transfer: one(BaseTransfer) = "BaseTransfer",
        base_subscribe: many(BaseSubscribe) = "BaseSubscribe",
        extend_message: opt_node(ExtendMessage) = "ExtendMessage",
        signature: one(Signature) = "Signature",
    }
}

root! {
    /// CEB711 入库明细单 — arrival list (signed).
    Ceb711Message = "CEB711Message", declaration = true {
        delivery: one(Delivery) = "Delivery",
        base_transfer: one(BaseTransfer) = "BaseTransfer",
        base_subscribe: many(BaseSubscribe) = "BaseSubscribe",
        extend_message: opt_node(ExtendMessage) = "ExtendMessage",
        signature: one(Signature) = "Signature",
    }
}

root! {
    /// CEB312 订单回执 — order receipt.
    Ceb312Message = "CEB312Message", declaration = false {
        order_return: many(OrderReturn) = "OrderReturn",
    }
}

root! {
    /// CEB412 支付单回执 — payment receipt.
    Ceb412Message = "CEB412Message", declaration = false {
        payment_return: many(PaymentReturn) = "PaymentReturn",
    }
}

root! {
    /// CEB512 运单回执 — waybill receipt.
    Ceb512Message = "CEB512Message", declaration = false {
        logistics_return: many(LogisticsReturn) = "LogisticsReturn",
    }
}

root! {
    /// CEB514 运单状态回执 — waybill status receipt.
    Ceb514Message = "CEB514Message", declaration = false {
        logistics_status_return: many(LogisticsStatusReturn) = "LogisticsStatusReturn",
    }
}

root! {
    /// CEB622 清单回执 — inventory receipt.
    Ceb622Message = "CEB622Message", declaration = false {
        inventory_return: many(InventoryReturn) = "InventoryReturn",
    }
}

root! {
    /// CEB624 撤销回执 — cancellation receipt.
    Ceb624Message = "CEB624Message", declaration = false {
        invt_cancel_return: many(InvtCancelReturn) = "InvtCancelReturn",
    }
}

root! {
    /// CEB626 退货回执 — return/refund receipt.
    Ceb626Message = "CEB626Message", declaration = false {
        invt_refund_return: many(InvtRefundReturn) = "InvtRefundReturn",
    }
}

root! {
    /// CEB712 入库明细单回执 — arrival list receipt.
    Ceb712Message = "CEB712Message", declaration = false {
        delivery_return: many(DeliveryReturn) = "DeliveryReturn",
    }
}

root! {
    /// CEB816 电子税单 — electronic tax bill.
    Ceb816Message = "CEB816Message", declaration = false {
        tax: many(Tax) = "Tax",
    }
}

root! {
    /// CEB818 电子税单状态 — tax bill status.
    Ceb818Message = "CEB818Message", declaration = false {
        tax: many(TaxStatus) = "Tax",
    }
}

root! {
    /// CEB900 报文格式校验回执 — format/schema failure receipt.
    Ceb900Message = "CEB900Message", declaration = false {
        message_return: one(MessageReturn) = "MessageReturn",
    }
}

macro_rules! message_enum {
    ($( $var:ident($t:ident) = $xml:literal ),* $(,)?) => {
        /// Any import CEB message, declaration or receipt. Variants are unboxed: a message
        /// is built once per input and moved a few times, so the size spread costs little.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum Message {
            $( #[serde(rename = $xml)] $var($t), )*
        }

        impl Message {
            /// The root element name, e.g. "CEB311Message".
            pub fn message_type(&self) -> &'static str {
                match self {
                    $( Message::$var(_) => <$t as super::Root>::MESSAGE_TYPE, )*
                }
            }

            /// The root `guid` attribute.
            pub fn guid(&self) -> &str {
                match self {
                    $( Message::$var(m) => &m.guid, )*
                }
            }

            /// Whether this is an enterprise declaration (odd-numbered, strict).
            pub fn is_declaration(&self) -> bool {
                match self {
                    $( Message::$var(_) => <$t as super::Root>::DECLARATION, )*
                }
            }

            /// The message in its official XML form.
            pub fn to_xml(&self) -> String {
                match self {
                    $( Message::$var(m) => m.to_xml(), )*
                }
            }

            /// Whether `name` is a root this crate knows, and if so whether it is a declaration.
            pub fn kind_of(name: &str) -> Option<bool> {
                match name {
                    $( n if n == <$t as super::Root>::MESSAGE_TYPE => Some(<$t as super::Root>::DECLARATION), )*
                    _ => None,
                }
            }

            /// Map a tree whose root is a known CEB message to the typed message.
            pub fn from_tree(
                doc: &crate::xml::Document,
                cx: &mut super::Cx,
            ) -> Option<Message> {
                let e = &doc.root;
                let path = format!("/{}", e.name);
                $(
                    if e.name == <$t as super::Root>::MESSAGE_TYPE {
                        return Some(Message::$var(<$t as super::Node>::read(e, doc, &path, cx)));
                    }
                )*
                None
            }
        }
    };
}

message_enum! {
    Ceb311(Ceb311Message) = "CEB311Message",
    Ceb312(Ceb312Message) = "CEB312Message",
    Ceb411(Ceb411Message) = "CEB411Message",
    Ceb412(Ceb412Message) = "CEB412Message",
    Ceb511(Ceb511Message) = "CEB511Message",
    Ceb512(Ceb512Message) = "CEB512Message",
    Ceb513(Ceb513Message) = "CEB513Message",
    Ceb514(Ceb514Message) = "CEB514Message",
    Ceb621(Ceb621Message) = "CEB621Message",
    Ceb622(Ceb622Message) = "CEB622Message",
    Ceb623(Ceb623Message) = "CEB623Message",
    Ceb624(Ceb624Message) = "CEB624Message",
    Ceb625(Ceb625Message) = "CEB625Message",
    Ceb626(Ceb626Message) = "CEB626Message",
    Ceb711(Ceb711Message) = "CEB711Message",
    Ceb712(Ceb712Message) = "CEB712Message",
    Ceb816(Ceb816Message) = "CEB816Message",
    Ceb818(Ceb818Message) = "CEB818Message",
    Ceb900(Ceb900Message) = "CEB900Message",
}
