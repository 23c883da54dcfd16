//! Repair, observed through the `da_*` counters: readers racing on a damaged chunk all get the
//! right cells and exactly one of them repairs it; afterwards reads need no recovery.
//! (One test in this binary: it installs the process-wide metrics recorder.)

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use appliance_da::limits::INPUT_BYTES_PER_CHUNK;
use appliance_da::packing::pack_chunk;
use common::{corrupt_record, open, pattern};
use kernels::KzgSettings;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// Counts every counter by name; ignores gauges and histograms.
#[derive(Default)]
struct Counters(Mutex<HashMap<String, Arc<AtomicU64>>>);

impl Counters {
    fn get(&self, name: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }
}

struct CountingRecorder(&'static Counters);

impl Recorder for CountingRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut all = self.0 .0.lock().unwrap();
        Counter::from_arc(Arc::clone(all.entry(key.name().to_owned()).or_default()))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn racing_readers_repair_once_and_later_reads_need_no_recovery() {
    let counters: &'static Counters = Box::leak(Box::default());
    metrics::set_global_recorder(CountingRecorder(counters)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(2 * INPUT_BYTES_PER_CHUNK, 9);
    let (id, old) = {
        let store = open(dir.path());
        let id = store.disperse(&data).unwrap().id;
        (id, store.chunk(&id, 1).unwrap().object)
    };
    assert_eq!(counters.get("da_blobs_dispersed_total"), 1);
    for cell in [2, 70, 127] {
        corrupt_record(dir.path(), &old, cell);
    }
    let store = open(dir.path());
    let (cells, proofs) = KzgSettings::ethereum()
        .compute_cells_and_kzg_proofs(&pack_chunk(&data[INPUT_BYTES_PER_CHUNK..]))
        .unwrap();

    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let got = store.cells(&id, 1, &[2, 70, 127]).unwrap();
                for (&i, (cell, proof)) in [2usize, 70, 127].iter().zip(&got) {
                    assert!(cell == &cells[i] && proof == &proofs[i], "cell {i}");
                }
            });
        }
    });
    let recovered = counters.get("da_cells_recovered_total");
    assert!(
        recovered >= 3 && recovered.is_multiple_of(3),
        "each recovery rebuilt the 3 bad cells: {recovered}"
    );
    assert_eq!(counters.get("da_chunks_repaired_total"), 1);
    assert_eq!(store.chunk(&id, 1).unwrap().generation, 1);

    assert!(store.retrieve(&id).unwrap() == data);
    let again = store.cells(&id, 1, &[2, 70, 127]).unwrap();
    assert!(again[1].0 == cells[70]);
    assert_eq!(counters.get("da_cells_recovered_total"), recovered);
    assert_eq!(counters.get("da_chunks_repaired_total"), 1);
    assert_eq!(counters.get("da_unrecoverable_chunks_total"), 0);
    assert_eq!(counters.get("da_blobs_retrieved_total"), 1);
    assert_eq!(counters.get("da_bytes_retrieved_total"), data.len() as u64);
}
