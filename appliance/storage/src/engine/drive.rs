//! One drive of the engine: its device (when online) and its error counters.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::{superblock_for, DeviceWrapper};
use crate::config::EngineConfig;
use crate::device::{
    open_drive_file, BlockDevice, BufferPool, IoGroup, IoOp, IoRequest, SlotClass,
};
use crate::index::Layout;
use crate::limits::BLOCK_SIZE;
use crate::superblock::Superblock;

pub(crate) struct Drive {
    pub path: PathBuf,
    pub capacity: u64,
    device: RwLock<Option<Arc<dyn BlockDevice>>>,
    offline_reason: Mutex<Option<String>>,
    pub read_errors: AtomicU64,
    pub write_errors: AtomicU64,
    pub checksum_failures: AtomicU64,
}

impl Drive {
    pub fn new(path: PathBuf, capacity: u64) -> Self {
        Drive {
            path,
            capacity,
            device: RwLock::new(None),
            offline_reason: Mutex::new(Some("not opened".into())),
            read_errors: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
            checksum_failures: AtomicU64::new(0),
        }
    }

    /// Opens the drive and checks its superblock; on any problem the drive stays offline with
    /// the reason recorded (the engine runs degraded until it is rebuilt).
    pub fn attach(
        &self,
        number: usize,
        layout: &Layout,
        cfg: &EngineConfig,
        pool: &Arc<BufferPool>,
        wrap: Option<&DeviceWrapper>,
    ) {
        match self.open_checked(number, layout, cfg, pool, wrap) {
            Ok(device) => self.set_device(device),
            Err(reason) => {
                tracing::warn!(drive = number, path = %self.path.display(), %reason, "drive offline");
                self.take_offline(reason);
            }
        }
    }

    fn open_checked(
        &self,
        number: usize,
        layout: &Layout,
        cfg: &EngineConfig,
        pool: &Arc<BufferPool>,
        wrap: Option<&DeviceWrapper>,
    ) -> Result<Arc<dyn BlockDevice>, String> {
        let device = self.open_device(number, cfg, pool, wrap, None)?;
        if device.capacity() < self.capacity {
            return Err(format!(
                "holds {} bytes, was formatted with {}",
                device.capacity(),
                self.capacity
            ));
        }
        match read_superblock(device.as_ref(), pool) {
            Ok(Some(sb)) if sb == superblock_for(layout, number) => Ok(device),
            Ok(_) => Err("no superblock of this engine (blank or foreign drive)".into()),
            Err(e) => Err(format!("cannot read superblock: {e}")),
        }
    }

    /// Opens the device; `create_len` creates or extends a missing or short file.
    pub fn open_device(
        &self,
        number: usize,
        cfg: &EngineConfig,
        pool: &Arc<BufferPool>,
        wrap: Option<&DeviceWrapper>,
        create_len: Option<u64>,
    ) -> Result<Arc<dyn BlockDevice>, String> {
        let file =
            open_drive_file(&self.path, create_len).map_err(|e| format!("cannot open: {e}"))?;
        let device: Box<dyn BlockDevice> = Box::new(
            crate::device::UringDevice::new(
                self.path.display().to_string(),
                file,
                cfg.queue_depth,
                Arc::clone(pool),
            )
            .map_err(|e| format!("cannot start I/O: {e}"))?,
        );
        Ok(Arc::from(match wrap {
            Some(w) => w(number, device),
            None => device,
        }))
    }

    pub fn set_device(&self, device: Arc<dyn BlockDevice>) {
        *self.device.write() = Some(device);
        *self.offline_reason.lock() = None;
    }

    pub fn device(&self) -> Option<Arc<dyn BlockDevice>> {
        self.device.read().clone()
    }

    pub fn is_online(&self) -> bool {
        self.device.read().is_some()
    }

    pub fn offline_reason(&self) -> Option<String> {
        self.offline_reason.lock().clone()
    }

    pub fn take_offline(&self, reason: String) {
        *self.offline_reason.lock() = Some(reason);
        self.device.write().take();
    }
}

/// Runs one operation on `device` using a small pool buffer and waits for it.
fn one_block(
    device: &dyn BlockDevice,
    pool: &Arc<BufferPool>,
    write: Option<&[u8]>,
) -> io::Result<Vec<u8>> {
    let mut buf = pool.checkout(SlotClass::Small);
    let group = IoGroup::new(1);
    let ptr = buf.ptr_at(0);
    let op = match write {
        Some(bytes) => {
            buf.as_mut_slice()[..BLOCK_SIZE].copy_from_slice(&bytes[..BLOCK_SIZE]);
            IoOp::Write {
                offset: 0,
                buf: ptr,
                len: BLOCK_SIZE,
                durable: true,
            }
        }
        None => IoOp::Read {
            offset: 0,
            buf: ptr,
            len: BLOCK_SIZE,
        },
    };
    // SAFETY: `buf` is a pool buffer that stays checked out, untouched, until `wait` returns.
    unsafe {
        device.submit(vec![IoRequest {
            op,
            group: Arc::clone(&group),
            slot: 0,
        }])
    };
    group.wait().pop().expect("one result")?;
    Ok(buf.as_slice()[..BLOCK_SIZE].to_vec())
}

/// The superblock on `device`, if it has one.
pub(crate) fn read_superblock(
    device: &dyn BlockDevice,
    pool: &Arc<BufferPool>,
) -> io::Result<Option<Superblock>> {
    Ok(Superblock::decode(&one_block(device, pool, None)?))
}

/// Writes `sb` to `device` and makes it durable.
pub(crate) fn write_superblock(
    device: &dyn BlockDevice,
    pool: &Arc<BufferPool>,
    sb: &Superblock,
) -> io::Result<()> {
    let mut block = vec![0u8; BLOCK_SIZE];
    sb.encode(&mut block);
    one_block(device, pool, Some(&block)).map(|_| ())
}
