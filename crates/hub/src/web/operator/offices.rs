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
    /// The office is a registered 代行業者.
    agent: bool,
    terminals: Vec<TerminalView>,
    /// (login, name, role, state, administrator, locked)
    users: Vec<(String, String, &'static str, &'static str, bool, bool)>,
    identity_checks: Vec<(&'static str, &'static str)>,
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
        agent: false,
        terminals: vec![],
        users: vec![],
        identity_checks: super::accounts::identity_checks(),
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
            st.store.is_agent(&o.number).await?,
        ))
    };
    let (lic, terminals, users, agent) = match looked.await {
        Ok(v) => v,
        Err(e) => return PageError::from(e).into_response(),
    };
    let method = lic.as_ref().map_or("", |l| crate::service::licence::method_label(&l.payment_method));
    let money = match lic.as_ref().map(|l| (l.fee_yen, l.paid_at, l.applied_at, l.deduction_month.clone())) {
        Some((Some(f), _, Some(_), _)) => {
            t.unpaid = true;
            format!("、次の1年 利用料 {f} 円 お支払い待ち（{method}）")
        }
        Some((Some(f), _, None, Some(m))) if f > 0 => format!("、利用料 {f} 円 {m} に給付費から差し引き"),
        Some((Some(f), None, None, None)) if f > 0 => {
            t.unpaid = true;
            format!("、利用料 {f} 円 未払い（{method}）")
        }
        Some((Some(f), Some(_), _, _)) if f > 0 => format!("、利用料 {f} 円 支払済"),
        _ => String::new(),
    };
    t.agent = agent;
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
    let at = now();
    t.users = users
        .into_iter()
        .map(|u| {
            let locked = crate::service::resets::is_locked(&u, at);
            let state = if u.disabled {
                "利用停止"
            } else if locked {
                "ロック中"
            } else if u.must_change {
                "仮パスワード"
            } else {
                "利用中"
            };
            let admin = u.role == crate::store::Role::Admin && !u.disabled;
            (u.login, u.name, u.role.label(), state, admin, locked)
        })
        .collect();
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

#[derive(Deserialize, Default)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

pub(crate) async fn mark_paid(
    State(st): State<AppState>,
    op: Operator,
    Path(office): Path<String>,
    axum::extract::Form(f): axum::extract::Form<ConfirmForm>,
) -> Response {
    if f.confirm != "1" {
        let fee = st.store.license(&office).await.ok().flatten().and_then(|l| l.fee_yen).unwrap_or(0);
        let c = crate::web::confirm::Confirm {
            heading: "入金の記録".into(),
            lines: vec![("事業所".into(), office.clone()), ("利用料".into(), format!("{fee} 円"))],
            question: "請求書の入金を確認しました。記録すると、お支払いを待っているライセンスが有効になります。".into(),
            action: format!("/operator/offices/{office}/paid"),
            fields: vec![],
            yes: "入金を記録する".into(),
            back: format!("/operator/offices?q={office}"),
        };
        return crate::web::confirm::console(&c, "offices", op.who(), op.csrf.clone());
    }
    match crate::service::licence::mark_paid(&st, op.actor(), &office, true).await {
        Ok(true) => office_view(&st, &op, &office, Some("入金を記録しました".into())).await,
        Ok(false) => office_view(&st, &op, &office, Some("未払いの利用料はありません".into())).await,
        Err(e) => PageError(e).into_response(),
    }
}

/// 代行業者として登録する: the office may then be chosen by other offices' administrators in
/// 代行の委任 (the delegation itself is theirs to give).
pub(crate) async fn register_agent(State(st): State<AppState>, op: Operator, Path(office): Path<String>) -> Response {
    match crate::service::delegations::register_agent(&st.store, op.actor(), &office).await {
        Ok(name) => office_view(&st, &op, &office, Some(format!("{name} を代行業者として登録しました"))).await,
        Err(e) => PageError(e).into_response(),
    }
}
