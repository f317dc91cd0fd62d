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
    /// One cell per file (name, ファイル種別, CSVバージョン); none for a message without files.
    pub(super) files: Vec<FileCell>,
    /// 「ほか N 件」 when more files than shown.
    pub(super) more: usize,
    /// The contact's one line (今月利用なし 2025年7月分 …), if the message is one.
    pub(super) contact: String,
    pub(super) note: String,
    pub(super) fetchable: bool,
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
    pub(super) import_dir: String,
}

/// A file as 受信一覧 shows it, in the national client's columns.
pub(super) struct FileCell {
    pub(super) name: String,
    /// ファイル種別: 登録 / 削除 for the standard's CSV files, PDF等 for the rest.
    pub(super) kind: &'static str,
    /// CSVバージョン (202407, 202208, …), empty for other files.
    pub(super) version: String,
}

/// 登録 / 削除 / PDF等, as the national client names a file's kind.
pub(super) fn file_kind_label(kind: Option<&str>) -> &'static str {
    match kind.and_then(renkei_spec::name::FileKind::from_prefix) {
        Some(k) if k.is_csv() && k.is_deletion() => "削除",
        Some(k) if k.is_csv() => "登録",
        _ => "PDF等",
    }
}

/// How many files a row names before 「ほか N 件」.
const FILES_SHOWN: usize = 3;

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
        let mut partner_name = partner_name(ui, &o, &partner).await;
        if let Some(a) = &m.agent {
            partner_name = a.after(&partner_name);
        }
        let files: Vec<FileCell> = m
            .files
            .iter()
            .take(FILES_SHOWN)
            .map(|x| FileCell {
                name: x.name.clone(),
                kind: file_kind_label(x.kind.as_deref()),
                version: x.csv_version.clone().unwrap_or_default(),
            })
            .collect();
        let more = m.files.len().saturating_sub(FILES_SHOWN);
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
            files,
            more,
            contact: m.contact.as_ref().map(Contact::summary_ja).unwrap_or_default(),
            note: m.note.chars().take(60).collect(),
            fetchable: !sent && m.state == DeliveryState::NotFetched,
            state,
            state_class: state_class(m.state),
        });
    }
    let import_dir = o.profile.read().await.import_dir().display().to_string();
    Ok(page(ListT { l: layout(ui, &o, title, nav).await, sent, f, kinds: kinds(), rows, message, import_dir }))
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
    /// The 代行業者 that sent it for the office: 「名前（番号）」.
    pub(super) agent: Option<String>,
    pub(super) when: String,
    pub(super) state: String,
    pub(super) note: String,
    /// The contact's fields as (label, value) rows, if the message is one.
    pub(super) contact: Vec<(&'static str, String)>,
    /// (index, name, kind, month, size, shown as a form).
    pub(super) files: Vec<(u32, String, String, String, String, bool)>,
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
            let kind = match (&f.csv_version, f.kind.as_deref()) {
                (Some(v), Some(_)) => format!("{kind}（{}・CSVバージョン {v}）", file_kind_label(f.kind.as_deref())),
                _ => kind,
            };
            (f.index, f.name.clone(), kind, f.service_month.clone().unwrap_or_default(), size(f.size), has_form(f.kind.as_deref()))
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
        agent: m.agent.as_ref().map(|a| format!("{}（{}）", a.name, a.number)),
        partner,
        when: jst(&m.sent_at),
        state,
        note: m.note.clone(),
        contact: m.contact.as_ref().map(contact_rows).unwrap_or_default(),
        files,
        import_dir: o.profile.read().await.import_dir().display().to_string(),
        flash,
        error,
    }))
}

/// A contact's fields, labelled as the national manual names them.
pub(super) fn contact_rows(c: &Contact) -> Vec<(&'static str, String)> {
    let mut rows = vec![("連絡の種類", c.kind.label_ja().to_owned())];
    if let Some(m) = &c.month {
        rows.push(("対象年月", format!("{}年{}月", &m[..4], m[4..].trim_start_matches('0'))));
    }
    rows.push(("利用者", c.person.clone()));
    if let Some(u) = c.units {
        rows.push(("超過単位数", format!("{} 単位", renkei_protocol::contacts::group_digits(u.into()))));
    }
    rows
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

/// One sheet of a form, as the page shows it.
pub(super) struct SheetV {
    pub(super) title: &'static str,
    pub(super) month: String,
    pub(super) insurer: String,
    pub(super) insured: String,
    pub(super) created_on: String,
    pub(super) plan_office: String,
    pub(super) planner: String,
    pub(super) days: Vec<u8>,
    pub(super) rows: Vec<RowV>,
}

/// One service line of a sheet.
pub(super) struct RowV {
    pub(super) band: String,
    pub(super) code: String,
    pub(super) provider: String,
    pub(super) cells: Vec<String>,
    pub(super) total: i64,
    /// The validator found something on one of its file lines.
    pub(super) finding: bool,
}

#[derive(Template)]
#[template(path = "form.html")]
pub(super) struct FormT {
    pub(super) l: Layout,
    pub(super) file: String,
    pub(super) kind: String,
    pub(super) back: String,
    pub(super) findings: Vec<String>,
    pub(super) sheets: Vec<SheetV>,
}

/// The prefixes of the files shown as a form (docs/forms.md).
pub(super) fn has_form(kind: Option<&str>) -> bool {
    matches!(kind, Some("UPPLAN" | "UPJSK"))
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
    let report = renkei_spec::validate::check_file(&f.name, &d.bytes);
    let sheets = match &report.records {
        Some(renkei_spec::validate::Records::Plan(r)) => renkei_spec::form::slip_sheets(r, false),
        Some(renkei_spec::validate::Records::Jsk(r)) => renkei_spec::form::slip_sheets(r, true),
        _ => Vec::new(),
    };
    let flagged: std::collections::HashSet<u32> = report.diagnostics.iter().filter_map(|x| x.line).collect();
    let findings = report
        .diagnostics
        .iter()
        .filter(|x| x.severity != renkei_spec::diag::Severity::Info)
        .map(|x| match x.line {
            Some(l) => format!("{l}行目: {}", x.message_in(renkei_spec::diag::Lang::Ja)),
            None => x.message_in(renkei_spec::diag::Lang::Ja).to_owned(),
        })
        .collect();
    let sheets = sheets
        .into_iter()
        .map(|s| SheetV {
            title: if s.actual { "サービス提供票（実績）" } else { "サービス利用票（予定）" },
            month: format!("{}年{}月", s.month.year, s.month.month),
            days: (1..=s.month.days()).collect(),
            rows: s
                .rows
                .iter()
                .map(|r| RowV {
                    band: if r.start.is_empty() { "—".into() } else { format!("{}〜{}", r.start, r.end) },
                    code: r.service_code.clone(),
                    provider: if r.provider_name.is_empty() {
                        r.provider.clone()
                    } else {
                        format!("{}（{}）", r.provider_name, r.provider)
                    },
                    cells: r.days.iter().map(|n| if *n == 0 { String::new() } else { n.to_string() }).collect(),
                    total: r.total,
                    finding: r.lines.iter().any(|l| flagged.contains(l)),
                })
                .collect(),
            insurer: s.insurer,
            insured: s.insured,
            created_on: s.created_on,
            plan_office: s.plan_office.unwrap_or_default(),
            planner: s.planner.unwrap_or_default(),
        })
        .collect();
    Ok(page(FormT {
        l: layout(&ui, &o, "帳票表示", nav).await,
        file: f.name.clone(),
        kind: "第6表".into(),
        back: format!("/o/{p}/{nav}/{id}"),
        findings,
        sheets,
    }))
}
