//! The second factor (2段階認証): TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock drift either way) with ten one-time recovery codes, for office users and operators
//! alike. Required for operators, and for an office administrator before issuing enrolment
//! codes or managing staff from the portal, so that a password alone never yields a terminal
//! certificate. A code is accepted once; wrong codes count on the same lockout as passwords.

use crate::auth;
use crate::config::Auth;
use crate::error::ApiError;
use crate::service::Actor;
use crate::service::accounts::LoginError;
use crate::store::{Account, AuditAction, LockoutCounter, Store};
use renkei_protocol::ErrorCode;
use totp_rs::{Algorithm, TOTP};

/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "renkei";
/// Seconds per TOTP step.
pub const STEP_SECONDS: u64 = 30;
/// Recovery codes issued at setup.
pub const RECOVERY_CODES: usize = 10;

/// What an authenticator app needs to set up: the secret and a QR code of its `otpauth://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The secret, base32, in groups of four for typing by hand.
    pub secret_grouped: String,
    /// The `otpauth://totp/…` URL.
    pub url: String,
    /// The URL as a QR code, SVG, rendered here (no outside service, no script).
    pub qr_svg: String,
}

fn totp(secret_b32: &str) -> Result<TOTP, ApiError> {
    let bytes =
        totp_rs::Secret::Encoded(secret_b32.to_owned()).to_bytes().map_err(|e| ApiError::internal(format!("TOTP secret: {e:?}")))?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECONDS, bytes).map_err(|e| ApiError::internal(format!("TOTP: {e}")))
}

/// The 6-digit code for a base32 secret at unix time `t` (what an authenticator app shows).
pub fn code_at(secret_b32: &str, t: u64) -> Result<String, ApiError> {
    Ok(totp(&secret_b32.replace(' ', ""))?.generate(t))
}

/// Starts (or restarts) setting up: a fresh secret, kept pending until a code confirms it.
pub async fn start(store: &Store, account: Account, login: &str) -> Result<Setup, ApiError> {
    let mut raw = [0u8; 20];
    rand::fill(&mut raw);
    let secret = totp_rs::Secret::Raw(raw.to_vec()).to_encoded().to_string();
    store.set_totp_pending(account, &secret).await?;
    setup_of(&secret, login)
}

/// The setup view of a pending secret (for showing the page again after a wrong code).
pub async fn pending(store: &Store, account: Account, login: &str) -> Result<Option<Setup>, ApiError> {
    match store.second_factor(account).await?.pending {
        Some(secret) => setup_of(&secret, login).map(Some),
        None => Ok(None),
    }
}

fn setup_of(secret: &str, login: &str) -> Result<Setup, ApiError> {
    let label: String = login.chars().filter(char::is_ascii_alphanumeric).collect();
    let url = format!("otpauth://totp/{ISSUER}:{label}?secret={secret}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={STEP_SECONDS}");
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| ApiError::internal(format!("QR: {e}")))?;
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build();
    // Inline in the page: without the XML declaration.
    let qr_svg = svg.find("<svg").map_or(svg.clone(), |i| svg[i..].to_owned());
    let secret_grouped = secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ");
    Ok(Setup { secret_grouped, url, qr_svg })
}

/// The step a code matches (now, one before or one after), compared in constant time.
fn matching_step(totp: &TOTP, code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    if code.len() != 6 {
        return None;
    }
    let step = now.max(0) / STEP_SECONDS as i64;
    [step, step - 1, step + 1].into_iter().find(|s| {
        let t = u64::try_from(*s).unwrap_or(0) * STEP_SECONDS;
        auth::constant_time_eq(totp.generate(t).as_bytes(), code.as_bytes())
    })
}

/// Confirms setup with a code from the app: the second factor is on, with new recovery codes
/// (returned once, to be shown once).
pub async fn confirm(store: &Store, actor: Actor<'_>, account: Account, code: &str, now: i64) -> Result<Vec<String>, ApiError> {
    let state = store.second_factor(account).await?;
    let Some(secret) = state.pending else {
        return Err(ApiError::new(ErrorCode::BadRequest, "設定をはじめからやり直してください", "no pending secret"));
    };
    let Some(step) = matching_step(&totp(&secret)?, code, now) else {
        return Err(wrong_code());
    };
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| auth::recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| auth::token_hash(&auth::normalize_recovery_code(c))).collect();
    store.enable_totp(account, &secret, step, &hashes, now, actor.audit(AuditAction::SecondFactorOn, None, "")).await?;
    Ok(codes)
}

fn wrong_code() -> ApiError {
    ApiError::new(
        ErrorCode::BadCredentials,
        "確認コードが違います。アプリに表示されている6桁の数字を入れてください（時計が大きくずれていないかも確かめてください）",
        "wrong TOTP code",
    )
}

/// Checks a code at login (or a recovery code), on the account's lockout counter (the one
/// that counts its passwords without a certificate): a wrong code counts like a wrong password,
/// a right one ends the count; while locked, no code is even looked at. A code is accepted once.
pub async fn verify(store: &Store, cfg: &Auth, actor: Actor<'_>, account: Account, code: &str, now: i64) -> Result<(), ApiError> {
    let (id, counter, locked_until) = match account {
        Account::User(id) => (id, LockoutCounter::Web, store.user(id).await?.and_then(|u| u.web_locked_until)),
        Account::Operator(id) => (id, LockoutCounter::Operator, store.operator(None, Some(id)).await?.and_then(|o| o.locked_until)),
    };
    if locked_until.is_some_and(|t| t > now) {
        return Err(crate::service::accounts::refusal(cfg, LoginError::Credentials));
    }
    let state = store.second_factor(account).await?;
    let Some(secret) = state.secret else {
        return Err(ApiError::new(ErrorCode::BadRequest, "2段階認証は設定されていません", "no second factor set up"));
    };
    let ok = match matching_step(&totp(&secret)?, code, now) {
        Some(step) => store.use_totp_step(account, step).await?,
        None => {
            let hash = auth::token_hash(&auth::normalize_recovery_code(code));
            code.chars().filter(char::is_ascii_alphanumeric).count() == 10
                && store.use_recovery_code(account, &hash, now, actor.audit(AuditAction::RecoveryCodeUsed, None, "")).await?
        }
    };
    let locked = store.login_attempt(counter, id, ok, now, cfg.max_failures, now + cfg.lockout_minutes * 60).await?;
    match ok {
        true => Ok(()),
        false if locked > now => Err(crate::service::accounts::refusal(cfg, LoginError::Credentials)),
        false => Err(wrong_code()),
    }
}

/// Takes the second factor off an account that lost its phone and its recovery codes (the hub
/// operator, on the hub's own machine, after checking who is asking): the next login sets it up
/// anew. Audited.
pub async fn reset(store: &Store, actor: Actor<'_>, account: Account) -> Result<(), ApiError> {
    Ok(store.disable_totp(account, crate::jst::now(), actor.audit(AuditAction::SecondFactorOff, None, "reset")).await?)
}

/// Turns the second factor off (the account's own choice, with a current code).
pub async fn disable(store: &Store, cfg: &Auth, actor: Actor<'_>, account: Account, code: &str, now: i64) -> Result<(), ApiError> {
    verify(store, cfg, actor, account, code, now).await?;
    Ok(store.disable_totp(account, now, actor.audit(AuditAction::SecondFactorOff, None, "")).await?)
}
