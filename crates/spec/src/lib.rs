//! # renkei-spec — the ケアプランデータ連携標準仕様 as an executable library
//!
//! The MHLW care-plan data exchange standard (v4.1, and the v3 "202208" family) as typed Rust:
//!
//! * [`name`] — file names of every kind: parse to a typed [`name::FileName`] (reporting every
//!   bad token), write back.
//! * [`ms932`] — strict MS932 decode and encode (no silent `&#…;`, no 外字).
//! * [`csv`] — the CSV dialect (tolerant reader that remembers quoting, strict CRLF writer).
//! * [`records`] — typed records and column tables for all CSV file kinds, v4 and v3 layouts.
//! * [`validate`] — every check on one file; [`mod@unit`] — send units (送信単位).
//! * [`diag`] — findings as data, with stable rule ids and Japanese/English messages.
//!
//! Pure: no network, no database, no async, no file system. [`check`] takes names and bytes.
//!
//! ```
//! use renkei_spec::{check, diag::Severity};
//! let bytes = b"202407,131011,0000012345,202504\r\n".to_vec();
//! let report = check(vec![("DLTPLAN_202504_1310100019_43_1370100016_15_20250301120000.CSV".into(), bytes)]);
//! // The office numbers carry valid check digits, the record is well-formed:
//! assert!(report.diagnostics().all(|d| d.severity != Severity::Error), "{:#?}", report.diagnostics().collect::<Vec<_>>());
//! ```
//!
//! ## Decisions on points the standard leaves open (UNCERTAIN in the spec notes)
//!
//! The rule throughout: **lenient on input, strict on output.** Tolerated input is reported
//! (warning or info) so that vendors can fix it; renkei itself never writes it.
//!
//! | Point | On read | On write |
//! |---|---|---|
//! | 事業所番号 letters | position 3 may be an upper-case letter (not I/O/Q); check digit with A=10…Z=32 skipping I/O/Q; prefecture 01–47 | same |
//! | 事業所番号 check digit | mismatch is an error (names and fields), the message gives the computed digit | — |
//! | File extension case | `.csv` accepted with a warning (`name.extension.case`); `.jpg` and `.JPG` both valid | `.CSV`, `.jpg` |
//! | 3-digit 「サービスコード」 token (4.0 wording) | invalid, with a hint | never |
//! | v3 names of DLT1KYO, DLTPLAN, DLTJSK, UPSIKYU | derived from v4 by removing the kind tokens, accepted | same |
//! | Name family cut-over for files without a month | by the name's shape, not by date | v4 |
//! | CSV version | any published value (201910, 202003, 202208, 202504, 202407); 202504 warns; value must fit the name's family | 202407 (v4), 202208 (v3) |
//! | 項目長 | counted in characters, not bytes | — |
//! | Uncertain lengths (第6表 No.19 明細判別コード = 2; 第7表 No.14, 15, 17) | exceeding them is a warning | within them |
//! | 第7表 No.30 前月までの利用日数 | up to 5 digits (3.2 change) | — |
//! | Required flags | ○ as recovered: 補足 1–4 and 63; 6表 1–5, 10, 12–15, 20, 23; 予防 files 1–5, 14–17 (UPKIHON); 委託の有無 optional | always filled when known |
//! | Line endings | CRLF, LF, CR; LF-only is info, mixed is a warning | CRLF after every record |
//! | Final newline | optional (info) | always |
//! | Blank lines | skipped (info) | never |
//! | Header row | a first row whose column 1 is not 6 digits is skipped with a warning | never |
//! | UTF-8 BOM | stripped with a warning; a UTF-8 file is one clear error, not one per byte | never |
//! | Quotes | accepted on any field; free text without quotes is a warning | free text (non-empty) quoted, nothing else |
//! | Negative integers | a leading `-` is accepted (減算 of 共生型) | — |
//! | Postal code without hyphen | accepted with a warning, normalised to `XXX-XXXX` | `XXX-XXXX` |
//! | TAIS code with a full-width dash (as the spec prints it) | accepted with a warning | ASCII `-` |
//! | 識別子 | a value is dropped with a warning | empty |
//! | 第7表 No.34 事業所コード | any 10 digits; other than 9999999999 warns | 9999999999 |
//! | Phone numbers | any text within 15 characters; other than digits/hyphen/parentheses warns | as given |
//! | HHMM | 0000–2359, and 2400 as the end of a day; 9999 only where the spec allows it (第6表) | — |
//! | Sender/receiver kinds | 43, 46 and AF are care management; unknown kinds warn; out-of-scope kinds warn | — |
//! | Offices in records vs the name | 実績 and 実績削除 must name the sender (error); 予定 users must have a line of the receiver (error); プラン担当業者 / 介護支援事業者コード differing from the sender warns (委託 forwarding) | — |
//! | 別表 files (SUB1/SUB2/YOBO_SUB) missing | warning ("原則") | always sent |
//! | 第7表 missing from a 第6表 unit | error | — |
//! | Import order | by ファイル連番; within a unit 補足 first, then parents, then satellites | — |
//! | MS932 look-alikes (〜 ‖ − ¢ £ ¬ — NBSP) | — | rejected unless [`ms932::Normalize::Common`] is asked for ([`ms932::NORMALIZATION`]) |
//! | Dates | Gregorian, year ≥ 1868, real calendar days | — |

#![deny(missing_docs)]

pub mod calendar;
pub mod codes;
pub mod csv;
pub mod diag;
pub mod field;
pub mod ids;
pub mod ms932;
pub mod name;
pub mod records;
pub mod unit;
pub mod validate;
pub mod write;

use diag::{Diagnostic, Tally};
use unit::SendUnit;
use validate::FileReport;

/// The result of checking a set of files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// One report per file, in input order.
    pub files: Vec<FileReport>,
    /// Send units, in import order.
    pub units: Vec<SendUnit>,
    /// Findings about send units.
    pub unit_diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Every finding: per file (in input order) then per unit.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().flat_map(|f| f.diagnostics.iter()).chain(self.unit_diagnostics.iter())
    }
    /// Counts by severity.
    pub fn tally(&self) -> Tally {
        Tally::of(self.diagnostics())
    }
}

/// Checks files given as `(bare file name, contents)`: each file, then their send units.
/// Files are checked on all available cores; the report is in input order either way.
pub fn check(files: Vec<(String, Vec<u8>)>) -> Report {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(files.len().div_ceil(4)).max(1);
    let reports: Vec<FileReport> = if threads == 1 {
        files.iter().map(|(n, b)| validate::check_file(n, b)).collect()
    } else {
        let chunk = files.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|c| s.spawn(move || c.iter().map(|(n, b)| validate::check_file(n, b)).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
        })
    };
    let (units, unit_diagnostics) = unit::group(&reports);
    Report { files: reports, units, unit_diagnostics }
}
