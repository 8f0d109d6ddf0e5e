//! `meshspec.Files`: what `Cluster.render()` returns, a read-only mapping `{path: File}`.
//!
//! A 5,000-node bundle has 30,000 files; building a `File` (and copying its text into Python)
//! for each one up front made `render()` cost about 15% more than the core's own render. The
//! mapping keeps the core's bundle and builds a `File` only when one is looked up, so
//! `render()` costs what the core costs. It behaves like the dict it replaces for reading:
//! `len`, iteration in path order, `in`, `[]`, `get`, `keys`/`values`/`items` (the
//! `collections.abc` views), and equality with other `Files` and with dicts. It is registered
//! as a `collections.abc.Mapping`; `dict(files)` makes a plain dict.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound as Edge;
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyMapping, PyString, PyType};

use crate::types::File;

/// Every file the cluster needs, `{path: File}`, read-only; each `File` is built on access.
#[pyclass(module = "meshspec", frozen, mapping)]
pub struct Files {
    /// The bundle, shared with the `Cluster` that rendered it (and its other `Files`).
    bundle: Arc<meshspec::Bundle>,
}

impl Files {
    /// Wraps a rendered bundle's files.
    pub fn new(bundle: Arc<meshspec::Bundle>) -> Self {
        Self { bundle }
    }

    fn files(&self) -> &BTreeMap<String, meshspec::File> {
        &self.bundle.files
    }

    /// Registers the class as a `collections.abc.Mapping` (isinstance checks, the views).
    pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
        let py = m.py();
        PyMapping::register::<Self>(py)
    }
}

/// A key as a path, when it is a `str` (any other key is in no `Files`).
fn as_path<'a>(key: &'a Bound<'_, PyAny>) -> Option<Cow<'a, str>> {
    key.cast::<PyString>().ok()?.to_cow().ok()
}

/// `collections.abc.<name>`, looked up once.
fn abc<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.import(py, "collections.abc", name)
}

static KEYS_VIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static VALUES_VIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ITEMS_VIEW: PyOnceLock<Py<PyType>> = PyOnceLock::new();

#[pymethods]
impl Files {
    fn __len__(&self) -> usize {
        self.files().len()
    }

    fn __getitem__(&self, path: &str) -> PyResult<File> {
        self.files()
            .get(path)
            .map(File::from)
            .ok_or_else(|| PyKeyError::new_err(path.to_owned()))
    }

    fn __contains__(&self, path: &Bound<'_, PyAny>) -> bool {
        as_path(path).is_some_and(|p| self.files().contains_key(p.as_ref()))
    }

    fn __iter__(&self) -> FilesIter {
        FilesIter {
            bundle: Arc::clone(&self.bundle),
            last: Mutex::new(None),
        }
    }

    /// The file at `path`, or `default` when there is none.
    #[pyo3(signature = (path, default = None))]
    fn get(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let found = as_path(path).and_then(|p| self.files().get(p.as_ref()));
        match found {
            Some(f) => Ok(Py::new(py, File::from(f))?.into_any()),
            None => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    /// The paths, in order (a `collections.abc.KeysView`).
    fn keys<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        abc(slf.py(), &KEYS_VIEW, "KeysView")?.call1((slf,))
    }

    /// The files, in path order (a `collections.abc.ValuesView`).
    fn values<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        abc(slf.py(), &VALUES_VIEW, "ValuesView")?.call1((slf,))
    }

    /// The `(path, File)` pairs, in path order (a `collections.abc.ItemsView`).
    fn items<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        abc(slf.py(), &ITEMS_VIEW, "ItemsView")?.call1((slf,))
    }

    /// Equal to another `Files` or any mapping with the same paths and equal files.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        if let Ok(other) = other.cast::<Self>() {
            return Ok(self.files() == other.get().files());
        }
        let Ok(other) = other.cast::<PyMapping>() else {
            return Ok(false);
        };
        if other.len()? != self.files().len() {
            return Ok(false);
        }
        for (path, file) in self.files().iter() {
            let Ok(theirs) = other.get_item(path) else {
                return Ok(false);
            };
            let Ok(theirs) = theirs.cast::<File>() else {
                return Ok(false);
            };
            if !theirs.get().is(file) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn __repr__(&self) -> String {
        format!("Files(<{} files>)", self.files().len())
    }
}

/// Iterates a [`Files`]' paths in order.
#[pyclass(module = "meshspec", frozen)]
pub struct FilesIter {
    bundle: Arc<meshspec::Bundle>,
    /// The path returned last (None before the first).
    last: Mutex<Option<String>>,
}

#[pymethods]
impl FilesIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self) -> Option<String> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let from = match last.as_deref() {
            Some(p) => Edge::Excluded(p),
            None => Edge::Unbounded,
        };
        let next = self
            .bundle
            .files
            .range::<str, _>((from, Edge::Unbounded))
            .next()
            .map(|(p, _)| p.clone())?;
        *last = Some(next.clone());
        Some(next)
    }
}
