//! Notices (お知らせ).

use super::{Audit, Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// A notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// Internal id.
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Target office (`None`: everyone).
    pub office: Option<String>,
    /// `operator` or `non_delivery`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Published at.
    pub published_at: i64,
}

/// A notice to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    /// Public id.
    pub public_id: String,
    /// The office it is for (`None`: every office).
    pub office: Option<String>,
    /// Kind (`operator`, `license`, `terminal_enrolled`, `expired`…).
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
}

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
            kind: n.kind.clone(),
            title: n.title.clone(),
            body: n.body.clone(),
            published_at: now,
        })
    }

    /// Notices for an office (its own and everyone's), newest first; with `after`, only newer
    /// than that id (for delivering new ones as events).
    pub async fn notices(&self, office: Option<&str>, after: Option<i64>, limit: i64) -> Result<Vec<NoticeRow>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT id, public_id, office, kind, title, body, published_at FROM notices WHERE (? IS NULL OR office IS NULL OR office = ?) AND id > ? ORDER BY id DESC LIMIT ?"))
                .bind(office)
                .bind(office)
                .bind(after.unwrap_or(0))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows
                .iter()
                .map(|r| NoticeRow {
                    id: r.get(0),
                    public_id: r.get(1),
                    office: r.get(2),
                    kind: r.get(3),
                    title: r.get(4),
                    body: r.get(5),
                    published_at: r.get(6),
                })
                .collect())
        })
    }
}
