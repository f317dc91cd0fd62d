//! 事業所台帳の取込: the office registry import, with its progress and per-line errors.

use super::Operator;
use crate::jst::now;
use crate::state::AppState;
use crate::web::page::page;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Template)]
#[template(path = "operator/registry.html")]
pub(crate) struct RegistryT {
    title: &'static str,
    nav: &'static str,
    who: String,
    csrf: String,
    flash: Option<String>,
    report: Option<(usize, usize, usize, String)>,
    errors: Vec<(u32, &'static str, String, String)>,
    warnings: Vec<(u32, &'static str, String, String)>,
    progress: Option<(usize, usize)>,
}

pub(crate) async fn registry_page(op: Operator) -> Response {
    page(&RegistryT {
        title: "事業所台帳の取り込み",
        nav: "registry",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash: None,
        report: None,
        errors: vec![],
        warnings: vec![],
        progress: None,
    })
}

pub(crate) async fn registry_import(State(st): State<AppState>, op: Operator, mut mp: Multipart) -> Response {
    let mut bytes = Vec::new();
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            match field.bytes().await {
                Ok(b) => bytes = b.to_vec(),
                Err(e) => return (StatusCode::BAD_REQUEST, format!("ファイルを受け取れません: {e}")).into_response(),
            }
        }
    }
    {
        let job = st.import_job.lock().await;
        if job.as_ref().is_some_and(|j| !j.finished) {
            return Redirect::to("/operator/registry/progress").into_response();
        }
    }
    // Parse now (a second for 200,000 lines), import in the background with progress.
    let crate::registry::ParsedRegistry { rows, errors, warnings } = crate::registry::parse(&bytes);
    *st.import_job.lock().await =
        Some(crate::registry::ImportJob { by: op.login.clone(), total: rows.len(), errors, warnings, ..Default::default() });
    let st2 = st.clone();
    let op2 = op.clone();
    tokio::spawn(async move {
        let t = std::time::Instant::now();
        let mut failure = None;
        for chunk in rows.chunks(5000) {
            if let Err(e) = st2.store.import_registry(chunk, now()).await {
                failure = Some(e.to_string());
                break;
            }
            if let Some(j) = st2.import_job.lock().await.as_mut() {
                j.done += chunk.len();
            }
        }
        let mut guard = st2.import_job.lock().await;
        if let Some(j) = guard.as_mut() {
            j.finished = true;
            j.seconds = t.elapsed().as_secs_f64();
            j.failure.clone_from(&failure);
            let detail = format!("imported={} errors={} warnings={} failure={failure:?}", j.done, j.errors.len(), j.warnings.len());
            drop(guard);
            // The import itself is done and shown; an audit row that cannot be written is logged.
            if let Err(e) = st2.store.audit(op2.actor().audit(crate::store::AuditAction::RegistryImport, None, detail), now()).await {
                tracing::error!(error = %e, "registry import: audit row not written");
            }
        }
    });
    Redirect::to("/operator/registry/progress").into_response()
}

pub(crate) async fn registry_progress(State(st): State<AppState>, op: Operator) -> Response {
    let job = st.import_job.lock().await.clone();
    let Some(j) = job else { return Redirect::to("/operator/registry").into_response() };
    let took = if j.finished { format!("{:.1} 秒", j.seconds) } else { "取り込み中…".into() };
    let mut t = RegistryT {
        title: "事業所台帳の取り込み",
        nav: "registry",
        who: op.who(),
        csrf: op.csrf.clone(),
        flash: j.failure.as_ref().map(|f| format!("途中で止まりました: {f}")),
        report: Some((j.total + j.errors.len(), j.done, j.errors.len(), took)),
        errors: j.errors.iter().take(1000).map(|e| (e.line, e.item, e.value.clone(), e.message.clone())).collect(),
        warnings: j.warnings.iter().take(1000).map(|e| (e.line, e.item, e.value.clone(), e.message.clone())).collect(),
        progress: (!j.finished).then_some((j.done, j.total)),
    };
    if j.finished {
        t.title = "事業所台帳の取り込み（完了）";
    }
    page(&t)
}
