//! 監査ログ: searching the audit log.

use super::Operator;
use crate::jst::jst_minutes;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub(crate) struct AuditQ {
    #[serde(default)]
    action: String,
    #[serde(default)]
    office: String,
}

pub(crate) type AuditView = (String, String, String, String, String, String, String);

#[derive(Template)]
#[template(path = "operator/audit.html")]
pub(crate) struct AuditT {
    title: &'static str,
    nav: &'static str,
    who: String,
    flash: Option<String>,
    action: String,
    office: String,
    rows: Vec<AuditView>,
}

pub(crate) async fn audit(State(st): State<AppState>, op: Operator, Query(q): Query<AuditQ>) -> Response {
    let (action, office) = (q.action.trim().to_owned(), q.office.trim().to_owned());
    let found =
        st.store.audit_search((!action.is_empty()).then_some(action.as_str()), (!office.is_empty()).then_some(office.as_str()), 200).await;
    let rows = match found {
        Ok(rows) => rows,
        Err(e) => return PageError::from(e).into_response(),
    };
    let rows = rows
        .into_iter()
        .map(|a| {
            (
                jst_minutes(a.at),
                a.action,
                a.office.unwrap_or_default(),
                a.user_id.map(|u| u.to_string()).unwrap_or_default(),
                a.terminal_id.unwrap_or_default(),
                a.ip.unwrap_or_default(),
                a.detail,
            )
        })
        .collect();
    page(&AuditT { title: "監査ログ", nav: "audit", who: op.who(), flash: None, action, office, rows })
}
