//! The MDR surface: connections and the exchange (`session`), the resource API (`resources`).

pub mod nul;
pub mod resources;
pub mod session;
