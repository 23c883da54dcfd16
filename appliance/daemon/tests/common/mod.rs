//! Test harness: runs the real `appliance` binary on a temp dir with small sparse file drives,
//! bound to a free port, and talks to it over HTTP.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Flags giving every test daemon small default file drives (sparse, so only written blocks use
/// disk) cut into small zones, so full drives are cheap to reach. Each pair applies unless the
/// test passes that flag itself.
pub const SMALL_DRIVES: [(&str, &str); 2] = [("--drive-size", "96MiB"), ("--zone-size", "4MiB")];

/// Every test daemon serves samples on a free UDP port (the default 8443 would collide between
/// tests running at once), unless the test passes `--quic` itself.
pub const FREE_QUIC_PORT: (&str, &str) = ("--quic", "127.0.0.1:0");

/// How long a daemon may take to print its address or to exit after a signal.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The appliance binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_appliance"))
}

/// A running `appliance up`, killed when dropped.
pub struct Daemon {
    child: Child,
    /// `host:port` the daemon listens on.
    pub addr: String,
    /// `host:port` of its QUIC sample server.
    pub quic: String,
    /// The node id it printed (64 hex characters), which light clients pin.
    pub node_id: String,
    /// Its stderr (the tracing log), for failure messages.
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `appliance up --data DATA EXTRA...` (plus [`SMALL_DRIVES`], [`FREE_QUIC_PORT`] and
    /// `--http 127.0.0.1:0` where EXTRA does not set them) and waits for the address lines.
    pub fn start(data: &Path, extra: &[&str]) -> Daemon {
        let log = data.with_extension("log");
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("opening the daemon log");
        let mut cmd = bin();
        cmd.arg("up").arg("--data").arg(data).args(extra);
        let free_http = ("--http", "127.0.0.1:0");
        for (flag, value) in SMALL_DRIVES.into_iter().chain([FREE_QUIC_PORT, free_http]) {
            if !extra.contains(&flag) {
                cmd.args([flag, value]);
            }
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawning appliance up");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Reads stdout to its end, so the daemon never writes into a closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let next_line = || {
            rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_default()
        };
        let http_line = next_line();
        let quic_line = next_line();
        let addr = http_line.trim().strip_prefix("listening on http://");
        let quic = quic_line
            .trim()
            .strip_prefix("serving samples on quic://")
            .and_then(|rest| rest.split_once(" node "));
        let (Some(addr), Some((quic, node_id))) = (addr, quic) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "appliance up printed {http_line:?}, {quic_line:?} instead of its addresses; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Daemon {
            addr: addr.to_owned(),
            quic: quic.to_owned(),
            node_id: node_id.to_owned(),
            child,
            log,
        }
    }

    /// `http://addr/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://addr/v1/objects/ID`.
    pub fn object(&self, id: &str) -> String {
        self.url(&format!("/v1/objects/{id}"))
    }

    /// The daemon's process id.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Kills the daemon with SIGKILL (a crash) and reaps it.
    pub fn crash(mut self) {
        kill(self.pid(), Signal::SIGKILL).expect("sending SIGKILL");
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the daemon to exit.
    pub fn terminate(self) -> ExitStatus {
        self.stop_with(Signal::SIGTERM)
    }

    /// Sends `signal` and waits for the daemon to exit.
    pub fn stop_with(mut self, signal: Signal) -> ExitStatus {
        kill(self.pid(), signal).expect("sending a signal to the daemon");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the daemon") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon ignored {signal}; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client for tests.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("building the HTTP client")
}

/// Deterministic pseudo-random bytes (distinct per seed).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The hex BLAKE3 id the store gives `data`.
pub fn id_of(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

/// PUTs `data` and returns the JSON answer, asserting 200.
pub fn put(client: &reqwest::blocking::Client, daemon: &Daemon, data: &[u8]) -> serde_json::Value {
    let response = client
        .put(daemon.url("/v1/objects"))
        .body(data.to_vec())
        .send()
        .expect("PUT");
    assert_eq!(response.status(), 200, "PUT of {} bytes", data.len());
    response.json().expect("PUT answers JSON")
}

/// A daemon on a new temp dir (`DIR/data`, started with `extra` flags) and a client for it.
pub fn fresh(extra: &[&str]) -> (tempfile::TempDir, Daemon, reqwest::blocking::Client) {
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let daemon = Daemon::start(&dir.path().join("data"), extra);
    (dir, daemon, client())
}

/// GETs object `id`, asserting 200, and returns its bytes.
pub fn get(http: &reqwest::blocking::Client, daemon: &Daemon, id: &str) -> Vec<u8> {
    let response = http.get(daemon.object(id)).send().expect("GET");
    assert_eq!(response.status(), 200, "GET {id}");
    response.bytes().expect("GET body").to_vec()
}

/// GETs `url` and returns its JSON body.
pub fn get_json(http: &reqwest::blocking::Client, url: &str) -> serde_json::Value {
    http.get(url)
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// One box of a running [`Cluster`], as its start-up line names it.
pub struct ClusterBox {
    /// The node id of its key (custody and sample pins use it).
    pub node_id: String,
    /// Its process id.
    pub pid: i32,
    /// Base URL of its HTTP API.
    pub http: String,
    /// Address of its QUIC sample server.
    pub quic: String,
}

impl ClusterBox {
    /// `NODEID@HOST:PORT`, what the sampler's `--node` takes.
    pub fn sample_address(&self) -> String {
        format!("{}@{}", self.node_id, self.quic)
    }
}

/// A running `appliance cluster`, stopped when dropped.
pub struct Cluster {
    child: Child,
    /// Its boxes in node order; node-0 first.
    pub boxes: Vec<ClusterBox>,
}

impl Cluster {
    /// `appliance cluster --nodes N --base-port 0` on small drives; reads each box's line.
    pub fn start(data: &Path, nodes: usize) -> Cluster {
        let mut cmd = bin();
        cmd.arg("cluster")
            .args(["--nodes", &nodes.to_string(), "--base-port", "0", "--data"])
            .arg(data)
            .arg("--");
        for (flag, value) in SMALL_DRIVES {
            cmd.args([flag, value]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawning the cluster");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut boxes = Vec::new();
        for _ in 0..nodes {
            let line = rx.recv_timeout(START_TIMEOUT).expect("a line per box");
            // "node-i pid P listening on http://ADDR quic ADDR node NODEID"
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(parts.len(), 10, "{line:?}");
            assert!(parts[0].starts_with("node-"), "{line:?}");
            boxes.push(ClusterBox {
                node_id: parts[9].to_owned(),
                pid: parts[2].parse().expect("a process id"),
                http: parts[5].to_owned(),
                quic: parts[7].to_owned(),
            });
        }
        Cluster { child, boxes }
    }

    /// Stops the cluster with SIGTERM (as Ctrl-C would) and waits for it to exit.
    pub fn stop(&mut self) -> ExitStatus {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM)
            .expect("signalling the cluster");
        self.child.wait().expect("waiting for the cluster")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
    }
}
