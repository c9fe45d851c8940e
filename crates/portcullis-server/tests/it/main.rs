//! Integration tests (harness arrives next).
