//! Several hub nodes on one PostgreSQL database (each with its own data directory and a copy of
//! the CA): what one node does holds on the others — events reach clients connected elsewhere,
//! login limits and lockouts are counted together, a revocation takes effect everywhere, an
//! idempotency key gives one message whichever nodes it is sent to, and the background passes
//! run on one node at a time. Runs when `RENKEI_TEST_POSTGRES_URL` is set (`.ci/run` sets it).

use crate::common::*;
use crate::conformance::PgDb;
use renkei_protocol::*;
use std::time::{Duration, Instant};

/// Two nodes on a fresh database, or `None` without PostgreSQL.
pub async fn two_nodes(tweak: impl FnOnce(&mut renkei_hub::Config)) -> Option<(Hub, Hub, PgDb)> {
    let Ok(admin) = std::env::var("RENKEI_TEST_POSTGRES_URL") else {
        eprintln!("cluster tests: RENKEI_TEST_POSTGRES_URL is not set; .ci/run sets it (PostgreSQL on 127.0.0.1:5432)");
        return None;
    };
    let db = PgDb::create(&admin).await;
    let url = db.url.clone();
    let a = Hub::start_with(|c| {
        c.database_url = Some(url);
        tweak(c);
    })
    .await;
    let b = a.another_node().await;
    assert_ne!(a.running.state.node, b.running.state.node);
    Some((a, b, db))
}

pub async fn stop(a: Hub, b: Hub, db: PgDb) {
    b.stop().await;
    a.stop().await;
    db.drop_now().await;
}

/// Reads an event stream until `want` is in it or `limit` has passed.
async fn read_until(resp: &mut reqwest::Response, buf: &mut String, want: &str, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while !buf.contains(want) {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => buf.push_str(&String::from_utf8_lossy(&c)),
            _ => return false,
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_on_one_node_reaches_a_client_of_another_within_a_second() {
    let Some((a, b, db)) = two_nodes(|_| {}).await else { return };
    let (ca, ta) = a.session(0).await;
    let (cb, tb) = b.session(1).await;
    let mut ev_b = cb.get(b.url(paths::EVENTS)).bearer_auth(&tb).send().await.unwrap();
    let mut ev_a = ca.get(a.url(paths::EVENTS)).bearer_auth(&ta).send().await.unwrap();
    assert_eq!(ev_b.status(), 200);
    // Let both listeners be in place (the stream is open once its headers came back).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut bufa, mut bufb) = (String::new(), String::new());
    for round in 0..3 {
        let files = vec![(format!("連絡{round}.txt"), format!("ノード間 {round}").into_bytes())];
        let r = send(&a, &ca, &ta, &b.offices[1].number, &files, None).await;
        assert_eq!(r.status(), 201);
        let sent: SendResponse = r.json().await.unwrap();
        let t0 = Instant::now();
        assert!(
            read_until(&mut ev_b, &mut bufb, &sent.message.id, Duration::from_secs(1)).await,
            "new_message did not reach node B in 1 s: {bufb}"
        );
        eprintln!("round {round}: new_message on the other node after {:?}", t0.elapsed());
        // Fetched on node B: the receipt reaches the sender on node A.
        let r = cb.post(b.url(&format!("/v1/messages/{}/fetch", sent.message.id))).bearer_auth(&tb).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let t0 = Instant::now();
        assert!(
            read_until(&mut ev_a, &mut bufa, &format!("{}\",\"state\":\"fetched", sent.message.id), Duration::from_secs(1)).await,
            "{bufa}"
        );
        eprintln!("round {round}: receipt on the other node after {:?}", t0.elapsed());
    }
    // Each event once: a node's own events are not delivered twice.
    assert_eq!(bufb.matches("event: new_message").count(), 3, "{bufb}");
    drop((ev_a, ev_b));
    stop(a, b, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_limits_and_lockouts_are_counted_across_nodes() {
    let Some((a, b, db)) = two_nodes(|c| c.auth.logins_per_minute_per_ip = 8).await else { return };
    let attempt = |hub: &Hub, login: String, pw: &'static str| {
        hub.terminal(0).post(hub.url(paths::SESSIONS)).json(&LoginRequest { login, password: pw.into() }).send()
    };
    // The account: two failures on A and one on B lock it on both.
    let staff = a.offices[0].staff.clone();
    for (hub, n) in [(&a, 1), (&a, 2), (&b, 3)] {
        let r = attempt(hub, staff.clone(), "wrong").await.unwrap();
        assert_eq!(r.status(), 401, "failure {n}");
    }
    // Locked: the right password is refused on both nodes (with the answer a wrong one gets),
    // and attempts while locked do not count.
    for hub in [&a, &b] {
        let r = attempt(hub, staff.clone(), renkei_hub::dev::DEMO_PASSWORD).await.unwrap();
        assert_eq!(error(r).await.code, ErrorCode::BadCredentials);
    }
    let u = b.running.state.store.user_by_login(&staff).await.unwrap().unwrap();
    assert_eq!(u.failures, 3);
    assert!(u.locked_until.is_some_and(|t| t > renkei_hub::jst::now()), "locked for every node");
    // The address: 8 attempts in the window, whichever node; the 9th is refused on either.
    for (i, hub) in [&b, &a, &b].into_iter().enumerate() {
        let r = attempt(hub, format!("nobody{i}"), "x").await.unwrap();
        assert_eq!(r.status(), 401, "attempt {} of 8", i + 6);
    }
    for hub in [&a, &b] {
        let r = attempt(hub, "nobody".into(), "x").await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("60"));
        assert_eq!(error(r).await.code, ErrorCode::TooManyRequests);
    }
    // The portal's login counts in the same window.
    let r = a.anonymous().post(a.url("/portal/login")).form(&[("login", "x"), ("password", "y")]).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("ログインの試行が多すぎます"));
    stop(a, b, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_on_one_node_holds_on_the_other_within_two_seconds() {
    let Some((a, b, db)) = two_nodes(|_| {}).await else { return };
    let (cb, tb) = b.session(0).await;
    assert_eq!(cb.get(b.url(paths::INBOX)).bearer_auth(&tb).send().await.unwrap().status(), 200);
    assert!(renkei_hub::service::terminals::revoke(&a.running.state, renkei_hub::service::Actor::Admin, None, "Tdemo1").await.unwrap());
    let t0 = Instant::now();
    let (mut refused, mut handshake_failed) = (None, None);
    while t0.elapsed() < Duration::from_secs(2) && (refused.is_none() || handshake_failed.is_none()) {
        if refused.is_none() && cb.get(b.url(paths::INBOX)).bearer_auth(&tb).send().await.unwrap().status() != 200 {
            refused = Some(t0.elapsed());
        }
        if handshake_failed.is_none() && b.terminal(0).get(b.url("/healthz")).send().await.is_err() {
            handshake_failed = Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("revoked on node A: refused on node B's open connection after {refused:?}, handshake refused after {handshake_failed:?}");
    assert!(refused.is_some(), "node B's open connection still acts 2 s after the revocation");
    assert!(handshake_failed.is_some(), "node B still accepts the revoked certificate 2 s after the revocation");
    // Other offices are unaffected.
    let (c1, t1) = b.session(1).await;
    assert_eq!(c1.get(b.url(paths::INBOX)).bearer_auth(&t1).send().await.unwrap().status(), 200);
    stop(a, b, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_sent_to_two_nodes_gives_one_message() {
    let Some((a, b, db)) = two_nodes(|_| {}).await else { return };
    let (ca, ta) = a.session(0).await;
    let (cb, tb) = b.session(0).await;
    let to = a.offices[1].number.clone();
    let files = vec![("同じ送信.txt".to_owned(), b"retry through another node".to_vec())];
    for round in 0..5 {
        let key = format!("two-nodes-{round}");
        let (ra, rb) = tokio::join!(send(&a, &ca, &ta, &to, &files, Some(&key)), send(&b, &cb, &tb, &to, &files, Some(&key)));
        let (sa, sb) = (ra.status().as_u16(), rb.status().as_u16());
        assert!([200, 201].contains(&sa) && [200, 201].contains(&sb), "round {round}: {sa} {sb}");
        let (ma, mb): (SendResponse, SendResponse) = (ra.json().await.unwrap(), rb.json().await.unwrap());
        assert_eq!(ma.message.id, mb.message.id, "round {round}: the same message whichever node answered");
    }
    let sent: MessagePage = ca.get(a.url(paths::SENT)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(sent.messages.len(), 5, "one message per key");
    stop(a, b, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_background_passes_run_on_one_node_at_a_time() {
    let Some((a, b, db)) = two_nodes(|_| {}).await else { return };
    use renkei_hub::service::retention::hold_background_lease;
    // The nodes' own retention ticks may already have taken the lease: decide it at a time
    // past any lease they took.
    let now = renkei_hub::jst::now() + 10_000;
    let (sa, sb) = (&a.running.state, &b.running.state);
    let (ha, hb) = tokio::join!(hold_background_lease(sa, now, 300), hold_background_lease(sb, now, 300));
    assert!(ha.unwrap() ^ hb.unwrap(), "exactly one node holds the lease");
    let (holder, other) = if hold_background_lease(sa, now + 1, 300).await.unwrap() { (sa, sb) } else { (sb, sa) };
    assert!(hold_background_lease(holder, now + 300, 300).await.unwrap(), "the holder renews it");
    assert!(!hold_background_lease(other, now + 300, 300).await.unwrap(), "the other does not take a held lease");
    // The holder stops renewing (a lost node): the other takes over once the lease runs out.
    assert!(!hold_background_lease(other, now + 300 + 360, 300).await.unwrap());
    assert!(hold_background_lease(other, now + 300 + 361, 300).await.unwrap(), "taken over after the lease ran out");
    stop(a, b, db).await;
}
