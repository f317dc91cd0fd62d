//! 予実突合 in the browser: the newest 予定 and 実績 of a month exchanged with a partner, compared
//! by the standard's reconciliation (`renkei_spec::reconcile`), the screens' page. A care office
//! sent the 予定 and received the 実績; a provider the other way round: both are looked for.

use super::{MailboxUser, layout, office_name};
use crate::error::ApiError;
use crate::service::mailbox::file_content;
use crate::state::AppState;
use crate::store::ListFilter;
use crate::web::page::{PageError, page};
use axum::extract::{Query, State};
use axum::response::Response;
use renkei_screens::office::{ReconcilePage, ReconcileQ};
use renkei_spec::validate::Records;

/// The records of the newest file of `kind` for `month` exchanged with `partner`, sent first
/// when `sent_first`, then received; with whether it was sent.
async fn latest(
    st: &AppState,
    u: &MailboxUser,
    partner: &str,
    kind: &str,
    month: &str,
    sent_first: bool,
) -> Result<Option<(Records, bool)>, ApiError> {
    for inbox in [!sent_first, sent_first] {
        let filter = ListFilter {
            counterpart: Some(partner.to_owned()),
            kind: Some(kind.to_owned()),
            month: Some(month.to_owned()),
            limit: 20,
            ..ListFilter::default()
        };
        for m in st.store.list(&u.caller.office, inbox, &filter).await? {
            let Some(f) = m.files.iter().find(|f| f.kind.as_deref() == Some(kind) && f.service_month.as_deref() == Some(month)) else {
                continue;
            };
            let (_, bytes) = match file_content(st, &u.caller, &m.public_id, f.idx).await {
                Ok(x) => x,
                Err(e) if e.0.code.status() < 500 => continue,
                Err(e) => return Err(e),
            };
            let report = renkei_spec::validate::check_file(&f.name, &bytes);
            if let Some(r) = report.records {
                return Ok(Some((r, !inbox)));
            }
        }
    }
    Ok(None)
}

pub(crate) async fn reconcile(State(st): State<AppState>, u: MailboxUser, Query(q): Query<ReconcileQ>) -> Result<Response, PageError> {
    let mut t = ReconcilePage::new(layout(&st, &u, "予実突合", "reconcile").await?, &q);
    if t.month.is_empty() || t.partner.is_empty() {
        return Ok(page(&t));
    }
    if renkei_spec::calendar::YearMonth::parse(&t.month).is_none() || renkei_spec::ids::OfficeNumber::parse_shape(&t.partner).is_err() {
        t.error = Some("対象年月（例: 202506）と事業所番号（10桁）を入れてください".into());
        return Ok(page(&t));
    }
    let slips = |r: Option<(Records, bool)>| match r {
        Some((Records::Plan(v) | Records::Jsk(v), sent)) => Some((v, sent)),
        _ => None,
    };
    let plan = slips(latest(&st, &u, &t.partner, "UPPLAN", &t.month, true).await?);
    let actual = slips(latest(&st, &u, &t.partner, "UPJSK", &t.month, false).await?);
    let ((plan, plan_sent), (actual, _)) = match (plan, actual) {
        (Some(p), Some(a)) => (p, a),
        (None, _) => {
            t.error = Some(format!("{} 分の提供票（予定）を {} とやり取りした記録がありません", t.month, t.partner));
            return Ok(page(&t));
        }
        (_, None) => {
            t.error = Some(format!("{} 分の提供票（実績）を {} とやり取りした記録がありません", t.month, t.partner));
            return Ok(page(&t));
        }
    };
    let sikyu = match latest(&st, &u, &t.partner, "UPSIKYU", &t.month, true).await? {
        Some((Records::Sikyu(v), _)) => v,
        _ => Vec::new(),
    };
    let name = office_name(&st, &t.partner).await?;
    // A care office sent the 予定 to its provider; a provider received it and is the provider.
    let provider = if plan_sent { t.partner.clone() } else { u.caller.office.clone() };
    t.compare(&name, &provider, &plan, &actual, &sikyu);
    Ok(page(&t))
}
