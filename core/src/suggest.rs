//! "Did you mean" suggestions: the nearest known name to a misspelt one.

/// The candidate closest to `given` by edit distance, if it is close enough to be a likely typo.
///
/// Close enough means at most a third of the longer name's length (and at least 1) edits, or
/// that one is a prefix of the other after normalising `-` and `_`.
///
/// ```
/// use meshspec::suggest::nearest;
/// assert_eq!(nearest("cluster_cdir", ["cluster_cidr", "service_cidr"]), Some("cluster_cidr"));
/// assert_eq!(nearest("zzz", ["cluster_cidr"]), None);
/// ```
pub fn nearest<'a, I>(given: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let g = norm(given);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let n = norm(c);
        let d = if n == g { 0 } else { distance(&g, &n) };
        let limit = (g.len().max(n.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The word meshspec uses for a word other tools use for the same thing (`master` is
/// `server`, `worker` is `agent`), for "did you mean" help where spelling is no guide.
///
/// ```
/// assert_eq!(meshspec::suggest::synonym("master"), Some("server"));
/// assert_eq!(meshspec::suggest::synonym("server"), None);
/// ```
#[must_use]
pub fn synonym(given: &str) -> Option<&'static str> {
    const SYNONYMS: &[(&str, &str)] = &[
        ("master", "server"),
        ("control-plane", "server"),
        ("controlplane", "server"),
        ("worker", "agent"),
        ("node", "agent"),
        ("wg", "wireguard"),
    ];
    let g = given.trim().to_ascii_lowercase();
    SYNONYMS.iter().find(|(w, _)| *w == g).map(|(_, s)| *s)
}

/// Levenshtein distance over characters.
#[must_use]
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn suggestions() {
        let keys = ["node-ip", "node-external-ip", "flannel-iface", "tls-san"];
        assert_eq!(nearest("node_ip", keys), Some("node-ip"));
        assert_eq!(nearest("flanel-iface", keys), Some("flannel-iface"));
        assert_eq!(nearest("tsl-san", keys), Some("tls-san"));
        assert_eq!(nearest("completely-different", keys), None);
    }
}
