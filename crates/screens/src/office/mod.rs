//! The office's screens — トップ, 受信一覧, 受信詳細, 送信一覧, 新規作成, 帳票表示 — as view models
//! and templates, shared by the office client's local UI (`renkei ui`) and the hub's web
//! mailbox (`/mailbox`), so that the two never drift. Each door fills the view models from its
//! own source (the client from the hub's API, the hub from its service layer) and serves the
//! same pages; [`Layout`] says which door and where its pages live.

mod compose;
mod drafts;
mod layout;
mod lists;
mod message;
mod partner;
mod reconcile;
mod sheets;
mod top;

pub use compose::{ComposePage, Finding, NAME_HEADLINE, PURPOSES, VerdictView, VerdictsPage, escape, lookup_html, words_of};
pub use drafts::{DraftRowV, DraftsPage, draft_form, draft_row};
pub use layout::{Layout, MenuItem, NoticePage};
pub use lists::{FileCell, ListPage, ListQ, Row, file_kind_label, kinds, row, sent_state, state_class};
pub use message::{MessagePage, contact_rows};
pub use partner::{PartnerPage, today_ja};
pub use reconcile::{DiffRow, ReconcilePage, ReconcileQ, UnitRow, line_text, unit_rows};
pub use sheets::{FormBody, FormPage, RecordV, RowV, SheetV, form_body, form_page, has_form};
pub use top::{TopPage, licence_line, operating};

/// The office screens' static files: (body, content type), or `None` for an unknown name.
/// `app.css` is the shared visual language ([`crate::style`]) with the office screens' rules.
pub fn asset(name: &str) -> Option<(&'static [u8], &'static str)> {
    static SHEET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| crate::style::sheet(include_str!("../../assets/office.css")));
    Some(match name {
        "htmx.min.js" => (include_bytes!("../../assets/htmx.min.js"), "text/javascript; charset=utf-8"),
        "app.js" => (include_bytes!("../../assets/office.js"), "text/javascript; charset=utf-8"),
        "app.css" => (SHEET.as_bytes(), "text/css; charset=utf-8"),
        _ => return None,
    })
}

/// 2025-06-01T01:00:00Z → 2025/06/01 10:00 (JST).
pub fn jst(rfc3339: &str) -> String {
    let Ok(t) = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339) else { return rfc3339.to_owned() };
    jst_time(t)
}

/// Unix seconds → 2025/06/01 10:00 (JST).
pub fn jst_unix(s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(s).map(jst_time).unwrap_or_default()
}

fn jst_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::macros::offset!(+9));
    format!("{}/{:02}/{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// A file size as the lists show it.
pub fn size(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MB", n as f64 / 1048576.0)
    }
}

/// A file name for `Content-Disposition: attachment; filename*=UTF-8''…` (RFC 5987: Japanese
/// names survive).
pub fn attachment_name(name: &str) -> String {
    name.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"._-".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_japan() {
        assert_eq!(jst("2025-06-01T01:05:00Z"), "2025/06/01 10:05");
        assert_eq!(jst_unix(1_748_739_900), "2025/06/01 10:05");
    }

    #[test]
    fn sizes_and_names() {
        assert_eq!(size(10), "10 B");
        assert_eq!(size(2048), "2.0 KB");
        assert_eq!(attachment_name("計画.pdf"), "%E8%A8%88%E7%94%BB.pdf");
    }

    #[test]
    fn assets_are_served() {
        assert!(asset("app.css").is_some_and(|(b, _)| b.len() > 1000));
        assert!(asset("htmx.min.js").is_some());
        assert!(asset("../Cargo.toml").is_none());
    }
}
