//! 参加のご案内: an office records that it sent a partner not on the system the invitation with
//! its printed forms (一括送信 in the web mailbox), and sees when it did. One rule for every door.

use crate::error::ApiError;
use crate::service::offices::reach;
use crate::service::sessions::Caller;
use crate::state::AppState;
use crate::store::{AuditAction, Invited};
use renkei_protocol::ErrorCode;

/// The most partners one office's invitations are remembered for: far more than any office has,
/// so that no caller can grow the table without bound.
pub const MAX_INVITED_PARTNERS: i64 = 2_000;

/// Records, audited, that the caller's office sent `partner` the invitation today. Refused for a
/// number that is no office number, for the office itself, for a partner that files reach
/// digitally (there is nothing to invite it to), and beyond [`MAX_INVITED_PARTNERS`].
pub async fn record(st: &AppState, caller: &Caller, partner: &str) -> Result<(), ApiError> {
    let partner = renkei_spec::ids::OfficeNumber::check_shape(partner.trim())
        .map_err(|_| ApiError::new(ErrorCode::BadRequest, "事業所番号（10桁）が正しくありません", "not an office number"))?
        .to_string();
    if partner == caller.office {
        return Err(ApiError::new(ErrorCode::BadRequest, "自分の事業所には案内を送れません", "the office itself"));
    }
    if reach(st, &partner).await?.digital() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "この事業所はケアプランデータ連携に参加しています。ファイルはデータで送れます",
            "the partner is reached digitally",
        ));
    }
    let audit = caller.audit(AuditAction::PartnerInvite, format!("partner={partner}"));
    match st.store.record_invitation(&caller.office, &partner, &caller.user.login, crate::jst::now(), MAX_INVITED_PARTNERS, audit).await? {
        Invited::Recorded => Ok(()),
        Invited::Full => Err(ApiError::new(
            ErrorCode::TooManyRequests,
            format!("案内を記録できる事業所は {MAX_INVITED_PARTNERS} 件までです"),
            "too many invited partners",
        )),
    }
}

/// When the caller's office last recorded an invitation to `partner` (unix seconds), if ever.
pub async fn invited_at(st: &AppState, caller: &Caller, partner: &str) -> Result<Option<i64>, ApiError> {
    Ok(st.store.invitation(&caller.office, partner).await?)
}
