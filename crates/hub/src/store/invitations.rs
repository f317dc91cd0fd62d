//! 参加のご案内: which partners not on the system an office sent the invitation to, and when.

use super::{Audit, Backend, Result, Store, sql_postgres, sql_sqlite};

/// What recording an invitation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invited {
    /// Recorded (first time, or again with a new date).
    Recorded,
    /// Not recorded: the office already remembers `limit` partners.
    Full,
}

impl Store {
    /// Remembers that `office` sent partner `partner` the invitation at `now` (again: the new
    /// date), audited in the same transaction — unless the office already remembers `limit`
    /// other partners.
    pub async fn record_invitation(
        &self,
        office: &str,
        partner: &str,
        by: &str,
        now: i64,
        limit: i64,
        audit: Audit<'_>,
    ) -> Result<Invited> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let known: i64 = sqlx::query_scalar(sql("SELECT COUNT(*) FROM invitations WHERE office = ? AND partner <> ?"))
                .bind(office)
                .bind(partner)
                .fetch_one(&mut *tx)
                .await?;
            if known >= limit {
                return Ok(Invited::Full);
            }
            sqlx::query(sql("INSERT INTO invitations (office, partner, invited_at, invited_by) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (office, partner) DO UPDATE SET invited_at = excluded.invited_at, invited_by = excluded.invited_by"))
            .bind(office)
            .bind(partner)
            .bind(now)
            .bind(by)
            .execute(&mut *tx)
            .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
            Ok(Invited::Recorded)
        })
    }

    /// When `office` last sent partner `partner` the invitation (unix seconds), if ever.
    pub async fn invitation(&self, office: &str, partner: &str) -> Result<Option<i64>> {
        on_pool!(self, |pool, sql| {
            Ok(sqlx::query_scalar(sql("SELECT invited_at FROM invitations WHERE office = ? AND partner = ?"))
                .bind(office)
                .bind(partner)
                .fetch_optional(pool)
                .await?)
        })
    }
}
