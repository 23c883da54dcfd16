//! What each subcommand does. `status`, `scrub` and `rebuild` open the engine offline, or ask the
//! running daemon's admin API when it holds the index.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use appliance::cli::{exit, AdminArgs, FormatArgs, RebuildArgs, UpArgs};
use appliance::cluster::Cluster;
use appliance::fleet::EngineInventory;
use appliance::http::AppState;
use appliance::limits::{ADMIN_CLIENT_TIMEOUT_SECS, QUIC_CLOSE_GRACE_SECS, SHUTDOWN_GRACE_SECS};
use appliance::{maintenance, node_identity, sample_serving, server};
use appliance_agent::{Agent, AgentConfig, BoxKey};
use appliance_da::{BlobStore, BlobStoreConfig};
use appliance_quic::NodeIdentity;
use appliance_storage::limits::DEFAULT_MAX_OBJECT_SIZE;
use appliance_storage::{Engine, EngineConfig, StorageError};
use appliance_storage::{EngineStatus, ObjectId, RebuildReport, ScrubReport};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// `appliance up`: opens (formatting a fresh set first) and serves HTTP and QUIC samples until
/// Ctrl-C or SIGTERM.
pub fn up(args: UpArgs) -> anyhow::Result<u8> {
    let cfg = args.store.engine_config(args.max_object_size);
    let max_object_size = cfg.max_object_size;
    let data_dir = cfg.data_dir.clone();
    let mut blob_config = BlobStoreConfig::new(&cfg.data_dir);
    blob_config.max_blob_size = args.max_blob_size;
    let schedule = args.schedule();
    let identity = Arc::new(
        node_identity::open(&data_dir).context("loading the box's identity (its node key)")?,
    );
    let node_id = identity.node_id();
    let custody_id = args.node_id.clone().unwrap_or_else(|| node_id.to_string());
    let cluster = Cluster::new(custody_id, args.peers.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let outcome = runtime.block_on(async move {
        let metrics = server::install_metrics().context("installing the Prometheus recorder")?;
        let engine = tokio::task::spawn_blocking(move || open_or_format(cfg)).await??;
        let blob_engine = engine.clone();
        let blobs = tokio::task::spawn_blocking(move || {
            BlobStore::open(blob_engine, blob_config).context("opening the blob store")
        })
        .await??;
        maintenance::spawn(&engine, schedule);
        if !cluster.peers.is_empty() {
            // Custody pushes that peers have not accepted yet, this run's or an earlier one's.
            tokio::spawn(cluster.clone().run_outbox(blobs.clone()));
        }
        let listener = tokio::net::TcpListener::bind(args.http)
            .await
            .with_context(|| format!("binding --http {}", args.http))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let samples = sample_serving::start(args.quic, &identity, blobs.clone(), args.sample_cache)
            .with_context(|| format!("starting the QUIC sample server on --quic {}", args.quic))?;
        let quic_addr = samples
            .local_addr()
            .context("reading the bound QUIC address")?;
        let shutdown = server::shutdown_signal().context("installing signal handlers")?;
        if let Some(url) = &args.control_plane {
            start_agent(&args, url, &engine, addr, Arc::clone(&identity)).await?;
        }
        tracing::info!(%addr, "serving the object API");
        tracing::info!(addr = %quic_addr, %node_id, "serving blob samples over QUIC");
        // Tests and scripts read the bound addresses (useful with port 0) and the node id from
        // these lines. A reader that stops reading must not stop the daemon: errors are ignored.
        let _ = write!(
            std::io::stdout(),
            "listening on http://{addr}\nserving samples on quic://{quic_addr} node {node_id}\n"
        );
        let state = Arc::new(AppState {
            engine,
            max_object_size,
            blobs: Some(blobs),
            cluster: Some(cluster),
            node_id: Some(node_id),
            metrics: Some(metrics),
        });
        let served = server::serve(listener, state, shutdown).await;
        tracing::info!("HTTP server stopped");
        let closing = tokio::time::timeout(
            Duration::from_secs(QUIC_CLOSE_GRACE_SECS),
            samples.shutdown(),
        );
        if closing.await.is_err() {
            tracing::warn!("QUIC peers not told of the shutdown within {QUIC_CLOSE_GRACE_SECS} s");
        }
        tracing::info!("QUIC sample server stopped");
        served.context("serving HTTP")?;
        Ok(exit::SUCCESS)
    });
    // Stops the background jobs and drops their engine handles, so the engine closes; a scrub or
    // compaction still running gets a grace period (it is crash-safe if cut short).
    runtime.shutdown_timeout(Duration::from_secs(SHUTDOWN_GRACE_SECS));
    tracing::info!("shut down");
    outcome
}

/// Enrolls with the control plane as `identity` (or resumes the stored enrollment) and starts
/// the agent in the background. A refused token stops `up` with the control plane's reason.
async fn start_agent(
    args: &UpArgs,
    control_plane: &str,
    engine: &Engine,
    addr: std::net::SocketAddr,
    identity: Arc<NodeIdentity>,
) -> anyhow::Result<()> {
    let cfg = AgentConfig {
        dir: node_identity::agent_dir(&args.store.data),
        control_plane: control_plane.trim_end_matches('/').to_owned(),
        enroll_token: args.enroll_token.clone(),
        hostname: appliance_agent::hostname(),
        endpoint: format!("http://{addr}"),
        firmware_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let inventory = Arc::new(EngineInventory {
        engine: engine.clone(),
    });
    let agent = Agent::start_with_key(cfg, BoxKey::from(identity), inventory)
        .await
        .with_context(|| format!("enrolling with the control plane at {control_plane}"))?;
    tracing::info!(node_id = %agent.node_id(), status = ?agent.status(), "control plane agent started");
    tokio::spawn(async move {
        if let Err(err) = agent.run().await {
            tracing::error!(%err, "control plane agent stopped");
        }
    });
    Ok(())
}

/// Opens the set. Default file drives that were never formatted are formatted first (never a
/// formatted set); drives named with --drive are only ever formatted by `appliance format`, since
/// they may hold someone's data.
fn open_or_format(cfg: EngineConfig) -> anyhow::Result<Engine> {
    match Engine::open(cfg.clone()) {
        Err(StorageError::NotFormatted(dir)) if !cfg.uses_default_drives() => bail!(
            "the drives given with --drive hold no formatted set ({}): run `appliance format` \
             with the same --drive flags first",
            dir.display()
        ),
        Err(StorageError::NotFormatted(_)) => {
            tracing::info!(data = %cfg.data_dir.display(), "first start: formatting the drives");
            let report = Engine::format(&cfg, false).context("formatting the drives")?;
            tracing::info!(
                drives = report.drives.len(),
                data_shards = report.data_shards,
                parity_shards = report.parity_shards,
                "drives formatted"
            );
            Engine::open(cfg).context("opening the freshly formatted drives")
        }
        other => other.context("opening the drives"),
    }
}

/// `appliance format`.
pub fn format(args: FormatArgs) -> anyhow::Result<u8> {
    let cfg = args.store.engine_config(DEFAULT_MAX_OBJECT_SIZE);
    match Engine::format(&cfg, args.force) {
        Ok(report) => {
            // The blob manifest describes chunk objects the format just erased.
            let manifest = cfg.data_dir.join(appliance_da::store::MANIFEST_FILE);
            if manifest.exists() {
                std::fs::remove_file(&manifest)
                    .with_context(|| format!("removing {}", manifest.display()))?;
            }
            print_json(&report)?;
            Ok(exit::SUCCESS)
        }
        Err(err @ StorageError::AlreadyFormatted(_)) => {
            eprintln!("appliance: {err} (add --force to erase every object on these drives)");
            Ok(exit::ALREADY_FORMATTED)
        }
        Err(err) => Err(err).context("formatting the drives"),
    }
}

/// `appliance status`.
pub fn status(args: AdminArgs) -> anyhow::Result<u8> {
    let report: EngineStatus = admin(&args, Method::Get, "/v1/admin/status", |engine| {
        engine.status()
    })?;
    let node_id = node_identity::node_id(&args.store.data).unwrap_or_else(|err| {
        tracing::warn!(error = %err, "cannot read the node key: status shows no node id");
        None
    });
    print_json(&StatusReport {
        node_id: node_id.map(|id| id.to_string()),
        engine: &report,
    })?;
    Ok(if report.offline_drives() > 0 {
        exit::DATA_AT_RISK
    } else {
        exit::SUCCESS
    })
}

/// What `appliance status` prints: the engine's report, with the node id light clients pin
/// (`null` before the first `appliance up` creates the node key).
#[derive(Serialize)]
struct StatusReport<'a> {
    node_id: Option<String>,
    #[serde(flatten)]
    engine: &'a EngineStatus,
}

/// `appliance scrub`.
pub fn scrub(args: AdminArgs) -> anyhow::Result<u8> {
    let report: ScrubReport = admin(&args, Method::Post, "/v1/admin/scrub", |engine| {
        with_progress("scrubbing", |progress| engine.scrub_with_progress(progress))
    })?;
    print_json(&report)?;
    Ok(risk_code(&report.unrecoverable))
}

/// `appliance rebuild DRIVE`.
pub fn rebuild(args: RebuildArgs) -> anyhow::Result<u8> {
    let drive = args.drive;
    let path = format!("/v1/admin/rebuild/{drive}");
    let report: RebuildReport = admin(&args.admin, Method::Post, &path, move |engine| {
        with_progress("rebuilding", |progress| {
            engine.rebuild_with_progress(drive, progress)
        })
    })?;
    print_json(&report)?;
    Ok(risk_code(&report.unrecoverable))
}

/// Runs a long offline job with a progress bar of objects done on stderr (hidden when stderr is
/// not a terminal).
fn with_progress<T>(what: &str, job: impl FnOnce(&mut dyn FnMut(u64, u64)) -> T) -> T {
    let bar = indicatif::ProgressBar::new(0).with_message(format!("{what} objects"));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({eta} left)")
            .expect("a valid progress template"),
    );
    let result = job(&mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    result
}

/// The exit code of a scrub or rebuild that left `unrecoverable` objects behind.
fn risk_code(unrecoverable: &[ObjectId]) -> u8 {
    if unrecoverable.is_empty() {
        exit::SUCCESS
    } else {
        exit::DATA_AT_RISK
    }
}

/// HTTP methods of the admin API.
enum Method {
    Get,
    Post,
}

/// Runs `local` on the engine opened offline, or asks the daemon at `--http` when a running
/// daemon holds the index.
fn admin<T: DeserializeOwned>(
    args: &AdminArgs,
    method: Method,
    path: &str,
    local: impl FnOnce(&Engine) -> Result<T, StorageError>,
) -> anyhow::Result<T> {
    match Engine::open(args.store.engine_config(DEFAULT_MAX_OBJECT_SIZE)) {
        Ok(engine) => Ok(local(&engine)?),
        Err(StorageError::Busy(index)) => {
            tracing::info!(
                index = %index.display(),
                http = %args.http,
                "index held by a running daemon: using its admin API"
            );
            remote(args, method, path)
        }
        Err(StorageError::NotFormatted(dir)) => bail!(
            "{} holds no formatted drives: run `appliance format` or `appliance up` first",
            dir.display()
        ),
        Err(err) => Err(err).context("opening the drives"),
    }
}

fn remote<T: DeserializeOwned>(args: &AdminArgs, method: Method, path: &str) -> anyhow::Result<T> {
    let url = format!("http://{}{path}", args.http);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(ADMIN_CLIENT_TIMEOUT_SECS))
        .build()
        .context("building the HTTP client")?;
    let request = match method {
        Method::Get => client.get(&url),
        Method::Post => client.post(&url),
    };
    let response = request.send().with_context(|| {
        format!("a daemon holds the index, but {url} does not answer (is --http right?)")
    })?;
    let status = response.status();
    if !status.is_success() {
        let body: Value = response.json().unwrap_or(Value::Null);
        bail!("{url} answered {status}: {}", body["error"]);
    }
    response
        .json()
        .with_context(|| format!("reading the answer of {url}"))
}

fn print_json(report: &impl Serialize) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(report).context("encoding JSON")?
    );
    Ok(())
}
