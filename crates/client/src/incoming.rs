//! Receiving: データ取得 of one message and 一括取得 of everything new, into the care software's
//! import folder. Each file is checked against the hub's SHA-256, written under a temporary name,
//! synced and renamed, and only then is the message acknowledged (取得済): a crash or a network
//! failure leaves the message 未取得 and the next run fetches it again.

use crate::hub::{HubClient, HubError};
use renkei_protocol::{InboxQuery, MessageInfo};
use std::path::{Path, PathBuf};

/// Where one file went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// Message id.
    pub message: String,
    /// The file's name at the hub.
    pub name: String,
    /// Where it was written.
    pub path: PathBuf,
}

/// The sub-folder for a file when splitting by service kind: the receiver's サービス種類 in a v4
/// name (e.g. `15`), else none.
fn kind_folder(name: &str) -> Option<String> {
    let n = renkei_spec::name::FileName::parse(name).ok()?;
    n.receiver.kind.map(|k| k.to_string())
}

/// A path in `dir` for `name` that does not overwrite a different file: `name`, then
/// `name (2).ext`, … Identical contents reuse the existing file.
fn target(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    crate::watch::free_name(dir, name, |p| std::fs::read(p).is_ok_and(|b| b == bytes))
}

fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_file_name(format!(".{}.part", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(d) = path.parent()
        && let Ok(dir) = std::fs::File::open(d)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// データ取得: downloads every file of a message into `dir` (one sub-folder per service kind with
/// `split`), then acknowledges it.
pub async fn fetch_message(hub: &HubClient, m: &MessageInfo, dir: &Path, split: bool) -> Result<Vec<Saved>, FetchError> {
    let mut out = Vec::new();
    if m.content_purged {
        return Err(FetchError::Purged(m.id.clone()));
    }
    for f in &m.files {
        let d = hub.download(&m.id, f.index).await.map_err(FetchError::Hub)?;
        let folder = match (split, kind_folder(&f.name)) {
            (true, Some(k)) => dir.join(k),
            _ => dir.to_owned(),
        };
        std::fs::create_dir_all(&folder).map_err(|e| FetchError::Io(folder.clone(), e.to_string()))?;
        let path = target(&folder, &f.name, &d.bytes);
        write_durably(&path, &d.bytes).map_err(|e| FetchError::Io(path.clone(), e.to_string()))?;
        out.push(Saved { message: m.id.clone(), name: f.name.clone(), path });
    }
    hub.fetched(&m.id).await.map_err(FetchError::Hub)?;
    Ok(out)
}

/// Why a fetch failed.
#[derive(Debug, Clone)]
pub enum FetchError {
    /// The hub refused or could not be reached.
    Hub(HubError),
    /// A file could not be written.
    Io(PathBuf, String),
    /// The message's content is gone (retention).
    Purged(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Hub(e) => write!(f, "{e}"),
            FetchError::Io(p, e) => write!(f, "{} に保存できません: {e}", p.display()),
            FetchError::Purged(id) => write!(f, "メッセージ {id} の添付ファイルは保存期間を過ぎたため削除されています"),
        }
    }
}

impl std::error::Error for FetchError {}

/// The result of 一括取得.
#[derive(Debug, Default)]
pub struct BulkFetch {
    /// Messages taken (取得済 now), with or without files.
    pub messages: Vec<String>,
    /// Files written.
    pub saved: Vec<Saved>,
    /// Messages that failed (id, reason); they stay 未取得.
    pub failed: Vec<(String, String)>,
}

/// 一括取得: every 未取得 message (optionally from one sender) into `dir`.
pub async fn fetch_all(hub: &HubClient, dir: &Path, split: bool, sender: Option<&str>) -> Result<BulkFetch, HubError> {
    let q = InboxQuery { status: Some("not_fetched".into()), sender: sender.map(str::to_owned), ..InboxQuery::default() };
    let list = hub.all(false, q).await?;
    let mut out = BulkFetch::default();
    for m in list {
        match fetch_message(hub, &m, dir, split).await {
            Ok(s) => {
                out.messages.push(m.id.clone());
                out.saved.extend(s);
            }
            Err(e) => out.failed.push((m.id.clone(), e.to_string())),
        }
    }
    Ok(out)
}

impl BulkFetch {
    /// What a clerk reads after 一括取得: messages, files, and files that were already there with
    /// the same content (a message sent twice: its files are saved once, never as copies).
    pub fn summary_ja(&self, dir: &Path) -> String {
        let distinct: std::collections::BTreeSet<&Path> = self.saved.iter().map(|s| s.path.as_path()).collect();
        let same = self.saved.len() - distinct.len();
        let mut s =
            format!("{} 件のメッセージを取得し、{} ファイルを {} に保存しました", self.messages.len(), distinct.len(), dir.display());
        if same > 0 {
            s.push_str(&format!("（同じ内容のファイル {same} 件は一つにまとめました）"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_files_on_disk_not_downloads() {
        let saved = |m: &str, p: &str| Saved { message: m.into(), name: p.into(), path: PathBuf::from("/in").join(p) };
        let r = BulkFetch {
            messages: vec!["a".into(), "b".into(), "c".into()],
            saved: vec![saved("a", "X.CSV"), saved("a", "Y.CSV"), saved("b", "X.CSV"), saved("b", "Y.CSV")],
            failed: vec![],
        };
        assert_eq!(
            r.summary_ja(Path::new("/in")),
            "3 件のメッセージを取得し、2 ファイルを /in に保存しました（同じ内容のファイル 2 件は一つにまとめました）"
        );
    }

    #[test]
    fn never_overwrites_a_different_file() {
        let d = std::env::temp_dir().join(format!("renkei-incoming-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = target(&d, "a.CSV", b"1");
        write_durably(&p, b"1").unwrap();
        assert_eq!(target(&d, "a.CSV", b"1"), d.join("a.CSV"), "same content: same file");
        let q = target(&d, "a.CSV", b"2");
        assert_eq!(q, d.join("a (2).CSV"));
        assert_eq!(kind_folder("UPJSK_202506_1372000024_15_1371000017_43_20250703090000.CSV").as_deref(), Some("43"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
