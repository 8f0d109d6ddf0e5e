//! The small value classes Python sees: [`Diagnostic`], [`File`] and [`Node`].
//!
//! They are frozen snapshots: reading an attribute returns a fresh Python object, so callers
//! cannot change the cluster through them.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Value, json};

use crate::convert::{entries_to_dict, json_to_py};

/// One problem found in a spec (a rule code, where, what, and how to fix it).
#[pyclass(module = "meshspec", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    inner: meshspec::Diagnostic,
}

impl From<meshspec::Diagnostic> for Diagnostic {
    fn from(inner: meshspec::Diagnostic) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl Diagnostic {
    /// The rule code, e.g. `MS101`.
    #[getter]
    fn code(&self) -> &'static str {
        self.inner.code.as_str()
    }

    /// The rule's slug, e.g. `pod-service-overlap`.
    #[getter]
    fn slug(&self) -> &'static str {
        self.inner.slug
    }

    /// `error`, `warning` or `info`.
    #[getter]
    fn severity(&self) -> &'static str {
        self.inner.severity.as_str()
    }

    /// The field path in the spec, e.g. `nodes[2].mesh_ip` (empty for the whole document).
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }

    /// 1-based line in the spec text; None for specs given as dicts.
    #[getter]
    fn line(&self) -> Option<u32> {
        self.inner.line
    }

    /// 1-based column in the spec text; None for specs given as dicts.
    #[getter]
    fn column(&self) -> Option<u32> {
        self.inner.column
    }

    /// What is wrong, on one line.
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }

    /// A concrete fix, when there is one.
    #[getter]
    fn help(&self) -> Option<&str> {
        self.inner.help.as_deref()
    }

    /// Whether the spec's `acknowledge:` accepts this finding (a warning or info).
    #[getter]
    fn acknowledged(&self) -> bool {
        self.inner.acknowledged
    }

    /// The reason the `acknowledge:` entry gives, when acknowledged.
    #[getter]
    fn reason(&self) -> Option<&str> {
        self.inner.reason.as_deref().map(String::as_str)
    }

    /// Whether this diagnostic stops rendering.
    #[getter]
    fn is_error(&self) -> bool {
        self.inner.is_error()
    }

    /// The diagnostic as a plain dict (the same keys as the CLI's JSON output).
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("code", self.code())?;
        d.set_item("slug", self.slug())?;
        d.set_item("severity", self.severity())?;
        d.set_item("path", self.path())?;
        d.set_item("line", self.line())?;
        d.set_item("column", self.column())?;
        d.set_item("message", self.message())?;
        d.set_item("help", self.help())?;
        d.set_item("acknowledged", self.acknowledged())?;
        d.set_item("reason", self.reason())?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let position = match (self.inner.line, self.inner.column) {
            (Some(l), Some(c)) => format!(", line={l}, column={c}"),
            _ => String::new(),
        };
        Ok(format!(
            "Diagnostic(code={}, severity={}, path={}{position}, message={})",
            repr(py, self.code())?,
            repr(py, self.severity())?,
            repr(py, self.path())?,
            repr(py, self.message())?
        ))
    }

    fn __str__(&self) -> String {
        self.inner.render(None).trim_end().to_owned()
    }
}

/// One rendered file: its text and its Unix permission bits.
#[pyclass(module = "meshspec", frozen, eq, hash)]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct File {
    /// The full text.
    #[pyo3(get)]
    contents: String,
    /// Unix permission bits, e.g. `0o600`.
    #[pyo3(get)]
    mode: u32,
}

impl From<&meshspec::File> for File {
    fn from(f: &meshspec::File) -> Self {
        Self {
            contents: f.contents.to_string(),
            mode: f.mode,
        }
    }
}

impl File {
    /// Whether this is the core's `file` (same text, same mode), without copying it.
    pub fn is(&self, file: &meshspec::File) -> bool {
        file.contents == self.contents && self.mode == file.mode
    }
}

#[pymethods]
impl File {
    #[new]
    #[pyo3(signature = (contents, mode = 0o644))]
    fn new(contents: String, mode: u32) -> Self {
        Self { contents, mode }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        const SHOWN: usize = 48;
        let head: String = self.contents.chars().take(SHOWN).collect();
        let more = if self.contents.chars().count() > SHOWN {
            "..."
        } else {
            ""
        };
        Ok(format!(
            "File({}{more}, mode=0o{:o})",
            repr(py, head)?,
            self.mode
        ))
    }
}

/// One node's resolved view: addresses, pod subnets, labels, taints, k3s config and files.
#[pyclass(module = "meshspec", frozen)]
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's name.
    #[pyo3(get)]
    pub name: String,
    /// `server` or `agent`.
    #[pyo3(get)]
    pub role: String,
    /// The site it sits in, if any.
    #[pyo3(get)]
    pub site: Option<String>,
    /// The node-ip(s), primary family first.
    #[pyo3(get)]
    pub node_ip: Vec<String>,
    /// The API server's advertise address (servers that need one).
    #[pyo3(get)]
    pub advertise_address: Option<String>,
    /// Predicted (or pinned) pod subnets.
    #[pyo3(get)]
    pub pod_cidr: Vec<String>,
    /// Labels, GPU labels included.
    #[pyo3(get)]
    pub labels: BTreeMap<String, String>,
    /// Taints, GPU taint included.
    #[pyo3(get)]
    pub taints: Vec<String>,
    /// The pod interface's MTU, from the node's encapsulation stack.
    #[pyo3(get)]
    pub pod_mtu: u32,
    /// The encapsulation stack, underlay first: `{name, mtu, overhead, note}` per layer.
    pub mtu_stack: Vec<Value>,
    /// The k3s config keys and values, in file order.
    pub config: Vec<(String, Value)>,
    /// The node's rendered files, read from the cluster's shared render when asked for.
    files: NodeFiles,
}

/// One node's files in the render its `Cluster` shares: the view holds the render, not a copy
/// of the files, so making a `Node` costs no text and `files` copies each text once.
#[derive(Clone)]
struct NodeFiles {
    bundle: Arc<meshspec::Bundle>,
    node: String,
}

impl std::fmt::Debug for NodeFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.bundle.node_files(&self.node).keys())
            .finish()
    }
}

impl Node {
    /// The resolved view of `node`, with its files from the cluster's `bundle`.
    pub fn new(
        cluster: &meshspec::Cluster,
        node: &meshspec::cluster::Node,
        bundle: Arc<meshspec::Bundle>,
    ) -> Self {
        let config = meshspec::render::k3s::config_entries(cluster, node)
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect();
        let stack = cluster.mtu_stack(node);
        let mtu_stack = stack
            .layers()
            .iter()
            .map(|l| json!({"name": l.name, "mtu": l.mtu, "overhead": l.overhead, "note": l.note}))
            .collect();
        Self {
            name: node.name.clone(),
            role: node.role.to_string(),
            site: node.site.clone(),
            node_ip: node.node_ips.iter().map(ToString::to_string).collect(),
            advertise_address: node.advertise_address.map(|a| a.to_string()),
            pod_cidr: node.pod_cidrs.iter().map(ToString::to_string).collect(),
            labels: node.labels.clone(),
            taints: node.taints.clone(),
            pod_mtu: stack.pod_mtu(),
            mtu_stack,
            config,
            files: NodeFiles {
                bundle,
                node: node.name.clone(),
            },
        }
    }
}

#[pymethods]
impl Node {
    /// The node's k3s config (`/etc/rancher/k3s/config.yaml`) as a dict, keys in file order.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        entries_to_dict(py, &self.config)
    }

    /// The encapsulation stack, underlay first, as dicts (`name`, `mtu`, `overhead`, `note`).
    #[getter]
    fn mtu_stack<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &Value::Array(self.mtu_stack.clone()))
    }

    /// The node's rendered files, keyed by path relative to the node's root.
    #[getter]
    fn files<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (path, file) in self.files.bundle.node_files(&self.files.node) {
            d.set_item(path, File::from(file))?;
        }
        Ok(d)
    }

    /// Everything above as plain data (files as `{path: {"contents", "mode"}}`).
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("name", &self.name)?;
        d.set_item("role", &self.role)?;
        d.set_item("site", &self.site)?;
        d.set_item("node_ip", &self.node_ip)?;
        d.set_item("advertise_address", &self.advertise_address)?;
        d.set_item("pod_cidr", &self.pod_cidr)?;
        d.set_item("labels", &self.labels)?;
        d.set_item("taints", &self.taints)?;
        d.set_item("pod_mtu", self.pod_mtu)?;
        d.set_item("mtu_stack", self.mtu_stack(py)?)?;
        d.set_item("config", self.config(py)?)?;
        let files = PyDict::new(py);
        for (path, file) in self.files.bundle.node_files(&self.files.node) {
            let f = PyDict::new(py);
            f.set_item("contents", &*file.contents.as_str())?;
            f.set_item("mode", file.mode)?;
            files.set_item(path, f)?;
        }
        d.set_item("files", files)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Node(name={}, role={}, node_ip={}, pod_cidr={})",
            repr(py, &self.name)?,
            repr(py, &self.role)?,
            repr(py, &self.node_ip)?,
            repr(py, &self.pod_cidr)?
        ))
    }
}

/// Python's `repr()` of a value, for the `__repr__`s above.
fn repr<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> PyResult<String> {
    Ok(value.into_bound_py_any(py)?.repr()?.to_string())
}
