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
    /// `deduction` (給付費からの差し引き) or `invoice` (請求書).
    pub payment_method: String,
    /// A licence year applied for and waiting for its payment (unix seconds of the application).
    pub applied_at: Option<i64>,
    /// The month (YYYY-MM) whose 給付費 the fee is deducted from, once scheduled.
    pub deduction_month: Option<String>,
}

/// A fee campaign (フリーパス): licence years starting within its window are free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// Name.
    pub name: String,
    /// First day (YYYY-MM-DD).
    pub starts_on: String,
    /// Last day (YYYY-MM-DD).
    pub ends_on: String,
}

/// An office on a month's deduction list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeductionRow {
    /// 事業所番号.
    pub number: String,
    /// 事業所名.
    pub name: String,
    /// The fee (yen).
    pub fee: i64,
    /// The current licence's last day, if any.
    pub until: Option<String>,
    /// Applied at (unix seconds), while still waiting.
    pub applied_at: Option<i64>,
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
                "SELECT license_until, terms_agreed_at, license_fee, license_paid_at, auto_renew, payment_method, license_applied_at, deduction_month FROM offices WHERE number = ?",
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
                payment_method: r.get(5),
                applied_at: r.get(6),
                deduction_month: r.get(7),
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

    /// A licence year applied for (or renewed) at `fee_yen`, waiting for its payment; with its
    /// audit row and, when given, a notice, in one transaction.
    pub async fn apply_license(&self, office: &str, fee_yen: i64, now: i64, announce: Option<&NewNotice>, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE offices SET license_applied_at = ?, license_fee = ?, license_paid_at = NULL, deduction_month = NULL, terms_agreed_at = COALESCE(terms_agreed_at, ?) WHERE number = ?"))
                .bind(now)
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

    /// Starts the licence year: valid through `until`, paid at `paid_at` (an invoice) or deducted
    /// in `deduction_month`, the fee set to `fee_yen` when given (a campaign); the application no
    /// longer waits. With its audit row, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn activate_license(
        &self,
        office: &str,
        until: &str,
        paid_at: Option<i64>,
        deduction_month: Option<&str>,
        fee_yen: Option<i64>,
        now: i64,
        audit: Audit<'_>,
    ) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE offices SET license_until = ?, license_applied_at = NULL, license_paid_at = ?, deduction_month = ?, license_fee = COALESCE(?, license_fee), terms_agreed_at = COALESCE(terms_agreed_at, ?) WHERE number = ?"))
                .bind(until)
                .bind(paid_at)
                .bind(deduction_month)
                .bind(fee_yen)
                .bind(now)
                .bind(office)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sets an office's payment method, audited.
    pub async fn set_payment_method(&self, office: &str, method: &str, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE offices SET payment_method = ? WHERE number = ?")).bind(method).bind(office).execute(&mut *tx).await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// A month's deduction list of one prefecture: offices paying by deduction whose licence
    /// year waits for its fee, and those already scheduled in `month` (the list can be exported
    /// again), by number.
    pub async fn deduction_list(&self, prefecture: i64, month: &str) -> Result<Vec<DeductionRow>> {
        let prefix = format!("{prefecture:02}");
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT number, name, license_fee, license_until, license_applied_at FROM offices \
                 WHERE payment_method = 'deduction' AND substr(number, 1, 2) = ? \
                 AND ((license_applied_at IS NOT NULL AND license_fee > 0) OR deduction_month = ?) ORDER BY number"))
            .bind(&prefix)
            .bind(month)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .iter()
                .map(|r| DeductionRow {
                    number: r.get(0),
                    name: r.get(1),
                    fee: r.get::<Option<i64>, _>(2).unwrap_or(0),
                    until: r.get(3),
                    applied_at: r.get(4),
                })
                .collect())
        })
    }

    /// Offices whose licence year waits for its fee, or was granted and is still unpaid (the
    /// candidates of a new campaign): (number, current last day, applied at).
    pub async fn unpaid_licences(&self) -> Result<Vec<(String, Option<String>, Option<i64>)>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql(
                "SELECT number, license_until, license_applied_at FROM offices WHERE license_fee > 0 AND license_paid_at IS NULL AND deduction_month IS NULL \
                 AND (license_applied_at IS NOT NULL OR license_until IS NOT NULL) ORDER BY number",
            ))
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
        })
    }

    /// The campaigns, by first day.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT name, starts_on, ends_on FROM campaigns ORDER BY starts_on, id")).fetch_all(pool).await?;
            Ok(rows.iter().map(|r| Campaign { name: r.get(0), starts_on: r.get(1), ends_on: r.get(2) }).collect())
        })
    }

    /// Adds a campaign, audited.
    pub async fn add_campaign(&self, c: &Campaign, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("INSERT INTO campaigns (name, starts_on, ends_on, created_at) VALUES (?, ?, ?, ?)"))
                .bind(&c.name)
                .bind(&c.starts_on)
                .bind(&c.ends_on)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Waives the fee of a granted, unpaid licence year (a campaign), audited.
    pub async fn waive_fee(&self, office: &str, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE offices SET license_fee = 0, license_paid_at = ? WHERE number = ?"))
                .bind(now)
                .bind(office)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }
}
