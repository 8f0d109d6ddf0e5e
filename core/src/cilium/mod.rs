//! Cilium facts: chart lines, the vendored values schemas and the chart's own fail rules.

pub mod schema;
