//! 稼働状況 (operating status): one row, set by the operator.

use super::{Audit, Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// The operating status as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// `normal`, `maintenance` or `incident`.
    pub state: String,
    /// What offices read (the incident, the maintenance).
    pub message: String,
    /// Window start (maintenance; unix seconds).
    pub starts_at: Option<i64>,
    /// Window end.
    pub ends_at: Option<i64>,
    /// Set at.
    pub updated_at: i64,
    /// Set by (operator login).
    pub updated_by: String,
}

impl Store {
    /// The operating status, if one was ever set.
    pub async fn operating_status(&self) -> Result<Option<StatusRow>> {
        on_pool!(self, |pool, sql| {
            let r =
                sqlx::query(sql("SELECT state, message, starts_at, ends_at, updated_at, updated_by FROM operating_status WHERE id = 1"))
                    .fetch_optional(pool)
                    .await?;
            Ok(r.map(|r| StatusRow {
                state: r.get(0),
                message: r.get(1),
                starts_at: r.get(2),
                ends_at: r.get(3),
                updated_at: r.get(4),
                updated_by: r.get(5),
            }))
        })
    }

    /// Sets the operating status, audited in the same transaction.
    pub async fn set_operating_status(&self, s: &StatusRow, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("DELETE FROM operating_status WHERE id = 1")).execute(&mut *tx).await?;
            sqlx::query(sql(
                "INSERT INTO operating_status (id, state, message, starts_at, ends_at, updated_at, updated_by) VALUES (1, ?, ?, ?, ?, ?, ?)",
            ))
            .bind(&s.state)
            .bind(&s.message)
            .bind(s.starts_at)
            .bind(s.ends_at)
            .bind(s.updated_at)
            .bind(&s.updated_by)
            .execute(&mut *tx)
            .await?;
            insert_audit!(&mut *tx, sql, &audit, s.updated_at);
            tx.commit().await?;
        });
        Ok(())
    }
}
