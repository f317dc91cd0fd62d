//! The portal's public pages over HTTPS without a client certificate: the registry import, 利用状況
//! with the right shares, the searchable list of participating offices.

use crate::common::Hub;
use renkei_hub::store::Office;
use renkei_testkit::{prefecture_figures, registry_csv, registry_number};

/// The 2023 national figures at 1/20 scale: every prefecture's offices and users divided by 20.
const SCALE: u32 = 20;

#[tokio::test]
async fn usage_shows_each_prefectures_share_and_the_list_finds_participants() {
    let hub = Hub::start().await;
    let store = &hub.running.state.store;
    let figures = prefecture_figures();
    assert_eq!(figures.len(), 47);
    let csv = registry_csv(&figures, |f| f.offices / SCALE);
    let mut progress = Vec::new();
    let report = renkei_hub::registry::import(store, &csv, 1, 1000, |d, t| progress.push((d, t))).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", &report.errors[..report.errors.len().min(3)]);
    let expected_rows: u32 = figures.iter().map(|f| f.offices / SCALE).sum();
    assert_eq!(report.imported as u32, expected_rows);
    assert_eq!(progress.last().copied(), Some((expected_rows as usize, expected_rows as usize)), "progress reaches the end");
    // Participants: the first using/20 registry offices of each prefecture hold a license.
    let until = time::OffsetDateTime::now_utc().date().saturating_add(time::Duration::days(300)).to_string();
    for f in &figures {
        for i in 0..f.using / SCALE {
            let number = registry_number(f.code, i);
            store
                .upsert_office(
                    &Office {
                        number,
                        name: format!("{}参加事業所{i}", f.name),
                        kinds: vec!["43".into()],
                        license_until: Some(until.clone()),
                    },
                    1,
                )
                .await
                .unwrap();
        }
    }
    let web = hub.anonymous();
    let r = web.get(hub.url("/usage")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let page = r.text().await.unwrap();
    for f in &figures {
        let (total, using) = (f.offices / SCALE, f.using / SCALE);
        let name = renkei_hub::portal::prefecture_name(i32::from(f.code));
        // Demo offices (Tokyo: three) participate too.
        let using = using + if f.code == 13 { 3 } else { 0 };
        let share = renkei_hub::portal::share(i64::from(using), i64::from(total));
        let row =
            format!(r#"<tr><td>{name}</td><td class="num">{total}</td><td class="num">{using}</td><td class="num">{share}</td></tr>"#);
        assert!(page.contains(&row), "missing {row}");
    }
    assert!(page.contains("<svg") && page.matches("<rect").count() == 47);
    // 北海道 at 1/20: 370 offices, 14 participating → 3.8%.
    assert!(page.contains(r#"<td>北海道</td><td class="num">370</td><td class="num">14</td><td class="num">3.8%</td>"#), "Hokkaido row");

    // The public list: by prefecture and name, by number, by kind; expired or unknown offices are not listed.
    let list = web.get(hub.url("/offices?pref=1&q=参加事業所1")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&registry_number(1, 1)) && list.contains("北海道市2丁目"), "address from the registry");
    assert!(!list.contains(&registry_number(13, 1)), "another prefecture");
    let one = registry_number(27, 0);
    let list = web.get(hub.url(&format!("/offices?q={one}"))).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("1 事業所") && list.contains("大阪府"), "by number");
    let list = web.get(hub.url("/offices?kind=15")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("1372000024") && list.contains("ひまわりデイサービス") && list.contains("1 事業所"), "by kind");
    let list = web.get(hub.url("/offices?q=%3Cscript%3E")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("&#60;script&#62;") || list.contains("&lt;script&gt;"), "escaped");
    assert!(!list.contains("<script>"));
    // The top page: status and notices, without a certificate.
    let top = web.get(hub.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(top.contains("正常に稼働しています") && top.contains("参加事業所"), "status");
    hub.stop().await;
}
