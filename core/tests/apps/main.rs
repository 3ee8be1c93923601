//! Every built-in app driven through its whole conversation over the in-memory
//! [`Loopback`](sockbox_core::app::loopback::Loopback) socket layer, asserting
//! the exact console lines and exit codes.
//!
//! Node 0 is the server at 10.0.0.1:12345; clients are 10.0.0.2, 10.0.0.3, ...
//! and get ephemeral ports 49152, 49153, ... in connect order.

mod chat_udp;
mod common;
mod policy;
mod robust;
mod talk;
