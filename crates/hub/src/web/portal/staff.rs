//! スタッフ: the office's users (added with a temporary password, disabled).

use super::user::{PortalReject, PortalUser};
use super::who;
use crate::auth;
use crate::jst::now;
use crate::state::AppState;
use crate::web::page::page;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
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
    rows: Vec<(String, String, &'static str, &'static str, bool)>,
    created: Option<(String, String)>,
    flash: Option<String>,
}

pub(crate) async fn staff_view(st: &AppState, u: &PortalUser, created: Option<(String, String)>, flash: Option<String>) -> Response {
    let Ok(users) = st.store.office_users(&u.user.office).await else { return PortalReject::Internal.into_response() };
    let rows = users
        .into_iter()
        .map(|x| {
            let role = if x.role == "admin" { "管理者" } else { "職員" };
            let state = if x.disabled {
                "利用停止"
            } else if x.must_change {
                "仮パスワード"
            } else {
                "利用中"
            };
            // An administrator cannot disable themself (the office would lose its administrator).
            let can_disable = !x.disabled && x.id != u.user.id;
            (x.login, x.name, role, state, can_disable)
        })
        .collect();
    page(&StaffT {
        title: "スタッフ",
        nav: "staff",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        admin: u.user.role == "admin",
        rows,
        created,
        flash,
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
    if u.user.role != "admin" {
        return (StatusCode::FORBIDDEN, "職員を追加できるのは事業所の管理者だけです").into_response();
    }
    let name: String = f.name.trim().chars().take(40).collect();
    if name.is_empty() {
        return staff_view(&st, &u, None, Some("氏名を入れてください".into())).await;
    }
    let Ok(users) = st.store.office_users(&u.user.office).await else { return PortalReject::Internal.into_response() };
    // 電子請求-style IDs: KJ + 事業所番号 + two digits.
    let Some(login) = (1..100).map(|n| format!("KJ{}{n:02}", u.user.office)).find(|l| users.iter().all(|x| &x.login != l)) else {
        return staff_view(&st, &u, None, Some("これ以上職員を追加できません（99人まで）".into())).await;
    };
    let password = auth::temporary_password();
    let pw = password.clone();
    let Ok(Ok(hash)) = tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await else {
        return PortalReject::Internal.into_response();
    };
    let new = crate::store::NewUser {
        login: &login,
        office: &u.user.office,
        role: "staff",
        name: &name,
        password_hash: &hash,
        must_change: true,
    };
    if st.store.add_user(&new, now()).await.is_err() {
        return PortalReject::Internal.into_response();
    }
    let _ = st.store.audit(u.audit("portal.staff_add", format!("login={login}")), now()).await;
    staff_view(&st, &u, Some((login, password)), None).await
}

pub(crate) async fn disable_staff(
    State(st): State<AppState>,
    u: PortalUser,
    axum::extract::Path(login): axum::extract::Path<String>,
) -> Response {
    if u.user.role != "admin" {
        return (StatusCode::FORBIDDEN, "利用停止は事業所の管理者が行います").into_response();
    }
    let Ok(Some(target)) = st.store.user_by_login(&login).await else {
        return (StatusCode::NOT_FOUND, "そのログインIDはありません").into_response();
    };
    if target.office != u.user.office {
        return (StatusCode::NOT_FOUND, "そのログインIDはありません").into_response();
    }
    if target.id == u.user.id {
        return staff_view(&st, &u, None, Some("自分自身は利用停止にできません".into())).await;
    }
    if st.store.disable_user(target.id, now()).await.is_err() {
        return PortalReject::Internal.into_response();
    }
    let _ = st.store.audit(u.audit("portal.staff_disable", format!("login={login}")), now()).await;
    staff_view(&st, &u, None, Some(format!("{login}（{}）を利用停止にしました。ログイン中の画面と端末からも切断しました。", target.name)))
        .await
}
