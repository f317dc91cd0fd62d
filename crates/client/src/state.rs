//! Local state of a profile (`state.db`, SQLite): the send journal (what this PC sent, by
//! idempotency key), notifications shown in the UI, which received messages were viewed, and
//! which partners not on the system were sent the invitation.
//! The hub holds the history; this is what one PC needs on top.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::path::Path;

/// A notification as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Notification {
    /// Row id.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// `new_message`, `receipt`, `expired`, `notice`, `watch`, `error`.
    pub kind: String,
    /// Title (Japanese).
    pub title: String,
    /// Body.
    pub body: String,
    /// Seen in the UI.
    pub seen: bool,
}

/// A journal entry: one message this PC sent.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Sent {
    /// Idempotency key.
    pub key: String,
    /// Recipient office.
    pub to_office: String,
    /// Message id at the hub.
    pub message_id: String,
    /// File names, newline-separated.
    pub files: String,
    /// Unix seconds.
    pub sent_at: i64,
}

/// The local database.
#[derive(Debug, Clone)]
pub struct State {
    pool: SqlitePool,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS journal (key TEXT PRIMARY KEY, to_office TEXT NOT NULL, message_id TEXT NOT NULL, files TEXT NOT NULL, sent_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, seen INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS viewed (message_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS invitations (office TEXT PRIMARY KEY, invited_at INTEGER NOT NULL);
";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl State {
    /// Opens (creating) `state.db` in a profile folder.
    pub async fn open(dir: &Path) -> sqlx::Result<State> {
        let opts = SqliteConnectOptions::new()
            .filename(dir.join("state.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        Ok(State { pool })
    }

    /// The journal entry for a key.
    pub async fn sent(&self, key: &str) -> sqlx::Result<Option<Sent>> {
        sqlx::query_as("SELECT key, to_office, message_id, files, sent_at FROM journal WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
    }

    /// Records a message sent (after the hub acknowledged it).
    pub async fn record_sent(&self, key: &str, to: &str, message_id: &str, files: &[String]) -> sqlx::Result<()> {
        sqlx::query("INSERT OR REPLACE INTO journal (key, to_office, message_id, files, sent_at) VALUES (?, ?, ?, ?, ?)")
            .bind(key)
            .bind(to)
            .bind(message_id)
            .bind(files.join("\n"))
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Adds a notification.
    pub async fn notify(&self, kind: &str, title: &str, body: &str) -> sqlx::Result<i64> {
        let r = sqlx::query("INSERT INTO notifications (at, kind, title, body) VALUES (?, ?, ?, ?)")
            .bind(now())
            .bind(kind)
            .bind(title)
            .bind(body)
            .execute(&self.pool)
            .await?;
        Ok(r.last_insert_rowid())
    }

    /// The latest notifications, newest first.
    pub async fn notifications(&self, only_unseen: bool, limit: i64) -> sqlx::Result<Vec<Notification>> {
        sqlx::query_as("SELECT id, at, kind, title, body, seen FROM notifications WHERE (? = 0 OR seen = 0) ORDER BY id DESC LIMIT ?")
            .bind(only_unseen)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
    }

    /// Marks notifications seen.
    pub async fn seen(&self, up_to: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE notifications SET seen = 1 WHERE id <= ?").bind(up_to).execute(&self.pool).await?;
        Ok(())
    }

    /// Marks every unseen notification of `kind` seen: what it announced is resolved (the
    /// messages were fetched, the waiting files were sent), so the banner no longer shows it.
    pub async fn resolve(&self, kind: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE notifications SET seen = 1 WHERE kind = ? AND seen = 0").bind(kind).execute(&self.pool).await?;
        Ok(())
    }

    /// Marks a received message viewed on this PC.
    pub async fn view(&self, message_id: &str) -> sqlx::Result<()> {
        sqlx::query("INSERT OR IGNORE INTO viewed (message_id, at) VALUES (?, ?)").bind(message_id).bind(now()).execute(&self.pool).await?;
        Ok(())
    }

    /// Which of these messages were viewed.
    pub async fn viewed(&self, ids: &[String]) -> sqlx::Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        for id in ids {
            if sqlx::query_scalar::<_, i64>("SELECT 1 FROM viewed WHERE message_id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .is_some()
            {
                out.insert(id.clone());
            }
        }
        Ok(out)
    }

    /// Remembers that partner `office` (not on the system) was sent the invitation, now.
    pub async fn invited(&self, office: &str) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO invitations (office, invited_at) VALUES (?, ?) ON CONFLICT(office) DO UPDATE SET invited_at = excluded.invited_at",
        )
        .bind(office)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When partner `office` was last sent the invitation (unix seconds), if ever.
    pub async fn invitation(&self, office: &str) -> sqlx::Result<Option<i64>> {
        sqlx::query_scalar("SELECT invited_at FROM invitations WHERE office = ?").bind(office).fetch_optional(&self.pool).await
    }
}
