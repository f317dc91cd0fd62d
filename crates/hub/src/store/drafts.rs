//! Drafts (下書き), shared by the terminals of an office.

use super::FileRow;
use super::{Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// A draft to create.
#[derive(Debug, Clone, Copy)]
pub struct NewDraft<'a> {
    /// Public id.
    pub public_id: &'a str,
    /// Office.
    pub office: &'a str,
    /// Recipient (may be empty).
    pub recipient: &'a str,
    /// Note.
    pub note: &'a str,
    /// The contact (JSON), if the draft is one.
    pub contact: Option<&'a str>,
    /// Creating user.
    pub user: i64,
    /// Files (blobs already stored).
    pub files: &'a [FileRow],
}

/// A change to a draft: each field `None` leaves it as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct DraftChange<'a> {
    /// New recipient.
    pub recipient: Option<&'a str>,
    /// New note.
    pub note: Option<&'a str>,
    /// New contact (JSON), or `Some(None)` to make the draft an ordinary message.
    pub contact: Option<Option<&'a str>>,
}

/// A stored draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRow {
    /// Internal id.
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Office.
    pub office: String,
    /// Recipient (may be empty).
    pub recipient: String,
    /// Note.
    pub note: String,
    /// The contact (JSON), if the draft is one.
    pub contact: Option<String>,
    /// Version.
    pub version: i64,
    /// Display name of the last editor.
    pub updated_by: String,
    /// Last change.
    pub updated_at: i64,
    /// Files (kind/month empty).
    pub files: Vec<FileRow>,
}

impl Store {
    /// Creates a draft with files; returns its id.
    pub async fn create_draft(&self, d: &NewDraft<'_>, now: i64) -> Result<i64> {
        let NewDraft { public_id, office, recipient, note, contact, user, files } = *d;
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("INSERT INTO drafts (public_id, office, recipient, note, contact, version, created_by, updated_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?) RETURNING id"))
                .bind(public_id)
                .bind(office)
                .bind(recipient)
                .bind(note)
                .bind(contact)
                .bind(user)
                .bind(user)
                .bind(now)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let id: i64 = r.get(0);
            for f in files {
                sqlx::query(sql("INSERT INTO draft_files (draft_id, idx, name, size, sha256) VALUES (?, ?, ?, ?, ?)"))
                    .bind(id)
                    .bind(f.idx)
                    .bind(&f.name)
                    .bind(f.size)
                    .bind(&f.sha256)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    async fn draft_rows(&self, office: &str, public_id: Option<&str>) -> Result<Vec<DraftRow>> {
        let mut drafts: Vec<DraftRow> = on_pool!(self, |pool, sql| {
            let rows = match public_id {
                Some(p) => sqlx::query(sql("SELECT d.id, d.public_id, d.office, d.recipient, d.note, d.version, d.updated_at, u.name, d.contact FROM drafts d JOIN users u ON u.id = d.updated_by WHERE d.office = ? AND d.public_id = ?")).bind(office).bind(p).fetch_all(pool).await?,
                None => sqlx::query(sql("SELECT d.id, d.public_id, d.office, d.recipient, d.note, d.version, d.updated_at, u.name, d.contact FROM drafts d JOIN users u ON u.id = d.updated_by WHERE d.office = ? ORDER BY d.id DESC")).bind(office).fetch_all(pool).await?,
            };
            rows.iter()
                .map(|r| DraftRow {
                    id: r.get(0),
                    public_id: r.get(1),
                    office: r.get(2),
                    recipient: r.get(3),
                    note: r.get(4),
                    contact: r.get(8),
                    version: r.get(5),
                    updated_at: r.get(6),
                    updated_by: r.get(7),
                    files: Vec::new(),
                })
                .collect()
        });
        for d in &mut drafts {
            d.files = on_pool!(self, |pool, sql| {
                let rows = sqlx::query(sql("SELECT idx, name, size, sha256 FROM draft_files WHERE draft_id = ? ORDER BY idx"))
                    .bind(d.id)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| FileRow {
                        idx: r.get(0),
                        name: r.get(1),
                        kind: None,
                        service_month: None,
                        csv_version: None,
                        size: r.get(2),
                        sha256: r.get(3),
                    })
                    .collect()
            });
        }
        Ok(drafts)
    }

    /// A draft of an office.
    pub async fn draft(&self, office: &str, public_id: &str) -> Result<Option<DraftRow>> {
        Ok(self.draft_rows(office, Some(public_id)).await?.pop())
    }

    /// An office's drafts, newest first.
    pub async fn drafts(&self, office: &str) -> Result<Vec<DraftRow>> {
        self.draft_rows(office, None).await
    }

    /// Applies a change if the version still matches; `false` on a stale version.
    pub async fn update_draft(&self, id: i64, version: i64, change: &DraftChange<'_>, user: i64, now: i64) -> Result<bool> {
        let (set_contact, contact) = match change.contact {
            Some(c) => (true, c),
            None => (false, None),
        };
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql("UPDATE drafts SET recipient = COALESCE(?, recipient), note = COALESCE(?, note), contact = CASE WHEN ? THEN ? ELSE contact END, version = version + 1, updated_by = ?, updated_at = ? WHERE id = ? AND version = ?"))
                .bind(change.recipient)
                .bind(change.note)
                .bind(set_contact)
                .bind(contact)
                .bind(user)
                .bind(now)
                .bind(id)
                .bind(version)
                .execute(pool)
                .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Appends files to a draft (indexes after the last one) and bumps its version.
    pub async fn add_draft_files(&self, id: i64, files: &[FileRow], user: i64, now: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE drafts SET version = version + 1, updated_by = ?, updated_at = ? WHERE id = ?"))
                .bind(user)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let next: i64 = sqlx::query(sql("SELECT COALESCE(MAX(idx) + 1, 0) FROM draft_files WHERE draft_id = ?"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .get(0);
            for (i, f) in files.iter().enumerate() {
                sqlx::query(sql("INSERT INTO draft_files (draft_id, idx, name, size, sha256) VALUES (?, ?, ?, ?, ?)"))
                    .bind(id)
                    .bind(next + i as i64)
                    .bind(&f.name)
                    .bind(f.size)
                    .bind(&f.sha256)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes one file of a draft; `false` if there was none.
    pub async fn remove_draft_file(&self, id: i64, idx: i64, user: i64, now: i64) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("DELETE FROM draft_files WHERE draft_id = ? AND idx = ?")).bind(id).bind(idx).execute(&mut *tx).await?;
            sqlx::query(sql("UPDATE drafts SET version = version + 1, updated_by = ?, updated_at = ? WHERE id = ?"))
                .bind(user)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Deletes a draft; `false` if it did not exist.
    pub async fn delete_draft(&self, id: i64) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("DELETE FROM draft_files WHERE draft_id = ?")).bind(id).execute(&mut *tx).await?;
            let r = sqlx::query(sql("DELETE FROM drafts WHERE id = ?")).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(r.rows_affected() == 1)
        })
    }
}
