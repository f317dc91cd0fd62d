//! Notices (お知らせ) from the operator: to every office, one prefecture or one office, for a
//! period; edited and withdrawn from the console (or published from the admin command line).
//! Each change is stored with its audit row in one transaction.

use crate::error::ApiError;
use crate::service::Actor;
use crate::store::{AuditAction, NewNotice, NoticeEdit, NoticeRow, Store};
use renkei_protocol::ErrorCode;

/// Whom a notice is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every office.
    All,
    /// The offices of one prefecture (1–47, the first two digits of their numbers).
    Prefecture(i64),
    /// One office.
    Office(String),
}

impl Target {
    /// The target of a stored notice.
    pub fn of(n: &NoticeRow) -> Target {
        match (&n.office, n.prefecture) {
            (Some(o), _) => Target::Office(o.clone()),
            (None, Some(p)) => Target::Prefecture(p),
            (None, None) => Target::All,
        }
    }
    /// As the console shows it.
    pub fn label(&self) -> String {
        match self {
            Target::All => "全事業所".into(),
            Target::Prefecture(p) => format!("{}の事業所", crate::registry::prefecture_name(i32::try_from(*p).unwrap_or(0))),
            Target::Office(o) => format!("事業所 {o}"),
        }
    }
    /// The event bus address of the offices it reaches (`None`: everyone).
    pub fn address(&self) -> Option<String> {
        match self {
            Target::All => None,
            Target::Prefecture(p) => Some(format!("pref:{p:02}")),
            Target::Office(o) => Some(o.clone()),
        }
    }
}

/// A notice as the operator writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Whom it is for.
    pub target: Target,
    /// Title (100 characters at most).
    pub title: String,
    /// Body (4,000 characters at most).
    pub body: String,
    /// Shown from (`None`: at once).
    pub starts_at: Option<i64>,
    /// Shown until (`None`: no end).
    pub expires_at: Option<i64>,
}

/// The one rule for a notice's content and target.
async fn checked(store: &Store, d: &Draft) -> Result<NoticeEdit, ApiError> {
    let bad = |ja: String, en: &str| ApiError::new(ErrorCode::BadRequest, ja, en);
    let (title, body) = (d.title.trim().chars().take(100).collect::<String>(), d.body.trim().chars().take(4000).collect::<String>());
    if title.is_empty() || body.is_empty() {
        return Err(bad("件名と本文を入れてください".into(), "title and body are required"));
    }
    if let (Some(a), Some(b)) = (d.starts_at, d.expires_at)
        && b <= a
    {
        return Err(bad("掲載の終わりは始まりより後の日時にしてください".into(), "the period must end after it starts"));
    }
    let (office, prefecture) = match &d.target {
        Target::All => (None, None),
        Target::Prefecture(p) if (1..=47).contains(p) => (None, Some(*p)),
        Target::Prefecture(p) => return Err(bad(format!("都道府県コード {p} は 01〜47 ではありません"), "prefecture out of range")),
        Target::Office(o) => {
            let o = o.trim();
            if store.office(o).await?.is_none() {
                return Err(bad(format!("事業所番号 {o} は登録されていません"), "office not registered"));
            }
            (Some(o.to_owned()), None)
        }
    };
    Ok(NoticeEdit { office, prefecture, title, body, starts_at: d.starts_at, expires_at: d.expires_at })
}

/// Publishes a notice. Subscribers hear of it through the hub's notice poll (every node, every
/// process), so that a notice published by the admin command reaches them too.
pub async fn publish(store: &Store, actor: Actor<'_>, d: &Draft) -> Result<NoticeRow, ApiError> {
    let e = checked(store, d).await?;
    let n = NewNotice {
        public_id: crate::auth::token()[..32].to_owned(),
        office: e.office,
        prefecture: e.prefecture,
        kind: "operator".into(),
        title: e.title.clone(),
        body: e.body,
        starts_at: e.starts_at,
        expires_at: e.expires_at,
    };
    let detail = format!("{} target={}", e.title, d.target.label());
    Ok(store.add_notice(&n, crate::jst::now(), actor.audit(AuditAction::Notice, n.office.as_deref(), detail)).await?)
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("お知らせ {id} は見つからないか、取り下げ済みです"), "no such notice, or withdrawn")
}

/// Changes an operator's notice that is not withdrawn.
pub async fn edit(store: &Store, actor: Actor<'_>, public_id: &str, d: &Draft) -> Result<(), ApiError> {
    if store.notice(public_id).await?.is_none_or(|n| n.kind != "operator") {
        return Err(not_found(public_id));
    }
    let e = checked(store, d).await?;
    let detail = format!("id={public_id} {} target={}", e.title, d.target.label());
    if !store.edit_notice(public_id, &e, crate::jst::now(), actor.audit(AuditAction::NoticeEdit, e.office.as_deref(), detail)).await? {
        return Err(not_found(public_id));
    }
    Ok(())
}

/// Withdraws an operator's notice at once: no office sees it any more.
pub async fn withdraw(store: &Store, actor: Actor<'_>, public_id: &str) -> Result<String, ApiError> {
    let Some(n) = store.notice(public_id).await?.filter(|n| n.kind == "operator") else { return Err(not_found(public_id)) };
    let audit = actor.audit(AuditAction::NoticeWithdraw, n.office.as_deref(), format!("id={public_id} {}", n.title));
    if !store.withdraw_notice(public_id, crate::jst::now(), audit).await? {
        return Err(not_found(public_id));
    }
    Ok(n.title)
}
