//! Notifications: always recorded for the UI banner and the log; shown on the desktop where the
//! OS has a notifier; passed to an optional command hook.
//!
//! The desktop notifier uses the OS's own tool (`notify-send` on Linux desktops, `osascript` on
//! macOS, PowerShell's toast API on Windows) rather than a D-Bus client library: no extra crates,
//! and a headless machine simply has none (then only the banner and the log remain).

use crate::state::State;
use std::process::Stdio;

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// `new_message`, `receipt`, `expired`, `notice`, `watch`, `error`.
    pub kind: String,
    /// Title (Japanese).
    pub title: String,
    /// Body.
    pub body: String,
}

/// Something that shows notifications.
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Shows one. Failures are logged by the caller, never fatal.
    fn show(&self, note: &Note) -> Result<(), String>;
}

/// The OS's desktop notifications, if any.
#[derive(Debug, Clone)]
pub struct Desktop {
    /// The Linux notifier program (`notify-send`).
    pub notify_send: String,
}

impl Default for Desktop {
    fn default() -> Desktop {
        Desktop { notify_send: "notify-send".into() }
    }
}

impl Desktop {
    /// Is a desktop notifier available here?
    pub fn available() -> bool {
        if cfg!(target_os = "linux") {
            (std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some())
                && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
                && which("notify-send")
        } else {
            cfg!(any(target_os = "macos", target_os = "windows"))
        }
    }
}

fn which(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
}

impl Notifier for Desktop {
    fn show(&self, n: &Note) -> Result<(), String> {
        let mut c = if cfg!(target_os = "macos") {
            let mut c = std::process::Command::new("osascript");
            c.arg("-e").arg(format!("display notification {:?} with title {:?}", n.body, n.title));
            c
        } else if cfg!(target_os = "windows") {
            let mut c = std::process::Command::new("powershell");
            let script = "$t=[Windows.UI.Notifications.ToastNotificationManager,Windows.UI.Notifications,ContentType=WindowsRuntime]::GetTemplateContent(1);\
                $x=$t.GetElementsByTagName('text');$x.Item(0).AppendChild($t.CreateTextNode($env:RENKEI_TITLE))|Out-Null;\
                $x.Item(1).AppendChild($t.CreateTextNode($env:RENKEI_BODY))|Out-Null;\
                [Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('renkei').Show([Windows.UI.Notifications.ToastNotification]::new($t))";
            c.args(["-NoProfile", "-Command", script]).env("RENKEI_TITLE", &n.title).env("RENKEI_BODY", &n.body);
            c
        } else {
            let mut c = std::process::Command::new(&self.notify_send);
            c.args(["--app-name=renkei", &n.title, &n.body]);
            c
        };
        let st = c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().map_err(|e| e.to_string())?;
        if st.success() { Ok(()) } else { Err(format!("desktop notifier exited with {st}")) }
    }
}

/// Runs a command for each notification with `RENKEI_EVENT`, `RENKEI_TITLE` and `RENKEI_BODY`
/// in its environment (through the shell, so pipes and arguments work).
#[derive(Debug, Clone)]
pub struct Hook {
    /// The command line.
    pub command: String,
    /// The profile (office) it is for: `RENKEI_OFFICE`.
    pub office: String,
}

impl Notifier for Hook {
    fn show(&self, n: &Note) -> Result<(), String> {
        let mut c = if cfg!(windows) {
            let mut c = std::process::Command::new("cmd");
            c.args(["/C", &self.command]);
            c
        } else {
            let mut c = std::process::Command::new("sh");
            c.args(["-c", &self.command]);
            c
        };
        let st = c
            .env("RENKEI_EVENT", &n.kind)
            .env("RENKEI_TITLE", &n.title)
            .env("RENKEI_BODY", &n.body)
            .env("RENKEI_OFFICE", &self.office)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if st.success() { Ok(()) } else { Err(format!("notify_command exited with {st}")) }
    }
}

/// Where a profile's notifications go: the UI banner (local state) and log always, then each
/// notifier.
#[derive(Debug, Clone)]
pub struct Notifications {
    state: State,
    notifiers: Vec<std::sync::Arc<dyn Notifier>>,
}

impl Notifications {
    /// Banner and log only.
    pub fn new(state: State) -> Notifications {
        Notifications { state, notifiers: Vec::new() }
    }

    /// Adds a notifier.
    pub fn with(mut self, n: std::sync::Arc<dyn Notifier>) -> Notifications {
        self.notifiers.push(n);
        self
    }

    /// Records and shows one notification.
    pub async fn send(&self, note: Note) {
        tracing::info!(kind = %note.kind, title = %note.title, body = %note.body, "notification");
        if let Err(e) = self.state.notify(&note.kind, &note.title, &note.body).await {
            tracing::warn!(error = %e, "could not record a notification");
        }
        for n in self.notifiers.clone() {
            let note = note.clone();
            // Notifier commands may block (a hook script): keep them off the runtime's threads.
            let r = tokio::task::spawn_blocking(move || n.show(&note)).await;
            match r {
                Ok(Err(e)) => tracing::warn!(error = %e, "notifier failed"),
                Err(e) => tracing::warn!(error = %e, "notifier panicked"),
                Ok(Ok(())) => {}
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A stand-in for `notify-send` that records its arguments.
    fn fake_notifier(dir: &std::path::Path) -> (String, std::path::PathBuf) {
        use std::os::unix::fs::PermissionsExt as _;
        let log = dir.join("shown.txt");
        let exe = dir.join("notify-send");
        std::fs::write(&exe, format!("#!/bin/sh\nprintf '%s|' \"$@\" >> '{}'\n", log.display())).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        (exe.display().to_string(), log)
    }

    #[tokio::test]
    async fn every_notification_reaches_the_banner_the_desktop_and_the_hook() {
        let dir = std::env::temp_dir().join(format!("renkei-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let state = State::open(&dir).await.unwrap();
        let (exe, shown) = fake_notifier(&dir);
        let hook_log = dir.join("hook.txt");
        let n = Notifications::new(state.clone())
            .with(std::sync::Arc::new(Desktop { notify_send: exe }))
            .with(std::sync::Arc::new(Hook {
                command: format!("echo \"$RENKEI_EVENT:$RENKEI_BODY\" >> '{}'", hook_log.display()),
                office: "1371000017".into(),
            }))
            // A notifier that fails is logged and does not stop the others.
            .with(std::sync::Arc::new(Desktop { notify_send: "/nonexistent/notify-send".into() }));
        n.send(Note {
            kind: "new_message".into(), title: "新着メッセージがあります".into(), body: "ひまわり から 3 件".into()
        })
        .await;
        assert_eq!(std::fs::read_to_string(&shown).unwrap(), "--app-name=renkei|新着メッセージがあります|ひまわり から 3 件|");
        assert_eq!(std::fs::read_to_string(&hook_log).unwrap().trim(), "new_message:ひまわり から 3 件");
        let banner = state.notifications(true, 10).await.unwrap();
        assert_eq!(banner.len(), 1);
        assert_eq!(banner[0].title, "新着メッセージがあります");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
