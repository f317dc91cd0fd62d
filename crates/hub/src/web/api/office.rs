//! `GET /v1/office`: the caller's office — its licence (有効期限, 支払い状況) and what the hub
//! expects of clients — for the client's トップ.

use super::Caller;
use crate::error::ApiError;
use crate::service::licence;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use renkei_protocol::*;

#[utoipa::path(get, path = "/v1/office", tag = "directory", responses((status = 200, description = "成功 / OK", body = OfficeStatus), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn office(State(st): State<AppState>, c: Caller) -> Result<Json<OfficeStatus>, ApiError> {
    let o = st.store.office(&c.terminal.office).await?.ok_or_else(|| ApiError::internal("terminal office missing"))?;
    Ok(Json(licence::status(&st, &o).await?))
}
