//! Who may call: API credentials, portal accounts and their sessions. Kept outside the journal
//! and the digest, and kept by `reset_projections`.

use crate::{CredentialRow, Result, SessionRow, UserRow};

/// API credentials (only token hashes are kept), portal accounts and login sessions.
pub trait Access {
    fn put_credential(&self, credential: &CredentialRow) -> Result<()>;

    fn credential_by_hash(&self, token_hash: &str) -> Result<Option<CredentialRow>>;

    fn credentials_of(&self, subject: &str) -> Result<Vec<CredentialRow>>;

    /// Mark revoked; returns whether a live credential was revoked.
    fn revoke_credential(&self, key_id: &str, at_ms: i64) -> Result<bool>;

    // the journal and the digest, and kept by `reset_projections`. ----

    /// Create or replace an account (by username).
    fn put_user(&self, user: &UserRow) -> Result<()>;

    fn user(&self, username: &str) -> Result<Option<UserRow>>;

    /// Every account, by username.
    fn users(&self) -> Result<Vec<UserRow>>;

    /// Disable (`Some(at)`) or enable (`None`) an account. Disabling deletes its sessions in the
    /// same transaction, so it is logged out at once. Returns whether the account exists.
    fn set_user_disabled(&self, username: &str, disabled_at_ms: Option<i64>) -> Result<bool>;

    /// Replace an account's password hash and end its sessions, in one transaction. Returns
    /// whether the account exists.
    fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool>;

    fn put_session(&self, session: &SessionRow) -> Result<()>;

    fn session(&self, token_hash: &str) -> Result<Option<SessionRow>>;

    /// Record activity (the idle timeout counts from the last one).
    fn touch_session(&self, token_hash: &str, last_seen_ms: i64) -> Result<()>;

    /// Returns whether a session was deleted.
    fn delete_session(&self, token_hash: &str) -> Result<bool>;

    /// End every session of an account; returns how many.
    fn delete_sessions_of(&self, username: &str) -> Result<usize>;

    /// Delete sessions last seen before `idle_before_ms` or created before `created_before_ms`;
    /// returns how many.
    fn delete_expired_sessions(&self, idle_before_ms: i64, created_before_ms: i64)
    -> Result<usize>;

    /// A credential by key id (live or not).
    fn credential(&self, key_id: &str) -> Result<Option<CredentialRow>>;
}
