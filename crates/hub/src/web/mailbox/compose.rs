//! 新規作成 in the browser: the form, its check as files are dropped, the send (the API's one
//! path: limits while reading, the door's checks, licence, idempotency by a key the form
//! carries so that a double click sends once) and the destination's lookup.

use super::{MailboxUser, layout};
use crate::error::ApiError;
use crate::service::checks::{self, Completeness};
use crate::service::drafts;
use crate::service::mailbox::{Idempotency, RequestDigest, check_files, deliver, parties, replay};
use crate::state::AppState;
use crate::web::api::send::{Form as SendForm, read_form};
use crate::web::page::{PageError, page};
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use renkei_screens::office::{ComposePage, VerdictView, VerdictsPage, escape, lookup_html, words_of};
use serde::Deserialize;

pub(crate) async fn compose_page(State(st): State<AppState>, u: MailboxUser) -> Result<Response, PageError> {
    let mut p = ComposePage::new(layout(&st, &u, "新規作成", "compose").await?);
    p.idem = crate::auth::token();
    Ok(page(&p))
}

/// The form's words as the API's fields: 連絡の種類 and its items, or for 通常の送信 the 利用者
/// as the note's first line (the screens' one rule, [`words_of`]).
fn words(form: &mut SendForm) -> Result<(), String> {
    let field = |n: &str| form.other(n).unwrap_or_default().trim().to_owned();
    let (purpose, month, subject, units) = (field("purpose"), field("month"), field("subject"), field("units"));
    let note = form.note.clone().unwrap_or_default();
    if purpose.is_empty() || purpose == "free" {
        let (note, _) = words_of("free", "", &subject, "", &note)?;
        form.note = Some(note);
        form.contact = checks::ContactFields::default();
    } else {
        form.contact = checks::ContactFields { kind: purpose, month, person: subject, units };
    }
    Ok(())
}

/// What the clerk typed, to show again when the form is refused.
struct Typed {
    action: String,
    draft: String,
    version: i64,
    to: String,
    purpose: String,
    month: String,
    subject: String,
    units: String,
    note: String,
    idem: String,
}

fn typed(form: &SendForm) -> Typed {
    let field = |n: &str| form.other(n).unwrap_or_default().to_owned();
    Typed {
        action: field("action"),
        draft: field("draft").trim().to_owned(),
        version: field("version").trim().parse().unwrap_or(0),
        to: form.to.clone().unwrap_or_default(),
        purpose: field("purpose"),
        month: field("month"),
        subject: field("subject"),
        units: field("units"),
        note: form.note.clone().unwrap_or_default(),
        idem: field("idem"),
    }
}

/// The form again, with what was typed and why it was not sent (files must be chosen again:
/// a browser cannot be handed them back).
async fn refused(st: &AppState, u: &MailboxUser, t: Typed, had_files: bool, error: String) -> Result<Response, PageError> {
    let mut p = ComposePage::new(layout(st, u, "新規作成", "compose").await?);
    p.to = t.to;
    p.purpose = if t.purpose.is_empty() { "free".into() } else { t.purpose };
    p.month = t.month;
    p.subject = t.subject;
    p.units = t.units;
    p.note = t.note;
    p.idem = t.idem;
    p.draft = t.draft;
    p.version = t.version;
    let again = if had_files { "（ファイルはもう一度選んでください）" } else { "" };
    p.error = Some(format!("{error}{again}"));
    Ok(page(&p))
}

/// 送信: the message, through the API's path; to 送信詳細 once stored.
pub(crate) async fn compose_post(State(st): State<AppState>, u: MailboxUser, mp: Multipart) -> Result<Response, PageError> {
    let (mut form, _place) = read_form(&st, mp, 0).await?;
    let (t, had_files) = (typed(&form), !form.uploads.is_empty());
    if let Err(e) = words(&mut form) {
        return refused(&st, &u, t, had_files, e).await;
    }
    // The form's own key: a double click, or a resend after a lost answer, stores one message.
    let key = Some(t.idem.trim()).filter(|k| !k.is_empty() && k.len() <= 200).map(|k| format!("web:{k}"));
    let letter = match form.into_letter() {
        Ok(l) => l,
        Err(e) => return refused(&st, &u, t, had_files, e.0.message).await,
    };
    let (action, draft) = (t.action.clone(), t.draft.clone());
    // 一時保存 / 更新: the draft (shared with the office's other users and terminals).
    if action == "draft" || !draft.is_empty() {
        let saved = save_draft(&st, &u, &draft, t.version, letter).await;
        let id = match saved {
            Ok(id) => id,
            Err(e) if e.0.code.status() < 500 => return refused(&st, &u, t, had_files, e.0.message).await,
            Err(e) => return Err(e.into()),
        };
        if action == "draft" {
            return Ok(Redirect::to("/mailbox/drafts?saved=1").into_response());
        }
        // 送信 from 下書きの編集: the draft as just saved.
        return send_draft(&st, &u, &id).await;
    }
    let idem = Idempotency { key, digest: RequestDigest::send(&letter) };
    let r = match replay(&st, &u.caller, &idem).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => deliver(&st, &u.caller, letter, idem, None).await,
        Err(e) => Err(e),
    };
    match r {
        Ok(r) => Ok(Redirect::to(&format!("/mailbox/sent/{}?sent=1", r.message.id)).into_response()),
        Err(e) if e.0.code.status() < 500 => {
            let mut text = e.0.message.clone();
            for d in &e.0.details {
                text.push_str(&format!("／{}{}", d.file.as_deref().map(|f| format!("{f}: ")).unwrap_or_default(), d.message));
            }
            refused(&st, &u, t, had_files, text).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The verdicts of the files just chosen (htmx fragment): each file checked alone by the door's
/// checks against the destination typed, as the send will check it.
pub(crate) async fn compose_check(State(st): State<AppState>, u: MailboxUser, mp: Multipart) -> Result<Response, PageError> {
    let (form, _place) = match read_form(&st, mp, 0).await {
        Ok(f) => f,
        Err(e) => return Ok(Html(format!("<p class=\"error\">{}</p>", escape(&e.0.message))).into_response()),
    };
    let to = form.to.clone().unwrap_or_default();
    let (sender, recipient) = match parties(&st, &u.caller, Some(&to)).await {
        Ok(p) => p,
        Err(e) if e.0.code.status() < 500 => {
            let files: Vec<VerdictView> = form
                .uploads
                .iter()
                .map(|f| {
                    let why = if to.trim().is_empty() {
                        "送信先の事業所番号を入れると検査します".to_owned()
                    } else {
                        e.0.message.clone()
                    };
                    VerdictView::new(&f.name, None, None, &[why], &[])
                })
                .collect();
            return Ok(page(&VerdictsPage { files }));
        }
        Err(e) => return Err(e.into()),
    };
    let mut files = Vec::with_capacity(form.uploads.len());
    for f in form.uploads {
        let name = f.name.clone();
        let (_, r) = check_files(&st, &sender, &recipient, vec![f], Completeness::Partial).await?;
        files.push(match r {
            Ok((classes, warnings)) => {
                let kind = classes.first().and_then(|c| c.kind.clone());
                let warnings: Vec<String> = warnings.iter().map(detail_line).collect();
                VerdictView::new(&name, kind.as_deref(), Some(&recipient.number), &[], &warnings)
            }
            Err(e) => {
                let mut errors: Vec<String> = e.0.details.iter().map(detail_line).collect();
                if errors.is_empty() {
                    errors.push(e.0.message.clone());
                }
                VerdictView::new(&name, None, Some(&recipient.number), &errors, &[])
            }
        });
    }
    Ok(page(&VerdictsPage { files }))
}

/// A finding as the validator writes it: 「… [rule]」.
fn detail_line(d: &renkei_protocol::ErrorDetail) -> String {
    let item = d.item.as_deref().map(|i| format!("{i}: ")).unwrap_or_default();
    match &d.rule {
        Some(r) => format!("{item}{} [{r}]", d.message),
        None => format!("{item}{}", d.message),
    }
}

#[derive(Deserialize)]
pub(crate) struct LookupQ {
    #[serde(default)]
    to: String,
}

/// The destination as it is typed (htmx fragment): the directory's answer.
pub(crate) async fn lookup(State(st): State<AppState>, _u: MailboxUser, Query(q): Query<LookupQ>) -> Result<Response, PageError> {
    let html = lookup_html(&q.to, |n| {
        let st = st.clone();
        async move { crate::service::offices::directory(&st, &n).await.map_err(|e| e.0.message) }
    })
    .await;
    Ok(Html(html).into_response())
}

/// Saves the form as a draft: a new one, or draft `id` changed (its words, and the files chosen
/// now added to it). Returns the draft's id.
async fn save_draft(
    st: &AppState,
    u: &MailboxUser,
    id: &str,
    version: i64,
    letter: crate::service::mailbox::Letter,
) -> Result<String, ApiError> {
    let c = &u.caller;
    if id.is_empty() {
        return Ok(drafts::create(st, c, letter).await?.public_id);
    }
    let crate::service::mailbox::Letter { to, note, contact, uploads } = letter;
    drafts::update(st, c, id, version, to.as_deref(), Some(&note), Some(contact.as_ref())).await?;
    if !uploads.is_empty() {
        drafts::add_files(st, c, id, uploads).await?;
    }
    Ok(id.to_owned())
}

/// Sends draft `id` (its own key: sending it twice stores one message), to 送信詳細.
async fn send_draft(st: &AppState, u: &MailboxUser, id: &str) -> Result<Response, PageError> {
    let idem = Idempotency { key: Some(format!("web:draft-{id}")), digest: RequestDigest::draft_send(id) };
    let r = match replay(st, &u.caller, &idem).await? {
        Some(r) => r,
        None => match drafts::send(st, &u.caller, id, idem).await {
            Ok(r) => r,
            // A draft that is not there (another office's, or sent meanwhile) is not found; any
            // other refusal is said on 下書き一覧.
            Err(e) if e.0.code.status() < 500 && e.0.code.status() != 404 => {
                return super::drafts::list(st, u, Some(format!("送信できませんでした: {}", e.0.message))).await;
            }
            Err(e) => return Err(e.into()),
        },
    };
    Ok(Redirect::to(&format!("/mailbox/sent/{}?sent=1", r.message.id)).into_response())
}

/// 下書き一覧 → 送信.
pub(crate) async fn draft_send(State(st): State<AppState>, u: MailboxUser, Path(id): Path<String>) -> Result<Response, PageError> {
    send_draft(&st, &u, &id).await
}
