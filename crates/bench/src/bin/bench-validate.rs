//! Validation throughput on one generated month of a large care-management office.
//!
//! ```text
//! cargo run --release -p renkei-bench --bin bench-validate -- [--clients N] [--providers N] [--rounds N]
//! ```
//!
//! Prints MB/s and files/s for `renkei_spec::check` (decode + parse + every rule + send units),
//! and, in the same run on the same files, for Python's `csv` module only *reading* them
//! (`open(encoding="cp932")` + `csv.reader`), which does no validation at all. Run it in release.

use anyhow::{Context as _, bail};
use renkei_spec::calendar::YearMonth;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

struct Args {
    clients: usize,
    providers: usize,
    rounds: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args { clients: 400, providers: 40, rounds: 5 };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v: usize = it.next().context("missing value")?.parse().context("not a number")?;
        match k.as_str() {
            "--clients" => a.clients = v,
            "--providers" => a.providers = v,
            "--rounds" => a.rounds = v.max(1),
            _ => bail!("unknown argument {k}"),
        }
    }
    Ok(a)
}

const PY: &str = r#"
import csv, os, sys, time
d = sys.argv[1]; rounds = int(sys.argv[2])
names = sorted(n for n in os.listdir(d) if n.upper().endswith('.CSV'))
best = None
for _ in range(rounds):
    t = time.perf_counter(); rows = 0
    for n in names:
        with open(os.path.join(d, n), encoding='cp932', newline='') as f:
            for r in csv.reader(f):
                rows += 1
    el = time.perf_counter() - t
    best = el if best is None or el < best else best
print(f"{best:.6f} {rows}")
"#;

fn main() -> anyhow::Result<()> {
    let a = args()?;
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; figures are not meaningful (use --release)");
    }
    let month = YearMonth::new(2025, 11).context("month")?;
    let files = renkei_testkit::Generator::new(2025).month_of_large_office(a.clients, a.providers, month);
    let dir: PathBuf = std::env::temp_dir().join(format!("renkei-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut bytes = 0usize;
    for f in &files {
        std::fs::write(dir.join(&f.name), &f.bytes)?;
        bytes += f.bytes.len();
    }
    let records: usize = files.iter().filter_map(|f| f.records.as_ref()).map(|r| r.len()).sum();
    println!(
        "month {month}: {} clients, {} providers → {} files, {records} records, {:.2} MB",
        a.clients,
        a.providers,
        files.len(),
        bytes as f64 / 1e6
    );

    // renkei: read from disk and check everything, best of N rounds.
    let mut best = f64::MAX;
    for _ in 0..a.rounds {
        let t = Instant::now();
        let mut inputs = Vec::with_capacity(files.len());
        for f in &files {
            inputs.push((f.name.clone(), std::fs::read(dir.join(&f.name))?));
        }
        let report = renkei_spec::check(inputs);
        let el = t.elapsed().as_secs_f64();
        let tally = report.tally();
        if tally.errors + tally.warnings > 0 {
            bail!("generated month has findings: {tally:?}");
        }
        best = best.min(el);
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "renkei check, all cores (decode + parse + every rule + units): {:>8.1} MB/s  {:>8.0} files/s  ({:.3} s)",
        mb / best,
        files.len() as f64 / best,
        best
    );

    // The same work on one core.
    let mut single = f64::MAX;
    for _ in 0..a.rounds {
        let t = Instant::now();
        let mut reports = Vec::with_capacity(files.len());
        for f in &files {
            let b = std::fs::read(dir.join(&f.name))?;
            reports.push(renkei_spec::validate::check_file(&f.name, &b));
        }
        let (units, _) = renkei_spec::unit::group(&reports);
        std::hint::black_box(units);
        single = single.min(t.elapsed().as_secs_f64());
    }
    println!(
        "renkei check, one core:                                        {:>8.1} MB/s  {:>8.0} files/s  ({:.3} s)",
        mb / single,
        files.len() as f64 / single,
        single
    );

    // Python csv, same files, same machine, same run.
    let out = Command::new("python3").arg("-c").arg(PY).arg(&dir).arg(a.rounds.to_string()).output().context("running python3")?;
    if out.status.success() {
        let s = String::from_utf8_lossy(&out.stdout);
        let mut it = s.split_whitespace();
        let secs: f64 = it.next().context("python output")?.parse()?;
        let rows: usize = it.next().context("python output")?.parse()?;
        let csv_files = files.iter().filter(|f| f.records.is_some()).count();
        println!(
            "python csv.reader, one core (cp932, read only, {rows} rows): {:>8.1} MB/s  {:>8.0} files/s  ({:.3} s)",
            mb / secs,
            csv_files as f64 / secs,
            secs
        );
        println!("renkei (validating) vs python (reading only): {:.2}× on one core, {:.2}× on all cores", secs / single, secs / best);
    } else {
        println!("python3 not available: {}", String::from_utf8_lossy(&out.stderr));
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
