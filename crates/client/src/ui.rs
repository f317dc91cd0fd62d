//! The local web UI (`renkei ui`): server-rendered Japanese pages (askama + htmx, vendored, works
//! offline), served on 127.0.0.1 only.
//!
//! Security: the Host header must name this listener (no DNS rebinding); every request needs the
//! cookie set by `/login?token=…` with this install's UI token (kept owner-only in the client's
//! home; `renkei ui` opens the browser with it); every state-changing request needs the per-start
//! CSRF token (htmx sends it as a header, forms in the query) and, when the browser says where it
//! comes from, a same-origin `Origin`/`Sec-Fetch-Site`. Hub calls go out with the office's
//! terminal certificate and the user's hub session, so the UI can do nothing the user could not.

use crate::daemon::{BulkProgress, Daemon, OfficeRt};
use crate::hub::HubError;
use crate::outgoing::{self, Candidate, FileVerdict, Outcome};
use askama::Template;
use axum::extract::{Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use futures_util::StreamExt as _;
use renkei_protocol::{DeliveryState, InboxQuery, MessageInfo};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

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

/// A random token (hex, 256 bits).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::fill(&mut b);
    crate::hub::hex(&b)
}

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
        .route("/sent", get(sent))
        .route("/sent/{id}", get(sent_detail))
        .route("/messages/{id}/files/{idx}", get(download))
        .route("/compose", get(compose_page).post(compose_post))
        .route("/compose/check", post(compose_check))
        .route("/lookup", get(lookup))
        .route("/drafts", get(drafts))
        .route("/drafts/{id}/send", post(draft_send))
        .route("/drafts/{id}/delete", post(draft_delete))
        .route("/bulk", get(bulk_page))
        .route("/bulk/send", post(bulk_send))
        .route("/bulk/progress", get(bulk_progress))
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
    let name = cookie_name(port);
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
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
            "この画面を開くには、パソコンで「renkei ui」を実行してください（開いたブラウザーで使えます） / run `renkei ui`",
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
            let mut rest = body.into_data_stream();
            let Ok((token, head)) = renkei_screens::form::read_leading_token(&content_type, &mut rest).await else {
                return deny(StatusCode::BAD_REQUEST, "送信が途中で切れました。もう一度操作してください / incomplete request");
            };
            let body = axum::body::Body::from_stream(futures_util::stream::once(async move { Ok::<_, axum::Error>(head) }).chain(rest));
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
    let cookie = format!("{}={}; HttpOnly; SameSite=Strict; Path=/", cookie_name(port), ui.token);
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
    let (body, ctype): (&'static [u8], &str) = match file.as_str() {
        "htmx.min.js" => (include_bytes!("../static/htmx.min.js"), "text/javascript; charset=utf-8"),
        "app.js" => (include_bytes!("../static/app.js"), "text/javascript; charset=utf-8"),
        "app.css" => (include_bytes!("../static/app.css"), "text/css; charset=utf-8"),
        _ => return deny(StatusCode::NOT_FOUND, "not found"),
    };
    ([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, "max-age=3600")], body).into_response()
}

// ---------------------------------------------------------------------------------------------
// Layout and helpers

/// What every page shows around its content.
#[derive(Debug, Clone)]
pub struct Layout {
    title: String,
    profile: String,
    office: String,
    office_name: String,
    user: String,
    csrf: String,
    nav: &'static str,
    offices: Vec<(String, String)>,
}

async fn layout(ui: &Ui, o: &OfficeRt, title: &str, nav: &'static str) -> Layout {
    let p = o.profile.read().await.clone();
    let user = o.session.read().await.as_ref().map(|s| s.user_name.clone()).unwrap_or_default();
    let mut offices = Vec::new();
    for x in &ui.daemon.offices {
        let xp = x.profile.read().await;
        offices.push((xp.name.clone(), format!("{}（{}）", xp.settings.office_name, xp.settings.office)));
    }
    Layout {
        title: title.to_owned(),
        profile: p.name,
        office: p.settings.office,
        office_name: p.settings.office_name,
        user,
        csrf: ui.csrf.clone(),
        nav,
        offices,
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
    Msg(Layout, String),
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        match self {
            Fail::Login(p) => Redirect::to(&format!("/o/{p}/login")).into_response(),
            Fail::NotFound => deny(StatusCode::NOT_FOUND, "見つかりません"),
            Fail::Msg(l, text) => page(NoticeT { l, text }),
        }
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticeT {
    l: Layout,
    text: String,
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
    Fail::Msg(layout(ui, o, title, nav).await, e.to_string())
}

/// 2025-06-01T01:00:00Z → 2025/06/01 10:00 (JST).
pub fn jst(rfc3339: &str) -> String {
    let Ok(t) = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339) else { return rfc3339.to_owned() };
    let t = t.to_offset(time::macros::offset!(+9));
    format!("{}/{:02}/{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

fn jst_unix(s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(s)
        .map(|t| {
            let t = t.to_offset(time::macros::offset!(+9));
            format!("{}/{:02}/{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
        })
        .unwrap_or_default()
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

fn size(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MB", n as f64 / 1048576.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Login

#[derive(Template)]
#[template(path = "login.html")]
struct LoginT {
    l: Layout,
    error: Option<String>,
    login: String,
}

async fn login_page(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    let login = o.profile.read().await.settings.login.clone();
    Ok(page(LoginT { l: layout(&ui, &o, "ログイン", "").await, error: None, login }))
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
}

async fn login_post(State(ui): State<S>, Path(p): Path<String>, Form(f): Form<LoginForm>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    match o.login(f.login.trim(), &f.password).await {
        Ok(s) if s.must_change_password => Ok(Redirect::to(&format!("/o/{p}/password")).into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/o/{p}/")).into_response()),
        Err(e) => Ok(page(LoginT { l: layout(&ui, &o, "ログイン", "").await, error: Some(e.to_string()), login: f.login })),
    }
}

async fn logout(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    o.logout().await;
    Ok(Redirect::to(&format!("/o/{p}/login")).into_response())
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordT {
    l: Layout,
    error: Option<String>,
}

async fn password_page(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    Ok(page(PasswordT { l: layout(&ui, &o, "パスワードの変更", "").await, error: None }))
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    again: String,
}

async fn password_post(State(ui): State<S>, Path(p): Path<String>, Form(f): Form<PasswordForm>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let err = if f.new != f.again {
        Some("新しいパスワードが2回とも同じではありません".to_owned())
    } else {
        o.client().await.change_password(&f.current, &f.new).await.err().map(|e| e.to_string())
    };
    match err {
        None => {
            let login = o.session.read().await.as_ref().map(|s| s.login.clone()).unwrap_or_default();
            o.logout().await;
            let _ = o.login(&login, &f.new).await;
            Ok(Redirect::to(&format!("/o/{p}/")).into_response())
        }
        Some(e) => Ok(page(PasswordT { l: layout(&ui, &o, "パスワードの変更", "").await, error: Some(e) })),
    }
}

// ---------------------------------------------------------------------------------------------
// トップ and the banner

#[derive(Template)]
#[template(path = "top.html")]
struct TopT {
    l: Layout,
    live: bool,
    unread: usize,
    watch: String,
    import_dir: String,
    warnings: Vec<String>,
    notices: Vec<(String, String, String)>,
    notes: Vec<(String, String, String)>,
}

async fn top(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    if o.session.read().await.as_ref().is_some_and(|s| s.must_change_password) {
        return Ok(Redirect::to(&format!("/o/{p}/password")).into_response());
    }
    let hub = o.client().await;
    let prof = o.profile.read().await.clone();
    let unread = match hub.all(false, InboxQuery { status: Some("not_fetched".into()), ..InboxQuery::default() }).await {
        Ok(v) => v.len(),
        Err(e) => return Err(hub_fail(&ui, &o, e, "トップ", "top").await),
    };
    let mut warnings = Vec::new();
    match crate::profile::certificate_days_left(&prof.dir) {
        Some(d) if d < 0 => warnings.push("この端末の電子証明書は有効期限が切れています。管理者に再登録を依頼してください".into()),
        Some(d) if d <= 30 => warnings.push(format!("この端末の電子証明書はあと {d} 日で有効期限が切れます。早めに更新してください")),
        _ => {}
    }
    if let Ok(d) = hub.directory(&prof.settings.office).await
        && !d.license_valid
    {
        warnings.push("この事業所のライセンスが有効ではありません。送受信できなくなります。ポータルで更新してください".into());
    }
    if let Some(s) = o.session.read().await.as_ref()
        && let Some(exp) = s
            .password_expires_at
            .as_deref()
            .and_then(|e| time::OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).ok())
    {
        let days = (exp - time::OffsetDateTime::now_utc()).whole_days();
        if days <= 14 {
            warnings.push(format!("パスワードの有効期限まであと {} 日です。早めに変更してください", days.max(0)));
        }
    }
    if let Some(s) = o.session.read().await.as_ref() {
        warnings.extend(
            time::OffsetDateTime::parse(&s.expires_at, &time::format_description::well_known::Rfc3339)
                .ok()
                .filter(|e| (*e - time::OffsetDateTime::now_utc()).whole_minutes() < 30)
                .map(|_| "まもなくログインの有効期限が切れます。作業を保存してください".to_owned()),
        );
    }
    let notices = hub.notices().await.unwrap_or_default().into_iter().map(|n| (jst(&n.published_at), n.title, n.body)).collect();
    let notes = o.state.notifications(false, 10).await.unwrap_or_default().into_iter().map(|n| (jst_unix(n.at), n.title, n.body)).collect();
    let watch = match (&prof.settings.export_dir, prof.settings.watch) {
        (Some(d), true) => {
            format!("{}（{}）", d.display(), if prof.settings.auto_send { "正しいファイルは自動で送信" } else { "確認してから送信" })
        }
        (Some(d), false) => format!("{}（監視していません）", d.display()),
        _ => "設定されていません".into(),
    };
    Ok(page(TopT {
        l: layout(&ui, &o, "トップ", "top").await,
        live: o.live.load(std::sync::atomic::Ordering::Relaxed),
        unread,
        watch,
        import_dir: prof.import_dir().display().to_string(),
        warnings,
        notices,
        notes,
    }))
}

#[derive(Template)]
#[template(path = "banner.html")]
struct BannerT {
    profile: String,
    count: usize,
    title: String,
    body: String,
    upto: i64,
}

async fn banner(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    let n = o.state.notifications(true, 50).await.unwrap_or_default();
    let first = n.first().cloned();
    Ok(page(BannerT {
        profile: p,
        count: n.len(),
        title: first.as_ref().map(|x| x.title.clone()).unwrap_or_default(),
        body: first.as_ref().map(|x| x.body.clone()).unwrap_or_default(),
        upto: first.map(|x| x.id).unwrap_or_default(),
    }))
}

#[derive(Deserialize)]
struct UptoQ {
    upto: i64,
}

async fn banner_seen(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<UptoQ>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    let _ = o.state.seen(q.upto).await;
    Ok(Html(String::new()).into_response())
}

// ---------------------------------------------------------------------------------------------
// 受信一覧 / 送信一覧 and details

#[derive(Debug, Default, Deserialize)]
struct ListQ {
    #[serde(default)]
    partner: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
}

struct Row {
    id: String,
    when: String,
    partner: String,
    partner_name: String,
    files: String,
    note: String,
    state: String,
    state_class: &'static str,
    new: bool,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListT {
    l: Layout,
    sent: bool,
    f: ListQ,
    kinds: Vec<(String, String)>,
    rows: Vec<Row>,
    message: Option<String>,
}

fn state_class(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::NotFetched => "not_fetched",
        DeliveryState::Fetched => "fetched",
        DeliveryState::Opened => "opened",
        DeliveryState::Expired => "expired",
    }
}

/// The sender's view: 開封 implies 取得, so both are shown.
fn sent_state(m: &MessageInfo) -> String {
    match (m.state, m.fetched_at.is_some()) {
        (DeliveryState::Opened, true) => "取得済・開封済".into(),
        (s, _) => s.label_ja().into(),
    }
}

fn kinds() -> Vec<(String, String)> {
    renkei_spec::name::FileKind::ALL.iter().map(|k| (k.prefix().to_owned(), format!("{}（{}）", k.name_ja(), k.prefix()))).collect()
}

async fn list(ui: &Ui, p: &str, sent: bool, f: ListQ, message: Option<String>) -> Result<Response, Fail> {
    let o = logged_in(ui, p).await?;
    let (title, nav) = if sent { ("送信一覧", "sent") } else { ("受信一覧", "inbox") };
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let q = InboxQuery {
        sender: some(&f.partner),
        month: some(&f.month),
        kind: some(&f.kind),
        status: some(&f.status),
        ..InboxQuery::default()
    };
    let hub = o.client().await;
    let msgs = match if sent { hub.sent(&q).await } else { hub.inbox(&q).await } {
        Ok(pg) => pg.messages,
        Err(e) => return Err(hub_fail(ui, &o, e, title, nav).await),
    };
    let viewed = o.state.viewed(&msgs.iter().map(|m| m.id.clone()).collect::<Vec<_>>()).await.unwrap_or_default();
    let mut rows = Vec::new();
    for m in msgs {
        let partner = if sent { m.recipient.clone() } else { m.sender.clone() };
        let partner_name = partner_name(ui, &o, &partner).await;
        let mut files: Vec<String> = m.files.iter().map(|x| x.name.clone()).collect();
        if files.len() > 3 {
            let more = files.len() - 3;
            files.truncate(3);
            files.push(format!("ほか {more} 件"));
        }
        let state = if sent {
            sent_state(&m)
        } else {
            match m.state {
                DeliveryState::NotFetched => "未取得".into(),
                DeliveryState::Expired => "期限切れ".into(),
                _ => "取得済".into(),
            }
        };
        rows.push(Row {
            new: !sent && !viewed.contains(&m.id) && m.state == DeliveryState::NotFetched,
            id: m.id,
            when: jst(&m.sent_at),
            partner,
            partner_name,
            files: if files.is_empty() { "（ファイルなし）".into() } else { files.join("、") },
            note: m.note.chars().take(60).collect(),
            state,
            state_class: state_class(m.state),
        });
    }
    Ok(page(ListT { l: layout(ui, &o, title, nav).await, sent, f, kinds: kinds(), rows, message }))
}

async fn inbox(State(ui): State<S>, Path(p): Path<String>, Query(f): Query<ListQ>) -> Result<Response, Fail> {
    list(&ui, &p, false, f, None).await
}

async fn sent(State(ui): State<S>, Path(p): Path<String>, Query(f): Query<ListQ>) -> Result<Response, Fail> {
    list(&ui, &p, true, f, None).await
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessageT {
    l: Layout,
    sent: bool,
    id: String,
    partner: String,
    partner_name: String,
    when: String,
    state: String,
    note: String,
    files: Vec<(u32, String, String, String, String)>,
    import_dir: String,
    flash: Option<String>,
    error: Option<String>,
}

async fn detail(ui: &Ui, p: &str, id: &str, sent: bool, flash: Option<String>, error: Option<String>) -> Result<Response, Fail> {
    let o = logged_in(ui, p).await?;
    let (title, nav) = if sent { ("送信詳細", "sent") } else { ("受信詳細", "inbox") };
    let hub = o.client().await;
    let m: MessageInfo = match hub.message(id).await {
        Ok(m) => m,
        Err(e) => return Err(hub_fail(ui, &o, e, title, nav).await),
    };
    if !sent {
        let _ = o.state.view(id).await;
        if m.opened_at.is_none() {
            let _ = hub.opened(id).await;
        }
    }
    let partner = if sent { m.recipient.clone() } else { m.sender.clone() };
    let kinds: HashMap<String, &'static str> =
        renkei_spec::name::FileKind::ALL.iter().map(|k| (k.prefix().to_owned(), k.name_ja())).collect();
    let files = m
        .files
        .iter()
        .map(|f| {
            let kind = f.kind.as_deref().map(|k| kinds.get(k).copied().unwrap_or(k).to_owned()).unwrap_or_else(|| "添付ファイル".into());
            (f.index, f.name.clone(), kind, f.service_month.clone().unwrap_or_default(), size(f.size))
        })
        .collect();
    let state = if sent {
        let mut s = sent_state(&m);
        if let Some(t) = &m.fetched_at {
            s.push_str(&format!("（取得 {}）", jst(t)));
        }
        s
    } else if m.fetched_at.is_some() {
        format!("取得済（{}）", jst(m.fetched_at.as_deref().unwrap_or_default()))
    } else {
        "未取得".into()
    };
    Ok(page(MessageT {
        l: layout(ui, &o, title, nav).await,
        sent,
        id: m.id.clone(),
        partner_name: partner_name(ui, &o, &partner).await,
        partner,
        when: jst(&m.sent_at),
        state,
        note: m.note.clone(),
        files,
        import_dir: o.profile.read().await.import_dir().display().to_string(),
        flash,
        error,
    }))
}

async fn inbox_detail(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    detail(&ui, &p, &id, false, None, None).await
}

async fn sent_detail(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    detail(&ui, &p, &id, true, None, None).await
}

async fn fetch_one(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let hub = o.client().await;
    let prof = o.profile.read().await.clone();
    let m = match hub.message(&id).await {
        Ok(m) => m,
        Err(e) => return Err(hub_fail(&ui, &o, e, "受信詳細", "inbox").await),
    };
    match crate::incoming::fetch_message(&hub, &m, &prof.import_dir(), prof.settings.split_by_kind).await {
        Ok(saved) => {
            let dirs: std::collections::BTreeSet<String> =
                saved.iter().filter_map(|s| s.path.parent().map(|d| d.display().to_string())).collect();
            let msg = format!("{} 件のファイルを取得しました（保存先: {}）", saved.len(), dirs.into_iter().collect::<Vec<_>>().join("、"));
            detail(&ui, &p, &id, false, Some(msg), None).await
        }
        Err(e) => detail(&ui, &p, &id, false, None, Some(e.to_string())).await,
    }
}

async fn fetch_all(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let hub = o.client().await;
    let prof = o.profile.read().await.clone();
    let msg = match crate::incoming::fetch_all(&hub, &prof.import_dir(), prof.settings.split_by_kind, None).await {
        Ok(r) => {
            let mut m = format!("一括取得: {} 件のファイルを {} に保存しました", r.saved.len(), prof.import_dir().display());
            for (id, why) in &r.failed {
                m.push_str(&format!("／{id} は取得できませんでした: {why}"));
            }
            m
        }
        Err(e) => return Err(hub_fail(&ui, &o, e, "受信一覧", "inbox").await),
    };
    list(&ui, &p, false, ListQ::default(), Some(msg)).await
}

async fn download(State(ui): State<S>, Path((p, id, idx)): Path<(String, String, u32)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let hub = o.client().await;
    let m = hub.message(&id).await.map_err(|_| Fail::NotFound)?;
    let f = m.files.iter().find(|f| f.index == idx).ok_or(Fail::NotFound)?;
    let d = match hub.download(&id, idx).await {
        Ok(d) => d,
        Err(e) => return Err(hub_fail(&ui, &o, e, "ダウンロード", "inbox").await),
    };
    // RFC 5987 file name (Japanese names survive).
    let enc: String = f
        .name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"._-".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename*=UTF-8''{enc}")),
        ],
        d.bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// 新規作成

const PURPOSES: [(&str, &str); 4] = [
    ("free", "通常の送信・自由記入"),
    ("no_use", "今月利用なし"),
    ("over_limit", "区分支給限度額超過の連絡"),
    ("plan_change", "計画変更の連絡"),
];

#[derive(Template)]
#[template(path = "compose.html")]
struct ComposeT {
    l: Layout,
    to: String,
    purpose: String,
    purposes: Vec<(String, String)>,
    month: String,
    subject: String,
    note: String,
    error: Option<String>,
    flash: Option<String>,
}

#[derive(Debug, Default)]
struct ComposeForm {
    to: String,
    purpose: String,
    month: String,
    subject: String,
    note: String,
    action: String,
    files: Vec<Candidate>,
}

async fn read_compose(mut mp: Multipart) -> Result<ComposeForm, String> {
    let mut f = ComposeForm::default();
    while let Some(field) = mp.next_field().await.map_err(|e| format!("送信内容を読めません: {e}"))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let fname = field.file_name().unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|e| format!("ファイルを読めません: {e}"))?;
            if fname.is_empty() && bytes.is_empty() {
                continue;
            }
            if crate::archive::is_zip(&bytes) && fname.to_ascii_lowercase().ends_with(".zip") {
                let entries = crate::archive::extract(&bytes, crate::archive::Limits::default()).map_err(|e| format!("{fname}: {e}"))?;
                f.files.extend(entries.into_iter().map(|(n, b)| Candidate {
                    source: format!("{fname}!{n}"),
                    name: n,
                    bytes: b,
                    path: None,
                }));
            } else {
                f.files.push(Candidate { source: fname.clone(), name: fname, bytes: bytes.to_vec(), path: None });
            }
            continue;
        }
        let v = field.text().await.map_err(|e| format!("送信内容を読めません: {e}"))?;
        match name.as_str() {
            "to" => f.to = v.trim().to_owned(),
            "purpose" => f.purpose = v,
            "month" => f.month = v.trim().to_owned(),
            "subject" => f.subject = v.trim().to_owned(),
            "note" => f.note = v,
            "action" => f.action = v,
            _ => {}
        }
    }
    Ok(f)
}

/// The message text for a structured purpose: a fixed first line, so the partner (and any care
/// software reading notes) sees what it is about, then the clerk's own words.
pub fn structured_note(purpose: &str, month: &str, subject: &str, note: &str) -> Result<String, String> {
    let label = PURPOSES.iter().find(|(v, _)| *v == purpose).map(|(_, l)| *l);
    let Some(label) = label.filter(|_| purpose != "free") else { return Ok(note.to_owned()) };
    let ym = if month.is_empty() {
        String::new()
    } else {
        let ok = month.len() == 6 && month.bytes().all(|b| b.is_ascii_digit()) && (1..=12).contains(&month[4..].parse::<u8>().unwrap_or(0));
        if !ok {
            return Err(format!("対象年月「{month}」は西暦の年と月の6桁（例: 202506）で入れてください"));
        }
        format!(" {}年{}月分", &month[..4], month[4..].trim_start_matches('0'))
    };
    if matches!(purpose, "no_use" | "over_limit") && ym.is_empty() {
        return Err(format!("「{label}」には対象年月を入れてください"));
    }
    let mut s = format!("【{label}】{ym}");
    if !subject.is_empty() {
        s.push_str(&format!(" 利用者: {subject}"));
    }
    if !note.trim().is_empty() {
        s.push('\n');
        s.push_str(note.trim());
    }
    Ok(s)
}

async fn compose_page(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    Ok(page(ComposeT {
        l: layout(&ui, &o, "新規作成", "compose").await,
        to: String::new(),
        purpose: "free".into(),
        purposes: PURPOSES.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect(),
        month: String::new(),
        subject: String::new(),
        note: String::new(),
        error: None,
        flash: None,
    }))
}

#[derive(Template)]
#[template(path = "verdicts.html")]
struct VerdictsT {
    files: Vec<VerdictView>,
}

/// One file's verdict for the screens.
#[derive(Debug, Clone)]
pub struct VerdictView {
    name: String,
    ok: bool,
    to: String,
    errors: Vec<String>,
    warnings: Vec<String>,
}

impl From<&FileVerdict> for VerdictView {
    fn from(v: &FileVerdict) -> VerdictView {
        VerdictView {
            name: v.name.clone(),
            ok: v.ok(),
            to: v.to.clone().unwrap_or_default(),
            errors: v.errors.clone(),
            warnings: v.warnings.clone(),
        }
    }
}

async fn compose_check(State(ui): State<S>, Path(p): Path<String>, mp: Multipart) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let office = o.profile.read().await.settings.office.clone();
    let f = match read_compose(mp).await {
        Ok(f) => f,
        Err(e) => return Ok(Html(format!("<p class=\"error\">{}</p>", askama_escape(&e))).into_response()),
    };
    let to = (!f.to.is_empty()).then_some(f.to.as_str());
    let plan = outgoing::plan(&office, to, f.files, vec![]);
    Ok(page(VerdictsT { files: plan.verdicts.iter().map(VerdictView::from).collect() }))
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn compose_post(State(ui): State<S>, Path(p): Path<String>, mp: Multipart) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let office = o.profile.read().await.settings.office.clone();
    let l = layout(&ui, &o, "新規作成", "compose").await;
    let purposes: Vec<(String, String)> = PURPOSES.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    let f = match read_compose(mp).await {
        Ok(f) => f,
        Err(e) => return Err(Fail::Msg(l, e)),
    };
    let again = |error: Option<String>, flash: Option<String>, f: &ComposeForm| ComposeT {
        l: l.clone(),
        to: f.to.clone(),
        purpose: if f.purpose.is_empty() { "free".into() } else { f.purpose.clone() },
        purposes: purposes.clone(),
        month: f.month.clone(),
        subject: f.subject.clone(),
        note: f.note.clone(),
        error,
        flash,
    };
    if renkei_spec::ids::OfficeNumber::parse(&f.to, false).is_err() {
        return Ok(page(again(Some(format!("送信先の事業所番号「{}」が正しくありません（10桁、チェックデジット付き）", f.to)), None, &f)));
    }
    let note = match structured_note(&f.purpose, &f.month, &f.subject, &f.note) {
        Ok(n) => n,
        Err(e) => return Ok(page(again(Some(e), None, &f))),
    };
    if note.trim().is_empty() && f.files.is_empty() {
        return Ok(page(again(Some("ファイルを選ぶか、メッセージを書いてください".into()), None, &f)));
    }
    let plan = outgoing::plan(&office, Some(&f.to), f.files.clone(), vec![]);
    let bad: Vec<String> = plan.verdicts.iter().filter(|v| !v.ok()).map(|v| format!("{}: {}", v.name, v.errors.join(" / "))).collect();
    if !bad.is_empty() {
        return Ok(page(again(Some(format!("送信できないファイルがあります。直してから送ってください。\n{}", bad.join("\n"))), None, &f)));
    }
    let files: Vec<crate::hub::OutFile> =
        f.files.iter().map(|c| crate::hub::OutFile { name: c.name.clone(), bytes: c.bytes.clone() }).collect();
    let hub = o.client().await;
    if f.action == "draft" {
        return match hub.create_draft(&f.to, &note, &files).await {
            Ok(_) => Ok(Redirect::to(&format!("/o/{p}/drafts")).into_response()),
            Err(e) => Ok(page(again(Some(e.to_string()), None, &f))),
        };
    }
    match outgoing::send_one(&hub, &o.state, &office, &f.to, &note, files, false).await {
        Ok(Outcome::Sent { id }) | Ok(Outcome::AlreadySent { id }) => Ok(Redirect::to(&format!("/o/{p}/sent/{id}")).into_response()),
        Ok(Outcome::Failed { reason, .. }) => Ok(page(again(Some(reason), None, &f))),
        Err(e) => Ok(page(again(Some(format!("送信記録を保存できません: {e}")), None, &f))),
    }
}

#[derive(Deserialize)]
struct LookupQ {
    #[serde(default)]
    to: String,
}

async fn lookup(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<LookupQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let to = q.to.trim();
    if to.is_empty() {
        return Ok(Html(String::new()).into_response());
    }
    let html = match renkei_spec::ids::OfficeNumber::parse(to, false) {
        Err(e) if to.len() >= 10 => format!("<span class=\"error\">{}</span>", askama_escape(&e.ja)),
        Err(_) => String::new(),
        Ok(n) => match o.client().await.directory(&n.to_string()).await {
            Ok(d) if d.registered && d.license_valid => {
                format!("<span class=\"ok\" id=\"to-ok\">送信先: {}</span>", askama_escape(&d.name.unwrap_or_default()))
            }
            Ok(d) if d.registered => format!(
                "<span class=\"warn\">{} はライセンスが有効でないため受け取れません</span>",
                askama_escape(&d.name.unwrap_or_default())
            ),
            Ok(_) => "<span class=\"error\">入力された番号はケアプランデータ連携システムに対応していません</span>".into(),
            Err(e) => format!("<span class=\"error\">{}</span>", askama_escape(&e.to_string())),
        },
    };
    Ok(Html(html).into_response())
}

// ---------------------------------------------------------------------------------------------
// 下書き一覧

struct DraftRow {
    id: String,
    when: String,
    to: String,
    files: String,
    note: String,
    by: String,
}

#[derive(Template)]
#[template(path = "drafts.html")]
struct DraftsT {
    l: Layout,
    rows: Vec<DraftRow>,
    flash: Option<String>,
}

async fn drafts_page(ui: &Ui, p: &str, flash: Option<String>) -> Result<Response, Fail> {
    let o = logged_in(ui, p).await?;
    let list = match o.client().await.drafts().await {
        Ok(l) => l,
        Err(e) => return Err(hub_fail(ui, &o, e, "下書き一覧", "drafts").await),
    };
    let mut rows = Vec::new();
    for d in list {
        let to =
            if d.to.is_empty() { "（未入力）".to_owned() } else { format!("{}（{}）", partner_name(ui, &o, &d.to).await, d.to) };
        rows.push(DraftRow {
            id: d.id,
            when: jst(&d.updated_at),
            to,
            files: d.files.iter().map(|f| f.name.clone()).collect::<Vec<_>>().join("、"),
            note: d.note.chars().take(60).collect(),
            by: d.updated_by,
        });
    }
    Ok(page(DraftsT { l: layout(ui, &o, "下書き一覧", "drafts").await, rows, flash }))
}

async fn drafts(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    drafts_page(&ui, &p, None).await
}

async fn draft_send(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    match o.client().await.send_draft(&id, &format!("draft-{id}")).await {
        Ok(r) => Ok(Redirect::to(&format!("/o/{p}/sent/{}", r.message.id)).into_response()),
        Err(e) => drafts_page(&ui, &p, Some(format!("送信できませんでした: {e}"))).await,
    }
}

async fn draft_delete(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let msg = match o.client().await.delete_draft(&id).await {
        Ok(()) => "下書きを削除しました".to_owned(),
        Err(e) => e.to_string(),
    };
    drafts_page(&ui, &p, Some(msg)).await
}

// ---------------------------------------------------------------------------------------------
// 一括送信

struct GroupView {
    to: String,
    to_name: String,
    sendable: usize,
    held: usize,
    units: String,
    files: Vec<VerdictView>,
}

#[derive(Template)]
#[template(path = "bulk.html")]
struct BulkT {
    l: Layout,
    folder: String,
    groups: Vec<GroupView>,
    others: Vec<VerdictView>,
    unreadable: Vec<String>,
    sendable: usize,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct FolderQ {
    #[serde(default)]
    folder: String,
}

async fn bulk_page(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<FolderQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let prof = o.profile.read().await.clone();
    let folder = if q.folder.trim().is_empty() {
        prof.settings.export_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default()
    } else {
        q.folder.trim().to_owned()
    };
    let l = layout(&ui, &o, "一括送信", "bulk").await;
    let mut t = BulkT { l, folder: folder.clone(), groups: vec![], others: vec![], unreadable: vec![], sendable: 0, error: None };
    if folder.is_empty() {
        t.error = Some("送信するファイルのあるフォルダーを入れてください".into());
        return Ok(page(t));
    }
    let dir = std::path::PathBuf::from(&folder);
    if !dir.is_dir() {
        t.error = Some(format!("フォルダー「{folder}」が見つかりません"));
        return Ok(page(t));
    }
    let (cands, unreadable) = outgoing::collect(std::slice::from_ref(&dir));
    let plan = outgoing::plan(&prof.settings.office, None, cands, unreadable);
    for g in &plan.groups {
        let mut files: Vec<VerdictView> = g.files.iter().map(|&i| VerdictView::from(&plan.verdicts[i])).collect();
        files.extend(g.held.iter().map(|&i| VerdictView::from(&plan.verdicts[i])));
        t.sendable += g.files.len();
        t.groups.push(GroupView {
            to_name: partner_name(&ui, &o, &g.to).await,
            to: g.to.clone(),
            sendable: g.files.len(),
            held: g.held.len(),
            units: g.units.join("、"),
            files,
        });
    }
    t.others = plan.unassigned.iter().map(|&i| VerdictView::from(&plan.verdicts[i])).collect();
    t.unreadable = plan.unreadable.iter().map(|u| format!("{}: {}", u.source, u.reason)).collect();
    Ok(page(t))
}

#[derive(Template)]
#[template(path = "progress.html")]
struct ProgressT {
    profile: String,
    p: BulkProgress,
}

async fn bulk_send(State(ui): State<S>, Path(p): Path<String>, Form(q): Form<FolderQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let prof = o.profile.read().await.clone();
    let dir = std::path::PathBuf::from(q.folder.trim());
    let (cands, unreadable) = outgoing::collect(std::slice::from_ref(&dir));
    let plan = outgoing::plan(&prof.settings.office, None, cands, unreadable);
    let groups: Vec<_> = plan.groups.iter().filter(|g| !g.files.is_empty()).cloned().collect();
    *o.bulk.lock().await = BulkProgress { total: groups.len(), ..BulkProgress::default() };
    let is_export = prof.settings.export_dir.as_ref().is_some_and(|e| e == &dir);
    let o2 = o.clone();
    tokio::spawn(async move {
        let hub = o2.client().await;
        for g in groups {
            let r = outgoing::send_one(&hub, &o2.state, &prof.settings.office, &g.to, "", outgoing::group_files(&plan, &g), false).await;
            let (text, ok) = match r {
                Ok(Outcome::Sent { .. }) => (format!("{} ファイルを送信しました", g.files.len()), true),
                Ok(Outcome::AlreadySent { .. }) => ("送信済みです（二重には送りません）".to_owned(), true),
                Ok(Outcome::Failed { reason, .. }) => (reason, false),
                Err(e) => (format!("送信記録を保存できません: {e}"), false),
            };
            if ok && is_export {
                let date = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
                let to = dir.join(crate::watch::SENT_DIR).join(format!("{}{:02}{:02}", date.year(), u8::from(date.month()), date.day()));
                let mut paths: Vec<_> = g.files.iter().filter_map(|&i| plan.files[i].path.clone()).collect();
                paths.dedup();
                for path in paths {
                    let _ = crate::watch::move_into(&path, &to);
                }
            }
            let mut b = o2.bulk.lock().await;
            b.done += 1;
            b.lines.push((g.to.clone(), text, ok));
        }
        o2.bulk.lock().await.finished = true;
    });
    let p2 = o.bulk.lock().await.clone();
    Ok(page(ProgressT { profile: p, p: p2 }))
}

async fn bulk_progress(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let b = o.bulk.lock().await.clone();
    Ok(page(ProgressT { profile: p, p: b }))
}

// ---------------------------------------------------------------------------------------------
// 予実突合

struct DiffRow {
    kind: &'static str,
    class: &'static str,
    insured: String,
    date: String,
    code: String,
    plan: String,
    actual: String,
}

#[derive(Template)]
#[template(path = "reconcile.html")]
struct ReconcileT {
    l: Layout,
    month: String,
    partner: String,
    summary: Option<String>,
    rows: Vec<DiffRow>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct ReconcileQ {
    #[serde(default)]
    month: String,
    #[serde(default)]
    partner: String,
}

fn line_text(l: &Option<renkei_spec::reconcile::SlipLine>) -> String {
    l.as_ref().map(|l| format!("{}–{} {}回", hhmm(&l.start), hhmm(&l.end), l.count)).unwrap_or_else(|| "—".into())
}

fn hhmm(s: &str) -> String {
    if s == "9999" || s.len() != 4 { "時間なし".into() } else { format!("{}:{}", &s[..2], &s[2..]) }
}

/// The newest file of `kind` for `month` exchanged with `partner` (sent or received), parsed.
pub async fn latest_slips(
    hub: &crate::hub::HubClient,
    sent: bool,
    partner: &str,
    kind: &str,
    month: &str,
) -> Result<Option<Vec<renkei_spec::validate::Located<renkei_spec::records::Slip>>>, HubError> {
    let q = InboxQuery { sender: Some(partner.into()), kind: Some(kind.into()), month: Some(month.into()), ..InboxQuery::default() };
    let mut msgs = hub.all(sent, q).await?;
    msgs.sort_by(|a, b| b.sent_at.cmp(&a.sent_at));
    for m in msgs {
        let Some(f) = m.files.iter().find(|f| f.kind.as_deref() == Some(kind) && f.service_month.as_deref() == Some(month)) else {
            continue;
        };
        let d = hub.download(&m.id, f.index).await?;
        let rep = renkei_spec::validate::check_file(&f.name, &d.bytes);
        if let Some(renkei_spec::validate::Records::Plan(v) | renkei_spec::validate::Records::Jsk(v)) = rep.records {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

async fn reconcile(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<ReconcileQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let l = layout(&ui, &o, "予実突合", "reconcile").await;
    let mut t =
        ReconcileT { l, month: q.month.trim().to_owned(), partner: q.partner.trim().to_owned(), summary: None, rows: vec![], error: None };
    if t.month.is_empty() || t.partner.is_empty() {
        return Ok(page(t));
    }
    let hub = o.client().await;
    let plan = latest_slips(&hub, true, &t.partner, "UPPLAN", &t.month).await;
    let actual = latest_slips(&hub, false, &t.partner, "UPJSK", &t.month).await;
    let (plan, actual) = match (plan, actual) {
        (Ok(Some(p)), Ok(Some(a))) => (p, a),
        (Err(e), _) | (_, Err(e)) => return Err(hub_fail(&ui, &o, e, "予実突合", "reconcile").await),
        (Ok(None), _) => {
            t.error = Some(format!("{} 分の提供票（予定）を {} へ送った記録がありません", t.month, t.partner));
            return Ok(page(t));
        }
        (_, Ok(None)) => {
            t.error = Some(format!("{} 分の提供票（実績）を {} から受け取っていません", t.month, t.partner));
            return Ok(page(t));
        }
    };
    let provider = renkei_spec::ids::OfficeNumber::parse(&t.partner, false).ok();
    let r = renkei_spec::reconcile::reconcile(&plan, &actual, provider.as_ref(), None);
    let name = partner_name(&ui, &o, &t.partner).await;
    t.summary = Some(format!(
        "{name}（{}） {}: 予定 {} 行・実績 {} 行、一致 {} 行、違い {} 件",
        t.partner,
        t.month,
        r.plan_lines,
        r.actual_lines,
        r.matched,
        r.differences.len()
    ));
    t.rows = r
        .differences
        .iter()
        .map(|d| {
            let l = d.line();
            DiffRow {
                kind: d.kind.label_ja(),
                class: match d.kind {
                    renkei_spec::reconcile::DiffKind::Added => "added",
                    renkei_spec::reconcile::DiffKind::Missing => "missing",
                    renkei_spec::reconcile::DiffKind::Changed => "changed",
                },
                insured: l.insured.clone(),
                date: format!("{}/{:02}/{:02}", l.date.year, l.date.month, l.date.day),
                code: l.service_code.clone(),
                plan: line_text(&d.plan),
                actual: line_text(&d.actual),
            }
        })
        .collect();
    Ok(page(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_notes() {
        assert_eq!(structured_note("no_use", "202506", "H000000001", "").unwrap(), "【今月利用なし】 2025年6月分 利用者: H000000001");
        assert!(structured_note("no_use", "", "", "").is_err(), "month required");
        assert!(structured_note("over_limit", "202513", "", "").is_err());
        assert_eq!(structured_note("free", "", "", "こんにちは").unwrap(), "こんにちは");
        assert_eq!(structured_note("plan_change", "", "", "7日から").unwrap(), "【計画変更の連絡】\n7日から");
    }

    #[test]
    fn times_in_japan() {
        assert_eq!(jst("2025-06-01T01:05:00Z"), "2025/06/01 10:05");
    }
}
