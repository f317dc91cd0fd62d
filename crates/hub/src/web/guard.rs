//! Guards shared by the portal and the operator console: cookies, same-origin and CSRF checks.

use crate::auth;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The value of cookie `name`.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    renkei_screens::cookie::value(parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()), name)
}

/// The CSRF token a form carried as its first field, found by [`form_token`].
#[derive(Debug, Clone)]
pub struct FormToken(pub String);

/// Before a browser session's change: reads the start of the body for the form's CSRF token
/// ([`renkei_screens::form`]) and hands the whole body on, untouched and unbuffered.
pub async fn form_token(req: Request, next: Next) -> Response {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    // Scripts (htmx, same origin only: a custom header needs CORS) send it as a header.
    if let Some(t) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned) {
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(FormToken(t));
        return next.run(Request::from_parts(parts, body)).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok((token, body)) = renkei_screens::form::token_and_body(&content_type, body.into_data_stream()).await else {
        return (StatusCode::BAD_REQUEST, "送信が途中で切れました。もう一度操作してください").into_response();
    };
    if let Some(t) = token {
        parts.extensions.insert(FormToken(t));
    }
    let body = Body::from_stream(body);
    next.run(Request::from_parts(parts, body)).await
}

/// A state-changing request must carry the session's CSRF token (the first field of its form,
/// never in the URL) and, when the browser says where it comes from, come from this site.
/// Reads (GET, HEAD) pass.
pub fn change_allowed(parts: &Parts, csrf: &str) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD) {
        return true;
    }
    let given = parts.extensions.get::<FormToken>();
    given.is_some_and(|g| auth::constant_time_eq(g.0.as_bytes(), csrf.as_bytes())) && same_origin(parts)
}

/// When the browser says where a request comes from (`Origin`), it must be this site (HTTP/2
/// carries the host in the URI's authority, HTTP/1.1 in the Host header).
pub fn same_origin(parts: &Parts) -> bool {
    let site = site_of(parts);
    parts.headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).is_none_or(|o| o == site)
}

/// This site as the browser reached it (`https://host[:port]`): HTTP/2 carries the host in the
/// URI's authority, HTTP/1.1 in the Host header.
fn site_of(parts: &Parts) -> String {
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned))
        .unwrap_or_default();
    format!("https://{host}")
}

/// This site's address as the browser reached it, for what a page prints (a letter's URLs).
#[derive(Debug, Clone)]
pub struct Site(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Site {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Site(site_of(parts)))
    }
}

/// A login form posted from this site only (login CSRF: another site must not log a browser
/// into an account of its choosing).
#[derive(Debug, Clone, Copy)]
pub struct SameOrigin;

impl<S: Send + Sync> FromRequestParts<S> for SameOrigin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if same_origin(parts) { Ok(SameOrigin) } else { Err(csrf_refused()) }
    }
}

/// The answer to a change that did not come from this site's own form.
pub fn csrf_refused() -> Response {
    (StatusCode::FORBIDDEN, "画面を開き直してから、もう一度操作してください（CSRF）").into_response()
}

/// Every API request from renkei's own client names its version (`x-renkei-client`); an
/// outdated one is refused (426) by the one rule, `service::clients::check`.
pub async fn client_version(axum::extract::State(st): axum::extract::State<crate::state::AppState>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/v1/") && req.uri().path() != renkei_protocol::paths::CA {
        let header = req.headers().get(renkei_protocol::paths::CLIENT_HEADER).and_then(|v| v.to_str().ok());
        if let Err(e) = crate::service::clients::check(&st.config.clients.minimum_version, header) {
            return e.into_response();
        }
    }
    next.run(req).await
}
