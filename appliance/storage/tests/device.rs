//! The io_uring device on its own: single requests wake the I/O thread, batches larger than the
//! queue depth are queued, data written reads back, and reads past the end fail clearly.

use std::sync::Arc;

use appliance_storage::device::{
    open_drive_file, BlockDevice, BufferPool, IoGroup, IoOp, IoRequest, SlotClass, UringDevice,
};

const BLOCK: usize = 4096;

fn run(dev: &UringDevice, ops: Vec<IoOp>) -> Vec<std::io::Result<()>> {
    let group = IoGroup::new(ops.len());
    let requests = ops
        .into_iter()
        .enumerate()
        .map(|(slot, op)| IoRequest {
            op,
            group: Arc::clone(&group),
            slot,
        })
        .collect();
    // SAFETY: every buffer is a checked-out pool buffer the caller keeps until `wait` returns.
    unsafe { dev.submit(requests) };
    group.wait()
}

#[test]
fn one_at_a_time_and_oversized_batches_complete_with_the_right_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let pool = BufferPool::new(64 * BLOCK, 1, BLOCK, 8);
    let path = dir.path().join("drive");
    let file = open_drive_file(&path, Some(1 << 20)).unwrap();
    let dev = UringDevice::new("drive".into(), file, 4, Arc::clone(&pool)).unwrap();
    assert_eq!(dev.capacity(), 1 << 20);

    let mut big = pool.checkout(SlotClass::Stripe);
    for (i, b) in big.as_mut_slice().iter_mut().enumerate() {
        *b = (i / BLOCK) as u8 ^ (i as u8);
    }
    // 64 single-block writes in one batch, sixteen times the queue depth, every other one durable.
    let writes = (0..64)
        .map(|i| IoOp::Write {
            offset: (i * BLOCK) as u64,
            buf: big.ptr_at(i * BLOCK),
            len: BLOCK,
            durable: i % 2 == 0,
        })
        .chain([IoOp::Flush])
        .collect();
    assert!(run(&dev, writes).into_iter().all(|r| r.is_ok()));

    // Then one request per submit, each waking the thread on its own.
    let mut small = pool.checkout(SlotClass::Small);
    for i in 0..64 {
        let op = IoOp::Read {
            offset: (i * BLOCK) as u64,
            buf: small.ptr_at(0),
            len: BLOCK,
        };
        run(&dev, vec![op]).pop().unwrap().unwrap();
        assert_eq!(
            small.as_slice(),
            &big.as_slice()[i * BLOCK..(i + 1) * BLOCK]
        );
    }

    let past_end = IoOp::Read {
        offset: 1 << 20,
        buf: small.ptr_at(0),
        len: BLOCK,
    };
    let err = run(&dev, vec![past_end]).pop().unwrap().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
}
