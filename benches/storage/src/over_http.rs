//! The engine through the daemon's HTTP API on loopback: the same router and server as
//! `appliance up`, in this process, with an async HTTP client on a runtime of its own.

use std::sync::Arc;

use anyhow::Context;
use appliance::http::AppState;
use appliance::server;

use crate::library::fresh_engine;
use crate::workload::{self, EngineFigures, Store, Workload};
use crate::Args;

/// An async HTTP client on its own runtime, so the requests' I/O runs on that runtime's workers
/// rather than on one client thread; each bench thread blocks on its own requests.
struct HttpStore {
    base: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Store for HttpStore {
    fn put(&self, data: &[u8]) -> anyhow::Result<String> {
        let request = self
            .client
            .put(format!("{}/v1/objects", self.base))
            .body(data.to_vec());
        let answer: serde_json::Value = self
            .runtime
            .block_on(async { request.send().await?.error_for_status()?.json().await })?;
        let id = answer["id"]
            .as_str()
            .with_context(|| format!("PUT answered {answer}"))?;
        Ok(id.to_owned())
    }

    fn get(&self, id: &str) -> anyhow::Result<u64> {
        let request = self.client.get(format!("{}/v1/objects/{id}", self.base));
        self.runtime.block_on(async {
            let mut response = request.send().await?.error_for_status()?;
            let mut received = 0u64;
            while let Some(chunk) = response.chunk().await? {
                received += chunk.len() as u64;
            }
            Ok(received)
        })
    }
}

/// PUT, GET and random small reads through HTTP on 127.0.0.1.
pub fn measure(args: &Args, w: &Workload) -> anyhow::Result<EngineFigures> {
    let engine = fresh_engine(w)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding 127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState {
        max_object_size: engine.max_object_size(),
        engine,
        cluster: None,
        blobs: None,
        metrics: None,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let store = HttpStore {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        runtime: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the client runtime")?,
    };
    let figures = workload::run(args, &store);
    let _ = stop.send(());
    runtime
        .block_on(server)
        .context("joining the HTTP server")?
        .context("serving HTTP")?;
    figures
}
