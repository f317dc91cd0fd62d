//! Accounts in the console: a new office with its first administrator (and the 利用者ID・仮パスワード
//! 通知書 to send by post), password resets and unlocks of administrators after recording how
//! the caller's identity was checked, and the operator's own password.

use super::Operator;
use crate::service::offices::{Credentials, NewOffice};
use crate::service::resets::{By, IDENTITY_CHECKS};
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use renkei_protocol::ErrorCode;
use serde::Deserialize;

/// The printable 通知書 (shared by the console and the portal).
#[derive(Template)]
#[template(path = "letter.html")]
pub(crate) struct LetterT {
    pub(crate) c: Credentials,
    pub(crate) date: String,
    pub(crate) purpose: &'static str,
    pub(crate) send_by: &'static str,
    pub(crate) portal: String,
    pub(crate) back: String,
}

/// The portal's login page as offices reach it (from the request's host).
pub(crate) fn portal_url(h: &HeaderMap) -> String {
    let host = h.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    format!("https://{host}/portal/login")
}

pub(crate) fn letter(c: Credentials, h: &HeaderMap, purpose: &'static str, send_by: &'static str, back: String) -> Response {
    let date = crate::jst::today();
    page(&LetterT {
        c,
        date: format!("{}年{}月{}日", date.year(), u8::from(date.month()), date.day()),
        purpose,
        send_by,
        portal: portal_url(h),
        back,
    })
}

#[derive(Template)]
#[template(path = "operator/office_new.html")]
pub(crate) struct OfficeNewT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    error: Option<String>,
    form: OfficeForm,
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct OfficeForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kinds: String,
    #[serde(default)]
    admin_name: String,
}

fn office_form(op: &Operator, error: Option<String>, form: OfficeForm) -> Response {
    page(&OfficeNewT { title: "事業所の新規登録", nav: "offices", who: op.who(), csrf: op.csrf.clone(), flash: None, error, form })
}

pub(crate) async fn new_office_page(op: Operator) -> Response {
    office_form(&op, None, OfficeForm::default())
}

pub(crate) async fn create_office(State(st): State<AppState>, op: Operator, h: HeaderMap, Form(f): Form<OfficeForm>) -> Response {
    let o = NewOffice { number: f.number.clone(), name: f.name.clone(), kinds: f.kinds.clone(), admin_name: f.admin_name.clone() };
    match crate::service::offices::create_office(&st.store, op.actor(), &o).await {
        Ok(c) => {
            let back = format!("/operator/offices?q={}", c.office);
            letter(c, &h, "利用者ID（事業所の管理者）と仮パスワード", "郵送で事業所へお送りください", back)
        }
        Err(e) if e.0.code == ErrorCode::BadRequest => office_form(&op, Some(e.0.message), f),
        Err(e) => PageError(e).into_response(),
    }
}

/// How identity was checked, as the reset and unlock forms send it.
#[derive(Deserialize, Default)]
pub(crate) struct IdentityForm {
    #[serde(default)]
    identity: String,
    #[serde(default)]
    note: String,
}

/// A refusal shown on the office's page; anything else is an error page.
async fn refused(st: &AppState, op: &Operator, office: &str, e: crate::error::ApiError) -> Response {
    if matches!(e.0.code, ErrorCode::BadRequest | ErrorCode::Forbidden | ErrorCode::NotFound) {
        super::offices::office_view(st, op, office, Some(e.0.message)).await
    } else {
        PageError(e).into_response()
    }
}

pub(crate) async fn reset(
    State(st): State<AppState>,
    op: Operator,
    h: HeaderMap,
    Path(login): Path<String>,
    Form(f): Form<IdentityForm>,
) -> Response {
    let by = By::Operator { identity: &f.identity, note: &f.note };
    match crate::service::resets::reset_password(&st.store, op.actor(), by, &login).await {
        Ok(c) => {
            let back = format!("/operator/offices?q={}", c.office);
            letter(c, &h, "パスワードを再発行しました。利用者IDと新しい仮パスワード", "郵送で事業所へお送りください", back)
        }
        Err(e) => {
            let office = st.store.user_by_login(&login).await.ok().flatten().map(|u| u.office).unwrap_or_default();
            refused(&st, &op, &office, e).await
        }
    }
}

pub(crate) async fn unlock(State(st): State<AppState>, op: Operator, Path(login): Path<String>, Form(f): Form<IdentityForm>) -> Response {
    let office = st.store.user_by_login(&login).await.ok().flatten().map(|u| u.office).unwrap_or_default();
    let by = By::Operator { identity: &f.identity, note: &f.note };
    match crate::service::resets::unlock(&st.store, op.actor(), by, &login).await {
        Ok(name) => super::offices::office_view(&st, &op, &office, Some(format!("{name}（{login}）のロックを解除しました"))).await,
        Err(e) => refused(&st, &op, &office, e).await,
    }
}

/// The identity checks offered on the forms.
pub(crate) fn identity_checks() -> Vec<(&'static str, &'static str)> {
    IDENTITY_CHECKS.to_vec()
}

#[derive(Template)]
#[template(path = "operator/password.html")]
pub(crate) struct PasswordT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    error: Option<String>,
    rule: &'static str,
}

pub(crate) async fn password_page(op: Operator) -> Response {
    page(&PasswordT {
        title: "パスワードの変更",
        nav: "password",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash: None,
        error: None,
        rule: crate::service::accounts::PASSWORD_RULE,
    })
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    current: String,
    new: String,
    again: String,
}

pub(crate) async fn password_post(State(st): State<AppState>, op: Operator, Form(f): Form<PasswordForm>) -> Response {
    use crate::service::accounts::PasswordError;
    let t = |flash: Option<String>, error: Option<String>| {
        page(&PasswordT {
            title: "パスワードの変更",
            nav: "password",
            who: op.who(),
            csrf: op.csrf.clone(),
            flash,
            error,
            rule: crate::service::accounts::PASSWORD_RULE,
        })
    };
    if f.new != f.again {
        return t(None, Some("新しいパスワードが2回とも同じになるように入れてください".into()));
    }
    match crate::service::accounts::change_operator_password(&st.store, op.actor(), op.id, &f.current, &f.new, &op.token_hash).await {
        Ok(()) => t(Some("パスワードを変更しました。ほかの画面のログインは終了しました".into()), None),
        Err(PasswordError::WrongCurrent) => t(None, Some("今のパスワードが違います".into())),
        Err(PasswordError::Policy) => t(None, Some(crate::service::accounts::PASSWORD_RULE.into())),
        Err(PasswordError::Store(e)) => PageError::from(e).into_response(),
        Err(PasswordError::Internal(e)) => PageError(crate::error::ApiError::internal(e)).into_response(),
    }
}
