//! The confirmation step of money-relevant actions (portal and console): what will happen, with
//! the fee and the period, and a 「確定する」 that posts the same form with `confirm=1`. The
//! services refuse the action without it, so no door can skip this step.

use crate::web::page::page;
use askama::Template;
use axum::response::Response;

/// What the confirmation page shows.
#[derive(Debug, Clone)]
pub struct Confirm {
    /// Heading.
    pub heading: String,
    /// (label, value) lines: the office, the period, the fee, the payment method.
    pub lines: Vec<(String, String)>,
    /// The question.
    pub question: String,
    /// Where 「確定する」 posts.
    pub action: String,
    /// The form's fields, posted again.
    pub fields: Vec<(String, String)>,
    /// The button's text.
    pub yes: String,
    /// Where 「やめる」 goes.
    pub back: String,
}

#[derive(Template)]
#[template(path = "portal/confirm.html")]
struct PortalT<'a> {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    c: &'a Confirm,
}

#[derive(Template)]
#[template(path = "operator/confirm.html")]
struct ConsoleT<'a> {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    c: &'a Confirm,
}

/// The confirmation page in the portal.
pub fn portal(c: &Confirm, nav: &'static str, who: String, csrf: String) -> Response {
    page(&PortalT { title: "確認", nav, who, csrf, c })
}

/// The confirmation page in the console.
pub fn console(c: &Confirm, nav: &'static str, who: String, csrf: String) -> Response {
    page(&ConsoleT { title: "確認", nav, who, csrf, flash: None, c })
}
