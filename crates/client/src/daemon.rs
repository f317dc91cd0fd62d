//! The daemon: for every profile on this PC, keeps the hub session, listens to the hub's events
//! (new mail, partner fetched/opened, expiry), fetches automatically if asked, and runs the watch
//! folder. The web UI ([`crate::ui`]) is its face.

use crate::hub::{HubClient, HubError, Session, load_session, save_session};
use crate::notify::{Desktop, Hook, Note, Notifications};
use crate::profile::Profile;
use crate::state::State;
use crate::watch;
use renkei_protocol::{DeliveryState, Event};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, RwLock};

/// Progress of a 一括送信 started from the UI.
#[derive(Debug, Clone, Default)]
pub struct BulkProgress {
    /// Groups to send.
    pub total: usize,
    /// Groups done.
    pub done: usize,
    /// One line per group: (destination, result in Japanese, ok).
    pub lines: Vec<(String, String, bool)>,
    /// Finished.
    pub finished: bool,
}

/// One office (profile) served by the daemon.
#[derive(Debug)]
pub struct OfficeRt {
    /// The profile.
    pub profile: RwLock<Profile>,
    /// Local state.
    pub state: State,
    /// The hub client (with the session token once logged in).
    pub hub: RwLock<HubClient>,
    /// The session.
    pub session: RwLock<Option<Session>>,
    /// Where notifications go.
    pub notes: Notifications,
    /// The last 一括送信 from the UI.
    pub bulk: Mutex<BulkProgress>,
    /// Wakes the event loop after a login.
    pub login_signal: tokio::sync::Notify,
    /// Connected to the hub's event stream right now.
    pub live: std::sync::atomic::AtomicBool,
    /// Last watch-folder result, for the top page.
    pub last_watch: Mutex<Option<watch::BatchResult>>,
    /// Received messages already announced (by event or catch-up).
    announced: Mutex<std::collections::HashSet<String>>,
    /// Files of 新規作成 forms that were refused, held so that the clerk need not choose them
    /// again: the newest [`HELD_FORMS`] forms, by a random key the form carries.
    pub held: Mutex<std::collections::VecDeque<(String, Vec<crate::outgoing::Candidate>)>>,
}

/// The notification kind that says notifications stopped because the session ended; resolved
/// by the next login.
pub const SESSION_ENDED: &str = "session_ended";
/// The notification kind that warns of the session's end.
pub const SESSION_ENDING: &str = "session_ending";
/// What the clerk is told when the session ended (desktop and banner).
pub const NOTIFICATIONS_STOPPED: &str = "通知が止まっています（ログインが切れました）";
/// … and what to do.
pub const NOTIFICATIONS_STOPPED_BODY: &str = "新着メッセージの通知と自動取得を続けるには、画面（renkei ui）でログインしてください。ログインすると、止まっていた間に届いたものもお知らせします";
/// How long before the session's end the clerk is warned.
pub const SESSION_WARNING: Duration = Duration::from_secs(30 * 60);

/// Whether a session ending at `end` ends within [`SESSION_WARNING`] of `now` (and has not ended).
pub fn ending_soon(end: time::OffsetDateTime, now: time::OffsetDateTime) -> bool {
    let left = end - now;
    left > time::Duration::ZERO && left <= time::Duration::try_from(SESSION_WARNING).unwrap_or(time::Duration::ZERO)
}

/// How many refused forms' files are held (each at most the UI's upload limit).
pub const HELD_FORMS: usize = 4;

impl OfficeRt {
    /// Holds a refused form's files; returns the key the form carries.
    pub async fn hold(&self, files: Vec<crate::outgoing::Candidate>) -> String {
        let key = crate::hub::random_token();
        let mut h = self.held.lock().await;
        h.push_back((key.clone(), files));
        while h.len() > HELD_FORMS {
            h.pop_front();
        }
        key
    }

    /// Takes the files held under `key` (once).
    pub async fn take_held(&self, key: &str) -> Option<Vec<crate::outgoing::Candidate>> {
        let mut h = self.held.lock().await;
        let i = h.iter().position(|(k, _)| k == key)?;
        h.remove(i).map(|(_, f)| f)
    }
}

impl OfficeRt {
    /// Loads a profile's runtime.
    pub async fn open(p: Profile) -> anyhow::Result<Arc<OfficeRt>> {
        let state = State::open(&p.dir).await?;
        let hub = HubClient::for_profile(&p)?;
        let session = load_session(&p);
        let hub = hub.with_token(session.as_ref().map(|s| s.token.clone()));
        let mut notes = Notifications::new(state.clone());
        if p.settings.desktop_notifications && Desktop::available() {
            notes = notes.with(Arc::new(Desktop::default()));
        }
        if let Some(c) = &p.settings.notify_command {
            notes = notes.with(Arc::new(Hook { command: c.clone(), office: p.settings.office.clone() }));
        }
        Ok(Arc::new(OfficeRt {
            profile: RwLock::new(p),
            state,
            hub: RwLock::new(hub),
            session: RwLock::new(session),
            notes,
            bulk: Mutex::new(BulkProgress::default()),
            login_signal: tokio::sync::Notify::new(),
            live: std::sync::atomic::AtomicBool::new(false),
            last_watch: Mutex::new(None),
            announced: Mutex::new(std::collections::HashSet::new()),
            held: Mutex::new(std::collections::VecDeque::new()),
        }))
    }

    /// The profile's name.
    pub async fn name(&self) -> String {
        self.profile.read().await.name.clone()
    }

    /// Logs in at the hub and keeps the session (also for the CLI on this PC).
    pub async fn login(&self, login: &str, password: &str) -> Result<Session, HubError> {
        let mut hub = self.hub.read().await.clone();
        let s = Session::from_login(login, hub.login(login, password).await?);
        {
            let mut p = self.profile.write().await;
            if let Err(e) = save_session(&p, Some(&s)) {
                tracing::warn!(error = %e, "the session could not be kept for the CLI");
            }
            if p.settings.login != login {
                p.settings.login = login.to_owned();
                let _ = p.save();
            }
        }
        *self.hub.write().await = hub;
        *self.session.write().await = Some(s.clone());
        // Notifications flow again: the notes that said they had stopped are resolved.
        let _ = self.state.resolve(SESSION_ENDED).await;
        let _ = self.state.resolve(SESSION_ENDING).await;
        self.login_signal.notify_waiters();
        Ok(s)
    }

    /// Ends the session here and at the hub.
    pub async fn logout(&self) {
        let mut hub = self.hub.read().await.clone();
        let _ = hub.logout().await;
        let _ = save_session(&*self.profile.read().await, None);
        *self.hub.write().await = hub.with_token(None);
        *self.session.write().await = None;
    }

    /// Forgets a session the hub no longer accepts.
    pub async fn session_lost(&self) {
        let _ = save_session(&*self.profile.read().await, None);
        let hub = self.hub.read().await.clone();
        *self.hub.write().await = hub.with_token(None);
        *self.session.write().await = None;
    }

    /// A clone of the hub client.
    pub async fn client(&self) -> HubClient {
        self.hub.read().await.clone()
    }

    /// Clears the new-message banner once nothing is left to fetch (on the hub: another PC of the
    /// office may have fetched too). The hub's state is the one source of truth.
    pub async fn resolve_fetched(&self, hub: &HubClient) {
        let q = renkei_protocol::InboxQuery { status: Some("not_fetched".into()), limit: Some(1), ..Default::default() };
        if hub.inbox(&q).await.is_ok_and(|p| p.messages.is_empty()) {
            let _ = self.state.resolve("new_message").await;
        }
    }

    async fn note(&self, kind: &str, title: String, body: String) {
        self.notes.send(Note { kind: kind.into(), title, body }).await;
    }

    async fn on_event(&self, ev: Event) {
        let hub = self.client().await;
        match ev {
            Event::NewMessage { id, sender, files } => {
                if !self.announced.lock().await.insert(id.clone()) {
                    return;
                }
                let name = hub.directory(&sender).await.ok().and_then(|d| d.name).unwrap_or_default();
                let what = if files > 0 {
                    format!("{files} 件のファイルが届きました")
                } else {
                    // A message without files: say what it is (a contact's line, or the note).
                    match hub.message(&id).await {
                        Ok(m) => format!("メッセージが届きました: {}", describe(&m)),
                        Err(_) => "メッセージが届きました".into(),
                    }
                };
                self.note("new_message", "新着メッセージがあります".into(), format!("{name}（{sender}）から {what}")).await;
                let p = self.profile.read().await.clone();
                if p.settings.auto_fetch
                    && let Ok(m) = hub.message(&id).await
                {
                    match crate::incoming::fetch_message(&hub, &m, &p.import_dir(), p.settings.split_by_kind).await {
                        Ok(saved) => {
                            self.note(
                                "fetched",
                                "自動で取得しました".into(),
                                format!("{} 件を {} に保存しました", saved.len(), p.import_dir().display()),
                            )
                            .await
                        }
                        Err(e) => self.note("error", "自動取得できませんでした".into(), e.to_string()).await,
                    }
                }
            }
            Event::Receipt { id, state } => {
                let m = hub.message(&id).await.ok();
                let who = match &m {
                    Some(m) => office_label(&hub, &m.recipient).await,
                    None => "送信先".into(),
                };
                let what = match (state, m.as_ref().is_some_and(|m| m.opened_at.is_some())) {
                    (DeliveryState::Opened, _) => "データを取得し、開封しました",
                    (DeliveryState::Fetched, _) => "データを取得しました",
                    // Opened on screen only: the files are still waiting to be taken.
                    (_, true) => "メッセージを開封しました（データはまだ取得されていません）",
                    _ => "データを取得しました",
                };
                let subject = m.as_ref().map(describe).unwrap_or_default();
                self.note("receipt", format!("{who}が{what}"), subject).await;
            }
            Event::Expired { id, recipient } => {
                self.note(
                    "expired",
                    "送信したデータが期限切れになりました".into(),
                    format!("{recipient} が取得しないまま保存期間を過ぎました（{id}）"),
                )
                .await;
            }
            Event::Notice { title, .. } => self.note("notice", "お知らせ".into(), title).await,
        }
    }

    async fn catch_up(&self, hub: &HubClient) {
        let q = renkei_protocol::InboxQuery { status: Some("not_fetched".into()), ..Default::default() };
        let Ok(list) = hub.all(false, q).await else { return };
        if list.is_empty() {
            let _ = self.state.resolve("new_message").await;
        }
        let ids: Vec<String> = list.iter().map(|m| m.id.clone()).collect();
        let viewed = self.state.viewed(&ids).await.unwrap_or_default();
        let mut fresh = Vec::new();
        {
            let mut a = self.announced.lock().await;
            for m in &list {
                if !viewed.contains(&m.id) && a.insert(m.id.clone()) {
                    fresh.push(m.clone());
                }
            }
        }
        if fresh.is_empty() {
            return;
        }
        let senders: std::collections::BTreeSet<&str> = fresh.iter().map(|m| m.sender.as_str()).collect();
        let mut names = Vec::new();
        for s in senders {
            names.push(office_label(hub, s).await);
        }
        self.note(
            "new_message",
            "新着メッセージがあります".into(),
            format!("未取得のメッセージが {} 件あります（送信元 {}）", fresh.len(), names.join("、")),
        )
        .await;
        let p = self.profile.read().await.clone();
        if p.settings.auto_fetch {
            for m in fresh {
                if let Err(e) = crate::incoming::fetch_message(hub, &m, &p.import_dir(), p.settings.split_by_kind).await {
                    self.note("error", "自動取得できませんでした".into(), e.to_string()).await;
                }
            }
        }
    }

    /// Warns when this PC's terminal certificate expires within 30 days (once a day).
    pub async fn expiry_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(24 * 3600));
        loop {
            tick.tick().await;
            let dir = self.profile.read().await.dir.clone();
            match crate::profile::certificate_days_left(&dir) {
                Some(d) if d < 0 => {
                    self.note("expiry", "電子証明書の有効期限が切れています".into(), "管理者に端末の再登録を依頼してください".into()).await
                }
                Some(d) if d <= 30 => {
                    self.note("expiry", "電子証明書の有効期限が近づいています".into(), format!("あと {d} 日です。早めに更新してください"))
                        .await
                }
                _ => {}
            }
        }
    }

    /// Says, once per session, that the session ends within [`SESSION_WARNING`] — after it,
    /// notifications stop until someone logs in again.
    pub async fn session_loop(self: Arc<Self>) {
        let mut warned: Option<String> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let Some(s) = self.session.read().await.clone() else { continue };
            if warned.as_deref() == Some(s.token.as_str()) {
                continue;
            }
            let Ok(end) = time::OffsetDateTime::parse(&s.expires_at, &time::format_description::well_known::Rfc3339) else { continue };
            if ending_soon(end, time::OffsetDateTime::now_utc()) {
                warned = Some(s.token.clone());
                let jst = end.to_offset(time::macros::offset!(+9));
                let at = format!("{:02}:{:02}", jst.hour(), jst.minute());
                self.note(
                    SESSION_ENDING,
                    "まもなくログインが切れます".into(),
                    format!("{at} にログインが切れると、新着の通知と自動取得が止まります。画面でログアウトし、ログインし直してください"),
                )
                .await;
            }
        }
    }

    /// Listens to the hub's events while logged in; reconnects with back-off.
    pub async fn event_loop(self: Arc<Self>) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let hub = self.client().await;
            if !hub.has_token() {
                let _ = tokio::time::timeout(Duration::from_secs(5), self.login_signal.notified()).await;
                continue;
            }
            match hub.events().await {
                Ok(mut stream) => {
                    self.live.store(true, std::sync::atomic::Ordering::Relaxed);
                    backoff = Duration::from_secs(1);
                    // What arrived while this PC was off or the line was down (subscribed first,
                    // so nothing falls between the two).
                    self.catch_up(&hub).await;
                    loop {
                        match stream.next().await {
                            Ok(Some(ev)) => self.on_event(ev).await,
                            Ok(None) => break,
                            Err(e) => {
                                tracing::info!(error = %e, "event stream ended");
                                break;
                            }
                        }
                    }
                    self.live.store(false, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) if e.needs_login() => {
                    self.session_lost().await;
                    self.note(SESSION_ENDED, NOTIFICATIONS_STOPPED.into(), NOTIFICATIONS_STOPPED_BODY.into()).await;
                }
                Err(e) => tracing::info!(error = %e, "cannot reach the hub's events"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// Runs the watch folder (when set in the profile).
    pub async fn watch_loop(self: Arc<Self>) {
        let (dir, stable) = {
            let p = self.profile.read().await;
            match (&p.settings.export_dir, p.settings.watch) {
                (Some(d), true) => (d.clone(), Duration::from_secs(p.settings.stable_seconds)),
                _ => return,
            }
        };
        let mut scanner = watch::Scanner::new(&dir, stable);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            let files = scanner.scan(std::time::Instant::now());
            if files.is_empty() {
                continue;
            }
            let (office, auto) = {
                let p = self.profile.read().await;
                (p.settings.office.clone(), p.settings.auto_send)
            };
            let hub = self.client().await;
            let hub = hub.has_token().then_some(hub);
            match watch::process(&dir, &office, &files, auto, hub.as_ref(), &self.state).await {
                Ok(r) => {
                    for (to, id, names) in &r.sent {
                        self.note("watch", "自動送信しました".into(), format!("{to} へ {} 件（{id}）", names.len())).await;
                    }
                    for (name, reasons) in &r.refused {
                        self.note(
                            "watch",
                            "送信できないファイルがあります".into(),
                            format!("{name}: {}（エラーフォルダーに移しました）", reasons.join(" / ")),
                        )
                        .await;
                    }
                    if !r.waiting.is_empty() {
                        self.note(
                            "waiting",
                            "送信待ちのファイルがあります".into(),
                            format!(
                                "{} 件の送信先。{}",
                                r.waiting.len(),
                                if auto {
                                    "ログインすると自動で送信します"
                                } else {
                                    "「一括送信」で確認して送信してください"
                                }
                            ),
                        )
                        .await;
                    }
                    for (to, why) in &r.failed {
                        self.note("error", "自動送信できませんでした".into(), format!("{to}: {why}")).await;
                    }
                    let wait_for_login = auto && hub.is_none() && !r.waiting.is_empty();
                    if !r.failed.is_empty() {
                        // Try again at the next scan.
                        scanner = watch::Scanner::new(&dir, stable);
                    }
                    *self.last_watch.lock().await = Some(r);
                    if wait_for_login {
                        // Auto-send waits for a login, then takes the folder again.
                        self.login_signal.notified().await;
                        scanner = watch::Scanner::new(&dir, stable);
                    }
                }
                Err(e) => self.note("error", "監視フォルダーを処理できません".into(), format!("{e:#}")).await,
            }
        }
    }
}

/// All offices of this PC.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// Offices in profile-name order.
    pub offices: Vec<Arc<OfficeRt>>,
}

impl Daemon {
    /// Opens every profile under `home` (or just `only`).
    pub async fn open(home: &std::path::Path, only: Option<&str>) -> anyhow::Result<Daemon> {
        let profiles = match only {
            Some(n) => vec![Profile::pick(home, Some(n))?],
            None => Profile::all(home)?,
        };
        if profiles.is_empty() {
            anyhow::bail!("この PC はまだ登録されていません。まず `renkei setup` を実行してください");
        }
        let mut offices = Vec::new();
        for p in profiles {
            offices.push(OfficeRt::open(p).await?);
        }
        Ok(Daemon { offices })
    }

    /// Starts the background loops.
    pub fn spawn_loops(&self) {
        for o in &self.offices {
            tokio::spawn(o.clone().event_loop());
            tokio::spawn(o.clone().watch_loop());
            tokio::spawn(o.clone().expiry_loop());
            tokio::spawn(o.clone().session_loop());
        }
    }

    /// The office with this profile name.
    pub async fn office(&self, name: &str) -> Option<Arc<OfficeRt>> {
        for o in &self.offices {
            if o.name().await == name {
                return Some(o.clone());
            }
        }
        None
    }
}

/// An office as people know it: its name and number (the number alone when the hub does not
/// know the name).
async fn office_label(hub: &HubClient, number: &str) -> String {
    match hub.directory(number).await.ok().and_then(|d| d.name).filter(|n| !n.is_empty()) {
        Some(name) => format!("{name}（{number}）"),
        None => number.to_owned(),
    }
}

/// What a message was, in a line: its first file (and how many more), or its text.
fn describe(m: &renkei_protocol::MessageInfo) -> String {
    if let Some(c) = &m.contact {
        return c.summary_ja();
    }
    match m.files.split_first() {
        Some((first, [])) => first.name.clone(),
        Some((first, rest)) => format!("{} ほか {} 件", first.name, rest.len()),
        None => {
            let text: String = m.note.chars().take(40).collect();
            if m.note.chars().count() > 40 { format!("{text}…") } else { text }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_session_is_announced_half_an_hour_before() {
        let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        assert!(!ending_soon(now + time::Duration::minutes(31), now));
        assert!(ending_soon(now + time::Duration::minutes(30), now));
        assert!(ending_soon(now + time::Duration::seconds(1), now));
        assert!(!ending_soon(now, now), "ended: the stopped notice says it");
        assert!(!ending_soon(now - time::Duration::minutes(1), now));
    }
}
