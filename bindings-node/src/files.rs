//! What `Cluster.render()` returns: the core's files behind an object that reads like the
//! plain `{ [path]: { contents, mode } }` it replaces, converting a file only when it is read.
//!
//! A 5,000-node bundle has 30,000 files and tens of MB of text; converting every file to a JS
//! object up front made `render()` cost 1.4-1.9x the core's own render. Here
//! `render()` does constant JS work: it hands the bundle to JavaScript as an `External` (with
//! its size, so the garbage collector weighs it) and wraps that in the Proxy that `files.js`
//! builds. The Proxy's traps call back into four native helpers defined here; their
//! behaviour (reading, listing, writing, inspecting) is described in `files.js`.

use std::sync::Arc;

use napi::JsValue;
use napi::bindgen_prelude::{
    Env, External, FnArgs, Function, FunctionCallContext, FunctionRef, Result, Unknown,
};

/// The rendered files in path order, as the JavaScript side indexes them, shared with the
/// `Cluster` that rendered them.
pub struct Files(Arc<Rendered>);

/// A bundle's files in path order: what one render of a `Cluster` leaves, kept by the cluster
/// for its later `render()` and `node()` calls.
pub struct Rendered(Vec<(String, meshspec::File)>);

impl Rendered {
    /// The bundle's files, in path order.
    pub fn new(files: std::collections::BTreeMap<String, meshspec::File>) -> Self {
        Self(files.into_iter().collect())
    }

    /// The files of one node, with paths relative to the node's root, found by a binary search
    /// for the node's prefix: the cost of the node's own files, not of the bundle.
    pub fn node_files(&self, node: &str) -> impl Iterator<Item = (&str, &meshspec::File)> {
        let prefix = format!("nodes/{node}/");
        let start = self
            .0
            .partition_point(|(p, _)| p.as_str() < prefix.as_str());
        self.0[start..]
            .iter()
            .map_while(move |(p, f)| p.strip_prefix(prefix.as_str()).map(|rel| (rel, f)))
    }

    fn size(&self) -> usize {
        self.0.iter().map(|(p, f)| p.len() + f.contents.len()).sum()
    }
}

impl Files {
    /// The file at an index the JavaScript side got from `indexOf` or `pathsOf`.
    fn at(&self, index: u32) -> Result<&meshspec::File> {
        let index = usize::try_from(index).map_err(|e| napi::Error::from_reason(e.to_string()))?;
        self.0
            .0
            .get(index)
            .map(|(_, f)| f)
            .ok_or_else(|| napi::Error::from_reason(format!("no file at index {index}")))
    }
}

/// The script that builds the Proxy (see its header).
const SCRIPT: &str = include_str!("files.js");

/// `files(bundle)`: the function `files.js` returns, kept for the environment's lifetime. Its
/// result lives in the calling scope (the `'static` is only the reference's type).
type Wrap = FunctionRef<External<Files>, Unknown<'static>>;

/// The per-environment instance data: the Proxy factory, made on the first render.
struct Factory {
    wrap: Wrap,
}

/// Wraps rendered files in the lazy object `Cluster.render()` returns.
pub fn files(env: &Env, rendered: Arc<Rendered>) -> Result<Unknown<'_>> {
    let size = rendered.size();
    let bundle = External::new_with_size_hint(Files(rendered), size);
    factory(env)?.wrap.borrow_back(env)?.call(bundle)
}

/// The environment's factory, made (by running `files.js`) on first use.
fn factory(env: &Env) -> Result<&'static Factory> {
    if let Some(f) = env.get_instance_data::<Factory>()? {
        return Ok(f);
    }
    let index_of = env.create_function_from_closure::<Unknown<'_>, _, _>(
        "indexOf",
        |ctx: FunctionCallContext| {
            let bundle: &External<Files> = ctx.get(0)?;
            let path: String = ctx.get(1)?;
            let found = bundle.0.0.binary_search_by(|(p, _)| p.as_str().cmp(&path));
            Ok(found.ok().and_then(|i| u32::try_from(i).ok()))
        },
    )?;
    let contents_at = env.create_function_from_closure::<Unknown<'_>, _, _>(
        "contentsAt",
        |ctx: FunctionCallContext| {
            let bundle: &External<Files> = ctx.get(0)?;
            Ok(bundle.at(ctx.get(1)?)?.contents.as_str())
        },
    )?;
    let mode_at = env.create_function_from_closure::<Unknown<'_>, _, _>(
        "modeAt",
        |ctx: FunctionCallContext| {
            let bundle: &External<Files> = ctx.get(0)?;
            Ok(bundle.at(ctx.get(1)?)?.mode)
        },
    )?;
    let paths_of = env.create_function_from_closure::<Unknown<'_>, _, _>(
        "pathsOf",
        |ctx: FunctionCallContext| {
            let bundle: &External<Files> = ctx.get(0)?;
            Ok(bundle
                .0
                .0
                .iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>())
        },
    )?;
    type Helpers<'a> = FnArgs<(Unknown<'a>, Unknown<'a>, Unknown<'a>, Unknown<'a>)>;
    let script: Function<'_, Helpers<'_>, Function<'_, External<Files>, Unknown<'static>>> =
        env.run_script(SCRIPT)?;
    let wrap = script.call(FnArgs::from((
        index_of.to_unknown(),
        contents_at.to_unknown(),
        mode_at.to_unknown(),
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
