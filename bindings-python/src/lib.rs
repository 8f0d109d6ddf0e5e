//! Python binding of meshspec (being built).
