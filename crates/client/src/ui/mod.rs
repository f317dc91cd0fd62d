//! The local web UI (`renkei ui`): server-rendered Japanese pages (askama + htmx, vendored, works
//! offline), served on 127.0.0.1 only.
//!
//! Security: the Host header must name this listener (no DNS rebinding); every request needs the
//! cookie set by `/login?token=…` with this install's UI token (kept owner-only in the client's
//! home; `renkei ui` opens the browser with it); every state-changing request needs the per-start
//! CSRF token (htmx sends it as a header, forms as their first field, never in the URL) and, when the browser says where it
//! comes from, a same-origin `Origin`/`Sec-Fetch-Site`. Hub calls go out with the office's
//! terminal certificate and the user's hub session, so the UI can do nothing the user could not.

use crate::daemon::{BulkProgress, Daemon, OfficeRt};
use crate::hub::HubError;
use crate::outgoing::{self, Candidate, FileVerdict, Outcome, Words};
use askama::Template;
use axum::extract::{Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use renkei_protocol::{InboxQuery, MessageInfo};
use renkei_screens::office::jst_unix;
pub use renkei_screens::office::{Layout, NoticePage, jst};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

mod bulk;
mod compose;
mod drafts;
mod login;
mod messages;
mod reconcile;
mod top;

use bulk::*;
use compose::*;
pub use compose::{verdict_view, words_of};
use drafts::*;
use login::*;
use messages::*;
use reconcile::*;
pub use reconcile::{latest_sikyu, latest_slips, unit_rows};
pub use renkei_screens::office::VerdictView;
use top::*;

const COOKIE: &str = "renkei_ui";

/// The UI's shared state.
#[derive(Debug)]
pub struct Ui {
    daemon: Daemon,
    token: String,
    csrf: String,
    port: std::sync::atomic::AtomicU16,
    names: tokio::sync::Mutex<HashMap<String, String>>,
}

type S = Arc<Ui>;

pub use crate::hub::random_token;

/// The install's UI token: `<home>/ui-token`, created owner-only on first use.
pub fn ui_token(home: &std::path::Path) -> anyhow::Result<String> {
    let p = home.join("ui-token");
    if let Ok(t) = std::fs::read_to_string(&p)
        && t.trim().len() >= 32
    {
        return Ok(t.trim().to_owned());
    }
    std::fs::create_dir_all(home)?;
    let t = random_token();
    crate::profile::write_private(&p, t.as_bytes())?;
    Ok(t)
}

/// A running UI.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// The URL that logs the browser in.
    pub login_url: String,
    /// The server task.
    pub task: tokio::task::JoinHandle<()>,
}

/// Serves the UI on `listen` (must be a loopback address).
pub async fn serve(daemon: Daemon, token: String, listen: &str) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        anyhow::bail!("画面は 127.0.0.1 でだけ開けます（{addr} は使えません）");
    }
    let ui = Arc::new(Ui {
        daemon,
        token: token.clone(),
        csrf: random_token(),
        port: std::sync::atomic::AtomicU16::new(addr.port()),
        names: tokio::sync::Mutex::new(HashMap::new()),
    });
    let app = router(ui);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "ui server stopped");
        }
    });
    Ok(Running { addr, login_url: format!("http://127.0.0.1:{}/login?token={token}", addr.port()), task })
}

/// The routes.
pub fn router(ui: S) -> Router {
    let office = Router::new()
        .route("/", get(top))
        .route("/login", get(login_page).post(login_post))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(password_post))
        .route("/banner", get(banner))
        .route("/banner/seen", post(banner_seen))
        .route("/inbox", get(inbox))
        .route("/inbox/{id}", get(inbox_detail))
        .route("/inbox/{id}/fetch", post(fetch_one))
        .route("/fetch-all", post(fetch_all))
        .route("/fetch-selected", post(fetch_selected))
        .route("/sent", get(sent))
        .route("/sent/{id}", get(sent_detail))
        .route("/messages/{id}/files/{idx}", get(download))
        .route("/messages/{id}/files/{idx}/form", get(form_view))
        .route("/compose", get(compose_page).post(compose_post))
        .route("/compose/check", post(compose_check))
        .route("/lookup", get(lookup))
        .route("/drafts", get(drafts))
        .route("/drafts/{id}", get(draft_page))
        .route("/drafts/{id}/files/{idx}/delete", post(draft_remove_file))
        .route("/drafts/{id}/send", post(draft_send))
        .route("/drafts/{id}/delete", post(draft_delete))
        .route("/bulk", get(bulk_page))
        .route("/bulk/send", post(bulk_send))
        .route("/bulk/progress", get(bulk_progress))
        .route("/bulk/print", get(partner_print))
        .route("/bulk/invited", post(partner_invited))
        .route("/reconcile", get(reconcile));
    Router::new()
        .route("/", get(root))
        .route("/login", get(ui_login))
        .route("/switch", get(switch))
        .route("/static/{file}", get(static_file))
        .route("/o/{p}/", get(top))
        .nest("/o/{p}", office)
        .layer(axum::middleware::from_fn_with_state(ui.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(ui)
}

fn deny(status: StatusCode, text: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text.to_owned()).into_response()
}

/// The cookie's name carries the port: browsers share cookies between ports of one host.
fn cookie_name(port: u16) -> String {
    format!("{COOKIE}_{port}")
}

fn cookie_token(h: &HeaderMap, port: u16) -> Option<String> {
    renkei_screens::cookie::value(h.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()), &cookie_name(port))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn guard(State(ui): State<S>, mut req: Request, next: Next) -> Response {
    let port = ui.port.load(std::sync::atomic::Ordering::Relaxed);
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if host != format!("127.0.0.1:{port}") && host != format!("localhost:{port}") {
        return deny(StatusCode::MISDIRECTED_REQUEST, "この画面は http://127.0.0.1 からだけ開けます / wrong Host");
    }
    let path = req.uri().path();
    if path == "/login" || path.starts_with("/static/") {
        return next.run(req).await;
    }
    if !cookie_token(req.headers(), port).is_some_and(|t| same(&t, &ui.token)) {
        return deny(
            StatusCode::UNAUTHORIZED,
            "この画面を開くには、パソコンで「renkei ui」を実行してください（開いたブラウザーで使えます）。デモでは renkei-demo が表示したアドレスを開いてください / run `renkei ui` (or open the address renkei-demo printed)",
        );
    }
    if !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD) {
        let h = req.headers();
        let origin_ok = h.get(header::ORIGIN).and_then(|o| o.to_str().ok()).is_none_or(|o| o == format!("http://{host}"));
        let site_ok = h.get("sec-fetch-site").and_then(|o| o.to_str().ok()).is_none_or(|s| s == "same-origin");
        let header_token = h.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        // Scripts (htmx) send the token in a header; forms as their first field, never in the URL.
        let form_token = if header_token.is_none() {
            let (parts, body) = req.into_parts();
            let Ok((token, body)) = renkei_screens::form::token_and_body(&content_type, body.into_data_stream()).await else {
                return deny(StatusCode::BAD_REQUEST, "送信が途中で切れました。もう一度操作してください / incomplete request");
            };
            let body = axum::body::Body::from_stream(body);
            req = Request::from_parts(parts, body);
            token
        } else {
            None
        };
        let token_ok = header_token.or(form_token).is_some_and(|t| same(&t, &ui.csrf));
        if !(origin_ok && site_ok && token_ok) {
            return deny(StatusCode::FORBIDDEN, "画面を開き直してから、もう一度操作してください（CSRF） / CSRF check failed");
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, "DENY".parse().expect("static"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, "nosniff".parse().expect("static"));
    h.insert(header::REFERRER_POLICY, "same-origin".parse().expect("static"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'".parse().expect("static"),
    );
    h.insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    resp
}

#[derive(Deserialize)]
struct TokenQ {
    token: String,
}

async fn ui_login(State(ui): State<S>, Query(q): Query<TokenQ>) -> Response {
    if !same(&q.token, &ui.token) {
        return deny(StatusCode::FORBIDDEN, "鍵が違います。「renkei ui」で開き直してください / wrong token");
    }
    let port = ui.port.load(std::sync::atomic::Ordering::Relaxed);
    // Kept when the browser is closed (90 days): the clerk opens the bookmark the next morning.
    // The token is this install's, on 127.0.0.1 only; a new token (another install) replaces it.
    let cookie = format!("{}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}", cookie_name(port), ui.token, 90 * 24 * 3600);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

async fn root(State(ui): State<S>) -> Response {
    match ui.daemon.offices.first() {
        Some(o) => Redirect::to(&format!("/o/{}/", o.name().await)).into_response(),
        None => deny(StatusCode::NOT_FOUND, "プロファイルがありません"),
    }
}

#[derive(Deserialize)]
struct SwitchQ {
    p: String,
}

async fn switch(State(ui): State<S>, Query(q): Query<SwitchQ>) -> Response {
    match ui.daemon.office(&q.p).await {
        Some(o) => Redirect::to(&format!("/o/{}/", o.name().await)).into_response(),
        None => deny(StatusCode::NOT_FOUND, "その事業所はありません"),
    }
}

async fn static_file(Path(file): Path<String>) -> Response {
    // The office screens' files, shared with the hub's web mailbox.
    let Some((body, ctype)) = renkei_screens::office::asset(&file) else { return deny(StatusCode::NOT_FOUND, "not found") };
    ([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, "max-age=3600")], body).into_response()
}

// ---------------------------------------------------------------------------------------------
// Layout and helpers

async fn layout(ui: &Ui, o: &OfficeRt, title: &str, nav: &'static str) -> Layout {
    let p = o.profile.read().await.clone();
    let user = o.session.read().await.as_ref().map(|s| s.user_name.clone()).unwrap_or_default();
    let mut offices = Vec::new();
    for x in &ui.daemon.offices {
        let xp = x.profile.read().await;
        offices.push((xp.name.clone(), format!("{}（{}）", xp.settings.office_name, xp.settings.office)));
    }
    Layout {
        office: p.settings.office,
        office_name: p.settings.office_name,
        user,
        csrf: ui.csrf.clone(),
        offices,
        ..Layout::local(title, &p.name, nav)
    }
}

fn page<T: Template>(t: T) -> Response {
    match t.render() {
        Ok(s) => Html(s).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template");
            deny(StatusCode::INTERNAL_SERVER_ERROR, "画面を表示できません")
        }
    }
}

/// A page failure: not logged in → login page; otherwise a message page.
enum Fail {
    Login(String),
    NotFound,
    Msg(Box<Layout>, String),
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        match self {
            Fail::Login(p) => Redirect::to(&format!("/o/{p}/login")).into_response(),
            Fail::NotFound => deny(StatusCode::NOT_FOUND, "見つかりません"),
            Fail::Msg(l, text) => page(NoticePage { l: *l, text }),
        }
    }
}

async fn office(ui: &Ui, p: &str) -> Result<Arc<OfficeRt>, Fail> {
    ui.daemon.office(p).await.ok_or(Fail::NotFound)
}

/// The office, with a live hub session (else → login page; a temporary password → change it).
async fn logged_in(ui: &Ui, p: &str) -> Result<Arc<OfficeRt>, Fail> {
    let o = office(ui, p).await?;
    let s = o.session.read().await.clone();
    match s {
        None => Err(Fail::Login(p.to_owned())),
        Some(_) => Ok(o),
    }
}

async fn hub_fail(ui: &Ui, o: &OfficeRt, e: HubError, title: &str, nav: &'static str) -> Fail {
    if e.needs_login() {
        o.session_lost().await;
        return Fail::Login(o.name().await);
    }
    Fail::Msg(Box::new(layout(ui, o, title, nav).await), e.to_string())
}

async fn partner_name(ui: &Ui, o: &OfficeRt, number: &str) -> String {
    if let Some(n) = ui.names.lock().await.get(number) {
        return n.clone();
    }
    match o.client().await.directory(number).await {
        Ok(d) => {
            let n = d.name.unwrap_or_else(|| "（未登録の事業所）".into());
            ui.names.lock().await.insert(number.to_owned(), n.clone());
            n
        }
        Err(_) => String::new(),
    }
}
