//! Validation of one file: name, encoding, CSV syntax, every column of every record, and the
//! rules that tie records to each other and to the file name.

use crate::calendar::Date;
use crate::csv::{self, RawRecord, Table};
use crate::diag::{Diagnostic, Problem, Rule, Severity};
use crate::field::{CsvVersion, DateOrZero, OfficeOrAll9, SummaryServiceCode, YearMonthOrZero, columns_for};
use crate::ids::{InsuredNumber, InsurerNumber};
use crate::ms932;
use crate::name::{self, Family, FileKind, FileName, NameMonth, Profile};
use crate::records::*;
use std::collections::{HashMap, HashSet};

/// At most this many encoding errors are listed per file; the rest are counted.
pub const MAX_ENCODING_DIAGNOSTICS: usize = 20;

/// A record with where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<R> {
    /// Physical line where the record starts.
    pub line: u32,
    /// 1-based record number.
    pub number: u32,
    /// The record.
    pub record: R,
}

/// The typed records of a file, by layout. Records that failed a column check are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Records {
    Hosoku(Vec<Located<Hosoku>>),
    Kyo1(Vec<Located<Kyo1>>),
    Dlt1Kyo(Vec<Located<Dlt1Kyo>>),
    Kyo2(Vec<Located<Kyo2>>),
    Kyo3(Vec<Located<Kyo3>>),
    Plan(Vec<Located<Slip>>),
    DltPlan(Vec<Located<DltPlan>>),
    Jsk(Vec<Located<Slip>>),
    DltJsk(Vec<Located<DltJsk>>),
    Sikyu(Vec<Located<Sikyu>>),
    Kihon(Vec<Located<Kihon>>),
    DltKihon(Vec<Located<DltKihon>>),
    KihonSub1(Vec<Located<KihonSub1>>),
    KihonSub2(Vec<Located<KihonSub2>>),
    Yobo(Vec<Located<Yobo>>),
    YoboSub(Vec<Located<YoboSub>>),
    DltYobo(Vec<Located<DltYobo>>),
}

impl Records {
    /// Number of records.
    pub fn len(&self) -> usize {
        match self {
            Records::Hosoku(v) => v.len(),
            Records::Kyo1(v) => v.len(),
            Records::Dlt1Kyo(v) => v.len(),
            Records::Kyo2(v) => v.len(),
            Records::Kyo3(v) => v.len(),
            Records::Plan(v) | Records::Jsk(v) => v.len(),
            Records::DltPlan(v) => v.len(),
            Records::DltJsk(v) => v.len(),
            Records::Sikyu(v) => v.len(),
            Records::Kihon(v) => v.len(),
            Records::DltKihon(v) => v.len(),
            Records::KihonSub1(v) => v.len(),
            Records::KihonSub2(v) => v.len(),
            Records::Yobo(v) => v.len(),
            Records::YoboSub(v) => v.len(),
            Records::DltYobo(v) => v.len(),
        }
    }
    /// `true` when there is no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything learnt about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The file name as given (no directory).
    pub file: String,
    /// The parsed name, when valid.
    pub name: Option<FileName>,
    /// The kind, when the prefix was recognised.
    pub kind: Option<FileKind>,
    /// The layout family used to read the records.
    pub family: Option<Family>,
    /// Typed records (CSV kinds).
    pub records: Option<Records>,
    /// `false` for files outside the standard (attachments such as PDFs).
    pub standard: bool,
    /// Records left out of `records` because a column or the column count was wrong.
    pub dropped_records: usize,
    /// Size in bytes.
    pub size: usize,
    /// Findings.
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    fn diag(&mut self, p: Problem) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::from_problem(p, Some(&self.file)));
        self.diagnostics.last_mut().expect("just pushed")
    }
    /// `true` when no error was found.
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// Checks one file given its bare name and contents, knowing no registry: an office number
/// whose check digit fails is an error.
pub fn check_file(file_name: &str, bytes: &[u8]) -> FileReport {
    check_file_with(file_name, bytes, &crate::NoRegistry)
}

/// Checks one file as [`check_file`], where `registry` says which office numbers exist: a
/// registered number whose check digit fails is a warning (the registry is the truth), an
/// unregistered one an error with its hint.
pub fn check_file_with(file_name: &str, bytes: &[u8], registry: &dyn crate::Registry) -> FileReport {
    let mut r = check_file_inner(file_name, bytes, registry);
    for d in &mut r.diagnostics {
        if d.rule == Rule::FieldOfficeCheckDigit && d.value.as_deref().is_some_and(|v| registry.is_registered(v)) {
            let v = d.value.clone().unwrap_or_default();
            d.rule = Rule::FieldOfficeCheckDigitRegistered;
            d.severity = Severity::Warning;
            d.message = registered_ja(&v);
            d.message_en = format!("the check digit of {v} does not match, but the registry holds the number");
        }
    }
    r
}

fn registered_ja(number: &str) -> String {
    format!("事業所番号 {number} の検証番号（10桁目）は計算と合いませんが、事業所台帳に登録された番号なので受け付けます")
}

/// A name whose only errors are check digits of registered numbers, parsed as it stands.
fn registered_name(file_name: &str, e: &name::NameError, registry: &dyn crate::Registry) -> Option<name::Parsed> {
    let only_registered = !e.issues.is_empty()
        && e.issues
            .iter()
            .filter(|i| i.problem.severity == Severity::Error)
            .all(|i| i.problem.rule == Rule::NameOfficeCheckDigit && i.problem.value.as_deref().is_some_and(|v| registry.is_registered(v)));
    if !only_registered {
        return None;
    }
    let mut p = name::parse(file_name, Profile { check_digits: false, ..Profile::LENIENT }).ok()?;
    for i in e.issues.iter().filter(|i| i.problem.rule == Rule::NameOfficeCheckDigit) {
        let v = i.problem.value.clone().unwrap_or_default();
        let problem = Problem::new(
            Rule::NameOfficeCheckDigitRegistered,
            Some(v.clone()),
            registered_ja(&v),
            format!("the check digit of {v} does not match, but the registry holds the number"),
        );
        p.warnings.push(name::NameIssue { token: i.token, problem });
    }
    Some(p)
}

fn check_file_inner(file_name: &str, bytes: &[u8], registry: &dyn crate::Registry) -> FileReport {
    let mut r = FileReport {
        file: file_name.to_owned(),
        name: None,
        kind: None,
        family: None,
        records: None,
        standard: true,
        dropped_records: 0,
        size: bytes.len(),
        diagnostics: Vec::new(),
    };

    let parsed = name::parse(file_name, Profile::LENIENT);
    let parsed = match parsed {
        Err(e) => registered_name(file_name, &e, registry).ok_or(e),
        ok => ok,
    };
    match parsed {
        Ok(p) => {
            r.kind = Some(p.name.kind);
            r.family = Some(p.name.family);
            for w in p.warnings {
                r.diag(w.problem).with_item_mut(w.token);
            }
            r.name = Some(p.name);
        }
        Err(e) => {
            let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
            if e.kind.is_none() && !matches!(ext.as_deref(), Some("csv" | "jpg" | "jpeg")) {
                r.standard = false;
                r.diag(Problem::new(
                    Rule::FileNotStandard,
                    None,
                    "標準仕様のCSVファイルではありません。添付ファイルとして送受信できます",
                    "not a file of the standard; it can travel as an attachment",
                ));
                return r;
            }
            r.kind = e.kind;
            for i in e.issues {
                r.diag(i.problem).with_item_mut(i.token);
            }
        }
    }

    let Some(kind) = r.kind else { return r };
    if !kind.is_csv() {
        if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            r.diag(Problem::new(
                Rule::FileNotJpeg,
                None,
                "家族構成画像は JPEG 形式です。この画像は JPEG ではありません（拡張子だけ変えた画像は読めません）",
                "the family-structure image must be a JPEG file",
            ));
        }
        return r;
    }

    // Encoding.
    let decoded = ms932::decode(bytes);
    if decoded.had_bom {
        r.diag(Problem::new(
            Rule::EncBom,
            None,
            "ファイルの先頭に UTF-8 の BOM（EF BB BF）があります。読み飛ばしましたが、MS932 のファイルには付けません",
            "a UTF-8 BOM was skipped; MS932 files carry none",
        ))
        .at_line_mut(1);
    }
    if decoded.utf8 {
        r.diag(Problem::new(Rule::EncUtf8, None, "このファイルは UTF-8 で保存されています。標準仕様の文字コードは MS932（Shift_JIS）です。介護ソフトの出力設定を確認してください", "this file is UTF-8; the standard requires MS932 (Shift_JIS)"));
    }
    for e in decoded.errors.iter().take(MAX_ENCODING_DIAGNOSTICS) {
        r.diag(e.problem()).at_line_mut(e.line);
    }
    if decoded.errors.len() > MAX_ENCODING_DIAGNOSTICS {
        let more = decoded.errors.len() - MAX_ENCODING_DIAGNOSTICS;
        r.diag(Problem::new(
            Rule::EncUndefinedByte,
            None,
            format!("ほかに{more}件の文字コードの誤りがあります"),
            format!("{more} more encoding errors"),
        ));
    }

    // CSV syntax.
    let table = csv::read(&decoded.text);
    syntax_diagnostics(&mut r, &table);

    // Header row and family.
    let mut records: &[RawRecord<'_>] = &table.records;
    if let Some(first) = records.first() {
        let f1 = first.fields.first().map(|f| f.value.as_ref()).unwrap_or("");
        if !(f1.len() == 6 && f1.bytes().all(|b| b.is_ascii_digit())) && f1.chars().any(|c| !c.is_ascii_digit()) {
            r.diag(Problem::new(
                Rule::CsvHeaderRow,
                Some(f1.to_owned()),
                "1行目は見出し行と判断して読み飛ばしました。標準仕様のCSVに見出し行はありません",
                "line 1 looks like a header row and was skipped; the standard defines none",
            ))
            .at_record_mut(1, first.line);
            records = &records[1..];
        }
    }
    if records.is_empty() {
        r.diag(Problem::new(Rule::CsvEmpty, None, "データ行が1件もありません", "the file has no records"));
        return r;
    }
    let family = r.family.unwrap_or_else(|| guess_family(records));
    r.family = Some(family);

    let file = r.file.clone();
    let total = records.len();
    let mut diags = std::mem::take(&mut r.diagnostics);
    let recs = {
        let mut rd = Reader { file: &file, family, kind, diags: &mut diags };
        match kind {
            FileKind::UpHosoku => Records::Hosoku(rd.read(records)),
            FileKind::Up1Kyo => Records::Kyo1(rd.read(records)),
            FileKind::Dlt1Kyo => Records::Dlt1Kyo(rd.read(records)),
            FileKind::Up2Kyo => Records::Kyo2(rd.read(records)),
            FileKind::Up3Kyo => Records::Kyo3(rd.read(records)),
            FileKind::UpPlan => Records::Plan(rd.read(records)),
            FileKind::DltPlan => Records::DltPlan(rd.read(records)),
            FileKind::UpJsk => Records::Jsk(rd.read(records)),
            FileKind::DltJsk => Records::DltJsk(rd.read(records)),
            FileKind::UpSikyu => Records::Sikyu(rd.read(records)),
            FileKind::UpKihon => Records::Kihon(rd.read(records)),
            FileKind::DltKihon => Records::DltKihon(rd.read(records)),
            FileKind::UpKihonSub1 => Records::KihonSub1(rd.read(records)),
            FileKind::UpKihonSub2 => Records::KihonSub2(rd.read(records)),
            FileKind::UpYobo => Records::Yobo(rd.read(records)),
            FileKind::UpYoboSub => Records::YoboSub(rd.read(records)),
            FileKind::DltYobo => Records::DltYobo(rd.read(records)),
            FileKind::UpKihonImage => unreachable!("images return early"),
        }
    };
    r.diagnostics = diags;
    r.dropped_records = total - recs.len();
    semantic_checks(&mut r, &recs);
    r.records = Some(recs);
    r
}

trait DiagExt {
    fn with_item_mut(&mut self, item: &str) -> &mut Self;
    fn at_line_mut(&mut self, line: u32) -> &mut Self;
    fn at_record_mut(&mut self, record: u32, line: u32) -> &mut Self;
}

impl DiagExt for Diagnostic {
    fn with_item_mut(&mut self, item: &str) -> &mut Self {
        self.item = Some(item.to_owned());
        self
    }
    fn at_line_mut(&mut self, line: u32) -> &mut Self {
        self.line = Some(line);
        self
    }
    fn at_record_mut(&mut self, record: u32, line: u32) -> &mut Self {
        self.record = Some(record);
        self.line = Some(line);
        self
    }
}

fn syntax_diagnostics(r: &mut FileReport, table: &Table<'_>) {
    for i in &table.issues {
        r.diag(i.problem.clone()).at_line_mut(i.line);
    }
    let e = table.endings;
    let other = e.lf + e.cr;
    if e.crlf == 0 && other > 0 {
        r.diag(Problem::new(
            Rule::CsvLineEnding,
            None,
            "改行コードが LF（または CR）です。読み込みましたが、標準的には CRLF です",
            "line endings are LF/CR; CRLF is the norm",
        ));
    } else if e.crlf > 0 && other > 0 {
        r.diag(Problem::new(
            Rule::CsvMixedLineEndings,
            None,
            format!("改行コードが混在しています（CRLF {}行、LF/CR {}行）", e.crlf, other),
            "mixed line endings",
        ));
    }
    if table.missing_final_newline {
        r.diag(Problem::new(
            Rule::CsvNoFinalNewline,
            None,
            "最後の行に改行がありません（読み込みには問題ありません）",
            "the last record has no line ending",
        ));
    }
}

fn guess_family(records: &[RawRecord<'_>]) -> Family {
    records.first().and_then(|r| r.fields.first()).and_then(|f| f.value.parse::<u32>().ok()).map_or(Family::V4, |v| CsvVersion(v).family())
}

struct Reader<'a> {
    file: &'a str,
    family: Family,
    kind: FileKind,
    diags: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn read<R: Record>(&mut self, raw: &[RawRecord<'_>]) -> Vec<Located<R>> {
        let layout = R::layout();
        let names: Vec<&'static str> = columns_for(layout, self.family).map(|(_, c)| c.name).collect();
        let expected = names.len();
        let other_family = if self.family == Family::V4 { Family::V3 } else { Family::V4 };
        let other_count = R::column_count(other_family);
        let mut out = Vec::with_capacity(raw.len());
        let mut sink = Vec::new();
        let mut versions: Vec<(CsvVersion, u32, u32)> = Vec::new();
        for (i, rec) in raw.iter().enumerate() {
            let number = i as u32 + 1;
            if rec.fields.len() != expected {
                let hint = if rec.fields.len() == other_count && other_count != expected {
                    match other_family {
                        Family::V3 => {
                            "。旧形式（202208 以前）の項目数です。ファイル名が 4.1 形式なら、項目も 4.1 の並びで出力してください".to_owned()
                        }
                        Family::V4 => "。4.1 形式の項目数です。ファイル名を 4.1 形式（サービス種類コード付き）にしてください".to_owned(),
                    }
                } else if rec.fields.len() > expected {
                    "。フリーテキストに含まれるカンマが \" で囲まれていない可能性があります".to_owned()
                } else {
                    String::new()
                };
                self.diags.push(
                    Diagnostic::from_problem(
                        Problem::new(
                            Rule::RecColumnCount,
                            Some(rec.fields.len().to_string()),
                            format!(
                                "項目数が{}あります。{}（{}）は{}項目です{hint}",
                                rec.fields.len(),
                                self.kind.name_ja(),
                                family_label(self.family),
                                expected
                            ),
                            format!("{} columns; {} ({:?}) has {}", rec.fields.len(), self.kind.prefix(), self.family, expected),
                        ),
                        Some(self.file),
                    )
                    .at_record(number, rec.line),
                );
                continue;
            }
            let parsed = R::from_raw(&rec.fields, self.family, &mut sink);
            for (pos, p) in sink.drain(..) {
                let item = names.get(pos as usize - 1).copied().unwrap_or("");
                self.diags.push(Diagnostic::from_problem(p, Some(self.file)).at_record(number, rec.line).at_column(pos, item));
            }
            if let Some(record) = parsed {
                versions.push((record.csv_version(), number, rec.line));
                out.push(Located { line: rec.line, number, record });
            }
        }
        self.version_checks(&versions);
        out
    }

    fn version_checks(&mut self, versions: &[(CsvVersion, u32, u32)]) {
        let Some(&(first, _, _)) = versions.first() else { return };
        let mut reported_family = false;
        for &(v, number, line) in versions {
            let at = |p: Problem| Diagnostic::from_problem(p, Some(self.file)).at_record(number, line).at_column(1, "CSVバージョン");
            if v != first {
                self.diags.push(at(Problem::new(
                    Rule::FileCsvVersionMixed,
                    Some(v.0.to_string()),
                    format!(
                        "CSVバージョン {} が最初のレコードの {} と違います。1つのファイルにCSVバージョンを混在させられません",
                        v.0, first.0
                    ),
                    format!("CSV version {} differs from the first record's {}", v.0, first.0),
                )));
            }
            if v.family() != self.family && !reported_family {
                reported_family = true;
                let (ja, en) = match self.family {
                    Family::V4 => (
                        format!(
                            "CSVバージョン {} は旧形式（202208 以前）の値ですが、ファイル名は 4.1 形式です。4.1 では 202407 を設定します",
                            v.0
                        ),
                        format!("CSV version {} is a v3 value but the name is v4; v4 files carry 202407", v.0),
                    ),
                    Family::V3 => (
                        format!(
                            "CSVバージョン {} は 4.0/4.1 の値ですが、ファイル名が旧形式です。ファイル名にサービス種類コードを付けてください",
                            v.0
                        ),
                        format!("CSV version {} is a v4 value but the name is v3", v.0),
                    ),
                };
                self.diags.push(at(Problem::new(Rule::FileCsvVersionFamily, Some(v.0.to_string()), ja, en)));
            }
        }
        if first == CsvVersion::V40 {
            let &(_, number, line) = &versions[0];
            self.diags.push(
                Diagnostic::from_problem(
                    Problem::new(
                        Rule::FileCsvVersionOld40,
                        Some("202504".into()),
                        "CSVバージョン 202504 は 4.0 の値です。4.1 では 202407 です（読み込みはできます）",
                        "202504 is the 4.0 value; 4.1 uses 202407 (accepted)",
                    ),
                    Some(self.file),
                )
                .at_record(number, line)
                .at_column(1, "CSVバージョン"),
            );
        }
    }
}

fn family_label(f: Family) -> &'static str {
    match f {
        Family::V4 => "4.1 形式",
        Family::V3 => "旧形式",
    }
}

/// Position (1-based) of a v4 column number in a family's layout.
fn pos_of(layout: &'static [crate::field::Column], family: Family, no: u16) -> (u16, &'static str) {
    columns_for(layout, family).find(|(_, c)| c.no == no).map_or((no, ""), |(p, c)| (p, c.name))
}

struct At<'a> {
    r: &'a mut FileReport,
    layout: &'static [crate::field::Column],
    family: Family,
}

impl At<'_> {
    fn push(&mut self, number: u32, line: u32, no: u16, p: Problem) {
        let (pos, item) = pos_of(self.layout, self.family, no);
        self.r.diagnostics.push(Diagnostic::from_problem(p, Some(&self.r.file)).at_record(number, line).at_column(pos, item));
    }
}

/// 福祉用具貸与 (17) and 介護予防福祉用具貸与 (67) lines name the equipment: a TAISコード or a
/// 福祉用具届出コード (v4 layouts, where the columns exist).
fn equipment_code(
    kind: crate::ids::ServiceKind,
    tais: &Option<crate::field::Tais>,
    notice: &Option<crate::field::Alnum>,
) -> Option<Problem> {
    (matches!(kind.as_str(), "17" | "67") && tais.is_none() && notice.is_none()).then(|| {
        Problem::new(
            Rule::RecEquipmentCode,
            None,
            format!("福祉用具貸与（サービス種類 {}）の行には TAISコードか福祉用具届出コードのどちらかが必要です", kind.as_str()),
            "a welfare-equipment rental line needs a TAIS code or a notification code",
        )
    })
}

fn month_problem(found: &str, expected: &str, what: &str) -> Problem {
    Problem::new(
        Rule::FileMonthMismatch,
        Some(found.to_owned()),
        format!("{what}「{found}」がファイル名の年月「{expected}」と違います。1つのファイルには1か月分だけを入れます"),
        format!("{what} {found} differs from the file name's month {expected}; one file holds one month"),
    )
}

type UserKey = (InsurerNumber, InsuredNumber);

fn semantic_checks(r: &mut FileReport, recs: &Records) {
    let family = r.family.unwrap_or(Family::V4);
    let name = r.name.clone();
    let name_month = name.as_ref().and_then(|n| n.month);
    let sender_is_provider = name.as_ref().is_some_and(|n| n.sender.kind.is_none_or(|k| !k.is_care_management()));
    let receiver_is_provider = name.as_ref().is_some_and(|n| n.receiver.kind.is_none_or(|k| !k.is_care_management()));

    match recs {
        Records::Plan(v) | Records::Jsk(v) => {
            let jsk = matches!(recs, Records::Jsk(_));
            let mut at = At { r, layout: SLIP, family };
            for l in v {
                let rec = &l.record;
                if family == Family::V4
                    && let Some(p) = equipment_code(rec.service_code.kind, &rec.tais, &rec.notice_code)
                {
                    at.push(l.number, l.line, 16, p);
                }
                if let Some(NameMonth::Month(m)) = name_month
                    && rec.month != m
                {
                    at.push(l.number, l.line, 5, month_problem(&rec.month.to_string(), &m.to_string(), "対象年月"));
                }
                if !rec.month.contains(&rec.service_date) {
                    at.push(
                        l.number,
                        l.line,
                        10,
                        Problem::new(
                            Rule::FileDayOutsideMonth,
                            Some(rec.service_date.to_string()),
                            format!("サービス利用日 {} は対象年月 {} の日付ではありません", rec.service_date, rec.month),
                            format!("service date {} is outside {}", rec.service_date, rec.month),
                        ),
                    );
                }
                if let Some(f) = rec.day_flags
                    && let Some(last) = f.last_day()
                    && last > rec.month.days()
                {
                    at.push(
                        l.number,
                        l.line,
                        11,
                        Problem::new(
                            Rule::FileDayFlagsBeyondMonth,
                            Some(last.to_string()),
                            format!(
                                "日割対象日の{last}日目に 1 がありますが、{}年{}月は{}日までです",
                                rec.month.year,
                                rec.month.month,
                                rec.month.days()
                            ),
                            format!("day {last} flagged but the month has {} days", rec.month.days()),
                        ),
                    );
                }
            }
            if let Some(n) = &name {
                if jsk && sender_is_provider {
                    if let Some(k) = n.sender.kind {
                        for l in v.iter().filter(|l| l.record.provider == n.sender.office && l.record.service_code.kind != k) {
                            at.push(l.number, l.line, 15, Problem::new(Rule::FileServiceKindMismatch, Some(l.record.service_code.kind.to_string()), format!("サービスコードの種類 {} が、ファイル名の送信元サービス種類 {k} と違います。サービス種類ごとにファイルを分けます", l.record.service_code.kind), "the service code's kind differs from the sender's kind in the name; one file per service kind"));
                        }
                    }
                    for l in v {
                        if l.record.provider != n.sender.office {
                            at.push(
                                l.number,
                                l.line,
                                20,
                                Problem::new(
                                    Rule::FileOfficeMismatch,
                                    Some(l.record.provider.to_string()),
                                    format!(
                                        "実績のサービス事業者コード {} が送信元の事業所番号 {} と違います",
                                        l.record.provider, n.sender.office
                                    ),
                                    "the provider of an actual-service record must be the sender",
                                ),
                            );
                        }
                    }
                }
                if !jsk {
                    for l in v {
                        if let Some(p) = &l.record.plan_office
                            && *p != n.sender.office
                        {
                            at.push(
                                l.number,
                                l.line,
                                6,
                                Problem::new(
                                    Rule::FileOfficeMismatchSoft,
                                    Some(p.to_string()),
                                    format!(
                                        "プラン担当業者コード {p} が送信元の事業所番号 {} と違います（委託の場合は問題ありません）",
                                        n.sender.office
                                    ),
                                    "plan office differs from the sender",
                                ),
                            );
                        }
                    }
                    if receiver_is_provider {
                        // Users unrelated to the destination must not be sent (個人情報).
                        let mut related: HashMap<UserKey, (bool, u32, u32)> = HashMap::new();
                        for l in v {
                            let e =
                                related.entry((l.record.insurer.clone(), l.record.insured.clone())).or_insert((false, l.number, l.line));
                            e.0 |= l.record.provider == n.receiver.office;
                        }
                        let mut unrelated: Vec<_> = related.into_iter().filter(|(_, (ok, _, _))| !ok).collect();
                        unrelated.sort_by_key(|(_, (_, num, _))| *num);
                        for ((_, insured), (_, number, line)) in unrelated {
                            at.push(number, line, 3, Problem::new(Rule::FileUnrelatedUser, Some(insured.as_str().to_owned()), format!("被保険者番号 {} の利用者には送信先 {} のサービスが1行もありません。関係のない利用者の情報は送れません", insured.as_str(), n.receiver.office), "this user has no service from the destination office; unrelated users must not be sent"));
                        }
                    }
                }
            }
        }
        Records::Sikyu(v) => {
            let mut at = At { r, layout: SIKYU, family };
            let mut totals: HashMap<UserKey, (bool, u32, u32)> = HashMap::new();
            for l in v {
                let rec = &l.record;
                if let Some(NameMonth::Month(m)) = name_month
                    && rec.month != m
                {
                    at.push(l.number, l.line, 5, month_problem(&rec.month.to_string(), &m.to_string(), "対象年月"));
                }
                let is_total = rec.service_code == SummaryServiceCode::Total;
                if is_total != (rec.provider == OfficeOrAll9::All9) {
                    at.push(
                        l.number,
                        l.line,
                        7,
                        Problem::new(
                            Rule::FileSikyuTotal,
                            Some(crate::field::FieldValue::render_string(&rec.provider)),
                            "全合計行（サービスコード 999999）のサービス事業所コードは 9999999999、それ以外の行は事業所番号です",
                            "the grand-total line pairs 999999 with 9999999999",
                        ),
                    );
                }
                let e = totals.entry((rec.insurer.clone(), rec.insured.clone())).or_insert((false, l.number, l.line));
                e.0 |= is_total;
            }
            for l in v {
                if let SummaryServiceCode::Detail(c) = &l.record.service_code
                    && family == Family::V4
                    && let Some(p) = equipment_code(c.kind, &l.record.tais, &l.record.notice_code)
                {
                    at.push(l.number, l.line, 10, p);
                }
            }
            for (number, line, col, p) in crate::arith::check_sikyu(v) {
                at.push(number, line, col, p);
            }
            let mut missing: Vec<_> = totals.into_iter().filter(|(_, (ok, _, _))| !ok).collect();
            missing.sort_by_key(|(_, (_, num, _))| *num);
            for ((_, insured), (_, number, line)) in missing {
                at.push(
                    number,
                    line,
                    9,
                    Problem::new(
                        Rule::FileSikyuTotal,
                        Some(insured.as_str().to_owned()),
                        format!("被保険者番号 {} の全合計行（サービスコード 999999）がありません", insured.as_str()),
                        "no grand-total line (999999) for this user",
                    ),
                );
            }
        }
        Records::DltPlan(v) => {
            let mut at = At { r, layout: DLTPLAN, family };
            if let Some(NameMonth::Month(m)) = name_month {
                for l in v.iter().filter(|l| l.record.month != m) {
                    at.push(l.number, l.line, 4, month_problem(&l.record.month.to_string(), &m.to_string(), "削除対象年月"));
                }
            }
            dup_keys(&mut at, v.iter().map(|l| (l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.month))));
        }
        Records::DltJsk(v) => {
            let mut at = At { r, layout: DLTJSK, family };
            for l in v {
                if let Some(NameMonth::Month(m)) = name_month
                    && l.record.month != m
                {
                    at.push(l.number, l.line, 4, month_problem(&l.record.month.to_string(), &m.to_string(), "削除対象年月"));
                }
                if let Some(n) = &name
                    && sender_is_provider
                {
                    if l.record.provider != n.sender.office {
                        at.push(l.number, l.line, 5, Problem::new(Rule::FileOfficeMismatch, Some(l.record.provider.to_string()), format!("削除するサービス事業者コード {} が送信元の事業所番号 {} と違います。実績の削除は提供した事業所が送ります", l.record.provider, n.sender.office), "only the provider withdraws its own actual-service records"));
                    }
                    if let Some(k) = n.sender.kind
                        && l.record.kind != k
                    {
                        at.push(
                            l.number,
                            l.line,
                            6,
                            Problem::new(
                                Rule::FileOfficeMismatch,
                                Some(l.record.kind.to_string()),
                                format!("削除するサービス種類コード {} がファイル名の送信元サービス種類 {k} と違います", l.record.kind),
                                "the service kind differs from the sender's kind in the file name",
                            ),
                        );
                    }
                }
            }
        }
        Records::Hosoku(v) => {
            let mut at = At { r, layout: HOSOKU, family };
            for l in v {
                let rec = &l.record;
                order(&mut at, l.number, l.line, (14, rec.limit_from), (15, rec.limit_to));
                match (name_month, rec.target_month) {
                    (Some(NameMonth::Zero), YearMonthOrZero::Month(m)) => {
                        at.push(l.number, l.line, 63, month_problem(&m.to_string(), "000000", "対象年月"))
                    }
                    (Some(NameMonth::Month(nm)), YearMonthOrZero::Month(m)) if nm != m => {
                        at.push(l.number, l.line, 63, month_problem(&m.to_string(), &nm.to_string(), "対象年月"))
                    }
                    (Some(NameMonth::Month(nm)), YearMonthOrZero::Zero) => {
                        at.push(l.number, l.line, 63, month_problem("000000", &nm.to_string(), "対象年月"))
                    }
                    _ => {}
                }
                match (rec.target_month, rec.plan_date) {
                    (YearMonthOrZero::Zero, DateOrZero::Zero) => at.push(l.number, l.line, 4, Problem::new(Rule::FileHosokuDate, Some("00000000".into()), "計画書（1表）と組む利用者補足情報には、居宅サービス計画作成（変更）日を入れます（00000000 は第6表・第7表と組む場合です）", "with plan sheets, the supplement carries the plan date")),
                    (YearMonthOrZero::Month(_), DateOrZero::Date(d)) => at.push(l.number, l.line, 4, Problem::new(Rule::FileHosokuDate, Some(d.to_string()), "第6表・第7表と組む利用者補足情報の居宅サービス計画作成（変更）日は 00000000 です", "with 第6表/第7表, the plan date is 00000000")),
                    _ => {}
                }
            }
            dup_keys(
                &mut at,
                v.iter().map(|l| {
                    (l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date, l.record.target_month))
                }),
            );
        }
        Records::Kyo1(v) => {
            let mut at = At { r, layout: KYO1, family };
            for l in v {
                let k = &l.record;
                order(&mut at, l.number, l.line, (15, Some(k.first_plan_date)), (14, Some(k.plan_date)));
                order(&mut at, l.number, l.line, (19, k.valid_from), (20, k.valid_to));
            }
            if let Some(n) = &name {
                for l in v.iter().filter(|l| l.record.office != n.sender.office) {
                    at.push(
                        l.number,
                        l.line,
                        13,
                        Problem::new(
                            Rule::FileOfficeMismatchSoft,
                            Some(l.record.office.to_string()),
                            format!(
                                "介護支援事業者コード {} が送信元の事業所番号 {} と違います（委託による転送でなければ確認してください）",
                                l.record.office, n.sender.office
                            ),
                            "care-management office differs from the sender",
                        ),
                    );
                }
            }
            dup_keys(
                &mut at,
                v.iter().map(|l| (l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date))),
            );
        }
        Records::Dlt1Kyo(v) => dup_keys(
            &mut At { r, layout: DLT1KYO, family },
            v.iter().map(|l| (l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date))),
        ),
        Records::Kihon(v) => dup_keys(
            &mut At { r, layout: KIHON, family },
            v.iter().map(|l| (l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.consulted_on))),
        ),
        Records::DltKihon(v) => dup_keys(
            &mut At { r, layout: DLTKIHON, family },
            v.iter().map(|l| (l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.consulted_on))),
        ),
        Records::Yobo(v) => dup_keys(
            &mut At { r, layout: YOBO, family },
            v.iter().map(|l| (l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date))),
        ),
        Records::DltYobo(v) => dup_keys(
            &mut At { r, layout: DLTYOBO, family },
            v.iter().map(|l| (l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date))),
        ),
        Records::Kyo2(_) | Records::Kyo3(_) | Records::KihonSub1(_) | Records::KihonSub2(_) | Records::YoboSub(_) => {}
    }
}

/// Warns when `earlier` (column `a`) falls after `later` (column `b`).
fn order(at: &mut At<'_>, number: u32, line: u32, (a, earlier): (u16, Option<Date>), (b, later): (u16, Option<Date>)) {
    if let (Some(x), Some(y)) = (earlier, later)
        && x > y
    {
        let (pa, na) = pos_of(at.layout, at.family, a);
        let (pb, nb) = pos_of(at.layout, at.family, b);
        at.push(
            number,
            line,
            a,
            Problem::new(
                Rule::RecDateOrder,
                Some(x.to_string()),
                format!("{na}（{pa}列目 {x}）が{nb}（{pb}列目 {y}）より後になっています。入れ違いがないか確認してください"),
                format!("column {pa} ({x}) is after column {pb} ({y}); check for swapped dates"),
            ),
        );
    }
}

fn dup_keys<K: std::hash::Hash + Eq>(at: &mut At<'_>, keys: impl Iterator<Item = (u32, u32, K)>) {
    let mut seen: HashMap<K, u32> = HashMap::new();
    let mut reported = HashSet::new();
    for (number, line, k) in keys {
        if let Some(&first) = seen.get(&k) {
            if reported.insert(number) {
                at.push(
                    number,
                    line,
                    3,
                    Problem::new(
                        Rule::FileDuplicateKey,
                        None,
                        format!("{first}行目と同じ利用者・同じキーのレコードです。取込先でどちらが有効になるか分かりません"),
                        format!("same key as line {first}; the receiver cannot tell which one is meant"),
                    ),
                );
            }
        } else {
            seen.insert(k, line);
        }
    }
}
