//! The web mailbox's ログイン (ID, password and the second factor's code) and ログアウト.

use super::LOGIN;
use crate::service::sessions::{self, MailboxLogin};
use crate::state::AppState;
use crate::web::guard::SameOrigin;
use crate::web::page::{PageError, page};
use crate::web::portal::COOKIE;
use crate::web::portal::user::PortalUserPending;
use askama::Template;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use renkei_screens::office::Layout;
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Template)]
#[template(path = "mailbox/login.html")]
pub(crate) struct LoginPage {
    l: Layout,
    error: Option<String>,
    login: String,
}

fn login_page_with(error: Option<String>, login: String) -> Response {
    page(&LoginPage { l: Layout::web("Webメールボックス ログイン", ""), error, login })
}

pub(crate) async fn login_page() -> Response {
    login_page_with(None, String::new())
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    code: String,
}

/// Password and code right: the mailbox; no second factor yet: the portal's page that sets it
/// up; a temporary or expired password: the portal's change page (the mailbox follows).
pub(crate) async fn login_post(
    State(st): State<AppState>,
    _: SameOrigin,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    peer: Option<axum::Extension<crate::tls::PeerCert>>,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let login = f.login.trim().to_owned();
    let fingerprint = peer.and_then(|p| p.0.fingerprint);
    let (w, to) = match sessions::open_mailbox(&st, &login, &f.password, &f.code, &ip.ip().to_string(), fingerprint.as_deref()).await {
        Ok(MailboxLogin::Open(w)) => (w, "/mailbox/"),
        Ok(MailboxLogin::SetUpSecondFactor(w)) => (w, "/portal/security"),
        Ok(MailboxLogin::ChangePassword(w)) => (w, "/portal/password"),
        Err(e) if e.0.code.status() < 500 => return Ok(login_page_with(Some(e.0.message), login)),
        Err(e) => return Err(e.into()),
    };
    let cookie = format!("{COOKIE}={}; Secure; HttpOnly; SameSite=Strict; Path=/", w.token);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response())
}

/// Ends the session (the portal's too: it is one session), back to the mailbox's login.
pub(crate) async fn logout(State(st): State<AppState>, PortalUserPending(u): PortalUserPending) -> Result<Response, PageError> {
    sessions::close_portal(&st, &u.user, &u.token_hash, &u.ip).await?;
    Ok(([(header::SET_COOKIE, format!("{COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"))], Redirect::to(LOGIN))
        .into_response())
}
