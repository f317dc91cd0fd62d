//! 稼働状況: the operator sets 正常稼働中, メンテナンス予定 (with its window) or 障害発生中 (with a
//! text); offices see it on the client's トップ, in the portal and in the API.

use super::Operator;
use crate::jst::{local_input, now, parse_local};
use crate::service::status::StatusChange;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use renkei_protocol::OperatingState;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "operator/status.html")]
pub(crate) struct StatusT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    error: Option<String>,
    /// What offices read now.
    label: String,
    /// Who set it, when.
    set_by: String,
    form: StatusForm,
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct StatusForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

async fn status_view(st: &AppState, op: &Operator, flash: Option<String>, error: Option<String>, form: Option<StatusForm>) -> Response {
    let row = match st.store.operating_status().await {
        Ok(r) => r,
        Err(e) => return PageError::from(e).into_response(),
    };
    let shown = crate::service::status::view(row.as_ref(), now());
    let form = form.unwrap_or_else(|| StatusForm {
        state: row.as_ref().map_or("normal".into(), |r| r.state.clone()),
        message: row.as_ref().map(|r| r.message.clone()).unwrap_or_default(),
        from: row.as_ref().and_then(|r| r.starts_at).map(local_input).unwrap_or_default(),
        until: row.as_ref().and_then(|r| r.ends_at).map(local_input).unwrap_or_default(),
    });
    page(&StatusT {
        title: "稼働状況",
        nav: "status",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash,
        error,
        label: shown.label,
        set_by: row
            .map(|r| format!("{}（{}）", crate::jst::jst_minutes(r.updated_at), r.updated_by))
            .unwrap_or_else(|| "まだ設定されていません".into()),
        form,
    })
}

pub(crate) async fn status_page(State(st): State<AppState>, op: Operator) -> Response {
    status_view(&st, &op, None, None, None).await
}

pub(crate) async fn set_status(State(st): State<AppState>, op: Operator, Form(f): Form<StatusForm>) -> Response {
    let state = OperatingState::parse(&f.state).unwrap_or_default();
    let window = match (parse_local(&f.from), parse_local(&f.until)) {
        (Some(a), Some(b)) => Some((a, b)),
        _ if state == OperatingState::Maintenance && (!f.from.trim().is_empty() || !f.until.trim().is_empty()) => {
            return status_view(&st, &op, None, Some("日時を読めません（例: 2026-12-05 22:00）".into()), Some(f)).await;
        }
        _ => None,
    };
    let change = StatusChange { state, message: f.message.clone(), window };
    match crate::service::status::set(&st.store, op.actor(), &op.login, &change, now()).await {
        Ok(()) => status_view(&st, &op, Some("稼働状況を更新しました".into()), None, None).await,
        Err(e) if e.0.code == renkei_protocol::ErrorCode::BadRequest => status_view(&st, &op, None, Some(e.0.message), Some(f)).await,
        Err(e) => PageError(e).into_response(),
    }
}
