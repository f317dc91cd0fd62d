//! `GET /v1/events`: server-sent events for the caller's office.

use crate::error::ApiError;
use crate::service::sessions;
use crate::state::AppState;
use crate::tls::PeerCert;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use renkei_protocol::*;
use std::net::SocketAddr;

/// Server-sent events for the caller's office. The caller is checked again every 30 seconds:
/// a revoked terminal or an ended session closes the stream.
#[utoipa::path(get, path = "/v1/events", tag = "notices", responses((status = 200, description = "text/event-stream。各イベントの data は Event の JSON / each event data is an Event (JSON)", body = Event, content_type = "text/event-stream"), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn events(
    State(st): State<AppState>,
    peer: axum::Extension<PeerCert>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    h: HeaderMap,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    // Explicit (not the `Caller` extractor): the stream re-checks the caller with these.
    // 代行: an agent may follow the events of an office that delegated receiving to it.
    let scope = crate::service::delegations::Scope::Receive;
    let on_behalf = super::on_behalf_of(&h).map(|o| (o, scope));
    let c = sessions::authenticate(&st, &peer, super::bearer(&h), &ip.ip().to_string(), false, on_behalf).await?;
    let limits = &st.config.limits;
    let keys =
        [(format!("s:{}", c.token_hash), limits.event_streams_per_session), (format!("a:{}", ip.ip()), limits.event_streams_per_address)];
    let Some(slot) = st.streams.open(&keys) else {
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            "お知らせの受信（イベント）の接続が多すぎます。使っていない画面を閉じてから、もう一度お試しください",
            "too many event streams for this session or address",
        ));
    };
    let office = c.office.clone();
    let rx = st.events.subscribe();
    let check = tokio::time::interval(std::time::Duration::from_secs(30));
    let closing = st.events.closing();
    let state = (rx, check, closing, st, peer.0.clone(), h.clone(), ip, (office, slot));
    let stream = futures_util::stream::unfold(state, |(mut rx, mut check, mut closing, st, peer, h, ip, (office, slot))| async move {
        loop {
            if *closing.borrow() {
                return None;
            }
            tokio::select! {
                _ = closing.changed() => return None,
                ev = rx.recv() => match ev {
                    Ok((to, ev)) if crate::state::reaches(to.as_deref(), &office) => {
                        let data = serde_json::to_string(&ev).unwrap_or_default();
                        let out: Result<SseEvent, std::convert::Infallible> = Ok(SseEvent::default().event(ev.name()).data(data));
                        return Some((out, (rx, check, closing, st, peer, h, ip, (office, slot))));
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
                _ = check.tick() => {
                    // A revoked delegation ends an agent's stream as a revoked terminal does.
                    let on_behalf = super::on_behalf_of(&h).map(|o| (o, crate::service::delegations::Scope::Receive));
                    if sessions::authenticate(&st, &peer, super::bearer(&h), &ip.ip().to_string(), false, on_behalf).await.is_err() {
                        return None;
                    }
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}
