//! `GET /v1/status`: 稼働状況 (public: anyone may ask whether the system runs normally).

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use renkei_protocol::*;

#[utoipa::path(get, path = "/v1/status", tag = "directory", responses((status = 200, description = "成功 / OK", body = OperatingStatus), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody)))]
pub(crate) async fn status(State(st): State<AppState>) -> Result<Json<OperatingStatus>, ApiError> {
    Ok(Json(crate::service::status::current(&st.store, crate::jst::now()).await?))
}
