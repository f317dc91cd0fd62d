//! Rendering check results: a Japanese table for people, JSON for machines, and the reference
//! listings (`rules`, `layout`).

use crate::scan::Checked;
use renkei_spec::diag::{Diagnostic, Lang, Rule, Severity};
use renkei_spec::field::columns_for;
use renkei_spec::name::{Family, FileKind};
use renkei_spec::records::*;
use renkei_spec::validate::{FileReport, Records};
use serde::Serialize;
use std::io::{self, Write};

/// Display width of a string in a terminal (East Asian wide characters count 2).
pub fn width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2460..=0x24FF | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

/// Pads (or cuts with `…`) to a display width.
pub fn fit(s: &str, w: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let total = width(s);
    for c in s.chars() {
        let cw = if is_wide(c) { 2 } else { 1 };
        if total > w && used + cw > w.saturating_sub(1) {
            out.push('…');
            used += 1;
            break;
        }
        if c == '\r' || c == '\n' {
            out.push('⏎');
            used += 1;
            continue;
        }
        out.push(c);
        used += cw;
    }
    out.push_str(&" ".repeat(w.saturating_sub(used)));
    out
}

fn describe(f: &FileReport, lang: Lang) -> String {
    let mut parts = Vec::new();
    match (f.kind, lang) {
        (Some(k), Lang::Ja) => parts.push(k.name_ja().to_owned()),
        (Some(k), Lang::En) => parts.push(k.prefix().to_owned()),
        (None, Lang::Ja) if !f.standard => parts.push("添付ファイル".into()),
        (None, Lang::En) if !f.standard => parts.push("attachment".into()),
        _ => {}
    }
    if let Some(fam) = f.family.filter(|_| f.kind.is_some_and(FileKind::is_csv)) {
        parts.push(match (fam, lang) {
            (Family::V4, Lang::Ja) => "4.1形式".into(),
            (Family::V3, Lang::Ja) => "旧形式".into(),
            (Family::V4, Lang::En) => "v4".into(),
            (Family::V3, Lang::En) => "v3".into(),
        });
    }
    if let Some(r) = &f.records {
        parts.push(match lang {
            Lang::Ja => format!("{}件", r.len()),
            Lang::En => format!("{} records", r.len()),
        });
    }
    parts.join(if lang == Lang::Ja { "・" } else { ", " })
}

fn sev(s: Severity, lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => s.label_ja(),
        Lang::En => s.label_en(),
    }
}

fn table(w: &mut dyn Write, diags: &[&Diagnostic], lang: Lang) -> io::Result<()> {
    let head = match lang {
        Lang::Ja => ["重要度", "行", "列", "項目", "値", "規則", "内容"],
        Lang::En => ["severity", "line", "col", "item", "value", "rule", "message"],
    };
    writeln!(
        w,
        "  {} {} {} {} {} {} {}",
        fit(head[0], 8),
        fit(head[1], 5),
        fit(head[2], 4),
        fit(head[3], 26),
        fit(head[4], 16),
        fit(head[5], 26),
        head[6]
    )?;
    let mut diags = diags.to_vec();
    diags.sort_by_key(|d| (d.line.unwrap_or(0), d.column.unwrap_or(0)));
    for d in diags {
        let line = d.line.map_or(String::new(), |l| l.to_string());
        let col = d.column.map_or(String::new(), |c| c.to_string());
        writeln!(
            w,
            "  {} {:>4}  {:>3}  {} {} {} {}",
            fit(sev(d.severity, lang), 8),
            line,
            col,
            fit(d.item.as_deref().unwrap_or(""), 26),
            fit(d.value.as_deref().unwrap_or(""), 16),
            fit(d.rule.id(), 26),
            d.message_in(lang),
        )?;
    }
    Ok(())
}

fn seq_display(s: &renkei_spec::calendar::FileSeq) -> String {
    format!("{}-{:02}-{:02} {:02}:{:02}:{:02}", s.date.year, s.date.month, s.date.day, s.hour, s.minute, s.second)
}

/// The human report.
pub fn human(w: &mut dyn Write, c: &Checked, lang: Lang) -> io::Result<()> {
    let ja = lang == Lang::Ja;
    writeln!(
        w,
        "{}",
        if ja {
            "renkei check — ケアプランデータ連携 標準仕様（4.1・旧形式）の検査"
        } else {
            "renkei check — care-plan data exchange standard (v4.1 and v3)"
        }
    )?;
    writeln!(w)?;
    for (f, path) in c.report.files.iter().zip(&c.paths) {
        let mine: Vec<&Diagnostic> =
            f.diagnostics.iter().chain(c.report.unit_diagnostics.iter().filter(|d| d.file.as_deref() == Some(&f.file))).collect();
        let mark = if mine.iter().any(|d| d.severity == Severity::Error) {
            if ja { "NG" } else { "ERR" }
        } else if mine.iter().any(|d| d.severity == Severity::Warning) {
            if ja { "注意" } else { "WARN" }
        } else {
            "OK"
        };
        let dup = c.report.files.iter().filter(|o| o.file == f.file).count() > 1;
        let path = if dup { format!("  ({})", path.display()) } else { String::new() };
        writeln!(w, "{} {}  {}{path}", fit(mark, 4), f.file, describe(f, lang))?;
        if !mine.is_empty() {
            table(w, &mine, lang)?;
            writeln!(w)?;
        }
    }
    writeln!(w)?;
    writeln!(w, "{}", if ja { "送信単位（取込順）" } else { "send units (import order)" })?;
    for (i, u) in c.report.units.iter().enumerate() {
        let party = |p: &renkei_spec::name::Party| match p.kind {
            Some(k) => format!("{}({})", p.office, k),
            None => p.office.to_string(),
        };
        let bad = u.files.iter().any(|&i| c.report.files[i].diagnostics.iter().any(|d| d.severity == Severity::Error))
            || c.report
                .unit_diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error && u.files.iter().any(|&i| d.file.as_deref() == Some(&c.report.files[i].file)));
        let label = if ja { u.kind.label_ja().to_owned() } else { format!("{:?}", u.kind) };
        writeln!(
            w,
            "  {:>3}  {}  {} → {}  {}  {}{}  {}",
            i + 1,
            seq_display(&u.seq),
            party(&u.sender),
            party(&u.receiver),
            label,
            u.files.len(),
            if ja { "ファイル" } else { " files" },
            if bad { if ja { "NG" } else { "ERR" } } else { "OK" }
        )?;
    }
    let t = c.report.tally();
    writeln!(w)?;
    if ja {
        writeln!(
            w,
            "結果: ファイル {}件・送信単位 {}件 — エラー {}件、警告 {}件、情報 {}件",
            c.report.files.len(),
            c.report.units.len(),
            t.errors,
            t.warnings,
            t.infos
        )?;
        writeln!(
            w,
            "{}",
            if t.errors > 0 {
                "エラーのあるファイルは、相手の介護ソフトで取り込めないおそれがあります。介護ソフトの出力を直してから送ってください。"
            } else if t.warnings > 0 {
                "エラーはありません。警告は相手のソフトによっては読み違いの原因になります。"
            } else {
                "問題はありません。"
            }
        )?;
    } else {
        writeln!(
            w,
            "result: {} files, {} send units — {} errors, {} warnings, {} infos",
            c.report.files.len(),
            c.report.units.len(),
            t.errors,
            t.warnings,
            t.infos
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonReport<'a> {
    tool: &'static str,
    version: &'static str,
    summary: JsonSummary,
    files: Vec<JsonFile<'a>>,
    units: Vec<JsonUnit>,
    diagnostics: Vec<&'a Diagnostic>,
}

#[derive(Serialize)]
struct JsonSummary {
    files: usize,
    units: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    file: &'a str,
    path: String,
    kind: Option<&'static str>,
    family: Option<Family>,
    records: Option<usize>,
    standard: bool,
    valid: bool,
}

#[derive(Serialize)]
struct JsonUnit {
    seq: String,
    sender: String,
    sender_kind: Option<String>,
    receiver: String,
    receiver_kind: Option<String>,
    kind: renkei_spec::unit::UnitKind,
    files: Vec<String>,
}

/// The machine report.
pub fn json(w: &mut dyn Write, c: &Checked) -> io::Result<()> {
    let t = c.report.tally();
    let r = JsonReport {
        tool: "renkei check",
        version: env!("CARGO_PKG_VERSION"),
        summary: JsonSummary {
            files: c.report.files.len(),
            units: c.report.units.len(),
            errors: t.errors,
            warnings: t.warnings,
            infos: t.infos,
        },
        files: c
            .report
            .files
            .iter()
            .zip(&c.paths)
            .map(|(f, p)| JsonFile {
                file: &f.file,
                path: p.display().to_string(),
                kind: f.kind.map(FileKind::prefix),
                family: f.family,
                records: f.records.as_ref().map(Records::len),
                standard: f.standard,
                valid: f.is_valid(),
            })
            .collect(),
        units: c
            .report
            .units
            .iter()
            .map(|u| JsonUnit {
                seq: u.seq.to_string(),
                sender: u.sender.office.to_string(),
                sender_kind: u.sender.kind.map(|k| k.to_string()),
                receiver: u.receiver.office.to_string(),
                receiver_kind: u.receiver.kind.map(|k| k.to_string()),
                kind: u.kind,
                files: u.files.iter().map(|&i| c.report.files[i].file.clone()).collect(),
            })
            .collect(),
        diagnostics: c.report.diagnostics().collect(),
    };
    serde_json::to_writer_pretty(&mut *w, &r)?;
    writeln!(w)
}

/// The rule catalogue.
pub fn rules(w: &mut dyn Write, lang: Lang) -> io::Result<()> {
    for r in Rule::ALL {
        let title = if lang == Lang::Ja { r.title_ja() } else { r.title_en() };
        writeln!(w, "{} {} {}", fit(r.id(), 34), fit(sev(r.default_severity(), lang), 8), title)?;
    }
    Ok(())
}

/// The column layout of a file kind.
pub fn layout(w: &mut dyn Write, prefix: &str, v3: bool) -> anyhow::Result<()> {
    let kind = FileKind::from_prefix(&prefix.to_ascii_uppercase())
        .ok_or_else(|| anyhow::anyhow!("「{prefix}」はファイル種別ではありません（UPPLAN, UPHOSOKU, UP1KYO など）/ unknown file kind"))?;
    let family = if v3 { Family::V3 } else { Family::V4 };
    if v3 && kind.v4_only() {
        anyhow::bail!("{}（{}）は旧形式にはありません / not in the v3 standard", kind.name_ja(), kind.prefix());
    }
    let cols = match kind {
        FileKind::UpHosoku => HOSOKU,
        FileKind::Up1Kyo => KYO1,
        FileKind::Dlt1Kyo => DLT1KYO,
        FileKind::Up2Kyo => KYO2,
        FileKind::Up3Kyo => KYO3,
        FileKind::UpPlan | FileKind::UpJsk => SLIP,
        FileKind::DltPlan => DLTPLAN,
        FileKind::DltJsk => DLTJSK,
        FileKind::UpSikyu => SIKYU,
        FileKind::UpKihon => KIHON,
        FileKind::DltKihon => DLTKIHON,
        FileKind::UpKihonSub1 => KIHON_SUB1,
        FileKind::UpKihonSub2 => KIHON_SUB2,
        FileKind::UpYobo => YOBO,
        FileKind::UpYoboSub => YOBO_SUB,
        FileKind::DltYobo => DLTYOBO,
        FileKind::UpKihonImage => anyhow::bail!("家族構成画像（JPEG）には項目がありません / the image has no columns"),
    };
    writeln!(w, "{}（{}）{}", kind.name_ja(), kind.prefix(), if v3 { "旧形式" } else { "4.1形式" })?;
    writeln!(w, "{} {} {} {} 書式", fit("No.", 4), fit("項目名", 40), fit("桁数", 6), fit("必須", 4))?;
    for (pos, c) in columns_for(cols, family) {
        let len = c.len_for(family).map_or("—".to_owned(), |l| format!("{l}{}", if c.soft_len { "?" } else { "" }));
        writeln!(
            w,
            "{} {} {} {} {}",
            fit(&pos.to_string(), 4),
            fit(c.name, 40),
            fit(&len, 6),
            fit(if c.required { "○" } else { "" }, 4),
            c.format.describe_ja()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(width("対象年月"), 8);
        assert_eq!(width("ｶﾅ"), 2);
        assert_eq!(fit("対象年月", 6), "対象… ");
        assert_eq!(width(&fit("サービス利用日", 10)), 10);
        assert_eq!(fit("ab", 4), "ab  ");
    }
}
