//! The simulated network: smoltcp hosts on a deterministic virtual network.
//!
//! Built in pieces: [`scenario`] (the data that describes a run), [`trace`] (typed
//! records of everything that happened), [`decode`] (frames to headers), [`pcap`].

pub mod decode;
pub mod pcap;
pub mod scenario;
pub mod trace;

pub use scenario::{
    Conditions, FaultKind, FaultSpec, HostSpec, PacketFilter, Proto, Reason, Scenario,
    ScenarioError,
};
pub use trace::{Fate, PacketRecord, Record, TcpState, to_text};
