//! お知らせ: publishing notices to every office, one prefecture or one office, for a period;
//! editing and withdrawing them.

use super::Operator;
use crate::jst::{jst_minutes, local_input, now, parse_local};
use crate::service::notices::{Draft, Target};
use crate::state::AppState;
use crate::store::NoticeRow;
use crate::web::page::{PageError, page};
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};
use renkei_protocol::ErrorCode;
use serde::Deserialize;

/// A notice as the console lists it.
pub(crate) struct NoticeView {
    id: String,
    published: String,
    target: String,
    period: String,
    state: &'static str,
    title: String,
    body: String,
    editable: bool,
}

fn view(n: &NoticeRow, at: i64) -> NoticeView {
    let state = if n.withdrawn_at.is_some() {
        "取り下げ済み"
    } else if n.starts_at.is_some_and(|s| s > at) {
        "掲載予定"
    } else if n.expires_at.is_some_and(|e| e <= at) {
        "掲載終了"
    } else {
        "掲載中"
    };
    let period = match (n.starts_at, n.expires_at) {
        (None, None) => "公開から（終わりなし）".into(),
        (a, b) => format!("{}〜{}", a.map_or("公開".into(), jst_minutes), b.map_or(String::new(), jst_minutes)),
    };
    NoticeView {
        id: n.public_id.clone(),
        published: jst_minutes(n.published_at),
        target: Target::of(n).label(),
        period,
        state,
        title: n.title.clone(),
        body: n.body.clone(),
        editable: n.withdrawn_at.is_none(),
    }
}

/// The form's fields, as typed (kept on a refusal).
#[derive(Deserialize, Default, Clone)]
pub(crate) struct NoticeForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    /// `all`, `prefecture` or `office`.
    #[serde(default)]
    target: String,
    #[serde(default)]
    prefecture: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

impl NoticeForm {
    fn of(n: &NoticeRow) -> NoticeForm {
        let (target, prefecture, office) = match Target::of(n) {
            Target::All => ("all", String::new(), String::new()),
            Target::Prefecture(p) => ("prefecture", p.to_string(), String::new()),
            Target::Office(o) => ("office", String::new(), o),
        };
        NoticeForm {
            title: n.title.clone(),
            body: n.body.clone(),
            target: target.into(),
            prefecture,
            office,
            from: n.starts_at.map(local_input).unwrap_or_default(),
            until: n.expires_at.map(local_input).unwrap_or_default(),
        }
    }

    /// The draft, or what is wrong with the form (Japanese).
    fn draft(&self) -> Result<Draft, String> {
        let time = |s: &str, what: &str| -> Result<Option<i64>, String> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            parse_local(s).map(Some).ok_or_else(|| format!("{what}の日時「{s}」を読めません（例: 2026-12-05 22:00）"))
        };
        let target = match self.target.as_str() {
            "prefecture" => Target::Prefecture(self.prefecture.trim().parse().map_err(|_| "都道府県を選んでください".to_owned())?),
            "office" => Target::Office(self.office.trim().to_owned()),
            _ => Target::All,
        };
        Ok(Draft {
            target,
            title: self.title.clone(),
            body: self.body.clone(),
            starts_at: time(&self.from, "掲載開始")?,
            expires_at: time(&self.until, "掲載終了")?,
        })
    }
}

#[derive(Template)]
#[template(path = "operator/notices.html")]
pub(crate) struct NoticesT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    error: Option<String>,
    /// The notice being edited (its public id), or none for a new one.
    editing: Option<String>,
    form: NoticeForm,
    prefectures: Vec<(i64, &'static str)>,
    notices: Vec<NoticeView>,
}

async fn notices_view(
    st: &AppState,
    op: &Operator,
    flash: Option<String>,
    error: Option<String>,
    editing: Option<String>,
    form: NoticeForm,
) -> Response {
    let notices = match st.store.operator_notices(200).await {
        Ok(n) => n,
        Err(e) => return PageError::from(e).into_response(),
    };
    let at = now();
    page(&NoticesT {
        title: if editing.is_some() { "お知らせの編集" } else { "お知らせ" },
        nav: "notices",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash,
        error,
        editing,
        form,
        prefectures: (1..=47).map(|p| (p, crate::registry::prefecture_name(p as i32))).collect(),
        notices: notices.iter().map(|n| view(n, at)).collect(),
    })
}

pub(crate) async fn notices(State(st): State<AppState>, op: Operator) -> Response {
    notices_view(&st, &op, None, None, None, NoticeForm { target: "all".into(), ..NoticeForm::default() }).await
}

/// Refusals of the form are shown on it, with what was typed.
fn refusal(e: &crate::error::ApiError) -> Option<String> {
    matches!(e.0.code, ErrorCode::BadRequest | ErrorCode::NotFound).then(|| e.0.message.clone())
}

pub(crate) async fn publish(State(st): State<AppState>, op: Operator, Form(f): Form<NoticeForm>) -> Response {
    let draft = match f.draft() {
        Ok(d) => d,
        Err(e) => return notices_view(&st, &op, None, Some(e), None, f).await,
    };
    match crate::service::notices::publish(&st.store, op.actor(), &draft).await {
        // The hub's notice poll turns it into an event for the offices it reaches, when due.
        Ok(n) => {
            notices_view(
                &st,
                &op,
                Some(format!("「{}」を公開しました（{}）", n.title, draft.target.label())),
                None,
                None,
                NoticeForm::default(),
            )
            .await
        }
        Err(e) => match refusal(&e) {
            Some(m) => notices_view(&st, &op, None, Some(m), None, f).await,
            None => PageError(e).into_response(),
        },
    }
}

pub(crate) async fn edit_page(State(st): State<AppState>, op: Operator, Path(id): Path<String>) -> Response {
    match st.store.notice(&id).await {
        Ok(Some(n)) if n.kind == "operator" && n.withdrawn_at.is_none() => {
            notices_view(&st, &op, None, None, Some(id), NoticeForm::of(&n)).await
        }
        Ok(_) => {
            notices_view(&st, &op, None, Some(format!("お知らせ {id} は見つからないか、取り下げ済みです")), None, NoticeForm::default())
                .await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

pub(crate) async fn edit(State(st): State<AppState>, op: Operator, Path(id): Path<String>, Form(f): Form<NoticeForm>) -> Response {
    let draft = match f.draft() {
        Ok(d) => d,
        Err(e) => return notices_view(&st, &op, None, Some(e), Some(id), f).await,
    };
    match crate::service::notices::edit(&st.store, op.actor(), &id, &draft).await {
        Ok(()) => {
            notices_view(&st, &op, Some(format!("「{}」を更新しました", draft.title.trim())), None, None, NoticeForm::default()).await
        }
        Err(e) => match refusal(&e) {
            Some(m) => notices_view(&st, &op, None, Some(m), Some(id), f).await,
            None => PageError(e).into_response(),
        },
    }
}

pub(crate) async fn withdraw(State(st): State<AppState>, op: Operator, Path(id): Path<String>) -> Response {
    match crate::service::notices::withdraw(&st.store, op.actor(), &id).await {
        Ok(title) => {
            notices_view(
                &st,
                &op,
                Some(format!("「{title}」を取り下げました。どの事業所にも表示されません")),
                None,
                None,
                NoticeForm::default(),
            )
            .await
        }
        Err(e) => match refusal(&e) {
            Some(m) => notices_view(&st, &op, None, Some(m), None, NoticeForm::default()).await,
            None => PageError(e).into_response(),
        },
    }
}
