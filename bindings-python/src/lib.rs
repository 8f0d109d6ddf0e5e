//! Python binding of meshspec: `import meshspec`.
//!
//! Thin by design: each exported function calls the core and converts. Type conversion lives
//! in `convert`, exceptions in `errors`, the value classes in `types` and `meshspec.Cluster`
//! in `cluster`.

mod cluster;
mod convert;
mod errors;
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

#[pymodule]
fn _meshspec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("SpecError", m.py().get_type::<errors::SpecError>())?;
    m.add_class::<cluster::Cluster>()?;
    m.add_class::<types::Diagnostic>()?;
    m.add_class::<types::File>()?;
    m.add_class::<types::Node>()?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    m.add_function(wrap_pyfunction!(codes, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
