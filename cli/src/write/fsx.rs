//! File system calls relative to directory handles, never following a symbolic link.
//!
//! Every path under `--out` is reached one component at a time with `openat(…, O_NOFOLLOW)`
//! from the handle of its parent, so a symbolic link anywhere below `--out` (placed before the
//! run or during it) makes the call fail instead of leading outside. [`Walker`] keeps the
//! handles of the directories on the current path open, so walking the bundle's directories in
//! order opens each directory once.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io::{self, Write as _};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

use meshspec::Contents;

/// What a name in a directory is, as the directory listing says (never following links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (device, FIFO, socket).
    Other,
}

impl Kind {
    fn of(t: FileType) -> Self {
        match t {
            FileType::RegularFile => Self::File,
            FileType::Directory => Self::Dir,
            FileType::Symlink => Self::Symlink,
            _ => Self::Other,
        }
    }
}

/// Why a directory on the way cannot be entered.
#[derive(Debug)]
pub enum Enter {
    /// It (or a parent) does not exist.
    Missing,
    /// The component at this many leading parts is a symbolic link.
    Symlink(usize),
    /// The component at this many leading parts is not a directory.
    NotDir(usize),
    /// Another failure at this many leading parts.
    Io(usize, io::Error),
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Opens the directory `name` inside `parent` without following a link.
///
/// # Errors
/// `ELOOP` when it is a symbolic link, `ENOTDIR` when it is something else.
pub fn open_dir_at(parent: BorrowedFd<'_>, name: &str) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(parent, name, DIR_FLAGS, Mode::empty())
}

/// Opens a directory by path, without following a link in its last component.
///
/// # Errors
/// As [`open_dir_at`].
pub fn open_dir(path: &std::path::Path) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(rustix::fs::CWD, path, DIR_FLAGS, Mode::empty())
}

/// The handles of the directories from a root down to the current one.
pub struct Walker {
    root: OwnedFd,
    /// Components entered below the root, each with its handle and whether this walker made
    /// the directory (then nothing exists below it yet).
    stack: Vec<(String, OwnedFd, bool)>,
    /// Directories this walker staged: the first missing directory of a path, created under a
    /// temporary name in its (existing) parent, as `(components, temporary name)`. Everything
    /// below it is created with its final name inside it, and [`Walker::publish`] renames it
    /// into place once.
    pub staged: Vec<(Vec<String>, String)>,
}

impl Walker {
    /// A walker at `root`.
    pub fn new(root: OwnedFd) -> Self {
        Self {
            root,
            stack: Vec::new(),
            staged: Vec::new(),
        }
    }

    /// How many directories below the root are entered.
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// The root's handle.
    pub fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// Whether the directory entered last was made by this walker (it is inside a staged
    /// directory that nobody else can see yet).
    pub fn fresh(&self) -> bool {
        self.stack.last().is_some_and(|(_, _, fresh)| *fresh)
    }

    /// Enters the directory `parts` below the root and returns its handle. With `create`,
    /// missing directories are made: the first missing one under a temporary name (see
    /// [`Walker::staged`]), the ones below it with their names.
    ///
    /// # Errors
    /// [`Enter`] saying which component is missing, a link or not a directory.
    pub fn enter(&mut self, parts: &[String], create: bool) -> Result<BorrowedFd<'_>, Enter> {
        let common = self
            .stack
            .iter()
            .zip(parts)
            .take_while(|((have, _, _), want)| have == *want)
            .count();
        self.stack.truncate(common);
        for (i, part) in parts.iter().enumerate().skip(common) {
            let (parent, parent_fresh) = self
                .stack
                .last()
                .map_or((self.root.as_fd(), false), |(_, fd, fresh)| {
                    (fd.as_fd(), *fresh)
                });
            // Below a directory this run made, nothing exists yet: create without looking.
            let opened = if create && parent_fresh {
                Err(Errno::NOENT)
            } else {
                open_dir_at(parent, part)
            };
            let opened = match opened {
                Err(Errno::NOENT) if create => {
                    let name = if parent_fresh {
                        part.clone()
                    } else {
                        temp_name(part)
                    };
                    match rustix::fs::mkdirat(
                        parent,
                        name.as_str(),
                        Mode::from_raw_mode(super::OUT_DIR_MODE),
                    ) {
                        Ok(()) => {}
                        Err(e) => return Err(Enter::Io(i + 1, e.into())),
                    }
                    if !parent_fresh {
                        self.staged.push((parts[..=i].to_vec(), name.clone()));
                    }
                    open_dir_at(parent, &name).map(|fd| (fd, true))
                }
                other => other.map(|fd| (fd, false)),
            };
            match opened {
                Ok((fd, fresh)) => self.stack.push((part.clone(), fd, fresh)),
                Err(Errno::NOENT) => return Err(Enter::Missing),
                Err(Errno::LOOP) => return Err(Enter::Symlink(i + 1)),
                Err(Errno::NOTDIR) => {
                    // O_NOFOLLOW|O_DIRECTORY on a link may also say ENOTDIR: ask what it is.
                    let kind = rustix::fs::statat(parent, part.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                        .map(|st| FileType::from_raw_mode(st.st_mode));
                    return Err(if kind == Ok(FileType::Symlink) {
                        Enter::Symlink(i + 1)
                    } else {
                        Enter::NotDir(i + 1)
                    });
                }
                Err(e) => return Err(Enter::Io(i + 1, e.into())),
            }
        }
        Ok(self
            .stack
            .last()
            .map_or(self.root.as_fd(), |(_, fd, _)| fd.as_fd()))
    }

    /// Renames every staged directory to its final name (never over anything that appeared
    /// there meanwhile) and returns the directories the renames changed.
    ///
    /// # Errors
    /// The components of the directory that could not be put in place, and why.
    pub fn publish(&mut self) -> Result<Vec<Vec<String>>, (Vec<String>, io::Error)> {
        let staged = std::mem::take(&mut self.staged);
        let mut parents: Vec<Vec<String>> = Vec::new();
        for (parts, temp) in &staged {
            let Some((name, parent)) = parts.split_last() else {
                continue;
            };
            let fd = self
                .enter(parent, false)
                .map_err(|_| (parts.clone(), io::Error::from(Errno::NOENT)))?;
            fault().map_err(|e| (parts.clone(), e))?;
            rename_noreplace(fd, temp, name).map_err(|e| (parts.clone(), e.into()))?;
            if parents.last() != Some(&parent.to_vec()) {
                parents.push(parent.to_vec());
            }
        }
        Ok(parents)
    }

    /// Removes every staged directory with all it holds (after a failure).
    pub fn discard(&mut self) {
        let staged = std::mem::take(&mut self.staged);
        self.stack.clear();
        for (parts, temp) in &staged {
            if let Some((_, parent)) = parts.split_last()
                && let Ok(fd) = self.enter(parent, false)
            {
                let _ = remove_tree(fd, temp);
            }
        }
    }
}

/// `renameat(dir, from, dir, to)` that fails with `EEXIST` instead of replacing `to` (file
/// systems without `RENAME_NOREPLACE` fall back to a check, then a plain rename).
fn rename_noreplace(dir: BorrowedFd<'_>, from: &str, to: &str) -> rustix::io::Result<()> {
    match rustix::fs::renameat_with(dir, from, dir, to, rustix::fs::RenameFlags::NOREPLACE) {
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
            match rustix::fs::statat(dir, to, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(_) => Err(Errno::EXIST),
                Err(Errno::NOENT) => rustix::fs::renameat(dir, from, dir, to),
                Err(e) => Err(e),
            }
        }
        other => other,
    }
}

/// Removes the directory `name` in `dir` and everything below it, never following a link
/// (links are removed, not followed).
///
/// # Errors
/// When something cannot be listed or removed.
pub fn remove_tree(dir: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    let fd = open_dir_at(dir, name)?;
    for (entry, kind) in list(fd.as_fd())? {
        if kind == Kind::Dir {
            remove_tree(fd.as_fd(), &entry)?;
        } else {
            rustix::fs::unlinkat(&fd, entry.as_str(), AtFlags::empty())?;
        }
    }
    drop(fd);
    rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?;
    Ok(())
}

/// What `name` in `dir` is (never following a link): `None` when it does not exist.
///
/// # Errors
/// When it cannot be looked at.
pub fn kind_at(dir: BorrowedFd<'_>, name: &str) -> io::Result<Option<Kind>> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(Kind::of(FileType::from_raw_mode(st.st_mode)))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Every name in a directory with its kind (`.` and `..` left out).
///
/// # Errors
/// When the directory cannot be read.
pub fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<(String, Kind)>> {
    let fd = rustix::fs::openat(dir, ".", DIR_FLAGS, Mode::empty())?;
    let mut out = Vec::new();
    for entry in Dir::new(fd)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy();
        if name == "." || name == ".." {
            continue;
        }
        let mut kind = Kind::of(entry.file_type());
        if entry.file_type() == FileType::Unknown {
            // some file systems do not fill d_type
            kind = rustix::fs::statat(dir, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)
                .map_or(Kind::Other, |st| {
                    Kind::of(FileType::from_raw_mode(st.st_mode))
                });
        }
        out.push((name.into_owned(), kind));
    }
    Ok(out)
}

/// The largest existing file in `--out` meshspec reads (to compare, diff or hash it): 256 MiB.
pub const MAX_EXISTING_BYTES: usize = 256 * 1024 * 1024;

fn too_large_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "is larger than {} MiB, the most meshspec reads of a file already in --out (move it away)",
            MAX_EXISTING_BYTES / (1024 * 1024)
        ),
    )
}

/// A regular file's bytes and permission bits, opened without following a link (and without
/// blocking on a FIFO). `Ok(None)` when `name` is not a regular file.
///
/// # Errors
/// When it cannot be opened or read, or is larger than [`MAX_EXISTING_BYTES`] (its size as
/// the inode says, so a sparse file is refused without being read).
pub fn read_file_at(dir: BorrowedFd<'_>, name: &str) -> io::Result<Option<(Vec<u8>, u32)>> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::LOOP) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let st = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Ok(None);
    }
    // A file's size is what its inode says, not what it holds: a sparse 200 GB file costs
    // nothing on disk and would cost 200 GB here. Nothing meshspec writes comes near the limit.
    let size = usize::try_from(st.st_size).unwrap_or(usize::MAX);
    if size > MAX_EXISTING_BYTES {
        return Err(too_large_error());
    }
    // Read straight into a buffer one byte larger than the size (std's read_to_end would ask
    // the size again with statx and lseek: two system calls per file).
    let mut bytes = vec![0; size + 1];
    let mut len = 0;
    loop {
        if len == bytes.len() {
            // the file grew while being read: bounded all the same
            if len > MAX_EXISTING_BYTES {
                return Err(too_large_error());
            }
            bytes.resize(len * 2, 0);
        }
        match rustix::io::read(&fd, &mut bytes[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    bytes.truncate(len);
    Ok(Some((bytes, st.st_mode & 0o7777)))
}

/// Fault injection for the interruption tests, in debug builds only (a release build has no
/// such hook): with `MESHSPEC_TEST_FAULT=N:fail` the N-th step of applying a plan (each
/// manifest write, staged file, directory or file rename, mode change or removal, counted
/// from 1) fails with "no space left on device"; with `N:abort` the process aborts there, as
/// `kill -9` would stop it (no roll-back runs).
///
/// # Errors
/// The injected failure.
#[cfg(debug_assertions)]
pub fn fault() -> io::Result<()> {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PLAN: OnceLock<Option<(usize, bool)>> = OnceLock::new();
    static STEP: AtomicUsize = AtomicUsize::new(0);
    let plan = PLAN.get_or_init(|| {
        let v = std::env::var("MESHSPEC_TEST_FAULT").ok()?;
        let (n, kind) = v.split_once(':')?;
        Some((n.parse().ok()?, kind == "abort"))
    });
    let Some((n, abort)) = *plan else {
        return Ok(());
    };
    if STEP.fetch_add(1, Ordering::Relaxed) + 1 == n {
        if abort {
            std::process::abort();
        }
        return Err(Errno::NOSPC.into());
    }
    Ok(())
}

/// Release builds: no fault injection.
///
/// # Errors
/// Never.
#[cfg(not(debug_assertions))]
#[inline]
pub fn fault() -> io::Result<()> {
    Ok(())
}

/// The marker in every temporary file name.
pub const TEMP_MARK: &str = ".meshspec-tmp-";

/// Whether `name` is a temporary file meshspec creates (`.<target>.meshspec-tmp-<suffix>`).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        && name
            .rfind(TEMP_MARK)
            .is_some_and(|i| i > 0 && name.len() > i + TEMP_MARK.len())
}

/// A fresh temporary name beside `target`: process id, a counter and 64 random bits, so
/// concurrent and later runs (even in another PID namespace) never pick the same name.
fn temp_name(target: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(n);
    format!(
        ".{target}{TEMP_MARK}{}-{n}-{:016x}",
        PID.get_or_init(std::process::id),
        h.finish()
    )
}

/// What a file is written from: a bundle's [`Contents`] (its pieces in one vectored write) or
/// plain text.
pub trait Body {
    /// Writes all of it to `file`.
    ///
    /// # Errors
    /// The file's write error.
    fn write_all_to(&self, file: &mut File) -> io::Result<()>;
}

impl Body for Contents {
    fn write_all_to(&self, file: &mut File) -> io::Result<()> {
        self.write_to(file)
    }
}

impl Body for [&str] {
    fn write_all_to(&self, file: &mut File) -> io::Result<()> {
        self.iter().try_for_each(|s| file.write_all(s.as_bytes()))
    }
}

/// Writes `contents` with `mode` to a new temporary file beside `target` in `dir`
/// (`O_CREAT|O_EXCL|O_NOFOLLOW`) and returns its name. Not synced: the caller flushes once.
///
/// # Errors
/// When the file cannot be created or written (it is removed again).
pub fn write_temp(
    dir: BorrowedFd<'_>,
    target: &str,
    contents: &(impl Body + ?Sized),
    mode: u32,
) -> io::Result<String> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    loop {
        let name = temp_name(target);
        let fd = match rustix::fs::openat(dir, name.as_str(), flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => fd,
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        };
        return match fill(fd, contents, mode) {
            Ok(()) => Ok(name),
            Err(e) => {
                let _ = rustix::fs::unlinkat(dir, name.as_str(), AtFlags::empty());
                Err(e)
            }
        };
    }
}

/// Writes `contents` with `mode` to the new file `name` in a directory this run made and
/// nobody else sees yet (`O_CREAT|O_EXCL|O_NOFOLLOW`). Not synced: the caller flushes once.
///
/// # Errors
/// When the file cannot be created or written (it is removed again).
pub fn write_new(
    dir: BorrowedFd<'_>,
    name: &str,
    contents: &(impl Body + ?Sized),
    mode: u32,
) -> io::Result<()> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?;
    let result = fill(fd, contents, mode);
    if result.is_err() {
        let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
    }
    result
}

/// Sets the mode of a file just created (the open mode is filtered by the umask), then writes it.
fn fill(fd: OwnedFd, contents: &(impl Body + ?Sized), mode: u32) -> io::Result<()> {
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    let mut file = File::from(fd);
    contents.write_all_to(&mut file)?;
    #[cfg(not(target_os = "linux"))]
    file.sync_all()?;
    Ok(())
}

/// Flushes every written file of the file system holding `dir` to stable storage (one
/// `syncfs`, as git's `core.fsyncMethod=batch` does; elsewhere the files were synced one by one).
///
/// # Errors
/// When the flush reports a write error.
pub fn flush(dir: BorrowedFd<'_>) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(dir)?;
    #[cfg(not(target_os = "linux"))]
    rustix::fs::fsync(dir)?;
    Ok(())
}

/// Sets the permission bits of the regular file `name` in `dir`, never through a link.
///
/// # Errors
/// When it cannot be opened or changed.
pub fn chmod_at(dir: BorrowedFd<'_>, name: &str, mode: u32) -> io::Result<()> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::empty())?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_unique_and_recognised() {
        let a = temp_name("config.yaml");
        let b = temp_name("config.yaml");
        assert_ne!(a, b);
        assert!(is_temp_name(&a) && a.starts_with(".config.yaml.meshspec-tmp-"));
        assert!(!is_temp_name("config.yaml") && !is_temp_name(".meshspec-tmp-"));
    }
}
