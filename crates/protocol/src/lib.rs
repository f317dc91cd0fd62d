//! # renkei-protocol — the hub API contract, version 1
//!
//! Request and response bodies of the hub's JSON API under `/v1`, and the stable error codes.
//! Shared by the hub and the client; serde only.
//!
//! Authentication: every route except [`paths::ENROL`] needs a terminal certificate (mutual TLS)
//! issued by the hub's CA; every route except enrolment and [`paths::SESSIONS`] (login) also needs
//! `Authorization: Bearer <token>` from a session opened *on that terminal*.

#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

/// API version in paths.
pub const VERSION: &str = "v1";

pub mod codes;
pub mod contacts;
pub mod names;
pub use contacts::{Contact, ContactKind};

/// Route paths.
pub mod paths {
    /// `POST`: enrol a terminal (CSR + one-time code + credentials). No client certificate needed.
    pub const ENROL: &str = "/v1/enrol";
    /// `GET`: the hub's CA certificate (PEM). Public: a new PC fetches it at set-up and shows its
    /// fingerprint ([`crate::fingerprint_display`]) for the clerk to compare with the one on the
    /// enrolment code sheet.
    pub const CA: &str = "/v1/ca.pem";
    /// `POST`: log in (open a session on this terminal); `DELETE`: log out.
    pub const SESSIONS: &str = "/v1/sessions";
    /// `POST`: change the password (the only thing a temporary password may do).
    pub const PASSWORD: &str = "/v1/sessions/password";
    /// `POST`: an office administrator creates a one-time enrolment code for another PC.
    pub const ENROLMENT_CODES: &str = "/v1/enrolment-codes";
    /// `GET /v1/directory/{office}`: is an office reachable?
    pub const DIRECTORY: &str = "/v1/directory";
    /// `POST`: send (multipart). `GET /v1/messages/{id}`: detail.
    pub const MESSAGES: &str = "/v1/messages";
    /// `GET`: received messages.
    pub const INBOX: &str = "/v1/inbox";
    /// `GET`: sent messages.
    pub const SENT: &str = "/v1/sent";
    /// `POST`: create a draft (multipart: `to`, `note`, `file`…); `GET`: the office's drafts.
    /// `GET`/`PATCH`/`DELETE /v1/drafts/{id}`; `POST /v1/drafts/{id}/files` adds files;
    /// `DELETE /v1/drafts/{id}/files/{index}`; `POST /v1/drafts/{id}/send` sends it.
    pub const DRAFTS: &str = "/v1/drafts";
    /// `GET`: notices (お知らせ) for this office: operator announcements and non-delivery notices.
    pub const NOTICES: &str = "/v1/notices";
    /// `GET`: server-sent events ([`crate::Event`]) for this office.
    pub const EVENTS: &str = "/v1/events";
    /// Header carrying the SHA-256 (hex) of a downloaded file.
    pub const SHA256_HEADER: &str = "x-content-sha256";
    /// Header making a send idempotent.
    pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
    /// Header of a 代行業者 (agent) acting for an office that delegated to it: the office's
    /// number. Taken by the mailbox routes only (sending, drafts, lists, messages, events);
    /// every other route refuses it with [`crate::ErrorCode::DelegationRefused`].
    pub const ON_BEHALF_OF: &str = "x-renkei-on-behalf-of";
    /// This office: its licence and what the hub expects of clients (`GET`).
    pub const OFFICE: &str = "/v1/office";
    /// 稼働状況: whether the system runs normally, a maintenance window, an incident (`GET`, public).
    pub const STATUS: &str = "/v1/status";
    /// Header naming renkei's own client and its version: `renkei/0.4.0 (linux)`.
    pub const CLIENT_HEADER: &str = "x-renkei-client";
}

/// Crockford's base32 alphabet (no I, L, O, U), used for fingerprints read aloud.
const B32: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A certificate fingerprint as people compare it: the first 160 bits of the SHA-256 (given as
/// hex) in Crockford base32, eight groups of four, each followed by a check character (Luhn mod
/// 32 over the group), e.g. `7K3Q-P 2D9X-4 …`. A single mistyped character or a swap of two
/// neighbours in a group changes that group's check character. Returns `None` if `sha256_hex` is
/// not 64 hex digits.
pub fn fingerprint_display(sha256_hex: &str) -> Option<String> {
    if sha256_hex.len() != 64 || !sha256_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..20).map(|i| u8::from_str_radix(&sha256_hex[i * 2..i * 2 + 2], 16).unwrap_or(0)).collect();
    let mut digits = Vec::with_capacity(32);
    for chunk in bytes.chunks(5) {
        let v = chunk.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
        for k in (0..8).rev() {
            digits.push(((v >> (k * 5)) & 31) as usize);
        }
    }
    let groups: Vec<String> = digits
        .chunks(4)
        .map(|g| {
            let s: String = g.iter().map(|d| B32[*d] as char).collect();
            format!("{s}-{}", B32[luhn32(g)] as char)
        })
        .collect();
    Some(groups.join(" "))
}

/// Luhn mod N check digit (N = 32) over base-32 digit values.
fn luhn32(digits: &[usize]) -> usize {
    let mut factor = 2;
    let mut sum = 0;
    for d in digits.iter().rev() {
        let addend = factor * d;
        sum += addend / 32 + addend % 32;
        factor = if factor == 2 { 1 } else { 2 };
    }
    (32 - sum % 32) % 32
}

/// Every refusal of the API: a stable code, a Japanese message for users, English for logs,
/// and per-file details where a file is at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable code.
    pub code: ErrorCode,
    /// For users (Japanese).
    pub message: String,
    /// For logs (English).
    pub message_en: String,
    /// Per-file findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
    /// For an internal error: the reference (お問い合わせ番号) under which the hub logged its
    /// cause, for the user to quote to the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// One finding behind a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// The file concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The token or item (送信先事業所番号, 拡張子, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The validator's rule id, when the finding comes from the standard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What is wrong (Japanese).
    pub message: String,
}

/// Stable error codes. The HTTP status is given for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400: the request is malformed.
    BadRequest,
    /// 401: a terminal certificate is required for this route.
    CertificateRequired,
    /// 401: the terminal certificate is not (or no longer) enrolled.
    TerminalUnknown,
    /// 401: no session, or it expired.
    SessionRequired,
    /// 401: wrong login ID or password.
    BadCredentials,
    /// 423: too many failures; locked until a time.
    AccountLocked,
    /// 403: a temporary password must be changed first.
    PasswordChangeRequired,
    /// 403: the action needs a second factor (TOTP) that this session has not passed.
    SecondFactorRequired,
    /// 400: the new password does not meet the rules.
    PasswordPolicy,
    /// 403: the user does not belong to the terminal's office, or lacks the role.
    Forbidden,
    /// 400: the enrolment code is unknown, used or expired.
    EnrolmentCodeInvalid,
    /// 400: the CSR could not be read.
    CsrInvalid,
    /// 404: no such message (or not yours).
    NotFound,
    /// 422: the recipient is not registered or has no valid license.
    RecipientNotRegistered,
    /// 422: a file name breaks the standard.
    FileNameInvalid,
    /// 422: a file name's sender is not the sending office.
    SenderMismatch,
    /// 422: a file name's receiver is not the recipient.
    ReceiverMismatch,
    /// 422: a send unit is incomplete or mixes files that cannot travel together.
    SendUnitInvalid,
    /// 422: an attachment's content is of a type that may not be sent.
    AttachmentRefused,
    /// 413: too many files, or a file or the message is too large.
    TooLarge,
    /// 422: a message needs a file, a text or a contact.
    Empty,
    /// 426: this version of renkei's client is no longer accepted; update it.
    ClientOutdated,
    /// 422: a contact (連絡) lacks a field its kind needs, or has one it does not take; the
    /// detail's `item` names the field (`kind`, `month`, `person`, `units`).
    ContactInvalid,
    /// 403: the sending office's licence is not valid (never applied, or lapsed).
    LicenseExpired,
    /// 403: 代行 refused: the office named in `x-renkei-on-behalf-of` has not delegated this
    /// (sending or receiving) to the caller's office today, or the route cannot be delegated.
    DelegationRefused,
    /// 405: the path does not take this method.
    MethodNotAllowed,
    /// 409: the draft was changed on another terminal since it was read.
    Conflict,
    /// 410: the message expired unfetched, or its content was purged after the retention period
    /// (its record and hashes are kept).
    Gone,
    /// 422: the idempotency key was used before for a different request (another recipient,
    /// note, files or draft); nothing was sent. Use a new key for a new message.
    IdempotencyKeyReused,
    /// 429: too many attempts or open streams from this address or session; wait and retry.
    TooManyRequests,
    /// 500: the hub failed; nothing was stored.
    Internal,
    /// 503: the hub's storage is full; nothing was stored. Retry after `Retry-After` seconds.
    StorageFull,
    /// 503: the hub cannot reach or write its database or file storage; nothing was stored.
    /// Retry after `Retry-After` seconds.
    StorageUnavailable,
    /// 503: the hub has too many requests at work; nothing was done. Retry after `Retry-After`
    /// seconds (the same idempotency key keeps a resent message one message).
    Busy,
}

impl ErrorCode {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadRequest | PasswordPolicy | EnrolmentCodeInvalid | CsrInvalid => 400,
            CertificateRequired | TerminalUnknown | SessionRequired | BadCredentials => 401,
            PasswordChangeRequired | SecondFactorRequired | Forbidden | LicenseExpired | DelegationRefused => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            Conflict => 409,
            Gone => 410,
            TooLarge => 413,
            RecipientNotRegistered
            | FileNameInvalid
            | SenderMismatch
            | ReceiverMismatch
            | SendUnitInvalid
            | AttachmentRefused
            | Empty
            | ContactInvalid
            | IdempotencyKeyReused => 422,
            AccountLocked => 423,
            ClientOutdated => 426,
            TooManyRequests => 429,
            Internal => 500,
            StorageFull | StorageUnavailable | Busy => 503,
        }
    }
}

/// `POST /v1/enrol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolRequest {
    /// Login ID of a user of the office.
    pub login: String,
    /// Password.
    pub password: String,
    /// One-time enrolment code from the office administrator.
    pub code: String,
    /// PKCS#10 CSR (PEM). The private key stays on the PC.
    pub csr_pem: String,
    /// A name for the PC (受付のPC, …).
    pub label: String,
}

/// Response to enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolResponse {
    /// Terminal id (the certificate's CN).
    pub terminal_id: String,
    /// The office the terminal acts for.
    pub office: String,
    /// The terminal certificate (PEM).
    pub certificate_pem: String,
    /// The hub's CA certificate (PEM), to trust the hub.
    pub ca_pem: String,
}

/// `POST /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// Login ID.
    pub login: String,
    /// Password.
    pub password: String,
}

/// A session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    /// Bearer token.
    pub token: String,
    /// The user's office.
    pub office: String,
    /// Display name.
    pub user_name: String,
    /// `admin` or `staff`.
    pub role: String,
    /// The password is temporary: only [`paths::PASSWORD`] is allowed until it is changed.
    pub must_change_password: bool,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// When the password expires (RFC 3339), if passwords expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_expires_at: Option<String>,
}

/// `POST /v1/sessions/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    /// Current password.
    pub current: String,
    /// New password (8–64 characters, letters and digits).
    pub new: String,
}

/// `POST /v1/enrolment-codes` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolmentCode {
    /// The one-time code.
    pub code: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

/// `GET /v1/directory/{office}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryEntry {
    /// The office number asked for.
    pub office: String,
    /// Registered in the exchange.
    pub registered: bool,
    /// Holds a valid license today.
    pub license_valid: bool,
    /// Name (when registered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Service kinds (when registered).
    #[serde(default)]
    pub service_kinds: Vec<String>,
}

/// `GET /v1/office`: the caller's office as トップ shows it (ライセンス, 支払い状況) and what the hub
/// expects of clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfficeStatus {
    /// Office number.
    pub office: String,
    /// Office name.
    pub name: String,
    /// The licence is valid today (sending and receiving are possible).
    pub license_valid: bool,
    /// The licence's last day (YYYY-MM-DD); absent before the first licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_until: Option<String>,
    /// The current period's fee is settled (or there is none).
    pub paid: bool,
    /// A licence year applied for and waiting for its payment: why (Japanese).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_pending: Option<String>,
    /// The licence renews itself.
    pub auto_renew: bool,
    /// The oldest version of renkei's client the hub accepts; absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_client_version: Option<String>,
    /// 稼働状況, as トップ shows it.
    #[serde(default)]
    pub operating: OperatingStatus,
}

/// The state of the system as the operator sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OperatingState {
    /// 正常稼働中.
    #[default]
    Normal,
    /// メンテナンス予定 (or メンテナンス中 within its window).
    Maintenance,
    /// 障害発生中.
    Incident,
}

impl OperatingState {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatingState::Normal => "normal",
            OperatingState::Maintenance => "maintenance",
            OperatingState::Incident => "incident",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<OperatingState> {
        [OperatingState::Normal, OperatingState::Maintenance, OperatingState::Incident].into_iter().find(|x| x.as_str() == s)
    }
}

/// `GET /v1/status`: 稼働状況 (also in [`OfficeStatus`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatingStatus {
    /// The state.
    pub state: OperatingState,
    /// One line as offices read it: 「正常稼働中」, 「メンテナンス予定 12月5日 22:00〜24:00」, 「障害発生中: …」.
    pub label: String,
    /// The operator's text (what is affected, what to do).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Maintenance window start (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// Maintenance window end (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

/// Delivery state of a message, as the sender sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// 未取得: the files were not taken yet (the message may have been opened: see `opened_at`).
    NotFetched,
    /// 取得済: the recipient took the files (データ取得).
    Fetched,
    /// 開封済: taken and opened. Opening alone never makes a message 取得済.
    Opened,
    /// Expired unfetched (保存期間切れ); the sender got a non-delivery notice.
    Expired,
}

impl DeliveryState {
    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            DeliveryState::NotFetched => "未取得",
            DeliveryState::Fetched => "取得済",
            DeliveryState::Opened => "開封済",
            DeliveryState::Expired => "期限切れ（未取得）",
        }
    }
}

/// A file of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileInfo {
    /// Position in the message (0-based), used in the download path.
    pub index: u32,
    /// File name.
    pub name: String,
    /// Standard file kind (UPPLAN, …) or `null` for other attachments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Service month of the name (YYYYMM), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_month: Option<String>,
    /// CSVバージョン of a standard CSV file (record field 1: `202407`, `202208`, …), which tells
    /// the receiver which layout to import; absent for other files (and for drafts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_version: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 (hex).
    pub sha256: String,
}

/// A message as listed and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageInfo {
    /// Message id.
    pub id: String,
    /// Sending office.
    pub sender: String,
    /// Receiving office.
    pub recipient: String,
    /// Note (メッセージ).
    pub note: String,
    /// The contact (連絡) this message is, if it is one (今月利用なし, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// Sent at (RFC 3339).
    pub sent_at: String,
    /// State.
    pub state: DeliveryState,
    /// When fetched (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
    /// When opened (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<String>,
    /// When it expired unfetched (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<String>,
    /// The files' content was purged after the retention period (names, sizes and hashes stay).
    #[serde(default)]
    pub content_purged: bool,
    /// The 代行業者 that sent this message in the sender's name (「代行: 名前（番号）」).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    /// Files.
    pub files: Vec<FileInfo>,
}

/// A 代行業者 (agent) as a message names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRef {
    /// The agent's office number.
    pub number: String,
    /// The agent's name when it sent.
    pub name: String,
}

impl AgentRef {
    /// 「代行: 名前（番号）」, as the recipient sees it.
    pub fn label(&self) -> String {
        format!("代行: {}（{}）", self.name, self.number)
    }

    /// `partner` followed by 「［代行: 名前（番号）］」, as lists show the sending office.
    pub fn after(&self, partner: &str) -> String {
        format!("{partner}［{}］", self.label())
    }
}

/// A notice (お知らせ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    /// Notice id.
    pub id: String,
    /// `operator` (announcement to everyone) or `non_delivery` (to one office).
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Published at (RFC 3339).
    pub published_at: String,
}

/// A server-sent event on [`paths::EVENTS`]. The SSE event name is the `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A message arrived for this office.
    NewMessage {
        /// Message id.
        id: String,
        /// Sending office.
        sender: String,
        /// Number of files.
        files: u32,
    },
    /// A message this office sent was fetched or opened.
    Receipt {
        /// Message id.
        id: String,
        /// New state.
        state: DeliveryState,
    },
    /// A message this office sent expired unfetched.
    Expired {
        /// Message id.
        id: String,
        /// Recipient office.
        recipient: String,
    },
    /// A notice was published for this office (or for everyone).
    Notice {
        /// Notice id.
        id: String,
        /// Title.
        title: String,
    },
}

impl Event {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::NewMessage { .. } => "new_message",
            Event::Receipt { .. } => "receipt",
            Event::Expired { .. } => "expired",
            Event::Notice { .. } => "notice",
        }
    }
}

/// A page of messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    /// Messages, newest first.
    pub messages: Vec<MessageInfo>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Inbox filters (query string of `GET /v1/inbox`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct InboxQuery {
    /// `not_fetched` or `fetched` (`all` or empty: both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(pattern = "^(|all|not_fetched|fetched)$"))]
    pub status: Option<String>,
    /// Sending office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// File kind prefix (UPPLAN, …): messages with at least one such file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Service month YYYYMM: messages with at least one file of that month (empty: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(pattern = "^((19|20)[0-9]{2}(0[1-9]|1[0-2]))?$"))]
    pub month: Option<String>,
    /// Sent on or after (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(format = Date))]
    pub since: Option<String>,
    /// Sent on or before (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(format = Date))]
    pub until: Option<String>,
    /// Page cursor (`next_cursor` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9]{0,18}$"))]
    pub cursor: Option<String>,
    /// Page size (1–200, default 50; outside that range, the nearest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A draft (下書き), shared by every terminal of the office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftInfo {
    /// Draft id.
    pub id: String,
    /// Recipient office (may be empty while drafting).
    pub to: String,
    /// Note.
    pub note: String,
    /// The contact (連絡) the draft is, if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// Files so far (`kind`/`service_month` are filled from the names).
    pub files: Vec<FileInfo>,
    /// Incremented on every change; pass it back in [`DraftUpdate`].
    pub version: i64,
    /// Last change (RFC 3339).
    pub updated_at: String,
    /// Who changed it last (display name).
    pub updated_by: String,
}

/// A whole number, also when written as a float without a fraction (`3.0`).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(i64),
        Float(f64),
    }
    match Number::deserialize(d)? {
        Number::Int(i) => Ok(i),
        #[allow(clippy::cast_possible_truncation)]
        Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        Number::Float(_) => Err(serde::de::Error::custom("version: a whole number")),
    }
}

/// `PATCH /v1/drafts/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftUpdate {
    /// The version read; a stale version is refused with [`ErrorCode::Conflict`]. A whole number
    /// written as a float (`3.0`, as some JSON writers do) is taken as that number.
    #[serde(deserialize_with = "whole_number")]
    pub version: i64,
    /// New recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// New note (at most 2,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub note: Option<String>,
    /// New contact; `null` makes the draft an ordinary message again, absent leaves it.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Contact>, nullable))]
    pub contact: Option<Option<Contact>>,
}

/// A field that is present (`Some`), also when `null` (`Some(None)`); absent is `None` by
/// `#[serde(default)]`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Response to a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendResponse {
    /// The message.
    pub message: MessageInfo,
    /// `true` when this is a repeat of an earlier send with the same `Idempotency-Key`.
    pub replayed: bool,
    /// Findings of the standard that did not block the send (record-level), per file.
    #[serde(default)]
    pub warnings: Vec<ErrorDetail>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_version_may_be_written_as_a_whole_float() {
        let u: DraftUpdate = serde_json::from_str(r#"{"version": 3.0, "note": null}"#).unwrap();
        assert_eq!(u.version, 3);
        assert_eq!(serde_json::from_str::<DraftUpdate>(r#"{"version": -2}"#).unwrap().version, -2);
        assert!(serde_json::from_str::<DraftUpdate>(r#"{"version": 3.5}"#).is_err());
        assert!(serde_json::from_str::<DraftUpdate>(r#"{"version": "3"}"#).is_err());
    }

    #[test]
    fn error_codes_are_snake_case_on_the_wire() {
        let b = ErrorBody {
            code: ErrorCode::RecipientNotRegistered,
            message: "m".into(),
            message_en: "e".into(),
            details: vec![],
            reference: None,
        };
        let s = serde_json::to_string(&b).unwrap();
        assert!(s.contains("\"recipient_not_registered\""), "{s}");
        assert_eq!(ErrorCode::RecipientNotRegistered.status(), 422);
        assert_eq!(serde_json::from_str::<ErrorBody>(&s).unwrap(), b);
    }

    #[test]
    fn fingerprints_carry_a_check_character_per_group() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let f = fingerprint_display(hex).unwrap();
        assert_eq!(f.split(' ').count(), 8, "{f}");
        assert!(f.split(' ').all(|g| g.len() == 6 && g.as_bytes()[4] == b'-'), "{f}");
        // Every single-character change within a group changes its check character.
        for g in f.split(' ') {
            let digits: Vec<usize> = g[..4].bytes().map(|c| B32.iter().position(|b| *b == c).unwrap()).collect();
            let check = luhn32(&digits);
            for i in 0..4 {
                for v in 0..32 {
                    if v != digits[i] {
                        let mut d = digits.clone();
                        d[i] = v;
                        assert_ne!(luhn32(&d), check, "{g} pos {i} -> {v}");
                    }
                }
            }
        }
        assert_eq!(fingerprint_display("xyz"), None);
    }
}
