//! 受信一覧 and 送信一覧, in the national client's columns.

use super::{Layout, jst};
use askama::Template;
use renkei_protocol::{Contact, DeliveryState, MessageInfo};
use serde::Deserialize;

/// The filters of a list, as the page's form sends them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListQ {
    /// 送信元 / 送信先 (事業所番号).
    #[serde(default)]
    pub partner: String,
    /// 対象年月 (YYYYMM).
    #[serde(default)]
    pub month: String,
    /// ファイル種別 (prefix).
    #[serde(default)]
    pub kind: String,
    /// 未取得 / 取得済.
    #[serde(default)]
    pub status: String,
}

impl ListQ {
    /// The API query these filters ask for.
    pub fn query(&self) -> renkei_protocol::InboxQuery {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        renkei_protocol::InboxQuery {
            sender: some(&self.partner),
            month: some(&self.month),
            kind: some(&self.kind),
            status: some(&self.status),
            ..renkei_protocol::InboxQuery::default()
        }
    }
}

/// One message of a list.
#[derive(Debug, Clone)]
pub struct Row {
    /// The message's id.
    pub id: String,
    /// 受信日時 / 送信日時.
    pub when: String,
    /// The other office's number.
    pub partner: String,
    /// The other office's name.
    pub partner_name: String,
    /// One cell per file (name, ファイル種別, CSVバージョン); none for a message without files.
    pub files: Vec<FileCell>,
    /// 「ほか N 件」 when more files than shown.
    pub more: usize,
    /// The contact's one line (今月利用なし 2025年7月分 …), if the message is one.
    pub contact: String,
    /// The note's start.
    pub note: String,
    /// データ取得 can be chosen for it.
    pub fetchable: bool,
    /// 状況.
    pub state: String,
    /// The state's class (row colour).
    pub state_class: &'static str,
    /// Not yet seen on this screen.
    pub new: bool,
}

/// A file as 受信一覧 shows it.
#[derive(Debug, Clone)]
pub struct FileCell {
    /// ファイル名.
    pub name: String,
    /// ファイル種別: 登録 / 削除 for the standard's CSV files, PDF等 for the rest.
    pub kind: &'static str,
    /// CSVバージョン (202407, 202208, …), empty for other files.
    pub version: String,
}

/// 受信一覧 / 送信一覧.
#[derive(Debug, Template)]
#[template(path = "list.html")]
pub struct ListPage {
    /// The layout.
    pub l: Layout,
    /// 送信一覧 rather than 受信一覧.
    pub sent: bool,
    /// The filters.
    pub f: ListQ,
    /// The file kinds to filter by: (prefix, label).
    pub kinds: Vec<(String, String)>,
    /// The messages.
    pub rows: Vec<Row>,
    /// What the last action did.
    pub message: Option<String>,
    /// The local client's import folder (データ取得 saves there); unused on the web.
    pub import_dir: String,
}

/// 登録 / 削除 / PDF等, as the national client names a file's kind.
pub fn file_kind_label(kind: Option<&str>) -> &'static str {
    match kind.and_then(renkei_spec::name::FileKind::from_prefix) {
        Some(k) if k.is_csv() && k.is_deletion() => "削除",
        Some(k) if k.is_csv() => "登録",
        _ => "PDF等",
    }
}

/// How many files a row names before 「ほか N 件」.
const FILES_SHOWN: usize = 3;

/// A state's class (row colour).
pub fn state_class(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::NotFetched => "not_fetched",
        DeliveryState::Fetched => "fetched",
        DeliveryState::Opened => "opened",
        DeliveryState::Expired => "expired",
    }
}

/// The sender's view: 開封 implies 取得, so both are shown.
pub fn sent_state(m: &MessageInfo) -> String {
    match (m.state, m.opened_at.is_some()) {
        (DeliveryState::Opened, _) => "取得済・開封済".into(),
        // Read on screen, its files not yet taken into the care software.
        (DeliveryState::NotFetched, true) => "未取得（開封済）".into(),
        (s, _) => s.label_ja().into(),
    }
}

/// Every file kind, for the filter: (prefix, 「名前（prefix）」).
pub fn kinds() -> Vec<(String, String)> {
    renkei_spec::name::FileKind::ALL.iter().map(|k| (k.prefix().to_owned(), format!("{}（{}）", k.name_ja(), k.prefix()))).collect()
}

/// One message as a row: `partner_name` is the other office's name (the sender's, or for an
/// agent's send 「代行業者 → 事業所」), `new` whether this screen has not shown it yet.
pub fn row(m: MessageInfo, sent: bool, partner_name: String, new: bool) -> Row {
    let partner = if sent { m.recipient.clone() } else { m.sender.clone() };
    let partner_name = match &m.agent {
        Some(a) => a.after(&partner_name),
        None => partner_name,
    };
    let files = m
        .files
        .iter()
        .take(FILES_SHOWN)
        .map(|x| FileCell {
            name: x.name.clone(),
            kind: file_kind_label(x.kind.as_deref()),
            version: x.csv_version.clone().unwrap_or_default(),
        })
        .collect();
    let state = if sent {
        sent_state(&m)
    } else {
        match m.state {
            DeliveryState::NotFetched => "未取得".into(),
            DeliveryState::Expired => "期限切れ".into(),
            _ => "取得済".into(),
        }
    };
    Row {
        new: new && !sent && m.state == DeliveryState::NotFetched,
        more: m.files.len().saturating_sub(FILES_SHOWN),
        when: jst(&m.sent_at),
        partner,
        partner_name,
        files,
        contact: m.contact.as_ref().map(Contact::summary_ja).unwrap_or_default(),
        note: m.note.chars().take(60).collect(),
        fetchable: !sent && m.state == DeliveryState::NotFetched,
        state,
        state_class: state_class(m.state),
        id: m.id,
    }
}
