//! 予実突合: the latest plan (予定) and actual (実績) slips of a partner and month, side by side.

use super::Layout;
use askama::Template;
use renkei_spec::records::{Sikyu, Slip};
use renkei_spec::validate::Located;
use serde::Deserialize;

/// One difference of lines.
#[derive(Debug, Clone)]
pub struct DiffRow {
    /// 追加 / 不足 / 変更.
    pub kind: &'static str,
    /// Its class (row colour).
    pub class: &'static str,
    /// 被保険者番号.
    pub insured: String,
    /// サービス利用日.
    pub date: String,
    /// サービスコード.
    pub code: String,
    /// The planned line.
    pub plan: String,
    /// The actual line.
    pub actual: String,
}

/// A difference of units (第7表 against the 実績).
#[derive(Debug, Clone)]
pub struct UnitRow {
    /// 被保険者番号.
    pub insured: String,
    /// サービスコード.
    pub code: String,
    /// 予定（第7表）.
    pub plan: String,
    /// 実績.
    pub actual: String,
    /// 差.
    pub difference: String,
}

/// 予実突合.
#[derive(Debug, Template)]
#[template(path = "reconcile.html")]
pub struct ReconcilePage {
    /// The layout.
    pub l: Layout,
    /// 対象年月.
    pub month: String,
    /// サービス事業所 (the partner's number).
    pub partner: String,
    /// The result in one line.
    pub summary: Option<String>,
    /// The differences of lines.
    pub rows: Vec<DiffRow>,
    /// The differences of units.
    pub units: Vec<UnitRow>,
    /// Why nothing could be compared.
    pub error: Option<String>,
}

/// The page's query.
#[derive(Debug, Deserialize, Default)]
pub struct ReconcileQ {
    /// 対象年月.
    #[serde(default)]
    pub month: String,
    /// サービス事業所.
    #[serde(default)]
    pub partner: String,
}

impl ReconcilePage {
    /// The empty page for query `q`.
    pub fn new(l: Layout, q: &ReconcileQ) -> ReconcilePage {
        ReconcilePage {
            l,
            month: q.month.trim().to_owned(),
            partner: q.partner.trim().to_owned(),
            summary: None,
            rows: Vec::new(),
            units: Vec::new(),
            error: None,
        }
    }

    /// The comparison of `plan` and `actual` (and the units of `sikyu`, the 第7表 of the plan's
    /// unit, when there is one) for the service office `provider` (the partner, when a care
    /// office compares; itself, when a provider does); `partner_name` names the partner.
    pub fn compare(
        &mut self,
        partner_name: &str,
        provider: &str,
        plan: &[Located<Slip>],
        actual: &[Located<Slip>],
        sikyu: &[Located<Sikyu>],
    ) {
        let provider = renkei_spec::ids::OfficeNumber::parse_shape(provider).ok();
        let r = renkei_spec::reconcile::reconcile(plan, actual, provider.as_ref(), None);
        self.units = unit_rows(&renkei_spec::reconcile::reconcile_units(sikyu, actual, provider.as_ref(), None))
            .into_iter()
            .map(|(insured, code, plan, actual, difference)| UnitRow { insured, code, plan, actual, difference })
            .collect();
        self.summary = Some(format!(
            "{partner_name}（{}） {}: 予定 {} 行・実績 {} 行、一致 {} 行、違い {} 件",
            self.partner,
            self.month,
            r.plan_lines,
            r.actual_lines,
            r.matched,
            r.differences.len()
        ));
        self.rows = r
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
    }
}

/// The unit differences as 予実突合 shows them: (被保険者番号, サービスコード, 予定, 実績, 差).
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

/// A slip line as a cell: 「09:00–10:00 1回」, or 「—」.
pub fn line_text(l: &Option<renkei_spec::reconcile::SlipLine>) -> String {
    l.as_ref().map(|l| format!("{}–{} {}回", hhmm(&l.start), hhmm(&l.end), l.count)).unwrap_or_else(|| "—".into())
}

fn hhmm(s: &str) -> String {
    if s == "9999" || s.len() != 4 { "時間なし".into() } else { format!("{}:{}", &s[..2], &s[2..]) }
}
