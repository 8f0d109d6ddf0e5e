//! Applying a plan: stage, flush once, rename, flush once.
//!
//! The order is git's `core.fsyncMethod=batch`:
//! 1. every new content is written to a temporary file beside its target (directories are
//!    created once each, on the way); nothing is synced yet;
//! 2. the manifest is widened to claim every path this run may touch;
//! 3. one `syncfs` makes all of it durable;
//! 4. the temporaries are renamed over their targets, modes are fixed and old files removed;
//! 5. one more `syncfs` makes the renames durable; then the final manifest is written.
//!
//! A crash before 4 leaves every target as it was (and temporaries the next run removes); a
//! crash during 4 leaves each target old or new, never partial, and claimed by the manifest.
//! Every step works on directory handles without following links ([`super::fsx`]).

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;

use rustix::fs::AtFlags;
use rustix::io::Errno;

use super::fsx::{self, Enter, Walker};
use super::{Action, Change, Plan, split, symlink_error};
use crate::error::CliError;
use crate::manifest::MANIFEST_NAME;

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

/// Staged temporaries per directory: `(temporary name, target name)`.
type Staged<'p> = Vec<(Vec<String>, Vec<(String, &'p str)>)>;

/// Removes what staging left: the temporaries, then the directories it created.
fn roll_back(walker: &mut Walker, staged: &Staged<'_>) {
    for (parts, files) in staged {
        if let Ok(fd) = walker.enter(parts, false) {
            for (temp, _) in files {
                let _ = rustix::fs::unlinkat(fd, temp.as_str(), AtFlags::empty());
            }
        }
    }
    let created = std::mem::take(&mut walker.created);
    for parts in created.iter().rev() {
        if let Some((name, parent)) = parts.split_last()
            && let Ok(fd) = walker.enter(parent, false)
        {
            let _ = rustix::fs::unlinkat(fd, name.as_str(), AtFlags::REMOVEDIR);
        }
    }
}

/// Writes the manifest text atomically in the root (temporary, rename); not synced.
fn put_manifest(plan: &Plan<'_>, root: BorrowedFd<'_>, text: &str) -> Result<(), CliError> {
    let target = plan.dir.join(MANIFEST_NAME);
    let temp = fsx::write_temp(root, MANIFEST_NAME, text.as_bytes(), 0o644)
        .map_err(|e| CliError::write(&target, &e))?;
    rustix::fs::renameat(root, temp.as_str(), root, MANIFEST_NAME).map_err(|e| {
        let _ = rustix::fs::unlinkat(root, temp.as_str(), AtFlags::empty());
        CliError::write(&target, &e.into())
    })
}

fn flush(plan: &Plan<'_>, root: BorrowedFd<'_>) -> Result<(), CliError> {
    fsx::flush(root).map_err(|e| CliError::write(&plan.dir, &e))
}

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

    // 1. Stage every new content before touching any target; clear a killed run's leftovers.
    let mut staged: Staged<'_> = Vec::new();
    let mut failure = None;
    for (parts, g) in &groups {
        if g.writes.is_empty() && g.stale.is_empty() {
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
        let mut files = Vec::with_capacity(g.writes.len());
        for &(name, c) in &g.writes {
            let (contents, mode) = c.new.unwrap_or_default();
            match fsx::write_temp(fd, name, contents.as_bytes(), mode) {
                Ok(temp) => files.push((temp, name)),
                Err(e) => {
                    failure = Some(CliError::write(&plan.dir.join(&c.path), &e));
                    break;
                }
            }
        }
        staged.push((parts.clone(), files));
        if failure.is_some() {
            break;
        }
    }

    // 2. Claim every path this run may touch, so an interrupted run never leaves a file
    //    meshspec wrote looking foreign. 3. One flush for all of it.
    let mut on_disk = plan.old_manifest_text.clone();
    if failure.is_none() && plan.has_changes() {
        let mut claim = plan.old_manifest.clone();
        claim.files.extend(
            plan.new_manifest
                .files
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if claim != plan.old_manifest {
            let text = claim.to_json();
            match put_manifest(plan, walker.root(), &text) {
                Ok(()) => on_disk = Some(text),
                Err(e) => failure = Some(e),
            }
        }
        if failure.is_none()
            && let Err(e) = flush(plan, walker.root())
        {
            failure = Some(e);
        }
    }
    if let Some(e) = failure {
        roll_back(&mut walker, &staged);
        return Err(e);
    }

    // 4. Renames, modes, removals.
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
            rustix::fs::renameat(fd, temp.as_str(), fd, *name).map_err(|e| {
                let _ = rustix::fs::unlinkat(fd, temp.as_str(), AtFlags::empty());
                CliError::write(&target(name), &e.into())
            })?;
        }
        for &(name, mode) in &g.chmods {
            fsx::chmod_at(fd, name, mode).map_err(|e| CliError::write(&target(name), &e))?;
        }
        for &name in &g.removes {
            match rustix::fs::unlinkat(fd, name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(CliError::write(&target(name), &e.into())),
            }
        }
        if !g.removes.is_empty() {
            prune_empty(&mut walker, parts);
        }
    }

    // 5. One flush for the renames, then the final manifest.
    if plan.has_changes() {
        flush(plan, walker.root())?;
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
