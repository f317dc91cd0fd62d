//! 下書き一覧: send or delete a draft kept on the hub.

use super::*;

pub(super) struct DraftRow {
    pub(super) id: String,
    pub(super) when: String,
    pub(super) to: String,
    pub(super) files: String,
    pub(super) note: String,
    pub(super) by: String,
}

#[derive(Template)]
#[template(path = "drafts.html")]
pub(super) struct DraftsT {
    pub(super) l: Layout,
    pub(super) rows: Vec<DraftRow>,
    pub(super) flash: Option<String>,
}

pub(super) async fn drafts_page(ui: &Ui, p: &str, flash: Option<String>) -> Result<Response, Fail> {
    let o = logged_in(ui, p).await?;
    let list = match o.client().await.drafts().await {
        Ok(l) => l,
        Err(e) => return Err(hub_fail(ui, &o, e, "下書き一覧", "drafts").await),
    };
    let mut rows = Vec::new();
    for d in list {
        let to =
            if d.to.is_empty() { "（未入力）".to_owned() } else { format!("{}（{}）", partner_name(ui, &o, &d.to).await, d.to) };
        rows.push(DraftRow {
            id: d.id,
            when: jst(&d.updated_at),
            to,
            files: if d.files.is_empty() {
                "メッセージのみ".into()
            } else {
                d.files.iter().map(|f| f.name.clone()).collect::<Vec<_>>().join("、")
            },
            note: match &d.contact {
                Some(c) if d.note.trim().is_empty() => c.summary_ja(),
                Some(c) => format!("{}／{}", c.summary_ja(), d.note.chars().take(40).collect::<String>()),
                None => d.note.chars().take(60).collect(),
            },
            by: d.updated_by,
        });
    }
    Ok(page(DraftsT { l: layout(ui, &o, "下書き一覧", "drafts").await, rows, flash }))
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
