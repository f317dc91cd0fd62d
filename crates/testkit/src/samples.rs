//! The sample set committed under `samples/` (the README's first command checks it).
//!
//! `valid/` and `valid-v3/` must give no findings; `broken/` shows typical vendor mistakes.
//! `cargo run -p renkei-testkit --example write-samples` rewrites the folder; a test fails if
//! the committed files differ from what this module generates.

use crate::generate::{GenFile, Generator};
use renkei_spec::calendar::YearMonth;
use renkei_spec::csv;
use renkei_spec::ms932::{self, Normalize};

/// Seed and month of the committed samples.
pub const SAMPLE_SEED: u64 = 7;

fn month() -> YearMonth {
    YearMonth { year: 2025, month: 6 }
}

/// Re-writes each record of an MS932 CSV file through `f(record number, fields)`.
pub fn edit_records(bytes: &[u8], mut f: impl FnMut(usize, &mut Vec<(String, bool)>)) -> Vec<u8> {
    let text = ms932::decode(bytes).text;
    let table = csv::read(&text);
    let mut out = String::new();
    for (i, r) in table.records.iter().enumerate() {
        let mut v: Vec<(String, bool)> = r.fields.iter().map(|x| (x.value.to_string(), x.quoted)).collect();
        f(i + 1, &mut v);
        csv::write_record(&mut out, v.iter().map(|(s, q)| (s.as_str(), *q)));
    }
    ms932::encode(&out, Normalize::Never).expect("edited sample stays MS932")
}

/// Every committed sample as `(path under samples/, bytes)`.
pub fn committed_samples() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let v4 = Generator::new(SAMPLE_SEED).sample_set(month());
    out.extend(v4.iter().map(|f| (format!("valid/{}", f.name), f.bytes.clone())));
    let v3 = Generator::v3(SAMPLE_SEED).sample_set(YearMonth { year: 2024, month: 3 });
    out.extend(v3.iter().map(|f| (format!("valid-v3/{}", f.name), f.bytes.clone())));

    // broken/: a care-plan unit and a service-slip unit with typical mistakes.
    let keep = |f: &&GenFile| ["UP1KYO_", "UP3KYO_", "UPHOSOKU_", "UPPLAN_", "UPSIKYU_"].iter().any(|p| f.name.starts_with(p));
    for f in v4.iter().filter(keep) {
        let bytes = if f.name.starts_with("UPPLAN_") {
            // Next month's service in this month's file, and a time written as 8:00.
            edit_records(&f.bytes, |i, v| match i {
                1 => v[4].0 = "202507".into(),
                3 => v[11].0 = "8:00".into(),
                _ => {}
            })
        } else if f.name.starts_with("UPSIKYU_") {
            // Saved as UTF-8 by mistake.
            ms932::decode(&f.bytes).text.into_bytes()
        } else if f.name.starts_with("UPHOSOKU_2") {
            // A comma in a name, written without quotes (the writer would quote it, so the
            // mistake is made on the text).
            let text = ms932::decode(&f.bytes).text;
            let second = csv::read(&text).records[1].fields[5].value.to_string();
            let broken = text.replacen(&format!("\"{second}\""), &second.replace('　', ","), 1);
            ms932::encode(&broken, Normalize::Never).expect("MS932")
        } else if f.name.starts_with("UP1KYO_") {
            // A typo in the care-management office number (check digit).
            edit_records(&f.bytes, |i, v| {
                if i == 1 {
                    let o = &mut v[12].0;
                    let last = o.pop().map_or('0', |c| if c == '9' { '0' } else { char::from(c as u8 + 1) });
                    o.push(last);
                }
            })
        } else {
            f.bytes.clone()
        };
        out.push((format!("broken/{}", f.name), bytes));
    }
    out
}
