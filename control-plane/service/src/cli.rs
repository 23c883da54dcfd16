//! Command-line flags of the `control-plane` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use alloy_primitives::Address;
use clap::{Args, Parser, Subcommand};
use control_plane_chain::limits::DEFAULT_CONFIRMATIONS;
use url::Url;

use crate::limits::MIN_HEARTBEAT_EVERY_MS;

/// Environment variable holding the operator's private key (hex), when no keystore is given.
pub const OPERATOR_KEY_ENV: &str = "CP_OPERATOR_KEY";
/// Environment variable holding the password of `--operator-keystore`.
pub const OPERATOR_KEYSTORE_PASSWORD_ENV: &str = "CP_OPERATOR_KEYSTORE_PASSWORD";

/// Exit codes, documented in `--help`.
pub mod exit {
    /// Stopped cleanly (Ctrl-C or SIGTERM).
    pub const SUCCESS: u8 = 0;
    /// Could not start or failed while running; the message names the cause.
    pub const FAILURE: u8 = 1;
    /// A bad command line (clap's own code for usage errors).
    pub const USAGE: u8 = 2;
}

const AFTER_HELP: &str = "\
The public listener (--listen) serves the admin API under /api (log in with POST /api/login,
then send `Authorization: Bearer TOKEN`; roles viewer < operator < admin), box enrollment under
/v1/enroll, and the OpenAPI document at /api/openapi.json. The agent listener (--agent-listen)
serves heartbeats over TLS and requires the client certificate a box is issued on approval.

A box from enrollment to approved:
  1. an admin creates a one-time token:   POST /api/tokens {\"expires_in_secs\": 3600}
  2. the box enrolls with it:              appliance up --control-plane URL --enroll-token TOKEN
  3. an operator approves it:              POST /api/boxes/NODE_ID/approve (or --auto-approve)
  4. the box fetches its certificate and sends heartbeats to the agent listener over mTLS.

The first start creates the data folder: the store (control-plane.redb), the CA (ca-cert.pem,
ca-key.pem) and the first admin account (--admin-user; its password from
--admin-password-file, or CONTROL_PLANE_ADMIN_PASSWORD, or else a random one written to
DIR/admin-password).

Chain registration (off unless --chain-rpc and --registry are given): every approved box is
registered in the NodeRegistry contract, signed by the operator key (--operator-keystore FILE
with its password in CP_OPERATOR_KEYSTORE_PASSWORD, or a hex key in CP_OPERATOR_KEY), and
followed to --confirmations blocks; a revoked box is deregistered. Progress is journaled in
DIR/chain-journal.redb, so a restart never registers a box twice. GET /api/boxes shows each
box's chain state.

Exit codes:
  0  stopped cleanly (Ctrl-C or SIGTERM)
  1  could not start, or failed while running; the message names the cause
  2  bad command line (unknown flag or malformed value)

Logs go to stderr; set RUST_LOG to change their level (e.g. RUST_LOG=debug).";

/// The fleet control plane: enrolls boxes, issues their client certificates, collects their
/// heartbeats and inventory, and serves the admin API.
#[derive(Debug, Parser)]
#[command(name = "control-plane", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the admin API, enrollment and the agent listener until Ctrl-C or SIGTERM.
    Up(UpArgs),
}

/// Flags of `control-plane up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Data folder: the store, the CA and the generated first admin password.
    #[arg(long, value_name = "DIR", default_value = "./control-plane-data")]
    pub data: PathBuf,
    /// Address of the public listener: admin API, enrollment, OpenAPI document (port 0 picks
    /// a free port; the bound address is printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// Address of the agent listener (mTLS; port 0 picks a free port, printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7443")]
    pub agent_listen: SocketAddr,
    /// URL boxes reach the agent listener at, e.g. https://cp.example:7443. [default:
    /// https:// and the bound agent address; required when that address is 0.0.0.0 or ::]
    #[arg(long, value_name = "URL")]
    pub agent_url: Option<String>,
    /// Another DNS name or IP address for the agent listener's certificate (its URL's host,
    /// localhost and the bound address are always in it). Repeat for several.
    #[arg(long = "agent-name", value_name = "NAME")]
    pub agent_names: Vec<String>,
    /// Approve every enrolled box at once (for labs and laptops), instead of waiting for an
    /// operator's POST /api/boxes/NODE_ID/approve.
    #[arg(long)]
    pub auto_approve: bool,
    /// Time between heartbeats asked of agents, e.g. 30s, 500ms, 1m; a box that misses three
    /// in a row is shown unhealthy.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_heartbeat)]
    pub heartbeat_every: u64,
    /// Name of the first admin account, created when the store holds no account.
    #[arg(long, value_name = "NAME", default_value = "admin")]
    pub admin_user: String,
    /// File holding the first admin's password (trailing newline ignored). [default: the
    /// CONTROL_PLANE_ADMIN_PASSWORD variable, or else a random password written to
    /// DIR/admin-password]
    #[arg(long, value_name = "FILE")]
    pub admin_password_file: Option<PathBuf>,
    /// Chain flags: where and as whom approved boxes are registered.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// Flags of chain registration; all unused unless `--chain-rpc` is given.
#[derive(Debug, Args)]
#[command(next_help_heading = "Chain registration")]
pub struct ChainArgs {
    /// JSON-RPC endpoint of the chain that holds the NodeRegistry contract. Repeat for
    /// failover: tried in the order given. [default: no chain registration]
    #[arg(long = "chain-rpc", value_name = "URL", requires = "registry")]
    pub chain_rpc: Vec<Url>,
    /// Address of the NodeRegistry contract (0x and 40 hex digits).
    #[arg(long, value_name = "ADDRESS", requires = "chain_rpc")]
    pub registry: Option<Address>,
    /// Ethereum keystore file (JSON) of the operator account that signs registrations; its
    /// password is read from CP_OPERATOR_KEYSTORE_PASSWORD. [default: a hex private key in
    /// CP_OPERATOR_KEY]
    #[arg(long, value_name = "FILE", requires = "chain_rpc")]
    pub operator_keystore: Option<PathBuf>,
    /// Blocks on top of (and including) the one holding a registration before the box shows
    /// as registered.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONFIRMATIONS,
        value_parser = clap::value_parser!(u64).range(1..), requires = "chain_rpc")]
    pub confirmations: u64,
}

/// Parses a duration (`250ms`, `30s`, `2m`, or plain milliseconds) into milliseconds, at least
/// the shortest heartbeat period.
pub fn parse_heartbeat(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: expected e.g. 500ms, 30s or 2m"))?;
    let scale = match unit {
        "" | "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        other => return Err(format!("unknown duration unit {other:?}: use ms, s or m")),
    };
    let ms = number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too long"))?;
    if ms < MIN_HEARTBEAT_EVERY_MS {
        return Err(format!("at least {MIN_HEARTBEAT_EVERY_MS}ms"));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::DEFAULT_HEARTBEAT_EVERY_MS;
    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(parse_heartbeat("500ms"), Ok(500));
        assert_eq!(parse_heartbeat("30s"), Ok(30_000));
        assert_eq!(parse_heartbeat("2m"), Ok(120_000));
        assert_eq!(parse_heartbeat("100"), Ok(100));
        for bad in ["", "s", "10h", "1ms", "-5s"] {
            assert!(parse_heartbeat(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["control-plane", "up"]).unwrap();
        let Command::Up(up) = cli.command;
        assert_eq!(up.heartbeat_every, DEFAULT_HEARTBEAT_EVERY_MS);
        assert_eq!(up.data, PathBuf::from("./control-plane-data"));
        assert!(!up.auto_approve);
        assert!(up.chain.chain_rpc.is_empty());
        assert_eq!(up.chain.registry, None);
    }

    #[test]
    fn chain_flags() {
        let registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        let cli = Cli::try_parse_from([
            "control-plane",
            "up",
            "--chain-rpc",
            "http://127.0.0.1:8545",
            "--chain-rpc",
            "http://127.0.0.1:8546",
            "--registry",
            registry,
            "--confirmations",
            "5",
        ])
        .unwrap();
        let Command::Up(up) = cli.command;
        assert_eq!(up.chain.chain_rpc.len(), 2);
        assert_eq!(up.chain.chain_rpc[1].port(), Some(8546));
        assert_eq!(up.chain.registry, Some(registry.parse().unwrap()));
        assert_eq!(up.chain.confirmations, 5);

        for bad in [
            vec!["--chain-rpc", "http://127.0.0.1:8545"],
            vec!["--registry", registry],
            vec!["--chain-rpc", "not a url", "--registry", registry],
            vec!["--chain-rpc", "http://127.0.0.1:8545", "--registry", "0x12"],
            vec![
                "--chain-rpc",
                "http://127.0.0.1:8545",
                "--registry",
                registry,
                "--confirmations",
                "0",
            ],
        ] {
            let args = ["control-plane", "up"]
                .into_iter()
                .chain(bad.iter().copied());
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }
}
