//! The portal's public pages (HTTPS, no client certificate): トップ (システム稼働状況, お知らせ),
//! 連携事業所一覧 (participating offices, searchable), 利用状況 (per prefecture, with a bar chart
//! drawn on the server as SVG).

use crate::registry::prefecture_name;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

fn now_jst() -> String {
    let t = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9));
    format!("{}/{:02}/{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

#[derive(Template)]
#[template(path = "portal/top.html")]
struct TopT {
    title: &'static str,
    nav: &'static str,
    healthy: bool,
    checked_at: String,
    participating: i64,
    messages: i64,
    notices: Vec<(String, String, String)>,
    /// 稼働状況 as the operator set it: label, class, text.
    operating: (String, &'static str, String),
}

/// 稼働状況 as the portal shows it: label, CSS class and the operator's text.
pub(crate) fn operating_view(s: renkei_protocol::OperatingStatus) -> (String, &'static str, String) {
    let class = match s.state {
        renkei_protocol::OperatingState::Normal => "ok",
        renkei_protocol::OperatingState::Maintenance => "warn",
        renkei_protocol::OperatingState::Incident => "error",
    };
    (s.label, class, s.message)
}

pub(crate) async fn top(State(st): State<AppState>) -> Result<Response, PageError> {
    let messages = st.store.message_count().await?;
    let healthy = st.health.failing().is_empty();
    let participating = st.store.search_participants(&Default::default(), &crate::jst::today_string(), 0).await?.total;
    let notices = st
        .store
        .notices(None, crate::jst::now(), 20)
        .await?
        .into_iter()
        .filter(|n| n.office.is_none())
        .map(|n| (crate::jst::rfc3339(n.published_at).chars().take(10).collect(), n.title, n.body))
        .collect();
    let operating = operating_view(crate::service::status::current(&st.store, crate::jst::now()).await?);
    Ok(page(&TopT {
        title: "ケアプランデータ連携ポータル",
        nav: "top",
        healthy,
        checked_at: now_jst(),
        participating,
        messages,
        notices,
        operating,
    }))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct OfficesQ {
    #[serde(default)]
    pref: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "portal/offices.html")]
struct OfficesT {
    title: &'static str,
    nav: &'static str,
    prefectures: Vec<(i32, &'static str)>,
    kinds: Vec<(String, &'static str)>,
    pref: Option<i32>,
    kind: String,
    q: String,
    total: i64,
    rows: Vec<(String, String, String, &'static str, String)>,
    /// For a search by one 事業所番号: whether it can be reached digitally, and how to say it.
    reach: Option<(bool, String)>,
}

/// How many rows the public list shows at once.
pub const LIST_LIMIT: i64 = 200;

pub(crate) async fn offices(State(st): State<AppState>, Query(q): Query<OfficesQ>) -> Result<Response, PageError> {
    let pref = q.pref.parse::<i32>().ok().filter(|p| (1..=47).contains(p));
    let kind = q.kind.trim().to_owned();
    let query = crate::store::ParticipantQuery {
        prefecture: pref,
        kind: (!kind.is_empty()).then(|| kind.clone()),
        text: (!q.q.trim().is_empty()).then(|| q.q.trim().chars().take(60).collect()),
    };
    let found = st.store.search_participants(&query, &crate::jst::today_string(), LIST_LIMIT).await?;
    // One number asked for: say whether it is reachable, participating or not.
    let number = crate::search::fold(q.q.trim()).to_ascii_uppercase();
    let reach = match renkei_spec::ids::OfficeNumber::parse_shape(&number) {
        Ok(n) => {
            let r = crate::service::offices::reach(&st, &n.to_string()).await?;
            Some((r.digital(), r.sentence_ja()))
        }
        Err(_) => None,
    };
    let (list, total) = (found.list, found.total);
    let kind_name = |k: &str| renkei_spec::ids::SERVICE_KINDS.iter().find(|(c, ..)| *c == k).map_or("", |(_, n, _)| *n);
    let rows = list
        .into_iter()
        .map(|p| {
            let kinds = p.kinds.iter().map(|k| format!("{k} {}", kind_name(k))).collect::<Vec<_>>().join("、");
            let pref = prefecture_name(p.number[..2].parse().unwrap_or(0));
            (p.number, p.name, kinds, pref, p.address)
        })
        .collect();
    Ok(page(&OfficesT {
        title: "連携事業所一覧",
        nav: "offices",
        prefectures: (1..=47).map(|c| (c, prefecture_name(c))).collect(),
        kinds: renkei_spec::ids::SERVICE_KINDS.iter().map(|(c, n, _)| ((*c).to_owned(), *n)).collect(),
        pref,
        kind,
        q: q.q,
        total,
        rows,
        reach,
    }))
}

#[derive(Template)]
#[template(path = "portal/usage.html")]
struct UsageT {
    title: &'static str,
    nav: &'static str,
    as_of: String,
    total_offices: i64,
    total_using: i64,
    total_share: String,
    svg: String,
    registry: bool,
    rows: Vec<(&'static str, i64, i64, String)>,
}

/// A share as people read it: one decimal place, `—` without a denominator.
pub fn share(using: i64, total: i64) -> String {
    if total == 0 { "—".into() } else { format!("{:.1}%", using as f64 * 100.0 / total as f64) }
}

/// A horizontal bar chart of the share per prefecture, as SVG (no script, no external files).
pub fn usage_svg(rows: &[crate::store::PrefectureUsage]) -> String {
    let (w, bar_h, left, right) = (900.0_f64, 16.0_f64, 90.0_f64, 70.0_f64);
    let max =
        rows.iter().map(|p| if p.offices > 0 { p.participating as f64 / p.offices as f64 } else { 0.0 }).fold(0.0_f64, f64::max).max(0.01);
    let h = rows.len() as f64 * (bar_h + 4.0) + 10.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="都道府県別の参加割合" font-size="12" font-family="IPAGothic, sans-serif">"#
    );
    for (i, p) in rows.iter().enumerate() {
        let (code, total, using) = (&p.prefecture, &p.offices, &p.participating);
        let y = 5.0 + i as f64 * (bar_h + 4.0);
        let ratio = if *total > 0 { *using as f64 / *total as f64 } else { 0.0 };
        let bw = (w - left - right) * ratio / max;
        s.push_str(&format!(
            r##"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text><rect x="{left}" y="{y:.1}" width="{bw:.1}" height="{bar_h}" fill="#2e7d32"><title>{} {}</title></rect><text x="{:.1}" y="{:.1}">{}</text>"##,
            left - 6.0,
            y + bar_h - 3.0,
            prefecture_name(*code),
            prefecture_name(*code),
            share(*using, *total),
            left + bw + 4.0,
            y + bar_h - 3.0,
            share(*using, *total)
        ));
    }
    s.push_str("</svg>");
    s
}

pub(crate) async fn usage(State(st): State<AppState>) -> Result<Response, PageError> {
    let data = st.store.usage_by_prefecture(&crate::jst::today_string()).await?;
    let (to, tu) = data.iter().fold((0, 0), |(a, b), p| (a + p.offices, b + p.participating));
    Ok(page(&UsageT {
        title: "利用状況（都道府県別）",
        nav: "usage",
        as_of: now_jst(),
        total_offices: to,
        total_using: tu,
        total_share: share(tu, to),
        svg: usage_svg(&data),
        registry: to > 0,
        rows: data.iter().map(|p| (prefecture_name(p.prefecture), p.offices, p.participating, share(p.participating, p.offices))).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_chart() {
        assert_eq!(share(297, 7416), "4.0%");
        assert_eq!(share(0, 0), "—");
        let p = |prefecture, offices, participating| crate::store::PrefectureUsage { prefecture, offices, participating };
        let svg = usage_svg(&[p(1, 100, 10), p(13, 200, 40), p(47, 0, 0)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("東京都") && svg.contains("20.0%") && svg.contains("10.0%"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert_eq!(prefecture_name(13), "東京都");
        assert_eq!(prefecture_name(99), "不明");
    }
}
