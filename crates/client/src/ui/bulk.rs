//! 一括送信: a folder's files grouped by destination, sent with progress.

use super::*;

pub(super) struct GroupView {
    pub(super) to: String,
    pub(super) to_name: String,
    pub(super) sendable: usize,
    pub(super) held: usize,
    pub(super) units: String,
    pub(super) files: Vec<VerdictView>,
    /// Why files cannot reach this destination digitally (a partner not on the system), if so.
    pub(super) offline: Option<String>,
    /// When this partner was last sent the invitation.
    pub(super) invited: Option<String>,
}

/// Whether files reach `to` through the hub today; `None` when they do (or when the hub cannot
/// be asked: the send says why), else the sentence for the clerk.
async fn offline(o: &OfficeRt, to: &str) -> Option<String> {
    match o.client().await.directory(to).await {
        Ok(d) if d.registered && d.license_valid => None,
        Ok(d) if d.registered => Some(format!(
            "{} はライセンスの有効期限が切れているため、いまはデータで届きません。帳票を印刷して郵送・FAXできます。",
            d.name.unwrap_or_default()
        )),
        Ok(_) => {
            Some("この事業所はまだケアプランデータ連携に参加していません。帳票を印刷して郵送・FAXし、参加の案内をお送りください。".into())
        }
        Err(_) => None,
    }
}

#[derive(Deserialize, Default)]
pub(super) struct PartnerQ {
    #[serde(default)]
    pub(super) folder: String,
    #[serde(default)]
    pub(super) to: String,
}

/// The folder's plan, as 一括送信 reads it.
async fn folder_plan(o: &OfficeRt, folder: &str) -> outgoing::Plan {
    let prof = o.profile.read().await.clone();
    let dir = std::path::PathBuf::from(folder.trim());
    let (cands, unreadable) = outgoing::collect(std::slice::from_ref(&dir));
    let failing = outgoing::failing_numbers(&prof.settings.office, None, &cands);
    let registry = outgoing::registered(Some(&o.client().await), &prof.settings.office, failing).await;
    outgoing::plan(&prof.settings.office, None, cands, unreadable, &registry)
}

/// 郵送・FAX用に印刷: the invitation and the forms of the folder's files for partner `to`.
pub(super) async fn partner_print(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<PartnerQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let plan = folder_plan(&o, &q.folder).await;
    let g = plan.groups.iter().find(|g| g.to == q.to.trim()).ok_or(Fail::NotFound)?;
    let files = g
        .files
        .iter()
        .chain(&g.held)
        .map(|&i| (plan.files[i].name.as_str(), plan.files[i].bytes.as_slice(), plan.verdicts[i].kind.as_deref()));
    let hub = o.profile.read().await.settings.hub.clone();
    let name = partner_name(&ui, &o, &g.to).await;
    let mut page_ = renkei_screens::office::PartnerPage::new(layout(&ui, &o, "郵送・FAX用の帳票", "bulk").await, &hub, &g.to, &name, files);
    page_.back = format!("/o/{p}/bulk?folder={}", query_value(&q.folder));
    page_.invited = o.state.invitation(&g.to).await.ok().flatten().map(jst_unix);
    Ok(page(page_))
}

/// `s` as a URL query value.
fn query_value(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// 案内を送ったことを記録: remembers the invitation, back to 一括送信.
pub(super) async fn partner_invited(State(ui): State<S>, Path(p): Path<String>, Form(q): Form<PartnerQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let to = q.to.trim();
    if renkei_spec::ids::OfficeNumber::check_shape(to).is_err() {
        return Err(Fail::NotFound);
    }
    if let Err(e) = o.state.invited(to).await {
        return Err(Fail::Msg(Box::new(layout(&ui, &o, "一括送信", "bulk").await), format!("記録できません: {e}")));
    }
    Ok(Redirect::to(&format!("/o/{p}/bulk?folder={}", query_value(&q.folder))).into_response())
}

#[derive(Template)]
#[template(path = "bulk.html")]
pub(super) struct BulkT {
    pub(super) l: Layout,
    pub(super) folder: String,
    pub(super) groups: Vec<GroupView>,
    pub(super) others: Vec<VerdictView>,
    pub(super) unreadable: Vec<String>,
    pub(super) sendable: usize,
    pub(super) error: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct FolderQ {
    #[serde(default)]
    pub(super) folder: String,
}

pub(super) async fn bulk_page(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<FolderQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let prof = o.profile.read().await.clone();
    let folder = if q.folder.trim().is_empty() {
        prof.settings.export_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default()
    } else {
        q.folder.trim().to_owned()
    };
    let l = layout(&ui, &o, "一括送信", "bulk").await;
    let mut t = BulkT { l, folder: folder.clone(), groups: vec![], others: vec![], unreadable: vec![], sendable: 0, error: None };
    if folder.is_empty() {
        t.error = Some("送信するファイルのあるフォルダーを入れてください".into());
        return Ok(page(t));
    }
    let dir = std::path::PathBuf::from(&folder);
    if !dir.is_dir() {
        t.error = Some(format!("フォルダー「{folder}」が見つかりません"));
        return Ok(page(t));
    }
    let plan = folder_plan(&o, &folder).await;
    for g in &plan.groups {
        let offline = offline(&o, &g.to).await;
        let files: Vec<VerdictView> = g
            .files
            .iter()
            .chain(&g.held)
            .map(|&i| verdict_view(&plan.verdicts[i]))
            .map(|v| if offline.is_some() { v.on_paper() } else { v })
            .collect();
        if offline.is_none() {
            t.sendable += g.files.len();
        }
        let invited = o.state.invitation(&g.to).await.ok().flatten().map(jst_unix);
        t.groups.push(GroupView {
            offline,
            invited,
            to_name: partner_name(&ui, &o, &g.to).await,
            to: g.to.clone(),
            sendable: g.files.len(),
            held: g.held.len(),
            units: g.units.join("、"),
            files,
        });
    }
    t.others = plan.unassigned.iter().map(|&i| verdict_view(&plan.verdicts[i])).collect();
    t.unreadable = plan.unreadable.iter().map(|u| format!("{}: {}", u.source, u.reason)).collect();
    Ok(page(t))
}

#[derive(Template)]
#[template(path = "progress.html")]
pub(super) struct ProgressT {
    pub(super) profile: String,
    pub(super) p: BulkProgress,
}

pub(super) async fn bulk_send(State(ui): State<S>, Path(p): Path<String>, Form(q): Form<FolderQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let prof = o.profile.read().await.clone();
    let dir = std::path::PathBuf::from(q.folder.trim());
    let (cands, unreadable) = outgoing::collect(std::slice::from_ref(&dir));
    let failing = outgoing::failing_numbers(&prof.settings.office, None, &cands);
    let registry = outgoing::registered(Some(&o.client().await), &prof.settings.office, failing).await;
    let plan = outgoing::plan(&prof.settings.office, None, cands, unreadable, &registry);
    // Partners not on the system get no send (it would be refused): their forms are printed.
    let mut groups = Vec::new();
    for g in plan.groups.iter().filter(|g| !g.files.is_empty()) {
        if offline(&o, &g.to).await.is_none() {
            groups.push(g.clone());
        }
    }
    *o.bulk.lock().await = BulkProgress { total: groups.len(), ..BulkProgress::default() };
    let is_export = prof.settings.export_dir.as_ref().is_some_and(|e| e == &dir);
    let o2 = o.clone();
    tokio::spawn(async move {
        let hub = o2.client().await;
        for g in groups {
            let r = outgoing::send_one(&hub, &o2.state, &prof.settings.office, &g.to, "", outgoing::group_files(&plan, &g), false).await;
            let (text, ok) = match r {
                Ok(Outcome::Sent { .. }) => (format!("{} ファイルを送信しました", g.files.len()), true),
                Ok(Outcome::AlreadySent { .. }) => ("送信済みです（二重には送りません）".to_owned(), true),
                Ok(Outcome::Failed { reason, .. }) => (reason, false),
                Err(e) => (format!("送信記録を保存できません: {e}"), false),
            };
            if ok && is_export {
                let date = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
                let to = dir.join(crate::watch::SENT_DIR).join(format!("{}{:02}{:02}", date.year(), u8::from(date.month()), date.day()));
                let mut paths: Vec<_> = g.files.iter().filter_map(|&i| plan.files[i].path.clone()).collect();
                paths.dedup();
                for path in paths {
                    let _ = crate::watch::move_into(&path, &to);
                }
            }
            let mut b = o2.bulk.lock().await;
            b.done += 1;
            b.lines.push((g.to.clone(), text, ok));
        }
        // Sent from the UI: the watch folder's 「送信待ち」 note is answered (the watch loop notes
        // again if files are still waiting).
        let _ = o2.state.resolve("waiting").await;
        o2.bulk.lock().await.finished = true;
    });
    let p2 = o.bulk.lock().await.clone();
    Ok(page(ProgressT { profile: p, p: p2 }))
}

pub(super) async fn bulk_progress(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let b = o.bulk.lock().await.clone();
    Ok(page(ProgressT { profile: p, p: b }))
}
