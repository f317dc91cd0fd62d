//! Licences (ライセンス): an office exchanges files only while its licence is valid — to send, its
//! own licence; to be sent to, the recipient's. One rule for both sides, by the date in Japan.
//! An office whose licence lapsed still reads and fetches what it already received.

use crate::error::ApiError;
use crate::service::Actor;
use crate::state::AppState;
use crate::store::{AuditAction, NewNotice, Office, Role, User};
use renkei_protocol::ErrorCode;

/// `true` when `office`'s licence is valid on `today` (`YYYY-MM-DD`, Japan).
pub fn is_valid(office: &Office, today: &str) -> bool {
    office.license_until.as_deref().is_some_and(|u| u >= today)
}

/// Why an exchange is refused for licence reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenceRefusal {
    /// The sending office never applied (利用申請).
    SenderNeverApplied,
    /// The sending office's licence ended on this date.
    SenderLapsed(String),
    /// The recipient has no valid licence (or is not registered).
    RecipientNotParticipating,
}

impl LicenceRefusal {
    /// What the office reads (Japanese).
    pub fn message(&self) -> String {
        match self {
            LicenceRefusal::SenderNeverApplied => {
                "この事業所はまだ利用申請をしていないため、送信できません。ポータルの「利用申請」から申請してください".into()
            }
            LicenceRefusal::SenderLapsed(until) => format!(
                "この事業所のライセンスの有効期限（{until}）が過ぎているため、送信できません。ポータルの「ライセンス」で更新してください"
            ),
            LicenceRefusal::RecipientNotParticipating => "入力された番号はケアプランデータ連携システムに対応していません".into(),
        }
    }
}

/// May `sender` send to `recipient` on `today`? The sender's licence is checked first, so that
/// an office learns about its own licence rather than blaming its partner.
pub fn may_exchange(sender: &Office, recipient: &Office, today: &str) -> Result<(), LicenceRefusal> {
    if !is_valid(sender, today) {
        return Err(match &sender.license_until {
            None => LicenceRefusal::SenderNeverApplied,
            Some(u) => LicenceRefusal::SenderLapsed(u.clone()),
        });
    }
    if !is_valid(recipient, today) {
        return Err(LicenceRefusal::RecipientNotParticipating);
    }
    Ok(())
}

/// The end of a new license year: a still-valid license (through `current`) is extended from its
/// end; otherwise the year starts today.
pub fn next_year_until(current: Option<&str>) -> String {
    let start = current
        .and_then(|d| time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok())
        .filter(|d| *d >= crate::jst::today())
        .map_or(crate::jst::today(), |d| d.saturating_add(time::Duration::days(1)));
    one_year_from(start)
}

/// One year from `from` (the day before the same date next year), as YYYY-MM-DD.
pub fn one_year_from(from: time::Date) -> String {
    // 29 February: the year ends on the last day of February.
    let next = from
        .replace_year(from.year() + 1)
        .or_else(|_| time::Date::from_calendar_date(from.year() + 1, time::Month::March, 1))
        .unwrap_or_else(|_| from.saturating_add(time::Duration::days(365)));
    next.saturating_sub(time::Duration::days(1)).to_string()
}

/// 利用申請 (the terms agreed) and renewal by hand: the licence runs one year on from its end
/// (or from today), at today's fee. Only the office's administrator.
pub async fn grant(st: &AppState, actor: Actor<'_>, user: &User, renewal: bool) -> Result<String, ApiError> {
    if user.role != Role::Admin {
        return Err(admin_only(if renewal {
            "更新は事業所の管理者が行います"
        } else {
            "利用申請は事業所の管理者が行います"
        }));
    }
    let office = st.store.office(&user.office).await?.ok_or_else(|| ApiError::internal("user without office"))?;
    let until = next_year_until(office.license_until.as_deref());
    let fee = st.config.license.fee_now();
    let action = if renewal { AuditAction::LicenceRenew } else { AuditAction::LicenceApply };
    let audit = actor.audit(action, Some(&office.number), format!("until={until} fee={fee}"));
    st.store.grant_license(&office.number, &until, fee, crate::jst::now(), None, audit).await?;
    Ok(until)
}

/// Switches automatic renewal on or off. Only the office's administrator.
pub async fn set_auto_renew(st: &AppState, actor: Actor<'_>, user: &User, on: bool) -> Result<(), ApiError> {
    if user.role != Role::Admin {
        return Err(admin_only("自動更新の設定は事業所の管理者が行います"));
    }
    let audit = actor.audit(AuditAction::LicenceAutoRenewSet, Some(&user.office), format!("on={on}"));
    Ok(st.store.set_auto_renew(&user.office, on, crate::jst::now(), audit).await?)
}

/// Marks an office's fee paid (operator). `false` when nothing was due.
pub async fn mark_paid(st: &AppState, actor: Actor<'_>, office: &str) -> Result<bool, ApiError> {
    Ok(st.store.mark_paid(office, crate::jst::now(), actor.audit(AuditAction::LicencePaid, Some(office), "")).await?)
}

fn admin_only(ja: &str) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, ja, "only the office's administrator may do this")
}

/// Renews, one year on, the licenses of offices that asked for automatic renewal and end
/// within 30 days; tells each office with a notice (stored with the licence and its audit row).
/// Returns the offices renewed.
pub async fn renewal_pass(st: &AppState, today: time::Date) -> Result<Vec<String>, ApiError> {
    let by = today.saturating_add(time::Duration::days(30)).to_string();
    let mut done = Vec::new();
    for crate::store::RenewalDue { office, until } in st.store.due_for_renewal(&today.to_string(), &by).await? {
        let new_until = next_year_until(Some(&until));
        let fee = st.config.license.fee_now();
        let notice = NewNotice {
            public_id: crate::auth::token()[..32].to_owned(),
            office: Some(office.clone()),
            kind: "license".into(),
            title: "ライセンスを自動更新しました".into(),
            body: format!(
                "ライセンスを {new_until} まで更新しました（利用料 {fee} 円）。自動更新はポータルの「ライセンス」でやめられます。"
            ),
        };
        let audit = Actor::Hub.audit(AuditAction::LicenceAutoRenewed, Some(&office), format!("until={new_until} fee={fee}"));
        st.store.grant_license(&office, &new_until, fee, crate::jst::now(), Some(&notice), audit).await?;
        done.push(office);
    }
    Ok(done)
}

/// An office's licence as its トップ shows it: valid today, last day, fee settled, renewal.
pub async fn status(st: &AppState, office: &Office) -> Result<renkei_protocol::OfficeStatus, ApiError> {
    let l = st.store.license(&office.number).await?;
    let min = st.config.clients.minimum_version.trim();
    Ok(renkei_protocol::OfficeStatus {
        office: office.number.clone(),
        name: office.name.clone(),
        license_valid: is_valid(office, &crate::jst::today_string()),
        license_until: office.license_until.clone(),
        paid: l.as_ref().is_some_and(|l| l.paid_at.is_some() || l.fee_yen.unwrap_or(0) == 0),
        auto_renew: l.is_some_and(|l| l.auto_renew),
        minimum_client_version: (!min.is_empty()).then(|| min.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office(until: Option<&str>) -> Office {
        Office { number: "1371000010".into(), name: "x".into(), kinds: vec![], license_until: until.map(Into::into) }
    }

    #[test]
    fn both_sides_need_a_valid_licence() {
        let (ok, lapsed, never) = (office(Some("2026-12-31")), office(Some("2026-12-02")), office(None));
        assert_eq!(may_exchange(&ok, &ok, "2026-12-03"), Ok(()));
        assert_eq!(may_exchange(&ok, &office(Some("2026-12-03")), "2026-12-03"), Ok(()), "valid through its last day");
        assert_eq!(may_exchange(&lapsed, &ok, "2026-12-03"), Err(LicenceRefusal::SenderLapsed("2026-12-02".into())));
        assert_eq!(may_exchange(&never, &ok, "2026-12-03"), Err(LicenceRefusal::SenderNeverApplied));
        assert_eq!(may_exchange(&ok, &lapsed, "2026-12-03"), Err(LicenceRefusal::RecipientNotParticipating));
        assert!(LicenceRefusal::SenderLapsed("2026-12-02".into()).message().contains("ライセンスの有効期限（2026-12-02）が過ぎている"));
    }
}
