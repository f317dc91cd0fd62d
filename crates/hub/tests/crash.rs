//! Killing the hub (SIGKILL) during uploads and restarting it loses no acknowledged message and
//! shows no partial one. The hub runs as a real child process here.

use crate::common::*;
use renkei_protocol::*;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn_hub(dir: &std::path::Path, port: u16, metrics: u16, db: Option<&str>) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_renkei-hub"));
    c.arg("serve")
        .env("RENKEI_DATA_DIR", dir)
        .env("RENKEI_LISTEN", format!("127.0.0.1:{port}"))
        .env("RENKEI_LOG", "warn")
        .env("RENKEI_METRICS_LISTEN", format!("127.0.0.1:{metrics}"))
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("RENKEI_TEST_HUB_STDERR").is_some() { Stdio::inherit() } else { Stdio::null() });
    if let Some(db) = db {
        c.env("RENKEI_DATABASE_URL", db);
    }
    c.spawn().unwrap()
}

#[tokio::test]
async fn kill_during_uploads_loses_no_acknowledged_message() {
    // Four senders, each with a ~256 KiB file (the blob store) so that uploads are in flight.
    let report = kill_during_sends(4, 40_000, Duration::from_millis(1500), false).await;
    eprintln!("crash test (uploads): {report}");
}

#[tokio::test]
async fn kill_during_grouped_commits_loses_no_acknowledged_message() {
    // Many senders of small messages (stored with their rows), so that SQLite's writer commits
    // them in groups; the hub is killed once groups have formed, at a moment that varies.
    let report = kill_during_sends(24, 10, Duration::from_millis(900 + rand_ms(600)), true).await;
    eprintln!("crash test (grouped commits): {report}");
}

fn rand_ms(below: u64) -> u64 {
    u64::from_str_radix(&renkei_hub::auth::token()[..8], 36).unwrap_or(0) % below
}

/// Sends from `senders` concurrent clients (the unit plus one text file of `repeat` lines), kills
/// the hub with SIGKILL after `after`, restarts it on the same data and checks from the
/// recipient's side that every acknowledged message is there, whole and intact, and that no
/// stored message is partial. With `grouped`, first waits (on SQLite) until the metrics show
/// commits of several sends at once.
async fn kill_during_sends(senders: usize, repeat: usize, after: Duration, grouped: bool) -> String {
    // Set up data with an in-process hub, then stop it and run the real binary on the same data.
    let hub = Hub::start().await;
    let dir = hub.dir.clone();
    let db = hub.config.database_url.clone();
    let offices = hub.offices.clone();
    let unit = slip_unit(&hub, 0, 1, 9);
    let Hub { running, pg, .. } = hub;
    running.shutdown(Duration::from_secs(5)).await.unwrap();

    let first = ChildHub::start(&dir, db.as_deref(), &offices[0]).await;
    let (client, token) = (first.client.clone(), first.token.clone());

    let acked: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..senders {
        let (client, token, acked, unit, to) = (client.clone(), token.clone(), acked.clone(), unit.clone(), offices[1].number.clone());
        let url = first.url(paths::MESSAGES);
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let mut files = unit.clone();
                files.push((format!("記録{w}-{i}.txt"), format!("{w}-{i}\n").repeat(repeat).into_bytes()));
                let form = form(&to, "crash test", &files);
                let r =
                    client.post(&url).bearer_auth(&token).header(paths::IDEMPOTENCY_KEY, format!("w{w}-{i}")).multipart(form).send().await;
                match r {
                    Ok(r) if r.status() == 201 => {
                        let s: SendResponse = match r.json().await {
                            Ok(s) => s,
                            Err(_) => return,
                        };
                        acked.lock().unwrap().insert(s.message.id, s.message.files.iter().map(|f| f.sha256.clone()).collect());
                    }
                    _ => return,
                }
            }
        }));
    }
    let mut groups = String::new();
    if grouped && db.is_none() {
        // Wait (at most 20 s) for commits that held more than one send.
        let t0 = std::time::Instant::now();
        loop {
            let m = reqwest::get(format!("http://127.0.0.1:{}/metrics", first.metrics)).await.unwrap().text().await.unwrap();
            let value = |name: &str| {
                m.lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.rsplit(' ').next())
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            let (sum, count) = (value("renkei_store_send_group_size_sum"), value("renkei_store_send_group_size_count"));
            if sum > count + 10.0 {
                groups = format!("{sum} sends in {count} commits before the kill; ");
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(20), "no grouped commits formed (sum {sum}, count {count})");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(after).await;
    first.kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 2, "the load did not get going ({} sends acknowledged)", acked.len());

    // Restart on the same data; check everything from the recipient's side.
    let second = ChildHub::start(&dir, db.as_deref(), &offices[1]).await;
    let litter = tmp_litter(&dir);
    assert!(litter.is_empty(), "the restarted hub left the killed one's temporary files: {litter:?}");
    let stored = second.inbox().await;
    for (id, shas) in &acked {
        let m = stored.get(id).unwrap_or_else(|| panic!("acknowledged message {id} lost"));
        assert_eq!(&m.files.iter().map(|f| f.sha256.clone()).collect::<Vec<_>>(), shas);
    }
    // Every stored message (acknowledged or not) is whole: all files present and intact.
    for m in stored.values() {
        assert_eq!(m.files.len(), unit.len() + 1, "partial message {}", m.id);
        for f in &m.files {
            let body = second
                .client
                .get(second.url(&format!("/v1/messages/{}/files/{}", m.id, f.index)))
                .bearer_auth(&second.token)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(renkei_hub::auth::sha256_hex(&body), f.sha256, "file {} of {}", f.index, m.id);
        }
    }
    second.kill();
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(pg) = pg {
        pg.drop_now().await;
    }
    format!("{groups}{} acknowledged, {} stored", acked.len(), stored.len())
}

/// A hub running as a child process on a test's data, with a logged-in client of one office.
struct ChildHub {
    child: Child,
    port: u16,
    metrics: u16,
    client: reqwest::Client,
    token: String,
}

impl ChildHub {
    async fn start(dir: &std::path::Path, db: Option<&str>, office: &renkei_hub::dev::DemoOffice) -> ChildHub {
        let (port, metrics) = (free_port(), free_port());
        let child = spawn_hub(dir, port, metrics, db);
        let client = client_for_dir(&office.terminal_dir, port);
        let mut hub = ChildHub { child, port, metrics, client, token: String::new() };
        for _ in 0..100 {
            if hub.client.get(hub.url("/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let login = LoginRequest { login: office.admin.clone(), password: renkei_hub::dev::DEMO_PASSWORD.into() };
        let r: LoginResponse = hub.client.post(hub.url(paths::SESSIONS)).json(&login).send().await.unwrap().json().await.unwrap();
        hub.token = r.token;
        hub
    }

    fn url(&self, p: &str) -> String {
        format!("https://localhost:{}{p}", self.port)
    }

    /// The whole inbox, page by page.
    async fn inbox(&self) -> HashMap<String, MessageInfo> {
        let mut all = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = vec![("limit", "200".to_owned())];
            if let Some(c) = cursor.take() {
                q.push(("cursor", c));
            }
            let page: MessagePage =
                self.client.get(self.url(paths::INBOX)).bearer_auth(&self.token).query(&q).send().await.unwrap().json().await.unwrap();
            all.extend(page.messages.into_iter().map(|m| (m.id.clone(), m)));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return all,
            }
        }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

#[tokio::test]
async fn kill_during_receipts_reverts_no_acknowledged_fetch() {
    // 60 messages waiting, sent through an in-process hub; then the real binary on the same data.
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    for i in 0..60 {
        let files = vec![(format!("連絡{i}.txt"), format!("{i}\n").repeat(1000).into_bytes())];
        assert_eq!(send(&hub, &a, &ta, &hub.offices[1].number.clone(), &files, None).await.status(), 201);
    }
    let (dir, db, offices) = (hub.dir.clone(), hub.config.database_url.clone(), hub.offices.clone());
    let Hub { running, pg, .. } = hub;
    running.shutdown(Duration::from_secs(5)).await.unwrap();

    let first = ChildHub::start(&dir, db.as_deref(), &offices[1]).await;
    let waiting: Vec<String> = first.inbox().await.into_keys().collect();
    assert_eq!(waiting.len(), 60);
    // Two receivers acknowledge fetches (and opens) concurrently; the hub dies under them.
    let acked: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let mut tasks = Vec::new();
    for (w, chunk) in waiting.chunks(30).enumerate() {
        let (c, token, acked, ids, base) = (first.client.clone(), first.token.clone(), acked.clone(), chunk.to_vec(), first.url(""));
        tasks.push(tokio::spawn(async move {
            for (i, id) in ids.iter().enumerate() {
                let open = (i + w) % 3 == 0;
                let what = if open { "open" } else { "fetch" };
                match c.post(format!("{base}/v1/messages/{id}/{what}")).bearer_auth(&token).send().await {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().push((id.clone(), open)),
                    _ => return,
                }
            }
        }));
    }
    // Kill as soon as some receipts are acknowledged (and while others are in flight).
    for _ in 0..200 {
        if acked.lock().unwrap().len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();

    let second = ChildHub::start(&dir, db.as_deref(), &offices[1]).await;
    let stored = second.inbox().await;
    for (id, open) in &acked {
        let m = &stored[id];
        if *open {
            assert!(m.opened_at.is_some(), "acknowledged open of {id} reverted");
        } else {
            assert!(m.fetched_at.is_some(), "acknowledged fetch of {id} reverted");
        }
    }
    assert!(!acked.is_empty(), "no receipt was acknowledged before the kill");
    eprintln!("receipt crash test: {} acknowledged receipts of 60, none reverted", acked.len());
    second.kill();
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(pg) = pg {
        pg.drop_now().await;
    }
}

/// `systemctl stop` and container runtimes send SIGTERM: the hub drains and exits 0 (it does not
/// die of the signal with requests half done).
#[test]
fn sigterm_stops_the_hub_cleanly() {
    let dir = std::env::temp_dir().join(format!("renkei-sigterm-{}", renkei_hub::auth::token()[..8].to_owned()));
    let (port, metrics) = (free_port(), free_port());
    let mut child = spawn_hub(&dir, port, metrics, None);
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(30), "the hub did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap().success());
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "the hub did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exited {status:?}, not cleanly");
    let _ = std::fs::remove_dir_all(dir);
}
