//! The operator console (運営者コンソール, `/operator`): its own accounts (`renkei-hub operator
//! add`) and browser sessions, apart from offices. Import the office registry (with a per-line
//! error list), publish notices, look up any office (license, terminals, users) and revoke
//! terminals, search the audit log, see the traffic (files per day and per prefecture). Every
//! action is audited; every state change needs the session's CSRF token and a same-origin request.

pub mod audit;
pub mod login;
pub mod notices;
pub mod offices;
pub mod registry;
pub mod top;

use crate::auth;
use crate::jst::now;
use crate::state::AppState;
use crate::store::Audit;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

pub(crate) const COOKIE: &str = "renkei_operator";

/// A logged-in operator.
#[derive(Debug, Clone)]
pub struct Operator {
    pub(crate) login: String,
    name: String,
    csrf: String,
}

impl Operator {
    pub(crate) fn audit<'a>(&self, action: &'a str, office: Option<&'a str>, detail: &str) -> Audit<'a> {
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
        let token = crate::web::guard::cookie(parts, COOKIE).ok_or(OperatorReject::Login)?;
        let (id, csrf) = st
            .store
            .operator_session(&auth::token_hash(&token), now())
            .await
            .map_err(|_| OperatorReject::Internal)?
            .ok_or(OperatorReject::Login)?;
        let (_, login, name, _, _) =
            st.store.operator(None, Some(id)).await.map_err(|_| OperatorReject::Internal)?.ok_or(OperatorReject::Login)?;
        if !crate::web::guard::change_allowed(parts, &csrf) {
            return Err(OperatorReject::Csrf);
        }
        Ok(Operator { login, name, csrf })
    }
}
