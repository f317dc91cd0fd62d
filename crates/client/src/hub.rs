//! The hub's API v1 over mutual TLS (`renkei-protocol` types).

use crate::profile::{Profile, write_private};
use renkei_protocol::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// Why a call to the hub failed.
#[derive(Debug, Clone)]
pub enum HubError {
    /// The hub refused, with its stable code and Japanese message.
    Api {
        /// HTTP status.
        status: u16,
        /// The hub's error body.
        body: ErrorBody,
    },
    /// The hub could not be reached, or the connection broke (the request may or may not have
    /// arrived: retry with the same idempotency key).
    Network(String),
    /// The hub answered something unexpected.
    Protocol(String),
    /// Not logged in on this PC (or the session ended).
    NotLoggedIn,
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::Api { body, .. } => {
                write!(f, "{}", body.message)?;
                for d in &body.details {
                    write!(f, "\n  {}{}", d.file.as_deref().map(|x| format!("{x}: ")).unwrap_or_default(), d.message)?;
                }
                Ok(())
            }
            HubError::Network(e) => write!(f, "連携基盤に接続できません（ネットワークを確認してください）: {e}"),
            HubError::Protocol(e) => write!(f, "連携基盤から予期しない応答がありました: {e}"),
            HubError::NotLoggedIn => write!(f, "ログインしていません。`renkei login` または画面からログインしてください"),
        }
    }
}

impl std::error::Error for HubError {}

impl HubError {
    /// The hub's error code, if it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            HubError::Api { body, .. } => Some(body.code),
            _ => None,
        }
    }
    /// Worth retrying later with the same idempotency key: the hub could not be reached, or it
    /// said its storage is full or unavailable (503; nothing was stored).
    pub fn is_transient(&self) -> bool {
        matches!(self, HubError::Network(_)) || matches!(self, HubError::Api { status: 503, .. })
    }
    /// The session is gone (expired, logged out, revoked): log in again.
    pub fn needs_login(&self) -> bool {
        matches!(self, HubError::NotLoggedIn) || matches!(self, HubError::Api { status: 401, .. })
    }
}

fn net(e: reqwest::Error) -> HubError {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    HubError::Network(s)
}

/// A hub session kept on disk (`session.json`, owner-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Bearer token.
    pub token: String,
    /// Login ID.
    pub login: String,
    /// User's display name.
    pub user_name: String,
    /// `admin` or `staff`.
    pub role: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// The password is temporary and must be changed first.
    pub must_change_password: bool,
    /// When the password expires (RFC 3339), if it does.
    #[serde(default)]
    pub password_expires_at: Option<String>,
}

impl Session {
    /// The session a login answer gives (the one place a login becomes a saved session).
    pub fn from_login(login: &str, r: LoginResponse) -> Session {
        Session {
            token: r.token,
            login: login.to_owned(),
            user_name: r.user_name,
            role: r.role,
            expires_at: r.expires_at,
            must_change_password: r.must_change_password,
            password_expires_at: r.password_expires_at,
        }
    }
}

/// Installs ring as rustls's crypto provider (once per process).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A connection to the hub for one profile.
#[derive(Debug, Clone)]
pub struct HubClient {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    /// 代行: the office this client works for (`x-renkei-on-behalf-of` on mailbox requests).
    on_behalf: Option<String>,
    /// How long a call may wait in all, between attempts, before it gives its failure up.
    retry_budget: std::time::Duration,
}

/// Whether a request may be sent again after it failed on the way (the client's one rule for
/// retries: every request of [`HubClient`] goes through it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Sending it again does no harm whatever happened to the first: reads, 取得 and 開封
    /// marks, and sends that carry an idempotency key (the hub makes one message).
    Safe,
    /// Only when the hub certainly did nothing: it answered 503 (busy, storage full or
    /// unavailable: nothing done), or no connection was made. Logins, password changes, drafts'
    /// changes and deletions (a repeat after a lost answer would be refused or hit the next file).
    IfNothingDone,
}

/// Waiting in all between the attempts of one call, unless [`HubClient::with_retry_budget`]
/// says otherwise: a clerk's click is answered within about this much more than its own time.
pub const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(15);

/// Attempts of one call at most.
const MAX_ATTEMPTS: u32 = 6;

/// Attempts of one call whose connection fails (0.5 s, then 1 s between them).
const NETWORK_ATTEMPTS: u32 = 3;

/// The pause before attempt `attempt + 1`: the hub's `Retry-After` (1–30 s) for a 503, or a
/// back-off from 0.5 s doubling for a broken connection; spread by up to half again at random,
/// so that clients turned away together do not all come back together.
fn pause(retry_after: Option<u64>, attempt: u32) -> std::time::Duration {
    let base = match retry_after {
        Some(s) => std::time::Duration::from_secs(s.clamp(1, 30)),
        None => std::time::Duration::from_millis(500u64 << attempt.saturating_sub(1).min(5)),
    };
    base.mul_f64(1.0 + rand::random::<f64>() * 0.5)
}

/// A downloaded file, its SHA-256 checked.
#[derive(Debug, Clone)]
pub struct Download {
    /// Contents.
    pub bytes: bytes::Bytes,
    /// SHA-256 (hex).
    pub sha256: String,
}

/// A file to send.
#[derive(Debug, Clone)]
pub struct OutFile {
    /// Bare file name.
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// This client's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What every request says of this client: `x-renkei-client: renkei/X.Y.Z (os)`, so that the
/// hub can refuse an outdated one with a clear message.
pub fn client_header() -> String {
    format!("renkei/{VERSION} ({})", std::env::consts::OS)
}

fn client_headers() -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    if let Ok(v) = reqwest::header::HeaderValue::from_str(&client_header()) {
        h.insert(paths::CLIENT_HEADER, v);
    }
    h
}

impl HubClient {
    /// A client with the profile's terminal certificate, trusting only the hub's CA.
    pub fn for_profile(p: &Profile) -> anyhow::Result<HubClient> {
        install_crypto();
        use anyhow::Context as _;
        let ca = std::fs::read(p.dir.join("ca.pem")).context("ca.pem がありません（`renkei setup` をやり直してください）")?;
        let mut ident = std::fs::read(p.dir.join("terminal.pem")).context("terminal.pem がありません")?;
        ident.extend(std::fs::read(p.dir.join("terminal.key")).context("terminal.key がありません")?);
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&ca)?])
            .identity(reqwest::Identity::from_pem(&ident)?)
            .default_headers(client_headers())
            .https_only(true)
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()?;
        let token = load_session(p).map(|s| s.token);
        Ok(HubClient { base: p.settings.hub.clone(), http, token, on_behalf: None, retry_budget: RETRY_BUDGET })
    }

    /// A client without a certificate trusting `ca_pem` (enrolment).
    pub fn anonymous(base: &str, ca_pem: &[u8]) -> anyhow::Result<HubClient> {
        install_crypto();
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca_pem)?])
            .default_headers(client_headers())
            .https_only(true)
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(HubClient { base: base.trim_end_matches('/').to_owned(), http, token: None, on_behalf: None, retry_budget: RETRY_BUDGET })
    }

    /// Waits at most `budget` in all between the attempts of one call (zero: one attempt only).
    pub fn with_retry_budget(mut self, budget: std::time::Duration) -> HubClient {
        self.retry_budget = budget;
        self
    }

    /// Sends the request `build` makes; when it fails on the way and `repeat` allows it, waits
    /// ([`pause`]) and sends it again, within the retry budget. A 503 still there when the
    /// budget is spent is returned as the hub's answer, a broken connection as
    /// [`HubError::Network`].
    async fn call(
        &self,
        repeat: Repeat,
        build: impl Fn() -> Result<reqwest::RequestBuilder, HubError>,
    ) -> Result<reqwest::Response, HubError> {
        let mut waited = std::time::Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (wait, failure) = match build()?.send().await {
                Ok(r) if r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                    let after = r.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()?.trim().parse().ok());
                    (pause(Some(after.unwrap_or(1)), attempt), Ok(r))
                }
                Ok(r) => return Ok(r),
                // A line that broke is tried twice more at once; a hub that is down is not waited for.
                Err(e) if (repeat == Repeat::Safe || e.is_connect()) && attempt < NETWORK_ATTEMPTS => (pause(None, attempt), Err(net(e))),
                Err(e) => return Err(net(e)),
            };
            if attempt >= MAX_ATTEMPTS || waited + wait > self.retry_budget {
                return failure;
            }
            tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "hub request failed on the way; sending it again");
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }

    /// Uses this session token.
    pub fn with_token(mut self, token: Option<String>) -> HubClient {
        self.token = token;
        self
    }

    /// 代行: works on `office`'s mailbox (sending, receiving, drafts, events) as its 代行業者;
    /// `None` (or this PC's own office) works for this office. Everything else (the office's
    /// licence, notices, the password) stays the agent's own.
    pub fn on_behalf_of(mut self, office: Option<String>) -> HubClient {
        self.on_behalf = office.map(|o| o.trim().to_owned()).filter(|o| !o.is_empty());
        self
    }

    /// The office this client works for as an agent, if any.
    pub fn acting_for(&self) -> Option<&str> {
        self.on_behalf.as_deref()
    }

    /// Is there a session token?
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, HubError> {
        let t = self.token.as_ref().ok_or(HubError::NotLoggedIn)?;
        Ok(rb.bearer_auth(t))
    }

    /// [`HubClient::authed`] for a mailbox request, naming the office worked for (代行).
    fn mailbox(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, HubError> {
        let rb = self.authed(rb)?;
        Ok(match &self.on_behalf {
            Some(o) => rb.header(paths::ON_BEHALF_OF, o),
            None => rb,
        })
    }

    async fn reply<T: for<'de> Deserialize<'de>>(r: reqwest::Response) -> Result<T, HubError> {
        let status = r.status().as_u16();
        if (200..300).contains(&status) {
            r.json::<T>().await.map_err(|e| HubError::Protocol(e.to_string()))
        } else {
            Err(Self::error(r).await)
        }
    }

    async fn error(r: reqwest::Response) -> HubError {
        let status = r.status().as_u16();
        match r.json::<ErrorBody>().await {
            Ok(body) => HubError::Api { status, body },
            Err(e) => HubError::Protocol(format!("HTTP {status}: {e}")),
        }
    }

    async fn empty(r: reqwest::Response) -> Result<(), HubError> {
        if r.status().is_success() { Ok(()) } else { Err(Self::error(r).await) }
    }

    /// Enrols this PC (no session needed).
    pub async fn enrol(&self, req: &EnrolRequest) -> Result<EnrolResponse, HubError> {
        Self::reply(self.call(Repeat::IfNothingDone, || Ok(self.http.post(self.url(paths::ENROL)).json(req))).await?).await
    }

    /// Logs in; the token is kept in this client.
    pub async fn login(&mut self, login: &str, password: &str) -> Result<LoginResponse, HubError> {
        let body = LoginRequest { login: login.into(), password: password.into() };
        let r = self.call(Repeat::IfNothingDone, || Ok(self.http.post(self.url(paths::SESSIONS)).json(&body))).await?;
        let lr: LoginResponse = Self::reply(r).await?;
        self.token = Some(lr.token.clone());
        Ok(lr)
    }

    /// Ends the session on the hub.
    pub async fn logout(&mut self) -> Result<(), HubError> {
        let r = self.call(Repeat::IfNothingDone, || self.authed(self.http.delete(self.url(paths::SESSIONS)))).await?;
        self.token = None;
        Self::empty(r).await
    }

    /// Changes the password.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<(), HubError> {
        let body = PasswordChange { current: current.into(), new: new.into() };
        let r = self.call(Repeat::IfNothingDone, || Ok(self.authed(self.http.post(self.url(paths::PASSWORD)))?.json(&body))).await?;
        Self::empty(r).await
    }

    /// A one-time enrolment code for another PC (administrators).
    pub async fn enrolment_code(&self) -> Result<EnrolmentCode, HubError> {
        Self::reply(self.call(Repeat::IfNothingDone, || self.authed(self.http.post(self.url(paths::ENROLMENT_CODES)))).await?).await
    }

    /// Looks up an office in the directory.
    pub async fn directory(&self, office: &str) -> Result<DirectoryEntry, HubError> {
        let url = self.url(&format!("{}/{office}", paths::DIRECTORY));
        Self::reply(self.call(Repeat::Safe, || self.authed(self.http.get(&url))).await?).await
    }

    /// Sends a message. The same `idempotency_key` never makes a second message.
    pub async fn send(&self, to: &str, words: &Words, files: &[OutFile], idempotency_key: &str) -> Result<SendResponse, HubError> {
        let r = self
            .call(Repeat::Safe, || {
                Ok(self
                    .mailbox(self.http.post(self.url(paths::MESSAGES)))?
                    .header(paths::IDEMPOTENCY_KEY, idempotency_key)
                    .multipart(message_form(to, words, files)))
            })
            .await?;
        Self::reply(r).await
    }

    async fn page(&self, path: &str, q: &InboxQuery) -> Result<MessagePage, HubError> {
        Self::reply(self.call(Repeat::Safe, || Ok(self.mailbox(self.http.get(self.url(path)))?.query(q))).await?).await
    }

    /// One page of received messages.
    pub async fn inbox(&self, q: &InboxQuery) -> Result<MessagePage, HubError> {
        self.page(paths::INBOX, q).await
    }

    /// One page of sent messages.
    pub async fn sent(&self, q: &InboxQuery) -> Result<MessagePage, HubError> {
        self.page(paths::SENT, q).await
    }

    /// Every page (follows cursors).
    pub async fn all(&self, sent: bool, mut q: InboxQuery) -> Result<Vec<MessageInfo>, HubError> {
        let mut out = Vec::new();
        loop {
            let p = if sent { self.sent(&q).await? } else { self.inbox(&q).await? };
            out.extend(p.messages);
            match p.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// One message.
    pub async fn message(&self, id: &str) -> Result<MessageInfo, HubError> {
        let url = self.url(&format!("{}/{id}", paths::MESSAGES));
        Self::reply(self.call(Repeat::Safe, || self.mailbox(self.http.get(&url))).await?).await
    }

    /// Downloads one file and checks its SHA-256 against the hub's header.
    pub async fn download(&self, id: &str, index: u32) -> Result<Download, HubError> {
        let url = self.url(&format!("{}/{id}/files/{index}", paths::MESSAGES));
        let r = self.call(Repeat::Safe, || self.mailbox(self.http.get(&url))).await?;
        if !r.status().is_success() {
            return Err(Self::error(r).await);
        }
        let want = r.headers().get(paths::SHA256_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = r.bytes().await.map_err(net)?;
        let got = hex(&Sha256::digest(&bytes));
        if want.as_deref() != Some(got.as_str()) {
            return Err(HubError::Network(format!("ダウンロードしたファイルが壊れています（SHA-256 {got} ≠ {want:?}）")));
        }
        Ok(Download { bytes, sha256: got })
    }

    /// Acknowledges a received message (取得済).
    pub async fn fetched(&self, id: &str) -> Result<(), HubError> {
        let url = self.url(&format!("{}/{id}/fetch", paths::MESSAGES));
        Self::empty(self.call(Repeat::Safe, || self.mailbox(self.http.post(&url))).await?).await
    }

    /// Marks a received message opened (開封済).
    pub async fn opened(&self, id: &str) -> Result<(), HubError> {
        let url = self.url(&format!("{}/{id}/open", paths::MESSAGES));
        Self::empty(self.call(Repeat::Safe, || self.mailbox(self.http.post(&url))).await?).await
    }

    /// The office's drafts.
    pub async fn drafts(&self) -> Result<Vec<DraftInfo>, HubError> {
        Self::reply(self.call(Repeat::Safe, || self.mailbox(self.http.get(self.url(paths::DRAFTS)))).await?).await
    }

    /// This office: licence (有効期限, 支払い状況) and the oldest client version the hub accepts.
    pub async fn office(&self) -> Result<OfficeStatus, HubError> {
        Self::reply(self.call(Repeat::Safe, || self.authed(self.http.get(self.url(paths::OFFICE)))).await?).await
    }

    /// One draft.
    pub async fn draft(&self, id: &str) -> Result<DraftInfo, HubError> {
        let url = self.url(&format!("{}/{id}", paths::DRAFTS));
        Self::reply(self.call(Repeat::Safe, || self.mailbox(self.http.get(&url))).await?).await
    }

    /// Saves a new draft (一時保存).
    pub async fn create_draft(&self, to: &str, words: &Words, files: &[OutFile]) -> Result<DraftInfo, HubError> {
        let r = self
            .call(Repeat::IfNothingDone, || {
                Ok(self.mailbox(self.http.post(self.url(paths::DRAFTS)))?.multipart(message_form(to, words, files)))
            })
            .await?;
        Self::reply(r).await
    }

    /// Changes a draft (更新): recipient, note and contact as given (`contact: Some(None)` makes
    /// it an ordinary message), if `version` is still the draft's.
    pub async fn update_draft(&self, id: &str, u: &DraftUpdate) -> Result<DraftInfo, HubError> {
        let url = self.url(&format!("{}/{id}", paths::DRAFTS));
        // A repeat after a lost answer would be refused as changed elsewhere (the version moved).
        Self::reply(self.call(Repeat::IfNothingDone, || Ok(self.mailbox(self.http.patch(&url))?.json(u))).await?).await
    }

    /// Adds files to a draft.
    pub async fn add_draft_files(&self, id: &str, files: &[OutFile]) -> Result<DraftInfo, HubError> {
        let url = self.url(&format!("{}/{id}/files", paths::DRAFTS));
        let r = self
            .call(Repeat::IfNothingDone, || Ok(self.mailbox(self.http.post(&url))?.multipart(message_form("", &Words::default(), files))))
            .await?;
        Self::reply(r).await
    }

    /// Removes one file of a draft.
    pub async fn remove_draft_file(&self, id: &str, index: u32) -> Result<DraftInfo, HubError> {
        // Not repeated after a broken connection: the files after it move up, and a repeat would remove the next one.
        let url = self.url(&format!("{}/{id}/files/{index}", paths::DRAFTS));
        let r = self.call(Repeat::IfNothingDone, || self.mailbox(self.http.delete(&url))).await?;
        Self::reply(r).await
    }

    /// Sends a draft.
    pub async fn send_draft(&self, id: &str, idempotency_key: &str) -> Result<SendResponse, HubError> {
        let url = self.url(&format!("{}/{id}/send", paths::DRAFTS));
        let r = self.call(Repeat::Safe, || Ok(self.mailbox(self.http.post(&url))?.header(paths::IDEMPOTENCY_KEY, idempotency_key))).await?;
        Self::reply(r).await
    }

    /// Deletes a draft.
    pub async fn delete_draft(&self, id: &str) -> Result<(), HubError> {
        let url = self.url(&format!("{}/{id}", paths::DRAFTS));
        Self::empty(self.call(Repeat::IfNothingDone, || self.mailbox(self.http.delete(&url))).await?).await
    }

    /// Notices for this office.
    pub async fn notices(&self) -> Result<Vec<Notice>, HubError> {
        Self::reply(self.call(Repeat::Safe, || self.authed(self.http.get(self.url(paths::NOTICES)))).await?).await
    }

    /// Opens the server-sent event stream.
    pub async fn events(&self) -> Result<EventStream, HubError> {
        let r = self.call(Repeat::Safe, || self.mailbox(self.http.get(self.url(paths::EVENTS)))).await?;
        if !r.status().is_success() {
            return Err(Self::error(r).await);
        }
        Ok(EventStream { resp: r, buf: String::new() })
    }
}

/// Server-sent events from the hub.
#[derive(Debug)]
pub struct EventStream {
    resp: reqwest::Response,
    buf: String,
}

impl EventStream {
    /// The next event; `Ok(None)` when the hub closed the stream.
    pub async fn next(&mut self) -> Result<Option<Event>, HubError> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect::<Vec<_>>()
                    .join("\n");
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return serde_json::from_str(&data).map(Some).map_err(|e| HubError::Protocol(format!("event: {e}")));
            }
            match self.resp.chunk().await.map_err(net)? {
                Some(c) => self.buf.push_str(&String::from_utf8_lossy(&c).replace("\r\n", "\n")),
                None => return Ok(None),
            }
        }
    }
}

/// A random token (hex, 256 bits).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::fill(&mut b);
    hex(&b)
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The saved session of a profile, if any and not expired.
pub fn load_session(p: &Profile) -> Option<Session> {
    let s: Session = serde_json::from_slice(&std::fs::read(p.dir.join("session.json")).ok()?).ok()?;
    let exp = time::OffsetDateTime::parse(&s.expires_at, &time::format_description::well_known::Rfc3339).ok()?;
    (exp > time::OffsetDateTime::now_utc()).then_some(s)
}

/// Saves (or with `None` removes) the session of a profile.
pub fn save_session(p: &Profile, s: Option<&Session>) -> std::io::Result<()> {
    let path = p.dir.join("session.json");
    match s {
        Some(s) => write_private(&path, &serde_json::to_vec_pretty(s).expect("serializable")),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: ErrorCode) -> HubError {
        HubError::Api {
            status,
            body: ErrorBody { code, message: String::new(), message_en: String::new(), details: vec![], reference: None },
        }
    }

    #[test]
    fn storage_faults_and_network_failures_are_retried_refusals_are_not() {
        assert!(HubError::Network("reset".into()).is_transient());
        assert!(api(503, ErrorCode::StorageFull).is_transient());
        assert!(api(503, ErrorCode::StorageUnavailable).is_transient());
        assert!(!api(422, ErrorCode::IdempotencyKeyReused).is_transient());
        assert!(!api(422, ErrorCode::SendUnitInvalid).is_transient());
        assert!(!api(500, ErrorCode::Internal).is_transient());
    }
}

/// What a message says besides its files: the note (メッセージ) and, for a contact (今月利用なし
/// and the like), its kind and fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    /// The note.
    pub note: String,
    /// The contact, if the message is one.
    pub contact: Option<Contact>,
}

impl From<&str> for Words {
    fn from(note: &str) -> Words {
        Words { note: note.to_owned(), contact: None }
    }
}

impl From<&String> for Words {
    fn from(note: &String) -> Words {
        Words::from(note.as_str())
    }
}

/// The multipart form of a send or a draft: recipient, note, the contact's fields, the files.
fn message_form(to: &str, words: &Words, files: &[OutFile]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().text("to", to.to_owned()).text("note", words.note.clone());
    if let Some(c) = &words.contact {
        form = form
            .text("contact", c.kind.as_str())
            .text("contact_month", c.month.clone().unwrap_or_default())
            .text("contact_person", c.person.clone())
            .text("contact_units", c.units.map(|u| u.to_string()).unwrap_or_default());
    }
    for f in files {
        form = form.part("file", reqwest::multipart::Part::bytes(f.bytes.clone()).file_name(f.name.clone()));
    }
    form
}
