//! Background upkeep while the daemon serves: compaction reclaims deleted objects' zones ahead of
//! need, and the scrubber re-verifies every block and repairs from parity. Each runs on a
//! blocking thread at its own period; an interval of zero turns it off.

use std::time::Duration;

use appliance_storage::Engine;

/// Periods of the background jobs; `None` turns one off.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Time between compactions.
    pub compact_every: Option<Duration>,
    /// Time between full scrubs.
    pub scrub_every: Option<Duration>,
}

/// Starts the scheduled jobs on the current tokio runtime. They stop with the runtime.
pub fn spawn(engine: &Engine, schedule: Schedule) {
    if let Some(period) = schedule.compact_every {
        spawn_job(engine.clone(), period, "compaction", |engine| {
            let report = engine.compact()?;
            if report.zones_reclaimed > 0 {
                tracing::info!(
                    zones = report.zones_reclaimed,
                    extents_moved = report.extents_moved,
                    bytes_moved = report.bytes_moved,
                    "compaction reclaimed zones"
                );
            }
            Ok(())
        });
    }
    if let Some(period) = schedule.scrub_every {
        spawn_job(engine.clone(), period, "scrub", |engine| {
            let report = engine.scrub()?;
            if report.unrecoverable.is_empty() {
                tracing::info!(
                    objects = report.objects,
                    bad_shards = report.bad_shards,
                    repaired = report.repaired_shards,
                    "scrub done"
                );
            } else {
                tracing::error!(
                    objects = report.objects,
                    unrecoverable = report.unrecoverable.len(),
                    "scrub found objects it cannot repair"
                );
            }
            Ok(())
        });
    }
}

fn spawn_job(
    engine: Engine,
    period: Duration,
    name: &'static str,
    job: fn(&Engine) -> Result<(), appliance_storage::StorageError>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick completes at once: start one period after start-up.
        tick.tick().await;
        loop {
            tick.tick().await;
            let engine = engine.clone();
            match tokio::task::spawn_blocking(move || job(&engine)).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(job = name, error = %err, "background job failed"),
                Err(err) => tracing::error!(job = name, error = %err, "background job panicked"),
            }
        }
    });
}
