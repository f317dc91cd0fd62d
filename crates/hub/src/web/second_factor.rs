//! The second-factor screens, shared by the portal (`/portal/security`, `/portal/second-factor`)
//! and the console (`/operator/…`): what each shows is built here once; the doors only supply
//! who is asking and their page layout.

use crate::error::ApiError;
use crate::service::Actor;
use crate::service::second_factor::{self, Setup};
use crate::state::AppState;
use crate::store::Account;
use serde::Deserialize;

/// What the 2段階認証 page shows.
#[derive(Debug, Default)]
pub struct SecurityModel {
    /// `/portal` or `/operator`.
    pub prefix: &'static str,
    /// Something just done.
    pub done: Option<String>,
    /// A refusal to show.
    pub error: Option<String>,
    /// Recovery codes just issued (shown once).
    pub codes: Vec<String>,
    /// Setup in progress.
    pub setup: Option<Setup>,
    /// The second factor is on.
    pub on: bool,
    /// Recovery codes left.
    pub recovery_left: i64,
    /// Whether this account may turn it off (operators may not).
    pub may_disable: bool,
    /// Why to set it up (shown while it is off).
    pub why: &'static str,
}

/// What the code-entry page shows.
#[derive(Debug, Default)]
pub struct EntryModel {
    /// `/portal` or `/operator`.
    pub prefix: &'static str,
    /// A refusal to show.
    pub error: Option<String>,
}

/// A code typed in.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    /// The code.
    pub code: String,
}

/// The page's state for an account.
pub async fn model(st: &AppState, account: Account, prefix: &'static str, why: &'static str) -> Result<SecurityModel, ApiError> {
    let s = st.store.second_factor(account).await?;
    Ok(SecurityModel {
        prefix,
        on: s.secret.is_some(),
        recovery_left: s.recovery_left,
        may_disable: matches!(account, Account::User(_)),
        why,
        ..Default::default()
    })
}

/// 設定をはじめる: a fresh secret and its QR code.
pub async fn start(st: &AppState, account: Account, login: &str, mut m: SecurityModel) -> Result<SecurityModel, ApiError> {
    m.setup = Some(second_factor::start(&st.store, account, login).await?);
    Ok(m)
}

/// 設定する: the code confirms the secret; the recovery codes are shown once. The session that
/// set it up counts as having passed it.
pub async fn confirm(
    st: &AppState,
    actor: Actor<'_>,
    account: Account,
    login: &str,
    token_hash: &str,
    code: &str,
    mut m: SecurityModel,
) -> Result<SecurityModel, ApiError> {
    let now = crate::jst::now();
    match second_factor::confirm(&st.store, actor, account, code, now).await {
        Ok(codes) => {
            st.store.mark_second_factor(account, token_hash, now).await?;
            m.on = true;
            m.codes = codes;
            m.done = Some("2段階認証を設定しました。".into());
        }
        Err(e) if e.0.code.status() < 500 => {
            m.error = Some(e.0.message);
            m.setup = second_factor::pending(&st.store, account, login).await?;
        }
        Err(e) => return Err(e),
    }
    Ok(m)
}

/// やめる (office users only), with a current code.
pub async fn disable(
    st: &AppState,
    actor: Actor<'_>,
    account: Account,
    code: &str,
    mut m: SecurityModel,
) -> Result<SecurityModel, ApiError> {
    match second_factor::disable(&st.store, &st.config.auth, actor, account, code, crate::jst::now()).await {
        Ok(()) => {
            m.on = false;
            m.done = Some("2段階認証をやめました。".into());
        }
        Err(e) if e.0.code.status() < 500 => m.error = Some(e.0.message),
        Err(e) => return Err(e),
    }
    Ok(m)
}

/// The code at login: `Ok(None)` when it passed (the session is marked), `Ok(Some(message))`
/// when refused.
pub async fn enter(st: &AppState, actor: Actor<'_>, account: Account, token_hash: &str, code: &str) -> Result<Option<String>, ApiError> {
    let now = crate::jst::now();
    match second_factor::verify(&st.store, &st.config.auth, actor, account, code, now).await {
        Ok(()) => {
            st.store.mark_second_factor(account, token_hash, now).await?;
            Ok(None)
        }
        Err(e) if e.0.code.status() < 500 => Ok(Some(e.0.message)),
        Err(e) => Err(e),
    }
}
