//! `renkei autostart on|off`: the daemon starts when the user logs on, so that notifications
//! (「受信しても通知が来ない」, the national client's first complaint) do not depend on someone
//! remembering to open the client. One registration per platform's own mechanism:
//! a systemd user unit on Linux, a launchd agent on macOS, a Task Scheduler entry on Windows.
//!
//! What to write and run is computed first ([`plan`]), as data that tests read on every
//! platform; [`apply`] then does it.

use std::path::{Path, PathBuf};

/// The platforms, each with its log-on mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// systemd user unit (`~/.config/systemd/user/renkei.service`).
    Linux,
    /// launchd agent (`~/Library/LaunchAgents/jp.renkei.client.plist`).
    MacOs,
    /// Task Scheduler entry 「renkei」 (ONLOGON).
    Windows,
}

impl Platform {
    /// The platform this program runs on.
    pub fn current() -> Platform {
        if cfg!(target_os = "windows") {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::MacOs
        } else {
            Platform::Linux
        }
    }
}

/// The systemd unit's, launchd label's and scheduled task's name.
pub const NAME: &str = "renkei";
/// The launchd agent's label.
pub const LAUNCHD_LABEL: &str = "jp.renkei.client";

/// What the registration needs: the program, its data folder (`RENKEI_HOME`), and where the
/// user's configuration lives.
#[derive(Debug, Clone)]
pub struct Target {
    /// This program (`renkei` / `renkei.exe`), absolute.
    pub exe: PathBuf,
    /// The data folder the daemon uses (passed as `RENKEI_HOME` so that it is the same one).
    pub home: PathBuf,
    /// Linux: `$XDG_CONFIG_HOME` (else `~/.config`); macOS: the user's home folder.
    pub config: PathBuf,
}

/// One step of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write a file (owner-only).
    Write(PathBuf, String),
    /// Remove a file (if it is there).
    Remove(PathBuf),
    /// Run a program with arguments.
    Run(Vec<String>),
}

/// The steps that turn the start at log-on on (`on`) or off.
pub fn plan(platform: Platform, t: &Target, on: bool) -> Vec<Step> {
    let exe = t.exe.display().to_string();
    let home = t.home.display().to_string();
    match platform {
        Platform::Linux => {
            let unit = t.config.join("systemd").join("user").join(format!("{NAME}.service"));
            let run = |args: &[&str]| Step::Run(std::iter::once("systemctl").chain(args.iter().copied()).map(str::to_owned).collect());
            if on {
                let text = format!(
                    "[Unit]\nDescription=renkei 連携クライアント（通知・監視フォルダー・画面）\nAfter=network-online.target\n\n\
                     [Service]\nExecStart={} daemon\nEnvironment={}\nRestart=on-failure\nRestartSec=30\n\n\
                     [Install]\nWantedBy=default.target\n",
                    systemd_quote(&exe),
                    systemd_quote(&format!("RENKEI_HOME={home}")),
                );
                vec![
                    Step::Write(unit, text),
                    run(&["--user", "daemon-reload"]),
                    run(&["--user", "enable", "--now", &format!("{NAME}.service")]),
                ]
            } else {
                vec![
                    run(&["--user", "disable", "--now", &format!("{NAME}.service")]),
                    Step::Remove(unit),
                    run(&["--user", "daemon-reload"]),
                ]
            }
        }
        Platform::MacOs => {
            let plist = t.config.join("Library").join("LaunchAgents").join(format!("{LAUNCHD_LABEL}.plist"));
            let domain = format!("gui/{}", uid());
            if on {
                let text = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                     <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
                     <plist version=\"1.0\">\n<dict>\n\
                     \t<key>Label</key><string>{LAUNCHD_LABEL}</string>\n\
                     \t<key>ProgramArguments</key><array><string>{}</string><string>daemon</string></array>\n\
                     \t<key>EnvironmentVariables</key><dict><key>RENKEI_HOME</key><string>{}</string></dict>\n\
                     \t<key>RunAtLoad</key><true/>\n\
                     \t<key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>\n\
                     </dict>\n</plist>\n",
                    xml_escape(&exe),
                    xml_escape(&home),
                );
                let path = plist.display().to_string();
                vec![Step::Write(plist, text), Step::Run(vec!["launchctl".into(), "bootstrap".into(), domain, path])]
            } else {
                let path = plist.display().to_string();
                vec![Step::Run(vec!["launchctl".into(), "bootout".into(), domain, path]), Step::Remove(plist)]
            }
        }
        Platform::Windows => {
            if on {
                // The task runs the program directly (no console window of its own: the daemon
                // logs to a file); RENKEI_HOME goes as the working data folder via `cmd /c set`.
                let action = format!("cmd /c \"set RENKEI_HOME={}&& {} daemon\"", home, windows_quote(&exe));
                vec![Step::Run(
                    ["schtasks", "/Create", "/F", "/TN", NAME, "/SC", "ONLOGON", "/RL", "LIMITED", "/TR", &action]
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect(),
                )]
            } else {
                vec![Step::Run(["schtasks", "/Delete", "/F", "/TN", NAME].iter().map(|s| (*s).to_owned()).collect())]
            }
        }
    }
}

/// A value for a systemd unit line: quoted when it has spaces, with `\` and `"` escaped, `%`
/// doubled (systemd's specifier character).
fn systemd_quote(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%");
    if escaped.contains([' ', '\t']) { format!("\"{escaped}\"") } else { escaped }
}

/// A path for a Windows command line: always in double quotes (`Program Files`).
fn windows_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', ""))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(unix)]
fn uid() -> u32 {
    std::fs::metadata(std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/")))
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}

#[cfg(not(unix))]
fn uid() -> u32 {
    0
}

/// What [`apply`] did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Files written or removed.
    pub files: Vec<PathBuf>,
    /// Commands that failed: the command line and why. The files are in place; the command
    /// can be run by hand.
    pub failed: Vec<(String, String)>,
}

/// Carries out the steps. A file that cannot be written stops (nothing would start); a command
/// that fails is reported and the rest go on (the unit is there; the next log-on or a manual
/// command enables it).
pub fn apply(steps: &[Step]) -> std::io::Result<Applied> {
    let mut out = Applied::default();
    for s in steps {
        match s {
            Step::Write(path, text) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                crate::profile::write_private(path, text.as_bytes())?;
                out.files.push(path.clone());
            }
            Step::Remove(path) => match std::fs::remove_file(path) {
                Ok(()) => out.files.push(path.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            },
            Step::Run(argv) => {
                let line = argv.join(" ");
                let r = std::process::Command::new(&argv[0]).args(&argv[1..]).stdin(std::process::Stdio::null()).output();
                match r {
                    Ok(o) if o.status.success() => {}
                    Ok(o) => out.failed.push((line, String::from_utf8_lossy(&o.stderr).trim().to_owned())),
                    Err(e) => out.failed.push((line, e.to_string())),
                }
            }
        }
    }
    Ok(out)
}

/// The user's configuration folder for [`Target::config`]: `$XDG_CONFIG_HOME` or `~/.config`
/// on Linux, the home folder on macOS (Windows needs none).
pub fn config_dir(platform: Platform) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match platform {
        Platform::Linux => {
            std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).filter(|p| p.is_absolute()).or(home.map(|h| h.join(".config")))
        }
        Platform::MacOs => home,
        Platform::Windows => Some(PathBuf::new()),
    }
}

/// Whether the start at log-on is registered (by the file it writes; Windows: unknown here).
pub fn registered(platform: Platform, config: &Path) -> Option<bool> {
    match platform {
        Platform::Linux => Some(config.join("systemd").join("user").join(format!("{NAME}.service")).exists()),
        Platform::MacOs => Some(config.join("Library").join("LaunchAgents").join(format!("{LAUNCHD_LABEL}.plist")).exists()),
        Platform::Windows => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(exe: &str, home: &str, config: &str) -> Target {
        Target { exe: exe.into(), home: home.into(), config: config.into() }
    }

    #[test]
    fn linux_writes_a_user_unit_and_enables_it() {
        let t = target("/opt/renkei/bin/renkei", "/home/kaigo/.local/share/renkei", "/home/kaigo/.config");
        let steps = plan(Platform::Linux, &t, true);
        let Step::Write(path, text) = &steps[0] else { panic!("{steps:?}") };
        assert_eq!(path, Path::new("/home/kaigo/.config/systemd/user/renkei.service"));
        assert!(text.contains("ExecStart=/opt/renkei/bin/renkei daemon\n"), "{text}");
        assert!(text.contains("Environment=RENKEI_HOME=/home/kaigo/.local/share/renkei\n"), "{text}");
        assert!(text.contains("WantedBy=default.target"), "{text}");
        assert_eq!(steps[2], Step::Run(["systemctl", "--user", "enable", "--now", "renkei.service"].map(String::from).to_vec()));
        let off = plan(Platform::Linux, &t, false);
        assert!(off.contains(&Step::Remove(path.clone())));
        assert_eq!(off[0], Step::Run(["systemctl", "--user", "disable", "--now", "renkei.service"].map(String::from).to_vec()));
    }

    #[test]
    fn a_path_with_spaces_and_percent_is_quoted_for_systemd() {
        let t = target("/home/山田 花子/bin/renkei", "/data/100%", "/c");
        let Step::Write(_, text) = &plan(Platform::Linux, &t, true)[0] else { panic!() };
        assert!(text.contains("ExecStart=\"/home/山田 花子/bin/renkei\" daemon"), "{text}");
        assert!(text.contains("Environment=RENKEI_HOME=/data/100%%"), "{text}");
    }

    #[test]
    fn macos_writes_a_launch_agent() {
        let t = target("/Applications/renkei & co/renkei", "/Users/k/Library/Application Support/renkei", "/Users/k");
        let steps = plan(Platform::MacOs, &t, true);
        let Step::Write(path, text) = &steps[0] else { panic!() };
        assert_eq!(path, Path::new("/Users/k/Library/LaunchAgents/jp.renkei.client.plist"));
        assert!(text.contains("<string>/Applications/renkei &amp; co/renkei</string><string>daemon</string>"), "{text}");
        assert!(text.contains("<key>RunAtLoad</key><true/>"), "{text}");
        assert!(matches!(&steps[1], Step::Run(a) if a[0] == "launchctl" && a[1] == "bootstrap" && a[2].starts_with("gui/")));
        assert!(plan(Platform::MacOs, &t, false).contains(&Step::Remove(path.clone())));
    }

    #[test]
    fn windows_registers_a_task_at_log_on() {
        let t = target(r"C:\Program Files\renkei\renkei.exe", r"C:\Users\kaigo\AppData\Roaming\renkei", "");
        let steps = plan(Platform::Windows, &t, true);
        let Step::Run(argv) = &steps[0] else { panic!() };
        assert_eq!(&argv[..9], ["schtasks", "/Create", "/F", "/TN", "renkei", "/SC", "ONLOGON", "/RL", "LIMITED"]);
        assert_eq!(argv[9], "/TR");
        assert_eq!(
            argv[10],
            r#"cmd /c "set RENKEI_HOME=C:\Users\kaigo\AppData\Roaming\renkei&& "C:\Program Files\renkei\renkei.exe" daemon""#
        );
        assert_eq!(
            plan(Platform::Windows, &t, false),
            vec![Step::Run(["schtasks", "/Delete", "/F", "/TN", "renkei"].map(String::from).to_vec())]
        );
    }

    #[test]
    fn apply_writes_owner_only_and_reports_commands_that_fail() {
        let dir = std::env::temp_dir().join(format!("renkei-autostart-{}", std::process::id()));
        let unit = dir.join("systemd/user/renkei.service");
        let steps = vec![Step::Write(unit.clone(), "x".into()), Step::Run(vec!["renkei-no-such-program".into(), "--user".into()])];
        let a = apply(&steps).unwrap();
        assert_eq!(a.files, vec![unit.clone()]);
        assert_eq!(a.failed.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&unit).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(registered(Platform::Linux, &dir), Some(true));
        apply(&[Step::Remove(unit.clone()), Step::Remove(unit)]).unwrap();
        assert_eq!(registered(Platform::Linux, &dir), Some(false));
        let _ = std::fs::remove_dir_all(dir);
    }
}
