//! The conformance suite both backends must pass. Each check is an async function taking a
//! fresh, migrated store; backends call them from their own `tests/it` (see
//! [`conformance_tests!`](crate::conformance_tests)).
