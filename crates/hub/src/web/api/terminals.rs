//! `/v1/enrol`, `/v1/enrolment-codes`, `/v1/ca.pem`: enrolling terminals.

use super::Caller;
use crate::error::ApiError;
use crate::jst::rfc3339;
use crate::state::AppState;
use crate::web::api::extract::ApiJson;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::header;
use axum::response::IntoResponse;
use renkei_protocol::*;
use std::net::SocketAddr;

#[utoipa::path(post, path = "/v1/enrol", tag = "terminals", request_body = EnrolRequest, responses((status = 200, description = "成功 / OK", body = EnrolResponse), (status = 400, description = "コード・CSR不正 / bad code or CSR", body = ErrorBody), (status = 401, description = "ログインIDまたはパスワードが違う / bad credentials", body = ErrorBody), (status = 423, description = "ロック中 / locked", body = ErrorBody)), security(()))]
pub(crate) async fn enrol(
    State(st): State<AppState>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    crate::service::terminals::enrol(&st, &req, &ip.ip().to_string()).await.map(Json)
}

#[utoipa::path(get, path = "/v1/ca.pem", tag = "terminals", responses((status = 200, description = "CA証明書（PEM） / the hub's CA certificate", content_type = "application/x-pem-file", body = String)))]
pub(crate) async fn ca_pem(State(st): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], st.ca.cert_pem.clone())
}

#[utoipa::path(post, path = "/v1/enrolment-codes", tag = "terminals", responses((status = 200, description = "成功 / OK", body = EnrolmentCode), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn new_enrolment_code(State(st): State<AppState>, c: Caller) -> Result<Json<EnrolmentCode>, ApiError> {
    // From an enrolled terminal: the certificate is the second factor.
    let issued = crate::service::terminals::issue_code(&st, crate::service::Actor::Terminal(&c), &c.user, true).await?;
    Ok(Json(EnrolmentCode { code: issued.code, expires_at: rfc3339(issued.expires_at) }))
}
