//! # meshspec
//!
//! One declarative spec of a k3s cluster whose nodes sit on different networks and talk over
//! an encrypted mesh (Tailscale, Headscale, NetBird, WireGuard) becomes every file and command
//! the cluster needs; a spec that would break is refused with precise diagnostics.
//!
//! The crate is pure: it reads no files, environment, clock or network. Callers pass text in
//! and get data out.

pub mod cidr;
pub mod cilium;
pub mod code;
pub mod diagnostic;
pub mod k3s;
pub mod labels;
pub mod mtu;
pub mod no_proxy;
pub mod suggest;

pub use code::Code;
pub use diagnostic::{Diagnostic, Diagnostics, Severity, Source};
