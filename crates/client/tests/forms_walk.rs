//! 帳票表示 of every file kind of `samples/valid`, as the office screens render it (the same
//! `renkei_screens::office::form_page` the local client and the web mailbox serve), in headless
//! Chromium: each page passes the page checks (CSP, console, keyboard, axe, reflow) and is saved
//! as `target/screenshots/f-<kind>.png`.

use crate::browser::{browser, chromedriver, shot, wait_text};
use crate::common::*;
use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use renkei_screens::office::{Layout, form_page};

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/valid");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .filter(|(n, _)| n.ends_with(".CSV"))
        .collect();
    v.sort();
    v
}

async fn form(Path(i): Path<usize>) -> Response {
    let files = samples();
    let Some((name, bytes)) = files.get(i) else { return (axum::http::StatusCode::NOT_FOUND, "no such sample").into_response() };
    let l = Layout { office: "1374482477".into(), office_name: "見本".into(), ..Layout::local("帳票表示", "sample", "inbox") };
    let page = form_page(l, name, bytes, "/".into());
    (
        [(header::CONTENT_SECURITY_POLICY, "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")],
        Html(askama::Template::render(&page).unwrap()),
    )
        .into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    match renkei_screens::office::asset(&file) {
        Some((body, ctype)) => ([(header::CONTENT_TYPE, ctype)], body).into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "").into_response(),
    }
}

#[tokio::test]
async fn every_sample_kind_is_shown_as_its_form() {
    let app = axum::Router::new().route("/form/{i}", axum::routing::get(form)).route("/static/{file}", axum::routing::get(asset));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let driver = chromedriver();
    let c = browser(&driver, &tempdir("forms-dl")).await;
    let files = samples();
    assert_eq!(files.len(), 18, "every CSV sample");
    for (i, (name, _)) in files.iter().enumerate() {
        c.goto(&format!("http://{addr}/form/{i}")).await.unwrap();
        let kind = name.split('_').next().unwrap();
        let kind = if name.starts_with("UPKIHON_SUB") || name.starts_with("UPYOBO_SUB") {
            name.splitn(3, '_').take(2).collect::<Vec<_>>().join("_")
        } else {
            kind.to_owned()
        };
        let main = wait_text(&c, "main", name).await;
        if kind == "UPPLAN" || kind == "UPJSK" {
            assert!(main.contains("第6表") && main.contains("合計"), "{name}: {main}");
        } else {
            // Each kind as its own paper form, the file's items folded beneath it.
            let title = match kind.as_str() {
                "UP1KYO" => "居宅サービス計画書（1）",
                "UP2KYO" => "生活全般の解決すべき課題（ニーズ）",
                "UP3KYO" => "週間サービス計画表",
                "UPSIKYU" => "明細の計（renkei が計算）",
                "UPHOSOKU" => "利用者補足情報",
                "UPKIHON" => "緊急連絡先",
                "UPKIHON_SUB1" => "本人の生活状況",
                "UPKIHON_SUB2" => "現病歴・既往歴",
                "UPYOBO" => "アセスメント領域と現在の状況",
                "UPYOBO_SUB" => "目標についての支援のポイント",
                _ => "削除の依頼",
            };
            assert!(main.contains(title) && main.contains("被保険者番号"), "{name}: {main}");
            assert!(main.contains("ファイルの全項目を見る"), "{name}");
        }
        assert!(!main.contains("表示できる行がありません"), "{name}");
        assert!(!main.contains("検査で見つかった点"), "{name}: a valid sample has no findings");
        shot(&c, &format!("f-{kind}")).await;
    }
}
