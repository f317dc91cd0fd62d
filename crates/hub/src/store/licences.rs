//! Licences: validity, fee, payment, automatic renewal.

use super::{Audit, Backend, NewNotice, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// The license of an office as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseInfo {
    /// Valid through (YYYY-MM-DD).
    pub until: Option<String>,
    /// When the terms were agreed (unix seconds).
    pub terms_agreed_at: Option<i64>,
    /// Fee of the current period (yen).
    pub fee_yen: Option<i64>,
    /// When it was paid.
    pub paid_at: Option<i64>,
    /// Renew automatically.
    pub auto_renew: bool,
}

/// An office whose licence renews itself soon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalDue {
    /// The office.
    pub office: String,
    /// The licence's last day (`YYYY-MM-DD`).
    pub until: String,
}

impl Store {
    /// The license side of an office.
    pub async fn license(&self, office: &str) -> Result<Option<LicenseInfo>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql(
                "SELECT license_until, terms_agreed_at, license_fee, license_paid_at, auto_renew FROM offices WHERE number = ?",
            ))
            .bind(office)
            .fetch_optional(pool)
            .await?;
            Ok(r.map(|r| LicenseInfo {
                until: r.get(0),
                terms_agreed_at: r.get(1),
                fee_yen: r.get(2),
                paid_at: r.get(3),
                auto_renew: r.get::<i64, _>(4) != 0,
            }))
        })
    }

    /// 利用申請 or renewal: the license runs through `until`, at `fee_yen` (paid at once when 0);
    /// with its audit row and, when given, a notice to the office, in one transaction.
    pub async fn grant_license(
        &self,
        office: &str,
        until: &str,
        fee_yen: i64,
        now: i64,
        announce: Option<&NewNotice>,
        audit: Audit<'_>,
    ) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE offices SET license_until = ?, terms_agreed_at = COALESCE(terms_agreed_at, ?), license_fee = ?, license_paid_at = CASE WHEN ? = 0 THEN ? ELSE NULL END WHERE number = ?"))
                .bind(until)
                .bind(now)
                .bind(fee_yen)
                .bind(fee_yen)
                .bind(now)
                .bind(office)
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

    /// Switches automatic renewal.
    pub async fn set_auto_renew(&self, office: &str, on: bool, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE offices SET auto_renew = ? WHERE number = ?"))
                .bind(i64::from(on))
                .bind(office)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Offices renewing automatically whose license ends on or before `by` but not before
    /// `today`: (number, valid through).
    pub async fn due_for_renewal(&self, today: &str, by: &str) -> Result<Vec<RenewalDue>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT number, license_until FROM offices WHERE auto_renew = 1 AND license_until >= ? AND license_until <= ? ORDER BY number"))
                .bind(today)
                .bind(by)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| RenewalDue { office: r.get(0), until: r.get(1) }).collect())
        })
    }

    /// Records the payment of the current license period.
    pub async fn mark_paid(&self, office: &str, now: i64, audit: Audit<'_>) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r =
                sqlx::query(sql("UPDATE offices SET license_paid_at = ? WHERE number = ? AND license_fee > 0 AND license_paid_at IS NULL"))
                    .bind(now)
                    .bind(office)
                    .execute(&mut *tx)
                    .await?;
            let out = r.rows_affected() == 1;
            if r.rows_affected() == 1 {
                insert_audit!(&mut *tx, sql, &audit, now);
            }
            tx.commit().await?;
            Ok(out)
        })
    }
}
