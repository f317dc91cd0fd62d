//! Sessions: API sessions (bound to a terminal), portal and console sessions.

use super::{Account, Audit, Backend, Result, Store, sql_postgres, sql_sqlite};
use super::{Terminal, User};
use sqlx::Row;

/// An API session: its user, and the terminal it was opened on (it is valid there only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSession {
    /// The user.
    pub user_id: i64,
    /// The terminal the session belongs to.
    pub terminal_id: String,
}

/// What [`Store::authenticate`] proves: the user, the terminal, and until when the session runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedSession {
    /// The session's user.
    pub user: User,
    /// The terminal it was opened on (not revoked).
    pub terminal: Terminal,
    /// When the session ends (Unix seconds).
    pub expires_at: i64,
}

/// The browser doors, each with sessions of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebDoor {
    /// The office portal (users).
    Portal,
    /// The operator console (operators).
    Console,
}

/// A browser session of the portal (a user) or of the console (an operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// The user's or the operator's id.
    pub account_id: i64,
    /// The session's CSRF token.
    pub csrf: String,
    /// When the session passed the second factor, if it did.
    pub second_factor_at: Option<i64>,
}

impl Store {
    /// The whole identity check in one query: the terminal with this certificate fingerprint
    /// (not revoked), a live session with this token on that terminal, and its user.
    pub async fn authenticate(&self, fingerprint: &str, token_hash: &str, now: i64) -> Result<Option<AuthenticatedSession>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT u.id, u.login, u.office, u.role, u.name, u.password_hash, u.must_change, u.failures, u.locked_until, u.web_failures, u.web_locked_until, u.disabled_at, u.password_changed_at, u.created_at, t.id AS t_id, t.office AS t_office, t.label AS t_label, t.serial AS t_serial, s.expires_at AS s_expires_at FROM sessions s JOIN terminals t ON t.id = s.terminal_id JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND t.fingerprint = ? AND t.revoked_at IS NULL AND s.expires_at > ?"))
                .bind(token_hash)
                .bind(fingerprint)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| {
                let u = user_row!(&r);
                let t = Terminal {
                    id: r.get("t_id"),
                    office: r.get("t_office"),
                    label: r.get("t_label"),
                    serial: r.get("t_serial"),
                    revoked_at: None,
                };
                AuthenticatedSession { user: u, terminal: t, expires_at: r.get("s_expires_at") }
            }))
        })
    }

    /// Opens a session.
    pub async fn add_session(
        &self,
        token_hash: &str,
        user: i64,
        terminal: &str,
        now: i64,
        expires_at: i64,
        audit: Audit<'_>,
    ) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("INSERT INTO sessions (token_hash, user_id, terminal_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"))
                .bind(token_hash)
                .bind(user)
                .bind(terminal)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// A live session: `(user id, terminal id)`.
    pub async fn session(&self, token_hash: &str, now: i64) -> Result<Option<ApiSession>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT user_id, terminal_id FROM sessions WHERE token_hash = ? AND expires_at > ?"))
                .bind(token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| ApiSession { user_id: r.get(0), terminal_id: r.get(1) }))
        })
    }

    /// Closes a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql("DELETE FROM sessions WHERE token_hash = ?")).bind(token_hash).execute(pool).await?;
        });
        self.sessions_ended();
        Ok(())
    }

    /// The count of changes that ended API sessions (a logout, a revoked terminal, a password
    /// set or reset, a disabled user) committed through this process.
    pub fn sessions_epoch(&self) -> u64 {
        self.sessions_epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Called after every committed change that ends API sessions, so that no connection takes
    /// a session it remembers without asking the database again.
    pub(crate) fn sessions_ended(&self) {
        self.sessions_epoch.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Ends a portal session (`None`: every session of the user, e.g. after a password change).
    pub async fn end_portal_sessions(&self, token_hash: Option<&str>, user: i64, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("DELETE FROM portal_sessions WHERE user_id = ? AND (? IS NULL OR token_hash = ?)"))
                .bind(user)
                .bind(token_hash)
                .bind(token_hash)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Opens a browser session (the portal for a user, the console for an operator), audited
    /// in the same transaction.
    pub async fn add_web_session(
        &self,
        account: Account,
        token_hash: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
        audit: Audit<'_>,
    ) -> Result<()> {
        let (table, column) = account.sessions();
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql(&format!("INSERT INTO {table} (token_hash, {column}, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")))
                .bind(token_hash)
                .bind(account.id())
                .bind(csrf)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// A live browser session of `door`: its account, CSRF token and second-factor state.
    pub async fn web_session(&self, door: WebDoor, token_hash: &str, now: i64) -> Result<Option<WebSession>> {
        let (table, column) = match door {
            WebDoor::Portal => Account::User(0).sessions(),
            WebDoor::Console => Account::Operator(0).sessions(),
        };
        on_pool!(self, |pool, sql| {
            let r =
                sqlx::query(sql(&format!("SELECT {column}, csrf, second_factor_at FROM {table} WHERE token_hash = ? AND expires_at > ?")))
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?;
            Ok(r.map(|r| WebSession { account_id: r.get(0), csrf: r.get(1), second_factor_at: r.get(2) }))
        })
    }
}
