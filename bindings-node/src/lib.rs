//! Node binding of meshspec (being built).
