//! The office registry the operator imports: every care office (the national 介護事業所 list, or a
//! prefecture's), the denominator of 利用状況 and the addresses in the public list.
//!
//! Format (UTF-8 or MS932, lenient on input): one office per line,
//! `事業所番号,事業所名,サービス種類コード[,都道府県コード][,所在地]`; an optional header line
//! starting with 「事業所番号」. The 都道府県コード, when given, must agree with the number's first two
//! digits. Every bad line is reported with its line, item, value and rule, in Japanese, and left
//! out; the good lines are imported.
//!
//! The registry is the truth about which offices exist: a number whose check digit fails (real,
//! published numbers do) is kept and listed as a warning, never refused.

use crate::store::{RegistryRow, Store};
use renkei_spec::ids::{OfficeNumber, ServiceKind};

/// One refused line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Physical line.
    pub line: u32,
    /// The item at fault (Japanese).
    pub item: &'static str,
    /// The value as given.
    pub value: String,
    /// Why (Japanese).
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}行目 「{}」 {}: {}", self.line, self.item, self.value, self.message)
    }
}

/// A registry file read: the rows to import, the refused lines and the kept lines worth a look.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedRegistry {
    /// Rows to import.
    pub rows: Vec<RegistryRow>,
    /// Refused lines.
    pub errors: Vec<RowError>,
    /// Kept lines with a warning (a check digit that fails).
    pub warnings: Vec<RowError>,
}

/// Parses a registry file into rows, per-line errors and per-line warnings.
pub fn parse(bytes: &[u8]) -> ParsedRegistry {
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(t) => t.to_owned(),
        Err(_) => renkei_spec::ms932::decode(bytes).text,
    };
    let table = renkei_spec::csv::read(&text);
    let mut rows = Vec::with_capacity(table.records.len());
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, r) in table.records.iter().enumerate() {
        let f: Vec<String> = r.fields.iter().map(|x| x.value.trim().to_owned()).collect();
        let get = |k: usize| f.get(k).cloned().unwrap_or_default();
        if i == 0 && get(0).starts_with("事業所番号") {
            continue;
        }
        if f.iter().all(String::is_empty) {
            continue;
        }
        let err = |item: &'static str, value: String, message: String| RowError { line: r.line, item, value, message };
        if f.len() < 3 {
            errors.push(err(
                "行",
                f.join(","),
                format!("項目が {} 個しかありません（事業所番号・事業所名・サービス種類コードが必要です）", f.len()),
            ));
            continue;
        }
        let number = match OfficeNumber::parse_shape(&get(0)) {
            Ok(n) => {
                if let Some(p) = n.check_digit_problem(false) {
                    warnings.push(err("事業所番号", get(0), format!("{}。台帳の番号として取り込みました", p.ja.trim_end_matches('。'))));
                }
                n.to_string()
            }
            Err(p) => {
                errors.push(err("事業所番号", get(0), p.ja));
                continue;
            }
        };
        let name = get(1);
        if name.is_empty() {
            errors.push(err("事業所名", name, "事業所名が空です".into()));
            continue;
        }
        let kind = match ServiceKind::parse(&get(2)) {
            Ok(k) if k.known().is_none() => {
                errors.push(err("サービス種類コード", get(2), "サービス種類コード表にないコードです".into()));
                continue;
            }
            Ok(k) => k.to_string(),
            Err(p) => {
                errors.push(err("サービス種類コード", get(2), p.ja));
                continue;
            }
        };
        let from_number: i32 = number[..2].parse().unwrap_or(0);
        if !(1..=47).contains(&from_number) {
            errors.push(err("事業所番号", number, format!("先頭2桁 {from_number:02} は都道府県コード（01〜47）ではありません")));
            continue;
        }
        let pref = get(3);
        if !pref.is_empty() && pref.parse::<i32>().ok() != Some(from_number) {
            errors.push(err("都道府県コード", pref, format!("事業所番号の先頭2桁（{from_number:02}）と一致しません")));
            continue;
        }
        if let Some(first) = seen.insert(number.clone(), r.line) {
            errors.push(err("事業所番号", number, format!("{first}行目と重複しています（後の行は取り込みません）")));
            continue;
        }
        rows.push(RegistryRow { number, name, kind, prefecture: from_number, address: get(4) });
    }
    // A warning about a line refused later (a duplicate) is not worth a second line.
    warnings.retain(|w| !errors.iter().any(|e| e.line == w.line));
    ParsedRegistry { rows, errors, warnings }
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines read (without the header).
    pub lines: usize,
    /// Offices imported (inserted or updated).
    pub imported: usize,
    /// Refused lines.
    pub errors: Vec<RowError>,
    /// Imported lines with a warning.
    pub warnings: Vec<RowError>,
}

/// A registry import running in the background (operator console), with its progress.
#[derive(Debug, Clone, Default)]
pub struct ImportJob {
    /// Who started it.
    pub by: String,
    /// Offices imported so far.
    pub done: usize,
    /// Offices to import (good lines).
    pub total: usize,
    /// Refused lines.
    pub errors: Vec<RowError>,
    /// Imported lines with a warning (a check digit that fails).
    pub warnings: Vec<RowError>,
    /// Finished (or failed, with `failure`).
    pub finished: bool,
    /// Why it stopped, if it failed.
    pub failure: Option<String>,
    /// Seconds taken, once finished.
    pub seconds: f64,
}

/// Parses and imports, in batches of `batch` rows; `progress(done, total)` after each batch.
pub async fn import(
    store: &Store,
    bytes: &[u8],
    now: i64,
    batch: usize,
    mut progress: impl FnMut(usize, usize),
) -> crate::store::Result<ImportReport> {
    let ParsedRegistry { rows, errors, warnings } = parse(bytes);
    let total = rows.len();
    let mut done = 0;
    for chunk in rows.chunks(batch.max(1)) {
        store.import_registry(chunk, now).await?;
        done += chunk.len();
        progress(done, total);
    }
    Ok(ImportReport { lines: total + errors.len(), imported: total, errors, warnings })
}

/// 都道府県 (JIS X 0401), index = code − 1.
pub const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// The prefecture name of a code (1–47).
pub fn prefecture_name(code: i32) -> &'static str {
    usize::try_from(code - 1).ok().and_then(|i| PREFECTURES.get(i)).copied().unwrap_or("不明")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_each_bad_line_and_keeps_the_good_ones() {
        let sapporo = OfficeNumber::from_body("017000001").unwrap().to_string();
        let csv = format!(
            "事業所番号,事業所名,サービス種類コード,都道府県コード,所在地\n\
                   1371000017,さくら居宅介護支援事業所,43,13,東京都千代田区\n\
                   1371000018,検証番号違い,43\n\
                   1372000024,,15\n\
                   1372000024,ひまわり,XX\n\
                   1373000031,あおば,11,14\n\
                   1372000024,ひまわりデイサービス,15\n\
                   1371000017,重複,43\n\
                   {sapporo},札幌の事業所,43\n\
                   \n\
                   短い行\n"
        );
        let ParsedRegistry { rows, errors, warnings } = parse(csv.as_bytes());
        let numbers: Vec<&str> = rows.iter().map(|r| r.number.as_str()).collect();
        // A number whose check digit fails is kept (the registry is the truth), with a warning.
        assert_eq!(numbers, ["1371000017", "1371000018", "1372000024", sapporo.as_str()]);
        assert_eq!((rows[0].prefecture, rows[0].address.as_str()), (13, "東京都千代田区"));
        assert_eq!(rows[3].prefecture, 1);
        let lines: Vec<(u32, &str)> = errors.iter().map(|e| (e.line, e.item)).collect();
        assert_eq!(lines, [(4, "事業所名"), (5, "サービス種類コード"), (6, "都道府県コード"), (8, "事業所番号"), (11, "行")]);
        assert!(errors[3].message.contains("2行目と重複"), "{}", errors[3]);
        let warned: Vec<(u32, &str)> = warnings.iter().map(|e| (e.line, e.value.as_str())).collect();
        assert_eq!(warned, [(3, "1371000018")]);
        assert!(warnings[0].message.contains("検証番号") && warnings[0].message.contains("取り込みました"), "{}", warnings[0]);
    }

    #[test]
    fn reads_ms932() {
        let text = "1371000017,さくら居宅介護支援事業所,43\r\n";
        let bytes = renkei_spec::ms932::encode(text, renkei_spec::ms932::Normalize::Never).unwrap();
        let ParsedRegistry { rows, errors, .. } = parse(&bytes);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows[0].name, "さくら居宅介護支援事業所");
    }
}
