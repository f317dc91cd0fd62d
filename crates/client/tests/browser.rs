//! The monthly cycle between two offices through the web UI, in headless Chromium (Debian
//! `chromium` + `chromium-driver`, driven by fantoccini): 居宅 sends plans with 一括送信 → the
//! provider is notified, fetches, sends actuals → 居宅 sees 取得済, fetches, and 予実突合 shows the
//! one deliberate difference. Every screen is saved as a PNG under `target/screenshots/` (CI keeps
//! them as artefacts; they are not committed).

use crate::common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use renkei_client::daemon::{Daemon, OfficeRt};
use renkei_testkit::hub::{DEMO_PASSWORD, TestHub};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    /// chromedriver and every Chromium it started (its process group): a test that ends, or
    /// fails, leaves no browser behind.
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-KILL").arg("--").arg(format!("-{}", self.child.id())).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn chromedriver() -> Driver {
    let exe = std::env::var("RENKEI_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    assert!(
        std::path::Path::new(&exe).exists(),
        "{exe} is missing: install Debian's chromium, chromium-driver and fonts-ipafont-gothic (.ci/run does)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // A process group of its own, so that dropping the driver ends its browsers too.
    let child = std::os::unix::process::CommandExt::process_group(
        Command::new(exe).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()),
        0,
    )
    .spawn()
    .expect("start chromedriver");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

/// A Chrome DevTools command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
pub(crate) struct Cdp(pub(crate) serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &reqwest::Url, session: Option<&str>) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(self.0.to_string()))
    }
}

/// Installed in every document before its own scripts: collects CSP violations, script errors,
/// failed resources, unhandled rejections and console errors, which [`shot`] then requires to
/// be none.
const WATCH: &str = "window.__problems = [];
document.addEventListener('securitypolicyviolation', function (e) { window.__problems.push('CSP ' + e.violatedDirective + ' ' + e.blockedURI); });
window.addEventListener('error', function (e) { window.__problems.push('error ' + (e.message || (e.target && (e.target.src || e.target.href)) || e.type)); }, true);
window.addEventListener('unhandledrejection', function (e) { window.__problems.push('unhandled ' + e.reason); });
var __ce = console.error; console.error = function () { window.__problems.push('console.error ' + Array.prototype.join.call(arguments, ' ')); return __ce.apply(console, arguments); };";

/// After switching to a tab the page opened (a form's `target=_blank`): the watcher for every
/// later document of this tab, and for the one already loaded from now on (what it logged while
/// loading is not seen: the tab's page is a POST's answer, which cannot be loaded again).
pub(crate) async fn watch_this_tab(c: &Client) {
    c.issue_cmd(Cdp(serde_json::json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": WATCH}})))
        .await
        .expect("the page watcher is installed");
    c.execute(WATCH, vec![]).await.expect("the page watcher runs");
}

/// Fails when the page logged a CSP violation, a script or resource error or a console error.
pub(crate) async fn no_problems(c: &Client, name: &str) {
    let v =
        c.execute("return window.__problems === undefined ? ['the page watcher is missing'] : window.__problems", vec![]).await.unwrap();
    let problems: Vec<String> = serde_json::from_value(v).unwrap_or_default();
    assert!(problems.is_empty(), "{name}: the browser logged {problems:?}");
}

pub(crate) async fn browser(d: &Driver, downloads: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    // The hub's portal is served with the test CA's certificate.
    caps.insert("acceptInsecureCerts".into(), serde_json::Value::Bool(true));
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": std::env::var("RENKEI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--lang=ja", "--window-size=1024,768"],
            "prefs": {"download.default_directory": downloads.display().to_string()},
        }),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&d.url)
        .await
        .expect("chromium session");
    c.issue_cmd(Cdp(serde_json::json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": WATCH}})))
        .await
        .expect("the page watcher is installed");
    c
}

fn shots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let d = target.join("screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// axe-core (vendored test asset, MPL-2.0) on the page as it is: the WCAG 2.1 A and AA rules
/// (JIS X 8341-3 AA). Every violation fails the test, named with its rule, help text and the
/// elements concerned.
pub(crate) async fn axe(c: &Client, name: &str) {
    const AXE: &str = include_str!("assets/axe/axe.min.js");
    c.execute(AXE, vec![]).await.unwrap_or_else(|e| panic!("{name}: axe-core does not load: {e}"));
    let r = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
               .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160)).join(' | '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    let violations: Vec<String> = serde_json::from_value(r).unwrap_or_default();
    assert!(violations.is_empty(), "{name}: accessibility (WCAG 2.1 AA) violations:\n{}", violations.join("\n"));
}

/// The page at 200% zoom (a 1024-pixel window at 200% is 512 CSS pixels wide): its content
/// reflows, nothing needs sideways scrolling.
pub(crate) async fn reflows(c: &Client, name: &str) {
    c.set_window_size(512, 768).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let widths = c
        .execute(
            "const d = document.documentElement; const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > d.clientWidth + 1).slice(0, 3).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className); return [d.scrollWidth, d.clientWidth, wide.join(', ')];",
            vec![],
        )
        .await
        .unwrap();
    c.set_window_size(1024, 768).await.unwrap();
    let (scroll, client) = (widths[0].as_u64().unwrap_or(0), widths[1].as_u64().unwrap_or(0));
    assert!(
        scroll <= client,
        "{name}: at 200% zoom the page is {scroll}px wide in a {client}px window (sideways scrolling): {}",
        widths[2]
    );
}

/// Every control of the page is reached with Tab alone, in document order, and shows where the
/// focus is (its own focus indicator or its label's): the monthly cycle needs no mouse.
pub(crate) async fn keyboard(c: &Client, name: &str) {
    // A key per tabbable control; of a radio group only the checked one (arrows move within).
    const KEY: &str = "function key(e) { return e.tagName + '|' + (e.id || e.name || '') + '|' + (e.getAttribute('href') || e.getAttribute('formaction') || e.value || e.textContent || '').trim().slice(0, 40); }";
    let js = format!(
        "{KEY} const all = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')]
           .filter(e => !e.disabled && e.type !== 'hidden' && e.tabIndex >= 0 && !e.closest('[hidden]') && e.getClientRects().length > 0
                        && !(e.closest('details:not([open])') && e.tagName !== 'SUMMARY')
                        && !(e.type === 'radio' && !e.checked && document.querySelector('input[type=radio][name=\"' + e.name + '\"]:checked')));
         return all.map(key);"
    );
    let expected: Vec<String> = serde_json::from_value(c.execute(&js, vec![]).await.unwrap()).unwrap();
    c.execute("if (document.activeElement) document.activeElement.blur();", vec![]).await.unwrap();
    let step = format!(
        "{KEY} const e = document.activeElement; if (!e || e === document.body) return ['BODY', true];
         const own = getComputedStyle(e); const label = e.closest('.button, label');
         const ring = s => s && (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2);
         const r = e.getBoundingClientRect();
         const seen = r.width >= 4 && r.height >= 4 && own.opacity !== '0' && r.right > 0 && r.bottom > 0;
         return [key(e), (seen && ring(own)) || (label && ring(getComputedStyle(label)))];"
    );
    let mut seen = std::collections::HashSet::new();
    for _ in 0..expected.len() + 8 {
        use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
        let tab = KeyActions::new("keyboard".into()).then(KeyAction::Down { value: '\u{e004}' }).then(KeyAction::Up { value: '\u{e004}' });
        c.perform_actions(tab).await.unwrap();
        let r = c.execute(&step, vec![]).await.unwrap();
        let k = r[0].as_str().unwrap_or_default().to_owned();
        if k == "BODY" {
            continue;
        }
        assert!(r[1].as_bool().unwrap_or(false), "{name}: {k} has the focus but shows no focus indicator");
        seen.insert(k);
    }
    let missed: Vec<&String> = expected.iter().filter(|k| !seen.contains(*k)).collect();
    assert!(missed.is_empty(), "{name}: not reached with Tab: {missed:?}");
    c.execute("if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0);", vec![]).await.unwrap();
}

pub(crate) async fn shot(c: &Client, name: &str) {
    no_problems(c, name).await;
    keyboard(c, name).await;
    axe(c, name).await;
    reflows(c, name).await;
    // Full page: make the window as tall as the page, then restore.
    let h = c.execute("return document.documentElement.scrollHeight", vec![]).await.unwrap().as_u64().unwrap_or(768).clamp(768, 4000);
    c.set_window_size(1024, h as u32 + 90).await.unwrap();
    let png = c.screenshot().await.unwrap();
    c.set_window_size(1024, 768).await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// Waits until the page (or `css`'s text) contains `text`.
pub(crate) async fn wait_text(c: &Client, css: &str, text: &str) -> String {
    let mut last = String::new();
    for _ in 0..150 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if t.contains(text) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let full = c.source().await.unwrap_or_default();
    let src: String = full[full.find("<main").unwrap_or(0)..].chars().take(1500).collect();
    let _ = std::fs::write(shots().join("FAILED.png"), c.screenshot().await.unwrap_or_default());
    let _ = std::fs::write(shots().join("FAILED.html"), &full);
    panic!("「{text}」 did not appear in {css} at {:?}; last text: {last}; page: {src}", c.current_url().await.ok().map(|u| u.to_string()));
}

/// Like [`wait_text`], reloading the page between looks (for server-side state).
pub(crate) async fn wait_reload(c: &Client, css: &str, text: &str) {
    for _ in 0..30 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && e.text().await.is_ok_and(|t| t.contains(text))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.refresh().await.unwrap();
    }
    wait_text(c, css, text).await;
}

/// 帳票を表示 of the file whose name starts with `prefix` (in 受信詳細/送信詳細).
pub(crate) async fn open_form(c: &Client, prefix: &str) {
    let js = format!(
        "const r = [...document.querySelectorAll('tr')].find(r => r.textContent.trim().startsWith('{prefix}')); if (!r) return false; r.querySelector('a.form-link').click(); return true;"
    );
    assert_eq!(c.execute(&js, vec![]).await.unwrap().as_bool(), Some(true), "no 帳票を表示 for {prefix}");
}

pub(crate) async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

pub(crate) async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
}

/// An enrolled PC (not logged in: the browser logs in) with its UI on port 0.
pub(crate) async fn pc(hub: &TestHub, i: usize, tweak: impl FnOnce(&mut renkei_client::profile::Settings)) -> (Arc<OfficeRt>, String) {
    let home = tempdir(&format!("ui{i}"));
    let mut p = set_up_pc(hub, &home, i).await;
    // The next morning: the session kept from set-up has ended, the clerk logs in.
    renkei_client::hub::save_session(&p, None).unwrap();
    tweak(&mut p.settings);
    p.save().unwrap();
    let rt = OfficeRt::open(p).await.unwrap();
    let d = Daemon { offices: vec![rt.clone()] };
    d.spawn_loops();
    let token = renkei_client::ui::ui_token(&home).unwrap();
    let running = renkei_client::ui::serve(d, token, "127.0.0.1:0").await.unwrap();
    (rt, running.login_url)
}

/// The port of `http://127.0.0.1:<port>/…`.
fn port_of(url: &str) -> u16 {
    url.trim_start_matches("http://127.0.0.1:").split('/').next().unwrap().parse().unwrap()
}

pub(crate) async fn log_in(c: &Client, url: &str, shot_name: Option<&str>) {
    c.goto(url).await.unwrap();
    wait_text(c, "h1", "ログイン").await;
    if let Some(n) = shot_name {
        shot(c, n).await;
    }
    fill(c, "input[name=password]", DEMO_PASSWORD).await;
    click(c, "#login-button").await;
    wait_text(c, "h1", "トップ").await;
}

#[tokio::test]
async fn the_monthly_cycle_between_two_offices_in_the_browser() {
    let hub = TestHub::start().await;
    let export = tempdir("care-export");
    let care_import = tempdir("care-import");
    let prov_import = tempdir("prov-import");
    let (_care, care_url) = pc(&hub, 0, |s| {
        s.export_dir = Some(export.clone());
        s.import_dir = Some(care_import.clone());
    })
    .await;
    let (_prov, prov_url) = pc(&hub, 1, |s| s.import_dir = Some(prov_import.clone())).await;

    // The month's plans, as the care software exported them.
    let plans = slip_unit(&hub, 11, 0, 1, seq(25, 10));
    write_files(&export, &plans);
    // The provider's actuals: the plan, with one deliberate difference (line 2 was given twice).
    let plan_file = plans.iter().find(|f| f.name.starts_with("UPPLAN")).unwrap();
    let g = renkei_testkit::Generator::new(12);
    let actual = g.actual_from_plan(plan_file, &office(&hub, 1), &office(&hub, 0), MONTH, seq(31, 18), |i, r| {
        if i == 2 {
            r[13].0 = "2".into();
        }
    });
    let actual_dir = tempdir("prov-export");
    let actual_path = actual_dir.join(&actual.name);
    std::fs::write(&actual_path, &actual.bytes).unwrap();

    let driver = chromedriver();
    let care = browser(&driver, &tempdir("care-dl")).await;
    let prov = browser(&driver, &tempdir("prov-dl")).await;

    // Without the install's token, nothing is shown.
    let port = port_of(&care_url);
    care.goto(&format!("http://127.0.0.1:{port}/o/1371000017/inbox")).await.unwrap();
    wait_text(&care, "body", "renkei ui").await;

    // 通所 is at work with the client open.
    log_in(&prov, &prov_url, None).await;
    wait_reload(&prov, ".status", "接続中").await;

    // 居宅: log in, トップ, then 一括送信 of the export folder.
    log_in(&care, &care_url, Some("01-ログイン")).await;
    wait_text(&care, ".status", "連携基盤").await;
    // トップ shows this PC's terminal and its certificate's number and expiry.
    let t = wait_text(&care, "#terminal", "電子証明書").await;
    assert!(t.contains("有効期限 20") && t.contains("あと "), "{t}");
    let t = wait_text(&care, "#licence", "有効期限").await;
    assert!(t.contains("利用可能です"), "{t}");
    wait_text(&care, "#version", renkei_client::hub::VERSION).await;
    wait_text(&care, "#operating", "正常稼働中").await;
    shot(&care, "02-トップ").await;
    // The operator's 稼働状況 reaches トップ with its text.
    hub.set_incident("受信一覧の表示が遅くなっています").await;
    care.refresh().await.unwrap();
    wait_text(&care, "#operating", "障害発生中: 受信一覧の表示が遅くなっています").await;
    shot(&care, "02a-トップ-障害発生中").await;
    click(&care, "nav a[href$='/bulk']").await;
    let t = wait_text(&care, "main", "ひまわりデイサービス").await;
    assert!(t.contains("1372000024") && t.contains("送信できます") && t.contains("サービス利用票"), "{t}");
    // 内容 says what each file is; the send unit by when it was made, not a raw sequence.
    assert!(t.contains("2025年6月分") && t.contains("作成）"), "{t}");
    assert!(!t.contains(&format!("{} ", seq(25, 10))), "no raw file sequence: {t}");
    shot(&care, "03-一括送信").await;
    click(&care, "#bulk-send").await;
    wait_text(&care, "#progress", "一括送信が終わりました").await;
    wait_text(&care, "#progress", "3 ファイルを送信しました").await;
    shot(&care, "04-一括送信-完了").await;
    assert!(export.join("送信済").is_dir(), "sent files leave the export folder");

    // 通所 is told at once (banner), and the top page counts it.
    wait_text(&prov, "#banner", "新着メッセージがあります").await;
    wait_reload(&prov, "#unread", "1").await;
    shot(&prov, "05-通所-トップ-新着通知").await;
    // The banner's 閉じる keeps the keyboard focus while the banner polls (every 2 s).
    wait_text(&prov, "#banner", "新着").await;
    prov.execute("document.querySelector('#banner button').focus()", vec![]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let focused = prov.execute("return document.activeElement && document.activeElement.textContent", vec![]).await.unwrap();
    assert_eq!(focused.as_str(), Some("閉じる"), "the polling banner does not take the focus away");
    click(&prov, "nav a[href$='/inbox']").await;
    let t = wait_text(&prov, "table.list", "未取得").await;
    assert!(t.contains("新着") && t.contains("さくら居宅介護支援事業所"), "{t}");
    shot(&prov, "06-受信一覧").await;
    click(&prov, "table.list tbody a").await;
    wait_text(&prov, "h1", "受信詳細").await;
    shot(&prov, "07-受信詳細").await;
    click(&prov, "#fetch").await;
    wait_text(&prov, "main", "3 件のファイルを取得しました").await;
    shot(&prov, "08-データ取得").await;
    for f in &plans {
        assert_eq!(std::fs::read(prov_import.join(&f.name)).unwrap(), f.bytes, "{} saved as sent", f.name);
    }
    // 帳票表示: the received plan (第6表) as its monthly grid, ready to print.
    open_form(&prov, "UPPLAN").await;
    let t = wait_text(&prov, "main", "第6表 サービス利用票（予定）").await;
    assert!(t.contains("被保険者番号") && t.contains("合計") && t.contains("2025年6月分"), "{t}");
    let sheets = prov.find_all(Locator::Css("section.form-sheet")).await.unwrap().len();
    let cells = prov.find_all(Locator::Css("table.slip-grid thead th.day")).await.unwrap().len();
    assert!(sheets > 0 && cells == sheets * 30, "a sheet per person, a column per day of June: {sheets} sheets, {cells} day columns");
    shot(&prov, "08a-帳票-第6表").await;
    click(&prov, "#back").await;
    wait_text(&prov, "h1", "受信詳細").await;
    // Nothing is left to fetch: the new-message banner is gone, and トップ counts 0.
    click(&prov, "nav a[href$='/']").await;
    wait_text(&prov, "h1", "トップ").await;
    wait_reload(&prov, "#unread", "0").await;
    tokio::time::sleep(Duration::from_millis(2500)).await; // one banner poll
    let banner = prov.find(Locator::Css("#banner")).await.unwrap().text().await.unwrap();
    assert!(!banner.contains("新着メッセージがあります"), "a resolved banner disappears: {banner}");

    // 通所 sends the actuals from 新規作成: the destination's name is shown before sending and
    // the file is checked inline.
    click(&prov, "nav a[href$='/compose']").await;
    fill(&prov, "#to", "1371000017").await;
    wait_text(&prov, "#to-name", "さくら居宅介護支援事業所").await;
    prov.find(Locator::Css("#files")).await.unwrap().send_keys(&actual_path.display().to_string()).await.unwrap();
    wait_text(&prov, "#verdicts", "送信できます").await;
    fill(&prov, "textarea[name=note]", "6月分の実績です。").await;
    shot(&prov, "09-新規作成").await;
    click(&prov, "#send").await;
    wait_text(&prov, "h1", "送信詳細").await;
    wait_text(&prov, "main", "送信しました").await;
    wait_text(&prov, "#state", "未取得").await;
    shot(&prov, "10-送信詳細").await;

    // 居宅: the plans were fetched (取得済); the actuals have arrived.
    click(&care, "nav a[href$='/sent']").await;
    let t = wait_text(&care, "table.list", "取得済").await;
    assert!(t.contains("ひまわりデイサービス"), "{t}");
    shot(&care, "11-送信一覧-取得済").await;
    wait_text(&care, "#banner", "新着").await;
    click(&care, "nav a[href$='/inbox']").await;
    wait_text(&care, "table.list", "未取得").await;
    click(&care, "#fetch-all").await;
    wait_text(&care, "main", "一括取得: 1 件のメッセージを取得し、1 ファイルを").await;
    shot(&care, "12-一括取得").await;
    assert_eq!(std::fs::read(care_import.join(&actual.name)).unwrap(), actual.bytes);

    // 予実突合 shows the one difference.
    click(&care, "nav a[href$='/reconcile']").await;
    fill(&care, "input[name=month]", "202506").await;
    fill(&care, "input[name=partner]", "1372000024").await;
    click(&care, "#reconcile-run").await;
    let summary = wait_text(&care, "#summary", "違い 1 件").await;
    assert!(summary.contains("ひまわりデイサービス"), "{summary}");
    let rows = care.find_all(Locator::Css("#differences tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = rows[0].text().await.unwrap();
    assert!(row.contains("時間・回数の違い") && row.contains("1回") && row.contains("2回"), "{row}");
    // 第7表's units against the actual counts: the service given twice is one unit value more.
    let units = care.find(Locator::Css("#unit-differences tbody")).await.unwrap().text().await.unwrap();
    assert!(units.contains("単位（") && units.contains("+"), "{units}");
    shot(&care, "13-予実突合").await;

    // A file whose name breaks the standard: the national headline, the specific reason below,
    // the rule id only behind 「規則」; nothing is sent.
    let odd_dir = tempdir("odd-name");
    let odd = odd_dir.join("UPJSK_202506_1372000024_15_1371000017_43_2025063118000.CSV");
    std::fs::write(&odd, &actual.bytes).unwrap();
    click(&care, "nav a[href$='/compose']").await;
    // A garbage destination first: no file is 「送信できます」.
    fill(&care, "#to", "abc12").await;
    let pdf = odd_dir.join("お知らせ.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n%%EOF\n").unwrap();
    care.find(Locator::Css("#files")).await.unwrap().send_keys(&pdf.display().to_string()).await.unwrap();
    let t = wait_text(&care, "#verdicts", "送信先の事業所番号「abc12」が正しくありません").await;
    assert!(!t.contains("送信できます"), "{t}");
    // The registry is the truth: a number whose check digit fails is refused with its hint
    // while unregistered, and accepted (a note, no error) once the registry holds it.
    care.refresh().await.unwrap();
    fill(&care, "#to", "2372100034").await;
    wait_text(&care, "#to-name", "計算上の検証番号は 8").await;
    hub.register_office("2372100034", "グループホームさくら", "32").await;
    care.refresh().await.unwrap();
    fill(&care, "#to", "2372100034").await;
    let t = wait_text(&care, "#to-name", "グループホームさくら").await;
    assert!(t.contains("事業所台帳に登録された番号"), "{t}");
    care.find(Locator::Css("#files")).await.unwrap().send_keys(&pdf.display().to_string()).await.unwrap();
    let t = wait_text(&care, "#verdicts", "お知らせ.pdf").await;
    assert!(!t.contains("正しくありません"), "{t}");
    shot(&care, "14-新規作成-台帳にある番号").await;
    care.refresh().await.unwrap();
    fill(&care, "#to", "1372000024").await;
    care.find(Locator::Css("#files")).await.unwrap().send_keys(&odd.display().to_string()).await.unwrap();
    let t = wait_text(&care, "#verdicts", "添付ファイル名の形式に誤りがあります").await;
    assert!(t.contains("エラー") && !t.contains("送信できます"), "{t}");
    let visible = care.find(Locator::Css("#verdicts")).await.unwrap().text().await.unwrap();
    assert!(!visible.contains("name."), "rule ids stay behind the toggle: {visible}");
    shot(&care, "14a-新規作成-ファイル名の誤り").await;

    // Contacts without files, each kind with its fields: sent, confirmed, listed as メッセージのみ.
    for (kind, month, person, units, line) in [
        ("no_use", "202507", "H000000001", "", "今月利用なし 2025年7月分 H000000001"),
        ("over_limit", "202507", "H000000002", "1200", "区分支給限度額超過の連絡 2025年7月分 H000000002 超過1,200単位"),
        ("plan_change", "", "H000000003", "", "計画変更の連絡 H000000003"),
    ] {
        click(&care, "nav a[href$='/compose']").await;
        fill(&care, "#to", "1372000024").await;
        click(&care, &format!("input[value={kind}]")).await;
        fill(&care, "#month", month).await;
        fill(&care, "#subject", person).await;
        fill(&care, "#units", units).await;
        click(&care, "#send").await;
        wait_text(&care, "h1", "送信詳細").await;
        let t = wait_text(&care, "main", "送信しました").await;
        assert!(t.contains("メッセージのみ") && t.contains(person), "{kind}: {t}");
        click(&care, "nav a[href$='/sent']").await;
        wait_text(&care, "table.list", line).await;
    }
    shot(&care, "14b-送信一覧-連絡").await;
    // A contact missing its month is refused on the form, by its field, and nothing is sent.
    click(&care, "nav a[href$='/compose']").await;
    fill(&care, "#to", "1372000024").await;
    click(&care, "input[value=no_use]").await;
    fill(&care, "#subject", "H000000004").await;
    click(&care, "#send").await;
    wait_text(&care, ".error", "対象年月").await;
    assert_eq!(care.find(Locator::Css("#subject")).await.unwrap().prop("value").await.unwrap().as_deref(), Some("H000000004"), "kept");
    // 通所 is told what arrived (the contact's line, not 「0 件のファイル」), sees them in 受信一覧
    // and takes two of them by their check boxes.
    let t = wait_text(&prov, "#banner", "計画変更の連絡 H000000003").await;
    assert!(!t.contains("0 件のファイル"), "{t}");
    click(&prov, "nav a[href$='/inbox']").await;
    let t = wait_text(&prov, "table.list", "区分支給限度額超過の連絡").await;
    assert!(t.contains("メッセージのみ") && t.contains("計画変更の連絡 H000000003"), "{t}");
    shot(&prov, "15a-受信一覧-連絡").await;
    let boxes = prov.find_all(Locator::Css("table.list input[type=checkbox]")).await.unwrap();
    assert_eq!(boxes.len(), 3, "one box per 未取得 row");
    boxes[0].click().await.unwrap();
    boxes[1].click().await.unwrap();
    click(&prov, "#fetch-selected").await;
    wait_text(&prov, "main", "2 件のメッセージを取得しました").await;
    assert_eq!(prov.find_all(Locator::Css("table.list input[type=checkbox]")).await.unwrap().len(), 1);
    click(&prov, "table.list tbody tr:first-child a").await;
    let t = wait_text(&prov, "main", "連絡の種類").await;
    assert!(t.contains("利用者") && t.contains("メッセージのみ"), "{t}");
    shot(&prov, "15b-受信詳細-連絡").await;

    // A message without files, saved as a draft (下書きは全端末で共有).
    click(&care, "nav a[href$='/compose']").await;
    fill(&care, "#to", "1372000024").await;
    click(&care, "input[value=no_use]").await;
    fill(&care, "input[name=month]", "202507").await;
    fill(&care, "input[name=subject]", "H000000001 山田様").await;
    click(&care, "#save-draft").await;
    // The compose page itself says 今月利用なし (a choice): wait for what only the list shows.
    let t = wait_text(&care, "main", "2025年7月分").await;
    assert!(t.contains("今月利用なし") && t.contains("ひまわりデイサービス"), "{t}");
    shot(&care, "14-下書き一覧").await;
    // The draft opens in the form, is changed (更新), and is sent from there.
    click(&care, "a.open-draft").await;
    wait_text(&care, "h1", "下書きの編集").await;
    assert_eq!(care.find(Locator::Css("#month")).await.unwrap().prop("value").await.unwrap().as_deref(), Some("202507"));
    fill(&care, "#month", "202508").await;
    click(&care, "#save-draft").await;
    let t = wait_text(&care, "main", "下書きを保存しました").await;
    assert!(t.contains("2025年8月分"), "{t}");
    click(&care, "a.open-draft").await;
    wait_text(&care, "h1", "下書きの編集").await;
    shot(&care, "14c-下書きの編集").await;
    click(&care, "#send").await;
    wait_text(&care, "h1", "送信詳細").await;
    let t = wait_text(&care, "main", "送信しました").await;
    assert!(t.contains("2025年8月"), "{t}");
    click(&care, "nav a[href$='/drafts']").await;
    wait_text(&care, "main", "下書きはありません").await;

    // A refused form keeps its files: the clerk corrects the destination and sends without
    // choosing the file again.
    click(&care, "nav a[href$='/compose']").await;
    fill(&care, "#to", "1372000025").await;
    care.find(Locator::Css("#files")).await.unwrap().send_keys(&pdf.display().to_string()).await.unwrap();
    wait_text(&care, "#verdicts", "正しくありません").await;
    click(&care, "#send").await;
    wait_text(&care, ".error", "正しくありません").await;
    let t = wait_text(&care, "#held-files", "お知らせ.pdf").await;
    assert!(t.contains("もう一度選ぶ必要はありません"), "{t}");
    shot(&care, "14d-新規作成-ファイルを保持").await;
    fill(&care, "#to", "1372000024").await;
    click(&care, "#send").await;
    wait_text(&care, "h1", "送信詳細").await;
    wait_text(&care, "main", "お知らせ.pdf").await;

    care.close().await.unwrap();
    prov.close().await.unwrap();
    hub.stop().await;
}

#[tokio::test]
async fn the_ui_refuses_other_hosts_missing_tokens_and_cross_site_posts() {
    let hub = TestHub::start().await;
    let (_rt, url) = pc(&hub, 0, |_| {}).await;
    let port = port_of(&url);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // DNS rebinding: another Host name.
    let r = http.get(format!("{base}/")).header("host", format!("evil.example:{port}")).send().await.unwrap();
    assert_eq!(r.status(), 421);
    // No token cookie.
    assert_eq!(http.get(format!("{base}/o/1371000017/")).send().await.unwrap().status(), 401);
    // A wrong token.
    assert_eq!(http.get(format!("{base}/login?token=00")).send().await.unwrap().status(), 403);
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("HttpOnly"));
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age="), "kept when the browser is closed");
    // With the cookie: the page (login page of the office).
    let r = http.get(format!("{base}/o/1371000017/login")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let page = r.text().await.unwrap();
    let csrf = page.split("x-csrf-token\": \"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(!page.contains("csrf="), "no CSRF token in any URL of the page");
    let form = [("login", "KJ137100001701"), ("password", DEMO_PASSWORD)];
    let with_token = [("csrf", csrf.as_str()), ("login", "KJ137100001701"), ("password", DEMO_PASSWORD)];
    // A POST without the CSRF token, with it in the URL instead of the form, or from another
    // site, is refused.
    let r = http.post(format!("{base}/o/1371000017/login")).header("cookie", &cookie).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = http.post(format!("{base}/o/1371000017/login?csrf={csrf}")).header("cookie", &cookie).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 403, "a token in the URL is no token");
    let r = http
        .post(format!("{base}/o/1371000017/login"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http.post(format!("{base}/o/1371000017/login")).header("cookie", &cookie).form(&with_token).send().await.unwrap();
    assert_eq!(r.status(), 303, "the same request with the token logs in");
    hub.stop().await;
}

/// Listens for CSP violations on the page from now on (the UI's own CSP forbids inline script).
async fn watch_csp(c: &Client) {
    c.execute(
        "window.__csp = []; document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });",
        vec![],
    )
    .await
    .unwrap();
}

async fn csp_violations(c: &Client) -> Vec<String> {
    let v = c.execute("return window.__csp || []", vec![]).await.unwrap();
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn two_offices_on_one_pc_switch_with_the_dropdown() {
    let hub = TestHub::start().await;
    let home = tempdir("two-offices");
    let (p0, p1) = (set_up_pc(&hub, &home, 0).await, set_up_pc(&hub, &home, 1).await);
    for p in [&p0, &p1] {
        renkei_client::hub::save_session(p, None).unwrap();
    }
    let first = OfficeRt::open(p0).await.unwrap();
    let second = OfficeRt::open(p1).await.unwrap();
    let second_name = second.name().await;
    let d = Daemon { offices: vec![first, second] };
    let token = renkei_client::ui::ui_token(&home).unwrap();
    let running = renkei_client::ui::serve(d, token, "127.0.0.1:0").await.unwrap();
    let driver = chromedriver();
    let c = browser(&driver, &tempdir("two-offices-dl")).await;
    log_in(&c, &running.login_url, None).await;
    watch_csp(&c).await;
    // The clerk picks the other office in the dropdown: nothing else to press (JavaScript on).
    let select = c.find(Locator::Css("select[name=p]")).await.unwrap();
    select.select_by_value(&second_name).await.unwrap();
    let mut url = String::new();
    for _ in 0..50 {
        url = c.current_url().await.unwrap().to_string();
        if url.contains(&format!("/o/{second_name}/")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(url.contains(&format!("/o/{second_name}/")), "the dropdown switched the office: {url}");
    assert_eq!(csp_violations(&c).await, Vec::<String>::new(), "no CSP violation on the way");
    wait_text(&c, "h1", "ログイン").await;
    shot(&c, "15-事業所切替").await;
    c.close().await.unwrap();
    hub.stop().await;
}
