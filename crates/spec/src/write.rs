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
