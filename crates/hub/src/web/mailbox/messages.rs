//! 受信一覧 / 送信一覧, 受信詳細 / 送信詳細 (viewing a received message is its 開封), downloads,
//! データ取得 (a ZIP of one message, of the chosen ones, or of every 未取得 one, marked 取得済
//! once the ZIP is made) and 帳票表示.

use super::{MailboxUser, layout, notice, office_name};
use crate::error::ApiError;
use crate::service::mailbox::{self, file_content, receipt};
use crate::state::AppState;
use crate::store::{ListFilter, MessageRow};
use crate::web::api::messages::{file_response, parse_filter};
use crate::web::page::{PageError, page};
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use renkei_protocol::DeliveryState;
use renkei_screens::office::{ListPage, ListQ, MessagePage, attachment_name, form_page, has_form, kinds, row};
use serde::Deserialize;
use std::io::Write as _;

/// How many messages a list shows.
const LIST_LIMIT: i64 = 200;
/// How many messages one データ取得 takes at most.
const FETCH_MESSAGES: i64 = 100;
/// How many bytes of files one データ取得's ZIP holds at most (what does not fit stays 未取得,
/// for the next one).
pub const FETCH_ZIP_BYTES: u64 = 64 * 1024 * 1024;

async fn list(st: &AppState, u: &MailboxUser, sent: bool, f: ListQ, message: Option<String>) -> Result<Response, PageError> {
    let (title, nav) = if sent { ("送信一覧", "sent") } else { ("受信一覧", "inbox") };
    let q = f.query();
    let filter = match parse_filter(&q) {
        Ok(filter) => ListFilter { limit: LIST_LIMIT, ..filter },
        Err(e) => return Ok(notice(st, u, title, nav, StatusCode::BAD_REQUEST, e.0.message).await),
    };
    let msgs = st.store.list(&u.caller.office, !sent, &filter).await?;
    let mut names = std::collections::HashMap::new();
    let mut rows = Vec::with_capacity(msgs.len());
    for m in &msgs {
        let partner = if sent { &m.recipient } else { &m.sender };
        if !names.contains_key(partner) {
            names.insert(partner.clone(), office_name(st, partner).await?);
        }
        let info = mailbox::info(m);
        let new = !sent && info.opened_at.is_none();
        rows.push(row(info, sent, names[partner].clone(), new));
    }
    Ok(page(&ListPage { l: layout(st, u, title, nav).await?, sent, f, kinds: kinds(), rows, message, import_dir: String::new() }))
}

pub(crate) async fn inbox(State(st): State<AppState>, u: MailboxUser, Query(f): Query<ListQ>) -> Result<Response, PageError> {
    list(&st, &u, false, f, None).await
}

pub(crate) async fn sent(State(st): State<AppState>, u: MailboxUser, Query(f): Query<ListQ>) -> Result<Response, PageError> {
    list(&st, &u, true, f, None).await
}

async fn detail(st: &AppState, u: &MailboxUser, id: &str, sent: bool, flash: Option<String>) -> Result<Response, PageError> {
    let (title, nav) = if sent { ("送信詳細", "sent") } else { ("受信詳細", "inbox") };
    let (m, mut info) = mailbox::message(st, &u.caller, id).await?;
    // The other side's page is not this one's: a received message under 送信, or the reverse.
    if (m.recipient == u.caller.office) == sent {
        return Err(ApiError::not_found().into());
    }
    // Opening a received message on screen is its 開封 (the sender sees 開封済).
    if !sent && info.opened_at.is_none() && info.state != DeliveryState::Expired && m.purged_at.is_none() {
        info = receipt(st, &u.caller, id, true).await?;
    }
    let partner = if sent { &m.recipient } else { &m.sender };
    let name = office_name(st, partner).await?;
    let mut p = MessagePage::of(layout(st, u, title, nav).await?, &info, sent, name);
    p.flash = flash;
    Ok(page(&p))
}

pub(crate) async fn inbox_detail(State(st): State<AppState>, u: MailboxUser, Path(id): Path<String>) -> Result<Response, PageError> {
    detail(&st, &u, &id, false, None).await
}

#[derive(Deserialize)]
pub(crate) struct SentQ {
    #[serde(default)]
    sent: Option<u8>,
}

/// 送信詳細; right after 新規作成 (`?sent=1`), with the confirmation 「送信しました」.
pub(crate) async fn sent_detail(
    State(st): State<AppState>,
    u: MailboxUser,
    Path(id): Path<String>,
    Query(q): Query<SentQ>,
) -> Result<Response, PageError> {
    let flash = q.sent.is_some().then(|| "送信しました。相手がデータ取得すると「取得済」になります".to_owned());
    detail(&st, &u, &id, true, flash).await
}

/// One file, as a download (the API's rule: the caller must see the message, its content must
/// not be gone). A download alone is not データ取得: the message stays 未取得 until it is taken.
pub(crate) async fn download(
    State(st): State<AppState>,
    u: MailboxUser,
    Path((id, idx)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    Ok(file_response(&st, &u.caller, id, idx).await?)
}

/// 帳票表示 of a received or sent file.
pub(crate) async fn form_view(
    State(st): State<AppState>,
    u: MailboxUser,
    Path((id, idx)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    let (m, _) = mailbox::message(&st, &u.caller, &id).await?;
    let f = m.files.iter().find(|f| f.idx == idx && has_form(f.kind.as_deref())).ok_or_else(ApiError::not_found)?;
    let nav = if m.recipient == u.caller.office { "inbox" } else { "sent" };
    let (_, bytes) = file_content(&st, &u.caller, &id, f.idx).await?;
    let back = format!("/mailbox/{nav}/{id}");
    Ok(page(&form_page(layout(&st, &u, "帳票表示", nav).await?, &f.name, &bytes, back)))
}

/// データ取得 of one message: its files as a ZIP, and the message 取得済.
pub(crate) async fn fetch_one(State(st): State<AppState>, u: MailboxUser, Path(id): Path<String>) -> Result<Response, PageError> {
    let (m, _) = mailbox::message(&st, &u.caller, &id).await?;
    if m.recipient != u.caller.office {
        return Err(ApiError::not_found().into());
    }
    fetch(&st, &u, vec![m]).await
}

/// データ取得 of the rows ticked in 受信一覧 (`id` once per row).
pub(crate) async fn fetch_selected(
    State(st): State<AppState>,
    u: MailboxUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let ids: Vec<&str> = fields.iter().filter(|(k, _)| k == "id").map(|(_, v)| v.as_str()).take(FETCH_MESSAGES as usize).collect();
    if ids.is_empty() {
        return list(&st, &u, false, ListQ::default(), Some("データ取得するメッセージに印を付けてください".into())).await;
    }
    let mut msgs = Vec::with_capacity(ids.len());
    for id in ids {
        let (m, _) = mailbox::message(&st, &u.caller, id).await?;
        if m.recipient == u.caller.office {
            msgs.push(m);
        }
    }
    fetch(&st, &u, msgs).await
}

/// 一括取得: every 未取得 message (the oldest first, as many as one ZIP holds).
pub(crate) async fn fetch_all(State(st): State<AppState>, u: MailboxUser) -> Result<Response, PageError> {
    let mut msgs =
        st.store.list(&u.caller.office, true, &ListFilter { fetched: Some(false), limit: FETCH_MESSAGES, ..ListFilter::default() }).await?;
    msgs.retain(|m| m.expired_at.is_none() && m.purged_at.is_none());
    if msgs.is_empty() {
        return list(&st, &u, false, ListQ::default(), Some("未取得のメッセージはありません".into())).await;
    }
    msgs.reverse();
    fetch(&st, &u, msgs).await
}

/// The ZIP of `msgs`' files (flat, as the care software's import folder wants them; a name
/// that repeats gets the message's number in front), each message marked 取得済 once its files
/// are in. Messages that would take the ZIP past [`FETCH_ZIP_BYTES`], and those whose content
/// is gone, stay as they are and are named in a note inside the ZIP.
async fn fetch(st: &AppState, u: &MailboxUser, msgs: Vec<MessageRow>) -> Result<Response, PageError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let (mut names, mut total, mut taken, mut left) = (std::collections::HashSet::new(), 0u64, Vec::new(), Vec::new());
    for m in msgs {
        let size: u64 = m.files.iter().map(|f| f.size.max(0) as u64).sum();
        if total + size > FETCH_ZIP_BYTES && !taken.is_empty() {
            left.push(format!("{} {}（大きいため次回に）", renkei_screens::office::jst_unix(m.sent_at), m.public_id));
            continue;
        }
        let mut files = Vec::with_capacity(m.files.len());
        let mut gone = None;
        for f in &m.files {
            match file_content(st, &u.caller, &m.public_id, f.idx).await {
                Ok((row, bytes)) => files.push((row.name, bytes)),
                Err(e) if e.0.code.status() < 500 => {
                    gone = Some(e.0.message);
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(why) = gone {
            left.push(format!("{} {}: {why}", renkei_screens::office::jst_unix(m.sent_at), m.public_id));
            continue;
        }
        for (name, bytes) in files {
            let name = if names.insert(name.clone()) { name } else { format!("{}_{name}", m.public_id) };
            names.insert(name.clone());
            zip.start_file(name, options).map_err(ApiError::internal)?;
            zip.write_all(&bytes).map_err(ApiError::internal)?;
        }
        total += size;
        taken.push(m);
    }
    if !left.is_empty() {
        zip.start_file("取得しなかったメッセージ.txt", options).map_err(ApiError::internal)?;
        let text = format!("次のメッセージはこのZIPファイルに入っていません（「未取得」のままです）。\r\n{}\r\n", left.join("\r\n"));
        zip.write_all(text.as_bytes()).map_err(ApiError::internal)?;
    }
    let body = zip.finish().map_err(ApiError::internal)?.into_inner();
    // The ZIP is made: now the messages are 取得済 (a failure here leaves them 未取得, to take again).
    for m in &taken {
        receipt(st, &u.caller, &m.public_id, false).await?;
    }
    let when = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9));
    let name = format!(
        "renkei_{}_{}{:02}{:02}_{:02}{:02}{:02}.zip",
        u.caller.office,
        when.year(),
        u8::from(when.month()),
        when.day(),
        when.hour(),
        when.minute(),
        when.second()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename*=UTF-8''{}", attachment_name(&name))),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
