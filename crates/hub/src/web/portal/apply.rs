//! 利用申請: the terms (scrolled to the end before agreeing) and the one-year licence it grants.

use super::user::PortalUser;
use super::{fee_text, ja_date, office_of, who};
use crate::service::licence;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The 利用規約 shown in 利用申請.
pub const TERMS: &str = include_str!("../../../templates/portal/terms.txt");

#[derive(Template)]
#[template(path = "portal/apply.html")]
pub(crate) struct ApplyT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    terms: &'static str,
    fee: String,
    error: Option<String>,
}

pub(crate) async fn apply_page(State(st): State<AppState>, u: PortalUser) -> Response {
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    page(&ApplyT {
        title: "利用申請",
        nav: "apply",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        terms: TERMS,
        fee: fee_text(&st),
        error: None,
    })
}

#[derive(Deserialize)]
pub(crate) struct ApplyForm {
    #[serde(default)]
    agree: Option<String>,
    #[serde(default)]
    read: String,
}

#[derive(Template)]
#[template(path = "portal/applied.html")]
pub(crate) struct AppliedT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    until: String,
    fee: String,
}

pub(crate) async fn apply_post(State(st): State<AppState>, u: PortalUser, Form(f): Form<ApplyForm>) -> Response {
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    if u.user.role != crate::store::Role::Admin || f.agree.is_none() || f.read != "1" {
        let error = if u.user.role != crate::store::Role::Admin {
            "利用申請は事業所の管理者が行います"
        } else {
            "利用規約を最後まで読み、「利用規約に同意する」にチェックを入れてください"
        };
        return page(&ApplyT {
            title: "利用申請",
            nav: "apply",
            who: who(&u.user),
            csrf: u.csrf.clone(),
            office: o.number,
            office_name: o.name,
            terms: TERMS,
            fee: fee_text(&st),
            error: Some(error.into()),
        });
    }
    let until = match licence::grant(&st, u.actor(), &u.user, false).await {
        Ok(until) => until,
        Err(e) => return PageError(e).into_response(),
    };
    page(&AppliedT {
        title: "利用申請の完了",
        nav: "apply",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        until: ja_date(&until),
        fee: fee_text(&st),
    })
}
