//! `POST /v1/messages`: a send (multipart), read within the limits and handed to the mailbox.

use super::Sending;
use crate::error::ApiError;
use crate::service::admission::Admitted;
use crate::service::checks::{self, ContactFields, Upload};
use crate::service::mailbox::{Idempotency, Letter, RequestDigest, deliver, replay};
use crate::state::AppState;
use crate::web::api::extract::ApiMultipart;
use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use renkei_protocol::*;

fn too_large(ja: String) -> ApiError {
    ApiError::new(ErrorCode::TooLarge, ja, "upload too large")
}

/// An attachment larger than this is spooled to disk as it arrives (see [`read_form`]); the
/// bytes read until then stay in memory as its head, which tells its type.
const SPOOL_AFTER_BYTES: usize = crate::blobs::INLINE_MAX_BYTES;

/// The parts of a send or draft form.
pub(crate) struct Form {
    pub(crate) to: Option<String>,
    pub(crate) note: Option<String>,
    pub(crate) contact: ContactFields,
    pub(crate) uploads: Vec<Upload>,
    /// The other text fields (the web mailbox's form names its own), at most [`OTHER_FIELDS`].
    pub(crate) other: Vec<(String, String)>,
}

/// How many other text fields a form may carry, each at most [`OTHER_FIELD_BYTES`].
const OTHER_FIELDS: usize = 16;
const OTHER_FIELD_BYTES: usize = 8 * 1024;

impl Form {
    /// What the form sends: its contact fields checked by the one rule.
    pub(crate) fn into_letter(self) -> Result<Letter, ApiError> {
        let contact = checks::contact(&self.contact)?;
        Ok(Letter { to: self.to, note: self.note.unwrap_or_default(), contact, uploads: self.uploads })
    }

    /// Another text field's value, if the form carried it.
    pub(crate) fn other(&self, name: &str) -> Option<&str> {
        self.other.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Reads a multipart form (`to`, `note`, `file`…), enforcing the upload limits while streaming;
/// then takes the request's place among those at work (back pressure,
/// [`crate::service::admission`]): the caller holds it until its answer is made.
pub(crate) async fn read_form(st: &AppState, mut form: Multipart, already: usize) -> Result<(Form, Admitted), ApiError> {
    let limits = &st.config.limits;
    let mut out = Form { to: None, note: None, contact: ContactFields::default(), uploads: Vec::new(), other: Vec::new() };
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
            Some("note") => out.note = Some(field.text().await.map_err(bad)?),
            Some("contact") => out.contact.kind = field.text().await.map_err(bad)?,
            Some("contact_month") => out.contact.month = field.text().await.map_err(bad)?,
            Some("contact_person") => out.contact.person = field.text().await.map_err(bad)?,
            Some("contact_units") => out.contact.units = field.text().await.map_err(bad)?,
            Some("file") => {
                let name = field.file_name().map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_owned()).unwrap_or_default();
                if name.is_empty() {
                    // A browser's file input with nothing chosen sends an empty, nameless part:
                    // no file. A nameless part with content is refused.
                    if field.chunk().await.map_err(bad)?.is_none_or(|c| c.is_empty()) && field.chunk().await.map_err(bad)?.is_none() {
                        continue;
                    }
                    return Err(ApiError::new(ErrorCode::FileNameInvalid, "ファイル名のないファイルがあります", "file without a name"));
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
                // A file the checks read whole (standard CSV, text) is held in memory; a large
                // attachment (PDF, image) goes to the blob store's temporary folder as it
                // arrives, hashed on the way, so that memory stays bounded however many uploads
                // run at once.
                let may_spool = !checks::read_whole(&name);
                let (mut bytes, mut spool, mut size) = (Vec::new(), None, 0usize);
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    size += chunk.len();
                    total += chunk.len();
                    if size > limits.max_file_bytes {
                        return Err(too_large(format!("{name} は大きすぎます（1ファイル{}MBまで）", limits.max_file_bytes / 1024 / 1024)));
                    }
                    if total > limits.max_message_bytes {
                        return Err(too_large(format!("1通の合計は{}MBまでです", limits.max_message_bytes / 1024 / 1024)));
                    }
                    match &mut spool {
                        Some(s) => crate::blobs::Spool::write(s, &chunk).await?,
                        None if may_spool && bytes.len() + chunk.len() > SPOOL_AFTER_BYTES => match st.blobs.spool().await? {
                            Some(mut s) => {
                                s.write(&bytes).await?;
                                s.write(&chunk).await?;
                                // The head stays: the first SPOOL_AFTER_BYTES tell the type.
                                let room = SPOOL_AFTER_BYTES - bytes.len().min(SPOOL_AFTER_BYTES);
                                bytes.extend_from_slice(&chunk[..room.min(chunk.len())]);
                                spool = Some(s);
                            }
                            None => bytes.extend_from_slice(&chunk),
                        },
                        None => bytes.extend_from_slice(&chunk),
                    }
                }
                let spooled = match spool {
                    Some(s) => Some(std::sync::Arc::new(s.finish().await?)),
                    None => None,
                };
                out.uploads.push(Upload { name, bytes, spooled });
            }
            Some(name) if out.other.len() < OTHER_FIELDS => {
                let name = name.to_owned();
                let mut value = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if value.len() + chunk.len() > OTHER_FIELD_BYTES {
                        return Err(too_large(format!("「{name}」が長すぎます")));
                    }
                    value.extend_from_slice(&chunk);
                }
                out.other.push((name, String::from_utf8_lossy(&value).into_owned()));
            }
            _ => {}
        }
    }
    Ok((out, st.admission.admit().await?))
}

pub(crate) fn idempotency_key(h: &HeaderMap) -> Option<String> {
    h.get(paths::IDEMPOTENCY_KEY).and_then(|v| v.to_str().ok()).map(str::to_owned).filter(|k| !k.is_empty() && k.len() <= 200)
}

#[utoipa::path(post, path = "/v1/messages", tag = "messages", params(("idempotency-key" = Option<String>, Header, description = "再送しても1通になるキー / makes retries create one message")), request_body(content = SendForm, content_type = "multipart/form-data"), responses((status = 201, description = "送信・作成しました / created", body = SendResponse), (status = 200, description = "同じキーの再送 / replay of an earlier send", body = SendResponse), (status = 413, description = "大きすぎます / too large", body = ErrorBody), (status = 422, description = "入口のチェックで拒否 / refused at the door", body = ErrorBody), (status = 503, description = "混雑・保存領域が一杯・データベースに接続できない（Retry-After 秒後に再試行） / busy, storage full or unavailable, retry after Retry-After", body = ErrorBody), (status = 401, description = "証明書またはログインが必要 / certificate or session required", body = ErrorBody), (status = 403, description = "権限なし・仮パスワード / forbidden or temporary password", body = ErrorBody)))]
pub(crate) async fn send(
    State(st): State<AppState>,
    Sending(c): Sending,
    h: HeaderMap,
    ApiMultipart(form): ApiMultipart,
) -> Result<Response, ApiError> {
    let (form, _place) = read_form(&st, form, 0).await?;
    let letter = form.into_letter()?;
    let idem = Idempotency { key: idempotency_key(&h), digest: RequestDigest::send(&letter) };
    if let Some(r) = replay(&st, &c, &idem).await? {
        return Ok(sent(r));
    }
    let r = deliver(&st, &c, letter, idem, None).await;
    if let Err(e) = &r {
        metrics::counter!("renkei_sends_refused_total", "code" => format!("{:?}", e.0.code)).increment(1);
    }
    r.map(sent)
}

/// A send's answer: 201 for a new message, 200 for the replay of an earlier one.
pub(crate) fn sent(r: SendResponse) -> Response {
    let status = if r.replayed { StatusCode::OK } else { StatusCode::CREATED };
    (status, Json(r)).into_response()
}

/// The multipart form of a send or draft (documentation only).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SendForm {
    /// 宛先の事業所番号 (recipient office number: 10 digits, the last a check digit).
    #[schema(pattern = "^[0-9]{10}$")]
    to: String,
    /// メッセージ (note, up to 2,000 characters).
    #[schema(max_length = 2000)]
    note: Option<String>,
    /// ファイル（複数可）: standard CSV/JPEG named per the standard, PDF, JPEG, PNG, GIF, text.
    /// None at all for a contact (連絡) or a message without files.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    file: Option<Vec<Vec<u8>>>,
    /// 連絡の種類 (contact kind): `no_use` 今月利用なし, `over_limit` 区分支給限度額超過の連絡,
    /// `plan_change` 計画変更の連絡. Absent or empty for an ordinary message.
    #[schema(pattern = "^(|no_use|over_limit|plan_change)$")]
    contact: Option<String>,
    /// 対象年月 YYYYMM (required for `no_use` and `over_limit`).
    #[schema(pattern = "^((19|20)[0-9]{2}(0[1-9]|1[0-2]))?$")]
    contact_month: Option<String>,
    /// 利用者: 被保険者番号 or name (required for a contact; 1–40 characters).
    #[schema(max_length = 40)]
    contact_person: Option<String>,
    /// 超過単位数 (required for `over_limit`, 1–9999999).
    #[schema(pattern = "^([1-9][0-9]{0,6})?$")]
    contact_units: Option<String>,
}
