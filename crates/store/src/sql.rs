//! The statements both backends run, each written once with SQLite's `?N` placeholders and
//! rendered per dialect (`$N` for PostgreSQL) when a store opens. Column lists come from
//! `schema.rs` and rows are read by the mappers of `rows.rs`, so a new query is one field here
//! and a call in each backend's trait file.
//!
//! What stays dialect-specific lives in the backend: the SQLite write path (one prepared upsert
//! per row), the PostgreSQL write path (binary `COPY` for the append-only journal and receipts,
//! one `UNNEST` upsert per table: several times faster than row by row, see BENCHMARKS.md), the
//! migrations, locks, and the administrative scans of `reseal` and `key_usage`.

use crate::StatTable;
use crate::schema::*;

/// The SQL dialect a statement is rendered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Placeholder number `n`.
    pub(crate) fn mark(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// A statement written with `?N` placeholders, for this dialect. Our statements hold no
    /// string literal with a `?` in it, so every `?` followed by digits is a placeholder.
    pub(crate) fn render(self, text: &str) -> String {
        match self {
            Dialect::Sqlite => text.to_owned(),
            Dialect::Postgres => {
                let mut out = String::with_capacity(text.len());
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
                        out.push('$');
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }
}

/// The shared statements, rendered for one dialect.
pub(crate) struct Statements {
    pub positions: String,
    pub applied: String,
    pub set_applied: String,
    pub journal_after: String,
    pub load_state: String,
    pub state_value: String,
    pub declaration: String,
    pub declarations_all_from: String,
    pub declarations_all_after: String,
    pub declarations_party_from: String,
    pub declarations_party_after: String,
    pub declaration_status_counts: String,
    pub receipts_after: String,
    pub receipts_of_recipient_after: String,
    pub receipts_of: String,
    pub quota: String,
    pub tax_bill: String,
    pub tax_bills_all: String,
    pub tax_bills_of: String,
    pub enterprises: String,
    pub enterprise: String,
    pub record: String,
    pub records_pages: [String; 8],
    pub count_records: String,
    pub count_records_in_status: String,
    pub certificates_of: String,
    pub certificates_all: String,
    pub upsert_certificate: String,
    pub revoke_certificate: String,
    pub upsert_credential: String,
    pub credential_by_hash: String,
    pub credentials_of: String,
    pub credential: String,
    pub revoke_credential: String,
    pub upsert_user: String,
    pub user: String,
    pub users: String,
    pub disable_user: String,
    pub set_password: String,
    pub insert_session: String,
    pub session: String,
    pub touch_session: String,
    pub delete_session: String,
    pub delete_sessions_of: String,
    pub delete_expired_sessions: String,
    pub audit_head: String,
    pub insert_audit: String,
    pub audit_page: String,
    pub digest_state: String,
    pub digest_declarations: String,
    pub digest_quotas: String,
    pub digest_receipts: String,
    pub digest_tax_bills: String,
    pub digest_enterprises: String,
    pub digest_records: String,
    pub digest_certificates: String,
    /// Per [`StatTable::ALL`]: the digest order.
    pub stat_digests: [String; 4],
}

impl Statements {
    pub(crate) fn new(dialect: Dialect) -> Self {
        let r = |text: String| dialect.render(&text);
        let sel_decl = select("declarations", DECLARATIONS);
        let sel_rcpt = select("receipts", RECEIPTS);
        let sel_tax = select("tax_bills", TAX_BILLS);
        let sel_ent = select("enterprises", ENTERPRISES);
        let sel_cred = select("credentials", CREDENTIALS);
        let sel_rec = select("records", RECORDS);
        let sel_cert = select("certificates", CERTIFICATES);
        let sel_user = select("portal_users", USERS);
        let sel_session = select("portal_sessions", SESSIONS);
        Statements {
            positions: "SELECT (SELECT COALESCE(MAX(seq), 0) FROM journal), \
                        COALESCE((SELECT applied FROM store_position WHERE id = 1), 0), \
                        (SELECT COALESCE(MAX(seq), 0) FROM receipts)"
                .into(),
            applied: "SELECT COALESCE((SELECT applied FROM store_position WHERE id = 1), 0)".into(),
            set_applied: r("UPDATE store_position SET applied = ?1 WHERE id = 1".into()),
            journal_after: r(format!(
                "{} WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                select("journal", JOURNAL)
            )),
            load_state: format!("{} ORDER BY namespace, key", select("state", STATE)),
            state_value: r("SELECT value FROM state WHERE namespace = ?1 AND key = ?2".into()),
            declaration: r(format!("{sel_decl} WHERE id = ?1")),
            declarations_all_from: r(format!("{sel_decl} WHERE id >= ?1 ORDER BY id LIMIT ?2")),
            declarations_all_after: r(format!("{sel_decl} WHERE id > ?1 ORDER BY id LIMIT ?2")),
            declarations_party_from: r(declarations_of_party(">=", "?1", "?2", "?3")),
            declarations_party_after: r(declarations_of_party(">", "?1", "?2", "?3")),
            declaration_status_counts:
                "SELECT status, COUNT(*) FROM declarations GROUP BY status ORDER BY status".into(),
            receipts_after: r(format!("{sel_rcpt} WHERE seq > ?1 ORDER BY seq LIMIT ?2")),
            receipts_of_recipient_after: r(format!(
                "{sel_rcpt} WHERE recipient = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            )),
            receipts_of: r(format!("{sel_rcpt} WHERE declaration_id = ?1 ORDER BY seq")),
            quota: r(format!(
                "{} WHERE buyer_key = ?1 AND year = ?2",
                select("quotas", QUOTAS)
            )),
            tax_bill: r(format!("{sel_tax} WHERE invt_no = ?1")),
            tax_bills_all: r(format!("{sel_tax} ORDER BY invt_no LIMIT ?1")),
            tax_bills_of: r(tax_bills_of_party("?1", "?2")),
            enterprises: format!("{sel_ent} ORDER BY code"),
            enterprise: r(format!("{sel_ent} WHERE code = ?1")),
            record: r(format!("{sel_rec} WHERE kind = ?1 AND key = ?2")),
            records_pages: records_pages('?').map(|page| dialect.render(&page)),
            count_records: r("SELECT COUNT(*) FROM records WHERE kind = ?1".into()),
            count_records_in_status: r(
                "SELECT COUNT(*) FROM records WHERE kind = ?1 AND status = ?2".into(),
            ),
            certificates_of: r(format!(
                "{sel_cert} WHERE enterprise = ?1 ORDER BY filed_at_ms, fingerprint"
            )),
            certificates_all: format!("{sel_cert} ORDER BY enterprise, filed_at_ms, fingerprint"),
            upsert_certificate: r(upsert("certificates", CERTIFICATES, CERTIFICATE_KEY)),
            revoke_certificate: r("UPDATE certificates SET revoked_at_ms = ?3 \
                 WHERE enterprise = ?1 AND fingerprint = ?2 AND revoked_at_ms IS NULL"
                .into()),
            upsert_credential: r(upsert("credentials", CREDENTIALS, &["key_id"])),
            credential_by_hash: r(format!("{sel_cred} WHERE token_hash = ?1")),
            credentials_of: r(format!(
                "{sel_cred} WHERE subject = ?1 ORDER BY created_at_ms, key_id"
            )),
            credential: r(format!("{sel_cred} WHERE key_id = ?1")),
            revoke_credential: r("UPDATE credentials SET revoked_at_ms = ?2 \
                 WHERE key_id = ?1 AND revoked_at_ms IS NULL"
                .into()),
            upsert_user: r(upsert("portal_users", USERS, &["username"])),
            user: r(format!("{sel_user} WHERE username = ?1")),
            users: format!("{sel_user} ORDER BY username"),
            disable_user: r(
                "UPDATE portal_users SET disabled_at_ms = ?2 WHERE username = ?1".into(),
            ),
            set_password: r(
                "UPDATE portal_users SET password_hash = ?2 WHERE username = ?1".into(),
            ),
            insert_session: r(insert("portal_sessions", SESSIONS)),
            session: r(format!("{sel_session} WHERE token_hash = ?1")),
            // The later of the two, in words both dialects know (`MAX`/`GREATEST` differ).
            touch_session: r("UPDATE portal_sessions SET last_seen_ms = CASE \
                 WHEN last_seen_ms < ?2 THEN ?2 ELSE last_seen_ms END WHERE token_hash = ?1"
                .into()),
            delete_session: r("DELETE FROM portal_sessions WHERE token_hash = ?1".into()),
            delete_sessions_of: r("DELETE FROM portal_sessions WHERE username = ?1".into()),
            delete_expired_sessions: r(
                "DELETE FROM portal_sessions WHERE last_seen_ms < ?1 OR created_at_ms < ?2".into(),
            ),
            audit_head: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1".into(),
            insert_audit: r(insert("audit_log", AUDIT)),
            audit_page: r(audit_page()),
            digest_state: format!("{} ORDER BY namespace, key", select("state", STATE)),
            digest_declarations: format!("{sel_decl} ORDER BY id"),
            digest_quotas: format!("{} ORDER BY buyer_key, year", select("quotas", QUOTAS)),
            digest_receipts: format!("{sel_rcpt} ORDER BY seq"),
            digest_tax_bills: format!("{sel_tax} ORDER BY invt_no"),
            digest_enterprises: format!("{sel_ent} ORDER BY code"),
            digest_records: format!("{sel_rec} ORDER BY kind, key"),
            digest_certificates: format!("{sel_cert} ORDER BY enterprise, fingerprint"),
            stat_digests: StatTable::ALL.map(crate::stats::digest_sql),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rendered_per_dialect() {
        let text = "SELECT a FROM t WHERE b = ?1 AND c > ?12 LIMIT ?2";
        assert_eq!(Dialect::Sqlite.render(text), text);
        assert_eq!(
            Dialect::Postgres.render(text),
            "SELECT a FROM t WHERE b = $1 AND c > $12 LIMIT $2"
        );
        let pg = Statements::new(Dialect::Postgres);
        assert!(!pg.records_pages.iter().any(|p| p.contains('?')));
        assert!(pg.audit_page.contains("CAST($2 AS TEXT) IS NULL"));
    }
}
