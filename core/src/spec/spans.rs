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
    /// What is recorded under `nodes[i]` (the paths [`node_path`] splits), by node index
    /// in ascending order: the bulk of a large spec, kept without a path string or a hash
    /// per position.
    nodes: Vec<(u32, NodeSpans)>,
}

/// The positions recorded under one `nodes[i]`, by the rest of their path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct NodeSpans {
    /// Exact paths: `""` is the node itself, `.labels` its labels.
    positions: Vec<(Rest, Pos)>,
    /// The known fields of the mappings below the node (`""` the node's own fields).
    fields: Vec<(Rest, Vec<(&'static str, Pos)>)>,
}

/// The rest of a path after `nodes[i]`: one of [`STATIC_RESTS`] (no allocation) or text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rest {
    Static(&'static str),
    Owned(Box<str>),
}

/// The rests the decoder records on every node, kept without an allocation.
const STATIC_RESTS: &[&str] = &[
    "",
    ".labels",
    ".gpu",
    ".wireguard",
    ".proxy",
    ".lan_ip",
    ".mesh_ip",
    ".pod_cidr",
    ".taints",
];

impl Rest {
    fn new(rest: &str) -> Self {
        match STATIC_RESTS.iter().find(|s| **s == rest) {
            Some(s) => Rest::Static(s),
            None => Rest::Owned(rest.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Rest::Static(s) => s,
            Rest::Owned(s) => s,
        }
    }
}

/// Splits `nodes[i]<rest>` into the node index and its rest (empty, or starting with `.` or
/// `[`), for an index written as the decoder writes it (decimal, no leading zero); `None` for
/// every other path, which the hash maps hold.
fn node_path(path: &str) -> Option<(u32, &str)> {
    let tail = path.strip_prefix("nodes[")?;
    let close = tail.find(']')?;
    let digits = &tail[..close];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    let index: u32 = digits.parse().ok()?;
    let rest = &tail[close + 1..];
    (rest.is_empty() || rest.starts_with(['.', '['])).then_some((index, rest))
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
        self.nodes.shrink_to_fit();
    }

    /// The records of node `index`, made when missing.
    fn node_mut(&mut self, index: u32) -> &mut NodeSpans {
        // the decoder records nodes in ascending order: the last one, or a new one after it
        let at = match self.nodes.last() {
            Some((last, _)) if *last == index => self.nodes.len() - 1,
            Some((last, _)) if *last > index => {
                match self.nodes.binary_search_by_key(&index, |(i, _)| *i) {
                    Ok(at) => at,
                    Err(at) => {
                        self.nodes.insert(at, (index, NodeSpans::default()));
                        at
                    }
                }
            }
            _ => {
                self.nodes.push((index, NodeSpans::default()));
                self.nodes.len() - 1
            }
        };
        &mut self.nodes[at].1
    }

    /// The records of node `index`, if any.
    fn node(&self, index: u32) -> Option<&NodeSpans> {
        let at = match self.nodes.last() {
            Some((last, _)) if *last == index => self.nodes.len() - 1,
            _ => self.nodes.binary_search_by_key(&index, |(i, _)| *i).ok()?,
        };
        Some(&self.nodes[at].1)
    }

    /// Records a position (the first record for a path wins).
    pub fn insert(&mut self, path: &str, pos: Option<Pos>) {
        let Some(p) = pos else { return };
        if let Some((index, rest)) = node_path(path) {
            let node = self.node_mut(index);
            if !node.positions.iter().any(|(r, _)| r.as_str() == rest) {
                node.positions.push((Rest::new(rest), p));
            }
        } else if !self.positions.contains_key(path) {
            self.positions.insert(path.to_owned(), p);
        }
    }

    /// Records the positions of the known fields of the mapping at `path` (the first record
    /// for a path wins).
    pub(crate) fn insert_fields(&mut self, path: &str, fields: Vec<(&'static str, Pos)>) {
        if fields.is_empty() {
            return;
        }
        if let Some((index, rest)) = node_path(path) {
            let node = self.node_mut(index);
            if !node.fields.iter().any(|(r, _)| r.as_str() == rest) {
                node.fields.push((Rest::new(rest), fields));
            }
        } else if !self.fields.contains_key(path) {
            self.fields.insert(path.to_owned(), fields);
        }
    }

    /// Makes room for `additional` more nodes.
    pub(crate) fn reserve_nodes(&mut self, additional: usize) {
        self.nodes.reserve(additional);
    }

    /// The fields recorded for the mapping at exactly `path`.
    fn fields_of(&self, path: &str) -> Option<&[(&'static str, Pos)]> {
        match node_path(path) {
            Some((index, rest)) => self
                .node(index)?
                .fields
                .iter()
                .find(|(r, _)| r.as_str() == rest)
                .map(|(_, f)| f.as_slice()),
            None => self.fields.get(path).map(Vec::as_slice),
        }
    }

    /// The position recorded for exactly `path` as a path.
    fn position_of(&self, path: &str) -> Option<Pos> {
        match node_path(path) {
            Some((index, rest)) => self
                .node(index)?
                .positions
                .iter()
                .find(|(r, _)| r.as_str() == rest)
                .map(|(_, p)| *p),
            None => self.positions.get(path).copied(),
        }
    }

    /// The position recorded for exactly `path`: as a field of its mapping, else as a path.
    fn recorded(&self, path: &str) -> Option<Pos> {
        let (parent, name) = path.rsplit_once('.').unwrap_or(("", path));
        self.fields_of(parent)
            .and_then(|fields| fields.iter().find(|(n, _)| *n == name))
            .map(|(_, pos)| *pos)
            .or_else(|| self.position_of(path))
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
        self.positions.is_empty() && self.fields.is_empty() && self.nodes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::SpanMap;
    use crate::spec::Spec;
    use crate::yaml::Pos;

    /// The map before node paths got their own storage: every path a string in a hash map.
    #[derive(Default)]
    struct Reference {
        positions: std::collections::HashMap<String, Pos>,
        fields: std::collections::HashMap<String, Vec<(&'static str, Pos)>>,
    }

    impl Reference {
        fn insert(&mut self, path: &str, pos: Option<Pos>) {
            if let Some(p) = pos {
                self.positions.entry(path.to_owned()).or_insert(p);
            }
        }
        fn insert_fields(&mut self, path: &str, fields: Vec<(&'static str, Pos)>) {
            if !fields.is_empty() {
                self.fields.entry(path.to_owned()).or_insert(fields);
            }
        }
        fn get(&self, path: &str) -> Option<Pos> {
            let mut p = path;
            loop {
                let (parent, name) = p.rsplit_once('.').unwrap_or(("", p));
                let found = self
                    .fields
                    .get(parent)
                    .and_then(|f| f.iter().find(|(n, _)| *n == name))
                    .map(|(_, pos)| *pos)
                    .or_else(|| self.positions.get(p).copied());
                if found.is_some() {
                    return found;
                }
                let cut = p.rfind(['.', '['])?;
                p = &p[..cut];
            }
        }
    }

    const PATHS: &[&str] = &[
        "",
        "name",
        "nodes",
        "nodes[0]",
        "nodes[0].name",
        "nodes[0].mesh_ip",
        "nodes[0].mesh_ip[1]",
        "nodes[0].labels",
        "nodes[0].labels.example.com/rack",
        "nodes[0].gpu",
        "nodes[0].gpu.vendor",
        "nodes[1]",
        "nodes[1].role",
        "nodes[2]",
        "nodes[01]",
        "nodes[01].name",
        "nodes[10]",
        "nodes[10].name",
        "nodes[]",
        "nodes[x]",
        "nodes[3]x",
        "nodes[4294967296]",
        "nodes[4294967295].site",
        "nodes[0",
        "sites[0].name",
        "network.cluster_cidr",
    ];
    const NAMES: &[&str] = &[
        "name",
        "role",
        "mesh_ip",
        "vendor",
        "cluster_cidr",
        "nodes[0]",
    ];

    proptest::proptest! {
        /// Any sequence of records answers every lookup as the map of plain paths did.
        #[test]
        fn node_storage_answers_like_plain_paths(
            ops in proptest::collection::vec(
                (0..PATHS.len(), proptest::option::of(1u32..50), proptest::bool::ANY,
                 proptest::collection::vec((0..NAMES.len(), 1u32..50), 0..3)),
                0..40,
            )
        ) {
            let mut map = SpanMap::default();
            let mut reference = Reference::default();
            for (path, line, as_fields, fields) in ops {
                let path = PATHS[path];
                if as_fields {
                    let fields: Vec<(&'static str, Pos)> = fields
                        .into_iter()
                        .map(|(n, line)| (NAMES[n], Pos { line, column: 1 }))
                        .collect();
                    map.insert_fields(path, fields.clone());
                    reference.insert_fields(path, fields);
                } else {
                    let pos = line.map(|line| Pos { line, column: 2 });
                    map.insert(path, pos);
                    reference.insert(path, pos);
                }
            }
            for path in PATHS.iter().chain(&["nodes[0].labels.a.b", "nodes[10].x[3]", "nodes[2].y"]) {
                proptest::prop_assert_eq!(map.get(path), reference.get(path), "{}", path);
            }
        }
    }

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
