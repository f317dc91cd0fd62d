//! HAProxy (Debian `haproxy`) in front of two hub nodes on one PostgreSQL database, with the
//! configuration operators use (`docs/deploy/haproxy.cfg`, addresses from the environment): TCP
//! mode, so mutual TLS ends at the nodes; the client's address reaches them in a PROXY protocol
//! header; health checks on `/readyz`. A node is lost mid-load: the clients go on through the
//! other within seconds, and nothing acknowledged is lost. Runs where `haproxy` and PostgreSQL
//! are (`.ci/run` has both; under CI a missing `haproxy` fails).

use crate::cluster::{stop, two_nodes};
use crate::common::*;
use renkei_protocol::*;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The address clients connect from (Linux routes all of 127.0.0.0/8 to loopback): not the
/// balancer's own 127.0.0.1, so that the test sees which one a node takes for the client's.
const CLIENT_IP: [u8; 4] = [127, 0, 0, 2];

struct Haproxy {
    child: Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Haproxy {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn haproxy_available() -> bool {
    let ok = Command::new("haproxy").arg("-v").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    assert!(ok || std::env::var_os("CI").is_none(), "haproxy is not installed (.ci/run installs it)");
    ok
}

fn start_haproxy(nodes: [SocketAddr; 2]) -> Haproxy {
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let cfg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/deploy/haproxy.cfg");
    let log = std::env::temp_dir().join(format!("renkei-haproxy-{}.log", addr.port()));
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&cfg)
        .env("RENKEI_LB_BIND", addr.to_string())
        .env("RENKEI_NODE1", nodes[0].to_string())
        .env("RENKEI_NODE2", nodes[1].to_string())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("starting haproxy");
    Haproxy { child, addr, log }
}

/// A terminal client of office `i` that reaches the hub through the balancer, from
/// [`CLIENT_IP`].
fn through(hub: &Hub, lb: SocketAddr, i: usize) -> reqwest::Client {
    let d = &hub.offices[i].terminal_dir;
    let mut pem = std::fs::read(d.join("terminal.pem")).unwrap();
    pem.extend(std::fs::read(d.join("terminal.key")).unwrap());
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(hub.running.state.ca.cert_pem.as_bytes()).unwrap()])
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .https_only(true)
        .resolve("localhost", lb)
        .local_address(Some(CLIENT_IP.into()))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn login(c: &reqwest::Client, lb: SocketAddr, login: &str) -> reqwest::Result<String> {
    let r = c
        .post(format!("https://localhost:{}{}", lb.port(), paths::SESSIONS))
        .json(&LoginRequest { login: login.into(), password: renkei_hub::dev::DEMO_PASSWORD.into() })
        .send()
        .await?
        .error_for_status()?;
    Ok(r.json::<LoginResponse>().await?.token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_balancer_hands_clients_to_the_healthy_node_and_their_addresses_to_both() {
    if !haproxy_available() {
        eprintln!("haproxy is not installed: the balancer test does not run here");
        return;
    }
    let Some((a, b, db)) = two_nodes(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await else { return };
    let mut lb = start_haproxy([a.running.addr, b.running.addr]);
    let lb_port = lb.addr.port();
    let url = |p: &str| format!("https://localhost:{lb_port}{p}");

    // Both nodes up behind the balancer (its first health checks).
    let c0 = through(&a, lb.addr, 0);
    let t0 = Instant::now();
    while c0.get(url("/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(lb.child.try_wait().unwrap().is_none(), "haproxy exited: {}", lb.log());
        assert!(t0.elapsed() < Duration::from_secs(20), "the balancer did not come up: {}", lb.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = login(&c0, lb.addr, &a.offices[0].admin).await.unwrap();

    // The nodes saw the client's address, not the balancer's.
    let rows = a.running.state.store.audit_search(Some("login"), Some(&a.offices[0].number), 10).await.unwrap();
    let ips: Vec<_> = rows.iter().filter_map(|r| r.ip.clone()).collect();
    assert!(ips.first().is_some_and(|ip| ip == "127.0.0.2"), "audit addresses {ips:?}");
    // A connection from the balancer's address without a PROXY header is refused; one from
    // elsewhere is TLS from its first byte, as before.
    let direct = a.client_with(None);
    assert!(direct.get(a.url("/healthz")).send().await.is_err(), "a trusted proxy's address must send a PROXY header");

    // Load through the balancer; node A is lost mid-way.
    let to = a.offices[1].number.clone();
    let acknowledged: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let stop_load = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..3 {
        let (c, token, to, ack, stop_load, url) =
            (c0.clone(), token.clone(), to.clone(), acknowledged.clone(), stop_load.clone(), url(paths::MESSAGES));
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop_load.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let files = vec![(format!("経由{w}-{i}.txt"), format!("{w}-{i}").into_bytes())];
                // As renkei's client does: resend with the same key until answered — within a
                // minute, so that a balancer that went away fails the test instead of hanging it.
                let since = Instant::now();
                loop {
                    assert!(since.elapsed() < Duration::from_secs(60), "send lb-{w}-{i} unanswered for a minute through the balancer");
                    let r = c
                        .post(&url)
                        .bearer_auth(&token)
                        .header(paths::IDEMPOTENCY_KEY, format!("lb-{w}-{i}"))
                        .multipart(form(&to, "", &files))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            let s: SendResponse = r.json().await.unwrap();
                            ack.lock().unwrap().push((s.message.id, Instant::now()));
                            break;
                        }
                        Ok(r) => assert_eq!(r.status(), 503, "{}", r.text().await.unwrap()),
                        Err(_) => {}
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let lost_at = Instant::now();
    a.running.handle.shutdown();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop_load.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        if let Err(e) = t.await {
            panic!("{e}; haproxy running: {:?}; its log:\n{}", lb.child.try_wait().map(|s| s.is_none()), lb.log());
        }
    }
    let acks = std::mem::take(&mut *acknowledged.lock().unwrap());
    let before = acks.iter().filter(|(_, at)| *at < lost_at).count();
    let first_after = acks.iter().filter(|(_, at)| *at > lost_at).map(|(_, at)| *at - lost_at).min();
    eprintln!("balancer trial: {} acknowledged ({before} before node A was lost); first after it {first_after:?}", acks.len());
    assert!(before > 5, "the load did not get going");
    assert!(first_after.is_some_and(|d| d <= Duration::from_secs(5)), "unavailable for {first_after:?} after a node was lost");
    // Every acknowledged send is there, once, seen through the node that is left.
    let cb = through(&b, lb.addr, 1);
    let tb = login(&cb, lb.addr, &b.offices[1].admin).await.unwrap();
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![("limit", "200".to_owned())];
        if let Some(cur) = &cursor {
            q.push(("cursor", cur.clone()));
        }
        let page: MessagePage = cb.get(url(paths::INBOX)).bearer_auth(&tb).query(&q).send().await.unwrap().json().await.unwrap();
        listed.extend(page.messages.into_iter().map(|m| m.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let ids: std::collections::HashSet<_> = listed.iter().cloned().collect();
    assert_eq!(ids.len(), listed.len(), "a message listed twice");
    for (id, _) in &acks {
        assert!(ids.contains(id), "acknowledged message {id} is missing");
    }
    assert_eq!(listed.len(), acks.len(), "one message per acknowledged send, no duplicates");
    drop(lb);
    stop(a, b, db).await;
}
