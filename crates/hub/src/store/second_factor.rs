//! Second factors (TOTP) and recovery codes, for users and operators alike.

use super::{Audit, Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// Whose second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// An office user (portal).
    User(i64),
    /// An operator (console).
    Operator(i64),
}

impl Account {
    /// (accounts table, browser sessions table, session's account column): fixed names.
    fn tables(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Account::User(_) => ("users", "portal_sessions", "user_id"),
            Account::Operator(_) => ("operators", "operator_sessions", "operator_id"),
        }
    }
    /// (browser sessions table, its account column): fixed names.
    pub(super) fn sessions(self) -> (&'static str, &'static str) {
        let (_, table, column) = self.tables();
        (table, column)
    }
    pub(super) fn id(self) -> i64 {
        match self {
            Account::User(id) | Account::Operator(id) => id,
        }
    }
    /// The key of its recovery codes.
    fn key(self) -> String {
        match self {
            Account::User(id) => format!("user:{id}"),
            Account::Operator(id) => format!("operator:{id}"),
        }
    }
}

/// An account's second-factor state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecondFactorRow {
    /// The confirmed TOTP secret (base32), when the second factor is on.
    pub secret: Option<String>,
    /// A secret shown for setting up, not yet confirmed with a code.
    pub pending: Option<String>,
    /// The last time step accepted (a code is good once).
    pub last_step: Option<i64>,
    /// Recovery codes not yet used.
    pub recovery_left: i64,
}

impl Store {
    /// The account's second-factor state.
    pub async fn second_factor(&self, a: Account) -> Result<SecondFactorRow> {
        let (table, ..) = a.tables();
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql(&format!("SELECT totp_secret, totp_pending, totp_last_step FROM {table} WHERE id = ?")))
                .bind(a.id())
                .fetch_optional(pool)
                .await?;
            let left: i64 = sqlx::query(sql("SELECT COUNT(*) FROM recovery_codes WHERE account = ? AND used_at IS NULL"))
                .bind(a.key())
                .fetch_one(pool)
                .await?
                .get(0);
            Ok(r.map(|r| SecondFactorRow { secret: r.get(0), pending: r.get(1), last_step: r.get(2), recovery_left: left })
                .unwrap_or_default())
        })
    }

    /// Keeps a secret being set up (shown as a QR code until confirmed).
    pub async fn set_totp_pending(&self, a: Account, secret: &str) -> Result<()> {
        let (table, ..) = a.tables();
        on_writer!(self, |pool, sql| {
            sqlx::query(sql(&format!("UPDATE {table} SET totp_pending = ? WHERE id = ?"))).bind(secret).bind(a.id()).execute(pool).await?;
        });
        Ok(())
    }

    /// Turns the second factor on with a confirmed secret (the step of the confirming code is
    /// used up), replaces the recovery codes, and audits it, in one transaction.
    pub async fn enable_totp(
        &self,
        a: Account,
        secret: &str,
        step: i64,
        recovery_hashes: &[String],
        now: i64,
        audit: Audit<'_>,
    ) -> Result<()> {
        let (table, ..) = a.tables();
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql(&format!("UPDATE {table} SET totp_secret = ?, totp_pending = NULL, totp_last_step = ? WHERE id = ?")))
                .bind(secret)
                .bind(step)
                .bind(a.id())
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM recovery_codes WHERE account = ?")).bind(a.key()).execute(&mut *tx).await?;
            for h in recovery_hashes {
                sqlx::query(sql("INSERT INTO recovery_codes (account, code_hash) VALUES (?, ?)"))
                    .bind(a.key())
                    .bind(h)
                    .execute(&mut *tx)
                    .await?;
            }
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Uses up a TOTP time step: `true` when it is later than the last one used (so a code that
    /// was seen, by a shoulder or a proxy, cannot be used again).
    pub async fn use_totp_step(&self, a: Account, step: i64) -> Result<bool> {
        let (table, ..) = a.tables();
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql(&format!(
                "UPDATE {table} SET totp_last_step = ? WHERE id = ? AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?)"
            )))
            .bind(step)
            .bind(a.id())
            .bind(step)
            .execute(pool)
            .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Uses up a recovery code (by its hash), audited: `false` when unknown or used.
    pub async fn use_recovery_code(&self, a: Account, code_hash: &str, now: i64, audit: Audit<'_>) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("UPDATE recovery_codes SET used_at = ? WHERE account = ? AND code_hash = ? AND used_at IS NULL"))
                .bind(now)
                .bind(a.key())
                .bind(code_hash)
                .execute(&mut *tx)
                .await?;
            if r.rows_affected() == 1 {
                insert_audit!(&mut *tx, sql, &audit, now);
            }
            tx.commit().await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Turns the second factor off (secret and recovery codes gone), audited.
    pub async fn disable_totp(&self, a: Account, now: i64, audit: Audit<'_>) -> Result<()> {
        let (table, ..) = a.tables();
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql(&format!("UPDATE {table} SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL WHERE id = ?")))
                .bind(a.id())
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM recovery_codes WHERE account = ?")).bind(a.key()).execute(&mut *tx).await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records that a browser session of the account passed the second factor.
    pub async fn mark_second_factor(&self, a: Account, token_hash: &str, now: i64) -> Result<()> {
        let (_, sessions, column) = a.tables();
        on_writer!(self, |pool, sql| {
            sqlx::query(sql(&format!("UPDATE {sessions} SET second_factor_at = ? WHERE token_hash = ? AND {column} = ?")))
                .bind(now)
                .bind(token_hash)
                .bind(a.id())
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
