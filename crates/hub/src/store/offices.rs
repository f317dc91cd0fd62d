//! Offices (事業所) on the system.

use super::{Audit, Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// An office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Office {
    /// 事業所番号.
    pub number: String,
    /// Name.
    pub name: String,
    /// サービス種類コード.
    pub kinds: Vec<String>,
    /// License valid through (YYYY-MM-DD).
    pub license_until: Option<String>,
}

impl Store {
    /// Adds or updates an office.
    pub async fn upsert_office(&self, o: &Office, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("INSERT INTO offices (number, name, search_key, kinds, license_until, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET name = excluded.name, search_key = excluded.search_key, kinds = excluded.kinds, license_until = excluded.license_until"))
                .bind(&o.number)
                .bind(&o.name)
                .bind(crate::search::fold(&o.name))
                .bind(o.kinds.join(","))
                .bind(&o.license_until)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Fills in the search form of names stored before it existed (once, when the store opens).
    pub(crate) async fn fill_search_keys(&self) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT number, name FROM offices WHERE search_key = '' AND name <> ''")).fetch_all(pool).await?;
            for r in rows {
                let (number, name): (String, String) = (r.get(0), r.get(1));
                sqlx::query(sql("UPDATE offices SET search_key = ? WHERE number = ?"))
                    .bind(crate::search::fold(&name))
                    .bind(&number)
                    .execute(pool)
                    .await?;
            }
        });
        Ok(())
    }

    /// Looks an office up.
    pub async fn office(&self, number: &str) -> Result<Option<Office>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT number, name, kinds, license_until FROM offices WHERE number = ?"))
                .bind(number)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| office_row!(&r)))
        })
    }

    /// Two offices in one query (a send's sender and recipient): `(first, second)`, each `None`
    /// where it is not registered.
    pub async fn office_pair(&self, first: &str, second: &str) -> Result<(Option<Office>, Option<Office>)> {
        let rows: Vec<Office> = on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT number, name, kinds, license_until FROM offices WHERE number IN (?, ?)"))
                .bind(first)
                .bind(second)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| office_row!(r)).collect()
        });
        let take = |n: &str| rows.iter().find(|o| o.number == n).cloned();
        Ok((take(first), take(second)))
    }

    /// All offices.
    pub async fn offices(&self) -> Result<Vec<Office>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT number, name, kinds, license_until FROM offices ORDER BY number")).fetch_all(pool).await?;
            Ok(rows.iter().map(|r| office_row!(r)).collect())
        })
    }
}
