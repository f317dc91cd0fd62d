//! Several hub nodes on one PostgreSQL database: the events one node publishes reach the event
//! streams of clients connected to the others, through PostgreSQL's LISTEN/NOTIFY (delivered
//! within milliseconds of the commit that caused them). Everything else the nodes share lives in
//! the store itself: mailboxes, sessions, lockouts, login attempts per address
//! (`service::logins`), revocations (each node polls them every second and reloads its CRL),
//! idempotency keys, and the lease under which one node runs the background passes. On SQLite
//! (one node) nothing here runs.

use crate::state::{Addressed, AppState};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The PostgreSQL channel.
pub const CHANNEL: &str = "renkei_events";

/// Events waiting to be sent to the other nodes, at most.
pub const QUEUE: usize = 4096;

/// One event on the wire: which node published it, for whom, what.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    node: String,
    to: Option<String>,
    event: renkei_protocol::Event,
}

/// Starts the two tasks: one sends this node's events to the channel, one delivers the other
/// nodes' events to this node's subscribers (reconnecting by itself when the database comes
/// back). Aborted at shutdown.
pub fn start(st: &AppState, mut outbox: tokio::sync::mpsc::Receiver<Addressed>) -> Vec<tokio::task::JoinHandle<()>> {
    let publisher = {
        let st = st.clone();
        tokio::spawn(async move {
            while let Some((to, event)) = outbox.recv().await {
                let wire = Wire { node: st.node.to_string(), to, event };
                let Ok(payload) = serde_json::to_string(&wire) else { continue };
                if let Err(e) = st.store.notify(CHANNEL, &payload).await {
                    metrics::counter!("renkei_cluster_events_dropped_total").increment(1);
                    tracing::warn!(error = %e, "an event did not reach the other nodes");
                }
            }
        })
    };
    let listener = {
        let st = st.clone();
        tokio::spawn(async move {
            loop {
                match st.store.listen(CHANNEL).await {
                    Ok(Some(mut l)) => {
                        tracing::info!(channel = CHANNEL, "listening for the other nodes' events");
                        loop {
                            match l.recv().await {
                                Ok(payload) => receive(&st, &payload),
                                Err(e) => {
                                    tracing::warn!(error = %e, "lost the other nodes' events; listening again");
                                    break;
                                }
                            }
                        }
                    }
                    Ok(None) => return,
                    Err(e) => tracing::warn!(error = %e, "cannot listen for the other nodes' events yet"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    vec![publisher, listener]
}

/// Delivers another node's event here; this node's own come back too and are skipped (they
/// were delivered when sent).
fn receive(st: &AppState, payload: &str) {
    match serde_json::from_str::<Wire>(payload) {
        Ok(w) if *w.node != *st.node => st.events.deliver(w.to, w.event),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "an unreadable event from another node"),
    }
}
