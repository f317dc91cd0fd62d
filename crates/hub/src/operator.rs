//! The operator console (運営者コンソール, `/operator`): its own accounts (`renkei-hub operator
//! add`) and browser sessions, apart from offices. Import the office registry (with a per-line
//! error list), publish notices, look up any office (license, terminals, users) and revoke
//! terminals, search the audit log, see the traffic (files per day and per prefecture). Every
//! action is audited; every state change needs the session's CSRF token and a same-origin request.

use crate::app::AppState;
use crate::auth;
use crate::jst::jst_minutes;
use crate::portal::{page, prefecture_name};
use crate::store::Audit;
use askama::Template;
use axum::extract::{Form, FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

const COOKIE: &str = "renkei_operator";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A logged-in operator.
#[derive(Debug, Clone)]
pub struct Operator {
    login: String,
    name: String,
    csrf: String,
}

impl Operator {
    fn audit<'a>(&self, action: &'a str, office: Option<&'a str>, detail: &str) -> Audit<'a> {
        Audit { action, office, detail: format!("operator={} {detail}", self.login), ..Default::default() }
    }
    fn who(&self) -> String {
        format!("{}（{}）", self.name, self.login)
    }
}

/// Why a console request was refused.
#[derive(Debug)]
pub enum OperatorReject {
    /// To the login page.
    Login,
    /// CSRF or origin.
    Csrf,
    /// Storage.
    Internal,
}

impl IntoResponse for OperatorReject {
    fn into_response(self) -> Response {
        match self {
            OperatorReject::Login => Redirect::to("/operator/login").into_response(),
            OperatorReject::Csrf => (StatusCode::FORBIDDEN, "画面を開き直してから、もう一度操作してください（CSRF）").into_response(),
            OperatorReject::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "しばらくしてからもう一度お試しください").into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = OperatorReject;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let token = crate::office_portal::cookie(parts, COOKIE).ok_or(OperatorReject::Login)?;
        let (id, csrf) = st
            .store
            .operator_session(&auth::token_hash(&token), now())
            .await
            .map_err(|_| OperatorReject::Internal)?
            .ok_or(OperatorReject::Login)?;
        let (_, login, name, _, _) =
            st.store.operator(None, Some(id)).await.map_err(|_| OperatorReject::Internal)?.ok_or(OperatorReject::Login)?;
        if !crate::office_portal::change_allowed(parts, &csrf) {
            return Err(OperatorReject::Csrf);
        }
        Ok(Operator { login, name, csrf })
    }
}

#[derive(Template)]
#[template(path = "operator/login.html")]
struct LoginT {
    title: &'static str,
    nav: &'static str,
    who: String,
    flash: Option<String>,
    error: Option<String>,
}

pub(crate) async fn login_page() -> Response {
    page(&LoginT { title: "運営者ログイン", nav: "", who: String::new(), flash: None, error: None })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    login: String,
    password: String,
}

pub(crate) async fn login_post(State(st): State<AppState>, _: crate::office_portal::SameOrigin, Form(f): Form<LoginForm>) -> Response {
    let fail = |e: String| page(&LoginT { title: "運営者ログイン", nav: "", who: String::new(), flash: None, error: Some(e) });
    let t = now();
    let (id, login) = match crate::service::accounts::login_operator(&st.store, &st.config.auth, f.login.trim(), &f.password, t).await {
        Ok(found) => found,
        Err(crate::service::accounts::LoginError::Credentials) => {
            let _ = st
                .store
                .audit(Audit { action: "operator.login_failed", detail: format!("operator={}", f.login.trim()), ..Default::default() }, t)
                .await;
            return fail(crate::service::accounts::credentials_message(&st.config.auth));
        }
        Err(e) => {
            tracing::error!(error = ?e, "operator login failed");
            return OperatorReject::Internal.into_response();
        }
    };
    let (token, csrf) = (auth::token(), auth::token());
    if st.store.add_operator_session(&auth::token_hash(&token), id, &csrf, t, t + 8 * 3600).await.is_err() {
        return OperatorReject::Internal.into_response();
    }
    let _ = st.store.audit(Audit { action: "operator.login", detail: format!("operator={login}"), ..Default::default() }, t).await;
    ([(header::SET_COOKIE, format!("{COOKIE}={token}; Secure; HttpOnly; SameSite=Strict; Path=/operator"))], Redirect::to("/operator/"))
        .into_response()
}

#[derive(Template)]
#[template(path = "operator/top.html")]
struct TopT {
    title: &'static str,
    nav: &'static str,
    who: String,
    flash: Option<String>,
    registry: i64,
    participating: i64,
    per_day: Vec<(String, i64)>,
    per_pref: Vec<(&'static str, i64)>,
    /// Storage parts: (description, ok, since in JST).
    storage: Vec<(String, bool, String)>,
    storage_failing: bool,
}

pub(crate) async fn top(State(st): State<AppState>, op: Operator) -> Response {
    let t = now();
    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date().to_string();
    let per_day = st
        .store
        .files_per_day(t - 14 * 86400)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(d, n)| (jst_minutes(d * 86400 - 32400).chars().take(10).collect(), n))
        .collect();
    let per_pref = st
        .store
        .files_per_prefecture(t - 30 * 86400)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(p, n)| (prefecture_name(p.parse().unwrap_or(0)), n))
        .collect();
    page(&TopT {
        title: "概況",
        nav: "top",
        who: op.who(),
        flash: None,
        registry: st.store.registry_count().await.unwrap_or(0),
        participating: st.store.search_participants(&Default::default(), &today, 0).await.map(|(_, n)| n).unwrap_or(0),
        per_day,
        per_pref,
        storage_failing: !st.health.failing().is_empty(),
        storage: st
            .health
            .parts()
            .into_iter()
            .map(|p| (p.describe(), p.state.is_ok(), if p.since > 0 { jst_minutes(p.since) } else { "起動時".into() }))
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "operator/registry.html")]
struct RegistryT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    report: Option<(usize, usize, usize, String)>,
    errors: Vec<(u32, &'static str, String, String)>,
    progress: Option<(usize, usize)>,
}

pub(crate) async fn registry_page(op: Operator) -> Response {
    page(&RegistryT {
        title: "事業所台帳の取り込み",
        nav: "registry",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash: None,
        report: None,
        errors: vec![],
        progress: None,
    })
}

pub(crate) async fn registry_import(State(st): State<AppState>, op: Operator, mut mp: Multipart) -> Response {
    let mut bytes = Vec::new();
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            match field.bytes().await {
                Ok(b) => bytes = b.to_vec(),
                Err(e) => return (StatusCode::BAD_REQUEST, format!("ファイルを受け取れません: {e}")).into_response(),
            }
        }
    }
    {
        let job = st.import_job.lock().await;
        if job.as_ref().is_some_and(|j| !j.finished) {
            return Redirect::to("/operator/registry/progress").into_response();
        }
    }
    // Parse now (a second for 200,000 lines), import in the background with progress.
    let (rows, errors) = crate::registry::parse(&bytes);
    *st.import_job.lock().await =
        Some(crate::registry::ImportJob { by: op.login.clone(), total: rows.len(), errors, ..Default::default() });
    let st2 = st.clone();
    let op2 = op.clone();
    tokio::spawn(async move {
        let t = std::time::Instant::now();
        let mut failure = None;
        for chunk in rows.chunks(5000) {
            if let Err(e) = st2.store.import_registry(chunk, now()).await {
                failure = Some(e.to_string());
                break;
            }
            if let Some(j) = st2.import_job.lock().await.as_mut() {
                j.done += chunk.len();
            }
        }
        let mut guard = st2.import_job.lock().await;
        if let Some(j) = guard.as_mut() {
            j.finished = true;
            j.seconds = t.elapsed().as_secs_f64();
            j.failure.clone_from(&failure);
            let detail = format!("imported={} errors={} failure={failure:?}", j.done, j.errors.len());
            drop(guard);
            let _ = st2.store.audit(op2.audit("operator.registry_import", None, &detail), now()).await;
        }
    });
    Redirect::to("/operator/registry/progress").into_response()
}

pub(crate) async fn registry_progress(State(st): State<AppState>, op: Operator) -> Response {
    let job = st.import_job.lock().await.clone();
    let Some(j) = job else { return Redirect::to("/operator/registry").into_response() };
    let took = if j.finished { format!("{:.1} 秒", j.seconds) } else { "取り込み中…".into() };
    let mut t = RegistryT {
        title: "事業所台帳の取り込み",
        nav: "registry",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash: j.failure.as_ref().map(|f| format!("途中で止まりました: {f}")),
        report: Some((j.total + j.errors.len(), j.done, j.errors.len(), took)),
        errors: j.errors.iter().take(1000).map(|e| (e.line, e.item, e.value.clone(), e.message.clone())).collect(),
        progress: (!j.finished).then_some((j.done, j.total)),
    };
    if j.finished {
        t.title = "事業所台帳の取り込み（完了）";
    }
    page(&t)
}

#[derive(Template)]
#[template(path = "operator/notices.html")]
struct NoticesT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    notices: Vec<(String, String, String)>,
}

async fn notices_view(st: &AppState, op: &Operator, flash: Option<String>) -> Response {
    let notices = st
        .store
        .notices(None, None, 50)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.office.is_none())
        .map(|n| (jst_minutes(n.published_at), n.title, n.body))
        .collect();
    page(&NoticesT { title: "お知らせ", nav: "notices", who: op.who(), csrf: op.csrf.clone(), flash, notices })
}

pub(crate) async fn notices(State(st): State<AppState>, op: Operator) -> Response {
    notices_view(&st, &op, None).await
}

#[derive(Deserialize)]
pub(crate) struct NoticeForm {
    title: String,
    body: String,
}

pub(crate) async fn publish(State(st): State<AppState>, op: Operator, Form(f): Form<NoticeForm>) -> Response {
    let (title, body) = (f.title.trim().chars().take(100).collect::<String>(), f.body.trim().chars().take(4000).collect::<String>());
    if title.is_empty() || body.is_empty() {
        return notices_view(&st, &op, Some("件名と本文を入れてください".into())).await;
    }
    if st.store.add_notice(&auth::token()[..32], None, "operator", &title, &body, now()).await.is_err() {
        return OperatorReject::Internal.into_response();
    }
    let _ = st.store.audit(op.audit("operator.notice", None, &title), now()).await;
    notices_view(&st, &op, Some(format!("「{title}」を公開しました"))).await
}

#[derive(Deserialize, Default)]
pub(crate) struct OfficeQ {
    #[serde(default)]
    q: String,
}

type TerminalView = (String, String, String, &'static str, bool);

#[derive(Template)]
#[template(path = "operator/offices.html")]
struct OfficesT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    q: String,
    error: Option<String>,
    office: Option<(String, String, String, String)>,
    unpaid: bool,
    terminals: Vec<TerminalView>,
    users: Vec<(String, String, &'static str, &'static str)>,
}

async fn office_view(st: &AppState, op: &Operator, q: &str, flash: Option<String>) -> Response {
    let mut t = OfficesT {
        title: "事業所の照会",
        nav: "offices",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash,
        q: q.to_owned(),
        error: None,
        office: None,
        unpaid: false,
        terminals: vec![],
        users: vec![],
    };
    if q.is_empty() {
        return page(&t);
    }
    let Ok(found) = st.store.office(q).await else { return OperatorReject::Internal.into_response() };
    let Some(o) = found else {
        t.error = Some(format!("事業所番号 {q} は登録されていません"));
        return page(&t);
    };
    let _ = st.store.audit(op.audit("operator.lookup", Some(q), ""), now()).await;
    let lic = st.store.license(&o.number).await.ok().flatten();
    let money = match lic.as_ref().map(|l| (l.fee_yen, l.paid_at)) {
        Some((Some(f), None)) if f > 0 => {
            t.unpaid = true;
            format!("、利用料 {f} 円 未払い")
        }
        Some((Some(f), Some(_))) if f > 0 => format!("、利用料 {f} 円 支払済"),
        _ => String::new(),
    };
    let renew = if lic.is_some_and(|l| l.auto_renew) { "、自動更新" } else { "" };
    t.office = Some((
        o.name.clone(),
        o.number.clone(),
        o.kinds.join("、"),
        format!("{}{money}{renew}", o.license_until.clone().map_or("なし".into(), |u| format!("{u} まで"))),
    ));
    t.terminals = st
        .store
        .terminal_details(&o.number)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            let active = d.revoked_at.is_none();
            (
                d.id,
                d.label,
                renkei_protocol::fingerprint_display(&d.fingerprint).unwrap_or(d.fingerprint),
                if active { "有効" } else { "失効" },
                active,
            )
        })
        .collect();
    t.users = st
        .store
        .office_users(&o.number)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| (u.login, u.name, if u.role == "admin" { "管理者" } else { "職員" }, if u.disabled { "利用停止" } else { "利用中" }))
        .collect();
    page(&t)
}

pub(crate) async fn offices(State(st): State<AppState>, op: Operator, Query(q): Query<OfficeQ>) -> Response {
    office_view(&st, &op, q.q.trim(), None).await
}

pub(crate) async fn revoke(State(st): State<AppState>, op: Operator, Path(id): Path<String>, Query(q): Query<OfficeQ>) -> Response {
    match st.revoke(&id, &format!("operator:{}", op.login)).await {
        Ok(true) => {
            let _ = st.store.audit(op.audit("operator.revoke", None, &format!("terminal={id}")), now()).await;
            office_view(&st, &op, q.q.trim(), Some(format!("端末 {id} を失効させました"))).await
        }
        Ok(false) => office_view(&st, &op, q.q.trim(), Some(format!("端末 {id} は見つからないか、失効済みです"))).await,
        Err(_) => OperatorReject::Internal.into_response(),
    }
}

pub(crate) async fn mark_paid(State(st): State<AppState>, op: Operator, Path(office): Path<String>) -> Response {
    match st.store.mark_paid(&office, now()).await {
        Ok(true) => {
            let _ = st.store.audit(op.audit("operator.paid", Some(&office), ""), now()).await;
            office_view(&st, &op, &office, Some("入金を記録しました".into())).await
        }
        Ok(false) => office_view(&st, &op, &office, Some("未払いの利用料はありません".into())).await,
        Err(_) => OperatorReject::Internal.into_response(),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct AuditQ {
    #[serde(default)]
    action: String,
    #[serde(default)]
    office: String,
}

type AuditView = (String, String, String, String, String, String, String);

#[derive(Template)]
#[template(path = "operator/audit.html")]
struct AuditT {
    title: &'static str,
    nav: &'static str,
    who: String,
    flash: Option<String>,
    action: String,
    office: String,
    rows: Vec<AuditView>,
}

pub(crate) async fn audit(State(st): State<AppState>, op: Operator, Query(q): Query<AuditQ>) -> Response {
    let (action, office) = (q.action.trim().to_owned(), q.office.trim().to_owned());
    let rows = st
        .store
        .audit_search((!action.is_empty()).then_some(action.as_str()), (!office.is_empty()).then_some(office.as_str()), 200)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            (
                jst_minutes(a.at),
                a.action,
                a.office.unwrap_or_default(),
                a.user_id.map(|u| u.to_string()).unwrap_or_default(),
                a.terminal_id.unwrap_or_default(),
                a.ip.unwrap_or_default(),
                a.detail,
            )
        })
        .collect();
    page(&AuditT { title: "監査ログ", nav: "audit", who: op.who(), flash: None, action, office, rows })
}
