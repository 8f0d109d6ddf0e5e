//! Tree → [`Spec`]: every field checked, every problem collected with its path and position.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::str::FromStr;

use super::keywords::Keyword;
use super::{SpanMap, Spec};
use crate::cidr::{Cidr, CidrError};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::secrets;
use crate::suggest;
use crate::yaml::Pos;
use crate::yaml::tree::{Key, Node, Value};

pub(super) fn decode(root: &Node) -> Result<(Spec, SpanMap), Diagnostics> {
    match decode_partial(root) {
        (Some(read), diags) if diags.is_empty() => Ok((read.spec, read.spans)),
        (_, diags) => Err(Diagnostics::from_vec(diags)),
    }
}

/// What [`decode_partial`] could read.
pub(crate) struct Partial {
    /// The spec without what could not be read.
    pub(crate) spec: Spec,
    /// The positions, under the text's paths.
    pub(crate) spans: SpanMap,
    /// For each node of `spec`, its index in the text's `nodes:` list.
    pub(crate) node_indices: Vec<usize>,
}

/// Every reading problem, and what decoded despite them: a field, node or list item that
/// could not be read is left out (a block that could not be read takes its defaults). `None`
/// when the spec's `version` or `name` could not be read.
pub(super) fn decode_partial(root: &Node) -> (Option<Partial>, Vec<Diagnostic>) {
    let mut d = Decoder::default();
    d.diags.extend(secrets::scan_tree(root));
    let spec = d.spec(root);
    if let Some(spec) = &spec {
        for r in super::grammar::check(spec) {
            d.refuse(r);
        }
    }
    let node_indices = d.node_indices;
    let spans = d.spans;
    (
        spec.map(|spec| Partial {
            spec,
            spans,
            node_indices,
        }),
        d.diags,
    )
}

#[derive(Default)]
pub(super) struct Decoder {
    pub(super) diags: Vec<Diagnostic>,
    pub(super) spans: SpanMap,
    /// For each decoded node, its index in the text's `nodes:` list (a node that could not
    /// be read is left out, so the two differ after it).
    pub(super) node_indices: Vec<usize>,
}

/// The entries of one mapping, with its path; fields are taken by name.
pub(super) struct Fields<'a> {
    pub(super) path: &'a str,
    pub(super) pos: Option<Pos>,
    pub(super) entries: &'a [(Key<'a>, Node<'a>)],
}

impl<'a> Fields<'a> {
    /// Whether the mapping has the field (its path is not built).
    pub(super) fn has(&self, name: &str) -> bool {
        self.entries.iter().any(|(k, _)| k.name == name)
    }

    /// The field's node and its path (written out only when something reads it as text).
    pub(super) fn get<'n>(&self, name: &'n str) -> Option<(&'a Node<'a>, FieldPath<'n>)>
    where
        'a: 'n,
    {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, n)| (n, FieldPath::field(self.path, name)))
    }
}

/// The path of a field, written out on first use: most fields are read without a finding, so
/// their path text is never needed (a 5,000-node spec has some 30,000 fields).
pub(super) struct FieldPath<'a> {
    parent: &'a str,
    name: &'a str,
    text: std::cell::OnceCell<String>,
}

impl<'a> FieldPath<'a> {
    /// `parent.name`, not yet written.
    fn field(parent: &'a str, name: &'a str) -> Self {
        Self {
            parent,
            name,
            text: std::cell::OnceCell::new(),
        }
    }

    /// A path already written (a list item's).
    pub(super) fn owned(text: String) -> Self {
        Self {
            parent: "",
            name: "",
            text: std::cell::OnceCell::from(text),
        }
    }
}

impl std::ops::Deref for FieldPath<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.text.get_or_init(|| join(self.parent, self.name))
    }
}

impl AsRef<str> for FieldPath<'_> {
    fn as_ref(&self) -> &str {
        self
    }
}

impl std::fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

pub(super) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        return name.to_owned();
    }
    // built by hand: `format!` costs several times more, and every field read builds one
    let mut s = String::with_capacity(path.len() + 1 + name.len());
    s.push_str(path);
    s.push('.');
    s.push_str(name);
    s
}

/// `path[i]`, the path of a list item.
pub(super) fn index(path: &str, i: usize) -> String {
    let mut s = String::with_capacity(path.len() + 6);
    s.push_str(path);
    s.push('[');
    // itoa by hand: `to_string` goes through the formatter
    let mut digits = [0u8; 20];
    let mut n = i;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        s.push(char::from(d));
    }
    s.push(']');
    s
}

pub(super) fn at(diag: Diagnostic, pos: Option<Pos>) -> Diagnostic {
    match pos {
        Some(p) => diag.at(p.line, p.column),
        None => diag,
    }
}

/// A value shown in a message: short, and never a secret.
pub(super) fn shown(node: &Node) -> String {
    match &node.value {
        Value::Str(s) if secrets::looks_secret(s) => "<redacted>".to_owned(),
        Value::Str(s) if s.chars().count() > 60 => {
            format!("{}…", s.chars().take(57).collect::<String>())
        }
        Value::Str(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Seq(_) => "[…]".to_owned(),
        Value::Map(_) => "{…}".to_owned(),
    }
}

/// The MS003 diagnostic of a grammar refusal (without a position).
pub(crate) fn refusal_diagnostic(r: super::grammar::Refusal) -> Diagnostic {
    let value = r.shown.map_or_else(String::new, |v| format!(" `{v}`"));
    Diagnostic::new(
        Code::InvalidValue,
        &r.path,
        format!("`{}`{value} {}", r.path, r.what),
    )
    .with_help(r.help)
}

/// Whether `s` is a DNS-1123 label: 1–63 of `[a-z0-9-]`, starting and ending alphanumeric.
pub(crate) fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS-1123 label close to `s`, for help texts.
pub(super) fn to_dns_label(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out = out.trim_matches('-').to_owned();
    out.truncate(63);
    out.trim_end_matches('-').to_owned()
}

impl Decoder {
    /// Reports a grammar refusal (MS003) at the position of its field.
    pub(super) fn refuse(&mut self, r: super::grammar::Refusal) {
        let pos = self.spans.get(&r.path);
        let d = refusal_diagnostic(r);
        self.diags.push(at(d, pos));
    }

    pub(super) fn report(
        &mut self,
        code: Code,
        path: &str,
        pos: Option<Pos>,
        msg: String,
        help: Option<String>,
    ) {
        let mut d = Diagnostic::new(code, path, msg);
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.diags.push(at(d, pos));
    }

    pub(super) fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) {
        let help = match (&node.value, expected) {
            (Value::Int(_) | Value::Float(_) | Value::Bool(_), e) if e.contains("text") => {
                Some(format!("quote it: `\"{}\"`", shown(node)))
            }
            _ => None,
        };
        self.report(
            Code::InvalidValue,
            path,
            node.pos,
            format!(
                "`{path}` must be {expected}, found {} `{}`",
                node.value.kind(),
                shown(node)
            ),
            help,
        );
    }

    /// A mapping's fields; `null` counts as an empty mapping. Unknown keys are reported.
    pub(super) fn fields<'a>(
        &mut self,
        node: &'a Node,
        path: &'a str,
        known: &'static [&'static str],
    ) -> Option<Fields<'a>> {
        self.spans.insert(path, node.pos);
        let entries: &[(Key, Node)] = match &node.value {
            Value::Map(m) => m,
            Value::Null => &[],
            _ => {
                self.wrong_type(node, path, "a mapping");
                return None;
            }
        };
        let mut recorded: Vec<(&'static str, Pos)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            // a scalar points at its value (where the fix goes); a block at its key
            let at = match v.value {
                Value::Map(_) | Value::Seq(_) | Value::Null => k.pos.or(v.pos),
                _ => v.pos.or(k.pos),
            };
            if let Some(name) = known.iter().find(|n| **n == k.name) {
                if let Some(p) = at {
                    recorded.push((name, p));
                }
            } else {
                let child = join(path, &k.name);
                self.spans.insert(&child, at);
                let near = suggest::nearest(&k.name, known.iter().copied());
                let help = match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("known keys here: {}", known.join(", ")),
                };
                let place = if path.is_empty() {
                    "the top level".to_owned()
                } else {
                    format!("`{path}`")
                };
                self.report(
                    Code::UnknownField,
                    &child,
                    k.pos,
                    format!("unknown key `{}` in {place}", k.name),
                    Some(help),
                );
            }
        }
        self.spans.insert_fields(path, recorded);
        Some(Fields {
            path,
            pos: node.pos,
            entries,
        })
    }

    pub(super) fn missing(&mut self, f: &Fields<'_>, name: &str, help: &str) {
        let path = join(f.path, name);
        let place = if f.path.is_empty() {
            "the spec".to_owned()
        } else {
            format!("`{}`", f.path)
        };
        self.report(
            Code::MissingField,
            &path,
            f.pos,
            format!("{place} lacks the required key `{name}`"),
            Some(help.to_owned()),
        );
    }

    pub(super) fn text<P: AsRef<str> + ?Sized>(&mut self, node: &Node, path: &P) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.to_string()),
            _ => {
                self.wrong_type(node, path.as_ref(), "text");
                None
            }
        }
    }

    pub(super) fn opt_text(&mut self, f: &Fields<'_>, name: &str) -> Option<String> {
        let (n, p) = f.get(name)?;
        if n.value == Value::Null {
            return None;
        }
        self.text(n, &p)
    }

    pub(super) fn label<P: AsRef<str> + ?Sized>(
        &mut self,
        node: &Node,
        path: &P,
        what: &str,
    ) -> Option<String> {
        let s = self.text(node, path)?;
        if is_dns_label(&s) {
            return Some(s);
        }
        let path = path.as_ref();
        let fixed = to_dns_label(&s);
        let help = if fixed.is_empty() {
            "use lowercase letters, digits and `-`, starting and ending with a letter or digit"
                .to_owned()
        } else {
            format!("a DNS-1123 label is 1-63 lowercase letters, digits or `-`; try `{fixed}`")
        };
        self.report(
            Code::InvalidValue,
            path,
            node.pos,
            format!("{what} `{}` is not a DNS-1123 label", shown(node)),
            Some(help),
        );
        None
    }

    pub(super) fn number<P: AsRef<str> + ?Sized>(
        &mut self,
        node: &Node,
        path: &P,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        match &node.value {
            Value::Int(i) if (min..=max).contains(i) => Some(*i),
            Value::Int(i) => {
                let path = path.as_ref();
                self.report(
                    Code::InvalidValue,
                    path,
                    node.pos,
                    format!("`{path}` is {i}; it must be between {min} and {max}"),
                    None,
                );
                None
            }
            _ => {
                let path = path.as_ref();
                self.wrong_type(node, path, &format!("a whole number from {min} to {max}"));
                None
            }
        }
    }

    pub(super) fn opt_u32(
        &mut self,
        f: &Fields<'_>,
        name: &str,
        min: u32,
        max: u32,
    ) -> Option<u32> {
        let (n, p) = f.get(name)?;
        if n.value == Value::Null {
            return None;
        }
        self.number(n, &p, i64::from(min), i64::from(max))
            .and_then(|v| u32::try_from(v).ok())
    }

    pub(super) fn flag(&mut self, f: &Fields<'_>, name: &str) -> Option<bool> {
        let (n, p) = f.get(name)?;
        match n.value {
            Value::Bool(b) => Some(b),
            Value::Null => None,
            _ => {
                self.wrong_type(n, &p, "`true` or `false`");
                None
            }
        }
    }

    pub(super) fn keyword<K: Keyword>(&mut self, f: &Fields<'_>, name: &str) -> Option<K> {
        let (n, p) = f.get(name)?;
        if n.value == Value::Null {
            return None;
        }
        let word: std::borrow::Cow<'_, str> = match &n.value {
            Value::Str(s) => (&**s).into(),
            Value::Bool(b) => b.to_string().into(),
            _ => {
                self.wrong_type(n, &p, &format!("one of {}", K::expected()));
                return None;
            }
        };
        if let Some(k) = K::from_word(&word) {
            return Some(k);
        }
        let near = suggest::synonym(&word)
            .filter(|s| K::from_word(s).is_some())
            .or_else(|| suggest::nearest(&word, K::WORDS.iter().map(|(w, _)| *w)));
        let help = match near {
            Some(w) => format!("did you mean `{w}`?"),
            None => format!("use one of {}", K::expected()),
        };
        self.report(
            Code::InvalidValue,
            &p,
            n.pos,
            format!("`{p}` is `{word}`; expected one of {}", K::expected()),
            Some(help),
        );
        None
    }

    pub(super) fn parsed<T: FromStr, P: AsRef<str> + ?Sized>(
        &mut self,
        node: &Node,
        path: &P,
        what: &str,
        on_err: impl Fn(T::Err) -> (String, Option<String>),
    ) -> Option<T> {
        let s = self.text(node, path)?;
        match s.trim().parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                let (detail, help) = on_err(e);
                let path = path.as_ref();
                self.report(
                    Code::InvalidValue,
                    path,
                    node.pos,
                    format!("`{path}` is not {what}: {detail}"),
                    help,
                );
                None
            }
        }
    }

    pub(super) fn cidr<P: AsRef<str> + ?Sized>(&mut self, node: &Node, path: &P) -> Option<Cidr> {
        self.parsed::<Cidr, P>(node, path, "a CIDR block", |e| match &e {
            CidrError::HostBits { network, .. } => (
                e.to_string(),
                Some(format!("write the network address: `{network}`")),
            ),
            CidrError::Syntax(_) => (
                e.to_string(),
                Some("write `address/prefix`, e.g. `10.42.0.0/16`".to_owned()),
            ),
        })
    }

    pub(super) fn ip<P: AsRef<str> + ?Sized>(&mut self, node: &Node, path: &P) -> Option<IpAddr> {
        let s = match &node.value {
            Value::Str(s) => &**s,
            _ => {
                self.wrong_type(node, path.as_ref(), "an IP address");
                return None;
            }
        };
        match s.trim().parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                let help = if let Ok(c) = s.trim().parse::<Cidr>() {
                    format!("write the address without a prefix: `{}`", c.network())
                } else if let Some((addr, _)) = s.split_once('/')
                    && addr.parse::<IpAddr>().is_ok()
                {
                    format!("write the address without a prefix: `{addr}`")
                } else {
                    "write an IPv4 or IPv6 address, e.g. `100.64.0.1`".to_owned()
                };
                let path = path.as_ref();
                self.report(
                    Code::InvalidValue,
                    path,
                    node.pos,
                    format!("`{path}` is not an IP address: `{}`", shown(node)),
                    Some(help),
                );
                None
            }
        }
    }

    /// A scalar or a list of up to `max` items; `None` means absent or null.
    pub(super) fn one_or_many<T>(
        &mut self,
        f: &Fields<'_>,
        name: &str,
        max: usize,
        item: impl Fn(&mut Self, &Node, &FieldPath<'_>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let (n, p) = f.get(name)?;
        match &n.value {
            Value::Null => None,
            Value::Seq(items) => {
                if items.is_empty() || items.len() > max {
                    self.report(
                        Code::InvalidValue,
                        &p,
                        n.pos,
                        format!("`{p}` holds {} entries; it takes 1 to {max}", items.len()),
                        Some(
                            "one per IP family: an IPv4 entry, and an IPv6 entry for dual-stack"
                                .to_owned(),
                        ),
                    );
                    return None;
                }
                let mut out = Vec::new();
                let mut ok = true;
                for (i, it) in items.iter().enumerate() {
                    let ip = FieldPath::owned(index(&p, i));
                    self.spans.insert(&ip, it.pos);
                    match item(self, it, &ip) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => item(self, n, &p).map(|v| vec![v]),
        }
    }

    pub(super) fn list<T>(
        &mut self,
        f: &Fields<'_>,
        name: &str,
        item: impl Fn(&mut Self, &Node, &str) -> Option<T>,
    ) -> Vec<T> {
        let Some((n, p)) = f.get(name) else {
            return Vec::new();
        };
        match &n.value {
            Value::Null => Vec::new(),
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, it)| {
                    let ip = index(&p, i);
                    self.spans.insert(&ip, it.pos);
                    item(self, it, &ip)
                })
                .collect(),
            _ => {
                self.wrong_type(n, &p, "a list");
                Vec::new()
            }
        }
    }

    /// A free-form mapping (k3s extras, Helm values), recording nested positions.
    pub(super) fn value_map(
        &mut self,
        f: &Fields<'_>,
        name: &str,
    ) -> BTreeMap<String, serde_json::Value> {
        let Some((n, p)) = f.get(name) else {
            return BTreeMap::new();
        };
        match &n.value {
            Value::Null => BTreeMap::new(),
            Value::Map(entries) => {
                self.record_tree(n, &p);
                entries
                    .iter()
                    .map(|(k, v)| (k.name.to_string(), v.to_json()))
                    .collect()
            }
            _ => {
                self.wrong_type(n, &p, "a mapping");
                BTreeMap::new()
            }
        }
    }

    pub(super) fn record_tree(&mut self, node: &Node, path: &str) {
        self.spans.insert(path, node.pos);
        match &node.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let child = join(path, &k.name);
                    self.spans.insert(&child, k.pos);
                    self.record_tree(v, &child);
                }
            }
            Value::Seq(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.record_tree(v, &index(path, i));
                }
            }
            _ => {}
        }
    }
}
