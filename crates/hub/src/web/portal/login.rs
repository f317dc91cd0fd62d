//! ログイン and ログアウト.

use super::COOKIE;
use super::user::{PortalReject, PortalUserAnyPassword};
use crate::auth;
use crate::jst::now;
use crate::service::accounts;
use crate::state::AppState;
use crate::store::Audit;
use crate::web::guard::SameOrigin;
use crate::web::page::page;
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
) -> Response {
    let login = f.login.trim().to_owned();
    match accounts::login_user(&st.store, &st.config.auth, &login, &f.password, accounts::Door::Web, now())
        .await
        .map_err(|e| accounts::refusal(&st.config.auth, e))
    {
        Ok(user) => {
            let token = auth::token();
            let csrf = auth::token();
            let t = now();
            if st
                .store
                .add_portal_session(&auth::token_hash(&token), user.id, &csrf, t, t + st.config.auth.session_hours * 3600)
                .await
                .is_err()
            {
                return PortalReject::Internal.into_response();
            }
            let ip = ip.ip().to_string();
            let _ = st
                .store
                .audit(
                    Audit {
                        action: "portal.login",
                        office: Some(&user.office),
                        user_id: Some(user.id),
                        ip: Some(&ip),
                        ..Default::default()
                    },
                    t,
                )
                .await;
            let to = if accounts::password_state(&user, &st.config.auth, t).must_change() { "/portal/password" } else { "/portal/home" };
            let cookie = format!("{COOKIE}={token}; Secure; HttpOnly; SameSite=Strict; Path=/");
            ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
        }
        Err(e) => {
            page(&LoginT {
                title: "事業所ログイン", nav: "", who: String::new(), csrf: String::new(), error: Some(e.0.message), login
            })
        }
    }
}

pub(crate) async fn logout(State(st): State<AppState>, PortalUserAnyPassword(u): PortalUserAnyPassword) -> Response {
    let _ = st.store.end_portal_sessions(Some(&u.token_hash), u.user.id).await;
    let _ = st.store.audit(u.audit("portal.logout", String::new()), now()).await;
    ([(header::SET_COOKIE, format!("{COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"))], Redirect::to("/portal/login"))
        .into_response()
}
