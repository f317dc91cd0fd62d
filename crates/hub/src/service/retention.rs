//! Retention (保存期間): messages nobody fetched expire with a non-delivery notice to the
//! sender; content past its retention is deleted (rows and hashes stay); old idempotency keys
//! are forgotten.

use crate::state::AppState;

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

/// One retention pass as of `now` (unix seconds): expire unfetched messages (non-delivery
/// notice and event to the sender), then purge content past its retention (rows and hashes
/// stay).
pub async fn pass(st: &AppState, now: i64) -> anyhow::Result<RetentionReport> {
    let r = &st.config.retention;
    let expired = st
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
        st.events.send(Some(&e.sender), renkei_protocol::Event::Expired { id: e.public_id.clone(), recipient: e.recipient.clone() });
    }
    let forgotten_keys = st.store.forget_idempotency_keys(now - r.idempotency_key_days * 86400).await?;
    crate::service::logins::forget_old(st, now).await?;
    let free = st.store.purge_content(now - r.purge_content_days * 86400, now).await?;
    let n = free.len();
    for sha in &free {
        st.blobs.delete(sha).await?;
    }
    metrics::counter!("renkei_messages_expired_total").increment(expired.len() as u64);
    metrics::counter!("renkei_blobs_purged_total").increment(n as u64);
    if !expired.is_empty() || n > 0 {
        tracing::info!(expired = expired.len(), purged_blobs = n, "retention pass");
    }
    Ok(RetentionReport { expired: expired.len(), purged_blobs: n, forgotten_keys })
}

/// The lease under which the background passes (retention, licence renewal) run: one node of a
/// cluster at a time.
pub const BACKGROUND_LEASE: &str = "background";

/// Whether this node runs the background passes now: it takes (or renews) the lease for
/// `period` seconds and a minute more, so that when the node holding it stops, another takes
/// over after at most that. On a single node, it always does.
pub async fn hold_background_lease(st: &AppState, now: i64, period: i64) -> Result<bool, crate::store::StoreError> {
    st.store.take_lease(BACKGROUND_LEASE, &st.node, now, now + period + 60).await
}
