//! The arithmetic of 第7表: a valid file adds up; one changed amount is reported on exactly the
//! lines that no longer add up, with the expected and the found value.

use renkei_spec::calendar::YearMonth;
use renkei_spec::csv;
use renkei_spec::ms932::{self, Normalize};
use renkei_testkit::Generator;
use std::collections::BTreeSet;

type Rows = Vec<Vec<(String, bool)>>;

fn sikyu() -> (String, Rows) {
    let files = Generator::new(7).sample_set(YearMonth::new(2025, 6).unwrap());
    let f = files.into_iter().find(|f| f.name.starts_with("UPSIKYU_")).unwrap();
    let text = ms932::decode(&f.bytes).text;
    let rows = csv::read(&text).records.iter().map(|r| r.fields.iter().map(|x| (x.value.to_string(), x.quoted)).collect()).collect();
    (f.name, rows)
}

fn bytes(rows: &Rows) -> Vec<u8> {
    let mut out = String::new();
    for r in rows {
        csv::write_record(&mut out, r.iter().map(|(s, q)| (s.as_str(), *q)));
    }
    ms932::encode(&out, Normalize::Never).unwrap()
}

/// (record number, rule id, column) of every `sikyu.*` finding.
fn findings(name: &str, rows: &Rows) -> BTreeSet<(u32, &'static str, u16)> {
    let r = renkei_spec::validate::check_file(name, &bytes(rows));
    let other: Vec<_> = r.diagnostics.iter().filter(|d| !d.rule.id().starts_with("sikyu.")).collect();
    assert!(other.is_empty(), "{other:#?}");
    r.diagnostics.iter().map(|d| (d.record.unwrap(), d.rule.id(), d.column.unwrap())).collect()
}

fn set(rows: &mut Rows, rec: usize, col: usize, v: &str) {
    rows[rec - 1][col - 1].0 = v.into();
}

fn get(rows: &Rows, rec: usize, col: usize) -> i64 {
    rows[rec - 1][col - 1].0.parse().unwrap()
}

/// The first user's first detail line and its 全合計 line (1-based record numbers).
fn first_user(rows: &Rows) -> (usize, usize) {
    let total = rows.iter().position(|r| r[8].0 == "999999").unwrap() + 1;
    (1, total)
}

#[test]
fn the_generated_file_adds_up() {
    let (name, rows) = sikyu();
    assert!(findings(&name, &rows).is_empty());
    // Every detail line bears its money (one code per provider), and the numbers are real.
    assert!(get(&rows, 1, 17) > 0 && get(&rows, 1, 24) > 0 && get(&rows, 1, 26) > 0);
    assert_eq!(get(&rows, 1, 17), get(&rows, 1, 13) * get(&rows, 1, 16));
}

#[test]
fn one_changed_unit_amount_is_reported_where_it_no_longer_adds_up() {
    let (name, mut rows) = sikyu();
    let (detail, total) = first_user(&rows);
    let v = get(&rows, detail, 17) + 10;
    set(&mut rows, detail, 17, &v.to_string());
    assert_eq!(findings(&name, &rows), [(detail as u32, "sikyu.unit-amount", 17), (total as u32, "sikyu.total", 17)].into(),);
    let r = renkei_spec::validate::check_file(&name, &bytes(&rows));
    let d = r.diagnostics.iter().find(|d| d.rule.id() == "sikyu.unit-amount").unwrap();
    let expected = get(&rows, detail, 13) * get(&rows, detail, 16);
    assert!(d.message.contains(&format!("{}", get(&rows, detail, 16))), "{}", d.message);
    assert_eq!(d.value.as_deref(), Some(v.to_string().as_str()));
    assert!(d.message.contains("と書かれています"), "{}", d.message);
    assert!(d.line.is_some() && d.item.as_deref() == Some("サービス単位金額"), "{d:?}");
    let _ = expected;
}

#[test]
fn one_changed_claim_is_reported_on_its_line_and_the_total() {
    let (name, mut rows) = sikyu();
    let (detail, total) = first_user(&rows);
    let v = get(&rows, detail, 26) - 1;
    set(&mut rows, detail, 26, &v.to_string());
    assert_eq!(
        findings(&name, &rows),
        [(detail as u32, "sikyu.benefit", 26), (detail as u32, "sikyu.copay", 28), (total as u32, "sikyu.total", 26)].into(),
    );
}

#[test]
fn a_changed_total_is_reported_on_the_total_only() {
    let (name, mut rows) = sikyu();
    let (_, total) = first_user(&rows);
    let v = get(&rows, total, 24) + 1;
    set(&mut rows, total, 24, &v.to_string());
    assert_eq!(findings(&name, &rows), [(total as u32, "sikyu.total", 24)].into());
}

#[test]
fn cost_and_split() {
    let (name, mut rows) = sikyu();
    let (detail, _) = first_user(&rows);
    // 費用総額 one yen off (rounding up instead of cutting).
    let cost = get(&rows, detail, 24);
    set(&mut rows, detail, 24, &(cost + 1).to_string());
    // and the user's share moved with it, so that only the cost is wrong on this line … but the
    // claim is then computed from the written cost: both follow, the total does not.
    let f = findings(&name, &rows);
    assert!(f.contains(&(detail as u32, "sikyu.cost", 24)), "{f:?}");
    // Within + over must be the managed units.
    let (name, mut rows) = sikyu();
    set(&mut rows, detail, 21, "5");
    let f = findings(&name, &rows);
    assert!(f.contains(&(detail as u32, "sikyu.limit-split", 22)), "{f:?}");
}

#[test]
fn a_kind_with_two_detail_lines_needs_its_subtotal_and_it_must_add_up() {
    let (name, mut rows) = sikyu();
    let (detail, total) = first_user(&rows);
    // A second code of the same kind at the same provider, 100 units × 2.
    let mut second = rows[detail - 1].clone();
    let code = second[8].0.clone();
    second[8].0 = format!("{}{}", &code[..2], if &code[2..] == "9999" { "1111" } else { "9999" });
    for (col, v) in [(13, "100"), (16, "2"), (17, "200"), (18, "200")] {
        second[col - 1].0 = v.into();
    }
    for col in [21, 22, 23, 24, 25, 26, 28, 29] {
        second[col - 1].0 = String::new();
    }
    rows.insert(detail, second);
    let total = total + 1;
    let f = findings(&name, &rows);
    assert!(f.contains(&(detail as u32, "sikyu.kind-subtotal.missing", 9)), "{f:?}");

    // With its AAAA line (the first line's money moved onto it, amounts summed): all adds up
    // once the total counts the 200 units too.
    let first = rows[detail - 1].clone();
    let mut sub = first.clone();
    sub[8].0 = format!("{}AAAA", &code[..2]);
    let sum = get(&rows, detail, 17) + 200;
    for (col, v) in [
        (10, String::new()),
        (11, String::new()),
        (12, String::new()),
        (13, "0".into()),
        (16, "1".into()),
        (17, sum.to_string()),
        (18, sum.to_string()),
    ] {
        sub[col - 1].0 = v;
    }
    let cost = sum * 1090 / 100;
    let claim = cost * 90 / 100;
    for (col, v) in [(21, 0), (22, sum), (24, cost), (26, claim), (28, cost - claim), (29, 0)] {
        sub[col - 1].0 = v.to_string();
    }
    sub[22].0 = "10.90".into();
    sub[24].0 = "90".into();
    // The first detail line no longer bears money.
    for col in [21, 22, 23, 24, 25, 26, 28, 29] {
        rows[detail - 1][col - 1].0 = String::new();
    }
    rows.insert(detail + 1, sub);
    let total = total + 1;
    // The total: everything of the other groups plus this group's new sums.
    let old17 = get(&rows, total, 17);
    let t_cost = get(&rows, total, 24) - (get(&rows, detail, 17) * 1090 / 100) + cost;
    let first_claim_before = {
        let c = get(&rows, detail, 17) * 1090 / 100;
        (c, c * 90 / 100)
    };
    let (t18, t22, t26, t28) = (get(&rows, total, 18), get(&rows, total, 22), get(&rows, total, 26), get(&rows, total, 28));
    set(&mut rows, total, 17, &(old17 + 200).to_string());
    set(&mut rows, total, 18, &(t18 + 200).to_string());
    set(&mut rows, total, 22, &(t22 + 200).to_string());
    set(&mut rows, total, 24, &t_cost.to_string());
    set(&mut rows, total, 26, &(t26 - first_claim_before.1 + claim).to_string());
    set(&mut rows, total, 28, &(t28 - (first_claim_before.0 - first_claim_before.1) + (cost - claim)).to_string());
    assert!(findings(&name, &rows).is_empty(), "{:?}", findings(&name, &rows));

    // The subtotal one unit off.
    set(&mut rows, detail + 2, 17, &(sum + 1).to_string());
    let f = findings(&name, &rows);
    assert!(f.contains(&((detail + 2) as u32, "sikyu.kind-subtotal", 17)), "{f:?}");
}

#[test]
fn an_equipment_rental_line_names_its_equipment() {
    let files = Generator::new(5).month_of_large_office(40, 7, YearMonth::new(2025, 6).unwrap());
    let clean = renkei_spec::check(files.iter().map(|f| (f.name.clone(), f.bytes.clone())).collect());
    assert_eq!(
        clean.tally().errors,
        0,
        "{:#?}",
        clean.diagnostics().filter(|d| d.severity == renkei_spec::diag::Severity::Error).take(3).collect::<Vec<_>>()
    );
    let f = files.iter().find(|f| f.name.starts_with("UPPLAN_") && f.name.contains("_17_")).expect("a 福祉用具貸与 unit");
    let bytes = renkei_testkit::edit_records(&f.bytes, |_, v| {
        v[15].0 = String::new();
        v[16].0 = String::new();
    });
    let r = renkei_spec::validate::check_file(&f.name, &bytes);
    let ids: BTreeSet<&str> = r.diagnostics.iter().map(|d| d.rule.id()).collect();
    assert_eq!(ids, ["rec.equipment-code"].into(), "{:#?}", r.diagnostics);
}

#[test]
fn plan_units_against_actual_counts() {
    use renkei_spec::validate::{Records, check_file};
    let files = Generator::new(7).sample_set(YearMonth::new(2025, 6).unwrap());
    let sikyu = files.iter().find(|f| f.name.starts_with("UPSIKYU_")).unwrap();
    let plan = files.iter().find(|f| f.name.starts_with("UPPLAN_")).unwrap();
    let Some(Records::Sikyu(s)) = check_file(&sikyu.name, &sikyu.bytes).records else { panic!() };
    let Some(Records::Plan(mut p)) = check_file(&plan.name, &plan.bytes).records else { panic!() };
    // Provided as planned: no difference.
    assert!(renkei_spec::reconcile::reconcile_units(&s, &p, None, None).is_empty());
    // One service fewer: its code differs by one unit value, with both figures.
    let gone = p.remove(0).record;
    let d = renkei_spec::reconcile::reconcile_units(&s, &p, None, None);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].insured, gone.insured.as_str());
    assert_eq!(d[0].actual_count, d[0].planned_count - 1);
    assert_eq!(d[0].planned_units - d[0].actual_units, gone.units.unwrap().0);
}
