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
//! (warning or info) so that vendors can fix it; renkei itself never writes it. References are to
//! `standard-csv-spec.md` (§), `filename-grammar.md` (FG) and `identifiers-and-operations.md` (IO).
//!
//! ### File names
//!
//! | Point | On read | On write |
//! |---|---|---|
//! | 事業所番号 letters (FG §1, §2 table, IO §A1) | position 3 may be an upper-case letter other than I/O/Q; everything else digits; prefecture 01–47 | same |
//! | Check digit with a letter (IO §A1) | letters read as A=10 … Z=32 skipping I/O/Q, weight 2 from the right, digit sums of products; a mismatch is an error naming the token and the computed digit | valid numbers only |
//! | Extension case (§7.9, §3.12) | `.csv` accepted with a warning; `.jpg` and `.JPG` both valid | `.CSV`, `.jpg` |
//! | 4.0 「サービスコード3桁」 token (§1.2) | invalid, with a hint that 4.1 uses 2 characters | never |
//! | v3 names of DLT1KYO, DLTPLAN, DLTJSK, UPSIKYU (FG §3) | the derived form (v4 without the kind tokens) is accepted | same |
//! | v3/v4 cut-over for kinds without a month (FG §2, §1.1) | decided by the name's shape, not by a date; the CSV version must then fit that family | v4 |
//! | Sender kind of a 地域包括支援センター (§3.16, §5.6) | 43, 46 and AF all count as care management | as configured |
//! | Unknown / out-of-scope service kinds (IO §A5: A9–AE, 55) | warning, not error | — |
//!
//! ### Physical format (§2)
//!
//! | Point | On read | On write |
//! |---|---|---|
//! | UTF-8 BOM | stripped with a warning; a UTF-8 file is one clear error, not one per byte | never |
//! | Quotes on non-free-text fields | accepted anywhere (RFC 4180) | only non-empty free text is quoted (and any value containing `,` `"` or a line break) |
//! | Free text without quotes | accepted with a warning | always quoted |
//! | Line endings | CRLF, LF and CR; LF/CR-only is info, mixed is a warning; line breaks inside quotes kept | CRLF after every record |
//! | Final newline / blank lines | a missing final newline is info; blank lines are skipped (info) | always a final CRLF; never blank lines |
//! | Header row | a first row whose column 1 is not 6 digits is skipped with a warning | never |
//! | 項目長 (§0.2) | counted in characters, not Shift-JIS bytes | within it |
//! | Negative integers | a leading `-` is accepted (減算 of 共生型 services) | — |
//! | 外字 / characters outside MS932 | errors with line and byte offset | strict: unmappable characters are errors with line and column; [`ms932::Normalize::Common`] opts into [`ms932::NORMALIZATION`] |
//!
//! ### Versions (§1)
//!
//! | Point | On read | On write |
//! |---|---|---|
//! | CSVバージョン | any published value: 201910, 202003, 202208 (v3 names), 202504 and 202407 (v4 names); 202504 warns | 202407 (v4), 202208 (v3) |
//! | `202410` (emitted by one vendor, §1.1) | rejected with a hint that 4.1 is 202407 | never |
//! | 第7表 前月までの利用日数 length in 202208 files (3.2 change) | up to 5 digits in every family | — |
//! | v3 layouts of 第6表 (22) and 第7表 (34) (§3.6, §3.8) | v4 minus the three TAIS columns; 第7表 回数／日数 is 2 long in v3 | same |
//! | v3 deletion layouts (§3.7) | same as v4 (4 and 6 columns) | same |
//!
//! ### Columns (§3)
//!
//! | Point | Decision |
//! |---|---|
//! | 「必要」, the second flag column of 3表 and the 予防 files | not enforced; 「必須」 decides what is required |
//! | 利用者補足情報 required columns (surplus ○ marks) | 1–4 and 63 |
//! | 1表 ○ on 8, 9, 13, 14, 15 | required |
//! | 第6表 No.6 プラン担当業者コード (surplus ○) | optional |
//! | 利用者基本情報 / 予防計画書 No.6 委託の有無 (one ○, column unknown) | optional on read; renkei's generators always fill it |
//! | 利用者補足情報 No.19–58 (no format given) | integers, lengths 2/7/7/7 per slot, slot kind a サービス種類コード |
//! | 第6表 No.19 明細判別コード (no length) | integer, 2 long; longer only warns |
//! | 第7表 No.14, 15, 17 (lengths recovered with doubt) | integers; exceeding 5/6/5 only warns |
//! | 第7表 No.34 事業所コード (fixed 9999999999, by counting) | any 10 digits; other than 9999999999 warns |
//! | 第7表 No.35 入力者コード (no format) | ASCII letters, digits and hyphens, 10 long |
//! | 福祉用具届出コード (no format) | ASCII letters, digits and hyphens, 12 long |
//! | TAISコード (printed with a full-width dash) | `NNNNN-NNNNNN`; a full-width dash warns; written with ASCII `-` |
//! | 郵便番号 without hyphen | warns; normalised to `XXX-XXXX` |
//! | Telephone numbers (no format) | any text within 15 characters; characters other than digits, hyphens and parentheses warn |
//! | 識別子 (※使用しない) | a value warns and is dropped; written empty |
//! | UPYOBO_SUB 課題ＮＯ / 支援計画ＮＯ (extraction says free text) | integers of up to 2 digits (they are numbering) |
//! | HHMM | 0000–2359 and 2400 (end of day); 9999 only where the spec allows it (第6表 開始/終了時刻) |
//! | Dates | Gregorian, a real calendar day, year ≥ 1868 |
//! | 被保険者番号 (IO §A3) | 10 digits or `H` + 9 digits; no check digit (none is published) |
//! | 保険者番号 (IO §A2) | 6 digits, prefecture 01–47, Luhn check digit; never derived from JIS codes |
//!
//! ### Records, files and send units (§2, §3, §4)
//!
//! | Point | Decision |
//! |---|---|
//! | 第6表 record granularity (one line per service per day) | not enforced beyond the columns; サービス利用日 must fall in the 対象年月 |
//! | 日割対象日 | 31 characters of 0/1; a flag on a day the month does not have is an error |
//! | Offices in records vs the name | 実績 No.20 and 実績削除 No.5/6 must be the sender's (error); every user of a 予定 needs a line of the receiver (error: unrelated users must not be sent); プラン担当業者 / 介護支援事業者コード differing from the sender warns (委託 forwarding) |
//! | 予防 サービス利用票 (§3.16) | the 第6表/第7表/補足 files and rules, with 予防 codes |
//! | 別表 files (SUB1, SUB2, YOBO_SUB) missing | warning ("原則") |
//! | 第7表 missing from a 第6表 unit, 2表 or 補足 missing from a 1表 unit | error |
//! | 3表 in a 1表 unit | optional |
//! | Deletion files | alone in their unit (error otherwise) |
//! | 第7表 amounts (§3.8) | must add up per user: 単位数 × 回数, 種類別小計, 区分支給限度基準内/超, 費用総額 → 請求額 / 利用者負担 (yen cut below one yen), 全合計; see [`arith`] |
//! | 福祉用具貸与 lines (17, 67; v4) | a TAISコード or a 福祉用具届出コード is required (error) |
//! | 事業所番号 check digit vs the registry (IO §A1) | an error without a registry; a warning for a number the registry holds ([`check_with`]) |
//! | Import order | by ファイル連番; within a unit 補足 first, then parents, then satellites |
//! | Import merge semantics (§4.5) and the 予防 ○/△ export table (§4.2) | not the validator's concern: decided with the client's import (client issue) |
//!
//! Operational points of IO (user IDs, certificates, licences, retention, the hub protocol) are
//! decided where they are built: the hub, client and portal issues.

#![deny(missing_docs)]

pub mod arith;
pub mod calendar;
pub mod codes;
pub mod csv;
pub mod diag;
pub mod field;
pub mod form;
pub mod ids;
pub mod ms932;
pub mod name;
pub mod reconcile;
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

/// `1234567` as `1,234,567` (amounts in messages).
pub(crate) fn fmt_thousands(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

/// Which office numbers exist: the hub's 事業所台帳 (or what a client learnt from it). The
/// registry is the truth about offices; a registered number whose check digit fails is
/// accepted with a warning (real, published numbers fail it), an unregistered one is an error.
pub trait Registry: Sync {
    /// `true` when `number` (10 characters) is a registered office.
    fn is_registered(&self, number: &str) -> bool;
}

/// No registry known (the offline validator): every check-digit failure is an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRegistry;

impl Registry for NoRegistry {
    fn is_registered(&self, _: &str) -> bool {
        false
    }
}

impl<const N: usize> Registry for [&str; N] {
    fn is_registered(&self, number: &str) -> bool {
        self.contains(&number)
    }
}

impl Registry for std::collections::BTreeSet<String> {
    fn is_registered(&self, number: &str) -> bool {
        self.contains(number)
    }
}

/// Checks files given as `(bare file name, contents)`: each file, then their send units.
/// Files are checked on all available cores; the report is in input order either way.
pub fn check(files: Vec<(String, Vec<u8>)>) -> Report {
    check_with(files, &NoRegistry)
}

/// [`check`], where `registry` says which office numbers exist (see [`Registry`]).
pub fn check_with(files: Vec<(String, Vec<u8>)>, registry: &dyn Registry) -> Report {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(files.len().div_ceil(4)).max(1);
    let reports: Vec<FileReport> = if threads == 1 {
        files.iter().map(|(n, b)| validate::check_file_with(n, b, registry)).collect()
    } else {
        let chunk = files.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|c| s.spawn(move || c.iter().map(|(n, b)| validate::check_file_with(n, b, registry)).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
        })
    };
    let (units, unit_diagnostics) = unit::group(&reports);
    Report { files: reports, units, unit_diagnostics }
}
