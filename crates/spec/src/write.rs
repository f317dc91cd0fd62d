//! Writing files the way renkei emits them: strict. CRLF after every record, free text quoted,
//! CSV version 202407 (v4) or 202208 (v3), MS932 with no unmappable character.

use crate::csv::write_record;
use crate::field::CsvVersion;
use crate::ms932::{self, EncodeError, Normalize};
use crate::name::Family;
use crate::records::Record;

/// The CSV version renkei writes for a family.
pub fn emitted_version(family: Family) -> CsvVersion {
    match family {
        Family::V4 => CsvVersion::CURRENT,
        Family::V3 => CsvVersion(202208),
    }
}

/// Renders records as CSV text (UTF-8, before encoding). Column 1 is always written as
/// [`emitted_version`], whatever the records carried.
pub fn to_csv_text<R: Record>(records: &[R], family: Family) -> String {
    let mut out = String::new();
    let version = emitted_version(family).0.to_string();
    for r in records {
        let mut fields = r.to_fields(family);
        if let Some(first) = fields.first_mut() {
            first.0.clone_from(&version);
        }
        write_record(&mut out, fields.iter().map(|(v, q)| (v.as_str(), *q)));
    }
    out
}

/// Writes records as an MS932 file. Every character MS932 cannot hold is reported with its line
/// and column; nothing is replaced unless `normalize` allows it.
pub fn to_ms932<R: Record>(records: &[R], family: Family, normalize: Normalize) -> Result<Vec<u8>, Vec<EncodeError>> {
    ms932::encode(&to_csv_text(records, family), normalize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::RawField;
    use crate::records::DltPlan;
    use std::borrow::Cow;

    fn record(version: &str) -> DltPlan {
        let raw = [version, "131011", "0000012345", "202504"];
        let fields: Vec<RawField<'_>> = raw.iter().map(|v| RawField { value: Cow::Borrowed(*v), quoted: false }).collect();
        let mut sink = Vec::new();
        DltPlan::from_raw(&fields, Family::V4, &mut sink).unwrap()
    }

    #[test]
    fn emits_the_current_version_with_crlf() {
        let text = to_csv_text(&[record("202504"), record("202407")], Family::V4);
        assert_eq!(text, "202407,131011,0000012345,202504\r\n202407,131011,0000012345,202504\r\n");
        assert_eq!(to_csv_text(&[record("202407")], Family::V3), "202208,131011,0000012345,202504\r\n");
    }

    #[test]
    fn unmappable_text_is_refused_not_escaped() {
        use crate::records::Kyo2;
        let mut g = crate::records::KYO2.iter().map(|c| if c.required { "x".to_owned() } else { String::new() }).collect::<Vec<_>>();
        g[0] = "202407".into();
        g[1] = "131011".into();
        g[2] = "0000012345".into();
        g[3] = "20250401".into();
        g[4] = "20250401".into();
        g[6] = "午前10時〜12時".into();
        let fields: Vec<RawField<'_>> = g.iter().map(|v| RawField { value: Cow::Borrowed(v.as_str()), quoted: true }).collect();
        let mut sink = Vec::new();
        let rec = Kyo2::from_raw(&fields, Family::V4, &mut sink).unwrap();
        let err = to_ms932(std::slice::from_ref(&rec), Family::V4, Normalize::Never).unwrap_err();
        assert_eq!((err[0].ch, err[0].line), ('〜', 1));
        let ok = to_ms932(&[rec], Family::V4, Normalize::Common).unwrap();
        assert!(!ok.windows(2).any(|w| w == b"&#"));
    }
}
