//! A realistic office registry: per-prefecture counts from the national 2023 figures
//! (`data/prefecture_offices_2023-11-06.tsv`, 181,566 offices, 8,283 using the national system),
//! scaled as needed, with valid 事業所番号.

use renkei_spec::ids::OfficeNumber;

/// One prefecture's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefectureFigure {
    /// 都道府県コード (1–47).
    pub code: u8,
    /// Name as in the source table (北海道, 青森, …).
    pub name: String,
    /// Care offices.
    pub offices: u32,
    /// Offices using the national system on 2023-11-06.
    pub using: u32,
}

/// The 47 prefectures' figures of 2023-11-06.
pub fn prefecture_figures() -> Vec<PrefectureFigure> {
    include_str!("../data/prefecture_offices_2023-11-06.tsv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some(PrefectureFigure {
                code: f.first()?.parse().ok()?,
                name: (*f.get(1)?).to_owned(),
                offices: f.get(2)?.parse().ok()?,
                using: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

const KINDS: [&str; 8] = ["43", "11", "15", "13", "16", "21", "17", "32"];

/// The `i`-th office number of a prefecture (valid check digit; the 3rd and 4th digits keep
/// registry offices apart from the demo offices).
pub fn registry_number(prefecture: u8, i: u32) -> String {
    OfficeNumber::from_body(&format!("{prefecture:02}{:07}", 5_000_000 + i)).expect("valid body").to_string()
}

/// A registry CSV (UTF-8, with a header) with `counts(figure)` offices per prefecture.
pub fn registry_csv(figures: &[PrefectureFigure], counts: impl Fn(&PrefectureFigure) -> u32) -> Vec<u8> {
    let mut out = String::from("事業所番号,事業所名,サービス種類コード,都道府県コード,所在地\n");
    for f in figures {
        for i in 0..counts(f) {
            let kind = KINDS[(i as usize) % KINDS.len()];
            out.push_str(&format!(
                "{},{}第{}事業所,{kind},{:02},{}市{}丁目\n",
                registry_number(f.code, i),
                f.name,
                i + 1,
                f.code,
                f.name,
                i % 50 + 1
            ));
        }
    }
    out.into_bytes()
}
