//! トップ: the office's licence, the hub's 稼働状況, 未取得の受信, お知らせ.

use super::{MailboxUser, layout};
use crate::state::AppState;
use crate::web::page::{PageError, page};
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use renkei_screens::office::{TopPage, jst_unix, licence_line, operating};

pub(crate) async fn top(State(st): State<AppState>, u: MailboxUser) -> Result<Response, PageError> {
    let c = &u.caller;
    let office = st.store.office(&c.office).await?.ok_or_else(|| crate::error::ApiError::internal("user office missing"))?;
    let status = crate::service::licence::status(&st, &office).await?;
    let l = layout(&st, &u, "トップ", "top").await?;
    let unread = l.unread.unwrap_or_default() as usize;
    let mut warnings = Vec::new();
    if !status.license_valid {
        warnings.push(
            "この事業所のライセンスが有効ではありません。送受信できません。ポータルの「利用申請」「ライセンス」で確かめてください".into(),
        );
    }
    let notices = st
        .store
        .notices(Some(&c.office), crate::jst::now(), 10)
        .await?
        .into_iter()
        .map(|n| (jst_unix(n.published_at), n.title, n.body))
        .collect();
    Ok(page(&TopPage {
        l,
        live: false,
        unread,
        watch: String::new(),
        import_dir: String::new(),
        terminal: String::new(),
        licence: licence_line(&status),
        version: env!("CARGO_PKG_VERSION").into(),
        operating: Some(operating(&status)),
        warnings,
        notices,
        notes: Vec::new(),
    }))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct NewsQ {
    #[serde(default)]
    seen: i64,
}

/// The live line of every mailbox page (polled): when more messages wait unfetched than the page
/// showed (`seen`), 「新しいメッセージが届きました」 with the way to 受信一覧; otherwise nothing.
pub(crate) async fn news(
    State(st): State<AppState>,
    u: MailboxUser,
    axum::extract::Query(q): axum::extract::Query<NewsQ>,
) -> Result<Response, PageError> {
    let now = st.store.unfetched_count(&u.caller.office, super::UNREAD_COUNTED).await?;
    let body = if now > q.seen {
        format!(
            "<p class=\"ok\" id=\"news-line\">新しいメッセージが届きました（未取得 {now} 件）。<a href=\"/mailbox/inbox\">受信一覧を開く</a></p>"
        )
    } else {
        String::new()
    };
    Ok(axum::response::Html(body).into_response())
}
