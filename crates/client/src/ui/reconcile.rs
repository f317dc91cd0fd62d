//! 予実突合: the latest plan and actual slips of a partner and month, side by side.

use super::*;

pub(super) struct DiffRow {
    pub(super) kind: &'static str,
    pub(super) class: &'static str,
    pub(super) insured: String,
    pub(super) date: String,
    pub(super) code: String,
    pub(super) plan: String,
    pub(super) actual: String,
}

#[derive(Template)]
#[template(path = "reconcile.html")]
pub(super) struct ReconcileT {
    pub(super) l: Layout,
    pub(super) month: String,
    pub(super) partner: String,
    pub(super) summary: Option<String>,
    pub(super) rows: Vec<DiffRow>,
    pub(super) units: Vec<UnitRow>,
    pub(super) error: Option<String>,
}

/// A difference of units (第7表 against the 実績).
pub(super) struct UnitRow {
    pub(super) insured: String,
    pub(super) code: String,
    pub(super) plan: String,
    pub(super) actual: String,
    pub(super) difference: String,
}

/// The unit differences as 予実突合 shows them.
pub fn unit_rows(d: &[renkei_spec::reconcile::UnitDifference]) -> Vec<(String, String, String, String, String)> {
    use renkei_protocol::contacts::group_digits;
    let units = |u: i64| if u < 0 { format!("-{}", group_digits(u.unsigned_abs())) } else { group_digits(u.unsigned_abs()) };
    d.iter()
        .map(|x| {
            (
                x.insured.clone(),
                x.service_code.clone(),
                format!("{}単位（{}回）", units(x.planned_units), x.planned_count),
                format!("{}単位（{}回）", units(x.actual_units), x.actual_count),
                format!("{}{}単位", if x.actual_units > x.planned_units { "+" } else { "" }, units(x.actual_units - x.planned_units)),
            )
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub(super) struct ReconcileQ {
    #[serde(default)]
    pub(super) month: String,
    #[serde(default)]
    pub(super) partner: String,
}

pub(super) fn line_text(l: &Option<renkei_spec::reconcile::SlipLine>) -> String {
    l.as_ref().map(|l| format!("{}–{} {}回", hhmm(&l.start), hhmm(&l.end), l.count)).unwrap_or_else(|| "—".into())
}

pub(super) fn hhmm(s: &str) -> String {
    if s == "9999" || s.len() != 4 { "時間なし".into() } else { format!("{}:{}", &s[..2], &s[2..]) }
}

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
    let l = layout(&ui, &o, "予実突合", "reconcile").await;
    let mut t = ReconcileT {
        l,
        month: q.month.trim().to_owned(),
        partner: q.partner.trim().to_owned(),
        summary: None,
        rows: vec![],
        units: vec![],
        error: None,
    };
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
    let provider = renkei_spec::ids::OfficeNumber::parse_shape(&t.partner).ok();
    let r = renkei_spec::reconcile::reconcile(&plan, &actual, provider.as_ref(), None);
    // 第7表's units against the actuals, when the plan's unit carried one.
    let sikyu = match latest_sikyu(&hub, &t.partner, &t.month).await {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => return Err(hub_fail(&ui, &o, e, "予実突合", "reconcile").await),
    };
    t.units = unit_rows(&renkei_spec::reconcile::reconcile_units(&sikyu, &actual, provider.as_ref(), None))
        .into_iter()
        .map(|(insured, code, plan, actual, difference)| UnitRow { insured, code, plan, actual, difference })
        .collect();
    let name = partner_name(&ui, &o, &t.partner).await;
    t.summary = Some(format!(
        "{name}（{}） {}: 予定 {} 行・実績 {} 行、一致 {} 行、違い {} 件",
        t.partner,
        t.month,
        r.plan_lines,
        r.actual_lines,
        r.matched,
        r.differences.len()
    ));
    t.rows = r
        .differences
        .iter()
        .map(|d| {
            let l = d.line();
            DiffRow {
                kind: d.kind.label_ja(),
                class: match d.kind {
                    renkei_spec::reconcile::DiffKind::Added => "added",
                    renkei_spec::reconcile::DiffKind::Missing => "missing",
                    renkei_spec::reconcile::DiffKind::Changed => "changed",
                },
                insured: l.insured.clone(),
                date: format!("{}/{:02}/{:02}", l.date.year, l.date.month, l.date.day),
                code: l.service_code.clone(),
                plan: line_text(&d.plan),
                actual: line_text(&d.actual),
            }
        })
        .collect();
    Ok(page(t))
}
