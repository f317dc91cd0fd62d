//! 代行: an office's administrator authorises a registered 代行業者 (agent) to send and/or
//! receive in the office's name, for a period, revocable at once. The agent works from its own
//! terminals and users, naming the office in `x-renkei-on-behalf-of`; [`resolve`] is the one
//! rule that decides whether it may, for every mailbox route. Everything an agent does is
//! audited under the office, with the agent and its user in the row's detail (both identities);
//! the recipient of a message an agent sent sees 「代行: 名前（番号）」.

use crate::error::ApiError;
use crate::jst::{now, today_string};
use crate::service::Actor;
use crate::service::sessions::Caller;
use crate::state::AppState;
use crate::store::{AuditAction, AuditRow, DelegationRow, NewDelegation, Role, Store, User};
use renkei_protocol::ErrorCode;

/// What a route lets an agent do in an office's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Sending (messages, drafts, the sent list).
    Send,
    /// Receiving (the inbox, downloads, 取得, 開封, events).
    Receive,
    /// Either: a message seen from its sending side needs [`Scope::Send`], from its receiving
    /// side [`Scope::Receive`] ([`Caller::may_see`]).
    Any,
}

/// An agent acting for an office in this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// The agent's office number (the caller's terminal's office).
    pub agent: String,
    /// The agent's name.
    pub agent_name: String,
    /// The office delegated sending today.
    pub may_send: bool,
    /// The office delegated receiving today.
    pub may_receive: bool,
}

/// The start of the audit detail of everything an agent does in an office's name:
/// `agent=<番号> user=<ログインID>`, then the action's own detail.
pub fn audit_detail(acting: &Acting, login: &str) -> String {
    format!("agent={} user={login}", acting.agent)
}

/// An agent's action read back from its audit detail ([`audit_detail`]): (agent, user, the rest).
pub fn read_audit_detail(detail: &str) -> Option<(&str, &str, &str)> {
    let mut parts = detail.splitn(3, ' ');
    let agent = parts.next()?.strip_prefix("agent=")?;
    let user = parts.next()?.strip_prefix("user=")?;
    Some((agent, user, parts.next().unwrap_or("")))
}

fn refused(ja: impl Into<String>, en: &str) -> ApiError {
    ApiError::new(ErrorCode::DelegationRefused, ja, en)
}

/// The refusal of the header on a route that cannot be delegated.
pub fn not_delegable() -> ApiError {
    refused(
        "この操作は代行できません（代行できるのは送信・受信だけです）。x-renkei-on-behalf-of を付けずに、自分の事業所として操作してください",
        "this route cannot be used on behalf of another office",
    )
}

impl Caller {
    /// `Ok` when this caller may do `scope` for [`Caller::office`]: always for the office's
    /// own users, for an agent when the office delegated it.
    pub fn may(&self, scope: Scope) -> Result<(), ApiError> {
        let Some(a) = &self.acting else { return Ok(()) };
        let ok = match scope {
            Scope::Send => a.may_send,
            Scope::Receive => a.may_receive,
            Scope::Any => a.may_send || a.may_receive,
        };
        if ok {
            return Ok(());
        }
        let what = if scope == Scope::Send { "送信" } else { "受信" };
        Err(refused(
            format!("事業所 {} から{what}の代行を任されていません（委任の範囲を事業所に確認してください）", self.office),
            "the office has not delegated this to the agent",
        ))
    }

    /// `Ok` when this caller may see a message between `sender` and `recipient` of its office:
    /// an agent sees the sending side with [`Scope::Send`], the receiving side with
    /// [`Scope::Receive`].
    pub fn may_see(&self, sender: &str, recipient: &str) -> Result<(), ApiError> {
        if recipient == self.office {
            self.may(Scope::Receive)
        } else if sender == self.office {
            self.may(Scope::Send)
        } else {
            Err(ApiError::not_found())
        }
    }
}

/// Resolves `x-renkei-on-behalf-of` for an authenticated caller: the caller's office must be a
/// registered agent, and `office` must have delegated `scope` to it today (not revoked). On
/// success the caller works on `office`'s mailbox. The one rule, for every delegable route.
pub async fn resolve(st: &AppState, caller: &mut Caller, office: &str, scope: Scope) -> Result<(), ApiError> {
    if office == caller.terminal.office {
        return Ok(());
    }
    if office.len() != 10 || !office.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "代行する事業所の番号（x-renkei-on-behalf-of）は10桁の数字で指定してください",
            "x-renkei-on-behalf-of must be a 10-digit office number",
        ));
    }
    let agent = st.store.office(&caller.terminal.office).await?.ok_or_else(|| ApiError::internal("terminal office missing"))?;
    if !st.store.is_agent(&agent.number).await? {
        return Err(refused(
            "この事業所は代行業者として登録されていません。代行業者の登録は運営者に申し込んでください",
            "the caller's office is not a registered agent",
        ));
    }
    let in_force = st.store.delegations_in_force(office, &agent.number, &today_string()).await?;
    if in_force.is_empty() {
        return Err(refused(
            format!("事業所 {office} からの代行の委任はありません（期間外か、取り消されています）"),
            "no delegation in force from this office",
        ));
    }
    caller.acting = Some(Acting {
        agent: agent.number,
        agent_name: agent.name,
        may_send: in_force.iter().any(|d| d.may_send),
        may_receive: in_force.iter().any(|d| d.may_receive),
    });
    caller.office = office.to_owned();
    caller.may(scope)
}

/// A delegation to give, as the portal's form has it.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// The agent's office number.
    pub agent: String,
    /// 送信を任せる.
    pub may_send: bool,
    /// 受信を任せる.
    pub may_receive: bool,
    /// First day (YYYY-MM-DD; empty: today).
    pub starts_on: String,
    /// Last day (YYYY-MM-DD; empty: until revoked).
    pub ends_on: String,
}

fn day(s: &str, what: &str) -> Result<Option<String>, ApiError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    // One reading of dates for the console and the portal (full-width digits, `/` or `-`).
    crate::jst::parse_local(&format!("{s} 00:00"))
        .map(|t| Some(crate::jst::local_input(t)[..10].to_owned()))
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, format!("{what}は 2026-04-01 の形で入れてください"), "bad date"))
}

/// Who may give a delegation: an office administrator who passed the second factor. The one
/// rule; the portal asks it before its confirmation step.
pub fn may_grant(user: &User, second_factor_passed: bool) -> Result<(), ApiError> {
    if user.role != Role::Admin {
        return Err(ApiError::new(ErrorCode::Forbidden, "代行の委任は事業所の管理者だけができます", "administrators only"));
    }
    if !second_factor_passed {
        return Err(crate::service::second_factor_required());
    }
    Ok(())
}

/// Checks a grant and describes it (for the confirmation): the agent's name and the period.
pub async fn check_grant(store: &Store, office: &str, g: &Grant) -> Result<(String, String, Option<String>), ApiError> {
    let agent = g.agent.trim();
    let bad = |ja: &str| ApiError::new(ErrorCode::BadRequest, ja, "bad delegation");
    if agent == office {
        return Err(bad("自分の事業所には委任できません"));
    }
    let Some(a) = store.office(agent).await?.filter(|_| !agent.is_empty()) else {
        return Err(bad("代行業者を選んでください"));
    };
    if !store.is_agent(agent).await? {
        return Err(bad("その事業所は代行業者として登録されていません"));
    }
    // One delegation per agent at a time (a double click or a reload never gives a second; a
    // change of scope or period is a revocation and a new delegation).
    let today = today_string();
    if store.delegations(office, true).await?.iter().any(|d| d.agent == agent && matches!(state_label(d, &today), "有効" | "開始前")) {
        return Err(bad("この代行業者にはすでに委任しています。範囲や期間を変えるときは、今の委任を取り消してから委任し直してください"));
    }
    if !g.may_send && !g.may_receive {
        return Err(bad("任せる範囲（送信・受信）を選んでください"));
    }
    let starts = day(&g.starts_on, "開始日")?.unwrap_or_else(|| today.clone());
    let ends = day(&g.ends_on, "終了日")?;
    if starts < today {
        return Err(bad("開始日は今日以降にしてください"));
    }
    if ends.as_ref().is_some_and(|e| *e < starts) {
        return Err(bad("終了日は開始日より後にしてください"));
    }
    Ok((a.name, starts, ends))
}

/// Gives a delegation (an office administrator with the second factor passed), audited.
pub async fn grant(store: &Store, actor: Actor<'_>, user: &User, second_factor_passed: bool, g: &Grant) -> Result<i64, ApiError> {
    may_grant(user, second_factor_passed)?;
    let (_, starts, ends) = check_grant(store, &user.office, g).await?;
    let d = NewDelegation {
        office: &user.office,
        agent: g.agent.trim(),
        may_send: g.may_send,
        may_receive: g.may_receive,
        starts_on: &starts,
        ends_on: ends.as_deref(),
        created_by: &user.login,
    };
    let detail =
        format!("to={} scope={} from={starts} until={}", d.agent, scope_label(g.may_send, g.may_receive), ends.as_deref().unwrap_or("-"));
    Ok(store.add_delegation(&d, now(), actor.audit(AuditAction::DelegationGrant, Some(&user.office), detail)).await?)
}

/// Revokes a delegation of the administrator's office at once, audited; an agent's requests
/// in the office's name are refused from the next one on.
pub async fn revoke(store: &Store, actor: Actor<'_>, user: &User, id: i64) -> Result<(), ApiError> {
    if user.role != Role::Admin {
        return Err(ApiError::new(ErrorCode::Forbidden, "代行の取り消しは事業所の管理者だけができます", "administrators only"));
    }
    let audit = actor.audit(AuditAction::DelegationRevoke, Some(&user.office), format!("delegation={id}"));
    if store.revoke_delegation(id, &user.office, now(), audit).await? {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::NotFound, "その委任はないか、すでに取り消されています", "no such delegation"))
    }
}

/// Registers an office as a 代行業者 (operator or admin command), audited.
pub async fn register_agent(store: &Store, actor: Actor<'_>, number: &str) -> Result<String, ApiError> {
    let o = store
        .office(number.trim())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("事業所 {} は登録されていません", number.trim()), "no such office"))?;
    store.set_agent(&o.number, now(), actor.audit(AuditAction::AgentRegister, Some(&o.number), "")).await?;
    Ok(o.name)
}

/// 送信・受信, 送信のみ, 受信のみ.
pub fn scope_label(may_send: bool, may_receive: bool) -> &'static str {
    match (may_send, may_receive) {
        (true, true) => "送信・受信",
        (true, false) => "送信のみ",
        (false, true) => "受信のみ",
        (false, false) => "なし",
    }
}

/// A delegation's state on `today`: 有効, 開始前, 期間終了, 取消済.
pub fn state_label(d: &DelegationRow, today: &str) -> &'static str {
    if d.revoked_at.is_some() {
        "取消済"
    } else if d.starts_on.as_str() > today {
        "開始前"
    } else if d.ends_on.as_deref().is_some_and(|e| e < today) {
        "期間終了"
    } else {
        "有効"
    }
}

/// What the office's page shows: the delegations it gave, those it holds as an agent, the
/// registered agents to choose from, and what agents did in its name.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// Delegations the office gave.
    pub given: Vec<DelegationRow>,
    /// Delegations the office holds (when it is an agent).
    pub held: Vec<DelegationRow>,
    /// Registered agents: (number, name).
    pub agents: Vec<(String, String)>,
    /// What agents did in the office's name, newest first.
    pub actions: Vec<AuditRow>,
}

/// The office's 代行 overview.
pub async fn overview(store: &Store, office: &str) -> Result<Overview, ApiError> {
    Ok(Overview {
        given: store.delegations(office, true).await?,
        held: store.delegations(office, false).await?,
        agents: store.agents().await?.into_iter().filter(|(n, _)| n != office).collect(),
        actions: store.delegated_actions(office, 100).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_detail_reads_back() {
        let a = Acting { agent: "1373000031".into(), agent_name: "あおば".into(), may_send: true, may_receive: false };
        let d = format!("{} to=1372000024 files=1", audit_detail(&a, "KJ137300003102"));
        assert_eq!(read_audit_detail(&d), Some(("1373000031", "KJ137300003102", "to=1372000024 files=1")));
        assert_eq!(read_audit_detail(&audit_detail(&a, "KJ1")), Some(("1373000031", "KJ1", "")));
        assert_eq!(read_audit_detail("by=portal:KJ1"), None);
    }
}
