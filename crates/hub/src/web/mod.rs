//! The doors over HTTP: API v1 ([`api`]), the office portal and the public pages
//! ([`portal`]), and the operator console ([`operator`]). They authenticate the request, call
//! the services and translate the answer; the rules themselves live in [`crate::service`].

pub mod api;
pub mod guard;
pub mod operator;
pub mod page;
pub mod portal;
pub mod second_factor;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler as _;
use axum::routing::{get, post};
use renkei_protocol::paths;
use std::net::SocketAddr;

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(portal::public::top))
        .route("/offices", get(portal::public::offices))
        .route("/usage", get(portal::public::usage))
        .route("/portal/static/portal.css", get(page::css))
        .route("/portal/static/portal.js", get(page::js))
        .route("/portal/login", get(portal::login::login_page).post(portal::login::login_post.layer(small_body())))
        .route("/portal/logout", post(portal::login::logout))
        .route("/portal/password", get(portal::password::password_page).post(portal::password::password_post))
        .route("/portal/home", get(portal::home::home))
        .route("/portal/apply", get(portal::apply::apply_page).post(portal::apply::apply_post))
        .route("/portal/license", get(portal::license::license_page))
        .route("/portal/license/auto-renew", post(portal::license::auto_renew))
        .route("/portal/license/renew", post(portal::license::renew))
        .route("/portal/terminals", get(portal::terminals::terminals))
        .route("/portal/records", get(portal::records::records))
        .route("/operator/login", get(operator::login::login_page).post(operator::login::login_post.layer(small_body())))
        .route("/operator/", get(operator::top::top))
        .route("/operator/registry", get(operator::registry::registry_page).post(operator::registry::registry_import))
        .route("/operator/registry/progress", get(operator::registry::registry_progress))
        .route("/operator/notices", get(operator::notices::notices).post(operator::notices::publish))
        .route("/operator/offices", get(operator::offices::offices))
        .route("/operator/terminals/{id}/revoke", post(operator::offices::revoke))
        .route("/operator/offices/{office}/paid", post(operator::offices::mark_paid))
        .route("/operator/audit", get(operator::audit::audit))
        .route("/portal/staff", get(portal::staff::staff).post(portal::staff::add_staff))
        .route("/portal/staff/{login}/disable", post(portal::staff::disable_staff))
        .route("/portal/records.csv", get(portal::records::records_csv))
        .route("/portal/terminals/code", post(portal::terminals::new_code))
        .route("/portal/security", get(portal::security::security))
        .route("/portal/security/start", post(portal::security::start))
        .route("/portal/security/confirm", post(portal::security::confirm.layer(small_body())))
        .route("/portal/security/disable", post(portal::security::disable.layer(small_body())))
        .route("/portal/second-factor", get(portal::security::entry_page).post(portal::security::entry_post.layer(small_body())))
        .route("/operator/security", get(operator::security::security))
        .route("/operator/security/start", post(operator::security::start))
        .route("/operator/security/confirm", post(operator::security::confirm.layer(small_body())))
        .route("/operator/second-factor", get(operator::security::entry_page).post(operator::security::entry_post.layer(small_body())))
        .route("/portal/terminals/{id}/revoke", post(portal::terminals::revoke))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(paths::ENROL, post(api::terminals::enrol.layer(small_body())))
        .route(paths::CA, get(api::terminals::ca_pem))
        .route(paths::SESSIONS, post(api::sessions::login.layer(small_body())).delete(api::sessions::logout))
        .route(paths::PASSWORD, post(api::sessions::change_password.layer(small_body())))
        .route(paths::ENROLMENT_CODES, post(api::terminals::new_enrolment_code))
        .route("/v1/directory/{office}", get(api::directory::directory))
        .route(paths::MESSAGES, post(api::send::send))
        .route("/v1/messages/{id}", get(api::messages::message))
        .route("/v1/messages/{id}/files/{idx}", get(api::messages::download))
        .route("/v1/messages/{id}/fetch", post(api::messages::fetch))
        .route("/v1/messages/{id}/open", post(api::messages::open))
        .route(paths::DRAFTS, post(api::drafts::create_draft).get(api::drafts::list_drafts))
        .route("/v1/drafts/{id}", get(api::drafts::get_draft).patch(api::drafts::update_draft).delete(api::drafts::delete_draft))
        .route("/v1/drafts/{id}/files", post(api::drafts::add_draft_files))
        .route("/v1/drafts/{id}/files/{idx}", axum::routing::delete(api::drafts::remove_draft_file))
        .route("/v1/drafts/{id}/send", post(api::drafts::send_draft))
        .route(paths::NOTICES, get(api::notices::notices))
        .route(paths::EVENTS, get(api::events::events))
        .route(paths::INBOX, get(api::messages::inbox))
        .route(paths::SENT, get(api::messages::sent))
        .fallback(api::extract::not_found)
        .method_not_allowed_fallback(api::extract::method_not_allowed)
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
