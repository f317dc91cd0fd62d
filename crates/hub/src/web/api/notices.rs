//! `GET /v1/notices`: お知らせ for the caller's office.

use super::Caller;
use crate::error::ApiError;
use crate::jst::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use renkei_protocol::*;

pub(crate) fn notice_info(n: &crate::store::NoticeRow) -> Notice {
    Notice {
        id: n.public_id.clone(),
        kind: n.kind.clone(),
        title: n.title.clone(),
        body: n.body.clone(),
        published_at: rfc3339(n.published_at),
    }
}

#[utoipa::path(get, path = "/v1/notices", tag = "notices", responses((status = 200, description = "成功 / OK", body = Vec<Notice>), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn notices(State(st): State<AppState>, c: Caller) -> Result<Json<Vec<Notice>>, ApiError> {
    Ok(Json(st.store.notices(Some(&c.terminal.office), crate::jst::now(), 100).await?.iter().map(notice_info).collect()))
}
