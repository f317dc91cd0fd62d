//! The operator console (運営者コンソール, `/operator`): its own accounts (`renkei-hub operator
//! add`) and browser sessions, apart from offices. Import the office registry (with a per-line
//! error list), publish notices, look up any office (license, terminals, users) and revoke
//! terminals, search the audit log, see the traffic (files per day and per prefecture). Every
//! action is audited; every state change needs the session's CSRF token and a same-origin request.

pub mod accounts;
pub mod audit;
pub mod licences;
pub mod login;
pub mod notices;
pub mod offices;
pub mod registry;
pub mod security;
pub mod status;
pub mod top;

use crate::auth;
use crate::jst::now;
use crate::state::AppState;
use crate::web::page::PageError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

pub(crate) const COOKIE: &str = "renkei_operator";

/// A logged-in operator who has passed the second factor (required for every operator).
#[derive(Debug, Clone)]
pub struct Operator {
    pub(crate) id: i64,
    pub(crate) login: String,
    name: String,
    pub(crate) csrf: String,
    pub(crate) token_hash: String,
    pub(crate) ip: String,
    pub(crate) second_factor_on: bool,
    pub(crate) second_factor_passed: bool,
}

impl Operator {
    /// This operator as the actor of a service call.
    pub(crate) fn actor(&self) -> crate::service::Actor<'_> {
        crate::service::Actor::Operator(&self.login, &self.ip)
    }
    pub(crate) fn who(&self) -> String {
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
    /// No second factor yet: to setting it up (operators must have one).
    SetUpSecondFactor,
    /// The second factor is due in this session.
    SecondFactor,
    /// The service failed (logged where it arose, with a お問い合わせ番号).
    Failed(PageError),
}

impl From<crate::store::StoreError> for OperatorReject {
    fn from(e: crate::store::StoreError) -> Self {
        OperatorReject::Failed(e.into())
    }
}

impl IntoResponse for OperatorReject {
    fn into_response(self) -> Response {
        match self {
            OperatorReject::Login => Redirect::to("/operator/login").into_response(),
            OperatorReject::Csrf => crate::web::guard::csrf_refused(),
            OperatorReject::SetUpSecondFactor => Redirect::to("/operator/security").into_response(),
            OperatorReject::SecondFactor => Redirect::to("/operator/second-factor").into_response(),
            OperatorReject::Failed(e) => e.into_response(),
        }
    }
}

/// An operator logged in with the password, whatever the second factor's state: only for
/// setting it up, entering it, and logging out.
#[derive(Debug, Clone)]
pub struct OperatorPending(pub Operator);

impl FromRequestParts<AppState> for OperatorPending {
    type Rejection = OperatorReject;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let token = crate::web::guard::cookie(parts, COOKIE).ok_or(OperatorReject::Login)?;
        let token_hash = auth::token_hash(&token);
        let session = st.store.web_session(crate::store::WebDoor::Console, &token_hash, now()).await?.ok_or(OperatorReject::Login)?;
        let op = st.store.operator(None, Some(session.account_id)).await?.ok_or(OperatorReject::Login)?;
        if !crate::web::guard::change_allowed(parts, &session.csrf) {
            return Err(OperatorReject::Csrf);
        }
        let second_factor_on = st.store.second_factor(crate::store::Account::Operator(op.id)).await?.secret.is_some();
        let ip =
            parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map_or_else(String::new, |c| c.0.ip().to_string());
        Ok(OperatorPending(Operator {
            id: op.id,
            login: op.login,
            name: op.name,
            csrf: session.csrf,
            token_hash,
            ip,
            second_factor_on,
            second_factor_passed: session.second_factor_at.is_some(),
        }))
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = OperatorReject;

    /// Every console page and change: a session, the CSRF check, and the second factor (set up,
    /// and passed in this session).
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let OperatorPending(op) = OperatorPending::from_request_parts(parts, st).await?;
        if !op.second_factor_on {
            return Err(OperatorReject::SetUpSecondFactor);
        }
        if !op.second_factor_passed {
            return Err(OperatorReject::SecondFactor);
        }
        Ok(op)
    }
}
