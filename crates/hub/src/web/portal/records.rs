//! 送受信記録: the month's evidence report, on screen and as CSV.

use super::user::PortalUser;
use super::{office_of, who};
use crate::jst::{jst_minutes, now, today};
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub(crate) struct MonthQ {
    #[serde(default)]
    month: String,
}

/// The month asked for (YYYYMM, JST), default this month: (label, from, to) in unix seconds.
pub(crate) fn month_range(m: &str) -> Option<(String, String, i64, i64)> {
    let today = today();
    let (y, mo) = if m.is_empty() {
        (today.year(), u8::from(today.month()))
    } else {
        // Digits only, before any slicing: input is never sliced inside a character.
        if m.len() != 6 || !m.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        (m[..4].parse().ok()?, m[4..].parse().ok()?)
    };
    let start = time::Date::from_calendar_date(y, time::Month::try_from(mo).ok()?, 1).ok()?;
    let next = if mo == 12 {
        time::Date::from_calendar_date(y + 1, time::Month::January, 1)
    } else {
        time::Date::from_calendar_date(y, time::Month::try_from(mo + 1).ok()?, 1)
    }
    .ok()?;
    let at = |d: time::Date| d.midnight().assume_offset(time::macros::offset!(+9)).unix_timestamp();
    Some((format!("{y}{mo:02}"), format!("{y}年{mo}月"), at(start), at(next)))
}

#[cfg(test)]
mod month_tests {
    #[test]
    fn any_month_text_is_answered_never_a_panic() {
        for bad in ["２０２５０６", "20250６", "2025-6", "ああ", "202513", "999999x", "\u{202e}20250"] {
            assert!(super::month_range(bad).is_none(), "{bad:?}");
        }
        assert_eq!(super::month_range("202506").map(|r| r.1), Some("2025年6月".into()));
    }
}

type Line = (&'static str, String, String, String, String, String, String, String);

pub(crate) async fn evidence_lines(
    st: &AppState,
    u: &PortalUser,
    office: &str,
    month: &str,
    from: i64,
    to: i64,
    csv: bool,
) -> Result<Vec<Line>, Response> {
    let rows = crate::service::records::evidence(&st.store, u.actor(), office, month, from, to, csv)
        .await
        .map_err(|e| PageError(e).into_response())?;
    // Counterparts by name and number, as people know them (names looked up once each).
    let mut names: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for r in &rows {
        let other = if r.sender == office { &r.recipient } else { &r.sender };
        if !names.contains_key(other) {
            let name = st.store.office(other).await.map_err(|e| PageError::from(e).into_response())?.map(|o| o.name).unwrap_or_default();
            names.insert(other.clone(), if name.is_empty() { other.clone() } else { format!("{name}（{other}）") });
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let sent = r.sender == office;
            let other = if sent { r.recipient } else { r.sender };
            (
                if sent { "送信" } else { "受信" },
                jst_minutes(r.sent_at),
                r.sent_by.unwrap_or_default(),
                names.get(&other).cloned().unwrap_or(other),
                r.file,
                r.sha256,
                r.fetched_at.map(|t| format!("{} {}", jst_minutes(t), r.fetched_by.unwrap_or_default())).unwrap_or_else(|| "未取得".into()),
                r.opened_at.map(jst_minutes).unwrap_or_default(),
            )
        })
        .collect())
}

#[derive(Template)]
#[template(path = "portal/records.html")]
pub(crate) struct RecordsT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    office: String,
    office_name: String,
    month: String,
    month_label: String,
    created: String,
    count: usize,
    rows: Vec<Line>,
}

pub(crate) async fn records(State(st): State<AppState>, u: PortalUser, axum::extract::Query(q): axum::extract::Query<MonthQ>) -> Response {
    let Some((month, label, from, to)) = month_range(q.month.trim()) else {
        return (StatusCode::BAD_REQUEST, "対象月は西暦6桁（例: 202506）で指定してください").into_response();
    };
    let o = match office_of(&st, &u).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let rows = match evidence_lines(&st, &u, &o.number, &month, from, to, false).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    page(&RecordsT {
        title: "送受信記録",
        nav: "records",
        who: who(&u.user),
        csrf: u.csrf.clone(),
        office: o.number,
        office_name: o.name,
        month,
        month_label: label,
        created: jst_minutes(now()),
        count: rows.len(),
        rows,
    })
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// The same report as CSV (UTF-8 with BOM, so that Excel opens it in Japanese).
pub(crate) async fn records_csv(
    State(st): State<AppState>,
    u: PortalUser,
    axum::extract::Query(q): axum::extract::Query<MonthQ>,
) -> Response {
    let Some((month, _, from, to)) = month_range(q.month.trim()) else {
        return (StatusCode::BAD_REQUEST, "対象月は西暦6桁（例: 202506）で指定してください").into_response();
    };
    let rows = match evidence_lines(&st, &u, &u.user.office, &month, from, to, true).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut out = String::from("\u{feff}区分,送信日時,送信者,相手先,ファイル名,SHA-256,取得,開封\r\n");
    for r in &rows {
        let f = [r.0, &r.1, &r.2, &r.3, &r.4, &r.5, &r.6, &r.7];
        out.push_str(&f.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"records_{}_{month}.csv\"", u.user.office)),
        ],
        out,
    )
        .into_response()
}
