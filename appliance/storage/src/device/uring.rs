//! The io_uring backend: one ring and one I/O thread per drive, O_DIRECT, fixed file and buffers.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use io_uring::{opcode, squeue, types, IoUring};

use super::{BlockDevice, BufferPool, IoOp, IoRequest};

/// Opens a drive (an NVMe namespace or a regular file) for direct I/O. With `create_len`, a
/// missing regular file is created sparse with that length, and a shorter one is extended.
pub fn open_drive_file(path: &Path, create_len: Option<u64>) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_CLOEXEC);
    if create_len.is_some() {
        options.create(true);
    }
    let file = options.open(path)?;
    if let Some(len) = create_len {
        if file.metadata()?.is_file() && file.metadata()?.len() < len {
            file.set_len(len)?;
        }
    }
    Ok(file)
}

/// Bytes a drive holds: the file length, or the block device's size.
fn device_len(file: &File) -> io::Result<u64> {
    use std::io::Seek;
    let mut f = file;
    f.seek(io::SeekFrom::End(0))
}

/// A drive driven by its own io_uring instance on a dedicated thread.
///
/// Callers hand requests over a channel and ring an eventfd; the thread keeps a poll of that
/// eventfd in its ring, so one `io_uring_enter` wait wakes on either a completion or new work and
/// the queue stays full while callers add to it.
pub struct UringDevice {
    label: String,
    capacity: u64,
    tx: Option<Sender<Vec<IoRequest>>>,
    wake: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

/// `user_data` of the eventfd poll that wakes the I/O thread.
const WAKE: u64 = u64::MAX;

fn ring_eventfd(fd: &OwnedFd) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: writes 8 bytes from a live stack buffer to an eventfd we own.
    let n = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    debug_assert_eq!(n, 8, "eventfd write");
}

impl UringDevice {
    /// Starts the I/O thread for `file` with `queue_depth` operations in flight, registering the
    /// file and `pool`'s memory with the ring (falling back to unregistered buffers when the
    /// kernel refuses to pin that much memory).
    pub fn new(
        label: String,
        file: File,
        queue_depth: u32,
        pool: Arc<BufferPool>,
    ) -> io::Result<Self> {
        let capacity = device_len(&file)?;
        // One extra entry for the eventfd poll that wakes the thread.
        let ring = IoUring::new((queue_depth.max(1) + 1).next_power_of_two()).map_err(|e| {
            if e.raw_os_error() == Some(libc::ENOMEM) {
                io::Error::new(
                    e.kind(),
                    format!("{e}: io_uring rings use locked memory; raise `ulimit -l` or lower the queue depth"),
                )
            } else {
                e
            }
        })?;
        // SAFETY: eventfd returns a new descriptor (or -1, checked) that nothing else owns.
        let wake = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `wake` is a fresh, valid descriptor owned by nobody else.
        let wake = Arc::new(unsafe { OwnedFd::from_raw_fd(wake) });
        ring.submitter().register_files(&[file.as_raw_fd()])?;
        let (base, len) = pool.region();
        let iovec = libc::iovec {
            iov_base: base.cast(),
            iov_len: len,
        };
        // SAFETY: the region is one live allocation owned by `pool`, which the I/O thread keeps
        // alive for as long as the ring (and so the registration) exists.
        let fixed_buffers = unsafe { ring.submitter().register_buffers(&[iovec]) }.is_ok();
        if !fixed_buffers {
            tracing::warn!(%label, "cannot register the buffer pool with io_uring; using unregistered buffers");
        }
        let (tx, rx) = crossbeam_channel::unbounded();
        let depth = queue_depth.max(1) as usize;
        let worker_wake = Arc::clone(&wake);
        let thread = std::thread::Builder::new()
            .name(format!("io-{}", label.rsplit('/').next().unwrap_or(&label)))
            .spawn(move || {
                let worker = Worker {
                    ring,
                    rx,
                    fixed_buffers,
                    depth,
                    wake: worker_wake,
                    _file: file,
                    _pool: pool,
                };
                worker.run();
            })?;
        Ok(UringDevice {
            label,
            capacity,
            tx: Some(tx),
            wake,
            thread: Some(thread),
        })
    }
}

impl BlockDevice for UringDevice {
    fn label(&self) -> &str {
        &self.label
    }

    fn capacity(&self) -> u64 {
        self.capacity
    }

    unsafe fn submit(&self, requests: Vec<IoRequest>) {
        if requests.is_empty() {
            return;
        }
        let tx = self.tx.as_ref().expect("sender lives until drop");
        match tx.send(requests) {
            Ok(()) => ring_eventfd(&self.wake),
            Err(crossbeam_channel::SendError(requests)) => {
                for r in requests {
                    r.group
                        .complete(r.slot, Err(io::Error::other("I/O thread stopped")));
                }
            }
        }
    }
}

impl Drop for UringDevice {
    fn drop(&mut self) {
        self.tx.take();
        ring_eventfd(&self.wake);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    ring: IoUring,
    rx: Receiver<Vec<IoRequest>>,
    fixed_buffers: bool,
    depth: usize,
    wake: Arc<OwnedFd>,
    _file: File,
    _pool: Arc<BufferPool>,
}

/// A request and how many of its bytes are already done (short transfers are resubmitted).
type Queued = (IoRequest, usize);

impl Worker {
    fn run(mut self) {
        let mut queue: VecDeque<Queued> = VecDeque::new();
        let mut in_flight: Vec<Option<Queued>> = (0..self.depth).map(|_| None).collect();
        let mut free: Vec<usize> = (0..self.depth).rev().collect();
        let mut open = true;
        let mut wake_armed = false;
        loop {
            while open {
                match self.rx.try_recv() {
                    Ok(batch) => queue.extend(batch.into_iter().map(|r| (r, 0))),
                    Err(crossbeam_channel::TryRecvError::Empty) => break,
                    Err(crossbeam_channel::TryRecvError::Disconnected) => open = false,
                }
            }
            if !open && queue.is_empty() && free.len() == self.depth {
                return;
            }
            if open && !wake_armed {
                let poll =
                    opcode::PollAdd::new(types::Fd(self.wake.as_raw_fd()), libc::POLLIN as _)
                        .build()
                        .user_data(WAKE);
                // SAFETY: a poll entry refers to no memory; the eventfd outlives the ring.
                unsafe {
                    self.ring
                        .submission()
                        .push(&poll)
                        .expect("the ring has an entry reserved for the wake-up poll");
                }
                wake_armed = true;
            }
            while let Some(slot) = free.pop() {
                let Some(item) = queue.pop_front() else {
                    free.push(slot);
                    break;
                };
                let entry = self.entry(&item).user_data(slot as u64);
                // SAFETY: the entry's buffer stays valid until its completion (the submitter's
                // contract), and `in_flight` keeps the request until then.
                unsafe {
                    self.ring
                        .submission()
                        .push(&entry)
                        .expect("never more entries than the queue depth");
                }
                in_flight[slot] = Some(item);
            }
            match self.ring.submit_and_wait(1) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                Err(e) => {
                    tracing::error!(error = %e, "io_uring submit failed");
                    for (slot, item) in in_flight.iter_mut().enumerate() {
                        if let Some((req, _)) = item.take() {
                            req.group
                                .complete(req.slot, Err(io::Error::other(e.to_string())));
                            free.push(slot);
                        }
                    }
                    continue;
                }
            }
            let completions: Vec<(u64, i32)> = self
                .ring
                .completion()
                .map(|c| (c.user_data(), c.result()))
                .collect();
            for (user_data, res) in completions {
                if user_data == WAKE {
                    let mut counter = [0u8; 8];
                    // SAFETY: reads at most 8 bytes into a live stack buffer from our eventfd
                    // (non-blocking: nothing to read is fine).
                    unsafe {
                        libc::read(self.wake.as_raw_fd(), counter.as_mut_ptr().cast(), 8);
                    }
                    wake_armed = false;
                    continue;
                }
                let slot = user_data as usize;
                let (req, done) = in_flight[slot].take().expect("completion for a live slot");
                free.push(slot);
                let total = match req.op {
                    IoOp::Read { len, .. } | IoOp::Write { len, .. } => len,
                    IoOp::Flush => 0,
                };
                let result = if res < 0 {
                    Err(io::Error::from_raw_os_error(-res))
                } else if matches!(req.op, IoOp::Flush) || done + res as usize == total {
                    Ok(())
                } else if res == 0 {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("transfer stopped at {done} of {total} bytes (device too short?)"),
                    ))
                } else {
                    queue.push_front((req, done + res as usize));
                    continue;
                };
                req.group.complete(req.slot, result);
            }
        }
    }

    fn entry(&self, (req, done): &Queued) -> squeue::Entry {
        let file = types::Fixed(0);
        match req.op {
            IoOp::Read { offset, buf, len } => {
                // SAFETY: `done < len`, so the pointer stays inside the caller's buffer.
                let ptr = unsafe { buf.add(*done) };
                let (n, at) = ((len - done) as u32, offset + *done as u64);
                if self.fixed_buffers {
                    opcode::ReadFixed::new(file, ptr, n, 0).offset(at).build()
                } else {
                    opcode::Read::new(file, ptr, n).offset(at).build()
                }
            }
            IoOp::Write {
                offset,
                buf,
                len,
                durable,
            } => {
                // SAFETY: `done < len`, so the pointer stays inside the caller's buffer.
                let ptr = unsafe { buf.add(*done) };
                let (n, at) = ((len - done) as u32, offset + *done as u64);
                let flags = if durable { libc::RWF_DSYNC } else { 0 };
                if self.fixed_buffers {
                    opcode::WriteFixed::new(file, ptr, n, 0)
                        .offset(at)
                        .rw_flags(flags)
                        .build()
                } else {
                    opcode::Write::new(file, ptr, n)
                        .offset(at)
                        .rw_flags(flags)
                        .build()
                }
            }
            IoOp::Flush => opcode::Fsync::new(file)
                .flags(types::FsyncFlags::DATASYNC)
                .build(),
        }
    }
}
