//! Diagnostics as data: severity, a stable rule id, where (file, line, record, column), the
//! Japanese item name, the offending value and a message in Japanese and English.
//!
//! Every check in this crate reports through [`Problem`] (what is wrong with one value) and the
//! validator turns problems into located [`Diagnostic`]s. Rule ids are part of the public
//! contract: vendors script against them, so an id never changes meaning once released.

use serde::Serialize;
use std::fmt;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file breaks the standard; a receiver may fail to import it.
    Error,
    /// Accepted by renkei, but another vendor's software may read it differently.
    Warning,
    /// Worth knowing; no action needed.
    Info,
}

impl Severity {
    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            Severity::Error => "エラー",
            Severity::Warning => "警告",
            Severity::Info => "情報",
        }
    }
    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

macro_rules! rules {
    ($( $(#[$m:meta])* $variant:ident = $id:literal, $sev:ident, $ja:literal, $en:literal; )*) => {
        /// A stable rule identifier. See [`Rule::ALL`] for the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Rule {
            $( $(#[$m])* #[doc = $ja] $variant, )*
        }

        impl Rule {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];

            /// The stable id, e.g. `name.office.check-digit`.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)* }
            }
            /// The severity this rule reports with unless a profile says otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$sev,)* }
            }
            /// One-line Japanese title.
            pub fn title_ja(self) -> &'static str {
                match self { $(Rule::$variant => $ja,)* }
            }
            /// One-line English title.
            pub fn title_en(self) -> &'static str {
                match self { $(Rule::$variant => $en,)* }
            }
            /// Looks a rule up by its id.
            pub fn from_id(id: &str) -> Option<Rule> {
                match id { $($id => Some(Rule::$variant),)* _ => None }
            }
        }
    };
}

rules! {
    // ---- encoding
    EncUndefinedByte = "enc.undefined-byte", Error, "MS932 で定義されていないバイト", "byte sequence not defined in MS932";
    EncGaiji = "enc.gaiji", Error, "外字（ユーザー定義文字）は使えません", "user-defined character (gaiji) is not allowed";
    EncUtf8 = "enc.utf8", Error, "ファイルが UTF-8 で保存されています", "file is UTF-8, not MS932";
    EncBom = "enc.bom", Warning, "先頭に UTF-8 の BOM があります", "stray UTF-8 byte order mark";
    EncUnmappable = "enc.unmappable", Error, "MS932 に変換できない文字", "character cannot be encoded in MS932";
    // ---- CSV syntax
    CsvUnterminatedQuote = "csv.unterminated-quote", Error, "引用符（\"）が閉じられていません", "quoted field is not closed";
    CsvTextAfterQuote = "csv.text-after-quote", Error, "閉じ引用符の後に文字があります", "characters after a closing quote";
    CsvQuoteInUnquoted = "csv.quote-in-unquoted", Warning, "引用符で囲まれていない項目に \" があります", "double quote inside an unquoted field";
    CsvLineEnding = "csv.line-ending", Info, "改行コードが CRLF ではありません", "line endings are not CRLF";
    CsvMixedLineEndings = "csv.mixed-line-endings", Warning, "改行コードが混在しています", "mixed line endings";
    CsvNoFinalNewline = "csv.no-final-newline", Info, "最終行に改行がありません", "last record has no line ending";
    CsvBlankLine = "csv.blank-line", Info, "空行を読み飛ばしました", "blank line skipped";
    CsvHeaderRow = "csv.header-row", Warning, "見出し行を読み飛ばしました（標準仕様に見出し行はありません）", "header row skipped (the standard defines none)";
    CsvEmpty = "csv.empty", Error, "データ行がありません", "file has no records";
    // ---- record and field
    RecColumnCount = "rec.column-count", Error, "項目数が違います", "wrong number of columns";
    FieldRequired = "field.required", Error, "必須項目が空です", "required item is empty";
    FieldLength = "field.length", Error, "桁数（項目長）を超えています", "value longer than the item length";
    FieldFreeTextUnquoted = "field.free-text-unquoted", Warning, "フリーテキストが \" で囲まれていません", "free text is not quoted";
    FieldCsvVersion = "field.csv-version", Error, "CSVバージョンが不正です", "unknown CSV version";
    FieldDate = "field.date", Error, "日付（YYYYMMDD）が不正です", "invalid date (YYYYMMDD)";
    FieldMonth = "field.month", Error, "年月（YYYYMM）が不正です", "invalid year-month (YYYYMM)";
    FieldTime = "field.time", Error, "時刻（HHMM）が不正です", "invalid time (HHMM)";
    FieldInteger = "field.integer", Error, "整数ではありません", "not an integer";
    FieldDecimal = "field.decimal", Error, "99.99 形式ではありません", "not in 99.99 form";
    FieldCode = "field.code", Error, "コード表にない値です", "value not in the code table";
    FieldOffice = "field.office", Error, "事業所番号の形式が不正です", "malformed office number";
    FieldOfficeCheckDigit = "field.office.check-digit", Error, "事業所番号の検証番号（チェックデジット）が合いません", "office number check digit does not match";
    FieldOfficeCheckDigitRegistered = "field.office.check-digit.registered", Warning, "事業所番号の検証番号が合いませんが、事業所台帳に登録された番号です", "office number check digit does not match, but the number is registered";
    FieldInsurer = "field.insurer", Error, "保険者番号の形式が不正です", "malformed insurer number";
    FieldInsurerCheckDigit = "field.insurer.check-digit", Error, "保険者番号の検証番号が合いません", "insurer number check digit does not match";
    FieldInsured = "field.insured", Error, "被保険者番号の形式が不正です", "malformed insured number";
    FieldServiceKind = "field.service-kind", Error, "サービス種類コードが不正です", "invalid service kind code";
    FieldServiceCode = "field.service-code", Error, "サービスコードが不正です", "invalid service code";
    FieldDayFlags = "field.day-flags", Error, "日割対象日（31桁の0/1）が不正です", "invalid per-day flags (31 × 0/1)";
    FieldPostal = "field.postal", Error, "郵便番号（XXX-XXXX）が不正です", "invalid postal code (XXX-XXXX)";
    FieldPostalNoHyphen = "field.postal.no-hyphen", Warning, "郵便番号にハイフンがありません", "postal code without hyphen";
    FieldPhone = "field.phone", Warning, "電話番号に数字・ハイフン・括弧以外の文字があります", "phone number has characters other than digits, hyphens and parentheses";
    FieldTais = "field.tais", Error, "TAISコード（NNNNN-NNNNNN）が不正です", "invalid TAIS code (NNNNN-NNNNNN)";
    FieldTaisFullwidth = "field.tais.fullwidth-dash", Warning, "TAISコードに全角のハイフンがあります", "TAIS code uses a full-width dash";
    FieldCode12 = "field.code12", Error, "福祉用具届出コードが不正です", "invalid equipment notification code";
    FieldUnused = "field.unused", Warning, "「使用しない」項目に値があります", "item marked 'not used' has a value";
    FieldFixedAll9 = "field.fixed-all9", Warning, "固定値 9999999999 ではありません", "not the fixed value 9999999999";
    FieldImageName = "field.image-name", Error, "家族構成画像ファイル名が規則に合いません", "family-structure image name does not follow the rule";
    // ---- file level
    FileCsvVersionMixed = "file.csv-version.mixed", Error, "1つのファイルに複数のCSVバージョンがあります", "more than one CSV version in one file";
    FileCsvVersionFamily = "file.csv-version.family", Error, "CSVバージョンとファイル名の形式（版）が合いません", "CSV version does not match the file-name family";
    FileCsvVersionOld40 = "file.csv-version.v40", Warning, "4.0 のCSVバージョン 202504 です（4.1 は 202407）", "CSV version 202504 is the 4.0 value (4.1 uses 202407)";
    FileMonthMismatch = "file.month-mismatch", Error, "レコードの年月がファイル名の年月と違います", "record month differs from the file name's month";
    FileDayOutsideMonth = "file.day-outside-month", Error, "サービス利用日が対象年月の日付ではありません", "service date is outside the service month";
    FileDayFlagsBeyondMonth = "file.day-flags-beyond-month", Error, "日割対象日に月の日数を超える日があります", "per-day flag set for a day the month does not have";
    FileOfficeMismatch = "file.office-mismatch", Error, "事業所番号がファイル名の事業所と合いません", "office number differs from the file name";
    FileOfficeMismatchSoft = "file.office-mismatch.soft", Warning, "事業所番号がファイル名の事業所と違います", "office number differs from the file name (may be intended)";
    FileUnrelatedUser = "file.unrelated-user", Error, "送信先の事業所と関係のない利用者が含まれています", "user unrelated to the destination office";
    FileHosokuDate = "file.hosoku-date", Error, "利用者補足情報の作成（変更）日と対象年月の組み合わせが不正です", "supplement plan date and target month do not fit together";
    FileSikyuTotal = "file.sikyu-total", Error, "第7表の全合計行（999999）が正しくありません", "第7表 grand-total line (999999) missing or malformed";
    RecEquipmentCode = "rec.equipment-code", Error, "福祉用具貸与の行に TAISコードも福祉用具届出コードもありません", "a welfare-equipment rental line has neither a TAIS code nor a notification code";
    SikyuUnitAmount = "sikyu.unit-amount", Error, "第7表のサービス単位／金額が 単位数 × 回数 になりません", "第7表 unit amount is not units × count";
    SikyuKindSubtotal = "sikyu.kind-subtotal", Error, "第7表の種類別小計が明細の合計と合いません", "第7表 kind subtotal differs from the sum of its detail lines";
    SikyuKindSubtotalMissing = "sikyu.kind-subtotal.missing", Error, "第7表に必要な種類別小計の行がありません", "第7表 kind subtotal line missing";
    SikyuLimitSplit = "sikyu.limit-split", Error, "第7表の区分支給限度基準内・超の単位数の和が合いません", "第7表 within-limit plus over-limit units do not add up";
    SikyuCost = "sikyu.cost", Error, "第7表の費用総額が 基準内単位数 × 単位数単価 になりません", "第7表 total cost is not within-limit units × unit price";
    SikyuBenefit = "sikyu.benefit", Error, "第7表の保険／事業費請求額が 費用総額 × 給付率 になりません", "第7表 claim is not total cost × benefit rate";
    SikyuCopay = "sikyu.copay", Error, "第7表の利用者負担額が 費用総額 − 請求額 になりません", "第7表 user's share is not total cost − claim";
    SikyuCopayFull = "sikyu.copay-full", Error, "第7表の全額負担分が 基準超単位数 × 単位数単価 になりません", "第7表 full-pay share is not over-limit units × unit price";
    SikyuTotal = "sikyu.total", Error, "第7表の全合計行が各行の合計と合いません", "第7表 grand total differs from the sum of the lines";
    RecDateOrder = "rec.date-order", Warning, "日付の前後関係がおかしいです", "dates in the wrong order";
    FileServiceKindMismatch = "file.service-kind-mismatch", Warning, "サービスコードの種類がファイル名のサービス種類と違います", "service code kind differs from the file name's service kind";
    FileDuplicateKey = "file.duplicate-key", Warning, "同じキーのレコードが重複しています", "duplicate record key";
    FileNotJpeg = "file.not-jpeg", Error, "JPEG 画像ではありません", "not a JPEG image";
    FileUnreadable = "file.unreadable", Error, "ファイルを読めません", "file cannot be read";
    FileNotStandard = "file.not-standard", Info, "標準仕様のファイルではありません（添付ファイルとして扱います）", "not a standard file (treated as an attachment)";
    // ---- file names
    NameExtension = "name.extension", Error, "拡張子が不正です", "wrong file extension";
    NameExtensionCase = "name.extension.case", Warning, "拡張子は大文字の .CSV です", "extension should be upper-case .CSV";
    NamePrefix = "name.prefix", Error, "ファイル種別（接頭辞）が不正です", "unknown file kind prefix";
    NamePrefixCase = "name.prefix.case", Error, "ファイル種別（接頭辞）は大文字です", "prefix must be upper-case";
    NameShape = "name.shape", Error, "ファイル名の区切り（_）の数・並びが違います", "file name has the wrong number or order of parts";
    NameV4Only = "name.v4-only", Error, "このファイル種別は 4.0 以降の形式（サービス種類コード付き）だけです", "this file kind exists only in the v4 name form";
    NameMonth = "name.month", Error, "ファイル名の年月が不正です", "invalid month in the file name";
    NameOffice = "name.office", Error, "ファイル名の事業所番号が不正です", "malformed office number in the file name";
    NameOfficeCheckDigit = "name.office.check-digit", Error, "ファイル名の事業所番号の検証番号が合いません", "office number check digit does not match";
    NameOfficeCheckDigitRegistered = "name.office.check-digit.registered", Warning, "ファイル名の事業所番号の検証番号が合いませんが、事業所台帳に登録された番号です", "office number check digit does not match, but the number is registered";
    NameServiceKind = "name.service-kind", Error, "ファイル名のサービス種類コードが不正です", "invalid service kind in the file name";
    NameServiceKindUnknown = "name.service-kind.unknown", Warning, "知られていないサービス種類コードです", "unknown service kind";
    NameServiceKindOutOfScope = "name.service-kind.out-of-scope", Warning, "ケアプランデータ連携の対象外のサービス種類です", "service kind outside the data-exchange scope";
    NameSeq = "name.seq", Error, "ファイル連番（YYYYMMDDHHMMSS）が不正です", "invalid file sequence (YYYYMMDDHHMMSS)";
    NameBranch = "name.branch", Error, "画像の枝番（4桁）が不正です", "invalid image branch number (4 digits)";
    NameSameOffice = "name.same-office", Error, "送信元と送信先が同じです", "sender and receiver are the same";
    NameSameOfficeNumber = "name.same-office-number", Warning, "送信元と送信先の事業所番号が同じです", "sender and receiver share one office number";
    NameDirection = "name.direction", Warning, "送信の向きが標準仕様と違います", "unusual direction for this file kind";
    // ---- send units
    UnitMissingFile = "unit.missing-file", Error, "送信単位に必要なファイルがありません", "a file the send unit requires is missing";
    UnitMissingSatellite = "unit.missing-satellite", Warning, "別表ファイルがありません", "a satellite (別表) file is missing";
    UnitOrphan = "unit.orphan", Error, "組になる親ファイルがありません", "file has no parent file in its send unit";
    UnitDeletionNotAlone = "unit.deletion-not-alone", Error, "削除ファイルは単独で送ります", "a deletion file must be sent alone";
    UnitIncompatible = "unit.incompatible", Error, "同じ送信単位にできないファイルの組み合わせです", "files cannot share one send unit";
    UnitDuplicateKind = "unit.duplicate-kind", Error, "同じ種類のファイルが送信単位に2つあります", "two files of one kind in a send unit";
    UnitMonthMismatch = "unit.month-mismatch", Error, "送信単位内で年月が違います", "months differ within the send unit";
    UnitUnlinkedRecord = "unit.unlinked-record", Error, "対応する親レコードがありません", "record has no matching parent record";
    UnitImageMissing = "unit.image-missing", Error, "利用者基本情報が参照する画像ファイルがありません", "image named by 利用者基本情報 is missing";
    UnitImageUnreferenced = "unit.image-unreferenced", Warning, "どの利用者基本情報からも参照されていない画像です", "image not referenced by any 利用者基本情報 record";
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// What is wrong with one value, before it is located in a file.
///
/// This is the error type of every low-level parser in the crate; it keeps the bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The rule broken.
    pub rule: Rule,
    /// Severity (normally the rule's default).
    pub severity: Severity,
    /// The offending value, when there is one.
    pub value: Option<String>,
    /// Message in Japanese.
    pub ja: String,
    /// Message in English.
    pub en: String,
}

impl Problem {
    /// A problem with the rule's default severity.
    pub fn new(rule: Rule, value: impl Into<Option<String>>, ja: impl Into<String>, en: impl Into<String>) -> Self {
        Problem { rule, severity: rule.default_severity(), value: value.into(), ja: ja.into(), en: en.into() }
    }
    /// The same problem with another severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.rule.id(), self.ja)
    }
}

impl std::error::Error for Problem {}

/// A located finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// Stable rule id.
    pub rule: Rule,
    /// File name (no directory), or `None` for findings about a whole send unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Physical line (1-based) where the record starts, or of the bad byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Record number (1-based data record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u32>,
    /// Column number (項目 No., 1-based) in the layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u16>,
    /// Japanese item name (日本語項目名) or file-name token name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The offending value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Message in Japanese.
    pub message: String,
    /// Message in English.
    pub message_en: String,
}

impl Diagnostic {
    /// Locates a problem in a file.
    pub fn from_problem(p: Problem, file: Option<&str>) -> Self {
        Diagnostic {
            severity: p.severity,
            rule: p.rule,
            file: file.map(str::to_owned),
            line: None,
            record: None,
            column: None,
            item: None,
            value: p.value,
            message: p.ja,
            message_en: p.en,
        }
    }
    /// Sets the line.
    pub fn at_line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }
    /// Sets the record number and its line.
    pub fn at_record(mut self, record: u32, line: u32) -> Self {
        self.record = Some(record);
        self.line = Some(line);
        self
    }
    /// Sets the column and item name.
    pub fn at_column(mut self, column: u16, item: &str) -> Self {
        self.column = Some(column);
        self.item = Some(item.to_owned());
        self
    }
    /// Sets the item name only (for file-name tokens).
    pub fn with_item(mut self, item: &str) -> Self {
        self.item = Some(item.to_owned());
        self
    }
    /// The message in the requested language.
    pub fn message_in(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.message,
            Lang::En => &self.message_en,
        }
    }
}

/// Output language of user-facing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 日本語 (default).
    #[default]
    Ja,
    /// English.
    En,
}

/// Counts of findings by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Infos.
    pub infos: usize,
}

impl Tally {
    /// Counts a list of diagnostics.
    pub fn of<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> Tally {
        let mut t = Tally::default();
        for d in diags {
            match d.severity {
                Severity::Error => t.errors += 1,
                Severity::Warning => t.warnings += 1,
                Severity::Info => t.infos += 1,
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rule_ids_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for r in Rule::ALL {
            assert!(seen.insert(r.id()), "duplicate id {}", r.id());
            assert_eq!(Rule::from_id(r.id()), Some(*r));
            assert!(!r.title_ja().is_empty() && !r.title_en().is_empty());
        }
    }
}
