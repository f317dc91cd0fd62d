//! API v1, one file per resource. Every handler takes a [`Caller`] (or is one of the few public
//! routes), so that who is calling is established before any data is touched; the handlers
//! translate between HTTP and the services.

pub mod directory;
pub mod drafts;
pub mod events;
pub mod extract;
pub mod messages;
pub mod notices;
pub mod office;
pub mod openapi;
pub mod send;
pub mod sessions;
pub mod status;
pub mod terminals;

use crate::error::ApiError;

use crate::service::delegations::Scope;
pub use crate::service::sessions::Caller;
use crate::state::AppState;
use crate::tls::PeerCert;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use std::net::SocketAddr;

/// Extracting a [`Caller`] authenticates the request (certificate, session on that terminal,
/// user of that office, password state); handlers that take one cannot skip it. A [`Caller`]
/// acts for its own office only: `x-renkei-on-behalf-of` is refused (see [`Sending`]).
impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, ApiError> {
        let (peer, ip) = peer_of(parts);
        let c = crate::service::sessions::authenticate(st, &peer, bearer(&parts.headers), &ip.ip().to_string(), false, None).await?;
        if on_behalf_of(&parts.headers).is_some() {
            return Err(crate::service::delegations::not_delegable());
        }
        Ok(c)
    }
}

/// A caller of a delegable route with its scope: its own office's mailbox, or (代行) that of
/// the office named in `x-renkei-on-behalf-of`, which must have delegated `scope` to it.
async fn delegable(parts: &axum::http::request::Parts, st: &AppState, scope: Scope) -> Result<Caller, ApiError> {
    let (peer, ip) = peer_of(parts);
    let on_behalf = on_behalf_of(&parts.headers).map(|o| (o, scope));
    crate::service::sessions::authenticate(st, &peer, bearer(&parts.headers), &ip.ip().to_string(), false, on_behalf).await
}

/// A caller that sends for [`Caller::office`] (sending, drafts, the sent list).
#[derive(Debug)]
pub struct Sending(pub Caller);

/// A caller that receives for [`Caller::office`] (the inbox, 取得, 開封, events).
#[derive(Debug)]
pub struct Receiving(pub Caller);

/// A caller that sends or receives for [`Caller::office`]: one message, whose side the service
/// checks ([`Caller::may_see`]).
#[derive(Debug)]
pub struct Mailbox(pub Caller);

macro_rules! delegable_extractor {
    ($t:ident, $scope:expr) => {
        impl axum::extract::FromRequestParts<AppState> for $t {
            type Rejection = ApiError;
            async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, ApiError> {
                delegable(parts, st, $scope).await.map($t)
            }
        }
    };
}
delegable_extractor!(Sending, Scope::Send);
delegable_extractor!(Receiving, Scope::Receive);
delegable_extractor!(Mailbox, Scope::Any);

/// The office an agent names (`x-renkei-on-behalf-of`), if the header is there (an empty or
/// unreadable value is there too, and refused as malformed, never taken as absent).
pub(crate) fn on_behalf_of(h: &HeaderMap) -> Option<&str> {
    h.get(renkei_protocol::paths::ON_BEHALF_OF).map(|v| v.to_str().unwrap_or("?"))
}

/// As [`Caller`], but a temporary password is accepted (logout and changing the password).
#[derive(Debug)]
pub struct TemporaryCaller(pub Caller);

impl axum::extract::FromRequestParts<AppState> for TemporaryCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, ApiError> {
        let (peer, ip) = peer_of(parts);
        let c = crate::service::sessions::authenticate(st, &peer, bearer(&parts.headers), &ip.ip().to_string(), true, None).await?;
        if on_behalf_of(&parts.headers).is_some() {
            return Err(crate::service::delegations::not_delegable());
        }
        Ok(TemporaryCaller(c))
    }
}

pub(crate) fn peer_of(parts: &axum::http::request::Parts) -> (PeerCert, SocketAddr) {
    let peer = parts.extensions.get::<PeerCert>().cloned().unwrap_or_default();
    let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
    (peer, ip)
}

pub(crate) fn bearer(h: &HeaderMap) -> Option<&str> {
    h.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}
