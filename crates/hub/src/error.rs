//! API errors: mapped to HTTP in one place.

use axum::Json;
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

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}
