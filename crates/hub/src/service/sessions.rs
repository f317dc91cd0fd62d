//! Who is calling the API: a terminal certificate, a session on that terminal and an enabled
//! user of its office, in a password state that allows the request. One function,
//! [`authenticate`], decides for every API request.

use crate::auth;
use crate::error::ApiError;
use crate::jst::now;
use crate::service::accounts;
use crate::state::AppState;
use crate::store::{Account, Audit, AuditAction, Terminal, User};
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
    /// The office whose mailbox this request works on: the terminal's own, or the office an
    /// agent acts for ([`crate::service::delegations::resolve`]).
    pub office: String,
    /// The agent acting for [`Caller::office`], when this request is 代行.
    pub acting: Option<crate::service::delegations::Acting>,
}

impl Caller {
    /// An audit row for an action of this caller.
    pub fn audit(&self, action: AuditAction, detail: String) -> Audit<'_> {
        crate::service::Actor::Terminal(self).audit(action, None, detail)
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
/// password is refused unless `allow_temporary`, for logout and the password change), and, for
/// a route that can be delegated, the office an agent acts for (`on_behalf`: the header's value
/// and the route's scope). Every API request and every event stream's periodic re-check goes
/// through here.
pub async fn authenticate(
    st: &AppState,
    peer: &crate::tls::PeerCert,
    bearer: Option<&str>,
    ip: &str,
    allow_temporary: bool,
    on_behalf: Option<(&str, crate::service::delegations::Scope)>,
) -> Result<Caller, ApiError> {
    let mut c = authenticate_own(st, peer, bearer, ip, allow_temporary).await?;
    if let Some((office, scope)) = on_behalf {
        crate::service::delegations::resolve(st, &mut c, office, scope).await?;
    }
    Ok(c)
}

async fn authenticate_own(
    st: &AppState,
    peer: &crate::tls::PeerCert,
    bearer: Option<&str>,
    ip: &str,
    allow_temporary: bool,
) -> Result<Caller, ApiError> {
    let fingerprint = peer.fingerprint.as_deref();
    // Fast path: one query proves certificate, session and user together, or the connection
    // remembers that it did a moment ago (crate::tls::SessionMemo: at most 1 s, and never
    // across a logout, revocation, password change or disabling made through this process).
    if let (Some(fp), Some(token)) = (fingerprint, bearer) {
        let token_hash = auth::token_hash(token);
        let (epoch, at) = (st.store.sessions_epoch(), now());
        let proved = match peer.session.recall(&token_hash, epoch, at) {
            Some(s) => Some(s),
            None => {
                let s = st.store.authenticate(fp, &token_hash, at).await?;
                if let Some(s) = &s {
                    peer.session.remember(&token_hash, epoch, s.clone());
                }
                s
            }
        };
        if let Some(crate::store::AuthenticatedSession { user, terminal, .. }) = proved
            && user.office == terminal.office
            && (allow_temporary || !accounts::password_state(&user, &st.config.auth, now()).must_change())
        {
            return Ok(Caller { office: terminal.office.clone(), user, terminal, token_hash, ip: ip.to_owned(), acting: None });
        }
    }
    // Otherwise find out exactly what is wrong, for a specific message.
    let terminal = terminal(st, fingerprint).await?;
    let expired =
        || ApiError::new(ErrorCode::SessionRequired, "ログインしてください（ログインの有効期限が切れた可能性があります）", "log in first");
    let token = bearer.ok_or_else(expired)?;
    let token_hash = auth::token_hash(token);
    let session = st.store.session(&token_hash, now()).await?.ok_or_else(expired)?;
    let (user_id, session_terminal) = (session.user_id, session.terminal_id);
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
    Ok(Caller { office: terminal.office.clone(), user, terminal, token_hash, ip: ip.to_owned(), acting: None })
}

/// A browser session just opened: the cookie's token and the session's CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebLogin {
    /// The session token (the cookie; only its hash is stored).
    pub token: String,
    /// The CSRF token every change in this session carries.
    pub csrf: String,
}

/// Opens a portal session for a user whose password was checked, audited in one transaction.
pub async fn open_portal(st: &AppState, user: &User, ip: &str) -> Result<WebLogin, ApiError> {
    open_web(st, user, ip, "").await
}

/// Ends one portal session, audited.
pub async fn close_portal(st: &AppState, user: &User, token_hash: &str, ip: &str) -> Result<(), ApiError> {
    let audit = crate::service::Actor::Portal(user, ip).audit(AuditAction::PortalLogout, None, "");
    Ok(st.store.end_portal_sessions(Some(token_hash), user.id, now(), audit).await?)
}

/// Opens a console session for an operator whose password was checked, audited.
pub async fn open_console(st: &AppState, op: &crate::store::OperatorRow, ip: &str) -> Result<WebLogin, ApiError> {
    let (token, csrf, t) = (auth::token(), auth::token(), now());
    let audit = crate::service::Actor::Operator(&op.login, ip).audit(AuditAction::OperatorLogin, None, "");
    st.store.add_web_session(Account::Operator(op.id), &auth::token_hash(&token), &csrf, t, t + 8 * 3600, audit).await?;
    Ok(WebLogin { token, csrf })
}

/// Logs a user in at an enrolled terminal: the terminal's certificate, the user's password
/// (the terminal door's lockout counter) and the same office; the session is bound to the
/// terminal and audited in the same transaction.
pub async fn open_api(
    st: &AppState,
    fingerprint: Option<&str>,
    login: &str,
    password: &str,
    ip: &str,
) -> Result<renkei_protocol::LoginResponse, ApiError> {
    let terminal = terminal(st, fingerprint).await?;
    let user = accounts::login_user(&st.store, &st.config.auth, login, password, accounts::Door::Terminal, now())
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
    let audit = Audit {
        action: AuditAction::Login,
        office: Some(&user.office),
        user_id: Some(user.id),
        terminal_id: Some(&terminal.id),
        ip: Some(ip),
        detail: String::new(),
    };
    st.store.add_session(&auth::token_hash(&token), user.id, &terminal.id, t, expires, audit).await?;
    Ok(renkei_protocol::LoginResponse {
        token,
        must_change_password: accounts::password_state(&user, &st.config.auth, t).must_change(),
        office: user.office,
        user_name: user.name,
        role: user.role.as_str().to_owned(),
        expires_at: crate::jst::rfc3339(expires),
        password_expires_at: st.config.auth.password_expires(user.password_set_at).map(crate::jst::rfc3339),
    })
}

/// The web mailbox's stand-in for a terminal: a browser has no terminal certificate, so messages
/// sent and fetched there, and their audit rows, name this terminal id.
pub const BROWSER_TERMINAL: &str = "web";

/// Why the web mailbox refused a request.
#[derive(Debug)]
pub enum MailboxRefusal {
    /// No live portal session, or its user is disabled: log in.
    Login,
    /// The user has no second factor: the web mailbox needs one (set it up in the portal).
    NoSecondFactor,
    /// This session has not passed the second factor: log in with the code.
    SecondFactor,
    /// The password is temporary or expired: change it first.
    ChangePassword,
    /// The office has a browser certificate and this connection presented none of its
    /// certificates ([`certificate_allows`]).
    Certificate,
    /// A change without the session's CSRF token, or from another site.
    Csrf,
    /// The service failed.
    Failed(ApiError),
}

impl From<crate::store::StoreError> for MailboxRefusal {
    fn from(e: crate::store::StoreError) -> Self {
        MailboxRefusal::Failed(e.into())
    }
}

/// A web mailbox request's caller and its session's CSRF token (the door checks changes
/// against it).
#[derive(Debug, Clone)]
pub struct MailboxSession {
    /// The caller: the user, acting for its own office through the browser.
    pub caller: Caller,
    /// The session's CSRF token.
    pub csrf: String,
}

/// Authenticates a web mailbox request, the one rule for every page and change of `/mailbox`:
/// a live portal session (the browser's cookie, `token_hash`), an enabled user, a second factor
/// set up and passed in this very session (a password alone never opens an office's mail), and a
/// current password. `change_allowed` is the door's check of a change against the session's CSRF
/// token (and origin), made as soon as the session is known. The caller acts for the user's own
/// office only (no 代行 on the web), through [`BROWSER_TERMINAL`].
pub async fn authenticate_mailbox(
    st: &AppState,
    token_hash: &str,
    ip: &str,
    fingerprint: Option<&str>,
    change_allowed: impl FnOnce(&str) -> bool,
) -> Result<MailboxSession, MailboxRefusal> {
    let t = now();
    let session = st.store.web_session(crate::store::WebDoor::Portal, token_hash, t).await?.ok_or(MailboxRefusal::Login)?;
    let user = st.store.user(session.account_id).await?.filter(|u| !u.disabled).ok_or(MailboxRefusal::Login)?;
    if !change_allowed(&session.csrf) {
        return Err(MailboxRefusal::Csrf);
    }
    if st.store.second_factor(Account::User(user.id)).await?.secret.is_none() {
        return Err(MailboxRefusal::NoSecondFactor);
    }
    if session.second_factor_at.is_none() {
        return Err(MailboxRefusal::SecondFactor);
    }
    if accounts::password_state(&user, &st.config.auth, t).must_change() {
        return Err(MailboxRefusal::ChangePassword);
    }
    if !certificate_allows(st, &user.office, fingerprint).await? {
        return Err(MailboxRefusal::Certificate);
    }
    Ok(MailboxSession { caller: browser_caller(user, token_hash, ip), csrf: session.csrf })
}

/// The one rule of browser certificates (ブラウザー用の電子証明書): while `office` has one that
/// is not revoked, its web mailbox is reached only over a connection that presents a
/// certificate of that office (a browser's or a PC's) that is not revoked; an office without
/// one needs none. `fingerprint`: the SHA-256 of the connection's client certificate.
pub async fn certificate_allows(st: &AppState, office: &str, fingerprint: Option<&str>) -> Result<bool, crate::store::StoreError> {
    if !st.store.has_browser_certificate(office).await? {
        return Ok(true);
    }
    let Some(fp) = fingerprint else { return Ok(false) };
    Ok(st.store.terminal_by_fingerprint(fp).await?.is_some_and(|t| t.office == office && t.revoked_at.is_none()))
}

/// What the browser is told when its office's certificate is missing.
pub const CERTIFICATE_NEEDED_JA: &str = "この事業所のWebメールボックスは、事業所の電子証明書を入れたブラウザーでだけ開けます。証明書を入れたパソコンのブラウザーで開くか、事業所の管理者にポータルの「証明書・端末」で発行してもらってください（証明書を選ぶ画面が出たら、事業所の証明書を選んでください）";

fn browser_caller(user: User, token_hash: &str, ip: &str) -> Caller {
    let terminal = Terminal {
        id: BROWSER_TERMINAL.into(),
        office: user.office.clone(),
        label: "ブラウザー（Webメールボックス）".into(),
        serial: String::new(),
        revoked_at: None,
    };
    Caller { office: user.office.clone(), user, terminal, token_hash: token_hash.to_owned(), ip: ip.to_owned(), acting: None }
}

/// Where a web mailbox login leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxLogin {
    /// Password and code were right: the mailbox is open.
    Open(WebLogin),
    /// The password was right but the user has no second factor yet: a portal session to set
    /// one up in (the mailbox stays shut until then).
    SetUpSecondFactor(WebLogin),
    /// Password and code were right, but the password is temporary or expired: change it first.
    ChangePassword(WebLogin),
}

/// Logs a user into the web mailbox: the password (the portal's lockout counter and address
/// limits), then the one-time code of the second factor (the same counter), then a portal
/// session marked as past the second factor, audited as a login through the mailbox.
pub async fn open_mailbox(
    st: &AppState,
    login: &str,
    password: &str,
    code: &str,
    ip: &str,
    fingerprint: Option<&str>,
) -> Result<MailboxLogin, ApiError> {
    let t = now();
    let user = accounts::login_user(&st.store, &st.config.auth, login, password, accounts::Door::Web, t)
        .await
        .map_err(|e| accounts::refusal(&st.config.auth, e))?;
    let account = Account::User(user.id);
    let actor = crate::service::Actor::Portal(&user, ip);
    if st.store.second_factor(account).await?.secret.is_none() {
        return Ok(MailboxLogin::SetUpSecondFactor(open_web(st, &user, ip, "door=mailbox second_factor=none").await?));
    }
    if code.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::SecondFactorRequired,
            "確認コード（認証アプリに表示される6桁の数字）を入れてください",
            "the one-time code is missing",
        ));
    }
    crate::service::second_factor::verify(&st.store, &st.config.auth, actor, account, code.trim(), t).await?;
    if !certificate_allows(st, &user.office, fingerprint).await? {
        return Err(ApiError::new(
            ErrorCode::CertificateRequired,
            CERTIFICATE_NEEDED_JA,
            "this office's web mailbox needs one of its certificates",
        ));
    }
    let w = open_web(st, &user, ip, "door=mailbox").await?;
    st.store.mark_second_factor(account, &auth::token_hash(&w.token), t).await?;
    Ok(if accounts::password_state(&user, &st.config.auth, t).must_change() {
        MailboxLogin::ChangePassword(w)
    } else {
        MailboxLogin::Open(w)
    })
}

async fn open_web(st: &AppState, user: &User, ip: &str, detail: &str) -> Result<WebLogin, ApiError> {
    let (token, csrf, t) = (auth::token(), auth::token(), now());
    let audit = crate::service::Actor::Portal(user, ip).audit(AuditAction::PortalLogin, None, detail);
    st.store
        .add_web_session(Account::User(user.id), &auth::token_hash(&token), &csrf, t, t + st.config.auth.session_hours * 3600, audit)
        .await?;
    Ok(WebLogin { token, csrf })
}
