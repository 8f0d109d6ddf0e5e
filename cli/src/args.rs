//! The command line, as clap types: every subcommand, flag and help text.

use std::net::IpAddr;
use std::path::PathBuf;

use meshspec::cidr::Cidr;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ROOT_AFTER_HELP: &str = "\
Examples:
  meshspec init --sites home,cloud            # a commented starter spec: cluster.yaml
  meshspec validate cluster.yaml
  meshspec render cluster.yaml --out out/
  meshspec render cluster.yaml --out out/ --check
  meshspec explain MS101

Exit codes:
  0  no errors (warnings allowed); --check: up to date
  1  the spec has errors; --check: the output differs; render: a write was refused
  2  a file could not be read, is not YAML, or the command line is wrong";

/// Turn one YAML spec of a multi-site k3s cluster over an encrypted mesh into every file
/// the cluster needs, and refuse specs that would break.
#[derive(Debug, Parser)]
#[command(name = "meshspec", version, after_help = ROOT_AFTER_HELP)]
pub struct Cli {
    /// When to colour the output: `auto` colours a terminal unless `NO_COLOR` is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print only errors (and results): no warnings, infos or progress lines on the terminal.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec and print every diagnostic.
    #[command(after_help = "\
Examples:
  meshspec validate cluster.yaml
  meshspec validate cluster.yaml --format json | jq '.diagnostics[].code'
  cat cluster.yaml | meshspec validate -
  meshspec validate specs/*.yaml             # each file checked on its own

With several files each is read and checked on its own (an unreadable one does not stop the
others); the exit code is the worst of them. With --format json and several files, every
diagnostic carries its `file`, as `lint --format json` does.

Exit codes: 0 no errors (warnings allowed), 1 errors, 2 unreadable or not YAML")]
    Validate(ValidateArgs),

    /// Write every file the cluster needs into a directory.
    #[command(after_help = "\
Examples:
  meshspec render cluster.yaml --out out/
  meshspec render cluster.yaml --out out/ --check   # exit 1 and a diff when out/ drifted
  meshspec render - --out out/ --spec-name cluster.yaml < cluster.yaml
  meshspec render cluster.yaml --stdout --node gpu-1            # one node's files, nothing written
  meshspec render cluster.yaml --stdout --node gpu-1 --file etc/rancher/k3s/config.yaml

Files are written atomically with their modes (0600 for files that may point at secrets,
0755 for scripts). meshspec records what it wrote in DIR/.meshspec-manifest.json; it never
overwrites a file it did not write, nor one it wrote whose contents were changed by hand since
(an error naming the file), unless --force; it removes files it wrote earlier that the spec no
longer produces. Identical files are left untouched.")]
    Render(RenderArgs),

    /// Print the plan report (addressing, pod subnets, MTU stack, rollout order).
    #[command(after_help = "\
Examples:
  meshspec plan cluster.yaml
  meshspec plan cluster.yaml > PLAN.md
  meshspec plan new.yaml --from old.yaml   # what applying new.yaml to a running cluster takes

With --from, renders both specs and compares the bundles file by file: the change plan
(MS901-MS910) gives per node the files that change and what each needs (policy merge first,
restart k3s one node at a time, firewall re-run, labels-taints.sh, helm upgrade, re-run
install.sh), nodes to join and remove; --format json carries the same under `changes`. Exits 1
when the change cannot be applied to a running cluster.")]
    Plan(PlanArgs),

    /// Print the documentation page of a rule code, or list every code.
    #[command(after_help = "\
Examples:
  meshspec explain MS101
  meshspec explain pod-service-overlap
  meshspec explain --list")]
    Explain(ExplainArgs),

    /// Compute the pod MTU of an encapsulation stack, layer by layer.
    #[command(after_help = "\
Examples:
  meshspec mtu --underlay 1500 --mesh tailscale --tunnel vxlan
  meshspec mtu --underlay 1492 --mesh wireguard --outer ipv6   # WireGuard over PPPoE
  meshspec mtu --underlay 9000 --tunnel geneve

Prints the stack from the underlay to the pod interface and the pod MTU on standard output.
Exits 1 when some layer hands down packets larger than the layer below carries.")]
    Mtu(MtuArgs),

    /// Compute a NO_PROXY value for a cluster, or check an existing one.
    #[command(
        name = "no-proxy",
        after_help = "\
Examples:
  meshspec no-proxy --cluster-cidr 10.42.0.0/16 --service-cidr 10.43.0.0/16 \\
      --node 192.168.2.20 --mesh-range 100.64.0.0/10 --style broad
  meshspec no-proxy --node 100.64.0.1 --node 100.64.0.2 --mesh-range 100.64.0.0/10 \\
      --check \"$NO_PROXY\"

Prints the comma-separated value on standard output. With --check, prints the addresses,
ranges and names the given value misses (Go's httpproxy matching) and exits 1 when any is
missing."
    )]
    NoProxy(NoProxyArgs),

    /// Check hand-written k3s config files (with their config.yaml.d drop-ins).
    #[command(after_help = "\
Examples:
  meshspec lint /etc/rancher/k3s/config.yaml
  meshspec lint --role server master/config.yaml server-2/config.yaml   # also compares the servers
  meshspec lint node/ --format sarif > lint.sarif        # node/config.yaml and node/config.yaml.d/
  meshspec lint master.yaml --cilium-values values.yaml --cilium-version 1.19

Each FILE is one node's config.yaml (or a directory holding it); its drop-ins FILE.d/*.yaml are
merged after it in file-name order, as k3s does. Without --role a node is a server when its
config has `cluster-init` or a server-only key, otherwise an agent.

Exit codes: 0 no errors (warnings allowed), 1 errors, 2 unreadable or not YAML")]
    Lint(LintArgs),

    /// Compare a running cluster (`kubectl get nodes -o json`) with its spec (MS951-MS958).
    #[command(
        name = "check-live",
        after_help = "\
Examples:
  kubectl get nodes -o json | meshspec check-live cluster.yaml --nodes -
  meshspec check-live cluster.yaml --nodes nodes.json --format json

Exit codes: 0 no errors (warnings allowed), 1 errors, 2 unreadable spec or node list"
    )]
    CheckLive(CheckLiveArgs),

    /// Build the cluster's network in network namespaces and prove the bundle on it (root).
    #[command(after_help = "\
Examples:
  sudo meshspec testbed cluster.yaml                      # renders to a temporary bundle
  sudo meshspec testbed cluster.yaml --bundle out/        # the bundle on disk, hand edits included
  sudo meshspec testbed cluster.yaml --node k3s-master --keep --verbose

One network namespace per node, a bridge per site LAN, the mesh and an internet segment, hosts
that are not nodes; each node's cluster/firewall/<node>.sh runs as PLAN.md says. Findings
MS961-MS966 go to standard output, progress (with counts) to standard error. Every namespace
is named mstb-<pid>-<run>-...; all of them are removed at the end, on Ctrl-C or an error,
unless --keep.

Exit codes: 0 everything holds, 1 findings (or the spec has errors), 2 the testbed cannot run
here (not root, no `ip netns`, iptables or python3 missing) or an input could not be read")]
    Testbed(TestbedArgs),

    /// Write a spec from a running cluster's hand-written configs (and its live nodes).
    #[command(after_help = "\
Examples:
  meshspec import k3s-master=master.yaml k3s-worker-01=w1.yaml -o cluster.yaml
  meshspec import master=server:master.yaml gpu=gpu.yaml --nodes-json nodes.json

NAME=PATH names a node and its config.yaml (drop-ins in PATH.d/ are merged); NAME=server:PATH
or NAME=agent:PATH forces the role. What cannot be known is written as a `# TODO` comment.
Prints what rendering the imported spec now would change on the nodes. Never overwrites an
existing -o FILE unless --force.

Exit codes: 0 written (TODOs allowed), 1 the imported spec has errors, 2 unreadable input")]
    Import(ImportArgs),

    /// Print the JSON Schema of the spec format (for editors and yaml-language-server).
    #[command(after_help = "\
Examples:
  meshspec schema > meshspec.schema.json
  # then, on a spec's first line:
  # yaml-language-server: $schema=meshspec.schema.json

The schema is generated from the same field table as the decoder and docs/spec-format.md.")]
    Schema,

    /// Write a commented starter spec that validates as written.
    #[command(after_help = "\
Examples:
  meshspec init                                   # writes cluster.yaml
  meshspec init lab.yaml --provider headscale --cni cilium --sites home,cloud
  meshspec init - | less                          # print it instead

Never overwrites an existing file unless --force.")]
    Init(InitArgs),

    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  meshspec completions bash > /etc/bash_completion.d/meshspec
  meshspec completions zsh > \"${fpath[1]}/_meshspec\"
  meshspec completions fish > ~/.config/fish/completions/meshspec.fish")]
    Completions(CompletionsArgs),

    /// Print the manual page (roff) on standard output.
    #[command(after_help = "\
Examples:
  meshspec man > meshspec.1 && man ./meshspec.1
  meshspec man | gzip > /usr/local/share/man/man1/meshspec.1.gz")]
    Man,
}

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the spec, or `-` for standard output.
    #[arg(value_name = "FILE", default_value = "cluster.yaml")]
    pub file: String,

    /// The cluster name (a DNS-1123 label).
    #[arg(long, value_name = "NAME", default_value = "homelab")]
    pub name: String,

    /// The mesh.
    #[arg(long, value_enum, default_value_t = InitProvider::Tailscale)]
    pub provider: InitProvider,

    /// The CNI plugin.
    #[arg(long, value_enum, default_value_t = InitCni::Flannel)]
    pub cni: InitCni,

    /// Site names, comma-separated (`home,cloud`); none for a cluster without sites.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub sites: Vec<String>,

    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// A mesh, for `init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitProvider {
    /// Tailscale.
    Tailscale,
    /// Headscale (Tailscale clients, self-hosted control server).
    Headscale,
    /// NetBird.
    Netbird,
    /// Plain WireGuard.
    Wireguard,
}

/// A CNI plugin, for `init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitCni {
    /// Flannel, k3s's built-in CNI.
    Flannel,
    /// Cilium.
    Cilium,
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Output format of `validate`, `render` and `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable diagnostics with the offending line.
    Text,
    /// `{"diagnostics":[{"code","slug","severity","path","line","column","message","help"}]}`.
    Json,
}

/// Output format of `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// Human-readable findings with the offending line.
    Text,
    /// `{"diagnostics":[{"file","code",...}]}`.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning and other CI viewers).
    Sarif,
}

/// A node role, for `lint --role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// `k3s server`.
    Server,
    /// `k3s agent`.
    Agent,
}

/// Arguments of `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Config files (or directories holding `config.yaml`), one per node.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// The role of every node given (default: inferred per file).
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,

    /// A Cilium Helm values file to check as well.
    #[arg(long, value_name = "FILE", requires = "cilium_version")]
    pub cilium_values: Option<PathBuf>,

    /// The Cilium chart line the values are for (`1.18`, `1.19`, `1.20`).
    #[arg(long, value_name = "LINE", requires = "cilium_values")]
    pub cilium_version: Option<String>,
}

/// Arguments of `check-live`.
#[derive(Debug, Args)]
pub struct CheckLiveArgs {
    /// The spec file, or `-` for standard input.
    #[arg(value_name = "SPEC")]
    pub spec: String,

    /// `kubectl get nodes -o json` output: a file, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub nodes: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `testbed`.
#[derive(Debug, Args)]
pub struct TestbedArgs {
    /// The spec file, or `-` for standard input: the network (sites, addresses, mesh) and the
    /// flows the cluster needs. With `--bundle`, the bundle's own record of its spec
    /// (`cluster/spec.json`) is read when SPEC is not given.
    #[arg(value_name = "SPEC", required_unless_present = "bundle")]
    pub spec: Option<String>,

    /// Test this rendered bundle as it is on disk (hand edits included) instead of rendering
    /// SPEC to a temporary one.
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,

    /// Output format of the findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Leave the namespaces up and print how to enter each node (`ip netns exec ...`).
    #[arg(long)]
    pub keep: bool,

    /// Only probe flows from or to these nodes (repeat, or comma-separated).
    #[arg(long = "node", value_name = "NAME", value_delimiter = ',')]
    pub nodes: Vec<String>,

    /// Print every command the testbed runs on standard error.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// `NAME=PATH` or `NAME=server:PATH` / `NAME=agent:PATH`, one per node.
    #[arg(value_name = "NAME=PATH", required = true)]
    pub nodes: Vec<String>,

    /// `kubectl get nodes -o json` output of the cluster.
    #[arg(long, value_name = "FILE")]
    pub nodes_json: Option<PathBuf>,

    /// The Cilium Helm values file the cluster was installed with.
    #[arg(long, value_name = "FILE")]
    pub cilium_values: Option<PathBuf>,

    /// Write the spec here instead of standard output (never over an existing file without
    /// `--force`).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The cluster's name in the spec (default: `cluster`, with a TODO).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Overwrite the `-o` FILE if it exists.
    #[arg(long)]
    pub force: bool,

    /// Output format: `json` prints `{"spec" (or "output" with -o), "todos", "changes",
    /// "restarts", "diagnostics"}` on standard output instead of the spec and the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The spec files, or `-` for standard input (once).
    #[arg(value_name = "SPEC", required = true)]
    pub specs: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The spec file, or `-` for standard input.
    #[arg(value_name = "SPEC")]
    pub spec: String,

    /// The directory to write the bundle into (created when missing).
    #[arg(long, short, value_name = "DIR", required_unless_present = "stdout")]
    pub out: Option<PathBuf>,

    /// Write nothing; show a diff of what would change and exit 1 when DIR differs.
    #[arg(long, conflicts_with = "stdout")]
    pub check: bool,

    /// Print files on standard output instead of writing them (as `helm template` does): one
    /// file as it is, several each after a `---` and `# Source: PATH` line.
    #[arg(long, conflicts_with_all = ["out", "force"])]
    pub stdout: bool,

    /// With --stdout: only this node's files (`nodes/NAME/...`).
    #[arg(long, value_name = "NAME", requires = "stdout")]
    pub node: Option<String>,

    /// With --stdout: only this file; a path in the node's directory with --node
    /// (`etc/rancher/k3s/config.yaml`), else in the bundle (`cluster/verify.sh`).
    #[arg(long, value_name = "PATH", requires = "stdout")]
    pub file: Option<String>,

    /// Overwrite files in DIR that meshspec did not write or that were changed by hand.
    #[arg(long)]
    pub force: bool,

    /// The spec name shown in diagnostics (default: the spec's file name); generated files
    /// never name the spec, only the cluster.
    #[arg(long, value_name = "NAME")]
    pub spec_name: Option<String>,

    /// Output format of the report: `json` prints the diagnostics and what was written (or
    /// would change, with --check) as one JSON document on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl RenderArgs {
    /// The `--out` directory (`.` only with `--stdout`, which writes nothing).
    #[must_use]
    pub fn dir(&self) -> &std::path::Path {
        self.out.as_deref().unwrap_or(std::path::Path::new("."))
    }
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The spec file, or `-` for standard input.
    #[arg(value_name = "SPEC")]
    pub spec: String,

    /// The spec the running cluster was built from: print the change plan from it to SPEC.
    #[arg(long, value_name = "OLD")]
    pub from: Option<String>,

    /// Output format: `json` prints `{"plan": <markdown>, "diagnostics": [...]}`; `mermaid`
    /// prints only PLAN.md's diagrams (the cluster and the MTU stack) as ```mermaid blocks.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// Output format of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// The Markdown report.
    Text,
    /// `{"plan": <markdown or null>, "diagnostics": [...]}`.
    Json,
    /// Only PLAN.md's Mermaid diagrams, as fenced ```mermaid blocks (not with --from).
    Mermaid,
}

impl PlanFormat {
    /// The format of the change plan and of the diagnostics (`mermaid` reports them as text).
    #[must_use]
    pub fn report(self) -> Format {
        if self == PlanFormat::Json {
            Format::Json
        } else {
            Format::Text
        }
    }
}

/// Arguments of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule code (`MS101`) or slug (`pod-service-overlap`).
    #[arg(
        value_name = "CODE",
        required_unless_present = "list",
        conflicts_with = "list"
    )]
    pub code: Option<String>,

    /// List every code with its slug, severity and summary.
    #[arg(long)]
    pub list: bool,

    /// Output format: `json` prints `{"codes": [{"code", "slug", "severity", "summary"}]}`
    /// with --list, else the code's fields and its `page` (Markdown).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How broad a synthesized NO_PROXY is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NoProxyStyle {
    /// Exactly the ranges the cluster uses (pod, service, mesh, site subnets), collapsed.
    Precise,
    /// The private IPv4 blocks and the mesh ranges, plus whatever else is required.
    Broad,
}

/// Arguments of `no-proxy`.
#[derive(Debug, Args)]
pub struct NoProxyArgs {
    /// Pod CIDR (`cluster-cidr`); repeat for dual-stack.
    #[arg(long, value_name = "CIDR", default_values = ["10.42.0.0/16"])]
    pub cluster_cidr: Vec<Cidr>,

    /// Service CIDR (`service-cidr`); repeat for dual-stack.
    #[arg(long, value_name = "CIDR", default_values = ["10.43.0.0/16"])]
    pub service_cidr: Vec<Cidr>,

    /// A node address (LAN or mesh); repeat for each.
    #[arg(long = "node", value_name = "IP")]
    pub nodes: Vec<IpAddr>,

    /// A range the mesh hands out (Tailscale: `100.64.0.0/10`, `fd7a:115c:a1e0::/48`); repeatable.
    #[arg(long = "mesh-range", value_name = "CIDR")]
    pub mesh_ranges: Vec<Cidr>,

    /// A site subnet (used by `--style precise`); repeatable.
    #[arg(long = "site-subnet", value_name = "CIDR")]
    pub site_subnets: Vec<Cidr>,

    /// The host of a server URL (address or DNS name); repeatable.
    #[arg(long = "server", value_name = "HOST")]
    pub servers: Vec<String>,

    /// The cluster domain.
    #[arg(long, value_name = "DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,

    /// The mesh's DNS suffix (e.g. `tail1234.ts.net`).
    #[arg(long, value_name = "SUFFIX")]
    pub dns_suffix: Option<String>,

    /// An entry to add as written; repeatable.
    #[arg(long = "extra", value_name = "ENTRY")]
    pub extras: Vec<String>,

    /// How broad the value is.
    #[arg(long, value_enum, default_value_t = NoProxyStyle::Precise)]
    pub style: NoProxyStyle,

    /// Check this NO_PROXY value instead of printing one: list what it misses.
    #[arg(long, value_name = "VALUE")]
    pub check: Option<String>,

    /// Output format: `json` prints `{"no_proxy", "entries"}`, or with --check
    /// `{"missing", "diagnostics"}`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A mesh, for `mtu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MeshArg {
    /// Tailscale (`tailscale0`, MTU 1280).
    Tailscale,
    /// Headscale: Tailscale clients, same interface and MTU.
    Headscale,
    /// NetBird (`wt0`, MTU 1280).
    Netbird,
    /// Plain WireGuard (`wg0`, `wg-quick` default MTU 1420).
    Wireguard,
    /// No mesh: the tunnel runs on the underlay.
    None,
}

/// A tunnel, for `mtu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TunnelArg {
    /// VXLAN (flannel's and Cilium's default).
    Vxlan,
    /// Geneve.
    Geneve,
    /// No tunnel (native routing).
    None,
}

/// An IP family, for `mtu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// IPv4 headers.
    Ipv4,
    /// IPv6 headers (20 bytes larger).
    Ipv6,
}

/// Arguments of `mtu`.
#[derive(Debug, Args)]
pub struct MtuArgs {
    /// The underlay (physical link) MTU.
    #[arg(long, value_name = "MTU", default_value_t = 1500, value_parser = clap::value_parser!(u32).range(576..=65535))]
    pub underlay: u32,

    /// The mesh the traffic crosses.
    #[arg(long, value_enum, default_value_t = MeshArg::None)]
    pub mesh: MeshArg,

    /// The mesh interface MTU, when not the mesh's default.
    #[arg(long, value_name = "MTU", value_parser = clap::value_parser!(u32).range(576..=65535))]
    pub mesh_mtu: Option<u32>,

    /// The pod tunnel inside the mesh (or on the underlay).
    #[arg(long, value_enum, default_value_t = TunnelArg::None)]
    pub tunnel: TunnelArg,

    /// The family of the underlay headers the mesh (or tunnel) adds; a mesh may pick either,
    /// IPv6 is the worst case.
    #[arg(long, value_enum, default_value_t = FamilyArg::Ipv6)]
    pub outer: FamilyArg,

    /// Output format: `json` prints `{"layers": [...], "pod_mtu", "violations": [...]}`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}
