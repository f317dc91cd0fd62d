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
pub mod terminals;

use crate::error::ApiError;

pub use crate::service::sessions::Caller;
use crate::state::AppState;
use crate::tls::PeerCert;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use std::net::SocketAddr;

/// Extracting a [`Caller`] authenticates the request (certificate, session on that terminal,
/// user of that office, password state); handlers that take one cannot skip it.
impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, ApiError> {
        let (peer, ip) = peer_of(parts);
        crate::service::sessions::authenticate(st, peer.fingerprint.as_deref(), bearer(&parts.headers), &ip.ip().to_string(), false).await
    }
}

/// As [`Caller`], but a temporary password is accepted (logout and changing the password).
#[derive(Debug)]
pub struct TemporaryCaller(pub Caller);

impl axum::extract::FromRequestParts<AppState> for TemporaryCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, ApiError> {
        let (peer, ip) = peer_of(parts);
        crate::service::sessions::authenticate(st, peer.fingerprint.as_deref(), bearer(&parts.headers), &ip.ip().to_string(), true)
            .await
            .map(TemporaryCaller)
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
