//! 予実突合: the latest plan and actual slips of a partner and month, side by side.

use super::*;

pub use renkei_screens::office::unit_rows;
use renkei_screens::office::{ReconcilePage, ReconcileQ};

/// The newest file of `kind` for `month` exchanged with `partner` (sent or received), parsed.
pub async fn latest_slips(
    hub: &crate::hub::HubClient,
    sent: bool,
    partner: &str,
    kind: &str,
    month: &str,
) -> Result<Option<Vec<renkei_spec::validate::Located<renkei_spec::records::Slip>>>, HubError> {
    Ok(latest_records(hub, sent, partner, kind, month).await?.and_then(|r| match r {
        renkei_spec::validate::Records::Plan(v) | renkei_spec::validate::Records::Jsk(v) => Some(v),
        _ => None,
    }))
}

/// The newest 第7表 for `month` sent to `partner`, parsed (for 予実突合 of units).
pub async fn latest_sikyu(
    hub: &crate::hub::HubClient,
    partner: &str,
    month: &str,
) -> Result<Option<Vec<renkei_spec::validate::Located<renkei_spec::records::Sikyu>>>, HubError> {
    Ok(latest_records(hub, true, partner, "UPSIKYU", month).await?.and_then(|r| match r {
        renkei_spec::validate::Records::Sikyu(v) => Some(v),
        _ => None,
    }))
}

/// The records of the newest file of `kind` for `month` exchanged with `partner`.
async fn latest_records(
    hub: &crate::hub::HubClient,
    sent: bool,
    partner: &str,
    kind: &str,
    month: &str,
) -> Result<Option<renkei_spec::validate::Records>, HubError> {
    let q = InboxQuery { sender: Some(partner.into()), kind: Some(kind.into()), month: Some(month.into()), ..InboxQuery::default() };
    let mut msgs = hub.all(sent, q).await?;
    msgs.sort_by(|a, b| b.sent_at.cmp(&a.sent_at));
    for m in msgs {
        let Some(f) = m.files.iter().find(|f| f.kind.as_deref() == Some(kind) && f.service_month.as_deref() == Some(month)) else {
            continue;
        };
        let d = hub.download(&m.id, f.index).await?;
        let rep = renkei_spec::validate::check_file(&f.name, &d.bytes);
        if rep.records.is_some() {
            return Ok(rep.records);
        }
    }
    Ok(None)
}

pub(super) async fn reconcile(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<ReconcileQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let mut t = ReconcilePage::new(layout(&ui, &o, "予実突合", "reconcile").await, &q);
    if t.month.is_empty() || t.partner.is_empty() {
        return Ok(page(t));
    }
    let hub = o.client().await;
    let plan = latest_slips(&hub, true, &t.partner, "UPPLAN", &t.month).await;
    let actual = latest_slips(&hub, false, &t.partner, "UPJSK", &t.month).await;
    let (plan, actual) = match (plan, actual) {
        (Ok(Some(p)), Ok(Some(a))) => (p, a),
        (Err(e), _) | (_, Err(e)) => return Err(hub_fail(&ui, &o, e, "予実突合", "reconcile").await),
        (Ok(None), _) => {
            t.error = Some(format!("{} 分の提供票（予定）を {} へ送った記録がありません", t.month, t.partner));
            return Ok(page(t));
        }
        (_, Ok(None)) => {
            t.error = Some(format!("{} 分の提供票（実績）を {} から受け取っていません", t.month, t.partner));
            return Ok(page(t));
        }
    };
    // 第7表's units against the actuals, when the plan's unit carried one.
    let sikyu = match latest_sikyu(&hub, &t.partner, &t.month).await {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => return Err(hub_fail(&ui, &o, e, "予実突合", "reconcile").await),
    };
    let name = partner_name(&ui, &o, &t.partner).await;
    let provider = t.partner.clone();
    t.compare(&name, &provider, &plan, &actual, &sikyu);
    Ok(page(t))
}
