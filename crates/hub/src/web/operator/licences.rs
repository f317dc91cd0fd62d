//! 利用料: each month's deduction list per prefecture (国保連) as CSV — exporting it schedules the
//! deductions, and the licence years of those offices start — and campaigns (フリーパス) with a
//! name and a date window. Both confirmed first.

use super::Operator;
use crate::state::AppState;
use crate::web::confirm::{self, Confirm};
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "operator/licences.html")]
pub(crate) struct LicencesT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    error: Option<String>,
    prefectures: Vec<(i64, &'static str)>,
    month: String,
    campaigns: Vec<(String, String, String)>,
}

async fn view(st: &AppState, op: &Operator, flash: Option<String>, error: Option<String>) -> Response {
    let campaigns = match st.store.campaigns().await {
        Ok(c) => c.into_iter().map(|c| (c.name, c.starts_on, c.ends_on)).collect(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let today = crate::jst::today();
    page(&LicencesT {
        title: "利用料",
        nav: "licences",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash,
        error,
        prefectures: (1..=47).map(|p| (p, crate::registry::prefecture_name(p as i32))).collect(),
        month: format!("{}-{:02}", today.year(), u8::from(today.month())),
        campaigns,
    })
}

pub(crate) async fn licences(State(st): State<AppState>, op: Operator) -> Response {
    view(&st, &op, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct DeductionForm {
    #[serde(default)]
    prefecture: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    confirm: String,
}

pub(crate) async fn export(State(st): State<AppState>, op: Operator, Form(f): Form<DeductionForm>) -> Response {
    let prefecture: i64 = f.prefecture.trim().parse().unwrap_or(0);
    let month = f.month.trim().replace('/', "-");
    if f.confirm != "1" {
        let waiting = st.store.deduction_list(prefecture, &month).await.map(|v| v.len()).unwrap_or(0);
        let c = Confirm {
            heading: "差し引き一覧の出力".into(),
            lines: vec![
                ("都道府県（国保連）".into(), crate::registry::prefecture_name(i32::try_from(prefecture).unwrap_or(0)).into()),
                ("差し引く月".into(), month.clone()),
                ("対象の事業所".into(), format!("{waiting} 事業所")),
            ],
            question: "出力すると、この月の給付費から差し引くことが決まり、対象の事業所のライセンスがその日から1年間有効になります。"
                .into(),
            action: "/operator/licences/deductions".into(),
            fields: vec![("prefecture".into(), prefecture.to_string()), ("month".into(), month)],
            yes: "出力する".into(),
            back: "/operator/licences".into(),
        };
        return confirm::console(&c, "licences", op.who(), op.csrf.clone());
    }
    match crate::service::licence::export_deductions(&st, op.actor(), prefecture, &month, true).await {
        Ok((_, csv)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"deductions-{prefecture:02}-{month}.csv\"")),
            ],
            csv,
        )
            .into_response(),
        Err(e) if e.0.code == renkei_protocol::ErrorCode::BadRequest => view(&st, &op, None, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct CampaignForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    confirm: String,
}

pub(crate) async fn add_campaign(State(st): State<AppState>, op: Operator, Form(f): Form<CampaignForm>) -> Response {
    if f.confirm != "1" {
        let c = Confirm {
            heading: "キャンペーンの追加".into(),
            lines: vec![("名前".into(), f.name.clone()), ("期間".into(), format!("{} 〜 {}", f.from, f.until))],
            question: "この期間に始まるライセンスの1年は無料になります（お支払い待ち・未払いのものも含みます）。追加しますか。".into(),
            action: "/operator/licences/campaigns".into(),
            fields: vec![("name".into(), f.name.clone()), ("from".into(), f.from.clone()), ("until".into(), f.until.clone())],
            yes: "追加する".into(),
            back: "/operator/licences".into(),
        };
        return confirm::console(&c, "licences", op.who(), op.csrf.clone());
    }
    match crate::service::licence::add_campaign(&st, op.actor(), &f.name, &f.from, &f.until, true).await {
        Ok(freed) => {
            view(&st, &op, Some(format!("キャンペーン「{}」を追加しました（無料になった事業所: {} 件）", f.name.trim(), freed.len())), None)
                .await
        }
        Err(e) if e.0.code == renkei_protocol::ErrorCode::BadRequest => view(&st, &op, None, Some(e.0.message)).await,
        Err(e) => PageError(e).into_response(),
    }
}
