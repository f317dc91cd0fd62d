//! Password resets and unlocks: the operator for an office's administrators (after recording how
//! the caller's identity was checked), an office's administrator for its staff (with the second
//! factor passed). Every reset gives a temporary password and ends every session of the user;
//! every step is audited.

use crate::error::ApiError;
use crate::service::Actor;
use crate::service::offices::Credentials;
use crate::store::{AuditAction, Role, Store, User};
use renkei_protocol::ErrorCode;

/// How an operator checked who asked, as the console offers it: (code, label).
pub const IDENTITY_CHECKS: [(&str, &str); 4] = [
    ("callback", "登録されている事業所の電話番号に折り返して確認"),
    ("document", "申請書（書面）で確認"),
    ("visit", "来所・対面で確認"),
    ("other", "その他（内容を記入）"),
];

/// Who asks for a reset or an unlock.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// An operator, for an office's administrator, with how identity was checked.
    Operator {
        /// One of [`IDENTITY_CHECKS`].
        identity: &'a str,
        /// What was checked (required for `other`).
        note: &'a str,
    },
    /// An office's administrator, for a user of the same office.
    OfficeAdmin {
        /// The administrator.
        admin: &'a User,
        /// The second factor passed in this session (portal).
        second_factor_passed: bool,
    },
}

/// The one rule for who may reset or unlock whom. Returns the target and the audit detail.
async fn allowed(store: &Store, actor: Actor<'_>, by: By<'_>, login: &str) -> Result<(User, String), ApiError> {
    let forbidden = |ja: &str, en: &str| ApiError::new(ErrorCode::Forbidden, ja, en);
    let target = store.user_by_login(login.trim()).await?;
    let missing = || ApiError::new(ErrorCode::NotFound, format!("利用者ID {} はありません", login.trim()), "no such user");
    match by {
        By::Operator { identity, note } => {
            let Some(target) = target else { return Err(missing()) };
            if target.role != Role::Admin {
                return Err(forbidden(
                    "運営者が再発行・解除するのは事業所の管理者だけです。職員のパスワードは事業所の管理者がポータルの「職員」で再発行します",
                    "operators reset administrators only",
                ));
            }
            let Some((_, label)) = IDENTITY_CHECKS.iter().find(|(c, _)| *c == identity) else {
                return Err(ApiError::new(ErrorCode::BadRequest, "本人確認の方法を選んでください", "identity check missing"));
            };
            let note: String = note.trim().chars().take(200).collect();
            if identity == "other" && note.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    "「その他」のときは確認した内容を書いてください",
                    "identity note missing",
                ));
            }
            let detail = format!("login={} identity={identity}（{label}） note={note}", target.login);
            Ok((target, detail))
        }
        By::OfficeAdmin { admin, second_factor_passed } => {
            if admin.role != Role::Admin {
                return Err(forbidden("パスワードの再発行・ロック解除は事業所の管理者が行います", "only an office administrator"));
            }
            if matches!(actor, Actor::Portal(..)) && !second_factor_passed {
                return Err(crate::service::second_factor_required());
            }
            let Some(target) = target.filter(|t| t.office == admin.office) else { return Err(missing()) };
            if target.id == admin.id {
                return Err(ApiError::new(ErrorCode::BadRequest, "自分のパスワードは「パスワードの変更」で変えます", "not oneself"));
            }
            let detail = format!("login={}", target.login);
            Ok((target, detail))
        }
    }
}

/// Resets a user's password to a temporary one (shown once, on a 通知書), ends every session of
/// the user and clears the lockout. Audited.
pub async fn reset_password(store: &Store, actor: Actor<'_>, by: By<'_>, login: &str) -> Result<Credentials, ApiError> {
    let (target, detail) = allowed(store, actor, by, login).await?;
    if target.disabled {
        return Err(ApiError::new(ErrorCode::BadRequest, "利用停止中の利用者IDです", "the user is disabled"));
    }
    let (password, hash) = crate::service::accounts::temporary_password().await?;
    let audit = actor.audit(AuditAction::PasswordReset, Some(&target.office), detail);
    store.set_password_ending_sessions(target.id, &hash, true, (None, None), audit, crate::jst::now()).await?;
    let office_name = store.office(&target.office).await?.map(|o| o.name).unwrap_or_default();
    Ok(Credentials { office: target.office.clone(), office_name, login: target.login, name: target.name, password, warning: None })
}

/// Unlocks a user locked by failed logins (both counters). Returns the user's name. Audited.
pub async fn unlock(store: &Store, actor: Actor<'_>, by: By<'_>, login: &str) -> Result<String, ApiError> {
    let (target, detail) = allowed(store, actor, by, login).await?;
    store.unlock_user(target.id, crate::jst::now(), actor.audit(AuditAction::AccountUnlock, Some(&target.office), detail)).await?;
    Ok(target.name)
}

/// `true` when a user is locked out at `now` (on either counter).
pub fn is_locked(u: &User, now: i64) -> bool {
    u.locked_until.is_some_and(|t| t > now) || u.web_locked_until.is_some_and(|t| t > now)
}
