//! The API's side of errors: `ErrorBody` as JSON with its status, and extractors whose refusals
//! are `ErrorBody` too (never the framework's plain text), and the fallbacks for unknown routes.

use crate::error::{ApiError, STORAGE_RETRY_AFTER_SECONDS};
use crate::service::admission::BUSY_RETRY_AFTER_SECONDS;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use renkei_protocol::ErrorCode;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Every 503 says when to come back; another refusal does where it knows (429).
        let after = match (status, self.1) {
            (_, Some(s)) => Some(s),
            (StatusCode::SERVICE_UNAVAILABLE, None) => Some(match self.0.code {
                ErrorCode::Busy => BUSY_RETRY_AFTER_SECONDS,
                _ => STORAGE_RETRY_AFTER_SECONDS,
            }),
            _ => None,
        };
        if let Some(after) = after {
            return (status, [(axum::http::header::RETRY_AFTER, after.to_string())], Json(self.0)).into_response();
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
        // The body's opening boundary first, in one chunk: see `renkei_screens::form::opening_first`.
        let content_type = req.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let (parts, body) = req.into_parts();
        let body = renkei_screens::form::opening_first(&content_type, body.into_data_stream()).await.map_err(|e| {
            ApiError::new(ErrorCode::BadRequest, "送信データを読めませんでした。もう一度送ってください", format!("reading the body: {e}"))
        })?;
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from_stream(body));
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::FromRequest as _;

    /// A body that is not there at the first read and then arrives whole, with its end, at once:
    /// the race that made `multer` refuse complete HTTP/2 sends as "incomplete multipart stream".
    fn late_body(body: &'static [u8]) -> axum::body::Body {
        let mut first = true;
        let mut chunk = Some(bytes::Bytes::from_static(body));
        axum::body::Body::from_stream(futures_util::stream::poll_fn(move |cx| {
            if std::mem::take(&mut first) {
                cx.waker().wake_by_ref();
                return std::task::Poll::Pending;
            }
            std::task::Poll::Ready(chunk.take().map(Ok::<_, std::io::Error>))
        }))
    }

    #[tokio::test]
    async fn a_complete_body_that_arrives_late_and_at_once_is_read_whole() {
        let body: &[u8] = b"--B0undary\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n1373000031\r\n--B0undary\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.CSV\"\r\n\r\n202511,1\r\n--B0undary--\r\n";
        let req =
            axum::http::Request::builder().header("content-type", "multipart/form-data; boundary=B0undary").body(late_body(body)).unwrap();
        let ApiMultipart(mut m) = ApiMultipart::from_request(req, &()).await.expect("a multipart body");
        let mut seen = Vec::new();
        while let Some(field) = m.next_field().await.expect("no parse error") {
            let name = field.name().unwrap_or_default().to_owned();
            seen.push((name, field.text().await.expect("field data")));
        }
        assert_eq!(seen, [("to".to_owned(), "1373000031".to_owned()), ("file".to_owned(), "202511,1".to_owned())]);
    }
}
