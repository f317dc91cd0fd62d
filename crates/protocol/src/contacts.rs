//! Contacts (連絡): messages that say something about a month or a person without files — the
//! national manual's workaround for a month without 実績 (今月利用なし), the care manager's notice
//! that a user's plan exceeds the 区分支給限度額, a change of plan. Each kind has its fields; the
//! one rule for what a contact must hold lives here, applied by the hub at its door and by the
//! client before it sends.

use serde::{Deserialize, Serialize};

/// The kind of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// 今月利用なし: the user used no service this month (no 実績 will come).
    NoUse,
    /// 区分支給限度額超過の連絡: the plan exceeds the user's limit by `units`.
    OverLimit,
    /// 計画変更の連絡: the user's plan changes (a new 予定 follows).
    PlanChange,
}

impl ContactKind {
    /// Every kind, in the order screens offer them.
    pub const ALL: [ContactKind; 3] = [ContactKind::NoUse, ContactKind::OverLimit, ContactKind::PlanChange];

    /// The wire name (`no_use`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::NoUse => "no_use",
            ContactKind::OverLimit => "over_limit",
            ContactKind::PlanChange => "plan_change",
        }
    }

    /// The kind named `s` (the wire name).
    pub fn parse(s: &str) -> Option<ContactKind> {
        ContactKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// What offices call it.
    pub fn label_ja(self) -> &'static str {
        match self {
            ContactKind::NoUse => "今月利用なし",
            ContactKind::OverLimit => "区分支給限度額超過の連絡",
            ContactKind::PlanChange => "計画変更の連絡",
        }
    }

    fn needs_month(self) -> bool {
        matches!(self, ContactKind::NoUse | ContactKind::OverLimit)
    }
}

/// A contact: its kind and the fields of that kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    /// Kind.
    pub kind: ContactKind,
    /// 対象年月 (YYYYMM): required for `no_use` and `over_limit`, optional for `plan_change`
    /// (the month the change takes effect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(19|20)[0-9]{2}(0[1-9]|1[0-2])$"))]
    pub month: Option<String>,
    /// 利用者: the 被保険者番号 or the name the two offices know the user by (1–40 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 40))]
    pub person: String,
    /// 超過単位数: required for `over_limit` (1–9,999,999), absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole_units")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 9_999_999))]
    pub units: Option<u32>,
}

/// Units as a whole number, also when written as a float without a fraction (`40.0`, as some
/// JSON writers do).
fn whole_units<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(u32),
        Float(f64),
    }
    match Option::<Number>::deserialize(d)? {
        None => Ok(None),
        Some(Number::Int(i)) => Ok(Some(i)),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(Number::Float(f)) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => Ok(Some(f as u32)),
        Some(Number::Float(_)) => Err(serde::de::Error::custom("units: a whole number from 1 to 9999999")),
    }
}

/// The most characters of [`Contact::person`].
pub const PERSON_MAX_CHARS: usize = 40;
/// The most units of an over-limit contact.
pub const UNITS_MAX: u32 = 9_999_999;

/// What is wrong with a contact: the field and a sentence for the clerk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactProblem {
    /// The field (`kind`, `month`, `person`, `units`).
    pub field: &'static str,
    /// Japanese, for the clerk.
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> ContactProblem {
    ContactProblem { field, message: message.into() }
}

/// Whether `s` is a year and month `YYYYMM` (1900–2099).
pub fn is_year_month(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && matches!(&s[..2], "19" | "20") && matches!(s[4..].parse::<u8>(), Ok(1..=12))
}

impl Contact {
    /// A contact from a form's fields, as clerks type them (spaces trimmed, full-width digits
    /// taken as digits, `2025/07` and `2025-07` as `202507`, `1,234` as 1234). `kind` is the
    /// wire name; the result is checked with [`Contact::check`].
    pub fn from_fields(kind: &str, month: &str, person: &str, units: &str) -> Result<Contact, ContactProblem> {
        let kind = ContactKind::parse(kind).ok_or_else(|| {
            problem(
                "kind",
                format!("連絡の種類「{}」はありません（今月利用なし・区分支給限度額超過の連絡・計画変更の連絡のどれか）", kind.trim()),
            )
        })?;
        let digits = |s: &str| -> String {
            s.trim()
                .chars()
                .filter_map(|c| match c {
                    '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
                    '/' | '-' | '／' | '－' | ',' | '，' | '年' | '月' => None,
                    c => Some(c),
                })
                .collect()
        };
        let month = Some(digits(month)).filter(|m| !m.is_empty());
        let units = match digits(units) {
            u if u.is_empty() => None,
            u => Some(u.parse::<u32>().map_err(|_| problem("units", format!("超過単位数「{}」は数字で入れてください", units.trim())))?),
        };
        let c = Contact { kind, month, person: person.trim().to_owned(), units };
        c.check()?;
        Ok(c)
    }

    /// The one rule: the fields its kind needs, each well formed, no field its kind does not take.
    pub fn check(&self) -> Result<(), ContactProblem> {
        let label = self.kind.label_ja();
        match &self.month {
            None if self.kind.needs_month() => return Err(problem("month", format!("「{label}」には対象年月（例: 202507）が必要です"))),
            Some(m) if !is_year_month(m) => {
                return Err(problem("month", format!("対象年月「{m}」は西暦6桁（例: 202507）で入れてください")));
            }
            _ => {}
        }
        let person = self.person.trim();
        if person.is_empty() {
            return Err(problem("person", format!("「{label}」には利用者（被保険者番号または氏名）が必要です")));
        }
        if person.chars().count() > PERSON_MAX_CHARS {
            return Err(problem("person", format!("利用者は{PERSON_MAX_CHARS}文字までです")));
        }
        if person.chars().any(char::is_control) || person != self.person {
            return Err(problem("person", "利用者に改行・制御文字や前後の空白は使えません"));
        }
        match (self.kind, self.units) {
            (ContactKind::OverLimit, None) => Err(problem("units", "「区分支給限度額超過の連絡」には超過単位数が必要です")),
            (ContactKind::OverLimit, Some(u)) if u == 0 || u > UNITS_MAX => {
                Err(problem("units", format!("超過単位数は1から{UNITS_MAX}までです（{u}）")))
            }
            (ContactKind::OverLimit, Some(_)) => Ok(()),
            (_, Some(_)) => {
                Err(problem("units", format!("超過単位数は「区分支給限度額超過の連絡」のときだけ入れます（今回は「{label}」）")))
            }
            (_, None) => Ok(()),
        }
    }

    /// One line for lists and notifications: 「今月利用なし 2025年7月分 H000000001」.
    pub fn summary_ja(&self) -> String {
        let mut s = self.kind.label_ja().to_owned();
        if let Some(m) = &self.month {
            s.push_str(&format!(" {}年{}月分", &m[..4], m[4..].trim_start_matches('0')));
        }
        s.push(' ');
        s.push_str(&self.person);
        if let Some(u) = self.units {
            s.push_str(&format!(" 超過{}単位", group_digits(u.into())));
        }
        s
    }
}

/// `1234567` → `1,234,567`.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_kind_needs_its_fields() {
        assert_eq!(Contact::from_fields("no_use", "", "H000000001", "").unwrap_err().field, "month");
        assert_eq!(Contact::from_fields("no_use", "202507", "", "").unwrap_err().field, "person");
        assert_eq!(Contact::from_fields("over_limit", "202507", "山田 花子", "").unwrap_err().field, "units");
        assert_eq!(Contact::from_fields("no_use", "202507", "山田", "12").unwrap_err().field, "units");
        assert_eq!(Contact::from_fields("over_limit", "202507", "山田", "0").unwrap_err().field, "units");
        assert_eq!(Contact::from_fields("mail", "202507", "山田", "").unwrap_err().field, "kind");
        assert_eq!(Contact::from_fields("no_use", "202513", "山田", "").unwrap_err().field, "month");
        let c = Contact::from_fields("plan_change", "", "山田", "").unwrap();
        assert_eq!(c.month, None);
    }

    #[test]
    fn clerks_typing_is_taken_as_meant() {
        let c = Contact::from_fields(" over_limit ", "２０２５/０７", " H000000001 ", "1,234").unwrap();
        assert_eq!(
            c,
            Contact { kind: ContactKind::OverLimit, month: Some("202507".into()), person: "H000000001".into(), units: Some(1234) }
        );
        assert_eq!(c.summary_ja(), "区分支給限度額超過の連絡 2025年7月分 H000000001 超過1,234単位");
        assert_eq!(Contact::from_fields("no_use", "2025年7月", "山田", "").unwrap_err().field, "month", "2025年7月 is 20257: too short");
        assert_eq!(Contact::from_fields("no_use", "2025年07月", "山田", "").unwrap().month.as_deref(), Some("202507"));
    }

    #[test]
    fn a_person_is_one_short_line() {
        let c = Contact { kind: ContactKind::PlanChange, month: None, person: "山田\n花子".into(), units: None };
        assert_eq!(c.check().unwrap_err().field, "person");
        let c = Contact { person: "あ".repeat(41), ..c };
        assert_eq!(c.check().unwrap_err().field, "person");
        let c = Contact { person: " 山田".into(), ..c };
        assert_eq!(c.check().unwrap_err().field, "person", "the wire form is trimmed; from_fields trims");
    }

    #[test]
    fn wire_form() {
        let c = Contact { kind: ContactKind::NoUse, month: Some("202507".into()), person: "H000000001".into(), units: None };
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(j, r#"{"kind":"no_use","month":"202507","person":"H000000001"}"#);
        assert_eq!(serde_json::from_str::<Contact>(&j).unwrap(), c);
        let f: Contact = serde_json::from_str(r#"{"kind":"over_limit","month":"202507","person":"x","units":40.0}"#).unwrap();
        assert_eq!(f.units, Some(40));
        assert!(serde_json::from_str::<Contact>(r#"{"kind":"over_limit","person":"x","units":4.5}"#).is_err());
        assert!(serde_json::from_str::<Contact>(r#"{"kind":"over_limit","person":"x","units":-1}"#).is_err());
        assert_eq!(serde_json::from_str::<Contact>(r#"{"kind":"no_use","person":"x","units":null}"#).unwrap().units, None);
        assert_eq!(group_digits(7), "7");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(9_999_999), "9,999,999");
    }

    proptest! {
        #[test]
        fn any_fields_are_checked_never_panic(kind in "\\PC{0,12}", month in "\\PC{0,10}", person in "\\PC{0,50}", units in "\\PC{0,10}") {
            if let Ok(c) = Contact::from_fields(&kind, &month, &person, &units) {
                prop_assert!(c.check().is_ok());
                let _ = c.summary_ja();
            }
        }
    }
}
