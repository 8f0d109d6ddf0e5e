//! `meshspec.Cluster`: a resolved spec, and the calls that validate and render it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;

use crate::convert::{json_to_py, py_to_json};
use crate::errors::{Origin, io_error, not_utf8, spec_error, unknown_node};
use crate::files::Files;
use crate::types::{Diagnostic, Node};

/// The name used in messages when the caller gives none (generated files never name the spec).
const DEFAULT_NAME: &str = "spec.yaml";

/// A cluster spec, read and resolved (every default applied, every derived value computed).
#[pyclass(module = "meshspec", frozen)]
pub struct Cluster {
    inner: meshspec::Cluster,
    origin: Origin,
    /// The spec's name as shown in messages.
    spec_name: String,
    /// The render, made on the first `render()` or `node()` and shared by every later call:
    /// the cluster is immutable, so one whole-cluster step serves all of them, and a loop
    /// over the nodes costs each node's own files, not a render per node.
    rendered: OnceLock<Result<Arc<meshspec::Bundle>, meshspec::Diagnostics>>,
    /// How many whole-cluster renders this object made (0 or 1), for the tests that keep the
    /// per-node calls from going back to rendering the cluster each time.
    renders: AtomicUsize,
}

impl Cluster {
    fn read(
        py: Python<'_>,
        parsed: Result<meshspec::Cluster, meshspec::Diagnostics>,
        origin: Origin,
        spec_name: String,
    ) -> PyResult<Self> {
        match parsed {
            Ok(inner) => Ok(Self {
                inner,
                origin,
                spec_name,
                rendered: OnceLock::new(),
                renders: AtomicUsize::new(0),
            }),
            Err(d) => Err(spec_error(py, &d, &origin)),
        }
    }

    /// The cluster's render, made once (outside the GIL) and shared.
    fn bundle(&self, py: Python<'_>) -> PyResult<Arc<meshspec::Bundle>> {
        let rendered = py.detach(|| {
            self.rendered.get_or_init(|| {
                self.renders.fetch_add(1, Ordering::Relaxed);
                let options = meshspec::RenderOptions {
                    spec_name: self.spec_name.clone(),
                };
                self.inner.render(&options).map(Arc::new)
            })
        });
        match rendered {
            Ok(bundle) => Ok(Arc::clone(bundle)),
            Err(d) => Err(spec_error(py, d, &self.origin)),
        }
    }
}

/// Reads at most one byte more than a spec may have, so `/dev/zero` is refused at once, in
/// bounded memory. As the CLI: a FIFO (which would block the open, and the interpreter with
/// it), a socket or a directory is refused before opening, and a kernel pseudo-file (size 0
/// yet data, `/proc/self/environ`) after reading, so none of its text reaches a message.
fn read_bounded(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::FileTypeExt as _;
    let refuse =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_owned());
    let meta = std::fs::metadata(path)?;
    let t = meta.file_type();
    if !(t.is_file() || t.is_char_device()) {
        return Err(refuse(if t.is_fifo() {
            "is a FIFO (named pipe), not a regular file"
        } else if t.is_dir() {
            "is a directory"
        } else {
            "is not a regular file"
        }));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(meshspec::yaml::MAX_SPEC_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    if t.is_file() && meta.len() == 0 && !bytes.is_empty() {
        return Err(refuse(
            "is a kernel pseudo-file (its size is 0 but it holds data), not a YAML file",
        ));
    }
    if t.is_char_device() && bytes.len() <= meshspec::yaml::MAX_SPEC_BYTES {
        return Err(refuse("is a character device, not a regular file"));
    }
    Ok(bytes)
}

#[pymethods]
impl Cluster {
    /// Reads a spec from YAML text; `name` is shown in messages. A spec that cannot be read raises
    /// `SpecError` with every reading problem and the errors of every rule that could still run.
    #[staticmethod]
    #[pyo3(signature = (text, name = DEFAULT_NAME.to_owned()), text_signature = "(text, name='spec.yaml')")]
    fn from_yaml(py: Python<'_>, text: String, name: String) -> PyResult<Self> {
        let parsed = py.detach(|| meshspec::Cluster::from_yaml_one_round(&text));
        let origin = Origin {
            name: name.clone(),
            text: Some(text),
        };
        Self::read(py, parsed, origin, name)
    }

    /// Reads a spec from a YAML file (`str` or `os.PathLike`).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let bytes = py
            .detach(|| read_bounded(&path))
            .map_err(|e| io_error(&path, &e))?;
        let name = path.display().to_string();
        if bytes.len() > meshspec::yaml::MAX_SPEC_BYTES {
            let origin = Origin { name, text: None };
            let too_large = meshspec::Diagnostics::from_vec(vec![meshspec::yaml::too_large()]);
            return Err(spec_error(py, &too_large, &origin));
        }
        let spec_name = path
            .file_name()
            .map_or_else(|| name.clone(), |f| f.to_string_lossy().into_owned());
        let text = String::from_utf8(bytes).map_err(|e| not_utf8(py, &name, &e))?;
        let parsed = py.detach(|| meshspec::Cluster::from_yaml_one_round(&text));
        let origin = Origin {
            name,
            text: Some(text),
        };
        Self::read(py, parsed, origin, spec_name)
    }

    /// Reads a spec held as plain Python data (dicts, lists, str, int, bool, None).
    #[staticmethod]
    #[pyo3(signature = (data, name = DEFAULT_NAME.to_owned()), text_signature = "(data, name='spec.yaml')")]
    fn from_dict(py: Python<'_>, data: &Bound<'_, PyAny>, name: String) -> PyResult<Self> {
        let value = py_to_json(data)?;
        let parsed = py.detach(|| meshspec::Cluster::from_json(&value));
        let origin = Origin {
            name: name.clone(),
            text: None,
        };
        Self::read(py, parsed, origin, name)
    }

    /// The cluster's name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The node names, in spec order.
    #[getter]
    fn nodes(&self) -> Vec<String> {
        self.inner.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// The smallest pod MTU over all nodes (what a no-fragment ping across the cluster must use).
    #[getter]
    fn pod_mtu(&self) -> u32 {
        self.inner.pod_mtu()
    }

    /// Every diagnostic (errors, warnings, info), errors first.
    fn validate(&self, py: Python<'_>) -> Vec<Diagnostic> {
        let diagnostics = py.detach(|| self.inner.validate());
        diagnostics.into_iter().map(Diagnostic::from).collect()
    }

    /// Checks a NO_PROXY value already in use on the nodes: MS501 for what it misses, MS502 for
    /// malformed entries; an empty list when it covers everything the cluster needs.
    fn check_no_proxy(&self, value: &str) -> Vec<Diagnostic> {
        self.inner
            .check_no_proxy(value)
            .into_iter()
            .map(Diagnostic::from)
            .collect()
    }

    /// Compares `kubectl get nodes -o json` output with the spec (MS951-MS958); raises
    /// SpecError (MS001) when the text is not such a node list.
    fn check_live(&self, py: Python<'_>, nodes_json: &str) -> PyResult<Vec<Diagnostic>> {
        let result = py.detach(|| meshspec::live::check_live(&self.inner, nodes_json));
        let origin = Origin {
            name: "nodes.json".to_owned(),
            text: Some(nodes_json.to_owned()),
        };
        result
            .map(|ds| ds.into_iter().map(Diagnostic::from).collect())
            .map_err(|d| spec_error(py, &d, &origin))
    }

    /// Every file the cluster needs, a read-only mapping `{path: File}` whose `File`s are built
    /// on access; raises SpecError when the spec has errors.
    fn render(&self, py: Python<'_>) -> PyResult<Files> {
        Ok(Files::new(self.bundle(py)?))
    }

    /// One node's resolved view; raises SpecError when the spec has errors.
    fn node(&self, py: Python<'_>, name: &str) -> PyResult<Node> {
        let Some(node) = self.inner.node(name) else {
            return Err(unknown_node(name, &self.nodes()));
        };
        Ok(Node::new(&self.inner, node, self.bundle(py)?))
    }

    /// How many times this cluster rendered its whole bundle: 0 before the first `render()`
    /// or `node()`, then 1, however many calls follow (they share that render).
    #[getter]
    fn _renders(&self) -> usize {
        self.renders.load(Ordering::Relaxed)
    }

    /// The NO_PROXY entries rendered for every node, or None when the spec has no `proxy:` block.
    fn no_proxy(&self) -> Option<Vec<String>> {
        self.inner.no_proxy()
    }

    /// The plan report (`PLAN.md`: addressing, networks, MTU, NO_PROXY, rollout, diagnostics).
    ///
    /// Written for specs with errors too: their diagnostics are part of the report.
    fn plan(&self, py: Python<'_>) -> String {
        py.detach(|| self.inner.plan_report())
    }

    /// What applying this spec to a cluster built from `old` takes (`meshspec plan NEW --from
    /// OLD`): a dict with `plan` (Markdown), `diagnostics` (MS901-MS910, MS413 on an upgrade
    /// target) and `changes` (per node, in order, the files that change with the action each
    /// needs and the steps; see docs/upgrades.md).
    fn plan_from<'py>(
        &self,
        py: Python<'py>,
        old: PyRef<'_, Cluster>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let old_inner = &old.inner;
        let plan = py.detach(|| meshspec::change::ChangePlan::between(old_inner, &self.inner));
        let out = pyo3::types::PyDict::new(py);
        out.set_item("plan", plan.render_markdown())?;
        let diagnostics: Vec<Diagnostic> = plan
            .diagnostics
            .iter()
            .cloned()
            .map(Diagnostic::from)
            .collect();
        out.set_item("diagnostics", diagnostics)?;
        out.set_item("changes", json_to_py(py, &plan.changes_json())?)?;
        Ok(out)
    }

    /// The WireGuard topology when meshspec renders the mesh (`mesh.wireguard.manage: true`),
    /// as plain dicts: `interface`, `listen_port`, `mtu`, `relays`, `relays_explicit`, `nodes`
    /// (each with `name`, `addresses`, `lan_ips`, `forwards` and its `peers`: `name`,
    /// `public_key`, `endpoint`, `dial`, `dials_in`, `dials_in_over_lan`, `allowed_ips`,
    /// `keepalive`, `relays_for`), `relayed` (`a`, `b`, `relay`) and `unreachable` (MS822);
    /// `None` for any other mesh. Public keys only: no private key is ever known here.
    fn wireguard_topology<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.inner.wireguard_topology() {
            None => Ok(None),
            Some(t) => json_to_py(py, &serde_json::to_value(t).unwrap_or_default()).map(Some),
        }
    }

    /// `PLAN.md`'s Mermaid diagrams (the cluster, then the MTU stack) as two fenced
    /// ` ```mermaid ` blocks: what `meshspec plan SPEC --format mermaid` prints.
    fn diagram(&self, py: Python<'_>) -> String {
        py.detach(|| self.inner.diagram())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let name = self.inner.name.as_str().into_bound_py_any(py)?.repr()?;
        let nodes = self.nodes().into_bound_py_any(py)?.repr()?;
        Ok(format!("Cluster(name={name}, nodes={nodes})"))
    }
}
