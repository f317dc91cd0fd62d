//! 利用申請: the terms (scrolled to the end before agreeing), a confirmation with the fee and the
//! period, and the licence year it gives: at once when free, else when its fee is paid or its
//! deduction scheduled (until then 有効期限 「-」 with the reason). While a licence is valid, the
//! page explains it and offers the next year.

use super::user::PortalUser;
use super::{ja_date, office_of, who, yen};
use crate::service::licence::{self, Applied, Quote};
use crate::state::AppState;
use crate::web::confirm::{self, Confirm};
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The 利用規約 shown in 利用申請.
pub const TERMS: &str = include_str!("../../../templates/portal/terms.txt");

#[derive(Template)]
#[template(path = "portal/apply.html")]
pub(crate) struct ApplyT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    terms: &'static str,
    fee: String,
    /// The current licence and the next year on offer, when one is valid.
    current: Option<String>,
    /// A year already waits for its payment: why.
    pending: Option<String>,
    error: Option<String>,
}

/// The fee of a quote as the pages say it.
pub(crate) fn quote_fee(q: &Quote) -> String {
    match &q.campaign {
        Some(c) => format!("¥0（{c}）"),
        None => format!("{}（税込・1年間）", yen(q.fee)),
    }
}

async fn apply_view(st: &AppState, u: &PortalUser, error: Option<String>) -> Response {
    let o = match office_of(st, u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (q, l) = match (licence::quote(st, &o).await, st.store.license(&o.number).await) {
        (Ok(q), Ok(l)) => (q, l),
        (Err(e), _) => return PageError(e).into_response(),
        (_, Err(e)) => return PageError::from(e).into_response(),
    };
    page(&ApplyT {
        title: "利用申請",
        nav: "apply",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        current: q.current_until.as_ref().map(|until| {
            format!(
                "現在のライセンスは {} まで有効です。ここで申し込むのは、その次の1年（{} から）です。",
                ja_date(until),
                ja_date(&q.start)
            )
        }),
        pending: l.as_ref().and_then(licence::pending_reason),
        fee: quote_fee(&q),
        office: o.number,
        office_name: o.name,
        terms: TERMS,
        error,
    })
}

pub(crate) async fn apply_page(State(st): State<AppState>, u: PortalUser) -> Response {
    apply_view(&st, &u, None).await
}

#[derive(Deserialize)]
pub(crate) struct ApplyForm {
    #[serde(default)]
    agree: Option<String>,
    #[serde(default)]
    read: String,
    #[serde(default)]
    confirm: String,
}

#[derive(Template)]
#[template(path = "portal/applied.html")]
pub(crate) struct AppliedT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    /// Valid through (when the year started at once).
    until: Option<String>,
    /// Why the year waits (when it does).
    pending: Option<String>,
    fee: String,
}

pub(crate) async fn apply_post(State(st): State<AppState>, u: PortalUser, Form(f): Form<ApplyForm>) -> Response {
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    if u.user.role != crate::store::Role::Admin {
        return apply_view(&st, &u, Some("利用申請は事業所の管理者が行います".into())).await;
    }
    if f.agree.is_none() || f.read != "1" {
        return apply_view(&st, &u, Some("利用規約を最後まで読み、「利用規約に同意する」にチェックを入れてください".into())).await;
    }
    let q = match licence::quote(&st, &o).await {
        Ok(q) => q,
        Err(e) => return PageError(e).into_response(),
    };
    if f.confirm != "1" && !q.pending {
        // What the office buys, before it buys it.
        let mut lines = vec![("事業所".to_owned(), format!("{}（{}）", o.name, o.number))];
        if let Some(until) = &q.current_until {
            lines.push(("現在のライセンス".into(), format!("{} まで有効", ja_date(until))));
        }
        lines.push(("申し込む期間".into(), format!("{} から1年間", ja_date(&q.start))));
        lines.push(("利用料".into(), quote_fee(&q)));
        if q.fee > 0 {
            lines.push(("お支払い方法".into(), licence::method_label(&q.payment_method).into()));
        }
        let c = Confirm {
            heading: "利用申請の確認".into(),
            lines,
            question: if q.current_until.is_some() {
                "有効なライセンスがありますが、次の1年を申し込みます。よろしいですか。".into()
            } else {
                "この内容で申し込みます。よろしいですか。".into()
            },
            action: "/portal/apply".into(),
            fields: vec![("agree".into(), "on".into()), ("read".into(), "1".into())],
            yes: "確定する".into(),
            back: "/portal/apply".into(),
        };
        return confirm::portal(&c, "apply", who(&u.user), u.csrf.clone());
    }
    let applied = match licence::grant(&st, u.actor(), &u.user, false, true).await {
        Ok(a) => a,
        Err(e) if e.0.code == renkei_protocol::ErrorCode::BadRequest => return apply_view(&st, &u, Some(e.0.message)).await,
        Err(e) => return PageError(e).into_response(),
    };
    let pending = st.store.license(&o.number).await.ok().flatten().as_ref().and_then(licence::pending_reason);
    page(&AppliedT {
        title: "利用申請の完了",
        nav: "apply",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        until: match &applied {
            Applied::Active(until) => Some(ja_date(until)),
            Applied::Pending { .. } => None,
        },
        pending,
        fee: quote_fee(&q),
    })
}
