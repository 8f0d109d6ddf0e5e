//! k3s facts: the vendored flag table, which keys each role accepts, and the value kinds.
//!
//! Nothing here builds a diagnostic or reads a spec; the rules and the config renderer ask
//! these modules what k3s accepts.

pub mod flags;
pub mod known_bugs;
mod value;
