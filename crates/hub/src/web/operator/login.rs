//! The console's login.

use super::{COOKIE, OperatorReject};
use crate::auth;
use crate::jst::now;
use crate::state::AppState;
use crate::store::Audit;
use crate::web::page::page;
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

pub(crate) async fn login_post(State(st): State<AppState>, _: crate::web::guard::SameOrigin, Form(f): Form<LoginForm>) -> Response {
    let fail = |e: String| page(&LoginT { title: "運営者ログイン", nav: "", who: String::new(), flash: None, error: Some(e) });
    let t = now();
    let (id, login) = match crate::service::accounts::login_operator(&st.store, &st.config.auth, f.login.trim(), &f.password, t).await {
        Ok(found) => found,
        Err(crate::service::accounts::LoginError::Credentials) => {
            let _ = st
                .store
                .audit(Audit { action: "operator.login_failed", detail: format!("operator={}", f.login.trim()), ..Default::default() }, t)
                .await;
            return fail(crate::service::accounts::credentials_message(&st.config.auth));
        }
        Err(e) => {
            tracing::error!(error = ?e, "operator login failed");
            return OperatorReject::Internal.into_response();
        }
    };
    let (token, csrf) = (auth::token(), auth::token());
    if st.store.add_operator_session(&auth::token_hash(&token), id, &csrf, t, t + 8 * 3600).await.is_err() {
        return OperatorReject::Internal.into_response();
    }
    let _ = st.store.audit(Audit { action: "operator.login", detail: format!("operator={login}"), ..Default::default() }, t).await;
    ([(header::SET_COOKIE, format!("{COOKIE}={token}; Secure; HttpOnly; SameSite=Strict; Path=/operator"))], Redirect::to("/operator/"))
        .into_response()
}
