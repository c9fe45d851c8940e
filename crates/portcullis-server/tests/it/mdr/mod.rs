//! The MDR surface: connections and the exchange (`session`), the resource API (`resources`).

pub mod nul;
pub mod session;
