//! What `Cluster.render()` returns: the core's files behind an object that reads like the
//! plain `{ [path]: { contents, mode } }` it replaces, converting a file only when it is read.
//!
//! A 5,000-node bundle has 30,000 files and 31 MB of text; converting every file to a JS
//! object up front made `render()` cost about 40% more than the core's own render. Here
//! `render()` does constant JS work: it hands the bundle to JavaScript as an `External` (with
//! its size, so the garbage collector weighs it) and wraps that in the Proxy that `files.js`
//! builds. The Proxy's traps call back into three native helpers defined here; their
//! behaviour (reading, listing, writing, inspecting) is described in `files.js`.

use std::collections::BTreeMap;

use napi::JsValue;
use napi::bindgen_prelude::{
    Env, External, FnArgs, Function, FunctionCallContext, FunctionRef, Result, Unknown,
};

use crate::convert::RenderedFile;

/// The rendered files, keyed by path (the core bundle's map).
pub type Paths = BTreeMap<String, meshspec::File>;

/// The script that builds the Proxy (see its header).
const SCRIPT: &str = include_str!("files.js");

/// `files(bundle)`: the function `files.js` returns, kept for the environment's lifetime.
type Wrap = FunctionRef<External<Paths>, Unknown<'static>>;

/// The per-environment instance data: the Proxy factory, made on the first render.
struct Factory {
    wrap: Wrap,
}

/// Wraps rendered files in the lazy object `Cluster.render()` returns.
pub fn files(env: &Env, paths: Paths) -> Result<Unknown<'_>> {
    let size = paths.iter().map(|(p, f)| p.len() + f.contents.len()).sum();
    let bundle = External::new_with_size_hint(paths, size);
    factory(env)?.wrap.borrow_back(env)?.call(bundle)
}

/// The environment's factory, made (by running `files.js`) on first use.
fn factory(env: &Env) -> Result<&'static Factory> {
    if let Some(f) = env.get_instance_data::<Factory>()? {
        return Ok(f);
    }
    let file_at = env.create_function_from_closure::<Unknown<'_>, _, _>(
        "fileAt",
        |ctx: FunctionCallContext| {
            let bundle: &External<Paths> = ctx.get(0)?;
            let path: String = ctx.get(1)?;
            Ok(bundle.get(&path).map(RenderedFile::from))
        },
    )?;
    let has_path = env.create_function_from_closure::<Unknown<'_>, _, _>(
        "hasPath",
        |ctx: FunctionCallContext| {
            let bundle: &External<Paths> = ctx.get(0)?;
            let path: String = ctx.get(1)?;
            Ok(bundle.contains_key(&path))
        },
    )?;
    let paths_of = env.create_function_from_closure::<Unknown<'_>, _, _>(
        "pathsOf",
        |ctx: FunctionCallContext| {
            let bundle: &External<Paths> = ctx.get(0)?;
            Ok(bundle.keys().cloned().collect::<Vec<_>>())
        },
    )?;
    type Helpers<'a> = FnArgs<(Unknown<'a>, Unknown<'a>, Unknown<'a>)>;
    let script: Function<'_, Helpers<'_>, Function<'_, External<Paths>, Unknown<'static>>> =
        env.run_script(SCRIPT)?;
    let wrap = script.call(FnArgs::from((
        file_at.to_unknown(),
        has_path.to_unknown(),
        paths_of.to_unknown(),
    )))?;
    env.set_instance_data(
        Factory {
            wrap: wrap.create_ref()?,
        },
        (),
        |_| {},
    )?;
    env.get_instance_data::<Factory>()?
        .map(|f| &*f)
        .ok_or_else(|| napi::Error::from_reason("the render factory was not kept"))
}
