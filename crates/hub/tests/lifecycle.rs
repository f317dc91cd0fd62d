//! Issue 12: the office's life cycle — the registry as the truth about office numbers.

use crate::common::*;
use renkei_hub::service::Actor;
use renkei_protocol::*;

/// A グループホーム's published number: real, and its check digit fails.
const PUBLISHED: &str = "2372100034";

#[tokio::test]
async fn a_registered_number_whose_check_digit_fails_is_sent_to_an_unregistered_one_is_not() {
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let office = renkei_hub::store::Office {
        number: PUBLISHED.into(),
        name: "グループホームさくら".into(),
        kinds: vec!["15".into()],
        license_until: Some("2099-12-31".into()),
    };
    renkei_hub::service::offices::register(&st.store, Actor::Admin, &office).await.unwrap();
    let (a, ta) = hub.session(0).await;

    // The directory knows it; a send of a whole unit, named with the number, goes through.
    let d: DirectoryEntry =
        a.get(hub.url(&format!("/v1/directory/{PUBLISHED}"))).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert!(d.registered && d.license_valid);
    let mut g = renkei_testkit::Generator::new(3);
    let month = renkei_spec::calendar::YearMonth::new(2025, 6).unwrap();
    let clients = g.clients(2, 23, month);
    let seq = renkei_spec::calendar::FileSeq::parse("20250525100000").unwrap();
    let to = renkei_testkit::Office {
        number: renkei_spec::ids::OfficeNumber::parse_shape(PUBLISHED).unwrap(),
        kind: renkei_spec::ids::ServiceKind::parse("15").unwrap(),
        name: office.name.clone(),
    };
    let files: Vec<(String, Vec<u8>)> =
        g.service_slip_unit(&hub.office(0), &to, None, &clients, month, seq).into_iter().map(|f| (f.name, f.bytes)).collect();
    assert!(files.iter().all(|(n, _)| n.contains(PUBLISHED)));
    let r = send(&hub, &a, &ta, PUBLISHED, &files, None).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let sent: SendResponse = r.json().await.unwrap();
    assert_eq!(sent.message.files.len(), 3);

    // The same number unregistered: the hub refuses (not on the system), and the files' names
    // keep their check-digit error for any other destination.
    let other = renkei_testkit::Office {
        number: renkei_spec::ids::OfficeNumber::parse_shape("2372100042").unwrap(),
        kind: renkei_spec::ids::ServiceKind::parse("15").unwrap(),
        name: "未登録".into(),
    };
    assert!(renkei_spec::ids::OfficeNumber::check("2372100042").is_err());
    let files: Vec<(String, Vec<u8>)> =
        g.service_slip_unit(&hub.office(0), &other, None, &clients, month, seq).into_iter().map(|f| (f.name, f.bytes)).collect();
    let r = send(&hub, &a, &ta, "2372100042", &files, None).await;
    assert_eq!(error(r).await.code, ErrorCode::RecipientNotRegistered);
    let r = send(&hub, &a, &ta, &hub.offices[1].number, &files, None).await;
    let e = error(r).await;
    assert_eq!(e.code, ErrorCode::FileNameInvalid, "{e:?}");
    assert!(e.details.iter().any(|d| d.rule.as_deref() == Some("name.office.check-digit")), "{e:?}");
    hub.stop().await;
}

#[tokio::test]
async fn the_operating_status_reaches_the_api_the_office_and_the_portal() {
    use renkei_hub::service::status::{StatusChange, set};
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let anon = hub.anonymous();
    let s: OperatingStatus = anon.get(hub.url(paths::STATUS)).send().await.unwrap().json().await.unwrap();
    assert_eq!((s.state, s.label.as_str()), (OperatingState::Normal, "正常稼働中"));

    // An incident needs its text; a maintenance a window in the future.
    let now = renkei_hub::jst::now();
    let incident = StatusChange { state: OperatingState::Incident, message: " ".into(), window: None };
    assert_eq!(set(&st.store, Actor::Admin, "op", &incident, now).await.unwrap_err().0.code, ErrorCode::BadRequest);
    let past = StatusChange { state: OperatingState::Maintenance, message: String::new(), window: Some((now - 7200, now - 3600)) };
    assert_eq!(set(&st.store, Actor::Admin, "op", &past, now).await.unwrap_err().0.code, ErrorCode::BadRequest);
    let planned = StatusChange {
        state: OperatingState::Maintenance,
        message: "この間は送受信できません".into(),
        window: Some((now + 3600, now + 7200)),
    };
    set(&st.store, Actor::Admin, "op", &planned, now).await.unwrap();

    let s: OperatingStatus = anon.get(hub.url(paths::STATUS)).send().await.unwrap().json().await.unwrap();
    assert_eq!(s.state, OperatingState::Maintenance);
    assert!(s.label.starts_with("メンテナンス予定 ") && s.starts_at.is_some() && s.ends_at.is_some(), "{s:?}");
    let (c, t) = hub.session(0).await;
    let o: OfficeStatus = c.get(hub.url(paths::OFFICE)).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
    assert_eq!(o.operating, s);
    let top = anon.get(hub.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(top.contains(&s.label) && top.contains("この間は送受信できません"), "{top}");
    assert!(!st.store.audit_search(Some("operator.status"), None, 5).await.unwrap().is_empty(), "audited");
    hub.stop().await;
}

async fn api_login(hub: &Hub, i: usize, login: &str, password: &str) -> reqwest::Response {
    hub.terminal(i)
        .post(hub.url(paths::SESSIONS))
        .json(&LoginRequest { login: login.into(), password: password.into() })
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_operator_creates_offices_and_resets_and_unlocks_administrators() {
    use renkei_hub::service::offices::{NewOffice, create_office};
    use renkei_hub::service::resets::{By, reset_password, unlock};
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let op = Actor::Operator("ops1", "127.0.0.1");
    let new =
        |number: &str| NewOffice { number: number.into(), name: "みどり居宅".into(), kinds: "43".into(), admin_name: "山田".into() };

    // A new office with its administrator: KJ + number + 01, a temporary password, audited.
    let number = renkei_spec::ids::OfficeNumber::from_body("131090002").unwrap().to_string();
    let c = create_office(&st.store, op, &new(&number)).await.unwrap();
    assert_eq!(c.login, format!("KJ{number}01"));
    assert!(c.warning.is_none());
    let u = st.store.user_by_login(&c.login).await.unwrap().unwrap();
    assert!(u.must_change && u.role == renkei_hub::store::Role::Admin);
    assert!(!st.store.audit_search(Some("operator.office_create"), Some(&number), 5).await.unwrap().is_empty());
    // Twice: refused. A number whose check digit fails: refused unless the registry holds it.
    assert!(create_office(&st.store, op, &new(&number)).await.unwrap_err().0.message.contains("すでに登録されています"));
    let e = create_office(&st.store, op, &new("2372100034")).await.unwrap_err();
    assert!(e.0.message.contains("計算上の検証番号") && e.0.message.contains("事業所台帳にもありません"), "{e:?}");
    let row = renkei_hub::store::RegistryRow {
        number: "2372100034".into(),
        name: "グループホームさくら".into(),
        kind: "32".into(),
        prefecture: 23,
        address: String::new(),
    };
    st.store.import_registry(&[row], 1).await.unwrap();
    let g = create_office(
        &st.store,
        op,
        &NewOffice { number: "2372100034".into(), name: String::new(), kinds: String::new(), admin_name: String::new() },
    )
    .await
    .unwrap();
    assert_eq!(g.office_name, "グループホームさくら", "name and kind from the registry");
    assert!(g.warning.as_deref().is_some_and(|w| w.contains("事業所台帳にある番号")));

    // Reset of a demo administrator: identity must be recorded; staff are not the operator's.
    let admin = hub.offices[0].admin.clone();
    let (c0, t0) = hub.session(0).await;
    let none = By::Operator { identity: "", note: "" };
    assert_eq!(reset_password(&st.store, op, none, &admin).await.unwrap_err().0.code, ErrorCode::BadRequest);
    let other = By::Operator { identity: "other", note: " " };
    assert_eq!(reset_password(&st.store, op, other, &admin).await.unwrap_err().0.code, ErrorCode::BadRequest);
    let callback = By::Operator { identity: "callback", note: "03-1234-5678 に折り返し" };
    assert_eq!(reset_password(&st.store, op, callback, &hub.offices[0].staff).await.unwrap_err().0.code, ErrorCode::Forbidden);
    let r = reset_password(&st.store, op, callback, &admin).await.unwrap();
    // Every session of the user ends; the temporary password works and must be changed.
    let after = c0.get(hub.url(paths::OFFICE)).bearer_auth(&t0).send().await.unwrap();
    assert_eq!(after.status(), 401, "the reset ended the session");
    let l: LoginResponse = api_login(&hub, 0, &admin, &r.password).await.json().await.unwrap();
    assert!(l.must_change_password);
    let a = st.store.audit_search(Some("password.reset"), Some(&hub.offices[0].number), 5).await.unwrap();
    assert!(a[0].detail.contains("identity=callback") && a[0].detail.contains("by=operator:ops1"), "{:?}", a[0]);

    // Locked by failures, unlocked by the operator (identity recorded), then the login works.
    for _ in 0..hub.config.auth.max_failures {
        api_login(&hub, 0, &admin, "wrong-password-1").await;
    }
    assert_eq!(api_login(&hub, 0, &admin, &r.password).await.status(), 401, "locked");
    let u = st.store.user_by_login(&admin).await.unwrap().unwrap();
    assert!(renkei_hub::service::resets::is_locked(&u, renkei_hub::jst::now()));
    unlock(&st.store, op, By::Operator { identity: "document", note: "" }, &admin).await.unwrap();
    assert_eq!(api_login(&hub, 0, &admin, &r.password).await.status(), 200);
    hub.stop().await;
}

#[tokio::test]
async fn an_office_administrator_resets_and_unlocks_staff_with_the_second_factor() {
    use renkei_hub::service::resets::{By, reset_password, unlock};
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let admin = st.store.user_by_login(&hub.offices[0].admin).await.unwrap().unwrap();
    let staff = hub.offices[0].staff.clone();
    let portal = Actor::Portal(&admin, "127.0.0.1");
    let without = By::OfficeAdmin { admin: &admin, second_factor_passed: false };
    assert_eq!(reset_password(&st.store, portal, without, &staff).await.unwrap_err().0.code, ErrorCode::SecondFactorRequired);
    let with = By::OfficeAdmin { admin: &admin, second_factor_passed: true };
    // Not another office's user, not oneself.
    assert_eq!(reset_password(&st.store, portal, with, &hub.offices[1].staff).await.unwrap_err().0.code, ErrorCode::NotFound);
    assert_eq!(reset_password(&st.store, portal, with, &admin.login).await.unwrap_err().0.code, ErrorCode::BadRequest);
    let staff_user = st.store.user_by_login(&staff).await.unwrap().unwrap();
    let by_staff = By::OfficeAdmin { admin: &staff_user, second_factor_passed: true };
    assert_eq!(
        reset_password(&st.store, Actor::Portal(&staff_user, "127.0.0.1"), by_staff, &admin.login).await.unwrap_err().0.code,
        ErrorCode::Forbidden
    );

    let (c1, t1) = hub.second_terminal(0).await; // the staff user's session
    let r = reset_password(&st.store, portal, with, &staff).await.unwrap();
    assert_eq!(c1.get(hub.url(paths::OFFICE)).bearer_auth(&t1).send().await.unwrap().status(), 401, "sessions end");
    for _ in 0..hub.config.auth.max_failures {
        api_login(&hub, 0, &staff, "wrong-password-1").await;
    }
    assert_eq!(api_login(&hub, 0, &staff, &r.password).await.status(), 401, "locked");
    unlock(&st.store, portal, with, &staff).await.unwrap();
    assert_eq!(api_login(&hub, 0, &staff, &r.password).await.status(), 200);
    assert!(!st.store.audit_search(Some("account.unlock"), Some(&hub.offices[0].number), 5).await.unwrap().is_empty());
    hub.stop().await;
}

#[tokio::test]
async fn an_operator_changes_their_own_password_and_other_console_sessions_end() {
    use renkei_hub::service::accounts::{PasswordError, change_operator_password};
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let temp = renkei_hub::service::offices::add_operator(&st.store, Actor::Admin, "ops9", "運営 花子").await.unwrap();
    let op = st.store.operator(Some("ops9"), None).await.unwrap().unwrap();
    let now = renkei_hub::jst::now();
    let (mine, other) = ("mine".to_owned(), "other".to_owned());
    for t in [&mine, &other] {
        let account = renkei_hub::store::Account::Operator(op.id);
        st.store.add_web_session(account, t, "csrf", now, now + 3600, Default::default()).await.unwrap();
    }
    let actor = Actor::Operator("ops9", "127.0.0.1");
    assert!(matches!(
        change_operator_password(&st.store, actor, op.id, "wrong", "Newpass2026x", &mine).await,
        Err(PasswordError::WrongCurrent)
    ));
    assert!(matches!(change_operator_password(&st.store, actor, op.id, &temp, "short", &mine).await, Err(PasswordError::Policy)));
    change_operator_password(&st.store, actor, op.id, &temp, "Newpass2026x", &mine).await.unwrap();
    assert!(st.store.web_session(renkei_hub::store::WebDoor::Console, &mine, now).await.unwrap().is_some());
    assert!(st.store.web_session(renkei_hub::store::WebDoor::Console, &other, now).await.unwrap().is_none(), "the other session ended");
    let ok = renkei_hub::service::accounts::login_operator(&st.store, &st.config.auth, "ops9", "Newpass2026x", now).await;
    assert!(ok.is_ok());
    hub.stop().await;
}

/// A new office (no licence) and its administrator.
async fn fresh_office(hub: &Hub, body: &str) -> (String, renkei_hub::store::User) {
    let number = renkei_spec::ids::OfficeNumber::from_body(body).unwrap().to_string();
    let new = renkei_hub::service::offices::NewOffice {
        number: number.clone(),
        name: "テスト事業所".into(),
        kinds: "43".into(),
        admin_name: String::new(),
    };
    let c = renkei_hub::service::offices::create_office(&hub.running.state.store, Actor::Admin, &new).await.unwrap();
    (number, hub.running.state.store.user_by_login(&c.login).await.unwrap().unwrap())
}

#[tokio::test]
async fn licence_years_start_when_paid_or_when_their_deduction_is_scheduled() {
    use renkei_hub::service::licence::{self, Applied};
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let today = renkei_hub::jst::today();
    let month = format!("{}-{:02}", today.year(), u8::from(today.month()));
    let (deducted, admin_d) = fresh_office(&hub, "131090011").await;
    let (invoiced, admin_i) = fresh_office(&hub, "131090012").await;
    let (osaka, admin_o) = fresh_office(&hub, "271090013").await;

    // Nothing happens unconfirmed; staff cannot.
    fn a(u: &renkei_hub::store::User) -> Actor<'_> {
        Actor::Portal(u, "127.0.0.1")
    }
    assert!(licence::grant(st, a(&admin_d), &admin_d, false, false).await.unwrap_err().0.message.contains("確定する"));
    assert!(licence::set_payment_method(st, a(&admin_i), &admin_i, "invoice", false).await.is_err());
    licence::set_payment_method(st, a(&admin_i), &admin_i, "invoice", true).await.unwrap();

    // 利用申請 at ¥21,000: the year waits; 有効期限 「-」 with the reason; no sending yet.
    for (u, n) in [(&admin_d, &deducted), (&admin_i, &invoiced), (&admin_o, &osaka)] {
        assert_eq!(
            licence::grant(st, a(u), u, false, true).await.unwrap(),
            Applied::Pending { fee: 21000, payment_method: if n == &invoiced { "invoice".into() } else { "deduction".into() } }
        );
        let o = st.store.office(n).await.unwrap().unwrap();
        let s = licence::status(st, &o).await.unwrap();
        assert!(s.license_until.is_none() && !s.license_valid && !s.paid);
        let why = s.license_pending.unwrap();
        assert!(if n == &invoiced { why.contains("請求書") } else { why.contains("給付費から差し引く") }, "{why}");
    }
    assert!(
        licence::grant(st, a(&admin_d), &admin_d, false, true).await.unwrap_err().0.message.contains("二重には"),
        "one waiting year at a time"
    );

    // 東京都's deduction list of this month: the deduction office only; its year starts today.
    assert!(licence::export_deductions(st, Actor::Admin, 13, &month, false).await.is_err(), "confirmed first");
    let (rows, csv) = licence::export_deductions(st, Actor::Admin, 13, &month, true).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.number.as_str()).collect::<Vec<_>>(), [deducted.as_str()]);
    assert!(csv.starts_with('\u{feff}') && csv.contains(&deducted) && csv.contains("東京都") && csv.contains("21000"), "{csv}");
    let year = licence::one_year_from(today);
    assert_eq!(st.store.office(&deducted).await.unwrap().unwrap().license_until.as_deref(), Some(year.as_str()));
    let s = licence::status(st, &st.store.office(&deducted).await.unwrap().unwrap()).await.unwrap();
    assert!(s.license_valid && s.paid && s.license_pending.is_none());
    // Exported again: the same list (nothing starts twice).
    let (again, _) = licence::export_deductions(st, Actor::Admin, 13, &month, true).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(st.store.office(&deducted).await.unwrap().unwrap().license_until.as_deref(), Some(year.as_str()));
    assert!(st.store.office(&osaka).await.unwrap().unwrap().license_until.is_none(), "大阪府 is another 国保連's list");

    // The invoice is paid: that year starts.
    assert!(licence::mark_paid(st, Actor::Admin, &invoiced, false).await.is_err());
    assert!(licence::mark_paid(st, Actor::Admin, &invoiced, true).await.unwrap());
    assert_eq!(st.store.office(&invoiced).await.unwrap().unwrap().license_until.as_deref(), Some(year.as_str()));

    // 利用申請 while valid: the quote says so; the next year continues from the end.
    let o = st.store.office(&deducted).await.unwrap().unwrap();
    let q = licence::quote(st, &o).await.unwrap();
    assert_eq!(q.current_until.as_deref(), Some(year.as_str()));
    assert_eq!(
        licence::grant(st, a(&admin_d), &admin_d, true, true).await.unwrap(),
        Applied::Pending { fee: 21000, payment_method: "deduction".into() }
    );
    assert_eq!(st.store.office(&deducted).await.unwrap().unwrap().license_until.as_deref(), Some(year.as_str()), "unchanged until settled");
    let next = time::Date::parse(&year, time::macros::format_description!("[year]-[month]-[day]")).unwrap().next_day().unwrap();
    let next_month = format!("{}-{:02}", next.year(), u8::from(next.month()));
    licence::export_deductions(st, Actor::Admin, 13, &next_month, true).await.unwrap();
    assert_eq!(st.store.office(&deducted).await.unwrap().unwrap().license_until, Some(licence::one_year_from(next)));
    hub.stop().await;
}

#[tokio::test]
async fn a_campaign_frees_the_years_that_start_within_its_window() {
    use renkei_hub::service::licence::{self, Applied};
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let today = renkei_hub::jst::today();
    fn a(u: &renkei_hub::store::User) -> Actor<'_> {
        Actor::Portal(u, "127.0.0.1")
    }
    let (waiting, admin_w) = fresh_office(&hub, "131090021").await;
    licence::grant(st, a(&admin_w), &admin_w, false, true).await.unwrap();
    // A year granted before (unpaid), starting today.
    let granted = hub.offices[2].number.clone();
    st.store.grant_license(&granted, &licence::one_year_from(today), 21000, 1, None, Default::default()).await.unwrap();

    let from = today.saturating_sub(time::Duration::days(10)).to_string();
    let until = today.saturating_add(time::Duration::days(100)).to_string();
    assert!(licence::add_campaign(st, Actor::Admin, "フリーパス", &until, &from, true).await.is_err(), "a window ends after it starts");
    assert!(licence::add_campaign(st, Actor::Admin, "フリーパス", &from, &until, false).await.is_err(), "confirmed first");
    let mut freed = licence::add_campaign(st, Actor::Admin, "フリーパス", &from, &until, true).await.unwrap();
    freed.sort();
    let mut want = vec![waiting.clone(), granted.clone()];
    want.sort();
    assert_eq!(freed, want, "the waiting year and the unpaid one");
    let l = st.store.license(&waiting).await.unwrap().unwrap();
    assert_eq!((l.until, l.fee_yen, l.applied_at), (Some(licence::one_year_from(today)), Some(0), None));
    assert_eq!(st.store.license(&granted).await.unwrap().unwrap().fee_yen, Some(0));
    // A new office within the window: free at once.
    let (_, admin_n) = fresh_office(&hub, "131090022").await;
    assert_eq!(licence::grant(st, a(&admin_n), &admin_n, false, true).await.unwrap(), Applied::Active(licence::one_year_from(today)));
    hub.stop().await;
}
