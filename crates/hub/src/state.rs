//! The hub's shared state: storage, CA, configuration, event broadcast and the limits every
//! door shares. No HTTP here: the doors (web, admin command line) and the services both use it.

use crate::blobs::BlobStore;
use crate::ca::Ca;
use crate::config::Config;
use crate::store::Store;
use crate::tls::server_config;
use axum_server::tls_rustls::RustlsConfig;
use std::sync::Arc;

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
    pub(crate) tls: RustlsConfig,
    pub(crate) server_cert: Arc<(String, String)>,
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
    /// Requests at work at once (back pressure).
    pub admission: Arc<crate::service::admission::Admission>,
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
    /// Where events go to the other nodes (`crate::cluster`), when there are others.
    outbox: Option<tokio::sync::mpsc::Sender<Addressed>>,
}

/// An event and whom it is for (see [`reaches`]).
pub type Addressed = (Option<String>, renkei_protocol::Event);

impl Events {
    pub(crate) fn new() -> Events {
        Events { tx: tokio::sync::broadcast::channel(1024).0, closing: tokio::sync::watch::channel(false).0, outbox: None }
    }
    /// Events that also go to the other nodes of a cluster: what is sent here is handed to the
    /// returned receiver as well (at most `capacity` waiting; see `crate::cluster`).
    pub(crate) fn shared(capacity: usize) -> (Events, tokio::sync::mpsc::Receiver<Addressed>) {
        let (out, rx) = tokio::sync::mpsc::channel(capacity);
        (Events { outbox: Some(out), ..Events::new() }, rx)
    }
    /// Ends every event stream (at shutdown, so that they do not hold it up).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }
    /// Resolves when the streams must end.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }
    /// Publishes an event to this node's subscribers and, in a cluster, to the other nodes'
    /// (nobody listening is fine).
    pub fn send(&self, to: Option<&str>, ev: renkei_protocol::Event) {
        if let Some(out) = &self.outbox
            && out.try_send((to.map(str::to_owned), ev.clone())).is_err()
        {
            // Events are hints (clients list their inbox anyway); a full queue drops one.
            metrics::counter!("renkei_cluster_events_dropped_total").increment(1);
            tracing::warn!("cluster event queue full: an event does not reach the other nodes");
        }
        self.deliver(to.map(str::to_owned), ev);
    }
    /// Publishes an event to this node's subscribers only (one that came from another node).
    pub(crate) fn deliver(&self, to: Option<String>, ev: renkei_protocol::Event) {
        let _ = self.tx.send((to, ev));
    }
    /// A new subscription.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<(Option<String>, renkei_protocol::Event)> {
        self.tx.subscribe()
    }
}

/// Does an event addressed to `to` reach `office`? `None` is everyone, `pref:NN` the offices of a
/// prefecture (the first two digits of their numbers), anything else one office.
pub fn reaches(to: Option<&str>, office: &str) -> bool {
    match to {
        None => true,
        Some(t) => match t.strip_prefix("pref:") {
            Some(p) => office.get(..2) == Some(p),
            None => t == office,
        },
    }
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

    /// Probes the storage once and records the outcome.
    pub async fn probe_storage(&self) {
        let now = crate::jst::now();
        for (part, state) in crate::health::probe(&self.store, &self.blobs, &self.node, now).await {
            self.health.set(part, state, now);
        }
    }
}
