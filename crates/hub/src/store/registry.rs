//! The registry of care offices (介護事業所台帳) and the public list of participants.

use super::{Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// One row of the office registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRow {
    /// 事業所番号.
    pub number: String,
    /// 事業所名.
    pub name: String,
    /// サービス種類コード.
    pub kind: String,
    /// 都道府県コード (1–47).
    pub prefecture: i32,
    /// 所在地.
    pub address: String,
}

/// Filters of the public office list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantQuery {
    /// 都道府県コード.
    pub prefecture: Option<i32>,
    /// サービス種類コード.
    pub kind: Option<String>,
    /// Part of the name, or the start of the number.
    pub text: Option<String>,
}

/// A participating office as the public list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// 事業所番号.
    pub number: String,
    /// 事業所名.
    pub name: String,
    /// サービス種類コード.
    pub kinds: Vec<String>,
    /// 所在地 (from the registry; empty if not there).
    pub address: String,
}

/// How many offices of a prefecture are in the registry and how many take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefectureUsage {
    /// Prefecture code (1–47).
    pub prefecture: i32,
    /// Offices in the registry.
    pub offices: i64,
    /// Offices with a valid licence.
    pub participating: i64,
}

/// One page of the public list of participants, and how many match in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantPage {
    /// The page.
    pub list: Vec<Participant>,
    /// Matches in all.
    pub total: i64,
}

impl Store {
    /// The registry's row of one office number, if it holds it.
    pub async fn registry_entry(&self, number: &str) -> Result<Option<RegistryRow>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT number, name, kind, prefecture, address FROM registry WHERE number = ?"))
                .bind(number)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| RegistryRow {
                number: r.get(0),
                name: r.get(1),
                kind: r.get(2),
                prefecture: i32::try_from(r.get::<i64, _>(3)).unwrap_or(0),
                address: r.get(4),
            }))
        })
    }

    /// Imports registry rows (insert or update by 事業所番号) in one transaction.
    pub async fn import_registry(&self, rows: &[RegistryRow], now: i64) -> Result<()> {
        let stmt = |n: usize| {
            format!(
                "INSERT INTO registry (number, name, kind, prefecture, address, imported_at) VALUES {} ON CONFLICT (number) DO UPDATE SET name = excluded.name, kind = excluded.kind, prefecture = excluded.prefecture, address = excluded.address, imported_at = excluded.imported_at",
                vec!["(?, ?, ?, ?, ?, ?)"; n].join(", ")
            )
        };
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(500) {
                let text = stmt(chunk.len());
                let mut q = sqlx::query(sql(&text));
                for r in chunk {
                    q = q.bind(&r.number).bind(&r.name).bind(&r.kind).bind(r.prefecture).bind(&r.address).bind(now);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Per prefecture: offices in the registry, and participating offices (a valid license on
    /// `today`, YYYY-MM-DD), by the prefecture digits of the 事業所番号.
    pub async fn usage_by_prefecture(&self, today: &str) -> Result<Vec<PrefectureUsage>> {
        on_pool!(self, |pool, sql| {
            let total = sqlx::query(sql("SELECT prefecture, COUNT(*) FROM registry GROUP BY prefecture")).fetch_all(pool).await?;
            let using = sqlx::query(sql(
                "SELECT SUBSTR(number, 1, 2), COUNT(*) FROM offices WHERE license_until >= ? GROUP BY SUBSTR(number, 1, 2)",
            ))
            .bind(today)
            .fetch_all(pool)
            .await?;
            let mut out: std::collections::BTreeMap<i32, (i64, i64)> = (1..=47).map(|p| (p, (0, 0))).collect();
            for r in total {
                let p: i64 = r.get::<i64, _>(0);
                out.entry(p as i32).or_default().0 = r.get(1);
            }
            for r in using {
                let p: String = r.get(0);
                if let Ok(p) = p.parse::<i32>() {
                    out.entry(p).or_default().1 = r.get(1);
                }
            }
            Ok(out
                .into_iter()
                .map(|(prefecture, (offices, participating))| PrefectureUsage { prefecture, offices, participating })
                .collect())
        })
    }

    /// Number of registry rows.
    pub async fn registry_count(&self) -> Result<i64> {
        on_pool!(self, |pool, sql| { Ok(sqlx::query(sql("SELECT COUNT(*) FROM registry")).fetch_one(pool).await?.get(0)) })
    }

    /// The public list of participating offices (a valid license on `today`): by prefecture,
    /// service kind, and a name fragment or the start of a number. At most `limit` rows, by
    /// number; with the total count.
    pub async fn search_participants(&self, q: &ParticipantQuery, today: &str, limit: i64) -> Result<ParticipantPage> {
        let pref = q.prefecture.map(|p| format!("{p:02}"));
        let kind = q.kind.as_ref().map(|k| format!("%,{k},%"));
        // Every word must match: the name (folded: width, kana, case) or the start of the number.
        let terms = q.text.as_deref().map(crate::search::terms).unwrap_or_default();
        let mut cond = String::from(
            "FROM offices o LEFT JOIN registry r ON r.number = o.number WHERE o.license_until >= ? AND (? IS NULL OR SUBSTR(o.number, 1, 2) = ?) AND (? IS NULL OR (',' || o.kinds || ',') LIKE ?)",
        );
        for _ in &terms {
            cond.push_str(" AND (o.search_key LIKE ? OR o.number LIKE ?)");
        }
        let binds: Vec<(String, String)> = terms
            .iter()
            .map(|t| (format!("%{t}%"), if t.bytes().all(|b| b.is_ascii_digit()) { format!("{t}%") } else { String::new() }))
            .collect();
        on_pool!(self, |pool, sql| {
            let count_sql = format!("SELECT COUNT(*) {cond}");
            let mut count = sqlx::query(sql(&count_sql)).bind(today).bind(&pref).bind(&pref).bind(&kind).bind(&kind);
            for (name, number) in &binds {
                count = count.bind(name).bind(number);
            }
            let total: i64 = count.fetch_one(pool).await?.get(0);
            let list_sql = format!("SELECT o.number, o.name, o.kinds, COALESCE(r.address, '') AS address {cond} ORDER BY o.number LIMIT ?");
            let mut list = sqlx::query(sql(&list_sql)).bind(today).bind(&pref).bind(&pref).bind(&kind).bind(&kind);
            for (name, number) in &binds {
                list = list.bind(name).bind(number);
            }
            let rows = list.bind(limit).fetch_all(pool).await?;
            let list = rows
                .iter()
                .map(|r| {
                    let kinds: String = r.get("kinds");
                    Participant {
                        number: r.get("number"),
                        name: r.get("name"),
                        kinds: kinds.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                        address: r.get("address"),
                    }
                })
                .collect();
            Ok(ParticipantPage { list, total })
        })
    }
}
