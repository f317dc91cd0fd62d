//! The running hub: state, routes, TLS (with CRL reload on revocation), start and shutdown.

use crate::api;
use crate::blobs::BlobStore;
use crate::ca::Ca;
use crate::config::Config;
use crate::store::{Audit, Store};
use crate::tls::{PeerAcceptor, server_config};
use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler as _;
use axum::routing::{get, post};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use renkei_protocol::paths;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// Blobs.
    pub blobs: BlobStore,
    /// The CA.
    pub ca: Arc<Ca>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Events for server-sent-event subscribers.
    pub events: Events,
    tls: RustlsConfig,
    server_cert: Arc<(String, String)>,
    /// Login attempts per client address.
    pub logins: Arc<crate::ratelimit::LoginLimiter>,
    /// The registry import running from the operator console, if any.
    pub import_job: Arc<tokio::sync::Mutex<Option<crate::registry::ImportJob>>>,
    /// Whether the database and the blob store take writes now.
    pub health: Arc<crate::health::Health>,
    /// This node's name (readiness probe rows).
    pub node: Arc<str>,
    /// Validations of sends running at once (one per core), off the async workers.
    pub validation: Arc<tokio::sync::Semaphore>,
    /// Open event streams per session and per address.
    pub streams: Arc<StreamCounts>,
}

/// Open event streams, counted per key (a session, an address).
#[derive(Debug, Default)]
pub struct StreamCounts(std::sync::Mutex<std::collections::HashMap<String, usize>>);

/// One open stream's place in [`StreamCounts`]; given back when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    counts: Arc<StreamCounts>,
    keys: Vec<String>,
}

impl StreamCounts {
    /// Takes a place for a stream under every `(key, limit)`, or none if any is full.
    pub fn open(self: &Arc<Self>, keys: &[(String, usize)]) -> Option<StreamSlot> {
        let mut m = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.iter().any(|(k, limit)| m.get(k).copied().unwrap_or(0) >= *limit) {
            return None;
        }
        for (k, _) in keys {
            *m.entry(k.clone()).or_default() += 1;
        }
        Some(StreamSlot { counts: self.clone(), keys: keys.iter().map(|(k, _)| k.clone()).collect() })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut m = self.counts.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for k in &self.keys {
            if let Some(n) = m.get_mut(k) {
                *n -= 1;
                if *n == 0 {
                    m.remove(k);
                }
            }
        }
    }
}

/// Broadcast of events to the SSE subscribers of this node, each tagged with its target office
/// (`None`: every office).
#[derive(Debug, Clone)]
pub struct Events {
    tx: tokio::sync::broadcast::Sender<(Option<String>, renkei_protocol::Event)>,
    closing: tokio::sync::watch::Sender<bool>,
}

impl Events {
    fn new() -> Events {
        Events { tx: tokio::sync::broadcast::channel(1024).0, closing: tokio::sync::watch::channel(false).0 }
    }
    /// Ends every event stream (at shutdown, so that they do not hold it up).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }
    /// Resolves when the streams must end.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }
    /// Publishes an event (nobody listening is fine).
    pub fn send(&self, to: Option<&str>, ev: renkei_protocol::Event) {
        let _ = self.tx.send((to.map(str::to_owned), ev));
    }
    /// A new subscription.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<(Option<String>, renkei_protocol::Event)> {
        self.tx.subscribe()
    }
}

/// What one retention pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Messages that expired unfetched (each sender got a non-delivery notice).
    pub expired: usize,
    /// Blobs whose content was deleted.
    pub purged_blobs: usize,
    /// Idempotency keys forgotten (older than `retention.idempotency_key_days`).
    pub forgotten_keys: u64,
}

impl AppState {
    /// Rebuilds the CRL from the store and swaps the TLS configuration: a revocation takes effect
    /// for new handshakes at once, without a restart.
    pub async fn reload_tls(&self) -> anyhow::Result<usize> {
        let revoked = self.store.revoked_serials().await?;
        let crl = self.ca.crl(&revoked)?;
        let cfg = server_config(&self.ca.cert_pem, &self.server_cert.0, &self.server_cert.1, &crl)?;
        self.tls.reload_from_config(Arc::new(cfg));
        Ok(revoked.len())
    }

    /// Renews, one year on, the licenses of offices that asked for automatic renewal and end
    /// within 30 days; tells each office with a notice. Returns the offices renewed.
    pub async fn renewal_pass(&self, today: time::Date) -> anyhow::Result<Vec<String>> {
        let by = today.saturating_add(time::Duration::days(30)).to_string();
        let mut done = Vec::new();
        for (office, until) in self.store.due_for_renewal(&today.to_string(), &by).await? {
            let new_until = crate::office_portal::next_year_until(Some(&until));
            let fee = self.config.license.fee_now();
            let t = api::now();
            self.store.grant_license(&office, &new_until, fee, t).await?;
            self.store
                .add_notice(
                    &crate::auth::token()[..32],
                    Some(&office),
                    "license",
                    "ライセンスを自動更新しました",
                    &format!(
                        "ライセンスを {new_until} まで更新しました（利用料 {fee} 円）。自動更新はポータルの「ライセンス」でやめられます。"
                    ),
                    t,
                )
                .await?;
            self.store
                .audit(
                    Audit {
                        action: "license.auto_renew",
                        office: Some(&office),
                        detail: format!("until={new_until} fee={fee}"),
                        ..Default::default()
                    },
                    t,
                )
                .await?;
            done.push(office);
        }
        Ok(done)
    }

    /// One retention pass as of `now` (unix seconds): expire unfetched messages (non-delivery
    /// notice and event to the sender), then purge content past its retention (rows and hashes
    /// stay).
    pub async fn retention_pass(&self, now: i64) -> anyhow::Result<RetentionReport> {
        let r = &self.config.retention;
        let expired = self
            .store
            .expire_unfetched(now - r.expire_unfetched_days * 86400, now, |recipient, sent_at| {
                let when = time::OffsetDateTime::from_unix_timestamp(sent_at).map(|t| t.to_offset(time::macros::offset!(+9))).ok();
                let when = when.map_or(String::new(), |t| format!("{}年{}月{}日 {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute()));
                (
                    crate::auth::token()[..32].to_owned(),
                    format!("未取得のまま期限切れ: {recipient} あて"),
                    format!("{when} に {recipient} あてに送ったメッセージは、{}日間取得されなかったため期限切れになりました。相手の事業所に連絡のうえ、必要なら送り直してください。", r.expire_unfetched_days),
                )
            })
            .await?;
        for e in &expired {
            // The non-delivery notice itself reaches subscribers through the notice poll.
            self.events.send(Some(&e.sender), renkei_protocol::Event::Expired { id: e.public_id.clone(), recipient: e.recipient.clone() });
        }
        let forgotten_keys = self.store.forget_idempotency_keys(now - r.idempotency_key_days * 86400).await?;
        let free = self.store.purge_content(now - r.purge_content_days * 86400, now).await?;
        let n = free.len();
        for sha in &free {
            self.blobs.delete(sha).await?;
        }
        metrics::counter!("renkei_messages_expired_total").increment(expired.len() as u64);
        metrics::counter!("renkei_blobs_purged_total").increment(n as u64);
        if !expired.is_empty() || n > 0 {
            tracing::info!(expired = expired.len(), purged_blobs = n, "retention pass");
        }
        Ok(RetentionReport { expired: expired.len(), purged_blobs: n, forgotten_keys })
    }

    /// Probes the storage once and records the outcome.
    pub async fn probe_storage(&self) {
        let now = api::now();
        for (part, state) in crate::health::probe(&self.store, &self.blobs, &self.node, now).await {
            self.health.set(part, state, now);
        }
    }

    /// Revokes a terminal: its sessions end, its certificate goes on the CRL.
    pub async fn revoke(&self, terminal_id: &str, by: &str) -> anyhow::Result<bool> {
        let t = api::now();
        let done = self.store.revoke_terminal(terminal_id, t).await?;
        if done {
            self.store
                .audit(Audit { action: "revoke", terminal_id: Some(terminal_id), detail: format!("by={by}"), ..Default::default() }, t)
                .await?;
            self.reload_tls().await?;
        }
        Ok(done)
    }
}

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

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(crate::portal::top))
        .route("/offices", get(crate::portal::offices))
        .route("/usage", get(crate::portal::usage))
        .route("/portal/static/portal.css", get(crate::portal::css))
        .route("/portal/static/portal.js", get(crate::portal::js))
        .route("/portal/login", get(crate::office_portal::login_page).post(crate::office_portal::login_post.layer(small_body())))
        .route("/portal/logout", post(crate::office_portal::logout))
        .route("/portal/password", get(crate::office_portal::password_page).post(crate::office_portal::password_post))
        .route("/portal/home", get(crate::office_portal::home))
        .route("/portal/apply", get(crate::office_portal::apply_page).post(crate::office_portal::apply_post))
        .route("/portal/license", get(crate::office_portal::license_page))
        .route("/portal/license/auto-renew", post(crate::office_portal::auto_renew))
        .route("/portal/license/renew", post(crate::office_portal::renew))
        .route("/portal/terminals", get(crate::office_portal::terminals))
        .route("/portal/records", get(crate::office_portal::records))
        .route("/operator/login", get(crate::operator::login_page).post(crate::operator::login_post.layer(small_body())))
        .route("/operator/", get(crate::operator::top))
        .route("/operator/registry", get(crate::operator::registry_page).post(crate::operator::registry_import))
        .route("/operator/registry/progress", get(crate::operator::registry_progress))
        .route("/operator/notices", get(crate::operator::notices).post(crate::operator::publish))
        .route("/operator/offices", get(crate::operator::offices))
        .route("/operator/terminals/{id}/revoke", post(crate::operator::revoke))
        .route("/operator/offices/{office}/paid", post(crate::operator::mark_paid))
        .route("/operator/audit", get(crate::operator::audit))
        .route("/portal/staff", get(crate::office_portal::staff).post(crate::office_portal::add_staff))
        .route("/portal/staff/{login}/disable", post(crate::office_portal::disable_staff))
        .route("/portal/records.csv", get(crate::office_portal::records_csv))
        .route("/portal/terminals/code", post(crate::office_portal::new_code))
        .route("/portal/terminals/{id}/revoke", post(crate::office_portal::revoke))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(paths::ENROL, post(api::enrol.layer(small_body())))
        .route(paths::CA, get(api::ca_pem))
        .route(paths::SESSIONS, post(api::login.layer(small_body())).delete(api::logout))
        .route(paths::PASSWORD, post(api::change_password.layer(small_body())))
        .route(paths::ENROLMENT_CODES, post(api::new_enrolment_code))
        .route("/v1/directory/{office}", get(api::directory))
        .route(paths::MESSAGES, post(api::send))
        .route("/v1/messages/{id}", get(api::message))
        .route("/v1/messages/{id}/files/{idx}", get(api::download))
        .route("/v1/messages/{id}/fetch", post(api::fetch))
        .route("/v1/messages/{id}/open", post(api::open))
        .route(paths::DRAFTS, post(api::create_draft).get(api::list_drafts))
        .route("/v1/drafts/{id}", get(api::get_draft).patch(api::update_draft).delete(api::delete_draft))
        .route("/v1/drafts/{id}/files", post(api::add_draft_files))
        .route("/v1/drafts/{id}/files/{idx}", axum::routing::delete(api::remove_draft_file))
        .route("/v1/drafts/{id}/send", post(api::send_draft))
        .route(paths::NOTICES, get(api::notices))
        .route(paths::EVENTS, get(api::events))
        .route(paths::INBOX, get(api::inbox))
        .route(paths::SENT, get(api::sent))
        .fallback(crate::error::not_found)
        .method_not_allowed_fallback(crate::error::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.limits.max_message_bytes + 1024 * 1024))
        .layer(axum::middleware::from_fn_with_state(state.clone(), limit_logins))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .with_state(state)
}

/// Login, enrolment and password bodies are small (a CSR is about 1 KiB): 64 KiB at most, so
/// that nobody makes the hub buffer megabytes before any check.
pub const SMALL_BODY_BYTES: usize = 64 * 1024;

fn small_body() -> DefaultBodyLimit {
    DefaultBodyLimit::max(SMALL_BODY_BYTES)
}

/// Too many login attempts from one address: 429 with a Japanese reason, before any password work.
async fn limit_logins(
    axum::extract::State(st): axum::extract::State<AppState>,
    axum::extract::ConnectInfo(ip): axum::extract::ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if req.method() == axum::http::Method::POST
        && crate::ratelimit::LOGIN_PATHS.contains(&req.uri().path())
        && !st.logins.allow(ip.ip(), time::OffsetDateTime::now_utc().unix_timestamp())
    {
        tracing::warn!(ip = %ip.ip(), path = req.uri().path(), "login attempts over the limit");
        if req.uri().path().starts_with("/v1/") {
            let mut r = crate::error::ApiError::new(
                renkei_protocol::ErrorCode::TooManyRequests,
                "ログインの試行が多すぎます。1分ほど待ってから、もう一度お試しください",
                "too many login attempts from this address",
            )
            .into_response();
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
            return r;
        }
        return (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, "60")],
            "ログインの試行が多すぎます。1分ほど待ってから、もう一度お試しください",
        )
            .into_response();
    }
    next.run(req).await
}

/// Ready when the database and the blob store both take durable writes (probed in the
/// background every 0.4 s); otherwise 503 with `Retry-After`, naming the failing part.
async fn readyz(axum::extract::State(st): axum::extract::State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let failing = st.health.failing();
    if failing.is_empty() {
        return "ready".into_response();
    }
    let text: Vec<String> = failing.iter().map(|p| p.describe()).collect();
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, crate::error::STORAGE_RETRY_AFTER_SECONDS.to_string())],
        format!("not ready: {}\n", text.join(" / ")),
    )
        .into_response()
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
        self.monitor.abort();
        if let Some(t) = self.metrics_task {
            t.abort();
        }
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
    let blobs = BlobStore::open(&config.data_dir.join("blobs"))?;
    let (ca, cert, key) = ensure_pki(&config)?;
    let crl = ca.crl(&store.revoked_serials().await?)?;
    let tls = RustlsConfig::from_config(Arc::new(server_config(&ca.cert_pem, &cert, &key, &crl)?));
    let state = AppState {
        store,
        blobs,
        ca: Arc::new(ca),
        config: Arc::new(config.clone()),
        events: Events::new(),
        tls: tls.clone(),
        server_cert: Arc::new((cert, key)),
        logins: Arc::new(crate::ratelimit::LoginLimiter::new(config.auth.logins_per_minute_per_ip)),
        import_job: Arc::new(tokio::sync::Mutex::new(None)),
        health: Arc::default(),
        node: Arc::from(format!("{}-{}", std::process::id(), &crate::auth::token()[..8])),
        validation: Arc::new(tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))),
        streams: Arc::default(),
    };
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
    let mut server =
        axum_server::from_tcp(listener)?.acceptor(PeerAcceptor::new(tls, config.limits.max_connections)).handle(handle.clone());
    // Slow clients do not hold connections: headers within the limit.
    let timer = hyper_util::rt::TokioTimer::new();
    let b = server.http_builder();
    b.http1().timer(timer).header_read_timeout(Duration::from_secs(config.limits.header_read_timeout_seconds.max(1)));

    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move { server.serve(app).await });

    // Revocations made by another process (the `ca revoke` command) reach this one through the
    // store: poll it and reload the CRL when the list changes.
    let w = state.clone();
    let watcher = tokio::spawn(async move {
        let watcher = w;
        let mut seen = watcher.store.revoked_serials().await.map(|v| v.len()).unwrap_or(0);
        let mut last_notice = watcher.store.notices(None, None, 1).await.ok().and_then(|v| v.first().map(|n| n.id)).unwrap_or(0);
        let mut tick = tokio::time::interval(Duration::from_secs(2));
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
                    if let Err(e) = watcher.retention_pass(api::now()).await {
                        tracing::error!(error = %e, "retention pass failed");
                    }
                    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
                    match watcher.renewal_pass(today).await {
                        Ok(v) if !v.is_empty() => tracing::info!(renewed = v.len(), "licenses renewed"),
                        Err(e) => tracing::error!(error = %e, "license renewal failed"),
                        _ => {}
                    }
                    continue;
                }
            }
            // Notices published by another process (`renkei-hub notice add`) become events.
            if let Ok(new) = watcher.store.notices(None, Some(last_notice), 100).await {
                for n in new.iter().rev() {
                    last_notice = last_notice.max(n.id);
                    watcher
                        .events
                        .send(n.office.as_deref(), renkei_protocol::Event::Notice { id: n.public_id.clone(), title: n.title.clone() });
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
    Ok(Running { addr, state, handle, task, metrics_addr, watcher, monitor, metrics_task })
}
