//! スタッフ: the office's users (added with a temporary password, disabled).

use super::user::PortalUser;
use super::who;
use crate::service::accounts;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "portal/staff.html")]
pub(crate) struct StaffT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    admin: bool,
    /// (login, name, role, state, may be disabled / reset, locked)
    rows: Vec<(String, String, &'static str, &'static str, bool, bool)>,
    created: Option<(String, String)>,
    flash: Option<String>,
    needs_second_factor: bool,
}

pub(crate) async fn staff_view(st: &AppState, u: &PortalUser, created: Option<(String, String)>, flash: Option<String>) -> Response {
    let users = match st.store.office_users(&u.user.office).await {
        Ok(users) => users,
        Err(e) => return PageError::from(e).into_response(),
    };
    let rows = users
        .into_iter()
        .map(|x| {
            let role = x.role.label();
            let locked = crate::service::resets::is_locked(&x, crate::jst::now());
            let state = if x.disabled {
                "利用停止"
            } else if locked {
                "ロック中"
            } else if x.must_change {
                "仮パスワード"
            } else {
                "利用中"
            };
            // An administrator cannot disable themself (the office would lose its administrator).
            let can_disable = !x.disabled && x.id != u.user.id;
            (x.login, x.name, role, state, can_disable, locked)
        })
        .collect();
    page(&StaffT {
        title: "スタッフ",
        nav: "staff",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        admin: u.user.role == crate::store::Role::Admin,
        rows,
        created,
        flash,
        needs_second_factor: u.user.role == crate::store::Role::Admin && !u.second_factor_passed,
    })
}

pub(crate) async fn staff(State(st): State<AppState>, u: PortalUser) -> Response {
    staff_view(&st, &u, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct StaffForm {
    name: String,
}

pub(crate) async fn add_staff(State(st): State<AppState>, u: PortalUser, Form(f): Form<StaffForm>) -> Response {
    match accounts::add_staff(&st, u.actor(), &u.user, u.second_factor_passed, &f.name).await {
        Ok(n) => staff_view(&st, &u, Some((n.login, n.password)), None).await,
        // The page says so, with the way to set it up.
        Err(e) if e.0.code == renkei_protocol::ErrorCode::SecondFactorRequired => staff_view(&st, &u, None, None).await,
        Err(e) if e.0.code.status() < 500 && e.0.code != renkei_protocol::ErrorCode::Forbidden => {
            staff_view(&st, &u, None, Some(e.0.message)).await
        }
        Err(e) => PageError(e).into_response(),
    }
}

pub(crate) async fn disable_staff(
    State(st): State<AppState>,
    u: PortalUser,
    axum::extract::Path(login): axum::extract::Path<String>,
) -> Response {
    match accounts::disable_staff(&st, u.actor(), &u.user, u.second_factor_passed, &login).await {
        Err(e) if e.0.code == renkei_protocol::ErrorCode::SecondFactorRequired => staff_view(&st, &u, None, None).await,
        Ok(name) => {
            staff_view(&st, &u, None, Some(format!("{login}（{name}）を利用停止にしました。ログイン中の画面と端末からも切断しました。")))
                .await
        }
        Err(e)
            if e.0.code.status() < 500
                && e.0.code != renkei_protocol::ErrorCode::Forbidden
                && e.0.code != renkei_protocol::ErrorCode::NotFound =>
        {
            staff_view(&st, &u, None, Some(e.0.message)).await
        }
        Err(e) => PageError(e).into_response(),
    }
}

/// 仮パスワードの再発行 of a user of the office: a 通知書 to hand over; the user's sessions end.
pub(crate) async fn reset_staff(
    State(st): State<AppState>,
    u: PortalUser,
    h: axum::http::HeaderMap,
    axum::extract::Path(login): axum::extract::Path<String>,
) -> Response {
    let by = crate::service::resets::By::OfficeAdmin { admin: &u.user, second_factor_passed: u.second_factor_passed };
    match crate::service::resets::reset_password(&st.store, u.actor(), by, &login).await {
        Ok(c) => crate::web::operator::accounts::letter(
            c,
            &h,
            "パスワードを再発行しました。利用者IDと新しい仮パスワード",
            "本人に渡してください",
            "/portal/staff".into(),
        ),
        Err(e) if e.0.code.status() < 500 => staff_view(&st, &u, None, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
}

/// ロック解除 of a user of the office.
pub(crate) async fn unlock_staff(
    State(st): State<AppState>,
    u: PortalUser,
    axum::extract::Path(login): axum::extract::Path<String>,
) -> Response {
    let by = crate::service::resets::By::OfficeAdmin { admin: &u.user, second_factor_passed: u.second_factor_passed };
    match crate::service::resets::unlock(&st.store, u.actor(), by, &login).await {
        Ok(name) => staff_view(&st, &u, None, Some(format!("{name}（{login}）のロックを解除しました"))).await,
        Err(e) if e.0.code.status() < 500 => staff_view(&st, &u, None, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
}
