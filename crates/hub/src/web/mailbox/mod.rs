//! The web mailbox (`/mailbox`): the office's screens in the browser for an office with nothing
//! installed — トップ, 受信一覧, 受信詳細 with データ取得 (one file, or a ZIP of messages), 送信一覧,
//! 新規作成 with the checks as files are dropped, 帳票表示. The same pages as the client's local UI
//! ([`renkei_screens::office`]); the data comes from the same services as the API.
//!
//! Who may do what is decided by [`crate::service::sessions::authenticate_mailbox`]: the portal's
//! session (cookie `renkei_portal`: Secure, HttpOnly, SameSite=Strict; CSRF token as the first
//! form field or, from the page's own script, a header; same-origin `Origin`), the second factor
//! set up and passed in the session, a current password; the office's own mail only. Every
//! change is audited by the service it calls.

pub mod bulk;
pub mod compose;
pub mod drafts;
pub mod login;
pub mod messages;
pub mod reconcile;
pub mod top;

use crate::auth;
use crate::service::sessions::{Caller, MailboxRefusal, authenticate_mailbox};
use crate::state::AppState;
use crate::web::guard::{change_allowed, cookie};
use crate::web::page::{PageError, page};
use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use renkei_screens::office::{Layout, NoticePage};
use std::net::SocketAddr;

/// Where the mailbox's login page is.
pub const LOGIN: &str = "/mailbox/login";

/// A web mailbox user: checked for every page and every change.
#[derive(Debug, Clone)]
pub struct MailboxUser {
    /// The caller, acting for its own office through the browser.
    pub caller: Caller,
    /// The session's CSRF token (the pages' forms carry it).
    pub csrf: String,
}

/// Why a mailbox request was refused, as the browser is answered.
#[derive(Debug)]
pub struct Reject(MailboxRefusal);

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        match self.0 {
            MailboxRefusal::Login | MailboxRefusal::SecondFactor => Redirect::to(LOGIN).into_response(),
            MailboxRefusal::NoSecondFactor => Redirect::to("/portal/security").into_response(),
            MailboxRefusal::ChangePassword => Redirect::to("/portal/password").into_response(),
            MailboxRefusal::Csrf => crate::web::guard::csrf_refused(),
            MailboxRefusal::Certificate => (StatusCode::FORBIDDEN, crate::service::sessions::CERTIFICATE_NEEDED_JA).into_response(),
            MailboxRefusal::Failed(e) => PageError(e).into_response(),
        }
    }
}

impl FromRequestParts<AppState> for MailboxUser {
    type Rejection = Reject;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let token = cookie(parts, crate::web::portal::COOKIE).ok_or(Reject(MailboxRefusal::Login))?;
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(String::new, |c| c.0.ip().to_string());
        let fingerprint = parts.extensions.get::<crate::tls::PeerCert>().and_then(|p| p.fingerprint.clone());
        let s = authenticate_mailbox(st, &auth::token_hash(&token), &ip, fingerprint.as_deref(), |csrf| change_allowed(parts, csrf))
            .await
            .map_err(Reject)?;
        Ok(MailboxUser { caller: s.caller, csrf: s.csrf })
    }
}

/// How many unfetched messages the screens count before saying 「1000 件以上」.
pub(crate) const UNREAD_COUNTED: i64 = 1000;

/// What every mailbox page shows around its content, with the unfetched count (受信一覧's badge).
pub(crate) async fn layout(st: &AppState, u: &MailboxUser, title: &str, nav: &'static str) -> Result<Layout, PageError> {
    let office = st.store.office(&u.caller.office).await?;
    Ok(Layout {
        office: u.caller.office.clone(),
        office_name: office.map(|o| o.name).unwrap_or_default(),
        user: u.caller.user.name.clone(),
        csrf: u.csrf.clone(),
        unread: Some(st.store.unfetched_count(&u.caller.office, UNREAD_COUNTED).await?),
        ..Layout::web(title, nav)
    })
}

/// A short page with one sentence (something the user can act on).
pub(crate) async fn notice(st: &AppState, u: &MailboxUser, title: &str, nav: &'static str, status: StatusCode, text: String) -> Response {
    match layout(st, u, title, nav).await {
        Ok(l) => (status, page(&NoticePage { l, text })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The name an office goes by, for the lists (「（未登録の事業所）」 for a number not on the system).
pub(crate) async fn office_name(st: &AppState, number: &str) -> Result<String, PageError> {
    Ok(st.store.office(number).await?.map_or_else(|| "（未登録の事業所）".to_owned(), |o| o.name))
}

/// The office screens' static files (shared with the client's local UI).
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    match renkei_screens::office::asset(&file) {
        Some((body, ctype)) => ([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, "max-age=3600")], body).into_response(),
        None => (StatusCode::NOT_FOUND, "見つかりません").into_response(),
    }
}
