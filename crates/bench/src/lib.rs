//! What the benchmark programs share: finding the hub binary, and the CPU time of processes
//! (the hub's, PostgreSQL's) from `/proc`.

use anyhow::{Context as _, bail};
use std::path::PathBuf;
use std::process::Command;

/// `renkei-hub` next to the running benchmark (the same `cargo build` profile).
pub fn hub_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let p = me.with_file_name("renkei-hub");
    if !p.exists() {
        bail!("{} not found: build it with `cargo build --release -p renkei-hub`", p.display());
    }
    Ok(p)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// The fields of `/proc/<pid>/stat` after the command name, and the command name.
fn stat_fields(pid: u32) -> anyhow::Result<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let open = stat.find('(').context("stat")?;
    let close = stat.rfind(')').context("stat")?;
    Ok((stat[open + 1..close].to_owned(), stat[close + 2..].split_whitespace().map(str::to_owned).collect()))
}

/// CPU time (user + system) of a process, in milliseconds.
pub fn cpu_ms(pid: u32) -> anyhow::Result<f64> {
    let (_, f) = stat_fields(pid)?;
    let ticks: f64 = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
    Ok(ticks * 1000.0 / clock_ticks())
}

/// CPU time of every PostgreSQL process on this machine (its own and that of the backends it
/// has reaped), in milliseconds: what the database spends besides the hub.
pub fn postgres_cpu_ms() -> f64 {
    let mut ticks = 0.0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok((name, f)) = stat_fields(pid) else { continue };
        if name == "postgres" && f.len() > 14 {
            ticks += f[11..15].iter().filter_map(|x| x.parse::<f64>().ok()).sum::<f64>();
        }
    }
    ticks * 1000.0 / clock_ticks()
}

/// The `p` quantile (0–1) of `v` (sorted in place); NaN when empty.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}
