//! 事業所: one office's licence, terminals and users; revocation; payment.

use super::Operator;
use crate::jst::now;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub(crate) struct OfficeQ {
    #[serde(default)]
    q: String,
}

pub(crate) type TerminalView = (String, String, String, &'static str, bool);

#[derive(Template)]
#[template(path = "operator/offices.html")]
pub(crate) struct OfficesT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    q: String,
    error: Option<String>,
    office: Option<(String, String, String, String)>,
    unpaid: bool,
    terminals: Vec<TerminalView>,
    users: Vec<(String, String, &'static str, &'static str)>,
}

pub(crate) async fn office_view(st: &AppState, op: &Operator, q: &str, flash: Option<String>) -> Response {
    let mut t = OfficesT {
        title: "事業所の照会",
        nav: "offices",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash,
        q: q.to_owned(),
        error: None,
        office: None,
        unpaid: false,
        terminals: vec![],
        users: vec![],
    };
    if q.is_empty() {
        return page(&t);
    }
    let found = match st.store.office(q).await {
        Ok(found) => found,
        Err(e) => return PageError::from(e).into_response(),
    };
    let Some(o) = found else {
        t.error = Some(format!("事業所番号 {q} は登録されていません"));
        return page(&t);
    };
    let looked = async {
        st.store.audit(op.actor().audit(crate::store::AuditAction::OfficeLookup, Some(q), ""), now()).await?;
        Ok::<_, crate::store::StoreError>((
            st.store.license(&o.number).await?,
            st.store.terminal_details(&o.number).await?,
            st.store.office_users(&o.number).await?,
        ))
    };
    let (lic, terminals, users) = match looked.await {
        Ok(v) => v,
        Err(e) => return PageError::from(e).into_response(),
    };
    let money = match lic.as_ref().map(|l| (l.fee_yen, l.paid_at)) {
        Some((Some(f), None)) if f > 0 => {
            t.unpaid = true;
            format!("、利用料 {f} 円 未払い")
        }
        Some((Some(f), Some(_))) if f > 0 => format!("、利用料 {f} 円 支払済"),
        _ => String::new(),
    };
    let renew = if lic.is_some_and(|l| l.auto_renew) { "、自動更新" } else { "" };
    t.office = Some((
        o.name.clone(),
        o.number.clone(),
        o.kinds.join("、"),
        format!("{}{money}{renew}", o.license_until.clone().map_or("なし".into(), |u| format!("{u} まで"))),
    ));
    t.terminals = terminals
        .into_iter()
        .map(|d| {
            let active = d.revoked_at.is_none();
            (
                d.id,
                d.label,
                renkei_protocol::fingerprint_display(&d.fingerprint).unwrap_or(d.fingerprint),
                if active { "有効" } else { "失効" },
                active,
            )
        })
        .collect();
    t.users = users.into_iter().map(|u| (u.login, u.name, u.role.label(), if u.disabled { "利用停止" } else { "利用中" })).collect();
    page(&t)
}

pub(crate) async fn offices(State(st): State<AppState>, op: Operator, Query(q): Query<OfficeQ>) -> Response {
    office_view(&st, &op, q.q.trim(), None).await
}

pub(crate) async fn revoke(State(st): State<AppState>, op: Operator, Path(id): Path<String>, Query(q): Query<OfficeQ>) -> Response {
    match crate::service::terminals::revoke(&st, op.actor(), None, &id).await {
        Ok(true) => office_view(&st, &op, q.q.trim(), Some(format!("端末 {id} を失効させました"))).await,
        Ok(false) => office_view(&st, &op, q.q.trim(), Some(format!("端末 {id} は見つからないか、失効済みです"))).await,
        Err(e) => PageError(e).into_response(),
    }
}

pub(crate) async fn mark_paid(State(st): State<AppState>, op: Operator, Path(office): Path<String>) -> Response {
    match crate::service::licence::mark_paid(&st, op.actor(), &office).await {
        Ok(true) => office_view(&st, &op, &office, Some("入金を記録しました".into())).await,
        Ok(false) => office_view(&st, &op, &office, Some("未払いの利用料はありません".into())).await,
        Err(e) => PageError(e).into_response(),
    }
}
