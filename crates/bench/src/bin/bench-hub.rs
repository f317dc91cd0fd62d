//! End-to-end load on a real hub process over mutual TLS.
//!
//! ```text
//! cargo build --release -p renkei-hub -p renkei-bench
//! target/release/bench-hub [--offices 9] [--seconds 15] [--senders 16] [--postgres postgres://root@127.0.0.1:5432/postgres]
//! target/release/bench-hub --large-mb 50    # two 50 MB sends at once: peak memory, /healthz latency
//! target/release/bench-hub --one-file 2000 --senders 8   # one-file messages, unique content
//! target/release/bench-hub --one-file 20000 --rate 1000   # open-loop offered load: send p99
//! target/release/bench-hub --one-file 2000 --history 200000   # the same on a store with history
//! target/release/bench-hub --uploads 20 --upload-mb 10      # concurrent large uploads: peak memory
//! ```
//!
//! Sets up N offices (`renkei-hub dev --offices N --setup-only`), starts `renkei-hub serve` (the
//! binary next to this one), logs every office in on its own terminal certificate, then:
//! care-management offices send standard 第6表/第7表/補足 units (~4 KiB) to providers, with
//! keep-alive connections; providers list their inbox, download every file (checking SHA-256)
//! and acknowledge (データ取得). Prints files/s end to end, p50/p99 latency of sends and of
//! receipts, and the hub's CPU milliseconds per file (from /proc). Durable commits throughout
//! (SQLite WAL with synchronous=FULL, or PostgreSQL; blobs fsynced).

use anyhow::{Context as _, bail};
use renkei_bench::{cpu_ms, hub_binary, percentile, postgres_cpu_ms};
use renkei_protocol::*;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// (sender index, recipient index, files).
type Bundle = (usize, usize, Vec<(String, Vec<u8>)>);

struct Args {
    offices: usize,
    seconds: u64,
    senders: usize,
    postgres: Option<String>,
    large_mb: usize,
    /// `--one-file N`: N one-file messages of unique content instead of timed 3-file units.
    one_file: u64,
    /// `--rate R` (with `--one-file`): offer R sends per second open-loop instead of closed-loop
    /// senders; latency is measured from each send's scheduled time.
    rate: f64,
    /// `--history H` (with `--one-file`): first fill the store with H delivered messages (not measured).
    history: u64,
    /// `--uploads K`: K concurrent sends of one `--upload-mb` MiB file each; peak memory.
    uploads: usize,
    upload_mb: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        offices: 9,
        seconds: 15,
        senders: 16,
        postgres: None,
        large_mb: 0,
        one_file: 0,
        rate: 0.0,
        history: 0,
        uploads: 0,
        upload_mb: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().context("missing value")?;
        match k.as_str() {
            "--offices" => a.offices = v.parse()?,
            "--seconds" => a.seconds = v.parse()?,
            "--senders" => a.senders = v.parse()?,
            "--postgres" => a.postgres = Some(v),
            "--large-mb" => a.large_mb = v.parse()?,
            "--one-file" => a.one_file = v.parse()?,
            "--rate" => a.rate = v.parse()?,
            "--history" => a.history = v.parse()?,
            "--uploads" => a.uploads = v.parse()?,
            "--upload-mb" => a.upload_mb = v.parse()?,
            _ => bail!("unknown argument {k}"),
        }
    }
    if a.offices < 2 {
        bail!("--offices must be at least 2");
    }
    Ok(a)
}

struct Office {
    number: String,
    kind: String,
    login: String,
    dir: PathBuf,
}

/// A client on the office's terminal certificate: HTTP/2 (as the renkei client negotiates it),
/// or HTTP/1.1 keep-alive (`http1`, the one-file workload, as issue 13's outside load driver).
fn client(o: &Office, port: u16, http1: bool) -> anyhow::Result<reqwest::Client> {
    let mut pem = std::fs::read(o.dir.join("terminal.pem"))?;
    pem.extend(std::fs::read(o.dir.join("terminal.key"))?);
    let ca = reqwest::Certificate::from_pem(&std::fs::read(o.dir.join("ca.pem"))?)?;
    let b = reqwest::Client::builder();
    let b = if http1 { b.http1_only() } else { b };
    Ok(b.tls_certs_only([ca])
        .identity(reqwest::Identity::from_pem(&pem)?)
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(30))
        .build()?)
}

struct Guard {
    child: Child,
    dir: PathBuf,
    drop_db: Option<(String, String)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((admin, db)) = &self.drop_db {
            let _ = Command::new("psql").arg(admin).arg("-qc").arg(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).status();
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use --release for figures");
    }
    let hub = hub_binary()?;
    let dir = std::env::temp_dir().join(format!("renkei-bench-hub-{}", std::process::id()));
    let (db_url, drop_db) = match &a.postgres {
        Some(admin) => {
            let db = format!("renkei_bench_{}", std::process::id());
            let ok = Command::new("psql").arg(admin).arg("-qc").arg(format!("CREATE DATABASE {db}")).status()?.success();
            if !ok {
                bail!("cannot create database {db} on {admin}");
            }
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            (Some(format!("{base}/{db}")), Some((admin.clone(), db)))
        }
        None => (None, None),
    };
    // The hub logs warnings only, unless the caller asks for more (`RENKEI_LOG=info,h2=debug`).
    let log = std::env::var("RENKEI_LOG").unwrap_or_else(|_| "warn".into());
    let env = |c: &mut Command| {
        c.env("RENKEI_DATA_DIR", &dir).env("RENKEI_METRICS_LISTEN", "").env("RENKEI_LOG", &log);
        if let Some(u) = &db_url {
            c.env("RENKEI_DATABASE_URL", u);
        }
    };
    let mut setup = Command::new(&hub);
    setup.args(["dev", "--setup-only", "--offices", &a.offices.to_string(), "--data-dir"]).arg(&dir).stdout(Stdio::null());
    env(&mut setup);
    if !setup.status()?.success() {
        bail!("setup failed");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut serve = Command::new(&hub);
    serve.arg("serve").env("RENKEI_LISTEN", format!("127.0.0.1:{port}")).stdout(Stdio::null());
    env(&mut serve);
    let child = serve.spawn()?;
    let pid = child.id();
    let _guard = Guard { child, dir: dir.clone(), drop_db };

    // Offices as `dev` created them: kinds cycle 43, 15, 11.
    let mut offices = Vec::new();
    let mut numbers: Vec<String> = std::fs::read_dir(dir.join("terminals"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    numbers.sort();
    for (i, n) in numbers.iter().enumerate() {
        let kind = ["43", "15", "11"][i % 3].to_owned();
        offices.push(Office { number: n.clone(), kind, login: format!("KJ{n}01"), dir: dir.join("terminals").join(n) });
    }
    let probe = client(&offices[0], port, false)?;
    let t0 = Instant::now();
    while probe.get(format!("https://localhost:{port}/healthz")).send().await.is_err() {
        if t0.elapsed() > Duration::from_secs(20) {
            bail!("hub did not start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = Arc::new(move |p: &str| format!("https://localhost:{port}{p}"));
    let mut sessions = Vec::new();
    for o in &offices {
        let c = client(o, port, a.one_file > 0)?;
        let r: LoginResponse = c
            .post(url(paths::SESSIONS))
            .json(&LoginRequest { login: o.login.clone(), password: "renkei2025".into() })
            .send()
            .await?
            .json()
            .await?;
        sessions.push((c, r.token));
    }

    if a.uploads > 0 {
        return uploads(&a, pid, &sessions, &offices.iter().map(|o| o.number.clone()).collect::<Vec<_>>(), &*url).await;
    }
    if a.one_file > 0 {
        let mut history = Command::new(&hub);
        history.arg("history").stdout(Stdio::null());
        env(&mut history);
        return one_file(&a, pid, sessions, offices.iter().map(|o| o.number.clone()).collect(), url, history).await;
    }

    // Pre-generated bundles (~4 KiB, three files each) for every care-manager → provider pair.
    let cms: Vec<usize> = (0..offices.len()).filter(|&i| offices[i].kind == "43").collect();
    let providers: Vec<usize> = (0..offices.len()).filter(|&i| offices[i].kind != "43").collect();
    if cms.is_empty() || providers.is_empty() {
        bail!("need at least one 居宅 and one provider (--offices ≥ 2)");
    }
    let month = renkei_spec::calendar::YearMonth::new(2025, 11).context("month")?;
    let mut g = renkei_testkit::Generator::new(42);
    let to_testkit = |o: &Office| -> anyhow::Result<renkei_testkit::Office> {
        Ok(renkei_testkit::Office {
            number: renkei_spec::ids::OfficeNumber::parse(&o.number, false).map_err(|p| anyhow::anyhow!(p.ja))?,
            kind: renkei_spec::ids::ServiceKind::parse(&o.kind).map_err(|p| anyhow::anyhow!(p.ja))?,
            name: "bench".into(),
        })
    };
    let mut bundles: Vec<Bundle> = Vec::new();
    for (k, &s) in cms.iter().enumerate() {
        for (j, &r) in providers.iter().enumerate() {
            for v in 0..8u32 {
                let clients = g.clients(2, 13, month);
                let seq = renkei_testkit::add_seconds(
                    renkei_spec::calendar::FileSeq::parse("20251025090000").context("seq")?,
                    (k * 1000 + j * 10) as u32 + v,
                );
                let files = g.service_slip_unit(&to_testkit(&offices[s])?, &to_testkit(&offices[r])?, None, &clients, month, seq);
                bundles.push((s, r, files.into_iter().map(|f| (f.name, f.bytes)).collect()));
            }
        }
    }
    if a.large_mb > 0 {
        return large_sends(a.large_mb, pid, &sessions, &offices.iter().map(|o| o.number.clone()).collect::<Vec<_>>(), &bundles, &*url)
            .await;
    }
    let bundle_bytes: usize = bundles.iter().map(|b| b.2.iter().map(|f| f.1.len()).sum::<usize>()).sum::<usize>() / bundles.len();
    let files_per_bundle = bundles[0].2.len();
    let bundles = Arc::new(bundles);
    let sessions = Arc::new(sessions);
    let numbers: Arc<Vec<String>> = Arc::new(offices.iter().map(|o| o.number.clone()).collect());

    let stop = Arc::new(AtomicBool::new(false));
    let sent_files = Arc::new(AtomicU64::new(0));
    let acked_files = Arc::new(AtomicU64::new(0));
    let send_lat = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let ack_lat = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let cpu0 = cpu_ms(pid)?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..a.senders {
        let (bundles, sessions, numbers, stop, sent_files, send_lat, url) =
            (bundles.clone(), sessions.clone(), numbers.clone(), stop.clone(), sent_files.clone(), send_lat.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let (s, r, files) = &bundles[i % bundles.len()];
                i += 7; // a stride, so that concurrent senders use different pairs
                let (c, t) = &sessions[*s];
                let mut form = reqwest::multipart::Form::new().text("to", numbers[*r].clone());
                for (n, b) in files {
                    form = form.part("file", reqwest::multipart::Part::bytes(b.clone()).file_name(n.clone()));
                }
                let t0 = Instant::now();
                match c.post(url(paths::MESSAGES)).bearer_auth(t).multipart(form).send().await {
                    Ok(resp) if resp.status() == 201 => {
                        send_lat.lock().unwrap_or_else(|e| e.into_inner()).push(t0.elapsed().as_secs_f64() * 1000.0);
                        sent_files.fetch_add(files.len() as u64, Ordering::Relaxed);
                    }
                    Ok(resp) => eprintln!("send refused: {} {}", resp.status(), resp.text().await.unwrap_or_default()),
                    Err(e) => eprintln!("send failed: {e}"),
                }
            }
        }));
    }
    let recipients: Vec<usize> = providers.clone();
    for r in recipients {
        let (sessions, stop, acked_files, ack_lat, url) =
            (sessions.clone(), stop.clone(), acked_files.clone(), ack_lat.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let (c, t) = &sessions[r];
            loop {
                let stopping = stop.load(Ordering::Relaxed);
                let page: MessagePage =
                    match c.get(url(paths::INBOX)).bearer_auth(t).query(&[("status", "not_fetched"), ("limit", "100")]).send().await {
                        Ok(r) => match r.json().await {
                            Ok(p) => p,
                            Err(_) => break,
                        },
                        Err(_) => break,
                    };
                if page.messages.is_empty() {
                    if stopping {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                for m in page.messages {
                    let t0 = Instant::now();
                    for f in &m.files {
                        let Ok(resp) = c.get(url(&format!("/v1/messages/{}/files/{}", m.id, f.index))).bearer_auth(t).send().await else {
                            return;
                        };
                        let body = resp.bytes().await.unwrap_or_default();
                        use sha2::Digest as _;
                        let h: String = sha2::Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
                        if h != f.sha256 {
                            eprintln!("SHA-256 mismatch on {} file {}", m.id, f.index);
                        }
                    }
                    if c.post(url(&format!("/v1/messages/{}/fetch", m.id))).bearer_auth(t).send().await.is_ok() {
                        ack_lat.lock().unwrap_or_else(|e| e.into_inner()).push(t0.elapsed().as_secs_f64() * 1000.0);
                        acked_files.fetch_add(m.files.len() as u64, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_ms(pid)? - cpu0;
    let (sent, acked) = (sent_files.load(Ordering::Relaxed), acked_files.load(Ordering::Relaxed));
    let mut sl = send_lat.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut al = ack_lat.lock().unwrap_or_else(|e| e.into_inner()).clone();
    println!(
        "renkei-hub bench: backend {}, {} offices ({} 居宅 → {} providers), {} senders, {:.1} s",
        if a.postgres.is_some() { "PostgreSQL" } else { "SQLite" },
        offices.len(),
        cms.len(),
        providers.len(),
        a.senders,
        elapsed
    );
    println!("bundle: {files_per_bundle} standard CSV files, {bundle_bytes} bytes on average");
    println!(
        "sent {sent} files ({:.0} files/s), received and acknowledged {acked} files ({:.0} files/s end to end)",
        sent as f64 / elapsed,
        acked as f64 / elapsed
    );
    println!("send latency per message: p50 {:.1} ms, p99 {:.1} ms", percentile(&mut sl, 0.5), percentile(&mut sl, 0.99));
    println!(
        "receipt (download all files + acknowledge) per message: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&mut al, 0.5),
        percentile(&mut al, 0.99)
    );
    println!("hub CPU: {:.0} ms in total, {:.3} ms per file end to end", cpu, cpu / acked.max(1) as f64);
    if sent != acked {
        println!("(the {} files sent but not acknowledged were still in the inboxes when the run stopped)", sent.saturating_sub(acked));
    }
    Ok(())
}

/// 4 KiB of content no other message has: a PDF header, the message's number, then
/// pseudo-random hex (xorshift from the number), so that no two blobs are stored once.
fn unique_pdf(n: u64) -> Vec<u8> {
    let mut out = format!("%PDF-1.4\n% renkei bench message {n}\n").into_bytes();
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < 4096 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(format!("{x:016x}").as_bytes());
    }
    out.truncate(4096);
    out
}

/// The sessions, numbers and URL maker a phase of the one-file workload uses.
#[derive(Clone)]
struct Load {
    sessions: Arc<Vec<(reqwest::Client, String)>>,
    numbers: Arc<Vec<String>>,
    url: Arc<dyn Fn(&str) -> String + Send + Sync>,
    /// `503 busy` answers to sends (each waited out and sent again).
    busy: Arc<AtomicU64>,
}

impl Load {
    /// Sends message `n` (one unique 4 KiB PDF) from office `n mod offices` to the next one;
    /// true when it was acknowledged (201). A `503 busy` is waited out as its `Retry-After` says
    /// (spread by up to half again, as renkei's client does) and sent again with the same
    /// idempotency key; each such answer is counted in `busy`.
    async fn send(&self, n: u64) -> bool {
        let from = (n as usize) % self.numbers.len();
        let (c, t) = &self.sessions[from];
        let pdf = unique_pdf(n);
        let resp = loop {
            let part = reqwest::multipart::Part::bytes(pdf.clone()).file_name(format!("資料_{n}.pdf"));
            let form = reqwest::multipart::Form::new().text("to", self.numbers[(from + 1) % self.numbers.len()].clone()).part("file", part);
            let r = c
                .post((self.url)(paths::MESSAGES))
                .bearer_auth(t)
                .header(paths::IDEMPOTENCY_KEY, format!("bench-{n}"))
                .multipart(form)
                .send()
                .await;
            match r {
                Ok(resp) if resp.status() == 503 => {
                    self.busy.fetch_add(1, Ordering::Relaxed);
                    let after: f64 = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(1.0);
                    let spread = (n.wrapping_mul(2_654_435_761) % 1000) as f64 / 2000.0;
                    tokio::time::sleep(Duration::from_secs_f64(after * (1.0 + spread))).await;
                }
                other => break other,
            }
        };
        match resp {
            Ok(resp) if resp.status() == 201 => true,
            Ok(resp) => {
                eprintln!("send refused: {} {}", resp.status(), resp.text().await.unwrap_or_default());
                false
            }
            Err(e) => {
                eprintln!("send failed: {e}");
                false
            }
        }
    }

    /// Messages `from..to`, by `senders` closed-loop clients or offered open-loop at `rate`/s
    /// (latency from the scheduled time, so that a stall is not hidden); the latencies in ms.
    async fn send_all(&self, from: u64, to: u64, senders: usize, rate: f64) -> Vec<f64> {
        let lat = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
        let mut tasks = Vec::new();
        if rate > 0.0 {
            let start = tokio::time::Instant::now();
            for n in from..to {
                let at = start + Duration::from_secs_f64((n - from) as f64 / rate);
                tokio::time::sleep_until(at).await;
                let (load, lat) = (self.clone(), lat.clone());
                tasks.push(tokio::spawn(async move {
                    if load.send(n).await {
                        lat.lock().unwrap_or_else(|e| e.into_inner()).push(at.elapsed().as_secs_f64() * 1000.0);
                    }
                }));
            }
        } else {
            let next = Arc::new(AtomicU64::new(from));
            for _ in 0..senders {
                let (load, lat, next) = (self.clone(), lat.clone(), next.clone());
                tasks.push(tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= to {
                            return;
                        }
                        let t0 = Instant::now();
                        if load.send(n).await {
                            lat.lock().unwrap_or_else(|e| e.into_inner()).push(t0.elapsed().as_secs_f64() * 1000.0);
                        }
                    }
                }));
            }
        }
        for t in tasks {
            let _ = t.await;
        }
        Arc::try_unwrap(lat).map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner())).unwrap_or_default()
    }

    /// Every office empties its inbox: list 未取得, download (SHA-256 checked), acknowledge.
    /// Returns how many messages were received and the inbox listings' latencies in ms.
    async fn receive_all(&self) -> (u64, Vec<f64>) {
        let received = Arc::new(AtomicU64::new(0));
        let list_lat = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
        let mut tasks = Vec::new();
        for r in 0..self.numbers.len() {
            let (load, received, list_lat) = (self.clone(), received.clone(), list_lat.clone());
            tasks.push(tokio::spawn(async move {
                let (c, t) = &load.sessions[r];
                let url = &load.url;
                loop {
                    let t0 = Instant::now();
                    let Ok(resp) =
                        c.get(url(paths::INBOX)).bearer_auth(t).query(&[("status", "not_fetched"), ("limit", "100")]).send().await
                    else {
                        return;
                    };
                    let Ok(page) = resp.json::<MessagePage>().await else { return };
                    list_lat.lock().unwrap_or_else(|e| e.into_inner()).push(t0.elapsed().as_secs_f64() * 1000.0);
                    if page.messages.is_empty() {
                        return;
                    }
                    for m in page.messages {
                        for f in &m.files {
                            let Ok(resp) = c.get(url(&format!("/v1/messages/{}/files/{}", m.id, f.index))).bearer_auth(t).send().await
                            else {
                                return;
                            };
                            let body = resp.bytes().await.unwrap_or_default();
                            use sha2::Digest as _;
                            let h: String = sha2::Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
                            if h != f.sha256 {
                                eprintln!("SHA-256 mismatch on {} file {}", m.id, f.index);
                            }
                        }
                        if c.post(url(&format!("/v1/messages/{}/fetch", m.id)))
                            .bearer_auth(t)
                            .send()
                            .await
                            .is_ok_and(|r| r.status().is_success())
                        {
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let v = list_lat.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (received.load(Ordering::Relaxed), v)
    }

    /// The inbox listing on a quiet hub: one client lists `n` times in turn (the first page of
    /// 100, all messages, then only 未取得), each office's inbox in turn. Latencies in ms.
    async fn quiet_listings(&self, n: usize) -> Vec<f64> {
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let (c, t) = &self.sessions[i % self.numbers.len()];
            let q: &[(&str, &str)] = if i % 2 == 0 { &[("limit", "100")] } else { &[("status", "not_fetched"), ("limit", "100")] };
            let t0 = Instant::now();
            let ok = match c.get((self.url)(paths::INBOX)).bearer_auth(t).query(q).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            if ok {
                v.push(t0.elapsed().as_secs_f64() * 1000.0);
            } else {
                eprintln!("listing failed");
            }
        }
        v
    }
}

/// `--one-file N`: the workload of the issue's table. N messages of one 4 KiB attachment with
/// unique content, sent by `--senders` concurrent clients (each office to the next) or offered
/// open-loop at `--rate`, then received — inbox listing, download (SHA-256 checked),
/// acknowledgement — by one client per office. Sending and receiving are timed apart; CPU is
/// the hub's (and PostgreSQL's) over both. With `--history H`, the store first gets a history of
/// H delivered messages, unmeasured.
async fn one_file(
    a: &Args,
    pid: u32,
    sessions: Vec<(reqwest::Client, String)>,
    numbers: Vec<String>,
    url: Arc<dyn Fn(&str) -> String + Send + Sync>,
    mut history: Command,
) -> anyhow::Result<()> {
    let load = Load { sessions: Arc::new(sessions), numbers: Arc::new(numbers), url, busy: Arc::default() };
    if a.history > 0 {
        // A thousand messages really sent and received, then copied by the hub's `history`
        // command (same offices, files and contents) until the store holds H: through the API,
        // a million would take most of an hour on this machine.
        let t0 = Instant::now();
        let seed = a.history.min(1_000);
        load.send_all(1_000_000_000, 1_000_000_000 + seed, a.senders.max(8), 0.0).await;
        load.receive_all().await;
        let copies = a.history.saturating_sub(seed).div_ceil(seed);
        if copies > 0 && !history.arg("--copies").arg(copies.to_string()).status()?.success() {
            bail!("renkei-hub history failed");
        }
        eprintln!("history: {} messages in the store ({:.0} s)", seed * (copies + 1), t0.elapsed().as_secs_f64());
    }
    let (cpu0, pg0) = (cpu_ms(pid)?, postgres_cpu_ms());
    let start = Instant::now();
    let mut sl = load.send_all(0, a.one_file, a.senders, a.rate).await;
    let send_s = start.elapsed().as_secs_f64();
    let (cpu_send, pg_send) = (cpu_ms(pid)? - cpu0, postgres_cpu_ms() - pg0);
    let sent = sl.len() as u64;

    let recv_start = Instant::now();
    let (received, mut ll) = load.receive_all().await;
    let recv_s = recv_start.elapsed().as_secs_f64();
    let (cpu_all, pg_all) = (cpu_ms(pid)? - cpu0, postgres_cpu_ms() - pg0);
    let mut quiet = load.quiet_listings(500).await;
    println!(
        "renkei-hub bench, one-file messages: backend {}, {} offices, {}, {} messages of one 4 KiB attachment (unique content){}",
        if a.postgres.is_some() { "PostgreSQL" } else { "SQLite" },
        load.numbers.len(),
        if a.rate > 0.0 { format!("open-loop offered load of {} sends/s", a.rate) } else { format!("{} concurrent senders", a.senders) },
        a.one_file,
        if a.history > 0 { format!(", on a store already holding {} messages", a.history) } else { String::new() }
    );
    println!(
        "send: {sent} in {send_s:.2} s ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms; receive (list + download + acknowledge): {received} in {recv_s:.2} s ({:.0}/s); inbox listing p50 {:.1} ms, p99 {:.1} ms",
        sent as f64 / send_s,
        percentile(&mut sl, 0.5),
        percentile(&mut sl, 0.99),
        received as f64 / recv_s,
        percentile(&mut ll, 0.5),
        percentile(&mut ll, 0.99)
    );
    println!("busy answers (503 busy, waited out as Retry-After says and sent again): {}", load.busy.load(Ordering::Relaxed));
    println!(
        "inbox listing on a quiet hub (one client, 500 listings of 100): p50 {:.2} ms, p99 {:.2} ms",
        percentile(&mut quiet, 0.5),
        percentile(&mut quiet, 0.99)
    );
    let per = |ms: f64, n: u64| ms / n.max(1) as f64;
    println!(
        "hub CPU per message: {:.3} ms end to end ({:.3} send + {:.3} receive)",
        per(cpu_all, sent),
        per(cpu_send, sent),
        per(cpu_all - cpu_send, received)
    );
    if a.postgres.is_some() {
        println!(
            "PostgreSQL CPU per message: {:.3} ms end to end ({:.3} send + {:.3} receive)",
            per(pg_all, sent),
            per(pg_send, sent),
            per(pg_all - pg_send, received)
        );
    }
    Ok(())
}

/// `--uploads K --upload-mb M`: K concurrent sends of one M MiB attachment each (unique
/// content). Prints the answers and the hub's resident memory before and at its peak.
async fn uploads(
    a: &Args,
    pid: u32,
    sessions: &[(reqwest::Client, String)],
    numbers: &[String],
    url: &(dyn Fn(&str) -> String + Send + Sync),
) -> anyhow::Result<()> {
    let rss0 = status_kb(pid, "VmRSS")?;
    let hwm0 = status_kb(pid, "VmHWM")?;
    let size = a.upload_mb << 20;
    let mut sends = Vec::new();
    for k in 0..a.uploads {
        let from = k % numbers.len();
        let (c, t) = &sessions[from];
        let mut body = unique_pdf(k as u64 + 500_000_000);
        body.resize(size, b'\n');
        let part = reqwest::multipart::Part::bytes(body).file_name(format!("大きな資料_{k}.pdf"));
        let form = reqwest::multipart::Form::new().text("to", numbers[(from + 1) % numbers.len()].clone()).part("file", part);
        let req = c.post(url(paths::MESSAGES)).bearer_auth(t).timeout(Duration::from_secs(600)).multipart(form);
        sends.push(req);
    }
    let t0 = Instant::now();
    let tasks: Vec<_> =
        sends.into_iter().map(|req| tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) })).collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap_or(0));
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let hwm1 = status_kb(pid, "VmHWM")?;
    let ok = answers.iter().filter(|s| **s == 201).count();
    println!(
        "{} concurrent sends of one {} MiB file each: {ok} acknowledged (answers {:?}) in {elapsed:.1} s",
        a.uploads, a.upload_mb, answers
    );
    println!(
        "hub resident memory: {:.0} MiB before, peak {:.0} MiB during (peak before the sends {:.0} MiB)",
        rss0 as f64 / 1024.0,
        hwm1 as f64 / 1024.0,
        hwm0 as f64 / 1024.0
    );
    Ok(())
}

/// A line of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kb(pid: u32, key: &str) -> anyhow::Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = s.lines().find(|l| l.starts_with(&format!("{key}:"))).context("no such status line")?;
    Ok(line.split_whitespace().nth(1).context("value")?.parse()?)
}

/// `--large-mb N`: two sends of N MB each at once (standard CSV files, each ≤ 10 MiB, their
/// records repeated), while `/healthz` is asked every 20 ms. Prints the hub's resident memory
/// before and its peak, and the health check's latency meanwhile.
async fn large_sends(
    mb: usize,
    pid: u32,
    sessions: &[(reqwest::Client, String)],
    numbers: &[String],
    bundles: &[Bundle],
    url: &(dyn Fn(&str) -> String + Send + Sync),
) -> anyhow::Result<()> {
    let per_file_max = 10 * 1024 * 1024 - 64 * 1024;
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    let wanted = mb << 20;
    let (s, r, _) = &bundles[0];
    for (_, _, files) in bundles.iter().filter(|b| b.0 == *s && b.1 == *r) {
        for (name, bytes) in files {
            let have: usize = parts.iter().map(|p| p.1.len()).sum();
            if have >= wanted {
                break;
            }
            let size = (wanted - have).min(per_file_max);
            let mut big = Vec::with_capacity(size + bytes.len());
            while big.len() + bytes.len() <= size {
                big.extend_from_slice(bytes);
            }
            parts.push((name.clone(), big));
        }
    }
    let total: usize = parts.iter().map(|p| p.1.len()).sum();
    let (c, t) = &sessions[*s];
    let rss0 = status_kb(pid, "VmRSS")?;
    let hwm0 = status_kb(pid, "VmHWM")?;
    let stop = Arc::new(AtomicBool::new(false));
    let probe = sessions[*r].0.clone();
    let health_url = url("/healthz");
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                if probe.get(&health_url).send().await.is_ok() {
                    lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            lat
        })
    };
    let send = |parts: Vec<(String, Vec<u8>)>| {
        let mut form = reqwest::multipart::Form::new().text("to", numbers[*r].clone());
        for (n, b) in parts {
            form = form.part("file", reqwest::multipart::Part::bytes(b).file_name(n));
        }
        let req = c.post(url(paths::MESSAGES)).bearer_auth(t).timeout(Duration::from_secs(300)).multipart(form);
        async move {
            let t0 = Instant::now();
            let status = req.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            (status, t0.elapsed().as_secs_f64())
        }
    };
    let t0 = Instant::now();
    let (a, b) = tokio::join!(send(parts.clone()), send(parts));
    let elapsed = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut lat = sampler.await?;
    let hwm1 = status_kb(pid, "VmHWM")?;
    println!(
        "two concurrent sends of {:.1} MB each ({} files): answers {} and {} in {:.1} s and {:.1} s ({elapsed:.1} s together)",
        total as f64 / 1e6,
        1 + total / per_file_max,
        a.0,
        b.0,
        a.1,
        b.1
    );
    println!(
        "hub resident memory: {:.0} MB before, peak {:.0} MB during (peak before the sends {:.0} MB): +{:.0} MB",
        rss0 as f64 / 1024.0,
        hwm1 as f64 / 1024.0,
        hwm0 as f64 / 1024.0,
        (hwm1.saturating_sub(rss0)) as f64 / 1024.0
    );
    println!(
        "/healthz meanwhile ({} probes every 20 ms): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99),
        lat.iter().copied().fold(0.0_f64, f64::max)
    );
    Ok(())
}
