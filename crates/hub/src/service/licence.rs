//! Licences (ライセンス): an office exchanges files only while its licence is valid — to send, its
//! own licence; to be sent to, the recipient's. One rule for both sides, by the date in Japan.
//! An office whose licence lapsed still reads and fetches what it already received.

use crate::error::ApiError;
use crate::service::Actor;
use crate::state::AppState;
use crate::store::{AuditAction, DeductionRow, NewNotice, Office, Role, User};
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

/// The day a new licence year would start: the day after a licence still valid, else today.
pub fn next_start(current: Option<&str>, today: time::Date) -> time::Date {
    current
        .and_then(|d| time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok())
        .filter(|d| *d >= today)
        .map_or(today, |d| d.saturating_add(time::Duration::days(1)))
}

/// The fee of a licence year starting on `start`, and the campaign that waives it, if any.
pub async fn fee_for(st: &AppState, start: time::Date) -> Result<(i64, Option<String>), ApiError> {
    let day = start.to_string();
    if let Some(c) = st.store.campaigns().await?.into_iter().find(|c| c.starts_on <= day && day <= c.ends_on) {
        return Ok((0, Some(c.name)));
    }
    // The configuration's campaign (no window: in force while it is set).
    if !st.config.license.campaign.is_empty() {
        return Ok((0, Some(st.config.license.campaign.clone())));
    }
    Ok((st.config.license.fee_yen, None))
}

/// What 利用申請 or renewal would give the office now: shown before the confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The current licence's last day, when it is valid.
    pub current_until: Option<String>,
    /// The day the new year would start.
    pub start: String,
    /// The fee (yen).
    pub fee: i64,
    /// The campaign waiving it.
    pub campaign: Option<String>,
    /// A year already waits for its payment: no second one.
    pub pending: bool,
    /// `deduction` or `invoice`.
    pub payment_method: String,
}

/// The quote for `office` today.
pub async fn quote(st: &AppState, office: &Office) -> Result<Quote, ApiError> {
    let today = crate::jst::today();
    let valid = is_valid(office, &today.to_string());
    let start = next_start(office.license_until.as_deref(), today);
    let (fee, campaign) = fee_for(st, start).await?;
    let l = st.store.license(&office.number).await?;
    Ok(Quote {
        current_until: office.license_until.clone().filter(|_| valid),
        start: start.to_string(),
        fee,
        campaign,
        pending: l.as_ref().is_some_and(|l| l.applied_at.is_some()),
        payment_method: l.map_or_else(|| "deduction".into(), |l| l.payment_method),
    })
}

/// The outcome of 利用申請 or renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The year started at once (no fee: a campaign): valid through this day.
    Active(String),
    /// The year waits for its fee (deduction or invoice).
    Pending {
        /// The fee.
        fee: i64,
        /// `deduction` or `invoice`.
        payment_method: String,
    },
}

/// 利用申請 (the terms agreed) and renewal by hand: one more licence year at the fee of the day it
/// starts. It starts at once when free (a campaign); otherwise when its fee is paid or its
/// deduction scheduled. Only the office's administrator, and only `confirmed` (a money-relevant
/// action, and buying a second year while one is valid, are confirmed by the caller first).
pub async fn grant(st: &AppState, actor: Actor<'_>, user: &User, renewal: bool, confirmed: bool) -> Result<Applied, ApiError> {
    if user.role != Role::Admin {
        return Err(admin_only(if renewal {
            "更新は事業所の管理者が行います"
        } else {
            "利用申請は事業所の管理者が行います"
        }));
    }
    let office = st.store.office(&user.office).await?.ok_or_else(|| ApiError::internal("user without office"))?;
    let q = quote(st, &office).await?;
    if q.pending {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "お支払いを待っている申請があります。二重には申し込めません（ライセンスの画面で状況を確認できます）",
            "a licence year already waits for its payment",
        ));
    }
    if !confirmed {
        return Err(confirmation_required());
    }
    let action = if renewal { AuditAction::LicenceRenew } else { AuditAction::LicenceApply };
    if q.fee == 0 {
        let until = next_year_until(office.license_until.as_deref());
        let audit = actor.audit(action, Some(&office.number), format!("until={until} fee=0 campaign={}", q.campaign.unwrap_or_default()));
        st.store.activate_license(&office.number, &until, Some(crate::jst::now()), None, Some(0), crate::jst::now(), audit).await?;
        return Ok(Applied::Active(until));
    }
    let audit = actor.audit(action, Some(&office.number), format!("pending fee={} method={}", q.fee, q.payment_method));
    st.store.apply_license(&office.number, q.fee, crate::jst::now(), None, audit).await?;
    Ok(Applied::Pending { fee: q.fee, payment_method: q.payment_method })
}

/// The refusal of a money-relevant action that was not confirmed.
pub fn confirmation_required() -> ApiError {
    ApiError::new(ErrorCode::BadRequest, "お金にかかわる操作です。内容を確認してから「確定する」を押してください", "confirmation required")
}

/// Switches automatic renewal on or off. Only the office's administrator.
pub async fn set_auto_renew(st: &AppState, actor: Actor<'_>, user: &User, on: bool) -> Result<(), ApiError> {
    if user.role != Role::Admin {
        return Err(admin_only("自動更新の設定は事業所の管理者が行います"));
    }
    let audit = actor.audit(AuditAction::LicenceAutoRenewSet, Some(&user.office), format!("on={on}"));
    Ok(st.store.set_auto_renew(&user.office, on, crate::jst::now(), audit).await?)
}

/// Sets how the office pays: `deduction` (給付費からの差し引き) or `invoice` (請求書). Only the
/// office's administrator, confirmed; not while a deduction is scheduled.
pub async fn set_payment_method(st: &AppState, actor: Actor<'_>, user: &User, method: &str, confirmed: bool) -> Result<(), ApiError> {
    if user.role != Role::Admin {
        return Err(admin_only("お支払い方法は事業所の管理者が選びます"));
    }
    if !matches!(method, "deduction" | "invoice") {
        return Err(ApiError::new(ErrorCode::BadRequest, "お支払い方法を選んでください", "unknown payment method"));
    }
    if !confirmed {
        return Err(confirmation_required());
    }
    let audit = actor.audit(AuditAction::PaymentMethodSet, Some(&user.office), format!("method={method}"));
    Ok(st.store.set_payment_method(&user.office, method, crate::jst::now(), audit).await?)
}

/// The payment method as offices read it.
pub fn method_label(method: &str) -> &'static str {
    if method == "invoice" { "請求書（振込）" } else { "給付費からの差し引き（国保連）" }
}

/// Records an invoice paid (operator, confirmed): a waiting licence year starts; a granted one is
/// settled. `false` when nothing was due.
pub async fn mark_paid(st: &AppState, actor: Actor<'_>, office: &str, confirmed: bool) -> Result<bool, ApiError> {
    if !confirmed {
        return Err(confirmation_required());
    }
    let Some(o) = st.store.office(office).await? else { return Ok(false) };
    let l = st.store.license(office).await?;
    if l.as_ref().is_some_and(|l| l.applied_at.is_some()) {
        let until = next_year_until(o.license_until.as_deref());
        let now = crate::jst::now();
        let audit = actor.audit(AuditAction::LicencePaid, Some(office), format!("until={until}"));
        st.store.activate_license(office, &until, Some(now), None, None, now, audit).await?;
        return Ok(true);
    }
    Ok(st.store.mark_paid(office, crate::jst::now(), actor.audit(AuditAction::LicencePaid, Some(office), "")).await?)
}

/// A month's deduction list of one prefecture (its 国保連), as CSV (UTF-8 with BOM, for Excel):
/// every office paying by deduction whose licence year waits, which thereby starts (its
/// deduction is scheduled in `month`); offices already scheduled in `month` are listed again.
/// Operator only, confirmed; audited.
pub async fn export_deductions(
    st: &AppState,
    actor: Actor<'_>,
    prefecture: i64,
    month: &str,
    confirmed: bool,
) -> Result<(Vec<DeductionRow>, String), ApiError> {
    let bad = |ja: &str| ApiError::new(ErrorCode::BadRequest, ja, "bad deduction export");
    if !(1..=47).contains(&prefecture) {
        return Err(bad("都道府県を選んでください"));
    }
    let ok_month = month.len() == 7
        && month.as_bytes()[4] == b'-'
        && month[..4].parse::<u16>().is_ok()
        && month[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
    if !ok_month {
        return Err(bad("差し引く月を YYYY-MM で入れてください（例: 2027-01）"));
    }
    if !confirmed {
        return Err(confirmation_required());
    }
    let rows = st.store.deduction_list(prefecture, month).await?;
    let now = crate::jst::now();
    for r in rows.iter().filter(|r| r.applied_at.is_some()) {
        let until = next_year_until(r.until.as_deref());
        let audit = actor.audit(AuditAction::DeductionExport, Some(&r.number), format!("month={month} fee={} until={until}", r.fee));
        st.store.activate_license(&r.number, &until, None, Some(month), None, now, audit).await?;
    }
    let rows = st.store.deduction_list(prefecture, month).await?;
    let mut csv = String::from("\u{feff}事業所番号,事業所名,都道府県,差引月,金額（円）,有効期限\r\n");
    for r in &rows {
        let until = st.store.office(&r.number).await?.and_then(|o| o.license_until).unwrap_or_default();
        let name = r.name.replace('"', "\"\"");
        csv.push_str(&format!(
            "{},\"{name}\",{},{month},{},{until}\r\n",
            r.number,
            crate::registry::prefecture_name(i32::try_from(prefecture).unwrap_or(0)),
            r.fee
        ));
    }
    let audit = actor.audit(AuditAction::DeductionExport, None, format!("prefecture={prefecture:02} month={month} offices={}", rows.len()));
    st.store.audit(audit, now).await?;
    Ok((rows, csv))
}

/// Adds a campaign (operator, confirmed): licence years starting within `[from, until]` are free
/// — also those already applied for or granted and still unpaid, whose years start at once or are
/// settled. Returns the offices it freed.
pub async fn add_campaign(
    st: &AppState,
    actor: Actor<'_>,
    name: &str,
    from: &str,
    until: &str,
    confirmed: bool,
) -> Result<Vec<String>, ApiError> {
    let bad = |ja: &str| ApiError::new(ErrorCode::BadRequest, ja, "bad campaign");
    let name: String = name.trim().chars().take(60).collect();
    let date = |s: &str| time::Date::parse(s.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok();
    let (Some(a), Some(b)) = (date(from), date(until)) else { return Err(bad("期間を YYYY-MM-DD で入れてください")) };
    if name.is_empty() {
        return Err(bad("キャンペーンの名前を入れてください"));
    }
    if b < a {
        return Err(bad("期間の終わりは始まりより後にしてください"));
    }
    if !confirmed {
        return Err(confirmation_required());
    }
    let now = crate::jst::now();
    let c = crate::store::Campaign { name: name.clone(), starts_on: a.to_string(), ends_on: b.to_string() };
    st.store.add_campaign(&c, now, actor.audit(AuditAction::CampaignSet, None, format!("name={name} {a}..{b}"))).await?;
    let today = crate::jst::today();
    let mut freed = Vec::new();
    for (number, current, applied) in st.store.unpaid_licences().await? {
        let start = match applied {
            // A year waiting for its fee would start now (or after the current one).
            Some(_) => next_start(current.as_deref(), today),
            // A year granted unpaid started one year before its last day.
            None => match current.as_deref().and_then(date) {
                Some(end) => end.replace_year(end.year() - 1).unwrap_or(end).saturating_add(time::Duration::days(1)),
                None => continue,
            },
        };
        if start < a || start > b {
            continue;
        }
        let audit = actor.audit(AuditAction::CampaignSet, Some(&number), format!("waived by {name}"));
        match applied {
            Some(_) => {
                let until = next_year_until(current.as_deref());
                st.store.activate_license(&number, &until, Some(now), None, Some(0), now, audit).await?;
            }
            None => st.store.waive_fee(&number, now, audit).await?,
        }
        freed.push(number);
    }
    Ok(freed)
}

/// Only the office's administrator manages the licence and its money: the doors ask this before
/// they show a confirmation, the actions ask it again.
pub fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(admin_only("ライセンスとお支払いの手続きは事業所の管理者が行います"))
    }
}

fn admin_only(ja: &str) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, ja, "only the office's administrator may do this")
}

/// Renews the licences of offices that asked for automatic renewal and end within 30 days: the
/// next year is applied for at the fee of its first day — free at once under a campaign, else
/// waiting for its deduction or invoice like any other — and the office is told with a notice
/// (stored with the application and its audit row). Returns the offices renewed.
pub async fn renewal_pass(st: &AppState, today: time::Date) -> Result<Vec<String>, ApiError> {
    let by = today.saturating_add(time::Duration::days(30)).to_string();
    let mut done = Vec::new();
    for crate::store::RenewalDue { office, until } in st.store.due_for_renewal(&today.to_string(), &by).await? {
        if st.store.license(&office).await?.is_some_and(|l| l.applied_at.is_some()) {
            continue; // already waiting for its payment
        }
        let start = next_start(Some(&until), today);
        let (fee, campaign) = fee_for(st, start).await?;
        let now = crate::jst::now();
        if fee == 0 {
            let new_until = next_year_until(Some(&until));
            let audit = Actor::Hub.audit(
                AuditAction::LicenceAutoRenewed,
                Some(&office),
                format!("until={new_until} fee=0 campaign={}", campaign.unwrap_or_default()),
            );
            st.store.activate_license(&office, &new_until, Some(now), None, Some(0), now, audit).await?;
        } else {
            let method = st.store.license(&office).await?.map_or_else(|| "deduction".to_owned(), |l| l.payment_method);
            let notice = NewNotice {
                public_id: crate::auth::token()[..32].to_owned(),
                office: Some(office.clone()),
                kind: "license".into(),
                title: "ライセンスを自動更新しました".into(),
                body: format!(
                    "{start} から1年間のライセンスを申し込みました（利用料 {fee} 円、{}）。お支払いの手続きが済むと有効期限が延びます。自動更新はポータルの「ライセンス」でやめられます。",
                    method_label(&method)
                ),
                ..Default::default()
            };
            let audit = Actor::Hub.audit(AuditAction::LicenceAutoRenewed, Some(&office), format!("pending fee={fee} method={method}"));
            st.store.apply_license(&office, fee, now, Some(&notice), audit).await?;
        }
        done.push(office);
    }
    Ok(done)
}

/// Why a licence year has not started (or been extended) yet, as offices read it.
pub fn pending_reason(l: &crate::store::LicenseInfo) -> Option<String> {
    l.applied_at?;
    let fee = renkei_protocol::contacts::group_digits(u64::try_from(l.fee_yen.unwrap_or(0)).unwrap_or(0));
    Some(if l.payment_method == "invoice" {
        format!("お支払い待ち: 利用料 {fee} 円の請求書をお送りします。入金を確認すると有効になります")
    } else {
        format!("手続き中: 利用料 {fee} 円を給付費から差し引く手続き中です。国保連の差し引きが決まると有効になります")
    })
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
        paid: l
            .as_ref()
            .is_some_and(|l| l.applied_at.is_none() && (l.paid_at.is_some() || l.deduction_month.is_some() || l.fee_yen.unwrap_or(0) == 0)),
        license_pending: l.as_ref().and_then(pending_reason),
        auto_renew: l.is_some_and(|l| l.auto_renew),
        minimum_client_version: (!min.is_empty()).then(|| min.to_owned()),
        operating: crate::service::status::current(&st.store, crate::jst::now()).await?,
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
