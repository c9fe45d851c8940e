//! The harness of these tests lives in the library (`portcullis_server::testing`, feature
//! `testing`) so the crates that mount routes into the server share it; this module
//! re-exports it and builds every app with the MDR demo resource server mounted, as the
//! binary does by default: the access-token tests call its resources.

pub use portcullis_server::testing::*;

/// A builder of the app under test: the server with the MDR demo mounted.
pub fn builder(backend: Backend) -> Builder {
    TestApp::builder(backend).mount(
        portcullis_mdr_demo::routes(),
        portcullis_mdr_demo::console_routes(),
    )
}

/// Runs each listed scenario on SQLite and on PostgreSQL (see
/// [`portcullis_server::on_both_backends!`]).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        portcullis_server::on_both_backends!($crate::harness::builder; $($name),*);
    };
}

/// Like [`on_both_backends!`], for scenarios that build the app themselves.
#[macro_export]
macro_rules! on_both_backends_configured {
    ($($name:ident),* $(,)?) => {
        portcullis_server::on_both_backends_configured!($crate::harness::builder; $($name),*);
    };
}
