//! Who is using the portal: the session cookie, its CSRF token, the second factor and the
//! password state, checked for every page and every change.

use super::COOKIE;
use crate::auth;
use crate::jst::now;
use crate::service::Actor;
use crate::service::accounts;
use crate::state::AppState;
use crate::store::{Account, User};
use crate::web::guard::{change_allowed, cookie};
use crate::web::page::PageError;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;

/// A logged-in portal user, with the session's CSRF token (checked here for every state change).
#[derive(Debug, Clone)]
pub struct PortalUser {
    /// The user.
    pub user: User,
    /// The session's CSRF token.
    pub csrf: String,
    pub(crate) token_hash: String,
    /// The user has a second factor set up.
    pub second_factor_on: bool,
    /// This session has passed the second factor.
    pub second_factor_passed: bool,
    /// The client's address (audit).
    pub ip: String,
}

impl PortalUser {
    /// This user as the actor of a service call.
    pub fn actor(&self) -> Actor<'_> {
        Actor::Portal(&self.user, &self.ip)
    }
}

/// Why a portal request was refused.
#[derive(Debug)]
pub enum PortalReject {
    /// Not logged in: to the login page.
    Login,
    /// The CSRF token or origin is wrong.
    Csrf,
    /// The second factor is set up and this session has not passed it yet.
    SecondFactor,
    /// The password is temporary or expired: to the change page, before anything else.
    ChangePassword,
    /// The service failed (logged where it arose, with a お問い合わせ番号).
    Failed(PageError),
}

impl From<crate::store::StoreError> for PortalReject {
    fn from(e: crate::store::StoreError) -> Self {
        PortalReject::Failed(e.into())
    }
}

impl IntoResponse for PortalReject {
    fn into_response(self) -> Response {
        match self {
            PortalReject::Login => Redirect::to("/portal/login").into_response(),
            PortalReject::Csrf => crate::web::guard::csrf_refused(),
            PortalReject::SecondFactor => Redirect::to("/portal/second-factor").into_response(),
            PortalReject::ChangePassword => Redirect::to("/portal/password").into_response(),
            PortalReject::Failed(e) => e.into_response(),
        }
    }
}

/// A portal user who has given the password but not yet the second factor: only for entering
/// the code and logging out.
#[derive(Debug, Clone)]
pub struct PortalUserPending(pub PortalUser);

/// A portal user whose password may be temporary or expired: only for changing it and logging
/// out. Every other page takes [`PortalUser`], which sends such a user to the change first.
#[derive(Debug, Clone)]
pub struct PortalUserAnyPassword(pub PortalUser);

pub(crate) async fn portal_user(parts: &Parts, st: &AppState) -> Result<PortalUser, PortalReject> {
    let token = cookie(parts, COOKIE).ok_or(PortalReject::Login)?;
    let token_hash = auth::token_hash(&token);
    let session = st.store.web_session(crate::store::WebDoor::Portal, &token_hash, now()).await?.ok_or(PortalReject::Login)?;
    let mut user = st.store.user(session.account_id).await?.filter(|u| !u.disabled).ok_or(PortalReject::Login)?;
    user.must_change = accounts::password_state(&user, &st.config.auth, now()).must_change();
    if !change_allowed(parts, &session.csrf) {
        return Err(PortalReject::Csrf);
    }
    let second_factor_on = st.store.second_factor(Account::User(user.id)).await?.secret.is_some();
    let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(String::new, |c| c.0.ip().to_string());
    Ok(PortalUser { user, csrf: session.csrf, token_hash, second_factor_on, second_factor_passed: session.second_factor_at.is_some(), ip })
}

impl FromRequestParts<AppState> for PortalUserPending {
    type Rejection = PortalReject;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        portal_user(parts, st).await.map(PortalUserPending)
    }
}

impl FromRequestParts<AppState> for PortalUserAnyPassword {
    type Rejection = PortalReject;

    /// The second factor first (when set up), then the password.
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let u = portal_user(parts, st).await?;
        if u.second_factor_on && !u.second_factor_passed {
            return Err(PortalReject::SecondFactor);
        }
        Ok(PortalUserAnyPassword(u))
    }
}

impl FromRequestParts<AppState> for PortalUser {
    type Rejection = PortalReject;

    /// Every request, page or change: the second factor (when set up), then a temporary or
    /// expired password goes to the change page.
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let PortalUserAnyPassword(u) = PortalUserAnyPassword::from_request_parts(parts, st).await?;
        if u.user.must_change {
            return Err(PortalReject::ChangePassword);
        }
        Ok(u)
    }
}
