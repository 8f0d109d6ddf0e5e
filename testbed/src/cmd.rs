//! Running commands (each printed on stderr with `--verbose`), what the testbed needs from the
//! host, and the cleanup of namespaces left by dead runs.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::PREFIX;

/// The marker file of a kept run, in its scratch directory: [`sweep_stale`] leaves it alone.
pub(crate) const KEPT: &str = "kept";

static VERBOSE: AtomicBool = AtomicBool::new(false);
/// Numbers the probe namespaces of [`unavailable`]: tests call it from several threads of one
/// process at once, and a name per process alone made one thread's `ip netns add` fail.
static CHECKS: AtomicUsize = AtomicUsize::new(0);

/// Prints every command the testbed runs on stderr (`+ ip netns add …`) from now on.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::SeqCst);
}

/// Whether every command is printed (`--verbose`).
pub(crate) fn verbose() -> bool {
    VERBOSE.load(Ordering::SeqCst)
}

/// Prints `cmd args` on stderr when verbose, each argument quoted when it needs it.
pub(crate) fn trace(cmd: &str, args: &[&str]) {
    if VERBOSE.load(Ordering::SeqCst) {
        let mut line = format!("+ {cmd}");
        for a in args {
            line.push(' ');
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
            {
                line.push_str(a);
            } else {
                line.push('\'');
                line.push_str(&a.replace('\'', "'\\''"));
                line.push('\'');
            }
        }
        eprintln!("{line}");
    }
}

/// Why the testbed cannot run here, or `None` when it can (root, `ip netns`, iptables and
/// ip6tables with their restore tools, python3, ping and bridge).
#[must_use]
pub fn unavailable() -> Option<String> {
    let ok = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ok("id", &[])
        || Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default()
            != b"0\n"
    {
        return Some("not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)".into());
    }
    if !ok("ip", &["netns", "list"]) {
        return Some("`ip netns` does not work (iproute2 missing or no netns support)".into());
    }
    for tool in [
        "iptables",
        "ip6tables",
        "iptables-restore",
        "ip6tables-restore",
        "iptables-save",
        "ip6tables-save",
    ] {
        if !ok("sh", &["-c", &format!("command -v {tool}")]) {
            return Some(format!(
                "`{tool}` is not installed (apt-get install iptables)"
            ));
        }
    }
    if !ok("python3", &["-c", "import asyncio"]) {
        return Some("python3 is not installed".into());
    }
    // the MTU proof pings with DF set (`-M do`) and reads the kernel's refusal
    if !ok("sh", &["-c", "command -v ping && command -v bridge"]) {
        return Some(
            "`ping` or `bridge` is not installed (apt-get install --no-install-recommends iputils-ping iproute2)"
                .into(),
        );
    }
    // a namespace can really be made here (containers may refuse)
    let probe = format!(
        "{PREFIX}{}-check{}",
        std::process::id(),
        CHECKS.fetch_add(1, Ordering::SeqCst)
    );
    if !ok("ip", &["netns", "add", &probe]) {
        return Some("`ip netns add` fails (no permission to create network namespaces)".into());
    }
    let ok_iptables = ok("ip", &["netns", "exec", &probe, "iptables", "-S"]);
    let _ = ok("ip", &["netns", "del", &probe]);
    if !ok_iptables {
        return Some("iptables does not work inside a network namespace".into());
    }
    None
}

/// Deletes the namespaces of testbed runs whose process is gone (a run killed before its
/// cleanup), except those kept on purpose. Returns how many it removed.
pub fn sweep_stale() -> usize {
    let mut n = 0;
    for ns in list_namespaces() {
        let Some(rest) = ns.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        // a run left up on purpose (`--keep`) has a marker in its scratch directory
        let run_prefix: String = ns.splitn(4, '-').take(3).collect::<Vec<_>>().join("-");
        if std::env::temp_dir().join(&run_prefix).join(KEPT).exists() {
            continue;
        }
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            kill_in(&ns);
            let _ = run("ip", &["netns", "del", &ns]);
            n += 1;
        }
    }
    n
}

pub(crate) fn list_namespaces() -> Vec<String> {
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes what a run made, in the order that frees everything: its own processes (listeners,
/// mount-namespace holders), then each namespace newest first with what still runs in it, then
/// the watchdog (no longer needed), then the scratch directory (`dir` empty: none was made).
pub(crate) fn tear_down(
    processes: &mut [std::process::Child],
    namespaces: &[String],
    watchdog: Option<&mut std::process::Child>,
    dir: &Path,
) {
    for p in processes {
        let _ = p.kill();
        let _ = p.wait();
    }
    kill_in_all(namespaces);
    for ns in namespaces.iter().rev() {
        let _ = run("ip", &["netns", "del", ns]);
    }
    if let Some(w) = watchdog {
        let _ = w.kill();
        let _ = w.wait();
    }
    if !dir.as_os_str().is_empty() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Kills the processes inside one of the testbed's own namespaces (see [`kill_in_all`]).
pub(crate) fn kill_in(ns: &str) {
    kill_in_all(std::slice::from_ref(&ns.to_string()));
}

/// Kills the processes inside the testbed's own namespaces `namespaces`, then waits (up to
/// 5 s) until each has ended, so that none outlives the run: a `wireguard-go` daemon is not
/// this process's child, and it takes a moment to close its device after SIGKILL.
pub(crate) fn kill_in_all(namespaces: &[String]) {
    let mut listed = String::new();
    for ns in namespaces {
        if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
            listed.push_str(&String::from_utf8_lossy(&o.stdout));
            listed.push('\n');
        }
    }
    let pids: Vec<&str> = listed
        .split_whitespace()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg("-9")
        .args(&pids)
        .stderr(Stdio::null())
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while pids.iter().any(|p| still_running(p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Whether process `pid` still runs: it exists and is not a zombie (a zombie has ended; its
/// parent, or init, reaps it).
fn still_running(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // the state follows the command name in parentheses, which may hold anything
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

pub(crate) fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    trace(cmd, args);
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{cmd} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Makes namespace `name` a fresh host, as both builders ([`crate::Testbed`] and
/// [`crate::WgMesh`]) make theirs: loopback up, no duplicate address detection (addresses are
/// usable at once), and forwarding off in both families. A new namespace inherits the
/// caller's IPv4 forwarding (`net.core.devconf_inherit_init_net=0`), which would hide a relay
/// whose rendered sysctl file was not applied; a host that forwards (a NAT router, a node
/// with pods) turns it on itself. The name goes to `made` once the namespace exists (and
/// only then: a name that was there before is never this run's to remove).
pub(crate) fn new_host(name: &str, made: &mut Vec<String>) -> Result<(), String> {
    run("ip", &["netns", "add", name])?;
    made.push(name.to_owned());
    run("ip", &["-n", name, "link", "set", "lo", "up"])?;
    run(
        "ip",
        &[
            "netns",
            "exec",
            name,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv4.ip_forward=0",
            "net.ipv6.conf.all.forwarding=0",
        ],
    )?;
    Ok(())
}

/// Makes bridge `name` in the switch namespace `sw` and sets it up.
pub(crate) fn bridge(sw: &str, name: &str) -> Result<(), String> {
    run("ip", &["-n", sw, "link", "add", name, "type", "bridge"])?;
    run("ip", &["-n", sw, "link", "set", name, "up"]).map(|_| ())
}

/// Plugs namespace `ns` into bridge `br` of the switch namespace `sw`: a veth pair at `mtu`,
/// `port` (at most 15 characters, unique in `sw`) on the bridge and `ifname` in `ns`, both up.
pub(crate) fn plug(
    sw: &str,
    ns: &str,
    ifname: &str,
    br: &str,
    port: &str,
    mtu: u32,
) -> Result<(), String> {
    let port: String = port.chars().take(15).collect();
    let mtu = mtu.to_string();
    run(
        "ip",
        &[
            "-n", sw, "link", "add", &port, "mtu", &mtu, "type", "veth", "peer", "name", ifname,
            "mtu", &mtu, "netns", ns,
        ],
    )?;
    run("ip", &["-n", sw, "link", "set", &port, "master", br, "up"])?;
    run("ip", &["-n", ns, "link", "set", ifname, "up"]).map(|_| ())
}

/// Adds address `a/prefix` to `ifname` in `ns` (IPv6 without duplicate address detection).
pub(crate) fn addr(ns: &str, ifname: &str, a: std::net::IpAddr, prefix: u8) -> Result<(), String> {
    let cidr = format!("{a}/{prefix}");
    let mut args = vec!["-n", ns, "addr", "add", cidr.as_str(), "dev", ifname];
    if a.is_ipv6() {
        args.push("nodad");
    }
    run("ip", &args).map(|_| ())
}

/// Runs `tool -n ns -batch -` (`ip` or `bridge`) with `text` on its standard input. `what`
/// names the batch in the error (` (neighbours)`), which also quotes the batch.
pub(crate) fn batch(tool: &str, ns: &str, text: &str, what: &str) -> Result<(), String> {
    trace(tool, &["-n", ns, "-batch", "-"]);
    let mut child = Command::new(tool)
        .args(["-n", ns, "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{tool} -batch: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{tool} -n {ns} -batch -`{what} failed: {}\n{text}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `ip netns exec ns args…` from directory `dir`: its standard output and standard error
/// when it exits 0.
///
/// # Errors
/// It could not start, or exited non-zero (the command, its status and its stderr; not the
/// namespace, whose name is the run's: findings quote this).
pub(crate) fn exec_in(ns: &str, args: &[&str], dir: &Path) -> Result<(String, String), String> {
    let mut full = vec!["netns", "exec", ns];
    full.extend_from_slice(args);
    trace("ip", &full);
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), stderr))
    } else {
        Err(format!(
            "`{}` exited {}: {}",
            args.join(" "),
            out.status,
            stderr.trim()
        ))
    }
}

/// Starts the watchdog of a run: a process in its own session that outlives this one and, once
/// process `pid` is gone (however it went), kills what runs in the run's namespaces (names
/// `<prefix>-…`), deletes them and removes the scratch directory `dir`.
pub(crate) fn spawn_watchdog(pid: u32, prefix: &str, dir: &Path) -> Option<Child> {
    Command::new("setsid")
        .args([
            "sh",
            "-c",
            "while kill -0 \"$1\" 2>/dev/null; do sleep 1; done; for n in $(ip netns list | cut -d' ' -f1); do case $n in \"$2\"-*) for p in $(ip netns pids \"$n\"); do kill -9 \"$p\"; done; ip netns del \"$n\" ;; esac; done; rm -rf \"$3\"",
            "watchdog",
            &pid.to_string(),
            prefix,
            &dir.display().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}
