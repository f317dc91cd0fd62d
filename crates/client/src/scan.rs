//! Collecting files from paths given on the command line.

use anyhow::{Context as _, bail};
use renkei_spec::Report;
use renkei_spec::diag::{Diagnostic, Problem, Rule};
use std::path::{Path, PathBuf};

/// A file to check.
#[derive(Debug)]
pub struct Input {
    /// Where it was found.
    pub path: PathBuf,
    /// Contents, or why they could not be read.
    pub contents: Result<Vec<u8>, String>,
}

/// Expands paths: files as given, folders recursively (sorted; hidden entries skipped).
/// A path that does not exist is an error (the command cannot run).
pub fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("「{}」が見つかりません / not found", p.display()))?;
        if meta.is_dir() {
            walk(p, &mut out).with_context(|| format!("フォルダー「{}」を読めません / cannot read folder", p.display()))?;
        } else {
            out.push(read(p));
        }
    }
    if out.is_empty() {
        bail!("検査するファイルがありません / no files to check");
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Input>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        if e.file_type()?.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(read(&path));
        }
    }
    Ok(())
}

fn read(p: &Path) -> Input {
    Input { path: p.to_owned(), contents: std::fs::read(p).map_err(|e| e.to_string()) }
}

/// A report with the path of each file.
#[derive(Debug)]
pub struct Checked {
    /// Paths, parallel to `report.files`.
    pub paths: Vec<PathBuf>,
    /// The report.
    pub report: Report,
}

/// Checks the inputs. Unreadable files become `file.unreadable` findings.
pub fn check(inputs: Vec<Input>, registry: &dyn renkei_spec::Registry) -> Checked {
    let mut paths = Vec::with_capacity(inputs.len());
    let mut files = Vec::with_capacity(inputs.len());
    let mut unreadable = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        let name = input.path.file_name().map_or_else(|| input.path.display().to_string(), |n| n.to_string_lossy().into_owned());
        match input.contents {
            Ok(bytes) => files.push((name, bytes)),
            Err(e) => {
                unreadable.push((
                    i,
                    Diagnostic::from_problem(
                        Problem::new(
                            Rule::FileUnreadable,
                            None,
                            format!("ファイルを読めません: {e}"),
                            format!("cannot read the file: {e}"),
                        ),
                        Some(&name),
                    ),
                ));
                files.push((name, Vec::new()));
            }
        }
        paths.push(input.path);
    }
    let mut report = renkei_spec::check_with(files, registry);
    for (i, d) in unreadable {
        // The contents were not read: only the read error stands for that file.
        report.files[i].diagnostics = vec![d];
        report.files[i].records = None;
    }
    Checked { paths, report }
}
