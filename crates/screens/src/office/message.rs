//! 受信詳細 and 送信詳細.

use super::lists::{file_kind_label, sent_state};
use super::sheets::has_form;
use super::{Layout, jst, size};
use askama::Template;
use renkei_protocol::{Contact, MessageInfo};

/// 受信詳細 / 送信詳細.
#[derive(Debug, Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    /// The layout.
    pub l: Layout,
    /// 送信詳細 rather than 受信詳細.
    pub sent: bool,
    /// The message's id.
    pub id: String,
    /// The other office's number.
    pub partner: String,
    /// The other office's name.
    pub partner_name: String,
    /// The 代行業者 that sent it for the office: 「名前（番号）」.
    pub agent: Option<String>,
    /// 受信日時 / 送信日時.
    pub when: String,
    /// 状況.
    pub state: String,
    /// The note.
    pub note: String,
    /// The contact's fields as (label, value) rows, if the message is one.
    pub contact: Vec<(&'static str, String)>,
    /// (index, name, kind, month, size, shown as a form).
    pub files: Vec<(u32, String, String, String, String, bool)>,
    /// The local client's import folder (データ取得 saves there); unused on the web.
    pub import_dir: String,
    /// What the last action did.
    pub flash: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
}

impl MessagePage {
    /// The page of message `m`, whose other office is called `partner_name`.
    pub fn of(l: Layout, m: &MessageInfo, sent: bool, partner_name: String) -> MessagePage {
        let partner = if sent { m.recipient.clone() } else { m.sender.clone() };
        let files = m
            .files
            .iter()
            .map(|f| {
                let kind = f
                    .kind
                    .as_deref()
                    .map(|k| renkei_spec::name::FileKind::from_prefix(k).map_or(k, |x| x.name_ja()).to_owned())
                    .unwrap_or_else(|| "添付ファイル".into());
                let kind = match (&f.csv_version, f.kind.as_deref()) {
                    (Some(v), Some(_)) => format!("{kind}（{}・CSVバージョン {v}）", file_kind_label(f.kind.as_deref())),
                    _ => kind,
                };
                (f.index, f.name.clone(), kind, f.service_month.clone().unwrap_or_default(), size(f.size), has_form(f.kind.as_deref()))
            })
            .collect();
        let state = if sent {
            let mut s = sent_state(m);
            if let Some(t) = &m.fetched_at {
                s.push_str(&format!("（取得 {}）", jst(t)));
            }
            s
        } else if let Some(t) = &m.fetched_at {
            format!("取得済（{}）", jst(t))
        } else {
            "未取得".into()
        };
        MessagePage {
            l,
            sent,
            id: m.id.clone(),
            partner,
            partner_name,
            agent: m.agent.as_ref().map(|a| format!("{}（{}）", a.name, a.number)),
            when: jst(&m.sent_at),
            state,
            note: m.note.clone(),
            contact: m.contact.as_ref().map(contact_rows).unwrap_or_default(),
            files,
            import_dir: String::new(),
            flash: None,
            error: None,
        }
    }
}

/// A contact's fields, labelled as the national manual names them.
pub fn contact_rows(c: &Contact) -> Vec<(&'static str, String)> {
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
