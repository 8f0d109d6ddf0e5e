//! Clusters that already exist: `meshspec.lint` (hand-written k3s configs) and
//! `meshspec.import_cluster` (a spec from them). `Cluster.check_live` lives with `Cluster`.

use pyo3::prelude::*;
use serde_json::json;

use crate::convert::json_to_py;
use crate::errors::{Origin, spec_error, value_error};

/// One node given to `lint`: `(name, text)`, or a list of them (config.yaml, then drop-ins).
#[derive(FromPyObject)]
pub enum NodeFiles {
    /// One file.
    One((String, String)),
    /// The main file and its drop-ins, in k3s's order.
    Many(Vec<(String, String)>),
}

impl NodeFiles {
    fn files(self) -> Vec<meshspec::lint::ConfigFile> {
        let list = match self {
            Self::One(f) => vec![f],
            Self::Many(l) => l,
        };
        list.into_iter()
            .map(|(n, t)| meshspec::lint::ConfigFile::new(n, t))
            .collect()
    }
}

fn role(text: Option<&str>) -> PyResult<Option<meshspec::spec::Role>> {
    match text {
        None => Ok(None),
        Some("server") => Ok(Some(meshspec::spec::Role::Server)),
        Some("agent") => Ok(Some(meshspec::spec::Role::Agent)),
        Some(other) => Err(value_error(format!(
            "role `{other}` is neither `server` nor `agent`"
        ))),
    }
}

/// Checks hand-written k3s configs; every finding is a dict with `file`, `code`, `slug`,
/// `severity`, `path`, `line`, `column`, `message`, `help`.
#[pyfunction]
#[pyo3(signature = (nodes, *, role = None, cilium_values = None, cilium_version = None))]
pub fn lint(
    py: Python<'_>,
    nodes: Vec<NodeFiles>,
    role: Option<String>,
    cilium_values: Option<(String, String)>,
    cilium_version: Option<String>,
) -> PyResult<Bound<'_, PyAny>> {
    let role = self::role(role.as_deref())?.map(|r| match r {
        meshspec::spec::Role::Server => meshspec::k3s::flags::Role::Server,
        meshspec::spec::Role::Agent => meshspec::k3s::flags::Role::Agent,
    });
    let nodes: Vec<meshspec::lint::NodeConfig> = nodes
        .into_iter()
        .map(|n| meshspec::lint::NodeConfig {
            files: n.files(),
            role,
        })
        .collect();
    let mut options = meshspec::lint::LintOptions::default();
    if let Some((name, text)) = cilium_values {
        let version = cilium_version
            .ok_or_else(|| value_error("cilium_values needs cilium_version (e.g. \"1.19\")"))?;
        options.cilium = Some(meshspec::lint::CiliumValues {
            file: meshspec::lint::ConfigFile::new(name, text),
            version,
        });
    }
    let report = py.detach(|| meshspec::lint::lint(&nodes, &options));
    let value = serde_json::to_value(&report.findings).unwrap_or_default();
    json_to_py(py, &value)
}

/// Imports a cluster: `nodes` maps node names to config text (or to a list of
/// `(file name, text)`: config.yaml, then drop-ins). Returns a dict with `spec` (YAML with
/// TODO comments), `todos`, `changes`, `restarts` and `diagnostics` (of the imported spec).
#[pyfunction]
#[pyo3(signature = (nodes, *, roles = None, nodes_json = None, cilium_values = None, name = None))]
pub fn import_cluster<'py>(
    py: Python<'py>,
    nodes: &Bound<'py, pyo3::types::PyDict>,
    roles: Option<std::collections::BTreeMap<String, String>>,
    nodes_json: Option<String>,
    cilium_values: Option<String>,
    name: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let roles = roles.unwrap_or_default();
    let mut input = meshspec::import::ImportInput {
        name,
        nodes_json,
        cilium_values,
        nodes: Vec::new(),
    };
    for (node, text) in nodes.iter() {
        let node: String = node.extract()?;
        let text: NodeText = text.extract()?;
        let files = match text {
            NodeText::Text(t) => vec![meshspec::lint::ConfigFile::new(
                format!("{node}/config.yaml"),
                t,
            )],
            NodeText::Files(l) => l
                .into_iter()
                .map(|(n, t)| meshspec::lint::ConfigFile::new(n, t))
                .collect(),
        };
        input.nodes.push(meshspec::import::ImportNode {
            role: role(roles.get(&node).map(String::as_str))?,
            name: node,
            files,
        });
    }
    let imported = py
        .detach(|| meshspec::import::import(&input))
        .map_err(|report| {
            let origin = Origin {
                name: "import".to_owned(),
                text: None,
            };
            spec_error(py, &report.diagnostics(), &origin)
        })?;
    let value = json!({
        "spec": imported.yaml,
        "todos": imported.todos,
        "changes": imported.changes,
        "restarts": imported.plan.restarts,
        "diagnostics": imported.diagnostics.diagnostics,
    });
    json_to_py(py, &value)
}

/// A node's config for `import_cluster`: one text, or `(file name, text)` pairs.
#[derive(FromPyObject)]
pub enum NodeText {
    /// config.yaml's text.
    Text(String),
    /// config.yaml and its drop-ins.
    Files(Vec<(String, String)>),
}
