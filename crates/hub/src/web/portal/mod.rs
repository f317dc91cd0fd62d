//! The office portal and the public pages. The office pages (HTTPS, no client certificate): login with the office's ID and
//! password (temporary password → forced change; lockout as in the API), 利用申請 (the terms must
//! be scrolled to the end before agreeing; agreeing grants a one-year license per 事業所番号) and
//! ライセンス (validity, fee, payment, auto-renew, renewal).
//!
//! Sessions are browser sessions of their own (`portal_sessions`, cookie `renkei_portal`: Secure,
//! HttpOnly, SameSite=Strict), each with a CSRF token that every state-changing request must carry
//! (`?csrf=`), besides a same-origin `Origin` when the browser sends one. Every action is audited.

pub mod apply;
pub mod delegations;
pub mod home;
pub mod license;
pub mod login;
pub mod password;
pub mod public;
pub mod records;
pub mod security;
pub mod staff;
pub mod terminals;
pub mod user;

use crate::jst::today;
use crate::state::AppState;
use crate::store::User;
use crate::web::page::PageError;
use axum::response::{IntoResponse, Response};
use user::PortalUser;

pub(crate) const COOKIE: &str = "renkei_portal";

pub(crate) fn ja_date(d: &str) -> String {
    match time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")) {
        Ok(d) => format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day()),
        Err(_) => d.to_owned(),
    }
}

pub(crate) fn yen(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}¥{}", renkei_protocol::contacts::group_digits(n.unsigned_abs()))
}

/// The fee as the pages say it.
pub(crate) fn fee_text(st: &AppState) -> String {
    let l = &st.config.license;
    if l.campaign.is_empty() { format!("{}（税込・年額）", yen(l.fee_yen)) } else { format!("¥0（{}期間中）", l.campaign) }
}

pub(crate) fn who(u: &User) -> String {
    format!("{}（{}）", u.name, u.login)
}

/// The office's license state in one sentence.
pub(crate) fn license_state(until: Option<&str>) -> (bool, String) {
    let today = today().to_string();
    match until {
        Some(u) if u >= today.as_str() => (true, format!("ライセンスは {} まで有効です。", ja_date(u))),
        Some(u) => (false, format!("ライセンスの有効期限（{}）が過ぎています。利用申請（更新）をしてください。", ja_date(u))),
        None => (false, "まだ利用申請をしていません。利用申請をすると、送受信できるようになります。".into()),
    }
}

pub(crate) async fn office_of(st: &AppState, u: &PortalUser) -> Result<crate::store::Office, Response> {
    match st.store.office(&u.user.office).await {
        Ok(Some(o)) => Ok(o),
        Ok(None) => Err(PageError(crate::error::ApiError::internal(format!("user {} without office", u.user.id))).into_response()),
        Err(e) => Err(PageError::from(e).into_response()),
    }
}
