//! SQLite: [`Access`](crate::Access).

use super::*;

impl Access for SqliteStore {
    fn put_credential(&self, c: &CredentialRow) -> Result<()> {
        let sql = &self.sql.upsert_credential;
        self.write(|conn| {
            conn.prepare_cached(sql)?.execute(params![
                c.key_id,
                c.subject,
                c.token_hash,
                c.created_at_ms,
                c.revoked_at_ms,
                c.expires_at_ms
            ])?;
            Ok(())
        })
    }

    fn credential_by_hash(&self, token_hash: &str) -> Result<Option<CredentialRow>> {
        self.query_opt(&self.sql.credential_by_hash, [token_hash])
    }

    fn credentials_of(&self, subject: &str) -> Result<Vec<CredentialRow>> {
        self.query_rows(&self.sql.credentials_of, [subject])
    }

    fn revoke_credential(&self, key_id: &str, at_ms: i64) -> Result<bool> {
        self.write(|conn| {
            let n = conn
                .prepare_cached(&self.sql.revoke_credential)?
                .execute(params![key_id, at_ms])?;
            Ok(n > 0)
        })
    }

    fn credential(&self, key_id: &str) -> Result<Option<CredentialRow>> {
        self.query_opt(&self.sql.credential, [key_id])
    }

    fn put_user(&self, u: &UserRow) -> Result<()> {
        self.write(|conn| {
            conn.prepare_cached(&self.sql.upsert_user)?
                .execute(params![
                    u.username,
                    u.subject,
                    u.password_hash,
                    u.created_at_ms,
                    u.disabled_at_ms
                ])?;
            Ok(())
        })
    }

    fn user(&self, username: &str) -> Result<Option<UserRow>> {
        self.query_opt(&self.sql.user, [username])
    }

    fn users(&self) -> Result<Vec<UserRow>> {
        self.query_rows(&self.sql.users, [])
    }

    fn set_user_disabled(&self, username: &str, disabled_at_ms: Option<i64>) -> Result<bool> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached(&self.sql.disable_user)?
                .execute(params![username, disabled_at_ms])?;
            if disabled_at_ms.is_some() {
                tx.prepare_cached(&self.sql.delete_sessions_of)?
                    .execute([username])?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached(&self.sql.set_password)?
                .execute(params![username, password_hash])?;
            tx.prepare_cached(&self.sql.delete_sessions_of)?
                .execute([username])?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn put_session(&self, s: &SessionRow) -> Result<()> {
        self.write(|conn| {
            conn.prepare_cached(&self.sql.insert_session)?
                .execute(params![
                    s.token_hash,
                    s.username,
                    s.csrf_token,
                    s.created_at_ms,
                    s.last_seen_ms
                ])?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        self.query_opt(&self.sql.session, [token_hash])
    }

    fn touch_session(&self, token_hash: &str, last_seen_ms: i64) -> Result<()> {
        self.write(|conn| {
            conn.prepare_cached(&self.sql.touch_session)?
                .execute(params![token_hash, last_seen_ms])?;
            Ok(())
        })
    }

    fn delete_session(&self, token_hash: &str) -> Result<bool> {
        self.write(|conn| {
            let n = conn
                .prepare_cached(&self.sql.delete_session)?
                .execute([token_hash])?;
            Ok(n > 0)
        })
    }

    fn delete_sessions_of(&self, username: &str) -> Result<usize> {
        self.write(|conn| {
            conn.prepare_cached(&self.sql.delete_sessions_of)?
                .execute([username])
        })
    }

    fn delete_expired_sessions(
        &self,
        idle_before_ms: i64,
        created_before_ms: i64,
    ) -> Result<usize> {
        self.write(|conn| {
            conn.prepare_cached(&self.sql.delete_expired_sessions)?
                .execute(params![idle_before_ms, created_before_ms])
        })
    }
}
