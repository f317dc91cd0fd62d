use renkei_spec::calendar::YearMonth;
use renkei_spec::name::{Family, FileKind};
use renkei_spec::unit::UnitKind;
use renkei_testkit::Generator;

fn ym(y: u16, m: u8) -> YearMonth {
    YearMonth::new(y, m).unwrap()
}

#[test]
fn v4_sample_set_covers_every_kind_and_is_clean() {
    let files = Generator::new(7).sample_set(ym(2025, 6));
    let report = renkei_spec::check(files.iter().map(|f| (f.name.clone(), f.bytes.clone())).collect());
    let diags: Vec<_> = report.diagnostics().collect();
    assert!(diags.is_empty(), "{}", crate::show(&diags));
    let kinds: std::collections::BTreeSet<_> = report.files.iter().filter_map(|f| f.kind).collect();
    assert_eq!(kinds.len(), 18, "every file kind: {kinds:?}");
    let units: Vec<UnitKind> = report.units.iter().map(|u| u.kind).collect();
    for k in [UnitKind::CarePlan, UnitKind::ServiceSlip, UnitKind::Actual, UnitKind::Prevention, UnitKind::Deletion] {
        assert!(units.contains(&k), "{k:?} in {units:?}");
    }
    // Import order: by file sequence.
    let seqs: Vec<_> = report.units.iter().map(|u| u.seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(seqs, sorted);
}

#[test]
fn v3_sample_set_is_clean() {
    let files = Generator::v3(11).sample_set(ym(2024, 3));
    let report = renkei_spec::check(files.iter().map(|f| (f.name.clone(), f.bytes.clone())).collect());
    let diags: Vec<_> = report.diagnostics().collect();
    assert!(diags.is_empty(), "{}", crate::show(&diags));
    assert!(report.files.iter().all(|f| f.family == Some(Family::V3)));
    assert!(report.files.iter().any(|f| f.kind == Some(FileKind::UpSikyu)));
}

#[test]
fn large_month_is_clean() {
    let files = Generator::new(3).month_of_large_office(60, 8, ym(2025, 11));
    let report = renkei_spec::check(files.iter().map(|f| (f.name.clone(), f.bytes.clone())).collect());
    let diags: Vec<_> = report.diagnostics().collect();
    assert!(diags.is_empty(), "{}", crate::show(&diags));
}
