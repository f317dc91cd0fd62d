//! トップ.

use super::Layout;
use askama::Template;

/// トップ: the system's state, お知らせ and recent notifications.
#[derive(Debug, Template)]
#[template(path = "top.html")]
pub struct TopPage {
    /// The layout.
    pub l: Layout,
    /// Connected to the hub's events (local client).
    pub live: bool,
    /// 未取得の受信.
    pub unread: usize,
    /// 監視フォルダー (local client).
    pub watch: String,
    /// 取込フォルダー (local client).
    pub import_dir: String,
    /// この端末 (local client).
    pub terminal: String,
    /// ライセンス: 有効期限 (「-」 until the fee is settled, as the national client shows it) and
    /// 支払い状況.
    pub licence: String,
    /// The program's version.
    pub version: String,
    /// 稼働状況 (the hub's operator), its class (`ok`, `warn`, `error`) and the operator's text.
    pub operating: Option<(String, &'static str, String)>,
    /// Warnings (certificate or licence running out).
    pub warnings: Vec<String>,
    /// お知らせ: (date, title, body).
    pub notices: Vec<(String, String, String)>,
    /// 最近の通知: (time, title, body).
    pub notes: Vec<(String, String, String)>,
}

/// 稼働状況 as トップ shows it: (label, class `ok`/`warn`/`error`, the operator's text).
pub fn operating(s: &renkei_protocol::OfficeStatus) -> (String, &'static str, String) {
    let class = match s.operating.state {
        renkei_protocol::OperatingState::Normal => "ok",
        renkei_protocol::OperatingState::Maintenance => "warn",
        renkei_protocol::OperatingState::Incident => "error",
    };
    (s.operating.label.clone(), class, s.operating.message.clone())
}

/// 「有効期限 2026-03-31（支払い済み・自動更新）」; the date shows as 「-」 until the licence year
/// starts (its fee paid or its deduction scheduled), with the hub's reason.
pub fn licence_line(s: &renkei_protocol::OfficeStatus) -> String {
    if s.license_until.is_none() && !s.license_valid {
        return match &s.license_pending {
            Some(why) => format!("利用できません・有効期限 -（{why}）"),
            None => "利用できません・有効期限 -（利用申請がまだです。ポータルの「利用申請」から申請してください）".into(),
        };
    }
    if let (Some(u), Some(why)) = (&s.license_until, &s.license_pending) {
        let state = if s.license_valid { "利用可能です" } else { "利用できません" };
        return format!("{state}・有効期限 {}（次の1年: {why}）", u.replace('-', "/"));
    }
    let until = match (&s.license_until, s.paid) {
        (Some(u), true) => u.replace('-', "/"),
        _ => "-".into(),
    };
    let mut parts = vec![if s.paid { "支払い済み" } else { "お支払い待ち" }];
    if s.auto_renew {
        parts.push("自動更新");
    }
    let state = if s.license_valid { "利用可能です" } else { "利用できません" };
    format!("{state}・有効期限 {until}（{}）", parts.join("・"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_licence_line_shows_a_dash_until_paid() {
        let mut s = renkei_protocol::OfficeStatus {
            office: "1371000017".into(),
            name: "さくら".into(),
            license_valid: true,
            license_until: Some("2027-03-31".into()),
            paid: true,
            auto_renew: true,
            minimum_client_version: None,
            operating: Default::default(),
            license_pending: None,
        };
        assert_eq!(licence_line(&s), "利用可能です・有効期限 2027/03/31（支払い済み・自動更新）");
        s.paid = false;
        s.auto_renew = false;
        assert_eq!(licence_line(&s), "利用可能です・有効期限 -（お支払い待ち）");
        s.license_valid = false;
        s.license_until = None;
        assert!(licence_line(&s).starts_with("利用できません") && licence_line(&s).contains("利用申請がまだです"), "{}", licence_line(&s));
        s.license_pending = Some("手続き中: 利用料 21,000 円を給付費から差し引く手続き中です".into());
        assert_eq!(licence_line(&s), "利用できません・有効期限 -（手続き中: 利用料 21,000 円を給付費から差し引く手続き中です）");
        s.license_valid = true;
        s.license_until = Some("2027-03-31".into());
        assert!(licence_line(&s).contains("2027/03/31（次の1年: 手続き中"), "{}", licence_line(&s));
    }
}
