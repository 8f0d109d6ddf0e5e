//! The one place core diagnostics become JavaScript errors.
//!
//! A refused spec throws an `Error` whose `name` is `MeshspecError`, whose `code` is the first
//! diagnostic's code (errors sort first, so it is the first error's) and whose `diagnostics`
//! holds every diagnostic as a plain object. Its `message` is the CLI's text output: each
//! diagnostic with its location, the offending line and help, then the summary line.
//!
//! The error's shape is declared in `dts-header.d.ts` (the generated typings cannot express a
//! thrown type).

use meshspec::{Diagnostics, Source};
use napi::JsValue;
use napi::bindgen_prelude::{Env, Error, JsObjectValue, Result, Status, Unknown};

use crate::convert;

/// The `name` of every error this binding throws for a refused spec.
pub const NAME: &str = "MeshspecError";

/// Converts diagnostics into the `MeshspecError` napi throws; `source` adds the offending lines.
///
/// The message is bounded (the core shows at most 50 diagnostics per code, each source line cut
/// to a window), so it always fits in a JavaScript string; should building the error still fail,
/// it is built again with the one-line summary as its message, never thrown as a bare `Error`.
pub fn spec_error(env: &Env, diagnostics: &Diagnostics, source: Option<&Source<'_>>) -> Error {
    build(env, diagnostics, &diagnostics.render(source))
        .or_else(|_| build(env, diagnostics, &diagnostics.summary()))
        .unwrap_or_else(|e| e)
}

fn build(env: &Env, diagnostics: &Diagnostics, message: &str) -> Result<Error> {
    let mut error = env.create_error(Error::new(Status::InvalidArg, message.trim_end()))?;
    error.set_named_property("name", NAME)?;
    if let Some(first) = diagnostics.iter().next() {
        error.set_named_property("code", first.code.as_str())?;
    }
    error.set_named_property("diagnostics", convert::diagnostics(diagnostics))?;
    Ok(Error::from(error.to_unknown()))
}

/// Whether a value is an `Error` thrown for a refused spec.
pub fn is_spec_error(value: &Unknown<'_>) -> Result<bool> {
    if !value.is_error()? {
        return Ok(false);
    }
    let name: Option<String> = value.coerce_to_object()?.get("name").ok().flatten();
    Ok(name.as_deref() == Some(NAME))
}
