//! The services' errors: a refusal or failure with a stable code and a Japanese message (the
//! protocol's `ErrorBody`). The doors translate it: the API as JSON with the code's status
//! (`web::api::extract`), the portal and the console as a page.

use renkei_protocol::{ErrorBody, ErrorCode, ErrorDetail};

/// A refusal or failure of an API call, and for a 503 the seconds the caller should wait
/// before trying again (`Retry-After`; none: the door's default for the code).
#[derive(Debug, Clone)]
pub struct ApiError(pub ErrorBody, pub Option<u32>);

impl ApiError {
    /// An error with a Japanese and an English message.
    pub fn new(code: ErrorCode, ja: impl Into<String>, en: impl Into<String>) -> ApiError {
        ApiError(ErrorBody { code, message: ja.into(), message_en: en.into(), details: Vec::new(), reference: None }, None)
    }
    /// Tells the caller to wait `seconds` before trying again (`Retry-After`, for a 503).
    pub fn retry_after(mut self, seconds: u32) -> ApiError {
        self.1 = Some(seconds);
        self
    }
    /// Adds per-file details.
    pub fn with_details(mut self, d: Vec<ErrorDetail>) -> ApiError {
        self.0.details = d;
        self
    }
    /// A 500: logs the cause once, under a new reference (お問い合わせ番号) that the answer
    /// carries, so that the user can quote it and the operator find the log line.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        let reference = new_reference();
        tracing::error!(%reference, %cause, "internal error");
        let mut e = ApiError::new(
            ErrorCode::Internal,
            format!(
                "連携基盤でエラーが起きました。この操作は記録されていません。しばらくしてからもう一度お試しください。続くときは運営者にお問い合わせ番号 {reference} をお伝えください"
            ),
            format!("internal error (reference {reference}); nothing was stored"),
        );
        e.0.reference = Some(reference);
        e
    }
    /// 404.
    pub fn not_found() -> ApiError {
        ApiError::new(ErrorCode::NotFound, "メッセージが見つかりません", "no such message")
    }
}

/// A reference for one logged failure: `RK-` and 8 hex digits (4 billion values: unique enough
/// to find one log line, short enough to read over the phone).
pub fn new_reference() -> String {
    let mut b = [0u8; 4];
    rand::fill(&mut b);
    format!("RK-{}", crate::auth::hex(&b).to_uppercase())
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.0.code, self.0.message_en)
    }
}

impl std::error::Error for ApiError {}

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
