//! Column lists and SQL shared by both backends, so that a column added to a row type is added
//! in one place for reads, writes and the digest order.

/// A table column and its PostgreSQL type (used for `UNNEST($n::type[])` bulk writes).
pub(crate) type Column = (&'static str, &'static str);

pub(crate) const JOURNAL: &[Column] = &[
    ("seq", "int8"),
    ("received_at_ms", "int8"),
    ("sender", "text"),
    ("kind", "text"),
    ("guid", "text"),
    ("body", "bytea"),
];

pub(crate) const STATE: &[Column] = &[("namespace", "text"), ("key", "text"), ("value", "bytea")];

pub(crate) const DECLARATIONS: &[Column] = &[
    ("id", "text"),
    ("ebp_code", "text"),
    ("ebc_code", "text"),
    ("order_no", "text"),
    ("agent_code", "text"),
    ("logistics_code", "text"),
    ("logistics_no", "text"),
    ("pay_code", "text"),
    ("cop_no", "text"),
    ("pre_no", "text"),
    ("invt_no", "text"),
    ("documents", "text"),
    ("status", "int4"),
    ("status_info", "text"),
    ("buyer_key", "text"),
    ("value_minor", "int8"),
    ("tax_minor", "int8"),
    ("created_at_ms", "int8"),
    ("updated_at_ms", "int8"),
    ("released_at_ms", "int8"),
];

/// The columns that name a party of a declaration (ebp, ebc, agent, logistics firm, payment
/// institution); each has an index `(column, id)`.
pub(crate) const DECLARATION_PARTIES: &[&str] = &[
    "ebp_code",
    "ebc_code",
    "agent_code",
    "logistics_code",
    "pay_code",
];

pub(crate) const QUOTAS: &[Column] = &[
    ("buyer_key", "text"),
    ("year", "int4"),
    ("used_minor", "int8"),
];

pub(crate) const RECEIPTS: &[Column] = &[
    ("seq", "int8"),
    ("recipient", "text"),
    ("message_type", "text"),
    ("declaration_id", "text"),
    ("business_key", "text"),
    ("return_status", "text"),
    ("created_at_ms", "int8"),
    ("xml", "text"),
    ("json", "text"),
];

pub(crate) const TAX_BILLS: &[Column] = &[
    ("invt_no", "text"),
    ("tax_no", "text"),
    ("declaration_id", "text"),
    ("ebc_code", "text"),
    ("agent_code", "text"),
    ("customs_tax_minor", "int8"),
    ("vat_minor", "int8"),
    ("consumption_tax_minor", "int8"),
    ("status", "int4"),
    ("levy_state", "text"),
    ("released_at_ms", "int8"),
    ("due_from", "text"),
    ("due_until", "text"),
];

pub(crate) const ENTERPRISES: &[Column] = &[
    ("code", "text"),
    ("name", "text"),
    ("roles", "text"),
    ("dxp_id", "text"),
    ("filed_at_ms", "int8"),
    ("active", "bool"),
    ("park", "text"),
];

pub(crate) const CREDENTIALS: &[Column] = &[
    ("key_id", "text"),
    ("subject", "text"),
    ("token_hash", "text"),
    ("created_at_ms", "int8"),
    ("revoked_at_ms", "int8"),
    ("expires_at_ms", "int8"),
];

pub(crate) const RECORDS: &[Column] = &[
    ("kind", "text"),
    ("key", "text"),
    ("party", "text"),
    ("status", "text"),
    ("updated_at_ms", "int8"),
    ("body", "bytea"),
];

pub(crate) const USERS: &[Column] = &[
    ("username", "text"),
    ("subject", "text"),
    ("password_hash", "text"),
    ("created_at_ms", "int8"),
    ("disabled_at_ms", "int8"),
];

pub(crate) const SESSIONS: &[Column] = &[
    ("token_hash", "text"),
    ("username", "text"),
    ("csrf_token", "text"),
    ("created_at_ms", "int8"),
    ("last_seen_ms", "int8"),
];

pub(crate) const CERTIFICATES: &[Column] = &[
    ("enterprise", "text"),
    ("fingerprint", "text"),
    ("serial", "text"),
    ("subject", "text"),
    ("algorithm", "text"),
    ("not_before_ms", "int8"),
    ("not_after_ms", "int8"),
    ("der", "bytea"),
    ("filed_at_ms", "int8"),
    ("revoked_at_ms", "int8"),
];

/// The key of [`CERTIFICATES`].
pub(crate) const CERTIFICATE_KEY: &[&str] = &["enterprise", "fingerprint"];

pub(crate) const AUDIT: &[Column] = &[
    ("seq", "int8"),
    ("at_ms", "int8"),
    ("actor", "text"),
    ("action", "text"),
    ("target", "text"),
    ("outcome", "text"),
    ("source", "text"),
    ("detail", "text"),
    ("prev_hash", "text"),
    ("hash", "text"),
];

/// A page of the audit log: seq after a cursor, each filter applying only when its parameter is
/// not NULL. Parameters: after, actor, action, from, until, limit. The casts type a NULL
/// parameter for PostgreSQL and change nothing for SQLite.
pub(crate) fn audit_page() -> String {
    format!(
        "{} WHERE seq > ?1 AND (CAST(?2 AS TEXT) IS NULL OR actor = ?2) \
         AND (CAST(?3 AS TEXT) IS NULL OR action = ?3) \
         AND (CAST(?4 AS BIGINT) IS NULL OR at_ms >= ?4) \
         AND (CAST(?5 AS BIGINT) IS NULL OR at_ms < ?5) ORDER BY seq LIMIT ?6",
        select("audit_log", AUDIT)
    )
}

/// Tables that `reset_projections` empties (everything but the journal and the credentials).
pub(crate) const PROJECTION_TABLES: &[&str] = &[
    "state",
    "declarations",
    "quotas",
    "receipts",
    "tax_bills",
    "enterprises",
    "records",
    "stat_lists",
    "stat_goods",
    "stat_clearance",
    "stat_rejections",
    "certificates",
];

/// `a, b, c`
pub(crate) fn names(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `SELECT cols FROM table`
pub(crate) fn select(table: &str, columns: &[Column]) -> String {
    format!("SELECT {} FROM {table}", names(columns))
}

/// `a = excluded.a, …` for every column not in the key.
fn set_excluded(columns: &[Column], key: &[&str]) -> String {
    columns
        .iter()
        .filter(|(name, _)| !key.contains(name))
        .map(|(name, _)| format!("{name} = excluded.{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A one-row upsert with `?N` placeholders (rendered per dialect by `sql.rs`).
pub(crate) fn upsert(table: &str, columns: &[Column], key: &[&str]) -> String {
    let placeholders = (1..=columns.len())
        .map(|n| format!("?{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {table} ({}) VALUES ({placeholders}) ON CONFLICT ({}) DO UPDATE SET {}",
        names(columns),
        key.join(", "),
        set_excluded(columns, key)
    )
}

/// A one-row insert with `?N` placeholders (a duplicate key is an error).
pub(crate) fn insert(table: &str, columns: &[Column]) -> String {
    let placeholders = (1..=columns.len())
        .map(|n| format!("?{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {table} ({}) VALUES ({placeholders})",
        names(columns)
    )
}

/// A many-row upsert in one statement: one array parameter per column.
pub(crate) fn postgres_upsert(table: &str, columns: &[Column], key: &[&str]) -> String {
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| format!("${}::{ty}[]", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {table} ({}) SELECT * FROM UNNEST({arrays}) ON CONFLICT ({}) DO UPDATE SET {}",
        names(columns),
        key.join(", "),
        set_excluded(columns, key)
    )
}

/// A binary COPY into an append-only table.
pub(crate) fn postgres_copy(table: &str, columns: &[Column]) -> String {
    format!(
        "COPY {table} ({}) FROM STDIN (FORMAT binary)",
        names(columns)
    )
}

/// Declarations of one party after a cursor: one index range per party column, merged.
/// `op` is `>` after a cursor and `>=` from the start (with the cursor bound to the empty string).
/// Placeholders: party, cursor, limit, written as `p1`, `p2`, `p3` for the caller to substitute.
pub(crate) fn declarations_of_party(op: &str, p1: &str, p2: &str, p3: &str) -> String {
    let branches = DECLARATION_PARTIES
        .iter()
        .map(|col| {
            format!(
                "SELECT id FROM (SELECT id FROM declarations WHERE {col} = {p1} AND id {op} {p2} \
                 ORDER BY id LIMIT {p3}) AS b_{col}"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ");
    format!(
        "{} WHERE id IN ({branches}) ORDER BY id LIMIT {p3}",
        select("declarations", DECLARATIONS)
    )
}

/// Tax bills of one party (as ebc or agent), first `limit` by invt_no: one index range per role,
/// merged, so a party with many bills costs `limit` rows, not all of them.
pub(crate) fn tax_bills_of_party(p1: &str, p2: &str) -> String {
    let branches = ["ebc_code", "agent_code"]
        .iter()
        .map(|col| {
            format!(
                "SELECT invt_no FROM (SELECT invt_no FROM tax_bills WHERE {col} = {p1} \
                 ORDER BY invt_no LIMIT {p2}) AS b_{col}"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ");
    format!(
        "{} WHERE invt_no IN ({branches}) ORDER BY invt_no LIMIT {p2}",
        select("tax_bills", TAX_BILLS)
    )
}

/// The eight shapes of a record listing, indexed by [`records_page_index`]: kind and key range,
/// plus `party = …` and/or `status = …`, each served by one index range of `(kind, party, key)`
/// or `(kind, status, key)`. `>=` from the start (cursor bound to the empty string), `>` after a
/// cursor. Parameters in order: kind, cursor, then party and status when filtered, then limit;
/// `mark` is the placeholder prefix (`?` for SQLite, `$` for PostgreSQL).
pub(crate) fn records_pages(mark: char) -> [String; 8] {
    std::array::from_fn(|i| {
        let (by_party, by_status, after) = (i & 1 != 0, i & 2 != 0, i & 4 != 0);
        let mut n = 2;
        let mut next = || {
            n += 1;
            format!("{mark}{n}")
        };
        let mut filter = String::new();
        if by_party {
            filter.push_str(&format!(" AND party = {}", next()));
        }
        if by_status {
            filter.push_str(&format!(" AND status = {}", next()));
        }
        let op = if after { ">" } else { ">=" };
        format!(
            "{} WHERE kind = {mark}1 AND key {op} {mark}2{filter} ORDER BY key LIMIT {}",
            select("records", RECORDS),
            next()
        )
    })
}

/// Which of [`records_pages`] serves a query.
pub(crate) fn records_page_index(by_party: bool, by_status: bool, after: bool) -> usize {
    usize::from(by_party) | usize::from(by_status) << 1 | usize::from(after) << 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_pages_number_their_placeholders_in_order() {
        let pages = records_pages('$');
        assert_eq!(
            pages[records_page_index(true, true, true)],
            "SELECT kind, key, party, status, updated_at_ms, body FROM records \
             WHERE kind = $1 AND key > $2 AND party = $3 AND status = $4 ORDER BY key LIMIT $5"
        );
        assert!(
            pages[records_page_index(false, true, false)]
                .ends_with("key >= $2 AND status = $3 ORDER BY key LIMIT $4")
        );
        assert!(
            pages[records_page_index(false, false, false)]
                .ends_with("key >= $2 ORDER BY key LIMIT $3")
        );
    }
}
