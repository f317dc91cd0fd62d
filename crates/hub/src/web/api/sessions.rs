//! `/v1/sessions` and `/v1/password`: login, logout and the password change.

use super::TemporaryCaller;
use crate::auth;
use crate::error::ApiError;
use crate::jst::{now, rfc3339};
use crate::service::{accounts, sessions};
use crate::state::AppState;
use crate::store::Audit;
use crate::tls::PeerCert;
use crate::web::api::extract::ApiJson;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use renkei_protocol::*;
use std::net::SocketAddr;

#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = LoginRequest, responses((status = 200, description = "成功 / OK", body = LoginResponse), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody), (status = 423, description = "ロック中 / locked", body = ErrorBody)), security(("terminal" = [])))]
pub(crate) async fn login(
    State(st): State<AppState>,
    peer: axum::Extension<PeerCert>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let terminal = sessions::terminal(&st, peer.fingerprint.as_deref()).await?;
    let user = accounts::login_user(&st.store, &st.config.auth, &req.login, &req.password, accounts::Door::Terminal, now())
        .await
        .map_err(|e| accounts::refusal(&st.config.auth, e))?;
    if user.office != terminal.office {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("この端末は事業所 {} の端末です。この事業所のログインIDでログインしてください", terminal.office),
            "the user's office differs from the terminal's",
        ));
    }
    let token = auth::token();
    let t = now();
    let expires = t + st.config.auth.session_hours * 3600;
    st.store.add_session(&auth::token_hash(&token), user.id, &terminal.id, t, expires).await?;
    let ips = ip.ip().to_string();
    st.store
        .audit(
            Audit {
                action: "login",
                office: Some(&user.office),
                user_id: Some(user.id),
                terminal_id: Some(&terminal.id),
                ip: Some(&ips),
                detail: String::new(),
            },
            t,
        )
        .await?;
    let must_change = accounts::password_state(&user, &st.config.auth, t).must_change();
    Ok(Json(LoginResponse {
        token,
        office: user.office,
        user_name: user.name,
        role: user.role,
        must_change_password: must_change,
        expires_at: rfc3339(expires),
        password_expires_at: st.config.auth.password_expires(user.password_set_at).map(rfc3339),
    }))
}

#[utoipa::path(delete, path = "/v1/sessions", tag = "sessions", responses((status = 204, description = "完了 / done"), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn logout(State(st): State<AppState>, TemporaryCaller(c): TemporaryCaller) -> Result<StatusCode, ApiError> {
    st.store.delete_session(&c.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/sessions/password", tag = "sessions", request_body = PasswordChange, responses((status = 204, description = "完了 / done"), (status = 400, description = "要求が不正 / bad request", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
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
        c.audit("password", String::new()),
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
