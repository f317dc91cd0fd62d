//! 予実突合: plan slips (第6表 予定, UPPLAN) against actual slips (第6表 実績, UPJSK).
//!
//! Lines are compared per insured person (保険者番号 + 被保険者番号), サービスコード and サービス利用日.
//! On one key, identical lines (start, end, count) match first; what is left pairs up as
//! *changed* (same person, code and day, different time or count); what is still left is
//! *missing* (planned, no actual) or *added* (actual, not planned). The national system cannot do
//! this; care managers do it by eye before billing.
//!
//! [`reconcile_units`] compares the plan's 第7表 (UPSIKYU) units with what the 実績 gives, per
//! person, provider and サービスコード.

use crate::calendar::{Date, YearMonth};
use crate::field::FieldValue;
use crate::ids::OfficeNumber;
use crate::records::Slip;
use crate::validate::Located;
use std::collections::BTreeMap;

/// One service line of a slip, as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlipLine {
    /// 保険者番号.
    pub insurer: String,
    /// 被保険者番号.
    pub insured: String,
    /// サービスコード.
    pub service_code: String,
    /// サービス利用日.
    pub date: Date,
    /// サービス開始時刻 (HHMM or 9999).
    pub start: String,
    /// サービス終了時刻.
    pub end: String,
    /// サービス回数.
    pub count: i64,
    /// サービス事業者コード.
    pub provider: String,
    /// Physical line in its file.
    pub line: u32,
}

impl SlipLine {
    fn of(r: &Located<Slip>) -> SlipLine {
        let s = &r.record;
        SlipLine {
            insurer: s.insurer.as_str().to_owned(),
            insured: s.insured.as_str().to_owned(),
            service_code: render(&s.service_code),
            date: s.service_date,
            start: render(&s.start),
            end: render(&s.end),
            count: s.count.0,
            provider: s.provider.to_string(),
            line: r.line,
        }
    }
    fn key(&self) -> (String, String, String, Date) {
        (self.insurer.clone(), self.insured.clone(), self.service_code.clone(), self.date)
    }
    fn same_service(&self, o: &SlipLine) -> bool {
        self.start == o.start && self.end == o.end && self.count == o.count
    }
}

fn render<T: FieldValue>(v: &T) -> String {
    let mut s = String::new();
    v.render(&mut s);
    s
}

/// What differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiffKind {
    /// 予定にない実績 (actual without a plan line).
    Added,
    /// 実績のない予定 (planned, not provided).
    Missing,
    /// 時間・回数の違い (same person, code and day; other time or count).
    Changed,
}

impl DiffKind {
    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            DiffKind::Added => "予定にない実績",
            DiffKind::Missing => "実績のない予定",
            DiffKind::Changed => "時間・回数の違い",
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What kind.
    pub kind: DiffKind,
    /// The plan line (none for [`DiffKind::Added`]).
    pub plan: Option<SlipLine>,
    /// The actual line (none for [`DiffKind::Missing`]).
    pub actual: Option<SlipLine>,
}

impl Difference {
    /// The line that identifies the difference (plan, else actual).
    pub fn line(&self) -> &SlipLine {
        self.plan.as_ref().or(self.actual.as_ref()).expect("a difference has at least one side")
    }
}

/// The result of a reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reconciliation {
    /// Lines that match exactly.
    pub matched: usize,
    /// Plan lines compared (after the provider filter).
    pub plan_lines: usize,
    /// Actual lines compared.
    pub actual_lines: usize,
    /// Differences, ordered by person, day, service code.
    pub differences: Vec<Difference>,
}

/// Compares plan lines with actual lines. With `provider`, only plan lines of that
/// サービス事業者 are compared (a plan lists every provider of the client; the actuals come from one).
/// `month`, when given, keeps only lines of that 対象年月.
pub fn reconcile(
    plan: &[Located<Slip>],
    actual: &[Located<Slip>],
    provider: Option<&OfficeNumber>,
    month: Option<YearMonth>,
) -> Reconciliation {
    let keep = |r: &&Located<Slip>| month.is_none_or(|m| r.record.month == m);
    let plan: Vec<SlipLine> =
        plan.iter().filter(keep).filter(|r| provider.is_none_or(|p| &r.record.provider == p)).map(SlipLine::of).collect();
    let actual: Vec<SlipLine> = actual.iter().filter(keep).map(SlipLine::of).collect();
    let mut out = Reconciliation { plan_lines: plan.len(), actual_lines: actual.len(), ..Reconciliation::default() };
    type Sides = (Vec<SlipLine>, Vec<SlipLine>);
    let mut by_key: BTreeMap<(String, String, String, Date), Sides> = BTreeMap::new();
    for l in plan {
        by_key.entry(l.key()).or_default().0.push(l);
    }
    for l in actual {
        by_key.entry(l.key()).or_default().1.push(l);
    }
    for (_, (mut p, mut a)) in by_key {
        // Exact matches first.
        p.retain(|pl| match a.iter().position(|al| al.same_service(pl)) {
            Some(i) => {
                a.remove(i);
                out.matched += 1;
                false
            }
            None => true,
        });
        let mut a = a.into_iter();
        for pl in p {
            match a.next() {
                Some(al) => out.differences.push(Difference { kind: DiffKind::Changed, plan: Some(pl), actual: Some(al) }),
                None => out.differences.push(Difference { kind: DiffKind::Missing, plan: Some(pl), actual: None }),
            }
        }
        for al in a {
            out.differences.push(Difference { kind: DiffKind::Added, plan: None, actual: Some(al) });
        }
    }
    out.differences.sort_by(|x, y| {
        let (a, b) = (x.line(), y.line());
        (&a.insurer, &a.insured, a.date, &a.service_code, x.kind).cmp(&(&b.insurer, &b.insured, b.date, &b.service_code, y.kind))
    });
    out
}

/// A difference of units between the plan's 第7表 and the 実績, per person, provider and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDifference {
    /// 保険者番号.
    pub insurer: String,
    /// 被保険者番号.
    pub insured: String,
    /// サービス事業所コード.
    pub provider: String,
    /// サービスコード.
    pub service_code: String,
    /// Planned units (第7表 サービス単位／金額, else 単位数 × 回数).
    pub planned_units: i64,
    /// Planned 回数／日数.
    pub planned_count: i64,
    /// Units the actuals give (the 第7表 line's 単位数 × the 実績's サービス回数).
    pub actual_units: i64,
    /// The 実績's サービス回数.
    pub actual_count: i64,
}

/// 予実突合 of units: the plan's 第7表 detail lines against the 実績 (第6表), per person, provider
/// and サービスコード. The unit value of a code is the 第7表 line's (割引後)単位数; for an actual
/// service without a 第7表 line, the 実績 line's own 単位数 (0 when it has none). Only differences
/// are returned, ordered by person, provider and code. `provider` and `month` filter as in
/// [`reconcile`].
pub fn reconcile_units(
    sikyu: &[Located<crate::records::Sikyu>],
    actual: &[Located<Slip>],
    provider: Option<&OfficeNumber>,
    month: Option<YearMonth>,
) -> Vec<UnitDifference> {
    use crate::field::{OfficeOrAll9, SummaryServiceCode};
    type Key = (String, String, String, String);
    // key → (unit value, planned units, planned count, actual count)
    let mut by: BTreeMap<Key, (i64, i64, i64, i64)> = BTreeMap::new();
    for l in sikyu.iter().filter(|l| month.is_none_or(|m| l.record.month == m)) {
        let r = &l.record;
        let (SummaryServiceCode::Detail(code), OfficeOrAll9::Office(p)) = (&r.service_code, &r.provider) else { continue };
        if provider.is_some_and(|x| x != p) {
            continue;
        }
        let unit = r.discounted_units.as_ref().map_or(r.units.0, |d| d.0);
        let planned = r.unit_amount.as_ref().map_or(unit * r.count.0, |a| a.0);
        let key = (r.insurer.as_str().to_owned(), r.insured.as_str().to_owned(), p.to_string(), render(code));
        let e = by.entry(key).or_default();
        e.0 = unit;
        e.1 += planned;
        e.2 += r.count.0;
    }
    for l in actual.iter().filter(|l| month.is_none_or(|m| l.record.month == m)) {
        let r = &l.record;
        let key = (r.insurer.as_str().to_owned(), r.insured.as_str().to_owned(), r.provider.to_string(), render(&r.service_code));
        let e = by.entry(key).or_insert_with(|| (r.units.as_ref().map_or(0, |u| u.0), 0, 0, 0));
        e.3 += r.count.0;
    }
    by.into_iter()
        .filter_map(|((insurer, insured, provider, service_code), (unit, planned_units, planned_count, actual_count))| {
            let actual_units = unit * actual_count;
            (actual_units != planned_units).then_some(UnitDifference {
                insurer,
                insured,
                provider,
                service_code,
                planned_units,
                planned_count,
                actual_units,
                actual_count,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{Records, check_file};

    fn slips(name: &str, rows: &[&str]) -> Vec<Located<Slip>> {
        let text: String = rows.iter().map(|r| format!("{r}\r\n")).collect();
        let bytes = crate::ms932::encode(&text, crate::ms932::Normalize::Never).unwrap();
        let rep = check_file(name, &bytes);
        match rep.records {
            Some(Records::Plan(v)) | Some(Records::Jsk(v)) => v,
            other => panic!("{:?} {:?}", other, rep.diagnostics),
        }
    }

    const P: &str = "UPPLAN_202506_1371000017_43_1372000024_15_20250525100000.CSV";
    const A: &str = "UPJSK_202506_1372000024_15_1371000017_43_20250703090000.CSV";

    fn row(insured: &str, day: &str, start: &str, count: &str, code: &str) -> String {
        format!(
            "202407,131011,{insured},20250601,202506,1371000017,\"山田\",,,202506{day},,{start},1700,{count},{code},,,,,1372000024,\"ひまわり\",,0,1372000024,"
        )
    }

    #[test]
    fn finds_added_missing_and_changed_lines() {
        let plan = [
            row("H000000001", "02", "0900", "1", "151111"),
            row("H000000001", "05", "0900", "1", "151111"),
            row("H000000001", "09", "0900", "1", "151111"),
            row("H000000002", "03", "1000", "1", "151111"),
        ];
        let actual = [
            row("H000000001", "02", "0900", "1", "151111"),
            row("H000000001", "05", "1000", "1", "151111"),
            row("H000000001", "12", "0900", "1", "151111"),
            row("H000000002", "03", "1000", "1", "151111"),
        ];
        let p = slips(P, &plan.iter().map(String::as_str).collect::<Vec<_>>());
        let a = slips(A, &actual.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(p.len(), 4);
        let r = reconcile(&p, &a, None, None);
        assert_eq!(r.matched, 2);
        let kinds: Vec<(DiffKind, u8)> = r.differences.iter().map(|d| (d.kind, d.line().date.day)).collect();
        assert_eq!(kinds, vec![(DiffKind::Changed, 5), (DiffKind::Missing, 9), (DiffKind::Added, 12)]);
        let changed = &r.differences[0];
        assert_eq!((changed.plan.as_ref().unwrap().start.as_str(), changed.actual.as_ref().unwrap().start.as_str()), ("0900", "1000"));
        // Identical files: nothing to report.
        assert!(reconcile(&p, &p, None, None).differences.is_empty());
        // Another provider's plan lines are left out.
        let other = OfficeNumber::parse("1373000031", false).unwrap();
        let r = reconcile(&p, &a, Some(&other), None);
        assert_eq!((r.plan_lines, r.differences.len()), (0, 4));
    }
}
