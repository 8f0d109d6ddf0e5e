//! # meshspec
//!
//! One declarative spec of a k3s cluster whose nodes sit on different networks and talk over
//! an encrypted mesh (Tailscale, Headscale, NetBird, WireGuard) becomes every file and command
//! the cluster needs; a spec that would break is refused with precise diagnostics.
//!
//! The crate is pure: it reads no files, environment, clock or network. Callers pass text in
//! and get data out.
//!
//! ## From a spec to the files
//!
//! ```
//! use meshspec::{Cluster, RenderOptions};
//!
//! let spec = "\
//! version: 1
//! name: lab
//! nodes:
//!   - {name: a, role: server, mesh_ip: 100.64.0.1}
//!   - {name: b, role: agent, mesh_ip: 100.64.0.2}
//! ";
//! // every reading problem (MS0xx) at once, with field paths, lines and columns
//! let cluster = Cluster::from_yaml(spec)?;
//! // every rule; warnings and infos do not stop rendering
//! let diagnostics = cluster.validate();
//! assert!(!diagnostics.has_errors());
//! // the bundle: path -> contents and mode; refused while any error remains
//! let bundle = cluster.render(&RenderOptions::default())?;
//! let agent = bundle.text("nodes/b/etc/rancher/k3s/config.yaml").unwrap();
//! assert!(agent.contains("server: https://100.64.0.1:6443"));
//! assert!(bundle.text("PLAN.md").is_some());
//! # Ok::<(), meshspec::Diagnostics>(())
//! ```
//!
//! ## Refused specs
//!
//! [`Diagnostics`] prints the same text as the `meshspec` command line, through `Display`
//! and `Debug` alike, so `?` in a `main` returning `Result<(), Diagnostics>` shows it as is:
//!
//! ```
//! let errors = meshspec::Cluster::from_yaml("version: 1\nname: lab\nnodes: []\nnetwrk: {}\n")
//!     .unwrap_err();
//! assert!(format!("{errors:?}").starts_with("error[MS002]: unknown key `netwrk` in the top level"));
//! assert_eq!(errors.codes(), vec![meshspec::Code::UnknownField]);
//! ```
//!
//! ## Where to look
//!
//! - [`spec`]: the spec as written ([`spec::fields`] is the field table the reference page and
//!   the JSON Schema are generated from); [`cluster`]: the spec with every default resolved.
//! - [`rules`] (via [`Cluster::validate`]), [`code`] (every rule code, [`explain`] its page).
//! - [`render`]: the bundle; [`change`]: what a spec change does to a running cluster.
//! - Calculators usable on their own: [`cidr`], [`mtu`], [`no_proxy`], [`labels`], [`k3s`],
//!   [`cilium`].

pub mod change;
pub mod cidr;
pub mod cilium;
pub mod cluster;
pub mod code;
pub mod diagnostic;
pub mod import;
pub mod k3s;
pub mod labels;
pub mod lint;
pub mod live;
pub mod mtu;
pub mod netaddr;
pub mod no_proxy;
pub mod ports;
pub mod principal;
pub mod printable;
pub mod render;
pub mod rules;
pub mod secrets;
pub mod spec;
pub mod suggest;
pub mod upgrade;
pub mod wireguard;
pub mod yaml;

pub use cluster::Cluster;
pub use code::Code;
pub use diagnostic::{Diagnostic, Diagnostics, Severity, Source};
pub use render::{Bundle, Contents, File, RenderOptions};
pub use spec::Spec;

/// The explanation page of a rule code or slug (`MS101`, `pod-service-overlap`), if it exists.
///
/// ```
/// assert!(meshspec::explain("MS101").unwrap().starts_with("# MS101"));
/// assert!(meshspec::explain("MS999").is_none());
/// ```
#[must_use]
pub fn explain(code: &str) -> Option<&'static str> {
    Code::lookup(code).map(Code::page)
}
