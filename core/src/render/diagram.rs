//! `PLAN.md`'s pictures, as Mermaid flowcharts: the cluster (sites, nodes, the LAN and mesh
//! paths between them) and the MTU stack (underlay, mesh, tunnel, pods).
//!
//! Every Mermaid id is generated (`n0`, `s0`, `l0`, `m0`, `k0`, ...), every label goes through
//! [`crate::render::mermaid`], and the output depends on nothing but the cluster (join order,
//! spec order of sites): the same spec gives the same bytes.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::cluster::{Cluster, Node, NodeIpMode};
use crate::mtu::Stack;
use crate::render::mermaid::label;

/// Above this many nodes the cluster diagram draws one box per site and role, with counts,
/// instead of one box per node.
pub const GROUP_ABOVE: usize = 50;

/// Sites named in full in the title of a shared MTU stack; the rest are counted.
const SITES_NAMED: usize = 4;

impl Cluster {
    /// Both diagrams of `PLAN.md` (the cluster, then the MTU stack) as fenced ` ```mermaid `
    /// blocks, what `meshspec plan SPEC --format mermaid` prints.
    ///
    /// ```
    /// use meshspec::Cluster;
    /// let c = Cluster::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap();
    /// let d = c.diagram();
    /// assert!(d.starts_with("```mermaid\nflowchart LR\n"));
    /// assert_eq!(d.matches("```mermaid\n").count(), 2);
    /// ```
    #[must_use]
    pub fn diagram(&self) -> String {
        format!("{}\n{}", fenced(&cluster(self)), fenced(&mtu(self)))
    }
}

/// A diagram in a ` ```mermaid ` fence (its text never holds a backtick: [`label`] codes them).
#[must_use]
pub fn fenced(diagram: &str) -> String {
    format!("```mermaid\n{diagram}```\n")
}

fn role(n: &Node) -> String {
    let r = match (n.is_server(), n.init) {
        (true, true) => "server (init)",
        (true, false) => "server",
        _ => "agent",
    };
    if n.gpu {
        format!("{r}, GPU")
    } else {
        r.to_owned()
    }
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    let mut out = String::new();
    crate::render::write_list(&mut out, v, ", ");
    out
}

fn node_ip(n: &Node) -> String {
    if n.node_ip_mode == NodeIpMode::VpnAuth && n.node_ips.is_empty() {
        "node-ip set by k3s (vpn-auth)".to_owned()
    } else {
        format!("node-ip {}", join(&n.node_ips))
    }
}

fn pods(c: &Cluster, n: &Node) -> String {
    match c.cilium_pool() {
        Some(p) => format!("pods from Cilium pool {p}"),
        None => format!("pods {}", join(&n.pod_cidrs)),
    }
}

/// Whether the node's traffic to other nodes crosses the mesh: its pod tunnel rides it, or
/// the cluster spans networks and the node has a mesh address.
fn uses_mesh(c: &Cluster, n: &Node) -> bool {
    n.tunnel_over_mesh() || (c.multi_site && !n.mesh_ips.is_empty())
}

/// Whether the node relays for others in a WireGuard mesh meshspec renders.
fn is_relay(c: &Cluster, n: &Node) -> bool {
    c.wireguard_topology()
        .is_some_and(|t| t.relays.contains(&n.name))
}

/// One box of the cluster diagram: a node, or (large clusters) the nodes of a site and role.
struct Tile<'a> {
    members: Vec<&'a Node>,
}

impl Tile<'_> {
    fn server(&self) -> bool {
        self.members.first().is_some_and(|n| n.is_server())
    }

    fn text(&self, c: &Cluster) -> Vec<String> {
        let [n] = self.members.as_slice() else {
            return self.group_text(c);
        };
        let mut role = role(n);
        if is_relay(c, n) {
            role.push_str(", relay");
        }
        let mut lines = vec![n.name.clone(), role, node_ip(n)];
        if let Some(e) = &n.public_endpoint {
            lines.push(format!("public endpoint {e}"));
        }
        lines.push(pods(c, n));
        lines
    }

    fn group_text(&self, c: &Cluster) -> Vec<String> {
        let count = self.members.len();
        let kind = match (self.server(), count) {
            (true, 1) => "server",
            (true, _) => "servers",
            (false, 1) => "agent",
            (false, _) => "agents",
        };
        let mut lines = vec![format!("{count} {kind}")];
        if let (Some(first), Some(last)) = (self.members.first(), self.members.last()) {
            lines.push(if count == 1 {
                first.name.clone()
            } else {
                format!("{} ... {}", first.name, last.name)
            });
        }
        if self.members.iter().any(|n| n.init) {
            lines.push("holds the init server".to_owned());
        }
        let mut modes: Vec<(&str, usize)> = Vec::new();
        for n in &self.members {
            let m = match n.node_ip_mode {
                NodeIpMode::Lan => "LAN",
                NodeIpMode::Mesh => "mesh",
                NodeIpMode::VpnAuth => "vpn-auth",
            };
            match modes.iter_mut().find(|(k, _)| *k == m) {
                Some((_, k)) => *k += 1,
                None => modes.push((m, 1)),
            }
        }
        let modes: Vec<String> = modes.iter().map(|(m, k)| format!("{k} {m}")).collect();
        lines.push(format!("node-ips {}", modes.join(", ")));
        let relays = self.members.iter().filter(|n| is_relay(c, n)).count();
        if relays > 0 {
            lines.push(format!(
                "{relays} {}",
                if relays == 1 { "relay" } else { "relays" }
            ));
        }
        let public = self
            .members
            .iter()
            .filter(|n| n.public_endpoint.is_some())
            .count();
        if public > 0 {
            lines.push(format!("{public} with a public endpoint"));
        }
        let gpus = self.members.iter().filter(|n| n.gpu).count();
        if gpus > 0 {
            lines.push(format!("{gpus} with GPU"));
        }
        if let Some(p) = c.cilium_pool() {
            lines.push(format!("pods from Cilium pool {p}"));
        } else if let Some(b) = self.members.first().and_then(|n| n.pod_cidrs.first()) {
            lines.push(format!("pods {count} x /{}", b.prefix()));
        }
        lines
    }
}

/// The boxes of one site (or of the nodes without a site), in join order: one per node, or
/// one per role when grouped.
fn boxes<'a>(c: &'a Cluster, site: Option<&str>, grouped: bool) -> Vec<Tile<'a>> {
    let members = c
        .nodes_in_join_order()
        .filter(|n| n.site.as_deref() == site);
    if !grouped {
        return members.map(|n| Tile { members: vec![n] }).collect();
    }
    let (servers, agents): (Vec<&Node>, Vec<&Node>) = members.partition(|n| n.is_server());
    [servers, agents]
        .into_iter()
        .filter(|m| !m.is_empty())
        .map(|members| Tile { members })
        .collect()
}

/// The cluster as a Mermaid flowchart: one subgraph per site (name, subnets, underlay MTU)
/// holding its nodes (role, node-ip, pod CIDR; servers drawn bold), nodes without a site in an
/// "internet" subgraph, solid edges to each site's LAN, dotted edges to the mesh for the nodes
/// whose traffic crosses it (one from the site when all of its nodes do). Above
/// [`GROUP_ABOVE`] nodes, one box per site and role, and one dotted edge per site whose nodes
/// use the mesh. A site with `nat: true` says "behind NAT" in its title, a node shows its
/// `public_endpoint`; with a WireGuard mesh meshspec renders, its relays say "relay" and one
/// labelled dotted edge goes from each site holding a relayed node to its relay.
#[must_use]
pub fn cluster(c: &Cluster) -> String {
    let grouped = c.nodes.len() > GROUP_ABOVE;
    let mut s = String::from("flowchart LR\n");
    s.push_str("  classDef server fill:#dbeafe,stroke:#1d4ed8,stroke-width:3px,color:#000\n");
    s.push_str("  classDef agent fill:#f8fafc,stroke:#475569,color:#000\n");
    s.push_str("  classDef lan fill:#ecfdf5,stroke:#047857,color:#000\n");
    s.push_str("  classDef mesh fill:#fef3c7,stroke:#b45309,color:#000\n");
    let mut edges = String::new();
    let mut servers: Vec<String> = Vec::new();
    let mut agents: Vec<String> = Vec::new();
    let mut lans: Vec<String> = Vec::new();
    let mut next_box = 0usize;
    // the box (id) and group (index) of each node, for the relay edges
    let mut box_of: HashMap<&str, (String, usize)> = HashMap::new();
    let mut mesh_used = false;
    let mut groups: Vec<(Option<&str>, Vec<String>)> = c
        .sites
        .iter()
        .map(|site| {
            // one line: Mermaid draws a subgraph's title over its first row when it wraps
            let mut title = format!("site {}", site.name);
            if site.nat {
                title.push_str(", behind NAT");
            }
            if !site.subnets.is_empty() {
                let _ = write!(title, ", {}", join(&site.subnets));
            }
            let _ = write!(title, ", underlay MTU {}", site.mtu);
            (Some(site.name.as_str()), vec![title])
        })
        .collect();
    if c.nodes.iter().any(|n| n.site.is_none()) || c.nodes.is_empty() {
        groups.push((None, vec!["internet (no site)".to_owned()]));
    }
    for (g, (site, title)) in groups.iter().enumerate() {
        let _ = writeln!(s, "  subgraph s{g}[{}]", label(title));
        let bs = boxes(c, *site, grouped);
        if bs.is_empty() {
            let _ = writeln!(s, "    e{g}[{}]", label(&["no nodes"]));
        }
        // a site's nodes meet on its LAN; nodes without a site each sit on their own network.
        // Grouped, the site's box is its LAN and the mesh edge leaves the site: Mermaid's
        // layout (dagre, mermaid 11.17.2) fails with "Cannot set properties of undefined
        // (setting 'order')" on ~40 subgraphs that each hold an edge and link to one node outside
        let lan =
            (!grouped && site.is_some() && bs.iter().map(|b| b.members.len()).sum::<usize>() > 1)
                .then(|| format!("l{g}"));
        // one mesh edge for the whole site when all its nodes use the mesh (and always when
        // grouped), else one per node that does
        let mut on_mesh = bs.iter().flat_map(|b| &b.members).map(|n| uses_mesh(c, n));
        let site_edge = if grouped {
            on_mesh.any(|m| m)
        } else {
            !bs.is_empty() && on_mesh.all(|m| m)
        };
        if site_edge {
            let _ = writeln!(edges, "  s{g} -.- m0");
            mesh_used = true;
        }
        if let Some(l) = &lan {
            let _ = writeln!(s, "    {l}([{}])", label(&["LAN"]));
            lans.push(l.clone());
        }
        for b in &bs {
            let id = format!("n{next_box}");
            next_box += 1;
            let _ = writeln!(s, "    {id}[{}]", label(&b.text(c)));
            for n in &b.members {
                box_of.entry(n.name.as_str()).or_insert((id.clone(), g));
            }
            if let Some(l) = &lan {
                let _ = writeln!(edges, "  {id} --- {l}");
            }
            if !site_edge && b.members.iter().any(|n| uses_mesh(c, n)) {
                let _ = writeln!(edges, "  {id} -.- m0");
                mesh_used = true;
            }
            if b.server() {
                servers.push(id);
            } else {
                agents.push(id);
            }
        }
        s.push_str("  end\n");
    }
    if mesh_used {
        let _ = writeln!(
            s,
            "  m0(({}))",
            label(&[
                format!("{} mesh", c.mesh.provider),
                c.mesh.interface.clone(),
                format!("MTU {}", c.mesh.mtu),
            ])
        );
    }
    s.push_str(&edges);
    relay_edges(&mut s, c, &box_of);
    for (class, ids) in [("server", &servers), ("agent", &agents), ("lan", &lans)] {
        if !ids.is_empty() {
            let _ = writeln!(s, "  class {} {class}", ids.join(","));
        }
    }
    if mesh_used {
        s.push_str("  class m0 mesh\n");
    }
    s
}

/// With a WireGuard mesh meshspec renders: one dotted, labelled edge from each group (site, or
/// the nodes without a site) holding a node of a relayed pair to the box of that pair's relay,
/// once per group and relay, however many pairs share it.
fn relay_edges(s: &mut String, c: &Cluster, box_of: &HashMap<&str, (String, usize)>) {
    let Some(t) = c.wireguard_topology() else {
        return;
    };
    let mut drawn: Vec<(usize, &str)> = Vec::new();
    for p in &t.relayed {
        let Some((relay_box, relay_group)) = box_of.get(p.relay.as_str()) else {
            continue;
        };
        for end in [&p.a, &p.b] {
            let Some((_, g)) = box_of.get(end.as_str()) else {
                continue;
            };
            if g == relay_group || drawn.contains(&(*g, p.relay.as_str())) {
                continue;
            }
            drawn.push((*g, p.relay.as_str()));
            let _ = writeln!(
                s,
                "  s{g} -.-|{}| {relay_box}",
                label(&[format!("relayed via {}", p.relay)])
            );
        }
    }
}

/// Sites (or the nodes without a site) whose stacks are the same above the underlay name.
struct StackGroup {
    sites: Vec<Option<String>>,
    nodes: usize,
    stack: Stack,
}

/// Whether two stacks are the same but for their underlay's name (which names the site): what
/// sites share.
fn same_stack(a: &Stack, b: &Stack) -> bool {
    let (a, b) = (a.layers(), b.layers());
    a.len() == b.len()
        && a.iter().zip(b).enumerate().all(|(i, (x, y))| {
            x.mtu == y.mtu
                && x.overhead == y.overhead
                && (i == 0 || x.name == y.name)
                && x.note == y.note
        })
}

fn stack_groups(c: &Cluster) -> Vec<StackGroup> {
    let mut groups: Vec<StackGroup> = Vec::new();
    // each group's sites, for a lookup that does not walk the list
    let mut seen: Vec<std::collections::BTreeSet<Option<&str>>> = Vec::new();
    // the stack depends on the node's site, node-ip mode and flannel interface: each node's
    // own, grouped by site first, as the MTU table lists them
    for n in c.nodes_in_join_order() {
        let stack = c.mtu_stack(n);
        let site = n.site.as_deref();
        match groups.iter().position(|g| same_stack(&g.stack, &stack)) {
            Some(i) => {
                groups[i].nodes += 1;
                if seen[i].insert(site) {
                    groups[i].sites.push(site.map(str::to_owned));
                }
            }
            None => {
                seen.push([site].into());
                groups.push(StackGroup {
                    sites: vec![site.map(str::to_owned)],
                    nodes: 1,
                    stack,
                });
            }
        }
    }
    groups
}

fn stack_title(g: &StackGroup) -> Vec<String> {
    let names: Vec<String> = g
        .sites
        .iter()
        .map(|s| s.clone().unwrap_or_else(|| "no site".to_owned()))
        .collect();
    let named = if names.len() > SITES_NAMED {
        format!(
            "{} and {} more",
            names[..SITES_NAMED].join(", "),
            names.len() - SITES_NAMED
        )
    } else {
        names.join(", ")
    };
    let word = if names.len() == 1 { "site" } else { "sites" };
    let nodes = if g.nodes == 1 { "node" } else { "nodes" };
    if g.sites == [None] {
        vec![format!("nodes without a site ({} {nodes})", g.nodes)]
    } else {
        vec![format!("{word} {named} ({} {nodes})", g.nodes)]
    }
}

/// The MTU stack as a Mermaid flowchart, pods at the top and the underlay at the bottom: one
/// column per distinct stack (sites with the same stack share one), each layer with its MTU,
/// each arrow with the overhead the upper layer adds on the one below and whether the packet
/// fits; a layer whose packets do not fit the layer below is drawn red. The numbers are
/// [`Cluster::mtu_stack`]'s, as in `PLAN.md`'s MTU table.
#[must_use]
pub fn mtu(c: &Cluster) -> String {
    let mut s = String::from("flowchart TB\n");
    s.push_str("  classDef layer fill:#f8fafc,stroke:#475569,color:#000\n");
    s.push_str("  classDef pod fill:#dbeafe,stroke:#1d4ed8,stroke-width:3px,color:#000\n");
    s.push_str("  classDef bad fill:#fee2e2,stroke:#b91c1c,stroke-width:3px,color:#000\n");
    let mut class: [Vec<String>; 3] = Default::default();
    let mut next = 0usize;
    for (g, group) in stack_groups(c).iter().enumerate() {
        let _ = writeln!(s, "  subgraph k{g}[{}]", label(&stack_title(group)));
        s.push_str("    direction TB\n");
        let layers = group.stack.layers();
        let bad: Vec<usize> = group.stack.violations().iter().map(|v| v.index).collect();
        let first = next;
        next += layers.len();
        // top (pods) first, so that Mermaid stacks them as the table reads bottom-up
        for (i, layer) in layers.iter().enumerate().rev() {
            let name = if i == 0 {
                "underlay"
            } else {
                layer.name.as_str()
            };
            let _ = writeln!(
                s,
                "    y{}[{}]",
                first + i,
                label(&[name.to_owned(), format!("MTU {}", layer.mtu)])
            );
            let k = if bad.contains(&i) {
                2
            } else if i + 1 == layers.len() {
                1
            } else {
                0
            };
            class[k].push(format!("y{}", first + i));
        }
        for (i, layer) in layers.iter().enumerate().skip(1).rev() {
            let Some(below) = layers.get(i - 1) else {
                continue;
            };
            let packet = u64::from(layer.mtu) + u64::from(layer.overhead);
            let below_mtu = u64::from(below.mtu);
            let fit = if packet > below_mtu {
                format!("too big for {below_mtu}")
            } else if packet == below_mtu {
                "fills it".to_owned()
            } else {
                format!("fits {below_mtu}")
            };
            if layer.overhead == 0 && packet == below_mtu {
                // the pod interface takes the MTU of the device below it: nothing to say
                let _ = writeln!(s, "    y{} --> y{}", first + i, first + i - 1);
            } else {
                let _ = writeln!(
                    s,
                    "    y{} -->|{}| y{}",
                    first + i,
                    label(&[format!("+{} = {packet}, {fit}", layer.overhead)]),
                    first + i - 1
                );
            }
        }
        s.push_str("  end\n");
    }
    if next == 0 {
        let _ = writeln!(s, "  y0[{}]", label(&["no nodes"]));
    }
    for (k, name) in ["layer", "pod", "bad"].iter().enumerate() {
        if !class[k].is_empty() {
            let _ = writeln!(s, "  class {} {name}", class[k].join(","));
        }
    }
    s
}
