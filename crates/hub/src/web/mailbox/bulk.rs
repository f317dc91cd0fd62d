//! 一括送信 in the browser: files or ZIP files dropped at once, grouped by the destination their
//! names give, checked per destination as the send will check them, then sent — one message per
//! destination, each under a key made of its files, so that sending the same files again stores
//! nothing twice. A destination not on the system is said so (post or FAX), never sent to.

use super::{MailboxUser, layout, office_name};
use crate::error::ApiError;
use crate::service::checks::{Completeness, Upload};
use crate::service::mailbox::{BulkPlan, Idempotency, Letter, RequestDigest, bulk_plan, check_files, deliver, parties, replay};
use crate::service::offices::reach;
use crate::state::AppState;
use crate::web::api::send::read_form;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse as _, Response};
use renkei_screens::office::{Layout, VerdictView};
use sha2::Digest as _;

/// One send's outcome.
#[derive(Debug, Clone)]
pub(crate) struct ResultLine {
    to: String,
    to_name: String,
    text: String,
    ok: bool,
    link: String,
}

#[derive(Template)]
#[template(path = "mailbox/bulk.html")]
pub(crate) struct BulkPage {
    l: Layout,
    error: Option<String>,
    results: Vec<ResultLine>,
}

/// One destination as checked.
#[derive(Debug, Clone)]
pub(crate) struct GroupV {
    to: String,
    to_name: String,
    /// Why it cannot be reached digitally, if so.
    offline: Option<String>,
    /// Every file may go.
    ok: bool,
    files: Vec<VerdictView>,
}

#[derive(Template)]
#[template(path = "mailbox/bulk_plan.html")]
pub(crate) struct PlanFragment {
    groups: Vec<GroupV>,
    unassigned: Vec<(String, String)>,
}

pub(crate) async fn bulk_page(State(st): State<AppState>, u: MailboxUser) -> Result<Response, PageError> {
    Ok(page(&BulkPage { l: layout(&st, &u, "一括送信", "bulk").await?, error: None, results: Vec::new() }))
}

fn kind_of(name: &str) -> Option<String> {
    renkei_spec::name::parse(name, renkei_spec::name::Profile::LENIENT).ok().map(|p| p.name.kind.prefix().to_owned())
}

/// A destination's files checked as one send (the door's checks, as [`deliver`] makes them).
async fn check_group(st: &AppState, u: &MailboxUser, to: &str, uploads: Vec<Upload>) -> Result<(GroupV, Vec<Upload>), ApiError> {
    let to_name = office_name(st, to).await.map_err(|e| e.0)?;
    let r = reach(st, to).await?;
    let names: Vec<String> = uploads.iter().map(|f| f.name.clone()).collect();
    if !r.digital() {
        let files = names.iter().map(|n| VerdictView::new(n, kind_of(n).as_deref(), Some(to), &[], &[])).collect();
        return Ok((GroupV { to: to.into(), to_name, offline: Some(r.sentence_ja()), ok: false, files }, uploads));
    }
    let (sender, recipient) = parties(st, &u.caller, Some(to)).await?;
    let (uploads, checked) = check_files(st, &sender, &recipient, uploads, Completeness::Whole).await?;
    let line = |d: &renkei_protocol::ErrorDetail| match &d.rule {
        Some(r) => format!("{} [{r}]", d.message),
        None => d.message.clone(),
    };
    let (ok, files) = match checked {
        Ok((_, warnings)) => (
            true,
            names
                .iter()
                .map(|n| {
                    let w: Vec<String> = warnings.iter().filter(|d| d.file.as_deref() == Some(n)).map(line).collect();
                    VerdictView::new(n, kind_of(n).as_deref(), Some(to), &[], &w)
                })
                .collect(),
        ),
        Err(e) => (
            false,
            names
                .iter()
                .map(|n| {
                    let mut errs: Vec<String> = e.0.details.iter().filter(|d| d.file.as_deref() == Some(n)).map(line).collect();
                    if errs.is_empty() {
                        errs.push(e.0.message.clone());
                    }
                    VerdictView::new(n, kind_of(n).as_deref(), Some(to), &errs, &[])
                })
                .collect(),
        ),
    };
    Ok((GroupV { to: to.into(), to_name, offline: None, ok, files }, uploads))
}

async fn plan_of(st: &AppState, mp: Multipart) -> Result<BulkPlan, ApiError> {
    let (form, _place) = read_form(st, mp, 0).await?;
    bulk_plan(form.uploads).await
}

/// The plan as files are chosen (htmx fragment).
pub(crate) async fn bulk_check(State(st): State<AppState>, u: MailboxUser, mp: Multipart) -> Result<Response, PageError> {
    let plan = match plan_of(&st, mp).await {
        Ok(p) => p,
        Err(e) if e.0.code.status() < 500 => {
            return Ok(
                axum::response::Html(format!("<p class=\"error\">{}</p>", renkei_screens::office::escape(&e.0.message))).into_response()
            );
        }
        Err(e) => return Err(e.into()),
    };
    let mut groups = Vec::with_capacity(plan.groups.len());
    for (to, files) in plan.groups {
        groups.push(check_group(&st, &u, &to, files).await?.0);
    }
    Ok(page(&PlanFragment { groups, unassigned: plan.unassigned }))
}

/// すべて送信: every destination whose files pass, one message each.
pub(crate) async fn bulk_send(State(st): State<AppState>, u: MailboxUser, mp: Multipart) -> Result<Response, PageError> {
    let l = layout(&st, &u, "一括送信", "bulk").await?;
    let plan = match plan_of(&st, mp).await {
        Ok(p) => p,
        Err(e) if e.0.code.status() < 500 => return Ok(page(&BulkPage { l, error: Some(e.0.message), results: Vec::new() })),
        Err(e) => return Err(e.into()),
    };
    if plan.groups.is_empty() {
        let error = Some("送るファイルを選んでください（標準仕様のファイル名のファイル、またはそのZIPファイル）".to_owned());
        return Ok(page(&BulkPage { l, error, results: Vec::new() }));
    }
    let mut results = Vec::new();
    for (to, files) in plan.groups {
        let (g, uploads) = check_group(&st, &u, &to, files).await?;
        let mut line = ResultLine { to: g.to.clone(), to_name: g.to_name.clone(), text: String::new(), ok: false, link: String::new() };
        if let Some(why) = g.offline {
            line.text = format!("送りません。{why}");
        } else if !g.ok {
            line.text = "エラーのあるファイルがあるため送りません（「ファイルを選ぶ」の後に表示される内容を確かめてください）".into();
        } else {
            // The key is the files themselves: the same files again are the same message.
            let mut h = sha2::Sha256::new();
            for f in &uploads {
                h.update(f.name.as_bytes());
                h.update([0]);
                h.update(&f.bytes);
            }
            let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            let key = format!("web-bulk:{to}:{digest}");
            let letter = Letter { to: Some(to.clone()), note: String::new(), contact: None, uploads };
            let idem = Idempotency { key: Some(key), digest: RequestDigest::send(&letter) };
            let r = match replay(&st, &u.caller, &idem).await? {
                Some(r) => Ok(r),
                None => deliver(&st, &u.caller, letter, idem, None).await,
            };
            match r {
                Ok(r) if r.replayed => {
                    line.ok = true;
                    line.text = "送信済みです（二重には送りません）".into();
                    line.link = format!("/mailbox/sent/{}", r.message.id);
                }
                Ok(r) => {
                    line.ok = true;
                    line.text = format!("{} ファイルを送信しました", r.message.files.len());
                    line.link = format!("/mailbox/sent/{}", r.message.id);
                }
                Err(e) if e.0.code.status() < 500 => line.text = e.0.message,
                Err(e) => return Err(e.into()),
            }
        }
        results.push(line);
    }
    for (n, why) in &plan.unassigned {
        results.push(ResultLine { to: String::new(), to_name: n.clone(), text: why.clone(), ok: false, link: String::new() });
    }
    Ok(page(&BulkPage { l, error: None, results }))
}
