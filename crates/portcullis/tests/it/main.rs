//! End-to-end tests of the `portcullis` binary (added below).
