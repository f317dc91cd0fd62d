//! 2段階認証: setting up the second factor, and entering it after the password.

use super::user::{PortalUser, PortalUserAnyPassword, PortalUserPending};
use super::who;
use crate::state::AppState;
use crate::store::Account;
use crate::web::page::{PageError, page};
use crate::web::second_factor::{self as sf, CodeForm, EntryModel, SecurityModel};
use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};

const WHY: &str = "事業所の管理者は、端末登録コードの発行とスタッフの管理の前に設定が必要です。パスワードが漏れても、第三者があなたの事業所の端末を登録できなくなります。";

#[derive(Template)]
#[template(path = "portal/security.html")]
pub(crate) struct SecurityT<'a> {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    m: &'a SecurityModel,
}

#[derive(Template)]
#[template(path = "portal/second_factor.html")]
pub(crate) struct EntryT<'a> {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    m: &'a EntryModel,
}

fn show(u: &PortalUser, m: &SecurityModel) -> Response {
    page(&SecurityT { title: "2段階認証", nav: "security", who: who(&u.user), csrf: u.csrf.clone(), m })
}

fn account(u: &PortalUser) -> Account {
    Account::User(u.user.id)
}

pub(crate) async fn security(State(st): State<AppState>, PortalUserAnyPassword(u): PortalUserAnyPassword) -> Result<Response, PageError> {
    Ok(show(&u, &sf::model(&st, account(&u), "/portal", WHY).await?))
}

pub(crate) async fn start(State(st): State<AppState>, PortalUserAnyPassword(u): PortalUserAnyPassword) -> Result<Response, PageError> {
    let m = sf::model(&st, account(&u), "/portal", WHY).await?;
    Ok(show(&u, &sf::start(&st, account(&u), &u.user.login, m).await?))
}

pub(crate) async fn confirm(
    State(st): State<AppState>,
    PortalUserAnyPassword(u): PortalUserAnyPassword,
    Form(f): Form<CodeForm>,
) -> Result<Response, PageError> {
    let m = sf::model(&st, account(&u), "/portal", WHY).await?;
    Ok(show(&u, &sf::confirm(&st, u.actor(), account(&u), &u.user.login, &u.token_hash, &f.code, m).await?))
}

pub(crate) async fn disable(
    State(st): State<AppState>,
    PortalUserAnyPassword(u): PortalUserAnyPassword,
    Form(f): Form<CodeForm>,
) -> Result<Response, PageError> {
    let m = sf::model(&st, account(&u), "/portal", WHY).await?;
    Ok(show(&u, &sf::disable(&st, u.actor(), account(&u), &f.code, m).await?))
}

pub(crate) async fn entry_page(PortalUserPending(u): PortalUserPending) -> Response {
    if !u.second_factor_on || u.second_factor_passed {
        return Redirect::to("/portal/home").into_response();
    }
    page(&EntryT {
        title: "確認コードの入力",
        nav: "",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        m: &EntryModel { prefix: "/portal", error: None },
    })
}

pub(crate) async fn entry_post(
    State(st): State<AppState>,
    PortalUserPending(u): PortalUserPending,
    Form(f): Form<CodeForm>,
) -> Result<Response, PageError> {
    match sf::enter(&st, u.actor(), account(&u), &u.token_hash, &f.code).await? {
        None if u.user.must_change => Ok(Redirect::to("/portal/password").into_response()),
        None => Ok(Redirect::to("/portal/home").into_response()),
        Some(error) => Ok(page(&EntryT {
            title: "確認コードの入力",
            nav: "",
            who: who(&u.user),
            csrf: u.csrf.clone(),
            m: &EntryModel { prefix: "/portal", error: Some(error) },
        })),
    }
}
