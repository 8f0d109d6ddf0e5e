//! The grammar of every string-valued spec field, checked when a spec is read (MS003).
//!
//! Each free-text field of [`Spec`] has a grammar here: interface names as Linux accepts them
//! (stricter: a safe character set), absolute paths of a safe character set, URLs parsed by the
//! `url` crate with only the expected scheme and no path, query or fragment, k3s release tags,
//! robfig/cron schedules ([`super::cron`]), DNS names, and for the remaining free text (label
//! values, extras, Helm values) printable characters only. [`check`] walks a whole [`Spec`] and
//! returns every refusal with its field path; the decoder reports them with line and column,
//! and [`crate::Cluster::validate`] reports them for a spec built in code, so no value that
//! breaks its grammar reaches a renderer. Names (cluster, site, node) are DNS-1123 labels,
//! checked by the decoder itself. Rules with their own codes (labels MS601, taints MS602,
//! NO_PROXY entries MS502, k3s keys MS402) still check their finer syntax.

use serde_json::Value;

use super::Spec;

/// One refusal: what is wrong (without repeating the value when it holds unprintable
/// characters) and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The field path, e.g. `mesh.interface`.
    pub path: String,
    /// The value, when it is short printable text worth repeating in a message.
    pub shown: Option<String>,
    /// What is wrong, e.g. ``is not a Linux interface name: it holds `/` ``.
    pub what: String,
    /// How to fix it.
    pub help: String,
}

type Checked = Result<(), (String, String)>;

fn fail(what: impl Into<String>, help: impl Into<String>) -> Checked {
    Err((what.into(), help.into()))
}

/// Describes the first character of `s` that `ok` refuses, for messages.
fn first_bad(s: &str, ok: impl Fn(char) -> bool) -> Option<String> {
    s.chars().find(|c| !ok(*c)).map(|c| {
        if c.is_control() || crate::render::line::is_unsafe(c) || c.is_whitespace() {
            format!("the character U+{:04X}", u32::from(c))
        } else {
            format!("`{c}`")
        }
    })
}

/// Printable text: no control character (C0, DEL, C1), no line or paragraph separator, no
/// bidirectional override, no byte-order mark. `multiline` allows `\n` and `\t` (Helm values
/// may hold certificates).
///
/// # Errors
/// What is wrong and how to fix it.
pub fn printable(s: &str, multiline: bool) -> Result<(), (String, String)> {
    let ok = |c: char| {
        (multiline && (c == '\n' || c == '\t'))
            || !(c.is_control() || (crate::render::line::is_unsafe(c) && c != '\\'))
    };
    match first_bad(s, ok) {
        Some(bad) => fail(
            format!("holds {bad}, which is not printable text"),
            "remove control characters and line breaks from the value",
        ),
        None => Ok(()),
    }
}

/// A Linux network interface name, stricter than the kernel's `dev_valid_name` (1-15 bytes,
/// not `.` or `..`, no `/`, `:` or whitespace): 1-15 of `A-Za-z0-9_.-`, starting with a
/// letter or digit (so it is never read as an option, `-i -x`).
///
/// ```
/// use meshspec::spec::grammar::interface;
/// assert!(interface("tailscale0").is_ok() && interface("wg-mesh.1").is_ok());
/// assert!(interface("x\nid>PWNED\n#").is_err() && interface("-i").is_err());
/// assert!(interface("abcdefghijklmnop").is_err());
/// ```
///
/// # Errors
/// What is wrong and how to fix it.
pub fn interface(s: &str) -> Result<(), (String, String)> {
    let help = "interface names are 1-15 of `A-Za-z0-9_.-`, starting with a letter or digit, e.g. `tailscale0`, `wg0`";
    if s.is_empty() || s.len() > 15 {
        return fail(
            format!(
                "is not a Linux interface name: it is {} bytes long (1-15)",
                s.len()
            ),
            help,
        );
    }
    if let Some(bad) = first_bad(s, |c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return fail(
            format!("is not a Linux interface name: it holds {bad}"),
            help,
        );
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return fail(
            "is not a Linux interface name: it must start with a letter or digit",
            help,
        );
    }
    Ok(())
}

/// An absolute path on a node: `/` then components of `A-Za-z0-9._@+-` (1-255 bytes each, not
/// `.` or `..`), at most 4095 bytes, no empty component, not `/` itself.
///
/// ```
/// use meshspec::spec::grammar::absolute_path;
/// assert!(absolute_path("/etc/rancher/k3s/token").is_ok());
/// assert!(absolute_path("token").is_err() && absolute_path("/x\"$(id)\"").is_err());
/// assert!(absolute_path("/etc/../root").is_err() && absolute_path("/a//b").is_err());
/// ```
///
/// # Errors
/// What is wrong and how to fix it.
pub fn absolute_path(s: &str) -> Result<(), (String, String)> {
    let help =
        "write an absolute path of letters, digits and `._@+-`, e.g. `/etc/rancher/k3s/token`";
    let Some(rest) = s.strip_prefix('/') else {
        return fail("is not an absolute path (it must start with `/`)", help);
    };
    if s.len() > 4095 {
        return fail("is longer than 4095 bytes", help);
    }
    if let Some(bad) = first_bad(s, |c| c.is_ascii_alphanumeric() || "/._@+-".contains(c)) {
        return fail(format!("is not a safe absolute path: it holds {bad}"), help);
    }
    let trimmed = rest.strip_suffix('/').unwrap_or(rest);
    if trimmed.is_empty() {
        return fail(
            "names the root directory, not a file or directory below it",
            help,
        );
    }
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.len() > 255 {
            return fail(
                "is not a plain absolute path: it has an empty, `.`, `..` or over-long component",
                help,
            );
        }
    }
    Ok(())
}

/// Characters allowed in a URL as written: printable ASCII without whitespace, quotes,
/// backslash, `` ` ``, `$`, `<`, `>`, `{`, `}`, `|`, `^` (percent-encode them).
fn url_char(c: char) -> bool {
    c.is_ascii_graphic() && !"\"'\\`$<>{}|^".contains(c)
}

fn url_common(s: &str, schemes: &[&str], example: &str) -> Result<url::Url, (String, String)> {
    let help = format!("write `{example}`");
    if let Some(bad) = first_bad(s, url_char) {
        return Err((
            format!("is not a URL meshspec accepts: it holds {bad} (percent-encode it)"),
            help,
        ));
    }
    let parsed = url::Url::parse(s).map_err(|e| (format!("is not a URL: {e}"), help.clone()))?;
    if !schemes.contains(&parsed.scheme()) || !s.starts_with(&format!("{}://", parsed.scheme())) {
        return Err((
            format!(
                "has scheme `{}`; expected {}",
                parsed.scheme(),
                schemes
                    .iter()
                    .map(|x| format!("`{x}://`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            help,
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(("names no host".to_owned(), help));
    }
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        return Err((
            "has a path, query or fragment; only scheme, host and port belong here".to_owned(),
            help,
        ));
    }
    Ok(parsed)
}

/// `k3s.server_url`: `https://host[:port]` (k3s agents and servers join over https only), no
/// user, path, query or fragment.
///
/// ```
/// use meshspec::spec::grammar::server_url;
/// assert!(server_url("https://100.84.89.67:6443").is_ok());
/// assert!(server_url("https://k3s.tail1234.ts.net:6443/").is_ok());
/// assert!(server_url("https://x:6443/\nfoo: bar").is_err() && server_url("http://x:6443").is_err());
/// ```
///
/// # Errors
/// What is wrong and how to fix it.
pub fn server_url(s: &str) -> Result<(), (String, String)> {
    let u = url_common(s, &["https"], "https://<host>:6443")?;
    if !u.username().is_empty() || u.password().is_some() {
        return fail(
            "holds a user name or password; k3s authenticates with the token file",
            "write `https://<host>:6443`",
        );
    }
    if crate::netaddr::url_host(s).is_none() {
        return fail(
            "names a host that is neither an IP address nor a DNS name",
            "write `https://<host>:6443`",
        );
    }
    Ok(())
}

/// `proxy.http` / `proxy.https`: `http://`, `https://` or `socks5://` with a host and
/// optionally a port and `user:password@` (percent-encoded), no path, query or fragment.
///
/// ```
/// use meshspec::spec::grammar::proxy_url;
/// assert!(proxy_url("http://proxy.lan:3128").is_ok());
/// assert!(proxy_url("http://user:p%40ss@proxy.lan:3128/").is_ok());
/// assert!(proxy_url("http://proxy.lan:3128/\nLD_PRELOAD=/tmp/evil.so").is_err());
/// ```
///
/// # Errors
/// What is wrong and how to fix it.
pub fn proxy_url(s: &str) -> Result<(), (String, String)> {
    url_common(s, &["http", "https", "socks5"], "http://host:port")?;
    if crate::netaddr::proxy_url_host(s).is_none() {
        return fail(
            "names a host that is neither an IP address nor a DNS name",
            "write `http://host:port`, e.g. `http://proxy.lan:3128`",
        );
    }
    Ok(())
}

/// A k3s release tag as `INSTALL_K3S_VERSION` takes it: `vMAJOR.MINOR.PATCH+k3sN`, with an
/// optional pre-release `-rcN`, `-alphaN` or `-betaN` before `+` (e.g. `v1.34.1-rc1+k3s1`).
///
/// ```
/// use meshspec::spec::grammar::k3s_version;
/// assert!(k3s_version("v1.33.5+k3s1").is_ok() && k3s_version("v1.34.1-rc1+k3s1").is_ok());
/// assert!(k3s_version("1.33.5").is_err() && k3s_version("v1.33.5+k3s1;id").is_err());
/// ```
///
/// # Errors
/// What is wrong and how to fix it.
pub fn k3s_version(v: &str) -> Result<(), (String, String)> {
    let number = |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
    let ok = (|| {
        let rest = v.strip_prefix('v')?;
        let (core, build) = rest.split_once('+')?;
        let n = build.strip_prefix("k3s")?;
        let (core, pre) = core.split_once('-').unwrap_or((core, ""));
        let parts: Vec<&str> = core.split('.').collect();
        let pre_ok = pre.is_empty()
            || ["rc", "alpha", "beta"]
                .iter()
                .any(|p| pre.strip_prefix(p).is_some_and(number));
        (parts.len() == 3 && parts.iter().all(|p| number(p)) && number(n) && pre_ok).then_some(())
    })();
    match ok {
        Some(()) => Ok(()),
        None => fail(
            "is not a k3s release tag",
            "k3s releases look like `v1.33.5+k3s1` (or `v1.34.1-rc1+k3s1`); see https://github.com/k3s-io/k3s/releases",
        ),
    }
}

/// A DNS name: dot-separated DNS-1123 labels (lowercase letters, digits, `-`), at most 253
/// characters, no trailing dot.
///
/// ```
/// use meshspec::spec::grammar::dns_name;
/// assert!(dns_name("tail1234.ts.net").is_ok());
/// assert!(dns_name("a..b").is_err() && dns_name("x\ny").is_err() && dns_name("A.b").is_err());
/// ```
///
/// # Errors
/// What is wrong and how to fix it.
pub fn dns_name(s: &str) -> Result<(), (String, String)> {
    let help = "use dot-separated DNS-1123 labels (lowercase letters, digits, `-`), e.g. `tail1234.ts.net`";
    if s.is_empty() || s.len() > 253 {
        return fail(
            format!(
                "is not a DNS name: it is {} characters long (1-253)",
                s.len()
            ),
            help,
        );
    }
    if !s.split('.').all(super::decode::is_dns_label) {
        return fail("is not a DNS name", help);
    }
    Ok(())
}

/// An item of `k3s.disable`: a packaged component or manifest name (`traefik`, `servicelb`,
/// `local-storage`, ...): 1-253 of `A-Za-z0-9._-`, starting with a letter or digit.
///
/// # Errors
/// What is wrong and how to fix it.
pub fn component(s: &str) -> Result<(), (String, String)> {
    let help = "name a packaged component such as `traefik`, `servicelb`, `local-storage`, `metrics-server`, `coredns`";
    if s.is_empty() || s.len() > 253 || !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return fail("is not a component name", help);
    }
    match first_bad(s, |c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        Some(bad) => fail(format!("is not a component name: it holds {bad}"), help),
        None => Ok(()),
    }
}

/// `cni.cilium.version`: a chart line or version, 1-32 of `0-9A-Za-z.+-` starting with a digit
/// or `v` (MS706 decides whether it is supported).
///
/// # Errors
/// What is wrong and how to fix it.
pub fn chart_version(s: &str) -> Result<(), (String, String)> {
    let help = "write the chart line in quotes, e.g. `\"1.18\"`";
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_digit() || c == 'v')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c));
    if ok {
        Ok(())
    } else {
        fail("is not a chart version", help)
    }
}

/// A NO_PROXY entry as far as the files it lands in care: printable, without `,` (which would
/// split it into two entries), quotes, `` ` ``, `$`, `\` or whitespace. MS502 checks the rest.
///
/// # Errors
/// What is wrong and how to fix it.
pub fn no_proxy_entry(s: &str) -> Result<(), (String, String)> {
    match first_bad(s, |c| c.is_ascii_graphic() && !",\"'`$\\;".contains(c)) {
        Some(bad) => fail(
            format!("is not one NO_PROXY entry: it holds {bad}"),
            "write one host, suffix (`.lan`), IP or CIDR per list item",
        ),
        None => Ok(()),
    }
}

/// Every refusal in a spec, with field paths, in field order.
///
/// ```
/// use meshspec::spec::{Spec, grammar};
/// let mut spec = Spec::from_yaml("version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap().0;
/// assert!(grammar::check(&spec).is_empty());
/// spec.mesh.interface = Some("x\nid>PWNED".to_owned());
/// assert_eq!(grammar::check(&spec)[0].path, "mesh.interface");
/// ```
#[must_use]
pub fn check(spec: &Spec) -> Vec<Refusal> {
    let mut out = Vec::new();
    let mut one = |path: String, value: &str, r: Checked| {
        if let Err((what, help)) = r {
            let shown = (value.chars().count() <= 60 && printable(value, false).is_ok())
                .then(|| value.to_owned());
            out.push(Refusal {
                path,
                shown,
                what,
                help,
            });
        }
    };
    let label = |s: &str| {
        if super::decode::is_dns_label(s) {
            Ok(())
        } else {
            fail(
                "is not a DNS-1123 label",
                "use 1-63 lowercase letters, digits or `-`, starting and ending with a letter or digit",
            )
        }
    };
    one("name".into(), &spec.name, label(&spec.name));
    if let Some(d) = &spec.network.cluster_domain {
        one("network.cluster_domain".into(), d, dns_name(d));
    }
    if let Some(i) = &spec.mesh.interface {
        one("mesh.interface".into(), i, interface(i));
    }
    if let Some(d) = &spec.mesh.dns_suffix {
        one("mesh.dns_suffix".into(), d, dns_name(d));
    }
    if let Some(v) = &spec.mesh.k3s_vpn_auth {
        one(
            "mesh.k3s_vpn_auth.key_file".into(),
            &v.key_file,
            absolute_path(&v.key_file),
        );
    }
    for (i, s) in spec.sites.iter().enumerate() {
        one(format!("sites[{i}].name"), &s.name, label(&s.name));
    }
    if let Some(cil) = &spec.cni.cilium {
        if let Some(v) = &cil.version {
            one("cni.cilium.version".into(), v, chart_version(v));
        }
        for (k, v) in &cil.values {
            values(&format!("cni.cilium.values.{k}"), k, v, true, &mut one);
        }
    }
    let k = &spec.k3s;
    if let Some(v) = &k.version {
        one("k3s.version".into(), v, k3s_version(v));
    }
    if let Some(u) = &k.server_url {
        one("k3s.server_url".into(), u, server_url(u));
    }
    if let Some(t) = &k.token_file {
        one("k3s.token_file".into(), t, absolute_path(t));
    }
    for (i, d) in k.disable.iter().enumerate() {
        one(format!("k3s.disable[{i}]"), d, component(d));
    }
    if let Some(e) = &k.etcd_snapshots {
        if let Some(d) = &e.dir {
            one("k3s.etcd_snapshots.dir".into(), d, absolute_path(d));
        }
        if let Some(s) = &e.schedule {
            // the same checker `lint` and `import` use for `etcd-snapshot-schedule-cron`
            let r = printable(s, false).and_then(|()| {
                crate::k3s::flags::table()
                    .get("etcd-snapshot-schedule-cron")
                    .map_or(Ok(()), |flag| {
                        crate::k3s::flags::check_value(flag, &Value::String(s.clone())).map_err(
                            |e| {
                                (
                                    e.meaning().unwrap_or("is refused by k3s").to_owned(),
                                    e.hint().to_owned(),
                                )
                            },
                        )
                    })
            });
            one("k3s.etcd_snapshots.schedule".into(), s, r);
        }
    }
    for (field, map) in [
        ("k3s.server_extra", &k.server_extra),
        ("k3s.agent_extra", &k.agent_extra),
    ] {
        for (key, v) in map {
            values(&format!("{field}.{key}"), key, v, false, &mut one);
        }
    }
    let mut proxies: Vec<(String, &super::ProxySpec)> = Vec::new();
    if let Some(p) = &spec.proxy {
        proxies.push(("proxy".to_owned(), p));
    }
    for (i, site) in spec.sites.iter().enumerate() {
        if let Some(super::ProxyOverride::Set(p)) = &site.proxy {
            proxies.push((format!("sites[{i}].proxy"), p));
        }
    }
    for (i, node) in spec.nodes.iter().enumerate() {
        if let Some(super::ProxyOverride::Set(p)) = &node.proxy {
            proxies.push((format!("nodes[{i}].proxy"), p));
        }
    }
    for (at, p) in proxies {
        for (name, v) in [("http", &p.http), ("https", &p.https)] {
            if let Some(u) = v {
                one(format!("{at}.{name}"), u, proxy_url(u));
            }
        }
        for (i, e) in p.no_proxy_extra.iter().enumerate() {
            one(format!("{at}.no_proxy_extra[{i}]"), e, no_proxy_entry(e));
        }
    }
    for (i, a) in spec.acknowledge.iter().enumerate() {
        one(
            format!("acknowledge[{i}].reason"),
            &a.reason,
            printable(&a.reason, false),
        );
    }
    // a node's paths are built only for a refusal (a 5,000-node spec has some 20,000 values
    // checked here, nearly always fine)
    for (i, n) in spec.nodes.iter().enumerate() {
        let r = label(&n.name);
        if r.is_err() {
            one(format!("nodes[{i}].name"), &n.name, r);
        }
        if let Some(s) = &n.site {
            let r = label(s);
            if r.is_err() {
                one(format!("nodes[{i}].site"), s, r);
            }
        }
        for (key, v) in &n.labels {
            let r = printable(key, false).and_then(|()| printable(v, false));
            if r.is_err() {
                one(format!("nodes[{i}].labels.{key}"), v, r);
            }
        }
        for (t, taint) in n.taints.iter().enumerate() {
            let r = printable(taint, false);
            if r.is_err() {
                one(format!("nodes[{i}].taints[{t}]"), taint, r);
            }
        }
        if let Some(model) = n.gpu.as_ref().and_then(|g| g.model.as_ref()) {
            let r = printable(model, false);
            if r.is_err() {
                one(format!("nodes[{i}].gpu.model"), model, r);
            }
        }
    }
    out
}

/// Keys and strings of a free-form map (k3s extras, Helm values), at any depth: keys printable
/// on one line; strings printable (Helm values may span lines).
fn values(
    path: &str,
    key: &str,
    v: &Value,
    multiline: bool,
    one: &mut impl FnMut(String, &str, Checked),
) {
    let key_check = printable(key, false).and_then(|()| {
        if key.is_empty() {
            fail("is an empty key", "give the key a name")
        } else {
            Ok(())
        }
    });
    if let Err((what, help)) = key_check {
        one(
            path.to_owned(),
            "",
            Err((format!("has a key that {what}"), help)),
        );
        return;
    }
    walk(path, v, multiline, one);
}

fn walk(path: &str, v: &Value, multiline: bool, one: &mut impl FnMut(String, &str, Checked)) {
    match v {
        Value::String(s) => one(path.to_owned(), s, printable(s, multiline)),
        Value::Array(items) => {
            for (i, it) in items.iter().enumerate() {
                walk(&format!("{path}[{i}]"), it, multiline, one);
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                values(&format!("{path}.{k}"), k, v, multiline, one);
            }
        }
        _ => {}
    }
}
