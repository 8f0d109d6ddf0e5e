//! Writing a bundle into a directory: plan every change first, then apply it atomically.
//!
//! [`plan`] reads the directory and its manifest and decides, per file, whether to create,
//! update, re-mode, leave or remove it, and what stands in the way (a file meshspec did not
//! write, a directory where a file goes, a symbolic link anywhere below `--out`). Nothing is
//! written while planning, so a refusal leaves the directory as it was. Each existing
//! directory is opened once; each name the plan needs is looked at with one `stat` (and an
//! existing file read back to compare), and a directory is listed only when a killed run may
//! have left temporary files in it: the manifest of a run that finished is marked `clean`.
//! [`apply()`] then stages every new content (a new directory tree whole under a temporary
//! name, a file in an existing directory as a temporary file beside its target), flushes them
//! all to disk at once, and only then renames them into place, so no reader ever sees a
//! half-written file and a crash leaves each file old or new. Identical files are not
//! rewritten (mtimes stay).
//!
//! Safety rules, each with a regression test in `tests/cli.rs`:
//! - every path below `--out` is reached without following a symbolic link ([`fsx`]);
//! - a file meshspec wrote earlier is removed only if its bytes still match the manifest's
//!   hash (an edited one is kept, and the run says so, unless `--force`);
//! - temporary files and directories have unique names, and ones left by a killed run are
//!   removed;
//! - one render at a time per directory ([`lock`]).

mod apply;
pub mod fsx;
pub mod lock;

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use meshspec::{Bundle, Contents};

pub use apply::apply;

use crate::error::CliError;
use crate::manifest::{Entry, MANIFEST_NAME, Manifest, sha256_hex, sha256_pieces};
use fsx::{Enter, Kind, Walker};

/// What happens to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new file.
    Create,
    /// The contents change (the mode may too).
    Update,
    /// Only the mode changes.
    Chmod,
    /// Already as the bundle wants it.
    Unchanged,
    /// Written earlier by meshspec; the bundle no longer has it.
    Remove,
}

/// A file as it is on disk now.
#[derive(Debug, Clone)]
pub struct OnDisk {
    /// Its bytes (left empty when the plan does not need them: unchanged contents).
    pub bytes: Vec<u8>,
    /// Its permission bits.
    pub mode: u32,
}

/// One planned change.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// Path relative to the output directory, `/`-separated.
    pub path: String,
    /// What happens.
    pub action: Action,
    /// The file now, when there is one.
    pub old: Option<OnDisk>,
    /// The bundle's contents and mode, unless removed.
    pub new: Option<(&'a Contents, u32)>,
    /// meshspec wrote it, but it was edited since (the edit will be overwritten, or removed
    /// with `--force`).
    pub edited: bool,
}

/// Why a path cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// A file meshspec did not write; `--force` overwrites it.
    Foreign(String),
    /// A directory or special file where a file goes, or a file where a directory goes;
    /// `--force` does not help.
    Blocked(String, &'static str),
    /// A symbolic link where a file or directory goes: meshspec never writes or removes
    /// through one (exit 2, `--force` does not help).
    Symlink(String),
}

/// Every change `render` would make, and what stands in its way.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The output directory.
    pub dir: PathBuf,
    /// One entry per bundle path and per removed path, sorted by path.
    pub changes: Vec<Change<'a>>,
    /// What blocks writing.
    pub conflicts: Vec<Conflict>,
    /// Files meshspec wrote earlier that the bundle no longer has but that were edited since:
    /// kept (and dropped from the manifest) unless `--force`.
    pub kept: Vec<String>,
    /// Temporary files left by a killed run, removed by [`apply()`].
    pub stale: Vec<String>,
    /// Temporary directories left by a killed run (a new directory being staged), removed
    /// with everything in them by [`apply()`].
    pub stale_dirs: Vec<String>,
    /// The manifest found in the directory (empty when absent).
    pub old_manifest: Manifest,
    /// The manifest text on disk, when there is one.
    pub old_manifest_text: Option<String>,
    /// The manifest after applying.
    pub new_manifest: Manifest,
}

impl Plan<'_> {
    /// Whether applying would change anything on disk (files, modes or the manifest).
    #[must_use]
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::Unchanged)
    }

    /// Counts of each action.
    #[must_use]
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

/// Splits a bundle path into safe components (no absolute paths, `..`, empty parts).
fn components(path: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = path.split('/').collect();
    let ok = !parts.is_empty()
        && parts
            .iter()
            .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains(['\\', '\0']));
    ok.then_some(parts)
}

/// The work in one directory: bundle files to write and manifest files to maybe remove.
#[derive(Default)]
struct DirWork<'a> {
    /// `(name, path, contents, mode)`.
    files: Vec<(&'a str, &'a str, &'a Contents, u32)>,
    /// `(name, path, recorded entry)`.
    old: Vec<(String, String, Entry)>,
}

/// Directories in walking order (parents before children, siblings together), each with its
/// work; the root (no parts) always included.
type Work<'a> = BTreeMap<Vec<String>, DirWork<'a>>;

fn split(rel: &str) -> Option<(Vec<String>, &str)> {
    let parts = components(rel)?;
    let (name, dirs) = parts.split_last()?;
    Some((dirs.iter().map(|s| (*s).to_owned()).collect(), name))
}

/// Opens the output directory for planning: `None` when it does not exist yet.
///
/// # Errors
/// [`CliError::Write`] when it is a symbolic link, not a directory, or cannot be opened.
pub fn open_out(dir: &Path) -> Result<Option<std::os::fd::OwnedFd>, CliError> {
    use rustix::io::Errno;
    match fsx::open_dir(dir) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::LOOP) => Err(symlink_error(dir)),
        Err(Errno::NOTDIR) if dir.symlink_metadata().is_ok_and(|m| m.is_symlink()) => {
            Err(symlink_error(dir))
        }
        Err(Errno::NOTDIR) if dir.symlink_metadata().is_ok() => Err(CliError::Write {
            path: dir.display().to_string(),
            reason: "exists and is not a directory".to_owned(),
            hint: "pass a directory to --out",
        }),
        Err(e) => Err(CliError::write(dir, &e.into())),
    }
}

/// The error for a symbolic link met below (or at) `--out`.
pub fn symlink_error(path: &Path) -> CliError {
    CliError::Write {
        path: path.display().to_string(),
        reason: "is a symbolic link; meshspec never writes or removes through one".to_owned(),
        hint: "replace the link with a real directory, or choose another --out directory",
    }
}

/// Plans writing `bundle` into `dir`, whose handle is `root` (`None`: it does not exist yet);
/// reads, never writes.
///
/// `force` turns files meshspec did not write from conflicts into updates, and lets it remove
/// files it wrote that were edited since.
///
/// # Errors
/// [`CliError`] when something in `dir` cannot be read, or the manifest is not one.
pub fn plan<'a>(
    dir: &Path,
    root: Option<BorrowedFd<'_>>,
    bundle: &'a Bundle,
    force: bool,
) -> Result<Plan<'a>, CliError> {
    let mut plan = Plan {
        dir: dir.to_path_buf(),
        changes: Vec::with_capacity(bundle.files.len()),
        conflicts: Vec::new(),
        kept: Vec::new(),
        stale: Vec::new(),
        stale_dirs: Vec::new(),
        old_manifest: Manifest::default(),
        old_manifest_text: None,
        new_manifest: Manifest::default(),
    };
    let mut walker = match root {
        Some(fd) => Some(Walker::new(
            rustix::io::fcntl_dupfd_cloexec(fd, 0)
                .map_err(|e| CliError::read(dir.display().to_string(), &e.into()))?,
        )),
        None => None,
    };
    if let Some(w) = &walker {
        read_manifest(&mut plan, w.root(), force)?;
    }
    let old_manifest = std::mem::take(&mut plan.old_manifest);
    // A run that finished marks its manifest clean: it left no temporary files, so only a
    // manifest without the mark (a killed run's claim, or an older meshspec's) makes every
    // directory be listed for leftovers. The root is always listed (a run killed while
    // writing the manifest leaves its temporary file there, under a clean manifest).
    let scan = !old_manifest.clean;

    let mut work: Work<'a> = BTreeMap::new();
    work.insert(Vec::new(), DirWork::default());
    for (rel, file) in &bundle.files {
        let Some((parts, name)) = split(rel) else {
            plan.conflicts
                .push(Conflict::Blocked(rel.clone(), "not a safe relative path"));
            continue;
        };
        if rel == MANIFEST_NAME {
            plan.conflicts
                .push(Conflict::Blocked(rel.clone(), "reserved for the manifest"));
            continue;
        }
        work.entry(parts)
            .or_default()
            .files
            .push((name, rel, &file.contents, file.mode));
    }
    for (rel, entry) in &old_manifest.files {
        if bundle.files.contains_key(rel) {
            continue;
        }
        if let Some((parts, name)) = split(rel) {
            // Files in the old manifest live on in the claim until removed.
            work.entry(parts)
                .or_default()
                .old
                .push((name.to_owned(), rel.clone(), entry.clone()));
        }
    }

    if scan {
        // A killed run's staged directory sits in the parent of a directory it was creating,
        // which may hold no file of its own (`nodes/`): list every directory on the way.
        let parents: Vec<Vec<String>> = work
            .keys()
            .flat_map(|parts| (1..parts.len()).map(|n| parts[..n].to_vec()))
            .collect();
        for p in parents {
            work.entry(p).or_default();
        }
    }

    // Directories found missing: nothing below them needs a look.
    let mut missing: Option<Vec<String>> = None;
    for (parts, w) in &work {
        let under_missing = missing.as_ref().is_some_and(|m| parts.starts_with(m));
        let entered = match (&mut walker, under_missing) {
            (Some(walker), false) => match walker.enter(parts, false) {
                Ok(fd) => Some(plan_existing(
                    &mut plan,
                    fd,
                    parts,
                    w,
                    &old_manifest,
                    force,
                    scan || parts.is_empty(),
                )?),
                Err(Enter::Missing) => {
                    // the walker stopped at the deepest existing directory
                    missing = parts.get(..=walker.depth()).map(<[String]>::to_vec);
                    None
                }
                Err(Enter::Symlink(n)) => {
                    blocked(&mut plan, parts, n, true);
                    continue;
                }
                Err(Enter::NotDir(n)) => {
                    // only files to write are in the way; files to remove are gone already
                    if !w.files.is_empty() {
                        blocked(&mut plan, parts, n, false);
                    }
                    continue;
                }
                Err(Enter::Io(n, e)) => {
                    return Err(CliError::read(
                        dir.join(parts[..n].join("/")).display().to_string(),
                        &e,
                    ));
                }
            },
            _ => None,
        };
        if entered.is_none() {
            for &(_, rel, contents, mode) in &w.files {
                plan.changes.push(Change {
                    path: rel.to_owned(),
                    action: Action::Create,
                    old: None,
                    new: Some((contents, mode)),
                    edited: false,
                });
            }
        }
    }
    plan.changes.sort_by(|a, b| a.path.cmp(&b.path));

    // The new manifest: every bundle file that will be written or kept. A file left as it is
    // keeps its record (the manifest says what meshspec wrote); only written files and files
    // without a record are hashed, so an unchanged re-render hashes nothing.
    let hashes = hash_all(&plan.changes, &old_manifest);
    for (c, sha) in plan.changes.iter().zip(hashes) {
        if let (Some((_, mode)), Some(sha256)) = (c.new, sha) {
            plan.new_manifest
                .files
                .insert(c.path.clone(), Entry::new(sha256, mode));
        }
    }
    plan.new_manifest.clean = true;
    plan.old_manifest = old_manifest;
    Ok(plan)
}

/// SHA-256 of every new content, on two threads (hashing 35 MB is a visible part of a render).
fn hash_all(changes: &[Change<'_>], old: &Manifest) -> Vec<Option<String>> {
    let hash = |c: &Change<'_>| {
        let (text, _) = c.new?;
        match (c.action, old.files.get(&c.path)) {
            // an entry with `also` (a killed run's claim) does not say which content is there
            (Action::Unchanged | Action::Chmod, Some(e)) if e.also.is_none() => {
                Some(e.sha256.clone())
            }
            _ => Some(sha256_pieces(text.pieces())),
        }
    };
    let half = changes.len() / 2;
    if half < 256 {
        return changes.iter().map(hash).collect();
    }
    let (a, b) = changes.split_at(half);
    std::thread::scope(|s| {
        let second = s.spawn(|| b.iter().map(hash).collect::<Vec<_>>());
        let mut out: Vec<_> = a.iter().map(hash).collect();
        match second.join() {
            Ok(rest) => out.extend(rest),
            Err(_) => out.extend(b.iter().map(hash)),
        }
        out
    })
}

/// Records that the directory `parts` cannot be entered because its first `n` parts end in a
/// symbolic link (or a non-directory): every file below it is in conflict.
fn blocked(plan: &mut Plan<'_>, parts: &[String], n: usize, symlink: bool) {
    let at = parts[..n].join("/");
    let conflict = if symlink {
        Conflict::Symlink(at)
    } else {
        Conflict::Blocked(at, "is a file where a directory goes")
    };
    if !plan.conflicts.contains(&conflict) {
        plan.conflicts.push(conflict);
    }
}

/// Reads the manifest in the root (never through a link).
fn read_manifest(plan: &mut Plan<'_>, root: BorrowedFd<'_>, force: bool) -> Result<(), CliError> {
    let path = plan.dir.join(MANIFEST_NAME);
    let private: bool;
    let text = match rustix::fs::statat(root, MANIFEST_NAME, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
    {
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(CliError::read(path.display().to_string(), &e.into())),
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink =>
        {
            plan.conflicts
                .push(Conflict::Symlink(MANIFEST_NAME.to_owned()));
            return Ok(());
        }
        Ok(_) => match fsx::read_file_at(root, MANIFEST_NAME)
            .map_err(|e| CliError::read(path.display().to_string(), &e))?
        {
            Some((bytes, mode)) => {
                private = mode == apply::MANIFEST_MODE;
                String::from_utf8(bytes).unwrap_or_default()
            }
            None => return Ok(()),
        },
    };
    plan.old_manifest = match Manifest::parse(&text) {
        Ok(m) => m,
        Err(_) if force => Manifest::default(),
        Err(reason) => {
            return Err(CliError::Refused {
                message: format!(
                    "cannot use {}: {reason}\n  = help: it records what meshspec wrote; delete it or pass --force",
                    path.display()
                ),
            });
        }
    };
    // a manifest an older version wrote world-readable is rewritten 0600 (see MANIFEST_MODE)
    plan.old_manifest_text = private.then_some(text);
    Ok(())
}

/// Plans one existing directory: finds what each name is (listing the directory once when
/// `scan`, to find a killed run's temporary files too; else one `stat` per name the plan
/// needs), then compares each bundle file and each file the old manifest has there.
#[allow(clippy::too_many_arguments, reason = "one call site, all plan state")]
fn plan_existing<'a>(
    plan: &mut Plan<'a>,
    fd: BorrowedFd<'_>,
    parts: &[String],
    work: &DirWork<'a>,
    old_manifest: &Manifest,
    force: bool,
    scan: bool,
) -> Result<(), CliError> {
    let prefix = |name: &str| {
        if parts.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", parts.join("/"))
        }
    };
    let dir_path = || plan_path(&plan.dir, parts);
    let mut kinds: BTreeMap<String, Kind> = BTreeMap::new();
    if scan {
        for (name, kind) in fsx::list(fd).map_err(|e| CliError::read(dir_path(), &e))? {
            if fsx::is_temp_name(&name) {
                match kind {
                    Kind::File => plan.stale.push(prefix(&name)),
                    Kind::Dir => plan.stale_dirs.push(prefix(&name)),
                    _ => {}
                }
            }
            kinds.insert(name, kind);
        }
    } else {
        let names = work
            .files
            .iter()
            .map(|f| f.0)
            .chain(work.old.iter().map(|o| o.0.as_str()));
        for name in names {
            let kind = fsx::kind_at(fd, name).map_err(|e| {
                CliError::read(plan.dir.join(prefix(name)).display().to_string(), &e)
            })?;
            if let Some(kind) = kind {
                kinds.insert(name.to_owned(), kind);
            }
        }
    }
    let read = |plan: &Plan<'_>, name: &str| -> Result<Option<(Vec<u8>, u32)>, CliError> {
        fsx::read_file_at(fd, name)
            .map_err(|e| CliError::read(plan.dir.join(prefix(name)).display().to_string(), &e))
    };
    for &(name, rel, contents, mode) in &work.files {
        let new = Some((contents, mode));
        let (bytes, old_mode) = match kinds.get(name) {
            None => {
                plan.changes.push(Change {
                    path: rel.to_owned(),
                    action: Action::Create,
                    old: None,
                    new,
                    edited: false,
                });
                continue;
            }
            Some(Kind::Symlink) => {
                plan.conflicts.push(Conflict::Symlink(rel.to_owned()));
                continue;
            }
            Some(Kind::Dir) => {
                plan.conflicts
                    .push(Conflict::Blocked(rel.to_owned(), "is a directory"));
                continue;
            }
            Some(Kind::Other) => {
                plan.conflicts
                    .push(Conflict::Blocked(rel.to_owned(), "is not a regular file"));
                continue;
            }
            Some(Kind::File) => match read(plan, name)? {
                Some(found) => found,
                None => {
                    plan.conflicts
                        .push(Conflict::Blocked(rel.to_owned(), "is not a regular file"));
                    continue;
                }
            },
        };
        let same_bytes = contents.eq_bytes(&bytes);
        let action = if same_bytes && old_mode == mode {
            Action::Unchanged
        } else if same_bytes {
            Action::Chmod
        } else {
            Action::Update
        };
        let recorded = old_manifest.files.get(rel);
        let edited = action != Action::Unchanged
            && recorded.is_some_and(|e| !e.matches(&sha256_hex(&bytes), Some(old_mode)));
        if action != Action::Unchanged && recorded.is_none() && !force {
            plan.conflicts.push(Conflict::Foreign(rel.to_owned()));
        }
        plan.changes.push(Change {
            path: rel.to_owned(),
            action,
            old: Some(OnDisk {
                // the diff only needs the old bytes when they change
                bytes: if action == Action::Update {
                    bytes
                } else {
                    Vec::new()
                },
                mode: old_mode,
            }),
            new,
            edited,
        });
    }
    for (name, rel, recorded) in &work.old {
        let (name, rel) = (name.as_str(), rel.as_str());
        if kinds.get(name) != Some(&Kind::File) {
            // Gone already, or replaced by something else: forget it, touch nothing.
            continue;
        }
        let Some((bytes, mode)) = read(plan, name)? else {
            continue;
        };
        let edited = !recorded.matches(&sha256_hex(&bytes), None);
        if edited && !force {
            plan.kept.push(rel.to_owned());
            continue;
        }
        plan.changes.push(Change {
            path: rel.to_owned(),
            action: Action::Remove,
            old: Some(OnDisk { bytes, mode }),
            new: None,
            edited,
        });
    }
    Ok(())
}

fn plan_path(dir: &Path, parts: &[String]) -> String {
    parts
        .iter()
        .fold(dir.to_path_buf(), |p, c| p.join(c))
        .display()
        .to_string()
}

/// The mode `--out`, its missing parents and the bundle's directories are created with
/// (a stricter umask still narrows it; a umask of 000 does not widen it).
pub const OUT_DIR_MODE: u32 = 0o755;

/// Opens (creating it and its parents when missing) and locks the output directory for a
/// render; `waiting` is called when another render holds it.
///
/// # Errors
/// [`CliError::Write`] when it cannot be created, is a link or not a directory.
pub fn lock_for_render(dir: &Path, waiting: impl FnOnce()) -> Result<lock::Lock, CliError> {
    let fd = match open_out(dir)? {
        Some(fd) => fd,
        None => {
            // an explicit mode: `create_dir_all` asks for 0777 and leaves the rest to the
            // umask, so under `umask 000` every parent would be world-writable
            std::os::unix::fs::DirBuilderExt::mode(
                std::fs::DirBuilder::new().recursive(true),
                OUT_DIR_MODE,
            )
            .create(dir)
            .map_err(|e| CliError::write(dir, &e))?;
            open_out(dir)?.ok_or_else(|| CliError::Write {
                path: dir.display().to_string(),
                reason: "disappeared while being created".to_owned(),
                hint: "check the --out directory and retry",
            })?
        }
    };
    lock::lock(fd, dir, false, waiting)
}

/// Opens and share-locks the output directory for `--check`, when it exists.
///
/// # Errors
/// As [`open_out`].
pub fn lock_for_check(dir: &Path, waiting: impl FnOnce()) -> Result<Option<lock::Lock>, CliError> {
    match open_out(dir)? {
        Some(fd) => lock::lock(fd, dir, true, waiting).map(Some),
        None => Ok(None),
    }
}

/// The handle of a lock's directory, for [`plan`].
pub fn root_of(lock: Option<&lock::Lock>) -> Option<BorrowedFd<'_>> {
    lock.map(lock::Lock::dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_rejected() {
        assert!(components("nodes/a/etc/x").is_some());
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "./a", "a\\b", "a\0b"] {
            assert!(components(bad).is_none(), "{bad}");
        }
    }
}
