//! 送受信記録: an office's evidence report for a month (what was sent and received, by whom,
//! with each file's SHA-256 and the receipts). Every view and download is audited first: a
//! report that cannot be audited is not shown.

use crate::error::ApiError;
use crate::service::Actor;
use crate::store::{AuditAction, EvidenceRow, Store};

/// The office's records between `from` and `to` (unix seconds), audited as a view or as a CSV
/// download of `month`.
pub async fn evidence(
    store: &Store,
    actor: Actor<'_>,
    office: &str,
    month: &str,
    from: i64,
    to: i64,
    csv: bool,
) -> Result<Vec<EvidenceRow>, ApiError> {
    let action = if csv { AuditAction::RecordsCsv } else { AuditAction::RecordsView };
    store.audit(actor.audit(action, Some(office), format!("month={month}")), crate::jst::now()).await?;
    Ok(store.evidence(office, from, to).await?)
}
