//! ログイン and ログアウト.

use super::COOKIE;
use super::user::PortalUserPending;
use crate::jst::now;
use crate::service::{accounts, sessions};
use crate::state::AppState;
use crate::store::Account;
use crate::web::guard::SameOrigin;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Template)]
#[template(path = "portal/login.html")]
pub(crate) struct LoginT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    error: Option<String>,
    login: String,
}

pub(crate) async fn login_page() -> Response {
    page(&LoginT { title: "事業所ログイン", nav: "", who: String::new(), csrf: String::new(), error: None, login: String::new() })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    login: String,
    password: String,
}

pub(crate) async fn login_post(
    State(st): State<AppState>,
    _: SameOrigin,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let login = f.login.trim().to_owned();
    let user = match accounts::login_user(&st.store, &st.config.auth, &login, &f.password, accounts::Door::Web, now()).await {
        Ok(user) => user,
        Err(e) => {
            let message = accounts::refusal(&st.config.auth, e).0.message;
            return Ok(page(&LoginT {
                title: "事業所ログイン",
                nav: "",
                who: String::new(),
                csrf: String::new(),
                error: Some(message),
                login,
            }));
        }
    };
    let s = sessions::open_portal(&st, &user, &ip.ip().to_string()).await?;
    // The second factor (when set up) comes before anything else, the password change included.
    let to = if st.store.second_factor(Account::User(user.id)).await?.secret.is_some() {
        "/portal/second-factor"
    } else if accounts::password_state(&user, &st.config.auth, now()).must_change() {
        "/portal/password"
    } else {
        "/portal/home"
    };
    let cookie = format!("{COOKIE}={}; Secure; HttpOnly; SameSite=Strict; Path=/", s.token);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response())
}

pub(crate) async fn logout(State(st): State<AppState>, PortalUserPending(u): PortalUserPending) -> Result<Response, PageError> {
    sessions::close_portal(&st, &u.user, &u.token_hash, &u.ip).await?;
    Ok(([(header::SET_COOKIE, format!("{COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"))], Redirect::to("/portal/login"))
        .into_response())
}
