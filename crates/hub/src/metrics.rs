//! Prometheus metrics, served on their own listener (loopback by default), apart from the API.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide recorder (installed on first use).
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let b = PrometheusBuilder::new()
                .set_buckets(&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
                .ok()?;
            b.install_recorder().map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed")).ok()
        })
        .clone()
}

/// Middleware: request count and latency by route template and status.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Bounded label values: the methods the API knows, everything else as one.
    let method = match *req.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::PATCH => "PATCH",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::HEAD => "HEAD",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("renkei_http_requests_total", "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("renkei_http_request_duration_seconds", "route" => route).record(start.elapsed().as_secs_f64());
    resp
}

/// Serves `/metrics` on `listen` (plain HTTP; keep it on loopback or a private network).
pub async fn serve(listen: &str) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let handle = handle().ok_or_else(|| anyhow::anyhow!("metrics recorder unavailable"))?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "metrics listener is not on loopback");
    }
    let app = axum::Router::new().route("/metrics", axum::routing::get(move || async move { handle.render() }));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    });
    Ok((addr, task))
}
