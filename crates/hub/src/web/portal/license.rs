//! ライセンス: validity, fee, payment, automatic renewal, renewal.

use super::user::PortalUser;
use super::{fee_text, ja_date, license_state, office_of, who, yen};
use crate::service::licence;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "portal/license.html")]
pub(crate) struct LicenseT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    until: String,
    fee: String,
    paid: String,
    auto_renew: bool,
    admin: bool,
    flash: Option<String>,
}

pub(crate) async fn license_view(st: &AppState, u: &PortalUser, flash: Option<String>) -> Response {
    let o = match office_of(st, u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let l = match st.store.license(&o.number).await {
        Ok(Some(l)) => l,
        Ok(None) => return PageError(crate::error::ApiError::internal("office without licence row")).into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let (_, state) = license_state(l.until.as_deref());
    let paid = match (l.fee_yen, l.paid_at) {
        (None, _) => "—".to_owned(),
        (Some(0), _) => "支払いは不要です".to_owned(),
        (Some(_), Some(t)) => format!("支払済（{}）", crate::jst::rfc3339(t).chars().take(10).collect::<String>()),
        (Some(f), None) => format!("未払い（{}、請求書をお送りします）", yen(f)),
    };
    page(&LicenseT {
        title: "ライセンス",
        nav: "license",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        until: l.until.as_deref().map_or(state.clone(), |d| format!("{}（{}）", ja_date(d), state)),
        fee: l.fee_yen.map_or_else(|| fee_text(st), yen),
        paid,
        auto_renew: l.auto_renew,
        admin: u.user.role == crate::store::Role::Admin,
        flash,
    })
}

pub(crate) async fn license_page(State(st): State<AppState>, u: PortalUser) -> Response {
    license_view(&st, &u, None).await
}

#[derive(Deserialize)]
pub(crate) struct AutoRenewForm {
    on: String,
}

pub(crate) async fn auto_renew(State(st): State<AppState>, u: PortalUser, Form(f): Form<AutoRenewForm>) -> Response {
    let on = f.on == "1";
    if let Err(e) = licence::set_auto_renew(&st, u.actor(), &u.user, on).await {
        return PageError(e).into_response();
    }
    license_view(&st, &u, Some(if on { "自動更新にしました" } else { "自動更新をやめました" }.into())).await
}

pub(crate) async fn renew(State(st): State<AppState>, u: PortalUser) -> Response {
    let until = match licence::grant(&st, u.actor(), &u.user, true).await {
        Ok(until) => until,
        Err(e) => return PageError(e).into_response(),
    };
    license_view(&st, &u, Some(format!("{} まで更新しました", ja_date(&until)))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_license_year_and_money() {
        let d = time::macros::date!(2026 - 11 - 21);
        assert_eq!(licence::one_year_from(d), "2027-11-20");
        assert_eq!(licence::one_year_from(time::macros::date!(2024 - 02 - 29)), "2025-02-28");
        assert_eq!(yen(21000), "¥21,000");
        assert_eq!(yen(0), "¥0");
        assert_eq!(ja_date("2027-03-31"), "2027年3月31日");
        assert!(crate::web::portal::apply::TERMS.lines().count() > 30, "terms long enough to need scrolling");
    }
}
