//! The engine through its library API.

use anyhow::Context;
use appliance_storage::{Engine, ObjectId};

use crate::workload::{self, EngineFigures, Store, Workload};
use crate::Args;

/// A freshly formatted engine on the workload's drives (wiping what the last test left).
pub fn fresh_engine(w: &Workload) -> anyhow::Result<Engine> {
    Engine::format(&w.cfg, true).context("formatting the bench drives")?;
    Engine::open(w.cfg.clone()).context("opening the bench drives")
}

impl Store for Engine {
    fn put(&self, data: &[u8]) -> anyhow::Result<String> {
        Ok(Engine::put(self, data)?.id.to_string())
    }

    fn get(&self, id: &str) -> anyhow::Result<u64> {
        let id: ObjectId = id.parse()?;
        let mut received = 0u64;
        self.read_all_to(&id, &mut |piece| {
            received += piece.len() as u64;
            Ok(())
        })?;
        Ok(received)
    }
}

/// PUT, GET and random small reads through [`Engine`] directly.
pub fn measure(args: &Args, w: &Workload) -> anyhow::Result<EngineFigures> {
    let engine = fresh_engine(w)?;
    workload::run(args, &engine)
}
