//! The office's home page: licence, terminals enrolled lately, password warnings.

use super::user::PortalUser;
use super::{license_state, office_of, who};
use crate::jst::{jst_minutes, now};
use crate::state::AppState;
use crate::store::User;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

#[derive(Template)]
#[template(path = "portal/home.html")]
pub(crate) struct HomeT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    licensed: bool,
    license_state: String,
    flash: Option<String>,
    /// Notices to this office (newest first): (title, body, when).
    notices: Vec<(String, String, String)>,
    /// One of them announces a new terminal: offer the way to revoke it.
    enrolled: bool,
    needs_second_factor: bool,
    /// 稼働状況: label, class, text.
    operating: (String, &'static str, String),
}

/// A warning when the password expires within 14 days.
pub(crate) fn password_warning(st: &AppState, u: &User) -> Option<String> {
    let exp = st.config.auth.password_expires(u.password_set_at)?;
    let days = (exp - now() + 86399).div_euclid(86400);
    (days <= 14).then(|| {
        format!("パスワードの有効期限まであと {} 日です（{}）。「パスワードの変更」から変えてください。", days.max(0), jst_minutes(exp))
    })
}

pub(crate) async fn home(State(st): State<AppState>, u: PortalUser) -> Response {
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (licensed, state) = license_state(o.license_until.as_deref());
    // Notices to this office, to its prefecture and to everyone (the operator's first).
    let mine: Vec<crate::store::NoticeRow> = match st.store.notices(Some(&o.number), now(), 20).await {
        Ok(v) => v.into_iter().take(8).collect(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let operating = match crate::service::status::current(&st.store, now()).await {
        Ok(s) => super::public::operating_view(s),
        Err(e) => return PageError(e).into_response(),
    };
    page(&HomeT {
        operating,
        enrolled: mine.iter().any(|n| n.kind == "terminal_enrolled"),
        notices: mine.into_iter().map(|n| (n.title, n.body, jst_minutes(n.published_at))).collect(),
        title: "事業所トップ",
        nav: "home",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        licensed,
        license_state: state,
        flash: password_warning(&st, &u.user),
        needs_second_factor: u.user.role == crate::store::Role::Admin && !u.second_factor_on,
    })
}
