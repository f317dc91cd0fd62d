//! 下書き: an office's drafts, shared by its terminals. A draft is checked at the door as its
//! send will be — the recipient on the system and not the office itself, files or a text,
//! every file's type, name and routing as the standard requires — so that nothing a draft
//! accepts is refused at its send for those reasons. Only the completeness of the send units
//! waits for the send: a draft is where an office puts a unit together from several PCs.
//! Changes are optimistic: each carries the version it read.

use crate::error::ApiError;
use crate::jst::now;
use crate::service::checks::{Completeness, Upload, check_contact, require_content};
use crate::service::mailbox::{Letter, check_files, contact_json, parties, put_blobs, stored_contact};
use crate::service::sessions::Caller;
use crate::state::AppState;
use crate::store::{DraftChange, DraftRow, FileRow};
use renkei_protocol::{Contact, ErrorCode};

fn gone() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "下書きが見つかりません（別の端末で削除または送信された可能性があります）", "no such draft")
}

/// The caller's office's draft.
pub async fn load(st: &AppState, c: &Caller, id: &str) -> Result<DraftRow, ApiError> {
    st.store.draft(&c.office, id).await?.ok_or_else(gone)
}

/// The content of a draft's stored files, for checking them again or sending them.
pub async fn uploads_of(st: &AppState, files: &[FileRow]) -> Result<Vec<Upload>, ApiError> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        out.push(Upload::in_memory(f.name.clone(), st.blobs.get(&f.sha256).await?.to_vec()));
    }
    Ok(out)
}

/// The send's checks on what the draft would send.
async fn check(st: &AppState, c: &Caller, to: &str, uploads: Vec<Upload>) -> Result<Vec<Upload>, ApiError> {
    let (sender, recipient) = parties(st, c, Some(to)).await?;
    let (uploads, checked) = check_files(st, &sender, &recipient, uploads, Completeness::Partial).await?;
    checked?;
    Ok(uploads)
}

/// A new draft: checked like a send, then stored.
pub async fn create(st: &AppState, c: &Caller, letter: Letter) -> Result<DraftRow, ApiError> {
    let Letter { to, note, contact, uploads } = letter;
    let to = to.as_deref().map(str::trim).unwrap_or("").to_owned();
    require_content(&note, uploads.len(), contact.as_ref())?;
    if let Some(k) = &contact {
        check_contact(k)?;
    }
    let uploads = check(st, c, &to, uploads).await?;
    let files = put_blobs(st, &uploads).await?;
    let public_id = crate::auth::token()[..32].to_owned();
    let contact = contact_json(contact.as_ref());
    let draft = crate::store::NewDraft {
        public_id: &public_id,
        office: &c.office,
        recipient: &to,
        note: &note,
        contact: contact.as_deref(),
        user: c.user.id,
        files: &files,
    };
    st.store.create_draft(&draft, now()).await?;
    load(st, c, &public_id).await
}

fn changed_meanwhile(by: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("この下書きは {by} さんが別の端末で変更しました。最新の内容を読み込んでからもう一度編集してください"),
        "the draft changed on another terminal",
    )
}

/// The contact a stored draft is.
pub fn contact_of(d: &DraftRow) -> Option<Contact> {
    stored_contact(d.contact.as_deref(), &d.public_id)
}

/// A new recipient, note or contact; a new recipient is checked with the draft's files, and the
/// draft must still say something (files, a text or a contact).
pub async fn update(
    st: &AppState,
    c: &Caller,
    id: &str,
    version: i64,
    to: Option<&str>,
    note: Option<&str>,
    contact: Option<Option<&Contact>>,
) -> Result<DraftRow, ApiError> {
    let d = load(st, c, id).await?;
    let to = to.map(str::trim);
    if let Some(t) = to.filter(|t| *t != d.recipient) {
        check(st, c, t, uploads_of(st, &d.files).await?).await?;
    }
    if let Some(Some(k)) = contact {
        check_contact(k)?;
    }
    let current = contact_of(&d);
    let next_contact = match contact {
        Some(k) => k,
        None => current.as_ref(),
    };
    require_content(note.unwrap_or(&d.note), d.files.len(), next_contact)?;
    let json = contact.map(contact_json);
    let change = DraftChange { recipient: to, note, contact: json.as_ref().map(Option::as_deref) };
    if !st.store.update_draft(d.id, version, &change, c.user.id, now()).await? {
        return Err(changed_meanwhile(&load(st, c, id).await?.updated_by));
    }
    load(st, c, id).await
}

/// More files: the draft's files with the new ones are checked together, as the send will be.
pub async fn add_files(st: &AppState, c: &Caller, id: &str, uploads: Vec<Upload>) -> Result<DraftRow, ApiError> {
    let d = load(st, c, id).await?;
    let mut all = uploads_of(st, &d.files).await?;
    let new = uploads.len();
    all.extend(uploads);
    let mut all = check(st, c, &d.recipient, all).await?;
    let uploads = all.split_off(all.len() - new);
    let files = put_blobs(st, &uploads).await?;
    st.store.add_draft_files(d.id, &files, c.user.id, now()).await?;
    load(st, c, id).await
}

/// One file less (the last one only when the draft has a text: a draft with neither could not
/// be sent).
pub async fn remove_file(st: &AppState, c: &Caller, id: &str, idx: i64) -> Result<DraftRow, ApiError> {
    let d = load(st, c, id).await?;
    if !d.files.iter().any(|f| f.idx == idx) {
        return Err(ApiError::new(ErrorCode::NotFound, "そのファイルは下書きにありません", "no such file in the draft"));
    }
    require_content(&d.note, d.files.len() - 1, contact_of(&d).as_ref())?;
    let rest: Vec<FileRow> = d.files.iter().filter(|f| f.idx != idx).cloned().collect();
    check(st, c, &d.recipient, uploads_of(st, &rest).await?).await?;
    if !st.store.remove_draft_file(d.id, idx, c.user.id, now()).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "そのファイルは下書きにありません", "no such file in the draft"));
    }
    load(st, c, id).await
}

/// Deletes a draft.
pub async fn delete(st: &AppState, c: &Caller, id: &str) -> Result<(), ApiError> {
    let d = load(st, c, id).await?;
    st.store.delete_draft(d.id).await?;
    Ok(())
}

/// A draft as the API and the screens show it.
pub fn info(d: &DraftRow) -> renkei_protocol::DraftInfo {
    renkei_protocol::DraftInfo {
        id: d.public_id.clone(),
        to: d.recipient.clone(),
        note: d.note.clone(),
        contact: contact_of(d),
        files: d
            .files
            .iter()
            .map(|f| {
                let n = renkei_spec::name::parse(&f.name, renkei_spec::name::Profile::LENIENT).ok().map(|p| p.name);
                renkei_protocol::FileInfo {
                    index: f.idx as u32,
                    name: f.name.clone(),
                    kind: n.as_ref().map(|n| n.kind.prefix().to_owned()),
                    service_month: n.and_then(|n| n.service_month()).map(|m| m.to_string()),
                    csv_version: None,
                    size: f.size as u64,
                    sha256: f.sha256.clone(),
                }
            })
            .collect(),
        version: d.version,
        updated_at: crate::jst::rfc3339(d.updated_at),
        updated_by: d.updated_by.clone(),
    }
}

/// Sends a draft (the API's and the web mailbox's 送信 of a 下書き): its files and words as they
/// are now, through the one send path; the draft is gone once the message is stored.
pub async fn send(
    st: &AppState,
    c: &Caller,
    id: &str,
    idem: crate::service::mailbox::Idempotency,
) -> Result<renkei_protocol::SendResponse, ApiError> {
    let d = load(st, c, id).await?;
    let uploads = uploads_of(st, &d.files).await?;
    let letter = Letter { to: Some(d.recipient.clone()), note: d.note.clone(), contact: contact_of(&d), uploads };
    crate::service::mailbox::deliver(st, c, letter, idem, Some((d.id, d.version))).await
}
