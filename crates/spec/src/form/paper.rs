//! The paper layouts of every form other than 第6表: 第7表 with its subtotal and total lines
//! (and the detail lines' sums beside them), 居宅サービス計画書 1–3表, 利用者補足情報,
//! 利用者基本情報 with its 別表, 介護予防サービス・支援計画書 with its 別表, and the deletion
//! requests. Each is a [`Paper`]: a heading of labelled items, then the form's tables and
//! free-text boxes in the order the printed form has them. Items that no table or box of the
//! form takes are shown in the heading, so that nothing a reader needs goes unseen; only the
//! technical items (CSVバージョン, 更新業者コード, 識別子) are left out.

use crate::field::{Column, Format, columns_for};
use crate::name::{Family, FileKind};

/// One form page (one person's plan, one month's 第7表, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paper {
    /// The form's title as printed (居宅サービス計画書（1）).
    pub title: String,
    /// Labelled items of the heading (作成年月日, 利用者名, …), in the standard's order.
    pub head: Vec<(String, String)>,
    /// Tables and free-text boxes, in the printed order.
    pub sections: Vec<Section>,
    /// File lines of the records behind this page.
    pub lines: Vec<u32>,
}

/// A part of a [`Paper`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Section {
    /// A free-text box (総合的な援助の方針).
    Text {
        /// Its label.
        label: String,
        /// Its text (line breaks kept).
        text: String,
    },
    /// A table (第2表's needs and goals, 第7表's lines).
    Table(PaperTable),
}

/// A table of a [`Paper`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperTable {
    /// What it holds (「種類別支給限度」), empty for the form's main table.
    pub caption: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<PaperRow>,
}

/// One row of a [`PaperTable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperRow {
    /// One cell per column.
    pub cells: Vec<String>,
    /// What the row is.
    pub kind: RowKind,
    /// File lines behind it (none for a computed row).
    pub lines: Vec<u32>,
}

/// What a [`PaperRow`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A line of the file.
    Detail,
    /// A subtotal line of the file (第7表 種類別小計).
    Subtotal,
    /// The file's total line (第7表 全合計).
    Total,
    /// Computed here from the detail lines (第7表: 明細の計), to compare with the file's total.
    Computed,
}

/// One record with its items by name.
struct Rec {
    line: u32,
    items: Vec<(&'static Column, String)>,
}

/// Items never shown on a form.
const TECHNICAL: &[&str] = &["CSVバージョン", "更新業者コード", "識別子"];

impl Rec {
    fn raw(&self, name: &str) -> &str {
        self.items.iter().find(|(c, _)| c.name == name).map_or("", |(_, v)| v.trim())
    }
    fn show(&self, name: &str) -> String {
        self.items.iter().find(|(c, _)| c.name == name).map_or_else(String::new, |(c, v)| display(c, v.trim()))
    }
    fn num(&self, name: &str) -> i64 {
        self.raw(name).parse().unwrap_or(0)
    }
    /// The heading: every non-empty item not in `taken` and not technical.
    fn head(&self, taken: &[&str]) -> Vec<(String, String)> {
        self.items
            .iter()
            .filter(|(c, v)| !v.trim().is_empty() && !TECHNICAL.contains(&c.name) && !taken.contains(&c.name))
            .map(|(c, v)| (c.name.to_owned(), display(c, v.trim())))
            .collect()
    }
}

/// A value as a reader wants it: dates as 2025年5月25日, codes with their meaning.
fn display(c: &Column, raw: &str) -> String {
    if raw.is_empty() {
        return String::new();
    }
    match c.format {
        Format::Date | Format::DateOrZero if raw != "00000000" => super::date_ja(raw),
        Format::YearMonth | Format::YearMonthOrZero if raw != "000000" => match crate::calendar::YearMonth::parse(raw) {
            Some(m) => format!("{}年{}月", m.year, m.month),
            None => raw.to_owned(),
        },
        Format::Time if raw.len() == 4 => format!("{}:{}", &raw[..2], &raw[2..]),
        Format::Code(t) => match t.entries.iter().find(|(k, _)| *k == raw) {
            Some((_, m)) => format!("{m}（{raw}）"),
            None => raw.to_owned(),
        },
        _ => raw.to_owned(),
    }
}

fn records(kind: FileKind, bytes: &[u8]) -> Vec<Rec> {
    let Some(layout) = super::layout_of(kind) else { return Vec::new() };
    let text = crate::ms932::decode(bytes).text;
    let table = crate::csv::read(&text);
    table
        .records
        .iter()
        .map(|r| {
            let family = r
                .fields
                .first()
                .and_then(|f| f.value.trim().parse::<u32>().ok())
                .map_or(Family::V4, |v| crate::field::CsvVersion(v).family());
            Rec { line: r.line, items: columns_for(layout, family).zip(&r.fields).map(|((_, c), f)| (c, f.value.to_string())).collect() }
        })
        .collect()
}

/// Records grouped by `key`, groups in the order of their first record.
fn group<'a>(recs: &'a [Rec], key: &[&str]) -> Vec<Vec<&'a Rec>> {
    let mut groups: Vec<(Vec<&str>, Vec<&Rec>)> = Vec::new();
    for r in recs {
        let k: Vec<&str> = key.iter().map(|n| r.raw(n)).collect();
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(r),
            None => groups.push((k, vec![r])),
        }
    }
    groups.into_iter().map(|(_, v)| v).collect()
}

fn row(r: &Rec, cells: Vec<String>) -> PaperRow {
    PaperRow { cells, kind: RowKind::Detail, lines: vec![r.line] }
}

/// The form's free-text boxes, empty ones too (the printed form always has them).
fn texts(r: &Rec, names: &[&str]) -> Vec<Section> {
    names.iter().map(|n| Section::Text { label: (*n).to_owned(), text: r.show(n) }).collect()
}

fn table(caption: &str, columns: &[&str], rows: Vec<PaperRow>) -> Section {
    Section::Table(PaperTable { caption: caption.to_owned(), columns: columns.iter().map(|c| (*c).to_owned()).collect(), rows })
}

fn paper(title: &str, head: Vec<(String, String)>, sections: Vec<Section>, recs: &[&Rec]) -> Paper {
    Paper { title: title.to_owned(), head, sections, lines: recs.iter().map(|r| r.line).collect() }
}

/// The heading of a group: the first record's items outside `taken`, and later records' items
/// only where they differ from it (they are usually the same keys and dates).
fn group_head(g: &[&Rec], taken: &[&str]) -> Vec<(String, String)> {
    let mut head = g[0].head(taken);
    for r in &g[1..] {
        for (k, v) in r.head(taken) {
            if !head.iter().any(|(hk, hv)| *hk == k && *hv == v) {
                head.push((k, v));
            }
        }
    }
    head
}

/// The paper pages of a file of `kind` (every CSV kind but 第6表, which has its own grid in
/// [`super::slip_sheets`]); empty for 第6表 and the family image.
pub fn papers(kind: FileKind, bytes: &[u8]) -> Vec<Paper> {
    let recs = records(kind, bytes);
    if recs.is_empty() {
        return Vec::new();
    }
    use FileKind::*;
    match kind {
        UpSikyu => sikyu(&recs),
        Up1Kyo => recs.iter().map(kyo1).collect(),
        Up2Kyo => kyo2(&recs),
        Up3Kyo => kyo3(&recs),
        UpHosoku => recs.iter().map(hosoku).collect(),
        UpKihon => recs.iter().map(kihon).collect(),
        UpKihonSub1 => listed(
            &recs,
            "利用者基本情報（別表1）１日の生活・すごし方",
            &["保険者番号", "被保険者番号", "相談日"],
            &["時間", "本人の生活状況", "介護者・家族の生活状況"],
        ),
        UpKihonSub2 => listed(
            &recs,
            "利用者基本情報（別表2）現病歴・既往歴",
            &["保険者番号", "被保険者番号", "相談日"],
            &["年月日", "病名", "医療機関・医師名", "主治医・意見作成者フラグ", "医療機関・医師電話番号", "経過", "治療中の内容"],
        ),
        UpYobo => recs.iter().map(yobo).collect(),
        UpYoboSub => yobo_sub(&recs),
        Dlt1Kyo | DltPlan | DltJsk | DltKihon | DltYobo => vec![deletion(kind, &recs)],
        UpPlan | UpJsk | UpKihonImage => Vec::new(),
    }
}

/// A form whose records are the rows of one table per person (and key date).
fn listed(recs: &[Rec], title: &str, key: &[&str], columns: &[&str]) -> Vec<Paper> {
    group(recs, key)
        .into_iter()
        .map(|g| {
            let rows = g.iter().map(|r| row(r, columns.iter().map(|c| r.show(c)).collect())).collect();
            paper(title, group_head(&g, columns), vec![table("", columns, rows)], &g)
        })
        .collect()
}

const SIKYU_COLUMNS: &[(&str, &str)] = &[
    ("サービス単位金額", "サービス単位／金額"),
    ("給付管理単位数", "給付管理単位数"),
    ("種類支給限度基準超単位数", "種類支給限度基準を超える単位数"),
    ("種類支給限度基準内単位数", "種類支給限度基準内単位数"),
    ("区分支給限度基準超単位数", "区分支給限度基準を超える単位数"),
    ("区分支給限度基準内単位数", "区分支給限度基準内単位数"),
    ("単位数単価", "単位数単価"),
    ("費用総額保険／事業対象分", "費用総額（保険／事業対象分）"),
    ("給付率", "給付率（％）"),
    ("保険／事業費請求額", "保険／事業費請求額"),
    ("定額利用者負担単価金額", "定額利用者負担単価金額"),
    ("利用者負担保険／事業対象分", "利用者負担（保険／事業対象分）"),
    ("利用者負担（全額負担分）", "利用者負担（全額負担分）"),
];

/// The 第7表 columns whose total line is the sum of the detail lines.
const SIKYU_SUMS: &[&str] = &[
    "サービス単位金額",
    "給付管理単位数",
    "種類支給限度基準超単位数",
    "種類支給限度基準内単位数",
    "区分支給限度基準超単位数",
    "区分支給限度基準内単位数",
    "費用総額保険／事業対象分",
    "保険／事業費請求額",
    "利用者負担保険／事業対象分",
    "利用者負担（全額負担分）",
];

/// 第7表: one page per person and month; detail, subtotal and total lines as in the file, then
/// 明細の計 (the detail lines' sums), and the short-stay day counts where given.
fn sikyu(recs: &[Rec]) -> Vec<Paper> {
    let lead = ["事業所名", "事業所番号", "サービスコード", "単位数", "割引後率（％）", "割引後単位数", "回数／日数"];
    let mut columns: Vec<&str> = lead.to_vec();
    columns.extend(SIKYU_COLUMNS.iter().map(|(_, l)| *l));
    group(recs, &["保険者番号", "被保険者番号", "対象年月"])
        .into_iter()
        .map(|g| {
            let mut rows = Vec::new();
            let mut sums = vec![0i64; SIKYU_SUMS.len()];
            for r in &g {
                let code = r.raw("サービスコード");
                let kind = if code == "999999" {
                    RowKind::Total
                } else if code.len() == 6 && ["AAAA", "EEEE", "ZZZZ"].contains(&&code[2..]) {
                    RowKind::Subtotal
                } else {
                    RowKind::Detail
                };
                if kind == RowKind::Detail {
                    for (s, n) in sums.iter_mut().zip(SIKYU_SUMS) {
                        *s += r.num(n);
                    }
                }
                let service = match kind {
                    RowKind::Total => "合計".to_owned(),
                    RowKind::Subtotal => {
                        let what = match &code[2..] {
                            "AAAA" => "区分支給限度対象",
                            "EEEE" => "区分支給限度対象外",
                            _ => "30日超過分",
                        };
                        format!("種類{} 小計（{what}）", &code[..2])
                    }
                    _ => {
                        let name = r.raw("用具名称（機種名）");
                        if name.is_empty() { code.to_owned() } else { format!("{code} {name}") }
                    }
                };
                let office = r.raw("サービス事業所コード");
                let office = if office == "9999999999" {
                    String::new()
                } else {
                    let branch = r.raw("サテライト枝番");
                    if branch.is_empty() { office.to_owned() } else { format!("{office}-{branch}") }
                };
                let mut cells = vec![
                    r.show("サービス事業所名"),
                    office,
                    service,
                    r.show("単位数"),
                    r.show("割引後率"),
                    r.show("割引後単位数"),
                    r.show("回数／日数"),
                ];
                cells.extend(SIKYU_COLUMNS.iter().map(|(n, _)| r.show(n)));
                rows.push(PaperRow { cells, kind, lines: vec![r.line] });
            }
            let mut cells = vec![String::new(), String::new(), "明細の計（renkei が計算）".to_owned()];
            cells.extend(std::iter::repeat_n(String::new(), lead.len() - 3));
            cells.extend(SIKYU_COLUMNS.iter().map(|(n, _)| match SIKYU_SUMS.iter().position(|s| s == n) {
                Some(i) => sums[i].to_string(),
                None => String::new(),
            }));
            rows.push(PaperRow { cells, kind: RowKind::Computed, lines: Vec::new() });
            let mut sections = vec![table("", &columns, rows)];
            let days = ["前月までの利用日数", "当月の計画利用日数", "累積利用日数"];
            let day_rows: Vec<PaperRow> = g
                .iter()
                .filter(|r| days.iter().any(|d| !r.raw(d).is_empty()))
                .map(|r| {
                    row(
                        r,
                        [r.show("サービス事業所名"), r.raw("サービス事業所コード").to_owned()]
                            .into_iter()
                            .chain(days.iter().map(|d| r.show(d)))
                            .collect(),
                    )
                })
                .collect();
            if !day_rows.is_empty() {
                sections.push(table(
                    "短期入所の利用日数",
                    &["事業所名", "事業所番号", "前月までの利用日数", "当月の計画利用日数", "累積利用日数"],
                    day_rows,
                ));
            }
            let mut taken: Vec<&str> = vec![
                "サービス事業所名",
                "サービス事業所コード",
                "サテライト枝番",
                "サービスコード",
                "TAISコード",
                "福祉用具届出コード",
                "用具名称（機種名）",
                "単位数",
                "割引後率",
                "割引後単位数",
                "回数／日数",
                "３０日超区分",
                "事業所コード",
                "入力者コード",
            ];
            taken.extend(SIKYU_COLUMNS.iter().map(|(n, _)| *n));
            taken.extend(days);
            paper("第7表 サービス利用票別表", group_head(&g, &taken), sections, &g)
        })
        .collect()
}

/// 第1表: one page per plan.
fn kyo1(r: &Rec) -> Paper {
    let boxes =
        ["利用者及び家族の生活に対する意向を踏まえた課題分析の結果", "介護認定審査会の意見及びサービスの種類の指定", "総合的な援助の方針"];
    let mut sections = texts(r, &boxes);
    let reason = r.show("生活援助中心型の算定理由");
    if !reason.is_empty() || !r.raw("その他理由").is_empty() {
        let other = r.show("その他理由");
        let text = if other.is_empty() { reason } else { format!("{reason}　{other}") };
        sections.push(Section::Text { label: "生活援助中心型の算定理由".into(), text });
    }
    let mut taken = boxes.to_vec();
    taken.extend(["生活援助中心型の算定理由", "その他理由"]);
    paper("居宅サービス計画書（1）", r.head(&taken), sections, &[r])
}

fn numbered(recs: &mut [&Rec], keys: &[&str]) {
    recs.sort_by_key(|r| keys.iter().map(|k| r.raw(k).parse::<i64>().unwrap_or(i64::MAX)).collect::<Vec<_>>());
}

/// 第2表: one page per plan, one row per 援助内容, in 課題・目標・内容 order.
fn kyo2(recs: &[Rec]) -> Vec<Paper> {
    let columns = [
        "生活全般の解決すべき課題（ニーズ）",
        "長期目標",
        "（期間）",
        "短期目標",
        "（期間）",
        "サービス内容",
        "※1",
        "サービス種別",
        "※2",
        "頻度",
        "期間",
    ];
    group(recs, &["保険者番号", "被保険者番号", "居宅サービス計画作成（変更）日"])
        .into_iter()
        .map(|mut g| {
            numbered(&mut g, &["課題ＮＯ", "援助目標ＮＯ", "援助内容ＮＯ"]);
            let rows = g
                .iter()
                .map(|r| {
                    let covered = if r.raw("保険対象区分") == "Y" { "○".to_owned() } else { String::new() };
                    let office = match (r.raw("サービス事業所名"), r.raw("サービス事業者コード")) {
                        ("", c) => c.to_owned(),
                        (n, "") => n.to_owned(),
                        (n, c) => format!("{n}（{c}）"),
                    };
                    row(
                        r,
                        vec![
                            r.show("課題"),
                            r.show("長期目標"),
                            r.show("長期期間"),
                            r.show("短期目標"),
                            r.show("短期期間"),
                            r.show("サービス内容"),
                            covered,
                            r.show("サービス種別"),
                            office,
                            r.show("頻度"),
                            r.show("実施期間"),
                        ],
                    )
                })
                .collect();
            let taken = [
                "課題ＮＯ",
                "課題",
                "援助目標ＮＯ",
                "長期目標",
                "短期目標",
                "長期期間",
                "短期期間",
                "援助内容ＮＯ",
                "サービス内容",
                "保険対象区分",
                "サービス種別",
                "サービス事業者コード",
                "サービス事業所名",
                "頻度",
                "実施期間",
            ];
            let note = Section::Text {
                label: "注".into(),
                text: "※1 保険給付の対象となるサービスに○を付けています。※2 そのサービスを提供する事業所です。".into(),
            };
            paper("居宅サービス計画書（2）", group_head(&g, &taken), vec![table("", &columns, rows), note], &g)
        })
        .collect()
}

/// One time band of 第3表: (start, end), the texts of each column, the lines they came from.
type Band = ((String, String), Vec<Vec<String>>, Vec<u32>);

/// 第3表 週間サービス計画表: a row per time band, a column per weekday, then 主な日常生活上の活動;
/// 週単位以外のサービス below.
fn kyo3(recs: &[Rec]) -> Vec<Paper> {
    let columns = ["時間", "月", "火", "水", "木", "金", "土", "日", "主な日常生活上の活動"];
    group(recs, &["保険者番号", "被保険者番号", "居宅サービス計画作成（変更）日"])
        .into_iter()
        .map(|g| {
            // (start, end) → cells and lines.
            let mut bands: Vec<Band> = Vec::new();
            let mut put = |start: String, end: String, col: usize, what: String, line: u32| {
                let i = match bands.iter().position(|(k, _, _)| k.0 == start && k.1 == end) {
                    Some(i) => i,
                    None => {
                        bands.push(((start, end), vec![Vec::new(); columns.len() - 1], Vec::new()));
                        bands.len() - 1
                    }
                };
                bands[i].1[col].push(what);
                bands[i].2.push(line);
            };
            let mut other = Vec::new();
            for r in &g {
                let service = r.show("介護サービス内容");
                if !service.is_empty() {
                    let day = r.raw("曜日").parse::<usize>().ok().filter(|d| (1..=7).contains(d));
                    match day {
                        Some(d) => put(r.show("開始時間"), r.show("終了時間"), d - 1, service, r.line),
                        None => other.push(service),
                    }
                }
                let activity = r.show("主な日常生活上の活動");
                if !activity.is_empty() {
                    put(r.show("開始時間（活動）"), r.show("終了時間（活動）"), 7, activity, r.line);
                }
                let weekly = r.show("週単位以外のサービス");
                if !weekly.is_empty() {
                    other.push(weekly);
                }
            }
            bands.sort_by(|a, b| a.0.cmp(&b.0));
            let rows = bands
                .into_iter()
                .map(|((s, e), cells, lines)| {
                    let band = if s.is_empty() && e.is_empty() { String::new() } else { format!("{s}〜{e}") };
                    PaperRow {
                        cells: std::iter::once(band).chain(cells.into_iter().map(|c| c.join("\n"))).collect(),
                        kind: RowKind::Detail,
                        lines,
                    }
                })
                .collect();
            let mut sections = vec![table("", &columns, rows)];
            if !other.is_empty() {
                sections.push(Section::Text { label: "週単位以外のサービス".into(), text: other.join("\n") });
            }
            let taken = [
                "介護サービス内容",
                "曜日",
                "開始時間",
                "終了時間",
                "主な日常生活上の活動",
                "開始時間（活動）",
                "終了時間（活動）",
                "週単位以外のサービス",
            ];
            paper("週間サービス計画表（第3表）", group_head(&g, &taken), sections, &g)
        })
        .collect()
}

/// 利用者補足情報: the person, the certification and limits, and the 種類別支給限度 table.
fn hosoku(r: &Rec) -> Paper {
    let digits = ["１", "２", "３", "４", "５", "６", "７", "８", "９"];
    let mut taken = Vec::new();
    let rows = digits
        .iter()
        .filter_map(|d| {
            let names = ["サービス種類コード", "支給限度基準額", "合計単位数", "限度超単位数"].map(|n| format!("{d}{n}"));
            (!r.raw(&names[0]).is_empty()).then(|| row(r, names.iter().map(|n| r.show(n)).collect()))
        })
        .collect::<Vec<_>>();
    let names: Vec<String> = digits
        .iter()
        .flat_map(|d| ["サービス種類コード", "支給限度基準額", "合計単位数", "限度超単位数"].map(|n| format!("{d}{n}")))
        .collect();
    taken.extend(names.iter().map(String::as_str));
    let mut sections = Vec::new();
    if !rows.is_empty() {
        sections.push(table("種類支給限度", &["サービス種類", "種類支給限度基準額", "合計単位数", "種類支給限度基準を超える単位数"], rows));
    }
    paper("利用者補足情報", r.head(&taken), sections, &[r])
}

/// 利用者基本情報: the heading items, 緊急連絡先 as a table, and the life-story boxes.
fn kihon(r: &Rec) -> Paper {
    let fields = ["氏名", "続柄", "住所", "電話番号"];
    let names: Vec<String> = (1..=4).flat_map(|i| fields.map(|f| format!("{i} 緊急連絡先({f})"))).collect();
    let rows: Vec<PaperRow> =
        names.chunks(4).filter(|c| c.iter().any(|n| !r.raw(n).is_empty())).map(|c| row(r, c.iter().map(|n| r.show(n)).collect())).collect();
    let boxes = [
        "家族関係等の状況",
        "今までの生活",
        "１日の生活・すごし方(生活全般)",
        "趣味・楽しみ・特技",
        "友人・地域との関係",
        "現在利用している公的サービス",
        "現在利用している非公的サービス",
    ];
    let mut sections = Vec::new();
    if !rows.is_empty() {
        sections.push(table("緊急連絡先", &fields, rows));
    }
    sections.extend(texts(r, &boxes));
    let mut taken: Vec<&str> = names.iter().map(String::as_str).collect();
    taken.extend(boxes);
    paper("利用者基本情報", r.head(&taken), sections, &[r])
}

/// 介護予防サービス・支援計画書: 目標とする生活, the four アセスメント領域, the checklist
/// counts, then the policy boxes.
fn yobo(r: &Rec) -> Paper {
    let areas = ["運動・移動", "日常生活(家庭生活)", "社会参加、対人関係・コミュニケーション", "健康管理"];
    let parts = ["現在の状況", "本人・家族の意欲・意向", "領域における課題の有無", "領域における課題（背景・原因）"];
    let mut taken: Vec<String> = areas.iter().flat_map(|a| parts.map(|p| format!("【{a}】{p}"))).collect();
    let rows = areas
        .iter()
        .map(|a| row(r, std::iter::once((*a).to_owned()).chain(parts.iter().map(|p| r.show(&format!("【{a}】{p}")))).collect()))
        .collect();
    let topics = ["運動不足", "栄養改善", "口腔内ケア", "閉じこもり予防", "物忘れ予防", "うつ予防"];
    let checks: Vec<PaperRow> = [("基本チェックリストの該当数", "該当数"), ("事業プログラムの要否", "プログラムの要否")]
        .iter()
        .map(|(item, label)| {
            taken.extend(topics.iter().map(|t| format!("{item}({t})")));
            row(r, std::iter::once((*label).to_owned()).chain(topics.iter().map(|t| r.show(&format!("{item}({t})")))).collect())
        })
        .collect();
    let first = ["目標とする生活(1日)", "目標とする生活(1年)"];
    let last = ["健康状態の留意点", "妥当な支援の実施に向けた方針", "総合的な方針", "地域包括支援センター意見"];
    let mut sections = texts(r, &first);
    sections.push(table("アセスメント領域と現在の状況", &[&["アセスメント領域"][..], &parts].concat(), rows));
    if checks.iter().any(|c| c.cells[1..].iter().any(|x| !x.is_empty())) {
        let cols: Vec<&str> = std::iter::once("").chain(topics).collect();
        sections.push(table("基本チェックリスト", &cols, checks));
    }
    sections.extend(texts(r, &last));
    let mut taken: Vec<&str> = taken.iter().map(String::as_str).collect();
    taken.extend(first);
    taken.extend(last);
    paper("介護予防サービス・支援計画書", r.head(&taken), sections, &[r])
}

/// 介護予防サービス・支援計画書（別表）支援計画: one page per plan, one row per line, in
/// 課題・支援計画・利用サービス order.
fn yobo_sub(recs: &[Rec]) -> Vec<Paper> {
    let items = [
        ("総合的課題", "総合的課題"),
        ("課題に対する目標と具体策の提案", "課題に対する目標と具体策の提案"),
        ("具体策についての意向本人・家族", "具体策についての意向（本人・家族）"),
        ("目標", "目標"),
        ("【支援計画】目標についての支援のポイント", "目標についての支援のポイント"),
        (
            "【支援計画】本人等のセルフケアや家族の支援、インフォーマルサービス（民間サービス）",
            "本人等のセルフケアや家族の支援、インフォーマルサービス",
        ),
        ("【支援計画】介護保険サービス又は地域支援事業（総合事業のサービス）", "介護保険サービス又は地域支援事業"),
        ("【利用サービス】サービス種別", "サービス種別"),
        ("【利用サービス】事業所(利用先)", "事業所（利用先）"),
        ("【利用サービス】期間", "期間"),
    ];
    let columns: Vec<&str> = items.iter().map(|(_, l)| *l).collect();
    group(recs, &["保険者番号", "被保険者番号", "計画作成(変更)日"])
        .into_iter()
        .map(|mut g| {
            numbered(&mut g, &["課題ＮＯ", "支援計画ＮＯ", "利用サービスＮＯ"]);
            let rows = g.iter().map(|r| row(r, items.iter().map(|(n, _)| r.show(n)).collect())).collect();
            let mut taken: Vec<&str> = items.iter().map(|(n, _)| *n).collect();
            taken.extend(["課題ＮＯ", "支援計画ＮＯ", "利用サービスＮＯ"]);
            paper("介護予防サービス・支援計画書（別表）支援計画", group_head(&g, &taken), vec![table("", &columns, rows)], &g)
        })
        .collect()
}

/// A deletion file: what it asks to delete, one row per record.
fn deletion(kind: FileKind, recs: &[Rec]) -> Paper {
    let columns: Vec<&str> = recs[0].items.iter().map(|(c, _)| c.name).filter(|n| !TECHNICAL.contains(n)).collect();
    let rows = recs.iter().map(|r| row(r, columns.iter().map(|c| r.show(c)).collect())).collect();
    let all: Vec<&Rec> = recs.iter().collect();
    paper(
        &format!("{}（削除の依頼）", kind.name_ja().trim_end_matches("_削除").trim_end_matches(" 削除")),
        Vec::new(),
        vec![table("削除するもの", &columns, rows)],
        &all,
    )
}

impl Paper {
    /// The page as text (for `renkei show`): the title, the heading's items, each table as
    /// 「｜」-separated lines and each box under its label.
    pub fn to_text(&self) -> String {
        let mut out = format!("■ {}\n", self.title);
        for (k, v) in &self.head {
            out.push_str(&format!("  {k}: {}\n", v.replace('\n', " ")));
        }
        for s in &self.sections {
            match s {
                Section::Text { label, text } => {
                    out.push_str(&format!("【{label}】\n"));
                    for l in text.lines() {
                        out.push_str(&format!("  {l}\n"));
                    }
                }
                Section::Table(t) => {
                    if !t.caption.is_empty() {
                        out.push_str(&format!("【{}】\n", t.caption));
                    }
                    out.push_str(&format!("  {}\n", t.columns.join("｜")));
                    for r in &t.rows {
                        let cells: Vec<String> = r.cells.iter().map(|c| c.replace('\n', " ")).collect();
                        out.push_str(&format!("  {}\n", cells.join("｜")));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(prefix: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/valid");
        let e = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .find(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with(prefix) && n.as_bytes().get(prefix.len()).is_some_and(u8::is_ascii_digit)
            })
            .unwrap_or_else(|| panic!("no {prefix} sample"));
        std::fs::read(e.path()).unwrap()
    }

    fn main_table(p: &Paper) -> &PaperTable {
        p.sections
            .iter()
            .find_map(|s| match s {
                Section::Table(t) => Some(t),
                Section::Text { .. } => None,
            })
            .expect("a table")
    }

    #[test]
    fn the_sikyu_sheet_shows_its_totals_and_the_detail_sums() {
        let pages = papers(FileKind::UpSikyu, &sample("UPSIKYU_"));
        assert!(!pages.is_empty());
        for p in &pages {
            let t = main_table(p);
            assert_eq!(t.columns.len(), t.rows[0].cells.len());
            let total = t.rows.iter().find(|r| r.kind == RowKind::Total).expect("the file's 合計 line");
            let computed = t.rows.last().unwrap();
            assert_eq!(computed.kind, RowKind::Computed);
            let col = t.columns.iter().position(|c| c == "サービス単位／金額").unwrap();
            // A valid file's total line equals the sum of its details.
            assert_eq!(total.cells[col], computed.cells[col], "{}", p.to_text());
            assert_eq!(total.cells[2], "合計");
            assert!(p.head.iter().any(|(k, v)| k == "対象年月" && v == "2025年6月"), "{:?}", p.head);
        }
    }

    #[test]
    fn the_sikyu_sums_count_detail_lines_only() {
        let csv = "202407,138461,9187788503,20250601,202506,,1378994089,,152611,,,,551,,,3,1000,1000,,,0,1000,10.90,10900,90,9810,,1090,0,,,,0,9999999999,,,\r\n\
                   202407,138461,9187788503,20250601,202506,,1378994089,,152612,,,,551,,,3,500,500,,,0,500,10.90,5450,90,4905,,545,0,,,,0,9999999999,,,\r\n\
                   202407,138461,9187788503,20250601,202506,,1378994089,,15AAAA,,,,0,,,,1500,1500,,,0,1500,,16350,,14715,,1635,0,,,,0,9999999999,,,\r\n\
                   202407,138461,9187788503,20250601,202506,,9999999999,,999999,,,,0,,,1,1500,1500,,,0,1500,,16350,,14715,,1635,0,,,,0,9999999999,,,\r\n";
        let pages = papers(FileKind::UpSikyu, csv.as_bytes());
        let t = main_table(&pages[0]);
        let kinds: Vec<RowKind> = t.rows.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [RowKind::Detail, RowKind::Detail, RowKind::Subtotal, RowKind::Total, RowKind::Computed]);
        assert_eq!(t.rows[2].cells[2], "種類15 小計（区分支給限度対象）");
        let col = t.columns.iter().position(|c| c == "サービス単位／金額").unwrap();
        assert_eq!(t.rows[4].cells[col], "1500", "the subtotal and total lines are not added again");
        assert_eq!(t.rows[4].lines, Vec::<u32>::new());
    }

    #[test]
    fn plan_tables_follow_the_printed_forms() {
        let one = papers(FileKind::Up1Kyo, &sample("UP1KYO_"));
        assert_eq!(one[0].title, "居宅サービス計画書（1）");
        assert!(one[0].sections.iter().any(|s| matches!(s, Section::Text { label, .. } if label == "総合的な援助の方針")));
        assert!(
            one[0].head.iter().any(|(k, v)| k == "認定状況区分" && v == "申請中（1）"),
            "codes read with their meaning: {:?}",
            one[0].head
        );
        let two = papers(FileKind::Up2Kyo, &sample("UP2KYO_"));
        let t = main_table(&two[0]);
        assert_eq!(t.columns[0], "生活全般の解決すべき課題（ニーズ）");
        assert!(t.rows.iter().any(|r| r.cells[6] == "○"), "※1 marks covered services");
        let three = papers(FileKind::Up3Kyo, &sample("UP3KYO_"));
        let t = main_table(&three[0]);
        assert_eq!(t.columns[1..8], ["月", "火", "水", "木", "金", "土", "日"]);
        let mut bands: Vec<&String> = t.rows.iter().map(|r| &r.cells[0]).collect();
        let n = bands.len();
        bands.dedup();
        assert_eq!(bands.len(), n, "one row per time band");
    }

    #[test]
    fn every_csv_sample_has_its_paper() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/valid");
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(kind) = super::super::sample_kind(&name) else { continue };
            let pages = papers(kind, &std::fs::read(e.path()).unwrap());
            match kind {
                FileKind::UpPlan | FileKind::UpJsk | FileKind::UpKihonImage => assert!(pages.is_empty()),
                _ => {
                    assert!(!pages.is_empty(), "{name}");
                    for p in &pages {
                        assert!(!p.lines.is_empty());
                        assert!(p.head.iter().all(|(k, _)| !TECHNICAL.contains(&k.as_str())), "{name}");
                        for s in &p.sections {
                            if let Section::Table(t) = s {
                                assert!(t.rows.iter().all(|r| r.cells.len() == t.columns.len()), "{name}: {}", p.to_text());
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn short_and_garbled_records_do_not_panic() {
        for kind in FileKind::ALL.iter().copied() {
            for input in [&b""[..], b"202407\r\n", b"x,y,z\r\n", b"202407,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\r\n", b"\xff\xfe,\x81"] {
                let _ = papers(kind, input);
            }
        }
    }
}
