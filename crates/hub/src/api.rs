//! HTTP handlers of API v1. Every handler establishes who is calling (terminal certificate,
//! session bound to that terminal, user of that terminal's office) before touching data, and
//! acts only for the terminal's office.

use crate::app::AppState;
use crate::auth;
use crate::checks::{self, Upload};
use crate::error::{ApiError, ApiJson, ApiMultipart, ApiPath, ApiQuery};
use crate::service::{accounts, licence};
use crate::store::{Audit, FileRow, ListFilter, MessageRow, NewMessage, Terminal, User};
use crate::tls::PeerCert;
use axum::Json;
use axum::extract::{ConnectInfo, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use renkei_protocol::*;
use std::net::SocketAddr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn rfc3339(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t).ok().and_then(|d| d.format(&Rfc3339).ok()).unwrap_or_default()
}

/// Who is calling.
pub(crate) struct Caller {
    user: User,
    terminal: Terminal,
    token_hash: String,
    ip: String,
}

/// Extracting a [`Caller`] authenticates the request (certificate, session on that terminal,
/// user of that office); a temporary password is refused. Handlers that take one cannot skip it.
impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, ApiError> {
        let (peer, ip) = peer_of(parts);
        caller(st, &peer, &parts.headers, ip, false).await
    }
}

/// As [`Caller`], but a temporary password is accepted (logout and changing the password).
pub(crate) struct TemporaryCaller(Caller);

impl axum::extract::FromRequestParts<AppState> for TemporaryCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, ApiError> {
        let (peer, ip) = peer_of(parts);
        caller(st, &peer, &parts.headers, ip, true).await.map(TemporaryCaller)
    }
}

fn peer_of(parts: &axum::http::request::Parts) -> (PeerCert, SocketAddr) {
    let peer = parts.extensions.get::<PeerCert>().cloned().unwrap_or_default();
    let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
    (peer, ip)
}

impl Caller {
    fn audit<'a>(&'a self, action: &'a str, detail: String) -> Audit<'a> {
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

async fn terminal(st: &AppState, peer: &PeerCert) -> Result<Terminal, ApiError> {
    let Some(fp) = &peer.fingerprint else {
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

fn bearer(h: &HeaderMap) -> Option<&str> {
    h.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

async fn caller(st: &AppState, peer: &PeerCert, h: &HeaderMap, ip: SocketAddr, allow_temporary: bool) -> Result<Caller, ApiError> {
    // Fast path: one query proves certificate, session and user together.
    if let (Some(fp), Some(token)) = (&peer.fingerprint, bearer(h)) {
        let token_hash = auth::token_hash(token);
        if let Some((user, terminal)) = st.store.authenticate(fp, &token_hash, now()).await?
            && user.office == terminal.office
            && (allow_temporary || !accounts::password_state(&user, &st.config.auth, now()).must_change())
        {
            return Ok(Caller { user, terminal, token_hash, ip: ip.ip().to_string() });
        }
    }
    // Otherwise find out exactly what is wrong, for a specific message.
    let terminal = terminal(st, peer).await?;
    let expired =
        || ApiError::new(ErrorCode::SessionRequired, "ログインしてください（ログインの有効期限が切れた可能性があります）", "log in first");
    let token = bearer(h).ok_or_else(expired)?;
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
    Ok(Caller { user, terminal, token_hash, ip: ip.ip().to_string() })
}

/// A failed login as the API (and the portal, which shows its message) answers it.
pub(crate) fn login_refused(st: &AppState, e: accounts::LoginError) -> ApiError {
    match e {
        accounts::LoginError::Credentials => ApiError::new(
            ErrorCode::BadCredentials,
            accounts::credentials_message(&st.config.auth),
            "wrong login ID or password, or locked",
        ),
        accounts::LoginError::Disabled => ApiError::new(
            ErrorCode::BadCredentials,
            "このログインIDは使えなくなっています。事業所の管理者に確認してください",
            "the user has been disabled",
        ),
        accounts::LoginError::Store(e) => e.into(),
        accounts::LoginError::Internal(e) => ApiError::internal(e),
    }
}

#[utoipa::path(post, path = "/v1/enrol", tag = "terminals", request_body = EnrolRequest, responses((status = 200, description = "成功 / OK", body = EnrolResponse), (status = 400, description = "コード・CSR不正 / bad code or CSR", body = ErrorBody), (status = 401, description = "ログインIDまたはパスワードが違う / bad credentials", body = ErrorBody), (status = 423, description = "ロック中 / locked", body = ErrorBody)), security(()))]
pub(crate) async fn enrol(
    State(st): State<AppState>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let user = accounts::login_user(&st.store, &st.config.auth, &req.login, &req.password, accounts::Door::Web, now())
        .await
        .map_err(|e| login_refused(&st, e))?;
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

#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = LoginRequest, responses((status = 200, description = "成功 / OK", body = LoginResponse), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody), (status = 423, description = "ロック中 / locked", body = ErrorBody)), security(("terminal" = [])))]
pub(crate) async fn login(
    State(st): State<AppState>,
    peer: axum::Extension<PeerCert>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let terminal = terminal(&st, &peer).await?;
    let user = accounts::login_user(&st.store, &st.config.auth, &req.login, &req.password, accounts::Door::Terminal, now())
        .await
        .map_err(|e| login_refused(&st, e))?;
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

#[utoipa::path(get, path = "/v1/directory/{office}", tag = "directory", params(("office" = String, Path, description = "事業所番号")), responses((status = 200, description = "成功 / OK", body = DirectoryEntry), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn directory(
    State(st): State<AppState>,
    _caller: Caller,
    ApiPath(office): ApiPath<String>,
) -> Result<Json<DirectoryEntry>, ApiError> {
    Ok(Json(match st.store.office(&office).await? {
        Some(o) => DirectoryEntry {
            license_valid: licence::is_valid(&o, &licence::today_jst()),
            office,
            registered: true,
            name: Some(o.name),
            service_kinds: o.kinds,
        },
        None => DirectoryEntry { office, registered: false, license_valid: false, name: None, service_kinds: vec![] },
    }))
}

fn info(m: &MessageRow) -> MessageInfo {
    let state = if m.opened_at.is_some() {
        DeliveryState::Opened
    } else if m.fetched_at.is_some() {
        DeliveryState::Fetched
    } else if m.expired_at.is_some() {
        DeliveryState::Expired
    } else {
        DeliveryState::NotFetched
    };
    MessageInfo {
        id: m.public_id.clone(),
        sender: m.sender.clone(),
        recipient: m.recipient.clone(),
        note: m.note.clone(),
        sent_at: rfc3339(m.sent_at),
        state,
        fetched_at: m.fetched_at.map(rfc3339),
        opened_at: m.opened_at.map(rfc3339),
        expired_at: m.expired_at.map(rfc3339),
        content_purged: m.purged_at.is_some(),
        files: m
            .files
            .iter()
            .map(|f| FileInfo {
                index: f.idx as u32,
                name: f.name.clone(),
                kind: f.kind.clone(),
                service_month: f.service_month.clone(),
                size: f.size as u64,
                sha256: f.sha256.clone(),
            })
            .collect(),
    }
}

/// Sends up to this size are validated on the async worker (cheaper than a thread hand-off).
const INLINE_VALIDATION_BYTES: usize = 256 * 1024;

fn too_large(ja: String) -> ApiError {
    ApiError::new(ErrorCode::TooLarge, ja, "upload too large")
}

/// The parts of a send or draft form.
struct Form {
    to: Option<String>,
    note: Option<String>,
    uploads: Vec<Upload>,
}

/// Reads a multipart form (`to`, `note`, `file`…), enforcing the upload limits while streaming.
async fn read_form(st: &AppState, mut form: Multipart, already: usize) -> Result<Form, ApiError> {
    let limits = &st.config.limits;
    let mut out = Form { to: None, note: None, uploads: Vec::new() };
    let mut total = 0usize;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(
            ErrorCode::BadRequest,
            "送信データを読めませんでした。もう一度送ってください",
            format!("multipart: {e}: {}", std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()),
        )
    };
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("to") => out.to = Some(field.text().await.map_err(bad)?.trim().to_owned()),
            Some("note") => out.note = Some(field.text().await.map_err(bad)?.chars().take(2000).collect()),
            Some("file") => {
                let name = field.file_name().map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_owned()).unwrap_or_default();
                if name.is_empty() {
                    return Err(ApiError::new(ErrorCode::BadRequest, "ファイル名のないファイルがあります", "file without a name"));
                }
                // One rule for names, here and in the client (renkei_protocol::names).
                if let Some(why) = names::name_problem(&name) {
                    let shown: String =
                        name.chars().map(|c| if c.is_control() || c.is_whitespace() && c != ' ' { '?' } else { c }).take(40).collect();
                    let shown = if name.chars().count() > 40 { format!("{shown}…") } else { shown };
                    return Err(ApiError::new(
                        ErrorCode::FileNameInvalid,
                        format!("「{shown}」: {why}。ファイル名を変えてから送ってください"),
                        "file name not allowed",
                    )
                    .with_details(vec![ErrorDetail { file: Some(shown), item: None, rule: None, message: why.into() }]));
                }
                if already + out.uploads.len() >= limits.max_files {
                    return Err(too_large(format!("1通で送れるファイルは{}個までです", limits.max_files)));
                }
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    bytes.extend_from_slice(&chunk);
                    total += chunk.len();
                    if bytes.len() > limits.max_file_bytes {
                        return Err(too_large(format!("{name} は大きすぎます（1ファイル{}MBまで）", limits.max_file_bytes / 1024 / 1024)));
                    }
                    if total > limits.max_message_bytes {
                        return Err(too_large(format!("1通の合計は{}MBまでです", limits.max_message_bytes / 1024 / 1024)));
                    }
                }
                out.uploads.push(Upload { name, bytes });
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Writes blobs (content-addressed: invisible until a row references them) and describes them.
async fn put_blobs(st: &AppState, uploads: &[Upload]) -> Result<Vec<FileRow>, ApiError> {
    let puts = uploads.iter().map(|u| st.blobs.put(bytes::Bytes::copy_from_slice(&u.bytes)));
    let shas = futures_util::future::try_join_all(puts).await?;
    Ok(uploads
        .iter()
        .zip(shas)
        .zip(0..)
        .map(|((u, sha256), idx)| FileRow {
            idx,
            name: u.name.clone(),
            kind: None,
            service_month: None,
            size: u.bytes.len() as i64,
            sha256,
        })
        .collect())
}

fn idempotency_key(h: &HeaderMap) -> Option<String> {
    h.get(paths::IDEMPOTENCY_KEY).and_then(|v| v.to_str().ok()).map(str::to_owned).filter(|k| !k.is_empty() && k.len() <= 200)
}

/// What an idempotency key is bound to: the endpoint and what the request carries. The same key
/// with a different digest is refused, never answered with another message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestDigest(String);

impl RequestDigest {
    /// `POST /v1/messages`: recipient, note, and each file's name and SHA-256, in order.
    pub(crate) fn send(to: Option<&str>, note: Option<&str>, uploads: &[Upload]) -> RequestDigest {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        let mut line = |k: &str, v: &str| {
            // Length-prefixed, so that no value can imitate a field boundary.
            h.update(format!("{k}:{}:", v.len()));
            h.update(v.as_bytes());
            h.update(b"\n");
        };
        line("endpoint", "POST /v1/messages");
        line("to", to.unwrap_or(""));
        line("note", note.unwrap_or(""));
        for u in uploads {
            line("file", &u.name);
            line("sha256", &crate::blobs::sha256_hex(&u.bytes));
        }
        RequestDigest(crate::blobs::hex(&h.finalize()))
    }
    /// `POST /v1/drafts/{id}/send`: the draft (a sent draft is gone, so its id names one send).
    pub(crate) fn draft_send(draft: &str) -> RequestDigest {
        RequestDigest(crate::blobs::sha256_hex(format!("endpoint:POST /v1/drafts/{{id}}/send\ndraft:{draft}").as_bytes()))
    }
}

/// A request's idempotency key (if it has one) and what the key is bound to.
#[derive(Debug, Clone)]
pub(crate) struct Idempotency {
    key: Option<String>,
    digest: RequestDigest,
}

/// The answer to a request whose idempotency key was seen before: the stored message when the
/// request is the same, a refusal when it is not.
async fn replay(st: &AppState, c: &Caller, idem: &Idempotency) -> Result<Option<Response>, ApiError> {
    let (Some(k), digest) = (&idem.key, &idem.digest) else { return Ok(None) };
    let Some((m, stored)) = st.store.message_by_idempotency(&c.terminal.office, k).await? else { return Ok(None) };
    // Messages stored before digests were kept replay as they always did.
    if stored.as_ref().is_some_and(|d| *d != digest.0) {
        metrics::counter!("renkei_idempotency_key_reused_total").increment(1);
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "この再送キー（Idempotency-Key）は、別の内容の送信にすでに使われています。今回の内容は送信していません。新しい送信には新しいキーを使ってください",
            "the idempotency key was used for a different request; nothing was sent",
        ));
    }
    Ok(Some((StatusCode::OK, Json(SendResponse { message: info(&m), replayed: true, warnings: vec![] })).into_response()))
}

/// Checks and stores a message; the common end of a direct send and of sending a draft.
async fn deliver(
    st: &AppState,
    c: &Caller,
    to: Option<String>,
    note: String,
    uploads: Vec<Upload>,
    idem: Idempotency,
    from_draft: Option<(i64, i64)>,
) -> Result<Response, ApiError> {
    let to = to
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "宛先の事業所番号を入れてください", "missing 'to'"))?;
    let not_registered = || {
        ApiError::new(
            ErrorCode::RecipientNotRegistered,
            licence::LicenceRefusal::RecipientNotParticipating.message(),
            "the recipient is not registered or has no valid license",
        )
    };
    let recipient = st.store.office(&to).await?.ok_or_else(not_registered)?;
    if recipient.number == c.terminal.office {
        return Err(ApiError::new(ErrorCode::BadRequest, "自分の事業所あてには送れません", "cannot send to oneself"));
    }
    let sender = st.store.office(&c.terminal.office).await?.ok_or_else(|| ApiError::internal("terminal office missing"))?;
    match licence::may_exchange(&sender, &recipient, &licence::today_jst()) {
        Ok(()) => {}
        Err(licence::LicenceRefusal::RecipientNotParticipating) => return Err(not_registered()),
        Err(r) => return Err(ApiError::new(ErrorCode::LicenseExpired, r.message(), "the sending office has no valid license")),
    }
    // Validating the standard's files is CPU work: a large send is validated off the async
    // workers, at most one per core, so that it never stalls other requests (health checks,
    // downloads); a small one (the usual month's unit, a few KiB) inline, where a thread
    // hand-off would cost more than the check.
    let total: usize = uploads.iter().map(|u| u.bytes.len()).sum();
    let (uploads, checked) = if total <= INLINE_VALIDATION_BYTES {
        let r = checks::check_send(&sender, &recipient, &uploads);
        (uploads, r)
    } else {
        let permit = st.validation.clone().acquire_owned().await.map_err(ApiError::internal)?;
        let (s2, r2) = (sender.clone(), recipient.clone());
        tokio::task::spawn_blocking(move || {
            let r = checks::check_send(&s2, &r2, &uploads);
            drop(permit);
            (uploads, r)
        })
        .await
        .map_err(ApiError::internal)?
    };
    let (classes, warnings) = checked?;
    let files: Vec<FileRow> = put_blobs(st, &uploads)
        .await?
        .into_iter()
        .zip(classes)
        .map(|(f, cl)| FileRow { kind: cl.kind, service_month: cl.service_month, ..f })
        .collect();
    let m = NewMessage {
        public_id: auth::token()[..32].to_owned(),
        sender: sender.number.clone(),
        recipient: recipient.number.clone(),
        note,
        sent_by: c.user.id,
        sent_terminal: c.terminal.id.clone(),
        sent_at: now(),
        idempotency_key: idem.key.clone(),
        idempotency_digest: idem.key.as_ref().map(|_| idem.digest.0.clone()),
        files,
        from_draft,
    };
    let detail = format!("to={} files={}{}", m.recipient, m.files.len(), if from_draft.is_some() { " draft" } else { "" });
    let id = match st.store.insert_message(&m, c.audit("send", detail)).await {
        Ok(id) => id,
        Err(crate::store::StoreError::Conflict(_)) => {
            // A concurrent retry with the same key won the race: answer with its message.
            if let Some(r) = replay(st, c, &idem).await? {
                return Ok(r);
            }
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "下書きが別の端末で変更または送信されました。下書き一覧を確認してください",
                "the draft changed meanwhile",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let stored = MessageRow {
        id,
        public_id: m.public_id,
        sender: m.sender,
        recipient: m.recipient,
        note: m.note,
        sent_at: m.sent_at,
        fetched_at: None,
        opened_at: None,
        expired_at: None,
        purged_at: None,
        files: m.files,
    };
    tracing::info!(message = %stored.public_id, sender = %stored.sender, recipient = %stored.recipient, files = stored.files.len(), "sent");
    metrics::counter!("renkei_messages_sent_total").increment(1);
    metrics::counter!("renkei_files_received_total").increment(stored.files.len() as u64);
    metrics::counter!("renkei_bytes_received_total").increment(stored.files.iter().map(|f| f.size as u64).sum());
    st.events.send(
        Some(&stored.recipient),
        Event::NewMessage { id: stored.public_id.clone(), sender: stored.sender.clone(), files: stored.files.len() as u32 },
    );
    Ok((StatusCode::CREATED, Json(SendResponse { message: info(&stored), replayed: false, warnings })).into_response())
}

#[utoipa::path(post, path = "/v1/messages", tag = "messages", params(("idempotency-key" = Option<String>, Header, description = "再送しても1通になるキー / makes retries create one message")), request_body(content = crate::openapi::SendForm, content_type = "multipart/form-data"), responses((status = 201, description = "送信・作成しました / created", body = SendResponse), (status = 200, description = "同じキーの再送 / replay of an earlier send", body = SendResponse), (status = 413, description = "大きすぎます / too large", body = ErrorBody), (status = 422, description = "入口のチェックで拒否 / refused at the door", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn send(
    State(st): State<AppState>,
    c: Caller,
    h: HeaderMap,
    ApiMultipart(form): ApiMultipart,
) -> Result<Response, ApiError> {
    let f = read_form(&st, form, 0).await?;
    let idem = Idempotency { key: idempotency_key(&h), digest: RequestDigest::send(f.to.as_deref(), f.note.as_deref(), &f.uploads) };
    if let Some(r) = replay(&st, &c, &idem).await? {
        return Ok(r);
    }
    let r = deliver(&st, &c, f.to, f.note.unwrap_or_default(), f.uploads, idem, None).await;
    if let Err(e) = &r {
        metrics::counter!("renkei_sends_refused_total", "code" => format!("{:?}", e.0.code)).increment(1);
    }
    r
}

fn draft_info(d: &crate::store::DraftRow) -> DraftInfo {
    DraftInfo {
        id: d.public_id.clone(),
        to: d.recipient.clone(),
        note: d.note.clone(),
        files: d
            .files
            .iter()
            .map(|f| {
                let n = renkei_spec::name::parse(&f.name, renkei_spec::name::Profile::LENIENT).ok().map(|p| p.name);
                FileInfo {
                    index: f.idx as u32,
                    name: f.name.clone(),
                    kind: n.as_ref().map(|n| n.kind.prefix().to_owned()),
                    service_month: n.and_then(|n| n.service_month()).map(|m| m.to_string()),
                    size: f.size as u64,
                    sha256: f.sha256.clone(),
                }
            })
            .collect(),
        version: d.version,
        updated_at: rfc3339(d.updated_at),
        updated_by: d.updated_by.clone(),
    }
}

fn draft_gone() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "下書きが見つかりません（別の端末で削除または送信された可能性があります）", "no such draft")
}

async fn load_draft(st: &AppState, c: &Caller, id: &str) -> Result<crate::store::DraftRow, ApiError> {
    st.store.draft(&c.terminal.office, id).await?.ok_or_else(draft_gone)
}

#[utoipa::path(post, path = "/v1/drafts", tag = "drafts", request_body(content = crate::openapi::SendForm, content_type = "multipart/form-data"), responses((status = 201, description = "送信・作成しました / created", body = DraftInfo), (status = 413, description = "大きすぎます / too large", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn create_draft(
    State(st): State<AppState>,
    c: Caller,
    ApiMultipart(form): ApiMultipart,
) -> Result<(StatusCode, Json<DraftInfo>), ApiError> {
    let f = read_form(&st, form, 0).await?;
    let files = put_blobs(&st, &f.uploads).await?;
    let public_id = auth::token()[..32].to_owned();
    let draft = crate::store::NewDraft {
        public_id: &public_id,
        office: &c.terminal.office,
        recipient: f.to.as_deref().unwrap_or(""),
        note: f.note.as_deref().unwrap_or(""),
        user: c.user.id,
        files: &files,
    };
    st.store.create_draft(&draft, now()).await?;
    Ok((StatusCode::CREATED, Json(draft_info(&load_draft(&st, &c, &public_id).await?))))
}

#[utoipa::path(get, path = "/v1/drafts", tag = "drafts", responses((status = 200, description = "成功 / OK", body = Vec<DraftInfo>), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn list_drafts(State(st): State<AppState>, c: Caller) -> Result<Json<Vec<DraftInfo>>, ApiError> {
    Ok(Json(st.store.drafts(&c.terminal.office).await?.iter().map(draft_info).collect()))
}

#[utoipa::path(get, path = "/v1/drafts/{id}", tag = "drafts", params(("id" = String, Path)), responses((status = 200, description = "成功 / OK", body = DraftInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn get_draft(State(st): State<AppState>, c: Caller, ApiPath(id): ApiPath<String>) -> Result<Json<DraftInfo>, ApiError> {
    Ok(Json(draft_info(&load_draft(&st, &c, &id).await?)))
}

#[utoipa::path(patch, path = "/v1/drafts/{id}", tag = "drafts", params(("id" = String, Path)), request_body = DraftUpdate, responses((status = 200, description = "成功 / OK", body = DraftInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 409, description = "別の端末で変更済み / changed on another terminal", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn update_draft(
    State(st): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(u): ApiJson<DraftUpdate>,
) -> Result<Json<DraftInfo>, ApiError> {
    let d = load_draft(&st, &c, &id).await?;
    let note: Option<String> = u.note.map(|n| n.chars().take(2000).collect());
    if !st.store.update_draft(d.id, u.version, u.to.as_deref().map(str::trim), note.as_deref(), c.user.id, now()).await? {
        let cur = load_draft(&st, &c, &id).await?;
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("この下書きは {} さんが別の端末で変更しました。最新の内容を読み込んでからもう一度編集してください", cur.updated_by),
            "the draft changed on another terminal",
        ));
    }
    Ok(Json(draft_info(&load_draft(&st, &c, &id).await?)))
}

#[utoipa::path(post, path = "/v1/drafts/{id}/files", tag = "drafts", params(("id" = String, Path)), request_body(content = crate::openapi::SendForm, content_type = "multipart/form-data"), responses((status = 200, description = "成功 / OK", body = DraftInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 413, description = "大きすぎます / too large", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn add_draft_files(
    State(st): State<AppState>,
    c: Caller,
    ApiPath(id): ApiPath<String>,
    ApiMultipart(form): ApiMultipart,
) -> Result<Json<DraftInfo>, ApiError> {
    let d = load_draft(&st, &c, &id).await?;
    let f = read_form(&st, form, d.files.len()).await?;
    let files = put_blobs(&st, &f.uploads).await?;
    st.store.add_draft_files(d.id, &files, c.user.id, now()).await?;
    Ok(Json(draft_info(&load_draft(&st, &c, &id).await?)))
}

#[utoipa::path(delete, path = "/v1/drafts/{id}/files/{index}", tag = "drafts", params(("id" = String, Path), ("index" = u32, Path)), responses((status = 200, description = "成功 / OK", body = DraftInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn remove_draft_file(
    State(st): State<AppState>,
    c: Caller,
    ApiPath((id, idx)): ApiPath<(String, i64)>,
) -> Result<Json<DraftInfo>, ApiError> {
    let d = load_draft(&st, &c, &id).await?;
    if !st.store.remove_draft_file(d.id, idx, c.user.id, now()).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "そのファイルは下書きにありません", "no such file in the draft"));
    }
    Ok(Json(draft_info(&load_draft(&st, &c, &id).await?)))
}

#[utoipa::path(delete, path = "/v1/drafts/{id}", tag = "drafts", params(("id" = String, Path)), responses((status = 204, description = "完了 / done"), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn delete_draft(State(st): State<AppState>, c: Caller, ApiPath(id): ApiPath<String>) -> Result<StatusCode, ApiError> {
    let d = load_draft(&st, &c, &id).await?;
    st.store.delete_draft(d.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/drafts/{id}/send", tag = "drafts", params(("id" = String, Path), ("idempotency-key" = Option<String>, Header, description = "再送しても1通になるキー / makes retries create one message")), responses((status = 201, description = "送信・作成しました / created", body = SendResponse), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 409, description = "別の端末で変更済み / changed on another terminal", body = ErrorBody), (status = 422, description = "入口のチェックで拒否 / refused at the door", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn send_draft(
    State(st): State<AppState>,
    c: Caller,
    h: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let idem = Idempotency { key: idempotency_key(&h), digest: RequestDigest::draft_send(&id) };
    if let Some(r) = replay(&st, &c, &idem).await? {
        return Ok(r);
    }
    let d = load_draft(&st, &c, &id).await?;
    let mut uploads = Vec::with_capacity(d.files.len());
    for f in &d.files {
        let bytes = st.blobs.get(&f.sha256).await?;
        uploads.push(Upload { name: f.name.clone(), bytes: bytes.to_vec() });
    }
    deliver(&st, &c, Some(d.recipient.clone()), d.note.clone(), uploads, idem, Some((d.id, d.version))).await
}

fn parse_filter(q: &InboxQuery) -> Result<ListFilter, ApiError> {
    let bad =
        |what: &str| ApiError::new(ErrorCode::BadRequest, format!("絞り込みの「{what}」が正しくありません"), format!("bad filter {what}"));
    let day = |s: &str, what: &str| -> Result<i64, ApiError> {
        let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| bad(what))?;
        Ok(d.midnight().assume_offset(time::macros::offset!(+9)).unix_timestamp())
    };
    let fetched = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some("not_fetched") => Some(false),
        Some("fetched") => Some(true),
        Some(_) => return Err(bad("status")),
    };
    if let Some(m) = &q.month
        && renkei_spec::calendar::YearMonth::parse(m).is_none()
    {
        return Err(bad("month"));
    }
    Ok(ListFilter {
        fetched,
        counterpart: q.sender.clone().filter(|s| !s.is_empty()),
        kind: q.kind.clone().filter(|s| !s.is_empty()).map(|k| k.to_ascii_uppercase()),
        month: q.month.clone().filter(|s| !s.is_empty()),
        since: q.since.as_deref().filter(|s| !s.is_empty()).map(|s| day(s, "since")).transpose()?,
        until: q.until.as_deref().filter(|s| !s.is_empty()).map(|s| day(s, "until").map(|t| t + 86400)).transpose()?,
        before_id: q.cursor.as_deref().filter(|s| !s.is_empty()).map(|c| c.parse::<i64>().map_err(|_| bad("cursor"))).transpose()?,
        limit: i64::from(q.limit.unwrap_or(50).clamp(1, 200)),
    })
}

async fn list(st: &AppState, c: &Caller, q: &InboxQuery, inbox: bool) -> Result<Json<MessagePage>, ApiError> {
    let f = parse_filter(q)?;
    let mut rows = st.store.list(&c.terminal.office, inbox, &ListFilter { limit: f.limit + 1, ..f.clone() }).await?;
    let next_cursor = if rows.len() as i64 > f.limit {
        rows.truncate(f.limit as usize);
        rows.last().map(|m| m.id.to_string())
    } else {
        None
    };
    Ok(Json(MessagePage { messages: rows.iter().map(info).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/v1/inbox", tag = "messages", params(InboxQuery), responses((status = 200, description = "成功 / OK", body = MessagePage), (status = 400, description = "要求が不正 / bad request", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn inbox(State(st): State<AppState>, c: Caller, ApiQuery(q): ApiQuery<InboxQuery>) -> Result<Json<MessagePage>, ApiError> {
    list(&st, &c, &q, true).await
}

#[utoipa::path(get, path = "/v1/sent", tag = "messages", params(InboxQuery), responses((status = 200, description = "成功 / OK", body = MessagePage), (status = 400, description = "要求が不正 / bad request", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn sent(State(st): State<AppState>, c: Caller, ApiQuery(q): ApiQuery<InboxQuery>) -> Result<Json<MessagePage>, ApiError> {
    list(&st, &c, &q, false).await
}

#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path)), responses((status = 200, description = "成功 / OK", body = MessageInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn message(State(st): State<AppState>, c: Caller, ApiPath(id): ApiPath<String>) -> Result<Json<MessageInfo>, ApiError> {
    let m = st.store.message_for(&id, &c.terminal.office).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(info(&m)))
}

#[utoipa::path(get, path = "/v1/messages/{id}/files/{index}", tag = "messages", params(("id" = String, Path), ("index" = u32, Path)), responses((status = 200, description = "ファイル本体。x-content-sha256 ヘッダーに SHA-256 / the file; SHA-256 in x-content-sha256", content_type = "application/octet-stream"), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 410, description = "保存期間切れ / gone", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn download(
    State(st): State<AppState>,
    c: Caller,
    ApiPath((id, idx)): ApiPath<(String, i64)>,
) -> Result<Response, ApiError> {
    let (f, sender, recipient, fetched_at, expired_at, purged_at) =
        st.store.file_for(&id, idx, &c.terminal.office).await?.ok_or_else(ApiError::not_found)?;
    let m = MessageRow {
        id: 0,
        public_id: id.clone(),
        sender,
        recipient,
        note: String::new(),
        sent_at: 0,
        fetched_at,
        opened_at: None,
        expired_at,
        purged_at,
        files: Vec::new(),
    };
    gone_check(&m, &c)?;
    // Small files (almost all: standard CSV files are a few KiB) go out in one piece; larger ones
    // are streamed, never held in memory. The first chunk tells an attachment's type.
    const SMALL: i64 = 1024 * 1024;
    let (first, rest): (bytes::Bytes, Option<futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>>) =
        if f.size <= SMALL {
            (st.blobs.get(&f.sha256).await.map_err(ApiError::internal)?, None)
        } else {
            let mut stream = st.blobs.stream(&f.sha256).await.map_err(ApiError::internal)?;
            (stream.next().await.transpose().map_err(ApiError::internal)?.unwrap_or_default(), Some(stream))
        };
    let head = &first[..first.len().min(16)];
    let mime = if f.kind.as_deref() == Some("UPKIHON_IMAGE") {
        "image/jpeg"
    } else if f.kind.is_some() {
        "text/csv; charset=Shift_JIS"
    } else {
        checks::sniff(&f.name, head).map_or("application/octet-stream", |s| s.mime())
    };
    let encoded: String = f
        .name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"._-".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let mut resp = match rest {
        None => axum::body::Body::from(first).into_response(),
        Some(rest) => {
            axum::body::Body::from_stream(futures_util::stream::once(async move { Ok::<_, object_store::Error>(first) }).chain(rest))
                .into_response()
        }
    };
    let hd = resp.headers_mut();
    hd.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    hd.insert(header::CONTENT_LENGTH, HeaderValue::from(f.size as u64));
    hd.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}")).map_err(ApiError::internal)?,
    );
    hd.insert(paths::SHA256_HEADER, HeaderValue::from_str(&f.sha256).map_err(ApiError::internal)?);
    hd.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Expired messages cannot be fetched by the recipient; purged content is gone for everyone.
fn gone_check(m: &MessageRow, c: &Caller) -> Result<(), ApiError> {
    if m.purged_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::Gone,
            "保存期間が過ぎたため、このメッセージのファイルは削除されています（送受信の記録とファイルのハッシュ値は残っています）",
            "content purged after the retention period",
        ));
    }
    if m.expired_at.is_some() && m.fetched_at.is_none() && m.recipient == c.terminal.office {
        return Err(ApiError::new(
            ErrorCode::Gone,
            "受信されないまま保存期間が過ぎたため、このメッセージは取得できません。送信元に再送を依頼してください",
            "expired unfetched",
        ));
    }
    Ok(())
}

async fn receipt(st: &AppState, c: &Caller, id: &str, open: bool) -> Result<Json<MessageInfo>, ApiError> {
    let m = st.store.message_for(id, &c.terminal.office).await?.ok_or_else(ApiError::not_found)?;
    if m.recipient != c.terminal.office {
        return Err(ApiError::new(ErrorCode::Forbidden, "受信したメッセージだけが対象です", "only the recipient can acknowledge"));
    }
    gone_check(&m, c)?;
    let before = m.opened_at.is_some() as u8 * 2 + m.fetched_at.is_some() as u8;
    let t = now();
    if open {
        st.store.mark_opened(m.id, c.user.id, &c.terminal.id, t, c.audit("open", m.public_id.clone())).await?;
    } else {
        st.store.mark_fetched(m.id, c.user.id, &c.terminal.id, t, c.audit("fetch", m.public_id.clone())).await?;
    }
    let m = st.store.message_for(id, &c.terminal.office).await?.ok_or_else(ApiError::not_found)?;
    let after = m.opened_at.is_some() as u8 * 2 + m.fetched_at.is_some() as u8;
    if after != before {
        let i = info(&m);
        st.events.send(Some(&m.sender), Event::Receipt { id: i.id.clone(), state: i.state });
    }
    Ok(Json(info(&m)))
}

#[utoipa::path(post, path = "/v1/messages/{id}/fetch", tag = "messages", params(("id" = String, Path)), responses((status = 200, description = "取得済（冪等） / fetched (idempotent)", body = MessageInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 410, description = "保存期間切れ / gone", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn fetch(State(st): State<AppState>, c: Caller, ApiPath(id): ApiPath<String>) -> Result<Json<MessageInfo>, ApiError> {
    receipt(&st, &c, &id, false).await
}

#[utoipa::path(post, path = "/v1/messages/{id}/open", tag = "messages", params(("id" = String, Path)), responses((status = 200, description = "開封済 / opened", body = MessageInfo), (status = 404, description = "見つかりません / not found", body = ErrorBody), (status = 410, description = "保存期間切れ / gone", body = ErrorBody), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn open(State(st): State<AppState>, c: Caller, ApiPath(id): ApiPath<String>) -> Result<Json<MessageInfo>, ApiError> {
    receipt(&st, &c, &id, true).await
}

pub(crate) fn notice_info(n: &crate::store::NoticeRow) -> Notice {
    Notice {
        id: n.public_id.clone(),
        kind: n.kind.clone(),
        title: n.title.clone(),
        body: n.body.clone(),
        published_at: rfc3339(n.published_at),
    }
}

#[utoipa::path(get, path = "/v1/notices", tag = "notices", responses((status = 200, description = "成功 / OK", body = Vec<Notice>), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn notices(State(st): State<AppState>, c: Caller) -> Result<Json<Vec<Notice>>, ApiError> {
    Ok(Json(st.store.notices(Some(&c.terminal.office), None, 100).await?.iter().map(notice_info).collect()))
}

/// Server-sent events for the caller's office. The caller is checked again every 30 seconds:
/// a revoked terminal or an ended session closes the stream.
#[utoipa::path(get, path = "/v1/events", tag = "notices", responses((status = 200, description = "text/event-stream。各イベントの data は Event の JSON / each event data is an Event (JSON)", body = Event, content_type = "text/event-stream"), (status = 503, description = "保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn events(
    State(st): State<AppState>,
    peer: axum::Extension<PeerCert>,
    ConnectInfo(ip): ConnectInfo<SocketAddr>,
    h: HeaderMap,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    // Explicit (not the `Caller` extractor): the stream re-checks the caller with these.
    let c = caller(&st, &peer, &h, ip, false).await?;
    let limits = &st.config.limits;
    let keys =
        [(format!("s:{}", c.token_hash), limits.event_streams_per_session), (format!("a:{}", ip.ip()), limits.event_streams_per_address)];
    let Some(slot) = st.streams.open(&keys) else {
        return Err(ApiError::new(
            ErrorCode::TooManyRequests,
            "お知らせの受信（イベント）の接続が多すぎます。使っていない画面を閉じてから、もう一度お試しください",
            "too many event streams for this session or address",
        ));
    };
    let office = c.terminal.office.clone();
    let rx = st.events.subscribe();
    let check = tokio::time::interval(std::time::Duration::from_secs(30));
    let closing = st.events.closing();
    let state = (rx, check, closing, st, peer.0.clone(), h.clone(), ip, (office, slot));
    let stream = futures_util::stream::unfold(state, |(mut rx, mut check, mut closing, st, peer, h, ip, (office, slot))| async move {
        loop {
            if *closing.borrow() {
                return None;
            }
            tokio::select! {
                _ = closing.changed() => return None,
                ev = rx.recv() => match ev {
                    Ok((to, ev)) if to.as_deref().is_none_or(|t| t == office) => {
                        let data = serde_json::to_string(&ev).unwrap_or_default();
                        let out: Result<SseEvent, std::convert::Infallible> = Ok(SseEvent::default().event(ev.name()).data(data));
                        return Some((out, (rx, check, closing, st, peer, h, ip, (office, slot))));
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
                _ = check.tick() => {
                    if caller(&st, &peer, &h, ip, false).await.is_err() {
                        return None;
                    }
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}
