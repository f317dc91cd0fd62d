//! Profiles: one per office on this PC (several for 併設 offices), each in its own folder under
//! the client's home:
//!
//! ```text
//! <home>/<profile>/profile.toml   settings (hub, office, folders, auto-send, hooks)
//!                  terminal.key   this PC's private key (owner-only; never leaves the PC)
//!                  terminal.pem   the terminal certificate the hub issued
//!                  ca.pem         the hub's CA
//!                  session.json   the current hub session (owner-only)
//!                  state.db       local state (send journal, watch queue, notifications)
//! ```
//!
//! The home is `RENKEI_HOME`, else the OS's per-user data folder (`directories`).

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Settings of one profile (`profile.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Hub base URL, e.g. `https://hub.example.jp`.
    pub hub: String,
    /// 事業所番号.
    pub office: String,
    /// 事業所名 (as the hub knows it).
    #[serde(default)]
    pub office_name: String,
    /// The login ID last used on this PC (offered at login).
    #[serde(default)]
    pub login: String,
    /// This PC's terminal id.
    #[serde(default)]
    pub terminal_id: String,
    /// Folder the care software exports to (watched by the daemon; default for 一括送信).
    #[serde(default)]
    pub export_dir: Option<PathBuf>,
    /// Folder received files go to (the care software's import folder; 一括取得).
    #[serde(default)]
    pub import_dir: Option<PathBuf>,
    /// Watch `export_dir` in the daemon.
    #[serde(default)]
    pub watch: bool,
    /// Send valid units from the watch folder without asking (otherwise they wait for 送信 in the UI).
    #[serde(default)]
    pub auto_send: bool,
    /// Fetch new messages into `import_dir` automatically.
    #[serde(default)]
    pub auto_fetch: bool,
    /// One sub-folder per service kind when fetching (offices with several services under one number).
    #[serde(default)]
    pub split_by_kind: bool,
    /// Seconds a file must stay unchanged before the watch folder takes it.
    #[serde(default = "default_stable")]
    pub stable_seconds: u64,
    /// Command run on each notification, with `RENKEI_EVENT`, `RENKEI_TITLE`, `RENKEI_BODY` set.
    #[serde(default)]
    pub notify_command: Option<String>,
    /// Show desktop notifications (where the OS has them).
    #[serde(default = "yes")]
    pub desktop_notifications: bool,
}

fn default_stable() -> u64 {
    3
}
fn yes() -> bool {
    true
}

impl Settings {
    /// Settings for a new profile with defaults.
    pub fn new(hub: &str, office: &str) -> Settings {
        Settings {
            hub: hub.trim_end_matches('/').to_owned(),
            office: office.to_owned(),
            office_name: String::new(),
            login: String::new(),
            terminal_id: String::new(),
            export_dir: None,
            import_dir: None,
            watch: false,
            auto_send: false,
            auto_fetch: false,
            split_by_kind: false,
            stable_seconds: default_stable(),
            notify_command: None,
            desktop_notifications: true,
        }
    }
}

/// A profile on disk.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name (folder name; the office number by default).
    pub name: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its settings.
    pub settings: Settings,
}

/// The client's home folder.
pub fn home() -> anyhow::Result<PathBuf> {
    if let Some(h) = std::env::var_os("RENKEI_HOME") {
        return Ok(PathBuf::from(h));
    }
    let d = directories::ProjectDirs::from("jp", "renkei", "renkei")
        .context("この環境ではユーザーのデータフォルダーが分かりません。RENKEI_HOME を設定してください")?;
    Ok(d.data_dir().to_owned())
}

/// Writes a file readable by the owner only (keys, sessions).
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write as _;
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

impl Profile {
    /// Loads a profile folder.
    pub fn load(dir: &Path) -> anyhow::Result<Profile> {
        let p = dir.join("profile.toml");
        let text = std::fs::read_to_string(&p).with_context(|| format!("設定ファイル {} を読めません", p.display()))?;
        let settings: Settings = toml::from_str(&text).with_context(|| format!("設定ファイル {} の書き方が違います", p.display()))?;
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Profile { name, dir: dir.to_owned(), settings })
    }

    /// Creates a new profile folder (it must not exist yet).
    pub fn create(home: &Path, name: &str, settings: Settings) -> anyhow::Result<Profile> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            bail!("プロファイル名「{name}」は使えません");
        }
        let dir = home.join(name);
        if dir.join("profile.toml").exists() {
            bail!("プロファイル「{name}」はもうあります（{}）", dir.display());
        }
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let p = Profile { name: name.to_owned(), dir, settings };
        p.save()?;
        Ok(p)
    }

    /// Saves `profile.toml`.
    pub fn save(&self) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(&self.settings)?;
        write_private(&self.dir.join("profile.toml"), text.as_bytes())?;
        Ok(())
    }

    /// All profiles under `home`, sorted by name.
    pub fn all(home: &Path) -> anyhow::Result<Vec<Profile>> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(home) else { return Ok(out) };
        for e in rd {
            let e = e?;
            if e.path().join("profile.toml").exists() {
                out.push(Profile::load(&e.path())?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The profile to use: the named one, else the only one.
    pub fn pick(home: &Path, name: Option<&str>) -> anyhow::Result<Profile> {
        let all = Profile::all(home)?;
        match name {
            Some(n) => all
                .into_iter()
                .find(|p| p.name == n || p.settings.office == n)
                .with_context(|| format!("プロファイル「{n}」がありません。`renkei profiles` で一覧を、`renkei setup` で登録を")),
            None => match all.len() {
                0 => bail!("この PC はまだ登録されていません。まず `renkei setup` を実行してください"),
                1 => Ok(all.into_iter().next().expect("one")),
                _ => bail!(
                    "プロファイルが複数あります（{}）。--profile で選んでください",
                    all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join("、")
                ),
            },
        }
    }

    /// Is the terminal enrolled (key and certificate present)?
    pub fn enrolled(&self) -> bool {
        self.dir.join("terminal.key").exists() && self.dir.join("terminal.pem").exists() && self.dir.join("ca.pem").exists()
    }

    /// Where received files go: the import folder, else `<profile>/受信`.
    pub fn import_dir(&self) -> PathBuf {
        self.settings.import_dir.clone().unwrap_or_else(|| self.dir.join("受信"))
    }
}

/// Days until the terminal certificate in a profile folder expires.
pub fn certificate_days_left(dir: &Path) -> Option<i64> {
    certificate(dir).map(|c| c.days_left)
}

/// This PC's terminal certificate, as トップ shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Serial number (hex, as the portal's 証明書・端末 lists it).
    pub serial: String,
    /// Valid through (JST date, YYYY/MM/DD).
    pub valid_until: String,
    /// Whole days left (negative once expired).
    pub days_left: i64,
}

/// Reads this PC's terminal certificate (`terminal.pem` in the profile folder).
pub fn certificate(dir: &Path) -> Option<CertificateInfo> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let pem = std::fs::read(dir.join("terminal.pem")).ok()?;
    let der = CertificateDer::from_pem_slice(&pem).ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    let left = not_after - time::OffsetDateTime::now_utc().unix_timestamp();
    let until = time::OffsetDateTime::from_unix_timestamp(not_after).ok()?.to_offset(time::macros::offset!(+9)).date();
    Some(CertificateInfo {
        serial: cert.raw_serial_as_string().replace(':', "").to_ascii_uppercase(),
        valid_until: format!("{}/{:02}/{:02}", until.year(), u8::from(until.month()), until.day()),
        days_left: left.div_euclid(86400),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_round_trip_and_keys_are_private() {
        let home = std::env::temp_dir().join(format!("renkei-profile-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        let mut s = Settings::new("https://hub.example/", "1371000017");
        s.auto_send = true;
        let p = Profile::create(&home, "1371000017", s.clone()).unwrap();
        assert!(Profile::create(&home, "1371000017", s.clone()).is_err());
        let loaded = Profile::pick(&home, None).unwrap();
        assert_eq!(loaded.settings.hub, "https://hub.example");
        assert!(loaded.settings.auto_send);
        write_private(&p.dir.join("terminal.key"), b"secret").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(p.dir.join("terminal.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        Profile::create(&home, "second", Settings::new("https://h", "1372000024")).unwrap();
        assert!(Profile::pick(&home, None).is_err(), "two profiles need --profile");
        assert_eq!(Profile::pick(&home, Some("1372000024")).unwrap().name, "second");
        std::fs::remove_dir_all(&home).unwrap();
    }
}
