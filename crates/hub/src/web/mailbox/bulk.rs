//! 一括送信 in the browser: files or ZIP files dropped at once, grouped by the destination their
//! names give, checked per destination as the send will check them, then sent — one message per
//! destination, each under a key made of its files, so that sending the same files again stores
//! nothing twice. A destination not on the system is said so, never sent to: its forms are
//! printed as one bundle with the invitation letter (郵送・FAX用に印刷), and the office records
//! that it sent the invitation ([`crate::service::invitations`]).

use super::{MailboxUser, layout, office_name};
use crate::error::ApiError;
use crate::service::checks::{Completeness, Upload};
use crate::service::invitations;
use crate::service::mailbox::{BulkPlan, Idempotency, Letter, RequestDigest, bulk_plan, check_files, deliver, parties, replay};
use crate::service::offices::{Reach, reach};
use crate::state::AppState;
use crate::web::api::send::read_form;
use crate::web::guard::Site;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use renkei_screens::office::{Layout, PartnerPage, VerdictView, jst_unix};
use serde::Deserialize;
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
    /// 「…に参加のご案内を送ったことを記録しました」, after 案内を送ったことを記録.
    recorded: Option<String>,
}

/// One destination as checked.
#[derive(Debug, Clone)]
pub(crate) struct GroupV {
    to: String,
    to_name: String,
    /// Why it cannot be reached digitally, if so.
    offline: Option<String>,
    /// When the office last recorded the invitation to it (offline partners only).
    invited: Option<String>,
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

#[derive(Debug, Deserialize, Default)]
pub(crate) struct PartnerQ {
    #[serde(default)]
    to: String,
    #[serde(default)]
    invited: String,
}

pub(crate) async fn bulk_page(State(st): State<AppState>, u: MailboxUser, Query(q): Query<PartnerQ>) -> Result<Response, PageError> {
    let recorded = if renkei_spec::ids::OfficeNumber::check_shape(&q.invited).is_ok() {
        let name = partner_name(&reach(&st, &q.invited).await?);
        Some(format!("{}（{}）に参加のご案内を送ったことを記録しました。", if name.is_empty() { "事業所" } else { &name }, q.invited))
    } else {
        None
    };
    Ok(page(&BulkPage { l: layout(&st, &u, "一括送信", "bulk").await?, error: None, results: Vec::new(), recorded }))
}

/// The name a partner not on the system goes by, as far as the hub knows (empty: unknown).
fn partner_name(r: &Reach) -> String {
    match r {
        Reach::Digital { name } | Reach::Lapsed { name } | Reach::NotParticipating { name } => name.clone(),
        Reach::Unknown => String::new(),
    }
}

/// 郵送・FAX用に印刷: the invitation letter and the forms of the dropped files for partner `to`,
/// one page set to print or save as PDF (the same bundle as the local client's).
pub(crate) async fn bulk_partner(
    State(st): State<AppState>,
    u: MailboxUser,
    Site(site): Site,
    Query(q): Query<PartnerQ>,
    mp: Multipart,
) -> Result<Response, PageError> {
    const TITLE: &str = "郵送・FAX用の帳票";
    let plan = match plan_of(&st, mp).await {
        Ok(p) => p,
        Err(e) if e.0.code.status() < 500 => {
            return Ok(super::notice(
                &st,
                &u,
                TITLE,
                "bulk",
                StatusCode::from_u16(e.0.code.status()).unwrap_or(StatusCode::BAD_REQUEST),
                e.0.message,
            )
            .await);
        }
        Err(e) => return Err(e.into()),
    };
    let to = q.to.trim();
    let Some((_, files)) = plan.groups.iter().find(|(t, _)| t == to) else {
        let text = "この送信先のファイルがありません。一括送信でファイルを選び直してください。".to_owned();
        return Ok(super::notice(&st, &u, TITLE, "bulk", StatusCode::NOT_FOUND, text).await);
    };
    let r = reach(&st, to).await?;
    if r.digital() {
        let text = format!("{}「すべて送信」でデータのまま送れます。", r.sentence_ja());
        return Ok(super::notice(&st, &u, TITLE, "bulk", StatusCode::CONFLICT, text).await);
    }
    let kinds: Vec<Option<String>> = files.iter().map(|f| kind_of(&f.name)).collect();
    let bundle = files.iter().zip(&kinds).map(|(f, k)| (f.name.as_str(), f.bytes.as_slice(), k.as_deref()));
    let mut p = PartnerPage::new(layout(&st, &u, TITLE, "bulk").await?, &site, to, &partner_name(&r), bundle);
    p.back = "/mailbox/bulk".into();
    p.record = Some("/mailbox/bulk/invited".into());
    p.invited = invitations::invited_at(&st, &u.caller, to).await?.map(jst_unix);
    Ok(page(&p))
}

#[derive(Debug, Deserialize)]
pub(crate) struct InvitedForm {
    #[serde(default)]
    to: String,
}

/// 案内を送ったことを記録: the office remembers it sent this partner the invitation (audited).
pub(crate) async fn bulk_invited(State(st): State<AppState>, u: MailboxUser, Form(f): Form<InvitedForm>) -> Result<Response, PageError> {
    match invitations::record(&st, &u.caller, &f.to).await {
        Ok(()) => Ok(Redirect::to(&format!("/mailbox/bulk?invited={}", f.to.trim())).into_response()),
        Err(e) if e.0.code.status() < 500 => {
            let status = StatusCode::from_u16(e.0.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
            Ok(super::notice(&st, &u, "一括送信", "bulk", status, e.0.message).await)
        }
        Err(e) => Err(e.into()),
    }
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
        let files = names.iter().map(|n| VerdictView::new(n, kind_of(n).as_deref(), Some(to), &[], &[]).on_paper()).collect();
        let invited = invitations::invited_at(st, &u.caller, to).await?.map(jst_unix);
        let to_name = match partner_name(&r) {
            n if n.is_empty() => to_name,
            n => n,
        };
        return Ok((GroupV { to: to.into(), to_name, offline: Some(r.sentence_ja()), invited, ok: false, files }, uploads));
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
    Ok((GroupV { to: to.into(), to_name, offline: None, invited: None, ok, files }, uploads))
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
        Err(e) if e.0.code.status() < 500 => {
            return Ok(page(&BulkPage { l, error: Some(e.0.message), results: Vec::new(), recorded: None }));
        }
        Err(e) => return Err(e.into()),
    };
    if plan.groups.is_empty() {
        let error = Some("送るファイルを選んでください（標準仕様のファイル名のファイル、またはそのZIPファイル）".to_owned());
        return Ok(page(&BulkPage { l, error, results: Vec::new(), recorded: None }));
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
    Ok(page(&BulkPage { l, error: None, results, recorded: None }))
}
