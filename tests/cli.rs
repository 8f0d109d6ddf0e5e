//! Integration tests of the `meshspec` binary.
