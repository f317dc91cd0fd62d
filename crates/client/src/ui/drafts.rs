//! 下書き一覧: send or delete a draft kept on the hub.

use super::*;

use renkei_screens::office::{DraftsPage, draft_row};

pub(super) async fn drafts_page(ui: &Ui, p: &str, flash: Option<String>) -> Result<Response, Fail> {
    let o = logged_in(ui, p).await?;
    let list = match o.client().await.drafts().await {
        Ok(l) => l,
        Err(e) => return Err(hub_fail(ui, &o, e, "下書き一覧", "drafts").await),
    };
    let mut rows = Vec::new();
    for d in list {
        let name = if d.to.is_empty() { String::new() } else { partner_name(ui, &o, &d.to).await };
        rows.push(draft_row(&d, &name));
    }
    Ok(page(DraftsPage { l: layout(ui, &o, "下書き一覧", "drafts").await, rows, flash }))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DraftsQ {
    #[serde(default)]
    pub(super) saved: Option<u8>,
}

pub(super) async fn drafts(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<DraftsQ>) -> Result<Response, Fail> {
    drafts_page(&ui, &p, q.saved.map(|_| "下書きを保存しました（この事業所のすべての端末で開けます）".to_owned())).await
}

pub(super) async fn draft_send(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    match o.client().await.send_draft(&id, &format!("draft-{id}")).await {
        Ok(r) => Ok(Redirect::to(&format!("/o/{p}/sent/{}", r.message.id)).into_response()),
        Err(e) => drafts_page(&ui, &p, Some(format!("送信できませんでした: {e}"))).await,
    }
}

pub(super) async fn draft_delete(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let msg = match o.client().await.delete_draft(&id).await {
        Ok(()) => "下書きを削除しました".to_owned(),
        Err(e) => e.to_string(),
    };
    drafts_page(&ui, &p, Some(msg)).await
}
