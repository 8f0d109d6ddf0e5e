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

/// The files one lazy object reads, in path order, as the JavaScript side indexes them: the
/// whole bundle (`render()`), or one node's files under `nodes/NAME/` with that prefix taken
/// off their paths (`node(name).files`). Either way a view shares the `Cluster`'s one render.
pub struct Files {
    rendered: Arc<Rendered>,
    /// The view's first and one-past-last file in the bundle.
    range: std::ops::Range<usize>,
    /// How many bytes of each path the view hides (the `nodes/NAME/` prefix, or 0).
    strip: usize,
}

/// A bundle's files in path order: what one render of a `Cluster` leaves, kept by the cluster
/// for its later `render()` and `node()` calls.
pub struct Rendered(Vec<(String, meshspec::File)>);

impl Rendered {
    /// The bundle's files, in path order.
    pub fn new(files: std::collections::BTreeMap<String, meshspec::File>) -> Self {
        Self(files.into_iter().collect())
    }
}

impl Files {
    /// Every file of the bundle.
    pub fn all(rendered: Arc<Rendered>) -> Self {
        let range = 0..rendered.0.len();
        Self {
            rendered,
            range,
            strip: 0,
        }
    }

    /// The files of one node, with paths relative to the node's root, found by a binary search
    /// for the node's prefix: the cost of a lookup, not of the bundle; nothing is copied.
    pub fn node(rendered: Arc<Rendered>, node: &str) -> Self {
        let prefix = format!("nodes/{node}/");
        let files = &rendered.0;
        let start = files.partition_point(|(p, _)| p.as_str() < prefix.as_str());
        let len = files[start..].partition_point(|(p, _)| p.starts_with(prefix.as_str()));
        Self {
            range: start..start + len,
            strip: prefix.len(),
            rendered,
        }
    }

    /// The view's files, each with its path as the view shows it.
    fn entries(&self) -> impl Iterator<Item = (&str, &meshspec::File)> {
        self.rendered.0[self.range.clone()]
            .iter()
            .map(|(p, f)| (&p[self.strip..], f))
    }

    /// The index of a path in the view (paths keep their order once the shared prefix is
    /// stripped, so a binary search still works).
    fn index_of(&self, path: &str) -> Option<usize> {
        self.rendered.0[self.range.clone()]
            .binary_search_by(|(p, _)| p[self.strip..].cmp(path))
            .ok()
    }

    /// The bytes the view's text takes, for the garbage collector's size hint.
    fn size(&self) -> usize {
        self.entries()
            .map(|(p, f)| p.len() + f.contents.len())
            .sum()
    }

    /// The file at an index the JavaScript side got from `indexOf` or `pathsOf`.
    fn at(&self, index: u32) -> Result<&meshspec::File> {
        let index = usize::try_from(index).map_err(|e| napi::Error::from_reason(e.to_string()))?;
        self.rendered.0[self.range.clone()]
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

/// The script that builds a node of `Cluster.node(name)` (see [`node`]).
const NODE_SCRIPT: &str = r"(function (files) {
  'use strict'
  const parse = JSON.parse
  return function node(text, bundle) {
    const n = parse(text)
    n.files = files(bundle)
    return n
  }
})";

/// `node(text, bundle)`: the function [`NODE_SCRIPT`] returns.
type MakeNode = FunctionRef<FnArgs<(String, External<Files>)>, Unknown<'static>>;

/// The per-environment instance data: the Proxy factory and the node maker, made on first use.
struct Factory {
    wrap: Wrap,
    node: MakeNode,
}

/// Wraps a view of rendered files in the lazy object `Cluster.render()` (the whole bundle) and
/// `Cluster.node(name).files` (one node's) return.
pub fn files(env: &Env, view: Files) -> Result<Unknown<'_>> {
    let bundle = external(view);
    factory(env)?.wrap.borrow_back(env)?.call(bundle)
}

/// The view as the handle `files.js` reads, with its size for the garbage collector.
fn external(view: Files) -> External<Files> {
    let size = view.size();
    External::new_with_size_hint(view, size)
}

/// A node of `Cluster.node(name)` from its fields as JSON text (`convert::node_json`) and the
/// view of its files: one call into JavaScript, which parses the text into the plain object
/// and sets its `files` to the lazy object [`files`] makes.
pub fn node(env: &Env, fields: String, view: Files) -> Result<Unknown<'_>> {
    let bundle = external(view);
    factory(env)?
        .node
        .borrow_back(env)?
        .call(FnArgs::from((fields, bundle)))
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
            Ok(bundle.index_of(&path).and_then(|i| u32::try_from(i).ok()))
        },
    )?;
    let contents_at = env.create_function_from_closure::<Unknown<'_>, _, _>(
        "contentsAt",
        |ctx: FunctionCallContext| {
            let bundle: &External<Files> = ctx.get(0)?;
            // a file of shared pieces is joined here, once per read
            Ok(bundle.at(ctx.get(1)?)?.contents.as_str().into_owned())
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
            Ok(bundle.entries().map(|(p, _)| p).collect::<Vec<_>>())
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
    let wrap_ref = wrap.create_ref()?;
    let make_node: Function<'_, Function<'_, External<Files>, Unknown<'static>>, _> =
        env.run_script(NODE_SCRIPT)?;
    let node: Function<'_, FnArgs<(String, External<Files>)>, Unknown<'static>> =
        make_node.call(wrap)?;
    env.set_instance_data(
        Factory {
            wrap: wrap_ref,
            node: node.create_ref()?,
        },
        (),
        |_| {},
    )?;
    env.get_instance_data::<Factory>()?
        .map(|f| &*f)
        .ok_or_else(|| napi::Error::from_reason("the render factory was not kept"))
}
