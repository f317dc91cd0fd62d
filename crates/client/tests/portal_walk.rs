//! The portal in headless Chromium: a new office from its first login with a temporary password,
//! through 利用申請, the license and an enrolment code, to a client PC enrolled with that code and
//! sending; then the terminal is revoked from the portal and can no longer connect. The public
//! 利用状況 shows the shares of an imported 47-prefecture registry.

use crate::browser::{browser, chromedriver, click, fill, shot, wait_text};
use crate::common::*;
use fantoccini::Locator;
use renkei_client::hub::HubClient;
use renkei_client::outgoing::{self, Outcome};
use renkei_client::setup::{SetupRequest, fetch_ca, setup};
use renkei_testkit::hub::TestHub;

#[tokio::test]
async fn a_new_office_joins_through_the_portal_and_sends() {
    let hub = TestHub::start().await;
    let (number, login, temp) = hub.new_office("131090001", "みどり居宅介護支援センター", "43").await;
    let base = hub.url();
    let driver = chromedriver();
    let downloads = tempdir("portal-dl");
    let c = browser(&driver, &downloads).await;

    // From the public トップ, as a new office finds it: 事業所ログイン.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(&c, "#for-offices", "事業所ログイン").await;
    shot(&c, "p00-ポータル-トップ").await;
    click(&c, "#office-login").await;
    wait_text(&c, "h1", "ログイン").await;
    // First login with the temporary password: the password must be changed first.
    fill(&c, "input[name=login]", &login).await;
    fill(&c, "input[name=password]", &temp).await;
    shot(&c, "p01-ポータル-ログイン").await;
    click(&c, "#login-button").await;
    wait_text(&c, "main", "仮パスワードでログインしました").await;
    fill(&c, "input[name=current]", &temp).await;
    fill(&c, "input[name=new]", "Midori2026ok").await;
    fill(&c, "input[name=again]", "Midori2026ok").await;
    shot(&c, "p02-パスワード変更").await;
    click(&c, "#change-password").await;
    wait_text(&c, "#license-state", "まだ利用申請をしていません").await;
    shot(&c, "p03-事業所トップ").await;

    // 利用申請: agreeing is possible only after scrolling the terms to the end.
    click(&c, "#to-apply").await;
    wait_text(&c, "h1", "利用申請").await;
    let agree = c.find(Locator::Css("#agree")).await.unwrap();
    assert_eq!(agree.prop("disabled").await.unwrap().as_deref(), Some("true"), "not before reading");
    shot(&c, "p04-利用申請-規約").await;
    c.execute("const t = document.getElementById('terms'); t.scrollTop = t.scrollHeight;", vec![]).await.unwrap();
    wait_text(&c, "#scroll-hint", "最後まで読みました").await;
    click(&c, "#agree").await;
    shot(&c, "p05-利用申請-同意").await;
    click(&c, "#apply").await;
    // What is bought, before it is bought.
    let conf = wait_text(&c, "#confirm", "利用申請の確認").await;
    assert!(conf.contains("¥21,000") && conf.contains("給付費からの差し引き"), "{conf}");
    shot(&c, "p05a-利用申請-確認").await;
    click(&c, "#confirm-yes").await;
    let done = wait_text(&c, "#applied", "利用申請が正常に完了しております").await;
    assert!(done.contains(&number) && done.contains("有効期限: -"), "{done}");
    shot(&c, "p06-利用申請-完了").await;
    click(&c, "nav a[href='/portal/license']").await;
    let lic = wait_text(&c, "#license", "¥21,000").await;
    assert!(lic.contains("手続き中") && lic.contains("-（お支払いの手続きが済むと"), "{lic}");
    shot(&c, "p07-ライセンス").await;
    // The 国保連's deduction is scheduled (the operator's monthly list): the year starts.
    hub.schedule_deductions(13).await;
    c.refresh().await.unwrap();
    let lic = wait_text(&c, "#license", "まで").await;
    assert!(lic.contains("給付費から差し引き"), "{lic}");

    // 証明書・端末: no code on a password alone; the administrator sets up 2段階認証 first.
    click(&c, "nav a[href='/portal/terminals']").await;
    click(&c, "#issue-code").await;
    wait_text(&c, "main", "2段階認証が必要です").await;
    shot(&c, "p07a-端末登録コード-2段階認証が必要").await;
    click(&c, "nav a[href='/portal/security']").await;
    click(&c, "#start-totp").await;
    let secret = wait_text(&c, "#totp-secret", " ").await;
    shot(&c, "p07b-2段階認証-QRコード").await;
    fill(&c, "input[name=code]", &TestHub::totp_code(&secret, 0)).await;
    click(&c, "#confirm-totp").await;
    let codes = wait_text(&c, "#recovery-codes", "-").await;
    assert_eq!(codes.lines().filter(|l| !l.trim().is_empty()).count(), 10, "{codes}");
    shot(&c, "p07c-2段階認証-回復コード").await;
    // A one-time code for the new PC, with the CA fingerprint to compare.
    click(&c, "nav a[href='/portal/terminals']").await;
    click(&c, "#issue-code").await;
    let code = wait_text(&c, "#code", "-").await;
    let fingerprint = c.find(Locator::Css("#ca-fingerprint")).await.unwrap().text().await.unwrap();
    shot(&c, "p08-端末登録コード").await;
    // ブラウザー用の電子証明書: a password-protected .p12 file, downloaded once; listed at once,
    // and the office's web mailbox now needs it.
    c.issue_cmd(crate::browser::Cdp(
        serde_json::json!({"cmd": "Browser.setDownloadBehavior", "params": {"behavior": "allow", "downloadPath": downloads.display().to_string()}}),
    ))
    .await
    .expect("downloads allowed");
    fill(&c, "#browser-label", "受付のPC").await;
    fill(&c, "#browser-password", "受付のPCに入れる").await;
    fill(&c, "#browser-password2", "受付のPCに入れる").await;
    shot(&c, "p08a-ブラウザー用の電子証明書").await;
    click(&c, "#issue-browser").await;
    let mut p12 = None;
    for _ in 0..100 {
        p12 = std::fs::read_dir(&downloads).unwrap().flatten().map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "p12"));
        if p12.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let p12 = std::fs::read(p12.expect("the certificate file is downloaded")).unwrap();
    assert!(p12.len() > 1000 && p12[0] == 0x30, "a PKCS#12 (DER) file");
    click(&c, "nav a[href='/portal/terminals']").await;
    wait_text(&c, "#terminals", "ブラウザー: 受付のPC").await;
    wait_text(&c, "#mailbox-certificate-on", "電子証明書を入れたブラウザーでだけ").await;

    // The new PC: `renkei setup` with that code; the fingerprint it shows is the portal's.
    let fetched = fetch_ca(&base).await.unwrap();
    assert_eq!(fetched.fingerprint, fingerprint);
    let home = tempdir("portal-pc");
    let p = setup(
        &home,
        &SetupRequest {
            hub: base.clone(),
            office: number.clone(),
            login: login.clone(),
            password: "Midori2026ok".into(),
            code: code.trim().into(),
            label: "相談室のPC".into(),
            ca_pem: fetched.pem,
            profile: None,
        },
    )
    .await
    .expect("enrolled with the portal's code");
    assert_eq!(p.settings.office_name, "みどり居宅介護支援センター");
    let mut client = HubClient::for_profile(&p).unwrap();
    client.login(&login, "Midori2026ok").await.unwrap();
    let state = renkei_client::state::State::open(&p.dir).await.unwrap();
    let care = renkei_testkit::Office {
        number: renkei_spec::ids::OfficeNumber::parse(&number, false).unwrap(),
        kind: renkei_spec::ids::ServiceKind::parse("43").unwrap(),
        name: "みどり居宅介護支援センター".into(),
    };
    let mut g = renkei_testkit::Generator::new(31);
    let clients = g.clients(2, 13, MONTH);
    let files = g.service_slip_unit(&care, &office(&hub, 1), None, &clients, MONTH, seq(25, 10));
    let out = files.iter().map(|f| renkei_client::hub::OutFile { name: f.name.clone(), bytes: f.bytes.clone() }).collect();
    let sent = outgoing::send_one(&client, &state, &number, &hub.offices[1].number, "", out, false).await.unwrap();
    assert!(matches!(sent, Outcome::Sent { .. }), "the new office sends: {sent:?}");

    // The office is told at once on its portal top page, with the way to the terminals.
    c.goto(&format!("{base}/portal/home")).await.unwrap();
    let notices = wait_text(&c, "#office-notices", "新しい端末が登録されました").await;
    assert!(notices.contains("相談室のPC"), "{notices}");
    shot(&c, "p09a-事業所トップ-新しい端末").await;
    click(&c, "#to-terminals").await;
    // The PC shows up in the portal with its last login; revoking it stops it at once.
    let list = wait_text(&c, "#terminals", "相談室のPC").await;
    assert!(list.contains("有効"), "{list}");
    shot(&c, "p09-証明書・端末").await;
    let revoke = c
        .find(Locator::XPath("//table[@id='terminals']//tr[contains(., '相談室のPC')]//button[contains(@class, 'danger')]"))
        .await
        .unwrap();
    revoke.click().await.unwrap();
    wait_text(&c, "main", "失効させました").await;
    shot(&c, "p10-端末失効").await;
    let mut fresh = HubClient::for_profile(&p).unwrap();
    let e = fresh.login(&login, "Midori2026ok").await.unwrap_err();
    assert!(matches!(e, renkei_client::hub::HubError::Network(_)), "a revoked terminal cannot connect: {e:?}");

    // スタッフ: a staff member who forgot the password gets a new temporary one on a 通知書.
    click(&c, "nav a[href='/portal/staff']").await;
    fill(&c, "input[name=name]", "佐藤 花子").await;
    click(&c, "#add-staff").await;
    let staff_login = wait_text(&c, "#new-login", "KJ").await;
    click(&c, &format!("#reset-{}", staff_login.trim())).await;
    let letter = wait_text(&c, "#letter", "利用者ID・仮パスワード通知書").await;
    assert!(letter.contains(staff_login.trim()) && letter.contains("佐藤 花子"), "{letter}");
    shot(&c, "p10c-ポータル-職員-仮パスワード再発行").await;

    // The operator imports the registry of 47 prefectures (1/50 of the 2023 figures) in the console.
    let figures = renkei_testkit::prefecture_figures();
    let csv_path = tempdir("registry").join("事業所台帳.csv");
    std::fs::write(&csv_path, renkei_testkit::registry_csv(&figures, |f| f.offices / 50)).unwrap();
    hub.add_operator("ops1", "Operator2026x").await;
    c.goto(&format!("{base}/operator/login")).await.unwrap();
    fill(&c, "input[name=login]", "ops1").await;
    fill(&c, "input[name=password]", "Operator2026x").await;
    click(&c, "#login-button").await;
    // Every operator sets up 2段階認証 at the first login, before any console page.
    wait_text(&c, "#second-factor-state", "まだ設定されていません").await;
    click(&c, "#start-totp").await;
    let op_secret = wait_text(&c, "#totp-secret", " ").await;
    fill(&c, "input[name=code]", &TestHub::totp_code(&op_secret, 0)).await;
    click(&c, "#confirm-totp").await;
    wait_text(&c, "#recovery-codes", "-").await;
    shot(&c, "p10b-運営者-2段階認証").await;
    c.goto(&format!("{base}/operator/")).await.unwrap();
    wait_text(&c, "h1", "概況").await;
    let storage = wait_text(&c, "#storage", "データベース: 正常").await;
    assert!(storage.contains("ファイル保存領域: 正常"), "{storage}");
    shot(&c, "p10a-運営者-概況").await;
    click(&c, "nav a[href='/operator/registry']").await;
    c.find(Locator::Css("#registry-file")).await.unwrap().send_keys(&csv_path.display().to_string()).await.unwrap();
    click(&c, "#import").await;
    let expected: u32 = figures.iter().map(|f| f.offices / 50).sum();
    wait_text(&c, "#report", &format!("{expected} 事業所を取り込みました")).await;
    shot(&c, "p11-運営者-台帳取り込み").await;
    c.goto(&format!("{base}/usage")).await.unwrap();
    let table = wait_text(&c, "#usage", "東京都").await;
    // 東京都 at 1/50: 17,512/50 = 350 offices; participants: the three demo offices and this one.
    let tokyo = figures.iter().find(|f| f.code == 13).unwrap().offices / 50;
    let share = format!("{:.1}%", 4.0 * 100.0 / f64::from(tokyo));
    assert!(table.contains(&format!("東京都 {tokyo} 4 {share}")), "{table}");
    shot(&c, "p12-利用状況").await;
    // Typed as people type: katakana for the hiragana name.
    c.goto(&format!("{base}/offices?q=ミドリ")).await.unwrap();
    wait_text(&c, "#results", &number).await;
    shot(&c, "p13-連携事業所一覧").await;
    // Every other page of the console and the portal, each checked like the ones above (no CSP
    // violation or console error, axe-core, keyboard, 200% zoom).
    for (path, name) in [
        ("/operator/notices", "p14-運営者-お知らせ"),
        ("/operator/status", "p14a-運営者-稼働状況"),
        ("/operator/licences", "p14b-運営者-利用料"),
        ("/operator/offices/new", "p14c-運営者-事業所の新規登録"),
        ("/operator/password", "p14d-運営者-パスワードの変更"),
        ("/operator/offices", "p15-運営者-事業所"),
        ("/operator/audit", "p16-運営者-監査ログ"),
        ("/operator/security", "p17-運営者-2段階認証"),
        ("/portal/home", "p18-ポータル-事業所トップ"),
        ("/portal/apply", "p19-ポータル-利用申請"),
        ("/portal/license", "p20-ポータル-ライセンス"),
        ("/portal/terminals", "p21-ポータル-証明書・端末"),
        ("/portal/records", "p22-ポータル-送受信記録"),
        ("/portal/staff", "p23-ポータル-職員"),
        ("/portal/security", "p24-ポータル-2段階認証"),
        ("/portal/login", "p25-ポータル-ログイン"),
        ("/operator/login", "p26-運営者-ログイン"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        wait_text(&c, "h1", "").await;
        shot(&c, name).await;
    }
    c.close().await.unwrap();
    hub.stop().await;
}

/// Logs `login` into the console in `c` (an operator just added: sets up 2段階認証 first).
async fn operator_login(c: &fantoccini::Client, base: &str, hub: &TestHub, login: &str) {
    hub.add_operator(login, "Operator2026x").await;
    c.goto(&format!("{base}/operator/login")).await.unwrap();
    fill(c, "input[name=login]", login).await;
    fill(c, "input[name=password]", "Operator2026x").await;
    click(c, "#login-button").await;
    wait_text(c, "#second-factor-state", "まだ設定されていません").await;
    click(c, "#start-totp").await;
    let secret = wait_text(c, "#totp-secret", " ").await;
    fill(c, "input[name=code]", &TestHub::totp_code(&secret, 0)).await;
    click(c, "#confirm-totp").await;
    wait_text(c, "#recovery-codes", "-").await;
}

#[tokio::test]
async fn the_operators_day_status_and_notices() {
    let hub = TestHub::start().await;
    let base = hub.url();
    let driver = chromedriver();
    let c = browser(&driver, &tempdir("operator-day")).await;
    operator_login(&c, &base, &hub, "ops2").await;

    // 稼働状況: an incident needs its text; then a maintenance window, shown everywhere.
    c.goto(&format!("{base}/operator/status")).await.unwrap();
    wait_text(&c, "#status-now", "正常稼働中").await;
    click(&c, "#state-incident").await;
    click(&c, "#status-set").await;
    wait_text(&c, ".error", "障害の内容").await;
    fill(&c, "#status-message", "受信一覧の表示が遅くなっています").await;
    click(&c, "#status-set").await;
    wait_text(&c, "#status-now", "障害発生中: 受信一覧の表示が遅くなっています").await;
    shot(&c, "o01-運営者-稼働状況-障害").await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(&c, "#operating", "障害発生中").await;
    c.goto(&format!("{base}/operator/status")).await.unwrap();
    click(&c, "#state-maintenance").await;
    fill(&c, "#status-from", "2099-12-05 22:00").await;
    fill(&c, "#status-until", "2099-12-06 02:00").await;
    fill(&c, "#status-message", "この間は送受信できません").await;
    click(&c, "#status-set").await;
    wait_text(&c, "#status-now", "メンテナンス予定 2099/12/05 22:00〜2099/12/06 02:00").await;
    shot(&c, "o02-運営者-稼働状況-メンテナンス").await;
    c.goto(&format!("{base}/")).await.unwrap();
    let t = wait_text(&c, "#status", "メンテナンス予定").await;
    assert!(t.contains("この間は送受信できません"), "{t}");
    shot(&c, "o03-ポータル-トップ-メンテナンス").await;

    // お知らせ: to 大阪府 only, from a date; edited; withdrawn.
    c.goto(&format!("{base}/operator/notices")).await.unwrap();
    fill(&c, "#notice-title", "大阪府の事業所へ").await;
    fill(&c, "#notice-body", "説明会のご案内").await;
    click(&c, "#target-prefecture").await;
    c.find(Locator::Css("#notice-prefecture option[value='27']")).await.unwrap().click().await.unwrap();
    fill(&c, "#notice-from", "2099-01-01 09:00").await;
    click(&c, "#publish").await;
    wait_text(&c, "main", "を公開しました（大阪府の事業所）").await;
    let list = wait_text(&c, "#notices", "大阪府の事業所へ").await;
    assert!(list.contains("掲載予定") && list.contains("2099/01/01 09:00"), "{list}");
    shot(&c, "o04-運営者-お知らせ-都道府県").await;
    // An office that is not registered is refused by name, and what was typed stays.
    fill(&c, "#notice-title", "1事業所へ").await;
    fill(&c, "#notice-body", "本文").await;
    click(&c, "#target-office").await;
    fill(&c, "#notice-office", "1399999999").await;
    click(&c, "#publish").await;
    wait_text(&c, ".error", "1399999999 は登録されていません").await;
    assert_eq!(c.find(Locator::Css("#notice-title")).await.unwrap().prop("value").await.unwrap().as_deref(), Some("1事業所へ"));
    // Edit: the form opens filled in.
    c.goto(&format!("{base}/operator/notices")).await.unwrap();
    click(&c, "#notices a.button").await;
    wait_text(&c, "h1", "お知らせの編集").await;
    assert_eq!(c.find(Locator::Css("#notice-title")).await.unwrap().prop("value").await.unwrap().as_deref(), Some("大阪府の事業所へ"));
    shot(&c, "o05-運営者-お知らせ-編集").await;
    fill(&c, "#notice-title", "大阪府の事業所へ（日時変更）").await;
    click(&c, "#publish").await;
    wait_text(&c, "#notices", "大阪府の事業所へ（日時変更）").await;
    click(&c, "#notices button.danger").await;
    let list = wait_text(&c, "#notices", "取り下げ済み").await;
    assert!(!list.contains("編集"), "{list}");
    shot(&c, "o06-運営者-お知らせ-取り下げ").await;

    // A new office and its administrator: the 通知書 to print and post.
    c.goto(&format!("{base}/operator/offices")).await.unwrap();
    click(&c, "#to-new-office").await;
    wait_text(&c, "h1", "事業所の新規登録").await;
    let number = renkei_spec::ids::OfficeNumber::from_body("131090003").unwrap().to_string();
    fill(&c, "#new-number", &number).await;
    fill(&c, "#new-name", "あおぞら居宅介護支援事業所").await;
    fill(&c, "#new-kinds", "43").await;
    fill(&c, "#new-admin", "青空 一郎").await;
    shot(&c, "o07-運営者-事業所の新規登録").await;
    click(&c, "#create-office").await;
    let letter = wait_text(&c, "#letter", "利用者ID・仮パスワード通知書").await;
    let admin = format!("KJ{number}01");
    assert!(letter.contains(&admin) && letter.contains("あおぞら居宅介護支援事業所") && letter.contains("青空 一郎"), "{letter}");
    let first = c.find(Locator::Css("#letter-password")).await.unwrap().text().await.unwrap();
    shot(&c, "o08-運営者-通知書").await;
    // Reset of that administrator, with how identity was checked.
    c.goto(&format!("{base}/operator/offices?q={number}")).await.unwrap();
    let users = wait_text(&c, "#users", &admin).await;
    assert!(users.contains("仮パスワード"), "{users}");
    shot(&c, "o09-運営者-事業所-利用者").await;
    // (The form asks for how identity was checked before it can be sent; the hub refuses a
    // reset without it too: lifecycle tests.)
    c.find(Locator::Css(&format!("#reset-{admin} select option[value='callback']"))).await.unwrap().click().await.unwrap();
    fill(&c, &format!("#reset-{admin} input[name=note]"), "03-0000-0000 に折り返し").await;
    click(&c, &format!("#reset-{admin} button.danger")).await;
    wait_text(&c, "#letter", "パスワードを再発行しました").await;
    let second = c.find(Locator::Css("#letter-password")).await.unwrap().text().await.unwrap();
    assert_ne!(first, second);
    // 利用料: a campaign (confirmed), then this month's 東京都 deduction list as CSV.
    c.goto(&format!("{base}/operator/licences")).await.unwrap();
    wait_text(&c, "h1", "利用料").await;
    fill(&c, "#campaign-name", "年度末キャンペーン").await;
    fill(&c, "#campaign-from", "2099-01-01").await;
    fill(&c, "#campaign-until", "2099-03-31").await;
    click(&c, "#add-campaign").await;
    let conf = wait_text(&c, "#confirm", "キャンペーンの追加").await;
    assert!(conf.contains("2099-01-01 〜 2099-03-31"), "{conf}");
    shot(&c, "o11-運営者-キャンペーン-確認").await;
    click(&c, "#confirm-yes").await;
    let list = wait_text(&c, "#campaigns", "年度末キャンペーン").await;
    assert!(list.contains("2099-03-31"), "{list}");
    shot(&c, "o12-運営者-利用料").await;
    c.find(Locator::Css("#deduction-prefecture option[value='13']")).await.unwrap().click().await.unwrap();
    click(&c, "#export-deductions").await;
    let conf = wait_text(&c, "#confirm", "差し引き一覧の出力").await;
    assert!(conf.contains("東京都"), "{conf}");
    shot(&c, "o13-運営者-差し引き一覧-確認").await;

    // The operator's own password.
    c.goto(&format!("{base}/operator/password")).await.unwrap();
    fill(&c, "input[name=current]", "Operator2026x").await;
    fill(&c, "input[name=new]", "Operator2027y").await;
    fill(&c, "input[name=again]", "Operator2027y").await;
    shot(&c, "o10-運営者-パスワードの変更").await;
    click(&c, "#change-password").await;
    wait_text(&c, "main", "パスワードを変更しました").await;
    c.close().await.unwrap();
    hub.stop().await;
}

/// 代行 in the console and the portal: the operator registers an agent; an office's
/// administrator (with 2段階認証) delegates sending after a confirmation, sees what the agent did
/// in the office's name, and revokes at once.
#[tokio::test]
async fn an_office_delegates_to_an_agent_and_sees_what_it_did() {
    use renkei_client::hub::{OutFile, Words};
    let hub = TestHub::start().await;
    let base = hub.url();
    let driver = chromedriver();
    let c = browser(&driver, &tempdir("delegation")).await;
    let (office, agent) = (hub.offices[0].clone(), hub.offices[2].clone());
    operator_login(&c, &base, &hub, "ops3").await;
    c.goto(&format!("{base}/operator/offices?q={}", agent.number)).await.unwrap();
    wait_text(&c, "#agent", "登録なし").await;
    click(&c, "#register-agent").await;
    wait_text(&c, "#agent", "登録済み").await;
    shot(&c, "o14-運営者-代行業者の登録").await;

    // The office's administrator sets up 2段階認証, then opens 代行.
    c.goto(&format!("{base}/portal/login")).await.unwrap();
    fill(&c, "input[name=login]", &office.admin).await;
    fill(&c, "input[name=password]", renkei_testkit::hub::DEMO_PASSWORD).await;
    click(&c, "#login-button").await;
    wait_text(&c, "h1", "").await;
    c.goto(&format!("{base}/portal/delegations")).await.unwrap();
    wait_text(&c, "main", "2段階認証が必要です").await;
    c.goto(&format!("{base}/portal/security")).await.unwrap();
    click(&c, "#start-totp").await;
    let secret = wait_text(&c, "#totp-secret", " ").await;
    fill(&c, "input[name=code]", &TestHub::totp_code(&secret, 0)).await;
    click(&c, "#confirm-totp").await;
    wait_text(&c, "#recovery-codes", "-").await;
    c.goto(&format!("{base}/portal/delegations")).await.unwrap();
    wait_text(&c, "#no-delegations", "ありません").await;
    c.find(Locator::Css(&format!("#agent option[value='{}']", agent.number))).await.unwrap().click().await.unwrap();
    click(&c, "#scope-receive").await;
    fill(&c, "#until", "2099-03-31").await;
    shot(&c, "p27-ポータル-代行").await;
    click(&c, "#grant-button").await;
    let conf = wait_text(&c, "#confirm", "代行を委任します").await;
    assert!(conf.contains("送信のみ") && conf.contains("2099-03-31") && conf.contains(&agent.name), "{conf}");
    shot(&c, "p27a-ポータル-代行-確認").await;
    click(&c, "#confirm-yes").await;
    wait_text(&c, "#delegations", "送信のみ").await;
    wait_text(&c, "main", "代行を委任しました").await;

    // The agent sends from its own PC and login, in the office's name.
    let home = tempdir("delegation-agent-pc");
    let p = set_up_pc(&hub, &home, 2).await;
    let c2 = HubClient::for_profile(&p).unwrap().on_behalf_of(Some(office.number.clone()));
    let note = OutFile { name: "連絡.pdf".into(), bytes: b"%PDF-1.4 x".to_vec() };
    let words = Words { note: "代行で送ります".into(), ..Words::default() };
    let sent = c2.send(&hub.offices[1].number, &words, &[note], "delegation-walk-1").await.unwrap();
    assert_eq!(sent.message.sender, office.number);
    // The recipient's clerk sees who sent it for the office, in 受信一覧 and 受信詳細.
    let (_prov, prov_url) = crate::browser::pc(&hub, 1, |_| {}).await;
    let ui = browser(&driver, &tempdir("delegation-recipient")).await;
    crate::browser::log_in(&ui, &prov_url, None).await;
    click(&ui, "nav a[href$='/inbox']").await;
    let label = format!("代行: {}（{}）", agent.name, agent.number);
    let list = wait_text(&ui, "table.list", &label).await;
    assert!(list.contains(&office.name), "{list}");
    shot(&ui, "16-受信一覧-代行").await;
    click(&ui, "table.list tbody a").await;
    wait_text(&ui, "#agent", &format!("{}（{}）", agent.name, agent.number)).await;
    shot(&ui, "17-受信詳細-代行").await;
    ui.close().await.unwrap();
    c.refresh().await.unwrap();
    let actions = wait_text(&c, "#actions", "送信").await;
    assert!(actions.contains(&agent.number) && actions.contains(&agent.admin), "{actions}");
    shot(&c, "p27b-ポータル-代行-記録").await;
    click(&c, "#delegations button.danger").await;
    wait_text(&c, "#delegations", "取消済").await;
    shot(&c, "p27c-ポータル-代行-取消").await;
    let e = c2.send(&hub.offices[1].number, &words, &[], "delegation-walk-2").await.unwrap_err();
    assert_eq!(e.code(), Some(renkei_protocol::ErrorCode::DelegationRefused), "{e}");
    c.close().await.unwrap();
    hub.stop().await;
}
