//! Operators of the hub (運営者).

use super::{Audit, Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// An operator account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRow {
    /// Id.
    pub id: i64,
    /// Login ID.
    pub login: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Locked until (unix seconds), after too many failures.
    pub locked_until: Option<i64>,
}

impl Store {
    /// Adds an operator account; returns its id.
    pub async fn add_operator(&self, login: &str, name: &str, password_hash: &str, now: i64, audit: Audit<'_>) -> Result<i64> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("INSERT INTO operators (login, name, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id"))
                .bind(login)
                .bind(name)
                .bind(password_hash)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let out = r.get(0);
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
            Ok(out)
        })
    }

    /// Sets an operator's password: failures cleared, every console session of theirs but
    /// `keep` (the one that made the change) ended, audited, in one transaction.
    pub async fn set_operator_password(&self, id: i64, hash: &str, keep: &str, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE operators SET password_hash = ?, failures = 0, locked_until = NULL WHERE id = ?"))
                .bind(hash)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM operator_sessions WHERE operator_id = ? AND token_hash <> ?"))
                .bind(id)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// An operator by login ID or id: (id, login, name, password hash, locked until).
    pub async fn operator(&self, login: Option<&str>, id: Option<i64>) -> Result<Option<OperatorRow>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT id, login, name, password_hash, locked_until FROM operators WHERE login = ? OR id = ?"))
                .bind(login.unwrap_or(""))
                .bind(id.unwrap_or(-1))
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| OperatorRow { id: r.get(0), login: r.get(1), name: r.get(2), password_hash: r.get(3), locked_until: r.get(4) }))
        })
    }
}
