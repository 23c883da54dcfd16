//! Registration throughput: boxes approved through the admin API of an in-process control plane
//! that registers them on a local anvil (interval mining), timed from the first approval until
//! every box shows `registered` with the configured confirmations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use control_plane::chain::ChainRegistration;
use control_plane::chain_registrar::{ChainRegistrar, ChainSettings, CHAIN_JOURNAL_FILE};
use control_plane::server::start;
use control_plane_chain::local_chain::LocalChain;
use serde_json::Value;

use crate::provision;

/// How often the bench reads the fleet list while it waits.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// Longest wait for every box to be registered.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Approvals in flight at once, as when an operator approves a rack from a script.
const APPROVALS_IN_FLIGHT: usize = 16;

/// What one run measured.
pub struct Report {
    /// Seconds until every approval was answered.
    pub approve_secs: f64,
    /// Seconds from the first approval until every box showed `registered`.
    pub registered_secs: f64,
}

/// Runs `boxes` approvals against anvil mining a block every `block_time_secs`, each box waiting
/// for `confirmations`.
pub async fn run(boxes: usize, block_time_secs: u64, confirmations: u64) -> anyhow::Result<Report> {
    let block_time = block_time_secs.to_string();
    let chain = LocalChain::start(&["--block-time", &block_time])?;
    let registry = chain.deploy_registry().await?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let sims = tokio::task::block_in_place(|| provision::enroll(&data, boxes, false))?;

    let settings = ChainSettings {
        rpc_urls: vec![chain.url()],
        registry,
        confirmations,
        key: LocalChain::dev_key(0),
    };
    let registrar = ChainRegistrar::connect(settings, &data.join(CHAIN_JOURNAL_FILE)).await?;
    let running = start(
        provision::serve_config(data)?,
        Some(registrar as Arc<dyn ChainRegistration>),
    )
    .await?;
    let base = format!("http://{}", running.public_addr);
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({ "username": "admin", "password": provision::ADMIN_PASSWORD }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"].as_str().context("login token")?.to_owned();

    let started = Instant::now();
    let node_ids: Vec<String> = sims.iter().map(|sim| sim.key.node_id()).collect();
    for batch in node_ids.chunks(APPROVALS_IN_FLIGHT) {
        let mut approvals = tokio::task::JoinSet::new();
        for node_id in batch {
            let request = http
                .post(format!("{base}/api/boxes/{node_id}/approve"))
                .bearer_auth(&token)
                .send();
            approvals.spawn(request);
        }
        while let Some(answer) = approvals.join_next().await {
            answer??.error_for_status()?;
        }
    }
    let approve_secs = started.elapsed().as_secs_f64();

    loop {
        let list: Vec<Value> = http
            .get(format!("{base}/api/boxes"))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if let Some(failed) = list.iter().find(|b| b["chain"]["state"] == "failed") {
            anyhow::bail!("a registration failed: {failed}");
        }
        let registered = list
            .iter()
            .filter(|b| b["chain"]["state"] == "registered")
            .count();
        if registered == boxes {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < SETTLE_TIMEOUT,
            "only {registered} of {boxes} registered after {SETTLE_TIMEOUT:?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
    let registered_secs = started.elapsed().as_secs_f64();
    running.stop().await;
    Ok(Report {
        approve_secs,
        registered_secs,
    })
}
