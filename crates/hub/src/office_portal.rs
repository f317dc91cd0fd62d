//! The portal's office pages (HTTPS, no client certificate): login with the office's ID and
//! password (temporary password → forced change; lockout as in the API), 利用申請 (the terms must
//! be scrolled to the end before agreeing; agreeing grants a one-year license per 事業所番号) and
//! ライセンス (validity, fee, payment, auto-renew, renewal).
//!
//! Sessions are browser sessions of their own (`portal_sessions`, cookie `renkei_portal`: Secure,
//! HttpOnly, SameSite=Strict), each with a CSRF token that every state-changing request must carry
//! (`?csrf=`), besides a same-origin `Origin` when the browser sends one. Every action is audited.

use crate::app::AppState;
use crate::auth;
use crate::jst::jst_minutes;
use crate::portal::page;
use crate::service::accounts;
use crate::store::{Audit, User};
use askama::Template;
use axum::extract::{ConnectInfo, Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;

const COOKIE: &str = "renkei_portal";

/// The 利用規約 shown in 利用申請.
pub const TERMS: &str = include_str!("../templates/portal/terms.txt");

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date()
}

fn ja_date(d: &str) -> String {
    match time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")) {
        Ok(d) => format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day()),
        Err(_) => d.to_owned(),
    }
}

fn yen(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("¥{out}")
}

/// The fee as the pages say it.
fn fee_text(st: &AppState) -> String {
    let l = &st.config.license;
    if l.campaign.is_empty() { format!("{}（税込・年額）", yen(l.fee_yen)) } else { format!("¥0（{}期間中）", l.campaign) }
}

/// A logged-in portal user, with the session's CSRF token (checked here for every state change).
#[derive(Debug, Clone)]
pub struct PortalUser {
    /// The user.
    pub user: User,
    /// The session's CSRF token.
    pub csrf: String,
    token_hash: String,
}

impl PortalUser {
    fn audit(&self, action: &'static str, detail: String) -> Audit<'_> {
        Audit { action, office: Some(&self.user.office), user_id: Some(self.user.id), detail, ..Default::default() }
    }
}

/// Why a portal request was refused.
#[derive(Debug)]
pub enum PortalReject {
    /// Not logged in: to the login page.
    Login,
    /// The CSRF token or origin is wrong.
    Csrf,
    /// The password is temporary or expired: to the change page, before anything else.
    ChangePassword,
    /// Storage failed.
    Internal,
}

impl IntoResponse for PortalReject {
    fn into_response(self) -> Response {
        match self {
            PortalReject::Login => Redirect::to("/portal/login").into_response(),
            PortalReject::Csrf => (StatusCode::FORBIDDEN, "画面を開き直してから、もう一度操作してください（CSRF）").into_response(),
            PortalReject::ChangePassword => Redirect::to("/portal/password").into_response(),
            PortalReject::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "しばらくしてからもう一度お試しください").into_response(),
        }
    }
}

/// The value of cookie `name`.
pub(crate) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A state-changing request must carry the session's CSRF token (`?csrf=`) and, when the browser
/// says where it comes from, come from this site (HTTP/2 carries the host in the URI's
/// authority, HTTP/1.1 in the Host header). Reads (GET, HEAD) pass.
pub(crate) fn change_allowed(parts: &Parts, csrf: &str) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD) {
        return true;
    }
    let given = parts.uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("csrf=")));
    given.is_some_and(|g| auth::constant_time_eq(g.as_bytes(), csrf.as_bytes())) && same_origin(parts)
}

/// When the browser says where a request comes from (`Origin`), it must be this site (HTTP/2
/// carries the host in the URI's authority, HTTP/1.1 in the Host header).
pub(crate) fn same_origin(parts: &Parts) -> bool {
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned))
        .unwrap_or_default();
    parts.headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).is_none_or(|o| o == format!("https://{host}"))
}

/// A login form posted from this site only (login CSRF: another site must not log a browser
/// into an account of its choosing).
#[derive(Debug, Clone, Copy)]
pub struct SameOrigin;

impl FromRequestParts<AppState> for SameOrigin {
    type Rejection = PortalReject;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        if same_origin(parts) { Ok(SameOrigin) } else { Err(PortalReject::Csrf) }
    }
}

/// A portal user whose password may be temporary or expired: only for changing it and logging
/// out. Every other page takes [`PortalUser`], which sends such a user to the change first.
#[derive(Debug, Clone)]
pub struct PortalUserAnyPassword(pub PortalUser);

async fn portal_user(parts: &Parts, st: &AppState) -> Result<PortalUser, PortalReject> {
    let token = cookie(parts, COOKIE).ok_or(PortalReject::Login)?;
    let token_hash = auth::token_hash(&token);
    let (user_id, csrf) =
        st.store.portal_session(&token_hash, now()).await.map_err(|_| PortalReject::Internal)?.ok_or(PortalReject::Login)?;
    let mut user = st.store.user(user_id).await.map_err(|_| PortalReject::Internal)?.filter(|u| !u.disabled).ok_or(PortalReject::Login)?;
    user.must_change = accounts::password_state(&user, &st.config.auth, now()).must_change();
    if !change_allowed(parts, &csrf) {
        return Err(PortalReject::Csrf);
    }
    Ok(PortalUser { user, csrf, token_hash })
}

impl FromRequestParts<AppState> for PortalUserAnyPassword {
    type Rejection = PortalReject;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        portal_user(parts, st).await.map(PortalUserAnyPassword)
    }
}

impl FromRequestParts<AppState> for PortalUser {
    type Rejection = PortalReject;

    /// Every request, page or change: a temporary or expired password goes to the change page.
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let u = portal_user(parts, st).await?;
        if u.user.must_change {
            return Err(PortalReject::ChangePassword);
        }
        Ok(u)
    }
}

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    error: Option<String>,
    login: String,
}

pub(crate) async fn login_page() -> Response {
    page(&LoginT { title: "事業所ログイン", nav: "", who: String::new(), csrf: String::new(), error: None, login: String::new() })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    login: String,
    password: String,
}

pub(crate) async fn login_post(
    State(st): State<AppState>,
    _: SameOrigin,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    Form(f): Form<LoginForm>,
) -> Response {
    let login = f.login.trim().to_owned();
    match accounts::login_user(&st.store, &st.config.auth, &login, &f.password, accounts::Door::Web, now())
        .await
        .map_err(|e| crate::api::login_refused(&st, e))
    {
        Ok(user) => {
            let token = auth::token();
            let csrf = auth::token();
            let t = now();
            if st
                .store
                .add_portal_session(&auth::token_hash(&token), user.id, &csrf, t, t + st.config.auth.session_hours * 3600)
                .await
                .is_err()
            {
                return PortalReject::Internal.into_response();
            }
            let ip = ip.ip().to_string();
            let _ = st
                .store
                .audit(
                    Audit {
                        action: "portal.login",
                        office: Some(&user.office),
                        user_id: Some(user.id),
                        ip: Some(&ip),
                        ..Default::default()
                    },
                    t,
                )
                .await;
            let to = if accounts::password_state(&user, &st.config.auth, t).must_change() { "/portal/password" } else { "/portal/home" };
            let cookie = format!("{COOKIE}={token}; Secure; HttpOnly; SameSite=Strict; Path=/");
            ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
        }
        Err(e) => {
            page(&LoginT {
                title: "事業所ログイン", nav: "", who: String::new(), csrf: String::new(), error: Some(e.0.message), login
            })
        }
    }
}

pub(crate) async fn logout(State(st): State<AppState>, PortalUserAnyPassword(u): PortalUserAnyPassword) -> Response {
    let _ = st.store.end_portal_sessions(Some(&u.token_hash), u.user.id).await;
    let _ = st.store.audit(u.audit("portal.logout", String::new()), now()).await;
    ([(header::SET_COOKIE, format!("{COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"))], Redirect::to("/portal/login"))
        .into_response()
}

#[derive(Template)]
#[template(path = "portal/password.html")]
struct PasswordT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    forced: bool,
    error: Option<String>,
}

fn who(u: &User) -> String {
    format!("{}（{}）", u.name, u.login)
}

pub(crate) async fn password_page(PortalUserAnyPassword(u): PortalUserAnyPassword) -> Response {
    page(&PasswordT {
        title: "パスワードの変更",
        nav: "",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        forced: u.user.must_change,
        error: None,
    })
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    current: String,
    new: String,
    again: String,
}

pub(crate) async fn password_post(
    State(st): State<AppState>,
    PortalUserAnyPassword(u): PortalUserAnyPassword,
    Form(f): Form<PasswordForm>,
) -> Response {
    let fail = |msg: &str| {
        page(&PasswordT {
            title: "パスワードの変更",
            nav: "",
            who: who(&u.user),
            csrf: u.csrf.clone(),
            forced: u.user.must_change,
            error: Some(msg.into()),
        })
    };
    if f.new != f.again {
        return fail("新しいパスワードが2回とも同じではありません");
    }
    // Every other session of this user ends (browser and terminals); this one goes on.
    let audit = u.audit("portal.password", String::new());
    match accounts::change_password(&st.store, &u.user, &f.current, &f.new, accounts::Keeping::Portal(&u.token_hash), audit, now()).await {
        Ok(()) => {}
        Err(accounts::PasswordError::WrongCurrent) => return fail("今のパスワードが違います"),
        Err(accounts::PasswordError::Policy) => return fail(accounts::PASSWORD_RULE),
        Err(e) => {
            tracing::error!(error = ?e, "portal password change failed");
            return PortalReject::Internal.into_response();
        }
    }
    Redirect::to("/portal/home").into_response()
}

/// The office's license state in one sentence.
fn license_state(until: Option<&str>) -> (bool, String) {
    let today = today().to_string();
    match until {
        Some(u) if u >= today.as_str() => (true, format!("ライセンスは {} まで有効です。", ja_date(u))),
        Some(u) => (false, format!("ライセンスの有効期限（{}）が過ぎています。利用申請（更新）をしてください。", ja_date(u))),
        None => (false, "まだ利用申請をしていません。利用申請をすると、送受信できるようになります。".into()),
    }
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomeT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    licensed: bool,
    license_state: String,
    flash: Option<String>,
    /// Notices to this office (newest first): (title, body, when).
    notices: Vec<(String, String, String)>,
    /// One of them announces a new terminal: offer the way to revoke it.
    enrolled: bool,
}

async fn office_of(st: &AppState, u: &PortalUser) -> Result<crate::store::Office, Response> {
    match st.store.office(&u.user.office).await {
        Ok(Some(o)) => Ok(o),
        _ => Err(PortalReject::Internal.into_response()),
    }
}

/// A warning when the password expires within 14 days.
fn password_warning(st: &AppState, u: &User) -> Option<String> {
    let exp = st.config.auth.password_expires(u.password_set_at)?;
    let days = (exp - now() + 86399).div_euclid(86400);
    (days <= 14).then(|| {
        format!("パスワードの有効期限まであと {} 日です（{}）。「パスワードの変更」から変えてください。", days.max(0), jst_minutes(exp))
    })
}

pub(crate) async fn home(State(st): State<AppState>, u: PortalUser) -> Response {
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (licensed, state) = license_state(o.license_until.as_deref());
    let mine: Vec<crate::store::NoticeRow> = match st.store.notices(Some(&o.number), None, 20).await {
        Ok(v) => v.into_iter().filter(|n| n.office.as_deref() == Some(o.number.as_str())).take(5).collect(),
        Err(e) => {
            tracing::error!(error = %e, "portal notices");
            return PortalReject::Internal.into_response();
        }
    };
    page(&HomeT {
        enrolled: mine.iter().any(|n| n.kind == "terminal_enrolled"),
        notices: mine.into_iter().map(|n| (n.title, n.body, jst_minutes(n.published_at))).collect(),
        title: "事業所トップ",
        nav: "home",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        licensed,
        license_state: state,
        flash: password_warning(&st, &u.user),
    })
}

#[derive(Template)]
#[template(path = "portal/apply.html")]
struct ApplyT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    terms: &'static str,
    fee: String,
    error: Option<String>,
}

pub(crate) async fn apply_page(State(st): State<AppState>, u: PortalUser) -> Response {
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    page(&ApplyT {
        title: "利用申請",
        nav: "apply",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        terms: TERMS,
        fee: fee_text(&st),
        error: None,
    })
}

#[derive(Deserialize)]
pub(crate) struct ApplyForm {
    #[serde(default)]
    agree: Option<String>,
    #[serde(default)]
    read: String,
}

#[derive(Template)]
#[template(path = "portal/applied.html")]
struct AppliedT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    until: String,
    fee: String,
}

/// The end of a new license year: a still-valid license (through `current`) is extended from its
/// end; otherwise the year starts today.
pub fn next_year_until(current: Option<&str>) -> String {
    let start = current
        .and_then(|d| time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok())
        .filter(|d| *d >= today())
        .map_or(today(), |d| d.saturating_add(time::Duration::days(1)));
    one_year_from(start)
}

/// One year from `from` (the day before the same date next year), as YYYY-MM-DD.
pub fn one_year_from(from: time::Date) -> String {
    // 29 February: the year ends on the last day of February.
    let next = from
        .replace_year(from.year() + 1)
        .or_else(|_| time::Date::from_calendar_date(from.year() + 1, time::Month::March, 1))
        .unwrap_or_else(|_| from.saturating_add(time::Duration::days(365)));
    next.saturating_sub(time::Duration::days(1)).to_string()
}

pub(crate) async fn apply_post(State(st): State<AppState>, u: PortalUser, Form(f): Form<ApplyForm>) -> Response {
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    if u.user.role != "admin" || f.agree.is_none() || f.read != "1" {
        let error = if u.user.role != "admin" {
            "利用申請は事業所の管理者が行います"
        } else {
            "利用規約を最後まで読み、「利用規約に同意する」にチェックを入れてください"
        };
        return page(&ApplyT {
            title: "利用申請",
            nav: "apply",
            who: who(&u.user),
            csrf: u.csrf.clone(),
            office: o.number,
            office_name: o.name,
            terms: TERMS,
            fee: fee_text(&st),
            error: Some(error.into()),
        });
    }
    let until = next_year_until(o.license_until.as_deref());
    let fee = st.config.license.fee_now();
    if st.store.grant_license(&o.number, &until, fee, now()).await.is_err() {
        return PortalReject::Internal.into_response();
    }
    let _ = st.store.audit(u.audit("portal.apply", format!("until={until} fee={fee}")), now()).await;
    page(&AppliedT {
        title: "利用申請の完了",
        nav: "apply",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        until: ja_date(&until),
        fee: fee_text(&st),
    })
}

#[derive(Template)]
#[template(path = "portal/license.html")]
struct LicenseT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    until: String,
    fee: String,
    paid: String,
    auto_renew: bool,
    admin: bool,
    flash: Option<String>,
}

async fn license_view(st: &AppState, u: &PortalUser, flash: Option<String>) -> Response {
    let o = match office_of(st, u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Ok(Some(l)) = st.store.license(&o.number).await else { return PortalReject::Internal.into_response() };
    let (_, state) = license_state(l.until.as_deref());
    let paid = match (l.fee_yen, l.paid_at) {
        (None, _) => "—".to_owned(),
        (Some(0), _) => "支払いは不要です".to_owned(),
        (Some(_), Some(t)) => format!("支払済（{}）", crate::api::rfc3339(t).chars().take(10).collect::<String>()),
        (Some(f), None) => format!("未払い（{}、請求書をお送りします）", yen(f)),
    };
    page(&LicenseT {
        title: "ライセンス",
        nav: "license",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        until: l.until.as_deref().map_or(state.clone(), |d| format!("{}（{}）", ja_date(d), state)),
        fee: l.fee_yen.map_or_else(|| fee_text(st), yen),
        paid,
        auto_renew: l.auto_renew,
        admin: u.user.role == "admin",
        flash,
    })
}

pub(crate) async fn license_page(State(st): State<AppState>, u: PortalUser) -> Response {
    license_view(&st, &u, None).await
}

#[derive(Deserialize)]
pub(crate) struct AutoRenewForm {
    on: String,
}

pub(crate) async fn auto_renew(State(st): State<AppState>, u: PortalUser, Form(f): Form<AutoRenewForm>) -> Response {
    if u.user.role != "admin" {
        return (StatusCode::FORBIDDEN, "自動更新の設定は事業所の管理者が行います").into_response();
    }
    let on = f.on == "1";
    if st.store.set_auto_renew(&u.user.office, on).await.is_err() {
        return PortalReject::Internal.into_response();
    }
    let _ = st.store.audit(u.audit("portal.auto_renew", format!("on={on}")), now()).await;
    license_view(&st, &u, Some(if on { "自動更新にしました" } else { "自動更新をやめました" }.into())).await
}

pub(crate) async fn renew(State(st): State<AppState>, u: PortalUser) -> Response {
    if u.user.role != "admin" {
        return (StatusCode::FORBIDDEN, "更新は事業所の管理者が行います").into_response();
    }
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let until = next_year_until(o.license_until.as_deref());
    let fee = st.config.license.fee_now();
    if st.store.grant_license(&o.number, &until, fee, now()).await.is_err() {
        return PortalReject::Internal.into_response();
    }
    let _ = st.store.audit(u.audit("portal.renew", format!("until={until} fee={fee}")), now()).await;
    license_view(&st, &u, Some(format!("{} まで更新しました", ja_date(&until)))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_license_year_and_money() {
        let d = time::macros::date!(2026 - 11 - 21);
        assert_eq!(one_year_from(d), "2027-11-20");
        assert_eq!(one_year_from(time::macros::date!(2024 - 02 - 29)), "2025-02-28");
        assert_eq!(yen(21000), "¥21,000");
        assert_eq!(yen(0), "¥0");
        assert_eq!(ja_date("2027-03-31"), "2027年3月31日");
        assert!(TERMS.lines().count() > 30, "terms long enough to need scrolling");
    }
}

// ---------------------------------------------------------------------------------------------
// 証明書・端末

struct TerminalRow {
    id: String,
    label: String,
    fingerprint: String,
    created: String,
    last_seen: String,
    expires: String,
    state: &'static str,
    active: bool,
}

#[derive(Template)]
#[template(path = "portal/terminals.html")]
struct TerminalsT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    hub: String,
    ca_fingerprint: String,
    admin: bool,
    code: Option<(String, String)>,
    rows: Vec<TerminalRow>,
    flash: Option<String>,
}

async fn terminals_view(st: &AppState, u: &PortalUser, code: Option<(String, String)>, flash: Option<String>) -> Response {
    let Ok(list) = st.store.terminal_details(&u.user.office).await else { return PortalReject::Internal.into_response() };
    let t = now();
    let rows = list
        .into_iter()
        .map(|d| {
            let (state, active) = match d.revoked_at {
                Some(_) => ("失効", false),
                None if d.not_after < t => ("期限切れ", false),
                None => ("有効", true),
            };
            TerminalRow {
                fingerprint: renkei_protocol::fingerprint_display(&d.fingerprint).unwrap_or(d.fingerprint),
                created: jst_minutes(d.created_at),
                last_seen: d.last_seen.map_or_else(|| "—".into(), jst_minutes),
                expires: jst_minutes(d.not_after).chars().take(10).collect(),
                id: d.id,
                label: d.label,
                state,
                active,
            }
        })
        .collect();
    let hub = st
        .config
        .server_names
        .first()
        .map_or_else(String::new, |n| format!("https://{n}:{}", st.config.listen.rsplit(':').next().unwrap_or("443")));
    page(&TerminalsT {
        title: "証明書・端末",
        nav: "terminals",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: u.user.office.clone(),
        hub,
        ca_fingerprint: st.ca.fingerprint_display(),
        admin: u.user.role == "admin",
        code,
        rows,
        flash,
    })
}

pub(crate) async fn terminals(State(st): State<AppState>, u: PortalUser) -> Response {
    terminals_view(&st, &u, None, None).await
}

pub(crate) async fn new_code(State(st): State<AppState>, u: PortalUser) -> Response {
    if u.user.role != "admin" {
        return (StatusCode::FORBIDDEN, "端末登録コードを発行できるのは事業所の管理者だけです").into_response();
    }
    let code = auth::enrolment_code();
    let t = now();
    let exp = t + st.config.auth.enrolment_code_hours * 3600;
    if st.store.add_enrolment_code(&auth::token_hash(&auth::normalize_code(&code)), &u.user.office, t, exp).await.is_err() {
        return PortalReject::Internal.into_response();
    }
    let _ = st.store.audit(u.audit("portal.enrolment_code", String::new()), t).await;
    terminals_view(&st, &u, Some((code, jst_minutes(exp))), None).await
}

pub(crate) async fn revoke(State(st): State<AppState>, u: PortalUser, axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    if u.user.role != "admin" {
        return (StatusCode::FORBIDDEN, "端末を失効させられるのは事業所の管理者だけです").into_response();
    }
    // Only this office's terminals.
    let Ok(list) = st.store.terminal_details(&u.user.office).await else { return PortalReject::Internal.into_response() };
    let Some(t) = list.into_iter().find(|t| t.id == id) else {
        return (StatusCode::NOT_FOUND, "その端末はこの事業所のものではありません").into_response();
    };
    match st.revoke(&t.id, &format!("portal:{}", u.user.login)).await {
        Ok(_) => {
            let _ = st.store.audit(u.audit("portal.revoke", format!("terminal={}", t.id)), now()).await;
            terminals_view(&st, &u, None, Some(format!("「{}」を失効させました。このPCからは接続できません。", t.label))).await
        }
        Err(_) => PortalReject::Internal.into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// 送受信記録 (evidence report)

#[derive(Deserialize, Default)]
pub(crate) struct MonthQ {
    #[serde(default)]
    month: String,
}

/// The month asked for (YYYYMM, JST), default this month: (label, from, to) in unix seconds.
fn month_range(m: &str) -> Option<(String, String, i64, i64)> {
    let today = today();
    let (y, mo) = if m.is_empty() {
        (today.year(), u8::from(today.month()))
    } else {
        // Digits only, before any slicing: input is never sliced inside a character.
        if m.len() != 6 || !m.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        (m[..4].parse().ok()?, m[4..].parse().ok()?)
    };
    let start = time::Date::from_calendar_date(y, time::Month::try_from(mo).ok()?, 1).ok()?;
    let next = if mo == 12 {
        time::Date::from_calendar_date(y + 1, time::Month::January, 1)
    } else {
        time::Date::from_calendar_date(y, time::Month::try_from(mo + 1).ok()?, 1)
    }
    .ok()?;
    let at = |d: time::Date| d.midnight().assume_offset(time::macros::offset!(+9)).unix_timestamp();
    Some((format!("{y}{mo:02}"), format!("{y}年{mo}月"), at(start), at(next)))
}

#[cfg(test)]
mod month_tests {
    #[test]
    fn any_month_text_is_answered_never_a_panic() {
        for bad in ["２０２５０６", "20250６", "2025-6", "ああ", "202513", "999999x", "\u{202e}20250"] {
            assert!(super::month_range(bad).is_none(), "{bad:?}");
        }
        assert_eq!(super::month_range("202506").map(|r| r.1), Some("2025年6月".into()));
    }
}

type Line = (&'static str, String, String, String, String, String, String, String);

async fn evidence_lines(st: &AppState, office: &str, from: i64, to: i64) -> Result<Vec<Line>, Response> {
    let rows = st.store.evidence(office, from, to).await.map_err(|_| PortalReject::Internal.into_response())?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let sent = r.sender == office;
            (
                if sent { "送信" } else { "受信" },
                jst_minutes(r.sent_at),
                r.sent_by.unwrap_or_default(),
                if sent { r.recipient } else { r.sender },
                r.file,
                r.sha256,
                r.fetched_at.map(|t| format!("{} {}", jst_minutes(t), r.fetched_by.unwrap_or_default())).unwrap_or_else(|| "未取得".into()),
                r.opened_at.map(jst_minutes).unwrap_or_default(),
            )
        })
        .collect())
}

#[derive(Template)]
#[template(path = "portal/records.html")]
struct RecordsT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    month: String,
    month_label: String,
    created: String,
    count: usize,
    rows: Vec<Line>,
}

pub(crate) async fn records(State(st): State<AppState>, u: PortalUser, axum::extract::Query(q): axum::extract::Query<MonthQ>) -> Response {
    let Some((month, label, from, to)) = month_range(q.month.trim()) else {
        return (StatusCode::BAD_REQUEST, "対象月は西暦6桁（例: 202506）で指定してください").into_response();
    };
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let rows = match evidence_lines(&st, &o.number, from, to).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let _ = st.store.audit(u.audit("portal.records", format!("month={month}")), now()).await;
    page(&RecordsT {
        title: "送受信記録",
        nav: "records",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        month,
        month_label: label,
        created: jst_minutes(now()),
        count: rows.len(),
        rows,
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// The same report as CSV (UTF-8 with BOM, so that Excel opens it in Japanese).
pub(crate) async fn records_csv(
    State(st): State<AppState>,
    u: PortalUser,
    axum::extract::Query(q): axum::extract::Query<MonthQ>,
) -> Response {
    let Some((month, _, from, to)) = month_range(q.month.trim()) else {
        return (StatusCode::BAD_REQUEST, "対象月は西暦6桁（例: 202506）で指定してください").into_response();
    };
    let rows = match evidence_lines(&st, &u.user.office, from, to).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut out = String::from("\u{feff}区分,送信日時,送信者,相手先,ファイル名,SHA-256,取得,開封\r\n");
    for r in &rows {
        let f = [r.0, &r.1, &r.2, &r.3, &r.4, &r.5, &r.6, &r.7];
        out.push_str(&f.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let _ = st.store.audit(u.audit("portal.records_csv", format!("month={month}")), now()).await;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"records_{}_{month}.csv\"", u.user.office)),
        ],
        out,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// スタッフ

#[derive(Template)]
#[template(path = "portal/staff.html")]
struct StaffT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    admin: bool,
    rows: Vec<(String, String, &'static str, &'static str, bool)>,
    created: Option<(String, String)>,
    flash: Option<String>,
}

async fn staff_view(st: &AppState, u: &PortalUser, created: Option<(String, String)>, flash: Option<String>) -> Response {
    let Ok(users) = st.store.office_users(&u.user.office).await else { return PortalReject::Internal.into_response() };
    let rows = users
        .into_iter()
        .map(|x| {
            let role = if x.role == "admin" { "管理者" } else { "職員" };
            let state = if x.disabled {
                "利用停止"
            } else if x.must_change {
                "仮パスワード"
            } else {
                "利用中"
            };
            // An administrator cannot disable themself (the office would lose its administrator).
            let can_disable = !x.disabled && x.id != u.user.id;
            (x.login, x.name, role, state, can_disable)
        })
        .collect();
    page(&StaffT {
        title: "スタッフ",
        nav: "staff",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        admin: u.user.role == "admin",
        rows,
        created,
        flash,
    })
}

pub(crate) async fn staff(State(st): State<AppState>, u: PortalUser) -> Response {
    staff_view(&st, &u, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct StaffForm {
    name: String,
}

pub(crate) async fn add_staff(State(st): State<AppState>, u: PortalUser, Form(f): Form<StaffForm>) -> Response {
    if u.user.role != "admin" {
        return (StatusCode::FORBIDDEN, "職員を追加できるのは事業所の管理者だけです").into_response();
    }
    let name: String = f.name.trim().chars().take(40).collect();
    if name.is_empty() {
        return staff_view(&st, &u, None, Some("氏名を入れてください".into())).await;
    }
    let Ok(users) = st.store.office_users(&u.user.office).await else { return PortalReject::Internal.into_response() };
    // 電子請求-style IDs: KJ + 事業所番号 + two digits.
    let Some(login) = (1..100).map(|n| format!("KJ{}{n:02}", u.user.office)).find(|l| users.iter().all(|x| &x.login != l)) else {
        return staff_view(&st, &u, None, Some("これ以上職員を追加できません（99人まで）".into())).await;
    };
    let password = auth::temporary_password();
    let pw = password.clone();
    let Ok(Ok(hash)) = tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await else {
        return PortalReject::Internal.into_response();
    };
    let new = crate::store::NewUser {
        login: &login,
        office: &u.user.office,
        role: "staff",
        name: &name,
        password_hash: &hash,
        must_change: true,
    };
    if st.store.add_user(&new, now()).await.is_err() {
        return PortalReject::Internal.into_response();
    }
    let _ = st.store.audit(u.audit("portal.staff_add", format!("login={login}")), now()).await;
    staff_view(&st, &u, Some((login, password)), None).await
}

pub(crate) async fn disable_staff(
    State(st): State<AppState>,
    u: PortalUser,
    axum::extract::Path(login): axum::extract::Path<String>,
) -> Response {
    if u.user.role != "admin" {
        return (StatusCode::FORBIDDEN, "利用停止は事業所の管理者が行います").into_response();
    }
    let Ok(Some(target)) = st.store.user_by_login(&login).await else {
        return (StatusCode::NOT_FOUND, "そのログインIDはありません").into_response();
    };
    if target.office != u.user.office {
        return (StatusCode::NOT_FOUND, "そのログインIDはありません").into_response();
    }
    if target.id == u.user.id {
        return staff_view(&st, &u, None, Some("自分自身は利用停止にできません".into())).await;
    }
    if st.store.disable_user(target.id, now()).await.is_err() {
        return PortalReject::Internal.into_response();
    }
    let _ = st.store.audit(u.audit("portal.staff_disable", format!("login={login}")), now()).await;
    staff_view(&st, &u, None, Some(format!("{login}（{}）を利用停止にしました。ログイン中の画面と端末からも切断しました。", target.name)))
        .await
}
