//! Rendering the portal's and the operator console's pages, with their security headers, and
//! their static files.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Renders a page with the portal's security headers.
pub fn page<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => (
            [
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
                ),
                (header::X_FRAME_OPTIONS, "DENY"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "same-origin"),
                (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
            ],
            Html(body),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "portal template");
            (StatusCode::INTERNAL_SERVER_ERROR, "画面を表示できません").into_response()
        }
    }
}

/// The portal's and the console's style sheet: the shared visual language, then their own rules.
pub async fn css() -> Response {
    static SHEET: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| renkei_screens::style::sheet(include_str!("../../static/portal.css")));
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], SHEET.as_str()).into_response()
}

/// The portal's and the console's script (progressive enhancement only).
pub async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("../../static/portal.js"),
    )
        .into_response()
}

/// A page that could not be served: the service's refusal or failure, shown to the user as a
/// short page with its Japanese message (an internal failure carries its お問い合わせ番号, and
/// was logged once with its cause where it arose).
#[derive(Debug)]
pub struct PageError(pub crate::error::ApiError);

impl From<crate::error::ApiError> for PageError {
    fn from(e: crate::error::ApiError) -> Self {
        PageError(e)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        PageError(e.into())
    }
}

impl From<crate::blobs::BlobError> for PageError {
    fn from(e: crate::blobs::BlobError) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.0.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let escaped: String = self.0.0.message.chars().fold(String::new(), |mut s, c| {
            match c {
                '<' => s.push_str("&lt;"),
                '>' => s.push_str("&gt;"),
                '&' => s.push_str("&amp;"),
                '"' => s.push_str("&quot;"),
                c => s.push(c),
            }
            s
        });
        let body = format!(
            "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>エラー</title><link rel=\"stylesheet\" href=\"/portal/static/portal.css\"></head><body><main><h1>処理できませんでした</h1><p role=\"alert\">{escaped}</p><p>ブラウザーの「戻る」で前の画面に戻れます。</p></main></body></html>"
        );
        let mut r = (
            status,
            [
                (header::CONTENT_SECURITY_POLICY, "default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
                (header::X_FRAME_OPTIONS, "DENY"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            Html(body),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(header::RETRY_AFTER, crate::error::STORAGE_RETRY_AFTER_SECONDS.into());
        }
        r
    }
}
