//! The mailbox: sending (checked at the door, stored once per idempotency key) and receipts
//! (取得 / 開封). The API's send, draft send, fetch and open all end here.

use crate::auth;
use crate::error::ApiError;
use crate::jst::{now, rfc3339};
use crate::service::checks::{self, Upload};
use crate::service::licence;
use crate::service::sessions::Caller;
use crate::state::AppState;
use crate::store::{AuditAction, FileRow, MessageRow, NewMessage, Office};
use renkei_protocol::*;

/// A stored message as the API describes it.
pub fn info(m: &MessageRow) -> MessageInfo {
    // 取得済 only when the files were taken; 開封 after that is 開封済. An opened message whose
    // files were never taken is still 未取得 (its opened_at says it was read).
    let state = if m.fetched_at.is_some() && m.opened_at.is_some() {
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
        contact: stored_contact(m.contact.as_deref(), &m.public_id),
        sent_at: rfc3339(m.sent_at),
        state,
        fetched_at: m.fetched_at.map(rfc3339),
        opened_at: m.opened_at.map(rfc3339),
        expired_at: m.expired_at.map(rfc3339),
        content_purged: m.purged_at.is_some(),
        agent: m.agent.as_ref().map(|(number, name)| AgentRef { number: number.clone(), name: name.clone() }),
        files: m
            .files
            .iter()
            .map(|f| FileInfo {
                index: f.idx as u32,
                name: f.name.clone(),
                kind: f.kind.clone(),
                service_month: f.service_month.clone(),
                csv_version: f.csv_version.clone(),
                size: f.size as u64,
                sha256: f.sha256.clone(),
            })
            .collect(),
    }
}

/// A stored contact (JSON) read back. Every stored contact was checked when it was sent; one
/// that no longer reads is logged, and the message is shown without it (its note still says
/// what the sender wrote).
pub fn stored_contact(json: Option<&str>, id: &str) -> Option<Contact> {
    let j = json?;
    match serde_json::from_str(j) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::error!(message = %id, error = %e, "stored contact does not read");
            None
        }
    }
}

/// A contact as stored (JSON).
pub fn contact_json(c: Option<&Contact>) -> Option<String> {
    c.map(|c| serde_json::to_string(c).expect("a contact serialises"))
}

/// What a message carries, as a send or a draft gives it.
#[derive(Debug, Clone, Default)]
pub struct Letter {
    /// Recipient office.
    pub to: Option<String>,
    /// Note (メッセージ).
    pub note: String,
    /// The contact, if the message is one.
    pub contact: Option<Contact>,
    /// Files.
    pub uploads: Vec<Upload>,
}

/// Sends up to this size are validated on the async worker (cheaper than a thread hand-off).
pub const INLINE_VALIDATION_BYTES: usize = 256 * 1024;

/// Writes blobs (content-addressed: invisible until a row references them) and describes them.
/// Drafts keep every file in the blob store; a send stores small files with its row
/// ([`stage_files`]).
pub async fn put_blobs(st: &AppState, uploads: &[Upload]) -> Result<Vec<FileRow>, ApiError> {
    let puts = uploads.iter().map(|u| async move {
        match &u.spooled {
            Some(s) => st.blobs.adopt(s).await,
            None => st.blobs.put(bytes::Bytes::copy_from_slice(&u.bytes)).await,
        }
    });
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
            csv_version: None,
            size: u.len() as i64,
            sha256,
        })
        .collect())
}

/// A send's files, ready for its transaction: each described by a [`FileRow`]; a small one
/// (up to [`crate::blobs::INLINE_MAX_BYTES`]) carried with the row, to be stored in the same
/// commit (one fsync, no file to create); a larger one written to the blob store first.
pub async fn stage_files(st: &AppState, uploads: Vec<Upload>) -> Result<(Vec<FileRow>, Vec<(String, bytes::Bytes)>), ApiError> {
    let mut inline = Vec::new();
    let mut rows = Vec::with_capacity(uploads.len());
    let mut puts = Vec::new();
    for (u, idx) in uploads.into_iter().zip(0..) {
        let size = u.len() as i64;
        if let Some(s) = u.spooled {
            puts.push((idx, futures_util::future::Either::Left(async move { st.blobs.adopt(&s).await })));
            rows.push(FileRow { idx, name: u.name, kind: None, service_month: None, csv_version: None, size, sha256: String::new() });
            continue;
        }
        let bytes = bytes::Bytes::from(u.bytes);
        let sha256 = if bytes.len() <= crate::blobs::INLINE_MAX_BYTES {
            let sha = auth::sha256_hex(&bytes);
            if !inline.iter().any(|(s, _): &(String, bytes::Bytes)| *s == sha) {
                inline.push((sha.clone(), bytes));
            }
            sha
        } else {
            puts.push((idx, futures_util::future::Either::Right(st.blobs.put(bytes))));
            String::new()
        };
        rows.push(FileRow { idx, name: u.name, kind: None, service_month: None, csv_version: None, size, sha256 });
    }
    let (at, puts): (Vec<i64>, Vec<_>) = puts.into_iter().unzip();
    for (idx, sha) in at.into_iter().zip(futures_util::future::try_join_all(puts).await?) {
        rows[idx as usize].sha256 = sha;
    }
    Ok((rows, inline))
}

/// What an idempotency key is bound to: the endpoint and what the request carries. The same key
/// with a different digest is refused, never answered with another message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDigest(String);

impl RequestDigest {
    /// `POST /v1/messages`: recipient, note, contact, and each file's name and SHA-256, in order.
    pub fn send(letter: &Letter) -> RequestDigest {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        let mut line = |k: &str, v: &str| {
            // Length-prefixed, so that no value can imitate a field boundary.
            h.update(format!("{k}:{}:", v.len()));
            h.update(v.as_bytes());
            h.update(b"\n");
        };
        line("endpoint", "POST /v1/messages");
        line("to", letter.to.as_deref().unwrap_or(""));
        line("note", &letter.note);
        if let Some(c) = contact_json(letter.contact.as_ref()) {
            line("contact", &c);
        }
        for u in &letter.uploads {
            line("file", &u.name);
            line("sha256", &u.sha256());
        }
        RequestDigest(auth::hex(&h.finalize()))
    }
    /// `POST /v1/drafts/{id}/send`: the draft (a sent draft is gone, so its id names one send).
    pub fn draft_send(draft: &str) -> RequestDigest {
        RequestDigest(auth::sha256_hex(format!("endpoint:POST /v1/drafts/{{id}}/send\ndraft:{draft}").as_bytes()))
    }
}

/// A request's idempotency key (if it has one) and what the key is bound to.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The `Idempotency-Key` header, if any.
    pub key: Option<String>,
    /// What the key is bound to.
    pub digest: RequestDigest,
}

/// The answer to a request whose idempotency key was seen before: the stored message when the
/// request is the same, a refusal when it is not.
pub async fn replay(st: &AppState, c: &Caller, idem: &Idempotency) -> Result<Option<SendResponse>, ApiError> {
    let (Some(k), digest) = (&idem.key, &idem.digest) else { return Ok(None) };
    let Some(crate::store::KeyedMessage { message: m, digest: stored }) = st.store.message_by_idempotency(&c.office, k).await? else {
        return Ok(None);
    };
    // Messages stored before digests were kept replay as they always did.
    if stored.as_ref().is_some_and(|d| *d != digest.0) {
        metrics::counter!("renkei_idempotency_key_reused_total").increment(1);
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "この再送キー（Idempotency-Key）は、別の内容の送信にすでに使われています。今回の内容は送信していません。新しい送信には新しいキーを使ってください",
            "the idempotency key was used for a different request; nothing was sent",
        ));
    }
    Ok(Some(SendResponse { message: info(&m), replayed: true, warnings: vec![] }))
}

fn not_registered() -> ApiError {
    ApiError::new(
        ErrorCode::RecipientNotRegistered,
        licence::LicenceRefusal::RecipientNotParticipating.message(),
        "the recipient is not registered or has no valid license",
    )
}

/// The sending office (the caller's) and the recipient named by `to`: present, on the system,
/// not the sender itself. The one rule for sends and drafts.
pub async fn parties(st: &AppState, c: &Caller, to: Option<&str>) -> Result<(Office, Office), ApiError> {
    let to = to
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "宛先の事業所番号を入れてください", "missing 'to'"))?;
    if to == c.office {
        return Err(ApiError::new(ErrorCode::BadRequest, "自分の事業所あてには送れません", "cannot send to oneself"));
    }
    let (sender, recipient) = st.store.office_pair(&c.office, to).await?;
    let recipient = recipient.ok_or_else(not_registered)?;
    let sender = sender.ok_or_else(|| ApiError::internal("terminal office missing"))?;
    Ok((sender, recipient))
}

/// The door's checks of a message's files (the standard, routing, attachments), as a send and
/// a draft make them. Validating the standard's files is CPU work: a large set is validated off
/// the async workers, at most one per core, so that it never stalls other requests (health
/// checks, downloads); a small one (the usual month's unit, a few KiB) inline, where a thread
/// hand-off would cost more than the check.
pub async fn check_files(
    st: &AppState,
    sender: &Office,
    recipient: &Office,
    uploads: Vec<Upload>,
    completeness: checks::Completeness,
) -> Result<(Vec<Upload>, Result<(Vec<checks::Classified>, Vec<ErrorDetail>), ApiError>), ApiError> {
    let total: usize = uploads.iter().map(Upload::len).sum();
    if total <= INLINE_VALIDATION_BYTES {
        let r = checks::check(sender, recipient, &uploads, completeness);
        return Ok((uploads, r));
    }
    let permit = st.validation.clone().acquire_owned().await.map_err(ApiError::internal)?;
    let (s2, r2) = (sender.clone(), recipient.clone());
    tokio::task::spawn_blocking(move || {
        let r = checks::check(&s2, &r2, &uploads, completeness);
        drop(permit);
        (uploads, r)
    })
    .await
    .map_err(ApiError::internal)
}

/// Checks and stores a message; the common end of a direct send and of sending a draft.
pub async fn deliver(
    st: &AppState,
    c: &Caller,
    letter: Letter,
    idem: Idempotency,
    from_draft: Option<(i64, i64)>,
) -> Result<SendResponse, ApiError> {
    let Letter { to, note, contact, uploads } = letter;
    checks::require_content(&note, uploads.len(), contact.as_ref())?;
    if let Some(k) = &contact {
        checks::check_contact(k)?;
    }
    let (sender, recipient) = parties(st, c, to.as_deref()).await?;
    match licence::may_exchange(&sender, &recipient, &crate::jst::today_string()) {
        Ok(()) => {}
        Err(licence::LicenceRefusal::RecipientNotParticipating) => return Err(not_registered()),
        Err(r) => return Err(ApiError::new(ErrorCode::LicenseExpired, r.message(), "the sending office has no valid license")),
    }
    let (uploads, checked) = check_files(st, &sender, &recipient, uploads, checks::Completeness::Whole).await?;
    let (classes, warnings) = checked?;
    let (files, inline) = stage_files(st, uploads).await?;
    let files: Vec<FileRow> = files
        .into_iter()
        .zip(classes)
        .map(|(f, cl)| FileRow { kind: cl.kind, service_month: cl.service_month, csv_version: cl.csv_version, ..f })
        .collect();
    let m = NewMessage {
        public_id: auth::token()[..32].to_owned(),
        sender: sender.number.clone(),
        recipient: recipient.number.clone(),
        note,
        contact: contact_json(contact.as_ref()),
        sent_by: c.user.id,
        sent_terminal: c.terminal.id.clone(),
        sent_at: now(),
        agent: c.acting.as_ref().map(|a| (a.agent.clone(), a.agent_name.clone())),
        idempotency_key: idem.key.clone(),
        idempotency_digest: idem.key.as_ref().map(|_| idem.digest.0.clone()),
        files,
        inline,
        from_draft,
    };
    let detail = format!(
        "to={} files={}{}{}",
        m.recipient,
        m.files.len(),
        contact.map(|k| format!(" contact={}", k.kind.as_str())).unwrap_or_default(),
        if from_draft.is_some() { " draft" } else { "" }
    );
    let id = match st.store.insert_message(&m, c.audit(AuditAction::Send, detail)).await {
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
        contact: m.contact,
        sent_at: m.sent_at,
        fetched_at: None,
        opened_at: None,
        expired_at: None,
        purged_at: None,
        agent: m.agent,
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
    Ok(SendResponse { message: info(&stored), replayed: false, warnings })
}

/// Expired messages cannot be fetched by the recipient; purged content is gone for everyone.
/// Refuses a message whose content is gone (purged, or expired before the recipient fetched it).
pub fn gone_check(m: &MessageRow, c: &Caller) -> Result<(), ApiError> {
    if m.purged_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::Gone,
            "保存期間が過ぎたため、このメッセージのファイルは削除されています（送受信の記録とファイルのハッシュ値は残っています）",
            "content purged after the retention period",
        ));
    }
    if m.expired_at.is_some() && m.fetched_at.is_none() && m.recipient == c.office {
        return Err(ApiError::new(
            ErrorCode::Gone,
            "受信されないまま保存期間が過ぎたため、このメッセージは取得できません。送信元に再送を依頼してください",
            "expired unfetched",
        ));
    }
    Ok(())
}

/// Acknowledges a received message (取得, or 開封 when `open`); the sender hears of it.
pub async fn receipt(st: &AppState, c: &Caller, id: &str, open: bool) -> Result<MessageInfo, ApiError> {
    let m = st.store.message_for(id, &c.office).await?.ok_or_else(ApiError::not_found)?;
    if m.recipient != c.office {
        return Err(ApiError::new(ErrorCode::Forbidden, "受信したメッセージだけが対象です", "only the recipient can acknowledge"));
    }
    gone_check(&m, c)?;
    let before = m.opened_at.is_some() as u8 * 2 + m.fetched_at.is_some() as u8;
    let t = now();
    let mut m = m;
    let changed = if open {
        st.store.mark_opened(m.id, c.user.id, t, c.audit(AuditAction::Open, m.public_id.clone())).await?
    } else {
        st.store.mark_fetched(m.id, c.user.id, &c.terminal.id, t, c.audit(AuditAction::Fetch, m.public_id.clone())).await?
    };
    match (changed, open) {
        (true, true) => m.opened_at = Some(t),
        (true, false) => m.fetched_at = Some(t),
        // Marked before: nothing changed.
        (false, true) if m.opened_at.is_some() => {}
        (false, false) if m.fetched_at.is_some() => {}
        // Another request marked it meanwhile: read what it stored.
        (false, _) => m = st.store.message_for(id, &c.office).await?.ok_or_else(ApiError::not_found)?,
    }
    let after = m.opened_at.is_some() as u8 * 2 + m.fetched_at.is_some() as u8;
    if after != before {
        let i = info(&m);
        st.events.send(Some(&m.sender), Event::Receipt { id: i.id.clone(), state: i.state });
    }
    Ok(info(&m))
}

/// One message the caller may see (received or sent), as its info.
pub async fn message(st: &AppState, c: &Caller, id: &str) -> Result<(MessageRow, MessageInfo), ApiError> {
    let m = st.store.message_for(id, &c.office).await?.ok_or_else(ApiError::not_found)?;
    c.may_see(&m.sender, &m.recipient)?;
    let i = info(&m);
    Ok((m, i))
}

/// File `idx` of a message the caller may see and whose content is not gone: its row and, for a
/// small file, its content from the database (`None`: in the blob store).
pub async fn stored_file(st: &AppState, c: &Caller, id: &str, idx: i64) -> Result<crate::store::StoredFile, ApiError> {
    let f = st.store.file_for(id, idx, &c.office).await?.ok_or_else(ApiError::not_found)?;
    c.may_see(&f.sender, &f.recipient)?;
    let row = MessageRow {
        id: 0,
        public_id: id.to_owned(),
        sender: f.sender.clone(),
        recipient: f.recipient.clone(),
        note: String::new(),
        contact: None,
        sent_at: 0,
        fetched_at: f.fetched_at,
        opened_at: None,
        expired_at: f.expired_at,
        purged_at: f.purged_at,
        agent: None,
        files: Vec::new(),
    };
    gone_check(&row, c)?;
    Ok(f)
}

/// The content of file `idx` of a message the caller may see ([`stored_file`]), read whole (the
/// caller bounds what it reads by the file's size, [`FileRow::size`]).
pub async fn file_content(st: &AppState, c: &Caller, id: &str, idx: i64) -> Result<(FileRow, bytes::Bytes), ApiError> {
    let f = stored_file(st, c, id, idx).await?;
    let bytes = match f.content {
        Some(b) => bytes::Bytes::from(b),
        None => st.blobs.get(&f.file.sha256).await.map_err(ApiError::internal)?,
    };
    Ok((f.file, bytes))
}

/// The most a 一括送信 from the browser opens of ZIP files, in bytes.
pub const BULK_ZIP_BYTES: usize = 64 * 1024 * 1024;

/// 一括送信's files by destination: the standard files grouped by the receiving office their
/// names give (in the order met), and the files that name none (attachments, names that break
/// the standard) with the reason. ZIP files are opened first (safely,
/// [`renkei_screens::archive`]), their entries taken as files.
#[derive(Debug, Default)]
pub struct BulkPlan {
    /// (destination, its files).
    pub groups: Vec<(String, Vec<Upload>)>,
    /// (file, why it has no destination).
    pub unassigned: Vec<(String, String)>,
}

/// Groups `uploads` for 一括送信 ([`BulkPlan`]).
pub async fn bulk_plan(uploads: Vec<Upload>) -> Result<BulkPlan, ApiError> {
    let mut files = Vec::new();
    let mut plan = BulkPlan::default();
    let mut zip_bytes = 0usize;
    for u in uploads {
        if u.name.to_ascii_lowercase().ends_with(".zip") {
            zip_bytes += u.len();
            if zip_bytes > BULK_ZIP_BYTES {
                return Err(ApiError::new(
                    ErrorCode::TooLarge,
                    format!("ZIPファイルは合わせて{}MBまでです。分けて送ってください", BULK_ZIP_BYTES / 1024 / 1024),
                    "bulk zip too large",
                ));
            }
            let bytes = match &u.spooled {
                Some(s) => s.read_all().await.map_err(ApiError::internal)?,
                None => u.bytes,
            };
            match renkei_screens::archive::extract(&bytes, renkei_screens::archive::Limits::default()) {
                Ok(entries) => files.extend(entries.into_iter().map(|(n, b)| Upload::in_memory(n, b))),
                Err(e) => plan.unassigned.push((u.name, format!("ZIPファイルを開けません: {e}"))),
            }
        } else {
            files.push(u);
        }
    }
    for f in files {
        match renkei_spec::name::parse(&f.name, renkei_spec::name::Profile::LENIENT) {
            Ok(p) => {
                let to = p.name.receiver.office.to_string();
                match plan.groups.iter_mut().find(|(t, _)| *t == to) {
                    Some((_, g)) => g.push(f),
                    None => plan.groups.push((to, vec![f])),
                }
            }
            Err(_) if checks::looks_standard(&f.name) => {
                plan.unassigned.push((f.name, "ファイル名が標準仕様に合わないため、送信先が分かりません".into()))
            }
            Err(_) => plan.unassigned.push((f.name, "添付ファイルは「新規作成」から送信先を指定して送ってください".into())),
        }
    }
    Ok(plan)
}
