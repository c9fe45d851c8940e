//! The server's test harness (`portcullis_server::testing`), with every app built with the
//! demo's routes mounted as the binary mounts them.

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
