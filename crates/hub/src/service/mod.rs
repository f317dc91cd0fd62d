//! The service layer: the hub's rules, each written once, beneath every door (the API, the
//! portal, the operator console and the admin command line). Services take the acting user,
//! terminal or address and return domain results, never HTTP responses; the doors only
//! translate them.

pub mod accounts;
pub mod admission;
pub mod backup;
pub mod checks;
pub mod clients;
pub mod delegations;
pub mod drafts;
pub mod invitations;
pub mod licence;
pub mod logins;
pub mod mailbox;
pub mod notices;
pub mod offices;
pub mod records;
pub mod resets;
pub mod retention;
pub mod second_factor;
pub mod sessions;
pub mod status;
pub mod terminals;

use crate::store::{Audit, AuditAction, User};
use sessions::Caller;

/// Who acts: every change a service makes is audited under its actor, in the same transaction
/// as the change.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A user at an enrolled terminal (API).
    Terminal(&'a Caller),
    /// A user in the portal, from an address.
    Portal(&'a User, &'a str),
    /// An operator in the console: login ID and address.
    Operator(&'a str, &'a str),
    /// The admin command line on the hub's own machine.
    Admin,
    /// The hub itself (retention, automatic renewal).
    Hub,
}

impl<'a> Actor<'a> {
    /// The audit row for `action` by this actor, concerning `office`.
    pub fn audit(&self, action: AuditAction, office: Option<&'a str>, detail: impl Into<String>) -> Audit<'a> {
        let detail = detail.into();
        let with_by = |by: String| if detail.is_empty() { by } else { format!("{by} {detail}") };
        match *self {
            // An agent's action is the office's: audited under the office, with the agent and
            // its user in the detail (both identities).
            Actor::Terminal(c) => Audit {
                action,
                office: office.or(Some(&c.office)),
                user_id: Some(c.user.id),
                terminal_id: Some(&c.terminal.id),
                ip: Some(&c.ip),
                detail: match &c.acting {
                    Some(a) => with_by(delegations::audit_detail(a, &c.user.login)),
                    None => detail,
                },
            },
            Actor::Portal(u, ip) => Audit {
                action,
                office: office.or(Some(&u.office)),
                user_id: Some(u.id),
                terminal_id: None,
                ip: Some(ip),
                detail: with_by(format!("by=portal:{}", u.login)),
            },
            Actor::Operator(login, ip) => {
                Audit { action, office, user_id: None, terminal_id: None, ip: Some(ip), detail: with_by(format!("by=operator:{login}")) }
            }
            Actor::Admin => Audit { action, office, detail: with_by("by=admin".into()), ..Default::default() },
            Actor::Hub => Audit { action, office, detail: with_by("by=hub".into()), ..Default::default() },
        }
    }
}

/// The refusal when an action needs the second factor and this session has not passed it.
pub fn second_factor_required() -> crate::error::ApiError {
    crate::error::ApiError::new(
        renkei_protocol::ErrorCode::SecondFactorRequired,
        "この操作には2段階認証が必要です。ポータルの「2段階認証」で設定し、確認コードを入れてからもう一度操作してください",
        "this action needs the second factor (TOTP)",
    )
}
