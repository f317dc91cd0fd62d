//! The registry is the truth: an office number whose check digit fails is accepted (with a
//! warning) when the registry holds it, and stays an error with its hint when it does not.

use renkei_spec::calendar::YearMonth;
use renkei_spec::diag::{Rule, Severity};
use renkei_spec::ms932::{self, Normalize};
use renkei_testkit::Generator;
use std::collections::BTreeSet;

/// The sample set with the care manager's office renumbered to `number` everywhere (names and
/// records).
fn renumbered(number: &str) -> Vec<(String, Vec<u8>)> {
    let files = Generator::new(7).sample_set(YearMonth::new(2025, 6).unwrap());
    let old = files.iter().find(|f| f.name.starts_with("UPPLAN_")).unwrap().name.split('_').nth(2).unwrap().to_owned();
    files
        .into_iter()
        .map(|f| {
            let name = f.name.replace(&old, number);
            let d = ms932::decode(&f.bytes);
            let bytes =
                if name.ends_with(".jpg") { f.bytes } else { ms932::encode(&d.text.replace(&old, number), Normalize::Never).unwrap() };
            (name, bytes)
        })
        .collect()
}

/// A number of the right shape whose check digit fails (the tenth digit moved by one).
fn failing_number() -> String {
    let good = renkei_spec::ids::OfficeNumber::from_body("137448247").unwrap().to_string();
    let bad = format!("{}{}", &good[..9], (good.as_bytes()[9] - b'0' + 1) % 10);
    assert!(renkei_spec::ids::OfficeNumber::check(&bad).is_err());
    bad
}

#[test]
fn a_registered_number_is_a_warning_an_unregistered_one_an_error() {
    let bad = failing_number();
    let files = renumbered(&bad);

    let offline = renkei_spec::check(files.clone());
    let errors: BTreeSet<&str> = offline.diagnostics().filter(|d| d.severity == Severity::Error).map(|d| d.rule.id()).collect();
    assert!(errors.contains("name.office.check-digit"), "{errors:?}");
    assert!(errors.contains("field.office.check-digit"), "{errors:?}");
    let hint = offline.diagnostics().find(|d| d.rule == Rule::NameOfficeCheckDigit).unwrap();
    assert!(hint.message.contains("計算上の検証番号"), "the hint stays: {}", hint.message);

    let registry: BTreeSet<String> = [bad.clone()].into();
    let known = renkei_spec::check_with(files.clone(), &registry);
    let errors: Vec<_> = known.diagnostics().filter(|d| d.severity == Severity::Error).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let warned: BTreeSet<Rule> = known.diagnostics().filter(|d| d.value.as_deref() == Some(bad.as_str())).map(|d| d.rule).collect();
    assert_eq!(warned, [Rule::NameOfficeCheckDigitRegistered, Rule::FieldOfficeCheckDigitRegistered].into());
    let w = known.diagnostics().find(|d| d.rule == Rule::NameOfficeCheckDigitRegistered).unwrap();
    assert_eq!(w.severity, Severity::Warning);
    assert!(w.message.contains("事業所台帳に登録された番号"), "{}", w.message);
    // The files form the same send units as with a valid number.
    let valid = renkei_spec::check(renumbered(&renkei_spec::ids::OfficeNumber::from_body("137448247").unwrap().to_string()));
    assert_eq!(known.units.len(), valid.units.len());
    assert!(known.files.iter().all(|f| f.name.is_some()));

    // Another registered number does not help this one.
    let other: BTreeSet<String> = ["1371000010".to_owned()].into();
    assert!(renkei_spec::check_with(files, &other).diagnostics().any(|d| d.rule == Rule::NameOfficeCheckDigit));
}

#[test]
fn the_published_group_home_number_fails_the_check_digit() {
    // A グループホーム's published number: real, and its check digit fails.
    assert!(renkei_spec::ids::OfficeNumber::check("2372100034").is_err());
    assert!(renkei_spec::ids::OfficeNumber::check_shape("2372100034").is_ok());
    let n = renkei_spec::ids::OfficeNumber::parse_shape("2372100034").unwrap();
    assert_eq!(n.check_digit_problem(false).unwrap().rule, Rule::FieldOfficeCheckDigit);
    assert!(renkei_spec::ids::OfficeNumber::check_shape("2372I00034").is_err(), "the shape rule stays");
}
