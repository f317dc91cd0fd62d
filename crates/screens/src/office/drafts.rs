//! 下書き一覧.

use super::{Layout, jst};
use askama::Template;
use renkei_protocol::DraftInfo;

/// One draft of the list.
#[derive(Debug, Clone)]
pub struct DraftRowV {
    /// The draft's id.
    pub id: String,
    /// 更新日時.
    pub when: String,
    /// 送信先 (「名前（番号）」 or 「（未入力）」).
    pub to: String,
    /// ファイル.
    pub files: String,
    /// メッセージ (or the contact's line).
    pub note: String,
    /// 更新者.
    pub by: String,
}

/// 下書き一覧.
#[derive(Debug, Template)]
#[template(path = "drafts.html")]
pub struct DraftsPage {
    /// The layout.
    pub l: Layout,
    /// The drafts.
    pub rows: Vec<DraftRowV>,
    /// What the last action did.
    pub flash: Option<String>,
}

/// A draft as a row; `to_name` is the destination's name (empty when none is typed).
pub fn draft_row(d: &DraftInfo, to_name: &str) -> DraftRowV {
    DraftRowV {
        id: d.id.clone(),
        when: jst(&d.updated_at),
        to: if d.to.is_empty() { "（未入力）".to_owned() } else { format!("{to_name}（{}）", d.to) },
        files: if d.files.is_empty() {
            "メッセージのみ".into()
        } else {
            d.files.iter().map(|f| f.name.clone()).collect::<Vec<_>>().join("、")
        },
        note: match &d.contact {
            Some(c) if d.note.trim().is_empty() => c.summary_ja(),
            Some(c) => format!("{}／{}", c.summary_ja(), d.note.chars().take(40).collect::<String>()),
            None => d.note.chars().take(60).collect(),
        },
        by: d.updated_by.clone(),
    }
}

/// 下書き一覧 → 開く: the 新規作成 form filled from draft `d` (its files listed, removable).
pub fn draft_form(l: Layout, d: &DraftInfo) -> super::ComposePage {
    let mut t = super::ComposePage::new(l);
    t.to = d.to.clone();
    t.note = d.note.clone();
    if let Some(c) = &d.contact {
        t.purpose = c.kind.as_str().to_owned();
        t.month = c.month.clone().unwrap_or_default();
        t.subject = c.person.clone();
        t.units = c.units.map(|u| u.to_string()).unwrap_or_default();
    }
    t.draft = d.id.clone();
    t.version = d.version;
    t.existing = d.files.iter().map(|f| (f.index, f.name.clone())).collect();
    t.flash = Some(format!("最後の変更: {}（{}）", jst(&d.updated_at), d.updated_by));
    t
}
