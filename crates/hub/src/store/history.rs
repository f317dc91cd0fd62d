//! A store that already holds a history: copies of delivered messages, for benchmarks and load
//! trials (`renkei-hub history`). Never reached from a request.

use super::{Backend, Result, Store, sql_postgres, sql_sqlite};

/// Messages added per transaction: large enough to be quick, small enough that the hub's own
/// writes (it may be serving) wait well under a second.
const MESSAGES_PER_BATCH: u64 = 10_000;

/// The copy numbers of one batch, `?` to `?`, as a table `k(n)` (SQLite and PostgreSQL alike).
const SERIES: &str = "WITH RECURSIVE k(n) AS (SELECT CAST(? AS BIGINT) UNION ALL SELECT n + 1 FROM k WHERE n < ?)";

impl Store {
    /// Adds `copies` copies of every message its recipient has already fetched: the same
    /// offices, note, files and contents (shared, as repeated contents are), delivered and
    /// acknowledged at the same moments, each with an id and public id of its own. Returns the
    /// number of messages added. Messages sent later get higher ids than every copy.
    pub async fn replicate_delivered(&self, copies: u64) -> Result<u64> {
        // PostgreSQL's identity column takes given ids only when told to.
        let overriding = if matches!(self.backend, Backend::Postgres(_)) { "OVERRIDING SYSTEM VALUE" } else { "" };
        let messages = format!(
            "{SERIES} INSERT INTO messages (id, public_id, sender, recipient, note, sent_by, sent_terminal, sent_at, \
             fetched_at, fetched_by, fetched_terminal, opened_at, opened_by, contact, agent, agent_name) {overriding} \
             SELECT m.id + k.n * ?, 'h' || CAST(m.id + k.n * ? AS TEXT), m.sender, m.recipient, m.note, m.sent_by, \
             m.sent_terminal, m.sent_at, m.fetched_at, m.fetched_by, m.fetched_terminal, m.opened_at, m.opened_by, \
             m.contact, m.agent, m.agent_name \
             FROM messages m CROSS JOIN k WHERE m.id <= ? AND m.fetched_at IS NOT NULL AND m.purged_at IS NULL"
        );
        let files = format!(
            "{SERIES} INSERT INTO files (message_id, idx, name, kind, service_month, size, sha256, csv_version) \
             SELECT f.message_id + k.n * ?, f.idx, f.name, f.kind, f.service_month, f.size, f.sha256, f.csv_version \
             FROM files f JOIN messages m ON m.id = f.message_id CROSS JOIN k \
             WHERE m.id <= ? AND m.fetched_at IS NOT NULL AND m.purged_at IS NULL"
        );
        on_writer!(self, |pool, sql| {
            let last: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM messages").fetch_one(pool).await?;
            let Some(last) = last else { return Ok(0) };
            let stride = last + 1;
            let templates: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE fetched_at IS NOT NULL AND purged_at IS NULL")
                .fetch_one(pool)
                .await?;
            let per_batch = (MESSAGES_PER_BATCH / templates.max(1) as u64).max(1);
            let mut added = 0;
            let mut from = 1;
            while from <= copies {
                let to = (from + per_batch - 1).min(copies);
                let mut tx = pool.begin().await?;
                let r = sqlx::query(sql(&messages))
                    .bind(from as i64)
                    .bind(to as i64)
                    .bind(stride)
                    .bind(stride)
                    .bind(last)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql(&files)).bind(from as i64).bind(to as i64).bind(stride).bind(last).execute(&mut *tx).await?;
                tx.commit().await?;
                added += r.rows_affected();
                from = to + 1;
            }
            // Fresh statistics, as after any bulk load: PostgreSQL's planner would otherwise
            // still believe the tables small (autovacuum analyses them only later).
            sqlx::query("ANALYZE messages").execute(pool).await?;
            sqlx::query("ANALYZE files").execute(pool).await?;
            if !overriding.is_empty() {
                sqlx::query("SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT MAX(id) FROM messages))")
                    .execute(pool)
                    .await?;
            }
            Ok(added)
        })
    }
}
