//! API errors: mapped to HTTP in one place.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use renkei_protocol::{ErrorBody, ErrorCode, ErrorDetail};

/// A refusal or failure of an API call.
#[derive(Debug, Clone)]
pub struct ApiError(pub ErrorBody);

impl ApiError {
    /// An error with a Japanese and an English message.
    pub fn new(code: ErrorCode, ja: impl Into<String>, en: impl Into<String>) -> ApiError {
        ApiError(ErrorBody { code, message: ja.into(), message_en: en.into(), details: Vec::new() })
    }
    /// Adds per-file details.
    pub fn with_details(mut self, d: Vec<ErrorDetail>) -> ApiError {
        self.0.details = d;
        self
    }
    /// A 500 that tells the user nothing was stored, and logs the cause.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "連携基盤でエラーが起きました。送信内容は保存されていません。しばらくしてからもう一度お試しください",
            "internal error; nothing was stored",
        )
    }
    /// 404.
    pub fn not_found() -> ApiError {
        ApiError::new(ErrorCode::NotFound, "メッセージが見つかりません", "no such message")
    }
}

/// Seconds a client is told to wait after a storage fault.
pub const STORAGE_RETRY_AFTER_SECONDS: u32 = 10;

impl ApiError {
    /// 503: the storage is full; nothing was stored.
    pub fn storage_full(part: crate::health::Part, cause: impl std::fmt::Display) -> ApiError {
        tracing::warn!(part = part.name(), %cause, "storage full");
        metrics::counter!("renkei_storage_failures_total", "part" => part.name(), "kind" => "full").increment(1);
        ApiError::new(
            ErrorCode::StorageFull,
            "連携基盤の保存領域が一杯のため、保存できませんでした（この操作は記録されていません）。しばらくしてからもう一度お試しください",
            "the hub's storage is full; nothing was stored, retry later",
        )
    }
    /// 503: the storage cannot be reached or written; nothing was stored.
    pub fn storage_unavailable(part: crate::health::Part, cause: impl std::fmt::Display) -> ApiError {
        tracing::warn!(part = part.name(), %cause, "storage unavailable");
        metrics::counter!("renkei_storage_failures_total", "part" => part.name(), "kind" => "unavailable").increment(1);
        let ja = match part {
            crate::health::Part::Database => {
                "連携基盤のデータベースに接続できないため、処理できませんでした（この操作は記録されていません）。しばらくしてからもう一度お試しください"
            }
            crate::health::Part::Blobs => {
                "連携基盤のファイル保存領域に書き込めないため、保存できませんでした（この操作は記録されていません）。しばらくしてからもう一度お試しください"
            }
        };
        ApiError::new(ErrorCode::StorageUnavailable, ja, "the hub's storage is unavailable; nothing was stored, retry later")
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Full(_) => ApiError::storage_full(crate::health::Part::Database, e),
            StoreError::Unavailable(_) => ApiError::storage_unavailable(crate::health::Part::Database, e),
            StoreError::Conflict(_) | StoreError::Backend(_) => ApiError::internal(e),
        }
    }
}

impl From<crate::blobs::BlobError> for ApiError {
    fn from(e: crate::blobs::BlobError) -> Self {
        if e.is_full() {
            ApiError::storage_full(crate::health::Part::Blobs, e)
        } else {
            ApiError::storage_unavailable(crate::health::Part::Blobs, e)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return (status, [(axum::http::header::RETRY_AFTER, STORAGE_RETRY_AFTER_SECONDS.to_string())], Json(self.0)).into_response();
        }
        (status, Json(self.0)).into_response()
    }
}

/// What the framework refuses before a handler runs (bad JSON, query, path or form) becomes the
/// API's own `ErrorBody`, never the framework's plain text.
fn rejected(status: u16, ja: &str, en: String) -> ApiError {
    let code = match status {
        413 => ErrorCode::TooLarge,
        _ => ErrorCode::BadRequest,
    };
    ApiError::new(code, ja, en)
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as J;
        let ja = match &r {
            J::MissingJsonContentType(_) => "要求の形式が違います（Content-Type: application/json で送ってください）",
            J::JsonSyntaxError(_) => "要求の内容（JSON）を読めませんでした",
            J::JsonDataError(_) => "要求の項目が足りないか、値の形が違います",
            _ => "要求の内容を読めませんでした",
        };
        rejected(r.status().as_u16(), ja, r.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        rejected(r.status().as_u16(), "検索条件の指定が正しくありません", r.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        rejected(400, "URL の指定が正しくありません", r.body_text())
    }
}

impl From<axum::extract::multipart::MultipartRejection> for ApiError {
    fn from(r: axum::extract::multipart::MultipartRejection) -> Self {
        rejected(r.status().as_u16(), "送信データは multipart/form-data で送ってください", r.body_text())
    }
}

/// `Json` whose refusals are the API's `ErrorBody`.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query` whose refusals are the API's `ErrorBody`.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path` whose refusals are the API's `ErrorBody`.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Multipart` whose refusals are the API's `ErrorBody`.
#[derive(Debug)]
pub struct ApiMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::extract::Multipart::from_request(req, state).await.map(ApiMultipart).map_err(ApiError::from)
    }
}

/// A path that does not exist: under `/v1/` the API's `ErrorBody`, elsewhere a plain page.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/v1/") {
        ApiError::new(ErrorCode::NotFound, "そのURLはありません", "no such route").into_response()
    } else {
        (StatusCode::NOT_FOUND, "ページが見つかりません").into_response()
    }
}

/// A method a path does not take: under `/v1/` the API's `ErrorBody`, elsewhere a plain page.
pub async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/v1/") {
        ApiError::new(ErrorCode::MethodNotAllowed, "このURLはその操作を受け付けません", "method not allowed").into_response()
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, "この操作はできません").into_response()
    }
}
