//! The engine through the daemon's HTTP API on loopback: the same router and server as
//! `appliance up`, in this process, with blocking HTTP clients.

use std::io;
use std::sync::Arc;

use anyhow::Context;
use appliance::http::AppState;
use appliance::server;

use crate::library::fresh_engine;
use crate::workload::{self, EngineFigures, Store, Workload};
use crate::Args;

struct HttpStore {
    base: String,
    client: reqwest::blocking::Client,
}

impl Store for HttpStore {
    fn put(&self, data: &[u8]) -> anyhow::Result<String> {
        let response = self
            .client
            .put(format!("{}/v1/objects", self.base))
            .body(data.to_vec())
            .send()?
            .error_for_status()?;
        let answer: serde_json::Value = response.json()?;
        let id = answer["id"]
            .as_str()
            .with_context(|| format!("PUT answered {answer}"))?;
        Ok(id.to_owned())
    }

    fn get(&self, id: &str) -> anyhow::Result<u64> {
        let mut response = self
            .client
            .get(format!("{}/v1/objects/{id}", self.base))
            .send()?
            .error_for_status()?;
        Ok(response.copy_to(&mut io::sink())?)
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
        metrics: None,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let store = HttpStore {
        base: format!("http://{addr}"),
        client: reqwest::blocking::Client::new(),
    };
    let figures = workload::run(args, &store);
    let _ = stop.send(());
    runtime
        .block_on(server)
        .context("joining the HTTP server")?
        .context("serving HTTP")?;
    figures
}
