//! Command-line flags of the `appliance` binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use appliance_storage::limits::DEFAULT_QUEUE_DEPTH;
use appliance_storage::EngineConfig;
use clap::{Args, Parser, Subcommand};

use crate::cluster::{parse_peer, Peer};
use crate::limits::{DEFAULT_COMPACT_EVERY_SECS, DEFAULT_SCRUB_EVERY_SECS};
use crate::maintenance::Schedule;

/// Exit codes, documented in `--help`.
pub mod exit {
    /// The command did what was asked.
    pub const SUCCESS: u8 = 0;
    /// A runtime failure: I/O error, engine error, unreachable daemon.
    pub const FAILURE: u8 = 1;
    /// A bad command line (clap's own code for usage errors).
    pub const USAGE: u8 = 2;
    /// `format` refused: the drives already hold a formatted set (use `--force`).
    pub const ALREADY_FORMATTED: u8 = 3;
    /// Data at risk: `status` found offline drives, or `scrub`/`rebuild` left unrecoverable objects.
    pub const DATA_AT_RISK: u8 = 4;
}

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  runtime failure (I/O or engine error, daemon unreachable); the message names the cause
  2  bad command line (unknown flag or malformed value)
  3  format refused: the drives already hold a formatted set (add --force to wipe them)
  4  data at risk: status found offline drives, or scrub or rebuild left unrecoverable objects

Logs go to stderr; set RUST_LOG to change their level (e.g. RUST_LOG=debug).";

/// The appliance daemon: an erasure-coded object store and DA blob store on NVMe namespaces or
/// file drives, served over HTTP, with blob samples served to light clients over QUIC.
#[derive(Debug, Parser)]
#[command(name = "appliance", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the object and blob API over HTTP and blob samples over QUIC. Default file drives are formatted on first start (a
    /// formatted set never is); drives given with --drive need `appliance format` first.
    Up(UpArgs),
    /// Initialise the drives. Refuses drives that already hold a formatted set unless --force.
    Format(FormatArgs),
    /// Print the drives' health and usage as JSON (through a running daemon when one holds DIR).
    Status(AdminArgs),
    /// Verify every block's checksum and repair bad ones from parity.
    Scrub(AdminArgs),
    /// Refill a replaced drive from the other drives.
    Rebuild(RebuildArgs),
    /// Start N boxes on loopback (node-0..node-N-1, each `appliance up` with its own data folder
    /// and the others as peers) and supervise them until Ctrl-C. Prints one line per box:
    /// `node-I pid PID listening on URL quic ADDR node NODEID` (NODEID: what samplers pin).
    Cluster(ClusterArgs),
}

/// Where the data lives and how it is laid out: shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Folder holding the index and the default file drives.
    #[arg(long, value_name = "DIR", default_value = "./appliance-data")]
    pub data: PathBuf,
    /// A drive: an NVMe namespace (e.g. /dev/nvme0n1) or a regular file. Repeat once per drive.
    /// [default: six sparse file drives under DIR/drives/]
    #[arg(long = "drive", value_name = "PATH")]
    pub drives: Vec<PathBuf>,
    /// Data shards per stripe. [default: chosen for the drive count, 4 on six drives]
    #[arg(long, value_name = "K")]
    pub data_shards: Option<usize>,
    /// Parity shards per stripe. [default: chosen for the drive count, 2 on six drives]
    #[arg(long, value_name = "M")]
    pub parity_shards: Option<usize>,
    /// io_uring operations in flight per drive.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_QUEUE_DEPTH)]
    pub queue_depth: u32,
    /// Size of each default sparse file drive, in bytes or with a KiB/MiB/GiB/TiB suffix. Used
    /// when the drives are created.
    #[arg(long, value_name = "SIZE", default_value = "8GiB", value_parser = parse_size)]
    pub drive_size: u64,
    /// Zone size (the unit of append and reclaim), fixed when the drives are formatted.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub zone_size: u64,
}

impl StoreArgs {
    /// The engine configuration these flags describe.
    pub fn engine_config(&self, max_object_size: u64) -> EngineConfig {
        let mut cfg = EngineConfig::new(&self.data);
        cfg.drives.clone_from(&self.drives);
        cfg.data_shards = self.data_shards;
        cfg.parity_shards = self.parity_shards;
        cfg.queue_depth = self.queue_depth;
        cfg.file_drive_size = self.drive_size;
        cfg.zone_size = self.zone_size;
        cfg.max_object_size = max_object_size;
        cfg
    }
}

/// Flags of `appliance up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Data location and layout.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address the HTTP API listens on (port 0 picks a free port; the bound address is printed
    /// on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Address (UDP) the QUIC sample server listens on, for light clients (`sampler`); port 0
    /// picks a free port. The bound address and the node id clients pin are printed on stdout.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub quic: SocketAddr,
    /// Memory for whole chunks recently sampled over QUIC, in bytes or with a KiB/MiB/GiB suffix
    /// (each chunk takes 262 KiB; 0: no cache, every sample request reads the drives).
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    pub sample_cache: u64,
    /// Largest object a PUT accepts, in bytes or with a KiB/MiB/GiB suffix.
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    pub max_object_size: u64,
    /// Largest blob `POST /v1/blobs` accepts, in bytes or with a KiB/MiB suffix (32 MiB is the
    /// size of 0G DA's largest blob; at most 4096 chunks of 126,976 bytes, 496 MiB).
    #[arg(long, value_name = "SIZE", default_value = "32MiB", value_parser = parse_size)]
    pub max_blob_size: u64,
    /// This box's node id in a cluster: which cell columns a box keeps is derived from the
    /// node ids (rendezvous hashing, two boxes per column). [default: the id of the box's node
    /// key, the one samplers pin and the control plane enrolls]
    #[arg(long, value_name = "ID")]
    pub node_id: Option<String>,
    /// Another box of the cluster, as ID=URL (e.g. node-1=http://10.0.0.2:8080); repeat per
    /// peer. Each dispersed blob's columns are pushed to the peers that keep them.
    #[arg(long = "peer", value_name = "ID=URL", value_parser = parse_peer)]
    pub peers: Vec<Peer>,
    /// Seconds between background compactions, which reclaim deleted objects' zones (0: only
    /// when a drive fills up).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_COMPACT_EVERY_SECS)]
    pub compact_every: u64,
    /// Seconds between background scrubs of every block (0: off; `appliance scrub` still works).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_SCRUB_EVERY_SECS)]
    pub scrub_every: u64,
    /// Control plane to enroll with and report to (its public listener, e.g.
    /// http://10.0.0.2:7070). The box key and enrollment live under DIR/agent/. [default: run
    /// without a control plane]
    #[arg(long, value_name = "URL")]
    pub control_plane: Option<String>,
    /// One-time enrollment token from the control plane's admin (POST /api/tokens); needed
    /// only for the first start, until the box has enrolled.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "APPLIANCE_ENROLL_TOKEN",
        requires = "control_plane"
    )]
    pub enroll_token: Option<String>,
}

impl UpArgs {
    /// The background jobs these flags ask for.
    pub fn schedule(&self) -> Schedule {
        let every = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        Schedule {
            compact_every: every(self.compact_every),
            scrub_every: every(self.scrub_every),
        }
    }
}

/// Flags of `appliance cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Boxes to start.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub nodes: usize,
    /// Folder holding each box's data folder (DIR/node-0, DIR/node-1, ...).
    #[arg(long, value_name = "DIR", default_value = "./appliance-cluster")]
    pub data: PathBuf,
    /// HTTP port of node-0; node-I listens on PORT + I, for HTTP (TCP) and QUIC samples (UDP)
    /// alike (0: free ports picked at start).
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub base_port: u16,
    /// Flags for every box's `appliance up`, after `--` (e.g. `-- --drive-size 1GiB`).
    #[arg(last = true, value_name = "UP_FLAGS")]
    pub up_flags: Vec<String>,
}

/// Flags of `appliance format`.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Data location and layout.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Wipe drives that already hold a formatted set, losing every object on them.
    #[arg(long)]
    pub force: bool,
}

/// Flags of `appliance status` and `appliance scrub`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Data location and layout.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Admin API of the daemon to ask when a running daemon holds DIR's index.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
}

/// Flags of `appliance rebuild`.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Index of the replaced drive (0-based, in --drive order or DIR/drives/ order).
    #[arg(value_name = "DRIVE")]
    pub drive: usize,
    /// Data location, layout and daemon address.
    #[command(flatten)]
    pub admin: AdminArgs,
}

/// Parses a byte size: a plain number, or a number followed by `K`/`KiB`, `M`/`MiB`, `G`/`GiB`,
/// `T`/`TiB` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size: expected e.g. 4096, 64MiB or 2GiB"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "t" | "tib" => 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?}: use KiB, MiB, GiB or TiB"
            ))
        }
    };
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{text:?} does not fit in 64 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn sizes_with_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
    }

    #[test]
    fn bad_sizes_are_refused() {
        for s in ["", "MiB", "12XB", "-1", "99999999999TiB"] {
            assert!(parse_size(s).is_err(), "{s}");
        }
    }

    #[test]
    fn help_defaults_are_the_engine_defaults() {
        let cli = Cli::try_parse_from(["appliance", "up", "--data", "d"]).unwrap();
        let Command::Up(up) = cli.command else {
            panic!("parsed another subcommand");
        };
        let ours = up.store.engine_config(up.max_object_size);
        let engine = EngineConfig::new("d");
        assert_eq!(ours.file_drive_size, engine.file_drive_size);
        assert_eq!(ours.zone_size, engine.zone_size);
        assert_eq!(ours.max_object_size, engine.max_object_size);
        assert_eq!(ours.queue_depth, engine.queue_depth);
        assert_eq!(ours.drive_paths(), engine.drive_paths());
    }

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn up_defaults_match_the_issue() {
        let cli = Cli::try_parse_from(["appliance", "up"]).unwrap();
        let Command::Up(up) = cli.command else {
            panic!("parsed another subcommand");
        };
        assert_eq!(up.store.data, PathBuf::from("./appliance-data"));
        assert_eq!(up.http, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        assert_eq!(up.quic, "127.0.0.1:8443".parse::<SocketAddr>().unwrap());
        assert_eq!(up.sample_cache, crate::limits::DEFAULT_SAMPLE_CACHE_BYTES);
        assert!(up.store.drives.is_empty());
        assert_eq!(up.node_id, None);
        assert!(up.peers.is_empty());
        assert_eq!(
            up.max_blob_size,
            appliance_da::limits::DEFAULT_MAX_BLOB_SIZE
        );
    }

    #[test]
    fn cluster_flags_pass_the_rest_to_up() {
        let cli = Cli::try_parse_from([
            "appliance",
            "cluster",
            "--nodes",
            "4",
            "--",
            "--drive-size",
            "1GiB",
        ])
        .unwrap();
        let Command::Cluster(c) = cli.command else {
            panic!("parsed another subcommand");
        };
        assert_eq!((c.nodes, c.base_port), (4, 8080));
        assert_eq!(c.up_flags, ["--drive-size", "1GiB"]);
        let up =
            Cli::try_parse_from(["appliance", "up", "--peer", "b=http://127.0.0.1:9"]).unwrap();
        let Command::Up(up) = up.command else {
            panic!("parsed another subcommand");
        };
        assert_eq!(up.peers[0].id, "b");
        assert!(Cli::try_parse_from(["appliance", "up", "--peer", "nonsense"]).is_err());
    }

    #[test]
    fn repeated_drives_and_rebuild_index() {
        let cli = Cli::try_parse_from([
            "appliance",
            "rebuild",
            "3",
            "--drive",
            "/a",
            "--drive",
            "/b",
        ])
        .unwrap();
        let Command::Rebuild(r) = cli.command else {
            panic!("parsed another subcommand");
        };
        assert_eq!(r.drive, 3);
        assert_eq!(
            r.admin.store.drives,
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
    }
}
