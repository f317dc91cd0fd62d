//! Who is calling the API: a terminal certificate, a session on that terminal and an enabled
//! user of its office, in a password state that allows the request. One function,
//! [`authenticate`], decides for every API request.

use crate::auth;
use crate::error::ApiError;
use crate::jst::now;
use crate::service::accounts;
use crate::state::AppState;
use crate::store::{Audit, Terminal, User};
use renkei_protocol::ErrorCode;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user of the session.
    pub user: User,
    /// The terminal whose certificate the connection presented.
    pub terminal: Terminal,
    /// The session token's hash (the session to end at logout).
    pub token_hash: String,
    /// The client's address (audit).
    pub ip: String,
}

impl Caller {
    /// An audit row for an action of this caller.
    pub fn audit<'a>(&'a self, action: &'a str, detail: String) -> Audit<'a> {
        Audit {
            action,
            office: Some(&self.terminal.office),
            user_id: Some(self.user.id),
            terminal_id: Some(&self.terminal.id),
            ip: Some(&self.ip),
            detail,
        }
    }
}

/// The enrolled, unrevoked terminal of a certificate fingerprint.
pub async fn terminal(st: &AppState, fingerprint: Option<&str>) -> Result<Terminal, ApiError> {
    let Some(fp) = fingerprint else {
        return Err(ApiError::new(
            ErrorCode::CertificateRequired,
            "この操作には端末の電子証明書が必要です。連携クライアントの端末登録を確認してください",
            "a terminal certificate is required",
        ));
    };
    match st.store.terminal_by_fingerprint(fp).await? {
        Some(t) if t.revoked_at.is_none() => Ok(t),
        Some(_) => Err(ApiError::new(
            ErrorCode::TerminalUnknown,
            "この端末の電子証明書は失効しています。事業所の管理者に端末の再登録を依頼してください",
            "the terminal certificate has been revoked",
        )),
        None => Err(ApiError::new(
            ErrorCode::TerminalUnknown,
            "この端末の電子証明書は登録されていません",
            "the terminal certificate is not enrolled",
        )),
    }
}

/// Authenticates an API request: the terminal certificate, a session opened on that terminal,
/// an enabled user of the terminal's office, and the password state (a temporary or expired
/// password is refused unless `allow_temporary`, for logout and the password change). Every API
/// request and every event stream's periodic re-check goes through here.
pub async fn authenticate(
    st: &AppState,
    fingerprint: Option<&str>,
    bearer: Option<&str>,
    ip: &str,
    allow_temporary: bool,
) -> Result<Caller, ApiError> {
    // Fast path: one query proves certificate, session and user together.
    if let (Some(fp), Some(token)) = (fingerprint, bearer) {
        let token_hash = auth::token_hash(token);
        if let Some((user, terminal)) = st.store.authenticate(fp, &token_hash, now()).await?
            && user.office == terminal.office
            && (allow_temporary || !accounts::password_state(&user, &st.config.auth, now()).must_change())
        {
            return Ok(Caller { user, terminal, token_hash, ip: ip.to_owned() });
        }
    }
    // Otherwise find out exactly what is wrong, for a specific message.
    let terminal = terminal(st, fingerprint).await?;
    let expired =
        || ApiError::new(ErrorCode::SessionRequired, "ログインしてください（ログインの有効期限が切れた可能性があります）", "log in first");
    let token = bearer.ok_or_else(expired)?;
    let token_hash = auth::token_hash(token);
    let (user_id, session_terminal) = st.store.session(&token_hash, now()).await?.ok_or_else(expired)?;
    if session_terminal != terminal.id {
        return Err(ApiError::new(
            ErrorCode::SessionRequired,
            "このログインは別の端末のものです。この端末でログインしてください",
            "the session belongs to another terminal",
        ));
    }
    let user = st.store.user(user_id).await?.filter(|u| !u.disabled).ok_or_else(expired)?;
    if user.office != terminal.office {
        return Err(ApiError::new(ErrorCode::Forbidden, "この端末は別の事業所の端末です", "user and terminal belong to different offices"));
    }
    match accounts::password_state(&user, &st.config.auth, now()) {
        _ if allow_temporary => {}
        accounts::PasswordState::Current => {}
        accounts::PasswordState::Temporary => {
            return Err(ApiError::new(
                ErrorCode::PasswordChangeRequired,
                "仮パスワードのままです。先にパスワードを変更してください",
                "change the temporary password first",
            ));
        }
        accounts::PasswordState::Expired => {
            return Err(ApiError::new(
                ErrorCode::PasswordChangeRequired,
                "パスワードの有効期限が切れています。先にパスワードを変更してください",
                "the password expired; change it first",
            ));
        }
    }
    Ok(Caller { user, terminal, token_hash, ip: ip.to_owned() })
}
