//! 受信一覧 / 送信一覧, message details, データ取得 and 一括取得, downloads.

use super::*;

use renkei_screens::office::{FormPage, ListPage, ListQ, MessagePage, form_page, has_form, kinds, row};

pub(super) async fn list(ui: &Ui, p: &str, sent: bool, f: ListQ, message: Option<String>) -> Result<Response, Fail> {
    let o = logged_in(ui, p).await?;
    let (title, nav) = if sent { ("送信一覧", "sent") } else { ("受信一覧", "inbox") };
    let q = f.query();
    let hub = o.client().await;
    let msgs = match if sent { hub.sent(&q).await } else { hub.inbox(&q).await } {
        Ok(pg) => pg.messages,
        Err(e) => return Err(hub_fail(ui, &o, e, title, nav).await),
    };
    let viewed = o.state.viewed(&msgs.iter().map(|m| m.id.clone()).collect::<Vec<_>>()).await.unwrap_or_default();
    let mut rows = Vec::new();
    for m in msgs {
        let partner = if sent { &m.recipient } else { &m.sender };
        let name = partner_name(ui, &o, partner).await;
        let new = !viewed.contains(&m.id);
        rows.push(row(m, sent, name, new));
    }
    let import_dir = o.profile.read().await.import_dir().display().to_string();
    Ok(page(ListPage { l: layout(ui, &o, title, nav).await, sent, f, kinds: kinds(), rows, message, import_dir }))
}

pub(super) async fn inbox(State(ui): State<S>, Path(p): Path<String>, Query(f): Query<ListQ>) -> Result<Response, Fail> {
    list(&ui, &p, false, f, None).await
}

pub(super) async fn sent(State(ui): State<S>, Path(p): Path<String>, Query(f): Query<ListQ>) -> Result<Response, Fail> {
    list(&ui, &p, true, f, None).await
}

pub(super) async fn detail(ui: &Ui, p: &str, id: &str, sent: bool, flash: Option<String>, error: Option<String>) -> Result<Response, Fail> {
    let o = logged_in(ui, p).await?;
    let (title, nav) = if sent { ("送信詳細", "sent") } else { ("受信詳細", "inbox") };
    let hub = o.client().await;
    let m: MessageInfo = match hub.message(id).await {
        Ok(m) => m,
        Err(e) => return Err(hub_fail(ui, &o, e, title, nav).await),
    };
    if !sent {
        let _ = o.state.view(id).await;
        if m.opened_at.is_none() {
            let _ = hub.opened(id).await;
        }
    }
    let partner = if sent { &m.recipient } else { &m.sender };
    let name = partner_name(ui, &o, partner).await;
    let mut page_ = MessagePage::of(layout(ui, &o, title, nav).await, &m, sent, name);
    page_.import_dir = o.profile.read().await.import_dir().display().to_string();
    page_.flash = flash;
    page_.error = error;
    Ok(page(page_))
}

pub(super) async fn inbox_detail(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    detail(&ui, &p, &id, false, None, None).await
}

#[derive(Deserialize)]
pub(super) struct SentQ {
    #[serde(default)]
    pub(super) sent: Option<u8>,
}

/// 送信詳細; right after 新規作成 (`?sent=1`), with the confirmation 「送信しました」.
pub(super) async fn sent_detail(
    State(ui): State<S>,
    Path((p, id)): Path<(String, String)>,
    Query(q): Query<SentQ>,
) -> Result<Response, Fail> {
    let flash = q.sent.is_some().then(|| "送信しました。相手がデータ取得すると「取得済」になります".to_owned());
    detail(&ui, &p, &id, true, flash, None).await
}

/// The folder a データ取得 saves into: the one the clerk chose on the screen (remembered as the
/// office's import folder for next time), or the office's import folder.
#[derive(Debug, Default, Deserialize)]
pub(super) struct FetchForm {
    #[serde(default)]
    pub(super) dir: String,
}

/// The chosen folder, checked: an absolute path that exists or can be made. A new choice is
/// remembered (設定 import_dir).
async fn fetch_dir(o: &OfficeRt, dir: &str) -> Result<std::path::PathBuf, String> {
    let current = o.profile.read().await.import_dir();
    let dir = dir.trim();
    if dir.is_empty() || std::path::Path::new(dir) == current {
        return Ok(current);
    }
    let p = std::path::PathBuf::from(dir);
    if !p.is_absolute() {
        return Err(format!("保存先「{dir}」はフォルダーの場所を最初から（例: C:\\介護ソフト\\取込 や /home/…）入れてください"));
    }
    std::fs::create_dir_all(&p).map_err(|e| format!("保存先「{dir}」を作れません: {e}"))?;
    let mut prof = o.profile.write().await;
    prof.settings.import_dir = Some(p.clone());
    prof.save().map_err(|e| format!("保存先を設定に記録できません: {e}"))?;
    Ok(p)
}

fn saved_line(saved: &[crate::incoming::Saved], dir: &std::path::Path) -> String {
    let dirs: std::collections::BTreeSet<String> = saved.iter().filter_map(|s| s.path.parent().map(|d| d.display().to_string())).collect();
    if saved.is_empty() {
        format!("取得しました（ファイルはありません。保存先: {}）", dir.display())
    } else {
        format!("{} 件のファイルを取得しました（保存先: {}）", saved.len(), dirs.into_iter().collect::<Vec<_>>().join("、"))
    }
}

pub(super) async fn fetch_one(
    State(ui): State<S>,
    Path((p, id)): Path<(String, String)>,
    Form(form): Form<FetchForm>,
) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let dir = match fetch_dir(&o, &form.dir).await {
        Ok(d) => d,
        Err(e) => return detail(&ui, &p, &id, false, None, Some(e)).await,
    };
    let hub = o.client().await;
    let split = o.profile.read().await.settings.split_by_kind;
    let m = match hub.message(&id).await {
        Ok(m) => m,
        Err(e) => return Err(hub_fail(&ui, &o, e, "受信詳細", "inbox").await),
    };
    match crate::incoming::fetch_message(&hub, &m, &dir, split).await {
        Ok(saved) => {
            o.resolve_fetched(&hub).await;
            detail(&ui, &p, &id, false, Some(saved_line(&saved, &dir)), None).await
        }
        Err(e) => detail(&ui, &p, &id, false, None, Some(e.to_string())).await,
    }
}

pub(super) async fn fetch_all(State(ui): State<S>, Path(p): Path<String>, Form(form): Form<FetchForm>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let dir = match fetch_dir(&o, &form.dir).await {
        Ok(d) => d,
        Err(e) => return list(&ui, &p, false, ListQ::default(), Some(e)).await,
    };
    let hub = o.client().await;
    let split = o.profile.read().await.settings.split_by_kind;
    let msg = match crate::incoming::fetch_all(&hub, &dir, split, None).await {
        Ok(r) => {
            o.resolve_fetched(&hub).await;
            let mut m = format!("一括取得: {}", r.summary_ja(&dir));
            for (id, why) in &r.failed {
                m.push_str(&format!("／{id} は取得できませんでした: {why}"));
            }
            m
        }
        Err(e) => return Err(hub_fail(&ui, &o, e, "受信一覧", "inbox").await),
    };
    list(&ui, &p, false, ListQ::default(), Some(msg)).await
}

/// データ取得 of the rows ticked in 受信一覧 (`id` once per row, `dir` the folder).
pub(super) async fn fetch_selected(
    State(ui): State<S>,
    Path(p): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let ids: Vec<&str> = fields.iter().filter(|(k, _)| k == "id").map(|(_, v)| v.as_str()).take(200).collect();
    let dir_field = fields.iter().find(|(k, _)| k == "dir").map(|(_, v)| v.as_str()).unwrap_or("");
    if ids.is_empty() {
        return list(&ui, &p, false, ListQ::default(), Some("データ取得するメッセージに印を付けてください".into())).await;
    }
    let dir = match fetch_dir(&o, dir_field).await {
        Ok(d) => d,
        Err(e) => return list(&ui, &p, false, ListQ::default(), Some(e)).await,
    };
    let hub = o.client().await;
    let split = o.profile.read().await.settings.split_by_kind;
    let (mut saved, mut failed, mut done) = (0usize, Vec::new(), 0usize);
    for id in &ids {
        let r = match hub.message(id).await {
            Ok(m) => crate::incoming::fetch_message(&hub, &m, &dir, split).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match r {
            Ok(s) => {
                saved += s.len();
                done += 1;
            }
            Err(e) => failed.push(format!("{id}: {e}")),
        }
    }
    o.resolve_fetched(&hub).await;
    let mut msg = format!("{done} 件のメッセージを取得しました（ファイル {saved} 件、保存先: {}）", dir.display());
    for f in failed {
        msg.push_str(&format!("／取得できませんでした {f}"));
    }
    list(&ui, &p, false, ListQ::default(), Some(msg)).await
}

pub(super) async fn download(State(ui): State<S>, Path((p, id, idx)): Path<(String, String, u32)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let hub = o.client().await;
    let m = hub.message(&id).await.map_err(|_| Fail::NotFound)?;
    let f = m.files.iter().find(|f| f.index == idx).ok_or(Fail::NotFound)?;
    let d = match hub.download(&id, idx).await {
        Ok(d) => d,
        Err(e) => return Err(hub_fail(&ui, &o, e, "ダウンロード", "inbox").await),
    };
    let enc = renkei_screens::office::attachment_name(&f.name);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename*=UTF-8''{enc}")),
        ],
        d.bytes,
    )
        .into_response())
}

/// 帳票表示: a received or sent 第6表 as its monthly grid, the validator's findings marked on
/// the rows they concern; printable (A4 landscape).
pub(super) async fn form_view(State(ui): State<S>, Path((p, id, idx)): Path<(String, String, u32)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let hub = o.client().await;
    let m = hub.message(&id).await.map_err(|_| Fail::NotFound)?;
    let f = m.files.iter().find(|f| f.index == idx && has_form(f.kind.as_deref())).ok_or(Fail::NotFound)?;
    let office = o.profile.read().await.settings.office.clone();
    let nav = if m.recipient == office { "inbox" } else { "sent" };
    let d = match hub.download(&id, idx).await {
        Ok(d) => d,
        Err(e) => return Err(hub_fail(&ui, &o, e, "帳票表示", nav).await),
    };
    let page_: FormPage = form_page(layout(&ui, &o, "帳票表示", nav).await, &f.name, &d.bytes, format!("/o/{p}/{nav}/{id}"));
    Ok(page(page_))
}
