//! The office client's 一括送信 preparation on one generated month of a large care-management
//! office: read a folder (or the same files in one ZIP), check every file with `renkei-spec`,
//! group by destination. This is what a clerk waits for between dropping the month's files and
//! seeing the per-destination verdicts.
//!
//! ```text
//! cargo run --release -p renkei-bench --bin bench-bulk -- [--clients N] [--providers N] [--rounds N]
//! ```

use anyhow::{Context as _, bail};
use renkei_client::outgoing;
use renkei_spec::calendar::YearMonth;
use std::io::Write as _;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let (mut clients, mut providers, mut rounds) = (400usize, 40usize, 5usize);
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v: usize = it.next().context("missing value")?.parse().context("not a number")?;
        match k.as_str() {
            "--clients" => clients = v,
            "--providers" => providers = v,
            "--rounds" => rounds = v.max(1),
            _ => bail!("unknown argument {k}"),
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use --release for figures");
    }
    // The care office's own outgoing files of the month (the month also holds the providers' 実績).
    let all = renkei_testkit::Generator::new(2025).month_of_large_office(clients, providers, YearMonth { year: 2025, month: 6 });
    let sender = |n: &str| renkei_spec::name::FileName::parse(n).ok().map(|f| f.sender.office.to_string());
    let mut counts = std::collections::HashMap::new();
    for f in &all {
        *counts.entry(sender(&f.name)).or_insert(0usize) += 1;
    }
    let office = counts.into_iter().max_by_key(|(_, n)| *n).and_then(|(o, _)| o).context("no files")?;
    let files: Vec<_> = all.into_iter().filter(|f| sender(&f.name).as_deref() == Some(office.as_str())).collect();
    let bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
    let dir = std::env::temp_dir().join(format!("renkei-bench-bulk-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for f in &files {
        std::fs::write(dir.join(&f.name), &f.bytes)?;
    }
    let zip_path = std::env::temp_dir().join(format!("renkei-bench-bulk-{}.zip", std::process::id()));
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path)?);
        for f in &files {
            w.start_file(format!("export/{}", f.name), zip::write::SimpleFileOptions::default())?;
            w.write_all(&f.bytes)?;
        }
        w.finish()?;
    }
    let zip_size = std::fs::metadata(&zip_path)?.len();
    println!(
        "one month sent by a large care office: {} files, {:.1} MB ({} clients, {} providers); as one ZIP {:.1} MB",
        files.len(),
        bytes as f64 / 1e6,
        clients,
        providers,
        zip_size as f64 / 1e6
    );
    for (label, path) in [("folder", dir.clone()), ("ZIP", zip_path.clone())] {
        let mut best = f64::MAX;
        let mut groups = 0;
        let mut held = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let (cands, bad) = outgoing::collect(std::slice::from_ref(&path));
            let plan = outgoing::plan(&office, None, cands, bad, &[office.as_str()]);
            best = best.min(t.elapsed().as_secs_f64());
            groups = plan.groups.len();
            held = plan.groups.iter().map(|g| g.held.len()).sum::<usize>() + plan.unassigned.len();
        }
        println!(
            "{label:>6}: read + check + group {:>7.1} ms (best of {rounds}) = {:>6.0} files/s, {:>6.1} MB/s; {groups} destinations, {held} held back",
            best * 1e3,
            files.len() as f64 / best,
            bytes as f64 / 1e6 / best
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&zip_path);
    Ok(())
}
