//! 受信一覧 / 送信一覧, message details, データ取得 and 一括取得, downloads.

use super::*;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQ {
    #[serde(default)]
    pub(super) partner: String,
    #[serde(default)]
    pub(super) month: String,
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) status: String,
}

pub(super) struct Row {
    pub(super) id: String,
    pub(super) when: String,
    pub(super) partner: String,
    pub(super) partner_name: String,
    pub(super) files: String,
    pub(super) note: String,
    pub(super) state: String,
    pub(super) state_class: &'static str,
    pub(super) new: bool,
}

#[derive(Template)]
#[template(path = "list.html")]
pub(super) struct ListT {
    pub(super) l: Layout,
    pub(super) sent: bool,
    pub(super) f: ListQ,
    pub(super) kinds: Vec<(String, String)>,
    pub(super) rows: Vec<Row>,
    pub(super) message: Option<String>,
}

pub(super) fn state_class(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::NotFetched => "not_fetched",
        DeliveryState::Fetched => "fetched",
        DeliveryState::Opened => "opened",
        DeliveryState::Expired => "expired",
    }
}

/// The sender's view: 開封 implies 取得, so both are shown.
pub(super) fn sent_state(m: &MessageInfo) -> String {
    match (m.state, m.opened_at.is_some()) {
        (DeliveryState::Opened, _) => "取得済・開封済".into(),
        // Read on screen, its files not yet taken into the care software.
        (DeliveryState::NotFetched, true) => "未取得（開封済）".into(),
        (s, _) => s.label_ja().into(),
    }
}

pub(super) fn kinds() -> Vec<(String, String)> {
    renkei_spec::name::FileKind::ALL.iter().map(|k| (k.prefix().to_owned(), format!("{}（{}）", k.name_ja(), k.prefix()))).collect()
}

pub(super) async fn list(ui: &Ui, p: &str, sent: bool, f: ListQ, message: Option<String>) -> Result<Response, Fail> {
    let o = logged_in(ui, p).await?;
    let (title, nav) = if sent { ("送信一覧", "sent") } else { ("受信一覧", "inbox") };
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let q = InboxQuery {
        sender: some(&f.partner),
        month: some(&f.month),
        kind: some(&f.kind),
        status: some(&f.status),
        ..InboxQuery::default()
    };
    let hub = o.client().await;
    let msgs = match if sent { hub.sent(&q).await } else { hub.inbox(&q).await } {
        Ok(pg) => pg.messages,
        Err(e) => return Err(hub_fail(ui, &o, e, title, nav).await),
    };
    let viewed = o.state.viewed(&msgs.iter().map(|m| m.id.clone()).collect::<Vec<_>>()).await.unwrap_or_default();
    let mut rows = Vec::new();
    for m in msgs {
        let partner = if sent { m.recipient.clone() } else { m.sender.clone() };
        let partner_name = partner_name(ui, &o, &partner).await;
        let mut files: Vec<String> = m.files.iter().map(|x| x.name.clone()).collect();
        if files.len() > 3 {
            let more = files.len() - 3;
            files.truncate(3);
            files.push(format!("ほか {more} 件"));
        }
        let state = if sent {
            sent_state(&m)
        } else {
            match m.state {
                DeliveryState::NotFetched => "未取得".into(),
                DeliveryState::Expired => "期限切れ".into(),
                _ => "取得済".into(),
            }
        };
        rows.push(Row {
            new: !sent && !viewed.contains(&m.id) && m.state == DeliveryState::NotFetched,
            id: m.id,
            when: jst(&m.sent_at),
            partner,
            partner_name,
            files: if files.is_empty() { "（ファイルなし）".into() } else { files.join("、") },
            note: m.note.chars().take(60).collect(),
            state,
            state_class: state_class(m.state),
        });
    }
    Ok(page(ListT { l: layout(ui, &o, title, nav).await, sent, f, kinds: kinds(), rows, message }))
}

pub(super) async fn inbox(State(ui): State<S>, Path(p): Path<String>, Query(f): Query<ListQ>) -> Result<Response, Fail> {
    list(&ui, &p, false, f, None).await
}

pub(super) async fn sent(State(ui): State<S>, Path(p): Path<String>, Query(f): Query<ListQ>) -> Result<Response, Fail> {
    list(&ui, &p, true, f, None).await
}

#[derive(Template)]
#[template(path = "message.html")]
pub(super) struct MessageT {
    pub(super) l: Layout,
    pub(super) sent: bool,
    pub(super) id: String,
    pub(super) partner: String,
    pub(super) partner_name: String,
    pub(super) when: String,
    pub(super) state: String,
    pub(super) note: String,
    pub(super) files: Vec<(u32, String, String, String, String)>,
    pub(super) import_dir: String,
    pub(super) flash: Option<String>,
    pub(super) error: Option<String>,
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
    let partner = if sent { m.recipient.clone() } else { m.sender.clone() };
    let kinds: HashMap<String, &'static str> =
        renkei_spec::name::FileKind::ALL.iter().map(|k| (k.prefix().to_owned(), k.name_ja())).collect();
    let files = m
        .files
        .iter()
        .map(|f| {
            let kind = f.kind.as_deref().map(|k| kinds.get(k).copied().unwrap_or(k).to_owned()).unwrap_or_else(|| "添付ファイル".into());
            (f.index, f.name.clone(), kind, f.service_month.clone().unwrap_or_default(), size(f.size))
        })
        .collect();
    let state = if sent {
        let mut s = sent_state(&m);
        if let Some(t) = &m.fetched_at {
            s.push_str(&format!("（取得 {}）", jst(t)));
        }
        s
    } else if m.fetched_at.is_some() {
        format!("取得済（{}）", jst(m.fetched_at.as_deref().unwrap_or_default()))
    } else {
        "未取得".into()
    };
    Ok(page(MessageT {
        l: layout(ui, &o, title, nav).await,
        sent,
        id: m.id.clone(),
        partner_name: partner_name(ui, &o, &partner).await,
        partner,
        when: jst(&m.sent_at),
        state,
        note: m.note.clone(),
        files,
        import_dir: o.profile.read().await.import_dir().display().to_string(),
        flash,
        error,
    }))
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

pub(super) async fn fetch_one(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let hub = o.client().await;
    let prof = o.profile.read().await.clone();
    let m = match hub.message(&id).await {
        Ok(m) => m,
        Err(e) => return Err(hub_fail(&ui, &o, e, "受信詳細", "inbox").await),
    };
    match crate::incoming::fetch_message(&hub, &m, &prof.import_dir(), prof.settings.split_by_kind).await {
        Ok(saved) => {
            o.resolve_fetched(&hub).await;
            let dirs: std::collections::BTreeSet<String> =
                saved.iter().filter_map(|s| s.path.parent().map(|d| d.display().to_string())).collect();
            let msg = format!("{} 件のファイルを取得しました（保存先: {}）", saved.len(), dirs.into_iter().collect::<Vec<_>>().join("、"));
            detail(&ui, &p, &id, false, Some(msg), None).await
        }
        Err(e) => detail(&ui, &p, &id, false, None, Some(e.to_string())).await,
    }
}

pub(super) async fn fetch_all(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let hub = o.client().await;
    let prof = o.profile.read().await.clone();
    let msg = match crate::incoming::fetch_all(&hub, &prof.import_dir(), prof.settings.split_by_kind, None).await {
        Ok(r) => {
            o.resolve_fetched(&hub).await;
            let mut m = format!("一括取得: {} 件のファイルを {} に保存しました", r.saved.len(), prof.import_dir().display());
            for (id, why) in &r.failed {
                m.push_str(&format!("／{id} は取得できませんでした: {why}"));
            }
            m
        }
        Err(e) => return Err(hub_fail(&ui, &o, e, "受信一覧", "inbox").await),
    };
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
    // RFC 5987 file name (Japanese names survive).
    let enc: String = f
        .name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"._-".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename*=UTF-8''{enc}")),
        ],
        d.bytes,
    )
        .into_response())
}
