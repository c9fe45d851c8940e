//! The gateway's pure rules (`docs/gateway.md`): the canonicaliser of request targets and
//! hosts, the route table, identity headers and the per-route policy decision. The server's
//! forward-auth endpoint and reverse proxy are thin adapters over these.

pub mod canonical;
pub mod headers;
pub mod policy;
pub mod route;
