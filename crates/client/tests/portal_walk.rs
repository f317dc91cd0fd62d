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
    let c = browser(&driver, &tempdir("portal-dl")).await;

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
    let done = wait_text(&c, "#applied", "利用申請が完了しました").await;
    assert!(done.contains("まで（1年間）") && done.contains(&number), "{done}");
    shot(&c, "p06-利用申請-完了").await;
    click(&c, "nav a[href='/portal/license']").await;
    let lic = wait_text(&c, "#license", "¥21,000").await;
    assert!(lic.contains("未払い"), "{lic}");
    shot(&c, "p07-ライセンス").await;

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
    let revoke = c.find(Locator::Css("#terminals button.danger")).await.unwrap();
    revoke.click().await.unwrap();
    wait_text(&c, "main", "失効させました").await;
    shot(&c, "p10-端末失効").await;
    let mut fresh = HubClient::for_profile(&p).unwrap();
    let e = fresh.login(&login, "Midori2026ok").await.unwrap_err();
    assert!(matches!(e, renkei_client::hub::HubError::Network(_)), "a revoked terminal cannot connect: {e:?}");

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
