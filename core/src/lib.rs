//! sockbox-core: everything sockbox knows about sockets, with no I/O of its own.
//!
//! * [`frame`]: how a byte stream becomes messages (raw, line, len16/len32, COBS).
//! * [`app`]: the tutorial's programs (greet, exchange, echo, chat, udp-echo) as
//!   sans-IO state machines that speak in socket calls.
//! * [`sim`]: a deterministic simulated network of smoltcp hosts that runs those
//!   programs, stepped one event at a time, with faults, a trace and pcap export.
//! * [`json`]: a compact JSON reader (serde_json only writes).
//! * [`time`]: the virtual clock's [`time::Instant`]; core never reads a clock.
//!
//! The crate is `no_std` + `alloc`: it runs unchanged natively, in tests and in wasm.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod app;
pub(crate) mod digits;
pub(crate) mod escape;
pub use digits::Addr;
pub mod frame;
pub(crate) mod hashed;
pub mod json;
pub(crate) mod keyed;
pub mod sim;
pub mod time;
