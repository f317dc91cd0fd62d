//! Terminals: enrolment codes, certificates, revocation.

use super::{Audit, Backend, NewNotice, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// An enrolled terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// Id (certificate CN).
    pub id: String,
    /// Office it acts for.
    pub office: String,
    /// Label.
    pub label: String,
    /// Serial (hex).
    pub serial: String,
    /// Revoked at.
    pub revoked_at: Option<i64>,
}

/// A terminal with what the portal shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalDetail {
    /// Terminal id.
    pub id: String,
    /// The PC's name.
    pub label: String,
    /// SHA-256 of the certificate (hex).
    pub fingerprint: String,
    /// Certificate expiry (unix seconds).
    pub not_after: i64,
    /// Enrolled at.
    pub created_at: i64,
    /// Revoked at.
    pub revoked_at: Option<i64>,
    /// Last login on it.
    pub last_seen: Option<i64>,
    /// A browser certificate (ブラウザー用), not a PC's.
    pub browser: bool,
}

impl Store {
    /// Stores a one-time enrolment code (hash).
    pub async fn add_enrolment_code(&self, code_hash: &str, office: &str, now: i64, expires_at: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("INSERT INTO enrolment_codes (code_hash, office, created_at, expires_at) VALUES (?, ?, ?, ?)"))
                .bind(code_hash)
                .bind(office)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Consumes a code for an office (atomically); `false` when unknown, used or expired.
    pub async fn use_enrolment_code(&self, code_hash: &str, office: &str, now: i64) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql(
                "UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ? AND office = ? AND used_at IS NULL AND expires_at > ?",
            ))
            .bind(now)
            .bind(code_hash)
            .bind(office)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Stores an enrolled terminal, with its audit row and, when given, the notice announcing
    /// it to the office, in one transaction.
    /// `browser`: a browser certificate the portal issued (ブラウザー用), not a PC's.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_terminal(
        &self,
        t: &Terminal,
        browser: bool,
        fingerprint: &str,
        not_after: i64,
        now: i64,
        announce: Option<&NewNotice>,
        audit: Audit<'_>,
    ) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql(
                "INSERT INTO terminals (id, office, label, serial, fingerprint, not_after, created_at, browser) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ))
            .bind(&t.id)
            .bind(&t.office)
            .bind(&t.label)
            .bind(&t.serial)
            .bind(fingerprint)
            .bind(not_after)
            .bind(now)
            .bind(i64::from(browser))
            .execute(&mut *tx)
            .await?;
            if let Some(n) = announce {
                insert_notice!(&mut *tx, sql, n, now);
            }
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// A terminal by certificate fingerprint.
    pub async fn terminal_by_fingerprint(&self, fp: &str) -> Result<Option<Terminal>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT id, office, label, serial, revoked_at FROM terminals WHERE fingerprint = ?"))
                .bind(fp)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| terminal_row!(&r)))
        })
    }

    /// Revokes a terminal and ends its sessions; `false` if unknown or already revoked.
    pub async fn revoke_terminal(&self, id: &str, now: i64, audit: Audit<'_>) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("UPDATE terminals SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM sessions WHERE terminal_id = ?")).bind(id).execute(&mut *tx).await?;
            if r.rows_affected() == 1 {
                insert_audit!(&mut *tx, sql, &audit, now);
            }
            tx.commit().await?;
            self.sessions_ended();
            Ok(r.rows_affected() == 1)
        })
    }

    /// Serials (hex) and revocation times of revoked terminals, for the CRL.
    pub async fn revoked_serials(&self) -> Result<Vec<(String, i64)>> {
        on_pool!(self, |pool, sql| {
            let rows =
                sqlx::query(sql("SELECT serial, revoked_at FROM terminals WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial"))
                    .fetch_all(pool)
                    .await?;
            Ok(rows.iter().map(|r| (r.get("serial"), r.get("revoked_at"))).collect())
        })
    }

    /// Terminals of an office.
    pub async fn terminals(&self, office: &str) -> Result<Vec<Terminal>> {
        on_pool!(self, |pool, sql| {
            let rows =
                sqlx::query(sql("SELECT id, office, label, serial, revoked_at FROM terminals WHERE office = ? ORDER BY created_at, id"))
                    .bind(office)
                    .fetch_all(pool)
                    .await?;
            Ok(rows.iter().map(|r| terminal_row!(r)).collect())
        })
    }

    /// An office's terminals as the portal lists them, with the last login on each.
    pub async fn terminal_details(&self, office: &str) -> Result<Vec<TerminalDetail>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT t.id, t.label, t.fingerprint, t.not_after, t.created_at, t.revoked_at, (SELECT MAX(s.created_at) FROM sessions s WHERE s.terminal_id = t.id) AS last_seen, t.browser FROM terminals t WHERE t.office = ? ORDER BY t.created_at, t.id"))
                .bind(office)
                .fetch_all(pool)
                .await?;
            Ok(rows
                .iter()
                .map(|r| TerminalDetail {
                    id: r.get(0),
                    label: r.get(1),
                    fingerprint: r.get(2),
                    not_after: r.get(3),
                    created_at: r.get(4),
                    revoked_at: r.get(5),
                    last_seen: r.get(6),
                    browser: r.get::<i64, _>(7) != 0,
                })
                .collect())
        })
    }

    /// `true` while `office` has a browser certificate that is not revoked: its web mailbox then
    /// opens only with one of its certificates.
    pub async fn has_browser_certificate(&self, office: &str) -> Result<bool> {
        on_pool!(self, |pool, sql| {
            let n: i64 = sqlx::query_scalar(sql("SELECT COUNT(*) FROM terminals WHERE office = ? AND browser = 1 AND revoked_at IS NULL"))
                .bind(office)
                .fetch_one(pool)
                .await?;
            Ok(n > 0)
        })
    }
}
