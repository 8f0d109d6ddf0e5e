//! # meshspec
//!
//! One declarative spec of a k3s cluster whose nodes sit on different networks and talk over
//! an encrypted mesh (Tailscale, Headscale, NetBird, WireGuard) becomes every file and command
//! the cluster needs; a spec that would break is refused with precise diagnostics.
//!
//! The crate is pure: it reads no files, environment, clock or network. Callers pass text in
//! and get data out.

pub mod change;
pub mod cidr;
pub mod cilium;
pub mod cluster;
pub mod code;
pub mod diagnostic;
pub mod k3s;
pub mod labels;
pub mod mtu;
pub mod netaddr;
pub mod no_proxy;
pub mod ports;
pub mod printable;
pub mod render;
pub mod rules;
pub mod secrets;
pub mod spec;
pub mod suggest;
pub mod yaml;

pub use cluster::Cluster;
pub use code::Code;
pub use diagnostic::{Diagnostic, Diagnostics, Severity, Source};
pub use render::{Bundle, File, RenderOptions};
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
