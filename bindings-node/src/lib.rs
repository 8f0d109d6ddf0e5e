//! Node binding of meshspec: `require('meshspec')`.
//!
//! Each export is a few lines that call the core and convert: types live in `convert.rs`,
//! errors (the `MeshspecError` thrown for a refused spec) in `errors.rs`. Everything is
//! synchronous and pure: specs come in as text or plain objects, files come out as strings.

mod convert;
mod errors;
mod existing;
mod files;

/// The addon's allocator. A Node process always runs several threads, so glibc's malloc takes
/// its arena lock on every call its thread cache does not serve (every `realloc`, every block
/// over 1 KiB). Rendering makes hundreds of thousands of such calls: the core's own bench
/// program is about 5% slower with one idle thread started beside it, and Node's `render()`
/// was 1.06-1.3x the core. mimalloc's per-thread heaps take no lock, and are faster than
/// glibc's for this work besides (numbers in bindings-node/README.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::cell::OnceCell;
use std::sync::Arc;

use meshspec::{Diagnostics, RenderOptions, Source};
use napi::bindgen_prelude::{Env, Result, ToNapiValue, Unknown};
use napi_derive::napi;

use convert::{CodeInfo, Diagnostic, LoadOptions, Mtu, MtuOptions, MtuStack};

/// What `Cluster.planFrom(old)` returns.
#[napi(object, object_from_js = false)]
pub struct ChangePlan {
    /// The change plan as Markdown.
    pub plan: String,
    /// MS901-MS910 (and MS413 on an upgrade target), errors first.
    pub diagnostics: Vec<Diagnostic>,
    /// `{before, cilium_upgrade, nodes, cluster, restarts, added, removed}`.
    #[napi(ts_type = "Record<string, unknown>")]
    pub changes: serde_json::Value,
}

/// A resolved cluster: read from YAML text or a plain object, then validated and rendered.
#[napi]
pub struct Cluster {
    inner: meshspec::Cluster,
    name: String,
    text: Option<String>,
    /// The render, made on the first `render()` or `node()` and shared by every later call:
    /// the cluster is immutable, so one whole-cluster step serves all of them, and a loop over
    /// the nodes costs each node's own files, not a render per node.
    rendered: OnceCell<std::result::Result<Arc<files::Rendered>, Diagnostics>>,
    /// How many whole-cluster renders this object made (0 or 1).
    renders: std::cell::Cell<u32>,
}

#[napi]
impl Cluster {
    /// Reads a spec from YAML text; throws a `MeshspecError` when it cannot be read, holding every
    /// reading problem (MS0xx) and the errors of every rule that could still run, at once.
    #[napi(factory)]
    pub fn from_yaml(env: &Env, text: String, options: Option<LoadOptions>) -> Result<Self> {
        let name = spec_name(options);
        let source = Source {
            name: &name,
            text: &text,
        };
        let inner = meshspec::Cluster::from_yaml_one_round(&text)
            .map_err(|d| errors::spec_error(env, &d, Some(&source)))?;
        Ok(Self {
            inner,
            name,
            text: Some(text),
            rendered: OnceCell::new(),
            renders: std::cell::Cell::new(0),
        })
    }

    /// Reads a spec from a plain object (as a Pulumi config holds it); diagnostics carry no lines.
    #[napi(
        factory,
        ts_args_type = "spec: Record<string, unknown>, options?: LoadOptions | undefined | null"
    )]
    pub fn from_object(
        env: &Env,
        spec: serde_json::Value,
        options: Option<LoadOptions>,
    ) -> Result<Self> {
        let inner =
            meshspec::Cluster::from_json(&spec).map_err(|d| errors::spec_error(env, &d, None))?;
        Ok(Self {
            inner,
            name: spec_name(options),
            text: None,
            rendered: OnceCell::new(),
            renders: std::cell::Cell::new(0),
        })
    }

    /// The cluster's name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// The node names, in spec order.
    #[napi(getter)]
    pub fn node_names(&self) -> Vec<String> {
        self.inner.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// Every diagnostic (errors, warnings, info); never throws for a bad spec.
    #[napi]
    pub fn validate(&self) -> Vec<Diagnostic> {
        convert::diagnostics(&self.inner.validate())
    }

    /// Checks a NO_PROXY value already in use on the nodes: MS501 for what it misses, MS502
    /// for malformed entries; an empty array when it covers everything the cluster needs.
    #[napi]
    pub fn check_no_proxy(&self, value: String) -> Vec<Diagnostic> {
        convert::diagnostics(&self.inner.check_no_proxy(&value))
    }

    /// Compares `kubectl get nodes -o json` output with the spec (MS951-MS958); throws a
    /// `MeshspecError` (MS001) when the text is not such a node list.
    #[napi]
    pub fn check_live(&self, env: &Env, nodes_json: String) -> Result<Vec<Diagnostic>> {
        let source = Source {
            name: "nodes.json",
            text: &nodes_json,
        };
        meshspec::live::check_live(&self.inner, &nodes_json)
            .map(|ds| convert::diagnostics(&ds))
            .map_err(|d| errors::spec_error(env, &d, Some(&source)))
    }

    /// Every file, keyed by path; throws a `MeshspecError` when any diagnostic is an error.
    /// It reads and writes like a plain object; each file becomes a JS object when first read.
    #[napi(ts_return_type = "Record<string, RenderedFile>")]
    pub fn render<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        files::files(env, files::Files::all(self.rendered(env)?))
    }

    /// One node with its k3s config and files, or `null` when no node has that name. Its
    /// `files` read like `render()`'s (a file is converted when first read), over the same
    /// shared render: a call costs this node's fields, never the bundle's files.
    #[napi(ts_return_type = "Node | null")]
    pub fn node<'env>(&self, env: &'env Env, name: String) -> Result<Option<Unknown<'env>>> {
        let Some(n) = self.inner.node(&name) else {
            return Ok(None);
        };
        let view = files::Files::node(self.rendered(env)?, &n.name);
        // the fields reach JavaScript as one JSON text: `JSON.parse` makes the same plain
        // object that converting each field makes, without a hundred Node-API calls a node
        if let Some(text) = convert::node_json(&self.inner, n) {
            return files::node(env, text, view).map(Some);
        }
        let files = files::files(env, view)?;
        ToNapiValue::into_unknown(convert::node(&self.inner, n, files), env).map(Some)
    }

    /// How many times this cluster rendered its whole bundle: 0 before the first `render()` or
    /// `node()`, then 1, however many calls follow (they share that render). For tests that
    /// keep per-node calls from rendering the whole cluster each time.
    #[napi(getter, js_name = "_renders")]
    pub fn renders(&self) -> u32 {
        self.renders.get()
    }

    /// The plan (`PLAN.md`) as Markdown: addressing, networks, MTU, rollout and diagnostics.
    /// Never throws: a refused spec's plan lists its errors.
    #[napi]
    pub fn plan(&self) -> String {
        self.inner.plan_report()
    }

    /// What applying this spec to a cluster built from `old` takes (`meshspec plan NEW --from
    /// OLD`): the Markdown, the diagnostics (MS901-MS910, MS413 on an upgrade target) and the
    /// changes as data (per node, in order, the files that change with the action each needs
    /// and the steps). Never throws.
    #[napi]
    pub fn plan_from(&self, old: &Cluster) -> ChangePlan {
        let plan = meshspec::change::ChangePlan::between(&old.inner, &self.inner);
        ChangePlan {
            plan: plan.render_markdown(),
            diagnostics: convert::diagnostics(&plan.diagnostics),
            changes: plan.changes_json(),
        }
    }

    /// The WireGuard topology when meshspec renders the mesh (`mesh.wireguard.manage: true`):
    /// who peers with whom, over which endpoint, with which `AllowedIPs` and keepalive, and who
    /// relays for whom; `null` for any other mesh. Public keys only.
    #[napi(ts_return_type = "WireguardTopology | null")]
    pub fn wireguard_topology(&self) -> Option<serde_json::Value> {
        self.inner
            .wireguard_topology()
            .and_then(|t| serde_json::to_value(t).ok())
    }

    /// `PLAN.md`'s Mermaid diagrams (the cluster, then the MTU stack) as two fenced
    /// ```` ```mermaid ```` blocks: what `meshspec plan SPEC --format mermaid` prints.
    #[napi]
    pub fn diagram(&self) -> String {
        self.inner.diagram()
    }

    /// The smallest pod MTU and each node's encapsulation stack, layer by layer.
    #[napi]
    pub fn mtu(&self) -> Mtu {
        convert::mtu(&self.inner)
    }

    /// The NO_PROXY entries rendered for every node, or `null` when the spec has no `proxy:`.
    #[napi]
    pub fn no_proxy(&self) -> Option<Vec<String>> {
        self.inner.no_proxy()
    }

    /// The cluster's render, made once and shared.
    fn rendered(&self, env: &Env) -> Result<Arc<files::Rendered>> {
        let rendered = self.rendered.get_or_init(|| {
            self.renders.set(self.renders.get() + 1);
            let options = RenderOptions {
                spec_name: self.name.clone(),
            };
            self.inner
                .render(&options)
                .map(|b| Arc::new(files::Rendered::new(b.files)))
        });
        match rendered {
            Ok(r) => Ok(Arc::clone(r)),
            Err(d) => Err(errors::spec_error(env, d, self.source().as_ref())),
        }
    }

    fn source(&self) -> Option<Source<'_>> {
        self.text.as_deref().map(|text| Source {
            name: &self.name,
            text,
        })
    }
}

fn spec_name(options: Option<LoadOptions>) -> String {
    options
        .and_then(|o| o.name)
        .unwrap_or_else(|| RenderOptions::default().spec_name)
}

/// The MTU stack of a mesh and a tunnel on an underlay, layer by layer, with the pod MTU.
/// Throws an `InvalidArg` error for an unknown mesh, tunnel or family.
#[napi]
pub fn mtu(options: Option<MtuOptions>) -> Result<MtuStack> {
    let options = options.unwrap_or(MtuOptions {
        underlay: None,
        mesh: None,
        mesh_mtu: None,
        tunnel: None,
        outer: None,
    });
    let query = convert::mtu_query(options)?;
    Ok(MtuStack::from(&meshspec::mtu::calculate(&query)))
}

/// Checks hand-written k3s configs: each node is its `config.yaml` then its drop-ins. Every
/// finding names its file, line and column.
#[napi]
pub fn lint(
    nodes: Vec<Vec<existing::ConfigText>>,
    options: Option<existing::LintOptions>,
) -> Result<Vec<existing::LintFinding>> {
    let (role, cilium, version) = match options {
        Some(o) => (
            o.role.map(meshspec::spec::Role::from),
            o.cilium_values,
            o.cilium_version,
        ),
        None => (None, None, None),
    };
    let role = role.map(|r| match r {
        meshspec::spec::Role::Server => meshspec::k3s::flags::Role::Server,
        meshspec::spec::Role::Agent => meshspec::k3s::flags::Role::Agent,
    });
    let nodes: Vec<meshspec::lint::NodeConfig> = nodes
        .into_iter()
        .map(|files| meshspec::lint::NodeConfig {
            files: files.into_iter().map(Into::into).collect(),
            role,
        })
        .collect();
    let mut lint_options = meshspec::lint::LintOptions::default();
    if let Some(file) = cilium {
        let version = version.ok_or_else(|| {
            napi::Error::new(
                napi::Status::InvalidArg,
                "ciliumValues needs ciliumVersion (e.g. \"1.19\")",
            )
        })?;
        lint_options.cilium = Some(meshspec::lint::CiliumValues {
            file: file.into(),
            version,
        });
    }
    let report = meshspec::lint::lint(&nodes, &lint_options);
    Ok(report.findings.iter().map(Into::into).collect())
}

/// Imports a running cluster's configs (and live nodes) into a spec; throws a
/// `MeshspecError` when an input is unreadable.
#[napi]
pub fn import_cluster(
    env: &Env,
    nodes: Vec<existing::ImportNodeInput>,
    options: Option<existing::ImportOptions>,
) -> Result<existing::ImportResult> {
    let mut input = meshspec::import::ImportInput::default();
    if let Some(o) = options {
        input.name = o.name;
        input.nodes_json = o.nodes_json;
        input.cilium_values = o.cilium_values;
    }
    for n in nodes {
        input.nodes.push(meshspec::import::ImportNode {
            role: n.role.map(Into::into),
            name: n.name,
            files: n.files.into_iter().map(Into::into).collect(),
        });
    }
    meshspec::import::import(&input)
        .map(Into::into)
        .map_err(|report| errors::spec_error(env, &report.diagnostics(), None))
}

/// The explanation page (Markdown) of a rule code or slug, or `null` when it is unknown.
#[napi]
pub fn explain(code: String) -> Option<String> {
    meshspec::explain(&code).map(str::to_owned)
}

/// Every rule code, in numeric order.
#[napi]
pub fn codes() -> Vec<CodeInfo> {
    meshspec::Code::ALL
        .iter()
        .copied()
        .map(CodeInfo::from)
        .collect()
}

/// The JSON Schema of the spec format (draft-07), generated from the decoder's field table:
/// the same document `meshspec schema` prints.
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn schema() -> serde_json::Value {
    meshspec::spec::fields::json_schema()
}

/// Options of `starter`.
#[napi(object)]
pub struct StarterOptions {
    /// The cluster name (default `homelab`).
    pub name: Option<String>,
    /// `tailscale` (default), `headscale`, `netbird` or `wireguard`.
    pub provider: Option<String>,
    /// `flannel` (default) or `cilium`.
    pub cni: Option<String>,
    /// Site names; none for a cluster without sites.
    pub sites: Option<Vec<String>>,
}

/// A commented starter spec that validates as written, as `meshspec init` writes it.
/// Throws an `InvalidArg` error for an unknown provider or CNI or a name that is not a
/// DNS-1123 label.
#[napi]
pub fn starter(options: Option<StarterOptions>) -> Result<String> {
    use meshspec::spec::Keyword as _;
    use meshspec::spec::{CniPlugin, Provider};
    let o = options.unwrap_or(StarterOptions {
        name: None,
        provider: None,
        cni: None,
        sites: None,
    });
    let invalid = |m: String| napi::Error::new(napi::Status::InvalidArg, m);
    let provider = match o.provider.as_deref() {
        None => Provider::Tailscale,
        Some(w) => Provider::from_word(w).ok_or_else(|| {
            invalid(format!(
                "`provider` is `{w}`; expected {}",
                Provider::expected()
            ))
        })?,
    };
    let cni = match o.cni.as_deref() {
        None => CniPlugin::Flannel,
        Some(w) => CniPlugin::from_word(w).ok_or_else(|| {
            invalid(format!(
                "`cni` is `{w}`; expected {}",
                CniPlugin::expected()
            ))
        })?,
    };
    meshspec::spec::starter::starter(&meshspec::spec::starter::StarterOptions {
        name: o.name.unwrap_or_else(|| "homelab".to_owned()),
        provider,
        cni,
        sites: o.sites.unwrap_or_default(),
    })
    .map_err(|e| invalid(e.to_string()))
}

/// Whether a caught value is the error thrown for a refused spec.
#[napi(
    ts_args_type = "error: unknown",
    ts_return_type = "error is MeshspecError"
)]
pub fn is_meshspec_error(error: Unknown<'_>) -> Result<bool> {
    errors::is_spec_error(&error)
}
