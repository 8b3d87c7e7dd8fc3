//! Schema migrations, embedded in the binary so a deployment is one file. Each backend has its
//! own dialect; versions are applied in order at open and recorded in `schema_migrations`.

/// One migration: its version (applied in ascending order), a name for the record, and its SQL.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "records",
        sql: include_str!("../migrations/sqlite/0002_records.sql"),
    },
    Migration {
        version: 3,
        name: "statistics",
        sql: include_str!("../migrations/sqlite/0003_statistics.sql"),
    },
    Migration {
        version: 4,
        name: "portal",
        sql: include_str!("../migrations/sqlite/0004_portal.sql"),
    },
    Migration {
        version: 5,
        name: "personal_data",
        sql: include_str!("../migrations/sqlite/0005_personal_data.sql"),
    },
    Migration {
        version: 6,
        name: "certificates",
        sql: include_str!("../migrations/sqlite/0006_certificates.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "records",
        sql: include_str!("../migrations/postgres/0002_records.sql"),
    },
    Migration {
        version: 3,
        name: "statistics",
        sql: include_str!("../migrations/postgres/0003_statistics.sql"),
    },
    Migration {
        version: 4,
        name: "portal",
        sql: include_str!("../migrations/postgres/0004_portal.sql"),
    },
    Migration {
        version: 5,
        name: "personal_data",
        sql: include_str!("../migrations/postgres/0005_personal_data.sql"),
    },
    Migration {
        version: 6,
        name: "certificates",
        sql: include_str!("../migrations/postgres/0006_certificates.sql"),
    },
];

/// Milliseconds since the Unix epoch, for `schema_migrations.applied_at_ms`.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
