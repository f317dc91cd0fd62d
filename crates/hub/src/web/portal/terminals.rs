//! 証明書・端末: the office's terminals, enrolment codes and revocation.

use super::user::{PortalReject, PortalUser};
use super::who;
use crate::auth;
use crate::jst::{jst_minutes, now};
use crate::state::AppState;
use crate::web::page::page;
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
}

pub(crate) async fn terminals_view(st: &AppState, u: &PortalUser, code: Option<(String, String)>, flash: Option<String>) -> Response {
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
    match crate::service::terminals::revoke(&st, &t.id, &format!("portal:{}", u.user.login)).await {
        Ok(_) => {
            let _ = st.store.audit(u.audit("portal.revoke", format!("terminal={}", t.id)), now()).await;
            terminals_view(&st, &u, None, Some(format!("「{}」を失効させました。このPCからは接続できません。", t.label))).await
        }
        Err(_) => PortalReject::Internal.into_response(),
    }
}
