//! 郵送・FAX用の帳票: for a partner not on the system, the invitation letter (参加のご案内) and
//! the form of every standard file for it — one printed page set per partner (A4 landscape; a
//! PDF through the browser's print). The local client's 一括送信 (from a folder) and the web
//! mailbox's (files dropped in the browser) print the same bundle.

use super::{FormBody, Layout, form_body, has_form};
use askama::Template;

/// The bundle's page.
#[derive(Debug, Template)]
#[template(path = "partner.html")]
pub struct PartnerPage {
    /// Around the page.
    pub l: Layout,
    /// The partner's office number.
    pub to: String,
    /// Whom the letter is addressed to (the partner's name, or 「ご担当者」).
    pub to_name: String,
    /// Today, as the letter is dated (2026年12月6日).
    pub date: String,
    /// Where the partner applies (the hub's portal).
    pub portal: String,
    /// Where the partner would receive with nothing installed (the hub's web mailbox).
    pub mailbox: String,
    /// The forms of the standard files.
    pub forms: Vec<FormBody>,
    /// Files that are no form (images, unreadable names): listed, to be printed apart.
    pub attachments: Vec<String>,
    /// The way back to 一括送信.
    pub back: String,
    /// Where 「案内を送ったことを記録」 posts (`to` and the CSRF token), if on this page.
    pub record: Option<String>,
    /// When this partner was last sent the invitation, if ever.
    pub invited: Option<String>,
}

/// Today in Japan, as a letter is dated: 2026年12月6日.
pub fn today_ja() -> String {
    let d = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
    format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day())
}

impl PartnerPage {
    /// The bundle for partner `to` (named `name`, empty or 「（…）」 when unknown) of the files
    /// `files` (name, bytes, kind prefix), the letter pointing at the hub `hub`
    /// (`https://…`, no trailing slash needed). `back`, `record` and `invited` are left for the
    /// door to set.
    pub fn new<'a>(
        l: Layout,
        hub: &str,
        to: &str,
        name: &str,
        files: impl IntoIterator<Item = (&'a str, &'a [u8], Option<&'a str>)>,
    ) -> Self {
        let (mut forms, mut attachments) = (Vec::new(), Vec::new());
        for (file, bytes, kind) in files {
            if has_form(kind) {
                forms.push(form_body(file, bytes));
            } else {
                attachments.push(file.to_owned());
            }
        }
        let hub = hub.trim_end_matches('/');
        PartnerPage {
            l,
            to: to.to_owned(),
            to_name: if name.is_empty() || name.starts_with('（') { "ご担当者".into() } else { name.to_owned() },
            date: today_ja(),
            portal: format!("{hub}/portal/login"),
            mailbox: format!("{hub}/mailbox/"),
            forms,
            attachments,
            back: String::new(),
            record: None,
            invited: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_the_letter_and_every_form() {
        let plan = std::fs::read("../../samples/valid/UPPLAN_202506_1374482477_43_1378994089_15_20250525100000.CSV").unwrap();
        let files = [
            ("UPPLAN_202506_1374482477_43_1378994089_15_20250525100000.CSV", plan.as_slice(), Some("UPPLAN")),
            ("UPKIHON_IMAGE_1374482477_43_1378994089_15_20250525100000.JPG", b"\xff\xd8".as_slice(), Some("UPKIHON_IMAGE")),
        ];
        let mut p =
            PartnerPage::new(Layout::web("郵送・FAX用の帳票", "bulk"), "https://hub.example/", "1378994089", "（未登録の事業所）", files);
        p.back = "/mailbox/bulk".into();
        p.record = Some("/mailbox/bulk/invited".into());
        let html = p.render().unwrap();
        assert!(html.contains("ご担当者 御中（事業所番号 1378994089）"), "{html}");
        assert!(html.contains("https://hub.example/portal/login") && html.contains("https://hub.example/mailbox/"));
        assert!(html.contains("サービス利用票"), "the 第6表 form is in the bundle");
        assert!(html.contains("UPKIHON_IMAGE_1374482477"), "the image is listed apart");
        assert!(html.contains("action=\"/mailbox/bulk/invited\""));
        assert_eq!(p.forms.len(), 1);
    }
}
