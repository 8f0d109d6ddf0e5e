//! MS963: the MTU, end to end, on the CNI's data path ([`crate::datapath`]).
//!
//! For every ordered pair of pods (all pairs up to [`ALL_PAIRS_UP_TO`] nodes, else each node to
//! the next [`SAMPLE_PEERS`] in node order, so every node sends and receives), per family:
//! a DF ping of exactly the pod's path MTU passes, one byte more is refused with an error
//! (local "message too long", ICMP "fragmentation needed" / "packet too big"), never a silent
//! timeout, and 1 MiB over TCP arrives. The sources take turns; around each turn every node's
//! `FragCreates` / `Ip6FragCreates` is read: a tunnel packet that passed only because a node
//! fragmented it (the VXLAN outer header carries no DF) is a finding too, naming that node.
//! Each node also measures the path MTU of its underlay (a LAN peer) and its mesh (a mesh peer)
//! by DF pings; the report sets them beside the computed stack (PLAN.md's).

use std::collections::BTreeSet;
use std::net::IpAddr;

use meshspec::{Cluster, Code};

use crate::Testbed;
use crate::bundle::{BundleDir, Place};
use crate::datapath::{self, Built, PodNode};
use crate::findings::Finding;

/// Every ordered pair up to this many nodes with a pod.
pub const ALL_PAIRS_UP_TO: usize = 12;
/// Above it, each node probes this many next nodes.
pub const SAMPLE_PEERS: usize = 3;
const SINK_PORT: u16 = 15201;

/// One pair and family, measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairMtu {
    /// Source node.
    pub from: String,
    /// Destination node.
    pub to: String,
    /// 4 or 6.
    pub family: u8,
    /// The pod MTU of the core's stack (PLAN.md), the smaller of the two nodes'.
    pub computed: u32,
    /// The pod path MTU the bundle configures (what was probed).
    pub configured: u32,
    /// The largest DF packet that passed (`None`: none did).
    pub measured: Option<u32>,
    /// Packets fragmented by a node while this source probed.
    pub fragmented: bool,
    /// Whether 1 MiB over TCP arrived.
    pub tcp: bool,
}

/// One node's layers: computed and measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLayers {
    /// The node.
    pub node: String,
    /// Underlay: computed, measured to a LAN peer.
    pub underlay: (u32, Option<u32>),
    /// Mesh (when the tunnel rides it): computed, measured to a mesh peer.
    pub mesh: Option<(u32, Option<u32>)>,
    /// Tunnel device: its MTU as built, and how it came about.
    pub tunnel: (String, u32, String),
    /// Pod: computed, configured.
    pub pod: (u32, u32),
}

/// What the MTU proof measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MtuReport {
    /// Why there is no data path (not modelled), when so.
    pub skipped: Option<String>,
    /// A note on the model (Geneve as VXLAN).
    pub note: Option<String>,
    /// Per pair and family.
    pub pairs: Vec<PairMtu>,
    /// Per node.
    pub layers: Vec<NodeLayers>,
    /// Whether the pairs are a sample.
    pub sampled: bool,
}

impl MtuReport {
    /// The report as JSON (the `mtu` section).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "skipped": self.skipped,
            "note": self.note,
            "sampled": self.sampled,
            "nodes": self.layers.iter().map(|l| serde_json::json!({
                "node": l.node,
                "underlay": {"computed": l.underlay.0, "measured": l.underlay.1},
                "mesh": l.mesh.map(|m| serde_json::json!({"computed": m.0, "measured": m.1})),
                "tunnel": {"device": l.tunnel.0, "mtu": l.tunnel.1, "from": l.tunnel.2},
                "pod": {"computed": l.pod.0, "configured": l.pod.1},
            })).collect::<Vec<_>>(),
            "pairs": self.pairs.iter().map(|p| serde_json::json!({
                "from": p.from, "to": p.to, "family": format!("ipv{}", p.family),
                "computed": p.computed, "configured": p.configured, "measured": p.measured,
                "fragmented": p.fragmented, "tcp_1mib": p.tcp,
            })).collect::<Vec<_>>(),
        })
    }

    /// One line: pods computed vs measured per family, pairs probed.
    #[must_use]
    pub fn summary(&self) -> String {
        if let Some(why) = &self.skipped {
            return format!("mtu: not probed ({why})");
        }
        let mut parts = Vec::new();
        for fam in [4u8, 6] {
            let ps: Vec<&PairMtu> = self.pairs.iter().filter(|p| p.family == fam).collect();
            if ps.is_empty() {
                continue;
            }
            let span = |v: Vec<Option<u32>>| {
                let got: Vec<u32> = v.iter().flatten().copied().collect();
                let (Some(lo), Some(hi)) = (got.iter().min(), got.iter().max()) else {
                    return "none".to_owned();
                };
                let all = if got.len() < v.len() {
                    " (some none)"
                } else {
                    ""
                };
                if lo == hi {
                    format!("{lo}{all}")
                } else {
                    format!("{lo}-{hi}{all}")
                }
            };
            parts.push(format!(
                "IPv{fam} pods computed {}, measured {} on {} pairs{}",
                span(ps.iter().map(|p| Some(p.computed)).collect()),
                span(ps.iter().map(|p| p.measured).collect()),
                ps.len(),
                if self.sampled { " (sampled)" } else { "" }
            ));
        }
        format!("mtu: {}", parts.join("; "))
    }
}

/// The pairs to probe, by index into `nodes`.
fn pairs(n: usize) -> (Vec<(usize, usize)>, bool) {
    if n <= ALL_PAIRS_UP_TO {
        let all = (0..n)
            .flat_map(|a| (0..n).filter(move |b| *b != a).map(move |b| (a, b)))
            .collect();
        return (all, false);
    }
    let some = (0..n)
        .flat_map(|a| (1..=SAMPLE_PEERS).map(move |k| (a, (a + k) % n)))
        .collect();
    (some, true)
}

/// The agent's `pmtu` or `mtu` request from namespace `ns` with `entries`; its JSON answer.
fn driver(
    tb: &Testbed,
    ns: &str,
    mode: &str,
    entries: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    let n = entries.as_array().map_or(0, Vec::len).to_string();
    tb.agent_call(
        mode,
        serde_json::json!({"ns": ns, "entries": entries}),
        &["from", ns, &n, "destinations"],
    )
    .map_err(|e| format!("the MTU prober in {ns}: {e}"))
}

/// `FragCreates + Ip6FragCreates` of a namespace.
fn frag_creates(tb: &Testbed, ns: &str) -> u64 {
    tb.agent_call("frags", serde_json::json!({ "ns": ns }), &[ns])
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
}

/// The pods' TCP receivers (in the agent); closed on drop.
struct Sinks<'a>(&'a Testbed);

impl Drop for Sinks<'_> {
    fn drop(&mut self) {
        let _ = self.0.agent_call("unsink", serde_json::json!({}), &[]);
    }
}

fn start_sinks<'a>(tb: &'a Testbed, built: &Built) -> Result<Sinks<'a>, String> {
    let sinks = Sinks(tb);
    let port = SINK_PORT.to_string();
    for p in &built.nodes {
        tb.agent_call(
            "sink",
            serde_json::json!({"ns": p.pod_ns, "port": SINK_PORT}),
            &[&p.pod_ns, &port],
        )
        .map_err(|e| format!("a pod's TCP receiver did not start: {e}"))?;
    }
    Ok(sinks)
}

fn mtu_finding(
    node: &str,
    what: String,
    expected: String,
    observed: String,
    place: &Place,
) -> Finding {
    Finding {
        code: Code::TestbedMtu,
        node: node.to_owned(),
        what,
        expected,
        observed,
        place: place.clone(),
    }
}

/// (destination index, family, configured size, computed size) of one probe.
type Meta = (usize, u8, u32, u32);
/// One source's turn: its index, its probes, their meta, the nodes that encapsulate meanwhile.
type Turn = (usize, Vec<serde_json::Value>, Vec<Meta>, Vec<usize>);
/// A turn's answers and the nodes that fragmented (index, how many).
type Outcome = (serde_json::Value, Vec<(usize, u64)>);

/// A node's measured path MTUs: to a LAN peer of its site (the underlay), to a mesh peer.
pub type Measured = (String, Option<u32>, Option<u32>);

/// Each node's path MTU to a LAN peer of its site and to a mesh peer, by DF pings (from far
/// above: the local error or ICMP "fragmentation needed" gives the next size), the nodes in
/// parallel. Runs on hosts without a firewall (a script need not open ICMP echo).
///
/// # Errors
/// A prober could not run.
pub fn measure_layers(
    tb: &Testbed,
    wanted: &dyn Fn(&[&str]) -> bool,
) -> Result<Vec<Measured>, String> {
    let jobs: Vec<&crate::NodeNs> = tb.nodes.iter().filter(|n| wanted(&[&n.name])).collect();
    let fam = |a: IpAddr| if a.is_ipv4() { 4 } else { 6 };
    let results: Vec<Result<Measured, String>> = std::thread::scope(|s| {
        let handles: Vec<_> =
            jobs.iter()
                .map(|tn| {
                    s.spawn(move || {
                        let lan = tb.nodes.iter().find(|o| {
                            o.name != tn.name
                                && o.site.is_some()
                                && o.site == tn.site
                                && !o.lan.is_empty()
                                && !tn.lan.is_empty()
                        });
                        let mesh = tb.nodes.iter().find(|o| {
                            o.name != tn.name && !o.mesh.is_empty() && !tn.mesh.is_empty()
                        });
                        let mut q = Vec::new();
                        for o in [lan.map(|o| o.lan[0]), mesh.map(|o| o.mesh[0])]
                            .into_iter()
                            .flatten()
                        {
                            q.push(serde_json::json!([fam(o), o.to_string(), 65000]));
                        }
                        let got = if q.is_empty() {
                            serde_json::json!([])
                        } else {
                            driver(tb, &tn.ns, "pmtu", &serde_json::Value::Array(q))?
                        };
                        let mut it = got.as_array().cloned().unwrap_or_default().into_iter();
                        let as_u32 = |v: Option<serde_json::Value>| {
                            v.and_then(|x| x.as_u64())
                                .and_then(|x| u32::try_from(x).ok())
                        };
                        let under = if lan.is_some() {
                            as_u32(it.next())
                        } else {
                            None
                        };
                        let over = if mesh.is_some() {
                            as_u32(it.next())
                        } else {
                            None
                        };
                        Ok((tn.name.clone(), under, over))
                    })
                })
                .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a prober thread panicked".into()))
            })
            .collect()
    });
    results.into_iter().collect()
}

/// The proof. Stops the listeners (the tunnel devices need their port), builds the data path,
/// probes; findings go to `found`.
///
/// # Errors
/// The testbed's own failure.
pub fn prove(
    tb: &Testbed,
    c: &Cluster,
    bd: &BundleDir,
    measured: &[Measured],
    wanted: &dyn Fn(&[&str]) -> bool,
    found: &mut BTreeSet<Finding>,
    progress: &mut dyn FnMut(&str),
) -> Result<MtuReport, String> {
    let plan = match &tb.datapath {
        Ok(p) => p.clone(),
        Err(why) => {
            progress(&format!("MTU proof skipped: {why}"));
            return Ok(MtuReport {
                skipped: Some(why.clone()),
                ..MtuReport::default()
            });
        }
    };
    tb.stop_listeners()?;
    let built = datapath::activate(tb, c, bd, &plan)?;
    for (node, why, place) in &built.broken {
        found.insert(mtu_finding(
            node,
            format!("{node}'s pod data path"),
            "a tunnel device on the interface the bundle names".into(),
            why.clone(),
            place,
        ));
    }
    let _sinks = start_sinks(tb, &built)?;
    let nodes = &built.nodes;
    let node_of = |name: &str| c.nodes.iter().find(|n| n.name == name);
    let computed4 = |p: &PodNode| node_of(&p.node).map_or(0, |n| c.mtu_stack(n).pod_mtu());
    let computed6 = |p: &PodNode| {
        node_of(&p.node).map_or(0, |n| {
            let pod = c.mtu_stack(n).pod_mtu();
            c.flannel_v6_device_mtu(n).map_or(pod, |v| v.min(pod))
        })
    };
    let (list, sampled) = pairs(nodes.len());
    let list: Vec<(usize, usize)> = list
        .into_iter()
        .filter(|(a, b)| wanted(&[&nodes[*a].node, &nodes[*b].node]))
        .collect();
    let mut report = MtuReport {
        note: built.note.clone(),
        sampled,
        ..MtuReport::default()
    };
    let started = std::time::Instant::now();
    // one turn per source: its probes, and the nodes that encapsulate meanwhile (the source
    // for the requests, the destinations for the replies)
    let mut turns: Vec<Turn> = Vec::new();
    for (a, src) in nodes.iter().enumerate() {
        let dsts: Vec<usize> = list
            .iter()
            .filter(|(x, _)| *x == a)
            .map(|(_, b)| *b)
            .collect();
        if dsts.is_empty() {
            continue;
        }
        // (dst index, family, configured size, computed)
        let mut entries = Vec::new();
        let mut meta = Vec::new();
        for &b in &dsts {
            let dst = &nodes[b];
            if let (Some(d4), Some(_)) = (dst.pod4, src.pod4) {
                let size = src.send4.min(dst.send4);
                entries.push(serde_json::json!([4, d4.to_string(), size, SINK_PORT]));
                meta.push((b, 4u8, size, computed4(src).min(computed4(dst))));
            }
            if let (Some(d6), Some(_), Some(s6), Some(t6)) =
                (dst.pod6, src.pod6, src.send6, dst.send6)
            {
                let size = s6.min(t6);
                entries.push(serde_json::json!([6, d6.to_string(), size, SINK_PORT]));
                meta.push((b, 6u8, size, computed6(src).min(computed6(dst))));
            }
        }
        let involved: Vec<usize> = std::iter::once(a).chain(dsts.iter().copied()).collect();
        turns.push((a, entries, meta, involved));
    }
    // turns whose nodes do not overlap run at once: a node's fragment counter then belongs to
    // one turn only
    let mut batches: Vec<(BTreeSet<usize>, Vec<usize>)> = Vec::new();
    for (t, turn) in turns.iter().enumerate() {
        match batches
            .iter_mut()
            .find(|(used, _)| turn.3.iter().all(|i| !used.contains(i)))
        {
            Some((used, members)) => {
                used.extend(turn.3.iter().copied());
                members.push(t);
            }
            None => batches.push((turn.3.iter().copied().collect(), vec![t])),
        }
    }
    let mut outcomes: Vec<Option<Outcome>> = vec![None; turns.len()];
    for (_, members) in &batches {
        let done: Vec<(usize, Result<Outcome, String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = members
                .iter()
                .map(|&t| {
                    let (a, entries, _, involved) = &turns[t];
                    s.spawn(move || {
                        let before: Vec<u64> = involved
                            .iter()
                            .map(|i| frag_creates(tb, &nodes[*i].node_ns))
                            .collect();
                        let got = driver(
                            tb,
                            &nodes[*a].pod_ns,
                            "mtu",
                            &serde_json::Value::Array(entries.clone()),
                        )?;
                        let after: Vec<u64> = involved
                            .iter()
                            .map(|i| frag_creates(tb, &nodes[*i].node_ns))
                            .collect();
                        let fragmenters: Vec<(usize, u64)> = involved
                            .iter()
                            .zip(before.iter().zip(&after))
                            .filter(|(_, (x, y))| y > x)
                            .map(|(i, (x, y))| (*i, y - x))
                            .collect();
                        Ok((got, fragmenters))
                    })
                })
                .collect();
            members
                .iter()
                .zip(handles)
                .map(|(t, h)| {
                    (
                        *t,
                        h.join()
                            .unwrap_or_else(|_| Err("an MTU prober thread panicked".into())),
                    )
                })
                .collect()
        });
        for (t, r) in done {
            outcomes[t] = Some(r?);
        }
    }
    for ((a, _, meta, _), outcome) in turns.iter().zip(outcomes) {
        let Some((got, fragmenters)) = outcome else {
            continue;
        };
        let src = &nodes[*a];
        let results = got.as_array().cloned().unwrap_or_default();
        for ((b, fam, size, computed), r) in meta.iter().zip(&results) {
            let dst = &nodes[*b];
            let fam_word = if *fam == 4 { "IPv4" } else { "IPv6" };
            let what = format!(
                "pod on {} -> pod on {} ({fam_word}, tunnel/pod layer)",
                src.node, dst.node
            );
            let measured = r["measured"].as_u64().and_then(|m| u32::try_from(m).ok());
            let tcp_err = r["tcp"].as_str().map(str::to_owned);
            let small = r["small"].as_bool().unwrap_or(false);
            let stack = format!(
                "computed pod MTU {computed} (PLAN.md), the bundle's {size}: {}; {}",
                src.why, dst.why
            );
            report.pairs.push(PairMtu {
                from: src.node.clone(),
                to: dst.node.clone(),
                family: *fam,
                computed: *computed,
                configured: *size,
                measured,
                fragmented: !fragmenters.is_empty(),
                tcp: small && tcp_err.is_none(),
            });
            if !small {
                // a tunnel port the firewall cuts is MS961's (it names the script line), a mesh
                // that does not carry the pair is MS964's (the tunnel runs over it); this is for
                // a data path that cannot carry anything for a reason of its own
                let cut = found.iter().any(|f| {
                    matches!(
                        f.code,
                        Code::TestbedFlowBlocked | Code::TestbedMeshUnreachable
                    ) && (f.node == dst.node || f.node == src.node)
                });
                if cut {
                    continue;
                }
                found.insert(mtu_finding(
                    &dst.node,
                    what,
                    format!("the pods reach each other ({stack})"),
                    format!(
                        "not even a small {fam_word} ping passes: {}'s tunnel does not reach {}'s",
                        src.node, dst.node
                    ),
                    &dst.place,
                ));
                continue;
            }
            let kind = |v: &serde_json::Value| v[0].as_str().unwrap_or("").to_owned();
            match kind(&r["at"]).as_str() {
                "pass" => {}
                "refused" => {
                    found.insert(mtu_finding(
                        &src.node,
                        what.clone(),
                        format!("a DF packet of {size} bytes passes ({stack})"),
                        format!(
                            "refused: {} (path MTU measured {})",
                            r["at"][2].as_str().unwrap_or(""),
                            measured.map_or("none".into(), |m| m.to_string())
                        ),
                        &src.place,
                    ));
                }
                _ => {
                    found.insert(mtu_finding(
                        &dst.node,
                        what.clone(),
                        format!("a DF packet of {size} bytes passes ({stack})"),
                        "no answer and no error: a black hole".into(),
                        &dst.place,
                    ));
                }
            }
            if kind(&r["over"]) == "silent" {
                found.insert(mtu_finding(
                    &src.node,
                    what.clone(),
                    format!(
                        "a DF packet of {} bytes is refused with an error (fragmentation needed)",
                        size + 1
                    ),
                    "no answer and no error: a black hole".into(),
                    &src.place,
                ));
            }
            if let Some(e) = tcp_err {
                found.insert(mtu_finding(
                    &dst.node,
                    format!("{what}: 1 MiB over TCP"),
                    format!("the transfer completes ({stack})"),
                    format!("it stalled: {e}"),
                    &dst.place,
                ));
            }
        }
        for (i, _) in &fragmenters {
            let n = &nodes[*i];
            let under = match node_of(&n.node) {
                Some(x) if x.tunnel_over_mesh() => format!("the mesh's MTU {}", c.mesh.mtu),
                Some(x) => format!("the underlay's MTU {}", c.underlay_mtu(x)),
                None => "the path under it".into(),
            };
            found.insert(mtu_finding(
                &n.node,
                format!("pods probed from {} (tunnel layer: {}'s {} at MTU {})", src.node, n.node, n.device, n.device_mtu),
                format!("pod packets of the pod MTU fit the tunnel unfragmented: {} + {} <= {under}", n.device_mtu.saturating_sub(datapath::TUNNEL_OVERHEAD), datapath::TUNNEL_OVERHEAD),
                format!("{} fragmented tunnel packets (its FragCreates grew): they only pass because the outer header has no DF; {}", n.node, n.why),
                &n.place,
            ));
        }
    }
    // the layers: computed beside what `measure_layers` found on the bare hosts
    for p in nodes {
        if !wanted(&[&p.node]) {
            continue;
        }
        let Some(n) = node_of(&p.node) else { continue };
        let stack = c.mtu_stack(n);
        let (under, mesh) = measured
            .iter()
            .find(|m| m.0 == p.node)
            .map_or((None, None), |m| (m.1, m.2));
        report.layers.push(NodeLayers {
            node: p.node.clone(),
            underlay: (stack.underlay_mtu(), under),
            mesh: n.tunnel_over_mesh().then_some((c.mesh.mtu, mesh)),
            tunnel: (p.device.clone(), p.device_mtu, p.why.clone()),
            pod: (stack.pod_mtu(), p.send4),
        });
    }
    progress(&format!(
        "probed the MTU between {} pod pairs{} ({} with their families) in {:.1}s",
        report
            .pairs
            .iter()
            .map(|p| (&p.from, &p.to))
            .collect::<BTreeSet<_>>()
            .len(),
        if sampled { " (sampled)" } else { "" },
        report.pairs.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(report)
}
