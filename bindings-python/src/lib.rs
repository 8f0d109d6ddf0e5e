//! Python binding of meshspec: `import meshspec`.
//!
//! Thin by design: each exported function calls the core and converts. Type conversion lives
//! in `convert`, exceptions in `errors`, the value classes in `types` and `meshspec.Cluster`
//! in `cluster`.

mod cluster;
mod convert;
mod errors;
mod existing;
mod types;

use pyo3::prelude::*;

/// The explanation page of a rule code or slug (`MS101`, `pod-service-overlap`).
#[pyfunction]
fn explain(code: &str) -> PyResult<&'static str> {
    let code = code
        .parse::<meshspec::Code>()
        .map_err(|e| errors::unknown_code(&e))?;
    Ok(code.page())
}

/// Every rule code, in numeric order.
#[pyfunction]
fn codes() -> Vec<&'static str> {
    meshspec::Code::ALL.iter().map(|c| c.as_str()).collect()
}

/// A complete NO_PROXY list for a cluster's addresses (join it with `","`).
#[pyfunction]
#[pyo3(signature = (
    *,
    style = "precise".to_owned(),
    cluster_cidrs = vec!["10.42.0.0/16".to_owned()],
    service_cidrs = vec!["10.43.0.0/16".to_owned()],
    node_addresses = Vec::new(),
    site_subnets = Vec::new(),
    mesh_ranges = Vec::new(),
    server_hosts = Vec::new(),
    cluster_domain = "cluster.local".to_owned(),
    dns_suffix = None,
    extra = Vec::new(),
), text_signature = "(*, style='precise', cluster_cidrs=['10.42.0.0/16'], \
    service_cidrs=['10.43.0.0/16'], node_addresses=[], site_subnets=[], mesh_ranges=[], \
    server_hosts=[], cluster_domain='cluster.local', dns_suffix=None, extra=[])")]
#[expect(
    clippy::too_many_arguments,
    reason = "keyword arguments mirroring the fields of meshspec::no_proxy::Inputs"
)]
fn no_proxy(
    style: String,
    cluster_cidrs: Vec<String>,
    service_cidrs: Vec<String>,
    node_addresses: Vec<String>,
    site_subnets: Vec<String>,
    mesh_ranges: Vec<String>,
    server_hosts: Vec<String>,
    cluster_domain: String,
    dns_suffix: Option<String>,
    extra: Vec<String>,
) -> PyResult<Vec<String>> {
    let texts = convert::NoProxyTexts {
        style,
        cluster_cidrs,
        service_cidrs,
        node_addresses,
        site_subnets,
        mesh_ranges,
        server_hosts,
        cluster_domain,
        dns_suffix,
        extra,
    };
    Ok(meshspec::no_proxy::synthesize(&texts.parse()?.inputs()))
}

/// The MTU stack of a mesh and tunnel on an underlay, layer by layer, with the pod MTU.
#[pyfunction]
#[pyo3(signature = (*, underlay = 1500, mesh = Some("tailscale".to_owned()), mesh_mtu = None, tunnel = Some("vxlan".to_owned()), outer = "ipv6".to_owned()),
    text_signature = "(*, underlay=1500, mesh='tailscale', mesh_mtu=None, tunnel='vxlan', outer='ipv6')")]
fn mtu(
    py: Python<'_>,
    underlay: u32,
    mesh: Option<String>,
    mesh_mtu: Option<u32>,
    tunnel: Option<String>,
    outer: String,
) -> PyResult<Bound<'_, PyAny>> {
    let query = convert::mtu_query(
        underlay,
        mesh.as_deref(),
        mesh_mtu,
        tunnel.as_deref(),
        &outer,
    )?;
    convert::json_to_py(
        py,
        &convert::stack_to_json(&meshspec::mtu::calculate(&query)),
    )
}

/// The JSON Schema of the spec format (draft-07), as a dict; generated from the decoder's
/// field table, the same document `meshspec schema` prints.
#[pyfunction]
fn schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    convert::json_to_py(py, &meshspec::spec::fields::json_schema())
}

/// A commented starter spec that validates as written, as `meshspec init` writes it.
#[pyfunction]
#[pyo3(signature = (*, name = "homelab".to_owned(), provider = "tailscale".to_owned(), cni = "flannel".to_owned(), sites = Vec::new()),
    text_signature = "(*, name='homelab', provider='tailscale', cni='flannel', sites=())")]
fn starter(name: String, provider: String, cni: String, sites: Vec<String>) -> PyResult<String> {
    use meshspec::spec::Keyword as _;
    use meshspec::spec::starter::{StarterOptions, starter};
    let bad = |field: &str, given: &str, expected: String| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "`{field}` is `{given}`; expected {expected}"
        ))
    };
    let provider = meshspec::spec::Provider::from_word(&provider)
        .ok_or_else(|| bad("provider", &provider, meshspec::spec::Provider::expected()))?;
    let cni = meshspec::spec::CniPlugin::from_word(&cni)
        .ok_or_else(|| bad("cni", &cni, meshspec::spec::CniPlugin::expected()))?;
    starter(&StarterOptions {
        name,
        provider,
        cni,
        sites,
    })
    .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

#[pymodule]
fn _meshspec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("SpecError", m.py().get_type::<errors::SpecError>())?;
    m.add_class::<cluster::Cluster>()?;
    m.add_class::<types::Diagnostic>()?;
    m.add_class::<types::File>()?;
    m.add_class::<types::Node>()?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    m.add_function(wrap_pyfunction!(codes, m)?)?;
    m.add_function(wrap_pyfunction!(no_proxy, m)?)?;
    m.add_function(wrap_pyfunction!(mtu, m)?)?;
    m.add_function(wrap_pyfunction!(existing::lint, m)?)?;
    m.add_function(wrap_pyfunction!(existing::import_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(starter, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
