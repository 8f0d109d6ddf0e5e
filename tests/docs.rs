//! The documentation cannot drift from the binary: every ```` ```console ```` block in the
//! repository's Markdown (README.md, docs/, every other README, the rule pages) is a
//! transcript that this test replays with the built `meshspec`.
//!
//! A transcript is a series of `$ COMMAND` lines (a trailing `\` continues a command on the next
//! line), each followed by what the command prints, standard output and standard error
//! interleaved as a terminal shows them. The rules:
//!
//! - Each Markdown file is replayed in its own scratch directory whose entries are symbolic
//!   links to the repository root's (`examples/`, `tests/`, ...), so paths read as from the
//!   root while whatever a command writes (`out/`, `cluster.yaml`) stays in the scratch
//!   directory. The blocks of one file share it, in order (a guide builds on its earlier steps).
//! - `$ echo $?` prints the previous command's exit code. A command that exits non-zero must be
//!   followed by it, so a transcript cannot hide a failure.
//! - A line `...` in the output stands for any number of lines (for long outputs).
//! - A ```` ```yaml file=NAME ```` block (or `append=NAME`) writes (appends) its text to NAME
//!   in the scratch directory before the blocks after it run.
//! - A ```` ```console root ```` block needs root (network namespaces, a future `testbed`
//!   transcript): it runs when the test runs as root (CI does) and is skipped, loudly, otherwise.
//! - Commands that cannot run here (on a node, against a cluster) go in ```` ```sh ```` blocks;
//!   a `$ meshspec` line in any other block than `console` fails the test.
//!
//! `MESHSPEC_BLESS=1 cargo test -p meshspec-cli --test docs` rewrites every block with what the
//! binary prints now (keeping the number of lines shown around a `...`); read the diff.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails by panicking, helpers included"
)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every Markdown file of the repository (README.md, docs/, the crates' and examples' READMEs,
/// the rule pages), sorted; build output, dependencies and dot-directories are left out.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else if name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root(), &mut files);
    files.sort();
    files
}

/// One fenced block of a Markdown file: its info string and the line range of its body.
#[derive(Debug)]
struct Fence {
    info: String,
    /// Index of the first body line (the line after the opening fence).
    start: usize,
    /// Index of the closing fence line.
    end: usize,
}

fn fences(lines: &[&str]) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        match &open {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some((info.trim().to_owned(), i + 1));
                }
            }
            Some((info, start)) => {
                if line.trim_end() == "```" {
                    out.push(Fence {
                        info: info.clone(),
                        start: *start,
                        end: i,
                    });
                    open = None;
                }
            }
        }
    }
    assert!(open.is_none(), "a fenced block is not closed");
    out
}

/// One command of a transcript and the output the block shows for it.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// The command as written, continuation lines included (without the `$ `).
    command: String,
    expected: Vec<String>,
}

fn parse_transcript(body: &[&str]) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for line in body {
        if continued {
            let step = steps.last_mut().unwrap();
            step.command.push('\n');
            step.command.push_str(line);
            continued = line.ends_with('\\');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: cmd.to_owned(),
                expected: Vec::new(),
            });
            continued = cmd.ends_with('\\');
        } else if let Some(step) = steps.last_mut() {
            step.expected.push((*line).to_owned());
        } else {
            return Err(format!("output before the first `$ ` command: {line:?}"));
        }
    }
    if steps.is_empty() {
        return Err("a console block without a `$ ` command".into());
    }
    Ok(steps)
}

/// Whether `actual` matches `expected`, where a line `...` in `expected` stands for any
/// number of lines. Trailing whitespace is ignored (Markdown editors strip it).
fn matches(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, tail)| a.trim_end() == first.trim_end() && matches(rest, tail)),
    }
}

/// The block's new text when blessing: what the command printed, cut to as many lines before
/// and after a `...` as the block showed.
fn blessed(expected: &[String], actual: &[String]) -> Vec<String> {
    let (Some(first), Some(last)) = (
        expected.iter().position(|l| l == "..."),
        expected.iter().rposition(|l| l == "..."),
    ) else {
        return actual.to_vec();
    };
    let head = first;
    let tail = expected.len() - last - 1;
    if actual.len() <= head + tail {
        return actual.to_vec();
    }
    let mut out = actual[..head].to_vec();
    out.push("...".into());
    out.extend_from_slice(&actual[actual.len() - tail..]);
    out
}

/// Where one Markdown file's transcripts run.
struct Scratch {
    dir: tempfile::TempDir,
    path_env: String,
}

/// The repository's top-level entries that git tracks (so a user's own `out/` or
/// `cluster.yaml` in the work tree never shows through); without git, every entry but
/// `.git`, `target` and `out`.
fn top_level_entries() -> Vec<String> {
    let tracked = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success() && !o.stdout.is_empty());
    let mut names: Vec<String> = match tracked {
        Some(o) => String::from_utf8_lossy(&o.stdout)
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(|p| p.split('/').next().unwrap().to_owned())
            .collect(),
        None => fs::read_dir(root())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".git" && n != "target" && n != "out")
            .collect(),
    };
    names.sort();
    names.dedup();
    names
}

/// `git status` of the work tree, to check that replaying wrote nothing into it.
fn tree_state() -> Option<String> {
    Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("meshspec-docs-")
            .tempdir()
            .unwrap();
        for name in top_level_entries() {
            std::os::unix::fs::symlink(root().join(&name), dir.path().join(&name)).unwrap();
        }
        let bin = assert_cmd::cargo::cargo_bin("meshspec");
        let bin_dir = bin.parent().unwrap().display().to_string();
        let path_env = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
        Scratch { dir, path_env }
    }

    /// Runs one command with `sh`, standard error merged into standard output.
    fn run(&self, command: &str) -> (Vec<String>, i32) {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("exec 2>&1\n{command}"))
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", &self.path_env)
            .env("HOME", self.dir.path())
            .env("LC_ALL", "C.UTF-8")
            .env("TERM", "dumb")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout)
            .replace(&self.dir.path().display().to_string(), "$SCRATCH");
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if text.ends_with("\n\n") {
            lines.push(String::new());
        }
        (lines, out.status.code().unwrap_or(-1))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// What replaying one Markdown text found: the problems, and the text with every block
/// replaced by what the binary printed (for blessing).
struct Replay {
    problems: Vec<String>,
    blessed: String,
    ran: usize,
}

fn replay(name: &str, text: &str, root_ok: bool) -> Replay {
    let lines: Vec<&str> = text.lines().collect();
    let mut scratch: Option<Scratch> = None;
    let mut problems = Vec::new();
    let mut ran = 0;
    // (start, end, new body) of the blocks to rewrite
    let mut rewrites: Vec<(usize, usize, Vec<String>)> = Vec::new();
    for fence in fences(&lines) {
        let body = &lines[fence.start..fence.end];
        let at = format!("{name}:{}", fence.start);
        let words: Vec<&str> = fence.info.split_whitespace().collect();
        let file_attr = words.iter().find_map(|w| {
            w.strip_prefix("file=")
                .map(|f| (f, false))
                .or_else(|| w.strip_prefix("append=").map(|f| (f, true)))
        });
        if let Some((file, append)) = file_attr {
            let path = scratch
                .get_or_insert_with(Scratch::new)
                .dir
                .path()
                .join(file);
            let mut content = body.join("\n");
            content.push('\n');
            if append {
                let old = fs::read_to_string(&path).unwrap_or_default();
                content = old + &content;
            }
            fs::write(&path, content).unwrap();
            continue;
        }
        if words.first() != Some(&"console") {
            if body.iter().any(|l| l.starts_with("$ meshspec")) {
                problems.push(format!(
                    "{at}: a `$ meshspec` transcript in a ```{} block: make it ```console",
                    fence.info
                ));
            }
            continue;
        }
        if words.contains(&"root") && !root_ok {
            eprintln!("SKIPPED {at}: this transcript needs root (CI runs it as root)");
            continue;
        }
        let steps = match parse_transcript(body) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{at}: {e}"));
                continue;
            }
        };
        ran += 1;
        let scratch = scratch.get_or_insert_with(Scratch::new);
        let mut new_body = Vec::new();
        let mut last_code = 0;
        let mut unshown: Option<(String, i32)> = None;
        for step in &steps {
            let (actual, code) = if step.command.trim() == "echo $?" {
                unshown = None;
                (vec![last_code.to_string()], 0)
            } else {
                if let Some((cmd, c)) = unshown.take() {
                    problems.push(format!(
                        "{at}: `{cmd}` exits {c}, but the block does not show `$ echo $?` after it"
                    ));
                }
                let (out, code) = scratch.run(&step.command);
                if code != 0 {
                    unshown = Some((step.command.clone(), code));
                }
                (out, code)
            };
            last_code = code;
            if !matches(&step.expected, &actual) {
                let mut msg = format!("{at}: `$ {}` printed something else.\n", step.command);
                let _ = writeln!(msg, "--- the block shows:");
                for l in &step.expected {
                    let _ = writeln!(msg, "    {l}");
                }
                let _ = writeln!(msg, "--- the binary prints:");
                for l in &actual {
                    let _ = writeln!(msg, "    {l}");
                }
                problems.push(msg);
            }
            new_body.push(format!("$ {}", step.command));
            new_body.extend(blessed(&step.expected, &actual));
        }
        if let Some((cmd, c)) = unshown {
            problems.push(format!(
                "{at}: `{cmd}` exits {c}, but the block does not show `$ echo $?` after it"
            ));
        }
        rewrites.push((fence.start, fence.end, new_body));
    }
    let mut out: Vec<String> = Vec::new();
    let mut next = 0;
    for (start, end, body) in rewrites {
        out.extend(lines[next..start].iter().map(|l| (*l).to_owned()));
        out.extend(body);
        next = end;
    }
    out.extend(lines[next..].iter().map(|l| (*l).to_owned()));
    let mut blessed = out.join("\n");
    blessed.push('\n');
    Replay {
        problems,
        blessed,
        ran,
    }
}

#[test]
fn every_console_block_is_what_the_binary_prints() {
    let bless = std::env::var_os("MESHSPEC_BLESS").is_some();
    let root_ok = is_root();
    let before = tree_state();
    let mut problems = Vec::new();
    let mut ran = 0;
    for file in markdown_files() {
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        let text = fs::read_to_string(&file).unwrap();
        let r = replay(&name, &text, root_ok);
        ran += r.ran;
        if bless && r.blessed != text {
            fs::write(&file, &r.blessed).unwrap();
            eprintln!("rewrote the console blocks of {name}");
        }
        problems.extend(r.problems);
    }
    assert!(
        ran >= 10,
        "only {ran} console blocks found: the parser lost them"
    );
    if !bless {
        assert_eq!(
            tree_state(),
            before,
            "replaying the docs changed the work tree: a transcript wrote through a linked directory"
        );
    }
    if !bless {
        assert!(
            problems.is_empty(),
            "{} console block problem(s) (MESHSPEC_BLESS=1 rewrites the blocks; then read the diff):\n\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
}

/// The replay itself: a header the binary no longer prints, a line the block misses, a hidden
/// exit code and a transcript outside a console block are each reported.
#[test]
fn a_changed_output_fails_the_replay() {
    let good = "\
```console
$ meshspec explain --list | head -2
...
$ meshspec validate /nonexistent.yaml
...
$ echo $?
2
```
";
    let r = replay("good.md", good, false);
    assert_eq!(r.problems, Vec::<String>::new());
    assert_eq!(r.ran, 1);

    let first = Scratch::new().run("meshspec explain --list | head -2").0;
    assert_eq!(first.len(), 2, "{first:?}");
    let exact = format!(
        "```console\n$ meshspec explain --list | head -2\n{}\n{}\n```\n",
        first[0], first[1]
    );
    assert_eq!(replay("exact.md", &exact, false).problems.len(), 0);

    // a stale header line
    let stale = exact.replacen(&first[0], "meshspec diagnostics:", 1);
    let r = replay("stale.md", &stale, false);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].contains("printed something else"));
    assert_eq!(r.blessed, exact, "blessing restores what the binary prints");

    // a line missing
    let missing = exact.replacen(&format!("{}\n", first[1]), "", 1);
    assert_eq!(replay("missing.md", &missing, false).problems.len(), 1);

    // a failure whose exit code the block does not show
    let hidden = "```console\n$ meshspec validate /nonexistent.yaml\n...\n```\n";
    let r = replay("hidden.md", hidden, false);
    assert!(
        r.problems.len() == 1 && r.problems[0].contains("exits 2"),
        "{:?}",
        r.problems
    );

    // a transcript in a block the replay would not run
    let untagged = format!(
        "```text\n$ meshspec explain --list | head -2\n{}\n```\n",
        first[0]
    );
    assert_eq!(replay("untagged.md", &untagged, false).problems.len(), 1);

    // a root block is skipped unless root, and then runs
    let root_block = "```console root\n$ meshspec explain --list | head -1\nnothing\n```\n";
    assert_eq!(replay("root.md", root_block, false).ran, 0);
    assert_eq!(replay("root.md", root_block, true).problems.len(), 1);
}

#[test]
fn ellipsis_matches_any_lines_and_blessing_keeps_its_window() {
    let s = |v: &[&str]| v.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    assert!(matches(&s(&["a", "...", "z"]), &s(&["a", "b", "c", "z"])));
    assert!(matches(&s(&["a", "...", "z"]), &s(&["a", "z"])));
    assert!(!matches(&s(&["a", "...", "z"]), &s(&["a", "b"])));
    assert!(!matches(&s(&["a"]), &s(&["a", "b"])));
    assert_eq!(
        blessed(&s(&["a", "...", "z"]), &s(&["A", "b", "c", "Z"])),
        s(&["A", "...", "Z"])
    );
}

#[test]
fn the_readme_stays_short() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let n = readme.lines().count();
    assert!(
        n <= 300,
        "README.md has {n} lines; keep it at most 300 for users and move details to docs/"
    );
}

/// The two drifts this test was written for: README.md's quick start showed a header the
/// binary no longer prints, and docs/guide.md's plan missed a line the binary prints.
#[test]
fn the_drift_found_in_the_docs_fails_the_replay() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let now = "# Generated by meshspec for cluster `homelab`: do not edit by hand.";
    assert!(
        readme.contains(now),
        "the quick start shows the config's header"
    );
    let stale = readme.replacen(
        now,
        "# Generated by meshspec from flannel-over-tailscale-gpu-worker.yaml (cluster `homelab`): do not edit by hand.",
        1,
    );
    let r = replay("README.md", &stale, false);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].contains("$ cat out/nodes/k3s-gpu-worker"));
    assert_eq!(r.blessed, readme);

    let guide = fs::read_to_string(root().join("docs/guide.md")).unwrap();
    let line =
        "| `cluster/firewall/nas.sh` | modified | re-run the firewall script (no restart) |\n";
    assert!(
        guide.contains(line),
        "the guide's refused plan re-runs nas's firewall script"
    );
    let r = replay("docs/guide.md", &guide.replacen(line, "", 1), false);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].contains("$ meshspec plan cluster-bad.yaml"));
}

/// GitHub's anchor for a heading: lower case, punctuation dropped (but `-` and `_`), spaces
/// to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every relative link of the Markdown outside code blocks names a file that exists, and its
/// `#anchor`, when it has one, a heading of that file (content moves between pages).
#[test]
fn every_relative_link_in_the_markdown_resolves() {
    let outside_code = |text: &str| -> String {
        let mut out = String::new();
        let mut in_code = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_code = !in_code;
            } else if !in_code {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    };
    let headings = |path: &Path| -> Vec<String> {
        outside_code(&fs::read_to_string(path).unwrap())
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| anchor(l.trim_start_matches('#')))
            .collect()
    };
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = outside_code(&fs::read_to_string(&file).unwrap());
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.contains(':') || target.contains(' ') || target.is_empty() {
                continue; // a URL, or not a link
            }
            checked += 1;
            let (path, frag) = target.split_once('#').unwrap_or((target, ""));
            let dest = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let name = file.strip_prefix(root()).unwrap().display().to_string();
            if !dest.exists() {
                broken.push(format!("{name}: `{target}`: no such file"));
            } else if !frag.is_empty()
                && dest.is_file()
                && !headings(&dest).iter().any(|h| h == frag)
            {
                broken.push(format!("{name}: `{target}`: no heading with that anchor"));
            }
        }
    }
    assert!(checked >= 20, "only {checked} links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
