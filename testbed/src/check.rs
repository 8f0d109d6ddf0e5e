//! The proof run on a built testbed: the mesh (MS964, [`crate::reach`]), the port matrix
//! against each node's firewall script (MS961, MS962), the scripts themselves (MS965) and the
//! systemd drop-ins (MS966).
//!
//! The flows are the cluster's needed flows, dialed at the address the bundle's
//! `config.yaml` gives the dialed node (`node-ip`): a config that sets an address no node has
//! breaks every flow to it. Order, in one set of namespaces:
//! 0. every node pings every other node's mesh addresses over WireGuard (MS964); a flow to an
//!    address its source does not reach is not probed (the MS964 finding stands for it), and
//!    the pings run again after step 2's scripts;
//! 1. bare hosts, no script: every probe must pass (a needed flow that does not is MS961,
//!    decided by the dialed node's `config.yaml`; any other is the testbed's own failure);
//! 2. each node's `cluster/firewall/<node>.sh`, twice (MS965 on failure or when the second run
//!    leaves other rules); then every probe: needed flows and SSH/mesh port pass (MS961),
//!    cluster ports answer no outsider (MS962);
//! 3. `--remove` must give the bare host back (MS965);
//! 4. default-deny hosts (INPUT DROP, SSH open), the script once: the needed flows pass
//!    (MS961); `--remove` gives that host back (MS965).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use meshspec::Cluster;
use meshspec::Code;
use meshspec::render::firewall::{self, CHAIN};

use crate::bundle::{BundleDir, Place};
use crate::cmd::trace;
use crate::findings::Finding;
use crate::{HostMode, Probe, Testbed, port_label, reach};

/// What to check and how patiently.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Only probes from or to these nodes (all when empty).
    pub nodes: Vec<String>,
    /// The first timeout of a probe, in seconds.
    pub timeout_s: f64,
    /// The second timeout of a probe that must pass and got no answer.
    pub retry_timeout_s: f64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            timeout_s: 0.7,
            retry_timeout_s: 3.0,
        }
    }
}

/// How much a run probed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Needed flows (each port of a range once).
    pub needed: usize,
    /// Outsider probes of closed cluster ports.
    pub exposed: usize,
    /// Outsider probes of SSH and the mesh's port.
    pub never_cut: usize,
    /// Firewall script runs.
    pub scripts: usize,
    /// Drop-ins verified.
    pub units: usize,
    /// Pings of another node's mesh address: on bare hosts, and those that passed again after
    /// the scripts.
    pub mesh_pings: usize,
    /// Pod pairs (and families) whose MTU was probed.
    pub mtu_pairs: usize,
}

/// Where the bundle moved a dialed address away from the spec's, and why.
#[derive(Debug, Clone)]
struct Moved {
    place: Place,
    why: String,
}

/// A needed flow as probed: who, what, and where the bundle decides it.
struct Needed {
    label: String,
    to: String,
    probe: Probe,
    /// The dialed address came from `config.yaml` and differs from the spec's: where and why.
    moved: Option<Moved>,
    /// The address the spec gives the dialed node.
    spec_addr: IpAddr,
}

pub(crate) fn wanted(opts: &CheckOptions, names: &[&str]) -> bool {
    opts.nodes.is_empty() || names.iter().any(|n| opts.nodes.iter().any(|x| x == n))
}

fn needed(tb: &Testbed, c: &Cluster, bd: &BundleDir, opts: &CheckOptions) -> Vec<Needed> {
    let mut out = Vec::new();
    for f in firewall::needed_flows(c) {
        if !wanted(opts, &[&f.from, &f.to]) {
            continue;
        }
        let Some(from) = tb.node(&f.from) else {
            continue;
        };
        let api = f.port.from == meshspec::cluster::API_PORT;
        let (ips, line) = bd.node_ips(&f.to);
        let mut dst = f.to_addr;
        let mut moved = None;
        let same = |a: &&IpAddr| a.is_ipv4() == f.to_addr.is_ipv4();
        if !api
            && !f.port.is_tunnel()
            && !ips.contains(&f.to_addr)
            && let Some(a) = ips.iter().find(same)
        {
            dst = *a;
            moved = Some(Moved {
                place: Place {
                    file: BundleDir::config_path(&f.to),
                    line,
                },
                why: format!("{}'s config.yaml sets node-ip {a}", f.to),
            });
        }
        // flannel's tunnel endpoint: the address on `flannel-iface` (the mesh interface, or
        // another one: the node's LAN), else the node-ip
        if f.port.is_tunnel()
            && c.cni.flannel().is_some()
            && let Some(to) = tb.node(&f.to)
        {
            let (iface, iface_line) = bd.flannel_iface(&f.to);
            let (endpoints, why, at) = match &iface {
                Some(i) if *i == c.mesh.interface => (
                    to.mesh.clone(),
                    format!("{}'s config.yaml sets flannel-iface {i}", f.to),
                    iface_line,
                ),
                Some(i) => (
                    to.lan.clone(),
                    format!(
                        "{}'s config.yaml sets flannel-iface {i}, not the mesh interface {}: the tunnel endpoint is its LAN address",
                        f.to, c.mesh.interface
                    ),
                    iface_line,
                ),
                None => (
                    ips.clone(),
                    format!(
                        "{}'s config.yaml sets no flannel-iface: the tunnel endpoint is its node-ip",
                        f.to
                    ),
                    line,
                ),
            };
            if let Some(a) = endpoints.iter().find(same)
                && *a != f.to_addr
            {
                dst = *a;
                moved = Some(Moved {
                    place: Place {
                        file: BundleDir::config_path(&f.to),
                        line: at,
                    },
                    why: format!("{why} ({a})"),
                });
            }
        }
        for port in f.port.from..=f.port.to {
            out.push(Needed {
                label: format!(
                    "{} ({}) -> {} {dst} {} over the {} ({})",
                    f.from,
                    f.src,
                    f.to,
                    port_label(f.port.proto, port),
                    match tb.node(&f.to) {
                        Some(t) if t.lan.contains(&dst) => "LAN",
                        Some(t) if t.mesh.contains(&dst) => "mesh",
                        _ if f.over_mesh => "mesh",
                        _ => "LAN",
                    },
                    f.port.why
                ),
                to: f.to.clone(),
                probe: Probe {
                    from_ns: from.ns.clone(),
                    src: Some(f.src),
                    proto: f.port.proto,
                    dst,
                    port,
                },
                moved: moved.clone(),
                spec_addr: f.to_addr,
            });
        }
    }
    out
}

/// The node that holds `addr` in the testbed.
fn node_at(tb: &Testbed, addr: IpAddr) -> Option<&str> {
    tb.nodes
        .iter()
        .find(|n| n.lan.contains(&addr) || n.mesh.contains(&addr) || n.wan.contains(&addr))
        .map(|n| n.name.as_str())
}

/// The first line of `path` that matches `port` in a `--dport A` or `--dport A:B` and ends
/// in `-j <target>`.
fn dport_line(bd: &BundleDir, path: &str, port: u16, target: &str) -> Place {
    let text = bd.text(path).unwrap_or_default();
    let hit = text.lines().position(|l| {
        let jump = format!("-j {target}");
        if !l.contains(&jump) {
            return false;
        }
        l.split("--dport ").skip(1).any(|rest| {
            let spec: String = rest
                .chars()
                .take_while(|ch| ch.is_ascii_digit() || *ch == ':')
                .collect();
            let mut it = spec.split(':').filter_map(|x| x.parse::<u16>().ok());
            match (it.next(), it.next()) {
                (Some(a), Some(b)) => (a..=b).contains(&port),
                (Some(a), None) => a == port,
                _ => false,
            }
        })
    });
    Place {
        file: path.to_owned(),
        line: hit.map(|i| i + 1),
    }
}

fn script_path(node: &str) -> String {
    format!("cluster/firewall/{node}.sh")
}

/// Probes; those that must pass and got no answer run again, with the longer timeout, then
/// twice that.
fn probe_twice(
    tb: &Testbed,
    probes: &[Probe],
    must_pass: &[bool],
    opts: &CheckOptions,
) -> Result<Vec<bool>, String> {
    let mut got = tb.probe(probes, opts.timeout_s)?;
    // a loaded machine can be slower than the first timeout; a closed port stays closed
    for timeout in [opts.retry_timeout_s, 2.0 * opts.retry_timeout_s] {
        let again: Vec<usize> = (0..probes.len())
            .filter(|i| must_pass[*i] && !got[*i])
            .collect();
        if again.is_empty() {
            break;
        }
        let list: Vec<Probe> = again.iter().map(|i| probes[*i].clone()).collect();
        let next = tb.probe(&list, timeout)?;
        for (i, ok) in again.iter().zip(next) {
            got[*i] = ok;
        }
    }
    Ok(got)
}

/// Runs the proofs on a built testbed; the findings, sorted and without duplicates, and the
/// counts. `progress` gets one line per step.
///
/// # Errors
/// The testbed itself failed (a command that could not run, a probe that fails on a bare host
/// for no reason of the bundle's).
pub fn check(
    tb: &Testbed,
    c: &Cluster,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<(Vec<Finding>, Counts), String> {
    let bd = BundleDir::new(&tb.bundle_dir);
    let mut found: BTreeSet<Finding> = BTreeSet::new();
    // each progress line says how long its step took
    let mut t = std::time::Instant::now();
    let needed = needed(tb, c, &bd, opts);
    // 0. the mesh (MS964): a node that does not reach a peer's mesh address is reported
    // here, and the flows to that address are not probed again
    let pings = reach::pings(tb, opts);
    let got_pings = reach::run(tb, &pings, None, opts)?;
    reach::findings(tb, c, &bd, &pings, &got_pings, None, &mut found);
    let mesh_failed = reach::failed(&pings, &got_pings);
    let unreachable: BTreeSet<IpAddr> = mesh_failed.iter().map(|x| x.1).collect();
    progress(&format!(
        "pinged {} mesh addresses over WireGuard ({} failed) in {}",
        pings.len(),
        mesh_failed.len(),
        lap(&mut t)
    ));
    let keep = |p: &(String, Probe)| {
        !unreachable.contains(&p.1.dst) && node_at(tb, p.1.dst).is_some_and(|n| wanted(opts, &[n]))
    };
    let exposed: Vec<(String, Probe)> = tb.exposed(c).into_iter().filter(keep).collect();
    let never_cut: Vec<(String, Probe)> = tb.never_cut(c).into_iter().filter(keep).collect();
    let mut counts = Counts {
        needed: needed.len(),
        exposed: exposed.len(),
        never_cut: never_cut.len(),
        mesh_pings: pings.len(),
        ..Counts::default()
    };
    let all: Vec<Probe> = needed
        .iter()
        .map(|n| n.probe.clone())
        .chain(exposed.iter().chain(&never_cut).map(|(_, p)| p.clone()))
        .collect();
    // a flow to a mesh address its source does not reach is reported as MS964, not probed
    let mut dead: Vec<bool> = needed
        .iter()
        .map(|n| mesh_failed.contains(&(n.probe.from_ns.clone(), n.probe.dst)))
        .collect();
    // 1. bare hosts, before any script
    let must: Vec<bool> = dead
        .iter()
        .map(|d| !d)
        .chain(std::iter::repeat_n(true, all.len() - needed.len()))
        .collect();
    let got = probe_twice(tb, &all, &must, opts)?;
    for (i, (n, ok)) in needed.iter().zip(&got).enumerate() {
        if *ok {
            continue;
        }
        if dead[i] {
            continue;
        }
        let Some(moved) = &n.moved else {
            return Err(format!(
                "the testbed is broken: {} gets no answer before any firewall runs",
                n.label
            ));
        };
        dead[i] = true;
        found.insert(Finding {
            code: Code::TestbedFlowBlocked,
            node: n.to.clone(),
            what: n.label.clone(),
            expected: format!(
                "an answer from {}, which the spec puts at {}",
                n.to, n.spec_addr
            ),
            observed: format!(
                "no answer before any firewall runs: {}, which this peer does not reach",
                moved.why
            ),
            place: moved.place.clone(),
        });
    }
    if let Some(((label, _), _)) = exposed
        .iter()
        .chain(&never_cut)
        .zip(&got[needed.len()..])
        .find(|(_, ok)| !**ok)
    {
        return Err(format!(
            "the testbed is broken: {label} gets no answer before any firewall runs"
        ));
    }
    // the path MTU of the layers under the tunnel, while no firewall filters ICMP echo
    let layers = crate::mtu::measure_layers(tb, &|names| wanted(opts, names))?;
    progress(&format!(
        "probed {} flows on bare hosts ({} needed, {} outsider) in {}",
        all.len(),
        needed.len(),
        exposed.len() + never_cut.len(),
        lap(&mut t)
    ));
    // 2. the scripts, twice, on bare hosts
    let bare_rules = saved_all(tb)?;
    let scripts_ok = run_scripts(tb, &bd, 2, &mut found, &mut counts)?;
    let must_pass: Vec<bool> = dead
        .iter()
        .map(|d| !d)
        .chain(exposed.iter().map(|_| false))
        .chain(never_cut.iter().map(|_| true))
        .collect();
    let got = probe_twice(tb, &all, &must_pass, opts)?;
    blocked(
        &needed,
        &dead,
        &got,
        &bd,
        "a host without a firewall",
        &mut found,
    );
    // a flow blocked here is reported once, not again on the default-deny host
    for (d, ok) in dead.iter_mut().zip(&got) {
        *d |= !*ok;
    }
    let (_, rest) = got.split_at(needed.len());
    let (got_exposed, got_never_cut) = rest.split_at(exposed.len());
    for ((label, p), ok) in exposed.iter().zip(got_exposed) {
        let Some(node) = node_at(tb, p.dst).filter(|_| *ok) else {
            continue;
        };
        let script = script_path(node);
        let place = dport_line(&bd, &script, p.port, "ACCEPT");
        found.insert(Finding {
            code: Code::TestbedFlowExposed,
            node: node.to_owned(),
            what: label.clone(),
            expected: "no answer: the cluster's port is closed to hosts that are not nodes".into(),
            observed: format!("{} answered", p.dst),
            place,
        });
    }
    for ((label, p), ok) in never_cut.iter().zip(got_never_cut) {
        let Some(node) = node_at(tb, p.dst).filter(|_| !*ok) else {
            continue;
        };
        let script = script_path(node);
        found.insert(Finding {
            code: Code::TestbedFlowBlocked,
            node: node.to_owned(),
            what: label.clone(),
            expected: "an answer: the firewall never cuts SSH nor the mesh's own port".into(),
            observed: "no answer after the firewall script ran".into(),
            place: dport_line(&bd, &script, p.port, "DROP"),
        });
    }
    progress(&format!(
        "ran {} firewall scripts twice and probed {} flows in {}",
        scripts_ok,
        all.len(),
        lap(&mut t)
    ));
    // again after the scripts, those that passed on the bare hosts
    counts.mesh_pings += got_pings.iter().filter(|ok| **ok).count();
    let got_pings = reach::run(tb, &pings, Some(&got_pings), opts)?;
    reach::findings(
        tb,
        c,
        &bd,
        &pings,
        &got_pings,
        Some(&mesh_failed),
        &mut found,
    );
    progress(&format!(
        "pinged {} mesh addresses after the firewall scripts in {}",
        pings.len(),
        lap(&mut t)
    ));
    // 3. --remove gives the bare host back
    remove_scripts(tb, &bd, &bare_rules, &mut found)?;
    // 4. default-deny hosts
    tb.host_mode(HostMode::DefaultDeny)?;
    let deny_rules = saved_all(tb)?;
    run_scripts(tb, &bd, 1, &mut found, &mut counts)?;
    let list: Vec<Probe> = needed.iter().map(|n| n.probe.clone()).collect();
    let must: Vec<bool> = dead.iter().map(|d| !d).collect();
    let got = probe_twice(tb, &list, &must, opts)?;
    blocked(
        &needed,
        &dead,
        &got,
        &bd,
        "a default-deny host (INPUT DROP, SSH open)",
        &mut found,
    );
    progress(&format!(
        "ran the firewall scripts on default-deny hosts and probed {} needed flows in {}",
        list.len(),
        lap(&mut t)
    ));
    // the MTU through the CNI's data path, the scripts still in place (VXLAN must pass them)
    let report = crate::mtu::prove(
        tb,
        c,
        &bd,
        &layers,
        &|names| wanted(opts, names),
        &mut found,
        progress,
    )?;
    counts.mtu_pairs = report.pairs.len();
    progress(&report.summary());
    tb.set_mtu_report(report);
    remove_scripts(tb, &bd, &deny_rules, &mut found)?;
    lap(&mut t);
    // units
    let units = verify_units(tb, c, &bd, opts, &mut found)?;
    counts.units = units;
    if units > 0 {
        progress(&format!(
            "verified {units} systemd drop-ins in {}",
            lap(&mut t)
        ));
    }
    Ok((found.into_iter().collect(), counts))
}

/// The time since `t` (`0.4s`); `t` starts again.
fn lap(t: &mut std::time::Instant) -> String {
    let s = format!("{:.1}s", t.elapsed().as_secs_f64());
    *t = std::time::Instant::now();
    s
}

fn blocked(
    needed: &[Needed],
    dead: &[bool],
    got: &[bool],
    bd: &BundleDir,
    host: &str,
    found: &mut BTreeSet<Finding>,
) {
    for ((n, ok), dead) in needed.iter().zip(got).zip(dead) {
        if *ok || *dead {
            continue;
        }
        let peers = "cluster/firewall/peers.txt";
        let src = n.probe.src.map(|s| s.to_string()).unwrap_or_default();
        let listed = bd
            .text(peers)
            .is_some_and(|t| t.lines().any(|l| l.split_whitespace().nth(1) == Some(&src)));
        let (observed, place) = if let Some(moved) = &n.moved {
            (
                format!(
                    "no answer after {}'s firewall script ran on {host}: {}, where the firewall does not expect it",
                    n.to, moved.why
                ),
                moved.place.clone(),
            )
        } else if listed {
            (
                format!("no answer after {}'s firewall script ran on {host}", n.to),
                dport_line(bd, &script_path(&n.to), n.probe.port, "DROP"),
            )
        } else {
            (
                format!(
                    "no answer after {}'s firewall script ran on {host}: peers.txt does not list {src}",
                    n.to
                ),
                Place {
                    file: peers.into(),
                    line: None,
                },
            )
        };
        found.insert(Finding {
            code: Code::TestbedFlowBlocked,
            node: n.to.clone(),
            what: n.label.clone(),
            expected: "an answer: the cluster needs this flow".into(),
            observed,
            place,
        });
    }
}

/// Runs every node's script `times` times, the nodes in parallel; MS965 when one fails or a
/// second run changes the rules. Returns how many nodes' scripts ran clean.
fn run_scripts(
    tb: &Testbed,
    bd: &BundleDir,
    times: usize,
    found: &mut BTreeSet<Finding>,
    counts: &mut Counts,
) -> Result<usize, String> {
    let mut clean = 0;
    for r in par_map(&tb.nodes, |n| run_script(tb, bd, n, times)) {
        let (fs, runs, ok) = r?;
        found.extend(fs);
        counts.scripts += runs;
        clean += usize::from(ok);
    }
    Ok(clean)
}

/// One node's script `times` times: the findings, how many runs, whether all was clean.
fn run_script(
    tb: &Testbed,
    bd: &BundleDir,
    n: &crate::NodeNs,
    times: usize,
) -> Result<(Vec<Finding>, usize, bool), String> {
    let script = script_path(&n.name);
    let mut found = Vec::new();
    if bd.text(&script).is_none() {
        found.push(Finding {
            code: Code::TestbedScript,
            node: n.name.clone(),
            what: format!("sh {script}"),
            expected: "the node's firewall script".into(),
            observed: "the file is missing from the bundle".into(),
            place: Place {
                file: script,
                line: None,
            },
        });
        return Ok((found, 0, false));
    }
    let mut first = None;
    let mut runs = 0;
    for round in 0..times {
        runs += 1;
        match tb.exec_full(&n.ns, &["sh", &script]) {
            Ok(stderr) if stderr.trim().is_empty() => {}
            Ok(stderr) => {
                found.push(script_finding(
                    n,
                    &script,
                    &format!("wrote to stderr: {}", stderr.trim()),
                ));
            }
            Err(e) => {
                found.push(script_finding(n, &script, &e));
                break;
            }
        }
        if times < 2 {
            continue;
        }
        let saved = tb.saved_rules(&n.ns)?;
        if round == 0 {
            first = Some(saved);
        } else if first.as_ref() != Some(&saved) {
            let count = |s: &str| s.lines().filter(|l| l.contains(CHAIN)).count();
            found.push(script_finding(
                n,
                &script,
                &format!(
                    "not idempotent: {} rules of {CHAIN} after the first run, {} after the second",
                    first.as_deref().map_or(0, count),
                    count(&saved)
                ),
            ));
        }
    }
    let ok = found.is_empty();
    Ok((found, runs, ok))
}

/// `f` on every item, on up to 8 threads; the results in item order.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let out = std::sync::Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..items.len().min(8) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(item) = items.get(i) else {
                        break;
                    };
                    let r = f(item);
                    if let Ok(mut o) = out.lock() {
                        o.push((i, r));
                    }
                }
            });
        }
    });
    let mut out = out.into_inner().unwrap_or_default();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Every node's `iptables-save` and `ip6tables-save`, the nodes in parallel.
fn saved_all(tb: &Testbed) -> Result<Vec<String>, String> {
    par_map(&tb.nodes, |n| tb.saved_rules(&n.ns))
        .into_iter()
        .collect()
}

fn script_finding(n: &crate::NodeNs, script: &str, observed: &str) -> Finding {
    Finding {
        code: Code::TestbedScript,
        node: n.name.clone(),
        what: format!("sh {script}"),
        expected: "exit 0, nothing on stderr, the same rules when run again".into(),
        observed: observed.to_owned(),
        place: Place {
            file: script.to_owned(),
            line: None,
        },
    }
}

fn remove_scripts(
    tb: &Testbed,
    bd: &BundleDir,
    before: &[String],
    found: &mut BTreeSet<Finding>,
) -> Result<(), String> {
    let pairs: Vec<(&crate::NodeNs, &String)> = tb.nodes.iter().zip(before).collect();
    let results = par_map(&pairs, |(n, before)| -> Result<Option<Finding>, String> {
        let script = script_path(&n.name);
        if bd.text(&script).is_none() {
            return Ok(None);
        }
        if let Err(e) = tb.exec_full(&n.ns, &["sh", &script, "--remove"]) {
            return Ok(Some(script_finding(n, &format!("{script} --remove"), &e)));
        }
        let after = tb.saved_rules(&n.ns)?;
        Ok((after != **before).then(|| {
            script_finding(
                n,
                &format!("{script} --remove"),
                &format!(
                    "the host's rules differ from before the script ran ({} lines before, {} after)",
                    before.lines().count(),
                    after.lines().count()
                ),
            )
        }))
    });
    for r in results {
        found.extend(r?);
    }
    Ok(())
}

/// `systemd-analyze verify` of each node's rendered drop-ins on a stand-in of the unit they
/// extend (`ExecStart=/bin/true`) in a private unit directory. Skipped (0) when
/// `systemd-analyze` is missing.
fn verify_units(
    tb: &Testbed,
    _c: &Cluster,
    bd: &BundleDir,
    opts: &CheckOptions,
    found: &mut BTreeSet<Finding>,
) -> Result<usize, String> {
    let have = Command::new("systemd-analyze")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        return Ok(0);
    }
    let mut verified = 0;
    let mut jobs: Vec<(&crate::NodeNs, String, String, Vec<String>)> = Vec::new();
    for n in &tb.nodes {
        if !wanted(opts, &[&n.name]) {
            continue;
        }
        let base = format!("nodes/{}/etc/systemd/system", n.name);
        let Ok(dirs) = std::fs::read_dir(tb.bundle_dir.join(&base)) else {
            continue;
        };
        let mut dropins: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in dirs.flatten() {
            let name = d.file_name().to_string_lossy().into_owned();
            let Some(unit) = name.strip_suffix(".d") else {
                continue;
            };
            let Ok(files) = std::fs::read_dir(d.path()) else {
                continue;
            };
            for f in files.flatten() {
                let fname = f.file_name().to_string_lossy().into_owned();
                if fname.ends_with(".conf") {
                    dropins
                        .entry(unit.to_owned())
                        .or_default()
                        .push(format!("{base}/{name}/{fname}"));
                }
            }
        }
        for (unit, files) in dropins {
            jobs.push((n, base.clone(), unit, files));
        }
    }
    let results = par_map(&jobs, |(n, base, unit, files)| {
        verify_unit(tb, bd, n, base, unit, files)
    });
    for r in results {
        let (count, finding) = r?;
        verified += count;
        found.extend(finding);
    }
    Ok(verified)
}

/// `systemd-analyze verify` of one unit with its drop-ins `files` (node `n`, under `base`):
/// how many drop-ins, and the finding when it complains.
fn verify_unit(
    tb: &Testbed,
    bd: &BundleDir,
    n: &crate::NodeNs,
    base: &str,
    unit: &str,
    files: &[String],
) -> Result<(usize, Option<Finding>), String> {
    let mut finding = None;
    let tmp = tb.scratch().join(format!("units-{}-{unit}", n.name));
    let unit_dir = tmp.join("system");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(unit_dir.join(format!("{unit}.d"))).map_err(|e| e.to_string())?;
    // the stand-ins: the unit itself and every unit the drop-ins name
    let mut names: BTreeSet<String> = BTreeSet::new();
    names.insert(unit.to_owned());
    for f in files {
        let text = bd.text(f).unwrap_or_default();
        for l in text.lines() {
            if let Some((k, v)) = l.split_once('=')
                && ["After", "Wants", "Requires", "PartOf", "BindsTo", "Before"].contains(&k.trim())
            {
                names.extend(
                    v.split_whitespace()
                        .filter(|u| u.ends_with(".service"))
                        .map(str::to_owned),
                );
            }
        }
        let fname = Path::new(f).file_name().unwrap_or_default();
        std::fs::write(unit_dir.join(format!("{unit}.d")).join(fname), text)
            .map_err(|e| e.to_string())?;
    }
    for u in &names {
        std::fs::write(
            unit_dir.join(u),
            "[Unit]\nDescription=meshspec testbed stand-in\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
        )
        .map_err(|e| e.to_string())?;
    }
    let path = unit_dir.join(unit);
    let path_s = path.display().to_string();
    let env_path = format!("{}:", unit_dir.display());
    trace(
        "env",
        &[
            &format!("SYSTEMD_UNIT_PATH={env_path}"),
            "systemd-analyze",
            "verify",
            "--man=no",
            &path_s,
        ],
    );
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no", &path_s])
        .env("SYSTEMD_UNIT_PATH", &env_path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("systemd-analyze: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let relevant: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            files.iter().any(|f| {
                l.contains(
                    Path::new(f)
                        .file_name()
                        .and_then(|x| x.to_str())
                        .unwrap_or("\u{0}"),
                )
            }) || l.contains(unit)
        })
        .collect();
    // `<tmp>/system/<unit>.d/<file>:<line>: message` back to the bundle's path and line
    let tmp_dir = format!("{}/", unit_dir.display());
    let mut place = Place {
        file: files.first().cloned().unwrap_or_default(),
        line: None,
    };
    let relevant: Vec<String> = relevant
        .iter()
        .map(|l| {
            let Some(rest) = l.strip_prefix(&tmp_dir) else {
                return (*l).to_owned();
            };
            let mut parts = rest.splitn(3, ':');
            let (file, line) = (parts.next().unwrap_or_default(), parts.next());
            let in_bundle = format!("{base}/{file}");
            if place.line.is_none() && files.contains(&in_bundle) {
                place = Place {
                    file: in_bundle.clone(),
                    line: line.and_then(|x| x.parse().ok()),
                };
            }
            format!("{in_bundle}:{}", rest.split_once(':').map_or("", |x| x.1))
        })
        .collect();
    if !out.status.success() || !relevant.is_empty() {
        finding = Some(Finding {
            code: Code::TestbedUnit,
            node: n.name.clone(),
            what: format!("systemd-analyze verify {unit} with its drop-ins"),
            expected: "no complaint".into(),
            observed: if relevant.is_empty() {
                stderr.trim().to_owned()
            } else {
                relevant.join("; ")
            },
            place,
        });
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok((files.len(), finding))
}
