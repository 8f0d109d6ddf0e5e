//! The k3s flag table: every flag `k3s server` and `k3s agent` accept, with its roles, kind,
//! default and whether all servers must agree on it.
//!
//! The table is the vendored `core/data/k3s-flags.json` (read from k3s `main` at
//! `66a14f0e`; see `core/data/PROVENANCE.md`), embedded at build time and parsed once on
//! first use. Keys are looked up the way k3s reads `config.yaml`: long names, one-letter
//! aliases (`i` for `node-ip`) and the `key+` append suffix all resolve to the same flag.
//!
//! This module does not decide whether a spec is wrong and builds no diagnostics: it states
//! what k3s accepts, and the rules (MS401 to MS404) turn that into findings. It does not know
//! the `k3s etcd-snapshot` subcommand's flags, does not parse flag values beyond their kind
//! ([`check_value`]), and does not model the merge of `config.yaml.d` drop-ins.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

pub use super::value::{KindMismatch, check_value};

/// The vendored flag table, exactly as copied from the reference data.
const DATA: &str = include_str!("../../data/k3s-flags.json");

/// The items `disable` knows (`pkg/cli/cmds/stage.go`).
///
/// k3s does not validate the list: an unknown item is silently ignored, so a typo leaves the
/// component running. `ccm` also works (an undocumented item, mentioned in a comment in
/// `stage.go`) but is left out here because it is not part of the documented interface.
pub const DISABLE_ITEMS: &[&str] = &[
    "coredns",
    "servicelb",
    "traefik",
    "local-storage",
    "metrics-server",
    "runtimes",
];

/// The flags whose comma-separated values k3s itself splits (the CLI library does not:
/// `DisableSliceFlagSeparator` is set). Every other slice flag takes one item per list entry.
const COMMA_SPLIT: &[&str] = &[
    "cluster-cidr",
    "service-cidr",
    "cluster-dns",
    "tls-san",
    "node-ip",
    "node-external-ip",
    "node-internal-dns",
    "node-external-dns",
    "disable",
];

/// Which k3s subcommand reads a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `k3s server`: a control-plane node, which also runs an agent.
    Server,
    /// `k3s agent`: a worker.
    Agent,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Server => "server",
            Role::Agent => "agent",
        })
    }
}

/// The value type a flag takes, as the flag table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Free text.
    String,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Int,
    /// A Go duration such as `5m0s`.
    Duration,
    /// A repeatable flag: a YAML list, one item per entry.
    StringSlice,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::String => "string",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Duration => "duration",
            Kind::StringSlice => "string-slice",
        })
    }
}

/// The subcommands that accept a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Roles {
    /// `k3s server` accepts it.
    pub server: bool,
    /// `k3s agent` accepts it.
    pub agent: bool,
}

/// One k3s flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// The long name, e.g. `node-ip`; also the `config.yaml` key.
    pub name: String,
    /// Other names, e.g. `i` for `node-ip`.
    pub aliases: Vec<String>,
    /// Which subcommands accept it.
    pub roles: Roles,
    /// The value type.
    pub kind: Kind,
    /// The default declared on the flag (on the server variant when the two differ), if any.
    pub default: Option<Value>,
    /// The default declared on the agent variant, when it differs from [`Flag::default`].
    pub default_agent: Option<Value>,
    /// What k3s computes when the flag is unset and no default is declared, in words.
    pub runtime_default: Option<String>,
    /// All servers must share the value (`CriticalControlArgs`); a joining server with a
    /// different value fails with `critical configuration value mismatch`.
    pub critical: bool,
    /// Hidden from `--help`.
    pub hidden: bool,
    /// The usage text says it is deprecated.
    pub deprecated: bool,
    /// The usage text says it is experimental.
    pub experimental: bool,
    /// A one-line paraphrase of the usage text.
    pub usage: String,
    /// The usage text's category prefix, e.g. `networking`; empty when it has none.
    pub category: String,
    /// Environment variables that also set it, e.g. `K3S_TOKEN`.
    pub env: Vec<String>,
    /// Writing it in `config.yaml` has an effect. False only for `config`: the config file is
    /// located before it is read, so a `config:` key inside it does nothing.
    pub config_file_key: bool,
    /// Caveats recorded in the flag table.
    pub notes: Option<String>,
}

impl Flag {
    /// Whether `k3s <role>` accepts the flag.
    ///
    /// An agent given a server-only key exits with `flag provided but not defined` (k3s#6565);
    /// a server drops an unknown key with a warning.
    ///
    /// ```
    /// use meshspec::k3s::flags::{table, Role};
    /// let disable = table().get("disable").unwrap();
    /// assert!(disable.accepts(Role::Server));
    /// assert!(!disable.accepts(Role::Agent));
    /// ```
    #[must_use]
    pub fn accepts(&self, role: Role) -> bool {
        match role {
            Role::Server => self.roles.server,
            Role::Agent => self.roles.agent,
        }
    }

    /// Whether only `k3s server` accepts it.
    #[must_use]
    pub fn server_only(&self) -> bool {
        self.roles.server && !self.roles.agent
    }

    /// Whether only `k3s agent` accepts it.
    #[must_use]
    pub fn agent_only(&self) -> bool {
        self.roles.agent && !self.roles.server
    }

    /// Whether k3s splits a comma-separated value of this flag into items.
    #[must_use]
    pub fn comma_split(&self) -> bool {
        COMMA_SPLIT.contains(&self.name.as_str())
    }
}

/// Every flag of `k3s server` and `k3s agent`, looked up by name or alias.
#[derive(Debug, Clone, Default)]
pub struct FlagTable {
    /// Sorted by name.
    flags: Vec<Flag>,
    /// Names and aliases to positions in `flags`.
    index: BTreeMap<String, usize>,
}

impl FlagTable {
    /// The flag a `config.yaml` key names: a long name, an alias, either with the `+` append
    /// suffix (`node-label+`).
    ///
    /// ```
    /// use meshspec::k3s::flags::table;
    /// assert_eq!(table().get("i").map(|f| f.name.as_str()), Some("node-ip"));
    /// assert_eq!(table().get("node-label+").map(|f| f.name.as_str()), Some("node-label"));
    /// assert!(table().get("no-such-flag").is_none());
    /// ```
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Flag> {
        let key = key.strip_suffix('+').unwrap_or(key);
        self.index.get(key).and_then(|&i| self.flags.get(i))
    }

    /// Every flag, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Flag> {
        self.flags.iter()
    }

    /// How many flags the table holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether the table is empty (only if the embedded data failed to parse).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// The flag name closest to a misspelt key, for a "did you mean" help. Aliases are not
    /// suggested (one-letter names make poor guesses); a `+` suffix on `key` is ignored.
    ///
    /// ```
    /// use meshspec::k3s::flags::table;
    /// assert_eq!(table().nearest("flanel-iface"), Some("flannel-iface"));
    /// assert_eq!(table().nearest("node_label+"), Some("node-label"));
    /// ```
    #[must_use]
    pub fn nearest(&self, key: &str) -> Option<&str> {
        let key = key.strip_suffix('+').unwrap_or(key);
        crate::suggest::nearest(key, self.flags.iter().map(|f| f.name.as_str()))
    }

    /// The flags all servers must share (`CriticalControlArgs`). For `disable` only the
    /// `servicelb` item is critical.
    pub fn critical(&self) -> impl Iterator<Item = &Flag> {
        self.flags.iter().filter(|f| f.critical)
    }

    /// The flags only `k3s server` accepts: fatal in an agent's config.
    pub fn server_only(&self) -> impl Iterator<Item = &Flag> {
        self.flags.iter().filter(|f| f.server_only())
    }

    /// The flags only `k3s agent` accepts.
    pub fn agent_only(&self) -> impl Iterator<Item = &Flag> {
        self.flags.iter().filter(|f| f.agent_only())
    }

    /// Flags whose `config.yaml` key does nothing (only `config`).
    pub fn not_config_file_keys(&self) -> impl Iterator<Item = &Flag> {
        self.flags.iter().filter(|f| !f.config_file_key)
    }

    fn new(mut flags: Vec<Flag>) -> Self {
        flags.sort_by(|a, b| a.name.cmp(&b.name));
        let mut index = BTreeMap::new();
        for (i, flag) in flags.iter().enumerate() {
            index.insert(flag.name.clone(), i);
        }
        // Names win over aliases should the two ever collide.
        for (i, flag) in flags.iter().enumerate() {
            for alias in &flag.aliases {
                index.entry(alias.clone()).or_insert(i);
            }
        }
        FlagTable { flags, index }
    }
}

/// The flag table, parsed from the embedded data on first use.
///
/// Should the embedded data ever fail to parse, the table is empty (a unit test proves it
/// parses).
#[must_use]
pub fn table() -> &'static FlagTable {
    static TABLE: OnceLock<FlagTable> = OnceLock::new();
    TABLE.get_or_init(|| parse(DATA).unwrap_or_default())
}

/// Whether k3s splits comma-separated values of this `config.yaml` key into items.
///
/// Only `cluster-cidr`, `service-cidr`, `cluster-dns`, `tls-san`, `node-ip`,
/// `node-external-ip`, `node-internal-dns`, `node-external-dns` and `disable` are split;
/// `node-label`, `node-taint` and the `*-arg` flags are not, so render those as YAML lists.
/// Aliases and the `+` suffix are resolved.
///
/// ```
/// use meshspec::k3s::flags::comma_split;
/// assert!(comma_split("tls-san"));
/// assert!(comma_split("i"));
/// assert!(!comma_split("node-label"));
/// ```
#[must_use]
pub fn comma_split(flag_name: &str) -> bool {
    let bare = flag_name.strip_suffix('+').unwrap_or(flag_name);
    match table().get(bare) {
        Some(flag) => flag.comma_split(),
        None => COMMA_SPLIT.contains(&bare),
    }
}

/// The file as stored.
#[derive(Deserialize)]
struct RawFile {
    flags: Vec<RawFlag>,
}

/// One flag as stored.
#[derive(Deserialize)]
struct RawFlag {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    roles: Vec<String>,
    kind: Kind,
    #[serde(default)]
    default: Option<Value>,
    #[serde(default)]
    default_agent: Option<Value>,
    #[serde(default)]
    runtime_default: Option<String>,
    #[serde(default)]
    critical_server_arg: bool,
    #[serde(default)]
    hidden: bool,
    #[serde(default)]
    deprecated: bool,
    #[serde(default)]
    experimental: bool,
    #[serde(default)]
    usage: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default = "yes")]
    config_file_key: bool,
    #[serde(default)]
    notes: Option<String>,
}

fn yes() -> bool {
    true
}

fn parse(text: &str) -> Result<FlagTable, serde_json::Error> {
    let raw: RawFile = serde_json::from_str(text)?;
    let flags = raw
        .flags
        .into_iter()
        .map(|r| Flag {
            roles: Roles {
                server: r.roles.iter().any(|x| x == "server"),
                agent: r.roles.iter().any(|x| x == "agent"),
            },
            name: r.name,
            aliases: r.aliases,
            kind: r.kind,
            default: r.default.filter(|v| !v.is_null()),
            default_agent: r.default_agent.filter(|v| !v.is_null()),
            runtime_default: r.runtime_default,
            critical: r.critical_server_arg,
            hidden: r.hidden,
            deprecated: r.deprecated,
            experimental: r.experimental,
            usage: r.usage,
            category: r.category.unwrap_or_default(),
            env: r.env,
            config_file_key: r.config_file_key,
            notes: r.notes,
        })
        .collect();
    Ok(FlagTable::new(flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> Value {
        let raw: Value = serde_json::from_str(DATA).unwrap();
        raw["counts"].clone()
    }

    #[test]
    fn embedded_data_parses() {
        let t = parse(DATA).unwrap();
        assert_eq!(t.len(), 127);
        assert_eq!(table().len(), 127);
    }

    #[test]
    fn broken_data_degrades_to_an_empty_table() {
        let t = parse("{ not json").unwrap_or_default();
        assert!(t.is_empty());
        assert!(t.get("node-ip").is_none());
        assert_eq!(t.nearest("node-ip"), None);
    }

    #[test]
    fn counts_match_the_data() {
        let c = counts();
        let t = table();
        let n = |it: usize| Value::from(it);
        assert_eq!(c["total"], n(t.iter().count()));
        assert_eq!(
            c["server"],
            n(t.iter().filter(|f| f.accepts(Role::Server)).count())
        );
        assert_eq!(
            c["agent"],
            n(t.iter().filter(|f| f.accepts(Role::Agent)).count())
        );
        assert_eq!(c["server_only"], n(t.server_only().count()));
        assert_eq!(c["agent_only"], n(t.agent_only().count()));
        assert_eq!(
            (t.len(), t.server_only().count(), t.agent_only().count()),
            (127, 81, 1)
        );
        assert_eq!(
            t.agent_only().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["disable-apiserver-lb"]
        );
    }

    #[test]
    fn server_only_flags() {
        for name in [
            "disable",
            "cluster-init",
            "tls-san",
            "write-kubeconfig-mode",
            "flannel-backend",
            "kube-apiserver-arg",
            "disable-kube-proxy",
            "advertise-address",
        ] {
            let f = table().get(name).unwrap();
            assert!(f.server_only(), "{name}");
            assert!(!f.accepts(Role::Agent), "{name}");
        }
    }

    #[test]
    fn agent_flags() {
        for name in [
            "node-ip",
            "flannel-iface",
            "node-label",
            "node-taint",
            "token-file",
            "server",
            "node-external-ip",
            "vpn-auth",
        ] {
            let f = table().get(name).unwrap();
            assert!(f.accepts(Role::Agent), "{name}");
            assert!(f.accepts(Role::Server), "{name}");
        }
    }

    #[test]
    fn aliases_and_append_suffix_resolve() {
        let name = |k: &str| table().get(k).map(|f| f.name.clone());
        for (key, want) in [
            ("i", "node-ip"),
            ("t", "token"),
            ("s", "server"),
            ("d", "data-dir"),
            ("o", "write-kubeconfig"),
            ("c", "config"),
            ("l", "log"),
            ("node-label+", "node-label"),
            ("i+", "node-ip"),
            ("tls-san+", "tls-san"),
        ] {
            assert_eq!(name(key).as_deref(), Some(want), "{key}");
        }
        assert_eq!(name("node-label++"), None);
        assert_eq!(name("+"), None);
        assert_eq!(name(""), None);
        assert_eq!(name("Node-IP"), None);
    }

    #[test]
    fn critical_args_are_the_documented_sixteen() {
        // notes/k3s.md §12 (pkg/daemons/config/types.go CriticalControlArgs).
        let mut want = vec![
            "cluster-cidr",
            "service-cidr",
            "cluster-dns",
            "cluster-domain",
            "disable-cloud-controller",
            "disable-helm-controller",
            "disable-network-policy",
            "disable",
            "secrets-encryption",
            "secrets-encryption-provider",
            "embedded-registry",
            "flannel-backend",
            "flannel-ipv6-masq",
            "flannel-external-ip",
            "egress-selector-mode",
            "supervisor-metrics",
        ];
        want.sort_unstable();
        let got: Vec<&str> = table().critical().map(|f| f.name.as_str()).collect();
        assert_eq!(got, want);
        assert!(table().critical().all(Flag::server_only));
    }

    #[test]
    fn config_key_does_nothing_in_the_config_file() {
        let names: Vec<&str> = table()
            .not_config_file_keys()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["config"]);
        assert!(table().get("c").is_some_and(|f| !f.config_file_key));
    }

    #[test]
    fn kinds_and_defaults() {
        let t = table();
        let kind = |k: &str| t.get(k).map(|f| f.kind);
        assert_eq!(kind("node-ip"), Some(Kind::StringSlice));
        assert_eq!(kind("cluster-init"), Some(Kind::Bool));
        assert_eq!(kind("https-listen-port"), Some(Kind::Int));
        assert_eq!(kind("etcd-s3-timeout"), Some(Kind::Duration));
        assert_eq!(kind("flannel-backend"), Some(Kind::String));
        assert_eq!(
            t.get("flannel-backend").and_then(|f| f.default.clone()),
            Some(Value::from("vxlan"))
        );
        assert_eq!(
            t.get("https-listen-port").and_then(|f| f.default.clone()),
            Some(Value::from(6443))
        );
        assert_eq!(t.get("node-ip").and_then(|f| f.default.clone()), None);
        assert_eq!(
            t.get("data-dir").and_then(|f| f.default_agent.clone()),
            Some(Value::from("/var/lib/rancher/k3s"))
        );
        assert!(
            t.get("token")
                .is_some_and(|f| f.env.contains(&"K3S_TOKEN".into()))
        );
        assert_eq!(Kind::StringSlice.to_string(), "string-slice");
        assert_eq!(Role::Agent.to_string(), "agent");
    }

    #[test]
    fn comma_splitting() {
        for name in COMMA_SPLIT {
            assert!(comma_split(name), "{name}");
            assert!(table().get(name).is_some(), "{name}");
        }
        for name in [
            "node-label",
            "node-taint",
            "kubelet-arg",
            "kube-apiserver-arg",
            "server",
        ] {
            assert!(!comma_split(name), "{name}");
        }
        assert!(comma_split("disable+"));
    }

    #[test]
    fn nearest_flag() {
        let t = table();
        assert_eq!(t.nearest("tsl-san"), Some("tls-san"));
        assert_eq!(t.nearest("cluster_cidr"), Some("cluster-cidr"));
        assert_eq!(
            t.nearest("write-kubeconfig-mod"),
            Some("write-kubeconfig-mode")
        );
        assert_eq!(t.nearest("completely-unrelated-words"), None);
    }

    #[test]
    fn disable_items_are_in_the_flag_notes() {
        let notes = table()
            .get("disable")
            .and_then(|f| f.notes.clone())
            .unwrap();
        for item in DISABLE_ITEMS {
            assert!(notes.contains(item), "{item}");
        }
    }
}
