//! `/v1/enrol`, `/v1/enrolment-codes`, `/v1/ca.pem`: enrolling terminals.

use super::Caller;
use crate::auth;
use crate::error::ApiError;
use crate::jst::{now, rfc3339};
use crate::service::accounts;
use crate::state::AppState;
use crate::store::{Audit, Terminal};
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
    let user = accounts::login_user(&st.store, &st.config.auth, &req.login, &req.password, accounts::Door::Web, now())
        .await
        .map_err(|e| accounts::refusal(&st.config.auth, e))?;
    let t = now();
    if !st.store.use_enrolment_code(&auth::token_hash(&auth::normalize_code(&req.code)), &user.office, t).await? {
        return Err(ApiError::new(
            ErrorCode::EnrolmentCodeInvalid,
            "端末登録コードが違うか、使用済み・期限切れです。事業所の管理者に新しいコードを発行してもらってください",
            "enrolment code unknown, used or expired",
        ));
    }
    let office = st.store.office(&user.office).await?.ok_or_else(|| ApiError::internal("user without office"))?;
    let terminal_id = format!("T{}", &auth::token()[..16]);
    let issued = st
        .ca
        .issue_terminal(&req.csr_pem, &terminal_id, &office.number, &office.name)
        .map_err(|e| ApiError::new(ErrorCode::CsrInvalid, "証明書の申請データ（CSR）を読めません", format!("CSR: {e:#}")))?;
    let label: String = req.label.chars().take(60).collect();
    let term = Terminal { id: terminal_id.clone(), office: office.number.clone(), label, serial: issued.serial.clone(), revoked_at: None };
    st.store.add_terminal(&term, &issued.fingerprint, issued.not_after, t).await?;
    // Every new terminal is announced to the office at once: a certificate obtained with stolen
    // credentials does not go unnoticed.
    let when = crate::jst::jst_minutes(t);
    let notice = st
        .store
        .add_notice(
            &auth::token()[..32],
            Some(&office.number),
            "terminal_enrolled",
            "新しい端末が登録されました",
            &format!(
                "{when}（日本時間）、{}さん（{}）のログインIDで端末「{}」が登録されました。心当たりがなければ、すぐにポータルの「証明書・端末」でこの端末を失効し、パスワードを変更してください。",
                user.name, user.login, term.label
            ),
            t,
        )
        .await?;
    st.events.send(Some(&office.number), Event::Notice { id: notice.public_id.clone(), title: notice.title.clone() });
    let ip = ip.ip().to_string();
    st.store
        .audit(
            Audit {
                action: "enrol",
                office: Some(&office.number),
                user_id: Some(user.id),
                terminal_id: Some(&terminal_id),
                ip: Some(&ip),
                detail: format!("label={}", term.label),
            },
            t,
        )
        .await?;
    Ok(Json(EnrolResponse { terminal_id, office: office.number, certificate_pem: issued.cert_pem, ca_pem: st.ca.cert_pem.clone() }))
}

#[utoipa::path(get, path = "/v1/ca.pem", tag = "terminals", responses((status = 200, description = "CA証明書（PEM） / the hub's CA certificate", content_type = "application/x-pem-file", body = String)))]
pub(crate) async fn ca_pem(State(st): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], st.ca.cert_pem.clone())
}

#[utoipa::path(post, path = "/v1/enrolment-codes", tag = "terminals", responses((status = 200, description = "成功 / OK", body = EnrolmentCode), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn new_enrolment_code(State(st): State<AppState>, c: Caller) -> Result<Json<EnrolmentCode>, ApiError> {
    if c.user.role != "admin" {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "端末登録コードを発行できるのは事業所の管理者だけです",
            "only an office administrator may create enrolment codes",
        ));
    }
    let code = auth::enrolment_code();
    let t = now();
    let exp = t + st.config.auth.enrolment_code_hours * 3600;
    st.store.add_enrolment_code(&auth::token_hash(&auth::normalize_code(&code)), &c.user.office, t, exp).await?;
    st.store.audit(c.audit("enrolment_code", String::new()), t).await?;
    Ok(Json(EnrolmentCode { code, expires_at: rfc3339(exp) }))
}
