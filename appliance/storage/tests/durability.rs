//! Durable writes: every extent a PUT writes is on stable media when its write completes, with no
//! flush after it, and a drive that cannot make a write durable is no shard's home.

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};

use appliance_storage::device::FaultPlan;
use appliance_storage::{Engine, ObjectId};
use common::{config, open_faulty, pattern};

const WRITERS: usize = 8;

/// `WRITERS` threads each PUT one object striped over all six drives, all starting together;
/// returns the objects with their contents.
fn concurrent_puts(engine: &Engine) -> Vec<(ObjectId, Vec<u8>)> {
    let start = Barrier::new(WRITERS);
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|i| {
                let start = &start;
                scope.spawn(move || {
                    let data = pattern((4 << 20) + 4096 * i, 900 + i as u64);
                    start.wait();
                    (engine.put(&data).unwrap().id, data)
                })
            })
            .collect();
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    })
}

/// A freshly formatted engine on fault-injecting drives.
fn faulty_engine() -> (tempfile::TempDir, Engine, Vec<Arc<FaultPlan>>) {
    let dir = tempfile::tempdir().unwrap();
    Engine::format(&config(dir.path()), false).unwrap();
    let (engine, plans) = open_faulty(dir.path());
    (dir, engine, plans)
}

fn total(plans: &[Arc<FaultPlan>], counter: impl Fn(&FaultPlan) -> u64) -> u64 {
    plans.iter().map(|p| counter(p)).sum()
}

#[test]
fn every_write_of_a_put_is_durable_and_needs_no_flush() {
    let (dir, engine, plans) = faulty_engine();
    let volatile = |p: &FaultPlan| p.volatile_writes.load(Ordering::SeqCst);
    let flushes = |p: &FaultPlan| p.flushes.load(Ordering::SeqCst);
    let before = (total(&plans, volatile), total(&plans, flushes));
    let objects = concurrent_puts(&engine);
    assert_eq!(
        (total(&plans, volatile), total(&plans, flushes)),
        before,
        "(volatile writes, flushes) during {WRITERS} PUTs"
    );
    drop(engine);
    let engine = Engine::open(config(dir.path())).unwrap();
    for (id, data) in &objects {
        assert_eq!(&engine.get(id).unwrap(), data, "object {id}");
    }
}

#[test]
fn a_drive_that_cannot_make_writes_durable_holds_no_shard_of_any_object() {
    let (_dir, engine, plans) = faulty_engine();
    plans[1].fail_flushes.store(true, Ordering::SeqCst);
    let objects = concurrent_puts(&engine);
    let status = engine.status().unwrap();
    assert!(
        !status.drives[1].online,
        "a drive that failed a durable write goes offline"
    );
    assert!(status.drives[1].write_errors > 0);
    // No object may count on drive 1's shards: with two more drives failing reads, each stripe
    // needs every shard it kept, and reads must stay correct.
    plans[1].heal();
    engine.rebuild(1).unwrap();
    plans[2].fail_reads.store(true, Ordering::SeqCst);
    plans[3].fail_reads.store(true, Ordering::SeqCst);
    for (id, data) in &objects {
        assert_eq!(&engine.get(id).unwrap(), data, "object {id}");
    }
}
