//! The month between an office with nothing installed — the hub's web mailbox in a browser —
//! and an office on the local client, in two headless Chromium browsers: the mailbox's login
//! sets up the second factor and uses it, 居宅 sends plans from the client, 通所 reads them in
//! 受信詳細, shows 第6表, takes them as a ZIP (データ取得), answers with 実績 from 新規作成 and a
//! contact without files; 居宅 sees 取得済・開封済 and takes both. Every screen of the mailbox
//! is saved (`target/screenshots/m…`) after the page checks (CSP, console, keyboard, axe, reflow).

use crate::browser::{Cdp, browser, chromedriver, click, fill, log_in, open_form, pc, shot, wait_reload, wait_text};
use crate::common::*;
use fantoccini::Locator;
use renkei_testkit::hub::{DEMO_PASSWORD, TestHub};
use std::io::Read as _;
use std::time::Duration;

/// The first ZIP file to appear in `dir` (a finished download), its entries by name.
async fn downloaded_zip(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    for _ in 0..100 {
        let zip = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "zip"));
        if let Some(p) = zip {
            let bytes = std::fs::read(&p).unwrap();
            std::fs::remove_file(&p).unwrap();
            let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
            let mut out: Vec<(String, Vec<u8>)> = (0..z.len())
                .map(|i| {
                    let mut f = z.by_index(i).unwrap();
                    let mut v = Vec::new();
                    f.read_to_end(&mut v).unwrap();
                    (f.name().unwrap().to_string(), v)
                })
                .collect();
            out.sort();
            return out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no ZIP was downloaded into {}", dir.display());
}

#[tokio::test]
async fn an_office_in_the_web_mailbox_and_one_on_the_client_do_the_month() {
    let hub = TestHub::start().await;
    let base = hub.url();
    let care_import = tempdir("mb-care-import");
    let (_care_rt, care_url) = pc(&hub, 0, |s| s.import_dir = Some(care_import.clone())).await;
    let driver = chromedriver();
    let care = browser(&driver, &tempdir("mb-care-dl")).await;
    let prov_dl = tempdir("mb-prov-dl");
    let prov = browser(&driver, &prov_dl).await;
    prov.issue_cmd(Cdp(serde_json::json!({"cmd": "Browser.setDownloadBehavior", "params": {"behavior": "allow", "downloadPath": prov_dl.display().to_string()}})))
        .await
        .expect("downloads allowed");
    let login = hub.offices[1].admin.clone();

    // 通所 opens the mailbox: to its login; without a second factor yet, to the page that sets it up.
    prov.goto(&format!("{base}/mailbox/")).await.unwrap();
    wait_text(&prov, "h1", "ログイン").await;
    fill(&prov, "input[name=login]", &login).await;
    fill(&prov, "input[name=password]", DEMO_PASSWORD).await;
    shot(&prov, "m01-Webメールボックス-ログイン").await;
    click(&prov, "#login-button").await;
    wait_text(&prov, "h1", "2段階認証").await;
    click(&prov, "#start-totp").await;
    let secret = wait_text(&prov, "#totp-secret", " ").await;
    fill(&prov, "input[name=code]", &TestHub::totp_code(&secret, 0)).await;
    click(&prov, "#confirm-totp").await;
    wait_text(&prov, "#recovery-codes", "-").await;
    click(&prov, "#open-mailbox").await;
    let t = wait_text(&prov, "main", "未取得の受信").await;
    assert!(t.contains("ライセンス") && !t.contains("監視フォルダー"), "{t}");
    // The next login asks for the code, and a wrong one is said so.
    click(&prov, "form[action='/mailbox/logout'] button").await;
    wait_text(&prov, "h1", "ログイン").await;
    fill(&prov, "input[name=login]", &login).await;
    fill(&prov, "input[name=password]", DEMO_PASSWORD).await;
    fill(&prov, "#code", "123456").await;
    click(&prov, "#login-button").await;
    wait_text(&prov, "#login-error", "確認コードが違います").await;
    shot(&prov, "m01a-ログイン-確認コード違い").await;
    fill(&prov, "input[name=password]", DEMO_PASSWORD).await;
    fill(&prov, "#code", &TestHub::totp_code(&secret, 1)).await;
    click(&prov, "#login-button").await;
    wait_text(&prov, "h1", "トップ").await;
    wait_text(&prov, "#unread", "0").await;
    shot(&prov, "m02-Webメールボックス-トップ").await;

    // 居宅 sends the month's plans from its client's 新規作成.
    let plans = slip_unit(&hub, 21, 0, 1, seq(25, 10));
    let export = tempdir("mb-care-export");
    write_files(&export, &plans);
    log_in(&care, &care_url, None).await;
    click(&care, "nav a[href$='/compose']").await;
    fill(&care, "#to", &hub.offices[1].number).await;
    wait_text(&care, "#to-name", &hub.offices[1].name).await;
    let paths: Vec<String> = plans.iter().map(|f| export.join(&f.name).display().to_string()).collect();
    care.find(Locator::Css("#files")).await.unwrap().send_keys(&paths.join("\n")).await.unwrap();
    wait_text(&care, "#verdicts", "送信できます").await;
    click(&care, "#send").await;
    wait_text(&care, "main", "送信しました").await;

    // 通所's open page hears of it (every 30 s, and as soon as the clerk comes back to the tab),
    // then トップ counts it and 受信一覧 shows it new.
    prov.execute("window.dispatchEvent(new Event('focus'))", vec![]).await.unwrap();
    wait_text(&prov, "#news-line", "新しいメッセージが届きました（未取得 1 件）").await;
    shot(&prov, "m02a-新着のお知らせ").await;
    prov.refresh().await.unwrap();
    wait_text(&prov, "#unread-badge", "1").await;
    wait_reload(&prov, "#unread", "1").await;
    click(&prov, "nav a[href='/mailbox/inbox']").await;
    let t = wait_text(&prov, "table.list", "未取得").await;
    assert!(t.contains("新着") && t.contains(&hub.offices[0].name), "{t}");
    shot(&prov, "m03-受信一覧").await;
    click(&prov, "table.list tbody td a").await;
    wait_text(&prov, "h1", "受信詳細").await;
    shot(&prov, "m04-受信詳細").await;
    // 帳票表示: 第6表 as its monthly grid.
    open_form(&prov, "UPPLAN").await;
    let t = wait_text(&prov, "main", "第6表 サービス利用票（予定）").await;
    assert!(t.contains("被保険者番号") && t.contains("合計"), "{t}");
    shot(&prov, "m05-帳票-第6表").await;
    click(&prov, "#back").await;
    wait_text(&prov, "h1", "受信詳細").await;
    // データ取得: the message's files as one ZIP in the downloads folder, as sent.
    click(&prov, "#fetch").await;
    let got = downloaded_zip(&prov_dl).await;
    let mut want: Vec<(String, Vec<u8>)> = plans.iter().map(|f| (f.name.clone(), f.bytes.clone())).collect();
    want.sort();
    assert_eq!(got, want, "the ZIP holds every file as sent");
    prov.refresh().await.unwrap();
    wait_text(&prov, "#state", "取得済").await;
    shot(&prov, "m06-受信詳細-取得済").await;

    // 居宅 sees 取得済・開封済.
    click(&care, "nav a[href$='/sent']").await;
    wait_reload(&care, "table.list", "取得済・開封済").await;

    // 通所 answers with 実績 from 新規作成: the destination's name, the file checked as chosen.
    let plan = plans.iter().find(|f| f.name.starts_with("UPPLAN")).unwrap();
    let actual =
        renkei_testkit::Generator::new(22).actual_from_plan(plan, &office(&hub, 1), &office(&hub, 0), MONTH, seq(31, 18), |_, _| {});
    let actual_dir = tempdir("mb-prov-export");
    std::fs::write(actual_dir.join(&actual.name), &actual.bytes).unwrap();
    click(&prov, "nav a[href='/mailbox/compose']").await;
    fill(&prov, "#to", &hub.offices[0].number).await;
    wait_text(&prov, "#to-name", &hub.offices[0].name).await;
    prov.find(Locator::Css("#files")).await.unwrap().send_keys(&actual_dir.join(&actual.name).display().to_string()).await.unwrap();
    wait_text(&prov, "#verdicts", "送信できます").await;
    fill(&prov, "textarea[name=note]", "6月分の実績です。").await;
    shot(&prov, "m07-新規作成").await;
    // 一時保存 first: 下書き一覧, opened again, then sent.
    click(&prov, "#save-draft").await;
    wait_text(&prov, "main", "下書きを保存しました").await;
    shot(&prov, "m07a-下書き一覧").await;
    click(&prov, "a.open-draft").await;
    wait_text(&prov, "h1", "下書きの編集").await;
    wait_text(&prov, "#draft-files", &actual.name).await;
    shot(&prov, "m07b-下書きの編集").await;
    click(&prov, "#send").await;
    wait_text(&prov, "main", "送信しました").await;
    wait_text(&prov, "#state", "未取得").await;
    shot(&prov, "m08-送信詳細").await;
    click(&prov, "nav a[href='/mailbox/drafts']").await;
    wait_text(&prov, "main", "下書きはありません").await;
    // A contact without files: 今月利用なし.
    click(&prov, "nav a[href='/mailbox/compose']").await;
    fill(&prov, "#to", &hub.offices[0].number).await;
    click(&prov, "input[name=purpose][value=no_use]").await;
    fill(&prov, "#month", "202507").await;
    fill(&prov, "#subject", "0000012345").await;
    click(&prov, "#send").await;
    wait_text(&prov, "main", "今月利用なし").await;

    // 一括送信 of a ZIP the care software made: checked per destination, then sent.
    let later =
        renkei_testkit::Generator::new(23).actual_from_plan(plan, &office(&hub, 1), &office(&hub, 0), MONTH, seq(31, 19), |_, _| {});
    let zip_path = actual_dir.join("実績.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    zip.start_file(later.name.clone(), zip::write::SimpleFileOptions::default()).unwrap();
    std::io::Write::write_all(&mut zip, &later.bytes).unwrap();
    zip.finish().unwrap();
    click(&prov, "nav a[href='/mailbox/bulk']").await;
    wait_text(&prov, "h1", "一括送信").await;
    prov.find(Locator::Css("#files")).await.unwrap().send_keys(&zip_path.display().to_string()).await.unwrap();
    let t = wait_text(&prov, "#plan", "送信できます").await;
    assert!(t.contains(&hub.offices[0].name) && t.contains(&later.name), "{t}");
    shot(&prov, "m08a-一括送信-ZIP").await;
    click(&prov, "#bulk-send").await;
    wait_text(&prov, "#results", "1 ファイルを送信しました").await;
    shot(&prov, "m08b-一括送信-結果").await;

    // A 居宅 not on the system (in the office registry only): 一括送信 from a folder says so,
    // prints its forms with the invitation letter in a tab of their own, and remembers it.
    let absent = renkei_testkit::Office {
        number: renkei_spec::ids::OfficeNumber::parse(&renkei_testkit::registry_number(13, 43), false).unwrap(),
        kind: renkei_spec::ids::ServiceKind::parse("43").unwrap(),
        name: "きた居宅介護支援センター".into(),
    };
    let n = absent.number.to_string();
    let row = format!("事業所番号,事業所名,サービス種類コード,都道府県コード,所在地\n{n},{},43,13,東京都北区\n", absent.name);
    assert_eq!(hub.import_registry(row.as_bytes()).await, 1);
    let mut g = renkei_testkit::Generator::new(24);
    let clients = g.clients(2, 13, MONTH);
    let theirs = g.actual_unit(&office(&hub, 1), &absent, &clients, MONTH, seq(31, 20));
    let folder = tempdir("mb-partner-folder");
    std::fs::create_dir_all(folder.join("6月分")).unwrap();
    write_files(&folder.join("6月分"), &theirs);
    click(&prov, "nav a[href='/mailbox/bulk']").await;
    wait_text(&prov, "h1", "一括送信").await;
    prov.find(Locator::Css("#folder")).await.unwrap().send_keys(&folder.display().to_string()).await.unwrap();
    let t = wait_text(&prov, "#plan", "まだケアプランデータ連携に参加していません").await;
    assert!(t.contains(&absent.name) && t.contains("データでは送れません") && t.contains(&theirs[0].name), "{t}");
    assert!(t.contains("郵送・FAXで") && !t.contains("送信できます"), "its files are not said to be sendable: {t}");
    shot(&prov, "m08c-一括送信-フォルダ-未参加の取引先").await;
    let mailbox_tab = prov.window().await.unwrap();
    click(&prov, &format!("#print-{n}")).await;
    let mut bundle_tab = None;
    for _ in 0..100 {
        bundle_tab = prov.windows().await.unwrap().into_iter().find(|w| *w != mailbox_tab);
        if bundle_tab.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    prov.switch_to_window(bundle_tab.expect("the bundle opens in a tab of its own")).await.unwrap();
    crate::browser::watch_this_tab(&prov).await;
    let t = wait_text(&prov, "#invitation", "参加のご案内").await;
    assert!(
        t.contains(&format!("{} 御中（事業所番号 {n}）", absent.name)) && t.contains("/mailbox/") && t.contains("/portal/login"),
        "{t}"
    );
    let forms = theirs.iter().filter(|f| f.name.ends_with(".CSV")).count();
    assert_eq!(prov.find_all(Locator::Css("p.form-file")).await.unwrap().len(), forms, "one form per file");
    wait_text(&prov, "main", "サービス提供票（実績）").await;
    shot(&prov, "m08d-郵送・FAX用の帳票").await;
    click(&prov, &format!("#invited-{n}")).await;
    wait_text(&prov, "#recorded", "参加のご案内を送ったことを記録しました").await;
    shot(&prov, "m08e-案内を記録").await;
    prov.close_window().await.unwrap();
    prov.switch_to_window(mailbox_tab).await.unwrap();

    // 居宅 takes all three into its care software's folder.
    click(&care, "nav a[href$='/inbox']").await;
    wait_reload(&care, "table.list", "今月利用なし").await;
    click(&care, "#fetch-all").await;
    wait_text(&care, "main", "一括取得: 3 件のメッセージを取得し").await;
    assert_eq!(std::fs::read(care_import.join(&later.name)).unwrap(), later.bytes);
    assert_eq!(std::fs::read(care_import.join(&actual.name)).unwrap(), actual.bytes);

    // 通所's 送信一覧 shows what 居宅 did.
    click(&prov, "nav a[href='/mailbox/sent']").await;
    wait_reload(&prov, "table.list", "取得済").await;
    shot(&prov, "m09-送信一覧").await;
    // 予実突合: the 予定 received against the 実績 sent.
    click(&prov, "nav a[href='/mailbox/reconcile']").await;
    fill(&prov, "input[name=month]", "202506").await;
    fill(&prov, "input[name=partner]", &hub.offices[0].number).await;
    click(&prov, "#reconcile-run").await;
    wait_text(&prov, "#summary", "一致").await;
    shot(&prov, "m10-予実突合").await;
    hub.stop().await;
}

/// 一括送信 to a partner not on the system is not a dead end: its files are not sent, its forms
/// and an invitation letter print as one bundle, and the invitation is remembered.
#[tokio::test]
async fn a_partner_not_on_the_system_gets_printed_forms_and_an_invitation() {
    let hub = TestHub::start().await;
    let export = tempdir("partner-export");
    let (_rt, url) = pc(&hub, 0, |s| s.export_dir = Some(export.clone())).await;
    // The month's plans for a day-care office that is in no mailbox.
    let absent = renkei_testkit::Office {
        number: renkei_spec::ids::OfficeNumber::parse(&renkei_testkit::registry_number(13, 42), false).unwrap(),
        kind: renkei_spec::ids::ServiceKind::parse("15").unwrap(),
        name: "みなみデイサービス".into(),
    };
    let mut g = renkei_testkit::Generator::new(31);
    let clients = g.clients(2, 13, MONTH);
    let plans = g.service_slip_unit(&office(&hub, 0), &absent, None, &clients, MONTH, seq(25, 10));
    write_files(&export, &plans);
    let driver = chromedriver();
    let c = browser(&driver, &tempdir("partner-dl")).await;
    log_in(&c, &url, None).await;
    click(&c, "nav a[href$='/bulk']").await;
    let t = wait_text(&c, "main", "まだケアプランデータ連携に参加していません").await;
    assert!(t.contains("データでは送れません") && t.contains("すべて送信（0 ファイル）"), "{t}");
    shot(&c, "p20-一括送信-未参加の取引先").await;
    let number = absent.number.to_string();
    click(&c, &format!("#print-{number}")).await;
    let t = wait_text(&c, "#invitation", "参加のご案内").await;
    assert!(t.contains(&number) && t.contains("/mailbox/") && t.contains("/portal/login"), "{t}");
    let main = wait_text(&c, "main", "第6表 サービス利用票（予定）").await;
    assert!(
        main.contains("居宅サービス計画") || main.contains("サービス利用票別表") || main.contains("利用者補足情報"),
        "every form of the unit: {main}"
    );
    assert_eq!(c.find_all(Locator::Css("p.form-file")).await.unwrap().len(), plans.len(), "one form per file");
    shot(&c, "p21-郵送・FAX用の帳票").await;
    click(&c, "#back").await;
    click(&c, &format!("#invited-{number}")).await;
    wait_text(&c, &format!("#invited-at-{number}"), "参加のご案内を送りました").await;
    // Nothing was sent to it.
    assert!(export.join(&plans[0].name).exists(), "the files stay in the export folder");
    hub.stop().await;
}
