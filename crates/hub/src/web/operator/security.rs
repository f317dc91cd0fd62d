//! 2段階認証 for operators: required before any console page; set up at the first login.

use super::{Operator, OperatorPending};
use crate::state::AppState;
use crate::store::Account;
use crate::web::page::{PageError, page};
use crate::web::second_factor::{self as sf, CodeForm, EntryModel, SecurityModel};
use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};

const WHY: &str = "運営者はすべての画面の前に2段階認証が必要です。設定すると、コンソールを使えるようになります。";

#[derive(Template)]
#[template(path = "operator/security.html")]
pub(crate) struct SecurityT<'a> {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    m: &'a SecurityModel,
}

#[derive(Template)]
#[template(path = "operator/second_factor.html")]
pub(crate) struct EntryT<'a> {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    m: &'a EntryModel,
}

fn show(op: &Operator, m: &SecurityModel) -> Response {
    // The menu only once the second factor is passed.
    let who = if op.second_factor_passed { op.who() } else { String::new() };
    page(&SecurityT { title: "2段階認証", nav: "security", who, csrf: op.csrf.clone(), flash: None, m })
}

/// Setting up is for an operator without a second factor, or one who has passed it.
fn may_set_up(op: &Operator) -> bool {
    !op.second_factor_on || op.second_factor_passed
}

pub(crate) async fn security(State(st): State<AppState>, OperatorPending(op): OperatorPending) -> Result<Response, PageError> {
    if !may_set_up(&op) {
        return Ok(Redirect::to("/operator/second-factor").into_response());
    }
    Ok(show(&op, &sf::model(&st, Account::Operator(op.id), "/operator", WHY).await?))
}

pub(crate) async fn start(State(st): State<AppState>, OperatorPending(op): OperatorPending) -> Result<Response, PageError> {
    if !may_set_up(&op) {
        return Ok(Redirect::to("/operator/second-factor").into_response());
    }
    let m = sf::model(&st, Account::Operator(op.id), "/operator", WHY).await?;
    Ok(show(&op, &sf::start(&st, Account::Operator(op.id), &op.login, m).await?))
}

pub(crate) async fn confirm(
    State(st): State<AppState>,
    OperatorPending(mut op): OperatorPending,
    Form(f): Form<CodeForm>,
) -> Result<Response, PageError> {
    if !may_set_up(&op) {
        return Ok(Redirect::to("/operator/second-factor").into_response());
    }
    let account = Account::Operator(op.id);
    let m = sf::model(&st, account, "/operator", WHY).await?;
    let m = sf::confirm(&st, op.actor(), account, &op.login.clone(), &op.token_hash, &f.code, m).await?;
    op.second_factor_passed |= m.on;
    Ok(show(&op, &m))
}

pub(crate) async fn entry_page(OperatorPending(op): OperatorPending) -> Response {
    if !op.second_factor_on {
        return Redirect::to("/operator/security").into_response();
    }
    if op.second_factor_passed {
        return Redirect::to("/operator/").into_response();
    }
    page(&EntryT {
        title: "確認コードの入力",
        nav: "",
        who: String::new(),
        csrf: op.csrf.clone(),
        flash: None,
        m: &EntryModel { prefix: "/operator", error: None },
    })
}

pub(crate) async fn entry_post(
    State(st): State<AppState>,
    OperatorPending(op): OperatorPending,
    Form(f): Form<CodeForm>,
) -> Result<Response, PageError> {
    match sf::enter(&st, op.actor(), Account::Operator(op.id), &op.token_hash, &f.code).await? {
        None => Ok(Redirect::to("/operator/").into_response()),
        Some(error) => Ok(page(&EntryT {
            title: "確認コードの入力",
            nav: "",
            who: String::new(),
            csrf: op.csrf.clone(),
            flash: None,
            m: &EntryModel { prefix: "/operator", error: Some(error) },
        })),
    }
}
