//! The spec's sections, decoded field by field with the primitives of `decode`.

use std::collections::BTreeMap;

use super::decode::{Decoder, shown};
use super::{
    Acknowledgement, CiliumMtu, CiliumSpec, CniSpec, EtcdSnapshotsSpec, FlannelSpec, GpuSpec,
    K3sSpec, MeshSpec, NetworkSpec, NodeCidrMask, NodeSpec, NodeWireguardSpec, ProxyOverride,
    ProxySpec, SPEC_VERSION, SiteSpec, Spec, VpnAuthSpec, WireguardSpec,
};
use crate::code::Code;
use crate::diagnostic::Severity;
use crate::suggest;
use crate::yaml::tree::{Node, Value};

const TOP: &[&str] = &[
    "version",
    "name",
    "network",
    "mesh",
    "sites",
    "cni",
    "k3s",
    "proxy",
    "acknowledge",
    "nodes",
];
const NETWORK: &[&str] = &[
    "cluster_cidr",
    "service_cidr",
    "node_cidr_mask",
    "cluster_dns",
    "cluster_domain",
];
const MESH: &[&str] = &[
    "provider",
    "interface",
    "mtu",
    "ipv4_range",
    "ipv6_range",
    "dns_suffix",
    "k3s_vpn_auth",
    "tag_owners",
    "admins",
    "groups",
    "wireguard",
];
const MESH_WIREGUARD: &[&str] = &["manage", "listen_port", "keepalive", "relays"];
const SITE: &[&str] = &["name", "subnets", "mtu", "nat", "proxy"];
const CNI: &[&str] = &["plugin", "cilium", "flannel"];
const CILIUM: &[&str] = &[
    "version",
    "tunnel_protocol",
    "tunnel_port",
    "ipam",
    "cluster_pool_cidr",
    "kube_proxy_replacement",
    "masquerade",
    "mtu",
    "values",
];
const K3S: &[&str] = &[
    "version",
    "server_url",
    "token_file",
    "disable",
    "write_kubeconfig_mode",
    "etcd_snapshots",
    "server_extra",
    "agent_extra",
];
const PROXY: &[&str] = &["http", "https", "no_proxy_extra", "style"];
const NODE: &[&str] = &[
    "name",
    "role",
    "site",
    "lan_ip",
    "mesh_ip",
    "node_ip",
    "pod_cidr",
    "labels",
    "taints",
    "gpu",
    "public_endpoint",
    "proxy",
    "wireguard",
];
const NODE_WIREGUARD: &[&str] = &["public_key"];
const VPN_AUTH: &[&str] = &["key_file"];
const FLANNEL: &[&str] = &["backend"];
const ETCD_SNAPSHOTS: &[&str] = &["dir", "schedule", "retention"];
const GPU: &[&str] = &["vendor", "model"];
const ACKNOWLEDGE: &[&str] = &["code", "reason"];

/// Every mapping the decoder reads, with the keys it accepts there (the field table in
/// `fields.rs` is tested against this list).
#[cfg_attr(not(test), allow(dead_code))]
pub(super) const KNOWN: &[(&str, &[&str])] = &[
    ("", TOP),
    ("network", NETWORK),
    ("mesh", MESH),
    ("mesh.k3s_vpn_auth", VPN_AUTH),
    ("mesh.wireguard", MESH_WIREGUARD),
    ("sites", SITE),
    ("cni", CNI),
    ("cni.cilium", CILIUM),
    ("cni.flannel", FLANNEL),
    ("k3s", K3S),
    ("k3s.etcd_snapshots", ETCD_SNAPSHOTS),
    ("proxy", PROXY),
    ("acknowledge", ACKNOWLEDGE),
    ("nodes", NODE),
    ("nodes[].gpu", GPU),
    ("nodes[].wireguard", NODE_WIREGUARD),
];

impl Decoder {
    pub(super) fn spec(&mut self, root: &Node) -> Option<Spec> {
        let f = self.fields(root, "", TOP)?;
        let version = match f.get("version") {
            None => {
                self.missing(&f, "version", "add `version: 1` as the first line");
                None
            }
            Some((n, p)) => {
                match n.value {
                    Value::Int(1) => Some(SPEC_VERSION),
                    Value::Int(v) => {
                        self.report(
                        Code::UnsupportedVersion,
                        &p,
                        n.pos,
                        format!("spec `version` is {v}; this meshspec reads version {SPEC_VERSION}"),
                        Some("write `version: 1`, or use the meshspec release that reads this version".to_owned()),
                    );
                        return None;
                    }
                    _ => {
                        self.report(
                        Code::UnsupportedVersion,
                        &p,
                        n.pos,
                        format!("spec `version` is `{}`; this meshspec reads version {SPEC_VERSION}", shown(n)),
                        Some("write `version: 1` (a number, not text)".to_owned()),
                    );
                        return None;
                    }
                }
            }
        };
        let name = match f.get("name") {
            Some((n, p)) => self.label(n, &p, "the cluster name"),
            None => {
                self.missing(
                    &f,
                    "name",
                    "add `name: <cluster name>` (a DNS-1123 label such as `homelab`)",
                );
                None
            }
        };
        let network = f
            .get("network")
            .and_then(|(n, p)| self.network(n, &p))
            .unwrap_or_default();
        let mesh = f
            .get("mesh")
            .and_then(|(n, p)| self.mesh(n, &p))
            .unwrap_or_default();
        let sites = self.list(&f, "sites", Self::site);
        let cni = f
            .get("cni")
            .and_then(|(n, p)| self.cni(n, &p))
            .unwrap_or_default();
        let k3s = f
            .get("k3s")
            .and_then(|(n, p)| self.k3s(n, &p))
            .unwrap_or_default();
        let proxy = f.get("proxy").and_then(|(n, p)| self.proxy(n, &p));
        let acknowledge = self.list(&f, "acknowledge", Self::acknowledgement);
        let vpn_auth = mesh.k3s_vpn_auth.is_some();
        let nodes = match f.get("nodes") {
            None => {
                self.missing(
                    &f,
                    "nodes",
                    "add a `nodes:` list with at least one `role: server`",
                );
                Vec::new()
            }
            Some((n, p)) => match &n.value {
                Value::Seq(items) => {
                    self.spans.reserve_nodes(items.len());
                    items
                        .iter()
                        .enumerate()
                        .filter_map(|(i, it)| {
                            let node = self.node(it, &super::decode::index(&p, i), vpn_auth)?;
                            self.node_indices.push(i);
                            Some(node)
                        })
                        .collect()
                }
                _ => {
                    self.wrong_type(n, &p, "a list of nodes");
                    Vec::new()
                }
            },
        };
        Some(Spec {
            version: version?,
            name: name?,
            network,
            mesh,
            sites,
            cni,
            k3s,
            proxy,
            acknowledge,
            nodes,
        })
    }

    /// One `acknowledge:` entry: the code of a warning or info, and a reason.
    fn acknowledgement(&mut self, node: &Node, path: &str) -> Option<Acknowledgement> {
        let f = self.fields(node, path, ACKNOWLEDGE)?;
        let reason = match f.get("reason") {
            Some((n, p)) => self.text(n, &p).filter(|r| {
                let blank = r.trim().is_empty();
                if blank {
                    self.report(
                        Code::InvalidValue,
                        &p,
                        n.pos,
                        format!("`{p}` is empty"),
                        Some(
                            "say why the finding is accepted, for whoever reads the spec next"
                                .to_owned(),
                        ),
                    );
                }
                !blank
            }),
            None => {
                self.missing(&f, "reason", "say why the finding is accepted, e.g. `reason: tailscaled is ordered before k3s by our image`");
                None
            }
        };
        let code = match f.get("code") {
            Some((n, p)) => {
                let word = self.text(n, &p)?;
                match Code::lookup(&word) {
                    Some(c) if c.default_severity() == Severity::Error => {
                        self.report(
                            Code::InvalidValue,
                            &p,
                            n.pos,
                            format!("`{p}` is {c} ({}), an error; only warnings and infos can be acknowledged", c.slug()),
                            Some(format!("fix what {c} reports instead (`meshspec explain {c}`), and remove this entry")),
                        );
                        None
                    }
                    Some(c) => Some(c),
                    None => {
                        let near = suggest::nearest(&word, Code::ALL.iter().map(|c| c.as_str()));
                        self.report(
                            Code::InvalidValue,
                            &p,
                            n.pos,
                            format!("`{p}` is `{}`, which is not a meshspec rule code", shown(n)),
                            Some(match near {
                                Some(c) => format!("did you mean `{c}`? `meshspec explain --list` lists every code"),
                                None => "codes look like `MS411`; `meshspec explain --list` lists every code".to_owned(),
                            }),
                        );
                        None
                    }
                }
            }
            None => {
                self.missing(&f, "code", "name the rule code, e.g. `code: MS411`");
                None
            }
        };
        Some(Acknowledgement {
            code: code?,
            reason: reason?,
        })
    }

    fn network(&mut self, node: &Node, path: &str) -> Option<NetworkSpec> {
        let f = self.fields(node, path, NETWORK)?;
        let cluster_cidr = self
            .one_or_many(&f, "cluster_cidr", 2, |d, n, p| d.cidr(n, p))
            .unwrap_or_default();
        let service_cidr = self
            .one_or_many(&f, "service_cidr", 2, |d, n, p| d.cidr(n, p))
            .unwrap_or_default();
        let node_cidr_mask = f.get("node_cidr_mask").and_then(|(n, p)| match &n.value {
            Value::Null => None,
            Value::Int(_) => self
                .number(n, &p, 1, 128)
                .and_then(|m| u8::try_from(m).ok())
                .map(NodeCidrMask::Single),
            Value::Map(_) => {
                let mf = self.fields(n, &p, &["ipv4", "ipv6"])?;
                let ipv4 = self
                    .opt_u32(&mf, "ipv4", 1, 32)
                    .and_then(|m| u8::try_from(m).ok());
                let ipv6 = self
                    .opt_u32(&mf, "ipv6", 1, 128)
                    .and_then(|m| u8::try_from(m).ok());
                Some(NodeCidrMask::PerFamily { ipv4, ipv6 })
            }
            _ => {
                self.wrong_type(n, &p, "a number, or `{ipv4: 24, ipv6: 64}`");
                None
            }
        });
        let cluster_dns = self
            .one_or_many(&f, "cluster_dns", 2, |d, n, p| d.ip(n, p))
            .unwrap_or_default();
        let cluster_domain = self.opt_text(&f, "cluster_domain");
        Some(NetworkSpec {
            cluster_cidr,
            service_cidr,
            node_cidr_mask,
            cluster_dns,
            cluster_domain,
        })
    }

    fn mesh(&mut self, node: &Node, path: &str) -> Option<MeshSpec> {
        let f = self.fields(node, path, MESH)?;
        let provider = self.keyword(&f, "provider");
        let interface = self.opt_text(&f, "interface");
        let mtu = self.opt_u32(&f, "mtu", 576, 65_535);
        let ipv4_range = f.get("ipv4_range").and_then(|(n, p)| self.cidr(n, &p));
        let ipv6_range = f.get("ipv6_range").and_then(|(n, p)| self.cidr(n, &p));
        for (name, want) in [
            ("ipv4_range", crate::cidr::Family::Ipv4),
            ("ipv6_range", crate::cidr::Family::Ipv6),
        ] {
            let r = if name == "ipv4_range" {
                ipv4_range
            } else {
                ipv6_range
            };
            if let (Some(r), Some((n, p))) = (r, f.get(name))
                && r.family() != want
            {
                self.report(
                    Code::InvalidValue,
                    &p,
                    n.pos,
                    format!("`{p}` is `{r}`, which is not {want}"),
                    Some(format!(
                        "put {} ranges under `{}`",
                        r.family(),
                        if want == crate::cidr::Family::Ipv4 {
                            "ipv6_range"
                        } else {
                            "ipv4_range"
                        }
                    )),
                );
            }
        }
        let dns_suffix = self
            .opt_text(&f, "dns_suffix")
            .map(|s| s.trim_start_matches('.').to_owned());
        let k3s_vpn_auth = f.get("k3s_vpn_auth").and_then(|(n, p)| {
            if n.value == Value::Null {
                return None;
            }
            let vf = self.fields(n, &p, VPN_AUTH)?;
            match vf.get("key_file") {
                Some((kn, kp)) => self.text(kn, &kp).map(|key_file| VpnAuthSpec { key_file }),
                None => {
                    self.missing(&vf, "key_file", "add `key_file: /etc/rancher/k3s/vpn-auth` (the file holds `name=tailscale,joinKey=...` on each node)");
                    None
                }
            }
        });
        let tag_owners = self.principals(&f, "tag_owners");
        let admins = self.principals(&f, "admins");
        let groups = self.groups(&f);
        let wireguard = f
            .get("wireguard")
            .and_then(|(n, p)| self.mesh_wireguard(n, &p));
        Some(MeshSpec {
            provider,
            interface,
            mtu,
            ipv4_range,
            ipv6_range,
            dns_suffix,
            k3s_vpn_auth,
            tag_owners,
            admins,
            groups,
            wireguard,
        })
    }

    /// `mesh.wireguard`: `null` is absent.
    fn mesh_wireguard(&mut self, node: &Node, path: &str) -> Option<WireguardSpec> {
        if node.value == Value::Null {
            return None;
        }
        let f = self.fields(node, path, MESH_WIREGUARD)?;
        let manage = self.flag(&f, "manage");
        let listen_port = self
            .opt_u32(&f, "listen_port", 1, 65_535)
            .and_then(|v| u16::try_from(v).ok());
        let keepalive = self
            .opt_u32(&f, "keepalive", 1, 65_535)
            .and_then(|v| u16::try_from(v).ok());
        let relays = match f.get("relays") {
            Some((n, _)) if n.value != Value::Null => {
                Some(self.list(&f, "relays", |d, n, p| d.label(n, p, "a node name")))
            }
            _ => None,
        };
        Some(WireguardSpec {
            manage,
            listen_port,
            keepalive,
            relays,
        })
    }

    /// `mesh.groups`: `{"group:<name>": [user, ...]}`. Names follow the group grammar of
    /// [`crate::principal::kind`]; members must be users: Headscale's policy v2 refuses nested
    /// groups (`ErrNestedGroups`) and any non-user member (`ErrInvalidGroupMember`,
    /// juanfont/headscale `hscontrol/policy/v2/types.go`), and Tailscale's groups hold users.
    fn groups(&mut self, f: &super::decode::Fields<'_>) -> Option<BTreeMap<String, Vec<String>>> {
        use crate::principal::{Kind as P, kind};
        let (n, p) = f.get("groups")?;
        let entries = match &n.value {
            Value::Null => return None,
            Value::Map(entries) => entries,
            _ => {
                self.wrong_type(n, &p, "a mapping of `group:<name>` to lists of users");
                return None;
            }
        };
        self.spans.insert(&p, n.pos);
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            let gp = super::decode::join(&p, &k.name);
            self.spans.insert(&gp, k.pos);
            if kind(&k.name) != Some(P::Group) {
                self.report(
                    Code::InvalidValue,
                    &gp,
                    k.pos,
                    format!("`{}` is not a group name", crate::render::line::one_line(&k.name)),
                    Some("write `group:` then a letter or digit and `A-Za-z0-9._-`, e.g. `group:ops`".to_owned()),
                );
                continue;
            }
            let members = match &v.value {
                Value::Null => Vec::new(),
                Value::Seq(items) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, it)| {
                        let ip = super::decode::index(&gp, i);
                        self.spans.insert(&ip, it.pos);
                        let s = self.text(it, &ip)?;
                        if kind(&s) == Some(P::User) {
                            return Some(s);
                        }
                        self.report(
                            Code::InvalidValue,
                            &ip,
                            it.pos,
                            format!("`{ip}` `{}` is not a user", shown(it)),
                            Some("a group holds users (`alice@example.com`, or `alice@` on Headscale): Headscale refuses nested groups and other members (ErrNestedGroups, ErrInvalidGroupMember)".to_owned()),
                        );
                        None
                    })
                    .collect(),
                _ => {
                    self.wrong_type(v, &gp, "a list of users");
                    continue;
                }
            };
            out.insert(k.name.to_string(), members);
        }
        Some(out)
    }

    /// `mesh.tag_owners` / `mesh.admins`: absent or null is `None`; each entry must be a
    /// policy principal ([`crate::principal::kind`]).
    fn principals(&mut self, f: &super::decode::Fields<'_>, name: &str) -> Option<Vec<String>> {
        let (n, _) = f.get(name)?;
        if n.value == Value::Null {
            return None;
        }
        Some(self.list(f, name, |d, node, path| {
            let s = d.text(node, path)?;
            if crate::principal::kind(&s).is_some() {
                return Some(s);
            }
            d.report(
                Code::InvalidValue,
                path,
                node.pos,
                format!("`{path}` `{}` is not a tailnet policy principal", shown(node)),
                Some("write a user (`alice@example.com`, or `alice@` on Headscale), a group (`group:ops`), a tag (`tag:ops`) or an autogroup (`autogroup:member`)".to_owned()),
            );
            None
        }))
    }

    fn site(&mut self, node: &Node, path: &str) -> Option<SiteSpec> {
        let f = self.fields(node, path, SITE)?;
        let name = match f.get("name") {
            Some((n, p)) => self.label(n, &p, "the site name"),
            None => {
                self.missing(&f, "name", "give the site a name, e.g. `name: home`");
                None
            }
        };
        let subnets = match f.get("subnets") {
            None => {
                self.missing(
                    &f,
                    "subnets",
                    "list the site's subnets, e.g. `subnets: [192.168.2.0/24]`",
                );
                None
            }
            Some(_) => self.one_or_many(&f, "subnets", 64, |d, n, p| d.cidr(n, p)),
        };
        let mtu = self.opt_u32(&f, "mtu", 576, 65_535);
        let nat = self.flag(&f, "nat");
        let proxy = f.get("proxy").and_then(|(n, p)| self.proxy_override(n, &p));
        Some(SiteSpec {
            name: name?,
            subnets: subnets?,
            mtu,
            nat,
            proxy,
        })
    }

    fn cni(&mut self, node: &Node, path: &str) -> Option<CniSpec> {
        let f = self.fields(node, path, CNI)?;
        let plugin = self.keyword(&f, "plugin");
        let cilium = f.get("cilium").and_then(|(n, p)| self.cilium(n, &p));
        let flannel = f.get("flannel").and_then(|(n, p)| {
            let ff = self.fields(n, &p, FLANNEL)?;
            Some(FlannelSpec {
                backend: self.keyword(&ff, "backend"),
            })
        });
        Some(CniSpec {
            plugin,
            cilium,
            flannel,
        })
    }

    fn cilium(&mut self, node: &Node, path: &str) -> Option<CiliumSpec> {
        let f = self.fields(node, path, CILIUM)?;
        let version = f.get("version").and_then(|(n, p)| match &n.value {
            Value::Null => None,
            Value::Str(s) => Some(s.to_string()),
            Value::Float(_) | Value::Int(_) => {
                self.report(
                    Code::InvalidValue,
                    &p,
                    n.pos,
                    format!("`{p}` must be text; YAML reads `{}` as a number", shown(n)),
                    Some("quote the chart line: `version: \"1.20\"` (unquoted, 1.20 is the number 1.2)".to_owned()),
                );
                None
            }
            _ => {
                self.wrong_type(n, &p, "text such as `\"1.20\"`");
                None
            }
        });
        let tunnel_protocol = self.keyword(&f, "tunnel_protocol");
        let tunnel_port = self
            .opt_u32(&f, "tunnel_port", 1, 65_535)
            .and_then(|v| u16::try_from(v).ok());
        let ipam = self.keyword(&f, "ipam");
        let cluster_pool_cidr = f.get("cluster_pool_cidr").and_then(|(n, p)| {
            if n.value == Value::Null {
                None
            } else {
                self.cidr(n, &p)
            }
        });
        let kube_proxy_replacement = self.flag(&f, "kube_proxy_replacement");
        let masquerade = self.flag(&f, "masquerade");
        let mtu = f.get("mtu").and_then(|(n, p)| match &n.value {
            Value::Null => None,
            Value::Str(s) if s == "auto" => Some(CiliumMtu::Auto),
            Value::Int(_) => self
                .number(n, &p, 576, 65_535)
                .and_then(|v| u32::try_from(v).ok())
                .map(CiliumMtu::Fixed),
            _ => {
                self.wrong_type(n, &p, "`auto` or a number from 576 to 65535");
                None
            }
        });
        let values = self.value_map(&f, "values");
        Some(CiliumSpec {
            version,
            tunnel_protocol,
            tunnel_port,
            ipam,
            cluster_pool_cidr,
            kube_proxy_replacement,
            masquerade,
            mtu,
            values,
        })
    }

    fn k3s(&mut self, node: &Node, path: &str) -> Option<K3sSpec> {
        let f = self.fields(node, path, K3S)?;
        let version = self.opt_text(&f, "version");
        let server_url = self.opt_text(&f, "server_url");
        let token_file = self.opt_text(&f, "token_file");
        let disable = self.list(&f, "disable", Self::text);
        let write_kubeconfig_mode =
            f.get("write_kubeconfig_mode")
                .and_then(|(n, p)| match &n.value {
                    Value::Null => None,
                    Value::Str(s) if is_mode(s) => Some(s.to_string()),
                    Value::Int(i) if is_mode(&i.to_string()) => Some(i.to_string()),
                    _ => {
                        self.report(
                            Code::InvalidValue,
                            &p,
                            n.pos,
                            format!("`{p}` `{}` is not a file mode", shown(n)),
                            Some("write octal digits in quotes, e.g. `\"0644\"`".to_owned()),
                        );
                        None
                    }
                });
        let etcd_snapshots = f.get("etcd_snapshots").and_then(|(n, p)| {
            if n.value == Value::Null {
                return None;
            }
            let ef = self.fields(n, &p, ETCD_SNAPSHOTS)?;
            Some(EtcdSnapshotsSpec {
                dir: self.opt_text(&ef, "dir"),
                schedule: self.opt_text(&ef, "schedule"),
                retention: self.opt_u32(&ef, "retention", 1, 10_000),
            })
        });
        let server_extra = self.value_map(&f, "server_extra");
        let agent_extra = self.value_map(&f, "agent_extra");
        Some(K3sSpec {
            version,
            server_url,
            token_file,
            disable,
            write_kubeconfig_mode,
            etcd_snapshots,
            server_extra,
            agent_extra,
        })
    }

    fn proxy(&mut self, node: &Node, path: &str) -> Option<ProxySpec> {
        let f = self.fields(node, path, PROXY)?;
        let http = self.opt_text(&f, "http");
        let https = self.opt_text(&f, "https");
        let no_proxy_extra = self.list(&f, "no_proxy_extra", Self::text);
        let style = self.keyword(&f, "style");
        Some(ProxySpec {
            http,
            https,
            no_proxy_extra,
            style,
        })
    }

    /// `sites[].proxy` / `nodes[].proxy`: the word `none`, or a mapping like `proxy:`.
    fn proxy_override(&mut self, node: &Node, path: &str) -> Option<ProxyOverride> {
        match &node.value {
            Value::Null => None,
            Value::Str(s) if s == "none" => Some(ProxyOverride::Off),
            Value::Str(_) => {
                self.wrong_type(node, path, "`none` or a mapping like `proxy:`");
                None
            }
            _ => self.proxy(node, path).map(ProxyOverride::Set),
        }
    }

    fn node(&mut self, node: &Node, path: &str, vpn_auth: bool) -> Option<NodeSpec> {
        let f = self.fields(node, path, NODE)?;
        let name = match f.get("name") {
            Some((n, p)) => self.label(n, &p, "the node name"),
            None => {
                self.missing(
                    &f,
                    "name",
                    "give the node its hostname, e.g. `name: k3s-master`",
                );
                None
            }
        };
        let role = if f.has("role") {
            self.keyword(&f, "role")
        } else {
            self.missing(&f, "role", "add `role: server` or `role: agent`");
            None
        };
        let site = f.get("site").and_then(|(n, p)| {
            if n.value == Value::Null {
                None
            } else {
                self.text(n, &p)
            }
        });
        let lan_ip = self
            .one_or_many(&f, "lan_ip", 2, |d, n, p| d.ip(n, p))
            .unwrap_or_default();
        let mesh_ip = self
            .one_or_many(&f, "mesh_ip", 2, |d, n, p| d.ip(n, p))
            .unwrap_or_default();
        if !f.has("mesh_ip") && !vpn_auth {
            self.missing(
                &f,
                "mesh_ip",
                "add the node's mesh address (`tailscale ip -4` prints it), or set `mesh.k3s_vpn_auth` to let k3s join the tailnet itself",
            );
        }
        let node_ip = self.keyword(&f, "node_ip");
        let pod_cidr = self
            .one_or_many(&f, "pod_cidr", 2, |d, n, p| d.cidr(n, p))
            .unwrap_or_default();
        let labels = match f.get("labels") {
            None => BTreeMap::new(),
            Some((n, p)) => match &n.value {
                Value::Null => BTreeMap::new(),
                Value::Map(entries) => {
                    self.spans.insert(&p, n.pos);
                    entries
                        .iter()
                        .filter_map(|(k, v)| {
                            let lp = super::decode::join(&p, &k.name);
                            self.spans.insert(&lp, k.pos);
                            let value = match &v.value {
                                Value::Str(s) => s.to_string(),
                                Value::Bool(b) => b.to_string(),
                                Value::Int(i) => i.to_string(),
                                Value::Null => String::new(),
                                _ => {
                                    self.wrong_type(v, &lp, "text");
                                    return None;
                                }
                            };
                            Some((k.name.to_string(), value))
                        })
                        // inserted one by one: `collect` sorts through a buffer first, which
                        // costs more for the one or two labels a node has
                        .fold(BTreeMap::new(), |mut m, (k, v)| {
                            m.insert(k, v);
                            m
                        })
                }
                _ => {
                    self.wrong_type(n, &p, "a mapping of label keys to values");
                    BTreeMap::new()
                }
            },
        };
        let taints = self.list(&f, "taints", Self::text);
        let proxy = f.get("proxy").and_then(|(n, p)| self.proxy_override(n, &p));
        let gpu = f.get("gpu").and_then(|(n, p)| {
            if n.value == Value::Null {
                return None;
            }
            let gf = self.fields(n, &p, GPU)?;
            let vendor = match gf.get("vendor") {
                Some((vn, vp)) => self.text(vn, &vp),
                None => {
                    self.missing(&gf, "vendor", "add `vendor: nvidia` (or `amd`, `intel`)");
                    None
                }
            };
            if let Some(v) = &vendor
                && !crate::cluster::GPU_VENDORS.contains(&v.as_str())
            {
                let (vn, vp) = gf.get("vendor")?;
                let near = suggest::nearest(v, crate::cluster::GPU_VENDORS.iter().copied());
                self.report(
                    Code::InvalidValue,
                    &vp,
                    vn.pos,
                    format!("`{vp}` is `{v}`; expected one of `nvidia`, `amd`, `intel`"),
                    near.map(|n| format!("did you mean `{n}`?")),
                );
                return None;
            }
            let model = self.opt_text(&gf, "model");
            Some(GpuSpec {
                vendor: vendor?,
                model,
            })
        });
        let public_endpoint = f.get("public_endpoint").and_then(|(n, p)| match &n.value {
            Value::Null => None,
            Value::Str(s) => match s.parse::<crate::wireguard::Endpoint>() {
                Ok(e) => Some(e),
                Err((what, help)) => {
                    let value = if crate::spec::grammar::printable(s, false).is_ok()
                        && s.chars().count() <= 60
                    {
                        format!(" `{s}`")
                    } else {
                        String::new()
                    };
                    self.report(
                        Code::InvalidValue,
                        &p,
                        n.pos,
                        format!("`{p}`{value} {what}"),
                        Some(help),
                    );
                    None
                }
            },
            _ => {
                self.wrong_type(n, &p, "text such as `vpn.example.com:51820`");
                None
            }
        });
        let wireguard = f.get("wireguard").and_then(|(n, p)| {
            if n.value == Value::Null {
                return None;
            }
            let wf = self.fields(n, &p, NODE_WIREGUARD)?;
            let public_key = wf.get("public_key").and_then(|(kn, kp)| match &kn.value {
                Value::Null => None,
                Value::Str(s) => match crate::wireguard::key::check(s) {
                    Ok(()) => Some(s.to_string()),
                    Err((what, help)) => {
                        self.report(
                            Code::WgPublicKey,
                            &kp,
                            kn.pos,
                            format!("`{kp}` {what}"),
                            Some(help),
                        );
                        None
                    }
                },
                _ => {
                    // not repeated: a key in the wrong shape may still be a private key
                    self.report(
                        Code::WgPublicKey,
                        &kp,
                        kn.pos,
                        format!(
                            "`{kp}` must be text (44 characters of base64), found {}",
                            kn.value.kind()
                        ),
                        Some("paste the output of `wg pubkey` in quotes".to_owned()),
                    );
                    None
                }
            });
            Some(NodeWireguardSpec { public_key })
        });
        Some(NodeSpec {
            name: name?,
            role: role?,
            site,
            lan_ip,
            mesh_ip,
            node_ip,
            pod_cidr,
            labels,
            taints,
            gpu,
            public_endpoint,
            proxy,
            wireguard,
        })
    }
}

pub(crate) fn is_mode(s: &str) -> bool {
    (3..=4).contains(&s.len()) && s.chars().all(|c| ('0'..='7').contains(&c))
}

#[cfg(test)]
mod tests {
    use crate::spec::decode::{is_dns_label, to_dns_label};

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("k3s-master"));
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        assert_eq!(to_dns_label("My_Node"), "my-node");
    }

    #[test]
    fn k3s_versions() {
        use crate::spec::grammar::k3s_version;
        assert!(k3s_version("v1.33.5+k3s1").is_ok());
        assert!(k3s_version("v1.34.1-rc1+k3s1").is_ok());
        assert!(k3s_version("1.33.5").is_err());
        assert!(k3s_version("v1.33+k3s1").is_err());
        assert!(k3s_version("v1.33.5").is_err());
    }
}
