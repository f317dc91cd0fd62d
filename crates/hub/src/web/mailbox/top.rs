//! トップ: the office's licence, the hub's 稼働状況, 未取得の受信, お知らせ.

use super::{MailboxUser, layout};
use crate::state::AppState;
use crate::store::ListFilter;
use crate::web::page::{PageError, page};
use axum::extract::State;
use axum::response::Response;
use renkei_screens::office::{TopPage, jst_unix, licence_line, operating};

/// How many unfetched messages トップ counts before saying 「1000 件以上」.
const UNREAD_COUNTED: i64 = 1000;

pub(crate) async fn top(State(st): State<AppState>, u: MailboxUser) -> Result<Response, PageError> {
    let c = &u.caller;
    let office = st.store.office(&c.office).await?.ok_or_else(|| crate::error::ApiError::internal("user office missing"))?;
    let status = crate::service::licence::status(&st, &office).await?;
    let unread =
        st.store.list(&c.office, true, &ListFilter { fetched: Some(false), limit: UNREAD_COUNTED, ..ListFilter::default() }).await?.len();
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
        l: layout(&st, &u, "トップ", "top").await?,
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
