//! One render at a time per output directory: an advisory `flock` on the directory itself.
//!
//! `render` holds an exclusive lock from before it reads the directory until it has written
//! everything; `render --check` holds a shared one while it reads. A second render into the
//! same directory says that it waits, then waits (it never sees half of another run's work).
//! Locking the directory's own handle leaves no lock file behind, and the lock is released by
//! the kernel when the process ends, however it ends.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::FlockOperation;
use rustix::io::Errno;

use crate::error::CliError;

/// A held lock; released when dropped (or when the process exits).
pub struct Lock {
    dir: OwnedFd,
}

impl Lock {
    /// The locked directory's handle.
    pub fn dir(&self) -> std::os::fd::BorrowedFd<'_> {
        self.dir.as_fd()
    }
}

/// Locks `dir` (already opened) exclusively, or shared when `shared`; when another run holds
/// it, calls `waiting` once and then blocks until it is free.
///
/// # Errors
/// [`CliError::Write`] when the lock cannot be taken at all.
pub fn lock(
    dir: OwnedFd,
    path: &Path,
    shared: bool,
    waiting: impl FnOnce(),
) -> Result<Lock, CliError> {
    let (try_op, wait_op) = if shared {
        (
            FlockOperation::NonBlockingLockShared,
            FlockOperation::LockShared,
        )
    } else {
        (
            FlockOperation::NonBlockingLockExclusive,
            FlockOperation::LockExclusive,
        )
    };
    match rustix::fs::flock(&dir, try_op) {
        Ok(()) => Ok(Lock { dir }),
        Err(Errno::WOULDBLOCK) => {
            waiting();
            rustix::fs::flock(&dir, wait_op).map_err(|e| CliError::write(path, &e.into()))?;
            Ok(Lock { dir })
        }
        Err(e) => Err(CliError::write(path, &e.into())),
    }
}
