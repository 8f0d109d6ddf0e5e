//! Clusters that already exist: the plain objects `lint` and `importCluster` take and return.

use napi_derive::napi;

use crate::convert::{self, Diagnostic, Role, Severity};

/// One config file: its name (shown in findings) and text.
#[napi(object)]
pub struct ConfigText {
    /// The path as the user names it.
    pub name: String,
    /// The whole text.
    pub text: String,
}

impl From<ConfigText> for meshspec::lint::ConfigFile {
    fn from(c: ConfigText) -> Self {
        Self::new(c.name, c.text)
    }
}

/// Options of `lint`.
#[napi(object)]
pub struct LintOptions {
    /// The role of every node; inferred per node when absent.
    pub role: Option<Role>,
    /// A Cilium values file to check too.
    pub cilium_values: Option<ConfigText>,
    /// Its chart line, e.g. `1.19` (required with `ciliumValues`).
    pub cilium_version: Option<String>,
}

/// One lint finding: a diagnostic in a file.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct LintFinding {
    /// The file it is in.
    pub file: String,
    /// The rule code, e.g. `MS402`.
    pub code: String,
    /// The rule's slug.
    pub slug: String,
    /// How serious it is.
    pub severity: Severity,
    /// The k3s key, e.g. `node-label[1]`.
    pub path: String,
    /// 1-based line in `file`.
    pub line: Option<u32>,
    /// 1-based column in `file`.
    pub column: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl From<&meshspec::lint::Finding> for LintFinding {
    fn from(f: &meshspec::lint::Finding) -> Self {
        let d = Diagnostic::from(&f.diagnostic);
        Self {
            file: f.file.clone(),
            code: d.code,
            slug: d.slug,
            severity: d.severity,
            path: d.path,
            line: d.line,
            column: d.column,
            message: d.message,
            help: d.help,
        }
    }
}

/// One node given to `importCluster`.
#[napi(object)]
pub struct ImportNodeInput {
    /// The node name, as `kubectl get nodes` shows it.
    pub name: String,
    /// The role; inferred when absent.
    pub role: Option<Role>,
    /// `config.yaml`, then its drop-ins in name order.
    pub files: Vec<ConfigText>,
}

/// Options of `importCluster`.
#[napi(object)]
pub struct ImportOptions {
    /// The cluster's name in the spec.
    pub name: Option<String>,
    /// `kubectl get nodes -o json` output.
    pub nodes_json: Option<String>,
    /// The Cilium Helm values (YAML) the cluster was installed with.
    pub cilium_values: Option<String>,
}

/// Something the inputs do not show.
#[napi(object, object_from_js = false)]
pub struct Todo {
    /// The spec path.
    pub path: String,
    /// Why, and what to do.
    pub reason: String,
}

/// What rendering the imported spec now would change in one node's config.yaml.
#[napi(object, object_from_js = false)]
pub struct NodeChange {
    /// The node.
    pub node: String,
    /// Keys the render adds.
    pub added: Vec<String>,
    /// Keys the render writes with another value.
    pub changed: Vec<String>,
    /// Keys the render drops.
    pub dropped: Vec<String>,
}

/// The result of `importCluster`.
#[napi(object, object_from_js = false)]
pub struct ImportResult {
    /// The spec as YAML, with `# TODO` comments.
    pub spec: String,
    /// What the inputs do not show.
    pub todos: Vec<Todo>,
    /// Per node, what rendering now would change.
    pub changes: Vec<NodeChange>,
    /// The nodes k3s would restart on, in order (servers first).
    pub restarts: Vec<String>,
    /// The imported spec's own diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

impl From<Role> for meshspec::spec::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Server => Self::Server,
            Role::Agent => Self::Agent,
        }
    }
}

impl From<meshspec::import::Imported> for ImportResult {
    fn from(i: meshspec::import::Imported) -> Self {
        Self {
            todos: i
                .todos
                .into_iter()
                .map(|t| Todo {
                    path: t.path,
                    reason: t.reason,
                })
                .collect(),
            changes: i
                .changes
                .into_iter()
                .map(|c| NodeChange {
                    node: c.node,
                    added: c.added,
                    changed: c.changed,
                    dropped: c.dropped,
                })
                .collect(),
            restarts: i.plan.restarts,
            diagnostics: convert::diagnostics(&i.diagnostics),
            spec: i.yaml,
        }
    }
}
