//! Every rule of the catalogue fires on an input built for it from a valid sample, and only
//! rules with such a case exist (a rule nobody can trigger would mislead vendors).

use renkei_spec::calendar::YearMonth;
use renkei_spec::diag::Rule;
use renkei_testkit::{GenFile, Generator, edit_records};

fn sample() -> Vec<GenFile> {
    Generator::new(7).sample_set(YearMonth::new(2025, 6).unwrap())
}

fn file<'a>(files: &'a mut [GenFile], prefix: &str) -> &'a mut GenFile {
    files.iter_mut().find(|f| f.name.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix}"))
}

/// Sets column `col` of record `rec` of the first file whose name starts with `prefix`.
fn set(files: &mut [GenFile], prefix: &str, rec: usize, col: usize, v: &str) {
    let f = file(files, prefix);
    f.bytes = edit_records(&f.bytes, |i, fields| {
        if i == rec {
            fields[col - 1].0 = v.to_owned();
        }
    });
}

fn text_edit(files: &mut [GenFile], prefix: &str, f: impl FnOnce(String) -> String) {
    let g = file(files, prefix);
    let t = renkei_spec::ms932::decode(&g.bytes).text;
    g.bytes = renkei_spec::ms932::encode(&f(t), renkei_spec::ms932::Normalize::Never).unwrap();
}

fn rename(files: &mut [GenFile], prefix: &str, new: impl FnOnce(&str) -> String) {
    let g = file(files, prefix);
    g.name = new(&g.name);
}

type Case = (&'static str, fn(&mut Vec<GenFile>));

const CASES: &[Case] = &[
    ("enc.undefined-byte", |f| file(f, "UP2KYO_").bytes.insert(10, 0xFD)),
    ("enc.gaiji", |f| file(f, "UP2KYO_").bytes.splice(10..10, [0xF0, 0x40]).for_each(drop)),
    ("enc.utf8", |f| {
        let g = file(f, "UP2KYO_");
        g.bytes = renkei_spec::ms932::decode(&g.bytes).text.into_bytes();
    }),
    ("enc.bom", |f| file(f, "UP2KYO_").bytes.splice(0..0, [0xEF, 0xBB, 0xBF]).for_each(drop)),
    ("csv.unterminated-quote", |f| text_edit(f, "UP2KYO_", |t| t + "202407,\"open\r\n")),
    ("csv.text-after-quote", |f| text_edit(f, "UP1KYO_", |t| t.replacen("\",", "\"x,", 1))),
    ("csv.quote-in-unquoted", |f| text_edit(f, "DLTPLAN_", |t| t.replacen(",", ",1\"", 1))),
    ("csv.line-ending", |f| text_edit(f, "DLTPLAN_", |t| t.replace("\r\n", "\n"))),
    ("csv.mixed-line-endings", |f| {
        // The last record's terminator becomes LF.
        text_edit(f, "UPJSK_", |t| format!("{}\n", t.strip_suffix("\r\n").unwrap()))
    }),
    ("csv.no-final-newline", |f| text_edit(f, "DLTPLAN_", |t| t.trim_end().to_owned())),
    ("csv.blank-line", |f| text_edit(f, "DLTPLAN_", |t| format!("\r\n{t}"))),
    ("csv.header-row", |f| text_edit(f, "DLTPLAN_", |t| format!("CSVバージョン,保険者番号,被保険者番号,削除対象年月\r\n{t}"))),
    ("csv.empty", |f| file(f, "DLTPLAN_").bytes.clear()),
    ("rec.column-count", |f| text_edit(f, "DLTPLAN_", |t| t.replace("\r\n", ",\r\n"))),
    ("field.required", |f| set(f, "UPPLAN_", 1, 15, "")),
    ("field.length", |f| set(f, "UPHOSOKU_2", 1, 7, "12")),
    ("field.free-text-unquoted", |f| {
        let g = file(f, "UP1KYO_");
        g.bytes = edit_records(&g.bytes, |_, v| v[7] = ("山田".into(), false));
        // The writer quotes free text; remove the quotes from the text.
        let t = renkei_spec::ms932::decode(&g.bytes).text.replace("\"山田\"", "山田");
        g.bytes = renkei_spec::ms932::encode(&t, renkei_spec::ms932::Normalize::Never).unwrap();
    }),
    ("field.csv-version", |f| set(f, "DLTPLAN_", 1, 1, "202410")),
    ("field.date", |f| set(f, "UP1KYO_", 1, 4, "20250230")),
    ("field.month", |f| set(f, "DLTPLAN_", 1, 4, "202513")),
    ("field.time", |f| set(f, "UPPLAN_", 1, 12, "2460")),
    ("field.integer", |f| set(f, "UPPLAN_", 1, 14, "1回")),
    ("field.decimal", |f| set(f, "UPSIKYU_", 1, 23, "10.9")),
    ("field.code", |f| set(f, "UPPLAN_", 1, 23, "2")),
    ("field.office", |f| set(f, "UPPLAN_", 1, 20, "137A")),
    ("field.office.check-digit", |f| set(f, "DLTJSK_", 1, 5, "1378994080")),
    ("field.insurer", |f| set(f, "DLTPLAN_", 1, 2, "99999")),
    ("field.insurer.check-digit", |f| set(f, "DLTPLAN_", 1, 2, "131012")),
    ("field.insured", |f| set(f, "DLTPLAN_", 1, 3, "X123456789")),
    ("field.service-kind", |f| set(f, "DLTJSK_", 1, 6, "1")),
    ("field.service-code", |f| set(f, "UPPLAN_", 1, 15, "15-001")),
    ("field.day-flags", |f| set(f, "UPPLAN_", 1, 11, "111")),
    ("field.postal", |f| set(f, "UP1KYO_", 1, 5, "100=0001")),
    ("field.postal.no-hyphen", |f| set(f, "UP1KYO_", 1, 5, "1000001")),
    ("field.phone", |f| set(f, "UPHOSOKU_2", 1, 12, "０３－１２３４")),
    ("field.tais", |f| set(f, "UPPLAN_", 1, 16, "12345")),
    ("field.tais.fullwidth-dash", |f| set(f, "UPPLAN_", 1, 16, "00001－000010")),
    ("field.code12", |f| set(f, "UPPLAN_", 1, 17, "届出")),
    ("field.unused", |f| set(f, "UPPLAN_", 1, 25, "1")),
    ("field.fixed-all9", |f| set(f, "UPSIKYU_", 1, 34, "1234567890")),
    ("field.image-name", |f| set(f, "UPKIHON_2", 1, 62, "family.jpg")),
    ("file.csv-version.mixed", |f| set(f, "UPPLAN_", 2, 1, "202504")),
    ("file.csv-version.family", |f| set(f, "DLTPLAN_", 1, 1, "202208")),
    ("file.csv-version.v40", |f| text_edit(f, "DLTPLAN_", |t| t.replace("202407,", "202504,"))),
    ("file.month-mismatch", |f| set(f, "DLTPLAN_", 1, 4, "202507")),
    ("file.day-outside-month", |f| set(f, "UPPLAN_", 1, 10, "20250701")),
    ("file.day-flags-beyond-month", |f| set(f, "UPPLAN_", 1, 11, "0000000000000000000000000000001")),
    ("file.office-mismatch", |f| set(f, "UPJSK_", 1, 20, "1310100019")),
    ("file.office-mismatch.soft", |f| set(f, "UP1KYO_", 1, 13, "1310100019")),
    ("file.unrelated-user", |f| {
        let g = file(f, "UPPLAN_");
        let receiver = g.name.split('_').nth(4).unwrap().to_owned();
        g.bytes = edit_records(&g.bytes, |_, v| {
            if v[19].0 == receiver {
                v[19].0 = "1310100019".into();
            }
        });
    }),
    ("file.hosoku-date", |f| set(f, "UPHOSOKU_2", 1, 4, "20250501")),
    ("file.sikyu-total", |f| set(f, "UPSIKYU_", 1, 7, "9999999999")),
    ("rec.equipment-code", |f| set(f, "UPPLAN_", 1, 15, "171001")),
    ("sikyu.unit-amount", |f| set(f, "UPSIKYU_", 1, 17, "1")),
    ("sikyu.total", |f| set(f, "UPSIKYU_", 1, 17, "1")),
    ("sikyu.limit-split", |f| set(f, "UPSIKYU_", 1, 21, "5")),
    ("sikyu.cost", |f| set(f, "UPSIKYU_", 1, 24, "1")),
    ("sikyu.benefit", |f| set(f, "UPSIKYU_", 1, 26, "1")),
    ("sikyu.copay", |f| set(f, "UPSIKYU_", 1, 28, "1")),
    ("sikyu.copay-full", |f| set(f, "UPSIKYU_", 1, 29, "7")),
    ("rec.date-order", |f| set(f, "UP1KYO_", 1, 19, "20991231")),
    ("file.service-kind-mismatch", |f| set(f, "UPJSK_", 1, 15, "110111")),
    ("file.duplicate-key", |f| text_edit(f, "DLTPLAN_", |t| format!("{t}{t}"))),
    ("file.not-jpeg", |f| file(f, "UPKIHON_IMAGE").bytes = b"\x89PNG\r\n".to_vec()),
    ("file.not-standard", |f| f.push(GenFile { name: "案内.pdf".into(), bytes: b"%PDF-1.4".to_vec(), records: None })),
    ("name.extension", |f| rename(f, "DLTPLAN_", |n| n.replace(".CSV", ".TXT"))),
    ("name.extension.case", |f| rename(f, "DLTPLAN_", |n| n.replace(".CSV", ".csv"))),
    ("name.prefix", |f| rename(f, "DLTPLAN_", |n| n.replace("DLTPLAN_", "DLPLAN_"))),
    ("name.prefix.case", |f| rename(f, "DLTPLAN_", |n| n.replace("DLTPLAN_", "dltplan_"))),
    ("name.shape", |f| rename(f, "DLTPLAN_", |n| n.replace("_43_", "_43_43_"))),
    ("name.v4-only", |f| rename(f, "UP3KYO_", |n| n.replace("_43_", "_").replace("_15_", "_"))),
    ("name.month", |f| rename(f, "DLTPLAN_", |n| n.replace("_202506_", "_202500_"))),
    ("name.office", |f| rename(f, "DLTPLAN_", |n| n.replacen("_13", "_1O", 1))),
    ("name.office.check-digit", |f| rename(f, "DLTPLAN_", |n| n.replacen("2477_", "2478_", 1))),
    ("name.service-kind", |f| rename(f, "DLTPLAN_", |n| n.replace("_43_", "_4a_"))),
    ("name.service-kind.unknown", |f| rename(f, "DLTPLAN_", |n| n.replace("_15_", "_9Z_"))),
    ("name.service-kind.out-of-scope", |f| rename(f, "DLTPLAN_", |n| n.replace("_15_", "_33_"))),
    ("name.seq", |f| rename(f, "DLTPLAN_", |n| n.replace("20250620150001", "20250631150001"))),
    ("name.branch", |f| rename(f, "UPKIHON_IMAGE", |n| n.replace("_0001.", "_0000."))),
    ("name.same-office", |f| rename(f, "DLTPLAN_", |n| n.replace("1378994089_15", "1374482477_43"))),
    ("name.same-office-number", |f| rename(f, "DLTPLAN_", |n| n.replace("1378994089_15", "1374482477_15"))),
    ("name.direction", |f| rename(f, "DLTPLAN_", |n| n.replace("_43_1378994089_15_", "_15_1378994089_43_"))),
    ("unit.missing-file", |f| f.retain(|g| !g.name.starts_with("UPSIKYU_"))),
    ("unit.missing-satellite", |f| f.retain(|g| !g.name.starts_with("UPYOBO_SUB_"))),
    ("unit.orphan", |f| f.retain(|g| !g.name.starts_with("UP1KYO_"))),
    ("unit.deletion-not-alone", |f| rename(f, "DLTPLAN_", |n| n.replace("20250620150001", "20250525100000"))),
    ("unit.incompatible", |f| {
        rename(f, "UPJSK_", |n| n.replace("_1378994089_15_1374482477_43_20250703090000", "_1374482477_43_1378994089_15_20250525100000"))
    }),
    ("unit.duplicate-kind", |f| {
        // The same 第7表 twice (e.g. from two folders).
        let g = file(f, "UPSIKYU_").clone();
        f.push(g);
    }),
    ("unit.month-mismatch", |f| rename(f, "UPHOSOKU_2", |n| n.replace("_202506_", "_000000_"))),
    ("unit.unlinked-record", |f| set(f, "UP2KYO_", 1, 5, "20240101")),
    ("unit.image-missing", |f| f.retain(|g| !g.name.starts_with("UPKIHON_IMAGE"))),
    ("unit.image-unreferenced", |f| {
        let mut g = file(f, "UPKIHON_IMAGE").clone();
        g.name = g.name.replace("_0001.", "_0009.");
        f.push(g);
    }),
];

/// Rules raised outside `renkei_spec::check`, with the test that covers them.
const ELSEWHERE: &[(&str, &str)] = &[
    ("enc.unmappable", "ms932::tests::strict_encode_reports_positions (the writer)"),
    ("file.unreadable", "renkei-client scan (a file the OS refuses to read)"),
    ("name.office.check-digit.registered", "registry::a_registered_number_is_a_warning_an_unregistered_one_an_error (check_with)"),
    ("sikyu.kind-subtotal", "arith::a_kind_with_two_detail_lines_needs_its_subtotal_and_it_must_add_up"),
    ("sikyu.kind-subtotal.missing", "arith::a_kind_with_two_detail_lines_needs_its_subtotal_and_it_must_add_up"),
    ("field.office.check-digit.registered", "registry::a_registered_number_is_a_warning_an_unregistered_one_an_error (check_with)"),
];

#[test]
fn every_rule_fires_on_its_case() {
    let clean: Vec<_> = {
        let f = sample();
        renkei_spec::check(f.iter().map(|g| (g.name.clone(), g.bytes.clone())).collect()).diagnostics().cloned().collect()
    };
    assert!(clean.is_empty());
    let mut failures = Vec::new();
    for (id, mutate) in CASES {
        let mut files = sample();
        mutate(&mut files);
        let report = renkei_spec::check(files.iter().map(|g| (g.name.clone(), g.bytes.clone())).collect());
        let got: Vec<&str> = report.diagnostics().map(|d| d.rule.id()).collect();
        if !got.contains(id) {
            failures.push(format!("{id}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "rules that did not fire:\n{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_case() {
    for r in Rule::ALL {
        let id = r.id();
        assert!(CASES.iter().any(|(c, _)| *c == id) || ELSEWHERE.iter().any(|(c, _)| *c == id), "no case makes {id} fire");
    }
}
