//! Registry import and public-list search at national scale.
//!
//! ```text
//! cargo run --release -p renkei-hub --example bench_registry -- [--rows 200000] [--postgres URL]
//! ```
//!
//! Builds a registry with the 2023 per-prefecture proportions scaled to `--rows` offices, imports
//! it the way `renkei-hub registry import` does (parse + batches of 5,000 in transactions), makes
//! the same share of them participants (8,283 / 181,566 ≈ 4.6%), then times the public list's
//! searches (by prefecture, kind, name fragment, number prefix) and the 利用状況 aggregation.

use renkei_hub::store::{Office, ParticipantQuery, Store};
use std::time::Instant;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut rows: u32 = 200_000;
    let mut pg: Option<String> = None;
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--rows" => rows = it.next().unwrap_or_default().parse()?,
            "--postgres" => pg = it.next(),
            _ => anyhow::bail!("unknown argument {k}"),
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use --release for figures");
    }
    let dir = std::env::temp_dir().join(format!("renkei-bench-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (url, db) = match &pg {
        Some(admin) => {
            let db = format!("renkei_bench_reg_{}", std::process::id());
            std::process::Command::new("psql").arg(admin).arg("-qc").arg(format!("CREATE DATABASE {db}")).status()?;
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            (format!("{base}/{db}"), Some((admin.clone(), db)))
        }
        None => (format!("sqlite:{}", dir.join("hub.db").display()), None),
    };
    let store = Store::open(&url).await?;
    let figures = renkei_testkit::prefecture_figures();
    let national: u32 = figures.iter().map(|f| f.offices).sum();
    let scale = f64::from(rows) / f64::from(national);
    let csv = renkei_testkit::registry_csv(&figures, |f| (f64::from(f.offices) * scale).round() as u32);
    println!("registry: {:.1} MB CSV, back end {}", csv.len() as f64 / 1e6, store.backend_name());

    let t = Instant::now();
    let r = renkei_hub::registry::import(&store, &csv, 1, 5000, |_, _| {}).await?;
    let import_s = t.elapsed().as_secs_f64();
    println!("import: {} rows in {:.2} s = {:.0} rows/s ({} errors)", r.imported, import_s, r.imported as f64 / import_s, r.errors.len());
    let t = Instant::now();
    let r2 = renkei_hub::registry::import(&store, &csv, 2, 5000, |_, _| {}).await?;
    println!("re-import (all updates): {} rows in {:.2} s", r2.imported, t.elapsed().as_secs_f64());

    let until = time::OffsetDateTime::now_utc().date().saturating_add(time::Duration::days(300)).to_string();
    let t = Instant::now();
    let mut participants = 0;
    for f in &figures {
        let n = (f64::from(f.using) * scale).round() as u32;
        for i in 0..n {
            let number = renkei_testkit::registry_number(f.code, i * 7);
            store
                .upsert_office(
                    &Office {
                        number,
                        name: format!("{}参加事業所{i}", f.name),
                        kinds: vec!["43".into(), "15".into()],
                        license_until: Some(until.clone()),
                    },
                    1,
                    Default::default(),
                )
                .await?;
            participants += 1;
        }
    }
    println!("participants: {participants} registered in {:.1} s (one transaction each)", t.elapsed().as_secs_f64());

    let today = time::OffsetDateTime::now_utc().date().to_string();
    let queries: Vec<(&str, ParticipantQuery)> = vec![
        ("all (first page)", ParticipantQuery::default()),
        ("prefecture 13", ParticipantQuery { prefecture: Some(13), ..Default::default() }),
        ("prefecture 13 + kind 15", ParticipantQuery { prefecture: Some(13), kind: Some("15".into()), ..Default::default() }),
        ("name fragment 「参加事業所12」", ParticipantQuery { text: Some("参加事業所12".into()), ..Default::default() }),
        ("number prefix 2750", ParticipantQuery { text: Some("2750".into()), ..Default::default() }),
    ];
    for (label, q) in &queries {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..50 {
            let t = Instant::now();
            let total = store.search_participants(q, &today, renkei_hub::web::portal::public::LIST_LIMIT).await?.total;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            found = total;
        }
        println!("search {label:<32} {found:>6} found  p50 {:>6.2} ms  p99 {:>6.2} ms", pct(&mut times, 0.5), pct(&mut times, 0.99));
    }
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        store.usage_by_prefecture(&today).await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("利用状況 aggregation (47 prefectures)        p50 {:>6.2} ms  p99 {:>6.2} ms", pct(&mut times, 0.5), pct(&mut times, 0.99));
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some((admin, db)) = db {
        std::process::Command::new("psql").arg(admin).arg("-qc").arg(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).status()?;
    }
    Ok(())
}
