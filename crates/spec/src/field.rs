//! Typed field values and the per-column parse that applies the standard's column rules:
//! required, length (項目長, counted in characters), and the format of each value type.
//!
//! Each value type implements [`FieldValue`]; its `parse` is the single definition of what the
//! format accepts, used both by the validator and by typed record reading.

use crate::calendar::{Date, Hhmm, YearMonth};
use crate::codes::{CodeTable, TableDef};
use crate::csv::RawField;
use crate::diag::{Problem, Rule, Severity};
use crate::ids::{InsuredNumber, InsurerNumber, OfficeNumber, ServiceKind};
use crate::name::{self, Family, FileKind, FileName};
use std::fmt;
use std::marker::PhantomData;

/// The format of a column, as data (for documentation, quoting and diagnostics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSVバージョン (YYYYMM from the version table).
    CsvVersion,
    /// 保険者番号.
    Insurer,
    /// 被保険者番号.
    Insured,
    /// YYYYMMDD.
    Date,
    /// YYYYMMDD or `00000000`.
    DateOrZero,
    /// YYYYMM.
    YearMonth,
    /// YYYYMM or `000000`.
    YearMonthOrZero,
    /// HHMM.
    Time,
    /// HHMM, or `9999` for a service without a time display.
    ServiceTime,
    /// Integer (整数).
    Integer,
    /// `99.99`.
    Decimal,
    /// A value from a code table.
    Code(&'static TableDef),
    /// 事業所番号.
    Office,
    /// 事業所番号, or `9999999999` on a total line.
    OfficeOrAll9,
    /// Fixed `9999999999`.
    All9,
    /// サービス種類コード.
    ServiceKind,
    /// サービスコード (種類 2 + 項目 4).
    ServiceCode,
    /// 第7表 サービスコード: a service code, a subtotal (`AAAA`/`EEEE`/`ZZZZ`) or `999999`.
    SummaryServiceCode,
    /// 31 characters of `0`/`1`.
    DayFlags,
    /// `XXX-XXXX`.
    Postal,
    /// Telephone number.
    Phone,
    /// TAISコード `NNNNN-NNNNNN`.
    Tais,
    /// Alphanumeric code with no published format.
    Alnum,
    /// フリーテキスト (quoted).
    Text,
    /// 識別子 (※使用しない): always empty.
    Unused,
    /// A UPKIHON_IMAGE file name.
    ImageName,
}

impl Format {
    /// `true` for フリーテキスト, which is quoted on write.
    pub fn is_free_text(self) -> bool {
        self == Format::Text
    }
    /// A short Japanese description for documentation.
    pub fn describe_ja(self) -> String {
        match self {
            Format::CsvVersion => "CSVバージョン（YYYYMM）".into(),
            Format::Insurer => "保険者番号（数字6桁・検証番号付き）".into(),
            Format::Insured => "被保険者番号（数字10桁 / H＋9桁）".into(),
            Format::Date => "YYYYMMDD".into(),
            Format::DateOrZero => "YYYYMMDD / 00000000".into(),
            Format::YearMonth => "YYYYMM".into(),
            Format::YearMonthOrZero => "YYYYMM / 000000".into(),
            Format::Time => "HHMM".into(),
            Format::ServiceTime => "HHMM / 9999（時間表示なし）".into(),
            Format::Integer => "整数".into(),
            Format::Decimal => "99.99".into(),
            Format::Code(t) => format!("コード（{}）", t.entries.iter().map(|(c, m)| format!("{c}:{m}")).collect::<Vec<_>>().join(" ")),
            Format::Office => "事業所番号（10桁・検証番号付き）".into(),
            Format::OfficeOrAll9 => "事業所番号 / 9999999999（合計行）".into(),
            Format::All9 => "9999999999 固定".into(),
            Format::ServiceKind => "サービス種類コード（英数字2桁）".into(),
            Format::ServiceCode => "サービスコード（種類2桁＋項目4桁）".into(),
            Format::SummaryServiceCode => "サービスコード / 種類＋AAAA・EEEE・ZZZZ / 999999".into(),
            Format::DayFlags => "0/1 を31桁".into(),
            Format::Postal => "XXX-XXXX".into(),
            Format::Phone => "電話番号".into(),
            Format::Tais => "NNNNN-NNNNNN".into(),
            Format::Alnum => "英数字".into(),
            Format::Text => "フリーテキスト（\"で囲む）".into(),
            Format::Unused => "使用しない（空）".into(),
            Format::ImageName => "家族構成画像のファイル名".into(),
        }
    }
}

/// One column of a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// 項目 No. in the v4 layout.
    pub no: u16,
    /// 日本語名称.
    pub name: &'static str,
    /// 項目長 in characters; `None` for free text.
    pub len: Option<u16>,
    /// 必須.
    pub required: bool,
    /// Value format.
    pub format: Format,
    /// The column exists only in v4 layouts (absent from v3 files).
    pub v4_only: bool,
    /// A different length in v3 layouts.
    pub v3_len: Option<u16>,
    /// The recovered length is UNCERTAIN: exceeding it is a warning, not an error.
    pub soft_len: bool,
}

impl Column {
    /// A column; `len == 0` means no length (free text).
    pub const fn new(no: u16, name: &'static str, len: u16, required: bool, format: Format) -> Column {
        Column { no, name, len: if len == 0 { None } else { Some(len) }, required, format, v4_only: false, v3_len: None, soft_len: false }
    }
    /// Marks the column as v4-only.
    pub const fn v4(mut self) -> Column {
        self.v4_only = true;
        self
    }
    /// Sets the v3 length.
    pub const fn v3_len(mut self, n: u16) -> Column {
        self.v3_len = Some(n);
        self
    }
    /// Marks the length as uncertain.
    pub const fn soft_len(mut self) -> Column {
        self.soft_len = true;
        self
    }
    /// The length that applies to a family.
    pub fn len_for(&self, family: Family) -> Option<u16> {
        match family {
            Family::V3 => self.v3_len.or(self.len),
            Family::V4 => self.len,
        }
    }
}

/// The columns of a layout present in a family, with their 1-based position in the file.
pub fn columns_for(layout: &'static [Column], family: Family) -> impl Iterator<Item = (u16, &'static Column)> {
    layout.iter().filter(move |c| family == Family::V4 || !c.v4_only).zip(1u16..).map(|(c, i)| (i, c))
}

/// A value of one column.
pub trait FieldValue: Sized {
    /// The column format.
    const FORMAT: Format;
    /// `Option<T>`: the column may be empty.
    const OPTIONAL: bool = false;
    /// Parses a non-empty raw value. Warnings go to `warn`.
    fn parse(raw: &str, warn: &mut Vec<Problem>) -> Result<Self, Problem>;
    /// Writes the canonical form.
    fn render(&self, out: &mut String);
    /// The value of an empty column (`None` for required values).
    fn empty() -> Option<Self> {
        None
    }
    /// The canonical form as a new string.
    fn render_string(&self) -> String {
        let mut s = String::new();
        self.render(&mut s);
        s
    }
}

impl<T: FieldValue> FieldValue for Option<T> {
    const FORMAT: Format = T::FORMAT;
    const OPTIONAL: bool = true;
    fn parse(raw: &str, warn: &mut Vec<Problem>) -> Result<Self, Problem> {
        T::parse(raw, warn).map(Some)
    }
    fn render(&self, out: &mut String) {
        if let Some(v) = self {
            v.render(out);
        }
    }
    fn empty() -> Option<Self> {
        Some(None)
    }
}

/// Applies the column rules to one raw field and parses it. Problems (errors and warnings) are
/// pushed to `sink`; `None` means the value is unusable.
pub fn parse_column<T: FieldValue>(field: &RawField<'_>, col: &Column, family: Family, sink: &mut Vec<Problem>) -> Option<T> {
    let raw: &str = &field.value;
    if raw.is_empty() {
        if col.required {
            sink.push(Problem::new(
                Rule::FieldRequired,
                None,
                format!("必須項目「{}」が空です", col.name),
                format!("required item '{}' is empty", col.name),
            ));
        }
        return T::empty();
    }
    if let Some(max) = col.len_for(family) {
        let n = raw.chars().count();
        if n > max as usize {
            let p = Problem::new(
                Rule::FieldLength,
                Some(raw.to_owned()),
                format!("「{}」は{}桁までです（{}桁あります）", col.name, max, n),
                format!("'{}' allows {} characters (found {})", col.name, max, n),
            );
            if col.soft_len {
                sink.push(p.with_severity(Severity::Warning));
            } else {
                sink.push(p);
                return None;
            }
        }
    }
    if col.format.is_free_text() && !field.quoted {
        sink.push(Problem::new(
            Rule::FieldFreeTextUnquoted,
            Some(raw.to_owned()),
            format!("フリーテキスト「{}」は \" で囲んで出力します（標準仕様）", col.name),
            format!("free text '{}' must be enclosed in double quotes", col.name),
        ));
    }
    match T::parse(raw, sink) {
        Ok(v) => Some(v),
        Err(p) => {
            sink.push(p);
            None
        }
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn wareki_hint(raw: &str) -> &'static str {
    if raw.starts_with(['H', 'R', 'S', 'T', 'M', '平', '令', '昭']) || raw.contains(['年', '/', '-', '.']) {
        "（西暦の数字8桁で書きます。和暦や区切り文字は使えません）"
    } else {
        ""
    }
}

macro_rules! simple_display {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut s = String::new();
                self.render(&mut s);
                f.write_str(&s)
            }
        }
    )*};
}

/// A CSVバージョン value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CsvVersion(pub u32);

impl CsvVersion {
    /// What renkei writes (4.1).
    pub const CURRENT: CsvVersion = CsvVersion(202407);
    /// 4.0 (accepted on read).
    pub const V40: CsvVersion = CsvVersion(202504);
    /// Every published value, oldest first, with its family.
    pub const PUBLISHED: [(u32, Family); 5] =
        [(201910, Family::V3), (202003, Family::V3), (202208, Family::V3), (202504, Family::V4), (202407, Family::V4)];
    /// The family whose layout the version uses.
    pub fn family(self) -> Family {
        CsvVersion::PUBLISHED.iter().find(|(v, _)| *v == self.0).map_or(Family::V4, |(_, f)| *f)
    }
}

impl FieldValue for CsvVersion {
    const FORMAT: Format = Format::CsvVersion;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        match raw.parse::<u32>() {
            Ok(v) if raw.len() == 6 && is_digits(raw) && CsvVersion::PUBLISHED.iter().any(|(p, _)| *p == v) => Ok(CsvVersion(v)),
            _ if raw == "202410" => Err(Problem::new(
                Rule::FieldCsvVersion,
                Some(raw.to_owned()),
                "「202410」はCSVバージョンの値ではありません。4.1（令和6年10月版）のCSVバージョンは 202407 です",
                "202410 is not a CSV version value; 4.1 uses 202407",
            )),
            _ => Err(Problem::new(
                Rule::FieldCsvVersion,
                Some(raw.to_owned()),
                format!("「{raw}」は公表されたCSVバージョンではありません（202407・202504・202208・202003・201910）"),
                format!("'{raw}' is not a published CSV version (202407, 202504, 202208, 202003, 201910)"),
            )),
        }
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.0.to_string());
    }
}

impl FieldValue for InsurerNumber {
    const FORMAT: Format = Format::Insurer;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        InsurerNumber::parse(raw)
    }
    fn render(&self, out: &mut String) {
        out.push_str(self.as_str());
    }
}

impl FieldValue for InsuredNumber {
    const FORMAT: Format = Format::Insured;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        InsuredNumber::parse(raw)
    }
    fn render(&self, out: &mut String) {
        out.push_str(self.as_str());
    }
}

impl FieldValue for OfficeNumber {
    const FORMAT: Format = Format::Office;
    /// A number of the right shape whose check digit fails is still read (the registry may
    /// know it: see [`crate::check_with`]); the check-digit error is reported beside it.
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        let n = OfficeNumber::parse_shape(raw)?;
        if let Some(p) = n.check_digit_problem(false) {
            w.push(p);
        }
        Ok(n)
    }
    fn render(&self, out: &mut String) {
        out.push_str(self.as_str());
    }
}

impl FieldValue for ServiceKind {
    const FORMAT: Format = Format::ServiceKind;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        ServiceKind::parse(raw)
    }
    fn render(&self, out: &mut String) {
        out.push_str(self.as_str());
    }
}

impl FieldValue for Date {
    const FORMAT: Format = Format::Date;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        Date::parse(raw).ok_or_else(|| {
            Problem::new(
                Rule::FieldDate,
                Some(raw.to_owned()),
                format!("「{raw}」は存在する日付（西暦 YYYYMMDD）ではありません{}", wareki_hint(raw)),
                format!("'{raw}' is not an existing Gregorian date YYYYMMDD"),
            )
        })
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

/// A date or the sentinel `00000000` (利用者補足情報 No.4 in a 6表/7表 bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DateOrZero {
    /// `00000000`.
    Zero,
    /// A date.
    Date(Date),
}

impl FieldValue for DateOrZero {
    const FORMAT: Format = Format::DateOrZero;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        if raw == "00000000" { Ok(DateOrZero::Zero) } else { Date::parse_field(raw, w).map(DateOrZero::Date) }
    }
    fn render(&self, out: &mut String) {
        match self {
            DateOrZero::Zero => out.push_str("00000000"),
            DateOrZero::Date(d) => d.render(out),
        }
    }
}

impl Date {
    fn parse_field(raw: &str, w: &mut Vec<Problem>) -> Result<Date, Problem> {
        <Date as FieldValue>::parse(raw, w)
    }
}

impl FieldValue for YearMonth {
    const FORMAT: Format = Format::YearMonth;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        YearMonth::parse(raw).ok_or_else(|| {
            Problem::new(
                Rule::FieldMonth,
                Some(raw.to_owned()),
                format!("「{raw}」は年月（西暦 YYYYMM、月は01〜12）ではありません{}", wareki_hint(raw)),
                format!("'{raw}' is not a Gregorian YYYYMM"),
            )
        })
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

/// A year-month or the sentinel `000000` (利用者補足情報 No.63 with 1/2/3表).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum YearMonthOrZero {
    /// `000000`.
    Zero,
    /// A month.
    Month(YearMonth),
}

impl FieldValue for YearMonthOrZero {
    const FORMAT: Format = Format::YearMonthOrZero;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        if raw == "000000" { Ok(YearMonthOrZero::Zero) } else { <YearMonth as FieldValue>::parse(raw, w).map(YearMonthOrZero::Month) }
    }
    fn render(&self, out: &mut String) {
        match self {
            YearMonthOrZero::Zero => out.push_str("000000"),
            YearMonthOrZero::Month(m) => m.render(out),
        }
    }
}

impl FieldValue for Hhmm {
    const FORMAT: Format = Format::Time;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        Hhmm::parse(raw).ok_or_else(|| {
            let hint = if raw.contains(':') { "（「:」を入れず数字4桁で書きます）" } else { "" };
            Problem::new(
                Rule::FieldTime,
                Some(raw.to_owned()),
                format!("「{raw}」は時刻（HHMM、0000〜2400）ではありません{hint}"),
                format!("'{raw}' is not a time HHMM"),
            )
        })
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

/// 第6表 サービス開始/終了時刻: a time, or `9999` for services without a time display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceTime {
    /// A clock time.
    At(Hhmm),
    /// `9999`: 時間表示の無いサービス.
    NoTime,
}

impl FieldValue for ServiceTime {
    const FORMAT: Format = Format::ServiceTime;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        if raw == "9999" {
            return Ok(ServiceTime::NoTime);
        }
        <Hhmm as FieldValue>::parse(raw, w).map(ServiceTime::At).map_err(|mut p| {
            p.ja.push_str("。時間表示の無いサービスは 9999 です");
            p
        })
    }
    fn render(&self, out: &mut String) {
        match self {
            ServiceTime::At(t) => t.render(out),
            ServiceTime::NoTime => out.push_str("9999"),
        }
    }
}

/// 整数. A leading `-` is accepted (減算 units of 共生型 services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Integer(pub i64);

impl FieldValue for Integer {
    const FORMAT: Format = Format::Integer;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        match raw.parse::<i64>() {
            Ok(v) if is_digits(digits) => Ok(Integer(v)),
            _ => {
                let hint = if raw.contains(',') {
                    "（桁区切りのカンマは入れません）"
                } else if raw.chars().any(|c| ('０'..='９').contains(&c)) {
                    "（全角数字は使えません）"
                } else {
                    ""
                };
                Err(Problem::new(
                    Rule::FieldInteger,
                    Some(raw.to_owned()),
                    format!("「{raw}」は整数ではありません{hint}"),
                    format!("'{raw}' is not an integer"),
                ))
            }
        }
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.0.to_string());
    }
}

/// 単位数単価 in `99.99` form, kept in hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Decimal(pub u16);

impl FieldValue for Decimal {
    const FORMAT: Format = Format::Decimal;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        if let Some((i, f)) = raw.split_once('.')
            && (1..=2).contains(&i.len())
            && f.len() == 2
            && is_digits(i)
            && is_digits(f)
        {
            let v = i.parse::<u16>().unwrap_or(0) * 100 + f.parse::<u16>().unwrap_or(0);
            return Ok(Decimal(v));
        }
        Err(Problem::new(
            Rule::FieldDecimal,
            Some(raw.to_owned()),
            format!("「{raw}」は 99.99 形式（例: 10.90）ではありません"),
            format!("'{raw}' is not in 99.99 form (e.g. 10.90)"),
        ))
    }
    fn render(&self, out: &mut String) {
        out.push_str(&format!("{}.{:02}", self.0 / 100, self.0 % 100));
    }
}

/// A value from the code table `T`.
pub struct Code<T> {
    /// The code as written.
    pub code: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T: CodeTable> Code<T> {
    /// Looks a code up; `None` when it is not in the table.
    pub fn new(code: &str) -> Option<Code<T>> {
        T::DEF.entries.iter().find(|(c, _)| *c == code).map(|(c, _)| Code { code: c, _t: PhantomData })
    }
    /// The meaning (e.g. 要介護１).
    pub fn meaning(&self) -> &'static str {
        T::DEF.entries.iter().find(|(c, _)| *c == self.code).map_or("", |(_, m)| m)
    }
}

impl<T> Clone for Code<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Code<T> {}
impl<T> PartialEq for Code<T> {
    fn eq(&self, o: &Self) -> bool {
        self.code == o.code
    }
}
impl<T> Eq for Code<T> {}
impl<T> std::hash::Hash for Code<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.code.hash(h);
    }
}
impl<T: CodeTable> fmt::Debug for Code<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", T::DEF.name, self.code)
    }
}

impl<T: CodeTable> FieldValue for Code<T> {
    const FORMAT: Format = Format::Code(T::DEF);
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        Code::new(raw).ok_or_else(|| {
            let list: Vec<String> = T::DEF.entries.iter().map(|(c, m)| format!("{c}:{m}")).collect();
            let hint = if raw.len() == 1 && T::DEF.entries.iter().any(|(c, _)| c.len() == 2 && c.ends_with(raw)) {
                "（2桁で、先頭に0を付けて書きます）"
            } else {
                ""
            };
            Problem::new(
                Rule::FieldCode,
                Some(raw.to_owned()),
                format!("「{raw}」は{}のコードにありません{hint}（{}）", T::DEF.name, list.join(" ")),
                format!("'{raw}' is not a code of {} ({})", T::DEF.name, list.join(" ")),
            )
        })
    }
    fn render(&self, out: &mut String) {
        out.push_str(self.code);
    }
}

/// 第7表 サービス事業所コード: an office, or `9999999999` on the grand-total line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OfficeOrAll9 {
    /// A provider.
    Office(OfficeNumber),
    /// `9999999999`.
    All9,
}

impl FieldValue for OfficeOrAll9 {
    const FORMAT: Format = Format::OfficeOrAll9;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        if raw == "9999999999" { Ok(OfficeOrAll9::All9) } else { <OfficeNumber as FieldValue>::parse(raw, w).map(OfficeOrAll9::Office) }
    }
    fn render(&self, out: &mut String) {
        match self {
            OfficeOrAll9::Office(o) => out.push_str(o.as_str()),
            OfficeOrAll9::All9 => out.push_str("9999999999"),
        }
    }
}

/// 第7表 No.34 事業所コード, 「9999999999を固定でセット」. Another 10-digit value is kept with a
/// warning (the column assignment is UNCERTAIN).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FixedAll9(pub String);

impl FieldValue for FixedAll9 {
    const FORMAT: Format = Format::All9;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        if raw.len() != 10 || !is_digits(raw) {
            return Err(Problem::new(
                Rule::FieldOffice,
                Some(raw.to_owned()),
                format!("「{raw}」は数字10桁ではありません（9999999999 を固定で設定します）"),
                "expected the fixed value 9999999999",
            ));
        }
        if raw != "9999999999" {
            w.push(Problem::new(
                Rule::FieldFixedAll9,
                Some(raw.to_owned()),
                "この項目は 9999999999 を固定で設定します",
                "this item is fixed to 9999999999",
            ));
        }
        Ok(FixedAll9(raw.to_owned()))
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// サービスコード: 種類 (2) + 項目 (4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceCode {
    /// The service kind (first 2 characters).
    pub kind: ServiceKind,
    /// 項目コード (4 characters).
    pub item: [u8; 4],
}

impl ServiceCode {
    fn item_str(&self) -> &str {
        std::str::from_utf8(&self.item).unwrap_or("????")
    }
}

fn alnum_upper(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

impl FieldValue for ServiceCode {
    const FORMAT: Format = Format::ServiceCode;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        let b = raw.as_bytes();
        if b.len() == 6 && alnum_upper(raw) {
            let kind = ServiceKind::parse(&raw[..2])?;
            return Ok(ServiceCode { kind, item: [b[2], b[3], b[4], b[5]] });
        }
        Err(Problem::new(
            Rule::FieldServiceCode,
            Some(raw.to_owned()),
            format!("「{raw}」はサービスコード（種類2桁＋項目4桁の英数字6桁）ではありません"),
            format!("'{raw}' is not a 6-character service code"),
        ))
    }
    fn render(&self, out: &mut String) {
        out.push_str(self.kind.as_str());
        out.push_str(self.item_str());
    }
}

/// Kinds of 第7表 summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subtotal {
    /// `AAAA`: 区分支給対象 種類別小計.
    Covered,
    /// `EEEE`: 区分支給対象外 種類別小計.
    NotCovered,
    /// `ZZZZ`: 30日超過分 種類別小計.
    Over30,
}

/// 第7表 サービスコード.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SummaryServiceCode {
    /// A detail line.
    Detail(ServiceCode),
    /// A per-kind subtotal line.
    Subtotal(ServiceKind, Subtotal),
    /// `999999`: 全合計.
    Total,
}

impl FieldValue for SummaryServiceCode {
    const FORMAT: Format = Format::SummaryServiceCode;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        if raw == "999999" {
            return Ok(SummaryServiceCode::Total);
        }
        if raw.len() == 6 && raw.is_ascii() {
            let tag = match &raw[2..] {
                "AAAA" => Some(Subtotal::Covered),
                "EEEE" => Some(Subtotal::NotCovered),
                "ZZZZ" => Some(Subtotal::Over30),
                _ => None,
            };
            if let Some(t) = tag {
                return Ok(SummaryServiceCode::Subtotal(ServiceKind::parse(&raw[..2])?, t));
            }
        }
        <ServiceCode as FieldValue>::parse(raw, w).map(SummaryServiceCode::Detail)
    }
    fn render(&self, out: &mut String) {
        match self {
            SummaryServiceCode::Detail(c) => c.render(out),
            SummaryServiceCode::Subtotal(k, t) => {
                out.push_str(k.as_str());
                out.push_str(match t {
                    Subtotal::Covered => "AAAA",
                    Subtotal::NotCovered => "EEEE",
                    Subtotal::Over30 => "ZZZZ",
                });
            }
            SummaryServiceCode::Total => out.push_str("999999"),
        }
    }
}

/// 日割対象日: bit *d−1* set when day *d* is billed per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayFlags(pub u32);

impl DayFlags {
    /// `true` when day `d` (1–31) is flagged.
    pub fn has(&self, d: u8) -> bool {
        (1..=31).contains(&d) && self.0 & (1 << (d - 1)) != 0
    }
    /// The highest flagged day.
    pub fn last_day(&self) -> Option<u8> {
        (1..=31).rev().find(|d| self.has(*d))
    }
}

impl FieldValue for DayFlags {
    const FORMAT: Format = Format::DayFlags;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        if raw.len() == 31 && raw.bytes().all(|b| b == b'0' || b == b'1') {
            let v = raw.bytes().enumerate().fold(0u32, |acc, (i, b)| if b == b'1' { acc | 1 << i } else { acc });
            return Ok(DayFlags(v));
        }
        Err(Problem::new(
            Rule::FieldDayFlags,
            Some(raw.to_owned()),
            format!("日割対象日は 0 と 1 を31桁並べます（{}桁あります）", raw.chars().count()),
            "per-day flags are 31 characters of 0/1",
        ))
    }
    fn render(&self, out: &mut String) {
        for d in 1..=31 {
            out.push(if self.has(d) { '1' } else { '0' });
        }
    }
}

/// 郵便番号 `XXX-XXXX`. Seven digits without the hyphen are accepted with a warning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Postal(String);

impl Postal {
    /// The canonical `XXX-XXXX`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FieldValue for Postal {
    const FORMAT: Format = Format::Postal;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        let b = raw.as_bytes();
        if b.len() == 8 && b[3] == b'-' && is_digits(&raw[..3]) && is_digits(&raw[4..]) {
            return Ok(Postal(raw.to_owned()));
        }
        if b.len() == 7 && is_digits(raw) {
            w.push(Problem::new(
                Rule::FieldPostalNoHyphen,
                Some(raw.to_owned()),
                "郵便番号は XXX-XXXX とハイフン付きで書きます",
                "write postal codes as XXX-XXXX",
            ));
            return Ok(Postal(format!("{}-{}", &raw[..3], &raw[3..])));
        }
        Err(Problem::new(
            Rule::FieldPostal,
            Some(raw.to_owned()),
            format!("「{raw}」は郵便番号（半角 XXX-XXXX）ではありません"),
            format!("'{raw}' is not a postal code XXX-XXXX"),
        ))
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// A telephone number (no format is published; digits, hyphens and parentheses expected).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(pub String);

impl FieldValue for Phone {
    const FORMAT: Format = Format::Phone;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        if !raw.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '(' | ')')) {
            w.push(Problem::new(
                Rule::FieldPhone,
                Some(raw.to_owned()),
                format!("電話番号「{raw}」に数字・ハイフン・括弧以外の文字があります（全角文字は相手のソフトで読めないことがあります）"),
                "phone number has unexpected characters",
            ));
        }
        Ok(Phone(raw.to_owned()))
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// TAISコード `NNNNN-NNNNNN`. A full-width dash (as the spec prints it) is accepted with a
/// warning and written back as `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tais(String);

impl FieldValue for Tais {
    const FORMAT: Format = Format::Tais;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        let norm: String = raw.chars().map(|c| if matches!(c, '－' | '‐' | '−' | 'ー') { '-' } else { c }).collect();
        let ok = norm.len() == 12 && norm.as_bytes()[5] == b'-' && is_digits(&norm[..5]) && is_digits(&norm[6..]);
        if !ok {
            return Err(Problem::new(
                Rule::FieldTais,
                Some(raw.to_owned()),
                format!("「{raw}」はTAISコード（数字5桁-数字6桁）ではありません"),
                format!("'{raw}' is not a TAIS code NNNNN-NNNNNN"),
            ));
        }
        if norm != raw {
            w.push(Problem::new(
                Rule::FieldTaisFullwidth,
                Some(raw.to_owned()),
                "TAISコードのハイフンは半角「-」で書きます",
                "write the TAIS dash as ASCII '-'",
            ));
        }
        Ok(Tais(norm))
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// An alphanumeric code with no published format (福祉用具届出コード, 入力者コード).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Alnum(pub String);

impl FieldValue for Alnum {
    const FORMAT: Format = Format::Alnum;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        if raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            Ok(Alnum(raw.to_owned()))
        } else {
            Err(Problem::new(
                Rule::FieldCode12,
                Some(raw.to_owned()),
                format!("「{raw}」は半角英数字とハイフンで書きます"),
                "use ASCII letters, digits and hyphens",
            ))
        }
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// フリーテキスト.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text(pub String);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FieldValue for Text {
    const FORMAT: Format = Format::Text;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        Ok(Text(raw.to_owned()))
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// 識別子 (※使用しない). A value is dropped with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Unused;

impl FieldValue for Unused {
    const FORMAT: Format = Format::Unused;
    const OPTIONAL: bool = true;
    fn parse(raw: &str, w: &mut Vec<Problem>) -> Result<Self, Problem> {
        w.push(Problem::new(
            Rule::FieldUnused,
            Some(raw.to_owned()),
            "識別子は「使用しない」項目です。空にしてください",
            "the identifier is not used; leave it empty",
        ));
        Ok(Unused)
    }
    fn render(&self, _: &mut String) {}
    fn empty() -> Option<Self> {
        Some(Unused)
    }
}

/// UPKIHON No.62: the file name of a family-structure image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName(pub FileName);

impl FieldValue for ImageName {
    const FORMAT: Format = Format::ImageName;
    fn parse(raw: &str, _: &mut Vec<Problem>) -> Result<Self, Problem> {
        match name::parse(raw, name::Profile::LENIENT) {
            Ok(p) if p.name.kind == FileKind::UpKihonImage => Ok(ImageName(p.name)),
            Ok(_) => Err(Problem::new(
                Rule::FieldImageName,
                Some(raw.to_owned()),
                "家族構成画像のファイル名は UPKIHON_IMAGE_… で始まります",
                "the image name must start with UPKIHON_IMAGE_",
            )),
            Err(e) => Err(Problem::new(
                Rule::FieldImageName,
                Some(raw.to_owned()),
                format!("家族構成画像のファイル名が規則に合いません: {}", e.issues.first().map_or("", |i| i.problem.ja.as_str())),
                "the image name does not follow the UPKIHON_IMAGE rule",
            )),
        }
    }
    fn render(&self, out: &mut String) {
        out.push_str(&self.0.to_string());
    }
}

simple_display!(
    CsvVersion,
    Integer,
    Decimal,
    Text,
    Postal,
    ServiceCode,
    SummaryServiceCode,
    ServiceTime,
    DateOrZero,
    YearMonthOrZero,
    DayFlags
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn run<T: FieldValue>(raw: &str) -> (Option<T>, Vec<Rule>) {
        let col = Column::new(1, "テスト", 0, true, T::FORMAT);
        let mut sink = Vec::new();
        let v = parse_column::<T>(&RawField { value: Cow::Borrowed(raw), quoted: true }, &col, Family::V4, &mut sink);
        (v, sink.into_iter().map(|p| p.rule).collect())
    }

    #[test]
    fn formats() {
        assert_eq!(run::<Integer>("-120").0, Some(Integer(-120)));
        assert_eq!(run::<CsvVersion>("202504").0, Some(CsvVersion::V40));
        let (_, r) = run::<CsvVersion>("202410");
        assert_eq!(r, vec![Rule::FieldCsvVersion]);
        assert_eq!(run::<Integer>("1,200").1, vec![Rule::FieldInteger]);
        assert_eq!(run::<Decimal>("10.90").0, Some(Decimal(1090)));
        assert_eq!(run::<Decimal>("10.9").1, vec![Rule::FieldDecimal]);
        assert_eq!(run::<ServiceTime>("9999").0, Some(ServiceTime::NoTime));
        assert_eq!(run::<ServiceTime>("10:00").1, vec![Rule::FieldTime]);
        assert_eq!(run::<Postal>("1234567").1, vec![Rule::FieldPostalNoHyphen]);
        assert_eq!(run::<Tais>("00001－000010").1, vec![Rule::FieldTaisFullwidth]);
        assert_eq!(
            run::<SummaryServiceCode>("15AAAA").0,
            Some(SummaryServiceCode::Subtotal(ServiceKind::parse("15").unwrap(), Subtotal::Covered))
        );
        assert_eq!(run::<SummaryServiceCode>("999999").0, Some(SummaryServiceCode::Total));
        assert_eq!(run::<DayFlags>("1111100000000000000000000000000").0.unwrap().last_day(), Some(5));
        assert_eq!(run::<Date>("R070401").1, vec![Rule::FieldDate]);
        assert_eq!(run::<Code<crate::codes::CareLevel>>("6").1, vec![Rule::FieldCode]);
        assert!(run::<Option<Text>>("").0.unwrap().is_none());
        assert_eq!(run::<Text>("").1, vec![Rule::FieldRequired]);
    }

    #[test]
    fn length_and_quoting() {
        let col = Column::new(7, "性別", 1, false, Format::Text);
        let mut sink = Vec::new();
        let v = parse_column::<Option<Text>>(&RawField { value: Cow::Borrowed("12"), quoted: false }, &col, Family::V4, &mut sink);
        assert!(v.is_none());
        assert_eq!(sink[0].rule, Rule::FieldLength);
        let col = Column::new(6, "氏名", 0, false, Format::Text);
        let mut sink = Vec::new();
        parse_column::<Option<Text>>(&RawField { value: Cow::Borrowed("山田"), quoted: false }, &col, Family::V4, &mut sink);
        assert_eq!(sink[0].rule, Rule::FieldFreeTextUnquoted);
    }
}
