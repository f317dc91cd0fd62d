//! 証明書・端末: the office's terminals, enrolment codes and revocation.

use super::user::PortalUser;
use super::who;
use crate::jst::{jst_minutes, now};
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub(crate) struct TerminalRow {
    id: String,
    label: String,
    fingerprint: String,
    created: String,
    last_seen: String,
    expires: String,
    state: &'static str,
    active: bool,
    browser: bool,
}

#[derive(Template)]
#[template(path = "portal/terminals.html")]
pub(crate) struct TerminalsT {
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
    needs_second_factor: bool,
    /// The office's web mailbox needs one of its certificates (it has a browser certificate).
    mailbox_certificate: bool,
}

pub(crate) async fn terminals_view(st: &AppState, u: &PortalUser, code: Option<(String, String)>, flash: Option<String>) -> Response {
    let list = match st.store.terminal_details(&u.user.office).await {
        Ok(l) => l,
        Err(e) => return PageError::from(e).into_response(),
    };
    let t = now();
    let rows: Vec<TerminalRow> = list
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
                browser: d.browser,
            }
        })
        .collect();
    let mailbox_certificate = rows.iter().any(|r: &TerminalRow| r.browser && r.active);
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
        admin: u.user.role == crate::store::Role::Admin,
        code,
        rows,
        flash,
        needs_second_factor: u.user.role == crate::store::Role::Admin && !u.second_factor_passed,
        mailbox_certificate,
    })
}

pub(crate) async fn terminals(State(st): State<AppState>, u: PortalUser) -> Response {
    terminals_view(&st, &u, None, None).await
}

pub(crate) async fn new_code(State(st): State<AppState>, u: PortalUser) -> Response {
    match crate::service::terminals::issue_code(&st, u.actor(), &u.user, u.second_factor_passed).await {
        Ok(c) => terminals_view(&st, &u, Some((c.code, jst_minutes(c.expires_at))), None).await,
        Err(e) if e.0.code == renkei_protocol::ErrorCode::SecondFactorRequired => terminals_view(&st, &u, None, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
}

pub(crate) async fn revoke(State(st): State<AppState>, u: PortalUser, axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    if u.user.role != crate::store::Role::Admin {
        return (StatusCode::FORBIDDEN, "端末を失効させられるのは事業所の管理者だけです").into_response();
    }
    let label = match st.store.terminals(&u.user.office).await {
        Ok(list) => list.into_iter().find(|t| t.id == id).map(|t| t.label),
        Err(e) => return PageError::from(e).into_response(),
    };
    // Only this office's terminals (the service checks it again, in the same terms).
    match crate::service::terminals::revoke(&st, u.actor(), Some(&u.user.office), &id).await {
        Ok(true) => {
            let label = label.unwrap_or_default();
            terminals_view(&st, &u, None, Some(format!("「{label}」を失効させました。このPCからは接続できません。"))).await
        }
        Ok(false) => (StatusCode::NOT_FOUND, "その端末はこの事業所の有効な端末ではありません").into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct BrowserForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

/// ブラウザー用の電子証明書を発行: the PKCS#12 file, downloaded once (the key is kept nowhere).
pub(crate) async fn browser_certificate(State(st): State<AppState>, u: PortalUser, axum::Form(f): axum::Form<BrowserForm>) -> Response {
    if f.password != f.password2 {
        return terminals_view(&st, &u, None, Some("証明書ファイルのパスワードが確認用と一致しません".into())).await;
    }
    match crate::service::terminals::issue_browser_certificate(&st, u.actor(), &u.user, u.second_factor_passed, &f.label, &f.password).await
    {
        Ok(c) => {
            let name = renkei_screens::office::attachment_name(&format!("renkei_{}_{}.p12", u.user.office, c.terminal_id));
            (
                [
                    (axum::http::header::CONTENT_TYPE, "application/x-pkcs12".to_owned()),
                    (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename*=UTF-8''{name}")),
                    (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
                ],
                c.p12,
            )
                .into_response()
        }
        Err(e) if e.0.code.status() < 500 => terminals_view(&st, &u, None, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
}
