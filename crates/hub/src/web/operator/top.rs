//! 概況: traffic, storage state, the day's figures.

use super::Operator;
use crate::jst::{jst_minutes, now};
use crate::registry::prefecture_name;
use crate::state::AppState;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::State;
use axum::response::Response;

#[derive(Template)]
#[template(path = "operator/top.html")]
pub(crate) struct TopT {
    title: &'static str,
    nav: &'static str,
    who: String,
    flash: Option<String>,
    registry: i64,
    participating: i64,
    per_day: Vec<(String, i64)>,
    per_pref: Vec<(&'static str, i64)>,
    /// Storage parts: (description, ok, since in JST).
    storage: Vec<(String, bool, String)>,
    storage_failing: bool,
}

pub(crate) async fn top(State(st): State<AppState>, op: Operator) -> Result<Response, PageError> {
    let t = now();
    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date().to_string();
    let per_day = st
        .store
        .files_per_day(t - 14 * 86400)
        .await?
        .into_iter()
        .map(|d| (jst_minutes(d.day * 86400 - 32400).chars().take(10).collect(), d.files))
        .collect();
    let per_pref = st
        .store
        .files_per_prefecture(t - 30 * 86400)
        .await?
        .into_iter()
        .map(|p| (prefecture_name(p.prefecture.parse().unwrap_or(0)), p.files))
        .collect();
    Ok(page(&TopT {
        title: "概況",
        nav: "top",
        who: op.who(),
        flash: None,
        registry: st.store.registry_count().await?,
        participating: st.store.search_participants(&Default::default(), &today, 0).await?.total,
        per_day,
        per_pref,
        storage_failing: !st.health.failing().is_empty(),
        storage: st
            .health
            .parts()
            .into_iter()
            .map(|p| (p.describe(), p.state.is_ok(), if p.since > 0 { jst_minutes(p.since) } else { "起動時".into() }))
            .collect(),
    }))
}
