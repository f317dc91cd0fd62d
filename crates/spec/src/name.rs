//! File names of the standard (`filename-grammar.md`): parse every kind of the v4 and v3
//! families into a typed [`FileName`], and write one back.
//!
//! The parser reports *every* bad token, each naming the token (e.g. 送信先事業所番号) and what is
//! wrong with it, instead of a bare "does not match".

use crate::calendar::{FileSeq, YearMonth};
use crate::diag::{Problem, Rule, Severity};
use crate::ids::{KindScope, OfficeNumber, ServiceKind};
use std::fmt;
use std::str::FromStr;

/// The 18 file kinds of §3 of the standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// 利用者補足情報
    UpHosoku,
    /// 居宅サービス計画1表
    Up1Kyo,
    /// 居宅サービス計画1表_削除
    Dlt1Kyo,
    /// 居宅サービス計画2表
    Up2Kyo,
    /// 居宅サービス計画3表 (v4)
    Up3Kyo,
    /// 第6表 予定
    UpPlan,
    /// 第6表 予定 削除
    DltPlan,
    /// 第6表 実績
    UpJsk,
    /// 第6表 実績 削除
    DltJsk,
    /// 第7表 (サービス利用票別表)
    UpSikyu,
    /// 利用者基本情報 (v4)
    UpKihon,
    /// 利用者基本情報_削除 (v4)
    DltKihon,
    /// 利用者基本情報 別表1 (v4)
    UpKihonSub1,
    /// 利用者基本情報 別表2 (v4)
    UpKihonSub2,
    /// 家族構成 画像 (JPEG, v4)
    UpKihonImage,
    /// 介護予防サービス・支援計画書 (v4)
    UpYobo,
    /// 介護予防サービス・支援計画書 別表 (v4)
    UpYoboSub,
    /// 介護予防サービス・支援計画書_削除 (v4)
    DltYobo,
}

impl FileKind {
    /// All kinds in catalogue order.
    pub const ALL: [FileKind; 18] = [
        FileKind::UpHosoku,
        FileKind::Up1Kyo,
        FileKind::Dlt1Kyo,
        FileKind::Up2Kyo,
        FileKind::Up3Kyo,
        FileKind::UpPlan,
        FileKind::DltPlan,
        FileKind::UpJsk,
        FileKind::DltJsk,
        FileKind::UpSikyu,
        FileKind::UpKihon,
        FileKind::DltKihon,
        FileKind::UpKihonSub1,
        FileKind::UpKihonSub2,
        FileKind::UpKihonImage,
        FileKind::UpYobo,
        FileKind::UpYoboSub,
        FileKind::DltYobo,
    ];

    /// The file-name prefix.
    pub fn prefix(self) -> &'static str {
        use FileKind::*;
        match self {
            UpHosoku => "UPHOSOKU",
            Up1Kyo => "UP1KYO",
            Dlt1Kyo => "DLT1KYO",
            Up2Kyo => "UP2KYO",
            Up3Kyo => "UP3KYO",
            UpPlan => "UPPLAN",
            DltPlan => "DLTPLAN",
            UpJsk => "UPJSK",
            DltJsk => "DLTJSK",
            UpSikyu => "UPSIKYU",
            UpKihon => "UPKIHON",
            DltKihon => "DLTKIHON",
            UpKihonSub1 => "UPKIHON_SUB1",
            UpKihonSub2 => "UPKIHON_SUB2",
            UpKihonImage => "UPKIHON_IMAGE",
            UpYobo => "UPYOBO",
            UpYoboSub => "UPYOBO_SUB",
            DltYobo => "DLTYOBO",
        }
    }

    /// Japanese name as printed in the standard.
    pub fn name_ja(self) -> &'static str {
        use FileKind::*;
        match self {
            UpHosoku => "利用者補足情報",
            Up1Kyo => "居宅サービス計画1表",
            Dlt1Kyo => "居宅サービス計画1表_削除",
            Up2Kyo => "居宅サービス計画2表",
            Up3Kyo => "居宅サービス計画3表",
            UpPlan => "第6表（サービス利用票）予定",
            DltPlan => "第6表 予定 削除",
            UpJsk => "第6表 実績情報",
            DltJsk => "第6表 実績情報 削除",
            UpSikyu => "第7表（サービス利用票別表）",
            UpKihon => "利用者基本情報",
            DltKihon => "利用者基本情報_削除",
            UpKihonSub1 => "利用者基本情報（別表1）",
            UpKihonSub2 => "利用者基本情報（別表2）",
            UpKihonImage => "家族構成 画像ファイル",
            UpYobo => "介護予防サービス・支援計画書",
            UpYoboSub => "介護予防サービス・支援計画書（別表）",
            DltYobo => "介護予防サービス・支援計画書_削除",
        }
    }

    /// `true` when the name carries a service month (YYYYMM).
    pub fn has_month(self) -> bool {
        use FileKind::*;
        matches!(self, UpHosoku | UpPlan | DltPlan | UpJsk | DltJsk | UpSikyu)
    }
    /// `true` for deletion files.
    pub fn is_deletion(self) -> bool {
        use FileKind::*;
        matches!(self, Dlt1Kyo | DltPlan | DltJsk | DltKihon | DltYobo)
    }
    /// `true` when the kind exists only in the v4 family.
    pub fn v4_only(self) -> bool {
        use FileKind::*;
        matches!(self, Up3Kyo | UpKihon | DltKihon | UpKihonSub1 | UpKihonSub2 | UpKihonImage | UpYobo | UpYoboSub | DltYobo)
    }
    /// `true` for CSV kinds (all but the image).
    pub fn is_csv(self) -> bool {
        self != FileKind::UpKihonImage
    }
    /// `true` when the provider sends it to the care manager (実績 and its deletion).
    pub fn is_provider_to_care_manager(self) -> bool {
        matches!(self, FileKind::UpJsk | FileKind::DltJsk)
    }
    /// Looks a kind up by its exact prefix.
    pub fn from_prefix(p: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.prefix() == p)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// Name family: v4 (4.0/4.1, with service kinds) or v3 (202208 and earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Family {
    /// 202208 and earlier: no service kind tokens.
    V3,
    /// 4.0/4.1: each office number followed by its サービス種類コード.
    V4,
}

/// The month token of a name: a service month, or `000000` (UPHOSOKU bundled with 1/2/3表).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameMonth {
    /// `000000`.
    Zero,
    /// A service month.
    Month(YearMonth),
}

impl fmt::Display for NameMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameMonth::Zero => f.write_str("000000"),
            NameMonth::Month(m) => m.fmt(f),
        }
    }
}

/// One end of a transfer: office number, and in v4 its service kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Party {
    /// 事業所番号.
    pub office: OfficeNumber,
    /// サービス種類コード (v4 only).
    pub kind: Option<ServiceKind>,
}

/// Extension spelling. `.CSV` is the spec's; `.csv` is accepted on read (with a warning) and
/// kept so that a parsed name writes back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Extension {
    /// `.CSV`
    Csv,
    /// `.csv` (lenient read only)
    CsvLower,
    /// `.jpg` (rule text)
    Jpg,
    /// `.JPG` (spec example)
    JpgUpper,
}

impl Extension {
    fn as_str(self) -> &'static str {
        match self {
            Extension::Csv => "CSV",
            Extension::CsvLower => "csv",
            Extension::Jpg => "jpg",
            Extension::JpgUpper => "JPG",
        }
    }
}

/// A parsed, valid file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileName {
    /// File kind.
    pub kind: FileKind,
    /// Name family.
    pub family: Family,
    /// Month token, for kinds that have one.
    pub month: Option<NameMonth>,
    /// 送信元.
    pub sender: Party,
    /// 送信先.
    pub receiver: Party,
    /// ファイル連番.
    pub seq: FileSeq,
    /// 枝番 of an image (1–9999).
    pub branch: Option<u16>,
    /// Extension spelling.
    pub ext: Extension,
}

impl FileName {
    /// A v4 name as renkei emits it (upper-case `.CSV`, `.jpg` for images).
    pub fn v4(
        kind: FileKind,
        month: Option<NameMonth>,
        sender: (OfficeNumber, ServiceKind),
        receiver: (OfficeNumber, ServiceKind),
        seq: FileSeq,
    ) -> FileName {
        FileName {
            kind,
            family: Family::V4,
            month,
            sender: Party { office: sender.0, kind: Some(sender.1) },
            receiver: Party { office: receiver.0, kind: Some(receiver.1) },
            seq,
            branch: None,
            ext: if kind.is_csv() { Extension::Csv } else { Extension::Jpg },
        }
    }

    /// The part shared by all files of a send unit: `OFF_SV_OFF_SV_TS` (v4) or `OFF_OFF_TS` (v3).
    pub fn tail(&self) -> String {
        let mut s = String::new();
        for p in [&self.sender, &self.receiver] {
            s.push_str(p.office.as_str());
            s.push('_');
            if let Some(k) = p.kind {
                s.push_str(k.as_str());
                s.push('_');
            }
        }
        s.push_str(&self.seq.to_string());
        s
    }

    /// The service month, when the name has a real one.
    pub fn service_month(&self) -> Option<YearMonth> {
        match self.month {
            Some(NameMonth::Month(m)) => Some(m),
            _ => None,
        }
    }

    /// Parses strictly (upper-case `.CSV` only).
    pub fn parse(s: &str) -> Result<FileName, NameError> {
        parse(s, Profile::STRICT).map(|p| p.name)
    }
}

impl FromStr for FileName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FileName::parse(s)
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.prefix())?;
        if let Some(m) = self.month {
            write!(f, "_{m}")?;
        }
        write!(f, "_{}", self.tail())?;
        if let Some(b) = self.branch {
            write!(f, "_{b:04}")?;
        }
        write!(f, ".{}", self.ext.as_str())
    }
}

/// Parsing profile. Lenient on input, strict on output: renkei reads with [`Profile::LENIENT`]
/// and only ever writes names that parse under [`Profile::STRICT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Accept `.csv` (with a warning) instead of rejecting it.
    pub lenient_extension: bool,
    /// Verify 事業所番号 check digits (turn off only to test the lexical grammar).
    pub check_digits: bool,
}

impl Profile {
    /// The spec as printed.
    pub const STRICT: Profile = Profile { lenient_extension: false, check_digits: true };
    /// What renkei accepts from others.
    pub const LENIENT: Profile = Profile { lenient_extension: true, check_digits: true };
}

/// A name that parsed, with any warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The value.
    pub name: FileName,
    /// Warnings (never errors).
    pub warnings: Vec<NameIssue>,
}

/// One finding about a name, tied to a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameIssue {
    /// Token name in Japanese (送信元事業所番号, 拡張子, …).
    pub token: &'static str,
    /// What is wrong.
    pub problem: Problem,
}

/// A name that did not parse: every issue found (errors and warnings), and the kind when the
/// prefix was recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    /// The input.
    pub input: String,
    /// The kind, if the prefix was recognised.
    pub kind: Option<FileKind>,
    /// Every issue, errors first in token order.
    pub issues: Vec<NameIssue>,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.input)?;
        for (i, e) in self.issues.iter().filter(|i| i.problem.severity == Severity::Error).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.token, e.problem.ja)?;
        }
        Ok(())
    }
}

impl std::error::Error for NameError {}

const T_PREFIX: &str = "ファイル種別（接頭辞）";
const T_MONTH: &str = "提供年月";
const T_SENDER: &str = "送信元事業所番号";
const T_SENDER_KIND: &str = "送信元サービス種類コード";
const T_RECEIVER: &str = "送信先事業所番号";
const T_RECEIVER_KIND: &str = "送信先サービス種類コード";
const T_SEQ: &str = "ファイル連番";
const T_BRANCH: &str = "枝番";
const T_EXT: &str = "拡張子";
const T_WHOLE: &str = "ファイル名";

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Month,
    Office(bool),
    Kind(bool),
    Seq,
    Branch,
}

fn shape(kind: FileKind, family: Family) -> Vec<Tok> {
    let mut v = Vec::new();
    if kind.has_month() {
        v.push(Tok::Month);
    }
    for sender in [true, false] {
        v.push(Tok::Office(sender));
        if family == Family::V4 {
            v.push(Tok::Kind(sender));
        }
    }
    v.push(Tok::Seq);
    if kind == FileKind::UpKihonImage {
        v.push(Tok::Branch);
    }
    v
}

fn template(kind: FileKind, family: Family) -> String {
    let mut s = kind.prefix().to_owned();
    for t in shape(kind, family) {
        s.push('_');
        s.push_str(match t {
            Tok::Month => "YYYYMM",
            Tok::Office(_) => "事業所番号10桁",
            Tok::Kind(_) => "種類2桁",
            Tok::Seq => "YYYYMMDDHHMMSS",
            Tok::Branch => "枝番4桁",
        });
    }
    s.push_str(if kind.is_csv() { ".CSV" } else { ".jpg" });
    s
}

fn issue(token: &'static str, problem: Problem) -> NameIssue {
    NameIssue { token, problem }
}

/// Parses a bare file name (no directory part) under a profile.
pub fn parse(input: &str, profile: Profile) -> Result<Parsed, NameError> {
    let mut issues = Vec::new();
    let fail = |kind, issues| Err(NameError { input: input.to_owned(), kind, issues });

    // Extension.
    let Some((stem, ext)) = input.rsplit_once('.') else {
        issues.push(issue(T_EXT, Problem::new(Rule::NameExtension, None, "拡張子（.CSV）がありません", "no extension (.CSV)")));
        return fail(None, issues);
    };

    // Prefix: longest known prefix, compared case-insensitively so that a lower-case prefix gets
    // its own message.
    let upper = stem.to_ascii_uppercase();
    let mut by_len: Vec<FileKind> = FileKind::ALL.to_vec();
    by_len.sort_by_key(|k| std::cmp::Reverse(k.prefix().len()));
    let Some(kind) = by_len.into_iter().find(|k| upper.starts_with(&format!("{}_", k.prefix()))) else {
        let head = stem.split('_').next().unwrap_or(stem);
        issues.push(issue(
            T_PREFIX,
            Problem::new(
                Rule::NamePrefix,
                Some(head.to_owned()),
                format!("「{head}」は標準仕様のファイル種別ではありません（UPPLAN, UPJSK, UP1KYO など）"),
                format!("'{head}' is not a file kind of the standard (UPPLAN, UPJSK, UP1KYO, ...)"),
            ),
        ));
        return fail(None, issues);
    };
    let plen = kind.prefix().len();
    if &stem[..plen] != kind.prefix() {
        issues.push(issue(
            T_PREFIX,
            Problem::new(
                Rule::NamePrefixCase,
                Some(stem[..plen].to_owned()),
                format!("ファイル種別は大文字で「{}」と書きます", kind.prefix()),
                format!("write the prefix in upper case: {}", kind.prefix()),
            ),
        ));
    }
    let rest = &stem[plen + 1..];
    let tokens: Vec<&str> = rest.split('_').collect();

    // A word right after the prefix (UPYOBO_SUB1_…) means an unknown kind, not a bad office.
    if tokens.first().is_some_and(|t| t.starts_with(|c: char| c.is_ascii_alphabetic())) {
        let word = format!("{}_{}", &stem[..plen], tokens[0]);
        issues.push(issue(
            T_PREFIX,
            Problem::new(
                Rule::NamePrefix,
                Some(word.clone()),
                format!("「{word}」は標準仕様のファイル種別ではありません"),
                format!("'{word}' is not a file kind of the standard"),
            ),
        ));
        return fail(Some(kind), issues);
    }

    // Extension per kind.
    let ext_v = if kind.is_csv() {
        match ext {
            "CSV" => Some(Extension::Csv),
            "csv" => {
                let p = Problem::new(
                    Rule::NameExtensionCase,
                    Some(ext.to_owned()),
                    "拡張子は大文字の「.CSV」です（小文字の .csv も受け付けます）",
                    "the extension is upper-case .CSV (.csv accepted)",
                );
                issues.push(issue(T_EXT, if profile.lenient_extension { p } else { p.with_severity(Severity::Error) }));
                Some(Extension::CsvLower)
            }
            _ => {
                issues.push(issue(
                    T_EXT,
                    Problem::new(
                        Rule::NameExtension,
                        Some(ext.to_owned()),
                        format!("拡張子は「.CSV」です（「.{ext}」になっています）"),
                        format!("the extension must be .CSV, not .{ext}"),
                    ),
                ));
                None
            }
        }
    } else {
        match ext {
            "jpg" => Some(Extension::Jpg),
            "JPG" => Some(Extension::JpgUpper),
            _ => {
                issues.push(issue(
                    T_EXT,
                    Problem::new(
                        Rule::NameExtension,
                        Some(ext.to_owned()),
                        format!("家族構成画像の拡張子は「.jpg」です（「.{ext}」になっています）"),
                        format!("the image extension must be .jpg, not .{ext}"),
                    ),
                ));
                None
            }
        }
    };

    // Family by token count.
    let v4 = shape(kind, Family::V4);
    let v3 = shape(kind, Family::V3);
    let family = if tokens.len() == v4.len() {
        Family::V4
    } else if tokens.len() == v3.len() {
        if kind.v4_only() {
            issues.push(issue(
                T_WHOLE,
                Problem::new(
                    Rule::NameV4Only,
                    Some(input.to_owned()),
                    format!(
                        "{}（{}）は 4.0 以降の形式だけです。各事業所番号の後にサービス種類コードを付けてください: {}",
                        kind.name_ja(),
                        kind.prefix(),
                        template(kind, Family::V4)
                    ),
                    format!("{} exists only in the v4 form: {}", kind.prefix(), template(kind, Family::V4)),
                ),
            ));
            return fail(Some(kind), issues);
        }
        Family::V3
    } else {
        let first = tokens.first().copied().unwrap_or("");
        let (ja, en) = if kind.has_month() && (tokens.len() + 1 == v4.len() || tokens.len() + 1 == v3.len()) && first.len() == 10 {
            (
                format!("{}の名前には提供年月（YYYYMM）が必要です", kind.name_ja()),
                "this kind needs a service month (YYYYMM) after the prefix".to_owned(),
            )
        } else if !kind.has_month() && (tokens.len() == v4.len() + 1 || tokens.len() == v3.len() + 1) && first.len() == 6 {
            (format!("{}の名前に年月は入りません", kind.name_ja()), "this kind has no month in its name".to_owned())
        } else if kind == FileKind::UpKihonImage && tokens.len() + 1 == v4.len() {
            ("家族構成画像の名前の最後に枝番（4桁）が必要です".to_owned(), "an image name ends with a 4-digit branch number".to_owned())
        } else {
            (
                format!("区切り（_）で分けた部分の数が合いません。形式: {}", template(kind, Family::V4)),
                format!("wrong number of parts; expected {}", template(kind, Family::V4)),
            )
        };
        issues.push(issue(T_WHOLE, Problem::new(Rule::NameShape, Some(input.to_owned()), ja, en)));
        return fail(Some(kind), issues);
    };

    // Tokens.
    let mut month = None;
    let mut offices: [Option<OfficeNumber>; 2] = [None, None];
    let mut kinds: [Option<ServiceKind>; 2] = [None, None];
    let mut seq = None;
    let mut branch = None;
    for (tok, text) in shape(kind, family).into_iter().zip(tokens.iter().copied()) {
        match tok {
            Tok::Month => {
                if text == "000000" {
                    if kind == FileKind::UpHosoku {
                        month = Some(NameMonth::Zero);
                    } else {
                        issues.push(issue(
                            T_MONTH,
                            Problem::new(
                                Rule::NameMonth,
                                Some(text.to_owned()),
                                "「000000」を使えるのは利用者補足情報（UPHOSOKU）だけです",
                                "only UPHOSOKU may use 000000",
                            ),
                        ));
                    }
                } else if let Some(m) = YearMonth::parse(text) {
                    month = Some(NameMonth::Month(m));
                } else {
                    issues.push(issue(
                        T_MONTH,
                        Problem::new(
                            Rule::NameMonth,
                            Some(text.to_owned()),
                            format!("提供年月「{text}」は YYYYMM（月は01〜12）ではありません"),
                            format!("'{text}' is not a YYYYMM month"),
                        ),
                    ));
                }
            }
            Tok::Office(sender) => {
                let token = if sender { T_SENDER } else { T_RECEIVER };
                let r = if profile.check_digits {
                    OfficeNumber::parse(text, true)
                } else {
                    // Lexical check only: `\d{2}[0-9A-Z]\d{7}`.
                    let b = text.as_bytes();
                    let ok = b.len() == 10 && b.iter().enumerate().all(|(i, c)| c.is_ascii_digit() || (i == 2 && c.is_ascii_uppercase()));
                    if ok { Ok(OfficeNumber::unchecked(text)) } else { OfficeNumber::parse(text, true) }
                };
                match r {
                    Ok(o) => offices[usize::from(!sender)] = Some(o),
                    Err(p) => issues.push(issue(token, p)),
                }
            }
            Tok::Kind(sender) => {
                let token = if sender { T_SENDER_KIND } else { T_RECEIVER_KIND };
                match ServiceKind::parse(text) {
                    Ok(k) => {
                        match k.known() {
                            None => issues.push(issue(
                                token,
                                Problem::new(
                                    Rule::NameServiceKindUnknown,
                                    Some(text.to_owned()),
                                    format!("サービス種類コード「{text}」は標準仕様の一覧にありません"),
                                    format!("service kind '{text}' is not in the standard's list"),
                                ),
                            )),
                            Some((name, KindScope::OutOfScope)) => issues.push(issue(
                                token,
                                Problem::new(
                                    Rule::NameServiceKindOutOfScope,
                                    Some(text.to_owned()),
                                    format!("「{text}」（{name}）はケアプランデータ連携の対象外のサービスです"),
                                    format!("'{text}' is outside the exchange's scope"),
                                ),
                            )),
                            Some(_) => {}
                        }
                        kinds[usize::from(!sender)] = Some(k);
                    }
                    Err(mut p) => {
                        p.rule = Rule::NameServiceKind;
                        issues.push(issue(token, p));
                    }
                }
            }
            Tok::Seq => match FileSeq::parse(text) {
                Some(s) => seq = Some(s),
                None => {
                    let why = if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
                        format!("数字14桁（YYYYMMDDHHMMSS）です（{}桁あります）", text.chars().count())
                    } else {
                        "存在しない日時です".to_owned()
                    };
                    issues.push(issue(
                        T_SEQ,
                        Problem::new(
                            Rule::NameSeq,
                            Some(text.to_owned()),
                            format!("ファイル連番「{text}」が不正です: {why}"),
                            format!("file sequence '{text}' is not a valid YYYYMMDDHHMMSS"),
                        ),
                    ));
                }
            },
            Tok::Branch => match text.parse::<u16>() {
                Ok(b) if text.len() == 4 && text.bytes().all(|c| c.is_ascii_digit()) && b > 0 => branch = Some(b),
                _ => issues.push(issue(
                    T_BRANCH,
                    Problem::new(
                        Rule::NameBranch,
                        Some(text.to_owned()),
                        format!("枝番「{text}」は数字4桁（0001〜9999）です"),
                        "the branch number is 4 digits, 0001-9999",
                    ),
                )),
            },
        }
    }

    // Semantic checks on a lexically complete name.
    if let (Some(s), Some(r)) = (&offices[0], &offices[1])
        && s == r
    {
        if family == Family::V3 || kinds[0] == kinds[1] {
            issues.push(issue(
                T_RECEIVER,
                Problem::new(
                    Rule::NameSameOffice,
                    Some(r.to_string()),
                    "送信元と送信先が同じ事業所です",
                    "sender and receiver are the same office",
                ),
            ));
        } else {
            issues.push(issue(
                T_RECEIVER,
                Problem::new(
                    Rule::NameSameOfficeNumber,
                    Some(r.to_string()),
                    "送信元と送信先の事業所番号が同じです（サービス種類は異なります）。国の連携システムではエラーになることがあります",
                    "sender and receiver share one office number (different service kinds); the national system may reject this",
                ),
            ));
        }
    }
    if let (Some(sk), Some(rk)) = (kinds[0], kinds[1]) {
        let s_cm = sk.is_care_management();
        let r_cm = rk.is_care_management();
        if kind.is_provider_to_care_manager() {
            if s_cm && !r_cm {
                issues.push(issue(
                    T_SENDER_KIND,
                    Problem::new(
                        Rule::NameDirection,
                        Some(sk.to_string()),
                        format!("{}はサービス事業所から居宅介護支援事業所等へ送るファイルですが、送信元が{}です", kind.name_ja(), sk),
                        "actual-service files go from the provider to the care manager",
                    ),
                ));
            }
        } else if !s_cm {
            issues.push(issue(
                T_SENDER_KIND,
                Problem::new(
                    Rule::NameDirection,
                    Some(sk.to_string()),
                    format!(
                        "{}は居宅介護支援事業所・地域包括支援センター等から送るファイルですが、送信元のサービス種類が{}です",
                        kind.name_ja(),
                        sk
                    ),
                    "plan files go from the care manager to the provider",
                ),
            ));
        }
    }

    let has_error = issues.iter().any(|i| i.problem.severity == Severity::Error);
    match (has_error, month, offices, seq, ext_v) {
        (false, m, [Some(so), Some(ro)], Some(seq), Some(ext)) if m.is_some() == kind.has_month() => Ok(Parsed {
            name: FileName {
                kind,
                family,
                month: m,
                sender: Party { office: so, kind: kinds[0] },
                receiver: Party { office: ro, kind: kinds[1] },
                seq,
                branch,
                ext,
            },
            warnings: issues,
        }),
        _ => fail(Some(kind), issues),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEX: Profile = Profile { lenient_extension: false, check_digits: false };

    #[test]
    fn grammar_vectors_v4_valid() {
        for n in [
            "UPPLAN_202505_2725060001_43_2725060002_15_20250317182009.CSV",
            "UPHOSOKU_000000_0300000100_43_0300000005_11_20191025200201.CSV",
            "UPHOSOKU_202504_0300000100_43_0300000005_11_20250325093000.CSV",
            "UP1KYO_0300000100_43_0300000005_11_20191025200201.CSV",
            "UP3KYO_0300000100_43_0300000005_11_20191025200201.CSV",
            "DLT1KYO_0300000100_43_0300000005_11_20191025200201.CSV",
            "UPJSK_202504_0300000005_11_0300000100_43_20250505120000.CSV",
            "DLTJSK_202504_0300000005_11_0300000100_43_20250505120000.CSV",
            "DLTPLAN_201912_0300000100_43_0300000005_11_20191025200201.CSV",
            "UPSIKYU_202506_2725060001_43_2725060002_15_20250520101010.CSV",
            "UPKIHON_0300000100_43_0300000005_11_20191025200201.CSV",
            "UPKIHON_SUB2_0300000100_46_0300000005_A2_20250401080000.CSV",
            "UPYOBO_SUB_0300000100_AF_0300000005_A6_20250401080000.CSV",
            "DLTYOBO_0300000100_43_0300000005_11_20191025200201.CSV",
            "UPKIHON_IMAGE_0300000100_43_0300000005_11_20191025200201_0001.JPG",
            "UPKIHON_IMAGE_0300000100_43_0300000005_11_20191025200201_0002.jpg",
            "UPPLAN_202505_2725060001_43_27A0000012_A2_20250317182009.CSV",
        ] {
            let p = parse(n, LEX).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(p.name.family, Family::V4, "{n}");
            assert_eq!(p.name.to_string(), n, "round trip");
        }
    }

    #[test]
    fn grammar_vectors_v3_valid() {
        for n in [
            "UPPLAN_201912_0300000100_0300000005_20191025200201.CSV",
            "UPJSK_201912_0300000005_0300000100_20191025200201.CSV",
            "UPHOSOKU_000000_0300000100_0300000005_20191025200201.CSV",
            "UPHOSOKU_201909_0300000100_0300000005_20191025200201.CSV",
            "UP1KYO_0300000100_0300000005_20191025200201.CSV",
            "UP2KYO_0300000100_0300000005_20191110102233.CSV",
            "DLTPLAN_202301_0300000100_0300000005_20221225093000.CSV",
            "UPSIKYU_202302_0300000100_0300000005_20230125093000.CSV",
        ] {
            let p = parse(n, LEX).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(p.name.family, Family::V3, "{n}");
            assert_eq!(p.name.to_string(), n);
        }
    }

    fn rules_of(n: &str, profile: Profile) -> Vec<(&'static str, Rule)> {
        parse(n, profile)
            .unwrap_err()
            .issues
            .into_iter()
            .filter(|i| i.problem.severity == Severity::Error)
            .map(|i| (i.token, i.problem.rule))
            .collect()
    }

    #[test]
    fn grammar_vectors_v4_invalid() {
        use Rule::*;
        let cases: &[(&str, &[(&str, Rule)])] = &[
            ("UP1KYO_202505_0300000100_43_0300000005_11_20250317182009.CSV", &[(T_WHOLE, NameShape)]),
            ("UPPLAN_000000_0300000100_43_0300000005_11_20250317182009.CSV", &[(T_MONTH, NameMonth)]),
            ("UPJSK_202513_0300000005_11_0300000100_43_20250317182009.CSV", &[(T_MONTH, NameMonth)]),
            ("UPPLAN_202505_272506001_43_2725060002_15_20250317182009.CSV", &[(T_SENDER, NameOffice)]),
            (
                "UPPLAN_202505_2725060001_430_2725060002_150_20250317182009.CSV",
                &[(T_SENDER_KIND, NameServiceKind), (T_RECEIVER_KIND, NameServiceKind)],
            ),
            ("UPPLAN_202505_2725060001_43_2725060002_15_2025031718200.CSV", &[(T_SEQ, NameSeq)]),
            ("UPPLAN_202505_2725060001_43_2725060002_15_20250317182009.TXT", &[(T_EXT, NameExtension)]),
            ("UPPLAN_202505_2725060001_43_2725060002_15_20250230182009.CSV", &[(T_SEQ, NameSeq)]),
            ("UPKIHON_IMAGE_0300000100_43_0300000005_11_20191025200201.JPG", &[(T_WHOLE, NameShape)]),
            ("UPHOSOKU_0300000100_43_0300000005_11_20191025200201.CSV", &[(T_WHOLE, NameShape)]),
            ("upplan_202505_2725060001_43_2725060002_15_20250317182009.CSV", &[(T_PREFIX, NamePrefixCase)]),
            ("UPPLAN_202505_2725060001_4_2725060002_15_20250317182009.CSV", &[(T_SENDER_KIND, NameServiceKind)]),
            ("UPYOBO_SUB1_0300000100_43_0300000005_11_20191025200201.CSV", &[(T_PREFIX, NamePrefix)]),
            ("UPPLAN_202505_2725060001_43_2725060002_15_20250317182009.csv", &[(T_EXT, NameExtensionCase)]),
            ("UPPLAN_202505_2725060001_43_272506000A_15_20250317182009.CSV", &[(T_RECEIVER, NameOffice)]),
        ];
        for (n, want) in cases {
            assert_eq!(&rules_of(n, LEX), want, "{n}");
        }
        // The lower-case extension is only a warning in the lenient profile.
        let lenient = Profile { lenient_extension: true, check_digits: false };
        let p = parse("UPPLAN_202505_2725060001_43_2725060002_15_20250317182009.csv", lenient).unwrap();
        assert_eq!(p.warnings[0].problem.rule, NameExtensionCase);
        assert_eq!(p.name.to_string(), "UPPLAN_202505_2725060001_43_2725060002_15_20250317182009.csv");
    }

    #[test]
    fn grammar_vectors_v3_invalid() {
        use Rule::*;
        let cases: &[(&str, Rule)] = &[
            ("UP3KYO_0300000100_0300000005_20191025200201.CSV", NameV4Only),
            ("UPKIHON_0300000100_0300000005_20191025200201.CSV", NameV4Only),
            ("UP1KYO_123456789_2468135790_20191110102233.CSV", NameOffice),
            ("UPPLAN_201912_0300000100_0300000005_20191025246201.CSV", NameSeq),
            ("UPHOSOKU_0300000100_0300000005_20191025200201.CSV", NameShape),
            ("UPJSK_201900_0300000005_0300000100_20191025200201.CSV", NameMonth),
            ("UP1KYO_0300000100_0300000005_201911101022330.CSV", NameSeq),
        ];
        for (n, rule) in cases {
            let got = rules_of(n, LEX);
            assert!(got.iter().any(|(_, r)| r == rule), "{n}: {got:?}");
        }
    }

    #[test]
    fn check_digits_are_enforced_by_default() {
        // The spec's example numbers fail the check digit: the error says which token.
        let e = FileName::parse("UP1KYO_0300000100_43_0300000005_11_20191025200201.CSV").unwrap_err();
        let got: Vec<_> = e.issues.iter().map(|i| (i.token, i.problem.rule)).collect();
        assert_eq!(got, vec![(T_SENDER, Rule::NameOfficeCheckDigit), (T_RECEIVER, Rule::NameOfficeCheckDigit)]);
        let ok = FileName::parse("UPPLAN_202505_2794900205_43_2875104529_15_20250317182009.CSV").unwrap();
        assert_eq!(ok.service_month().unwrap().to_string(), "202505");
        assert_eq!(ok.tail(), "2794900205_43_2875104529_15_20250317182009");
    }

    #[test]
    fn semantic_warnings() {
        let p = parse("UPJSK_202505_2794900205_43_2875104529_15_20250317182009.CSV", Profile::LENIENT).unwrap();
        assert_eq!(p.warnings.iter().map(|w| w.problem.rule).collect::<Vec<_>>(), vec![Rule::NameDirection]);
        let e = parse("UPPLAN_202505_2794900205_43_2794900205_43_20250317182009.CSV", Profile::LENIENT).unwrap_err();
        assert_eq!(e.issues[0].problem.rule, Rule::NameSameOffice);
        let p = parse("UPPLAN_202505_2794900205_43_2794900205_15_20250317182009.CSV", Profile::LENIENT).unwrap();
        assert_eq!(p.warnings[0].problem.rule, Rule::NameSameOfficeNumber);
    }
}
