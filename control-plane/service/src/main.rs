//! The `control-plane` binary: parses flags, sets up logging, runs the service until Ctrl-C or
//! SIGTERM.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

use control_plane::chain::ChainRegistration;
use control_plane::chain_registrar::{ChainRegistrar, ChainSettings, CHAIN_JOURNAL_FILE};
use control_plane::cli::{
    exit, ChainArgs, Cli, Command, UpArgs, OPERATOR_KEYSTORE_PASSWORD_ENV, OPERATOR_KEY_ENV,
};
use control_plane::limits::SHUTDOWN_GRACE_SECS;
use control_plane::server::{self, ServeConfig};
use control_plane_chain::OperatorKey;

/// Environment variable holding the first admin's password.
const PASSWORD_ENV: &str = "CONTROL_PLANE_ADMIN_PASSWORD";

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let outcome = match cli.command {
        Command::Up(args) => up(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("control-plane: {err:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

fn admin_password(args: &UpArgs) -> anyhow::Result<Option<String>> {
    if let Some(path) = &args.admin_password_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading --admin-password-file {}", path.display()))?;
        return Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned()));
    }
    Ok(std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()))
}

/// The chain settings, when `--chain-rpc` is given; the key is read here and never printed.
fn chain_settings(args: &ChainArgs) -> anyhow::Result<Option<ChainSettings>> {
    let Some(registry) = args.registry.filter(|_| !args.chain_rpc.is_empty()) else {
        return Ok(None);
    };
    let key = match &args.operator_keystore {
        Some(path) => OperatorKey::from_keystore(path, OPERATOR_KEYSTORE_PASSWORD_ENV)
            .with_context(|| format!("--operator-keystore {}", path.display()))?,
        None => OperatorKey::from_env(OPERATOR_KEY_ENV).with_context(|| {
            format!("--chain-rpc needs the operator key: give --operator-keystore FILE or set {OPERATOR_KEY_ENV}")
        })?,
    };
    Ok(Some(ChainSettings {
        rpc_urls: args.chain_rpc.clone(),
        registry,
        confirmations: args.confirmations,
        key,
    }))
}

fn up(args: UpArgs) -> anyhow::Result<u8> {
    let chain = chain_settings(&args.chain)?;
    let cfg = ServeConfig {
        admin_password: admin_password(&args)?,
        data: args.data,
        listen: args.listen,
        agent_listen: args.agent_listen,
        agent_url: args.agent_url,
        agent_names: args.agent_names,
        auto_approve: args.auto_approve,
        heartbeat_every_ms: args.heartbeat_every,
        admin_user: args.admin_user,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let outcome = runtime.block_on(async move {
        let mut interrupt =
            signal(SignalKind::interrupt()).context("installing signal handlers")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("installing signal handlers")?;
        let registrar = match chain {
            Some(settings) => {
                std::fs::create_dir_all(&cfg.data)
                    .with_context(|| format!("creating --data {}", cfg.data.display()))?;
                let journal = cfg.data.join(CHAIN_JOURNAL_FILE);
                let registrar = ChainRegistrar::connect(settings, &journal).await?;
                tracing::info!(operator = %registrar.operator(), "registering approved boxes on chain");
                Some(registrar as std::sync::Arc<dyn ChainRegistration>)
            }
            None => None,
        };
        let running = server::start(cfg, registrar).await?;
        // Tests and scripts read the bound addresses (useful with port 0) from these lines.
        println!("listening on http://{}", running.public_addr);
        println!("agents on {}", running.agent_url);
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("Ctrl-C received, shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
        running.stop().await;
        Ok::<_, anyhow::Error>(exit::SUCCESS)
    });
    runtime.shutdown_timeout(Duration::from_secs(SHUTDOWN_GRACE_SECS));
    outcome
}
