//! Terminals (端末): enrolment codes, enrolment with a certificate from the hub's CA, and
//! revocation (its sessions end; the certificate goes on the CRL at once).

use crate::auth;
use crate::error::ApiError;
use crate::jst::{jst_minutes, now};
use crate::service::Actor;
use crate::service::accounts::{self, Door};
use crate::state::AppState;
use crate::store::{AuditAction, Store, Terminal, User};
use renkei_protocol::{EnrolRequest, EnrolResponse, ErrorCode};

/// A one-time enrolment code, as shown once to the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The code (`1234-5678-9012`).
    pub code: String,
    /// When it stops working (unix seconds).
    pub expires_at: i64,
}

/// Issues an enrolment code for `user`'s office. Only an administrator may; in the portal (no
/// certificate) only one who has passed a second factor in this session — so that a password
/// alone never yields a certificate. From an enrolled terminal the certificate is the second
/// factor.
pub async fn issue_code(st: &AppState, actor: Actor<'_>, user: &User, second_factor_passed: bool) -> Result<IssuedCode, ApiError> {
    if user.role != crate::store::Role::Admin {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "端末登録コードを発行できるのは事業所の管理者だけです",
            "only an office administrator may create enrolment codes",
        ));
    }
    if matches!(actor, Actor::Portal(..)) && !second_factor_passed {
        return Err(crate::service::second_factor_required());
    }
    new_code(&st.store, &st.config.auth, actor, &user.office).await
}

/// A new enrolment code for `office`, audited; no questions asked (the admin command line on
/// the hub's machine, and [`issue_code`] once it has checked the caller).
pub async fn new_code(store: &Store, cfg: &crate::config::Auth, actor: Actor<'_>, office: &str) -> Result<IssuedCode, ApiError> {
    let code = auth::enrolment_code();
    let t = now();
    let expires_at = t + cfg.enrolment_code_hours * 3600;
    let hash = auth::token_hash(&auth::normalize_code(&code));
    store.add_enrolment_code(&hash, office, t, expires_at, actor.audit(AuditAction::EnrolmentCode, Some(office), "")).await?;
    Ok(IssuedCode { code, expires_at })
}

/// Enrols a terminal: the user's ID and password, a one-time code of the user's office, and a
/// CSR. The certificate is stored with its audit row and a notice to the office ("a new
/// terminal was enrolled", with the way to revoke it) in one transaction.
pub async fn enrol(st: &AppState, req: &EnrolRequest, ip: &str) -> Result<EnrolResponse, ApiError> {
    let user = accounts::login_user(&st.store, &st.config.auth, &req.login, &req.password, Door::Web, now())
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
    let notice = announcement(
        &office.number,
        "新しい端末が登録されました",
        format!(
            "{}（日本時間）、{}さん（{}）のログインIDで端末「{}」が登録されました。心当たりがなければ、すぐにポータルの「証明書・端末」でこの端末を失効し、パスワードを変更してください。",
            jst_minutes(t),
            user.name,
            user.login,
            term.label
        ),
    );
    let audit = crate::store::Audit {
        action: AuditAction::Enrol,
        office: Some(&office.number),
        user_id: Some(user.id),
        terminal_id: Some(&terminal_id),
        ip: Some(ip),
        detail: format!("label={}", term.label),
    };
    st.store.add_terminal(&term, false, &issued.fingerprint, issued.not_after, t, Some(&notice), audit).await?;
    st.events.send(Some(&office.number), renkei_protocol::Event::Notice { id: notice.public_id.clone(), title: notice.title.clone() });
    Ok(EnrolResponse { terminal_id, office: office.number, certificate_pem: issued.cert_pem, ca_pem: st.ca.cert_pem.clone() })
}

/// The notice every new certificate of an office is announced with, at once: a certificate
/// obtained with stolen credentials does not go unnoticed.
fn announcement(office: &str, title: &str, body: String) -> crate::store::NewNotice {
    crate::store::NewNotice {
        public_id: auth::token()[..32].to_owned(),
        office: Some(office.to_owned()),
        kind: "terminal_enrolled".into(),
        title: title.to_owned(),
        body,
        ..Default::default()
    }
}

/// Revokes a terminal in the store (its sessions end), audited. `office`: when given, only a
/// terminal of that office (a portal administrator); `None` for the operator and the admin
/// command. `Ok(false)` when there is no such active terminal.
pub async fn revoke_in_store(store: &Store, actor: Actor<'_>, office: Option<&str>, terminal_id: &str) -> Result<bool, ApiError> {
    if let Some(o) = office {
        let mine = store.terminals(o).await?.into_iter().any(|t| t.id == terminal_id);
        if !mine {
            return Ok(false);
        }
    }
    let detail = format!("terminal={terminal_id}");
    let mut audit = actor.audit(AuditAction::Revoke, office, detail);
    audit.terminal_id = Some(terminal_id);
    Ok(store.revoke_terminal(terminal_id, now(), audit).await?)
}

/// Revokes a terminal and takes it off TLS at once (CRL reloaded in this process; other nodes
/// and processes reload from the store within seconds).
pub async fn revoke(st: &AppState, actor: Actor<'_>, office: Option<&str>, terminal_id: &str) -> Result<bool, ApiError> {
    let done = revoke_in_store(&st.store, actor, office, terminal_id).await?;
    if done {
        st.reload_tls().await.map_err(ApiError::internal)?;
    }
    Ok(done)
}

/// A browser certificate just issued: its terminal id and the PKCS#12 file (key and
/// certificates, encrypted with the administrator's password), handed over once.
#[derive(Debug, Clone)]
pub struct BrowserCertificate {
    /// The terminal id (the certificate's CN).
    pub terminal_id: String,
    /// The PKCS#12 file.
    pub p12: Vec<u8>,
}

/// The shortest password a browser certificate's file may be encrypted with.
pub const BROWSER_P12_PASSWORD_MIN: usize = 8;

/// Issues a browser certificate (ブラウザー用の電子証明書) for `user`'s office: an administrator
/// who has passed the second factor in this session, a name for it, a password of at least
/// [`BROWSER_P12_PASSWORD_MIN`] characters for its file. Stored as a terminal of the office
/// (listed, revocable, on the CRL when revoked), announced to the office and audited in one
/// transaction. From then on the office's web mailbox opens only with one of its certificates
/// ([`crate::service::sessions::authenticate_mailbox`]).
pub async fn issue_browser_certificate(
    st: &AppState,
    actor: Actor<'_>,
    user: &User,
    second_factor_passed: bool,
    label: &str,
    password: &str,
) -> Result<BrowserCertificate, ApiError> {
    if user.role != crate::store::Role::Admin {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "ブラウザー用の電子証明書を発行できるのは事業所の管理者だけです",
            "only an office administrator may issue browser certificates",
        ));
    }
    if !second_factor_passed {
        return Err(crate::service::second_factor_required());
    }
    let label: String = label.trim().chars().filter(|c| !c.is_control()).take(60).collect();
    if label.is_empty() {
        return Err(ApiError::new(ErrorCode::BadRequest, "証明書を入れるパソコンの名前（例: 受付のPC）を入れてください", "label required"));
    }
    if password.chars().count() < BROWSER_P12_PASSWORD_MIN || password.len() > 128 {
        return Err(ApiError::new(
            ErrorCode::PasswordPolicy,
            format!("証明書ファイルのパスワードは{BROWSER_P12_PASSWORD_MIN}文字以上にしてください（取り込むときに使います）"),
            "certificate file password too short",
        ));
    }
    let office = st.store.office(&user.office).await?.ok_or_else(|| ApiError::internal("user without office"))?;
    let terminal_id = format!("T{}", &auth::token()[..16]);
    let (issued, p12) = st.ca.issue_browser(&terminal_id, &office.number, &office.name, password).map_err(ApiError::internal)?;
    let label = format!("ブラウザー: {label}");
    let term = Terminal { id: terminal_id.clone(), office: office.number.clone(), label, serial: issued.serial.clone(), revoked_at: None };
    let t = now();
    let notice = announcement(
        &office.number,
        "ブラウザー用の電子証明書が発行されました",
        format!(
            "{}（日本時間）、{}さん（{}）が「{}」の電子証明書を発行しました。これからWebメールボックスは、事業所の電子証明書を入れたブラウザーでだけ開けます。心当たりがなければ、すぐにポータルの「証明書・端末」で失効し、パスワードを変更してください。",
            jst_minutes(t),
            user.name,
            user.login,
            term.label
        ),
    );
    let mut audit = actor.audit(AuditAction::Enrol, Some(&office.number), format!("browser label={}", term.label));
    audit.terminal_id = Some(&terminal_id);
    st.store.add_terminal(&term, true, &issued.fingerprint, issued.not_after, t, Some(&notice), audit).await?;
    st.events.send(Some(&office.number), renkei_protocol::Event::Notice { id: notice.public_id.clone(), title: notice.title.clone() });
    Ok(BrowserCertificate { terminal_id, p12 })
}
