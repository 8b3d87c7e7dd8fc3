//! Messages that follow a declaration: the waybill's signed-for status (CEB513), the site
//! operator's arrival list (CEB711), and the agent's cancel (CEB623) and return (CEB625) of an
//! accepted inventory. They are read back from the set's own messages, so they always agree
//! with what was declared.

use crate::generator::{DeclarationSet, GeneratedMessage, Generator, message};
use crate::registry::{self, DemoEnterprise};
use crate::xml::{BeijingTime, XmlOut};

/// The text of the first `<ceb:tag>` element of a message this crate wrote.
fn text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<ceb:{tag}>");
    let close = format!("</ceb:{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml.get(start..)?.find(&close)?;
    xml.get(start..start + len)
}

fn first_valid<'a>(set: &'a DeclarationSet, message_type: &str) -> Option<&'a GeneratedMessage> {
    set.messages
        .iter()
        .find(|m| m.message_type == message_type && m.expect_valid)
}

fn filed(code: &str) -> Option<&'static DemoEnterprise> {
    registry::demo_registry().iter().find(|e| e.code == code)
}

/// Inventory head fields shared by CEB623 and CEB625, in their XSD order up to `copNo`.
const KEY_FIELDS: [&str; 9] = [
    "orderNo",
    "ebpCode",
    "ebpName",
    "ebcCode",
    "ebcName",
    "logisticsNo",
    "logisticsCode",
    "logisticsName",
    "copNo",
];
const BUYER_FIELDS: [&str; 4] = [
    "buyerIdType",
    "buyerIdNumber",
    "buyerName",
    "buyerTelephone",
];

impl Generator {
    /// CEB513 — the logistics firm reports the parcel signed for (`S`). `None` when the set
    /// has no valid waybill.
    pub fn logistics_status(
        &mut self,
        set: &DeclarationSet,
        now_ms: i64,
    ) -> Option<GeneratedMessage> {
        const ROOT: &str = "CEB513Message";
        let wb = &first_valid(set, "CEB511Message")?.xml;
        let sender = filed(text(wb, "logisticsCode")?)?;
        let stamp = BeijingTime::from_unix_ms(now_ms).stamp();
        let guid = self.guid();
        let mut x = XmlOut::message(ROOT, &guid, 1200);
        x.open("LogisticsStatus");
        x.text("guid", &guid);
        x.text("appType", "1");
        x.text("appTime", &stamp);
        x.text("appStatus", "2");
        x.text("logisticsCode", sender.code);
        x.text("logisticsName", sender.name);
        x.text("logisticsNo", text(wb, "logisticsNo")?);
        x.text("logisticsStatus", "S");
        x.text("logisticsTime", &stamp);
        x.close("LogisticsStatus");
        x.base_transfer(sender.code, sender.name, sender.dxp_id);
        Some(message(sender, ROOT, guid, x.finish(ROOT)))
    }

    /// CEB711 入库明细单 — the site operator (the agent that is also the bonded/site
    /// operator) lists the parcels of one master bill that arrived at the supervised site:
    /// those of `sets` with the first inventory's bill number and logistics firm.
    pub fn delivery(&mut self, sets: &[&DeclarationSet], now_ms: i64) -> Option<GeneratedMessage> {
        const ROOT: &str = "CEB711Message";
        let invs: Vec<&str> = sets
            .iter()
            .filter_map(|s| first_valid(s, "CEB621Message"))
            .map(|m| m.xml.as_str())
            .collect();
        let first = *invs.first()?;
        let (bill, logi) = (text(first, "billNo")?, text(first, "logisticsCode")?);
        let logistics = filed(logi)?;
        let operator = registry::demo_registry()
            .iter()
            .find(|e| e.has_role("bonded"))?;
        let guid = self.guid();
        let mut x = XmlOut::message(ROOT, &guid, 4096 + 120 * invs.len());
        x.open("Delivery");
        x.open("DeliveryHead");
        x.text("guid", &guid);
        x.text("appType", "1");
        x.text("appTime", &BeijingTime::from_unix_ms(now_ms).stamp());
        x.text("appStatus", "2");
        x.text("customsCode", text(first, "customsCode")?);
        x.text("operatorCode", operator.code);
        x.text("operatorName", operator.name);
        x.text("ieFlag", "I");
        x.text("trafMode", text(first, "trafMode")?);
        x.text("trafNo", text(first, "trafNo")?);
        x.text("voyageNo", text(first, "voyageNo")?);
        x.text("billNo", bill);
        x.text("logisticsCode", logistics.code);
        x.text("logisticsName", logistics.name);
        x.close("DeliveryHead");
        let mut gnum = 0;
        let mut seen = std::collections::HashSet::new();
        for inv in invs {
            let no = text(inv, "logisticsNo")?;
            if text(inv, "billNo") != Some(bill)
                || text(inv, "logisticsCode") != Some(logi)
                || !seen.insert(no)
            {
                continue;
            }
            gnum += 1;
            x.open("DeliveryList");
            x.uint("gnum", gnum);
            x.text("logisticsNo", no);
            x.close("DeliveryList");
        }
        x.close("Delivery");
        x.base_transfer(operator.code, operator.name, operator.dxp_id);
        Some(self.signed(message(operator, ROOT, guid, x.finish(ROOT))))
    }

    /// CEB623 — the declaring agent cancels an accepted inventory (before release).
    /// `invt_no` is the 18-character number customs assigned to it.
    pub fn cancel(
        &mut self,
        set: &DeclarationSet,
        invt_no: &str,
        now_ms: i64,
    ) -> Option<GeneratedMessage> {
        const ROOT: &str = "CEB623Message";
        let inv = &first_valid(set, "CEB621Message")?.xml;
        let agent = filed(text(inv, "agentCode")?)?;
        let guid = self.guid();
        let mut x = XmlOut::message(ROOT, &guid, 4096);
        x.open("InvtCancel");
        self.refund_head(
            &mut x,
            &guid,
            inv,
            agent,
            invt_no,
            now_ms,
            "消费者取消订单(测试)",
        )?;
        x.close("InvtCancel");
        x.base_transfer(agent.code, agent.name, agent.dxp_id);
        Some(self.signed(message(agent, ROOT, guid, x.finish(ROOT))))
    }

    /// CEB625 — the declaring agent returns every line of a released inventory in full.
    pub fn refund(
        &mut self,
        set: &DeclarationSet,
        invt_no: &str,
        now_ms: i64,
    ) -> Option<GeneratedMessage> {
        const ROOT: &str = "CEB625Message";
        let inv = &first_valid(set, "CEB621Message")?.xml;
        let agent = filed(text(inv, "agentCode")?)?;
        let guid = self.guid();
        let mut x = XmlOut::message(ROOT, &guid, 4096);
        x.open("InvtRefund");
        x.open("InvtRefundHead");
        self.refund_head(
            &mut x,
            &guid,
            inv,
            agent,
            invt_no,
            now_ms,
            "七天无理由退货(测试)",
        )?;
        x.close("InvtRefundHead");
        for line in inv.split("<ceb:InventoryList>").skip(1) {
            x.open("InvtRefundList");
            for tag in ["gnum", "gcode", "gname", "qty", "unit"] {
                x.text(tag, text(line, tag)?);
            }
            x.close("InvtRefundList");
        }
        x.close("InvtRefund");
        x.base_transfer(agent.code, agent.name, agent.dxp_id);
        Some(self.signed(message(agent, ROOT, guid, x.finish(ROOT))))
    }

    /// The head CEB623 and CEB625 share (XSD order); CEB623 wraps it in `InvtCancel` itself.
    #[allow(clippy::too_many_arguments)]
    fn refund_head(
        &mut self,
        x: &mut XmlOut,
        guid: &str,
        inv: &str,
        agent: &DemoEnterprise,
        invt_no: &str,
        now_ms: i64,
        reason: &str,
    ) -> Option<()> {
        x.text("guid", guid);
        x.text("appType", "1");
        x.text("appTime", &BeijingTime::from_unix_ms(now_ms).stamp());
        x.text("appStatus", "2");
        x.text("customsCode", text(inv, "customsCode")?);
        for tag in KEY_FIELDS {
            x.text(tag, text(inv, tag)?);
        }
        x.text("invtNo", invt_no);
        for tag in BUYER_FIELDS {
            x.text(tag, text(inv, tag)?);
        }
        x.text("agentCode", agent.code);
        x.text("agentName", agent.name);
        x.text("reason", reason);
        Some(())
    }
}
