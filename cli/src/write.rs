//! Writing a bundle into a directory: plan every change first, then apply it atomically.
//!
//! [`plan`] reads the directory and its manifest and decides, per file, whether to create,
//! update, re-mode, leave or remove it, and which files it must not touch (written by someone
//! else, or a directory in the way). Nothing is written while planning, so a refusal leaves the
//! directory as it was. [`apply`] then stages every new file as a temporary file in its target
//! directory (written, fsynced, moded), and only when all are staged renames them into place, so
//! no reader ever sees a half-written file. Identical files are not rewritten (mtimes stay).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use meshspec::Bundle;

use crate::error::CliError;
use crate::manifest::{Entry, MANIFEST_NAME, Manifest, sha256_hex};

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
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its permission bits.
    pub mode: u32,
}

/// One planned change.
#[derive(Debug, Clone)]
pub struct Change {
    /// Path relative to the output directory, `/`-separated.
    pub path: String,
    /// What happens.
    pub action: Action,
    /// The file now, when there is one.
    pub old: Option<OnDisk>,
    /// The bundle's contents and mode, unless removed.
    pub new: Option<(String, u32)>,
    /// meshspec wrote it, but it was edited since (the edit will be overwritten or removed).
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
}

/// Every change `render` would make, and what stands in its way.
#[derive(Debug)]
pub struct Plan {
    /// The output directory.
    pub dir: PathBuf,
    /// One entry per bundle path and per removed path, sorted by path.
    pub changes: Vec<Change>,
    /// What blocks writing.
    pub conflicts: Vec<Conflict>,
    /// The manifest found in the directory (empty when absent).
    pub old_manifest: Manifest,
    /// The manifest text on disk, when there is one.
    pub old_manifest_text: Option<String>,
    /// The manifest after applying.
    pub new_manifest: Manifest,
}

impl Plan {
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
            .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains('\\'));
    ok.then_some(parts)
}

fn join(dir: &Path, rel: &str) -> PathBuf {
    rel.split('/').fold(dir.to_path_buf(), |p, c| p.join(c))
}

/// Metadata without following symlinks; `None` when nothing is there (or cannot be, because a
/// parent is not a directory).
fn probe(path: &Path) -> Result<Option<fs::Metadata>, CliError> {
    match fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(CliError::read(path.display().to_string(), &e)),
    }
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(meta: &fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Plans writing `bundle` into `dir`; reads, never writes.
///
/// `force` turns files meshspec did not write from conflicts into updates.
///
/// # Errors
/// [`CliError`] when `dir` is not a directory, or something in it cannot be read.
pub fn plan(dir: &Path, bundle: &Bundle, force: bool) -> Result<Plan, CliError> {
    if let Some(meta) = probe(dir)?
        && !meta.is_dir()
    {
        return Err(CliError::Write {
            path: dir.display().to_string(),
            reason: "exists and is not a directory".to_owned(),
            hint: "pass a directory to --out",
        });
    }
    let manifest_path = dir.join(MANIFEST_NAME);
    let old_manifest_text = match probe(&manifest_path)? {
        Some(m) if m.is_file() => Some(
            fs::read_to_string(&manifest_path)
                .map_err(|e| CliError::read(manifest_path.display().to_string(), &e))?,
        ),
        _ => None,
    };
    let old_manifest = match &old_manifest_text {
        Some(text) => match Manifest::parse(text) {
            Ok(m) => m,
            Err(_) if force => Manifest::default(),
            Err(reason) => {
                return Err(CliError::Refused {
                    message: format!(
                        "cannot use {}: {reason}\n  = help: it records what meshspec wrote; delete it or pass --force",
                        manifest_path.display()
                    ),
                });
            }
        },
        None => Manifest::default(),
    };

    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    let mut new_manifest = Manifest::default();
    let mut checked_dirs: BTreeSet<String> = BTreeSet::new();

    for (rel, file) in &bundle.files {
        let Some(parts) = components(rel) else {
            conflicts.push(Conflict::Blocked(rel.clone(), "not a safe relative path"));
            continue;
        };
        if rel == MANIFEST_NAME {
            conflicts.push(Conflict::Blocked(rel.clone(), "reserved for the manifest"));
            continue;
        }
        // Every parent inside DIR must be a directory (or absent).
        let mut blocked = false;
        for i in 1..parts.len() {
            let prefix = parts[..i].join("/");
            if !checked_dirs.insert(prefix.clone()) {
                continue;
            }
            if let Some(m) = probe(&join(dir, &prefix))?
                && !m.is_dir()
            {
                conflicts.push(Conflict::Blocked(
                    prefix,
                    "is a file where a directory goes",
                ));
                blocked = true;
            }
        }
        if blocked {
            continue;
        }
        let target = join(dir, rel);
        let sha = sha256_hex(file.contents.as_bytes());
        new_manifest.files.insert(
            rel.clone(),
            Entry {
                sha256: sha.clone(),
                mode: file.mode,
            },
        );
        let new = Some((file.contents.clone(), file.mode));
        let recorded = old_manifest.files.get(rel);
        let Some(meta) = probe(&target)? else {
            changes.push(Change {
                path: rel.clone(),
                action: Action::Create,
                old: None,
                new,
                edited: false,
            });
            continue;
        };
        if meta.is_dir() {
            conflicts.push(Conflict::Blocked(rel.clone(), "is a directory"));
            continue;
        }
        if !meta.is_file() && !meta.file_type().is_symlink() {
            conflicts.push(Conflict::Blocked(rel.clone(), "is not a regular file"));
            continue;
        }
        let is_symlink = meta.file_type().is_symlink();
        let bytes = if is_symlink {
            Vec::new()
        } else {
            fs::read(&target).map_err(|e| CliError::read(target.display().to_string(), &e))?
        };
        let old_mode = mode_of(&meta);
        let same_bytes = !is_symlink && bytes == file.contents.as_bytes();
        let action = if same_bytes && old_mode == file.mode {
            Action::Unchanged
        } else if same_bytes {
            Action::Chmod
        } else {
            Action::Update
        };
        let edited = recorded.is_some_and(|e| e.sha256 != sha256_hex(&bytes) || e.mode != old_mode)
            && action != Action::Unchanged;
        if action != Action::Unchanged && recorded.is_none() && !force {
            conflicts.push(Conflict::Foreign(rel.clone()));
        }
        changes.push(Change {
            path: rel.clone(),
            action,
            old: Some(OnDisk {
                bytes,
                mode: old_mode,
            }),
            new,
            edited,
        });
    }

    for (rel, entry) in &old_manifest.files {
        if bundle.files.contains_key(rel) || components(rel).is_none() {
            continue;
        }
        let target = join(dir, rel);
        match probe(&target)? {
            Some(meta) if meta.is_file() => {
                let bytes = fs::read(&target)
                    .map_err(|e| CliError::read(target.display().to_string(), &e))?;
                let edited = sha256_hex(&bytes) != entry.sha256;
                changes.push(Change {
                    path: rel.clone(),
                    action: Action::Remove,
                    old: Some(OnDisk {
                        bytes,
                        mode: mode_of(&meta),
                    }),
                    new: None,
                    edited,
                });
            }
            // Gone already, or replaced by something else: forget it, touch nothing.
            _ => {}
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));

    Ok(Plan {
        dir: dir.to_path_buf(),
        changes,
        conflicts,
        old_manifest,
        old_manifest_text,
        new_manifest,
    })
}

/// A file staged next to its target, removed again if anything fails before it is renamed.
struct Staged {
    temp: PathBuf,
    target: PathBuf,
}

/// Removes the staged temporaries and the directories this run created.
fn roll_back(staged: &[Staged], created_dirs: &[PathBuf]) {
    for s in staged {
        let _ = fs::remove_file(&s.temp);
    }
    for d in created_dirs.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.meshspec-tmp-{}", std::process::id()))
}

/// Writes `contents` to a new temporary file beside `target` with `mode`, fsynced.
fn stage(target: &Path, contents: &[u8], mode: u32) -> Result<PathBuf, CliError> {
    let temp = temp_path(target);
    let result = (|| -> io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut f = options.open(&temp)?;
        f.write_all(contents)?;
        // Set the mode explicitly: the open mode is filtered by the umask.
        set_mode(&temp, mode)?;
        f.sync_all()
    })();
    match result {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(CliError::write(target, &e))
        }
    }
}

/// Writes `contents` to `target` atomically (temp file, fsync, rename).
fn write_atomic(target: &Path, contents: &[u8], mode: u32) -> Result<(), CliError> {
    let temp = stage(target, contents, mode)?;
    fs::rename(&temp, target).map_err(|e| {
        let _ = fs::remove_file(&temp);
        CliError::write(target, &e)
    })
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Creates `dir` and its missing ancestors, remembering which ones this run created.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(p) = cur {
        if p.as_os_str().is_empty() || fs::symlink_metadata(p).is_ok() {
            break;
        }
        missing.push(p.to_path_buf());
        cur = p.parent();
    }
    for p in missing.into_iter().rev() {
        match fs::create_dir(&p) {
            Ok(()) => created.push(p),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && p.is_dir() => {}
            Err(e) => return Err(CliError::write(&p, &e)),
        }
    }
    Ok(())
}

/// Removes empty directories from `start` up to (not including) `stop`.
fn prune_empty(start: Option<&Path>, stop: &Path) {
    let mut cur = start;
    while let Some(d) = cur {
        if d == stop || !d.starts_with(stop) || fs::remove_dir(d).is_err() {
            break;
        }
        cur = d.parent();
    }
}

/// Applies a plan that has no conflicts. On error, files not yet renamed stay as they were and
/// staged temporaries are removed.
///
/// # Errors
/// [`CliError::Write`] naming the path that failed.
pub fn apply(plan: &Plan) -> Result<(), CliError> {
    let dir = &plan.dir;
    let mut created_dirs = Vec::new();
    create_dirs(dir, &mut created_dirs)?;

    // Stage every new content before touching any target.
    let mut staged: Vec<Staged> = Vec::new();
    for c in &plan.changes {
        if !matches!(c.action, Action::Create | Action::Update) {
            continue;
        }
        let Some((contents, mode)) = &c.new else {
            continue;
        };
        let target = join(dir, &c.path);
        let result = match target.parent() {
            Some(parent) => create_dirs(parent, &mut created_dirs),
            None => Ok(()),
        }
        .and_then(|()| stage(&target, contents.as_bytes(), *mode));
        match result {
            Ok(temp) => staged.push(Staged { temp, target }),
            Err(e) => {
                roll_back(&staged, &created_dirs);
                return Err(e);
            }
        }
    }

    // Claim every path this run may touch before touching it, so an interrupted run never
    // leaves a file meshspec wrote looking foreign.
    let manifest_path = dir.join(MANIFEST_NAME);
    let mut claim = plan.old_manifest.clone();
    claim.files.extend(
        plan.new_manifest
            .files
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    if plan.has_changes()
        && claim != plan.old_manifest
        && let Err(e) = write_atomic(&manifest_path, claim.to_json().as_bytes(), 0o644)
    {
        roll_back(&staged, &created_dirs);
        return Err(e);
    }

    let mut touched_dirs: BTreeMap<PathBuf, ()> = BTreeMap::new();
    for s in &staged {
        fs::rename(&s.temp, &s.target).map_err(|e| {
            let _ = fs::remove_file(&s.temp);
            CliError::write(&s.target, &e)
        })?;
        if let Some(p) = s.target.parent() {
            touched_dirs.insert(p.to_path_buf(), ());
        }
    }
    for c in &plan.changes {
        let target = join(dir, &c.path);
        match (c.action, &c.new) {
            (Action::Chmod, Some((_, mode))) => {
                set_mode(&target, *mode).map_err(|e| CliError::write(&target, &e))?;
            }
            (Action::Remove, _) => {
                fs::remove_file(&target).map_err(|e| CliError::write(&target, &e))?;
                prune_empty(target.parent(), dir);
            }
            _ => {}
        }
    }
    for d in touched_dirs.keys() {
        sync_dir(d);
    }

    let final_text = plan.new_manifest.to_json();
    if plan.old_manifest_text.as_deref() != Some(final_text.as_str()) {
        write_atomic(&manifest_path, final_text.as_bytes(), 0o644)?;
    }
    sync_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_rejected() {
        assert!(components("nodes/a/etc/x").is_some());
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "./a", "a\\b"] {
            assert!(components(bad).is_none(), "{bad}");
        }
    }
}
