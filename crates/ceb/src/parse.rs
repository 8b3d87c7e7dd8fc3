//! Entry points: bytes → typed message, or a [`Rejection`] carrying the DXP code.

use base64::Engine;

use crate::message::{Ceb900Message, Cx, Message, MessageReturn};
use crate::schema::{CEB_NS, DXP_NS, Issue, import_schema, validate_root};
use crate::xml::{Document, Element, Limits, XmlError, parse_document};

/// A message that was read: the typed message, the DXP envelope's routing data when it
/// came wrapped, and the business message bytes as received (unwrapped from DXP).
#[derive(Clone, PartialEq, Eq)]
pub struct Parsed {
    pub message: Message,
    pub dxp: Option<DxpInfo>,
    pub business_xml: Vec<u8>,
}

/// The raw bytes hold personal data in clear, so Debug shows only their size.
impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parsed")
            .field("message", &self.message)
            .field("dxp", &self.dxp)
            .field(
                "business_xml",
                &format_args!("<{} bytes>", self.business_xml.len()),
            )
            .finish()
    }
}

/// `DxpMsg/TransInfo` and the parts of `AddInfo` a receiver routes on.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DxpInfo {
    #[serde(rename = "CopMsgId")]
    pub cop_msg_id: String,
    #[serde(rename = "SenderId")]
    pub sender_id: String,
    #[serde(rename = "ReceiverIds")]
    pub receiver_ids: Vec<String>,
    #[serde(rename = "CreatTime")]
    pub creat_time: String,
    #[serde(rename = "MsgType")]
    pub msg_type: String,
    #[serde(rename = "FileName")]
    pub file_name: Option<String>,
}

/// Why a message was refused. `code` is the DXP error code: `0001` not well-formed, bad
/// encoding or hostile input; `0002` schema validation failed; `0999` other format error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message_type: Option<String>,
    pub guid: Option<String>,
    /// The DXP `CopMsgId` when the message came wrapped (CEB900 `oriCopMsgId`).
    pub cop_msg_id: Option<String>,
    pub issues: Vec<Issue>,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.code {
            "0001" => "format error",
            "0002" => "schema validation failed",
            "1001" => "invalid signature (数字签名无效)",
            "1002" => "signature expired (数字签名过期)",
            "1004" => "signature does not match the data (签名与数据不符)",
            "1999" => "signature refused (其他安全错误)",
            _ => "message refused",
        };
        write!(
            f,
            "[{}] {} {what}",
            self.code,
            self.message_type.as_deref().unwrap_or("message")
        )?;
        if let Some(i) = self.issues.first() {
            write!(f, ": {i}")?;
        }
        if self.issues.len() > 1 {
            write!(f, " (and {} more)", self.issues.len() - 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}

/// Longest `returnInfo` the CEB900 schema allows.
const RETURN_INFO_MAX: usize = 5000;

impl Rejection {
    fn format(e: XmlError) -> Rejection {
        Rejection {
            code: "0001",
            message_type: None,
            guid: None,
            cop_msg_id: None,
            issues: vec![Issue::new("/", "xml", e.to_string())],
        }
    }

    /// The CEB900 receipt answering this rejection. `returnStatus` is `-1` for 0001
    /// (format), `-2` for 0002 (schema) and `-9` for anything else; `returnInfo` is
    /// `[Code:NNNN;Desc:…]` followed by the issues, cut to 5000 characters.
    pub fn to_ceb900(&self, return_time: &str, original: &[u8]) -> Ceb900Message {
        let status = match self.code {
            "0001" => "-1",
            "0002" => "-2",
            _ => "-9",
        };
        let mut info = format!("[Code:{};Desc:{}]", self.code, self);
        for i in &self.issues {
            info.push_str("; ");
            info.push_str(&i.to_string());
        }
        if info.chars().count() > RETURN_INFO_MAX {
            info = info.chars().take(RETURN_INFO_MAX - 3).collect();
            info.push_str("...");
        }
        let guid = self
            .guid
            .clone()
            .filter(|g| g.chars().count() == 36)
            .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".to_owned());
        let mut ori_type = self
            .message_type
            .clone()
            .unwrap_or_else(|| "Unknown".to_owned());
        if ori_type.chars().count() > 15 {
            ori_type = "Unknown".to_owned();
        }
        let text = match crate::xml::decode(original) {
            Ok((s, _)) => s,
            Err(_) => String::from_utf8_lossy(original).into_owned(),
        };
        Ceb900Message {
            guid: guid.clone(),
            version: "1.0".to_owned(),
            message_return: MessageReturn {
                guid,
                return_status: status.to_owned(),
                return_info: info,
                return_time: return_time.to_owned(),
                ori_cop_msg_id: self
                    .cop_msg_id
                    .as_deref()
                    .map(|c| c.chars().take(255).collect())
                    .unwrap_or_default(),
                ori_message_type: ori_type,
                ori_biz_message: text,
            },
        }
    }
}

/// Read a CEB message (bare, or wrapped in a DXP `DxpMsg`), validate declarations strictly
/// against the schema, read receipts leniently, and map to the typed message.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Parsed, Rejection> {
    read(bytes, limits, false)
}

/// Check a bare or DXP-wrapped message against the official schema with default limits, receipts
/// as strictly as declarations (for `onewindow validate`, whose verdict must be libxml2's with
/// `import.xsd`). The ingest path keeps reading receipts leniently ([`parse`]).
pub fn check(bytes: &[u8]) -> Result<Message, Rejection> {
    read(bytes, &Limits::default(), true).map(|p| p.message)
}

fn read(bytes: &[u8], limits: &Limits, strict: bool) -> Result<Parsed, Rejection> {
    let doc = parse_document(bytes, limits).map_err(Rejection::format)?;
    if doc.root.ns.as_deref() == Some(DXP_NS) && doc.root.name == "DxpMsg" {
        let issues = validate_root(import_schema(), &doc.root);
        if !issues.is_empty() {
            return Err(Rejection {
                code: "0002",
                message_type: Some("DxpMsg".into()),
                guid: None,
                cop_msg_id: None,
                issues,
            });
        }
        let (info, data) = read_dxp(&doc.root);
        let with_id = |mut r: Rejection| {
            r.cop_msg_id = Some(info.cop_msg_id.clone());
            r
        };
        let inner = decode_data(&data).map_err(with_id)?;
        let inner_doc = parse_document(&inner, limits)
            .map_err(Rejection::format)
            .map_err(with_id)?;
        let message = business(&inner_doc, strict).map_err(with_id)?;
        return Ok(Parsed {
            message,
            dxp: Some(info),
            business_xml: inner,
        });
    }
    let message = business(&doc, strict)?;
    Ok(Parsed {
        message,
        dxp: None,
        business_xml: bytes.to_vec(),
    })
}

/// Validate a bare or DXP-wrapped message with default limits (for `onewindow validate`).
pub fn validate(bytes: &[u8]) -> Result<Message, Rejection> {
    parse(bytes, &Limits::default()).map(|p| p.message)
}

fn decode_data(data: &str) -> Result<Vec<u8>, Rejection> {
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| Rejection {
            code: "0001",
            message_type: Some("DxpMsg".into()),
            guid: None,
            cop_msg_id: None,
            issues: vec![Issue::new(
                "/DxpMsg/Data",
                "base64",
                format!("Data is not valid base64: {e}"),
            )],
        })
}

fn dxp_text(e: &Element, name: &str) -> String {
    e.child(Some(DXP_NS), name)
        .map(|c| c.text.trim().to_owned())
        .unwrap_or_default()
}

fn read_dxp(root: &Element) -> (DxpInfo, String) {
    let mut info = DxpInfo::default();
    if let Some(t) = root.child(Some(DXP_NS), "TransInfo") {
        info.cop_msg_id = dxp_text(t, "CopMsgId");
        info.sender_id = dxp_text(t, "SenderId");
        info.creat_time = dxp_text(t, "CreatTime");
        info.msg_type = dxp_text(t, "MsgType");
        if let Some(r) = t.child(Some(DXP_NS), "ReceiverIds") {
            info.receiver_ids = r
                .children
                .iter()
                .filter(|c| c.name == "ReceiverId")
                .map(|c| c.text.trim().to_owned())
                .collect();
        }
    }
    if let Some(a) = root.child(Some(DXP_NS), "AddInfo") {
        info.file_name = a
            .child(Some(DXP_NS), "FileName")
            .map(|c| c.text.trim().to_owned());
    }
    let data = root
        .child(Some(DXP_NS), "Data")
        .map(|d| d.text.clone())
        .unwrap_or_default();
    (info, data)
}

fn business(doc: &Document, strict: bool) -> Result<Message, Rejection> {
    let root = &doc.root;
    let message_type = Some(root.name.clone());
    let guid = root.attr("guid").map(str::to_owned);
    if root.ns.as_deref() != Some(CEB_NS) {
        return Err(Rejection {
            code: "0001",
            message_type: None,
            guid,
            cop_msg_id: None,
            issues: vec![Issue::new(
                format!("/{}", root.name),
                "namespace",
                format!(
                    "root element {} must be in the namespace {CEB_NS}, found {}",
                    root.name,
                    root.ns.as_deref().unwrap_or("no namespace")
                ),
            )],
        });
    }
    let Some(declaration) = Message::kind_of(&root.name) else {
        return Err(Rejection {
            code: "0002",
            message_type: None,
            guid,
            cop_msg_id: None,
            issues: vec![Issue::new(
                format!("/{}", root.name),
                "unknown-message",
                format!("{} is not an import CEB message", root.name),
            )],
        });
    };
    if declaration || strict {
        let issues = validate_root(import_schema(), root);
        if !issues.is_empty() {
            return Err(Rejection {
                code: "0002",
                message_type,
                guid,
                cop_msg_id: None,
                issues,
            });
        }
    }
    let mut cx = Cx::default();
    let msg = Message::from_tree(doc, &mut cx);
    match msg {
        Some(m) if cx.issues.is_empty() => Ok(m),
        _ => Err(Rejection {
            code: "0002",
            message_type,
            guid,
            cop_msg_id: None,
            issues: cx.issues,
        }),
    }
}

/// The DXP terminal-node envelope (`DxpMsg`) a sender wraps a business message in.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DxpMsg {
    pub trans_info: DxpInfo,
    /// The business message bytes (written base64-encoded in `Data`).
    pub data: Vec<u8>,
}

impl std::fmt::Debug for DxpMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DxpMsg")
            .field("trans_info", &self.trans_info)
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .finish()
    }
}

impl DxpMsg {
    pub fn wrap(business_xml: &[u8], trans_info: DxpInfo) -> DxpMsg {
        DxpMsg {
            trans_info,
            data: business_xml.to_vec(),
        }
    }

    /// The envelope as XML (UTF-8, `ver="1.0"`, `dxp:` prefix).
    pub fn to_xml(&self) -> String {
        use crate::message::write_text;
        let t = &self.trans_info;
        let mut w = String::with_capacity(self.data.len() * 4 / 3 + 1024);
        w.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        w.push_str("<dxp:DxpMsg xmlns:dxp=\"");
        w.push_str(DXP_NS);
        w.push_str("\" ver=\"1.0\"><dxp:TransInfo>");
        write_text(&mut w, "dxp:", "CopMsgId", &t.cop_msg_id);
        write_text(&mut w, "dxp:", "SenderId", &t.sender_id);
        w.push_str("<dxp:ReceiverIds>");
        for r in &t.receiver_ids {
            write_text(&mut w, "dxp:", "ReceiverId", r);
        }
        w.push_str("</dxp:ReceiverIds>");
        write_text(&mut w, "dxp:", "CreatTime", &t.creat_time);
        write_text(&mut w, "dxp:", "MsgType", &t.msg_type);
        w.push_str("</dxp:TransInfo><dxp:Data>");
        w.push_str(&base64::engine::general_purpose::STANDARD.encode(&self.data));
        w.push_str("</dxp:Data>");
        if let Some(f) = &t.file_name {
            w.push_str("<dxp:AddInfo>");
            write_text(&mut w, "dxp:", "FileName", f);
            w.push_str("</dxp:AddInfo>");
        }
        w.push_str("</dxp:DxpMsg>\n");
        w
    }
}
