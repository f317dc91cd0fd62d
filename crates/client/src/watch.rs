//! The watch folder: the care software exports into a folder; the daemon takes files once they
//! are stable, checks them, and
//! - sends valid send units (at once with `auto_send`, else they wait for 送信 in the UI),
//! - moves what is wrong into `エラー/` with a Japanese reason file beside each file,
//! - moves what was sent into `送信済/<date>/`.
//!
//! The folder is scanned (polling) rather than watched with OS events: care offices often export
//! to network shares, where inotify and friends see nothing, and a scan every few seconds costs
//! nothing for a folder that receives a few dozen files a month. A file counts as stable when its
//! size and modification time have not changed for `stable_seconds`; a batch is taken only when
//! every file in the folder is stable, so that a send unit whose files are still being written is
//! never split.

use crate::outgoing::{self, Outcome, Plan};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Sub-folder for files that could not be sent.
pub const ERROR_DIR: &str = "エラー";
/// Sub-folder for files that were sent.
pub const SENT_DIR: &str = "送信済";
/// Suffix of the reason file written beside a refused file.
pub const REASON_SUFFIX: &str = ".理由.txt";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sig {
    size: u64,
    mtime: Option<SystemTime>,
}

/// Finds stable files in a folder.
#[derive(Debug)]
pub struct Scanner {
    dir: PathBuf,
    stable: Duration,
    seen: HashMap<PathBuf, (Sig, Instant)>,
    done: HashSet<(PathBuf, u64, Option<SystemTime>)>,
}

fn ignored(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('~') || name.ends_with(".part") || name.ends_with(".tmp") || name.ends_with(REASON_SUFFIX)
}

impl Scanner {
    /// A scanner of `dir`.
    pub fn new(dir: &Path, stable: Duration) -> Scanner {
        Scanner { dir: dir.to_owned(), stable, seen: HashMap::new(), done: HashSet::new() }
    }

    /// Files to take now: every file of the folder (not sub-folders), once all of them have been
    /// unchanged for the stable time, leaving out files already taken in the same state.
    pub fn scan(&mut self, now: Instant) -> Vec<PathBuf> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut present = HashMap::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() || ignored(&name) {
                continue;
            }
            present.insert(e.path(), Sig { size: meta.len(), mtime: meta.modified().ok() });
        }
        self.seen.retain(|p, _| present.contains_key(p));
        let mut all_stable = true;
        for (p, sig) in &present {
            match self.seen.get(p) {
                Some((old, since)) if old == sig => all_stable &= now.duration_since(*since) >= self.stable,
                _ => {
                    self.seen.insert(p.clone(), (*sig, now));
                    all_stable = false;
                }
            }
        }
        if !all_stable {
            return Vec::new();
        }
        let mut out: Vec<PathBuf> =
            present.iter().filter(|(p, s)| !self.done.contains(&((*p).clone(), s.size, s.mtime))).map(|(p, _)| p.clone()).collect();
        out.sort();
        for p in &out {
            let s = present[p];
            self.done.insert((p.clone(), s.size, s.mtime));
        }
        out
    }
}

/// A path in `dir` for `name` that does not overwrite another file: `name`, then `name (2).ext`,
/// … A candidate for which `reuse` says yes (same contents) is taken as it is. The name is first
/// made safe on every system (`renkei_protocol::names::safe_name`): never outside `dir`, never a
/// device name, no invisible characters.
pub fn free_name(dir: &Path, name: &str, reuse: impl Fn(&Path) -> bool) -> PathBuf {
    let name = renkei_protocol::names::safe_name(name);
    let name = name.as_str();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    std::iter::once(dir.join(name))
        .chain((2..).map(|k| dir.join(format!("{stem} ({k}){ext}"))))
        .find(|p| !p.exists() || reuse(p))
        .expect("a free name")
}

/// Moves `path` into `dir`, never overwriting: `name`, `name (2)`, …
pub fn move_into(path: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let target = free_name(dir, &name, |_| false);
    std::fs::rename(path, &target)?;
    Ok(target)
}

/// Writes the reason file beside a refused file (UTF-8 with BOM, so that Windows Notepad shows
/// it right).
pub fn write_reason(file_in_error_dir: &Path, reasons: &[String]) -> std::io::Result<()> {
    let name = file_in_error_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut text = String::from("\u{feff}");
    text.push_str(&format!("「{name}」は送信していません。理由:\r\n\r\n"));
    for r in reasons {
        text.push_str(&format!("・{r}\r\n"));
    }
    text.push_str("\r\n直したファイルを元のフォルダーに置き直すと、もう一度確認して送信します。\r\n");
    std::fs::write(file_in_error_dir.with_file_name(format!("{name}{REASON_SUFFIX}")), text)
}

/// What one batch came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchResult {
    /// Messages sent: (destination, message id, file names).
    pub sent: Vec<(String, String, Vec<String>)>,
    /// Groups waiting for confirmation: (destination, file names).
    pub waiting: Vec<(String, Vec<String>)>,
    /// Files moved to the error folder, with reasons.
    pub refused: Vec<(String, Vec<String>)>,
    /// Sends that failed and will be retried (destination, reason): files stay in place.
    pub failed: Vec<(String, String)>,
}

/// Checks and (with `auto_send`) sends the files of one batch from `dir`.
pub async fn process(
    dir: &Path,
    office: &str,
    files: &[PathBuf],
    auto_send: bool,
    hub: Option<&crate::hub::HubClient>,
    state: &crate::state::State,
) -> anyhow::Result<BatchResult> {
    let (cands, unreadable) = outgoing::collect(files);
    let registry = outgoing::registered(hub, office, outgoing::failing_numbers(office, None, &cands)).await;
    let plan: Plan = outgoing::plan(office, None, cands, unreadable, &registry);
    let mut res = BatchResult::default();
    // Files on disk → reasons they are refused (a ZIP is refused whole if any entry is).
    let mut refused: HashMap<PathBuf, Vec<String>> = HashMap::new();
    for u in &plan.unreadable {
        let p = PathBuf::from(&u.source);
        refused.entry(p).or_default().push(u.reason.clone());
    }
    for (i, v) in plan.verdicts.iter().enumerate() {
        let Some(p) = plan.files[i].path.clone() else { continue };
        if !v.ok() {
            refused.entry(p).or_default().extend(v.errors.iter().map(|e| format!("{}: {e}", v.name)));
        } else if v.to.is_none() {
            refused.entry(p).or_default().push(format!(
                "{}: 標準仕様のファイル名ではないため、送信先が分かりません（添付ファイルは画面の「新規作成」から送ってください）",
                v.name
            ));
        }
    }
    for (p, reasons) in &refused {
        if !p.exists() {
            continue;
        }
        let moved = move_into(p, &dir.join(ERROR_DIR))?;
        write_reason(&moved, reasons)?;
        res.refused.push((moved.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), reasons.clone()));
    }
    let date = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
    let sent_dir = dir.join(SENT_DIR).join(format!("{}{:02}{:02}", date.year(), u8::from(date.month()), date.day()));
    for g in &plan.groups {
        let paths: Vec<PathBuf> = g.files.iter().filter_map(|&i| plan.files[i].path.clone()).filter(|p| !refused.contains_key(p)).collect();
        if paths.is_empty() {
            continue;
        }
        let names: Vec<String> = g.files.iter().map(|&i| plan.files[i].name.clone()).collect();
        let Some(hub) = hub.filter(|_| auto_send) else {
            res.waiting.push((g.to.clone(), names));
            continue;
        };
        match outgoing::send_one(hub, state, office, &g.to, "", outgoing::group_files(&plan, g), false).await? {
            Outcome::Sent { id } | Outcome::AlreadySent { id } => {
                let mut uniq = paths.clone();
                uniq.dedup();
                for p in uniq {
                    if p.exists() {
                        move_into(&p, &sent_dir)?;
                    }
                }
                res.sent.push((g.to.clone(), id, names));
            }
            Outcome::Failed { reason, .. } => res.failed.push((g.to.clone(), reason)),
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_counts_once_it_is_stable_and_the_whole_folder_waits() {
        let d = std::env::temp_dir().join(format!("renkei-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join(ERROR_DIR)).unwrap();
        let mut s = Scanner::new(&d, Duration::from_secs(3));
        let t0 = Instant::now();
        std::fs::write(d.join("a.CSV"), b"1").unwrap();
        std::fs::write(d.join(".hidden"), b"1").unwrap();
        std::fs::write(d.join("b.CSV.part"), b"1").unwrap();
        assert!(s.scan(t0).is_empty(), "first sight");
        assert!(s.scan(t0 + Duration::from_secs(2)).is_empty(), "not yet stable");
        // A second file appears (still being written): the batch waits for it.
        std::fs::write(d.join("b.CSV"), b"1").unwrap();
        assert!(s.scan(t0 + Duration::from_secs(4)).is_empty());
        std::fs::write(d.join("b.CSV"), b"12").unwrap();
        assert!(s.scan(t0 + Duration::from_secs(6)).is_empty(), "b changed");
        assert!(s.scan(t0 + Duration::from_secs(8)).is_empty(), "b stable for 2 s only");
        let got = s.scan(t0 + Duration::from_secs(10));
        assert_eq!(got, vec![d.join("a.CSV"), d.join("b.CSV")]);
        assert!(s.scan(t0 + Duration::from_secs(12)).is_empty(), "taken once");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn moves_never_overwrite() {
        let d = std::env::temp_dir().join(format!("renkei-move-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for _ in 0..2 {
            std::fs::write(d.join("x.CSV"), b"1").unwrap();
            move_into(&d.join("x.CSV"), &d.join(ERROR_DIR)).unwrap();
        }
        assert!(d.join(ERROR_DIR).join("x.CSV").exists() && d.join(ERROR_DIR).join("x (2).CSV").exists());
        // Names from elsewhere never leave the folder nor name a device.
        for (given, want) in [("../../etc/passwd", "_.._etc_passwd"), ("CON.txt", "_CON.txt"), ("a\u{202e}txt.exe", "a_txt.exe")] {
            assert_eq!(free_name(&d, given, |_| false), d.join(want), "{given}");
        }
        write_reason(&d.join(ERROR_DIR).join("x.CSV"), &["1行目 だめ".into()]).unwrap();
        let r = std::fs::read_to_string(d.join(ERROR_DIR).join("x.CSV.理由.txt")).unwrap();
        assert!(r.contains("1行目 だめ"), "{r}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
