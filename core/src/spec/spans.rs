//! Where each field of a spec was written.

use std::collections::HashMap;

use crate::yaml::Pos;

/// Field path (`nodes[2].mesh_ip`) to the position of its value in the spec text.
///
/// Lookups fall back to the nearest enclosing field that has a position, so a diagnostic about
/// a derived value still points somewhere useful.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanMap {
    // looked up by exact path only, never in order: a hash map
    positions: HashMap<String, Pos>,
    /// The fields of each mapping the decoder reads field by field, by mapping path: the
    /// names are the decoder's own (static) key names, so recording a field costs no path
    /// text (a 5,000-node spec has some 40,000 fields). A field's record comes before any
    /// exact path recorded for it, so [`SpanMap::get`] looks here first.
    fields: HashMap<String, Vec<(&'static str, Pos)>>,
}

impl SpanMap {
    /// Gives back the spare capacity of the maps and field lists (a cluster keeps its spans as
    /// long as it lives; at 5,000 nodes the spare room is megabytes).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.positions.shrink_to_fit();
        self.fields.shrink_to_fit();
        for list in self.fields.values_mut() {
            list.shrink_to_fit();
        }
    }

    /// Records a position (the first record for a path wins).
    pub fn insert(&mut self, path: &str, pos: Option<Pos>) {
        if let Some(p) = pos
            && !self.positions.contains_key(path)
        {
            self.positions.insert(path.to_owned(), p);
        }
    }

    /// Records the positions of the known fields of the mapping at `path` (the first record
    /// for a path wins).
    pub(crate) fn insert_fields(&mut self, path: &str, fields: Vec<(&'static str, Pos)>) {
        if !fields.is_empty() && !self.fields.contains_key(path) {
            self.fields.insert(path.to_owned(), fields);
        }
    }

    /// Makes room for `additional` more paths and mappings.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.positions.reserve(additional);
        self.fields.reserve(additional);
    }

    /// The position recorded for exactly `path`: as a field of its mapping, else as a path.
    fn recorded(&self, path: &str) -> Option<Pos> {
        let (parent, name) = path.rsplit_once('.').unwrap_or(("", path));
        self.fields
            .get(parent)
            .and_then(|fields| fields.iter().find(|(n, _)| *n == name))
            .map(|(_, pos)| *pos)
            .or_else(|| self.positions.get(path).copied())
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
            if let Some(pos) = self.recorded(p) {
                return Some(pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// Whether nothing was recorded (a spec read from JSON).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty() && self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::Spec;

    #[test]
    fn fields_point_at_values_blocks_at_keys_and_paths_fall_back() {
        let text = "version: 1\nname: lab\nnetwork:\n  cluster_cidr: 10.42.0.0/16\nnodes:\n  - name: a\n    role: server\n    mesh_ip: [100.64.0.1]\n    labels: {example.com/rack: r0}\n    gpu:\n      vendor: nvidia\n";
        let (_, spans) = Spec::from_yaml(text).unwrap();
        let at = |p: &str| spans.get(p).map(|p| (p.line, p.column));
        assert_eq!(at(""), Some((1, 1)));
        assert_eq!(at("name"), Some((2, 7)));
        assert_eq!(at("network"), Some((3, 1)));
        assert_eq!(at("network.cluster_cidr"), Some((4, 17)));
        assert_eq!(at("nodes"), Some((5, 1)));
        assert_eq!(at("nodes[0]"), Some((6, 5)));
        assert_eq!(at("nodes[0].role"), Some((7, 11)));
        assert_eq!(at("nodes[0].mesh_ip"), Some((8, 5)));
        assert_eq!(at("nodes[0].mesh_ip[0]"), Some((8, 15)));
        assert_eq!(at("nodes[0].labels"), Some((9, 5)));
        assert_eq!(at("nodes[0].labels.example.com/rack"), Some((9, 14)));
        assert_eq!(at("nodes[0].gpu"), Some((10, 5)));
        assert_eq!(at("nodes[0].gpu.vendor"), Some((11, 15)));
        // a derived path falls back to its nearest recorded ancestor
        assert_eq!(at("nodes[0].gpu.vendor.driver"), Some((11, 15)));
        assert_eq!(at("nodes[0].pod_cidr"), Some((6, 5)));
        assert_eq!(at("nodes[7]"), Some((5, 1)));
    }
}
