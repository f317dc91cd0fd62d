//! お知らせ: publishing notices to every office or one.

use super::{Operator, OperatorReject};
use crate::auth;
use crate::jst::{jst_minutes, now};
use crate::state::AppState;
use crate::web::page::page;
use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "operator/notices.html")]
pub(crate) struct NoticesT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    notices: Vec<(String, String, String)>,
}

pub(crate) async fn notices_view(st: &AppState, op: &Operator, flash: Option<String>) -> Response {
    let notices = st
        .store
        .notices(None, None, 50)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.office.is_none())
        .map(|n| (jst_minutes(n.published_at), n.title, n.body))
        .collect();
    page(&NoticesT { title: "お知らせ", nav: "notices", who: op.who(), csrf: op.csrf.clone(), flash, notices })
}

pub(crate) async fn notices(State(st): State<AppState>, op: Operator) -> Response {
    notices_view(&st, &op, None).await
}

#[derive(Deserialize)]
pub(crate) struct NoticeForm {
    title: String,
    body: String,
}

pub(crate) async fn publish(State(st): State<AppState>, op: Operator, Form(f): Form<NoticeForm>) -> Response {
    let (title, body) = (f.title.trim().chars().take(100).collect::<String>(), f.body.trim().chars().take(4000).collect::<String>());
    if title.is_empty() || body.is_empty() {
        return notices_view(&st, &op, Some("件名と本文を入れてください".into())).await;
    }
    if st.store.add_notice(&auth::token()[..32], None, "operator", &title, &body, now()).await.is_err() {
        return OperatorReject::Internal.into_response();
    }
    let _ = st.store.audit(op.audit("operator.notice", None, &title), now()).await;
    notices_view(&st, &op, Some(format!("「{title}」を公開しました"))).await
}
