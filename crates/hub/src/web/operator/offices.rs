//! 事業所: one office's licence, terminals and users; revocation; payment.

use super::{Operator, OperatorReject};
use crate::jst::now;
use crate::state::AppState;
use crate::web::page::page;
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
    let Ok(found) = st.store.office(q).await else { return OperatorReject::Internal.into_response() };
    let Some(o) = found else {
        t.error = Some(format!("事業所番号 {q} は登録されていません"));
        return page(&t);
    };
    let _ = st.store.audit(op.audit("operator.lookup", Some(q), ""), now()).await;
    let lic = st.store.license(&o.number).await.ok().flatten();
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
    t.terminals = st
        .store
        .terminal_details(&o.number)
        .await
        .unwrap_or_default()
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
    t.users = st
        .store
        .office_users(&o.number)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| (u.login, u.name, if u.role == "admin" { "管理者" } else { "職員" }, if u.disabled { "利用停止" } else { "利用中" }))
        .collect();
    page(&t)
}

pub(crate) async fn offices(State(st): State<AppState>, op: Operator, Query(q): Query<OfficeQ>) -> Response {
    office_view(&st, &op, q.q.trim(), None).await
}

pub(crate) async fn revoke(State(st): State<AppState>, op: Operator, Path(id): Path<String>, Query(q): Query<OfficeQ>) -> Response {
    match crate::service::terminals::revoke(&st, &id, &format!("operator:{}", op.login)).await {
        Ok(true) => {
            let _ = st.store.audit(op.audit("operator.revoke", None, &format!("terminal={id}")), now()).await;
            office_view(&st, &op, q.q.trim(), Some(format!("端末 {id} を失効させました"))).await
        }
        Ok(false) => office_view(&st, &op, q.q.trim(), Some(format!("端末 {id} は見つからないか、失効済みです"))).await,
        Err(_) => OperatorReject::Internal.into_response(),
    }
}

pub(crate) async fn mark_paid(State(st): State<AppState>, op: Operator, Path(office): Path<String>) -> Response {
    match st.store.mark_paid(&office, now()).await {
        Ok(true) => {
            let _ = st.store.audit(op.audit("operator.paid", Some(&office), ""), now()).await;
            office_view(&st, &op, &office, Some("入金を記録しました".into())).await
        }
        Ok(false) => office_view(&st, &op, &office, Some("未払いの利用料はありません".into())).await,
        Err(_) => OperatorReject::Internal.into_response(),
    }
}
