//! The console's login.

use super::COOKIE;
use crate::jst::now;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "operator/login.html")]
pub(crate) struct LoginT {
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

pub(crate) async fn login_post(
    State(st): State<AppState>,
    _: crate::web::guard::SameOrigin,
    axum::extract::ConnectInfo(ip): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Form(f): Form<LoginForm>,
) -> Response {
    let fail = |e: String| page(&LoginT { title: "運営者ログイン", nav: "", who: String::new(), flash: None, error: Some(e) });
    let ip = ip.ip().to_string();
    let t = now();
    let op = match crate::service::accounts::login_operator(&st.store, &st.config.auth, f.login.trim(), &f.password, t).await {
        Ok(op) => op,
        Err(crate::service::accounts::LoginError::Credentials) => {
            let audit =
                crate::service::Actor::Operator(f.login.trim(), &ip).audit(crate::store::AuditAction::OperatorLoginFailed, None, "");
            if let Err(e) = st.store.audit(audit, t).await {
                return PageError::from(e).into_response();
            }
            return fail(crate::service::accounts::credentials_message(&st.config.auth));
        }
        Err(e) => return PageError(crate::service::accounts::refusal(&st.config.auth, e)).into_response(),
    };
    let s = match crate::service::sessions::open_console(&st, &op, &ip).await {
        Ok(s) => s,
        Err(e) => return PageError(e).into_response(),
    };
    // Every operator has a second factor: set it up now, or enter it.
    let to = match st.store.second_factor(crate::store::Account::Operator(op.id)).await {
        Ok(sf) if sf.secret.is_some() => "/operator/second-factor",
        Ok(_) => "/operator/security",
        Err(e) => return PageError::from(e).into_response(),
    };
    ([(header::SET_COOKIE, format!("{COOKIE}={}; Secure; HttpOnly; SameSite=Strict; Path=/operator", s.token))], Redirect::to(to))
        .into_response()
}
