//! 稼働状況 (operating status): set by the operator in the console, shown on the client's トップ,
//! the portal and in the API (`GET /v1/status`, and in `GET /v1/office`). One rule for what
//! offices read.

use crate::error::ApiError;
use crate::service::Actor;
use crate::store::{AuditAction, StatusRow, Store};
use renkei_protocol::{ErrorCode, OperatingState, OperatingStatus};

/// The status as offices read it at `now`. A maintenance window that has passed reads as
/// 正常稼働中 (the operator need not remember to switch back).
pub fn view(row: Option<&StatusRow>, now: i64) -> OperatingStatus {
    let normal = OperatingStatus { state: OperatingState::Normal, label: "正常稼働中".into(), ..OperatingStatus::default() };
    let Some(r) = row else { return normal };
    let state = OperatingState::parse(&r.state).unwrap_or_default();
    let window = |a: Option<i64>, b: Option<i64>| (a.map(crate::jst::rfc3339), b.map(crate::jst::rfc3339));
    match state {
        OperatingState::Normal => OperatingStatus { message: r.message.clone(), ..normal },
        OperatingState::Maintenance => {
            let (Some(from), Some(until)) = (r.starts_at, r.ends_at) else { return normal };
            if until <= now {
                return normal;
            }
            let (starts_at, ends_at) = window(Some(from), Some(until));
            let label = if from <= now {
                format!("メンテナンス中（{} まで）", crate::jst::jst_minutes(until))
            } else {
                format!("メンテナンス予定 {}〜{}", crate::jst::jst_minutes(from), crate::jst::jst_minutes(until))
            };
            OperatingStatus { state, label, message: r.message.clone(), starts_at, ends_at }
        }
        OperatingState::Incident => OperatingStatus {
            state,
            label: format!("障害発生中: {}", r.message.lines().next().unwrap_or_default()),
            message: r.message.clone(),
            starts_at: None,
            ends_at: None,
        },
    }
}

/// The current status.
pub async fn current(store: &Store, now: i64) -> Result<OperatingStatus, ApiError> {
    Ok(view(store.operating_status().await?.as_ref(), now))
}

/// What the operator sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The state.
    pub state: OperatingState,
    /// The text offices read.
    pub message: String,
    /// Maintenance window (unix seconds).
    pub window: Option<(i64, i64)>,
}

impl StatusChange {
    /// 障害発生中 with `text`.
    pub fn incident(text: &str) -> StatusChange {
        StatusChange { state: OperatingState::Incident, message: text.into(), window: None }
    }
}

/// Sets the status (operator), audited. A maintenance needs a window that ends in the future
/// after it starts; an incident needs a text saying what is affected.
pub async fn set(store: &Store, actor: Actor<'_>, by: &str, change: &StatusChange, now: i64) -> Result<(), ApiError> {
    let message: String = change.message.trim().chars().take(1000).collect();
    let bad = |ja: &str, en: &str| ApiError::new(ErrorCode::BadRequest, ja, en);
    let (starts_at, ends_at) = match (change.state, change.window) {
        (OperatingState::Maintenance, Some((a, b))) if a < b && b > now => (Some(a), Some(b)),
        (OperatingState::Maintenance, Some(_)) => {
            return Err(bad(
                "メンテナンスの終わりは、始まりより後で、今より先の日時にしてください",
                "window must end after it starts, in the future",
            ));
        }
        (OperatingState::Maintenance, None) => {
            return Err(bad("メンテナンスの始まりと終わりの日時を入れてください", "maintenance needs a window"));
        }
        (OperatingState::Incident, _) if message.is_empty() => {
            return Err(bad("障害の内容（影響する機能・分かっていること）を入れてください", "an incident needs a text"));
        }
        _ => (None, None),
    };
    let row = StatusRow { state: change.state.as_str().into(), message, starts_at, ends_at, updated_at: now, updated_by: by.into() };
    let detail = format!("state={} window={starts_at:?}-{ends_at:?}", row.state);
    Ok(store.set_operating_status(&row, actor.audit(AuditAction::StatusSet, None, detail)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, from: Option<i64>, until: Option<i64>) -> StatusRow {
        StatusRow {
            state: state.into(),
            message: "送信が遅れています\n詳細".into(),
            starts_at: from,
            ends_at: until,
            updated_at: 0,
            updated_by: "op".into(),
        }
    }

    #[test]
    fn what_offices_read() {
        let now = crate::jst::parse_local("2026-12-03T12:00").unwrap();
        let h = 3600;
        assert_eq!(view(None, now).label, "正常稼働中");
        let planned = view(Some(&row("maintenance", Some(now + 10 * h), Some(now + 12 * h))), now);
        assert_eq!(
            (planned.state, planned.label.as_str()),
            (OperatingState::Maintenance, "メンテナンス予定 2026/12/03 22:00〜2026/12/04 00:00")
        );
        let during = view(Some(&row("maintenance", Some(now - h), Some(now + h))), now);
        assert_eq!(during.label, "メンテナンス中（2026/12/03 13:00 まで）");
        let over = view(Some(&row("maintenance", Some(now - 2 * h), Some(now - h))), now);
        assert_eq!(over.state, OperatingState::Normal, "a passed window reads as normal");
        let incident = view(Some(&row("incident", None, None)), now);
        assert_eq!(incident.label, "障害発生中: 送信が遅れています");
    }
}
