//! 代行: the 代行業者 the office authorised (scope, period, state), giving and revoking, what
//! agents did in the office's name; for an agent, the offices that authorised it.

use super::user::PortalUser;
use super::who;
use crate::service::delegations::{self, Grant, scope_label, state_label};
use crate::state::AppState;
use crate::store::{DelegationRow, Role};
use crate::web::confirm::{self, Confirm};
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// One delegation as the page lists it.
pub(crate) struct Row {
    id: i64,
    number: String,
    name: String,
    scope: &'static str,
    period: String,
    state: &'static str,
    revocable: bool,
}

/// One thing an agent did in the office's name.
pub(crate) struct Action {
    at: String,
    what: &'static str,
    agent: String,
    user: String,
    detail: String,
}

/// An agent's action as the page lists it: (agent, user, what), the rest in the page's words.
fn split_detail(d: &str) -> (String, String, String) {
    let (agent, user, rest) = delegations::read_audit_detail(d).unwrap_or(("", "", d));
    (agent.to_owned(), user.to_owned(), rest.replace("to=", "宛先 ").replace("files=", "ファイル "))
}

#[derive(Template)]
#[template(path = "portal/delegations.html")]
pub(crate) struct DelegationsT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    admin: bool,
    needs_second_factor: bool,
    given: Vec<Row>,
    held: Vec<Row>,
    agents: Vec<(String, String)>,
    actions: Vec<Action>,
    today: String,
    flash: Option<String>,
    error: Option<String>,
}

fn row(d: &DelegationRow, today: &str, given: bool) -> Row {
    let state = state_label(d, today);
    let (number, name) = if given { (d.agent.clone(), d.agent_name.clone()) } else { (d.office.clone(), d.office_name.clone()) };
    Row {
        id: d.id,
        number,
        name,
        scope: scope_label(d.may_send, d.may_receive),
        period: format!("{} 〜 {}", d.starts_on, d.ends_on.as_deref().unwrap_or("取り消すまで")),
        state,
        revocable: given && matches!(state, "有効" | "開始前"),
    }
}

/// What an audit action is, in the page's words.
fn action_label(action: &str) -> &'static str {
    match action {
        "send" => "送信",
        "fetch" => "取得",
        "open" => "開封",
        _ => "操作",
    }
}

async fn view(st: &AppState, u: &PortalUser, flash: Option<String>, error: Option<String>) -> Response {
    let o = match delegations::overview(&st.store, &u.user.office).await {
        Ok(o) => o,
        Err(e) => return PageError(e).into_response(),
    };
    let today = crate::jst::today_string();
    let admin = u.user.role == Role::Admin;
    page(&DelegationsT {
        title: "代行",
        nav: "delegations",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        admin,
        needs_second_factor: admin && !u.second_factor_passed,
        given: o.given.iter().map(|d| row(d, &today, true)).collect(),
        held: o.held.iter().map(|d| row(d, &today, false)).collect(),
        agents: o.agents,
        actions: o
            .actions
            .iter()
            .map(|a| {
                let (agent, user, detail) = split_detail(&a.detail);
                Action { at: crate::jst::jst_minutes(a.at), what: action_label(&a.action), agent, user, detail }
            })
            .collect(),
        today,
        flash,
        error,
    })
}

/// What was just done, after the redirect that follows a change (so that reloading the page
/// never gives or revokes twice).
#[derive(Deserialize, Default)]
pub(crate) struct DoneQ {
    #[serde(default)]
    done: String,
}

pub(crate) async fn delegations_page(State(st): State<AppState>, u: PortalUser, Query(q): Query<DoneQ>) -> Response {
    let flash = match q.done.as_str() {
        "granted" => Some("代行を委任しました".to_owned()),
        "revoked" => Some("代行の委任を取り消しました。この代行業者は、今から事業所の名前で送受信できません".to_owned()),
        _ => None,
    };
    view(&st, &u, flash, None).await
}

#[derive(Deserialize, Default)]
pub(crate) struct GrantForm {
    #[serde(default)]
    agent: String,
    #[serde(default)]
    send: Option<String>,
    #[serde(default)]
    receive: Option<String>,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// 委任する: checked, then confirmed (what the agent may do, for how long), then given.
pub(crate) async fn grant(State(st): State<AppState>, u: PortalUser, Form(f): Form<GrantForm>) -> Response {
    if let Err(e) = delegations::may_grant(&u.user, u.second_factor_passed) {
        // Without the second factor the page itself says how to get it.
        return if e.0.code == renkei_protocol::ErrorCode::SecondFactorRequired {
            view(&st, &u, None, None).await
        } else {
            PageError(e).into_response()
        };
    }
    let g = Grant {
        agent: f.agent.clone(),
        may_send: f.send.is_some(),
        may_receive: f.receive.is_some(),
        starts_on: f.from.clone(),
        ends_on: f.until.clone(),
    };
    if f.confirm.as_deref() != Some("1") {
        return match delegations::check_grant(&st.store, &u.user.office, &g).await {
            Ok((name, starts, ends)) => {
                let mut fields = vec![("agent".to_owned(), g.agent.clone()), ("from".into(), starts.clone())];
                if let Some(e) = &ends {
                    fields.push(("until".into(), e.clone()));
                }
                if g.may_send {
                    fields.push(("send".into(), "1".into()));
                }
                if g.may_receive {
                    fields.push(("receive".into(), "1".into()));
                }
                let c = Confirm {
                    heading: "代行を委任します".into(),
                    lines: vec![
                        ("代行業者".into(), format!("{name}（{}）", g.agent.trim())),
                        ("任せる範囲".into(), scope_label(g.may_send, g.may_receive).into()),
                        ("期間".into(), format!("{starts} 〜 {}", ends.as_deref().unwrap_or("取り消すまで"))),
                    ],
                    question:
                        "この代行業者は、期間中、事業所の名前でこの範囲の送受信ができます。いつでもこの画面から取り消せます。委任しますか。"
                            .into(),
                    action: "/portal/delegations".into(),
                    fields,
                    yes: "委任する".into(),
                    back: "/portal/delegations".into(),
                };
                confirm::portal(&c, "delegations", who(&u.user), u.csrf.clone())
            }
            Err(e) if e.0.code.status() < 500 => view(&st, &u, None, Some(e.0.message)).await,
            Err(e) => PageError(e).into_response(),
        };
    }
    match delegations::grant(&st.store, u.actor(), &u.user, u.second_factor_passed, &g).await {
        Ok(_) => Redirect::to("/portal/delegations?done=granted").into_response(),
        Err(e) if e.0.code.status() < 500 => view(&st, &u, None, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
}

/// 取り消す: at once; the agent's next request in the office's name is refused.
pub(crate) async fn revoke(State(st): State<AppState>, u: PortalUser, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return PageError(crate::error::ApiError::not_found()).into_response();
    };
    match delegations::revoke(&st.store, u.actor(), &u.user, id).await {
        Ok(()) => Redirect::to("/portal/delegations?done=revoked").into_response(),
        Err(e) if e.0.code.status() < 500 && e.0.code != renkei_protocol::ErrorCode::Forbidden => {
            view(&st, &u, None, Some(e.0.message)).await
        }
        Err(e) => PageError(e).into_response(),
    }
}
