//! Command-line flags of the `control-plane` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::limits::MIN_HEARTBEAT_EVERY_MS;

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
    }

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }
}
