//! What every office page shows around its content.

use askama::Template;

/// One entry of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    /// The path under [`Layout::base`] (`inbox`, or empty for トップ).
    pub path: &'static str,
    /// The `nav` value that marks it current.
    pub nav: &'static str,
    /// Its label.
    pub label: &'static str,
}

const fn item(path: &'static str, nav: &'static str, label: &'static str) -> MenuItem {
    MenuItem { path, nav, label }
}

/// The menu: every screen, the same in the local client and the web mailbox.
pub const MENU: [MenuItem; 7] = [
    item("", "top", "トップ"),
    item("inbox", "inbox", "受信一覧"),
    item("sent", "sent", "送信一覧"),
    item("compose", "compose", "新規作成"),
    item("bulk", "bulk", "一括送信"),
    item("drafts", "drafts", "下書き一覧"),
    item("reconcile", "reconcile", "予実突合"),
];

/// What every page shows around its content, and where the door serves its pages.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The page's title (its `h1`).
    pub title: String,
    /// The product's name in the header: 連携クライアント or Webメールボックス.
    pub product: &'static str,
    /// Where this office's pages live: `/o/{profile}` (local client) or `/mailbox` (hub).
    pub base: String,
    /// Where the static files are served.
    pub assets: &'static str,
    /// The local client's profile (its office switch), empty on the web.
    pub profile: String,
    /// 事業所番号.
    pub office: String,
    /// 事業所名.
    pub office_name: String,
    /// The logged-in user's name, empty before login.
    pub user: String,
    /// The CSRF token every change carries.
    pub csrf: String,
    /// The current menu entry.
    pub nav: &'static str,
    /// The local client's offices (profile, label) for its switch; empty on the web.
    pub offices: Vec<(String, String)>,
    /// The menu.
    pub menu: Vec<MenuItem>,
    /// The local client (folders, notifications banner) rather than the web mailbox.
    pub local: bool,
    /// Messages waiting unfetched, when the door counts them: a badge on 受信一覧, and on the
    /// web a live line when more arrive (the local client has its own notifications).
    pub unread: Option<i64>,
}

impl Layout {
    /// The local client's layout for one of its offices.
    pub fn local(title: &str, profile: &str, nav: &'static str) -> Layout {
        Layout {
            title: title.to_owned(),
            product: "連携クライアント",
            base: format!("/o/{profile}"),
            assets: "/static",
            profile: profile.to_owned(),
            nav,
            menu: MENU.to_vec(),
            local: true,
            ..Layout::default()
        }
    }

    /// The hub's web mailbox layout.
    pub fn web(title: &str, nav: &'static str) -> Layout {
        Layout {
            title: title.to_owned(),
            product: "Webメールボックス",
            base: "/mailbox".into(),
            assets: "/mailbox/static",
            nav,
            menu: MENU.to_vec(),
            local: false,
            ..Layout::default()
        }
    }
}

/// A page with one sentence (a failure the user can act on).
#[derive(Debug, Template)]
#[template(path = "notice.html")]
pub struct NoticePage {
    /// The layout.
    pub l: Layout,
    /// The sentence.
    pub text: String,
}
