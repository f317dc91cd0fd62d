//! The arithmetic of 第7表 (サービス利用票別表, UPSIKYU): what the lines of one user must add up to.
//!
//! Per user (保険者番号 + 被保険者番号) the file holds detail lines (one per provider and
//! サービスコード), per-kind subtotal lines (種類 + `AAAA` 区分支給対象, `EEEE` 区分支給対象外,
//! `ZZZZ` 30日超過分) and one 全合計 line (`999999`). The checks:
//!
//! | Rule | What must hold |
//! |---|---|
//! | `sikyu.unit-amount` | a detail line's サービス単位／金額 = (割引後単位数, else 単位数) × 回数／日数 |
//! | `sikyu.kind-subtotal` | a subtotal line's サービス単位／金額 (and 給付管理単位数) = the sum over the detail lines of its provider (and サテライト枝番) and 種類 |
//! | `sikyu.kind-subtotal.missing` | a 種類 with several detail lines at one provider has its subtotal line (`AAAA`, or `EEEE` outside the limit) |
//! | `sikyu.limit-split` | 区分支給限度基準内単位数 + 区分支給限度基準超単位数 = 給付管理単位数 (else サービス単位／金額) |
//! | `sikyu.cost` | 費用総額 = 区分支給限度基準内単位数 × 単位数単価, 1円未満切り捨て |
//! | `sikyu.benefit` | 保険／事業費請求額 = 費用総額 × 給付率 ÷ 100, 1円未満切り捨て |
//! | `sikyu.copay` | 利用者負担（保険／事業対象分） = 費用総額 − 保険／事業費請求額 |
//! | `sikyu.copay-full` | 利用者負担（全額負担分） = 区分支給限度基準超単位数 × 単位数単価, 1円未満切り捨て |
//! | `sikyu.total` | each amount of the 全合計 line = the sum of that amount over the lines that bear it (subtotal lines, and detail lines of a 種類 without one) |
//!
//! Decisions on what the standard leaves open (UNCERTAIN):
//! - Rounding: yen amounts are cut below one yen (切り捨て), as 介護報酬 amounts are computed; the
//!   user's share is the remainder, so that 請求額 + 利用者負担 = 費用総額 always.
//! - An amount that is empty is not checked (the standard makes columns 14–32 optional), and an
//!   empty amount counts as 0 in a sum.
//! - A line with 定額利用者負担単価金額 (No.27) is not checked for 請求額 and 利用者負担 (the fixed
//!   share changes the split in ways the standard does not define); nor is 全額負担分 where
//!   種類支給限度基準超単位数 (No.19) is set.
//! - `ZZZZ` (30日超過分) lines are neither checked nor summed: which detail lines they cover is
//!   not defined.

use crate::diag::{Problem, Rule};
use crate::field::{Decimal, Integer, OfficeOrAll9, Subtotal, SummaryServiceCode};
use crate::records::Sikyu;
use crate::validate::Located;
use std::collections::BTreeMap;

/// A finding: record number, physical line, column (項目 No., v4 numbering) and the problem.
pub type Finding = (u32, u32, u16, Problem);

fn int(v: &Option<Integer>) -> Option<i64> {
    v.as_ref().map(|i| i.0)
}

fn n(v: i64) -> String {
    crate::fmt_thousands(v)
}

/// Yen below one cut off: `units × price` where `price` is in hundredths of a yen (`10.90` → 1090).
pub fn yen(units: i64, price: &Decimal) -> i64 {
    (units * i64::from(price.0)).div_euclid(100)
}

/// 請求額 for `cost` at `rate` percent, cut below one yen.
pub fn benefit(cost: i64, rate: i64) -> i64 {
    (cost * rate).div_euclid(100)
}

fn mismatch(rule: Rule, found: i64, ja: String, en: String) -> Problem {
    Problem::new(rule, Some(found.to_string()), ja, en)
}

/// The amounts a cost-bearing line carries, summed into the 全合計.
const SUMMED: [(u16, &str); 8] = [
    (17, "サービス単位／金額"),
    (18, "給付管理単位数"),
    (21, "区分支給限度基準超単位数"),
    (22, "区分支給限度基準内単位数"),
    (24, "費用総額"),
    (26, "保険／事業費請求額"),
    (28, "利用者負担（保険／事業対象分）"),
    (29, "利用者負担（全額負担分）"),
];

fn amount(r: &Sikyu, col: u16) -> Option<i64> {
    match col {
        17 => int(&r.unit_amount),
        18 => int(&r.managed_units),
        21 => int(&r.limit_over),
        22 => int(&r.limit_within),
        24 => int(&r.total_cost),
        26 => int(&r.claim),
        28 => int(&r.copay),
        29 => int(&r.copay_full),
        _ => None,
    }
}

/// The provider, satellite and 種類 a line belongs to.
type Group = (String, Option<i64>, String);

fn group_of(r: &Sikyu) -> Option<Group> {
    let OfficeOrAll9::Office(o) = &r.provider else { return None };
    let kind = match &r.service_code {
        SummaryServiceCode::Detail(c) => c.kind.as_str().to_owned(),
        SummaryServiceCode::Subtotal(k, _) => k.as_str().to_owned(),
        SummaryServiceCode::Total => return None,
    };
    Some((o.to_string(), int(&r.satellite), kind))
}

/// Checks the arithmetic of every user's lines in one 第7表 file.
pub fn check_sikyu(lines: &[Located<Sikyu>]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut users: BTreeMap<(String, String), Vec<&Located<Sikyu>>> = BTreeMap::new();
    for l in lines {
        users.entry((l.record.insurer.as_str().to_owned(), l.record.insured.as_str().to_owned())).or_default().push(l);
    }
    for user in users.values() {
        check_user(user, &mut out);
    }
    out.sort_by_key(|f| (f.0, f.2));
    out
}

fn check_user(lines: &[&Located<Sikyu>], out: &mut Vec<Finding>) {
    // Detail lines and subtotal lines per group.
    let mut details: BTreeMap<Group, Vec<&Located<Sikyu>>> = BTreeMap::new();
    let mut subtotals: BTreeMap<Group, Vec<&Located<Sikyu>>> = BTreeMap::new();
    for l in lines {
        let Some(g) = group_of(&l.record) else { continue };
        match l.record.service_code {
            SummaryServiceCode::Detail(_) => details.entry(g).or_default().push(l),
            SummaryServiceCode::Subtotal(_, Subtotal::Covered | Subtotal::NotCovered) => subtotals.entry(g).or_default().push(l),
            _ => {}
        }
    }

    for l in details.values().flatten() {
        unit_amount(l, out);
    }
    // Subtotals against their details; a group of several details without one.
    for (g, ds) in &details {
        match subtotals.get(g) {
            Some(subs) => {
                for s in subs {
                    for (col, item) in [(17u16, "サービス単位／金額"), (18, "給付管理単位数")] {
                        let Some(found) = amount(&s.record, col) else { continue };
                        let expected: i64 = ds.iter().map(|d| amount(&d.record, col).unwrap_or(0)).sum();
                        if col == 18 && ds.iter().all(|d| amount(&d.record, 18).is_none()) {
                            continue;
                        }
                        if found != expected {
                            out.push((
                                s.number,
                                s.line,
                                col,
                                mismatch(
                                    Rule::SikyuKindSubtotal,
                                    found,
                                    format!(
                                        "種類別小計の「{item}」は {} 行の明細の合計 {} です（{} と書かれています）",
                                        ds.len(),
                                        n(expected),
                                        n(found)
                                    ),
                                    format!(
                                        "the subtotal's {item} must be the sum of its {} detail lines, {expected} (found {found})",
                                        ds.len()
                                    ),
                                ),
                            ));
                        }
                    }
                }
            }
            None if ds.len() > 1 => {
                let first = ds[0];
                out.push((
                    first.number,
                    first.line,
                    9,
                    Problem::new(
                        Rule::SikyuKindSubtotalMissing,
                        Some(format!("{}AAAA", g.2)),
                        format!(
                            "事業所 {} の種類 {} には明細が {} 行あるので、種類別小計（{}AAAA）の行が必要です",
                            g.0,
                            g.2,
                            ds.len(),
                            g.2
                        ),
                        format!(
                            "provider {} has {} detail lines of kind {}: its subtotal line ({}AAAA) is required",
                            g.0,
                            ds.len(),
                            g.2,
                            g.2
                        ),
                    ),
                ));
            }
            None => {}
        }
    }
    // The lines that bear the limit and the money: subtotals, and details of a group without one.
    let bearing: Vec<&Located<Sikyu>> = lines
        .iter()
        .copied()
        .filter(|l| match l.record.service_code {
            SummaryServiceCode::Subtotal(_, Subtotal::Covered | Subtotal::NotCovered) => true,
            SummaryServiceCode::Detail(_) => group_of(&l.record).is_some_and(|g| !subtotals.contains_key(&g)),
            _ => false,
        })
        .collect();
    for l in &bearing {
        money(l, out);
    }
    for t in lines.iter().filter(|l| l.record.service_code == SummaryServiceCode::Total) {
        for (col, item) in SUMMED {
            let Some(found) = amount(&t.record, col) else { continue };
            let expected: i64 = bearing.iter().map(|l| amount(&l.record, col).unwrap_or(0)).sum();
            if found != expected {
                out.push((
                    t.number,
                    t.line,
                    col,
                    mismatch(
                        Rule::SikyuTotal,
                        found,
                        format!("全合計行の「{item}」は各行の合計 {} です（{} と書かれています）", n(expected), n(found)),
                        format!("the grand total's {item} must be the sum of the lines, {expected} (found {found})"),
                    ),
                ));
            }
        }
        money(t, out);
    }
}

fn unit_amount(l: &Located<Sikyu>, out: &mut Vec<Finding>) {
    let r = &l.record;
    let Some(found) = int(&r.unit_amount) else { return };
    let (units, what) = match int(&r.discounted_units) {
        Some(d) => (d, "割引後単位数"),
        None => (r.units.0, "単位数"),
    };
    let expected = units * r.count.0;
    if found != expected {
        out.push((
            l.number,
            l.line,
            17,
            mismatch(
                Rule::SikyuUnitAmount,
                found,
                format!(
                    "「サービス単位／金額」は {what} {} × 回数／日数 {} = {} です（{} と書かれています）",
                    n(units),
                    r.count.0,
                    n(expected),
                    n(found)
                ),
                format!("サービス単位／金額 must be {what} {units} × count {} = {expected} (found {found})", r.count.0),
            ),
        ));
    }
}

/// The limit split and the money of one line that bears them.
fn money(l: &Located<Sikyu>, out: &mut Vec<Finding>) {
    let r = &l.record;
    let (over, within) = (int(&r.limit_over), int(&r.limit_within));
    if let (false, Some(base), base_item) = match int(&r.managed_units) {
        Some(m) => (over.is_none() && within.is_none(), Some(m), "給付管理単位数"),
        None => (over.is_none() && within.is_none(), int(&r.unit_amount), "サービス単位／金額"),
    } {
        let sum = over.unwrap_or(0) + within.unwrap_or(0);
        if sum != base {
            out.push((
                l.number,
                l.line,
                22,
                mismatch(
                    Rule::SikyuLimitSplit,
                    within.unwrap_or(0),
                    format!(
                        "区分支給限度基準内単位数 {} ＋ 基準超単位数 {} = {} が「{base_item}」{} と合いません",
                        n(within.unwrap_or(0)),
                        n(over.unwrap_or(0)),
                        n(sum),
                        n(base)
                    ),
                    format!("within {} + over {} = {sum} differs from {base_item} {base}", within.unwrap_or(0), over.unwrap_or(0)),
                ),
            ));
        }
    }
    let Some(price) = r.unit_price else { return };
    let price_text = format!("{}.{:02}", price.0 / 100, price.0 % 100);
    if let (Some(w), Some(found)) = (within, int(&r.total_cost)) {
        let expected = yen(w, &price);
        if found != expected {
            out.push((
                l.number,
                l.line,
                24,
                mismatch(
                    Rule::SikyuCost,
                    found,
                    format!(
                        "「費用総額」は 基準内単位数 {} × 単位数単価 {price_text} = {} 円（1円未満切り捨て）です（{} と書かれています）",
                        n(w),
                        n(expected),
                        n(found)
                    ),
                    format!("費用総額 must be {w} × {price_text} = {expected} yen, cut below one yen (found {found})"),
                ),
            ));
        }
    }
    if let (Some(o), Some(found), None) = (over, int(&r.copay_full), int(&r.kind_over).filter(|v| *v != 0)) {
        let expected = yen(o, &price);
        if found != expected {
            out.push((l.number, l.line, 29, mismatch(
                Rule::SikyuCopayFull,
                found,
                format!("「利用者負担（全額負担分）」は 基準超単位数 {} × 単位数単価 {price_text} = {} 円（1円未満切り捨て）です（{} と書かれています）", n(o), n(expected), n(found)),
                format!("利用者負担（全額負担分） must be {o} × {price_text} = {expected} yen (found {found})"),
            )));
        }
    }
    if int(&r.fixed_copay).is_some() {
        return;
    }
    let Some(cost) = int(&r.total_cost) else { return };
    if let (Some(rate), Some(found)) = (int(&r.benefit_rate), int(&r.claim)) {
        let expected = benefit(cost, rate);
        if found != expected {
            out.push((
                l.number,
                l.line,
                26,
                mismatch(
                    Rule::SikyuBenefit,
                    found,
                    format!(
                        "「保険／事業費請求額」は 費用総額 {} × 給付率 {rate}% = {} 円（1円未満切り捨て）です（{} と書かれています）",
                        n(cost),
                        n(expected),
                        n(found)
                    ),
                    format!("保険／事業費請求額 must be {cost} × {rate}% = {expected} yen, cut below one yen (found {found})"),
                ),
            ));
        }
    }
    if let (Some(claim), Some(found)) = (int(&r.claim), int(&r.copay)) {
        let expected = cost - claim;
        if found != expected {
            out.push((
                l.number,
                l.line,
                28,
                mismatch(
                    Rule::SikyuCopay,
                    found,
                    format!(
                        "「利用者負担（保険／事業対象分）」は 費用総額 {} − 請求額 {} = {} 円です（{} と書かれています）",
                        n(cost),
                        n(claim),
                        n(expected),
                        n(found)
                    ),
                    format!("the user's share must be {cost} − {claim} = {expected} yen (found {found})"),
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yen_is_cut_below_one_yen() {
        assert_eq!(yen(1234, &Decimal(1090)), 13450); // 13450.6
        assert_eq!(yen(1000, &Decimal(1000)), 10000);
        assert_eq!(benefit(13450, 90), 12105);
        assert_eq!(benefit(13451, 90), 12105); // 12105.9
        assert_eq!(benefit(13450, 70), 9415);
    }
}
