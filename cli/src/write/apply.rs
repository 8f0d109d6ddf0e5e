//! Applying a plan: claim, stage, flush once, publish, flush what the renames changed.
//!
//! The order is git's `core.fsyncMethod=batch`:
//! 1. the manifest is widened to claim every path this run may touch and loses its `clean`
//!    mark (synced: from here on, the next run looks for leftovers); a file about to be
//!    replaced keeps its current record with the new content as `also`, so the claim is true
//!    of the disk before, during and after the renames ([`claim`]);
//! 2. every new content is staged, nothing synced yet: a directory that does not exist is
//!    created once under a temporary name in its parent, with everything below it written
//!    under final names inside it; a file in an existing directory is written to a temporary
//!    file beside its target;
//! 3. one `syncfs` makes all of it durable;
//! 4. the staged directories and the temporaries are renamed into place (one rename per new
//!    directory tree, one per file in an existing directory), modes are fixed, old files
//!    removed;
//! 5. one `fsync` per directory the renames changed (one `syncfs` when there are many, or
//!    when modes changed or files were removed) makes them durable; then the final manifest
//!    (marked `clean`) is written and its directory synced.
//!
//! A crash before 4 leaves every target as it was (and temporaries the next run removes); a
//! crash during 4 leaves each file old or new, never partial (a new directory tree appears
//! whole or not at all), and claimed by the manifest. Every step works on directory handles
//! without following links ([`super::fsx`]).

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;

use rustix::fs::AtFlags;
use rustix::io::Errno;

use super::fsx::{self, Enter, Walker};
use super::{Action, Change, Plan, split, symlink_error};
use crate::error::CliError;
use crate::manifest::{Entry, MANIFEST_NAME, Manifest, sha256_hex};

/// What happens in one directory.
#[derive(Default)]
struct Group<'p, 'a> {
    /// Files to write (created or updated).
    writes: Vec<(&'p str, &'p Change<'a>)>,
    /// Files whose mode changes.
    chmods: Vec<(&'p str, u32)>,
    /// Files to remove.
    removes: Vec<&'p str>,
    /// Temporaries left by a killed run.
    stale: Vec<&'p str>,
    /// Temporary directories left by a killed run.
    stale_dirs: Vec<&'p str>,
}

fn group<'p, 'a>(plan: &'p Plan<'a>) -> BTreeMap<Vec<String>, Group<'p, 'a>> {
    let mut groups: BTreeMap<Vec<String>, Group<'p, 'a>> = BTreeMap::new();
    for c in &plan.changes {
        let Some((parts, name)) = split(&c.path) else {
            continue;
        };
        let g = groups.entry(parts).or_default();
        match (c.action, c.new) {
            (Action::Create | Action::Update, Some(_)) => g.writes.push((name, c)),
            (Action::Chmod, Some((_, mode))) => g.chmods.push((name, mode)),
            (Action::Remove, _) => g.removes.push(name),
            _ => {}
        }
    }
    for rel in &plan.stale {
        if let Some((parts, name)) = split(rel) {
            groups.entry(parts).or_default().stale.push(name);
        }
    }
    for rel in &plan.stale_dirs {
        if let Some((parts, name)) = split(rel) {
            groups.entry(parts).or_default().stale_dirs.push(name);
        }
    }
    groups
}

/// The error for a directory that cannot be entered while applying.
fn enter_error(plan: &Plan<'_>, parts: &[String], e: Enter) -> CliError {
    let at = |n: usize| parts[..n].iter().fold(plan.dir.clone(), |p, c| p.join(c));
    match e {
        Enter::Symlink(n) => symlink_error(&at(n)),
        Enter::NotDir(n) => CliError::write(&at(n), &Errno::NOTDIR.into()),
        Enter::Io(n, e) => CliError::write(&at(n), &e),
        Enter::Missing => CliError::write(&at(parts.len()), &Errno::NOENT.into()),
    }
}

/// Staged temporaries per existing directory: `(temporary name, target name)`.
type Staged<'p> = Vec<(Vec<String>, Vec<(String, &'p str)>)>;

/// Removes what staging left: the temporaries, then the staged directories.
fn roll_back(walker: &mut Walker, staged: &Staged<'_>) {
    for (parts, files) in staged {
        if let Ok(fd) = walker.enter(parts, false) {
            for (temp, _) in files {
                let _ = rustix::fs::unlinkat(fd, temp.as_str(), AtFlags::empty());
            }
        }
    }
    walker.discard();
}

/// The manifest's mode: readable by its owner only. It holds the SHA-256 of every file
/// written, the 0600 env file with the proxy credentials included; every other input of that
/// file is public (the spec, meshspec's templates), so a world-readable hash would let anyone
/// on the host recover a dictionary password offline. A keyed hash would need a key kept
/// next to it with the same protection, and leaving the secret files unhashed would lose the
/// "edited since meshspec wrote it" check for exactly the files that matter most; the
/// manifest is meshspec's own bookkeeping, read only by whoever runs `render`, so 0600 costs
/// nothing. A manifest written 0644 by an older version is replaced by one written 0600.
pub const MANIFEST_MODE: u32 = 0o600;

/// Writes the manifest text atomically in the root (temporary, rename); not synced.
fn put_manifest(plan: &Plan<'_>, root: BorrowedFd<'_>, text: &str) -> Result<(), CliError> {
    let target = plan.dir.join(MANIFEST_NAME);
    fsx::fault().map_err(|e| CliError::write(&target, &e))?;
    let temp = fsx::write_temp(root, MANIFEST_NAME, &[text][..], MANIFEST_MODE)
        .map_err(|e| CliError::write(&target, &e))?;
    if let Err(e) = fsx::fault() {
        let _ = rustix::fs::unlinkat(root, temp.as_str(), AtFlags::empty());
        return Err(CliError::write(&target, &e));
    }
    rustix::fs::renameat(root, temp.as_str(), root, MANIFEST_NAME).map_err(|e| {
        let _ = rustix::fs::unlinkat(root, temp.as_str(), AtFlags::empty());
        CliError::write(&target, &e.into())
    })
}

/// The manifest written before anything else: true of the disk at every later step. A path
/// meshspec wrote keeps its record, with the content about to replace it as `also` (until
/// its rename the file is the old one, after it the new one); a path created by this run is
/// recorded with its new content (it does not exist until renamed); a path about to be
/// removed keeps its record. So a run killed (or failing) anywhere leaves each file matching
/// its record: the next run neither calls it edited nor forgets it.
fn claim(plan: &Plan<'_>) -> Manifest {
    let mut claim = plan.old_manifest.clone();
    claim.clean = false;
    for c in &plan.changes {
        let Some(new) = plan.new_manifest.files.get(&c.path) else {
            // a removal: the old record stays until the file is gone
            continue;
        };
        let recorded = plan.old_manifest.files.get(&c.path);
        // what is on disk now, when meshspec wrote it (an edited file keeps its old record,
        // so the next run still warns before overwriting it)
        let on_disk = match (c.action, &c.old, recorded) {
            (_, _, None) | (Action::Unchanged | Action::Create, _, _) => None,
            (_, _, Some(_)) if c.edited => None,
            (Action::Update, Some(o), Some(_)) => Some((sha256_hex(&o.bytes), o.mode)),
            (Action::Chmod, Some(o), Some(_)) => Some((new.sha256.clone(), o.mode)),
            _ => None,
        };
        let entry = match (on_disk, recorded) {
            (Some((sha256, mode)), _) => Entry {
                sha256,
                mode,
                also: Some((new.sha256.clone(), new.mode)),
            },
            (None, Some(old)) if c.edited => Entry {
                also: Some((new.sha256.clone(), new.mode)),
                ..old.clone()
            },
            (None, _) => new.clone(),
        };
        claim.files.insert(c.path.clone(), entry);
    }
    claim
}

fn flush(plan: &Plan<'_>, root: BorrowedFd<'_>) -> Result<(), CliError> {
    fsx::flush(root).map_err(|e| CliError::write(&plan.dir, &e))
}

/// The most directories synced one by one after the renames; beyond, one `syncfs`.
const MAX_DIR_SYNCS: usize = 64;

/// Applies a plan that has no conflicts into the directory whose (locked) handle is `root`.
/// On error before the renames, every target stays as it was and the temporaries and created
/// directories are removed.
///
/// # Errors
/// [`CliError::Write`] naming the path that failed (exit 2), a symbolic link met on the way
/// included.
pub fn apply(plan: &Plan<'_>, root: BorrowedFd<'_>) -> Result<(), CliError> {
    let groups = group(plan);
    let dup = rustix::io::fcntl_dupfd_cloexec(root, 0)
        .map_err(|e| CliError::write(&plan.dir, &e.into()))?;
    let mut walker = Walker::new(dup);
    let mut on_disk = plan.old_manifest_text.clone();

    // 1. Claim every path this run may touch, so an interrupted run never leaves a file
    //    meshspec wrote looking foreign, and drop the `clean` mark before any temporary file
    //    exists (synced, so the next run knows to look for leftovers).
    if plan.has_changes() || !plan.stale.is_empty() || !plan.stale_dirs.is_empty() {
        let claim = claim(plan);
        if claim != plan.old_manifest || on_disk.is_none() {
            let text = claim.to_json();
            put_manifest(plan, walker.root(), &text)?;
            rustix::fs::fsync(walker.root()).map_err(|e| CliError::write(&plan.dir, &e.into()))?;
            on_disk = Some(text);
        }
    }

    // 2. Stage every new content before touching any target; clear a killed run's leftovers.
    let mut staged: Staged<'_> = Vec::new();
    let mut failure = None;
    for (parts, g) in &groups {
        if g.writes.is_empty() && g.stale.is_empty() && g.stale_dirs.is_empty() {
            continue;
        }
        let fd = match walker.enter(parts, !g.writes.is_empty()) {
            Ok(fd) => fd,
            Err(Enter::Missing) if g.writes.is_empty() => continue,
            Err(e) => {
                failure = Some(enter_error(plan, parts, e));
                break;
            }
        };
        for name in &g.stale {
            let _ = rustix::fs::unlinkat(fd, *name, AtFlags::empty());
        }
        for name in &g.stale_dirs {
            let _ = fsx::remove_tree(fd, name);
        }
        let fresh = walker.fresh();
        let Ok(fd) = walker.enter(parts, false) else {
            continue;
        };
        let mut files = Vec::with_capacity(if fresh { 0 } else { g.writes.len() });
        for &(name, c) in &g.writes {
            let Some((contents, mode)) = c.new else {
                continue;
            };
            let written = fsx::fault().and_then(|()| {
                if fresh {
                    // inside a staged directory: the final name, renamed with the directory
                    fsx::write_new(fd, name, contents, mode)
                } else {
                    fsx::write_temp(fd, name, contents, mode).map(|temp| files.push((temp, name)))
                }
            });
            if let Err(e) = written {
                failure = Some(CliError::write(&plan.dir.join(&c.path), &e));
                break;
            }
        }
        if !files.is_empty() {
            staged.push((parts.clone(), files));
        }
        if failure.is_some() {
            break;
        }
    }

    // 3. One flush for all of it.
    if failure.is_none()
        && plan.has_changes()
        && let Err(e) = flush(plan, walker.root())
    {
        failure = Some(e);
    }
    if let Some(e) = failure {
        roll_back(&mut walker, &staged);
        return Err(e);
    }

    // 4. New directory trees into place, then renames, modes, removals in existing ones.
    let mut touched = walker.publish().map_err(|(parts, e)| {
        let at = parts.iter().fold(plan.dir.clone(), |p, c| p.join(c));
        walker.discard();
        CliError::write(&at, &e)
    })?;
    // removed leftovers must stay removed once the manifest says `clean`
    let mut sync_all = !plan.stale.is_empty() || !plan.stale_dirs.is_empty();
    let mut staged = staged.into_iter().peekable();
    for (parts, g) in &groups {
        let files = match staged.peek() {
            Some((p, _)) if p == parts => staged.next().map(|(_, f)| f).unwrap_or_default(),
            _ => Vec::new(),
        };
        if files.is_empty() && g.chmods.is_empty() && g.removes.is_empty() {
            continue;
        }
        let fd = walker
            .enter(parts, false)
            .map_err(|e| enter_error(plan, parts, e))?;
        let target = |name: &str| {
            parts
                .iter()
                .fold(plan.dir.clone(), |p, c| p.join(c))
                .join(name)
        };
        for (temp, name) in &files {
            fsx::fault()
                .and_then(|()| {
                    rustix::fs::renameat(fd, temp.as_str(), fd, *name).map_err(Into::into)
                })
                .map_err(|e| {
                    let _ = rustix::fs::unlinkat(fd, temp.as_str(), AtFlags::empty());
                    CliError::write(&target(name), &e)
                })?;
        }
        if !files.is_empty() {
            touched.push(parts.clone());
        }
        for &(name, mode) in &g.chmods {
            fsx::fault()
                .and_then(|()| fsx::chmod_at(fd, name, mode))
                .map_err(|e| CliError::write(&target(name), &e))?;
        }
        for &name in &g.removes {
            fsx::fault().map_err(|e| CliError::write(&target(name), &e))?;
            match rustix::fs::unlinkat(fd, name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(CliError::write(&target(name), &e.into())),
            }
        }
        sync_all |= !g.chmods.is_empty() || !g.removes.is_empty();
        if !g.removes.is_empty() {
            prune_empty(&mut walker, parts);
        }
    }

    // 5. Make the renames durable: each directory they changed, or everything at once.
    if sync_all || touched.len() > MAX_DIR_SYNCS {
        flush(plan, walker.root())?;
    } else {
        touched.sort();
        touched.dedup();
        for parts in &touched {
            let fd = walker
                .enter(parts, false)
                .map_err(|e| enter_error(plan, parts, e))?;
            rustix::fs::fsync(fd).map_err(|e| CliError::write(&plan.dir, &e.into()))?;
        }
    }
    let final_text = plan.new_manifest.to_json();
    if on_disk.as_deref() != Some(final_text.as_str()) {
        put_manifest(plan, walker.root(), &final_text)?;
        rustix::fs::fsync(walker.root()).map_err(|e| CliError::write(&plan.dir, &e.into()))?;
    }
    Ok(())
}

/// Removes `parts` and its parents while they are empty (never the root).
fn prune_empty(walker: &mut Walker, parts: &[String]) {
    let mut n = parts.len();
    while n > 0 {
        let Ok(parent) = walker.enter(&parts[..n - 1], false) else {
            return;
        };
        if rustix::fs::unlinkat(parent, parts[n - 1].as_str(), AtFlags::REMOVEDIR).is_err() {
            return;
        }
        n -= 1;
    }
}
