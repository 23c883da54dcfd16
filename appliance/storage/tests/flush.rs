//! Group commit of drive flushes: concurrent PUTs share flushes, and a failed shared flush is
//! every sharer's failure.

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

/// A fresh engine whose drives hold every flush for 100 ms.
fn slow_flushing_engine() -> (tempfile::TempDir, Engine, Vec<Arc<FaultPlan>>) {
    let dir = tempfile::tempdir().unwrap();
    Engine::format(&config(dir.path()), false).unwrap();
    let (engine, plans) = open_faulty(dir.path());
    for plan in &plans {
        plan.flush_delay_ms.store(100, Ordering::SeqCst);
    }
    (dir, engine, plans)
}

fn flushes(plans: &[Arc<FaultPlan>]) -> u64 {
    plans.iter().map(|p| p.flushes.load(Ordering::SeqCst)).sum()
}

#[test]
fn concurrent_puts_share_flushes_and_every_object_survives_a_restart() {
    let (dir, engine, plans) = slow_flushing_engine();
    let before = flushes(&plans);
    let objects = concurrent_puts(&engine);
    let used = flushes(&plans) - before;
    // One flush per drive per PUT would be 8 x 6 = 48. While the first PUT's flushes are held,
    // the others finish their writes and wait for the next flush of each drive together.
    assert!(
        used <= (WRITERS * 6 / 2) as u64,
        "{used} flushes for {WRITERS} concurrent PUTs on 6 drives"
    );
    drop(engine);
    let engine = Engine::open(config(dir.path())).unwrap();
    for (id, data) in &objects {
        assert_eq!(&engine.get(id).unwrap(), data, "object {id}");
    }
}

#[test]
fn a_failed_shared_flush_takes_the_drive_out_of_every_sharers_object() {
    let (_dir, engine, plans) = slow_flushing_engine();
    plans[1].fail_flushes.store(true, Ordering::SeqCst);
    let objects = concurrent_puts(&engine);
    let status = engine.status().unwrap();
    assert!(
        !status.drives[1].online,
        "a drive that failed a flush goes offline"
    );
    assert!(status.drives[1].write_errors > 0);
    // No object may count on drive 1's unflushed shards: with two more drives failing reads,
    // each stripe still needs every shard it kept, and reads must stay correct.
    plans[1].heal();
    engine.rebuild(1).unwrap();
    plans[2].fail_reads.store(true, Ordering::SeqCst);
    plans[3].fail_reads.store(true, Ordering::SeqCst);
    for (id, data) in &objects {
        assert_eq!(&engine.get(id).unwrap(), data, "object {id}");
    }
}
