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
