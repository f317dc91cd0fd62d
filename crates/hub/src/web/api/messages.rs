//! `/v1/inbox`, `/v1/sent`, `/v1/messages/{id}`: lists, one message, downloads, 取得 and 開封.

use super::{Caller, Mailbox, Receiving, Sending};
use crate::error::ApiError;
use crate::service::checks::{self};
use crate::service::mailbox::{info, receipt};
use crate::state::AppState;
use crate::store::ListFilter;
use crate::web::api::extract::{ApiPath, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use renkei_protocol::*;

pub(crate) fn parse_filter(q: &InboxQuery) -> Result<ListFilter, ApiError> {
    let bad =
        |what: &str| ApiError::new(ErrorCode::BadRequest, format!("絞り込みの「{what}」が正しくありません"), format!("bad filter {what}"));
    let day = |s: &str, what: &str| -> Result<i64, ApiError> {
        let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| bad(what))?;
        Ok(d.midnight().assume_offset(time::macros::offset!(+9)).unix_timestamp())
    };
    let fetched = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some("not_fetched") => Some(false),
        Some("fetched") => Some(true),
        Some(_) => return Err(bad("status")),
    };
    if let Some(m) = q.month.as_deref().filter(|m| !m.is_empty())
        && renkei_spec::calendar::YearMonth::parse(m).is_none()
    {
        return Err(bad("month"));
    }
    Ok(ListFilter {
        fetched,
        counterpart: q.sender.clone().filter(|s| !s.is_empty()),
        kind: q.kind.clone().filter(|s| !s.is_empty()).map(|k| k.to_ascii_uppercase()),
        month: q.month.clone().filter(|s| !s.is_empty()),
        since: q.since.as_deref().filter(|s| !s.is_empty()).map(|s| day(s, "since")).transpose()?,
        until: q.until.as_deref().filter(|s| !s.is_empty()).map(|s| day(s, "until").map(|t| t + 86400)).transpose()?,
        before_id: q.cursor.as_deref().filter(|s| !s.is_empty()).map(|c| c.parse::<i64>().map_err(|_| bad("cursor"))).transpose()?,
        limit: i64::from(q.limit.unwrap_or(50).clamp(1, 200)),
    })
}

async fn list(st: &AppState, c: &Caller, q: &InboxQuery, inbox: bool) -> Result<Json<MessagePage>, ApiError> {
    let f = parse_filter(q)?;
    let mut rows = st.store.list(&c.office, inbox, &ListFilter { limit: f.limit + 1, ..f.clone() }).await?;
    let next_cursor = if rows.len() as i64 > f.limit {
        rows.truncate(f.limit as usize);
        rows.last().map(|m| m.id.to_string())
    } else {
        None
    };
    Ok(Json(MessagePage { messages: rows.iter().map(info).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/v1/inbox", tag = "messages", params(InboxQuery), responses((status = 200, description = "成功 / OK", body = MessagePage), (status = 400, description = "要求が不正 / bad request", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn inbox(
    State(st): State<AppState>,
    Receiving(c): Receiving,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    list(&st, &c, &q, true).await
}

#[utoipa::path(get, path = "/v1/sent", tag = "messages", params(InboxQuery), responses((status = 200, description = "成功 / OK", body = MessagePage), (status = 400, description = "要求が不正 / bad request", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn sent(
    State(st): State<AppState>,
    Sending(c): Sending,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    list(&st, &c, &q, false).await
}

#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path)), responses((status = 200, description = "成功 / OK", body = MessageInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn message(
    State(st): State<AppState>,
    Mailbox(c): Mailbox,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MessageInfo>, ApiError> {
    Ok(Json(crate::service::mailbox::message(&st, &c, &id).await?.1))
}

#[utoipa::path(get, path = "/v1/messages/{id}/files/{index}", tag = "messages", params(("id" = String, Path), ("index" = u32, Path)), responses((status = 200, description = "ファイル本体。x-content-sha256 ヘッダーに SHA-256 / the file; SHA-256 in x-content-sha256", content_type = "application/octet-stream"), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 410, description = "保存期間切れ / gone", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn download(
    State(st): State<AppState>,
    Mailbox(c): Mailbox,
    ApiPath((id, idx)): ApiPath<(String, i64)>,
) -> Result<Response, ApiError> {
    file_response(&st, &c, id, idx).await
}

/// One file of a message the caller may see, as a download (the API's and the web mailbox's).
pub(crate) async fn file_response(st: &AppState, c: &Caller, id: String, idx: i64) -> Result<Response, ApiError> {
    let crate::store::StoredFile { file: f, content, .. } = crate::service::mailbox::stored_file(st, c, &id, idx).await?;
    // Small files (almost all: standard CSV files are a few KiB) go out in one piece, from the
    // database row when they are stored there; larger ones are streamed, never held in memory.
    // The first chunk tells an attachment's type.
    const SMALL: i64 = 1024 * 1024;
    let (first, rest): (bytes::Bytes, Option<futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>>) =
        if let Some(c) = content {
            (bytes::Bytes::from(c), None)
        } else if f.size <= SMALL {
            (st.blobs.get(&f.sha256).await.map_err(ApiError::internal)?, None)
        } else {
            let mut stream = st.blobs.stream(&f.sha256).await.map_err(ApiError::internal)?;
            (stream.next().await.transpose().map_err(ApiError::internal)?.unwrap_or_default(), Some(stream))
        };
    let head = &first[..first.len().min(16)];
    let mime = if f.kind.as_deref() == Some("UPKIHON_IMAGE") {
        "image/jpeg"
    } else if f.kind.is_some() {
        "text/csv; charset=Shift_JIS"
    } else {
        checks::sniff(&f.name, head).map_or("application/octet-stream", |s| s.mime())
    };
    let encoded: String = f
        .name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"._-".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let mut resp = match rest {
        None => axum::body::Body::from(first).into_response(),
        Some(rest) => {
            axum::body::Body::from_stream(futures_util::stream::once(async move { Ok::<_, object_store::Error>(first) }).chain(rest))
                .into_response()
        }
    };
    let hd = resp.headers_mut();
    hd.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    hd.insert(header::CONTENT_LENGTH, HeaderValue::from(f.size as u64));
    hd.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}")).map_err(ApiError::internal)?,
    );
    hd.insert(paths::SHA256_HEADER, HeaderValue::from_str(&f.sha256).map_err(ApiError::internal)?);
    hd.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[utoipa::path(post, path = "/v1/messages/{id}/fetch", tag = "messages", params(("id" = String, Path)), responses((status = 200, description = "取得済（冪等） / fetched (idempotent)", body = MessageInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 410, description = "保存期間切れ / gone", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn fetch(
    State(st): State<AppState>,
    Receiving(c): Receiving,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MessageInfo>, ApiError> {
    receipt(&st, &c, &id, false).await.map(Json)
}

#[utoipa::path(post, path = "/v1/messages/{id}/open", tag = "messages", params(("id" = String, Path)), responses((status = 200, description = "開封済 / opened", body = MessageInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 410, description = "保存期間切れ / gone", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn open(
    State(st): State<AppState>,
    Receiving(c): Receiving,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MessageInfo>, ApiError> {
    receipt(&st, &c, &id, true).await.map(Json)
}
