//! Where each field of a spec was written.

use std::collections::HashMap;

use crate::yaml::Pos;

/// Field path (`nodes[2].mesh_ip`) to the position of its value in the spec text.
///
/// Lookups fall back to the nearest enclosing field that has a position, so a diagnostic about
/// a derived value still points somewhere useful.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanMap {
    // looked up by exact path only, never in order: a hash map (a 5,000-node spec records
    // some 60,000 paths)
    positions: HashMap<String, Pos>,
}

impl SpanMap {
    /// Records a position (the first record for a path wins).
    pub fn insert(&mut self, path: &str, pos: Option<Pos>) {
        if let Some(p) = pos
            && !self.positions.contains_key(path)
        {
            self.positions.insert(path.to_owned(), p);
        }
    }

    /// Records a position under a path already built (the first record for a path wins).
    pub(crate) fn insert_owned(&mut self, path: String, pos: Option<Pos>) {
        if let Some(p) = pos {
            self.positions.entry(path).or_insert(p);
        }
    }

    /// Makes room for `additional` more paths.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.positions.reserve(additional);
    }

    /// The position of `path`, or of its nearest recorded ancestor.
    ///
    /// ```
    /// use meshspec::spec::SpanMap;
    /// let spans = SpanMap::default();
    /// assert_eq!(spans.get("nodes[0].mesh_ip"), None);
    /// ```
    #[must_use]
    pub fn get(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// Whether nothing was recorded (a spec read from JSON).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }
}
