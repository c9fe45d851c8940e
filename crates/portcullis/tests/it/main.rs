//! End-to-end tests of the `portcullis` binary: each starts the built executable on a
//! loopback port, as an operator would, and talks HTTP to it over a real socket.

mod cli;
mod outage;
mod server;
mod serve;
