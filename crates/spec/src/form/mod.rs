//! The paper forms people know, built from a file's records: what a 提供票 *says*, for checking
//! before import, retyping, printing or posting to a partner not on the system. One model per
//! form, shared by every screen that shows it (the local client, the hub's mailbox, `renkei
//! show`), so that they cannot drift.
//!
//! So far: 第6表 (サービス利用票 予定 / 実績) as its monthly grid of days, one sheet per person
//! and month, one row per service line (提供時間帯, サービス内容, 事業所), the number of
//! services on each day of the month and the row's total. Each row remembers the file lines it
//! came from, so that the validator's findings can be marked where they occur.

use crate::calendar::YearMonth;
use crate::field::{FieldValue as _, ServiceTime};
use crate::records::Slip;
use crate::validate::Located;

/// 第6表 for one person and one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlipSheet {
    /// 実績 (`true`) or 予定.
    pub actual: bool,
    /// 対象年月.
    pub month: YearMonth,
    /// 保険者番号.
    pub insurer: String,
    /// 被保険者番号.
    pub insured: String,
    /// 作成年月日 (`YYYYMMDD` as written; the latest of the person's records).
    pub created_on: String,
    /// 居宅介護支援事業者 (プラン担当業者コード), when given.
    pub plan_office: Option<String>,
    /// 担当者名, when given.
    pub planner: Option<String>,
    /// The service lines, in the order of their first record.
    pub rows: Vec<SlipRow>,
}

/// One service line of 第6表.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlipRow {
    /// 提供時間帯: start and end (`09:00`), or empty for services without a time (`9999`).
    pub start: String,
    /// End of the time band.
    pub end: String,
    /// サービスコード (6 characters).
    pub service_code: String,
    /// サービス事業者コード.
    pub provider: String,
    /// サービス事業所名, when given.
    pub provider_name: String,
    /// Services on each day of the month (index 0 is the 1st).
    pub days: Vec<i64>,
    /// The row's total.
    pub total: i64,
    /// File lines of the records behind this row.
    pub lines: Vec<u32>,
}

fn time(t: &ServiceTime) -> String {
    match t {
        ServiceTime::NoTime => String::new(),
        ServiceTime::At(_) => {
            let s = t.render_string();
            if s.len() == 4 { format!("{}:{}", &s[..2], &s[2..]) } else { s }
        }
    }
}

/// 第6表 from the records of an UPPLAN (`actual` = false) or UPJSK file: one sheet per person
/// and month, in the order people first appear.
pub fn slip_sheets(records: &[Located<Slip>], actual: bool) -> Vec<SlipSheet> {
    let mut sheets: Vec<SlipSheet> = Vec::new();
    for l in records {
        let r = &l.record;
        let (insurer, insured) = (r.insurer.render_string(), r.insured.render_string());
        let month = r.month;
        let i = match sheets.iter().position(|s| s.month == month && s.insurer == insurer && s.insured == insured) {
            Some(i) => i,
            None => {
                sheets.push(SlipSheet {
                    actual,
                    month,
                    insurer,
                    insured,
                    created_on: String::new(),
                    plan_office: None,
                    planner: None,
                    rows: Vec::new(),
                });
                sheets.len() - 1
            }
        };
        let sheet = &mut sheets[i];
        let created = r.created_on.render_string();
        if created > sheet.created_on {
            sheet.created_on = created;
        }
        if sheet.plan_office.is_none() {
            sheet.plan_office = r.plan_office.as_ref().map(|o| o.render_string());
        }
        if sheet.planner.is_none() {
            sheet.planner = r.planner.as_ref().map(|p| p.0.clone()).filter(|p| !p.is_empty());
        }
        let (start, end, service_code, provider) =
            (time(&r.start), time(&r.end), r.service_code.render_string(), r.provider.render_string());
        let days = usize::from(month.days());
        let row = match sheet
            .rows
            .iter()
            .position(|x| x.start == start && x.end == end && x.service_code == service_code && x.provider == provider)
        {
            Some(j) => &mut sheet.rows[j],
            None => {
                sheet.rows.push(SlipRow {
                    start,
                    end,
                    service_code,
                    provider,
                    provider_name: r.provider_name.as_ref().map(|n| n.0.clone()).unwrap_or_default(),
                    days: vec![0; days],
                    total: 0,
                    lines: Vec::new(),
                });
                sheet.rows.last_mut().expect("just pushed")
            }
        };
        // A record dated outside its 対象年月 is the validator's finding; the grid shows the
        // month's own days and counts the rest in the total only.
        if month.contains(&r.service_date) {
            row.days[usize::from(r.service_date.day) - 1] += r.count.0;
        }
        row.total += r.count.0;
        row.lines.push(l.line);
    }
    sheets
}

/// Columns `s` takes in a terminal: 2 for a full-width character, 1 for ASCII and half-width
/// katakana.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() || ('\u{ff61}'..='\u{ff9f}').contains(&c) { 1 } else { 2 }).sum()
}

/// `s` padded with spaces to `cols` terminal columns.
fn pad(s: &str, cols: usize) -> String {
    format!("{s}{}", " ".repeat(cols.saturating_sub(width(s))))
}

impl SlipSheet {
    /// The sheet as fixed-width text (for `renkei show` in a terminal): the heading, then one
    /// line per service line with a column per day and the total.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let title = if self.actual { "サービス提供票（実績）" } else { "サービス利用票（予定）" };
        let _ = writeln!(out, "第6表 {title}  {}年{}月分", self.month.year, self.month.month);
        let _ = writeln!(out, "保険者番号 {}  被保険者番号 {}  作成年月日 {}", self.insurer, self.insured, date_ja(&self.created_on));
        if let Some(o) = &self.plan_office {
            let _ = writeln!(out, "居宅介護支援事業者 {o}  担当者 {}", self.planner.as_deref().unwrap_or(""));
        }
        let days = usize::from(self.month.days());
        let _ = write!(out, "{} {} {} ", pad("提供時間帯", 11), pad("ｻｰﾋﾞｽ", 6), pad("事業所", 10));
        for d in 1..=days {
            let _ = write!(out, "{d:>2} ");
        }
        let _ = writeln!(out, " 計");
        for r in &self.rows {
            let band = if r.start.is_empty() { String::from("-") } else { format!("{}-{}", r.start, r.end) };
            let _ = write!(out, "{band:<11} {:<6} {:<10} ", r.service_code, r.provider);
            for n in &r.days {
                if *n == 0 {
                    out.push_str(" . ");
                } else {
                    let _ = write!(out, "{n:>2} ");
                }
            }
            let _ = writeln!(out, "{:>3}", r.total);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::date_ja;

    #[test]
    fn dates_read_as_people_write_them() {
        assert_eq!(date_ja("20250601"), "2025年6月1日");
        assert_eq!(date_ja("20251231"), "2025年12月31日");
        assert_eq!(date_ja("2025061"), "2025061", "not a date: as it is");
        assert_eq!(date_ja("20250230"), "20250230", "no such day: as it is");
    }

    use super::*;
    use crate::validate::{Records, check_file};

    fn sample(prefix: &str) -> (String, Vec<u8>) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/valid");
        let e = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} sample"));
        (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
    }

    #[test]
    fn the_plan_sample_becomes_its_monthly_grid() {
        let (name, bytes) = sample("UPPLAN_");
        let report = check_file(&name, &bytes);
        let Some(Records::Plan(records)) = &report.records else { panic!("{name}: no plan records") };
        let sheets = slip_sheets(records, false);
        assert!(!sheets.is_empty());
        // Every record lands in exactly one cell of one row; the totals add up to the file's.
        let counted: i64 = sheets.iter().flat_map(|s| &s.rows).map(|r| r.total).sum();
        let in_file: i64 = records.iter().map(|r| r.record.count.0).sum();
        assert_eq!(counted, in_file);
        let lines: usize = sheets.iter().flat_map(|s| &s.rows).map(|r| r.lines.len()).sum();
        assert_eq!(lines, records.len());
        for s in &sheets {
            for r in &s.rows {
                assert_eq!(r.days.len(), usize::from(s.month.days()));
                assert_eq!(r.days.iter().sum::<i64>(), r.total, "a valid file has no day outside its month");
            }
            let text = s.to_text();
            assert!(text.starts_with("第6表 サービス利用票（予定）"), "{text}");
            assert!(text.contains(&s.insured));
        }
    }

    #[test]
    fn the_text_grid_lines_up_in_a_terminal() {
        assert_eq!(width("提供時間帯"), 10);
        assert_eq!(width("ｻｰﾋﾞｽ"), 5);
        let (name, bytes) = sample("UPPLAN_");
        let report = check_file(&name, &bytes);
        let Some(Records::Plan(records)) = &report.records else { panic!() };
        let text = slip_sheets(records, false)[0].to_text();
        let grid: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("提供時間帯")).collect();
        assert!(grid.len() >= 2, "{text}");
        let cols: Vec<usize> = grid.iter().map(|l| width(l)).collect();
        assert!(cols.iter().all(|c| *c == cols[0]), "every line of the grid is as wide: {cols:?}\n{text}");
    }

    #[test]
    fn rows_group_by_time_band_service_and_provider() {
        let (name, bytes) = sample("UPJSK_");
        let report = check_file(&name, &bytes);
        let Some(Records::Jsk(records)) = &report.records else { panic!("{name}: no 実績 records") };
        let sheets = slip_sheets(records, true);
        for s in &sheets {
            assert!(s.actual);
            let mut keys: Vec<_> = s.rows.iter().map(|r| (&r.start, &r.end, &r.service_code, &r.provider)).collect();
            let n = keys.len();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), n, "one row per time band, service and provider");
            assert!(s.to_text().starts_with("第6表 サービス提供票（実績）"));
        }
    }
}

/// One record of a file as the items people read: (日本語項目名, value), empty items left out.
/// The form of every kind that has no layout of its own here (計画書 1–3表, 第7表, 利用者補足情報,
/// 利用者基本情報, 介護予防サービス・支援計画書, deletions): each record as its named items, in
/// the standard's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRecord {
    /// The file line the record starts on.
    pub line: u32,
    /// (日本語項目名, value) of the record's non-empty items.
    pub items: Vec<(&'static str, String)>,
}

impl ItemRecord {
    /// The record as text: a heading (its number `n` and file line), then 「項目名: 値」 per line.
    pub fn to_text(&self, n: usize) -> String {
        let mut out = format!("── {n}件目（ファイルの{}行目）\n", self.line);
        for (name, value) in &self.items {
            out.push_str(&format!("  {name}: {value}\n"));
        }
        out
    }
}

/// The v4 column table of a CSV file kind (`None` for the family image, which is a JPEG).
pub fn layout_of(kind: crate::name::FileKind) -> Option<&'static [crate::field::Column]> {
    use crate::name::FileKind::*;
    use crate::records::*;
    Some(match kind {
        UpHosoku => HOSOKU,
        Up1Kyo => KYO1,
        Dlt1Kyo => DLT1KYO,
        Up2Kyo => KYO2,
        Up3Kyo => KYO3,
        UpPlan | UpJsk => SLIP,
        DltPlan => DLTPLAN,
        DltJsk => DLTJSK,
        UpSikyu => SIKYU,
        UpKihon => KIHON,
        DltKihon => DLTKIHON,
        UpKihonSub1 => KIHON_SUB1,
        UpKihonSub2 => KIHON_SUB2,
        UpYobo => YOBO,
        UpYoboSub => YOBO_SUB,
        DltYobo => DLTYOBO,
        UpKihonImage => return None,
    })
}

/// Every record of a standard CSV file of `kind` as its named items, read leniently (MS932 or
/// UTF-8, any line ending; the family from the CSVバージョン): a record with more fields than its
/// layout shows the rest as 「（余分な項目 N）」, so that nothing in the file goes unseen.
pub fn item_records(kind: crate::name::FileKind, bytes: &[u8]) -> Vec<ItemRecord> {
    let Some(layout) = layout_of(kind) else { return Vec::new() };
    let text = crate::ms932::decode(bytes).text;
    let table = crate::csv::read(&text);
    let family = table
        .records
        .first()
        .and_then(|r| r.fields.first())
        .and_then(|f| f.value.parse::<u32>().ok())
        .map_or(crate::name::Family::V4, |v| crate::field::CsvVersion(v).family());
    let names: Vec<&'static str> = crate::field::columns_for(layout, family).map(|(_, c)| c.name).collect();
    table
        .records
        .iter()
        .map(|r| ItemRecord {
            line: r.line,
            items: r
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| !f.value.trim().is_empty())
                .map(|(i, f)| (names.get(i).copied().unwrap_or("（余分な項目）"), f.value.to_string()))
                .collect(),
        })
        .collect()
}

/// The kind a sample file's name gives: the longest prefix wins (UPKIHON_SUB1 before UPKIHON).
#[cfg(test)]
fn sample_kind(name: &str) -> Option<crate::name::FileKind> {
    crate::name::FileKind::ALL.iter().copied().filter(|k| name.starts_with(&format!("{}_", k.prefix()))).max_by_key(|k| k.prefix().len())
}

#[cfg(test)]
mod item_tests {
    use super::*;
    use crate::name::FileKind;

    #[test]
    fn every_csv_kind_reads_as_named_items() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/valid");
        let mut seen = 0;
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(kind) = sample_kind(&name) else { continue };
            if kind == FileKind::UpKihonImage {
                assert!(layout_of(kind).is_none());
                continue;
            }
            let recs = item_records(kind, &std::fs::read(e.path()).unwrap());
            assert!(!recs.is_empty(), "{name}");
            assert_eq!(recs[0].items[0].0, "CSVバージョン", "{name}");
            assert!(recs.iter().all(|r| r.items.iter().all(|(n, _)| *n != "（余分な項目）")), "{name}: every item named");
            seen += 1;
        }
        assert_eq!(seen, 18, "every CSV sample");
    }

    #[test]
    fn extra_fields_are_shown_not_dropped() {
        let recs = item_records(FileKind::Dlt1Kyo, b"202407,1,2,3,4,5,6\r\n");
        assert_eq!(recs.len(), 1);
        assert!(recs[0].items.iter().any(|(n, v)| *n == "（余分な項目）" && v == "6"), "{:?}", recs[0].items);
    }
}

pub mod paper;

/// A date of the standard (YYYYMMDD) as people write it: 2025年6月1日; anything else as it is.
pub fn date_ja(raw: &str) -> String {
    match crate::calendar::Date::parse(raw).filter(|_| raw.len() == 8) {
        Some(d) => format!("{}年{}月{}日", d.year, d.month, d.day),
        None => raw.to_owned(),
    }
}
pub use paper::{Paper, PaperRow, PaperTable, RowKind, Section, papers};
