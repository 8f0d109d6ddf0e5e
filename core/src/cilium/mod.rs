//! Cilium facts: chart lines, the vendored values schemas and the chart's own fail rules.
//!
//! meshspec supports the chart lines it vendors a `values.schema.json` for (1.18, 1.19 and
//! 1.20; see `core/data/PROVENANCE.md`). [`ChartLine`] names one, [`schema`] checks a values
//! tree against its schema, and [`rules`] reproduces the render failures the chart's
//! templates raise. [`chart_default`] reads the raw `values.yaml` defaults recorded per line.
//!
//! This module builds no diagnostics and renders no values file: the rules (`MS7xx`) and the
//! Cilium renderer do. It does not run Helm templates, so only the checks written out here
//! are reproduced; it does not know the agent's own option parsing beyond the fatal
//! combinations listed in [`rules`].

mod path;
pub mod rules;
pub mod schema;

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The vendored per-version `values.yaml` defaults.
const DEFAULTS: &str = include_str!("../../data/cilium/defaults.json");

/// A supported Cilium Helm chart line (a minor version).
///
/// Parses from `"1.20"` or from the exact vendored chart version (`"1.20.0"`); prints as
/// `1.20`. An unquoted `1.20` in YAML is the number 1.2: deserializing refuses it with a
/// hint to quote it.
///
/// ```
/// use meshspec::cilium::ChartLine;
/// let line: ChartLine = "1.19".parse().unwrap();
/// assert_eq!(line.chart_version(), "1.19.6");
/// assert_eq!(line.to_string(), "1.19");
/// assert_eq!("1.20.0".parse::<ChartLine>().unwrap(), ChartLine::newest());
/// assert!("1.17".parse::<ChartLine>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChartLine {
    /// Cilium 1.18 (chart 1.18.12).
    V1_18,
    /// Cilium 1.19 (chart 1.19.6).
    V1_19,
    /// Cilium 1.20 (chart 1.20.0).
    V1_20,
}

impl ChartLine {
    /// Every supported line, oldest first.
    pub const SUPPORTED: &'static [ChartLine] =
        &[ChartLine::V1_18, ChartLine::V1_19, ChartLine::V1_20];

    /// The newest supported line, used when a spec names none.
    #[must_use]
    pub fn newest() -> ChartLine {
        ChartLine::V1_20
    }

    /// The vendored chart version of this line, e.g. `"1.20.0"`.
    #[must_use]
    pub fn chart_version(self) -> &'static str {
        match self {
            ChartLine::V1_18 => "1.18.12",
            ChartLine::V1_19 => "1.19.6",
            ChartLine::V1_20 => "1.20.0",
        }
    }

    /// The line as written, e.g. `"1.20"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChartLine::V1_18 => "1.18",
            ChartLine::V1_19 => "1.19",
            ChartLine::V1_20 => "1.20",
        }
    }

    /// The minor version, e.g. `20`.
    #[must_use]
    pub fn minor(self) -> u32 {
        match self {
            ChartLine::V1_18 => 18,
            ChartLine::V1_19 => 19,
            ChartLine::V1_20 => 20,
        }
    }
}

impl fmt::Display for ChartLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChartLine {
    type Err = UnsupportedChartLine;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChartLine::SUPPORTED
            .iter()
            .copied()
            .find(|line| s == line.as_str() || s == line.chart_version())
            .ok_or_else(|| UnsupportedChartLine {
                given: s.to_owned(),
            })
    }
}

impl Serialize for ChartLine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ChartLine {
    /// Accepts a string, or a number (then refused with the quoting hint when YAML has
    /// turned `1.20` into `1.2`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(serde_json::Number),
        }
        let given = match Raw::deserialize(deserializer)? {
            Raw::Text(s) => s,
            Raw::Number(n) => n.to_string(),
        };
        given.parse().map_err(|e: UnsupportedChartLine| {
            let hint = e.hint();
            serde::de::Error::custom(format!("{e}; {hint}"))
        })
    }
}

/// A chart line meshspec does not support or cannot read (rule MS706).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cilium chart line `{given}` is not supported: supported lines are {}",
    supported_list()
)]
pub struct UnsupportedChartLine {
    /// The text given.
    pub given: String,
}

impl UnsupportedChartLine {
    /// How to name a supported line instead.
    ///
    /// ```
    /// use meshspec::cilium::ChartLine;
    /// let err = "1.2".parse::<ChartLine>().unwrap_err();
    /// assert_eq!(
    ///     err.hint(),
    ///     "YAML reads an unquoted `1.20` as the number `1.2`: quote it, `\"1.20\"`"
    /// );
    /// ```
    #[must_use]
    pub fn hint(&self) -> String {
        let given = self.given.as_str();
        let newest = ChartLine::newest();
        let oldest = ChartLine::SUPPORTED[0];
        // YAML turns `1.20` (or `1.10`, `1.30`) into a float that prints without the zero.
        let padded = format!("{given}0");
        if let Ok(line) = padded.parse::<ChartLine>() {
            return format!(
                "YAML reads an unquoted `{line}` as the number `{given}`: quote it, `\"{line}\"`"
            );
        }
        let Some((major, minor, patch)) = split_version(given.strip_prefix('v').unwrap_or(given))
        else {
            return format!("write a chart line such as `{newest}`");
        };
        if let Some(Ok(line)) = given.strip_prefix('v').map(str::parse::<ChartLine>) {
            return format!("drop the `v`: write `{line}`");
        }
        if major == 1 {
            if let Some(line) = ChartLine::SUPPORTED.iter().find(|l| l.minor() == minor)
                && patch.is_some()
            {
                return format!(
                    "meshspec ships chart `{}` for line `{line}`: write `{line}`",
                    line.chart_version()
                );
            }
            if minor < oldest.minor() {
                return format!("the oldest supported line is `{oldest}`: upgrade Cilium first");
            }
        }
        format!("the newest supported line is `{newest}`")
    }
}

/// `` `1.18`, `1.19`, `1.20` ``
fn supported_list() -> String {
    ChartLine::SUPPORTED
        .iter()
        .map(|l| format!("`{l}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `major.minor[.patch]` with decimal parts.
fn split_version(s: &str) -> Option<(u32, u32, Option<u32>)> {
    let mut parts = s.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = match parts.next() {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

/// A tunnel encapsulation Cilium supports (`tunnelProtocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelProtocol {
    /// VXLAN, the chart's effective default.
    Vxlan,
    /// Geneve.
    Geneve,
}

impl TunnelProtocol {
    /// The value as written in Helm values, e.g. `"vxlan"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelProtocol::Vxlan => "vxlan",
            TunnelProtocol::Geneve => "geneve",
        }
    }
}

impl fmt::Display for TunnelProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TunnelProtocol {
    type Err = UnknownTunnelProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "vxlan" => Ok(TunnelProtocol::Vxlan),
            "geneve" => Ok(TunnelProtocol::Geneve),
            _ => Err(UnknownTunnelProtocol {
                given: s.to_owned(),
            }),
        }
    }
}

/// A `tunnelProtocol` other than `vxlan` or `geneve`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown cilium tunnel protocol `{given}`: use `vxlan` or `geneve`")]
pub struct UnknownTunnelProtocol {
    /// The text given.
    pub given: String,
}

/// The UDP port the agent uses when `tunnelPort` is 0 (the chart default): 8472 for VXLAN
/// (the Linux default, shared with flannel), 6081 for Geneve. The chart does not render a
/// port then; these are the agent's defaults (chart annotation on `tunnelPort`).
///
/// ```
/// use meshspec::cilium::{default_tunnel_port, TunnelProtocol};
/// assert_eq!(default_tunnel_port(TunnelProtocol::Vxlan), 8472);
/// assert_eq!(default_tunnel_port(TunnelProtocol::Geneve), 6081);
/// ```
#[must_use]
pub fn default_tunnel_port(protocol: TunnelProtocol) -> u16 {
    match protocol {
        TunnelProtocol::Vxlan => 8472,
        TunnelProtocol::Geneve => 6081,
    }
}

/// The raw `values.yaml` default of `key` on `line`, as recorded in `defaults.json`.
///
/// Only the keys meshspec cares about are recorded (`routingMode`, `tunnelProtocol`,
/// `tunnelPort`, `autoDirectNodeRoutes`, `enableIPv4Masquerade`, `ipam.mode`,
/// `ipam.operator.clusterPoolIPv4PodCIDRList`, `MTU`, `kubeProxyReplacement`, ...), by dotted
/// path. `None` for keys not recorded and for keys `values.yaml` leaves unset. The raw
/// default is not always what renders: an empty `routingMode` renders as `tunnel`.
///
/// ```
/// use meshspec::cilium::{chart_default, ChartLine};
/// use serde_json::json;
/// assert_eq!(chart_default(ChartLine::V1_20, "ipam.mode"), Some(&json!("cluster-pool")));
/// assert_eq!(chart_default(ChartLine::V1_20, "tunnel"), None);
/// ```
#[must_use]
pub fn chart_default(line: ChartLine, key: &str) -> Option<&'static Value> {
    static PARSED: OnceLock<Value> = OnceLock::new();
    let defaults = PARSED.get_or_init(|| serde_json::from_str(DEFAULTS).unwrap_or(Value::Null));
    defaults
        .get("versions")?
        .get(line.chart_version())?
        .get("values")?
        .get(key)
        .filter(|v| v.as_str() != Some("<absent>"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lines_parse_and_print() {
        for (text, line) in [
            ("1.18", ChartLine::V1_18),
            ("1.19", ChartLine::V1_19),
            ("1.20", ChartLine::V1_20),
            ("1.18.12", ChartLine::V1_18),
            ("1.19.6", ChartLine::V1_19),
            ("1.20.0", ChartLine::V1_20),
        ] {
            assert_eq!(text.parse::<ChartLine>(), Ok(line), "{text}");
            assert_eq!(line.to_string().parse::<ChartLine>(), Ok(line));
            assert!(line.chart_version().starts_with(&format!("{line}.")));
        }
        assert_eq!(ChartLine::newest(), *ChartLine::SUPPORTED.last().unwrap());
        assert_eq!(ChartLine::newest().minor(), 20);
        assert!(ChartLine::SUPPORTED.is_sorted());
    }

    #[test]
    fn refused_lines_carry_hints() {
        let hint = |s: &str| s.parse::<ChartLine>().unwrap_err().hint();
        assert_eq!(
            hint("1.2"),
            "YAML reads an unquoted `1.20` as the number `1.2`: quote it, `\"1.20\"`"
        );
        assert_eq!(
            hint("1.19.7"),
            "meshspec ships chart `1.19.6` for line `1.19`: write `1.19`"
        );
        assert_eq!(
            hint("1.20.1"),
            "meshspec ships chart `1.20.0` for line `1.20`: write `1.20`"
        );
        assert_eq!(hint("v1.20"), "drop the `v`: write `1.20`");
        assert_eq!(hint("v1.20.0"), "drop the `v`: write `1.20`");
        assert_eq!(
            hint("1.17"),
            "the oldest supported line is `1.18`: upgrade Cilium first"
        );
        assert_eq!(
            hint("1.14.19"),
            "the oldest supported line is `1.18`: upgrade Cilium first"
        );
        assert_eq!(hint("1.21"), "the newest supported line is `1.20`");
        assert_eq!(hint("2.0"), "the newest supported line is `1.20`");
        for garbage in ["", "latest", "1", "1.x", "1.20.0.0", " 1.20", "1.20 "] {
            assert_eq!(
                hint(garbage),
                "write a chart line such as `1.20`",
                "{garbage:?}"
            );
        }
        let err = "1.17".parse::<ChartLine>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "cilium chart line `1.17` is not supported: supported lines are `1.18`, `1.19`, `1.20`"
        );
    }

    #[test]
    fn serde_round_trip_and_yaml_floats() {
        let line: ChartLine = serde_json::from_value(json!("1.19")).unwrap();
        assert_eq!(line, ChartLine::V1_19);
        assert_eq!(serde_json::to_value(line).unwrap(), json!("1.19"));
        assert_eq!(
            serde_json::from_value::<ChartLine>(json!(1.18)).unwrap(),
            ChartLine::V1_18
        );
        let err = serde_json::from_value::<ChartLine>(json!(1.20)).unwrap_err();
        assert!(err.to_string().contains("quote it, `\"1.20\"`"), "{err}");
        assert!(serde_json::from_value::<ChartLine>(json!(true)).is_err());
    }

    #[test]
    fn tunnel_protocols() {
        assert_eq!("vxlan".parse(), Ok(TunnelProtocol::Vxlan));
        assert_eq!("geneve".parse(), Ok(TunnelProtocol::Geneve));
        let err = "VXLAN".parse::<TunnelProtocol>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown cilium tunnel protocol `VXLAN`: use `vxlan` or `geneve`"
        );
        assert_eq!(default_tunnel_port(TunnelProtocol::Vxlan), 8472);
        assert_eq!(default_tunnel_port(TunnelProtocol::Geneve), 6081);
    }

    #[test]
    fn defaults_are_recorded_for_every_line() {
        assert!(serde_json::from_str::<Value>(DEFAULTS).is_ok());
        for &line in ChartLine::SUPPORTED {
            assert_eq!(chart_default(line, "routingMode"), Some(&json!("")));
            assert_eq!(chart_default(line, "tunnelPort"), Some(&json!(0)));
            assert_eq!(
                chart_default(line, "autoDirectNodeRoutes"),
                Some(&json!(false))
            );
            assert_eq!(
                chart_default(line, "kubeProxyReplacement"),
                Some(&json!("false"))
            );
            assert_eq!(
                chart_default(line, "ipam.operator.clusterPoolIPv4PodCIDRList"),
                Some(&json!(["10.0.0.0/8"]))
            );
            assert_eq!(chart_default(line, "tunnel"), None);
            assert_eq!(chart_default(line, "no.such.key"), None);
        }
        assert_eq!(chart_default(ChartLine::V1_20, "devices"), Some(&json!("")));
        assert_eq!(chart_default(ChartLine::V1_19, "devices"), None);
    }
}
