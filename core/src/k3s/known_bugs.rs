//! Known upstream k3s bugs that a spec's topology can trigger (rule MS413): which release
//! lines they affect, the first fixed version of each line, the condition they need, and where
//! each fact comes from.
//!
//! Each entry is checked by its own test below; a new entry needs its provenance (the upstream
//! issue and the backport issues or release notes that name the fixed versions) and a test.

use std::fmt;

/// A k3s version `vMAJOR.MINOR.PATCH` (the `+k3sN` and `-rcN` suffixes are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major.
    pub major: u32,
    /// Minor: the release line.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl Version {
    /// Parses `v1.33.5+k3s1`, `v1.34.1-rc1+k3s1` or `v1.33.5`; `None` for anything else.
    ///
    /// ```
    /// use meshspec::k3s::known_bugs::Version;
    /// assert_eq!(Version::parse("v1.33.13+k3s1"), Some(Version { major: 1, minor: 33, patch: 13 }));
    /// assert_eq!(Version::parse("latest"), None);
    /// ```
    #[must_use]
    pub fn parse(s: &str) -> Option<Version> {
        let core = s.strip_prefix('v')?;
        let core = core.split(['+', '-']).next()?;
        let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
        let (major, minor, patch) = (it.next()??, it.next()??, it.next()??);
        it.next().is_none().then_some(Version {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What a spec must do for a bug to bite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Flannel's VXLAN device is bound to the mesh interface (`flannel-iface: tailscale0`),
    /// which disappears and comes back when the mesh daemon restarts.
    FlannelIfaceOnMesh,
    /// k3s joins the tailnet itself (`vpn-auth`) and runs `tailscale set --advertise-routes`.
    VpnAuth,
}

/// One known bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownBug {
    /// The upstream issue, e.g. `k3s#12436`.
    pub issue: &'static str,
    /// What goes wrong, in one line.
    pub summary: &'static str,
    /// The first fixed version on each release line that got the fix, oldest line first.
    /// Lines older than the first listed one have no fix; newer lines than the last listed one
    /// are fixed when [`KnownBug::fixed_on_newer_lines`] says so.
    pub fixed_in: &'static [Version],
    /// Whether release lines newer than the last one in `fixed_in` carry the fix.
    pub fixed_on_newer_lines: bool,
    /// The topology it needs.
    pub condition: Condition,
    /// Where the facts come from (issue, backports, release).
    pub provenance: &'static str,
    /// What to do until the node runs a fixed version.
    pub workaround: &'static str,
}

const fn v(minor: u32, patch: u32) -> Version {
    Version {
        major: 1,
        minor,
        patch,
    }
}

/// The table.
pub const KNOWN_BUGS: &[KnownBug] = &[
    KnownBug {
        issue: "k3s#12436",
        summary: "`flannel.1` disappears when the interface named by `flannel-iface` is re-created (a mesh daemon restart), and pod traffic between nodes stops until k3s restarts",
        fixed_in: &[v(33, 13), v(34, 9), v(35, 6), v(36, 2)],
        fixed_on_newer_lines: true,
        condition: Condition::FlannelIfaceOnMesh,
        provenance: "k3s-io/k3s#12436 (also k3s#14142, flannel-io/flannel#2247); backports k3s#14117 (1.33, validated on v1.33.13-rc2), #14116 (1.34, v1.34.9-rc2), #14115 (1.35, v1.35.6-rc2), #14114 (1.36, v1.36.2-rc2)",
        workaround: "the bundle's drop-in has `PartOf=` on the mesh unit, so restarting the mesh daemon restarts k3s, which recreates `flannel.1`",
    },
    KnownBug {
        issue: "k3s#11803",
        summary: "with vpn-auth, k3s runs `tailscale set --advertise-routes=<this node's pod CIDR>` at every start, replacing every route the node advertised before (a LAN subnet router stops routing)",
        fixed_in: &[v(32, 11), v(33, 7), v(34, 3), v(35, 0)],
        fixed_on_newer_lines: true,
        condition: Condition::VpnAuth,
        provenance: "k3s-io/k3s#11803, k3s#8012; fixed by k3s#13106 (merged 2025-10-28, before the first 1.35 release) and its backports #13267 (1.34), #13268 (1.33), #13269 (1.32), #13270 (1.31): k3s reads the running tailscaled's advertised routes (`tailscale debug prefs`, pkg/vpn/vpn.go GetAdvertisedRoutes) and adds the pod CIDR to them. Release notes (k3s-io/docs docs/release-notes): v1.34.3+k3s1, v1.33.7+k3s1, v1.32.11+k3s1 (all Dec 19 2025) list them; no 1.31 release after the 1.31 backport was found, so 1.31 is treated as affected",
        workaround: "do not use a vpn-auth node as a subnet router for other networks, or re-advertise those routes after each k3s start (`tailscale set --advertise-routes=<pod CIDR>,<your routes>`)",
    },
];

/// The newest release named as a fix in [`KNOWN_BUGS`] that none of the bugs whose condition
/// is in `conditions` affects: what `meshspec init` pins for a topology.
///
/// ```
/// use meshspec::k3s::known_bugs::{Condition, KNOWN_BUGS, release_without_known_bugs};
/// let v = release_without_known_bugs(&[Condition::FlannelIfaceOnMesh]);
/// assert!(KNOWN_BUGS.iter().all(|b| !b.affects(v)));
/// ```
#[must_use]
pub fn release_without_known_bugs(conditions: &[Condition]) -> Version {
    KNOWN_BUGS
        .iter()
        .flat_map(|b| b.fixed_in.iter().copied())
        .filter(|v| {
            KNOWN_BUGS
                .iter()
                .filter(|b| conditions.contains(&b.condition))
                .all(|b| !b.affects(*v))
        })
        .max()
        .unwrap_or(v(33, 13))
}

impl KnownBug {
    /// Whether `version` carries the bug.
    ///
    /// ```
    /// use meshspec::k3s::known_bugs::{KNOWN_BUGS, Version};
    /// let bug = &KNOWN_BUGS[0];
    /// assert!(bug.affects(Version::parse("v1.33.12+k3s1").unwrap()));
    /// assert!(!bug.affects(Version::parse("v1.33.13+k3s1").unwrap()));
    /// ```
    #[must_use]
    pub fn affects(&self, version: Version) -> bool {
        if let Some(fix) = self
            .fixed_in
            .iter()
            .find(|f| (f.major, f.minor) == (version.major, version.minor))
        {
            return version < *fix;
        }
        match self.fixed_in.last() {
            Some(newest) if self.fixed_on_newer_lines => version < *newest,
            _ => true,
        }
    }

    /// The fixed versions as text, `v1.33.13, v1.34.9, ...`, or `none yet`.
    #[must_use]
    pub fn fixed_list(&self) -> String {
        if self.fixed_in.is_empty() {
            return "no fixed release confirmed".to_owned();
        }
        self.fixed_in
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ver(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn flannel_iface_bug_k3s_12436_is_fixed_per_line() {
        let bug = KNOWN_BUGS.iter().find(|b| b.issue == "k3s#12436").unwrap();
        assert_eq!(bug.condition, Condition::FlannelIfaceOnMesh);
        for affected in [
            "v1.32.3+k3s1",
            "v1.33.12+k3s1",
            "v1.34.8+k3s1",
            "v1.35.5+k3s1",
            "v1.36.1+k3s1",
            "v1.31.14+k3s1",
        ] {
            assert!(bug.affects(ver(affected)), "{affected}");
        }
        for fixed in [
            "v1.33.13+k3s1",
            "v1.34.9+k3s1",
            "v1.35.6+k3s1",
            "v1.36.2+k3s1",
            "v1.37.0+k3s1",
            "v1.35.6-rc2+k3s1",
        ] {
            assert!(!bug.affects(ver(fixed)), "{fixed}");
        }
        assert_eq!(bug.fixed_list(), "v1.33.13, v1.34.9, v1.35.6, v1.36.2");
        assert!(bug.provenance.contains("#14117") && bug.provenance.contains("#14114"));
    }

    #[test]
    fn vpn_auth_route_replacement_k3s_11803_is_fixed_per_line() {
        let bug = KNOWN_BUGS.iter().find(|b| b.issue == "k3s#11803").unwrap();
        assert_eq!(bug.condition, Condition::VpnAuth);
        for affected in [
            "v1.31.4+k3s1",
            "v1.31.14+k3s1",
            "v1.32.10+k3s1",
            "v1.33.6+k3s1",
            "v1.34.2+k3s1",
            "v1.30.14+k3s2",
        ] {
            assert!(bug.affects(ver(affected)), "{affected}");
        }
        for fixed in [
            "v1.32.11+k3s1",
            "v1.32.11+k3s3",
            "v1.33.7+k3s1",
            "v1.34.3+k3s1",
            "v1.35.0+k3s1",
            "v1.36.2+k3s1",
        ] {
            assert!(!bug.affects(ver(fixed)), "{fixed}");
        }
        assert_eq!(bug.fixed_list(), "v1.32.11, v1.33.7, v1.34.3, v1.35.0");
        for pr in ["#13106", "#13267", "#13268", "#13269", "#13270"] {
            assert!(bug.provenance.contains(pr), "{pr}");
        }
    }

    #[test]
    fn every_entry_has_provenance_and_a_workaround() {
        for b in KNOWN_BUGS {
            assert!(b.issue.starts_with("k3s#"), "{}", b.issue);
            assert!(b.provenance.contains(b.issue.trim_start_matches("k3s")));
            assert!(!b.workaround.is_empty() && !b.summary.is_empty());
            let mut sorted = b.fixed_in.to_vec();
            sorted.sort();
            assert_eq!(sorted, b.fixed_in, "{}: oldest line first", b.issue);
        }
    }

    #[test]
    fn versions_parse_strictly() {
        assert_eq!(ver("v1.34.1-rc1+k3s1"), v(34, 1));
        assert_eq!(Version::parse("1.33.5"), None);
        assert_eq!(Version::parse("v1.33"), None);
        assert_eq!(Version::parse("v1.33.5.1"), None);
    }
}
