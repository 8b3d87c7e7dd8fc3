//! Fictitious rows. Codes and names are invented; buyer keys stand for keyed hashes.

use store::{
    Batch, CredentialRow, DeclarationRow, EnterpriseRow, JournalRecord, QuotaRow, ReceiptRow,
    RecordRow, StateRow, TaxBillRow,
};

pub fn journal(seq: i64) -> JournalRecord {
    JournalRecord {
        seq,
        received_at_ms: 1_767_225_600_000 + seq,
        sender: "3301960TST".into(),
        kind: "CEB311Message".into(),
        guid: format!("4CDE1CFD-EDED-46B1-946C-{seq:012}"),
        body: format!("<ceb:CEB311Message guid=\"{seq}\">订单 {seq}</ceb:CEB311Message>")
            .into_bytes(),
    }
}

pub fn state(namespace: &str, key: &str, value: Option<&[u8]>) -> StateRow {
    StateRow {
        namespace: namespace.into(),
        key: key.into(),
        value: value.map(<[u8]>::to_vec),
    }
}

/// A declaration with every party named after `id`, so each party code is unique to it.
pub fn declaration(id: &str) -> DeclarationRow {
    DeclarationRow {
        id: id.into(),
        ebp_code: format!("EBP-{id}"),
        ebc_code: format!("EBC-{id}"),
        order_no: format!("ORDER-{id}"),
        agent_code: Some(format!("AGENT-{id}")),
        logistics_code: Some(format!("LOG-{id}")),
        logistics_no: Some(format!("SF{id}")),
        pay_code: Some(format!("PAY-{id}")),
        cop_no: Some(format!("COP{id}")),
        pre_no: None,
        invt_no: None,
        documents: "order,payment".into(),
        status: 0,
        status_info: String::new(),
        buyer_key: Some(format!("bk-{id}")),
        value_minor: 12_345,
        tax_minor: 1_123,
        created_at_ms: 1_767_225_600_000,
        updated_at_ms: 1_767_225_600_000,
        released_at_ms: None,
    }
}

pub fn quota(buyer_key: &str, year: i32, used_minor: i64) -> QuotaRow {
    QuotaRow {
        buyer_key: buyer_key.into(),
        year,
        used_minor,
    }
}

pub fn receipt(seq: i64, recipient: &str, declaration_id: Option<&str>) -> ReceiptRow {
    ReceiptRow {
        seq,
        recipient: recipient.into(),
        message_type: "CEB622Message".into(),
        declaration_id: declaration_id.map(Into::into),
        business_key: format!("ebp=EBP order=ORDER-{seq}"),
        return_status: "120".into(),
        created_at_ms: 1_767_225_600_000 + seq,
        xml: format!(
            "<ceb:CEB622Message><returnStatus>120</returnStatus>{seq}</ceb:CEB622Message>"
        ),
        json: format!("{{\"returnStatus\":\"120\",\"seq\":{seq}}}"),
    }
}

pub fn tax_bill(invt_no: &str, ebc: &str, agent: &str) -> TaxBillRow {
    TaxBillRow {
        invt_no: invt_no.into(),
        tax_no: format!("TAX{invt_no}"),
        declaration_id: format!("D-{invt_no}"),
        ebc_code: ebc.into(),
        agent_code: agent.into(),
        customs_tax_minor: 0,
        vat_minor: 1_001,
        consumption_tax_minor: 2_002,
        status: 1,
        levy_state: "pending".into(),
        released_at_ms: 1_767_225_600_000,
        due_from: "20260201".into(),
        due_until: "20260215".into(),
    }
}

pub fn enterprise(code: &str, active: bool) -> EnterpriseRow {
    EnterpriseRow {
        code: code.into(),
        name: format!("示例企业 {code}"),
        roles: "ebp,ebc".into(),
        dxp_id: if active {
            Some(format!("DXPENT{code}"))
        } else {
            None
        },
        filed_at_ms: 1_767_225_600_000,
        active,
        park: active.then(|| "HZ-XS".to_string()),
    }
}

pub fn credential(key_id: &str, subject: &str, token_hash: &str, at: i64) -> CredentialRow {
    CredentialRow {
        key_id: key_id.into(),
        subject: subject.into(),
        token_hash: token_hash.into(),
        created_at_ms: at,
        revoked_at_ms: None,
        expires_at_ms: None,
    }
}

/// A supervision record whose body names its kind, key and status (JSON, with a CJK term and a
/// keyed hash standing in for a person, as the domain writes them).
pub fn record(kind: &str, key: &str, party: Option<&str>, status: &str) -> RecordRow {
    RecordRow {
        kind: kind.into(),
        key: key.into(),
        party: party.map(Into::into),
        status: status.into(),
        updated_at_ms: 1_767_225_600_000,
        body: format!(
            "{{\"kind\":\"{kind}\",\"key\":\"{key}\",\"status\":\"{status}\",\
             \"note\":\"信用档案\",\"buyer\":\"bk-0001\"}}"
        ),
    }
}

/// A batch with one row of every kind, applying journal entry `seq`.
pub fn full_batch(seq: i64) -> Batch {
    let id = format!("D{seq:04}");
    Batch {
        append: vec![journal(seq)],
        applied: seq,
        state: vec![state("decl", &id, Some(b"\x00\x01state"))],
        declarations: vec![declaration(&id)],
        quotas: vec![quota(&format!("bk-{id}"), 2026, 12_345)],
        receipts: vec![receipt(seq, &format!("EBP-{id}"), Some(&id))],
        tax_bills: vec![tax_bill(
            &format!("INVT{seq}"),
            &format!("EBC-{id}"),
            "AGENT",
        )],
        enterprises: vec![enterprise(&format!("E{seq}"), seq % 2 == 0)],
        records: vec![record(
            "credit",
            &format!("E{seq}"),
            Some(&format!("E{seq}")),
            "A",
        )],
        ..Batch::default()
    }
}
