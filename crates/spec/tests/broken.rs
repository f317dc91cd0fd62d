//! Broken inputs: each case breaks a valid sample in one way, and the findings are pinned as
//! snapshots (file, line, column, item, rule, message).

use renkei_spec::calendar::YearMonth;
use renkei_spec::diag::{Diagnostic, Severity};
use renkei_spec::ms932::{self, Normalize};
use renkei_testkit::{GenFile, Generator};

fn sample() -> Vec<GenFile> {
    Generator::new(7).sample_set(YearMonth::new(2025, 6).unwrap())
}

fn text(f: &GenFile) -> String {
    let d = ms932::decode(&f.bytes);
    assert!(d.is_clean());
    d.text
}

fn set_text(f: &mut GenFile, t: &str) {
    f.bytes = ms932::encode(t, Normalize::Never).unwrap();
}

fn find<'a>(files: &'a mut [GenFile], prefix: &str) -> &'a mut GenFile {
    files.iter_mut().find(|f| f.name.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix}"))
}

fn run(files: &[GenFile]) -> Vec<Diagnostic> {
    renkei_spec::check(files.iter().map(|f| (f.name.clone(), f.bytes.clone())).collect()).diagnostics().cloned().collect()
}

/// Re-writes a CSV text record by record (through the testkit helper, on MS932 bytes).
fn map_records(t: &str, f: impl FnMut(usize, &mut Vec<(String, bool)>)) -> String {
    let bytes = renkei_testkit::edit_records(&ms932::encode(t, Normalize::Never).unwrap(), f);
    ms932::decode(&bytes).text
}

/// Replaces field `col` (1-based) of record `rec` (1-based).
fn set_field(t: &str, rec: usize, col: usize, value: &str) -> String {
    map_records(t, |i, v| {
        if i == rec {
            v[col - 1].0 = value.to_owned();
        }
    })
}

#[test]
fn record_month_differs_from_name() {
    let mut files = sample();
    let f = find(&mut files, "UPPLAN_");
    let t = set_field(&text(f), 1, 5, "202507");
    set_text(f, &t);
    insta::assert_yaml_snapshot!(run(&files));
}

#[test]
fn office_check_digit_in_a_record() {
    let mut files = sample();
    let f = find(&mut files, "DLTJSK_");
    let t = text(f);
    let good = t.split(',').nth(4).unwrap().to_owned();
    let bad = format!("{}{}", &good[..9], (good.as_bytes()[9] - b'0' + 1) % 10);
    set_text(f, &t.replacen(&good, &bad, 1));
    insta::assert_yaml_snapshot!(run(&files));
}

#[test]
fn gaiji_and_undefined_bytes() {
    let mut files = sample();
    let f = find(&mut files, "UP1KYO_");
    // Replace the first 0x81 0x40 (full-width space) ... simpler: append a gaiji inside free text.
    let pos = f.bytes.iter().position(|&b| b == b'"').unwrap() + 1;
    f.bytes.splice(pos..pos, [0xF0, 0x40, 0xFD]);
    insta::assert_yaml_snapshot!(run(&files));
}

#[test]
fn utf8_file() {
    let mut files = sample();
    let f = find(&mut files, "UP2KYO_");
    f.bytes = text(f).into_bytes();
    insta::assert_yaml_snapshot!(run(&files));
}

#[test]
fn v3_columns_under_a_v4_name() {
    let mut files = sample();
    let f = find(&mut files, "UPJSK_");
    let t = map_records(&text(f), |_, v| {
        v.drain(15..18);
    });
    set_text(f, &t);
    let d = run(&files);
    assert!(d.iter().all(|d| d.rule.id() == "rec.column-count"), "{d:#?}");
    insta::assert_yaml_snapshot!(d[0]);
}

#[test]
fn missing_allowance_table_and_orphans() {
    let mut files = sample();
    files.retain(|f| !f.name.starts_with("UPSIKYU_") && !f.name.starts_with("UP1KYO_") && !f.name.starts_with("UPKIHON_2"));
    insta::assert_yaml_snapshot!(run(&files));
}

#[test]
fn deletion_sent_with_a_plan() {
    let mut files = sample();
    let plan = files.iter().find(|f| f.name.starts_with("UPPLAN_")).unwrap().name.clone();
    let seq = &plan[plan.len() - 18..plan.len() - 4];
    let f = find(&mut files, "DLTPLAN_");
    let n = f.name.clone();
    f.name = format!("{}{}.CSV", &n[..n.len() - 18], seq);
    insta::assert_yaml_snapshot!(run(&files));
}

#[test]
fn syntax_and_field_errors() {
    let mut files = sample();
    let f = find(&mut files, "UP3KYO_");
    let mut t = text(f);
    t = set_field(&t, 1, 4, "20250230");
    t = set_field(&t, 2, 8, "9:30");
    t = set_field(&t, 3, 7, "8");
    t.push_str("202407,\"unterminated\r\n");
    set_text(f, &t);
    insta::assert_yaml_snapshot!(run(&files));
}

#[test]
fn unrelated_user_in_a_plan_slip() {
    let mut files = sample();
    let f = find(&mut files, "UPPLAN_");
    let t = text(f);
    let receiver = f.name.split('_').nth(4).unwrap().to_owned();
    // Move every line of the first user to another provider.
    let first_user = t.split(',').nth(2).unwrap().to_owned();
    let other = renkei_spec::ids::OfficeNumber::from_body("137000001").unwrap().to_string();
    let t = map_records(&t, |_, v| {
        if v[2].0 == first_user && v[19].0 == receiver {
            v[19].0.clone_from(&other);
        }
    });
    set_text(f, &t);
    let d = run(&files);
    assert!(d.iter().any(|d| d.rule.id() == "file.unrelated-user" && d.severity == Severity::Error), "{d:#?}");
    insta::assert_yaml_snapshot!(d);
}

#[test]
fn bad_file_names() {
    let names = [
        "UPPLAN_202513_1374482477_43_1378994089_15_20250525100000.CSV",
        "UPPLAN_202506_1374482478_43_1378994089_15_20250525100000.CSV",
        "UPPLAN_202506_1374482477_430_1378994089_15_20250525100000.CSV",
        "UPPLAN_202506_1374482477_43_1378994089_15_20250230100000.CSV",
        "UPHOSOKU_1374482477_43_1378994089_15_20250525100000.CSV",
        "UP3KYO_1374482477_1378994089_20250525100000.CSV",
        "upplan_202506_1374482477_43_1378994089_15_20250525100000.CSV",
        "UPPLAN_202506_1374482477_43_1378994089_15_20250525100000.csv",
        "UPKIHON_IMAGE_2702424926_46_27A7535435_A6_20250610110000_0001.png",
        "事業所だより.pdf",
    ];
    let files: Vec<(String, Vec<u8>)> = names.iter().map(|n| (n.to_string(), Vec::new())).collect();
    let report = renkei_spec::check(files);
    let d: Vec<_> = report
        .files
        .iter()
        .flat_map(|f| f.diagnostics.iter().filter(|d| d.rule.id().starts_with("name.") || d.rule.id() == "file.not-standard"))
        .cloned()
        .collect();
    insta::assert_yaml_snapshot!(d);
}
