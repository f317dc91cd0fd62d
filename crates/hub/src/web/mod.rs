//! The doors over HTTP: API v1 ([`api`]), the office portal and the public pages
//! ([`portal`]), and the operator console ([`operator`]). They authenticate the request, call
//! the services and translate the answer; the rules themselves live in [`crate::service`].

pub mod api;
pub mod confirm;
pub mod guard;
pub mod mailbox;
pub mod operator;
pub mod page;
pub mod portal;
pub mod second_factor;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler as _;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post};
use renkei_protocol::paths;
use std::net::SocketAddr;

pub use crate::service::delegations::Scope;

/// Who may call a route, and what it checks: every route of the hub has one, and the
/// authorization matrix test (`tests/matrix.rs`) tries each route in each state against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (public pages, health, the CA certificate).
    Public,
    /// A login or enrolment form: anyone, limited per address, checking the password itself.
    Login,
    /// API login: a terminal certificate, then the password.
    TerminalLogin,
    /// API: certificate, session on that terminal, enabled user, current password.
    Terminal,
    /// As [`Access::Terminal`], and the office's licence must be valid (sending).
    TerminalSend,
    /// As [`Access::Terminal`], an administrator only.
    TerminalAdmin,
    /// As [`Access::Terminal`], but a temporary or expired password is accepted (logout, change).
    TerminalAnyPassword,
    /// Portal: session, CSRF on changes, second factor when set up, current password.
    Portal,
    /// As [`Access::Portal`], an administrator only.
    PortalAdmin,
    /// As [`Access::PortalAdmin`], and the second factor passed in this session (enrolment
    /// codes, staff): a password alone never yields a certificate or an account.
    PortalAdminSecondFactor,
    /// As [`Access::Portal`], but a temporary or expired password is accepted.
    PortalAnyPassword,
    /// Portal session before the second factor (entering it, logging out).
    PortalPending,
    /// Web mailbox: portal session, CSRF on changes, second factor set up and passed in the
    /// session, current password; the user's own office only
    /// ([`crate::service::sessions::authenticate_mailbox`]).
    Mailbox,
    /// Console: operator session, CSRF on changes, second factor set up and passed.
    Operator,
    /// Console session before the second factor (setting it up, entering it).
    OperatorPending,
}

impl Access {
    /// A browser session (portal or console): its changes carry the session's CSRF token as the
    /// first field of their form ([`guard::form_token`]).
    #[must_use]
    pub fn browser_session(self) -> bool {
        matches!(
            self,
            Access::Portal
                | Access::PortalAdmin
                | Access::PortalAdminSecondFactor
                | Access::PortalAnyPassword
                | Access::PortalPending
                | Access::Mailbox
                | Access::Operator
                | Access::OperatorPending
        )
    }
}

/// One route: method, path (as the router knows it) and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path pattern (`/v1/messages/{id}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What an agent may do here for an office that delegated it (代行), or `None`: the route
    /// refuses `x-renkei-on-behalf-of`. The handler's extractor says the same
    /// ([`api::Sending`], [`api::Receiving`], [`api::Mailbox`]); the matrix test holds them to it.
    pub on_behalf: Option<Scope>,
}

fn r(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> (Route, MethodRouter<AppState>) {
    (Route { method, path, access, on_behalf: None }, handler)
}

/// A mailbox route an agent may use for an office that delegated `scope` to it.
fn rd(
    method: Method,
    path: &'static str,
    access: Access,
    scope: Scope,
    handler: MethodRouter<AppState>,
) -> (Route, MethodRouter<AppState>) {
    (Route { method, path, access, on_behalf: Some(scope) }, handler)
}

/// Every route with its handler. The router is built from this list, and so is [`routes`]:
/// a route cannot exist without saying who may call it.
fn table() -> Vec<(Route, MethodRouter<AppState>)> {
    vec![
        r(Method::GET, "/", Access::Public, get(portal::public::top)),
        r(Method::GET, "/offices", Access::Public, get(portal::public::offices)),
        r(Method::GET, "/usage", Access::Public, get(portal::public::usage)),
        r(Method::GET, "/portal/static/portal.css", Access::Public, get(page::css)),
        r(Method::GET, "/portal/static/portal.js", Access::Public, get(page::js)),
        r(Method::GET, "/portal/login", Access::Public, get(portal::login::login_page)),
        r(Method::POST, "/portal/login", Access::Login, post(portal::login::login_post.layer(small_body()))),
        r(Method::POST, "/portal/logout", Access::PortalPending, post(portal::login::logout)),
        r(Method::GET, "/portal/password", Access::PortalAnyPassword, get(portal::password::password_page)),
        r(Method::POST, "/portal/password", Access::PortalAnyPassword, post(portal::password::password_post)),
        r(Method::GET, "/portal/home", Access::Portal, get(portal::home::home)),
        r(Method::GET, "/portal/apply", Access::Portal, get(portal::apply::apply_page)),
        r(Method::POST, "/portal/apply", Access::PortalAdmin, post(portal::apply::apply_post)),
        r(Method::GET, "/portal/license", Access::Portal, get(portal::license::license_page)),
        r(Method::POST, "/portal/license/auto-renew", Access::PortalAdmin, post(portal::license::auto_renew)),
        r(Method::POST, "/portal/license/renew", Access::PortalAdmin, post(portal::license::renew)),
        r(Method::POST, "/portal/license/payment-method", Access::PortalAdmin, post(portal::license::payment_method)),
        r(Method::GET, "/portal/terminals", Access::Portal, get(portal::terminals::terminals)),
        r(Method::GET, "/portal/records", Access::Portal, get(portal::records::records)),
        r(Method::GET, "/operator/login", Access::Public, get(operator::login::login_page)),
        r(Method::POST, "/operator/login", Access::Login, post(operator::login::login_post.layer(small_body()))),
        r(Method::GET, "/operator/", Access::Operator, get(operator::top::top)),
        r(Method::GET, "/operator/registry", Access::Operator, get(operator::registry::registry_page)),
        r(Method::POST, "/operator/registry", Access::Operator, post(operator::registry::registry_import)),
        r(Method::GET, "/operator/registry/progress", Access::Operator, get(operator::registry::registry_progress)),
        r(Method::GET, "/operator/notices", Access::Operator, get(operator::notices::notices)),
        r(Method::POST, "/operator/notices", Access::Operator, post(operator::notices::publish)),
        r(Method::GET, "/operator/notices/{id}", Access::Operator, get(operator::notices::edit_page)),
        r(Method::POST, "/operator/notices/{id}", Access::Operator, post(operator::notices::edit)),
        r(Method::POST, "/operator/notices/{id}/withdraw", Access::Operator, post(operator::notices::withdraw)),
        r(Method::GET, "/operator/licences", Access::Operator, get(operator::licences::licences)),
        r(Method::POST, "/operator/licences/deductions", Access::Operator, post(operator::licences::export)),
        r(Method::POST, "/operator/licences/campaigns", Access::Operator, post(operator::licences::add_campaign)),
        r(Method::GET, "/operator/status", Access::Operator, get(operator::status::status_page)),
        r(Method::POST, "/operator/status", Access::Operator, post(operator::status::set_status)),
        r(Method::GET, "/operator/offices", Access::Operator, get(operator::offices::offices)),
        r(Method::GET, "/operator/offices/new", Access::Operator, get(operator::accounts::new_office_page)),
        r(Method::POST, "/operator/offices/new", Access::Operator, post(operator::accounts::create_office)),
        r(Method::POST, "/operator/users/{login}/reset", Access::Operator, post(operator::accounts::reset)),
        r(Method::POST, "/operator/users/{login}/unlock", Access::Operator, post(operator::accounts::unlock)),
        r(Method::GET, "/operator/password", Access::Operator, get(operator::accounts::password_page)),
        r(Method::POST, "/operator/password", Access::Operator, post(operator::accounts::password_post.layer(small_body()))),
        r(Method::POST, "/operator/terminals/{id}/revoke", Access::Operator, post(operator::offices::revoke)),
        r(Method::POST, "/operator/offices/{office}/paid", Access::Operator, post(operator::offices::mark_paid)),
        r(Method::POST, "/operator/offices/{office}/agent", Access::Operator, post(operator::offices::register_agent)),
        r(Method::GET, "/operator/audit", Access::Operator, get(operator::audit::audit)),
        r(Method::GET, "/portal/staff", Access::Portal, get(portal::staff::staff)),
        r(Method::POST, "/portal/staff", Access::PortalAdminSecondFactor, post(portal::staff::add_staff)),
        r(Method::POST, "/portal/staff/{login}/disable", Access::PortalAdminSecondFactor, post(portal::staff::disable_staff)),
        r(Method::POST, "/portal/staff/{login}/reset", Access::PortalAdminSecondFactor, post(portal::staff::reset_staff)),
        r(Method::POST, "/portal/staff/{login}/unlock", Access::PortalAdminSecondFactor, post(portal::staff::unlock_staff)),
        r(Method::GET, "/portal/delegations", Access::Portal, get(portal::delegations::delegations_page)),
        r(Method::POST, "/portal/delegations", Access::PortalAdminSecondFactor, post(portal::delegations::grant)),
        r(Method::POST, "/portal/delegations/{id}/revoke", Access::PortalAdmin, post(portal::delegations::revoke)),
        r(Method::GET, "/portal/records.csv", Access::Portal, get(portal::records::records_csv)),
        r(Method::POST, "/portal/terminals/code", Access::PortalAdminSecondFactor, post(portal::terminals::new_code)),
        r(
            Method::POST,
            "/portal/terminals/browser",
            Access::PortalAdminSecondFactor,
            post(portal::terminals::browser_certificate.layer(small_body())),
        ),
        r(Method::GET, "/portal/security", Access::PortalAnyPassword, get(portal::security::security)),
        r(Method::POST, "/portal/security/start", Access::PortalAnyPassword, post(portal::security::start)),
        r(Method::POST, "/portal/security/confirm", Access::PortalAnyPassword, post(portal::security::confirm.layer(small_body()))),
        r(Method::POST, "/portal/security/disable", Access::PortalAnyPassword, post(portal::security::disable.layer(small_body()))),
        r(Method::GET, "/portal/second-factor", Access::PortalPending, get(portal::security::entry_page)),
        r(Method::POST, "/portal/second-factor", Access::PortalPending, post(portal::security::entry_post.layer(small_body()))),
        r(Method::GET, "/operator/security", Access::OperatorPending, get(operator::security::security)),
        r(Method::POST, "/operator/security/start", Access::OperatorPending, post(operator::security::start)),
        r(Method::POST, "/operator/security/confirm", Access::OperatorPending, post(operator::security::confirm.layer(small_body()))),
        r(Method::GET, "/operator/second-factor", Access::OperatorPending, get(operator::security::entry_page)),
        r(Method::POST, "/operator/second-factor", Access::OperatorPending, post(operator::security::entry_post.layer(small_body()))),
        r(Method::POST, "/portal/terminals/{id}/revoke", Access::PortalAdmin, post(portal::terminals::revoke)),
        r(Method::GET, "/mailbox", Access::Public, get(|| async { axum::response::Redirect::to("/mailbox/") })),
        r(Method::GET, "/mailbox/static/{file}", Access::Public, get(mailbox::asset)),
        r(Method::GET, "/mailbox/login", Access::Public, get(mailbox::login::login_page)),
        r(Method::POST, "/mailbox/login", Access::Login, post(mailbox::login::login_post.layer(small_body()))),
        r(Method::POST, "/mailbox/logout", Access::PortalPending, post(mailbox::login::logout)),
        r(Method::GET, "/mailbox/", Access::Mailbox, get(mailbox::top::top)),
        r(Method::GET, "/mailbox/news", Access::Mailbox, get(mailbox::top::news)),
        r(Method::GET, "/mailbox/inbox", Access::Mailbox, get(mailbox::messages::inbox)),
        r(Method::GET, "/mailbox/inbox/{id}", Access::Mailbox, get(mailbox::messages::inbox_detail)),
        r(Method::POST, "/mailbox/inbox/{id}/fetch", Access::Mailbox, post(mailbox::messages::fetch_one)),
        r(Method::POST, "/mailbox/fetch-selected", Access::Mailbox, post(mailbox::messages::fetch_selected)),
        r(Method::POST, "/mailbox/fetch-all", Access::Mailbox, post(mailbox::messages::fetch_all)),
        r(Method::GET, "/mailbox/sent", Access::Mailbox, get(mailbox::messages::sent)),
        r(Method::GET, "/mailbox/sent/{id}", Access::Mailbox, get(mailbox::messages::sent_detail)),
        r(Method::GET, "/mailbox/messages/{id}/files/{idx}", Access::Mailbox, get(mailbox::messages::download)),
        r(Method::GET, "/mailbox/messages/{id}/files/{idx}/form", Access::Mailbox, get(mailbox::messages::form_view)),
        r(Method::GET, "/mailbox/compose", Access::Mailbox, get(mailbox::compose::compose_page)),
        r(Method::POST, "/mailbox/compose", Access::Mailbox, post(mailbox::compose::compose_post)),
        r(Method::POST, "/mailbox/compose/check", Access::Mailbox, post(mailbox::compose::compose_check)),
        r(Method::GET, "/mailbox/lookup", Access::Mailbox, get(mailbox::compose::lookup)),
        r(Method::GET, "/mailbox/reconcile", Access::Mailbox, get(mailbox::reconcile::reconcile)),
        r(Method::GET, "/mailbox/bulk", Access::Mailbox, get(mailbox::bulk::bulk_page)),
        r(Method::POST, "/mailbox/bulk/check", Access::Mailbox, post(mailbox::bulk::bulk_check)),
        r(Method::POST, "/mailbox/bulk/send", Access::Mailbox, post(mailbox::bulk::bulk_send)),
        r(Method::POST, "/mailbox/bulk/partner", Access::Mailbox, post(mailbox::bulk::bulk_partner)),
        r(Method::POST, "/mailbox/bulk/invited", Access::Mailbox, post(mailbox::bulk::bulk_invited.layer(small_body()))),
        r(Method::GET, "/mailbox/drafts", Access::Mailbox, get(mailbox::drafts::drafts_page)),
        r(Method::GET, "/mailbox/drafts/{id}", Access::Mailbox, get(mailbox::drafts::draft_page)),
        r(Method::POST, "/mailbox/drafts/{id}/send", Access::Mailbox, post(mailbox::compose::draft_send)),
        r(Method::POST, "/mailbox/drafts/{id}/delete", Access::Mailbox, post(mailbox::drafts::draft_delete)),
        r(Method::POST, "/mailbox/drafts/{id}/files/{idx}/delete", Access::Mailbox, post(mailbox::drafts::draft_remove_file)),
        r(Method::GET, "/healthz", Access::Public, get(|| async { "ok" })),
        r(Method::GET, "/readyz", Access::Public, get(readyz)),
        r(Method::POST, paths::ENROL, Access::Login, post(api::terminals::enrol.layer(small_body()))),
        r(Method::GET, paths::CA, Access::Public, get(api::terminals::ca_pem)),
        r(Method::POST, paths::SESSIONS, Access::TerminalLogin, post(api::sessions::login.layer(small_body()))),
        r(Method::DELETE, paths::SESSIONS, Access::TerminalAnyPassword, delete(api::sessions::logout)),
        r(Method::POST, paths::PASSWORD, Access::TerminalAnyPassword, post(api::sessions::change_password.layer(small_body()))),
        r(Method::POST, paths::ENROLMENT_CODES, Access::TerminalAdmin, post(api::terminals::new_enrolment_code)),
        r(Method::GET, "/v1/directory/{office}", Access::Terminal, get(api::directory::directory)),
        r(Method::GET, paths::OFFICE, Access::Terminal, get(api::office::office)),
        r(Method::GET, paths::STATUS, Access::Public, get(api::status::status)),
        rd(Method::POST, paths::MESSAGES, Access::TerminalSend, Scope::Send, post(api::send::send)),
        rd(Method::GET, "/v1/messages/{id}", Access::Terminal, Scope::Any, get(api::messages::message)),
        rd(Method::GET, "/v1/messages/{id}/files/{idx}", Access::Terminal, Scope::Any, get(api::messages::download)),
        rd(Method::POST, "/v1/messages/{id}/fetch", Access::Terminal, Scope::Receive, post(api::messages::fetch)),
        rd(Method::POST, "/v1/messages/{id}/open", Access::Terminal, Scope::Receive, post(api::messages::open)),
        rd(Method::POST, paths::DRAFTS, Access::Terminal, Scope::Send, post(api::drafts::create_draft)),
        rd(Method::GET, paths::DRAFTS, Access::Terminal, Scope::Send, get(api::drafts::list_drafts)),
        rd(Method::GET, "/v1/drafts/{id}", Access::Terminal, Scope::Send, get(api::drafts::get_draft)),
        rd(Method::PATCH, "/v1/drafts/{id}", Access::Terminal, Scope::Send, patch(api::drafts::update_draft)),
        rd(Method::DELETE, "/v1/drafts/{id}", Access::Terminal, Scope::Send, delete(api::drafts::delete_draft)),
        rd(Method::POST, "/v1/drafts/{id}/files", Access::Terminal, Scope::Send, post(api::drafts::add_draft_files)),
        rd(Method::DELETE, "/v1/drafts/{id}/files/{idx}", Access::Terminal, Scope::Send, delete(api::drafts::remove_draft_file)),
        rd(Method::POST, "/v1/drafts/{id}/send", Access::TerminalSend, Scope::Send, post(api::drafts::send_draft)),
        r(Method::GET, paths::NOTICES, Access::Terminal, get(api::notices::notices)),
        rd(Method::GET, paths::EVENTS, Access::Terminal, Scope::Receive, get(api::events::events)),
        rd(Method::GET, paths::INBOX, Access::Terminal, Scope::Receive, get(api::messages::inbox)),
        rd(Method::GET, paths::SENT, Access::Terminal, Scope::Send, get(api::messages::sent)),
    ]
}

/// Every route of the hub and who may call it.
pub fn routes() -> Vec<Route> {
    table().into_iter().map(|(r, _)| r).collect()
}

/// The routes.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (route, handler) in table() {
        let handler = if route.access.browser_session() && route.method == Method::POST {
            handler.layer(axum::middleware::from_fn(guard::form_token))
        } else {
            handler
        };
        let handler = match admission_of(&route) {
            Place::AtDoor => handler.layer(axum::middleware::from_fn_with_state(state.clone(), admit)),
            Place::AfterBody => handler.layer(axum::middleware::from_fn_with_state(state.clone(), refuse_when_full)),
            Place::None => handler,
        };
        router = router.route(route.path, handler);
    }
    router
        .fallback(api::extract::not_found)
        .method_not_allowed_fallback(api::extract::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.limits.max_message_bytes + 1024 * 1024))
        .layer(axum::middleware::from_fn_with_state(state.clone(), limit_logins))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::client_version))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(axum::middleware::from_fn(client_address))
        .with_state(state)
}

/// Behind a trusted load balancer, the client's address is the one its PROXY header gave
/// ([`crate::tls::PeerCert::client`]): every door (login limits, audit, event stream limits)
/// sees that address, never the balancer's.
async fn client_address(mut req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    if let Some(client) = req.extensions().get::<crate::tls::PeerCert>().and_then(|p| p.client) {
        req.extensions_mut().insert(axum::extract::ConnectInfo(client));
    }
    next.run(req).await
}

/// Where a route takes its place among the requests at work ([`crate::service::admission`]).
enum Place {
    /// Before its handler runs.
    AtDoor,
    /// In its handler, once its upload is read ([`api::send::read_form`]'s callers), so that a
    /// slow upload holds no place while it streams; refused at the door only while the hub is
    /// refusing without waiting, before the body costs anything.
    AfterBody,
    /// None: event streams are long-lived and health probes must answer under any load.
    None,
}

fn admission_of(route: &Route) -> Place {
    let never = [paths::EVENTS, "/healthz", "/readyz"];
    let after_body = [
        paths::MESSAGES,
        paths::DRAFTS,
        "/v1/drafts/{id}/files",
        "/mailbox/compose",
        "/mailbox/compose/check",
        "/mailbox/bulk/check",
        "/mailbox/bulk/send",
        "/mailbox/bulk/partner",
    ];
    if never.contains(&route.path) {
        Place::None
    } else if route.method == Method::POST && after_body.contains(&route.path) {
        Place::AfterBody
    } else {
        Place::AtDoor
    }
}

/// An upload while the hub refuses without waiting: 503 before its body is read.
async fn refuse_when_full(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if st.admission.full() { st.admission.refuse().into_response() } else { next.run(req).await }
}

/// Back pressure at the door: a place among the requests at work, or 503 with `Retry-After`.
async fn admit(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match st.admission.admit().await {
        Ok(_place) => next.run(req).await,
        Err(e) if req.uri().path().starts_with("/v1/") => e.into_response(),
        Err(e) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, e.1.unwrap_or(crate::service::admission::BUSY_RETRY_AFTER_SECONDS).to_string())],
            e.0.message,
        )
            .into_response(),
    }
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
    if req.method() == Method::POST && crate::service::logins::LOGIN_PATHS.contains(&req.uri().path()) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Err(e) = crate::service::logins::attempt(&st, ip.ip(), now).await {
            if req.uri().path().starts_with("/v1/") {
                return e.into_response();
            }
            // The portal and the console: the same words, as a plain page.
            let status = axum::http::StatusCode::from_u16(e.0.code.status()).unwrap_or(axum::http::StatusCode::SERVICE_UNAVAILABLE);
            let mut r = (status, e.0.message.clone()).into_response();
            if let Some(s) = e.1 {
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(s));
            }
            return r;
        }
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
