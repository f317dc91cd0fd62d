//! The CSV dialect of the standard: comma-separated, free text in `"…"` with `""` escapes and
//! embedded line breaks kept, no header row.
//!
//! The reader is tolerant (CRLF, LF or CR; missing final newline; blank lines; quotes on any
//! field) and reports what it tolerated. It keeps, for every field, whether it was quoted, so
//! the validator can flag free text written without quotes. The writer is strict: CRLF after
//! every record, quotes on free text only.

use crate::diag::{Problem, Rule};
use std::borrow::Cow;

/// One field as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawField<'a> {
    /// The value, unescaped.
    pub value: Cow<'a, str>,
    /// It was enclosed in `"`.
    pub quoted: bool,
}

/// One record as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// Physical line where the record starts (1-based).
    pub line: u32,
    /// Fields in order.
    pub fields: Vec<RawField<'a>>,
}

/// A syntax finding with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxIssue {
    /// Physical line (1-based).
    pub line: u32,
    /// What.
    pub problem: Problem,
}

/// Line-ending statistics of a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineEndings {
    /// `\r\n` record terminators.
    pub crlf: u32,
    /// `\n` record terminators.
    pub lf: u32,
    /// `\r` record terminators.
    pub cr: u32,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table<'a> {
    /// Records (blank lines removed).
    pub records: Vec<RawRecord<'a>>,
    /// Syntax findings.
    pub issues: Vec<SyntaxIssue>,
    /// Line endings seen between records.
    pub endings: LineEndings,
    /// The last record had no line ending.
    pub missing_final_newline: bool,
}

/// Reads CSV text.
pub fn read(text: &str) -> Table<'_> {
    let b = text.as_bytes();
    let n = b.len();
    let mut records = Vec::new();
    let mut issues = Vec::new();
    let mut endings = LineEndings::default();
    let mut missing_final_newline = false;
    let mut pos = 0usize;
    let mut line = 1u32;

    while pos < n {
        let start_line = line;
        let mut fields: Vec<RawField<'_>> = Vec::new();
        let mut blank = true;
        loop {
            // One field.
            if pos < n && b[pos] == b'"' {
                blank = false;
                let field_line = line;
                pos += 1;
                let mut owned: Option<String> = None;
                let mut seg = pos;
                let value: Cow<'_, str>;
                loop {
                    match memchr_quote(b, pos) {
                        None => {
                            issues.push(SyntaxIssue {
                                line: field_line,
                                problem: Problem::new(
                                    Rule::CsvUnterminatedQuote,
                                    None,
                                    format!("{field_line}行目で始まる項目の引用符（\"）がファイルの最後まで閉じられていません"),
                                    format!("the quoted field starting on line {field_line} is never closed"),
                                ),
                            });
                            line += count_newlines(&b[seg..n]);
                            let tail = &text[seg..n];
                            value = match owned.take() {
                                Some(mut o) => {
                                    o.push_str(tail);
                                    Cow::Owned(o)
                                }
                                None => Cow::Borrowed(tail),
                            };
                            pos = n;
                            break;
                        }
                        Some(q) => {
                            line += count_newlines(&b[seg..q]);
                            if q + 1 < n && b[q + 1] == b'"' {
                                let o = owned.get_or_insert_with(String::new);
                                o.push_str(&text[seg..=q]);
                                pos = q + 2;
                                seg = pos;
                            } else {
                                let part = &text[seg..q];
                                value = match owned.take() {
                                    Some(mut o) => {
                                        o.push_str(part);
                                        Cow::Owned(o)
                                    }
                                    None => Cow::Borrowed(part),
                                };
                                pos = q + 1;
                                break;
                            }
                        }
                    }
                }
                let mut value = value;
                // Anything between the closing quote and the delimiter is an error; keep it.
                let after = pos;
                while pos < n && !matches!(b[pos], b',' | b'\r' | b'\n') {
                    pos += 1;
                }
                if pos > after {
                    let extra = &text[after..pos];
                    issues.push(SyntaxIssue {
                        line,
                        problem: Problem::new(
                            Rule::CsvTextAfterQuote,
                            Some(extra.to_owned()),
                            format!("閉じ引用符の後に「{extra}」があります。項目中の \" は \"\" と2つ重ねて書きます"),
                            format!("'{extra}' follows a closing quote; write a quote inside a field as \"\""),
                        ),
                    });
                    value.to_mut().push_str(extra);
                }
                fields.push(RawField { value, quoted: true });
            } else {
                let start = pos;
                while pos < n && !matches!(b[pos], b',' | b'\r' | b'\n') {
                    pos += 1;
                }
                let v = &text[start..pos];
                if !v.is_empty() {
                    blank = false;
                }
                if v.contains('"') {
                    issues.push(SyntaxIssue {
                        line,
                        problem: Problem::new(
                            Rule::CsvQuoteInUnquoted,
                            Some(v.to_owned()),
                            "\" を含む項目は全体を \" で囲み、中の \" は \"\" と書きます",
                            "a field containing \" must be quoted, with inner quotes doubled",
                        ),
                    });
                }
                fields.push(RawField { value: Cow::Borrowed(v), quoted: false });
            }
            // Delimiter or record end.
            if pos >= n {
                missing_final_newline = true;
                break;
            }
            match b[pos] {
                b',' => {
                    blank = false;
                    pos += 1;
                    if pos >= n {
                        fields.push(RawField { value: Cow::Borrowed(""), quoted: false });
                        missing_final_newline = true;
                        break;
                    }
                }
                b'\r' => {
                    if pos + 1 < n && b[pos + 1] == b'\n' {
                        endings.crlf += 1;
                        pos += 2;
                    } else {
                        endings.cr += 1;
                        pos += 1;
                    }
                    line += 1;
                    break;
                }
                _ => {
                    endings.lf += 1;
                    pos += 1;
                    line += 1;
                    break;
                }
            }
        }
        if blank && fields.len() == 1 {
            if !missing_final_newline {
                issues.push(SyntaxIssue {
                    line: start_line,
                    problem: Problem::new(
                        Rule::CsvBlankLine,
                        None,
                        format!("{start_line}行目の空行を読み飛ばしました"),
                        format!("blank line {start_line} skipped"),
                    ),
                });
            }
            missing_final_newline = false;
            continue;
        }
        records.push(RawRecord { line: start_line, fields });
    }
    Table { records, issues, endings, missing_final_newline }
}

fn memchr_quote(b: &[u8], from: usize) -> Option<usize> {
    b[from..].iter().position(|&c| c == b'"').map(|p| p + from)
}

/// Counts line breaks (CRLF, LF and lone CR each count once).
fn count_newlines(b: &[u8]) -> u32 {
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => n += 1,
            b'\r' if b.get(i + 1) != Some(&b'\n') => n += 1,
            _ => {}
        }
        i += 1;
    }
    n
}

/// Appends one record: fields joined by `,`, free text (and anything that needs it) quoted
/// with `""` escapes, terminated by CRLF.
pub fn write_record<'a>(out: &mut String, fields: impl IntoIterator<Item = (&'a str, bool)>) {
    let fields: Vec<(&str, bool)> = fields.into_iter().collect();
    // A record of one empty field would read back as a blank line: quote it.
    let lone_empty = fields.len() == 1 && fields[0].0.is_empty();
    for (i, &(v, free_text)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let needs = lone_empty || v.contains([',', '"', '\r', '\n']);
        if (free_text && !v.is_empty()) || needs {
            out.push('"');
            for c in v.chars() {
                if c == '"' {
                    out.push('"');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(v);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(t: &'a Table<'_>) -> Vec<Vec<&'a str>> {
        t.records.iter().map(|r| r.fields.iter().map(|f| f.value.as_ref()).collect()).collect()
    }

    #[test]
    fn quoting_and_embedded_newlines() {
        let t = read("a,\"x,\"\"y\"\"\r\nz\",c\r\nd,e,f\r\n");
        assert_eq!(values(&t), vec![vec!["a", "x,\"y\"\r\nz", "c"], vec!["d", "e", "f"]]);
        assert_eq!(t.records[1].line, 3);
        assert!(t.records[0].fields[1].quoted && !t.records[0].fields[0].quoted);
        assert!(t.issues.is_empty());
        assert_eq!(t.endings, LineEndings { crlf: 2, lf: 0, cr: 0 });
    }

    #[test]
    fn tolerant_reading() {
        let t = read("a,b\n\nc,\"d\"");
        assert_eq!(values(&t), vec![vec!["a", "b"], vec!["c", "d"]]);
        assert!(t.missing_final_newline);
        assert_eq!(t.issues[0].problem.rule, Rule::CsvBlankLine);
        let t = read("a,b,");
        assert_eq!(values(&t), vec![vec!["a", "b", ""]]);
    }

    #[test]
    fn syntax_errors_are_located() {
        let t = read("a,b\r\nc,\"d\"x,e\r\nf,\"open\r\n");
        let got: Vec<_> = t.issues.iter().map(|i| (i.line, i.problem.rule)).collect();
        assert_eq!(got, vec![(2, Rule::CsvTextAfterQuote), (3, Rule::CsvUnterminatedQuote)]);
        let t = read("a,b\"c\r\n");
        assert_eq!(t.issues[0].problem.rule, Rule::CsvQuoteInUnquoted);
    }

    #[test]
    fn writer_round_trips() {
        let mut s = String::new();
        write_record(&mut s, [("202407", false), ("言う\"こと\",\r\n改行", true), ("", true), ("", false)]);
        assert_eq!(s, "202407,\"言う\"\"こと\"\",\r\n改行\",,\r\n");
        let t = read(&s);
        assert_eq!(values(&t), vec![vec!["202407", "言う\"こと\",\r\n改行", "", ""]]);
    }
}
