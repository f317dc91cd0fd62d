//! Calendar values of the standard: `YYYYMM`, `YYYYMMDD`, `HHMM` and the 14-digit ファイル連番.
//! All Gregorian; 和暦 never appears in structured fields.

use std::fmt;

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None }
}

/// `true` for Gregorian leap years.
pub fn is_leap(y: u16) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

/// Days in a month.
pub fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Earliest year accepted in dates (births of the oldest clients included).
pub const MIN_YEAR: u16 = 1868;

/// A year-month, `YYYYMM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    /// Year.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
}

impl YearMonth {
    /// Parses `YYYYMM`.
    pub fn parse(s: &str) -> Option<YearMonth> {
        let v = digits(s, 6)?;
        let (year, month) = ((v / 100) as u16, (v % 100) as u8);
        (year >= MIN_YEAR && (1..=12).contains(&month)).then_some(YearMonth { year, month })
    }
    /// Builds a value; `None` when out of range.
    pub fn new(year: u16, month: u8) -> Option<YearMonth> {
        YearMonth::parse(&format!("{year:04}{month:02}"))
    }
    /// Number of days.
    pub fn days(&self) -> u8 {
        days_in_month(self.year, self.month)
    }
    /// `true` when `d` falls in this month.
    pub fn contains(&self, d: &Date) -> bool {
        d.year == self.year && d.month == self.month
    }
    /// The following month.
    pub fn next(&self) -> YearMonth {
        if self.month == 12 { YearMonth { year: self.year + 1, month: 1 } } else { YearMonth { year: self.year, month: self.month + 1 } }
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}{:02}", self.year, self.month)
    }
}

/// A date, `YYYYMMDD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day.
    pub day: u8,
}

impl Date {
    /// Parses `YYYYMMDD` and checks that the day exists.
    pub fn parse(s: &str) -> Option<Date> {
        let v = digits(s, 8)?;
        let (year, month, day) = ((v / 10000) as u16, (v / 100 % 100) as u8, (v % 100) as u8);
        (year >= MIN_YEAR && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(Date {
            year,
            month,
            day,
        })
    }
    /// Builds a date; `None` when it does not exist.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        Date::parse(&format!("{year:04}{month:02}{day:02}"))
    }
    /// The month this date falls in.
    pub fn year_month(&self) -> YearMonth {
        YearMonth { year: self.year, month: self.month }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

/// A clock time, `HHMM` (00:00–23:59, and 24:00 as the end of a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hhmm {
    /// Hour 0–24.
    pub hour: u8,
    /// Minute 0–59.
    pub minute: u8,
}

impl Hhmm {
    /// Parses `HHMM`.
    pub fn parse(s: &str) -> Option<Hhmm> {
        let v = digits(s, 4)?;
        let (hour, minute) = ((v / 100) as u8, (v % 100) as u8);
        ((hour < 24 && minute < 60) || (hour == 24 && minute == 0)).then_some(Hhmm { hour, minute })
    }
}

impl fmt::Display for Hhmm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}{:02}", self.hour, self.minute)
    }
}

/// The 14-digit ファイル連番 `YYYYMMDDHHMMSS` shared by the files of one send unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileSeq {
    /// Date part.
    pub date: Date,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute.
    pub minute: u8,
    /// Second.
    pub second: u8,
}

impl FileSeq {
    /// Parses the 14 digits and checks the calendar.
    pub fn parse(s: &str) -> Option<FileSeq> {
        if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let date = Date::parse(&s[..8])?;
        let n = |r: std::ops::Range<usize>| s[r].parse::<u8>().ok();
        let (hour, minute, second) = (n(8..10)?, n(10..12)?, n(12..14)?);
        (hour < 24 && minute < 60 && second < 60).then_some(FileSeq { date, hour, minute, second })
    }
}

impl fmt::Display for FileSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:02}{:02}{:02}", self.date, self.hour, self.minute, self.second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_checks() {
        assert!(Date::parse("20240229").is_some());
        assert!(Date::parse("20250229").is_none());
        assert!(Date::parse("19000229").is_none());
        assert!(Date::parse("20000229").is_some());
        assert!(Date::parse("20250431").is_none());
        assert!(YearMonth::parse("202513").is_none());
        assert!(YearMonth::parse("202500").is_none());
        assert!(FileSeq::parse("20250230182009").is_none());
        assert!(FileSeq::parse("20191025246201").is_none());
        assert_eq!(FileSeq::parse("20250317182009").unwrap().to_string(), "20250317182009");
        assert!(Hhmm::parse("2400").is_some());
        assert!(Hhmm::parse("2401").is_none());
        assert!(Hhmm::parse("9999").is_none());
        assert_eq!(YearMonth::parse("202412").unwrap().next().to_string(), "202501");
    }
}
