//! Notices (お知らせ): to every office, one prefecture or one office, for a period; editable and
//! withdrawable.

use super::{Audit, Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// A notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// Internal id.
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Target office (`None`: not one office).
    pub office: Option<String>,
    /// Target prefecture (1–47; `None`: not one prefecture).
    pub prefecture: Option<i64>,
    /// `operator`, `license`, `non_delivery`, `terminal_enrolled`…
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Published at.
    pub published_at: i64,
    /// Shown from (unix seconds; `None`: from publication).
    pub starts_at: Option<i64>,
    /// Shown until (unix seconds; `None`: no end).
    pub expires_at: Option<i64>,
    /// Last edited at.
    pub updated_at: Option<i64>,
    /// Withdrawn at (no longer shown).
    pub withdrawn_at: Option<i64>,
}

impl NoticeRow {
    /// `true` when shown at `now`: not withdrawn, within its period.
    pub fn shown_at(&self, now: i64) -> bool {
        self.withdrawn_at.is_none() && self.starts_at.is_none_or(|s| s <= now) && self.expires_at.is_none_or(|e| e > now)
    }
    /// `true` for a notice to every office (no office, no prefecture).
    pub fn for_everyone(&self) -> bool {
        self.office.is_none() && self.prefecture.is_none()
    }
}

/// A notice to publish.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewNotice {
    /// Public id.
    pub public_id: String,
    /// The office it is for (`None`: not one office).
    pub office: Option<String>,
    /// The prefecture it is for (`None`: not one prefecture).
    pub prefecture: Option<i64>,
    /// Kind (`operator`, `license`, `terminal_enrolled`, `expired`…).
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Shown from (`None`: at once).
    pub starts_at: Option<i64>,
    /// Shown until (`None`: no end).
    pub expires_at: Option<i64>,
}

/// What an edit of a notice changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeEdit {
    /// Target office.
    pub office: Option<String>,
    /// Target prefecture.
    pub prefecture: Option<i64>,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Shown from.
    pub starts_at: Option<i64>,
    /// Shown until.
    pub expires_at: Option<i64>,
}

const COLUMNS: &str = "id, public_id, office, prefecture, kind, title, body, published_at, starts_at, expires_at, updated_at, withdrawn_at";

fn row(r: &impl RowLike) -> NoticeRow {
    NoticeRow {
        id: r.i(0),
        public_id: r.s(1),
        office: r.os(2),
        prefecture: r.oi(3),
        kind: r.s(4),
        title: r.s(5),
        body: r.s(6),
        published_at: r.i(7),
        starts_at: r.oi(8),
        expires_at: r.oi(9),
        updated_at: r.oi(10),
        withdrawn_at: r.oi(11),
    }
}

/// Reads columns of either back end's row.
trait RowLike {
    fn i(&self, n: usize) -> i64;
    fn oi(&self, n: usize) -> Option<i64>;
    fn s(&self, n: usize) -> String;
    fn os(&self, n: usize) -> Option<String>;
}

macro_rules! row_like {
    ($t:ty) => {
        impl RowLike for $t {
            fn i(&self, n: usize) -> i64 {
                self.get(n)
            }
            fn oi(&self, n: usize) -> Option<i64> {
                self.get(n)
            }
            fn s(&self, n: usize) -> String {
                self.get(n)
            }
            fn os(&self, n: usize) -> Option<String> {
                self.get(n)
            }
        }
    };
}
row_like!(sqlx::sqlite::SqliteRow);
row_like!(sqlx::postgres::PgRow);

impl Store {
    /// Publishes a notice, audited in the same transaction.
    pub async fn add_notice(&self, n: &NewNotice, now: i64, audit: Audit<'_>) -> Result<NoticeRow> {
        let id: i64 = on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let id = insert_notice!(&mut *tx, sql, n, now);
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
            id
        });
        Ok(NoticeRow {
            id,
            public_id: n.public_id.clone(),
            office: n.office.clone(),
            prefecture: n.prefecture,
            kind: n.kind.clone(),
            title: n.title.clone(),
            body: n.body.clone(),
            published_at: now,
            starts_at: n.starts_at,
            expires_at: n.expires_at,
            updated_at: None,
            withdrawn_at: None,
        })
    }

    /// Notices newer than `after` (by id), oldest last, whatever their target and state: the
    /// hub's poll that turns new notices into events.
    pub async fn notices_after(&self, after: i64, limit: i64) -> Result<Vec<NoticeRow>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql(&format!("SELECT {COLUMNS} FROM notices WHERE id > ? ORDER BY id DESC LIMIT ?")))
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(row).collect())
        })
    }

    /// The newest notice id (0 when none).
    pub async fn last_notice_id(&self) -> Result<i64> {
        on_pool!(self, |pool, sql| {
            let id: Option<i64> = sqlx::query(sql("SELECT MAX(id) FROM notices")).fetch_one(pool).await?.get(0);
            Ok(id.unwrap_or(0))
        })
    }

    /// Notices shown to an office at `now` (to everyone, to its prefecture, to it), newest first.
    /// Without an office: the notices to everyone.
    pub async fn notices(&self, office: Option<&str>, now: i64, limit: i64) -> Result<Vec<NoticeRow>> {
        let prefecture: Option<i64> = office.and_then(|o| o.get(..2)).and_then(|p| p.parse().ok());
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql(&format!(
                "SELECT {COLUMNS} FROM notices WHERE withdrawn_at IS NULL \
                 AND (starts_at IS NULL OR starts_at <= ?) AND (expires_at IS NULL OR expires_at > ?) \
                 AND ((office IS NULL AND prefecture IS NULL) OR office = ? OR prefecture = ?) \
                 ORDER BY id DESC LIMIT ?"
            )))
            .bind(now)
            .bind(now)
            .bind(office)
            .bind(prefecture)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(row).collect())
        })
    }

    /// The operator's notices (kind `operator`), every state, newest first.
    pub async fn operator_notices(&self, limit: i64) -> Result<Vec<NoticeRow>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql(&format!("SELECT {COLUMNS} FROM notices WHERE kind = 'operator' ORDER BY id DESC LIMIT ?")))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(row).collect())
        })
    }

    /// One notice by its public id.
    pub async fn notice(&self, public_id: &str) -> Result<Option<NoticeRow>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql(&format!("SELECT {COLUMNS} FROM notices WHERE public_id = ?")))
                .bind(public_id)
                .fetch_optional(pool)
                .await?;
            Ok(r.as_ref().map(row))
        })
    }

    /// Edits a notice that is not withdrawn, audited. `false` when there is none to edit.
    pub async fn edit_notice(&self, public_id: &str, e: &NoticeEdit, now: i64, audit: Audit<'_>) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql(
                "UPDATE notices SET office = ?, prefecture = ?, title = ?, body = ?, starts_at = ?, expires_at = ?, updated_at = ? \
                 WHERE public_id = ? AND withdrawn_at IS NULL",
            ))
            .bind(&e.office)
            .bind(e.prefecture)
            .bind(&e.title)
            .bind(&e.body)
            .bind(e.starts_at)
            .bind(e.expires_at)
            .bind(now)
            .bind(public_id)
            .execute(&mut *tx)
            .await?;
            let done = r.rows_affected() == 1;
            if done {
                insert_audit!(&mut *tx, sql, &audit, now);
            }
            tx.commit().await?;
            Ok(done)
        })
    }

    /// Withdraws a notice at once, audited. `false` when there is none to withdraw.
    pub async fn withdraw_notice(&self, public_id: &str, now: i64, audit: Audit<'_>) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("UPDATE notices SET withdrawn_at = ? WHERE public_id = ? AND withdrawn_at IS NULL"))
                .bind(now)
                .bind(public_id)
                .execute(&mut *tx)
                .await?;
            let done = r.rows_affected() == 1;
            if done {
                insert_audit!(&mut *tx, sql, &audit, now);
            }
            tx.commit().await?;
            Ok(done)
        })
    }
}
