//! Type conversion between Python objects and the core's JSON-like values.
//!
//! [`py_to_json`] turns a spec held as plain Python data (dicts, lists, str, int, float, bool,
//! None, as Ansible variables hold it) into a `serde_json::Value`; [`json_to_py`] goes back.
//! Mappings and sequences are walked through Python's own protocols (`items()`, iteration) so
//! dict and list subclasses that compute their items lazily (Ansible's) are read correctly.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::errors::{type_error, value_error};

/// Deeper than any spec: stops self-referencing containers before the stack does.
const MAX_DEPTH: usize = 64;

/// Converts a Python object to JSON; errors name the offending path (`nodes[1].mesh_ip`).
pub fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_json(obj, "", 0)
}

fn to_json(obj: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        let head: String = path.chars().take(40).collect();
        return Err(value_error(format!(
            "the spec nests deeper than {MAX_DEPTH} levels below `{head}`: does a container hold itself?"
        )));
    }
    if obj.is_none() {
        Ok(Value::Null)
    } else if obj.is_instance_of::<PyBool>() {
        Ok(Value::Bool(obj.extract::<bool>()?))
    } else if obj.is_instance_of::<PyString>() {
        Ok(Value::String(obj.extract::<String>()?))
    } else if obj.is_instance_of::<PyInt>() {
        int_to_json(obj, path)
    } else if obj.is_instance_of::<PyFloat>() {
        let f = obj.extract::<f64>()?;
        Number::from_f64(f).map(Value::Number).ok_or_else(|| {
            value_error(format!("`{f}` at `{}` is not a finite number", shown(path)))
        })
    } else if obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyMapping>() {
        map_to_json(obj, path, depth)
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(to_json(&item?, &format!("{path}[{i}]"), depth + 1)?);
        }
        Ok(Value::Array(items))
    } else {
        let kind = obj.get_type().name()?;
        Err(type_error(format!(
            "unsupported value of type `{kind}` at `{}`: a spec holds only dict, list, str, int, float, bool and None",
            shown(path)
        )))
    }
}

fn int_to_json(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    if let Ok(i) = obj.extract::<i64>() {
        Ok(Value::from(i))
    } else if let Ok(u) = obj.extract::<u64>() {
        Ok(Value::from(u))
    } else {
        Err(value_error(format!(
            "the integer at `{}` is out of range",
            shown(path)
        )))
    }
}

fn map_to_json(obj: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    let mut map = Map::new();
    for item in obj.call_method0("items")?.try_iter()? {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        if !key.is_instance_of::<PyString>() {
            let kind = key.get_type().name()?;
            return Err(type_error(format!(
                "keys must be str, found a key of type `{kind}` in `{}`",
                shown(path)
            )));
        }
        let key: String = key.extract()?;
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        map.insert(key, to_json(&value, &child, depth + 1)?);
    }
    Ok(Value::Object(map))
}

fn shown(path: &str) -> &str {
    if path.is_empty() { "<root>" } else { path }
}

/// Converts a JSON value to the matching Python object (dict, list, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Ordered key/value pairs (a k3s config) as a dict that keeps their order.
pub fn entries_to_dict<'py>(
    py: Python<'py>,
    entries: &[(String, Value)],
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in entries {
        dict.set_item(key, json_to_py(py, value)?)?;
    }
    Ok(dict)
}

/// The arguments of `meshspec.no_proxy()`, parsed: the owned form of the core's `Inputs`.
pub struct NoProxyArgs {
    style: meshspec::no_proxy::Style,
    cluster_cidrs: Vec<meshspec::cidr::Cidr>,
    service_cidrs: Vec<meshspec::cidr::Cidr>,
    node_addresses: Vec<std::net::IpAddr>,
    site_subnets: Vec<meshspec::cidr::Cidr>,
    mesh_ranges: Vec<meshspec::cidr::Cidr>,
    server_hosts: Vec<String>,
    cluster_domain: String,
    dns_suffix: Option<String>,
    extra: Vec<String>,
}

/// The texts of `meshspec.no_proxy()`'s arguments, as Python passed them.
pub struct NoProxyTexts {
    /// `precise` or `broad`.
    pub style: String,
    /// Pod CIDRs.
    pub cluster_cidrs: Vec<String>,
    /// Service CIDRs.
    pub service_cidrs: Vec<String>,
    /// Every node address.
    pub node_addresses: Vec<String>,
    /// Site subnets.
    pub site_subnets: Vec<String>,
    /// Mesh address ranges.
    pub mesh_ranges: Vec<String>,
    /// Server URL hosts (addresses or names).
    pub server_hosts: Vec<String>,
    /// The cluster domain.
    pub cluster_domain: String,
    /// The mesh's DNS suffix.
    pub dns_suffix: Option<String>,
    /// Entries added as written.
    pub extra: Vec<String>,
}

impl NoProxyTexts {
    /// Parses every field; a bad CIDR, address or style is a `ValueError` naming the argument.
    pub fn parse(self) -> PyResult<NoProxyArgs> {
        let style = match self.style.as_str() {
            "precise" => meshspec::no_proxy::Style::Precise,
            "broad" => meshspec::no_proxy::Style::Broad,
            other => {
                return Err(value_error(format!(
                    "style must be `precise` or `broad`, not `{other}`"
                )));
            }
        };
        Ok(NoProxyArgs {
            style,
            cluster_cidrs: cidrs("cluster_cidrs", &self.cluster_cidrs)?,
            service_cidrs: cidrs("service_cidrs", &self.service_cidrs)?,
            node_addresses: addresses("node_addresses", &self.node_addresses)?,
            site_subnets: cidrs("site_subnets", &self.site_subnets)?,
            mesh_ranges: cidrs("mesh_ranges", &self.mesh_ranges)?,
            server_hosts: self.server_hosts,
            cluster_domain: self.cluster_domain,
            dns_suffix: self.dns_suffix,
            extra: self.extra,
        })
    }
}

impl NoProxyArgs {
    /// The core's view of these arguments.
    pub fn inputs(&self) -> meshspec::no_proxy::Inputs<'_> {
        meshspec::no_proxy::Inputs {
            style: self.style,
            cluster_cidrs: &self.cluster_cidrs,
            service_cidrs: &self.service_cidrs,
            node_addresses: &self.node_addresses,
            site_subnets: &self.site_subnets,
            mesh_ranges: &self.mesh_ranges,
            server_hosts: &self.server_hosts,
            cluster_domain: &self.cluster_domain,
            dns_suffix: self.dns_suffix.as_deref(),
            extra: &self.extra,
        }
    }
}

fn cidrs(argument: &str, texts: &[String]) -> PyResult<Vec<meshspec::cidr::Cidr>> {
    texts
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|e| value_error(format!("{argument}: {e}")))
        })
        .collect()
}

fn addresses(argument: &str, texts: &[String]) -> PyResult<Vec<std::net::IpAddr>> {
    texts
        .iter()
        .map(|t| {
            t.trim()
                .parse()
                .map_err(|_| value_error(format!("{argument}: `{t}` is not an IP address")))
        })
        .collect()
}

/// The stand-alone MTU calculator's question, from the keyword arguments of `meshspec.mtu()`.
pub fn mtu_query(
    underlay: u32,
    mesh: Option<&str>,
    mesh_mtu: Option<u32>,
    tunnel: Option<&str>,
    outer: &str,
) -> PyResult<meshspec::mtu::Query> {
    meshspec::spec::mtu_query(underlay, mesh, mesh_mtu, tunnel, outer)
        .map_err(|e| value_error(e.to_string()))
}

/// A stack as plain data: `pod_mtu`, `layers`, `violations` (messages) and the printable `table`.
pub fn stack_to_json(stack: &meshspec::mtu::Stack) -> Value {
    serde_json::json!({
        "pod_mtu": stack.pod_mtu(),
        "layers": stack.layers().iter().map(|l| serde_json::json!({"name": l.name, "mtu": l.mtu, "overhead": l.overhead, "note": l.note})).collect::<Vec<_>>(),
        "violations": stack.violations().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "table": stack.to_string(),
    })
}
