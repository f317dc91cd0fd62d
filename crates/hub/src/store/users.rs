//! Users of an office: passwords, lockout counters, roles, disabling.

use super::Audit;
use super::{Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// A user's role in the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// 職員: sends and receives.
    #[default]
    Staff,
    /// 管理者: also applies for the licence, issues enrolment codes, manages staff.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }
    /// From the stored name; anything unknown is the least privilege.
    pub fn parse(s: &str) -> Role {
        if s == "admin" { Role::Admin } else { Role::Staff }
    }
    /// As offices name it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Staff => "職員",
            Role::Admin => "管理者",
        }
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login ID.
    pub login: String,
    /// Office.
    pub office: String,
    /// Role.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// PHC string.
    pub password_hash: String,
    /// Temporary password.
    pub must_change: bool,
    /// Consecutive failures.
    pub failures: i64,
    /// Locked until (unix seconds).
    pub locked_until: Option<i64>,
    /// Consecutive failures without a terminal certificate (portal, enrolment).
    pub web_failures: i64,
    /// Locked for logins without a terminal certificate until (unix seconds).
    pub web_locked_until: Option<i64>,
    /// Disabled by the office administrator.
    pub disabled: bool,
    /// When the password was last set (unix seconds; creation if never changed).
    pub password_set_at: i64,
}

/// A user to add.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    /// Login ID.
    pub login: &'a str,
    /// Office.
    pub office: &'a str,
    /// Role.
    pub role: Role,
    /// Display name.
    pub name: &'a str,
    /// PHC string.
    pub password_hash: &'a str,
    /// Temporary password (must be changed at first login).
    pub must_change: bool,
}

/// Which consecutive-failure counter a login attempt counts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockoutCounter {
    /// A user logging in from an enrolled terminal (certificate).
    Terminal,
    /// A user logging in without a certificate (portal, terminal enrolment).
    Web,
    /// An operator (console).
    Operator,
}

impl LockoutCounter {
    /// (table, failures column, locked-until column): fixed names, never input.
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            LockoutCounter::Terminal => ("users", "failures", "locked_until"),
            LockoutCounter::Web => ("users", "web_failures", "web_locked_until"),
            LockoutCounter::Operator => ("operators", "failures", "locked_until"),
        }
    }
}

impl Store {
    /// Adds a user; returns its id.
    pub async fn add_user(&self, u: &NewUser<'_>, now: i64, audit: Audit<'_>) -> Result<i64> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("INSERT INTO users (login, office, role, name, password_hash, must_change, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"))
                .bind(u.login)
                .bind(u.office)
                .bind(u.role.as_str())
                .bind(u.name)
                .bind(u.password_hash)
                .bind(i64::from(u.must_change))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let out = r.get(0);
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
            Ok(out)
        })
    }

    /// A user by login ID.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT * FROM users WHERE login = ?")).bind(login).fetch_optional(pool).await?;
            Ok(r.map(|r| user_row!(&r)))
        })
    }

    /// A user by id.
    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT * FROM users WHERE id = ?")).bind(id).fetch_optional(pool).await?;
            Ok(r.map(|r| user_row!(&r)))
        })
    }

    /// Records a login attempt on one lockout counter: a success clears it; a failure counts
    /// (starting again from 1 when an earlier lock has ended) and locks until `lock_until` when
    /// `max` consecutive failures are reached. Returns the failure count.
    pub async fn login_attempt(&self, counter: LockoutCounter, id: i64, ok: bool, now: i64, max: i64, lock_until: i64) -> Result<i64> {
        let (table, f, l) = counter.columns();
        on_writer!(self, |pool, sql| {
            if ok {
                sqlx::query(sql(&format!("UPDATE {table} SET {f} = 0, {l} = NULL WHERE id = ?"))).bind(id).execute(pool).await?;
                return Ok(0);
            }
            let ended = format!("{l} IS NOT NULL AND {l} <= ?");
            let r = sqlx::query(sql(&format!(
                "UPDATE {table} SET {f} = CASE WHEN {ended} THEN 1 ELSE {f} + 1 END, \
                 {l} = CASE WHEN (CASE WHEN {ended} THEN 1 ELSE {f} + 1 END) >= ? THEN ? WHEN {ended} THEN NULL ELSE {l} END \
                 WHERE id = ? RETURNING {f}"
            )))
            .bind(now)
            .bind(now)
            .bind(max)
            .bind(lock_until)
            .bind(now)
            .bind(id)
            .fetch_one(pool)
            .await?;
            Ok(r.get(0))
        })
    }

    /// Sets a password and ends every session of the user but `keep_api` / `keep_portal` (the
    /// session that made the change), with its audit row, in one transaction.
    pub async fn set_password_ending_sessions(
        &self,
        id: i64,
        hash: &str,
        must_change: bool,
        keep: (Option<&str>, Option<&str>),
        audit: Audit<'_>,
        now: i64,
    ) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE users SET password_hash = ?, must_change = ?, failures = 0, locked_until = NULL, web_failures = 0, web_locked_until = NULL, password_changed_at = ? WHERE id = ?"))
                .bind(hash)
                .bind(i64::from(must_change))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?"))
                .bind(id)
                .bind(keep.0.unwrap_or(""))
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM portal_sessions WHERE user_id = ? AND token_hash <> ?"))
                .bind(id)
                .bind(keep.1.unwrap_or(""))
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        self.sessions_ended();
        Ok(())
    }

    /// An office's users, by login ID.
    pub async fn office_users(&self, office: &str) -> Result<Vec<User>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT * FROM users WHERE office = ? ORDER BY login")).bind(office).fetch_all(pool).await?;
            Ok(rows.iter().map(|r| user_row!(r)).collect())
        })
    }

    /// Unlocks a user: both lockout counters cleared, audited in the same transaction.
    pub async fn unlock_user(&self, id: i64, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE users SET failures = 0, locked_until = NULL, web_failures = 0, web_locked_until = NULL WHERE id = ?"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Creates an office with its first administrator (temporary password), audited, in one
    /// transaction: both or neither. Returns the user's id.
    pub async fn create_office_with_admin(&self, o: &super::Office, admin: &NewUser<'_>, now: i64, audit: Audit<'_>) -> Result<i64> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("INSERT INTO offices (number, name, search_key, kinds, license_until, created_at) VALUES (?, ?, ?, ?, ?, ?)"))
                .bind(&o.number)
                .bind(&o.name)
                .bind(crate::search::fold(&o.name))
                .bind(o.kinds.join(","))
                .bind(&o.license_until)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let id: i64 = sqlx::query(sql(
                "INSERT INTO users (login, office, role, name, password_hash, must_change, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            ))
            .bind(admin.login)
            .bind(admin.office)
            .bind(admin.role.as_str())
            .bind(admin.name)
            .bind(admin.password_hash)
            .bind(i64::from(admin.must_change))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Disables a user: no more logins; every session (API and portal) ends at once.
    pub async fn disable_user(&self, id: i64, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE users SET disabled_at = ? WHERE id = ?")).bind(now).bind(id).execute(&mut *tx).await?;
            sqlx::query(sql("DELETE FROM sessions WHERE user_id = ?")).bind(id).execute(&mut *tx).await?;
            sqlx::query(sql("DELETE FROM portal_sessions WHERE user_id = ?")).bind(id).execute(&mut *tx).await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        self.sessions_ended();
        Ok(())
    }
}
