//! The audit log.

use super::{Backend, Result, Store, sql_postgres, sql_sqlite};
use sqlx::Row;

/// What an audit row records. The stored names are stable (the console searches them, and rows
/// written years ago keep their meaning); the door an action came through is in the row's
/// detail (`by=portal:…`, `by=operator:…`, `by=admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditAction {
    /// A terminal logged in (API).
    #[default]
    Login,
    /// A portal login.
    PortalLogin,
    /// A portal logout.
    PortalLogout,
    /// A password change from a terminal.
    Password,
    /// A password change in the portal.
    PortalPassword,
    /// An enrolment code was issued (from a terminal, the portal or the admin command).
    EnrolmentCode,
    /// A terminal was enrolled.
    Enrol,
    /// A terminal was revoked.
    Revoke,
    /// A message was sent.
    Send,
    /// A message was fetched (取得).
    Fetch,
    /// A message was opened (開封).
    Open,
    /// A message expired unfetched.
    Expire,
    /// Content past its retention was deleted.
    Purge,
    /// 利用申請: a licence was granted.
    LicenceApply,
    /// A licence was renewed by hand.
    LicenceRenew,
    /// Automatic renewal was switched on or off.
    LicenceAutoRenewSet,
    /// A licence renewed itself.
    LicenceAutoRenewed,
    /// A licence fee was marked paid.
    LicencePaid,
    /// An office administrator added a user.
    StaffAdd,
    /// A user was disabled.
    StaffDisable,
    /// The evidence report was viewed.
    RecordsView,
    /// The evidence report was downloaded as CSV.
    RecordsCsv,
    /// A notice was published.
    Notice,
    /// The office registry was imported.
    RegistryImport,
    /// An operator looked an office up.
    OfficeLookup,
    /// An operator logged in.
    OperatorLogin,
    /// An operator login failed.
    OperatorLoginFailed,
    /// An operator account was added (admin command).
    OperatorAdd,
    /// An office was registered or changed (admin command).
    OfficeUpsert,
    /// A user was added (admin command).
    UserAdd,
    /// A second factor (TOTP) was set up.
    SecondFactorOn,
    /// A second factor was removed.
    SecondFactorOff,
    /// A recovery code was used in place of the second factor.
    RecoveryCodeUsed,
    /// A notice was edited.
    NoticeEdit,
    /// A notice was withdrawn.
    NoticeWithdraw,
    /// The operating status (稼働状況) was set.
    StatusSet,
    /// An office and its first administrator were created (console).
    OfficeCreate,
    /// A user's password was reset to a temporary one.
    PasswordReset,
    /// A locked user was unlocked.
    AccountUnlock,
    /// An operator changed their own password.
    OperatorPassword,
    /// An office's payment method was set.
    PaymentMethodSet,
    /// A fee campaign was added or changed.
    CampaignSet,
    /// A deduction list was exported.
    DeductionExport,
    /// An office authorised an agent (代行).
    DelegationGrant,
    /// An office revoked an agent's delegation.
    DelegationRevoke,
    /// An office was registered as an agent (代行業者).
    AgentRegister,
    /// An office recorded that it sent a partner not on the system the invitation (参加のご案内).
    PartnerInvite,
}

impl AuditAction {
    /// Every action, for the console's search list.
    pub const ALL: [AuditAction; 47] = [
        AuditAction::Login,
        AuditAction::PortalLogin,
        AuditAction::PortalLogout,
        AuditAction::Password,
        AuditAction::PortalPassword,
        AuditAction::EnrolmentCode,
        AuditAction::Enrol,
        AuditAction::Revoke,
        AuditAction::Send,
        AuditAction::Fetch,
        AuditAction::Open,
        AuditAction::Expire,
        AuditAction::Purge,
        AuditAction::LicenceApply,
        AuditAction::LicenceRenew,
        AuditAction::LicenceAutoRenewSet,
        AuditAction::LicenceAutoRenewed,
        AuditAction::LicencePaid,
        AuditAction::StaffAdd,
        AuditAction::StaffDisable,
        AuditAction::RecordsView,
        AuditAction::RecordsCsv,
        AuditAction::Notice,
        AuditAction::RegistryImport,
        AuditAction::OfficeLookup,
        AuditAction::OperatorLogin,
        AuditAction::OperatorLoginFailed,
        AuditAction::OperatorAdd,
        AuditAction::OfficeUpsert,
        AuditAction::UserAdd,
        AuditAction::SecondFactorOn,
        AuditAction::SecondFactorOff,
        AuditAction::RecoveryCodeUsed,
        AuditAction::NoticeEdit,
        AuditAction::NoticeWithdraw,
        AuditAction::StatusSet,
        AuditAction::OfficeCreate,
        AuditAction::PasswordReset,
        AuditAction::AccountUnlock,
        AuditAction::OperatorPassword,
        AuditAction::PaymentMethodSet,
        AuditAction::CampaignSet,
        AuditAction::DeductionExport,
        AuditAction::DelegationGrant,
        AuditAction::DelegationRevoke,
        AuditAction::AgentRegister,
        AuditAction::PartnerInvite,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::PortalLogin => "portal.login",
            AuditAction::PortalLogout => "portal.logout",
            AuditAction::Password => "password",
            AuditAction::PortalPassword => "portal.password",
            AuditAction::EnrolmentCode => "enrolment_code",
            AuditAction::Enrol => "enrol",
            AuditAction::Revoke => "revoke",
            AuditAction::Send => "send",
            AuditAction::Fetch => "fetch",
            AuditAction::Open => "open",
            AuditAction::Expire => "expire",
            AuditAction::Purge => "purge",
            AuditAction::LicenceApply => "portal.apply",
            AuditAction::LicenceRenew => "portal.renew",
            AuditAction::LicenceAutoRenewSet => "portal.auto_renew",
            AuditAction::LicenceAutoRenewed => "license.auto_renew",
            AuditAction::LicencePaid => "operator.paid",
            AuditAction::StaffAdd => "portal.staff_add",
            AuditAction::StaffDisable => "portal.staff_disable",
            AuditAction::RecordsView => "portal.records",
            AuditAction::RecordsCsv => "portal.records_csv",
            AuditAction::Notice => "notice",
            AuditAction::RegistryImport => "registry_import",
            AuditAction::OfficeLookup => "operator.lookup",
            AuditAction::OperatorLogin => "operator.login",
            AuditAction::OperatorLoginFailed => "operator.login_failed",
            AuditAction::OperatorAdd => "admin.operator_add",
            AuditAction::OfficeUpsert => "admin.office",
            AuditAction::UserAdd => "admin.user",
            AuditAction::SecondFactorOn => "second_factor.on",
            AuditAction::SecondFactorOff => "second_factor.off",
            AuditAction::RecoveryCodeUsed => "second_factor.recovery_code",
            AuditAction::NoticeEdit => "notice.edit",
            AuditAction::NoticeWithdraw => "notice.withdraw",
            AuditAction::StatusSet => "operator.status",
            AuditAction::OfficeCreate => "operator.office_create",
            AuditAction::PasswordReset => "password.reset",
            AuditAction::AccountUnlock => "account.unlock",
            AuditAction::OperatorPassword => "operator.password",
            AuditAction::PaymentMethodSet => "licence.payment_method",
            AuditAction::CampaignSet => "licence.campaign",
            AuditAction::DeductionExport => "licence.deduction_export",
            AuditAction::DelegationGrant => "delegation.grant",
            AuditAction::DelegationRevoke => "delegation.revoke",
            AuditAction::AgentRegister => "agent.register",
            AuditAction::PartnerInvite => "mailbox.invite",
        }
    }
}

/// The columns of an [`AuditRow`], in the order [`audit_row!`] reads them.
pub(super) const AUDIT_COLUMNS: &str = "at, action, office, user_id, terminal_id, ip, detail";

/// An [`AuditRow`] from a row selected with [`AUDIT_COLUMNS`] (either back end).
macro_rules! audit_row {
    ($r:expr) => {{
        let r = $r;
        AuditRow {
            at: r.get(0),
            action: r.get(1),
            office: r.get(2),
            user_id: r.get(3),
            terminal_id: r.get(4),
            ip: r.get(5),
            detail: r.get(6),
        }
    }};
}
pub(super) use audit_row;

/// An audit entry.
#[derive(Debug, Clone, Default)]
pub struct Audit<'a> {
    /// What happened.
    pub action: AuditAction,
    /// Office concerned.
    pub office: Option<&'a str>,
    /// User.
    pub user_id: Option<i64>,
    /// Terminal.
    pub terminal_id: Option<&'a str>,
    /// Peer IP.
    pub ip: Option<&'a str>,
    /// Detail (JSON or text).
    pub detail: String,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When.
    pub at: i64,
    /// What.
    pub action: String,
    /// For which office.
    pub office: Option<String>,
    /// Which user.
    pub user_id: Option<i64>,
    /// Which terminal.
    pub terminal_id: Option<String>,
    /// From where.
    pub ip: Option<String>,
    /// Details.
    pub detail: String,
}

/// Who did what, as the newest-first log lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The action.
    pub action: String,
    /// The office concerned.
    pub office: Option<String>,
    /// The acting user.
    pub user_id: Option<i64>,
    /// The acting terminal.
    pub terminal_id: Option<String>,
}

impl Store {
    /// Writes an audit row on its own.
    pub async fn audit(&self, a: Audit<'_>, now: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            insert_audit!(pool, sql, &a, now);
        });
        Ok(())
    }

    /// Audit rows, newest first: `(action, office, user, terminal)`.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT action, office, user_id, terminal_id FROM audit ORDER BY id DESC LIMIT ?"))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| AuditEntry { action: r.get(0), office: r.get(1), user_id: r.get(2), terminal_id: r.get(3) }).collect())
        })
    }

    /// The audit log, newest first, filtered by an action prefix and an office.
    pub async fn audit_search(&self, action: Option<&str>, office: Option<&str>, limit: i64) -> Result<Vec<AuditRow>> {
        // A prefix search: `%` and `_` in the input are matched literally (names like `registry_import`).
        let like = action.map(|a| format!("{}%", a.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql(&format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE (? IS NULL OR action LIKE ? ESCAPE '\\') AND (? IS NULL OR office = ?) ORDER BY id DESC LIMIT ?")))
                .bind(&like)
                .bind(&like)
                .bind(office)
                .bind(office)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| audit_row!(r)).collect())
        })
    }
}
