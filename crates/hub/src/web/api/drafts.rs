//! `/v1/drafts`: 下書き (shared by all terminals of an office), and sending one.

use super::Sending;
use super::send::{idempotency_key, read_form, sent};
use crate::error::ApiError;
use crate::service::drafts;
use crate::service::mailbox::{Idempotency, RequestDigest, replay};
use crate::state::AppState;
use crate::web::api::extract::{ApiJson, ApiMultipart, ApiPath};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use renkei_protocol::*;

#[utoipa::path(post, path = "/v1/drafts", tag = "drafts", request_body(content = crate::web::api::send::SendForm, content_type = "multipart/form-data"), responses((status = 201, description = "送信・作成しました / created", body = DraftInfo), (status = 413, description = "大きすぎます / too large", body = ErrorBody), (status = 422, description = "入口のチェックで拒否 / refused at the door", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn create_draft(
    State(st): State<AppState>,
    Sending(c): Sending,
    ApiMultipart(form): ApiMultipart,
) -> Result<(StatusCode, Json<DraftInfo>), ApiError> {
    let (form, _place) = read_form(&st, form, 0).await?;
    let letter = form.into_letter()?;
    let d = drafts::create(&st, &c, letter).await?;
    Ok((StatusCode::CREATED, Json(drafts::info(&d))))
}

#[utoipa::path(get, path = "/v1/drafts", tag = "drafts", responses((status = 200, description = "成功 / OK", body = Vec<DraftInfo>), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn list_drafts(State(st): State<AppState>, Sending(c): Sending) -> Result<Json<Vec<DraftInfo>>, ApiError> {
    Ok(Json(st.store.drafts(&c.office).await?.iter().map(drafts::info).collect()))
}

#[utoipa::path(get, path = "/v1/drafts/{id}", tag = "drafts", params(("id" = String, Path)), responses((status = 200, description = "成功 / OK", body = DraftInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn get_draft(
    State(st): State<AppState>,
    Sending(c): Sending,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DraftInfo>, ApiError> {
    Ok(Json(drafts::info(&drafts::load(&st, &c, &id).await?)))
}

#[utoipa::path(patch, path = "/v1/drafts/{id}", tag = "drafts", params(("id" = String, Path)), request_body = DraftUpdate, responses((status = 200, description = "成功 / OK", body = DraftInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 409, description = "別の端末で変更済み / changed on another terminal", body = ErrorBody), (status = 422, description = "入口のチェックで拒否 / refused at the door", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn update_draft(
    State(st): State<AppState>,
    Sending(c): Sending,
    ApiPath(id): ApiPath<String>,
    ApiJson(u): ApiJson<DraftUpdate>,
) -> Result<Json<DraftInfo>, ApiError> {
    Ok(Json(drafts::info(
        &drafts::update(&st, &c, &id, u.version, u.to.as_deref(), u.note.as_deref(), u.contact.as_ref().map(Option::as_ref)).await?,
    )))
}

#[utoipa::path(post, path = "/v1/drafts/{id}/files", tag = "drafts", params(("id" = String, Path)), request_body(content = crate::web::api::send::SendForm, content_type = "multipart/form-data"), responses((status = 200, description = "成功 / OK", body = DraftInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 413, description = "大きすぎます / too large", body = ErrorBody), (status = 422, description = "入口のチェックで拒否 / refused at the door", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn add_draft_files(
    State(st): State<AppState>,
    Sending(c): Sending,
    ApiPath(id): ApiPath<String>,
    ApiMultipart(form): ApiMultipart,
) -> Result<Json<DraftInfo>, ApiError> {
    let d = drafts::load(&st, &c, &id).await?;
    let (f, _place) = read_form(&st, form, d.files.len()).await?;
    Ok(Json(drafts::info(&drafts::add_files(&st, &c, &id, f.uploads).await?)))
}

#[utoipa::path(delete, path = "/v1/drafts/{id}/files/{index}", tag = "drafts", params(("id" = String, Path), ("index" = u32, Path)), responses((status = 200, description = "成功 / OK", body = DraftInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn remove_draft_file(
    State(st): State<AppState>,
    Sending(c): Sending,
    ApiPath((id, idx)): ApiPath<(String, i64)>,
) -> Result<Json<DraftInfo>, ApiError> {
    Ok(Json(drafts::info(&drafts::remove_file(&st, &c, &id, idx).await?)))
}

#[utoipa::path(delete, path = "/v1/drafts/{id}", tag = "drafts", params(("id" = String, Path)), responses((status = 204, description = "完了 / done"), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn delete_draft(
    State(st): State<AppState>,
    Sending(c): Sending,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    drafts::delete(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/drafts/{id}/send", tag = "drafts", params(("id" = String, Path), ("idempotency-key" = Option<String>, Header, description = "再送しても1通になるキー / makes retries create one message")), responses((status = 201, description = "送信・作成しました / created", body = SendResponse), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 409, description = "別の端末で変更済み / changed on another terminal", body = ErrorBody), (status = 422, description = "入口のチェックで拒否 / refused at the door", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn send_draft(
    State(st): State<AppState>,
    Sending(c): Sending,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let idem = Idempotency { key: idempotency_key(&h), digest: RequestDigest::draft_send(&id) };
    if let Some(r) = replay(&st, &c, &idem).await? {
        return Ok(sent(r));
    }
    drafts::send(&st, &c, &id, idem).await.map(sent)
}
