//! PostgreSQL: [`Access`](crate::Access).

use super::*;

impl Access for PostgresStore {
    fn put_credential(&self, cr: &CredentialRow) -> Result<()> {
        let sql = self.sql.upsert_credential.as_str();
        self.write(|c| {
            let st = c.statement(sql)?;
            c.client.execute(
                &st,
                &[
                    &cr.key_id,
                    &cr.subject,
                    &cr.token_hash,
                    &cr.created_at_ms,
                    &cr.revoked_at_ms,
                    &cr.expires_at_ms,
                ],
            )?;
            Ok(())
        })
    }

    fn credential_by_hash(&self, token_hash: &str) -> Result<Option<CredentialRow>> {
        self.query_opt(&self.sql.credential_by_hash, &[&token_hash])
    }

    fn credentials_of(&self, subject: &str) -> Result<Vec<CredentialRow>> {
        self.query_rows(&self.sql.credentials_of, &[&subject])
    }

    fn revoke_credential(&self, key_id: &str, at_ms: i64) -> Result<bool> {
        let sql = self.sql.revoke_credential.as_str();
        self.write(|c| {
            let st = c.statement(sql)?;
            Ok(c.client.execute(&st, &[&key_id, &at_ms])? > 0)
        })
    }

    fn credential(&self, key_id: &str) -> Result<Option<CredentialRow>> {
        self.query_opt(&self.sql.credential, &[&key_id])
    }

    fn put_user(&self, u: &UserRow) -> Result<()> {
        self.write(|c| {
            let st = c.statement(&self.sql.upsert_user)?;
            c.client.execute(
                &st,
                &[
                    &u.username,
                    &u.subject,
                    &u.password_hash,
                    &u.created_at_ms,
                    &u.disabled_at_ms,
                ],
            )?;
            Ok(())
        })
    }

    fn user(&self, username: &str) -> Result<Option<UserRow>> {
        self.query_opt(&self.sql.user, &[&username])
    }

    fn users(&self) -> Result<Vec<UserRow>> {
        self.query_rows(&self.sql.users, &[])
    }

    fn set_user_disabled(&self, username: &str, disabled_at_ms: Option<i64>) -> Result<bool> {
        self.write(|c| {
            let mut tx = c.client.transaction()?;
            let n = tx.execute(&self.sql.disable_user, &[&username, &disabled_at_ms])?;
            if disabled_at_ms.is_some() {
                tx.execute(&self.sql.delete_sessions_of, &[&username])?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool> {
        self.write(|c| {
            let mut tx = c.client.transaction()?;
            let n = tx.execute(&self.sql.set_password, &[&username, &password_hash])?;
            tx.execute(&self.sql.delete_sessions_of, &[&username])?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn put_session(&self, s: &SessionRow) -> Result<()> {
        self.write(|c| {
            let st = c.statement(&self.sql.insert_session)?;
            c.client.execute(
                &st,
                &[
                    &s.token_hash,
                    &s.username,
                    &s.csrf_token,
                    &s.created_at_ms,
                    &s.last_seen_ms,
                ],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        self.query_opt(&self.sql.session, &[&token_hash])
    }

    fn touch_session(&self, token_hash: &str, last_seen_ms: i64) -> Result<()> {
        self.write(|c| {
            let st = c.statement(&self.sql.touch_session)?;
            c.client.execute(&st, &[&token_hash, &last_seen_ms])?;
            Ok(())
        })
    }

    fn delete_session(&self, token_hash: &str) -> Result<bool> {
        self.write(|c| {
            let st = c.statement(&self.sql.delete_session)?;
            Ok(c.client.execute(&st, &[&token_hash])? > 0)
        })
    }

    fn delete_sessions_of(&self, username: &str) -> Result<usize> {
        self.write(|c| {
            let st = c.statement(&self.sql.delete_sessions_of)?;
            Ok(usize::try_from(c.client.execute(&st, &[&username])?).unwrap_or(usize::MAX))
        })
    }

    fn delete_expired_sessions(
        &self,
        idle_before_ms: i64,
        created_before_ms: i64,
    ) -> Result<usize> {
        self.write(|c| {
            let st = c.statement(&self.sql.delete_expired_sessions)?;
            let n = c
                .client
                .execute(&st, &[&idle_before_ms, &created_before_ms])?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
}
