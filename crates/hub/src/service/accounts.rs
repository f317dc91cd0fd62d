//! Accounts: checking a password (one lockout rule for office users and operators, one answer
//! for unknown, wrong and locked IDs), the state of a password (temporary, expired), and
//! changing it (every other session of the user ends).

use crate::auth;
use crate::config::Auth;
use crate::error::ApiError;
use crate::service::Actor;
use crate::state::AppState;
use crate::store::{Audit, AuditAction, LockoutCounter, NewUser, OperatorRow, Role, Store, StoreError, User};
use renkei_protocol::ErrorCode;

/// Through which door a login comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// With an enrolled terminal's certificate (the office client's API).
    Terminal,
    /// Without a certificate (the portal, terminal enrolment). Failures here lock these doors
    /// only, so that nobody can lock an office out of its enrolled terminals from outside.
    Web,
}

impl Door {
    fn counter(self) -> LockoutCounter {
        match self {
            Door::Terminal => LockoutCounter::Terminal,
            Door::Web => LockoutCounter::Web,
        }
    }
}

/// Why a login failed.
#[derive(Debug)]
pub enum LoginError {
    /// Unknown ID, wrong password or locked ID: one answer (and the same work) for all three,
    /// so that nobody learns which IDs exist or are locked.
    Credentials,
    /// The password was right, but the administrator disabled the user.
    Disabled,
    /// The store failed.
    Store(StoreError),
    /// Hashing failed.
    Internal(String),
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        LoginError::Store(e)
    }
}

/// A hash of nothing, verified for unknown IDs so that they cost what a real check costs.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$3x1Q6cqu6wTWlKAx7SN4B0ZAPXjjEQNhuBtuEgbCAOU";

/// What a credential check needs to know of an account.
#[derive(Debug, Clone)]
struct Credential {
    id: i64,
    hash: String,
    locked_until: Option<i64>,
}

/// The one lockout rule. The password is always verified (unknown and locked IDs too); a
/// locked ID is refused like a wrong password and its count does not move; a failure counts,
/// starting again from 1 once an earlier lock has ended; `max_failures` consecutive failures
/// lock for `lockout_minutes`; a success clears the count.
async fn verify(
    store: &Store,
    cfg: &Auth,
    counter: LockoutCounter,
    cred: Option<Credential>,
    password: &str,
    now: i64,
) -> Result<i64, LoginError> {
    let hash = cred.as_ref().map_or(DUMMY_HASH.to_owned(), |c| c.hash.clone());
    let pw = password.to_owned();
    let ok =
        tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash)).await.map_err(|e| LoginError::Internal(e.to_string()))?;
    let Some(c) = cred else { return Err(LoginError::Credentials) };
    if c.locked_until.is_some_and(|l| l > now) {
        return Err(LoginError::Credentials);
    }
    store.login_attempt(counter, c.id, ok, now, cfg.max_failures, now + cfg.lockout_minutes * 60).await?;
    if ok { Ok(c.id) } else { Err(LoginError::Credentials) }
}

/// Checks an office user's login ID and password at `door`.
pub async fn login_user(store: &Store, cfg: &Auth, login: &str, password: &str, door: Door, now: i64) -> Result<User, LoginError> {
    let user = store.user_by_login(login).await?;
    let cred = user.as_ref().map(|u| Credential {
        id: u.id,
        hash: u.password_hash.clone(),
        locked_until: match door {
            Door::Terminal => u.locked_until,
            Door::Web => u.web_locked_until,
        },
    });
    verify(store, cfg, door.counter(), cred, password, now).await?;
    let user = user.ok_or(LoginError::Credentials)?;
    // Only someone who knows the password learns that the ID was disabled.
    if user.disabled {
        return Err(LoginError::Disabled);
    }
    Ok(user)
}

/// Checks an operator's login ID and password (the one lockout rule, as for users).
pub async fn login_operator(store: &Store, cfg: &Auth, login: &str, password: &str, now: i64) -> Result<OperatorRow, LoginError> {
    let op = store.operator(Some(login), None).await?;
    let cred = op.as_ref().map(|o| Credential { id: o.id, hash: o.password_hash.clone(), locked_until: o.locked_until });
    verify(store, cfg, LockoutCounter::Operator, cred, password, now).await?;
    op.ok_or(LoginError::Credentials)
}

/// The one answer to a failed login (Japanese).
pub fn credentials_message(cfg: &Auth) -> String {
    format!(
        "ログインIDまたはパスワードが違います（{}回続けて間違えると、そのIDは{}分間ログインできなくなります）",
        cfg.max_failures, cfg.lockout_minutes
    )
}

/// The state of a user's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordState {
    /// In force.
    Current,
    /// A temporary password (new user, reset): must be changed before anything else.
    Temporary,
    /// Past `auth.password_max_days`: must be changed before anything else.
    Expired,
}

impl PasswordState {
    /// Nothing but changing the password (and logging out) is allowed.
    pub fn must_change(self) -> bool {
        self != PasswordState::Current
    }
}

/// The state of `user`'s password at `now`: checked by every door at every request.
pub fn password_state(user: &User, cfg: &Auth, now: i64) -> PasswordState {
    if user.must_change {
        PasswordState::Temporary
    } else if cfg.password_expires(user.password_set_at).is_some_and(|e| e <= now) {
        PasswordState::Expired
    } else {
        PasswordState::Current
    }
}

/// Why a password change was refused.
#[derive(Debug)]
pub enum PasswordError {
    /// The current password is wrong.
    WrongCurrent,
    /// The new password breaks the rules.
    Policy,
    /// The store failed.
    Store(StoreError),
    /// Hashing failed.
    Internal(String),
}

impl From<StoreError> for PasswordError {
    fn from(e: StoreError) -> Self {
        PasswordError::Store(e)
    }
}

/// The session that changes the password, which goes on; every other session of the user (API
/// and portal) ends.
#[derive(Debug, Clone, Copy)]
pub enum Keeping<'a> {
    /// An API session (token hash).
    Api(&'a str),
    /// A portal session (token hash).
    Portal(&'a str),
}

/// The rule for new passwords (Japanese), shown wherever one is chosen.
pub const PASSWORD_RULE: &str = "新しいパスワードは8〜64文字で、英字と数字を両方含め、今のパスワードと違うものにしてください";

/// The one rule of a password change: the current password must be right, the new one follow
/// the rule and differ from it. Returns the new password's hash.
async fn new_password_hash(current_hash: &str, current: &str, new: &str) -> Result<String, PasswordError> {
    let (cur, hash) = (current.to_owned(), current_hash.to_owned());
    if !tokio::task::spawn_blocking(move || auth::verify_password(&cur, &hash)).await.map_err(|e| PasswordError::Internal(e.to_string()))? {
        return Err(PasswordError::WrongCurrent);
    }
    if !auth::password_ok(new) || new == current {
        return Err(PasswordError::Policy);
    }
    let n = new.to_owned();
    tokio::task::spawn_blocking(move || auth::hash_password(&n))
        .await
        .map_err(|e| PasswordError::Internal(e.to_string()))?
        .map_err(|e| PasswordError::Internal(e.to_string()))
}

/// Changes `user`'s password: the current one must be right and the new one follow the rules;
/// every other session of the user ends; audited in the same transaction.
pub async fn change_password(
    store: &Store,
    user: &User,
    current: &str,
    new: &str,
    keeping: Keeping<'_>,
    audit: Audit<'_>,
    now: i64,
) -> Result<(), PasswordError> {
    let hash = new_password_hash(&user.password_hash, current, new).await?;
    let keep = match keeping {
        Keeping::Api(h) => (Some(h), None),
        Keeping::Portal(h) => (None, Some(h)),
    };
    store.set_password_ending_sessions(user.id, &hash, false, keep, audit, now).await?;
    Ok(())
}

/// An operator changes their own password: the current one must be right and the new one follow
/// the rule; every other console session of theirs ends; audited.
pub async fn change_operator_password(
    store: &Store,
    actor: Actor<'_>,
    operator_id: i64,
    current: &str,
    new: &str,
    keep_token_hash: &str,
) -> Result<(), PasswordError> {
    let op = store.operator(None, Some(operator_id)).await?.ok_or_else(|| PasswordError::Internal("operator missing".into()))?;
    let hash = new_password_hash(&op.password_hash, current, new).await?;
    let audit = actor.audit(AuditAction::OperatorPassword, None, format!("operator={}", op.login));
    store.set_operator_password(operator_id, &hash, keep_token_hash, crate::jst::now(), audit).await?;
    Ok(())
}

/// A failed login as every door answers it (the portal and the console show its message).
pub fn refusal(cfg: &Auth, e: LoginError) -> ApiError {
    match e {
        LoginError::Credentials => {
            ApiError::new(ErrorCode::BadCredentials, credentials_message(cfg), "wrong login ID or password, or locked")
        }
        LoginError::Disabled => ApiError::new(
            ErrorCode::BadCredentials,
            "このログインIDは使えなくなっています。事業所の管理者に確認してください",
            "the user has been disabled",
        ),
        LoginError::Store(e) => e.into(),
        LoginError::Internal(e) => ApiError::internal(e),
    }
}

/// A staff account just created: its login ID and the temporary password shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    /// Login ID (`KJ` + 事業所番号 + two digits, as 電子請求 IDs look).
    pub login: String,
    /// Temporary password (must be changed at first login).
    pub password: String,
}

/// Only an office administrator who has passed a second factor in this session manages staff.
fn may_manage_staff(actor: Actor<'_>, user: &User, second_factor_passed: bool, ja: &str) -> Result<(), ApiError> {
    if user.role != Role::Admin {
        return Err(ApiError::new(ErrorCode::Forbidden, ja, "only an office administrator may manage staff"));
    }
    if matches!(actor, Actor::Portal(..)) && !second_factor_passed {
        return Err(crate::service::second_factor_required());
    }
    Ok(())
}

/// Adds a staff user to the administrator's office, with a temporary password.
pub async fn add_staff(
    st: &AppState,
    actor: Actor<'_>,
    admin: &User,
    second_factor_passed: bool,
    name: &str,
) -> Result<NewStaff, ApiError> {
    may_manage_staff(actor, admin, second_factor_passed, "職員を追加できるのは事業所の管理者だけです")?;
    let name: String = name.trim().chars().take(40).collect();
    if name.is_empty() {
        return Err(ApiError::new(ErrorCode::BadRequest, "氏名を入れてください", "name missing"));
    }
    let users = st.store.office_users(&admin.office).await?;
    let Some(login) = (1..100).map(|n| format!("KJ{}{n:02}", admin.office)).find(|l| users.iter().all(|x| &x.login != l)) else {
        return Err(ApiError::new(ErrorCode::BadRequest, "これ以上職員を追加できません（99人まで）", "no login IDs left"));
    };
    let (password, hash) = temporary_password().await?;
    let new = NewUser { login: &login, office: &admin.office, role: Role::Staff, name: &name, password_hash: &hash, must_change: true };
    st.store.add_user(&new, crate::jst::now(), actor.audit(AuditAction::StaffAdd, Some(&admin.office), format!("login={login}"))).await?;
    Ok(NewStaff { login, password })
}

/// Disables a user of the administrator's office: every session of theirs ends at once (API
/// and portal). Returns the user's name.
pub async fn disable_staff(
    st: &AppState,
    actor: Actor<'_>,
    admin: &User,
    second_factor_passed: bool,
    login: &str,
) -> Result<String, ApiError> {
    may_manage_staff(actor, admin, second_factor_passed, "利用停止は事業所の管理者が行います")?;
    let target = st.store.user_by_login(login).await?.filter(|t| t.office == admin.office);
    let Some(target) = target else {
        return Err(ApiError::new(ErrorCode::NotFound, "そのログインIDはありません", "no such user in this office"));
    };
    if target.id == admin.id {
        return Err(ApiError::new(ErrorCode::BadRequest, "自分自身は利用停止にできません", "cannot disable oneself"));
    }
    let audit = actor.audit(AuditAction::StaffDisable, Some(&admin.office), format!("login={login}"));
    st.store.disable_user(target.id, crate::jst::now(), audit).await?;
    Ok(target.name)
}

/// A new temporary password (shown once, on a 通知書 or the screen) and its hash, hashed off
/// the async threads: every account that gets one (staff, an office's first administrator, a
/// reset, an operator) gets it here.
pub async fn temporary_password() -> Result<(String, String), ApiError> {
    let password = auth::temporary_password();
    let pw = password.clone();
    let hash =
        tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await.map_err(ApiError::internal)?.map_err(ApiError::internal)?;
    Ok((password, hash))
}
