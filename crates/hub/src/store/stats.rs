//! Traffic figures for the operator console.

use super::{Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// Files sent on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// The day (days since 1970-01-01, Japan time).
    pub day: i64,
    /// Files sent.
    pub files: i64,
}

/// Files sent by the offices of one prefecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefectureCount {
    /// Prefecture code, two digits (the office number's first two).
    pub prefecture: String,
    /// Files sent.
    pub files: i64,
}

impl Store {
    /// Files sent per day (JST) since `since`: (day number since the epoch in JST, files).
    pub async fn files_per_day(&self, since: i64) -> Result<Vec<DayCount>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT (m.sent_at + 32400) / 86400 AS d, COUNT(*) FROM messages m JOIN files f ON f.message_id = m.id WHERE m.sent_at >= ? GROUP BY (m.sent_at + 32400) / 86400 ORDER BY d"))
                .bind(since)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| DayCount { day: r.get(0), files: r.get(1) }).collect())
        })
    }

    /// Files sent per prefecture of the sender since `since`.
    pub async fn files_per_prefecture(&self, since: i64) -> Result<Vec<PrefectureCount>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT SUBSTR(m.sender, 1, 2) AS p, COUNT(*) FROM messages m JOIN files f ON f.message_id = m.id WHERE m.sent_at >= ? GROUP BY SUBSTR(m.sender, 1, 2) ORDER BY p"))
                .bind(since)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| PrefectureCount { prefecture: r.get(0), files: r.get(1) }).collect())
        })
    }
}
