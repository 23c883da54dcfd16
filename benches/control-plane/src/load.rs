//! The load: every simulated box connects once (TLS handshake and a first heartbeat), then all
//! send heartbeats back to back for the steady period.

use std::time::{Duration, Instant};

use appliance_agent::client::{mtls_client, post_json};
use appliance_protocol::fleet::{
    DriveInventory, Heartbeat, HeartbeatAck, ModuleProfile, StorageCounters, HEARTBEAT_PATH,
};

use crate::provision::SimBox;

/// What the load measured.
pub struct Report {
    /// Seconds until every box had its first heartbeat acknowledged.
    pub connect_secs: f64,
    /// Heartbeats acknowledged in the steady period.
    pub heartbeats: u64,
    /// Length of the steady period.
    pub steady_secs: f64,
    /// Median heartbeat latency in the steady period.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Heartbeats that failed.
    pub failures: u64,
}

/// A heartbeat like a six-drive box sends.
fn heartbeat() -> Heartbeat {
    let drive = |i: usize| DriveInventory {
        path: format!("/dev/nvme{i}n1"),
        model: "Sim NVMe 7.68TB".into(),
        serial: format!("SIM{i:04}"),
        capacity_bytes: 7_680_000_000_000,
        used_bytes: 1 << 40,
        errors: 0,
        online: true,
    };
    Heartbeat {
        firmware_version: "bench".into(),
        modules: ModuleProfile::default(),
        drives: (0..6).map(drive).collect(),
        gpus: vec![],
        storage: Some(StorageCounters {
            objects: 1_000_000,
            capacity_bytes: 6 * 7_680_000_000_000,
            used_bytes: 6 << 40,
            errors: 0,
            offline_drives: 0,
        }),
        da: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at].as_secs_f64() * 1000.0
}

/// Runs the load against the agent listener at `agent_url`.
pub async fn run(boxes: &[SimBox], agent_url: &str, steady: Duration) -> anyhow::Result<Report> {
    let url = format!("{agent_url}{HEARTBEAT_PATH}");
    let beat = heartbeat();
    let mut clients = Vec::with_capacity(boxes.len());
    for sim in boxes {
        let mut cert = sim.cert.clone();
        cert.agent_url = agent_url.to_owned();
        clients.push(mtls_client(&cert, &sim.key)?);
    }

    let connect = Instant::now();
    let mut first = tokio::task::JoinSet::new();
    for client in &clients {
        let (client, url, beat) = (client.clone(), url.clone(), beat.clone());
        first.spawn(async move { post_json::<_, HeartbeatAck>(&client, &url, &beat).await });
    }
    let mut failures = 0;
    while let Some(done) = first.join_next().await {
        if !matches!(done, Ok(Ok(_))) {
            failures += 1;
        }
    }
    let connect_secs = connect.elapsed().as_secs_f64();

    let start = Instant::now();
    let deadline = start + steady;
    let mut steady_tasks = tokio::task::JoinSet::new();
    for client in clients {
        let (url, beat) = (url.clone(), beat.clone());
        steady_tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0u64;
            while Instant::now() < deadline {
                let sent = Instant::now();
                match post_json::<_, HeartbeatAck>(&client, &url, &beat).await {
                    Ok(_) => latencies.push(sent.elapsed()),
                    Err(_) => failed += 1,
                }
            }
            (latencies, failed)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = steady_tasks.join_next().await {
        let (mine, failed) = done?;
        latencies.extend(mine);
        failures += failed;
    }
    let steady_secs = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Ok(Report {
        connect_secs,
        heartbeats: latencies.len() as u64,
        steady_secs,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        failures,
    })
}
