//! お知らせ: publishing notices to every office or one.

use super::Operator;
use crate::jst::jst_minutes;
use crate::state::AppState;
use crate::web::page::{PageError, page};
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
    let notices = match st.store.notices(None, None, 50).await {
        Ok(n) => n,
        Err(e) => return PageError::from(e).into_response(),
    };
    let notices = notices.into_iter().filter(|n| n.office.is_none()).map(|n| (jst_minutes(n.published_at), n.title, n.body)).collect();
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
    match crate::service::notices::publish(&st.store, op.actor(), None, &f.title, &f.body).await {
        Ok(n) => {
            st.events.send(None, renkei_protocol::Event::Notice { id: n.public_id.clone(), title: n.title.clone() });
            notices_view(&st, &op, Some(format!("「{}」を公開しました", n.title))).await
        }
        Err(e) if e.0.code == renkei_protocol::ErrorCode::BadRequest => notices_view(&st, &op, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
}
