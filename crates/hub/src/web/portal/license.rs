//! ライセンス: validity (「-」 with the reason until the fee is settled), fee, payment method and
//! status, automatic renewal, renewal. Every money-relevant change is confirmed first.

use super::apply::quote_fee;
use super::user::PortalUser;
use super::{ja_date, license_state, office_of, who, yen};
use crate::service::licence::{self, Applied};
use crate::state::AppState;
use crate::web::confirm::{self, Confirm};
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
    method: String,
    method_code: String,
    auto_renew: bool,
    admin: bool,
    pending: bool,
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
    let pending = licence::pending_reason(&l);
    let paid = match (l.fee_yen, l.paid_at, &l.deduction_month, &pending) {
        (_, _, _, Some(p)) => p.clone(),
        (None, _, _, _) => "—".to_owned(),
        (Some(0), _, _, _) => "支払いは不要です".to_owned(),
        (Some(_), _, Some(m), _) => format!("給付費から差し引き（{m} の国保連の支払い）"),
        (Some(_), Some(t), _, _) => format!("支払済（{}）", crate::jst::rfc3339(t).chars().take(10).collect::<String>()),
        (Some(f), None, _, _) => format!("未払い（{}）", yen(f)),
    };
    let until = match (&l.until, &pending) {
        (None, Some(_)) => "-（お支払いの手続きが済むと有効になります）".to_owned(),
        (Some(d), Some(_)) => format!("{}（{}）。次の1年はお支払いの手続き中です", ja_date(d), state),
        (Some(d), None) => format!("{}（{}）", ja_date(d), state),
        (None, None) => state,
    };
    page(&LicenseT {
        title: "ライセンス",
        nav: "license",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        until,
        fee: l.fee_yen.map_or_else(|| super::fee_text(st), yen),
        paid,
        method: licence::method_label(&l.payment_method).into(),
        method_code: l.payment_method.clone(),
        auto_renew: l.auto_renew,
        admin: u.user.role == crate::store::Role::Admin,
        pending: pending.is_some(),
        flash,
    })
}

pub(crate) async fn license_page(State(st): State<AppState>, u: PortalUser) -> Response {
    license_view(&st, &u, None).await
}

#[derive(Deserialize)]
pub(crate) struct AutoRenewForm {
    #[serde(default)]
    on: String,
    #[serde(default)]
    confirm: String,
}

pub(crate) async fn auto_renew(State(st): State<AppState>, u: PortalUser, Form(f): Form<AutoRenewForm>) -> Response {
    let on = f.on == "1";
    if let Err(e) = licence::require_admin(&u.user) {
        return PageError(e).into_response();
    }
    // Renewing automatically commits the office to next year's fee: confirmed first.
    if on && f.confirm != "1" {
        let c = Confirm {
            heading: "自動更新の確認".into(),
            lines: vec![("自動更新".into(), "有効期限の30日前に、次の1年を自動で申し込みます（その時点の利用料がかかります）".into())],
            question: "自動更新にします。よろしいですか。".into(),
            action: "/portal/license/auto-renew".into(),
            fields: vec![("on".into(), "1".into())],
            yes: "確定する".into(),
            back: "/portal/license".into(),
        };
        return confirm::portal(&c, "license", who(&u.user), u.csrf.clone());
    }
    if let Err(e) = licence::set_auto_renew(&st, u.actor(), &u.user, on).await {
        return PageError(e).into_response();
    }
    license_view(&st, &u, Some(if on { "自動更新にしました" } else { "自動更新をやめました" }.into())).await
}

#[derive(Deserialize)]
pub(crate) struct RenewForm {
    #[serde(default)]
    confirm: String,
}

pub(crate) async fn renew(State(st): State<AppState>, u: PortalUser, Form(f): Form<RenewForm>) -> Response {
    if let Err(e) = licence::require_admin(&u.user) {
        return PageError(e).into_response();
    }
    if f.confirm != "1" {
        let o = match office_of(&st, &u).await {
            Ok(o) => o,
            Err(r) => return r,
        };
        let q = match licence::quote(&st, &o).await {
            Ok(q) => q,
            Err(e) => return PageError(e).into_response(),
        };
        if q.pending {
            return license_view(&st, &u, Some("お支払いを待っている申請があります。二重には申し込めません".into())).await;
        }
        let mut lines = vec![("事業所".to_owned(), format!("{}（{}）", o.name, o.number))];
        if let Some(until) = &q.current_until {
            lines.push(("現在のライセンス".into(), format!("{} まで有効", ja_date(until))));
        }
        lines.push(("更新する期間".into(), format!("{} から1年間", ja_date(&q.start))));
        lines.push(("利用料".into(), quote_fee(&q)));
        if q.fee > 0 {
            lines.push(("お支払い方法".into(), licence::method_label(&q.payment_method).into()));
        }
        let c = Confirm {
            heading: "更新の確認".into(),
            lines,
            question: "この内容で1年間更新します。よろしいですか。".into(),
            action: "/portal/license/renew".into(),
            fields: vec![],
            yes: "確定する".into(),
            back: "/portal/license".into(),
        };
        return confirm::portal(&c, "license", who(&u.user), u.csrf.clone());
    }
    match licence::grant(&st, u.actor(), &u.user, true, true).await {
        Ok(Applied::Active(until)) => license_view(&st, &u, Some(format!("{} まで更新しました", ja_date(&until)))).await,
        Ok(Applied::Pending { .. }) => {
            license_view(&st, &u, Some("更新を申し込みました。お支払いの手続きが済むと有効期限が延びます".into())).await
        }
        Err(e) if e.0.code == renkei_protocol::ErrorCode::BadRequest => license_view(&st, &u, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct MethodForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    confirm: String,
}

pub(crate) async fn payment_method(State(st): State<AppState>, u: PortalUser, Form(f): Form<MethodForm>) -> Response {
    if let Err(e) = licence::require_admin(&u.user) {
        return PageError(e).into_response();
    }
    if f.confirm != "1" {
        let c = Confirm {
            heading: "お支払い方法の確認".into(),
            lines: vec![("お支払い方法".into(), licence::method_label(&f.method).into())],
            question: "次の申し込みから、このお支払い方法にします。よろしいですか。".into(),
            action: "/portal/license/payment-method".into(),
            fields: vec![("method".into(), f.method.clone())],
            yes: "確定する".into(),
            back: "/portal/license".into(),
        };
        return confirm::portal(&c, "license", who(&u.user), u.csrf.clone());
    }
    match licence::set_payment_method(&st, u.actor(), &u.user, &f.method, true).await {
        Ok(()) => license_view(&st, &u, Some(format!("お支払い方法を「{}」にしました", licence::method_label(&f.method)))).await,
        Err(e) if e.0.code == renkei_protocol::ErrorCode::BadRequest => license_view(&st, &u, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
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
        assert_eq!(licence::next_start(Some("2027-03-31"), d), time::macros::date!(2027 - 04 - 01));
        assert_eq!(licence::next_start(Some("2026-01-31"), d), d, "a lapsed licence: from today");
    }
}
