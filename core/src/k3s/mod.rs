//! k3s facts: the vendored flag table.

pub mod flags;
