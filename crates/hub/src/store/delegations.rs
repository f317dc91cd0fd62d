//! 代行: agents (代行業者) and the delegations offices give them.

use super::audit::{AUDIT_COLUMNS, audit_row};
use super::{Audit, AuditRow, Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// A delegation: `agent` may send and/or receive in `office`'s name from `starts_on` through
/// `ends_on` (no end when `None`), unless revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationRow {
    /// Id.
    pub id: i64,
    /// The office that delegates.
    pub office: String,
    /// The agent.
    pub agent: String,
    /// May send in the office's name.
    pub may_send: bool,
    /// May receive (list, download, fetch) in the office's name.
    pub may_receive: bool,
    /// First day (YYYY-MM-DD).
    pub starts_on: String,
    /// Last day.
    pub ends_on: Option<String>,
    /// Given at.
    pub created_at: i64,
    /// Given by (login ID).
    pub created_by: String,
    /// Revoked at.
    pub revoked_at: Option<i64>,
    /// The office's name.
    pub office_name: String,
    /// The agent's name.
    pub agent_name: String,
}

/// A delegation to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelegation<'a> {
    /// The office.
    pub office: &'a str,
    /// The agent.
    pub agent: &'a str,
    /// May send.
    pub may_send: bool,
    /// May receive.
    pub may_receive: bool,
    /// First day.
    pub starts_on: &'a str,
    /// Last day.
    pub ends_on: Option<&'a str>,
    /// Given by.
    pub created_by: &'a str,
}

const COLUMNS: &str = "d.id, d.office, d.agent, d.may_send, d.may_receive, d.starts_on, d.ends_on, d.created_at, d.created_by, d.revoked_at, COALESCE(o.name, ''), COALESCE(a.name, '')";
const FROM: &str = "FROM delegations d LEFT JOIN offices o ON o.number = d.office LEFT JOIN offices a ON a.number = d.agent";

macro_rules! delegation_row {
    ($r:expr) => {{
        let r = $r;
        DelegationRow {
            id: r.get(0),
            office: r.get(1),
            agent: r.get(2),
            may_send: r.get::<i64, _>(3) != 0,
            may_receive: r.get::<i64, _>(4) != 0,
            starts_on: r.get(5),
            ends_on: r.get(6),
            created_at: r.get(7),
            created_by: r.get(8),
            revoked_at: r.get(9),
            office_name: r.get(10),
            agent_name: r.get(11),
        }
    }};
}

impl Store {
    /// `true` when `number` is a registered agent (代行業者).
    pub async fn is_agent(&self, number: &str) -> Result<bool> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT agent FROM offices WHERE number = ?")).bind(number).fetch_optional(pool).await?;
            Ok(r.is_some_and(|r| r.get::<i64, _>(0) != 0))
        })
    }

    /// Marks a registered office as an agent, audited.
    pub async fn set_agent(&self, number: &str, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE offices SET agent = 1 WHERE number = ?")).bind(number).execute(&mut *tx).await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds a delegation, audited; returns its id.
    pub async fn add_delegation(&self, d: &NewDelegation<'_>, now: i64, audit: Audit<'_>) -> Result<i64> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query(sql(
                "INSERT INTO delegations (office, agent, may_send, may_receive, starts_on, ends_on, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            ))
            .bind(d.office)
            .bind(d.agent)
            .bind(i64::from(d.may_send))
            .bind(i64::from(d.may_receive))
            .bind(d.starts_on)
            .bind(d.ends_on)
            .bind(now)
            .bind(d.created_by)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Delegations given by an office (`by_office`) or to an agent, newest first.
    pub async fn delegations(&self, number: &str, by_office: bool) -> Result<Vec<DelegationRow>> {
        let column = if by_office { "d.office" } else { "d.agent" };
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql(&format!("SELECT {COLUMNS} {FROM} WHERE {column} = ? ORDER BY d.id DESC LIMIT 200")))
                .bind(number)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| delegation_row!(r)).collect())
        })
    }

    /// The delegations of `office` to `agent` in force on `today` (YYYY-MM-DD).
    pub async fn delegations_in_force(&self, office: &str, agent: &str, today: &str) -> Result<Vec<DelegationRow>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql(&format!(
                "SELECT {COLUMNS} {FROM} WHERE d.office = ? AND d.agent = ? AND d.revoked_at IS NULL AND d.starts_on <= ? AND (d.ends_on IS NULL OR d.ends_on >= ?)"
            )))
            .bind(office)
            .bind(agent)
            .bind(today)
            .bind(today)
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(|r| delegation_row!(r)).collect())
        })
    }

    /// Revokes an office's delegation at once, audited. `false` when there was none to revoke.
    pub async fn revoke_delegation(&self, id: i64, office: &str, now: i64, audit: Audit<'_>) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("UPDATE delegations SET revoked_at = ? WHERE id = ? AND office = ? AND revoked_at IS NULL"))
                .bind(now)
                .bind(id)
                .bind(office)
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

    /// The registered agents (代行業者): (number, name), by number.
    pub async fn agents(&self) -> Result<Vec<(String, String)>> {
        on_pool!(self, |pool, sql| {
            let rows =
                sqlx::query(sql("SELECT number, name FROM offices WHERE agent = 1 ORDER BY number LIMIT 1000")).fetch_all(pool).await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// What agents did in `office`'s name (audit rows whose detail names an agent), newest first.
    pub async fn delegated_actions(&self, office: &str, limit: i64) -> Result<Vec<AuditRow>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit WHERE office = ? AND detail LIKE 'agent=%' ORDER BY id DESC LIMIT ?"
            )))
            .bind(office)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(|r| audit_row!(r)).collect())
        })
    }
}
