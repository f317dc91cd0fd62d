//! Property tests: generated record → write → read → equal; name → string → name; CSV and
//! MS932 round trips; no parser panics on arbitrary input.

use proptest::prelude::*;
use renkei_spec::calendar::{Date, FileSeq, YearMonth};
use renkei_spec::ids::{OfficeNumber, ServiceKind};
use renkei_spec::name::{self, Family, FileKind, FileName, NameMonth, Party, Profile};
use renkei_testkit::Generator;

fn month() -> impl Strategy<Value = YearMonth> {
    (2019u16..2031, 1u8..=12).prop_map(|(y, m)| YearMonth::new(y, m).unwrap())
}

fn check_generated(files: &[renkei_testkit::GenFile]) -> Result<(), TestCaseError> {
    let report = renkei_spec::check(files.iter().map(|f| (f.name.clone(), f.bytes.clone())).collect());
    let diags: Vec<_> = report.diagnostics().collect();
    prop_assert!(diags.is_empty(), "{}", crate::show(&diags));
    for (g, r) in files.iter().zip(&report.files) {
        // Typed records read back equal the generated ones, line numbers included.
        prop_assert_eq!(&g.records, &r.records, "{}", g.name);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn v4_bundles_round_trip(seed in any::<u64>(), m in month()) {
        check_generated(&Generator::new(seed).sample_set(m))?;
    }

    #[test]
    fn v3_bundles_round_trip(seed in any::<u64>(), m in month()) {
        check_generated(&Generator::v3(seed).sample_set(m))?;
    }
}

fn office() -> impl Strategy<Value = OfficeNumber> {
    (1u8..=47, prop::sample::select(b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ".to_vec()), 0u32..1_000_000)
        .prop_map(|(p, c, n)| OfficeNumber::from_body(&format!("{p:02}{}{n:06}", c as char)).unwrap())
}

fn kind() -> impl Strategy<Value = ServiceKind> {
    prop::sample::select(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".to_vec()).prop_flat_map(|a| {
        prop::sample::select(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".to_vec())
            .prop_map(move |b| ServiceKind::parse(&format!("{}{}", a as char, b as char)).unwrap())
    })
}

fn seq() -> impl Strategy<Value = FileSeq> {
    (2000u16..2100, 1u8..=12, 1u8..=31, 0u8..24, 0u8..60, 0u8..60).prop_filter_map("calendar", |(y, mo, d, h, mi, s)| {
        Date::new(y, mo, d).map(|date| FileSeq { date, hour: h, minute: mi, second: s })
    })
}

fn file_name() -> impl Strategy<Value = FileName> {
    (
        prop::sample::select(FileKind::ALL.to_vec()),
        any::<bool>(),
        month(),
        any::<bool>(),
        office(),
        kind(),
        office(),
        kind(),
        seq(),
        1u16..=9999,
        any::<bool>(),
    )
        .prop_filter("distinct offices", |t| t.4 != t.6)
        .prop_map(|(k, v3, m, zero, so, sk, ro, rk, seq, branch, lower)| {
            let family = if v3 && !k.v4_only() { Family::V3 } else { Family::V4 };
            let month = k.has_month().then(|| if zero && k == FileKind::UpHosoku { NameMonth::Zero } else { NameMonth::Month(m) });
            let mut n = FileName::v4(k, month, (so.clone(), sk), (ro.clone(), rk), seq);
            n.family = family;
            if family == Family::V3 {
                n.sender = Party { office: so, kind: None };
                n.receiver = Party { office: ro, kind: None };
            }
            if k == FileKind::UpKihonImage {
                n.branch = Some(branch);
                if lower {
                    n.ext = name::Extension::JpgUpper;
                }
            } else if lower {
                n.ext = name::Extension::CsvLower;
            }
            n
        })
}

proptest! {
    #[test]
    fn names_round_trip(n in file_name()) {
        let s = n.to_string();
        let parsed = name::parse(&s, Profile::LENIENT).map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
        prop_assert_eq!(&parsed.name, &n);
        prop_assert_eq!(parsed.name.to_string(), s);
    }

    #[test]
    fn name_parser_never_panics(s in "\\PC{0,80}", t in "(UP|DLT)[A-Z0-9_]{0,70}\\.(CSV|csv|jpg)") {
        let _ = name::parse(&s, Profile::LENIENT);
        let _ = name::parse(&t, Profile::STRICT);
    }

    #[test]
    fn csv_fields_round_trip(rows in prop::collection::vec(prop::collection::vec(("\\PC{0,12}|[\",\r\n a]{0,6}", any::<bool>()), 1..6), 1..5)) {
        let mut out = String::new();
        for r in &rows {
            renkei_spec::csv::write_record(&mut out, r.iter().map(|(v, q)| (v.as_str(), *q)));
        }
        let t = renkei_spec::csv::read(&out);
        let got: Vec<Vec<String>> = t.records.iter().map(|r| r.fields.iter().map(|f| f.value.to_string()).collect()).collect();
        let want: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|(v, _)| v.clone()).collect()).collect();
        prop_assert_eq!(got, want);
        prop_assert!(t.issues.is_empty());
    }

    #[test]
    fn csv_reader_never_panics(s in "\\PC{0,200}|[\",\r\na]{0,40}") {
        let _ = renkei_spec::csv::read(&s);
    }

    #[test]
    fn ms932_text_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let d = renkei_spec::ms932::decode(&bytes);
        if d.is_clean() {
            let again = renkei_spec::ms932::encode(&d.text, renkei_spec::ms932::Normalize::Never).unwrap();
            prop_assert_eq!(renkei_spec::ms932::decode(&again).text, d.text);
        }
    }

    #[test]
    fn check_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400), which in 0usize..4) {
        let names = [
            "UPPLAN_202505_2794900205_43_2875104529_15_20250317182009.CSV",
            "UPHOSOKU_000000_2794900205_43_2875104529_15_20250317182009.CSV",
            "UPKIHON_2794900205_46_2875104529_A6_20250317182009.CSV",
            "UPSIKYU_202505_2794900205_2875104529_20250317182009.CSV",
        ];
        let _ = renkei_spec::check(vec![(names[which].to_owned(), bytes)]);
    }
}
