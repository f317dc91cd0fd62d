//! The running hub: state, routes, TLS (with CRL reload on revocation), start and shutdown.

use crate::ca::Ca;
use crate::config::Config;
use crate::state::{AppState, Events};
use crate::store::Store;
use crate::tls::{PeerAcceptor, server_config};
use anyhow::Context as _;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How often the CRL is signed anew (it is valid for 7 days).
pub const CRL_REFRESH: Duration = Duration::from_secs(24 * 3600);

/// Paths of the data directory.
pub fn ca_dir(cfg: &Config) -> std::path::PathBuf {
    cfg.data_dir.join("ca")
}

/// Makes sure the CA and the server certificate exist; returns (CA, server cert PEM, key PEM).
pub fn ensure_pki(cfg: &Config) -> anyhow::Result<(Ca, String, String)> {
    let dir = ca_dir(cfg);
    let ca = if dir.join("ca.pem").exists() { Ca::load(&dir)? } else { Ca::init(&dir, "renkei 連携基盤 CA")? };
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    if !cert.exists() {
        let (c, k) = ca.issue_server(&cfg.server_names)?;
        std::fs::write(&cert, c)?;
        crate::files::write_private(&key, k.as_bytes())?;
    }
    Ok((ca, std::fs::read_to_string(cert)?, std::fs::read_to_string(key)?))
}

/// A hub running in this process.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// State (store, CA, …).
    pub state: AppState,
    /// Server handle (shutdown).
    pub handle: Handle<SocketAddr>,
    /// The server task.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Where `/metrics` is served, if enabled.
    pub metrics_addr: Option<SocketAddr>,
    watcher: tokio::task::JoinHandle<()>,
    cluster: Vec<tokio::task::JoinHandle<()>>,
    monitor: tokio::task::JoinHandle<()>,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to `grace`), and waits.
    pub async fn shutdown(self, grace: Duration) -> anyhow::Result<()> {
        // Event streams never end by themselves: close them so that only real work (uploads in
        // flight) holds the shutdown.
        self.state.events.close();
        self.handle.graceful_shutdown(Some(grace));
        self.task.await??;
        self.watcher.abort();
        for t in &self.cluster {
            t.abort();
        }
        self.monitor.abort();
        if let Some(t) = self.metrics_task {
            t.abort();
        }
        self.state.blobs.close().await;
        self.state.store.close().await;
        Ok(())
    }
}

/// Opens storage and starts the hub on `config.listen` (port 0 allowed).
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    crate::files::private_dir(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    if let Some(db) = config.sqlite_path() {
        crate::files::ensure_private_file(&db).with_context(|| format!("creating {}", db.display()))?;
    }
    let store = Store::open_with(&config.database_url(), &config.store_options()).await?;
    let blobs = config.open_blobs()?;
    let (ca, cert, key) = ensure_pki(&config)?;
    let crl = ca.crl(&store.revoked_serials().await?)?;
    // Several nodes on one PostgreSQL database: events go to the others too.
    let (events, outbox) = if store.is_shared() {
        let (e, rx) = Events::shared(crate::cluster::QUEUE);
        (e, Some(rx))
    } else {
        (Events::new(), None)
    };
    let tls = RustlsConfig::from_config(Arc::new(server_config(&ca.cert_pem, &cert, &key, &crl)?));
    let state = AppState {
        store,
        blobs,
        ca: Arc::new(ca),
        config: Arc::new(config.clone()),
        events,
        tls: tls.clone(),
        server_cert: Arc::new((cert, key)),
        import_job: Arc::new(tokio::sync::Mutex::new(None)),
        health: Arc::default(),
        node: Arc::from(format!("{}-{}", std::process::id(), &crate::auth::token()[..8])),
        validation: Arc::new(tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))),
        streams: Arc::default(),
        admission: Arc::new(crate::service::admission::Admission::new(
            config.limits.max_requests_in_flight,
            Duration::from_millis(config.limits.admission_wait_ms),
        )),
    };
    let cluster = outbox.map(|rx| crate::cluster::start(&state, rx)).unwrap_or_default();
    // Know the storage's state before the first request; then keep probing.
    state.probe_storage().await;
    let m = state.clone();
    let monitor = tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::health::PROBE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            m.probe_storage().await;
        }
    });

    let listener = std::net::TcpListener::bind(&config.listen).with_context(|| format!("listening on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let handle = Handle::new();
    let mut server = axum_server::from_tcp(listener)?
        .acceptor(PeerAcceptor::new(tls, config.limits.max_connections).with_trusted_proxies(config.trusted_proxies.clone()))
        .handle(handle.clone());
    // Slow clients do not hold connections: headers within the limit.
    let timer = hyper_util::rt::TokioTimer::new();
    let b = server.http_builder();
    b.http1().timer(timer).header_read_timeout(Duration::from_secs(config.limits.header_read_timeout_seconds.max(1)));

    let app = crate::web::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move { server.serve(app).await });

    // Revocations made by another process (the `ca revoke` command) reach this one through the
    // store: poll it and reload the CRL when the list changes.
    let w = state.clone();
    let watcher = tokio::spawn(async move {
        let watcher = w;
        let mut seen = watcher.store.revoked_serials().await.map(|v| v.len()).unwrap_or(0);
        let mut last_notice = watcher.store.last_notice_id().await.unwrap_or(0);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let every = watcher.config.retention.interval_seconds.max(1) as u64;
        let mut retention = tokio::time::interval(Duration::from_secs(every));
        // The CRL is signed for 7 days: sign a fresh one every day, revocations or not.
        let mut crl_daily = tokio::time::interval_at(tokio::time::Instant::now() + CRL_REFRESH, CRL_REFRESH);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = crl_daily.tick() => {
                    match watcher.reload_tls().await {
                        Ok(n) => tracing::info!(revoked = n, "CRL renewed"),
                        Err(e) => tracing::error!(error = %e, "CRL renewal failed"),
                    }
                    continue;
                }
                _ = retention.tick() => {
                    // On several nodes, one runs the passes: the holder of the lease.
                    match crate::service::retention::hold_background_lease(&watcher, crate::jst::now(), every as i64).await {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            tracing::warn!(error = %e, "background lease not taken");
                            continue;
                        }
                    }
                    if let Err(e) = crate::service::retention::pass(&watcher, crate::jst::now()).await {
                        tracing::error!(error = %e, "retention pass failed");
                    }
                    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
                    match crate::service::licence::renewal_pass(&watcher, today).await {
                        Ok(v) if !v.is_empty() => tracing::info!(renewed = v.len(), "licenses renewed"),
                        Err(e) => tracing::error!(error = %e, "license renewal failed"),
                        _ => {}
                    }
                    continue;
                }
            }
            // Notices published by another process (`renkei-hub notice add`) become events.
            // Each reaches the offices it is for; one shown only later is not announced early.
            if let Ok(new) = watcher.store.notices_after(last_notice, 100).await {
                let now = crate::jst::now();
                for n in new.iter().rev() {
                    last_notice = last_notice.max(n.id);
                    if n.shown_at(now) {
                        let to = crate::service::notices::Target::of(n).address();
                        watcher
                            .events
                            .send(to.as_deref(), renkei_protocol::Event::Notice { id: n.public_id.clone(), title: n.title.clone() });
                    }
                }
            }
            match watcher.store.revoked_serials().await {
                Ok(v) if v.len() != seen => {
                    seen = v.len();
                    if let Err(e) = watcher.reload_tls().await {
                        tracing::error!(error = %e, "CRL reload failed");
                    } else {
                        tracing::info!(revoked = seen, "CRL reloaded");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "revocation poll failed"),
            }
        }
    });
    let (metrics_addr, metrics_task) = if config.metrics_listen.is_empty() {
        (None, None)
    } else {
        let (a, t) = crate::metrics::serve(&config.metrics_listen)
            .await
            .with_context(|| format!("metrics listener on {}", config.metrics_listen))?;
        (Some(a), Some(t))
    };
    tracing::info!(%addr, metrics = ?metrics_addr, backend = state.store.backend_name(), "renkei-hub listening");
    Ok(Running { addr, state, handle, task, metrics_addr, watcher, cluster, monitor, metrics_task })
}
