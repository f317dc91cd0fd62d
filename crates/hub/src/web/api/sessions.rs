//! `/v1/sessions` and `/v1/password`: login, logout and the password change.

use super::TemporaryCaller;
use crate::error::ApiError;
use crate::jst::now;
use crate::service::{accounts, sessions};
use crate::state::AppState;
use crate::tls::PeerCert;
use crate::web::api::extract::ApiJson;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use renkei_protocol::*;
use std::net::SocketAddr;

#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = LoginRequest, responses((status = 200, description = "成功 / OK", body = LoginResponse), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody), (status = 423, description = "ロック中 / locked", body = ErrorBody)), security(("terminal" = [])))]
pub(crate) async fn login(
    State(st): State<AppState>,
    peer: axum::Extension<PeerCert>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    sessions::open_api(&st, peer.fingerprint.as_deref(), &req.login, &req.password, &ip.ip().to_string()).await.map(Json)
}

#[utoipa::path(delete, path = "/v1/sessions", tag = "sessions", responses((status = 204, description = "完了 / done"), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn logout(State(st): State<AppState>, TemporaryCaller(c): TemporaryCaller) -> Result<StatusCode, ApiError> {
    st.store.delete_session(&c.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/sessions/password", tag = "sessions", request_body = PasswordChange, responses((status = 204, description = "完了 / done"), (status = 400, description = "要求が不正 / bad request", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn change_password(
    State(st): State<AppState>,
    TemporaryCaller(c): TemporaryCaller,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let t = now();
    match accounts::change_password(
        &st.store,
        &c.user,
        &req.current,
        &req.new,
        accounts::Keeping::Api(&c.token_hash),
        c.audit(crate::store::AuditAction::Password, String::new()),
        t,
    )
    .await
    {
        Ok(()) => {}
        Err(accounts::PasswordError::WrongCurrent) => {
            return Err(ApiError::new(ErrorCode::BadCredentials, "現在のパスワードが違います", "current password is wrong"));
        }
        Err(accounts::PasswordError::Policy) => {
            return Err(ApiError::new(
                ErrorCode::PasswordPolicy,
                accounts::PASSWORD_RULE,
                "8-64 characters with letters and digits, different from the current one",
            ));
        }
        Err(accounts::PasswordError::Store(e)) => return Err(e.into()),
        Err(accounts::PasswordError::Internal(e)) => return Err(ApiError::internal(e)),
    }
    Ok(StatusCode::NO_CONTENT)
}
