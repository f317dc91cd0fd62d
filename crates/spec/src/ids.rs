//! Identifiers: 事業所番号 (office number), 保険者番号 (insurer number), 被保険者番号
//! (insured number) and サービス種類コード (service kind).
//!
//! Check digits follow `identifiers-and-operations.md` §A1/§A2: a Luhn-style
//! "モジュラス10 ウェイト2-1 分割" over the body, with a letter in position 3 of an office number
//! read as A=10 … Z=32 skipping I, O and Q.

use crate::diag::{Problem, Rule};
use std::fmt;

/// Letters allowed in position 3 of an office number, in value order (A=10 … Z=32).
const OFFICE_LETTERS: &str = "ABCDEFGHJKLMNPRSTUVWXYZ";

fn digit_sum(n: u32) -> u32 {
    n / 10 + n % 10
}

/// Computes the office-number check digit of a 9-character body (digits, or an upper-case
/// letter other than I/O/Q anywhere a letter is allowed). Returns `None` for other characters.
pub fn office_check_digit(body: &str) -> Option<u8> {
    if body.len() != 9 {
        return None;
    }
    let mut sum = 0u32;
    for (i, c) in body.chars().rev().enumerate() {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => OFFICE_LETTERS.find(c)? as u32 + 10,
            _ => return None,
        };
        let w = if i % 2 == 0 { 2 } else { 1 };
        sum += digit_sum(v * w);
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Computes the Luhn ("モジュラス10 ウェイト2・1 分割") check digit over an all-digit body.
pub fn luhn_check_digit(body: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, b) in body.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let w = if i % 2 == 0 { 2 } else { 1 };
        sum += digit_sum((b - b'0') as u32 * w);
    }
    Some(((10 - sum % 10) % 10) as u8)
}

fn valid_prefecture(two: &str) -> bool {
    matches!(two.parse::<u8>(), Ok(1..=47)) && two.bytes().all(|b| b.is_ascii_digit())
}

/// Why an office number is malformed (as opposed to failing its check digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OfficeFault {
    /// Not 10 characters.
    Length,
    /// A character that is not allowed at its position.
    Character,
    /// A lower-case letter in position 3.
    LowerCase,
    /// I, O or Q in position 3.
    ExcludedLetter,
    /// Positions 1–2 are not a prefecture code 01–47.
    Prefecture,
    /// The check digit does not match.
    CheckDigit {
        /// The digit the body calls for.
        expected: u8,
    },
}

/// A 10-character 介護保険事業所番号, validated (shape, prefecture and check digit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfficeNumber(String);

impl OfficeNumber {
    /// Checks shape and check digit.
    pub fn check(s: &str) -> Result<OfficeNumber, OfficeFault> {
        let n = OfficeNumber::check_shape(s)?;
        let expected = office_check_digit(&s[..9]).ok_or(OfficeFault::Character)?;
        if s.as_bytes()[9] - b'0' != expected {
            return Err(OfficeFault::CheckDigit { expected });
        }
        Ok(n)
    }

    /// Checks the shape only (10 characters, the letter rule, the prefecture), not the check
    /// digit: the form of a number that the registry (事業所台帳) may hold even though its check
    /// digit fails — real, published numbers do. Whether such a number is accepted is the
    /// registry's answer, never this function's.
    pub fn check_shape(s: &str) -> Result<OfficeNumber, OfficeFault> {
        if s.chars().count() != 10 {
            return Err(OfficeFault::Length);
        }
        let b = s.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            let ok = match i {
                2 => c.is_ascii_digit() || c.is_ascii_uppercase(),
                _ => c.is_ascii_digit(),
            };
            if !ok {
                return Err(if i == 2 && c.is_ascii_lowercase() { OfficeFault::LowerCase } else { OfficeFault::Character });
            }
        }
        if matches!(b[2], b'I' | b'O' | b'Q') {
            return Err(OfficeFault::ExcludedLetter);
        }
        if !valid_prefecture(&s[..2]) {
            return Err(OfficeFault::Prefecture);
        }
        Ok(OfficeNumber(s.to_owned()))
    }

    /// Parses the shape only (see [`OfficeNumber::check_shape`]), reporting a [`Problem`].
    pub fn parse_shape(s: &str) -> Result<OfficeNumber, Problem> {
        OfficeNumber::check_shape(s).map_err(|f| office_problem(s, f, false))
    }

    /// The check-digit problem of a number whose shape is right, if its check digit fails.
    pub fn check_digit_problem(&self, in_name: bool) -> Option<Problem> {
        OfficeNumber::check(&self.0).err().map(|f| office_problem(&self.0, f, in_name))
    }

    /// Parses and reports a [`Problem`] in the given rule family (`name.*` or `field.*`).
    pub fn parse(s: &str, in_name: bool) -> Result<OfficeNumber, Problem> {
        OfficeNumber::check(s).map_err(|f| office_problem(s, f, in_name))
    }

    /// Builds a valid office number from a 9-character body by appending its check digit.
    pub fn from_body(body: &str) -> Result<OfficeNumber, Problem> {
        let d = office_check_digit(body).ok_or_else(|| office_problem(body, OfficeFault::Character, false))?;
        OfficeNumber::parse(&format!("{body}{d}"), false)
    }

    /// Wraps a string without checking it. Only for testing the lexical grammar in isolation.
    #[doc(hidden)]
    pub fn unchecked(s: &str) -> OfficeNumber {
        OfficeNumber(s.to_owned())
    }

    /// The 10 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// 都道府県番号 (positions 1–2).
    pub fn prefecture(&self) -> u8 {
        self.0[..2].parse().unwrap_or(0)
    }
}

impl fmt::Display for OfficeNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn office_problem(s: &str, fault: OfficeFault, in_name: bool) -> Problem {
    let (rule, ja, en) = match fault {
        OfficeFault::Length => (
            Rule::FieldOffice,
            format!("事業所番号は10桁です（{}桁あります）", s.chars().count()),
            format!("an office number has 10 characters (found {})", s.chars().count()),
        ),
        OfficeFault::Character => (
            Rule::FieldOffice,
            "事業所番号は数字10桁です（3桁目だけ英大文字を使えます）".to_owned(),
            "an office number is 10 digits (only position 3 may be an upper-case letter)".to_owned(),
        ),
        OfficeFault::LowerCase => {
            (Rule::FieldOffice, "事業所番号の3桁目の英字は大文字です".to_owned(), "the letter in position 3 must be upper-case".to_owned())
        }
        OfficeFault::ExcludedLetter => {
            (Rule::FieldOffice, "事業所番号に I・O・Q は使われません".to_owned(), "I, O and Q are never used in office numbers".to_owned())
        }
        OfficeFault::Prefecture => (
            Rule::FieldOffice,
            format!("事業所番号の先頭2桁は都道府県番号（01〜47）です（{}）", &s[..2.min(s.len())]),
            "positions 1-2 must be a prefecture code 01-47".to_owned(),
        ),
        OfficeFault::CheckDigit { expected } => (
            Rule::FieldOfficeCheckDigit,
            format!(
                "事業所番号の検証番号（10桁目）が合いません。番号の写し間違いがないか確認してください（計算上の検証番号は {expected}）"
            ),
            format!("check digit (position 10) does not match; check for a typo (computed check digit: {expected})"),
        ),
    };
    let rule = match (in_name, rule) {
        (true, Rule::FieldOffice) => Rule::NameOffice,
        (true, Rule::FieldOfficeCheckDigit) => Rule::NameOfficeCheckDigit,
        (_, r) => r,
    };
    Problem::new(rule, Some(s.to_owned()), ja, en)
}

/// A 6-digit 介護保険 保険者番号 with its check digit verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InsurerNumber(String);

impl InsurerNumber {
    /// Parses a 保険者番号.
    pub fn parse(s: &str) -> Result<InsurerNumber, Problem> {
        let bad = |ja: String, en: &str| Problem::new(Rule::FieldInsurer, Some(s.to_owned()), ja, en);
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("保険者番号は数字6桁です".into(), "an insurer number is 6 digits"));
        }
        if !valid_prefecture(&s[..2]) {
            return Err(bad("保険者番号の先頭2桁は都道府県番号（01〜47）です".into(), "positions 1-2 must be a prefecture code 01-47"));
        }
        let expected = luhn_check_digit(&s[..5]).unwrap_or(0);
        if s.as_bytes()[5] - b'0' != expected {
            return Err(Problem::new(
                Rule::FieldInsurerCheckDigit,
                Some(s.to_owned()),
                format!(
                    "保険者番号の検証番号（6桁目）が合いません。被保険者証の番号と照らし合わせてください（計算上の検証番号は {expected}）"
                ),
                format!("check digit (position 6) does not match (computed: {expected})"),
            ));
        }
        Ok(InsurerNumber(s.to_owned()))
    }
    /// Builds a valid number from a 5-digit body.
    pub fn from_body(body: &str) -> Result<InsurerNumber, Problem> {
        let d = luhn_check_digit(body).unwrap_or(0);
        InsurerNumber::parse(&format!("{body}{d}"))
    }
    /// The 6 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A 10-character 被保険者番号: 10 digits, or `H` + 9 digits for 生活保護単独.
/// No check digit is applied (none is published).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InsuredNumber(String);

impl InsuredNumber {
    /// Parses a 被保険者番号.
    pub fn parse(s: &str) -> Result<InsuredNumber, Problem> {
        let b = s.as_bytes();
        let ok = b.len() == 10 && (b[0].is_ascii_digit() || b[0] == b'H') && b[1..].iter().all(u8::is_ascii_digit);
        if !ok {
            return Err(Problem::new(
                Rule::FieldInsured,
                Some(s.to_owned()),
                "被保険者番号は数字10桁、または生活保護単独の場合は H＋数字9桁です",
                "an insured number is 10 digits, or H + 9 digits for public assistance only",
            ));
        }
        Ok(InsuredNumber(s.to_owned()))
    }
    /// The 10 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `true` for 生活保護単独 (`H…`).
    pub fn is_public_assistance(&self) -> bool {
        self.0.starts_with('H')
    }
}

/// Where a service kind sits in the data exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindScope {
    /// Care management (居宅介護支援 / 介護予防支援 / 介護予防ケアマネジメント): the plan side.
    CareManagement,
    /// A service in the exchange's scope (連携対象).
    InScope,
    /// A service outside the exchange's scope (連携対象外).
    OutOfScope,
}

/// Known サービス種類コード: code, name, scope.
pub const SERVICE_KINDS: &[(&str, &str, KindScope)] = {
    use KindScope::*;
    &[
        ("11", "訪問介護", InScope),
        ("12", "訪問入浴介護", InScope),
        ("13", "訪問看護", InScope),
        ("14", "訪問リハビリテーション", InScope),
        ("15", "通所介護", InScope),
        ("16", "通所リハビリテーション", InScope),
        ("17", "福祉用具貸与", InScope),
        ("21", "短期入所生活介護", InScope),
        ("22", "短期入所療養介護（介護老人保健施設）", InScope),
        ("23", "短期入所療養介護（介護療養型医療施設等）", InScope),
        ("2A", "短期入所療養介護（介護医療院）", InScope),
        ("31", "居宅療養管理指導", InScope),
        ("71", "夜間対応型訪問介護", InScope),
        ("72", "認知症対応型通所介護", InScope),
        ("73", "小規模多機能型居宅介護", InScope),
        ("68", "小規模多機能型居宅介護（短期利用）", InScope),
        ("76", "定期巡回・随時対応型訪問介護看護", InScope),
        ("77", "看護小規模多機能型居宅介護", InScope),
        ("79", "看護小規模多機能型居宅介護（短期利用）", InScope),
        ("78", "地域密着型通所介護", InScope),
        ("27", "特定施設入居者生活介護（短期利用）", InScope),
        ("28", "地域密着型特定施設入居者生活介護（短期利用）", InScope),
        ("38", "認知症対応型共同生活介護（短期利用）", InScope),
        ("33", "特定施設入居者生活介護", OutOfScope),
        ("36", "地域密着型特定施設入居者生活介護", OutOfScope),
        ("32", "認知症対応型共同生活介護（短期利用以外）", OutOfScope),
        ("41", "特定福祉用具販売", OutOfScope),
        ("42", "住宅改修", OutOfScope),
        ("51", "介護福祉施設サービス", OutOfScope),
        ("52", "介護保健施設サービス", OutOfScope),
        ("53", "介護療養施設サービス", OutOfScope),
        ("54", "地域密着型介護老人福祉施設入所者生活介護", OutOfScope),
        ("55", "介護医療院サービス", OutOfScope),
        ("59", "特定介護サービス等", OutOfScope),
        ("81", "市町村特別給付", OutOfScope),
        ("43", "居宅介護支援", CareManagement),
        ("46", "介護予防支援", CareManagement),
        ("AF", "介護予防ケアマネジメント", CareManagement),
        ("62", "介護予防訪問入浴介護", InScope),
        ("63", "介護予防訪問看護", InScope),
        ("64", "介護予防訪問リハビリテーション", InScope),
        ("66", "介護予防通所リハビリテーション", InScope),
        ("67", "介護予防福祉用具貸与", InScope),
        ("24", "介護予防短期入所生活介護", InScope),
        ("25", "介護予防短期入所療養介護（介護老人保健施設）", InScope),
        ("26", "介護予防短期入所療養介護（介護療養型医療施設等）", InScope),
        ("2B", "介護予防短期入所療養介護（介護医療院）", InScope),
        ("34", "介護予防居宅療養管理指導", InScope),
        ("74", "介護予防認知症対応型通所介護", InScope),
        ("75", "介護予防小規模多機能型居宅介護", InScope),
        ("69", "介護予防小規模多機能型居宅介護（短期利用）", InScope),
        ("39", "介護予防認知症対応型共同生活介護（短期利用）", InScope),
        ("35", "介護予防特定施設入居者生活介護", OutOfScope),
        ("37", "介護予防認知症対応型共同生活介護（短期利用以外）", OutOfScope),
        ("44", "特定介護予防福祉用具販売", OutOfScope),
        ("45", "介護予防住宅改修", OutOfScope),
        ("A1", "訪問型サービス（みなし）", InScope),
        ("A2", "訪問型サービス（独自）", InScope),
        ("A3", "訪問型サービス（独自／定率）", InScope),
        ("A4", "訪問型サービス（独自／定額）", InScope),
        ("A5", "通所型サービス（みなし）", InScope),
        ("A6", "通所型サービス（独自）", InScope),
        ("A7", "通所型サービス（独自／定率）", InScope),
        ("A8", "通所型サービス（独自／定額）", InScope),
    ]
};

/// A 2-character サービス種類コード (`[0-9A-Z]{2}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKind([u8; 2]);

impl ServiceKind {
    /// Parses the two characters (shape only; see [`ServiceKind::known`]).
    pub fn parse(s: &str) -> Result<ServiceKind, Problem> {
        let b = s.as_bytes();
        if b.len() == 2 && b.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            return Ok(ServiceKind([b[0], b[1]]));
        }
        let hint = if b.len() == 3 && b.iter().all(u8::is_ascii_digit) {
            "（4.0 の「サービスコード3桁」表記は 4.1 で廃止されました）"
        } else {
            ""
        };
        Err(Problem::new(
            Rule::FieldServiceKind,
            Some(s.to_owned()),
            format!("サービス種類コードは英数字2桁です{hint}"),
            "a service kind is 2 characters [0-9A-Z]",
        ))
    }
    /// The two characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
    /// Name and scope when the code is known.
    pub fn known(&self) -> Option<(&'static str, KindScope)> {
        SERVICE_KINDS.iter().find(|(c, _, _)| *c == self.as_str()).map(|(_, n, s)| (*n, *s))
    }
    /// `true` for care-management kinds (43, 46, AF).
    pub fn is_care_management(&self) -> bool {
        matches!(self.known(), Some((_, KindScope::CareManagement)))
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_vectors_from_the_research_notes() {
        for ok in ["2794900205", "2875104529", "3450219724", "2873010983", "2360690339", "2815102534", "13A0000011"] {
            assert!(OfficeNumber::check(ok).is_ok(), "{ok}");
        }
        assert_eq!(OfficeNumber::check("2372100034"), Err(OfficeFault::CheckDigit { expected: 8 }));
        assert!(matches!(OfficeNumber::check("0300000100"), Err(OfficeFault::CheckDigit { .. })));
        assert!(matches!(OfficeNumber::check("0300000005"), Err(OfficeFault::CheckDigit { .. })));
    }

    #[test]
    fn office_faults() {
        assert_eq!(OfficeNumber::check("279490020"), Err(OfficeFault::Length));
        assert_eq!(OfficeNumber::check("27a0000012"), Err(OfficeFault::LowerCase));
        assert_eq!(OfficeNumber::check("27I0000012"), Err(OfficeFault::ExcludedLetter));
        assert_eq!(OfficeNumber::check("272506000A"), Err(OfficeFault::Character));
        assert_eq!(OfficeNumber::check("4894900205"), Err(OfficeFault::Prefecture));
        let p = OfficeNumber::parse("2372100034", true).unwrap_err();
        assert_eq!(p.rule, Rule::NameOfficeCheckDigit);
        assert!(p.ja.contains('8'));
    }

    #[test]
    fn letter_weighting() {
        // body 13A000001: from the right 1×2=2, 0,0,0,0,0, A=10×2=20→2, 3×1=3, 1×2=2 → 9 → 1
        assert_eq!(office_check_digit("13A000001"), Some(1));
        assert_eq!(office_check_digit("13I000001"), None);
    }

    #[test]
    fn insurer_vectors() {
        assert!(InsurerNumber::parse("435073").is_ok());
        assert_eq!(luhn_check_digit("3312001"), Some(5));
        assert_eq!(InsurerNumber::parse("435074").unwrap_err().rule, Rule::FieldInsurerCheckDigit);
        assert_eq!(InsurerNumber::parse("43507").unwrap_err().rule, Rule::FieldInsurer);
    }

    #[test]
    fn insured_forms() {
        assert!(InsuredNumber::parse("0000123456").is_ok());
        assert!(InsuredNumber::parse("H123456789").unwrap().is_public_assistance());
        assert!(InsuredNumber::parse("h123456789").is_err());
        assert!(InsuredNumber::parse("12345").is_err());
    }

    #[test]
    fn service_kinds() {
        assert!(ServiceKind::parse("43").unwrap().is_care_management());
        assert_eq!(ServiceKind::parse("2A").unwrap().known().unwrap().1, KindScope::InScope);
        assert!(ServiceKind::parse("9Z").unwrap().known().is_none());
        assert!(ServiceKind::parse("430").unwrap_err().ja.contains("4.0"));
        assert!(ServiceKind::parse("4a").is_err());
    }
}
