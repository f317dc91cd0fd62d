//! What hub nodes sharing one database hold in common beyond the mailboxes: login attempts per
//! client address, leases for the background passes, and (PostgreSQL) notifications between
//! nodes through LISTEN/NOTIFY. On SQLite there is one node; the same statements hold.

use super::{Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row as _;

/// Notifications from other nodes on one PostgreSQL channel.
#[derive(Debug)]
pub struct Listener(sqlx::postgres::PgListener);

impl Listener {
    /// The next notification's payload. A lost connection is re-established by itself (what
    /// was sent meanwhile is missed); an error is returned only when it cannot be.
    pub async fn recv(&mut self) -> Result<String> {
        Ok(self.0.recv().await?.payload().to_owned())
    }
}

impl Store {
    /// `true` when several nodes can share this store (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Sends `payload` to every node listening on `channel` (PostgreSQL `NOTIFY`; at most
    /// 8,000 bytes). Nothing to do on SQLite (one node).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        if let Backend::Postgres(pool) = &self.backend {
            sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(pool).await?;
        }
        Ok(())
    }

    /// Listens on `channel` (PostgreSQL); `None` on SQLite.
    pub async fn listen(&self, channel: &str) -> Result<Option<Listener>> {
        let Backend::Postgres(pool) = &self.backend else { return Ok(None) };
        let mut l = sqlx::postgres::PgListener::connect_with(pool).await?;
        l.listen(channel).await?;
        Ok(Some(Listener(l)))
    }

    /// Counts a login attempt from `address` at `now` and returns the attempts in its window
    /// (which opens at an address's first attempt and lasts `window` seconds). One statement,
    /// so that attempts on several nodes at once are all counted.
    pub async fn count_login_attempt(&self, address: &str, now: i64, window: i64) -> Result<i64> {
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql(
                "INSERT INTO login_attempts (address, window_start, attempts) VALUES (?, ?, 1) \
                 ON CONFLICT (address) DO UPDATE SET \
                   attempts = CASE WHEN login_attempts.window_start <= excluded.window_start - ? THEN 1 ELSE login_attempts.attempts + 1 END, \
                   window_start = CASE WHEN login_attempts.window_start <= excluded.window_start - ? THEN excluded.window_start ELSE login_attempts.window_start END \
                 RETURNING attempts",
            ))
            .bind(address)
            .bind(now)
            .bind(window)
            .bind(window)
            .fetch_one(pool)
            .await?;
            Ok(r.get::<i64, _>("attempts"))
        })
    }

    /// Forgets login attempts whose window opened before `before`; returns how many.
    pub async fn forget_login_attempts(&self, before: i64) -> Result<u64> {
        on_writer!(self, |pool, sql| {
            Ok(sqlx::query(sql("DELETE FROM login_attempts WHERE window_start < ?")).bind(before).execute(pool).await?.rows_affected())
        })
    }

    /// Takes or renews the lease `name` for `holder` until `until`, if it is free (never taken,
    /// expired at `now`, or already `holder`'s); `true` when `holder` holds it now.
    pub async fn take_lease(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql("INSERT INTO leases (name, holder, until) VALUES (?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
                 WHERE leases.until < ? OR leases.holder = excluded.holder \
                 RETURNING holder"))
            .bind(name)
            .bind(holder)
            .bind(until)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(r.is_some())
        })
    }
}
