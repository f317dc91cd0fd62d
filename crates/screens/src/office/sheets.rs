//! 帳票表示: a standard file as the paper form people know, the validator's findings marked on
//! the rows they concern; printable (A4 landscape). docs/forms.md says what each form shows.

use super::Layout;
use askama::Template;

/// One sheet of a form, as the page shows it.
#[derive(Debug, Clone)]
pub struct SheetV {
    /// サービス利用票（予定） / サービス提供票（実績）.
    pub title: &'static str,
    /// 2025年6月.
    pub month: String,
    /// 保険者番号.
    pub insurer: String,
    /// 被保険者番号.
    pub insured: String,
    /// 作成年月日.
    pub created_on: String,
    /// 居宅介護支援事業者.
    pub plan_office: String,
    /// 担当者.
    pub planner: String,
    /// The month's days (1..=30).
    pub days: Vec<u8>,
    /// The service lines.
    pub rows: Vec<RowV>,
}

/// One service line of a sheet.
#[derive(Debug, Clone)]
pub struct RowV {
    /// 提供時間帯.
    pub band: String,
    /// サービスコード.
    pub code: String,
    /// サービス事業者.
    pub provider: String,
    /// Times per day (empty for none).
    pub cells: Vec<String>,
    /// 合計.
    pub total: i64,
    /// The validator found something on one of its file lines.
    pub finding: bool,
}

/// One record of a form shown as its named items.
#[derive(Debug, Clone)]
pub struct RecordV {
    /// The file line it starts on.
    pub line: u32,
    /// (日本語項目名, value), empty items left out.
    pub items: Vec<(&'static str, String)>,
    /// The validator found something on its line.
    pub finding: bool,
}

/// One page of a form other than 第6表 (renkei_spec::form::Paper), as the page shows it.
#[derive(Debug, Clone)]
pub struct PaperV {
    /// 居宅サービス計画書（1）.
    pub title: String,
    /// The heading's labelled items.
    pub head: Vec<(String, String)>,
    /// Tables and boxes in the printed order.
    pub sections: Vec<SectionV>,
    /// The validator found something on one of its file lines.
    pub finding: bool,
}

/// A free-text box (`table` empty) or a table of a [`PaperV`].
#[derive(Debug, Clone)]
pub struct SectionV {
    /// The box's label or the table's caption.
    pub label: String,
    /// The box's text.
    pub text: String,
    /// The table, if it is one.
    pub table: Option<TableV>,
}

/// A table of a [`PaperV`].
#[derive(Debug, Clone)]
pub struct TableV {
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<PaperRowV>,
}

/// A row of a [`TableV`].
#[derive(Debug, Clone)]
pub struct PaperRowV {
    /// Its cells.
    pub cells: Vec<String>,
    /// `subtotal`, `total`, `computed` or empty (CSS class).
    pub class: &'static str,
    /// The validator found something on its file line.
    pub finding: bool,
}

/// 帳票表示.
#[derive(Debug, Template)]
#[template(path = "form.html")]
pub struct FormPage {
    /// The layout.
    pub l: Layout,
    /// The message page to go back to.
    pub back: String,
    /// The form.
    pub f: FormBody,
}

/// One file's form: what [`FormPage`] shows, and what a printed bundle repeats per file.
#[derive(Debug, Clone)]
pub struct FormBody {
    /// The file's name.
    pub file: String,
    /// The form's name (第6表).
    pub kind: String,
    /// The validator's findings (「3行目: …」).
    pub findings: Vec<String>,
    /// The sheets (第6表).
    pub sheets: Vec<SheetV>,
    /// The paper pages (every kind but 第6表).
    pub papers: Vec<PaperV>,
    /// The records as named items (every kind but 第6表; under the form, folded).
    pub records: Vec<RecordV>,
}

fn paper_view(p: renkei_spec::form::Paper, flagged: &std::collections::HashSet<u32>) -> PaperV {
    use renkei_spec::form::{RowKind, Section};
    let sections = p
        .sections
        .into_iter()
        .map(|s| match s {
            Section::Text { label, text } => SectionV { label, text, table: None },
            Section::Table(t) => SectionV {
                label: t.caption,
                text: String::new(),
                table: Some(TableV {
                    columns: t.columns,
                    rows: t
                        .rows
                        .into_iter()
                        .map(|r| PaperRowV {
                            finding: r.lines.iter().any(|l| flagged.contains(l)),
                            class: match r.kind {
                                RowKind::Detail => "",
                                RowKind::Subtotal => "subtotal",
                                RowKind::Total => "total",
                                RowKind::Computed => "computed",
                            },
                            cells: r.cells,
                        })
                        .collect(),
                }),
            },
        })
        .collect();
    PaperV { finding: p.lines.iter().any(|l| flagged.contains(l)), title: p.title, head: p.head, sections }
}

/// The files shown as a form (docs/forms.md): every standard CSV kind (not the family image).
pub fn has_form(kind: Option<&str>) -> bool {
    kind.and_then(renkei_spec::name::FileKind::from_prefix).is_some_and(|k| renkei_spec::form::layout_of(k).is_some())
}

/// The page of file `name`'s form ([`form_body`]), with the way `back`.
pub fn form_page(l: Layout, name: &str, bytes: &[u8], back: String) -> FormPage {
    FormPage { l, back, f: form_body(name, bytes) }
}

/// The form of file `name` with content `bytes`: read and checked by the validator
/// (`renkei_spec`), its findings listed and marked on the rows whose file lines they concern.
pub fn form_body(name: &str, bytes: &[u8]) -> FormBody {
    let report = renkei_spec::validate::check_file(name, bytes);
    let kind = report.kind;
    let sheets = match &report.records {
        Some(renkei_spec::validate::Records::Plan(r)) => renkei_spec::form::slip_sheets(r, false),
        Some(renkei_spec::validate::Records::Jsk(r)) => renkei_spec::form::slip_sheets(r, true),
        _ => Vec::new(),
    };
    let flagged: std::collections::HashSet<u32> = report.diagnostics.iter().filter_map(|x| x.line).collect();
    let findings = report
        .diagnostics
        .iter()
        .filter(|x| x.severity != renkei_spec::diag::Severity::Info)
        .map(|x| match x.line {
            Some(l) => format!("{l}行目: {}", x.message_in(renkei_spec::diag::Lang::Ja)),
            None => x.message_in(renkei_spec::diag::Lang::Ja).to_owned(),
        })
        .collect();
    let sheets: Vec<SheetV> = sheets
        .into_iter()
        .map(|s| SheetV {
            title: if s.actual { "サービス提供票（実績）" } else { "サービス利用票（予定）" },
            month: format!("{}年{}月", s.month.year, s.month.month),
            days: (1..=s.month.days()).collect(),
            rows: s
                .rows
                .iter()
                .map(|r| RowV {
                    band: if r.start.is_empty() { "—".into() } else { format!("{}〜{}", r.start, r.end) },
                    code: r.service_code.clone(),
                    provider: if r.provider_name.is_empty() {
                        r.provider.clone()
                    } else {
                        format!("{}（{}）", r.provider_name, r.provider)
                    },
                    cells: r.days.iter().map(|n| if *n == 0 { String::new() } else { n.to_string() }).collect(),
                    total: r.total,
                    finding: r.lines.iter().any(|l| flagged.contains(l)),
                })
                .collect(),
            insurer: s.insurer,
            insured: s.insured,
            created_on: renkei_spec::form::date_ja(&s.created_on),
            plan_office: s.plan_office.unwrap_or_default(),
            planner: s.planner.unwrap_or_default(),
        })
        .collect();
    let records = match kind {
        Some(k) if sheets.is_empty() => renkei_spec::form::item_records(k, bytes)
            .into_iter()
            .map(|r| RecordV { finding: flagged.contains(&r.line), line: r.line, items: r.items })
            .collect(),
        _ => Vec::new(),
    };
    let papers = match kind {
        Some(k) => renkei_spec::form::papers(k, bytes).into_iter().map(|p| paper_view(p, &flagged)).collect(),
        None => Vec::new(),
    };
    let kind = match kind {
        Some(renkei_spec::name::FileKind::UpPlan | renkei_spec::name::FileKind::UpJsk) => "第6表".to_owned(),
        Some(k) => k.name_ja().to_owned(),
        None => "標準仕様のファイルではありません".to_owned(),
    };
    FormBody { file: name.to_owned(), kind, findings, sheets, papers, records }
}
