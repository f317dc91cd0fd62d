//! Who is using the portal: the session cookie, its CSRF token and the password state, checked
//! for every page and every change.

use super::COOKIE;
use crate::auth;
use crate::jst::now;
use crate::service::accounts;
use crate::state::AppState;
use crate::store::{Audit, User};
use crate::web::guard::{change_allowed, cookie};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

/// A logged-in portal user, with the session's CSRF token (checked here for every state change).
#[derive(Debug, Clone)]
pub struct PortalUser {
    /// The user.
    pub user: User,
    /// The session's CSRF token.
    pub csrf: String,
    pub(crate) token_hash: String,
}

impl PortalUser {
    pub(crate) fn audit(&self, action: &'static str, detail: String) -> Audit<'_> {
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
            PortalReject::Csrf => crate::web::guard::csrf_refused(),
            PortalReject::ChangePassword => Redirect::to("/portal/password").into_response(),
            PortalReject::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "しばらくしてからもう一度お試しください").into_response(),
        }
    }
}

/// A portal user whose password may be temporary or expired: only for changing it and logging
/// out. Every other page takes [`PortalUser`], which sends such a user to the change first.
#[derive(Debug, Clone)]
pub struct PortalUserAnyPassword(pub PortalUser);

pub(crate) async fn portal_user(parts: &Parts, st: &AppState) -> Result<PortalUser, PortalReject> {
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
