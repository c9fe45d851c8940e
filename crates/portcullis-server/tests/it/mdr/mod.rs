//! The MDR surface: connections and the exchange (`session`), the auth server alone
//! (`unmounted`). The resource API's own tests live in `portcullis-mdr-demo`.

pub mod nul;
pub mod session;
pub mod unmounted;
