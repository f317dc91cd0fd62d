//! 下書き一覧 and 下書きの編集 in the browser: the office's drafts (shared with its terminals),
//! opened into 新規作成, sent or deleted, a file taken out — through `service::drafts`.

use super::{MailboxUser, layout, office_name};
use crate::service::drafts;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use renkei_screens::office::{DraftsPage, draft_form, draft_row};
use serde::Deserialize;

pub(crate) async fn list(st: &AppState, u: &MailboxUser, flash: Option<String>) -> Result<Response, PageError> {
    let mut rows = Vec::new();
    for d in st.store.drafts(&u.caller.office).await? {
        let info = drafts::info(&d);
        let name = if info.to.is_empty() { String::new() } else { office_name(st, &info.to).await? };
        rows.push(draft_row(&info, &name));
    }
    Ok(page(&DraftsPage { l: layout(st, u, "下書き一覧", "drafts").await?, rows, flash }))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DraftsQ {
    #[serde(default)]
    saved: Option<u8>,
}

pub(crate) async fn drafts_page(State(st): State<AppState>, u: MailboxUser, Query(q): Query<DraftsQ>) -> Result<Response, PageError> {
    list(&st, &u, q.saved.map(|_| "下書きを保存しました（この事業所のすべての端末とWebメールボックスで開けます）".to_owned())).await
}

/// 下書き一覧 → 開く: the draft in the 新規作成 form, to change (更新) or send.
pub(crate) async fn draft_page(State(st): State<AppState>, u: MailboxUser, Path(id): Path<String>) -> Result<Response, PageError> {
    let d = drafts::load(&st, &u.caller, &id).await?;
    let mut p = draft_form(layout(&st, &u, "下書きの編集", "drafts").await?, &drafts::info(&d));
    p.idem = crate::auth::token();
    Ok(page(&p))
}

pub(crate) async fn draft_delete(State(st): State<AppState>, u: MailboxUser, Path(id): Path<String>) -> Result<Response, PageError> {
    let msg = match drafts::delete(&st, &u.caller, &id).await {
        Ok(()) => "下書きを削除しました".to_owned(),
        Err(e) if e.0.code.status() < 500 && e.0.code.status() != 404 => e.0.message,
        Err(e) => return Err(e.into()),
    };
    list(&st, &u, Some(msg)).await
}

/// 下書きの編集: one file less.
pub(crate) async fn draft_remove_file(
    State(st): State<AppState>,
    u: MailboxUser,
    Path((id, idx)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    drafts::remove_file(&st, &u.caller, &id, idx).await?;
    Ok(Redirect::to(&format!("/mailbox/drafts/{id}")).into_response())
}
