//! `appliance cluster`: N `appliance up` processes on loopback, `node-0` to `node-{N-1}`, each
//! with its own data folder and told every other as a peer, supervised until Ctrl-C or SIGTERM.
//! Each serves samples over QUIC on the UDP port of its HTTP port's number. Each box's node key
//! is made (or loaded) before the boxes start, so that every box names its peers by the ids of
//! their keys: custody, the samplers' pins and the control plane all use the same id.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use appliance::cli::{exit, ClusterArgs};
use appliance::limits::{CLUSTER_POLL_MILLIS, MAX_CLUSTER_NODES, SHUTDOWN_GRACE_SECS};
use appliance::{node_identity, server};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// One started box.
struct Node {
    name: String,
    child: Child,
    /// Kept open so the box never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
    exited: bool,
}

/// `appliance cluster`.
pub fn cluster(args: ClusterArgs) -> anyhow::Result<u8> {
    ensure!(
        (1..=MAX_CLUSTER_NODES).contains(&args.nodes),
        "--nodes must be 1 to {MAX_CLUSTER_NODES}"
    );
    let ports = ports(args.nodes, args.base_port)?;
    let names: Vec<String> = (0..args.nodes).map(|i| format!("node-{i}")).collect();
    let ids = names
        .iter()
        .map(|name| {
            let identity = node_identity::open(&args.data.join(name))
                .with_context(|| format!("loading {name}'s node key"))?;
            Ok(identity.node_id().to_string())
        })
        .collect::<anyhow::Result<Vec<String>>>()?;
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    // QUIC (UDP) on the same numbers as HTTP (TCP), or wherever is free.
    let quic_ports: Vec<u16> = if args.base_port == 0 {
        vec![0; args.nodes]
    } else {
        ports.clone()
    };
    let exe = std::env::current_exe().context("finding the appliance binary")?;
    let mut nodes: Vec<Node> = Vec::with_capacity(args.nodes);
    for (i, name) in names.iter().enumerate() {
        let mut cmd = Command::new(&exe);
        cmd.arg("up")
            .arg("--data")
            .arg(args.data.join(name))
            .args(["--http", &format!("127.0.0.1:{}", ports[i])])
            .args(["--quic", &format!("127.0.0.1:{}", quic_ports[i])]);
        for (j, peer) in ids.iter().enumerate().filter(|&(j, _)| j != i) {
            cmd.args(["--peer", &format!("{peer}={}", urls[j])]);
        }
        cmd.args(&args.up_flags).stdout(Stdio::piped());
        let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (mut line, mut quic) = (String::new(), String::new());
        stdout
            .read_line(&mut line)
            .and_then(|_| stdout.read_line(&mut quic))
            .with_context(|| format!("reading {name}'s addresses"))?;
        let addr = line.trim().strip_prefix("listening on ");
        let quic = quic.trim().strip_prefix("serving samples on quic://");
        let (Some(addr), Some(quic)) = (addr, quic) else {
            let _ = child.kill();
            stop(&mut nodes);
            bail!("{name} did not start (it printed {line:?}); its log is above");
        };
        // Scripts and tests read these lines: box name (its data folder), process id, HTTP
        // address, QUIC address and the node id (custody, samplers' pins, control plane).
        println!("{name} pid {} listening on {addr} quic {quic}", child.id());
        nodes.push(Node {
            name: name.clone(),
            child,
            _stdout: stdout,
            exited: false,
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let shutdown = server::shutdown_signal().context("installing signal handlers")?;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return anyhow::Ok(()),
                () = tokio::time::sleep(Duration::from_millis(CLUSTER_POLL_MILLIS)) => {
                    for node in nodes.iter_mut().filter(|n| !n.exited) {
                        if let Some(status) = node.child.try_wait()? {
                            tracing::warn!(node = %node.name, %status, "a box of the cluster exited");
                            node.exited = true;
                        }
                    }
                    if nodes.iter().all(|n| n.exited) {
                        bail!("every box of the cluster exited");
                    }
                }
            }
        }
    })?;
    stop(&mut nodes);
    Ok(exit::SUCCESS)
}

/// The HTTP port of each box: `base..base+n`, or free ports when `base` is 0.
fn ports(n: usize, base: u16) -> anyhow::Result<Vec<u16>> {
    if base == 0 {
        // Held together so they differ; released just before the boxes bind them.
        let listeners = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<Result<Vec<_>, _>>()
            .context("finding free ports")?;
        return listeners
            .iter()
            .map(|l| Ok(l.local_addr()?.port()))
            .collect();
    }
    (0..n)
        .map(|i| {
            base.checked_add(i as u16)
                .context("--base-port plus --nodes exceeds 65535")
        })
        .collect()
}

/// Asks every running box to stop (SIGTERM), and kills those still running after the grace.
fn stop(nodes: &mut [Node]) {
    for node in nodes.iter().filter(|n| !n.exited) {
        let _ = kill(Pid::from_raw(node.child.id() as i32), Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(SHUTDOWN_GRACE_SECS);
    for node in nodes.iter_mut().filter(|n| !n.exited) {
        loop {
            match node.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    tracing::warn!(node = %node.name, "did not stop in time: killing it");
                    let _ = node.child.kill();
                    let _ = node.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(CLUSTER_POLL_MILLIS)),
            }
        }
    }
}
