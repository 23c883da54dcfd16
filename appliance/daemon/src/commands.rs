//! What each subcommand does. `status`, `scrub` and `rebuild` open the engine offline, or ask the
//! running daemon's admin API when it holds the index.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use appliance::cli::{exit, AdminArgs, FormatArgs, RebuildArgs, UpArgs};
use appliance::cluster::Cluster;
use appliance::fleet::EngineInventory;
use appliance::http::AppState;
use appliance::limits::{ADMIN_CLIENT_TIMEOUT_SECS, SHUTDOWN_GRACE_SECS};
use appliance::{maintenance, server};
use appliance_agent::{Agent, AgentConfig};
use appliance_da::{BlobStore, BlobStoreConfig};
use appliance_storage::limits::DEFAULT_MAX_OBJECT_SIZE;
use appliance_storage::{Engine, EngineConfig, StorageError};
use appliance_storage::{EngineStatus, ObjectId, RebuildReport, ScrubReport};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// `appliance up`: opens (formatting a fresh set first) and serves until Ctrl-C or SIGTERM.
pub fn up(args: UpArgs) -> anyhow::Result<u8> {
    let cfg = args.store.engine_config(args.max_object_size);
    let max_object_size = cfg.max_object_size;
    let mut blob_config = BlobStoreConfig::new(&cfg.data_dir);
    blob_config.max_blob_size = args.max_blob_size;
    let schedule = args.schedule();
    let cluster = Cluster::new(args.node_id.clone(), args.peers.clone());
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
        let listener = tokio::net::TcpListener::bind(args.http)
            .await
            .with_context(|| format!("binding --http {}", args.http))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let shutdown = server::shutdown_signal().context("installing signal handlers")?;
        if let Some(url) = &args.control_plane {
            start_agent(&args, url, &engine, addr).await?;
        }
        tracing::info!(%addr, "serving the object API");
        // Tests and scripts read the bound address (useful with port 0) from this line.
        println!("listening on http://{addr}");
        let state = Arc::new(AppState {
            engine,
            max_object_size,
            blobs: Some(blobs),
            cluster: Some(cluster),
            metrics: Some(metrics),
        });
        server::serve(listener, state, shutdown)
            .await
            .context("serving HTTP")?;
        tracing::info!("HTTP server stopped");
        Ok(exit::SUCCESS)
    });
    // Stops the background jobs and drops their engine handles, so the engine closes; a scrub or
    // compaction still running gets a grace period (it is crash-safe if cut short).
    runtime.shutdown_timeout(Duration::from_secs(SHUTDOWN_GRACE_SECS));
    tracing::info!("shut down");
    outcome
}

/// Enrolls with the control plane (or resumes the stored enrollment) and starts the agent in the
/// background. A refused token stops `up` with the control plane's reason.
async fn start_agent(
    args: &UpArgs,
    control_plane: &str,
    engine: &Engine,
    addr: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let cfg = AgentConfig {
        dir: args.store.data.join("agent"),
        control_plane: control_plane.trim_end_matches('/').to_owned(),
        enroll_token: args.enroll_token.clone(),
        hostname: appliance_agent::hostname(),
        endpoint: format!("http://{addr}"),
        firmware_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let inventory = Arc::new(EngineInventory {
        engine: engine.clone(),
    });
    let agent = Agent::start(cfg, inventory)
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
    print_json(&report)?;
    Ok(if report.offline_drives() > 0 {
        exit::DATA_AT_RISK
    } else {
        exit::SUCCESS
    })
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
