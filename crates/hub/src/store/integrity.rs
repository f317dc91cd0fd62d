//! Backups and their check: an online copy of an SQLite database, and every stored file's
//! content read back for its SHA-256 (a restore drill, or a check of a live store).

use super::{Backend, Result, Store, StoreError, sql_postgres, sql_sqlite};
use sqlx::Row as _;

/// One stored file of a message whose content has not been purged.
#[derive(Debug, Clone)]
pub struct StoredContent {
    /// Internal message row (the paging key with `idx`).
    pub message_row: i64,
    /// Message ID as clients know it.
    pub message: String,
    /// File index in the message.
    pub idx: i64,
    /// SHA-256 recorded when it was sent.
    pub sha256: String,
    /// The content, when it is kept with its row (small files); else it is in the blob store.
    pub inline: Option<Vec<u8>>,
}

impl Store {
    /// Writes a consistent copy of the database to `path` while it is in use (SQLite
    /// `VACUUM INTO`: one read transaction, no writer held up). `path` must not exist.
    /// PostgreSQL is backed up with its own tools (`pg_dump`, or base backups and WAL archiving).
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(readers, _) => {
                let p = path.to_str().ok_or_else(|| StoreError::Backend(format!("not a UTF-8 path: {}", path.display())))?;
                sqlx::query("VACUUM INTO ?").bind(p).execute(readers).await?;
                Ok(())
            }
            Backend::Postgres(_) => Err(StoreError::Backend(
                "PostgreSQL is backed up with pg_dump or base backups (docs/deploy/README.md), not by the hub".into(),
            )),
        }
    }

    /// Up to `limit` stored files after `(message_row, idx)`, in order, with their content when
    /// it is kept with the row; files of purged messages are left out.
    pub async fn stored_contents(&self, after: (i64, i64), limit: i64) -> Result<Vec<StoredContent>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql(
                "SELECT m.id, m.public_id, f.idx, f.sha256, b.content FROM files f JOIN messages m ON m.id = f.message_id \
                 LEFT JOIN blob_inline b ON b.sha256 = f.sha256 \
                 WHERE m.purged_at IS NULL AND (f.message_id > ? OR (f.message_id = ? AND f.idx > ?)) \
                 ORDER BY f.message_id, f.idx LIMIT ?",
            ))
            .bind(after.0)
            .bind(after.0)
            .bind(after.1)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|r| StoredContent {
                    message_row: r.get(0),
                    message: r.get(1),
                    idx: r.get::<i64, _>(2),
                    sha256: r.get(3),
                    inline: r.get(4),
                })
                .collect())
        })
    }
}
