//! Runs the HTTP API: metrics recorder, listener, graceful shutdown on Ctrl-C or SIGTERM.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::http::{router, AppState};
use crate::limits::{LATENCY_BUCKETS_SECONDS, METRICS_UPKEEP_SECS};

/// Installs the process-wide Prometheus recorder behind the `metrics` facade (histograms with
/// [`LATENCY_BUCKETS_SECONDS`]) and starts its periodic upkeep on the current tokio runtime. Call
/// once per process, inside the runtime.
pub fn install_metrics() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS_SECONDS)?
        .install_recorder()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(METRICS_UPKEEP_SECS));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// Installs the Ctrl-C (SIGINT) and SIGTERM handlers now, and returns a future that resolves on
/// the first of them. Install before announcing the server, so no early signal kills the
/// process instead of stopping it cleanly.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("Ctrl-C received, shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    })
}

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
