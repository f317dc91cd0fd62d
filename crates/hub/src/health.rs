//! Storage health: whether the database and the blob store take durable writes now. A monitor
//! probes both with a real write every [`PROBE_INTERVAL`] (bounded by [`PROBE_TIMEOUT`]), so
//! that `/readyz`, the metrics and the operator console tell the truth within a second, and
//! turn healthy again by themselves when the storage recovers.

use std::sync::Mutex;
use std::time::Duration;

/// How often the storage is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(400);
/// How long one probe may take before the part counts as unavailable.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// A part of the storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The database (SQLite or PostgreSQL).
    Database,
    /// The blob store (file content).
    Blobs,
}

impl Part {
    /// Name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Part::Database => "database",
            Part::Blobs => "blobs",
        }
    }
    /// Name for operators (Japanese).
    pub fn label(self) -> &'static str {
        match self {
            Part::Database => "データベース",
            Part::Blobs => "ファイル保存領域",
        }
    }
}

/// The state of one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Takes writes.
    Ok,
    /// Full: writes fail for lack of space.
    Full(String),
    /// Cannot be reached or written (timeout, refused, I/O error).
    Unavailable(String),
}

impl State {
    /// `true` when the part takes writes.
    pub fn is_ok(&self) -> bool {
        matches!(self, State::Ok)
    }
}

/// One part's state with the time it began (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartStatus {
    /// The part.
    pub part: Part,
    /// Its state.
    pub state: State,
    /// Since when (unix seconds).
    pub since: i64,
}

impl PartStatus {
    /// What an operator reads (Japanese).
    pub fn describe(&self) -> String {
        match &self.state {
            State::Ok => format!("{}: 正常", self.part.label()),
            State::Full(e) => format!("{}: 空き容量がありません（{e}）", self.part.label()),
            State::Unavailable(e) => format!("{}: 書き込めません（{e}）", self.part.label()),
        }
    }
}

/// The storage's health, shared by the monitor, `/readyz` and the console.
#[derive(Debug)]
pub struct Health {
    parts: Mutex<[PartStatus; 2]>,
}

impl Default for Health {
    fn default() -> Self {
        let ok = |part| PartStatus { part, state: State::Ok, since: 0 };
        Health { parts: Mutex::new([ok(Part::Database), ok(Part::Blobs)]) }
    }
}

impl Health {
    /// Records a probe's outcome; logs and counts changes of state.
    pub fn set(&self, part: Part, state: State, now: i64) {
        let mut parts = self.parts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = &mut parts[part as usize];
        if std::mem::discriminant(&slot.state) != std::mem::discriminant(&state) {
            match &state {
                State::Ok => tracing::info!(part = part.name(), "storage recovered"),
                State::Full(e) => tracing::error!(part = part.name(), error = %e, "storage full"),
                State::Unavailable(e) => tracing::error!(part = part.name(), error = %e, "storage unavailable"),
            }
            slot.since = now;
        }
        metrics::gauge!("renkei_storage_ready", "part" => part.name()).set(if state.is_ok() { 1.0 } else { 0.0 });
        slot.state = state;
    }

    /// Both parts.
    pub fn parts(&self) -> Vec<PartStatus> {
        self.parts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).to_vec()
    }

    /// The parts that do not take writes now.
    pub fn failing(&self) -> Vec<PartStatus> {
        self.parts().into_iter().filter(|p| !p.state.is_ok()).collect()
    }
}

/// One probe of both parts, each bounded by [`PROBE_TIMEOUT`].
pub async fn probe(store: &crate::store::Store, blobs: &crate::blobs::BlobStore, node: &str, now: i64) -> [(Part, State); 2] {
    let db = match tokio::time::timeout(PROBE_TIMEOUT, store.probe_write(node, now)).await {
        Ok(Ok(())) => State::Ok,
        Ok(Err(crate::store::StoreError::Full(e))) => State::Full(e),
        Ok(Err(e)) => State::Unavailable(e.to_string()),
        Err(_) => State::Unavailable(format!("{} ms 以内に応答がありません", PROBE_TIMEOUT.as_millis())),
    };
    let bl = match tokio::time::timeout(PROBE_TIMEOUT, blobs.probe()).await {
        Ok(Ok(())) => State::Ok,
        Ok(Err(crate::blobs::BlobError::Full(e))) => State::Full(e),
        Ok(Err(e)) => State::Unavailable(e.to_string()),
        Err(_) => State::Unavailable(format!("{} ms 以内に応答がありません", PROBE_TIMEOUT.as_millis())),
    };
    [(Part::Database, db), (Part::Blobs, bl)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_changes_keep_their_start() {
        let h = Health::default();
        assert!(h.failing().is_empty());
        h.set(Part::Blobs, State::Full("ENOSPC".into()), 100);
        h.set(Part::Blobs, State::Full("ENOSPC".into()), 105);
        let f = h.failing();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].part, f[0].since), (Part::Blobs, 100));
        assert!(f[0].describe().contains("空き容量がありません"));
        h.set(Part::Blobs, State::Ok, 110);
        assert!(h.failing().is_empty());
        assert_eq!(h.parts()[Part::Blobs as usize].since, 110);
    }
}
