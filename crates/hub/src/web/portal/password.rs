//! パスワード変更 (forced first for a temporary or expired password).

use super::user::PortalUserAnyPassword;
use super::who;
use crate::jst::now;
use crate::service::accounts;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "portal/password.html")]
pub(crate) struct PasswordT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    forced: bool,
    error: Option<String>,
}

pub(crate) async fn password_page(PortalUserAnyPassword(u): PortalUserAnyPassword) -> Response {
    page(&PasswordT {
        title: "パスワードの変更",
        nav: "",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        forced: u.user.must_change,
        error: None,
    })
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    current: String,
    new: String,
    again: String,
}

pub(crate) async fn password_post(
    State(st): State<AppState>,
    PortalUserAnyPassword(u): PortalUserAnyPassword,
    Form(f): Form<PasswordForm>,
) -> Response {
    let fail = |msg: &str| {
        page(&PasswordT {
            title: "パスワードの変更",
            nav: "",
            who: who(&u.user),
            csrf: u.csrf.clone(),
            forced: u.user.must_change,
            error: Some(msg.into()),
        })
    };
    if f.new != f.again {
        return fail("新しいパスワードが2回とも同じではありません");
    }
    // Every other session of this user ends (browser and terminals); this one goes on.
    let audit = u.actor().audit(crate::store::AuditAction::PortalPassword, None, "");
    match accounts::change_password(&st.store, &u.user, &f.current, &f.new, accounts::Keeping::Portal(&u.token_hash), audit, now()).await {
        Ok(()) => {}
        Err(accounts::PasswordError::WrongCurrent) => return fail("今のパスワードが違います"),
        Err(accounts::PasswordError::Policy) => return fail(accounts::PASSWORD_RULE),
        Err(accounts::PasswordError::Store(e)) => return PageError::from(e).into_response(),
        Err(accounts::PasswordError::Internal(e)) => return PageError(crate::error::ApiError::internal(e)).into_response(),
    }
    Redirect::to("/portal/home").into_response()
}
