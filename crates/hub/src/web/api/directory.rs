//! `GET /v1/directory/{office}`: is an office on the system, with a valid licence?

use super::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::api::extract::ApiPath;
use axum::Json;
use axum::extract::State;
use renkei_protocol::*;

#[utoipa::path(get, path = "/v1/directory/{office}", tag = "directory", params(("office" = String, Path, description = "事業所番号")), responses((status = 200, description = "成功 / OK", body = DirectoryEntry), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn directory(
    State(st): State<AppState>,
    _caller: Caller,
    ApiPath(office): ApiPath<String>,
) -> Result<Json<DirectoryEntry>, ApiError> {
    Ok(Json(crate::service::offices::directory(&st, &office).await?))
}
