//! The message kinds the single window accepts: one row per CEB declaration, and everything that
//! differs between kinds is in its row — the root element (also its journal kind), who sends it,
//! whether a signature is required, how its JSON form is read, how it maps to domain documents,
//! which nodes the retention purge redacts, which room decides it and which receipt answers it.
//! Intake, the signature gate, mapping and purge look the kind up here instead of each keeping
//! its own list.
//!
//! A new kind is one `node!` block in `ceb` (the wire struct and its `Message` variant) plus one
//! row below (and its mapping function in [`crate::mapping`], its receipt in
//! [`crate::outlet::render`] when the engine answers it with a new one): see
//! docs/architecture.md, "Adding a message kind".

use ceb::message::{self as wire, PiiVisitor, Root};
use ceb::{Message, Node};
use domain::clearance::Document;

use crate::mapping::{self, Conv};

/// The room of the domain that decides a kind's documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    /// Import clearance (`domain::clearance`): the three-document match, quotas, tax, release.
    Clearance,
}

/// What the purge calls for each business node it redacts.
pub(crate) type Redact<'a> = dyn FnMut(&mut dyn FnMut(&mut PiiVisitor<'_>)) + 'a;

/// One row of the table: a CEB declaration the single window accepts.
pub struct Kind {
    /// The root element name, e.g. `CEB311Message`; also the journal kind of its entries and the
    /// `messageType` of its JSON form.
    pub message_type: &'static str,
    /// Who transmits it: the enterprise in `BaseTransfer/copCode`, in this role. Intake checks
    /// that it is the authenticated sender.
    pub sender: &'static str,
    /// The room that decides it.
    pub room: Room,
    /// Whether the specification requires an XML signature on it (ceb-spec §1.1): refused
    /// unsigned under the `required` setting.
    pub signed: bool,
    /// The receipt the engine answers it with.
    pub receipt: &'static str,
    /// The enterprise named in `BaseTransfer` (`None` for a message of another kind).
    pub transmitter: fn(&Message) -> Option<&str>,
    /// The message from its JSON form (the root element's fields); errors name the path.
    pub(crate) read_json: fn(serde_json::Value) -> Result<Message, String>,
    /// Its business nodes as domain documents, in document order (see [`mapping`]).
    pub(crate) map: fn(Message, &mut Conv, &str, &mut Vec<Document>),
    /// Walks the personal-data fields of the business nodes flagged (the i-th flag for the i-th
    /// node) for the retention purge; kinds the purge leaves as they are walk nothing.
    pub(crate) redact: fn(&mut Message, &[bool], &mut Redact<'_>),
}

/// One row: the `Message` variant and wire struct, then what differs. `purge: [field]` names the
/// business nodes the retention purge redacts (`purge: []` for none).
macro_rules! kind {
    (
        $variant:ident ($wire:ident) {
            sender: $sender:expr,
            room: $room:expr,
            signed: $signed:expr,
            receipt: $receipt:expr,
            map: $map:path,
            purge: [$($nodes:ident)?] $(,)?
        }
    ) => {
        Kind {
            message_type: <wire::$wire as Root>::MESSAGE_TYPE,
            sender: $sender,
            room: $room,
            signed: $signed,
            receipt: $receipt,
            transmitter: |message| match message {
                Message::$variant(m) => Some(m.base_transfer.cop_code.as_str()),
                _ => None,
            },
            read_json: |value| {
                crate::json::from_json_value::<wire::$wire>(value).map(Message::$variant)
            },
            map: |message, c, root, out| {
                if let Message::$variant(m) = message {
                    $map(m, c, root, out);
                }
            },
            redact: |message, flags, redact| {
                if let Message::$variant(_m) = message {
                    $( each(&mut _m.$nodes, flags, redact); )?
                }
                let _ = (flags, redact);
            },
        }
    };
}

/// The table. Order is the order kinds are listed in messages to senders.
pub static KINDS: [Kind; 8] = [
    kind!(Ceb311(Ceb311Message) {
        sender: "e-commerce platform or enterprise (订单)",
        room: Room::Clearance,
        signed: false,
        receipt: "CEB312Message",
        map: mapping::orders,
        purge: [order],
    }),
    kind!(Ceb411(Ceb411Message) {
        sender: "payment company (支付单)",
        room: Room::Clearance,
        signed: false,
        receipt: "CEB412Message",
        map: mapping::payments,
        purge: [payment],
    }),
    kind!(Ceb511(Ceb511Message) {
        sender: "logistics company (运单)",
        room: Room::Clearance,
        signed: false,
        receipt: "CEB512Message",
        map: mapping::waybills,
        purge: [logistics],
    }),
    kind!(Ceb513(Ceb513Message) {
        sender: "logistics company (运单状态)",
        room: Room::Clearance,
        signed: false,
        receipt: "CEB514Message",
        map: mapping::waybill_statuses,
        purge: [],
    }),
    kind!(Ceb621(Ceb621Message) {
        sender: "declaring agent (清单)",
        room: Room::Clearance,
        signed: true,
        receipt: "CEB622Message",
        map: mapping::inventories,
        purge: [inventory],
    }),
    kind!(Ceb623(Ceb623Message) {
        sender: "declaring agent (撤销申请单)",
        room: Room::Clearance,
        signed: true,
        receipt: "CEB624Message",
        map: mapping::cancels,
        purge: [invt_cancel],
    }),
    kind!(Ceb625(Ceb625Message) {
        sender: "declaring agent (退货申请单)",
        room: Room::Clearance,
        signed: true,
        receipt: "CEB626Message",
        map: mapping::refunds,
        purge: [invt_refund],
    }),
    kind!(Ceb711(Ceb711Message) {
        sender: "bonded-zone operator (入库明细单)",
        room: Room::Clearance,
        signed: true,
        receipt: "CEB712Message",
        map: mapping::deliveries,
        purge: [],
    }),
];

/// The row of a message kind (`CEB311Message` …), or `None` for a kind the single window does
/// not accept (receipts, unknown kinds).
pub fn of(message_type: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.message_type == message_type)
}

/// The kinds as senders read them in an error: `A, B … or Z`.
pub fn listed() -> String {
    let names: Vec<&str> = KINDS.iter().map(|k| k.message_type).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn each<T: Node>(nodes: &mut [T], flags: &[bool], redact: &mut Redact<'_>) {
    for (node, flag) in nodes.iter_mut().zip(flags) {
        if *flag {
            redact(&mut |f| node.walk_pii(f));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_names_its_own_kind_once() {
        for (i, kind) in KINDS.iter().enumerate() {
            assert!(
                of(kind.message_type).is_some_and(|k| std::ptr::eq(k, kind)),
                "{} listed twice",
                kind.message_type
            );
            assert!(KINDS[..i].iter().all(|k| k.receipt != kind.receipt));
        }
        assert!(of("CEB312Message").is_none(), "receipts are not accepted");
    }

    #[test]
    fn the_listing_reads_as_before() {
        assert_eq!(
            listed(),
            "CEB311Message, CEB411Message, CEB511Message, CEB513Message, CEB621Message, \
             CEB623Message, CEB625Message or CEB711Message"
        );
    }
}
