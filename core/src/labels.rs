//! Kubernetes label and taint syntax, and which labels a kubelet may set on its own node.
//!
//! [`check_label_key`] and [`check_label_value`] follow Kubernetes' own validation (qualified
//! names with an optional DNS-1123 subdomain prefix; values of at most 63 characters) and say
//! exactly which part is wrong (rule MS601). [`Taint`] parses and prints `key[=value]:Effect`
//! (MS602). [`self_label_allowed`] is the NodeRestriction rule the kubelet is held to for
//! `--node-labels` (MS409).
//!
//! This module checks syntax only: it does not know which labels or taints a cluster needs, and
//! it does not talk to a cluster.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest label name and label value.
pub const MAX_NAME_LEN: usize = 63;

/// The longest label key prefix (a DNS-1123 subdomain).
pub const MAX_PREFIX_LEN: usize = 253;

/// Which part of a label a [`LabelError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The prefix of a key, before `/`.
    Prefix,
    /// The name of a key, after `/` (or the whole key when it has no prefix).
    Name,
    /// A label value.
    Value,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Prefix => "label key prefix",
            Self::Name => "label name",
            Self::Value => "label value",
        })
    }
}

/// Why a label key or value breaks Kubernetes syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The key is the empty string.
    #[error("label key is empty")]
    EmptyKey,
    /// The key has more than one `/`.
    #[error("label key `{key}` has more than one `/`; a key is `[prefix/]name`")]
    Slashes {
        /// The key.
        key: String,
    },
    /// Nothing before the `/`.
    #[error("label key `{key}` has an empty prefix before `/`")]
    EmptyPrefix {
        /// The key.
        key: String,
    },
    /// Nothing after the `/`.
    #[error("label key `{key}` has an empty name after `/`")]
    EmptyName {
        /// The key.
        key: String,
    },
    /// A part is longer than allowed.
    #[error("{part} `{text}` is {len} characters long; the limit is {limit}")]
    TooLong {
        /// Which part.
        part: Part,
        /// The part.
        text: String,
        /// Its length in characters.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A part holds a character it may not.
    #[error("{part} `{text}` contains `{}`; allowed are {}", .ch.escape_debug(), allowed(*.part))]
    Character {
        /// Which part.
        part: Part,
        /// The part.
        text: String,
        /// The first offending character.
        ch: char,
    },
    /// A part (or, in a prefix, one of its dot-separated labels) does not start and end with
    /// a letter or digit.
    #[error("{part} `{text}` must start and end with a letter or digit{}", edge_detail(*.part, .piece))]
    Edge {
        /// Which part.
        part: Part,
        /// The part.
        text: String,
        /// For a prefix, the dot-separated piece at fault (empty for an empty piece).
        piece: String,
    },
}

/// The characters a part may hold, for messages.
fn allowed(part: Part) -> &'static str {
    match part {
        Part::Prefix => "lowercase `a-z`, `0-9`, `-` and `.`",
        Part::Name | Part::Value => "`A-Z`, `a-z`, `0-9`, `-`, `_` and `.`",
    }
}

/// Where in a prefix an [`LabelError::Edge`] lies, for messages.
fn edge_detail(part: Part, piece: &str) -> String {
    match part {
        Part::Prefix if piece.is_empty() => " in every part between dots; one part is empty".into(),
        Part::Prefix => format!(" in every part between dots; `{piece}` does not"),
        Part::Name | Part::Value => String::new(),
    }
}

/// Checks a name or a value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn check_name(part: Part, text: &str) -> Result<(), LabelError> {
    let len = text.chars().count();
    if len > MAX_NAME_LEN {
        return Err(LabelError::TooLong {
            part,
            text: text.into(),
            len,
            limit: MAX_NAME_LEN,
        });
    }
    if let Some(ch) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)))
    {
        return Err(LabelError::Character {
            part,
            text: text.into(),
            ch,
        });
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge_ok(text.chars().next()) || !edge_ok(text.chars().last()) {
        return Err(LabelError::Edge {
            part,
            text: text.into(),
            piece: String::new(),
        });
    }
    Ok(())
}

/// Checks a DNS-1123 subdomain used as a key prefix.
fn check_prefix(prefix: &str) -> Result<(), LabelError> {
    let part = Part::Prefix;
    let len = prefix.chars().count();
    if len > MAX_PREFIX_LEN {
        return Err(LabelError::TooLong {
            part,
            text: prefix.into(),
            len,
            limit: MAX_PREFIX_LEN,
        });
    }
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    if let Some(ch) = prefix.chars().find(|c| !ok(*c)) {
        return Err(LabelError::Character {
            part,
            text: prefix.into(),
            ch,
        });
    }
    for piece in prefix.split('.') {
        let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !alnum(piece.chars().next()) || !alnum(piece.chars().last()) {
            return Err(LabelError::Edge {
                part,
                text: prefix.into(),
                piece: piece.into(),
            });
        }
    }
    Ok(())
}

/// Checks a label key: `[prefix/]name`, where the optional prefix is a DNS-1123 subdomain of
/// at most 253 characters and the name at most 63 characters of `[A-Za-z0-9._-]` starting and
/// ending with a letter or digit.
///
/// # Errors
/// A [`LabelError`] naming the part at fault, the limit or the offending character.
///
/// ```
/// use meshspec::labels::check_label_key;
/// assert!(check_label_key("nvidia.com/gpu").is_ok());
/// assert!(check_label_key("gpu-type").is_ok());
/// let e = check_label_key("Example.com/gpu").unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "label key prefix `Example.com` contains `E`; allowed are lowercase `a-z`, `0-9`, `-` and `.`"
/// );
/// ```
pub fn check_label_key(key: &str) -> Result<(), LabelError> {
    if key.is_empty() {
        return Err(LabelError::EmptyKey);
    }
    let (prefix, name) = match key.split_once('/') {
        None => (None, key),
        Some((_, rest)) if rest.contains('/') => {
            return Err(LabelError::Slashes { key: key.into() });
        }
        Some((p, n)) => (Some(p), n),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Err(LabelError::EmptyPrefix { key: key.into() });
        }
        if name.is_empty() {
            return Err(LabelError::EmptyName { key: key.into() });
        }
        check_prefix(p)?;
    }
    check_name(Part::Name, name)
}

/// Checks a label value: empty, or at most 63 characters of `[A-Za-z0-9._-]` starting and
/// ending with a letter or digit.
///
/// # Errors
/// A [`LabelError`] naming the limit or the offending character.
///
/// ```
/// use meshspec::labels::check_label_value;
/// assert!(check_label_value("").is_ok());
/// assert!(check_label_value("rtx3060").is_ok());
/// assert_eq!(
///     check_label_value("rtx 3060").unwrap_err().to_string(),
///     "label value `rtx 3060` contains ` `; allowed are `A-Z`, `a-z`, `0-9`, `-`, `_` and `.`"
/// );
/// ```
pub fn check_label_value(v: &str) -> Result<(), LabelError> {
    if v.is_empty() {
        Ok(())
    } else {
        check_name(Part::Value, v)
    }
}

/// The label keys the kubelet may always set on its own node.
const KUBELET_LABELS: &[&str] = &[
    "kubernetes.io/hostname",
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/os",
];

/// The prefixes (and their subdomains) the kubelet may always use.
const KUBELET_NAMESPACES: &[&str] = &["kubelet.kubernetes.io", "node.kubernetes.io"];

/// Whether `namespace` is `domain` or a subdomain of it.
fn in_domain(namespace: &str, domain: &str) -> bool {
    namespace == domain
        || namespace
            .strip_suffix(domain)
            .is_some_and(|head| head.ends_with('.'))
}

/// Whether a kubelet may set the label `key` on its own node (`--node-labels`, k3s
/// `node-label`).
///
/// The NodeRestriction rule: keys whose prefix is `kubernetes.io` or `k8s.io` or a subdomain of
/// either are refused, unless the prefix is (a subdomain of) `kubelet.kubernetes.io` or
/// `node.kubernetes.io`, or the key is one of the well-known node labels
/// (`kubernetes.io/hostname`, `topology.kubernetes.io/zone`, ...). A refused key makes the
/// kubelet exit at start (MS409). Like Kubernetes, the comparison is case-sensitive; syntax is
/// [`check_label_key`]'s job.
///
/// ```
/// use meshspec::labels::self_label_allowed;
/// assert!(!self_label_allowed("node-role.kubernetes.io/worker"));
/// assert!(self_label_allowed("node.kubernetes.io/worker"));
/// assert!(self_label_allowed("topology.kubernetes.io/zone"));
/// assert!(self_label_allowed("nvidia.com/gpu"));
/// assert!(self_label_allowed("gpu-type"));
/// ```
#[must_use]
pub fn self_label_allowed(key: &str) -> bool {
    let Some((namespace, _)) = key.split_once('/') else {
        return true;
    };
    let restricted = in_domain(namespace, "kubernetes.io") || in_domain(namespace, "k8s.io");
    !restricted
        || KUBELET_LABELS.contains(&key)
        || KUBELET_NAMESPACES.iter().any(|d| in_domain(namespace, d))
}

/// What a taint does to pods that do not tolerate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Effect {
    /// New pods are not scheduled on the node.
    NoSchedule,
    /// The scheduler avoids the node when it can.
    PreferNoSchedule,
    /// New pods are not scheduled and running ones are evicted.
    NoExecute,
}

impl Effect {
    /// All effects, in Kubernetes' documentation order.
    pub const ALL: [Effect; 3] = [Self::NoSchedule, Self::PreferNoSchedule, Self::NoExecute];

    /// The effect's name as Kubernetes spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoSchedule => "NoSchedule",
            Self::PreferNoSchedule => "PreferNoSchedule",
            Self::NoExecute => "NoExecute",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not a taint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaintError {
    /// No `:Effect` part.
    #[error("taint `{0}` has no `:Effect` part (`NoSchedule`, `PreferNoSchedule` or `NoExecute`)")]
    MissingEffect(String),
    /// More than one `:` or more than one `=`.
    #[error("taint `{0}` is not `key[=value]:Effect`: it has more than one `{1}`")]
    Shape(String, char),
    /// The effect is not one Kubernetes knows.
    #[error(
        "taint `{taint}` has effect `{effect}`, which is not one of `NoSchedule`, `PreferNoSchedule`, `NoExecute`{}",
        .suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
    )]
    Effect {
        /// The taint.
        taint: String,
        /// The effect as written.
        effect: String,
        /// The effect it differs from only in case, if any.
        suggestion: Option<Effect>,
    },
    /// The key breaks label-key syntax.
    #[error("taint `{taint}` has an invalid key")]
    Key {
        /// The taint.
        taint: String,
        /// What is wrong with the key.
        #[source]
        source: LabelError,
    },
    /// The value breaks label-value syntax.
    #[error("taint `{taint}` has an invalid value")]
    Value {
        /// The taint.
        taint: String,
        /// What is wrong with the value.
        #[source]
        source: LabelError,
    },
}

/// A node taint, `key[=value]:Effect`.
///
/// Parses and prints the form k3s's `node-taint` and kubectl take; serde uses that string.
/// A written empty value (`key=:NoSchedule`) is kept as `Some("")` so that printing gives back
/// the text that was parsed.
///
/// ```
/// use meshspec::labels::{Effect, Taint};
/// let t: Taint = "gpu=true:NoSchedule".parse().unwrap();
/// assert_eq!(t.key, "gpu");
/// assert_eq!(t.value.as_deref(), Some("true"));
/// assert_eq!(t.effect, Effect::NoSchedule);
/// assert_eq!(t.to_string(), "gpu=true:NoSchedule");
/// let e = "gpu=true:noschedule".parse::<Taint>().unwrap_err();
/// assert!(e.to_string().ends_with("(did you mean `NoSchedule`?)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Taint {
    /// The key, following label-key rules.
    pub key: String,
    /// The value, following label-value rules; `None` when no `=` was written.
    pub value: Option<String>,
    /// The effect.
    pub effect: Effect,
}

impl FromStr for Taint {
    type Err = TaintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((kv, effect)) = s.split_once(':') else {
            return Err(TaintError::MissingEffect(s.into()));
        };
        if effect.contains(':') {
            return Err(TaintError::Shape(s.into(), ':'));
        }
        let Some(effect) = Effect::ALL.into_iter().find(|e| e.as_str() == effect) else {
            return Err(TaintError::Effect {
                taint: s.into(),
                effect: effect.into(),
                suggestion: Effect::ALL
                    .into_iter()
                    .find(|e| e.as_str().eq_ignore_ascii_case(effect)),
            });
        };
        let (key, value) = match kv.split_once('=') {
            None => (kv, None),
            Some((_, v)) if v.contains('=') => return Err(TaintError::Shape(s.into(), '=')),
            Some((k, v)) => (k, Some(v)),
        };
        check_label_key(key).map_err(|source| TaintError::Key {
            taint: s.into(),
            source,
        })?;
        if let Some(v) = value {
            check_label_value(v).map_err(|source| TaintError::Value {
                taint: s.into(),
                source,
            })?;
        }
        Ok(Self {
            key: key.into(),
            value: value.map(str::to_owned),
            effect,
        })
    }
}

impl fmt::Display for Taint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)?;
        if let Some(v) = &self.value {
            write!(f, "={v}")?;
        }
        write!(f, ":{}", self.effect)
    }
}

impl Serialize for Taint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Taint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
